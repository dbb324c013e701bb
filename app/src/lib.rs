//! Use cases of the camera service.
pub mod events;
pub mod metrics;
