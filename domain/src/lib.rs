//! The camera service's model and rules.
//!
//! Everything here is pure: no I/O, no async runtime, no clock and no randomness.
//! Time comes in as [`Timestamp`] values chosen by the caller.

pub mod api;
pub mod auth;
pub mod backoff;
pub mod camera;
pub mod capabilities;
pub mod contract;
pub mod controls;
pub mod error;
pub mod events;
pub mod files;
pub mod media;
pub mod rate_limit;
pub mod recording;
pub mod retention;
pub mod stream;
pub mod time;

pub use api::{Call, Method};
pub use auth::Role;
pub use camera::{CameraId, CameraStatus, Resolution};
pub use capabilities::Capabilities;
pub use error::{ApiError, ErrorKind};
pub use files::SafeFileName;
pub use time::Timestamp;
