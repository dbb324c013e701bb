//! The service core: shared state and the per-connection session (authentication, roles,
//! rate limits, audit) in front of the use cases.
//!
//! One file of ~630 lines: the session, its private state and the gateway that makes it are
//! one unit; the checks themselves are in `admission`, the methods in `dispatch`.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use config::Config;
use domain::api::method_not_found;
use domain::files::FileKind;
use domain::rate_limit::{RateLimit, TokenBucket};
use domain::{ApiError, Call, ErrorKind, Method, SafeFileName};
use ports::api::{
    ApiConnection, ApiGateway, AuthState, ConnectionInfo, ConsoleLogin, Download, EventStream,
    HttpCredential, Outcome, Readiness, SessionView,
};
use ports::auth::{CredentialError, Identity, KeyStore, TokenVerifier};
use ports::clock::Clock;
use ports::metrics::MetricFamily;
use serde_json::{json, Value};
use slog::{info, o, warn, Logger};

use crate::admission::{auth_required, Caller, PeerLimits};
use crate::audit::DenialLog;
use crate::cameras::CameraRegistry;
use crate::console_sessions::{ConsoleSession, ConsoleSessions};
use crate::credentials::{AuthRefusal, CredentialLimits, Credentials};
use crate::events::EventHub;
use crate::files::Files;
use crate::health::Health;
use crate::media::Media;
use crate::metrics::{ConnectionTally, Metrics};
use crate::streams::Streams;

/// Everything the use cases share: the parts the composition root gave (reached through
/// `Deref`, so `core.metrics` is `core.parts.metrics`) and what the core builds from them.
pub struct Core {
    parts: CoreParts,
    pub started_ms: u64,
    credentials: Credentials,
    /// Denials and rate-limit hits, aggregated per peer and window (see `crate::audit`).
    pub(crate) denials: DenialLog,
    /// Plain HTTP requests' rate limits, per peer address (`crate::admission`).
    http_limits: PeerLimits,
    next_conn: AtomicU64,
    /// The MQTT broker connection, when `mqtt.enabled` (set once by the composition root).
    pub broker: std::sync::OnceLock<Arc<dyn ports::broker::MessageBroker>>,
    /// The web console's sessions (cookies exchanged for a credential).
    pub sessions: ConsoleSessions,
}

/// The ports and shared pieces the core is built from (by the composition root).
pub struct CoreParts {
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub tokens: Arc<dyn TokenVerifier>,
    pub keys: Arc<dyn KeyStore>,
    pub cameras: Arc<CameraRegistry>,
    pub hub: EventHub,
    pub metrics: Metrics,
    pub health: Arc<Health>,
    /// Streams through MediaMTX; `None` in media mode `direct`.
    pub streams: Option<Arc<Streams>>,
    pub media: Arc<Media>,
    pub files: Arc<Files>,
    pub log: Logger,
    pub audit: Logger,
    pub controls: Arc<crate::controls::Controls>,
}

impl std::ops::Deref for Core {
    type Target = CoreParts;

    fn deref(&self) -> &CoreParts {
        &self.parts
    }
}

/// A connection's (or a peer's) call budget, from `auth.rate_per_second` / `rate_burst`.
fn call_limit(config: &Config) -> RateLimit {
    RateLimit {
        per_second: config.auth.rate_per_second,
        burst: config.auth.rate_burst,
    }
}

impl Core {
    pub fn new(p: CoreParts) -> Core {
        let credentials = Credentials::new(
            Arc::clone(&p.tokens),
            Arc::clone(&p.keys),
            Arc::clone(&p.clock),
            CredentialLimits::from_config(&p.config.auth),
        );
        let denials = DenialLog::new(
            p.audit.clone(),
            Arc::clone(&p.clock),
            std::time::Duration::from_secs(p.config.logging.audit_window_secs),
        );
        Core {
            started_ms: p.clock.monotonic_ms(),
            http_limits: PeerLimits::new(call_limit(&p.config)),
            parts: p,
            credentials,
            denials,
            next_conn: AtomicU64::new(1),
            broker: std::sync::OnceLock::new(),
            sessions: ConsoleSessions::default(),
        }
    }

    /// A session for callers that are not WebSocket clients (the MQTT bridge's commands):
    /// already authenticated as `identity`, and then exactly like a connection: rate limit,
    /// role checks, param parsing, the audit log (`via` names where the calls come from).
    pub fn internal_session(self: &Arc<Self>, identity: Identity, via: &'static str) -> Session {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let limit = call_limit(&self.config);
        info!(self.audit, "authenticated"; "event" => "auth_success", "conn" => id, "via" => via,
            "user" => &identity.subject, "role" => identity.role.as_str());
        let tally = self.metrics.connection_opened();
        tally.set_authenticated(true);
        Session {
            core: Arc::clone(self),
            caller: Caller {
                conn: id,
                peer: None,
                via,
            },
            host: None,
            state: Mutex::new(SessionState {
                auth: Some(identity),
                header_error: None,
                bucket: TokenBucket::new(limit, self.clock.monotonic_ms()),
            }),
            tally,
            log: self.log.new(o!("conn" => id, "via" => via)),
        }
    }

    /// The console session behind `cookie`, if it is still good now: not past its end, its
    /// credential neither expired nor revoked (an ended one is forgotten).
    pub fn console_session(&self, cookie: &str) -> Result<ConsoleSession, ApiError> {
        let ended = || {
            ApiError::new(
                ErrorKind::AuthRequired,
                "session_ended",
                "no console session: log in again",
            )
        };
        let session = self
            .sessions
            .get(cookie, self.clock.now())
            .ok_or_else(ended)?;
        if let Err(e) = self.still_valid(&session.identity) {
            self.sessions.close(cookie);
            return Err(auth_error(&e));
        }
        Ok(session)
    }

    pub fn uptime_secs(&self) -> f64 {
        self.clock.monotonic_ms().saturating_sub(self.started_ms) as f64 / 1000.0
    }

    /// Checks a JWT or an API key (`csk_...`) presented from `peer`, at a bounded cost
    /// (see `crate::credentials`).
    pub async fn verify_credential(
        &self,
        token: &str,
        peer: Option<IpAddr>,
    ) -> Result<Identity, AuthRefusal> {
        self.credentials.verify(token, peer).await
    }

    /// Whether an identity is still good now (expiry, key revocation).
    pub fn still_valid(&self, identity: &Identity) -> Result<(), CredentialError> {
        let now = self.clock.now();
        if identity.expires_at.is_some_and(|exp| exp <= now) {
            return Err(CredentialError::Expired);
        }
        if let Some(key_id) = &identity.key_id {
            self.keys.check(key_id, now)?;
        }
        Ok(())
    }
}

pub use crate::admission::auth_error;

struct SessionState {
    auth: Option<Identity>,
    /// Why the upgrade's bearer token was refused (reported until `authenticate` succeeds).
    header_error: Option<ApiError>,
    bucket: TokenBucket,
}

/// One client connection.
pub struct Session {
    core: Arc<Core>,
    caller: Caller,
    /// The upgrade's `Host` header (`rpc.discover`'s server URL).
    host: Option<String>,
    state: Mutex<SessionState>,
    tally: ConnectionTally,
    log: Logger,
}

impl Session {
    fn lock(&self) -> MutexGuard<'_, SessionState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn peer_text(&self) -> String {
        self.caller.peer_text()
    }

    fn peer_ip(&self) -> Option<IpAddr> {
        self.caller.peer_ip()
    }

    /// Rate limit, method, authentication and role (`crate::admission`): what every call
    /// passes first.
    fn admit_method(&self, name: &str) -> Result<(Method, Option<Identity>), ApiError> {
        let now_ms = self.core.clock.monotonic_ms();
        let (taken, identity, header_error) = {
            let mut st = self.lock();
            (
                st.bucket.try_take(now_ms),
                st.auth.clone(),
                st.header_error.clone(),
            )
        };
        self.core.admit_rate(&self.caller, taken, name)?;
        let method = Method::parse(name).ok_or_else(|| method_not_found(name))?;
        let Some(need) = method.min_role() else {
            return Ok((method, identity));
        };
        let identity = identity.ok_or_else(|| header_error.unwrap_or_else(auth_required));
        let identity = self
            .core
            .admit_identity(&self.caller, identity, need, name)?;
        Ok((method, Some(identity)))
    }

    async fn authenticate(
        &self,
        token: &str,
    ) -> Result<domain::contract::results::Authenticated, ApiError> {
        match self.core.admit_credential(&self.caller, token).await {
            Ok(identity) => {
                let session_id = format!(
                    "{:x}-{:x}",
                    self.caller.conn,
                    self.core.clock.monotonic_ms()
                );
                let result = domain::contract::results::Authenticated {
                    authenticated: true,
                    role: identity.role,
                    permissions: identity
                        .role
                        .permissions()
                        .into_iter()
                        .map(str::to_owned)
                        .collect(),
                    expires_at: identity.expires_at,
                    session_id,
                };
                info!(self.core.audit, "authenticated"; "event" => "auth_success", "conn" => self.caller.conn, "peer" => self.peer_text(),
                    "user" => &identity.subject, "role" => identity.role.as_str());
                let mut st = self.lock();
                st.auth = Some(identity);
                st.header_error = None;
                drop(st);
                self.tally.set_authenticated(true);
                Ok(result)
            }
            Err(e) => {
                // A failed authenticate leaves the connection unauthenticated.
                self.lock().auth = None;
                self.tally.set_authenticated(false);
                Err(e)
            }
        }
    }

    async fn run(
        &self,
        name: &str,
        params: Option<Value>,
    ) -> Result<(Method, Outcome), (Option<Method>, ApiError)> {
        let (method, identity) = self
            .admit_method(name)
            .map_err(|e| (Method::parse(name), e))?;
        let call = Call::parse(method, params).map_err(|e| (Some(method), e))?;
        let result = match call {
            Call::Authenticate { auth_token } => self
                .authenticate(&auth_token)
                .await
                .and_then(|r| {
                    serde_json::to_value(r).map_err(|e| ApiError::internal(e.to_string()))
                })
                .map(Outcome::Result),
            Call::RpcDiscover => Ok(Outcome::Result(self.core.openrpc(self.host.as_deref()))),
            Call::SubscribeEvents(p) => self.subscribe(identity, p).map(Outcome::Subscribed),
            Call::UnsubscribeEvents { subscription } => Ok(Outcome::Unsubscribe(subscription)),
            call => {
                let device = call.device();
                let result = self.core.dispatch(call).await;
                if method.changes_state() {
                    let user = identity.as_ref().map(|i| i.subject.as_str()).unwrap_or("");
                    let outcome = match &result {
                        Ok(_) => "ok".to_owned(),
                        Err(e) => format!("error {} {}", e.code(), e.reason),
                    };
                    info!(self.core.audit, "state change"; "event" => "call", "conn" => self.caller.conn, "via" => self.caller.via,
                        "user" => user, "method" => method.name(), "device" => device.map(|d| d.to_string()), "outcome" => outcome);
                }
                result.map(Outcome::Result)
            }
        };
        result.map(|v| (method, v)).map_err(|e| (Some(method), e))
    }

    /// `subscribe_events`, admitted: the topics against the session's role (a denial is
    /// audited), then delivery starts.
    fn subscribe(
        &self,
        identity: Option<Identity>,
        p: domain::api::SubscribeParams,
    ) -> Result<Box<dyn EventStream>, ApiError> {
        let identity = identity.ok_or_else(auth_required)?;
        let need = p.topics.min_role();
        if !identity.role.allows(need) {
            let topics: Vec<&str> = p
                .topics
                .iter()
                .filter(|t| !identity.role.allows(t.min_role()))
                .map(|t| t.name())
                .collect();
            self.core.denials.record("permission_denied", self.peer_ip(), |audit| {
                warn!(audit, "permission denied"; "event" => "permission_denied", "conn" => self.caller.conn, "peer" => self.peer_text(),
                    "user" => &identity.subject, "method" => "subscribe_events", "topics" => topics.join(","));
            });
            return Err(ApiError::new(
                ErrorKind::PermissionDenied,
                "insufficient_role",
                format!("topics {} need the {need} role or above", topics.join(", ")),
            )
            .with("required_role", need.as_str())
            .with("role", identity.role.as_str()));
        }
        Ok(Box::new(self.core.hub.subscribe(p.topics, p.filter)))
    }
}

#[async_trait]
impl ApiConnection for Session {
    async fn call(&self, method: &str, params: Option<Value>) -> Result<Outcome, ApiError> {
        let started = self.core.metrics.request_started();
        // Every log line of this request, from any component, carries `conn` and `req`.
        let req = crate::logging::next_request_id();
        match crate::logging::in_request(self.caller.conn, req, self.run(method, params)).await {
            Ok((m, v)) => {
                self.core.metrics.record_request(m, started, true);
                Ok(v)
            }
            Err((m, e)) => {
                match m {
                    Some(m) => self.core.metrics.record_request(m, started, false),
                    None => self.core.metrics.record_unknown_method(),
                }
                if e.kind == ErrorKind::Internal {
                    warn!(self.log, "internal error"; "method" => method, "req" => req, "details" => &e.details);
                }
                Err(e)
            }
        }
    }

    fn closing_slow(&self, stuck_secs: u64) {
        self.core.hub.count_slow_client_closed();
        let user = self
            .lock()
            .auth
            .as_ref()
            .map(|i| i.subject.clone())
            .unwrap_or_default();
        warn!(self.log, "closing a connection that does not read its events";
            "stuck_secs" => stuck_secs, "peer" => self.peer_text());
        warn!(self.core.audit, "slow client disconnected"; "event" => "slow_client_disconnected",
            "conn" => self.caller.conn, "user" => user, "peer" => self.peer_text(), "stuck_secs" => stuck_secs);
    }

    fn auth_state(&self) -> AuthState {
        let Some(identity) = self.lock().auth.clone() else {
            return AuthState::Unauthenticated;
        };
        if let Err(e) = self.core.still_valid(&identity) {
            return AuthState::Ended(auth_error(&e));
        }
        let now = self.core.clock.now();
        AuthState::Authenticated {
            ends_in: identity.expires_at.map(|exp| {
                std::time::Duration::from_millis(
                    exp.unix_millis().saturating_sub(now.unix_millis()).max(0) as u64,
                )
            }),
        }
    }
}

/// The application as the transport sees it.
pub struct Gateway {
    pub core: Arc<Core>,
}

#[async_trait]
impl ApiGateway for Gateway {
    async fn connect(&self, info: ConnectionInfo) -> Arc<dyn ApiConnection> {
        let core = &self.core;
        let id = core.next_conn.fetch_add(1, Ordering::Relaxed);
        let limit = call_limit(&core.config);
        let session = Session {
            core: Arc::clone(core),
            caller: Caller {
                conn: id,
                peer: info.peer,
                via: "ws",
            },
            host: info.host,
            state: Mutex::new(SessionState {
                auth: None,
                header_error: None,
                bucket: TokenBucket::new(limit, core.clock.monotonic_ms()),
            }),
            tally: core.metrics.connection_opened(),
            log: core.log.new(o!("conn" => id)),
        };
        if let Some(token) = info.bearer.as_deref() {
            if let Err(e) = session.authenticate(token).await {
                session.lock().header_error = Some(e);
            }
        } else if let Some(cookie) = info.session.as_deref() {
            match core.console_session(cookie) {
                Ok(console) => {
                    info!(core.audit, "authenticated"; "event" => "auth_success", "conn" => id, "via" => "console_session",
                        "peer" => session.peer_text(), "user" => &console.identity.subject, "role" => console.identity.role.as_str());
                    session.lock().auth = Some(console.identity);
                    session.tally.set_authenticated(true);
                }
                Err(e) => session.lock().header_error = Some(e),
            }
        }
        Arc::new(session)
    }

    async fn readiness(&self) -> Readiness {
        let report = self.core.health.report();
        let mut checks = serde_json::Map::new();
        let mut ready = true;
        for (name, c) in report.components {
            // Only an UNHEALTHY component makes the service not ready; DEGRADED still serves.
            let ok = c.status != crate::health::ComponentStatus::Unhealthy;
            ready &= ok;
            checks.insert(name, Value::Bool(ok));
        }
        Readiness {
            ready,
            body: json!({"ready": ready, "checks": checks}),
        }
    }

    async fn health(&self) -> Value {
        // Storage figures are measured now, not at the last periodic check.
        self.core.files.check_storage().await;
        serde_json::to_value(self.core.status_report()).unwrap_or(Value::Null)
    }

    async fn metrics(&self) -> Vec<MetricFamily> {
        self.core.refresh_gauges();
        let mut families = self.core.metrics.families();
        if let Some(b) = self.core.broker.get() {
            families.extend(crate::mqtt::metric_families(&b.stats()));
        }
        families
    }

    async fn download(
        &self,
        peer: Option<SocketAddr>,
        credential: Option<HttpCredential<'_>>,
        kind: FileKind,
        name: &SafeFileName,
    ) -> Result<Download, ApiError> {
        let core = &self.core;
        let caller = Caller {
            conn: 0,
            peer,
            via: "http",
        };
        let result = async {
            let taken = core
                .http_limits
                .try_take(caller.peer_ip(), core.clock.monotonic_ms());
            core.admit_rate(&caller, taken, "download")?;
            // A console session is checked like a connection's credential (expiry,
            // revocation, role); a bearer token is verified first.
            let (identity, via) = match credential {
                None => {
                    return Err(ApiError::new(
                        ErrorKind::AuthRequired,
                        "auth_required",
                        "send an Authorization: Bearer header with a JWT or an API key, or log in to the console",
                    ))
                }
                Some(HttpCredential::Session(cookie)) => (
                    core.console_session(cookie).map(|s| s.identity),
                    "console_session",
                ),
                Some(HttpCredential::Bearer(token)) => {
                    (core.admit_credential(&caller, token).await, caller.via)
                }
            };
            let identity = core.admit_identity(&caller, identity, domain::Role::Viewer, "download")?;
            let download = core.download(kind, name).await;
            info!(core.audit, "download"; "event" => "download", "via" => via, "peer" => caller.peer_text(),
                "user" => &identity.subject, "role" => identity.role.as_str(), "kind" => kind.url_segment(), "file" => name.as_str(),
                "outcome" => match &download { Ok(_) => "ok".to_owned(), Err(e) => format!("error {} {}", e.code(), e.reason) });
            download
        }
        .await;
        core.metrics.download_served(result.is_ok());
        result
    }

    async fn open_session(
        &self,
        peer: Option<SocketAddr>,
        token: &str,
    ) -> Result<ConsoleLogin, ApiError> {
        let core = &self.core;
        let caller = Caller {
            conn: 0,
            peer,
            via: "console_session",
        };
        let peer_text = caller.peer_text();
        let identity = core.admit_credential(&caller, token).await?;
        let now = core.clock.now();
        let (cookie, session) = core.sessions.open(identity, now);
        info!(core.audit, "console session opened"; "event" => "session_opened", "via" => "console_session",
            "peer" => &peer_text, "user" => &session.identity.subject, "role" => session.identity.role.as_str(),
            "expires_at" => session.expires_at.to_string());
        let max_age_secs =
            (session.expires_at.unix_millis() - now.unix_millis()).max(0) as u64 / 1000;
        Ok(ConsoleLogin {
            cookie,
            max_age_secs,
            view: view_of(&session),
        })
    }

    fn session(&self, cookie: &str) -> Result<SessionView, ApiError> {
        self.core.console_session(cookie).map(|s| view_of(&s))
    }

    fn close_session(&self, peer: Option<SocketAddr>, cookie: &str) -> bool {
        let Some(session) = self.core.sessions.close(cookie) else {
            return false;
        };
        info!(self.core.audit, "console session closed"; "event" => "session_closed", "via" => "console_session",
            "peer" => peer.map(|p| p.to_string()), "user" => &session.identity.subject);
        true
    }

    fn refused(&self, peer: Option<SocketAddr>, what: &str, details: &str) {
        self.core
            .denials
            .record("refused", peer.map(|p| p.ip()), |audit| {
                warn!(audit, "request refused"; "event" => "refused", "what" => what, "details" => details,
                    "peer" => peer.map(|p| p.to_string()));
            });
    }
}

fn view_of(s: &ConsoleSession) -> SessionView {
    SessionView {
        subject: s.identity.subject.clone(),
        role: s.identity.role,
        expires_at: s.expires_at,
    }
}
