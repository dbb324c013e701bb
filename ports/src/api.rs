//! The driving side: what the client-facing transport (JSON-RPC over WebSocket, plain HTTP)
//! needs from the application. The transport knows framing; the app knows everything else
//! (authentication, roles, rate limits, params, the methods themselves).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::task::{Context, Poll};

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
    /// The upgrade's `Host` header (the `servers` URL of `rpc.discover`), as sent.
    pub host: Option<String>,
    /// The console's session cookie of the upgrade, if any (used only without `bearer`;
    /// the transport has checked the request's `Origin` before passing it).
    pub session: Option<String>,
}

/// A credential presented on plain HTTP (`/files`, `/session`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpCredential<'a> {
    /// `Authorization: Bearer <JWT or API key>`.
    Bearer(&'a str),
    /// The console's session cookie.
    Session(&'a str),
}

/// Who a console session speaks for (`GET /session`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    /// JWT `user_id`, or `key:<id>` for an API key.
    pub subject: String,
    pub role: domain::Role,
    /// When the session ends at the latest (the credential's expiry or the session bound).
    pub expires_at: Timestamp,
}

/// A console session just opened from a credential (`POST /session`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleLogin {
    /// The session cookie's value: a secret, never logged.
    pub cookie: String,
    /// The cookie's `Max-Age`: never past the credential's expiry.
    pub max_age_secs: u64,
    pub view: SessionView,
}

/// One notification for a subscriber.
///
/// The event is encoded to JSON once per publish and shared by every subscriber that gets it;
/// only `dropped` is the subscriber's own.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// JSON-RPC method of the notification (`camera_status_update`, ...).
    pub method: &'static str,
    /// The event as a JSON object, without `dropped`.
    pub event: Arc<str>,
    /// Events this subscriber lost just before this one (0: none).
    pub dropped: u64,
}

impl Notification {
    /// Appends the `result` member: the event, with `dropped` when events were lost.
    pub fn write_result(&self, out: &mut Vec<u8>) {
        let event = self.event.as_bytes();
        match (self.dropped, event.last()) {
            (0, _) | (_, None) => out.extend_from_slice(event),
            (n, Some(_)) => {
                let body = &event[..event.len() - 1];
                out.extend_from_slice(body);
                // `{}` has no member before the one added here.
                if body.len() > 1 {
                    out.push(b',');
                }
                out.extend_from_slice(format!("\"dropped\":{n}}}").as_bytes());
            }
        }
    }

    /// The `result` member as a value.
    pub fn result(&self) -> Value {
        let mut out = Vec::with_capacity(self.event.len() + 16);
        self.write_result(&mut out);
        serde_json::from_slice(&out).unwrap_or(Value::Null)
    }
}

/// What an admitted call produced.
pub enum Outcome {
    /// The JSON-RPC `result`.
    Result(Value),
    /// `subscribe_events`: the new subscription's events; the transport numbers it and
    /// answers with its id (or refuses it past `server.max_subscriptions`).
    Subscribed(Box<dyn EventStream>),
    /// `unsubscribe_events`: the subscription id as the client sent it; the transport ends
    /// it and answers whether it was live on the connection.
    Unsubscribe(Value),
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Result(v) => f.debug_tuple("Result").field(v).finish(),
            Outcome::Subscribed(_) => f.write_str("Subscribed"),
            Outcome::Unsubscribe(v) => f.debug_tuple("Unsubscribe").field(v).finish(),
        }
    }
}

impl Outcome {
    /// The result of a plain method; `None` for the subscription pair.
    pub fn into_result(self) -> Option<Value> {
        match self {
            Outcome::Result(v) => Some(v),
            _ => None,
        }
    }
}

/// Why a subscription's stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// Events waited and none was read for this many seconds (the configured limit): the
    /// subscriber is too slow, and its connection should be closed.
    Stuck { secs: u64 },
    /// The service is stopping.
    Closed,
}

/// A live subscription's events, in order. Polled by the connection that owns it, so a
/// publish wakes that connection directly (no task in between).
pub trait EventStream: Send + 'static {
    /// The next notification, `Pending` (with `cx` woken on the next publish) when none waits,
    /// or why the subscription ended.
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Result<Notification, StreamEnd>>;

    /// Whether the subscription has ended, without taking an event (for a reader that has no
    /// room for one): `Pending` registers `cx` to be woken when it ends or an event comes.
    fn poll_end(&mut self, cx: &mut Context<'_>) -> Poll<StreamEnd>;
}

/// One client connection's view of the service. Dropping the last handle closes the session.
#[async_trait]
pub trait ApiConnection: Send + Sync + 'static {
    /// Runs one JSON-RPC method, the subscription pair included, through the app's one
    /// admission step: rate limit, authentication (expiry, revocation) and role checks,
    /// param parsing, the work, the metrics, the audit log.
    async fn call(&self, method: &str, params: Option<Value>) -> Result<Outcome, ApiError>;

    /// The transport closes this connection because a subscription stayed stuck past the
    /// limit (the client does not read): for the log, the audit log and the metrics.
    fn closing_slow(&self, stuck_secs: u64);

    /// Where the session's authentication stands now: the transport's limits on
    /// unauthenticated connections, and no event delivered once the credential has ended.
    fn auth_state(&self) -> AuthState;
}

/// A session's authentication as the transport needs to know it.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthState {
    /// Not authenticated (yet).
    Unauthenticated,
    /// Authenticated; the credential expires in `ends_in` (never, when `None`) unless it is
    /// revoked first.
    Authenticated {
        ends_in: Option<std::time::Duration>,
    },
    /// The credential has expired or been revoked: why (the -32001 error calls now answer).
    Ended(ApiError),
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

    /// `GET /metrics`: every figure; the transport renders the exposition format.
    async fn metrics(&self) -> Vec<crate::metrics::MetricFamily>;

    /// `GET /files/{kind}/{name}` from `peer` with a bearer token (JWT or API key) or a
    /// console session, viewer or above; rate-limited per peer address and audited like a
    /// call.
    async fn download(
        &self,
        peer: Option<SocketAddr>,
        credential: Option<HttpCredential<'_>>,
        kind: FileKind,
        name: &SafeFileName,
    ) -> Result<Download, ApiError>;

    /// `POST /session`: exchanges a JWT or an API key for a console session (audited).
    async fn open_session(
        &self,
        peer: Option<SocketAddr>,
        token: &str,
    ) -> Result<ConsoleLogin, ApiError>;

    /// `GET /session`: who the session speaks for, if it is still good (expiry, revocation).
    fn session(&self, cookie: &str) -> Result<SessionView, ApiError>;

    /// `POST /session/logout`: ends the session (audited); `false` when it was not open.
    fn close_session(&self, peer: Option<SocketAddr>, cookie: &str) -> bool;

    /// A request the transport refused before it reached a method (oversized, malformed,
    /// path traversal on HTTP): for the audit log.
    fn refused(&self, peer: Option<SocketAddr>, what: &str, details: &str);
}
