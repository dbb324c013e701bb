//! Use cases of the camera service, its composition root (`root`) and command line (`cli`).
//!
//! Only `root`, `cli` and `logging` name concrete adapters; the use cases see ports.

pub mod admission;
pub mod api_keys;
pub mod audit;
pub mod camera_monitor;
pub mod cameras;
pub mod cli;
pub mod console_sessions;
pub mod controls;
pub mod core;
pub mod credentials;
mod dispatch;
pub mod doctor;
pub mod events;
#[cfg(test)]
pub mod fakes;
pub mod files;
pub mod health;
pub mod journal;
pub mod lifecycle;
#[cfg(test)]
mod log_capture;
pub mod logging;
pub mod media;
pub mod metrics;
pub mod mqtt;
pub mod reload;
pub mod root;
pub mod streams;
