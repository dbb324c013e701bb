//! What the camera service needs from the outside world, as traits.
//!
//! Depends only on `domain`. Each trait is small and named after what the application
//! needs; adapters (one crate each under `adapters/`) implement them, and the
//! composition root in `app` wires them together.

pub mod api;
pub mod auth;
pub mod broker;
pub mod camera;
pub mod capture;
pub mod clock;
pub mod controls;
pub mod events;
pub mod files;
pub mod media_server;
pub mod metrics;
pub mod probe;
pub mod supervisor;
pub mod system;
