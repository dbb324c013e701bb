//! Denials in the audit log, aggregated so a flood cannot rotate the rest away.
//!
//! Rate-limit hits, permission denials, failed and throttled authentications and refused
//! requests cost an attacker nothing to produce, and the audit file keeps only so many
//! bytes. So they are written once per peer (IP address) and kind and window
//! (`logging.audit_window_secs`): the first of a window as it happens, with all its
//! fields; the others only counted, and written as one `"aggregated": true` record with
//! their `count` when the window is over (by a flusher task while counts wait, or by the
//! next denial of that peer and kind, whichever comes first). Everything else (logins,
//! state changes) is written as before, one record each.
//!
//! At most `MAX_WINDOWS` peer/kind windows are tracked; past that, new peers share one
//! window under the peer `"*"`, so the file's growth stays bounded whatever the number of
//! addresses.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ports::clock::Clock;
use slog::{warn, Logger};

/// Peer/kind windows tracked at once.
const MAX_WINDOWS: usize = 1024;

/// The peer that peers beyond `MAX_WINDOWS` share.
const OVERFLOW_PEER: &str = "*";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct WindowKey {
    peer: String,
    event: &'static str,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start_ms: u64,
    /// Denials of this window not written on their own.
    counted: u64,
}

struct State {
    windows: HashMap<WindowKey, Window>,
    flusher_running: bool,
}

struct Inner {
    audit: Logger,
    clock: Arc<dyn Clock>,
    window_ms: u64,
    state: Mutex<State>,
}

/// The audit log's gate for denials. Cheap to clone.
#[derive(Clone)]
pub struct DenialLog {
    inner: Arc<Inner>,
}

/// What `DenialLog::record` decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The first of its window: written in full.
    InFull,
    /// Counted, for the window's aggregated record.
    Counted,
}

impl DenialLog {
    pub fn new(audit: Logger, clock: Arc<dyn Clock>, window: Duration) -> Self {
        DenialLog {
            inner: Arc::new(Inner {
                audit,
                clock,
                window_ms: (window.as_millis() as u64).max(1),
                state: Mutex::new(State {
                    windows: HashMap::new(),
                    flusher_running: false,
                }),
            }),
        }
    }

    /// The audit logger, for `write`.
    pub fn audit(&self) -> &Logger {
        &self.inner.audit
    }

    /// A denial of kind `event` from `peer`: `write` writes its full record when it is the
    /// first of its window; otherwise it is only counted.
    pub fn record(
        &self,
        event: &'static str,
        peer: Option<IpAddr>,
        write: impl FnOnce(&Logger),
    ) -> Written {
        let now_ms = self.inner.clock.monotonic_ms();
        let peer = peer.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        let mut st = self.inner.lock();
        let mut key = WindowKey { peer, event };
        if !st.windows.contains_key(&key) && st.windows.len() >= MAX_WINDOWS {
            self.inner.flush_due(&mut st, now_ms);
            if st.windows.len() >= MAX_WINDOWS {
                key.peer = OVERFLOW_PEER.to_owned();
            }
        }
        let window_ms = self.inner.window_ms;
        let in_window = match st.windows.get_mut(&key) {
            Some(w) if now_ms.saturating_sub(w.start_ms) < window_ms => {
                w.counted += 1;
                true
            }
            Some(w) => {
                let ended = *w;
                self.inner.write_aggregate(&key, &ended);
                *w = Window {
                    start_ms: now_ms,
                    counted: 0,
                };
                false
            }
            None => {
                st.windows.insert(
                    key,
                    Window {
                        start_ms: now_ms,
                        counted: 0,
                    },
                );
                false
            }
        };
        if in_window {
            if !st.flusher_running {
                if let Ok(rt) = tokio::runtime::Handle::try_current() {
                    st.flusher_running = true;
                    rt.spawn(Arc::clone(&self.inner).run_flusher());
                }
            }
            return Written::Counted;
        }
        drop(st);
        write(&self.inner.audit);
        Written::InFull
    }

    /// Writes the aggregated records of every window that is over (the flusher's job; for
    /// tests and shutdown).
    pub fn flush_due(&self) {
        let now_ms = self.inner.clock.monotonic_ms();
        let mut st = self.inner.lock();
        self.inner.flush_due(&mut st, now_ms);
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every change is a single map operation: a poisoned map is still consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write_aggregate(&self, key: &WindowKey, w: &Window) {
        if w.counted == 0 {
            return;
        }
        warn!(self.audit, "denials aggregated"; "event" => key.event, "peer" => &key.peer,
            "aggregated" => true, "count" => w.counted, "window_secs" => self.window_ms as f64 / 1000.0);
    }

    /// Writes and drops every window that is over; returns when the next one ends, if any
    /// has counts waiting.
    fn flush_due(&self, st: &mut State, now_ms: u64) -> Option<u64> {
        let mut next_end: Option<u64> = None;
        st.windows.retain(|key, w| {
            let end = w.start_ms.saturating_add(self.window_ms);
            if now_ms >= end {
                self.write_aggregate(key, w);
                false
            } else {
                if w.counted > 0 {
                    next_end = Some(next_end.map_or(end, |n| n.min(end)));
                }
                true
            }
        });
        next_end
    }

    /// Sleeps until the next window with counts ends, writes it, and stops when no counts
    /// wait (the next counted denial starts it again).
    async fn run_flusher(self: Arc<Self>) {
        loop {
            let wait_ms = {
                let mut st = self.lock();
                let now_ms = self.clock.monotonic_ms();
                match self.flush_due(&mut st, now_ms) {
                    Some(end) => end.saturating_sub(now_ms).max(1),
                    None => {
                        st.flusher_running = false;
                        return;
                    }
                }
            };
            tokio::time::sleep(Duration::from_millis(wait_ms)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::sync::atomic::{AtomicU64, Ordering};

    use domain::Timestamp;
    use slog::o;

    #[derive(Default)]
    struct FakeClock {
        ms: AtomicU64,
    }

    impl Clock for FakeClock {
        fn now(&self) -> Timestamp {
            Timestamp::from_unix_millis(self.ms.load(Ordering::SeqCst) as i64)
        }
        fn monotonic_ms(&self) -> u64 {
            self.ms.load(Ordering::SeqCst)
        }
    }

    use crate::log_capture::{lines, Capture};

    fn setup(window_secs: u64) -> (DenialLog, Capture, Arc<FakeClock>) {
        let cap = Capture::default();
        let clock = Arc::new(FakeClock::default());
        let log = DenialLog::new(
            Logger::root(cap.clone(), o!()),
            clock.clone(),
            Duration::from_secs(window_secs),
        );
        (log, cap, clock)
    }

    const A: Option<IpAddr> = Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
    const B: Option<IpAddr> = Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)));

    fn rate_limited(log: &DenialLog, peer: Option<IpAddr>, n: u64) {
        for i in 0..n {
            log.record(
                "rate_limited",
                peer,
                |audit| warn!(audit, "rate limited"; "event" => "rate_limited", "n" => i),
            );
        }
    }

    #[test]
    fn first_denial_of_a_window_is_written_in_full_the_rest_counted() {
        let (log, cap, clock) = setup(10);

        rate_limited(&log, A, 1000);
        assert_eq!(lines(&cap), ["rate limited n=0 event=rate_limited"]);

        clock.ms.store(10_000, Ordering::SeqCst);
        log.flush_due();

        assert_eq!(
            lines(&cap),
            [
                "rate limited n=0 event=rate_limited",
                "denials aggregated window_secs=10 count=999 aggregated=true peer=192.0.2.1 event=rate_limited"
            ]
        );
    }

    #[test]
    fn peers_and_kinds_have_windows_of_their_own() {
        let (log, cap, _clock) = setup(10);

        rate_limited(&log, A, 3);
        rate_limited(&log, B, 3);
        log.record("permission_denied", A, |audit| {
            warn!(audit, "permission denied")
        });

        assert_eq!(
            lines(&cap),
            [
                "rate limited n=0 event=rate_limited",
                "rate limited n=0 event=rate_limited",
                "permission denied"
            ]
        );
    }

    #[test]
    fn a_denial_after_the_window_writes_its_count_then_itself() {
        let (log, cap, clock) = setup(10);
        rate_limited(&log, A, 5);

        clock.ms.store(12_000, Ordering::SeqCst);
        rate_limited(&log, A, 1);

        assert_eq!(
            lines(&cap),
            [
                "rate limited n=0 event=rate_limited",
                "denials aggregated window_secs=10 count=4 aggregated=true peer=192.0.2.1 event=rate_limited",
                "rate limited n=0 event=rate_limited"
            ]
        );
    }

    #[test]
    fn a_lone_denial_gets_no_aggregate_record() {
        let (log, cap, clock) = setup(10);
        rate_limited(&log, A, 1);

        clock.ms.store(60_000, Ordering::SeqCst);
        log.flush_due();

        assert_eq!(lines(&cap).len(), 1);
    }

    #[test]
    fn peers_past_the_cap_share_one_window() {
        let (log, cap, _clock) = setup(10);
        for i in 0..(MAX_WINDOWS as u32 + 500) {
            let peer = Some(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)));
            rate_limited(&log, peer, 2);
        }

        // One full line per tracked peer, one for the shared window.
        assert_eq!(lines(&cap).len(), MAX_WINDOWS + 1);
    }

    #[tokio::test]
    async fn the_flusher_writes_the_count_when_the_flood_stops() {
        let cap = Capture::default();
        let clock: Arc<dyn Clock> = Arc::new(cs_sys_free_clock::Monotonic::new());
        let log = DenialLog::new(
            Logger::root(cap.clone(), o!()),
            clock,
            Duration::from_millis(200),
        );

        rate_limited(&log, A, 50);

        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while lines(&cap).len() < 2 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no aggregate written"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(lines(&cap)[1].contains("count=49"), "{:?}", lines(&cap));
    }

    /// A real monotonic clock without naming an adapter (the app may not).
    mod cs_sys_free_clock {
        use super::*;
        use std::time::Instant;

        pub struct Monotonic(Instant);

        impl Monotonic {
            pub fn new() -> Self {
                Monotonic(Instant::now())
            }
        }

        impl Clock for Monotonic {
            fn now(&self) -> Timestamp {
                Timestamp::from_unix_millis(0)
            }
            fn monotonic_ms(&self) -> u64 {
                self.0.elapsed().as_millis() as u64
            }
        }
    }
}
