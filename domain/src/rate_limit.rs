//! Token-bucket rate limiting. The caller passes the time (monotonic milliseconds).

/// Allows `burst` calls at once and `per_second` on average.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    last_ms: u64,
}

impl TokenBucket {
    /// A full bucket at time `now_ms`.
    pub fn new(limit: RateLimit, now_ms: u64) -> TokenBucket {
        TokenBucket {
            limit,
            tokens: f64::from(limit.burst),
            last_ms: now_ms,
        }
    }

    fn refill(&mut self, now_ms: u64) {
        // A clock that goes backwards refills nothing.
        let elapsed = now_ms.saturating_sub(self.last_ms);
        self.last_ms = self.last_ms.max(now_ms);
        self.tokens = (self.tokens + elapsed as f64 * self.limit.per_second / 1000.0)
            .min(f64::from(self.limit.burst));
    }

    /// Takes one token, or says how many milliseconds until one is there.
    pub fn try_take(&mut self, now_ms: u64) -> Result<(), u64> {
        self.refill(now_ms);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        if self.limit.per_second <= 0.0 {
            return Err(u64::MAX);
        }
        let missing = 1.0 - self.tokens;
        Err((missing * 1000.0 / self.limit.per_second).ceil().max(1.0) as u64)
    }

    pub fn available(&mut self, now_ms: u64) -> f64 {
        self.refill(now_ms);
        self.tokens
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LIMIT: RateLimit = RateLimit {
        per_second: 10.0,
        burst: 5,
    };

    #[test]
    fn burst_then_refused_then_recovers() {
        let mut b = TokenBucket::new(LIMIT, 0);
        for _ in 0..5 {
            assert!(b.try_take(0).is_ok());
        }
        let wait = b.try_take(0).unwrap_err();
        assert_eq!(wait, 100);
        assert!(b.try_take(99).is_err());
        assert!(b.try_take(100).is_ok());
    }

    #[test]
    fn clock_going_backwards_is_harmless() {
        let mut b = TokenBucket::new(LIMIT, 1000);
        for _ in 0..5 {
            b.try_take(1000).unwrap();
        }
        assert!(b.try_take(10).is_err());
        assert!(b.try_take(1100).is_ok());
    }

    proptest! {
        /// Over any sequence of calls, no more are allowed than burst + rate * elapsed.
        #[test]
        fn never_allows_more_than_the_limit(steps in proptest::collection::vec(0u64..50, 1..400)) {
            let mut b = TokenBucket::new(LIMIT, 0);
            let mut now = 0u64;
            let mut allowed = 0u64;
            for s in steps {
                now += s;
                if b.try_take(now).is_ok() { allowed += 1; }
            }
            let max = 5.0 + now as f64 * 10.0 / 1000.0;
            prop_assert!(allowed as f64 <= max + 1e-9, "allowed {} > {}", allowed, max);
        }

        /// Waiting the advised time always yields a token.
        #[test]
        fn retry_after_is_enough(start in 0u64..10_000, n in 5usize..20) {
            let mut b = TokenBucket::new(LIMIT, start);
            let mut wait = None;
            for _ in 0..n {
                if let Err(w) = b.try_take(start) { wait = Some(w); break; }
            }
            if let Some(w) = wait {
                prop_assert!(b.try_take(start + w).is_ok());
            }
        }
    }
}
