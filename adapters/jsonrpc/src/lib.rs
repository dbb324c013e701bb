//! The client-facing transport: JSON-RPC 2.0 over WebSocket on `GET /ws` (our own
//! lean framing; jsonrpsee's types and client), and the
//! plain HTTP endpoints on the same port (health, metrics, file downloads, the web console
//! and its session endpoints).
//!
//! This crate knows framing only. Every decision — authentication, roles, rate limits, params,
//! the methods themselves — is the application's, reached through [`ports::api::ApiGateway`].

mod body;
mod client;
mod conn;
pub mod console;
#[doc(hidden)]
pub mod fuzz;
mod http_routes;
mod limits;
mod prometheus;
mod rpc;
mod server;
mod ws;

pub use client::{CallError, Client, Events};
pub use server::{serve, ServerHandle, ServerOptions};
