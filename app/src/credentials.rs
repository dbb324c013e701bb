//! Checking credentials at a bounded cost.
//!
//! A JWT costs an HMAC and is checked at once. An API key may cost an argon2 run
//! (milliseconds of a core and 4 MiB), so a presented key goes through, in order:
//! 1. the key store's cheap checks (`KeyStore::precheck`): malformed, unknown, revoked and
//!    expired keys are refused there, and a secret that verified before is recognised by its
//!    MAC and admitted without hashing (and without the steps below);
//! 2. the backoff of its peer (IP address; IPv6 by /64) and of its key id: after a few
//!    failures each further attempt must wait a doubling time (up to `auth.backoff_max_ms`)
//!    and is refused, untried, before then;
//! 3. a slot: at most `auth.key_verify_concurrency` argon2 runs at once, at most
//!    `auth.key_verify_queue` waiting for one, none waiting longer than
//!    `auth.key_verify_wait_ms`; otherwise refused;
//! 4. the backoff again (failures may have come in while it waited), then argon2 on one of
//!    `auth.key_verify_concurrency` threads of its own, which keeps the slot until it is
//!    done even if the caller goes away.
//!
//! Why threads of its own: each argon2 run allocates its 4 MiB on the thread it runs on,
//! and glibc gives each thread its own arena, which keeps a freed 4 MiB for the next
//! allocation. On tokio's blocking pool a storm spread 13 runs over 13 threads and left
//! ~48 MiB resident for good; on two fixed threads at most two arenas hold one each.

use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use config::AuthConfig;
use domain::backoff::{BackoffPolicy, Backoffs};
use domain::{ApiError, ErrorKind, Timestamp};
use ports::auth::{CredentialError, Identity, KeyPrecheck, KeyStore, TokenVerifier};
use ports::clock::Clock;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Failed API keys a peer or a key id may present before it is slowed down.
const FREE_FAILURES: u32 = 5;
/// The first wait after the free failures; each further failure doubles it.
const FIRST_WAIT_MS: u64 = 250;
/// Peers and key ids with failures on record, at most (the quietest make room).
const BACKOFF_CAPACITY: usize = 4096;

/// Why an authentication was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthRefusal {
    /// The credential itself is bad (-32001 with its reason).
    Credential(CredentialError),
    /// Too many recent failures from this peer or for this key id: not tried (-32040).
    Backoff { retry_after_ms: u64, of: BackoffOf },
    /// Every verification slot is busy and the queue is full, or the wait ran out:
    /// not tried (-32040).
    Busy { retry_after_ms: u64 },
}

/// Whose failures closed the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackoffOf {
    Peer,
    Key,
}

impl AuthRefusal {
    /// `data.reason` of the error, and the audit record's `reason`.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthRefusal::Credential(e) => e.reason(),
            AuthRefusal::Backoff { .. } => "auth_backoff",
            AuthRefusal::Busy { .. } => "auth_busy",
        }
    }

    /// Whether the credential was refused without being judged (backoff, no slot).
    pub fn is_throttle(&self) -> bool {
        !matches!(self, AuthRefusal::Credential(_))
    }

    pub fn details(&self) -> String {
        match self {
            AuthRefusal::Credential(e) => e.to_string(),
            AuthRefusal::Backoff { retry_after_ms, of } => format!(
                "too many failed API keys {}; retry in {retry_after_ms} ms",
                match of {
                    BackoffOf::Peer => "from this address",
                    BackoffOf::Key => "for this key id",
                }
            ),
            AuthRefusal::Busy { retry_after_ms } => {
                format!("too many API-key verifications under way; retry in {retry_after_ms} ms")
            }
        }
    }

    pub fn to_api_error(&self) -> ApiError {
        match self {
            AuthRefusal::Credential(e) => {
                ApiError::new(ErrorKind::AuthRequired, e.reason(), e.to_string())
            }
            AuthRefusal::Backoff { retry_after_ms, .. } | AuthRefusal::Busy { retry_after_ms } => {
                ApiError::new(ErrorKind::RateLimited, self.reason(), self.details())
                    .with("retry_after_ms", *retry_after_ms)
            }
        }
    }
}

impl From<CredentialError> for AuthRefusal {
    fn from(e: CredentialError) -> Self {
        AuthRefusal::Credential(e)
    }
}

/// The limits, from `auth.*`.
#[derive(Debug, Clone, Copy)]
pub struct CredentialLimits {
    pub concurrency: usize,
    pub queue: usize,
    pub wait: Duration,
    pub backoff: BackoffPolicy,
}

impl CredentialLimits {
    pub fn from_config(c: &AuthConfig) -> Self {
        CredentialLimits {
            concurrency: c.key_verify_concurrency.max(1) as usize,
            queue: c.key_verify_queue as usize,
            wait: Duration::from_millis(c.key_verify_wait_ms),
            backoff: BackoffPolicy {
                free_failures: FREE_FAILURES,
                base_ms: FIRST_WAIT_MS.min(c.backoff_max_ms),
                max_ms: c.backoff_max_ms,
            },
        }
    }
}

struct Failures {
    peers: Backoffs<IpAddr>,
    keys: Backoffs<String>,
}

/// JWTs and API keys, checked at a bounded cost.
pub struct Credentials {
    hashers: Hashers,
    tokens: Arc<dyn TokenVerifier>,
    keys: Arc<dyn KeyStore>,
    clock: Arc<dyn Clock>,
    limits: CredentialLimits,
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    failures: Mutex<Failures>,
}

type Job = Box<dyn FnOnce() + Send + 'static>;

/// The threads argon2 runs on: as many as there are slots, started once, ended when the
/// `Credentials` go (the channel closes).
struct Hashers {
    jobs: Mutex<std::sync::mpsc::Sender<Job>>,
}

impl Hashers {
    fn start(threads: usize) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..threads.max(1) {
            let rx = Arc::clone(&rx);
            let spawned = std::thread::Builder::new()
                .name(format!("key-hash-{n}"))
                .spawn(move || loop {
                    // The lock is held only while taking a job, never while running one.
                    let job = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(poisoned) => poisoned.into_inner().recv(),
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                });
            // Without a thread the job is refused when submitted (no thread would take it
            // only if none at all started).
            drop(spawned);
        }
        Hashers {
            jobs: Mutex::new(tx),
        }
    }

    /// Hands `job` to a hashing thread; `false` when none is left to take it.
    fn submit(&self, job: Job) -> bool {
        let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        jobs.send(job).is_ok()
    }
}

/// Counts a verification waiting for a slot while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The address failures are counted by: an IPv6 peer by its /64 (one host usually has a
/// whole one), an IPv4-mapped one as IPv4.
fn peer_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl Credentials {
    pub fn new(
        tokens: Arc<dyn TokenVerifier>,
        keys: Arc<dyn KeyStore>,
        clock: Arc<dyn Clock>,
        limits: CredentialLimits,
    ) -> Self {
        Credentials {
            hashers: Hashers::start(limits.concurrency),
            tokens,
            keys,
            clock,
            slots: Arc::new(Semaphore::new(limits.concurrency)),
            waiting: AtomicUsize::new(0),
            failures: Mutex::new(Failures {
                peers: Backoffs::new(limits.backoff, BACKOFF_CAPACITY),
                keys: Backoffs::new(limits.backoff, BACKOFF_CAPACITY),
            }),
            limits,
        }
    }

    fn failures(&self) -> MutexGuard<'_, Failures> {
        // Every update is one call on a `Backoffs`, which leaves it whole.
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Checks a JWT or an API key (`csk_...`) presented from `peer`.
    pub async fn verify(&self, token: &str, peer: Option<IpAddr>) -> Result<Identity, AuthRefusal> {
        let now = self.clock.now();
        if !token.starts_with("csk_") {
            return Ok(self.tokens.verify(token, now)?);
        }
        let peer = peer.map(peer_key);
        let key_id = match self.keys.precheck(token, now) {
            Ok(KeyPrecheck::Remembered) => {
                // Recognised by its MAC: no argon2, so no slot and no backoff.
                let result = self.run_verify(token, now, None).await;
                self.settle(&result, peer, None);
                return result;
            }
            Ok(KeyPrecheck::NeedsHash { key_id }) => key_id,
            Err(e) => {
                // A guess (malformed, unknown id) counts against its peer; a revoked or
                // expired key is no guess, and costs nothing to refuse.
                if let (Some(peer), CredentialError::Invalid(_)) = (peer, &e) {
                    let now_ms = self.clock.monotonic_ms();
                    self.failures().peers.failed(peer, now_ms);
                }
                return Err(e.into());
            }
        };
        self.check_backoff(peer, &key_id)?;
        let slot = self.slot().await?;
        self.check_backoff(peer, &key_id)?;
        let result = self.run_verify(token, now, Some(slot)).await;
        self.settle(&result, peer, Some(key_id));
        result
    }

    /// Refuses when the peer or the key id must still wait.
    fn check_backoff(&self, peer: Option<IpAddr>, key_id: &String) -> Result<(), AuthRefusal> {
        let now_ms = self.clock.monotonic_ms();
        let failures = self.failures();
        if let Some(peer) = peer {
            if let Err(ms) = failures.peers.check(&peer, now_ms) {
                return Err(AuthRefusal::Backoff {
                    retry_after_ms: ms,
                    of: BackoffOf::Peer,
                });
            }
        }
        failures
            .keys
            .check(key_id, now_ms)
            .map_err(|ms| AuthRefusal::Backoff {
                retry_after_ms: ms,
                of: BackoffOf::Key,
            })
    }

    /// A verification slot, waiting in the bounded queue for at most the configured time.
    async fn slot(&self) -> Result<OwnedSemaphorePermit, AuthRefusal> {
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(permit);
        }
        let busy = AuthRefusal::Busy {
            retry_after_ms: self.limits.wait.as_millis() as u64,
        };
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.limits.queue {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(busy);
        }
        let _waiting = Waiting(&self.waiting);
        match tokio::time::timeout(self.limits.wait, Arc::clone(&self.slots).acquire_owned()).await
        {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_closed)) => {
                Err(CredentialError::Invalid("the service is stopping".into()).into())
            }
            Err(_elapsed) => Err(busy),
        }
    }

    /// `KeyStore::verify` off the runtime: with a slot (it may hash) on a hashing thread,
    /// which owns the slot until it is done; without (recognised by its MAC) on the
    /// blocking pool.
    async fn run_verify(
        &self,
        token: &str,
        now: Timestamp,
        slot: Option<OwnedSemaphorePermit>,
    ) -> Result<Identity, AuthRefusal> {
        let keys = Arc::clone(&self.keys);
        let token = token.to_owned();
        let failed = || Err(CredentialError::Invalid("key check failed".into()));
        let result = match slot {
            Some(slot) => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                let job: Job = Box::new(move || {
                    let result = keys.verify(&token, now);
                    // The slot is free before the caller hears back: a client that retries at
                    // once must not find it still held (it got `auth_busy` under load).
                    drop(slot);
                    let _ = tx.send(result);
                });
                if self.hashers.submit(job) {
                    rx.await.unwrap_or_else(|_| failed())
                } else {
                    failed()
                }
            }
            None => tokio::task::spawn_blocking(move || keys.verify(&token, now))
                .await
                .unwrap_or_else(|_| failed()),
        };
        result.map_err(AuthRefusal::from)
    }

    /// Records the outcome against the peer and the key id.
    fn settle(
        &self,
        result: &Result<Identity, AuthRefusal>,
        peer: Option<IpAddr>,
        key_id: Option<String>,
    ) {
        let now_ms = self.clock.monotonic_ms();
        let mut failures = self.failures();
        match result {
            Ok(identity) => {
                if let Some(peer) = peer {
                    failures.peers.succeeded(&peer);
                }
                if let Some(id) = identity.key_id.as_ref().or(key_id.as_ref()) {
                    failures.keys.succeeded(id);
                }
            }
            Err(AuthRefusal::Credential(CredentialError::Invalid(_))) => {
                if let Some(peer) = peer {
                    failures.peers.failed(peer, now_ms);
                }
                if let Some(id) = key_id {
                    failures.keys.failed(id, now_ms);
                }
            }
            // Revoked or expired while it waited; throttles were not tries.
            Err(_) => {}
        }
    }

    /// Verifications waiting for a slot now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests;
