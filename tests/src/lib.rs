//! Helpers shared by the black-box tests: start the real `camera-service` binary on an
//! ephemeral port with a private state directory, mint tokens, talk raw WebSocket JSON-RPC
//! and plain HTTP to it.

pub mod browser;
pub mod contract;
pub mod http;
pub mod mediamtx;
pub mod mosquitto;
pub mod notify;
pub mod probe;
pub mod procs;
pub mod service;
pub mod ws;

pub use probe::ffprobe;
pub use service::{ServiceBuilder, TestService};
pub use ws::WsClient;
