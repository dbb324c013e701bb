//! Slowing down repeated failures (of authentication), per key: a peer's address, an API
//! key's id. The caller passes the time (monotonic milliseconds).
//!
//! The first `free_failures` failures cost nothing. Each further one closes the door for a
//! doubling time, from `base_ms` up to `max_ms`; an attempt while it is closed is refused
//! without being tried, told how long to wait. `max_ms` without a failure forgets them all,
//! as does a success.

use std::collections::HashMap;
use std::hash::Hash;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    pub free_failures: u32,
    pub base_ms: u64,
    pub max_ms: u64,
}

/// The failures of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Failures {
    count: u32,
    last_ms: u64,
    closed_until_ms: u64,
}

impl Failures {
    fn is_stale(&self, policy: &BackoffPolicy, now_ms: u64) -> bool {
        now_ms >= self.closed_until_ms && now_ms.saturating_sub(self.last_ms) >= policy.max_ms
    }
}

/// Failures by key, at most `capacity` keys (the longest-quiet one makes room).
#[derive(Debug, Clone)]
pub struct Backoffs<K> {
    policy: BackoffPolicy,
    capacity: usize,
    by_key: HashMap<K, Failures>,
}

impl<K: Hash + Eq + Clone> Backoffs<K> {
    pub fn new(policy: BackoffPolicy, capacity: usize) -> Self {
        Backoffs {
            policy,
            capacity: capacity.max(1),
            by_key: HashMap::new(),
        }
    }

    /// `Err(ms)`: `key` must wait this long before its next attempt.
    pub fn check(&self, key: &K, now_ms: u64) -> Result<(), u64> {
        match self.by_key.get(key) {
            Some(f) if now_ms < f.closed_until_ms => Err(f.closed_until_ms - now_ms),
            _ => Ok(()),
        }
    }

    /// One more failure of `key`; returns how long it must now wait (0: not at all).
    pub fn failed(&mut self, key: K, now_ms: u64) -> u64 {
        let policy = self.policy;
        if !self.by_key.contains_key(&key) && self.by_key.len() >= self.capacity {
            self.make_room(now_ms);
        }
        let f = self.by_key.entry(key).or_default();
        if f.is_stale(&policy, now_ms) {
            *f = Failures::default();
        }
        f.count = f.count.saturating_add(1);
        f.last_ms = now_ms;
        let Some(over) = f.count.checked_sub(policy.free_failures.saturating_add(1)) else {
            return 0;
        };
        let wait = policy
            .base_ms
            .saturating_mul(1u64 << over.min(32))
            .min(policy.max_ms);
        f.closed_until_ms = f.closed_until_ms.max(now_ms.saturating_add(wait));
        f.closed_until_ms - now_ms
    }

    /// `key` succeeded: its failures are forgotten.
    pub fn succeeded(&mut self, key: &K) {
        self.by_key.remove(key);
    }

    /// Keys with failures on record.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Drops every stale key; when none is, the one whose last failure is oldest.
    fn make_room(&mut self, now_ms: u64) {
        let policy = self.policy;
        self.by_key.retain(|_, f| !f.is_stale(&policy, now_ms));
        if self.by_key.len() >= self.capacity {
            let oldest = self
                .by_key
                .iter()
                .min_by_key(|(_, f)| f.last_ms)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.by_key.remove(&k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const POLICY: BackoffPolicy = BackoffPolicy {
        free_failures: 3,
        base_ms: 100,
        max_ms: 1_000,
    };

    #[test]
    fn free_failures_cost_nothing_then_waits_double_up_to_the_max() {
        let mut b = Backoffs::new(POLICY, 10);
        let waits: Vec<u64> = (0..8).map(|_| b.failed("k", 0)).collect();

        assert_eq!(waits, [0, 0, 0, 100, 200, 400, 800, 1000]);
        assert_eq!(b.check(&"k", 999), Err(1));
        assert_eq!(b.check(&"k", 1000), Ok(()));
    }

    #[test]
    fn keys_are_apart() {
        let mut b = Backoffs::new(POLICY, 10);
        for _ in 0..4 {
            b.failed("a", 0);
        }

        assert_eq!(b.check(&"a", 0), Err(100));
        assert_eq!(b.check(&"b", 0), Ok(()));
    }

    #[test]
    fn success_forgets_the_failures() {
        let mut b = Backoffs::new(POLICY, 10);
        for _ in 0..5 {
            b.failed("k", 0);
        }

        b.succeeded(&"k");

        assert_eq!(b.check(&"k", 0), Ok(()));
        assert_eq!(b.failed("k", 0), 0, "free failures again");
    }

    #[test]
    fn a_quiet_max_forgets_the_failures() {
        let mut b = Backoffs::new(POLICY, 10);
        for _ in 0..4 {
            b.failed("k", 0);
        }

        assert_eq!(b.failed("k", 1_100), 0, "counting starts again");
    }

    #[test]
    fn capacity_is_kept_by_dropping_the_quietest_key() {
        let mut b = Backoffs::new(POLICY, 2);
        for _ in 0..4 {
            b.failed("old", 0);
        }
        for _ in 0..4 {
            b.failed("mid", 10);
        }

        b.failed("new", 20);

        assert_eq!(b.len(), 2);
        assert_eq!(b.check(&"old", 20), Ok(()));
        assert!(b.check(&"mid", 20).is_err());
    }

    proptest! {
        /// Waiting the advised time always opens the door, and no wait exceeds the max.
        #[test]
        fn advised_wait_is_enough_and_bounded(steps in proptest::collection::vec(0u64..300, 1..200)) {
            let mut b = Backoffs::new(POLICY, 4);
            let mut now = 0u64;
            for s in steps {
                now += s;
                match b.check(&1u8, now) {
                    Ok(()) => {
                        let wait = b.failed(1u8, now);
                        prop_assert!(wait <= POLICY.max_ms);
                    }
                    Err(wait) => {
                        prop_assert!(wait <= POLICY.max_ms);
                        prop_assert_eq!(b.check(&1u8, now + wait), Ok(()));
                    }
                }
            }
        }
    }
}
