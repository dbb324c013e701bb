use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::sync::atomic::AtomicU64;
use std::sync::Condvar;

use domain::Role;

use super::*;

const RIGHT: &str = "right-secret-right-secret-right-secret-xx";

fn key(id: &str, secret: &str) -> String {
    format!("csk_{id}_{secret}")
}

#[derive(Default)]
struct FakeClock {
    ms: AtomicU64,
}

impl FakeClock {
    fn advance_ms(&self, ms: u64) {
        self.ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(1_736_951_400_000 + self.ms.load(Ordering::SeqCst) as i64)
    }
    fn monotonic_ms(&self) -> u64 {
        self.ms.load(Ordering::SeqCst)
    }
}

/// Keys `csk_<id>_<secret>`: every id is live unless revoked, `RIGHT` is every id's
/// secret. `verify` "hashes" (counts, and waits while the gate is closed) unless the
/// secret is remembered, as the real store does.
#[derive(Default)]
struct FakeKeys {
    revoked: Mutex<HashSet<String>>,
    remembered: Mutex<HashSet<String>>,
    hashes: AtomicUsize,
    running: AtomicUsize,
    most_running: AtomicUsize,
    gate_closed: Mutex<bool>,
    gate: Condvar,
}

impl FakeKeys {
    fn split(key: &str) -> Result<(String, String), CredentialError> {
        let rest = key
            .strip_prefix("csk_")
            .ok_or_else(|| CredentialError::Invalid("not a key".into()))?;
        let (id, secret) = rest
            .split_once('_')
            .ok_or_else(|| CredentialError::Invalid("malformed".into()))?;
        Ok((id.to_owned(), secret.to_owned()))
    }

    fn close_gate(&self) {
        *self.gate_closed.lock().unwrap() = true;
    }

    fn open_gate(&self) {
        *self.gate_closed.lock().unwrap() = false;
        self.gate.notify_all();
    }

    fn hashes(&self) -> usize {
        self.hashes.load(Ordering::SeqCst)
    }
}

impl KeyStore for FakeKeys {
    fn verify(&self, key: &str, now: Timestamp) -> Result<Identity, CredentialError> {
        let (id, secret) = Self::split(key)?;
        if self.revoked.lock().unwrap().contains(&id) {
            return Err(CredentialError::Revoked);
        }
        let known = self.remembered.lock().unwrap().contains(&id) && secret == RIGHT;
        if !known {
            self.hashes.fetch_add(1, Ordering::SeqCst);
            let running = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_running.fetch_max(running, Ordering::SeqCst);
            let mut closed = self.gate_closed.lock().unwrap();
            while *closed {
                closed = self.gate.wait(closed).unwrap();
            }
            drop(closed);
            std::thread::sleep(Duration::from_millis(5));
            self.running.fetch_sub(1, Ordering::SeqCst);
            if secret != RIGHT {
                return Err(CredentialError::Invalid("API key does not match".into()));
            }
            self.remembered.lock().unwrap().insert(id.clone());
        }
        let _ = now;
        Ok(Identity {
            subject: format!("key:{id}"),
            role: Role::Viewer,
            expires_at: None,
            key_id: Some(id),
        })
    }

    fn precheck(&self, key: &str, _now: Timestamp) -> Result<KeyPrecheck, CredentialError> {
        let (id, secret) = Self::split(key)?;
        if self.revoked.lock().unwrap().contains(&id) {
            return Err(CredentialError::Revoked);
        }
        if secret == RIGHT && self.remembered.lock().unwrap().contains(&id) {
            return Ok(KeyPrecheck::Remembered);
        }
        Ok(KeyPrecheck::NeedsHash { key_id: id })
    }

    fn check(&self, _key_id: &str, _now: Timestamp) -> Result<(), CredentialError> {
        Ok(())
    }

    fn list(&self) -> Result<Vec<ports::auth::ApiKeyRecord>, ports::auth::KeyStoreError> {
        Ok(Vec::new())
    }

    fn add(
        &self,
        _role: Role,
        _label: &str,
        _expires_at: Option<Timestamp>,
        _now: Timestamp,
    ) -> Result<(String, ports::auth::ApiKeyRecord), ports::auth::KeyStoreError> {
        Err(ports::auth::KeyStoreError::Unavailable(
            "the credentials tests' double creates no keys".into(),
        ))
    }

    fn revoke(&self, _id: &str) -> Result<bool, ports::auth::KeyStoreError> {
        Ok(false)
    }
}

/// Accepts the token "good" only.
struct FakeJwt;

impl TokenVerifier for FakeJwt {
    fn verify(&self, token: &str, _now: Timestamp) -> Result<Identity, CredentialError> {
        if token == "good" {
            Ok(Identity {
                subject: "jwt-user".into(),
                role: Role::Admin,
                expires_at: None,
                key_id: None,
            })
        } else {
            Err(CredentialError::Invalid("bad signature".into()))
        }
    }
}

struct Fixture {
    creds: Arc<Credentials>,
    keys: Arc<FakeKeys>,
    clock: Arc<FakeClock>,
}

fn fixture(concurrency: usize, queue: usize, wait_ms: u64) -> Fixture {
    let keys = Arc::new(FakeKeys::default());
    let clock = Arc::new(FakeClock::default());
    let limits = CredentialLimits {
        concurrency,
        queue,
        wait: Duration::from_millis(wait_ms),
        backoff: BackoffPolicy {
            free_failures: FREE_FAILURES,
            base_ms: FIRST_WAIT_MS,
            max_ms: 30_000,
        },
    };
    let creds = Arc::new(Credentials::new(
        Arc::new(FakeJwt),
        keys.clone(),
        clock.clone(),
        limits,
    ));
    Fixture { creds, keys, clock }
}

const PEER: Option<IpAddr> = Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)));
const OTHER_PEER: Option<IpAddr> = Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 8)));

/// Waits (really) until `cond` holds; panics after 10 s.
async fn until(what: &str, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn argon2_runs_are_bounded_in_concurrency() {
    let fx = fixture(2, 64, 10_000);
    fx.keys.close_gate();
    let calls: Vec<_> = (0..8)
        .map(|i| {
            let creds = Arc::clone(&fx.creds);
            // Distinct ids and peers: no backoff in the way.
            let peer = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, i)));
            tokio::spawn(
                async move { creds.verify(&key(&format!("id{i:010}"), RIGHT), peer).await },
            )
        })
        .collect();
    until("two running, six waiting", || {
        fx.keys.running.load(Ordering::SeqCst) == 2 && fx.creds.waiting() == 6
    })
    .await;

    fx.keys.open_gate();
    for call in calls {
        call.await.unwrap().expect("each verifies in turn");
    }

    assert_eq!(fx.keys.hashes(), 8);
    assert_eq!(fx.keys.most_running.load(Ordering::SeqCst), 2);
    assert_eq!(fx.creds.waiting(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_refuses_at_once_without_hashing() {
    let fx = fixture(1, 1, 10_000);
    fx.keys.close_gate();
    let running = {
        let creds = Arc::clone(&fx.creds);
        tokio::spawn(async move { creds.verify(&key("aaaaaaaaaaaa", RIGHT), PEER).await })
    };
    until("one running", || {
        fx.keys.running.load(Ordering::SeqCst) == 1
    })
    .await;
    let queued = {
        let creds = Arc::clone(&fx.creds);
        tokio::spawn(async move { creds.verify(&key("bbbbbbbbbbbb", RIGHT), PEER).await })
    };
    until("one waiting", || fx.creds.waiting() == 1).await;

    let refused = fx
        .creds
        .verify(&key("cccccccccccc", RIGHT), OTHER_PEER)
        .await;

    let Err(refusal) = refused else {
        panic!("a third verification found room: {refused:?}")
    };
    assert_eq!(refusal.reason(), "auth_busy");
    let e = refusal.to_api_error();
    assert_eq!(e.code(), -32040);
    assert!(e.data()["retry_after_ms"].as_u64().is_some(), "{e:?}");
    fx.keys.open_gate();
    running.await.unwrap().expect("the first verifies");
    queued.await.unwrap().expect("the queued one verifies");
    assert_eq!(fx.keys.hashes(), 2, "the refused one was never hashed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_past_the_limit_is_refused() {
    let fx = fixture(1, 8, 100);
    fx.keys.close_gate();
    let running = {
        let creds = Arc::clone(&fx.creds);
        tokio::spawn(async move { creds.verify(&key("aaaaaaaaaaaa", RIGHT), PEER).await })
    };
    until("one running", || {
        fx.keys.running.load(Ordering::SeqCst) == 1
    })
    .await;

    let started = std::time::Instant::now();
    let refused = fx
        .creds
        .verify(&key("bbbbbbbbbbbb", RIGHT), OTHER_PEER)
        .await;

    assert_eq!(refused.map_err(|r| r.reason()), Err("auth_busy"));
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(fx.creds.waiting(), 0, "the timed-out waiter left the queue");
    fx.keys.open_gate();
    running.await.unwrap().expect("verifies");
}

#[tokio::test]
async fn repeated_wrong_secrets_for_a_key_id_are_slowed_down() {
    let fx = fixture(2, 16, 1_000);
    let wrong = key("aaaaaaaaaaaa", "wrong");
    // Each attempt from another address: the key id's own backoff is what stops them.
    let peer = |i: u8| Some(IpAddr::V4(Ipv4Addr::new(10, 0, 1, i)));
    for i in 0..=FREE_FAILURES as u8 {
        let r = fx.creds.verify(&wrong, peer(i)).await;
        assert_eq!(
            r.map_err(|r| r.reason()),
            Err("invalid_token"),
            "attempt {i}"
        );
    }
    let hashed = fx.keys.hashes();

    let refused = fx.creds.verify(&wrong, peer(100)).await;

    let Err(AuthRefusal::Backoff { retry_after_ms, of }) = refused else {
        panic!("not slowed down: {refused:?}")
    };
    assert_eq!(of, BackoffOf::Key);
    assert_eq!(retry_after_ms, FIRST_WAIT_MS);
    assert_eq!(fx.keys.hashes(), hashed, "refused without hashing");
    // The right secret must wait too: it cannot be told apart without hashing.
    let right = fx
        .creds
        .verify(&key("aaaaaaaaaaaa", RIGHT), peer(101))
        .await;
    assert_eq!(right.map_err(|r| r.reason()), Err("auth_backoff"));
    // Other keys are not held up.
    fx.creds
        .verify(&key("bbbbbbbbbbbb", RIGHT), peer(102))
        .await
        .expect("another key id verifies");

    fx.clock.advance_ms(retry_after_ms);
    fx.creds
        .verify(&key("aaaaaaaaaaaa", RIGHT), peer(103))
        .await
        .expect("after the wait the right secret verifies");
    fx.creds
        .verify(&wrong, peer(104))
        .await
        .expect_err("wrong is still wrong");
    assert_eq!(
        fx.creds
            .verify(&wrong, peer(105))
            .await
            .map_err(|r| r.reason()),
        Err("invalid_token"),
        "the success reset the count: free failures again"
    );
}

#[tokio::test]
async fn repeated_failures_from_one_peer_are_slowed_down() {
    let fx = fixture(2, 16, 1_000);
    // A different (unknown-secret) id each time: only the peer's backoff can stop it.
    for i in 0..=FREE_FAILURES {
        let r = fx
            .creds
            .verify(&key(&format!("id{i:010}"), "wrong"), PEER)
            .await;
        assert_eq!(r.map_err(|r| r.reason()), Err("invalid_token"));
    }
    let hashed = fx.keys.hashes();

    let refused = fx.creds.verify(&key("zzzzzzzzzzzz", RIGHT), PEER).await;

    assert!(
        matches!(
            refused,
            Err(AuthRefusal::Backoff {
                of: BackoffOf::Peer,
                ..
            })
        ),
        "{refused:?}"
    );
    assert_eq!(fx.keys.hashes(), hashed);
    fx.creds
        .verify(&key("zzzzzzzzzzzz", RIGHT), OTHER_PEER)
        .await
        .expect("another address is not held up");
    fx.creds
        .verify("good", PEER)
        .await
        .expect("a JWT costs no hashing and is not slowed down");
}

#[tokio::test]
async fn an_ipv6_peer_is_counted_by_its_64_prefix() {
    let fx = fixture(2, 16, 1_000);
    for i in 0..=FREE_FAILURES as u16 {
        let peer = Some(IpAddr::V6(Ipv6Addr::new(
            0x2001,
            0xdb8,
            0,
            1,
            0,
            0,
            0,
            i + 1,
        )));
        let _ = fx
            .creds
            .verify(&key(&format!("id{i:010}"), "wrong"), peer)
            .await;
    }
    let same_64 = Some(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 9, 9, 9, 9)));
    let other_64 = Some(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 0, 0, 0, 1)));

    let r = fx.creds.verify(&key("zzzzzzzzzzzz", RIGHT), same_64).await;
    assert_eq!(r.map_err(|r| r.reason()), Err("auth_backoff"));
    fx.creds
        .verify(&key("zzzzzzzzzzzz", RIGHT), other_64)
        .await
        .expect("another /64 verifies");
}

#[tokio::test]
async fn a_remembered_secret_is_neither_hashed_nor_held_up() {
    let fx = fixture(1, 0, 1_000);
    fx.creds
        .verify(&key("aaaaaaaaaaaa", RIGHT), OTHER_PEER)
        .await
        .expect("first verification hashes");
    for _ in 0..=FREE_FAILURES {
        let _ = fx.creds.verify(&key("aaaaaaaaaaaa", "wrong"), PEER).await;
    }
    assert_eq!(
        fx.creds
            .verify(&key("aaaaaaaaaaaa", "wrong"), PEER)
            .await
            .map_err(|r| r.reason()),
        Err("auth_backoff")
    );
    let hashed = fx.keys.hashes();

    // A reconnecting client with the right secret, even from the throttled address.
    fx.creds
        .verify(&key("aaaaaaaaaaaa", RIGHT), PEER)
        .await
        .expect("recognised without hashing");

    assert_eq!(fx.keys.hashes(), hashed);
}

#[tokio::test]
async fn a_revoked_key_is_refused_before_any_slot_or_hash() {
    let fx = fixture(1, 0, 1_000);
    fx.keys
        .revoked
        .lock()
        .unwrap()
        .insert("aaaaaaaaaaaa".into());
    fx.keys.close_gate(); // a hash would hang this test

    let r = fx.creds.verify(&key("aaaaaaaaaaaa", RIGHT), PEER).await;

    assert_eq!(r.map_err(|r| r.reason()), Err("key_revoked"));
    assert_eq!(fx.keys.hashes(), 0);
}

#[tokio::test]
async fn revoked_keys_do_not_count_against_their_peer() {
    let fx = fixture(2, 16, 1_000);
    fx.keys
        .revoked
        .lock()
        .unwrap()
        .insert("aaaaaaaaaaaa".into());
    for _ in 0..20 {
        let r = fx.creds.verify(&key("aaaaaaaaaaaa", RIGHT), PEER).await;
        assert_eq!(r.map_err(|r| r.reason()), Err("key_revoked"));
    }

    fx.creds
        .verify(&key("bbbbbbbbbbbb", RIGHT), PEER)
        .await
        .expect("the address is not held up by refused revoked keys");
}
