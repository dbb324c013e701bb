//! The driving side: what the client-facing transport (JSON-RPC over WebSocket, plain HTTP)
//! needs from the application. The transport knows framing; the app knows everything else
//! (authentication, roles, rate limits, params, the methods themselves).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use domain::files::FileKind;
use domain::{ApiError, SafeFileName, Timestamp};
use serde_json::Value;

/// What the transport knows about a new client connection.
#[derive(Debug, Clone, Default)]
pub struct ConnectionInfo {
    pub peer: Option<SocketAddr>,
    /// `Authorization: Bearer <token>` of the WebSocket upgrade, if any.
    pub bearer: Option<String>,
}

/// One notification for a subscriber.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// JSON-RPC method of the notification (`camera_status_update`, ...).
    pub method: &'static str,
    /// The `result` member (the event, with `dropped` when events were lost).
    pub result: Value,
}

/// A live subscription's events, in order.
#[async_trait]
pub trait EventStream: Send + 'static {
    /// The next notification; `None` when the subscription ended (e.g. the server stops,
    /// or the subscriber stayed stuck past the configured limit).
    async fn next(&mut self) -> Option<Notification>;
}

/// One client connection's view of the service. Dropping the last handle closes the session.
#[async_trait]
pub trait ApiConnection: Send + Sync + 'static {
    /// Runs one JSON-RPC method (everything but the subscription pair): rate limit,
    /// authentication and role checks, param parsing, the work, the audit log.
    async fn call(&self, method: &str, params: Option<Value>) -> Result<Value, ApiError>;

    /// The checks `call` does before the work (for methods the transport runs itself).
    fn admit(&self, method: &str) -> Result<(), ApiError>;

    /// `subscribe_events`: checks topics against the session's role and starts delivery.
    async fn subscribe(&self, params: Option<Value>) -> Result<Box<dyn EventStream>, ApiError>;
}

/// A file a client may download, already authorised and found.
#[derive(Debug, Clone)]
pub struct Download {
    pub path: PathBuf,
    pub size: u64,
    pub modified: Timestamp,
    pub content_type: &'static str,
}

/// Health as the plain HTTP endpoints report it.
#[derive(Debug, Clone)]
pub struct Readiness {
    pub ready: bool,
    /// `{"ready": bool, "checks": {...}}`
    pub body: Value,
}

/// The application as the transport sees it.
#[async_trait]
pub trait ApiGateway: Send + Sync + 'static {
    /// A new WebSocket client. A bad `bearer` does not refuse the connection: it starts
    /// unauthenticated and its calls say why.
    async fn connect(&self, info: ConnectionInfo) -> Arc<dyn ApiConnection>;

    /// `GET /health/ready`
    async fn readiness(&self) -> Readiness;

    /// `GET /health`: the component report (same data as `get_status`).
    async fn health(&self) -> Value;

    /// `GET /metrics`: Prometheus text format.
    async fn metrics_text(&self) -> String;

    /// `GET /files/{kind}/{name}` with a bearer token (JWT or API key), viewer or above.
    async fn download(
        &self,
        bearer: Option<&str>,
        kind: FileKind,
        name: &SafeFileName,
    ) -> Result<Download, ApiError>;

    /// A request the transport refused before it reached a method (oversized, malformed,
    /// path traversal on HTTP): for the audit log.
    fn refused(&self, peer: Option<SocketAddr>, what: &str, details: &str);
}
