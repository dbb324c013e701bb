//! The C heap of this process (glibc malloc, which Rust's `System` allocator calls).
//!
//! glibc keeps what is freed inside its heaps for reuse: after a burst of 10,000 WebSocket
//! clients has gone, the service kept ~95 MiB resident although almost nothing was still
//! allocated. `malloc_trim(0)` hands the free pages back to the kernel (`madvise`), which
//! took the same process back to ~11 MiB. It costs a walk over the free chunks (milliseconds
//! for a ~100 MiB heap, with the arena locks held), so it is done after bursts only: when
//! the live connections have fallen well below their peak ([`TrimAfterBursts`]).

/// Returns the free memory of every malloc arena to the kernel. True when some was released.
/// A no-op (false) where the C library is not glibc.
pub fn release_free_heap() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim takes the arena locks itself and only releases free pages;
        // it is safe to call from any thread at any time.
        unsafe { libc::malloc_trim(0) != 0 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

/// When to trim: fed, from a periodic check, the most connections open at once since the
/// previous check and the number open now, it says "now" once they have fallen to half of
/// their peak (or less) and by at least `min_drop`. The peak then restarts from the live
/// count, so a burst that leaves in steps is trimmed a few times, and a steady load never is.
#[derive(Debug, Clone)]
pub struct TrimAfterBursts {
    peak: u64,
    min_drop: u64,
}

impl TrimAfterBursts {
    pub fn new(min_drop: u64) -> TrimAfterBursts {
        TrimAfterBursts { peak: 0, min_drop }
    }

    /// Feeds the peak since the last check and the live count now; true when the heap
    /// should be trimmed.
    pub fn observe(&mut self, peak_since: u64, live: u64) -> bool {
        self.peak = self.peak.max(peak_since).max(live);
        let gone = self.peak - live;
        if gone >= self.min_drop && live <= self.peak / 2 {
            self.peak = live;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{release_free_heap, TrimAfterBursts};

    #[test]
    fn a_burst_that_leaves_is_trimmed_once_it_is_mostly_gone() {
        let mut t = TrimAfterBursts::new(100);
        let fed: Vec<bool> = [0, 500, 1000, 800, 501, 500, 400, 0]
            .into_iter()
            .map(|live| t.observe(live, live))
            .collect();
        // 1000 → 500 is half the peak and 500 gone: trim; then the peak is 500, and 0 is
        // the next time half of it has gone.
        assert_eq!(fed, [false, false, false, false, false, true, false, true]);
    }

    #[test]
    fn small_drops_and_steady_load_never_trim() {
        let mut t = TrimAfterBursts::new(100);
        // All of 90 is gone, but fewer than min_drop connections.
        assert!(!t.observe(90, 90));
        assert!(!t.observe(90, 0));
        // A steady 5,000 with small dips.
        for live in [5000, 4900, 5000, 4800, 5100] {
            assert!(!t.observe(live + 50, live));
        }
    }

    #[test]
    fn after_a_trim_the_peak_restarts_from_the_live_count() {
        let mut t = TrimAfterBursts::new(10);
        assert!(!t.observe(1000, 1000));
        assert!(t.observe(1000, 100));
        // A new, smaller burst is measured from 100, not from the old peak of 1000.
        assert!(!t.observe(300, 300));
        assert!(t.observe(300, 50));
        assert!(!t.observe(50, 50));
    }

    #[test]
    fn a_burst_between_two_checks_is_not_missed() {
        let mut t = TrimAfterBursts::new(100);
        assert!(!t.observe(0, 0));
        // 10,000 clients came and went within one check interval.
        assert!(t.observe(10_000, 0));
        assert!(!t.observe(0, 0));
    }

    #[test]
    fn trimming_returns_freed_memory_on_glibc() {
        // ~10 MiB of small blocks, every 100th kept: the freed runs between the kept ones
        // cannot fall back into the top of the heap, so glibc holds them until a trim.
        let mut blocks: Vec<Vec<u8>> = (0..20_000).map(|i| vec![i as u8; 512]).collect();
        let kept: Vec<Vec<u8>> = blocks.iter_mut().step_by(100).map(std::mem::take).collect();
        drop(blocks);
        let released = release_free_heap();
        assert_eq!(kept.len(), 200);
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert!(
                released,
                "malloc_trim released nothing after ~10 MiB were freed"
            );
        } else {
            assert!(!released);
        }
    }
}
