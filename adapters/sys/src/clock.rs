//! `ports::clock::Clock` on the real clocks.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use domain::Timestamp;
use ports::clock::Clock;

/// Wall-clock time from the system, monotonic time counted from when this clock was made.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    pub fn new() -> SystemClock {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let millis = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            // A wall clock set before 1970: negative milliseconds.
            Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
        };
        Timestamp::from_unix_millis(millis)
    }

    fn monotonic_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn monotonic_us(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_micros()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_time_never_goes_backwards_and_agrees_across_units() {
        let c = SystemClock::new();
        let mut last_us = 0;
        for _ in 0..1000 {
            let us = c.monotonic_us();
            assert!(us >= last_us);
            last_us = us;
        }
        let ms = c.monotonic_ms();
        let us = c.monotonic_us();
        assert!(us / 1000 >= ms);
    }

    #[test]
    fn wall_clock_is_after_2024() {
        // 2024-01-01T00:00:00Z
        assert!(SystemClock::new().now().unix_millis() > 1_704_067_200_000);
    }
}
