//! One admission step for every entry point: JSON-RPC calls (each entry of a batch, the
//! subscription pair included), MQTT commands (through `Core::internal_session`, a
//! `Session` like any connection) and HTTP downloads.
//!
//! In order: rate limit (per connection, or per peer address for HTTP), method,
//! authentication (expiry, key revocation), role — every denial written or counted by the
//! audit log (`crate::audit`) — then the params (`Call::parse`, in `core`), the work, the
//! metrics and the audit record of a state change or download. `Session::call` and
//! `Gateway::download` are the only ways into the use cases, and both pass through here.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use domain::rate_limit::{RateLimit, TokenBucket};
use domain::{ApiError, ErrorKind, Role};
use ports::auth::{CredentialError, Identity};
use slog::warn;

use crate::core::Core;

/// Who is asking, as its entry point knows it.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    /// The connection (0 for a plain HTTP request).
    pub conn: u64,
    pub peer: Option<SocketAddr>,
    /// `ws`, `mqtt`, `http`: where the request came in, for the audit log.
    pub via: &'static str,
}

impl Caller {
    pub fn peer_ip(&self) -> Option<IpAddr> {
        self.peer.map(|p| p.ip())
    }

    pub fn peer_text(&self) -> String {
        self.peer.map(|p| p.to_string()).unwrap_or_default()
    }
}

pub fn auth_error(e: &CredentialError) -> ApiError {
    ApiError::new(ErrorKind::AuthRequired, e.reason(), e.to_string())
}

pub fn auth_required() -> ApiError {
    ApiError::new(
        ErrorKind::AuthRequired,
        "auth_required",
        "call authenticate first (or connect with Authorization: Bearer)",
    )
}

/// The most peers whose HTTP buckets are kept; past it, full (idle) buckets are forgotten.
const MAX_PEER_BUCKETS: usize = 4096;

/// Rate limits of plain HTTP requests, one bucket per peer address.
pub struct PeerLimits {
    limit: RateLimit,
    buckets: Mutex<HashMap<IpAddr, TokenBucket>>,
}

impl PeerLimits {
    pub fn new(limit: RateLimit) -> PeerLimits {
        PeerLimits {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token of `peer`'s bucket (requests without a peer share one).
    pub fn try_take(&self, peer: Option<IpAddr>, now_ms: u64) -> Result<(), u64> {
        let key = peer.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_PEER_BUCKETS && !buckets.contains_key(&key) {
            let burst = f64::from(self.limit.burst);
            buckets.retain(|_, b| b.available(now_ms) < burst);
        }
        buckets
            .entry(key)
            .or_insert_with(|| TokenBucket::new(self.limit, now_ms))
            .try_take(now_ms)
    }
}

impl Core {
    /// The rate limit step: `taken` is the caller's bucket's answer. A hit is audited.
    pub(crate) fn admit_rate(
        &self,
        caller: &Caller,
        taken: Result<(), u64>,
        what: &str,
    ) -> Result<(), ApiError> {
        let Err(wait_ms) = taken else {
            return Ok(());
        };
        self.denials.record("rate_limited", caller.peer_ip(), |audit| {
            warn!(audit, "rate limited"; "event" => "rate_limited", "conn" => caller.conn, "via" => caller.via,
                "peer" => caller.peer_text(), "method" => what);
        });
        let scope = if caller.conn == 0 {
            "from this address"
        } else {
            "on this connection"
        };
        Err(ApiError::new(
            ErrorKind::RateLimited,
            "rate_limited",
            format!("too many calls {scope}; retry in {wait_ms} ms"),
        )
        .with("retry_after_ms", wait_ms))
    }

    /// The authentication step for a presented JWT or API key: its identity, or the failure
    /// audited (a throttled attempt apart from a wrong one) as the API's error.
    pub(crate) async fn admit_credential(
        &self,
        caller: &Caller,
        token: &str,
    ) -> Result<Identity, ApiError> {
        self.verify_credential(token, caller.peer_ip())
            .await
            .map_err(|e| {
                let event = if e.is_throttle() {
                    "auth_throttled"
                } else {
                    "auth_failure"
                };
                self.denials.record(event, caller.peer_ip(), |audit| {
                    warn!(audit, "authentication failed"; "event" => event, "conn" => caller.conn, "via" => caller.via,
                        "peer" => caller.peer_text(), "reason" => e.reason(), "details" => e.details());
                });
                e.to_api_error()
            })
    }

    /// The authentication and role steps: `identity` (or why there is none) must still be
    /// good now (expiry, revocation) and hold `need`. A role denial is audited.
    pub(crate) fn admit_identity(
        &self,
        caller: &Caller,
        identity: Result<Identity, ApiError>,
        need: Role,
        what: &str,
    ) -> Result<Identity, ApiError> {
        let identity = identity?;
        if let Err(e) = self.still_valid(&identity) {
            let reason = e.reason();
            self.denials.record("auth_failure", caller.peer_ip(), |audit| {
                warn!(audit, "credential no longer valid"; "event" => "auth_failure", "conn" => caller.conn, "via" => caller.via,
                    "peer" => caller.peer_text(), "user" => &identity.subject, "reason" => reason, "method" => what);
            });
            return Err(auth_error(&e));
        }
        if !identity.role.allows(need) {
            self.denials.record("permission_denied", caller.peer_ip(), |audit| {
                warn!(audit, "permission denied"; "event" => "permission_denied", "conn" => caller.conn, "via" => caller.via,
                    "peer" => caller.peer_text(), "user" => &identity.subject, "role" => identity.role.as_str(),
                    "method" => what, "required_role" => need.as_str());
            });
            return Err(ApiError::new(
                ErrorKind::PermissionDenied,
                "insufficient_role",
                format!("{what} needs the {need} role or above"),
            )
            .with("required_role", need.as_str())
            .with("role", identity.role.as_str()));
        }
        Ok(identity)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use config::Config;
    use domain::Role;
    use ports::api::{ApiConnection, ApiGateway, ConnectionInfo, Outcome};
    use ports::clock::Clock;
    use serde_json::{json, Value};

    use super::*;
    use crate::core::Gateway;
    use crate::fakes::{self, FakeTokens};

    async fn connect(fx: &fakes::Fixture, bearer: Option<String>) -> Arc<dyn ApiConnection> {
        Gateway {
            core: Arc::clone(&fx.core),
        }
        .connect(ConnectionInfo {
            peer: Some("127.0.0.1:50000".parse().unwrap()),
            bearer,
            ..Default::default()
        })
        .await
    }

    async fn result(conn: &Arc<dyn ApiConnection>, method: &str) -> Result<Value, ApiError> {
        conn.call(method, None)
            .await
            .map(|o| o.into_result().unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn a_session_ends_when_its_token_expires_on_the_clock() {
        let fx = fakes::core(Config::default()).await;
        let token = FakeTokens::token(Role::Viewer, "alice", fx.clock.now().plus_millis(10_000));
        let conn = connect(&fx, Some(token)).await;
        result(&conn, "get_camera_list").await.expect("valid now");
        fx.clock.advance(Duration::from_secs(10));
        let e = result(&conn, "get_camera_list").await.unwrap_err();
        assert_eq!(
            (e.kind, e.reason.as_str()),
            (ErrorKind::AuthRequired, "token_expired")
        );
    }

    #[tokio::test]
    async fn the_rate_limit_refuses_past_the_burst_and_refills_with_time() {
        let mut config = Config::default();
        config.auth.rate_per_second = 1.0;
        config.auth.rate_burst = 2;
        let fx = fakes::core(config).await;
        let conn = connect(&fx, None).await;
        result(&conn, "ping").await.expect("first of the burst");
        result(&conn, "ping").await.expect("second of the burst");
        let e = result(&conn, "ping").await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::RateLimited);
        fx.clock.advance(Duration::from_secs(1));
        assert_eq!(result(&conn, "ping").await.unwrap(), json!("pong"));
    }

    #[tokio::test]
    async fn a_revoked_key_is_refused_on_the_next_call() {
        let fx = fakes::core(Config::default()).await;
        let conn = connect(&fx, Some("csk_k1_operator".into())).await;
        result(&conn, "get_camera_list").await.expect("a live key");
        fx.keys.revoke("k1");
        let e = result(&conn, "get_camera_list").await.unwrap_err();
        assert_eq!(e.reason, "key_revoked");
    }

    #[tokio::test]
    async fn the_subscription_pair_is_admitted_and_counted_like_any_call() {
        let fx = fakes::core(Config::default()).await;
        let anonymous = connect(&fx, None).await;
        let e = anonymous
            .call(
                "subscribe_events",
                Some(json!({"topics": ["camera.connected"]})),
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::AuthRequired);
        let token = FakeTokens::token(Role::Viewer, "v", fx.clock.now().plus_millis(60_000));
        let viewer = connect(&fx, Some(token)).await;
        let denied = viewer
            .call(
                "subscribe_events",
                Some(json!({"topics": ["recording.start"]})),
            )
            .await
            .unwrap_err();
        assert_eq!(denied.kind, ErrorKind::PermissionDenied);
        let sub = viewer
            .call(
                "subscribe_events",
                Some(json!({"topics": ["camera.connected"]})),
            )
            .await
            .expect("a viewer may follow cameras");
        assert!(matches!(sub, Outcome::Subscribed(_)));
        let unsub = viewer
            .call("unsubscribe_events", Some(json!([7])))
            .await
            .expect("admitted");
        assert!(matches!(unsub, Outcome::Unsubscribe(ref id) if *id == json!(7)));
        let counted = fx.core.metrics.to_json();
        assert_eq!(
            counted["requests"]["by_method"]["subscribe_events"]["count"],
            3
        );
        assert_eq!(
            counted["requests"]["by_method"]["unsubscribe_events"]["count"],
            1
        );
    }

    #[test]
    fn http_buckets_are_per_peer_address() {
        let limits = PeerLimits::new(RateLimit {
            per_second: 1.0,
            burst: 1,
        });
        let a = Some("10.0.0.1".parse().unwrap());
        let b = Some("10.0.0.2".parse().unwrap());
        assert_eq!(limits.try_take(a, 0), Ok(()));
        assert!(limits.try_take(a, 10).is_err());
        assert_eq!(
            limits.try_take(b, 10),
            Ok(()),
            "another address has its own"
        );
        assert_eq!(limits.try_take(a, 1_010), Ok(()), "refilled a second later");
    }
}
