//! Time, injected so that rules about expiry, rate limits and retention can be tested.

use domain::Timestamp;

pub trait Clock: Send + Sync + 'static {
    /// Wall-clock time (UTC).
    fn now(&self) -> Timestamp;
    /// Milliseconds on a clock that never goes backwards (for rate limits and durations).
    fn monotonic_ms(&self) -> u64;
}
