//! The web console's sessions: a JWT or an API key exchanged once (`POST /session`) for a
//! random cookie, so the browser never keeps a bearer token where a page script or a URL
//! could leak it.
//!
//! A session holds the credential's [`Identity`] and ends at the earliest of the
//! credential's expiry and [`SESSION_MAX`] after login; on every use it is checked again
//! like a connection's credential (`Core::still_valid`: expiry, key revocation), so revoking
//! the key ends its sessions at their next request. Sessions live in memory only: a restart
//! logs everyone out.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use domain::Timestamp;
use ports::auth::Identity;
use rand::RngCore;

/// The longest a session lasts, whatever its credential allows.
pub const SESSION_MAX: Duration = Duration::from_secs(12 * 3600);

/// Open sessions at most; the oldest is dropped past it (a login flood cannot grow memory).
pub const MAX_SESSIONS: usize = 4096;

#[derive(Debug, Clone)]
pub struct ConsoleSession {
    pub identity: Identity,
    pub opened_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Default)]
pub struct ConsoleSessions {
    open: Mutex<HashMap<String, ConsoleSession>>,
}

/// A new session id: 256 random bits from the OS-seeded generator, hex.
fn new_id() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl ConsoleSessions {
    /// Opens a session for `identity` at `now`; returns its id and the session.
    pub fn open(&self, identity: Identity, now: Timestamp) -> (String, ConsoleSession) {
        let bound = now.plus_millis(SESSION_MAX.as_millis() as i64);
        let expires_at = match identity.expires_at {
            Some(exp) if exp < bound => exp,
            _ => bound,
        };
        let session = ConsoleSession {
            identity,
            opened_at: now,
            expires_at,
        };
        let id = new_id();
        let mut open = self.lock();
        open.retain(|_, s| s.expires_at > now);
        if open.len() >= MAX_SESSIONS {
            if let Some(oldest) = open
                .iter()
                .min_by_key(|(_, s)| s.opened_at)
                .map(|(k, _)| k.clone())
            {
                open.remove(&oldest);
            }
        }
        open.insert(id.clone(), session.clone());
        (id, session)
    }

    /// The session with `id` if it has not reached its end at `now` (an ended one is
    /// forgotten).
    pub fn get(&self, id: &str, now: Timestamp) -> Option<ConsoleSession> {
        let mut open = self.lock();
        match open.get(id) {
            Some(s) if s.expires_at > now => Some(s.clone()),
            Some(_) => {
                open.remove(id);
                None
            }
            None => None,
        }
    }

    /// Ends a session; `None` when it was not open.
    pub fn close(&self, id: &str) -> Option<ConsoleSession> {
        self.lock().remove(id)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ConsoleSession>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::Role;

    fn identity(expires_at: Option<Timestamp>) -> Identity {
        Identity {
            subject: "alice".into(),
            role: Role::Operator,
            expires_at,
            key_id: None,
        }
    }

    #[test]
    fn a_session_ends_with_its_token() {
        let sessions = ConsoleSessions::default();
        let now = Timestamp::from_unix_millis(1_000_000);
        let exp = now.plus_millis(60_000);
        let (id, s) = sessions.open(identity(Some(exp)), now);
        assert_eq!(s.expires_at, exp);
        assert!(sessions.get(&id, now.plus_millis(59_999)).is_some());
        assert!(sessions.get(&id, exp).is_none());
    }

    #[test]
    fn a_session_lasts_at_most_the_bound() {
        let sessions = ConsoleSessions::default();
        let now = Timestamp::from_unix_millis(1_000_000);
        let (_, s) = sessions.open(identity(None), now);
        assert_eq!(
            s.expires_at,
            now.plus_millis(SESSION_MAX.as_millis() as i64)
        );
    }

    #[test]
    fn ids_are_random_and_closing_ends_a_session() {
        let sessions = ConsoleSessions::default();
        let now = Timestamp::from_unix_millis(1_000_000);
        let (a, _) = sessions.open(identity(None), now);
        let (b, _) = sessions.open(identity(None), now);
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(sessions.close(&a).is_some());
        assert!(sessions.get(&a, now).is_none());
        assert!(sessions.get(&b, now).is_some());
    }
}
