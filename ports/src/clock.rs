//! Time, injected so that rules about expiry, rate limits and retention can be tested.

use domain::Timestamp;

pub trait Clock: Send + Sync + 'static {
    /// Wall-clock time (UTC).
    fn now(&self) -> Timestamp;
    /// Milliseconds on a clock that never goes backwards (for rate limits and durations).
    fn monotonic_ms(&self) -> u64;
    /// Microseconds on the same never-backwards clock (request latencies are sub-millisecond).
    fn monotonic_us(&self) -> u64 {
        self.monotonic_ms().saturating_mul(1000)
    }
}
