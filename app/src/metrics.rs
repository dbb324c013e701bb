//! Service figures for `get_metrics` (JSON) and `GET /metrics` (Prometheus text format).
//!
//! Recording a figure is a few relaxed atomic operations: a request's latency goes into a
//! fixed-bucket histogram of its method in O(1), with no lock and no allocation. Reading
//! takes one `MetricsSnapshot`, which both renderings are built from, so they always agree.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use domain::Method;
use ports::clock::Clock;
use ports::system::{ProcessSample, ProcessStats};
use serde_json::{json, Map, Value};

use crate::events::{EventCounts, EventHub};

/// Upper bounds (inclusive) of the latency buckets, microseconds; one more bucket
/// (`+Inf`) follows. Fine below a millisecond, where the budgets are.
pub const LATENCY_BUCKETS_US: [u64; 20] = [
    25, 50, 100, 200, 400, 750, 1_000, 2_000, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000,
    500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000, 30_000_000,
];
const BUCKETS: usize = LATENCY_BUCKETS_US.len() + 1;
const METHODS: usize = Method::ALL.len();

/// Latencies of one method.
struct Histogram {
    buckets: [AtomicU64; BUCKETS],
    count: AtomicU64,
    errors: AtomicU64,
    sum_us: AtomicU64,
    min_us: AtomicU64,
    max_us: AtomicU64,
}

impl Histogram {
    fn new() -> Histogram {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
            min_us: AtomicU64::new(u64::MAX),
            max_us: AtomicU64::new(0),
        }
    }

    fn record(&self, micros: u64, ok: bool) {
        let at = LATENCY_BUCKETS_US.partition_point(|&upper| upper < micros);
        self.buckets[at].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(micros, Ordering::Relaxed);
        self.min_us.fetch_min(micros, Ordering::Relaxed);
        self.max_us.fetch_max(micros, Ordering::Relaxed);
        if !ok {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> LatencySnapshot {
        let buckets: [u64; BUCKETS] =
            std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed));
        LatencySnapshot {
            // Counted from the buckets so that `count` and the `+Inf` bucket always agree.
            count: buckets.iter().sum(),
            errors: self.errors.load(Ordering::Relaxed),
            sum_us: self.sum_us.load(Ordering::Relaxed),
            min_us: self.min_us.load(Ordering::Relaxed),
            max_us: self.max_us.load(Ordering::Relaxed),
            buckets,
        }
    }
}

/// One method's figures at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencySnapshot {
    /// Per bucket (not cumulative); the last is `+Inf`.
    pub buckets: [u64; BUCKETS],
    pub count: u64,
    pub errors: u64,
    pub sum_us: u64,
    /// Smallest and largest latency seen (`u64::MAX` and 0 without samples).
    pub min_us: u64,
    pub max_us: u64,
}

impl LatencySnapshot {
    /// The `q` quantile (0..=1) in milliseconds, interpolated linearly inside its bucket
    /// (as Prometheus' `histogram_quantile` does), with the bucket narrowed to the smallest
    /// and largest latency seen. `None` without samples.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * self.count as f64;
        let mut below = 0u64;
        for (i, &n) in self.buckets.iter().enumerate() {
            if n > 0 && (below + n) as f64 >= rank {
                let bucket_lower = if i == 0 { 0 } else { LATENCY_BUCKETS_US[i - 1] };
                let lower = bucket_lower.max(self.min_us).min(self.max_us);
                let upper = LATENCY_BUCKETS_US
                    .get(i)
                    .copied()
                    .unwrap_or(u64::MAX)
                    .min(self.max_us)
                    .max(lower);
                let within = ((rank - below as f64) / n as f64).clamp(0.0, 1.0);
                let micros = lower as f64 + (upper - lower) as f64 * within;
                return Some(micros / 1000.0);
            }
            below += n;
        }
        Some(self.max_us as f64 / 1000.0)
    }
}

struct Inner {
    clock: Arc<dyn Clock>,
    process: Arc<dyn ProcessStats>,
    events: EventHub,
    started_ms: u64,
    by_method: [Histogram; METHODS],
    unknown_methods: AtomicU64,
    connections_active: AtomicU64,
    connections_authenticated: AtomicU64,
    connections_accepted: AtomicU64,
    /// The most connections open at once since `take_connections_peak`.
    connections_peak: AtomicU64,
    cameras_total: AtomicU64,
    cameras_connected: AtomicU64,
    recordings_active: AtomicU64,
    recordings_started: AtomicU64,
    recordings_failed: AtomicU64,
    snapshots_by_tier: [AtomicU64; 3],
}

/// The service's figures. Cheap to clone (one shared set).
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

fn dec(gauge: &AtomicU64) {
    // Saturating: a gauge never wraps below zero even if a caller decrements once too often.
    let _ = gauge.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_sub(1));
}

impl Metrics {
    /// Uptime counts from this call.
    pub fn new(clock: Arc<dyn Clock>, process: Arc<dyn ProcessStats>, events: EventHub) -> Metrics {
        let started_ms = clock.monotonic_ms();
        Metrics {
            inner: Arc::new(Inner {
                clock,
                process,
                events,
                started_ms,
                by_method: std::array::from_fn(|_| Histogram::new()),
                unknown_methods: AtomicU64::new(0),
                connections_active: AtomicU64::new(0),
                connections_authenticated: AtomicU64::new(0),
                connections_accepted: AtomicU64::new(0),
                connections_peak: AtomicU64::new(0),
                cameras_total: AtomicU64::new(0),
                cameras_connected: AtomicU64::new(0),
                recordings_active: AtomicU64::new(0),
                recordings_started: AtomicU64::new(0),
                recordings_failed: AtomicU64::new(0),
                snapshots_by_tier: std::array::from_fn(|_| AtomicU64::new(0)),
            }),
        }
    }

    /// The start of a request, for `record_request`.
    pub fn request_started(&self) -> u64 {
        self.inner.clock.monotonic_us()
    }

    /// A request to `method` finished (`ok`: answered without an error).
    pub fn record_request(&self, method: Method, started_us: u64, ok: bool) {
        let elapsed = self.inner.clock.monotonic_us().saturating_sub(started_us);
        self.record_latency(method, elapsed, ok);
    }

    /// A request to `method` took `micros`.
    pub fn record_latency(&self, method: Method, micros: u64, ok: bool) {
        self.inner.by_method[method as usize].record(micros, ok);
    }

    /// A request named a method that does not exist (counted as an error, no latency).
    pub fn record_unknown_method(&self) {
        self.inner.unknown_methods.fetch_add(1, Ordering::Relaxed);
    }

    /// A client connected; the connection counts as active until the tally is dropped.
    pub fn connection_opened(&self) -> ConnectionTally {
        self.inner
            .connections_accepted
            .fetch_add(1, Ordering::Relaxed);
        let active = self
            .inner
            .connections_active
            .fetch_add(1, Ordering::Relaxed)
            + 1;
        self.inner
            .connections_peak
            .fetch_max(active, Ordering::Relaxed);
        ConnectionTally {
            inner: Arc::clone(&self.inner),
            authenticated: AtomicBool::new(false),
        }
    }

    /// (most clients connected at once since the previous call, clients connected now):
    /// a burst that came and went between two calls still shows in the first figure.
    pub fn take_connections_peak(&self) -> (u64, u64) {
        let active = self.inner.connections_active.load(Ordering::Relaxed);
        let peak = self.inner.connections_peak.swap(active, Ordering::Relaxed);
        (peak.max(active), active)
    }

    pub fn set_cameras(&self, total: u64, connected: u64) {
        self.inner.cameras_total.store(total, Ordering::Relaxed);
        self.inner
            .cameras_connected
            .store(connected, Ordering::Relaxed);
    }

    pub fn recording_started(&self) {
        self.inner
            .recordings_started
            .fetch_add(1, Ordering::Relaxed);
        self.inner.recordings_active.fetch_add(1, Ordering::Relaxed);
    }

    /// A running recording ended normally (stopped or its duration reached).
    pub fn recording_stopped(&self) {
        dec(&self.inner.recordings_active);
    }

    /// A recording failed: to start (`was_running` false) or while running.
    pub fn recording_failed(&self, was_running: bool) {
        self.inner.recordings_failed.fetch_add(1, Ordering::Relaxed);
        if was_running {
            dec(&self.inner.recordings_active);
        }
    }

    /// A snapshot was taken by `tier` (1..=3; other values are ignored).
    pub fn snapshot_taken(&self, tier: u8) {
        if let Some(n) = usize::from(tier)
            .checked_sub(1)
            .and_then(|i| self.inner.snapshots_by_tier.get(i))
        {
            n.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Every figure now (samples the process).
    pub fn snapshot(&self) -> MetricsSnapshot {
        let i = &*self.inner;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        MetricsSnapshot {
            timestamp: i.clock.now(),
            uptime_secs: i.clock.monotonic_ms().saturating_sub(i.started_ms) as f64 / 1000.0,
            process: i.process.sample().ok(),
            connections_active: load(&i.connections_active),
            connections_authenticated: load(&i.connections_authenticated),
            connections_accepted: load(&i.connections_accepted),
            by_method: Method::ALL
                .iter()
                .map(|&m| (m, i.by_method[m as usize].snapshot()))
                .filter(|(_, s)| s.count > 0)
                .collect(),
            unknown_methods: load(&i.unknown_methods),
            cameras_total: load(&i.cameras_total),
            cameras_connected: load(&i.cameras_connected),
            recordings_active: load(&i.recordings_active),
            recordings_started: load(&i.recordings_started),
            recordings_failed: load(&i.recordings_failed),
            snapshots_by_tier: std::array::from_fn(|t| load(&i.snapshots_by_tier[t])),
            events: i.events.counts(),
        }
    }

    /// The `get_metrics` result.
    pub fn to_json(&self) -> Value {
        self.snapshot().to_json()
    }

    /// `GET /metrics`.
    pub fn to_prometheus(&self) -> String {
        self.snapshot().to_prometheus()
    }
}

/// One client connection in the connection figures; dropping it closes it there.
pub struct ConnectionTally {
    inner: Arc<Inner>,
    authenticated: AtomicBool,
}

impl ConnectionTally {
    /// The connection authenticated (`true`) or lost its authentication (`false`).
    pub fn set_authenticated(&self, yes: bool) {
        if self.authenticated.swap(yes, Ordering::Relaxed) != yes {
            if yes {
                self.inner
                    .connections_authenticated
                    .fetch_add(1, Ordering::Relaxed);
            } else {
                dec(&self.inner.connections_authenticated);
            }
        }
    }
}

impl Drop for ConnectionTally {
    fn drop(&mut self) {
        self.set_authenticated(false);
        dec(&self.inner.connections_active);
    }
}

/// All figures at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsSnapshot {
    pub timestamp: domain::Timestamp,
    pub uptime_secs: f64,
    /// `None` when the process figures could not be read.
    pub process: Option<ProcessSample>,
    pub connections_active: u64,
    pub connections_authenticated: u64,
    pub connections_accepted: u64,
    /// Methods called at least once, in contract order.
    pub by_method: Vec<(Method, LatencySnapshot)>,
    pub unknown_methods: u64,
    pub cameras_total: u64,
    pub cameras_connected: u64,
    pub recordings_active: u64,
    pub recordings_started: u64,
    pub recordings_failed: u64,
    /// Tiers 1, 2, 3.
    pub snapshots_by_tier: [u64; 3],
    pub events: EventCounts,
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl MetricsSnapshot {
    pub fn requests_total(&self) -> u64 {
        self.by_method.iter().map(|(_, s)| s.count).sum::<u64>() + self.unknown_methods
    }

    pub fn request_errors(&self) -> u64 {
        self.by_method.iter().map(|(_, s)| s.errors).sum::<u64>() + self.unknown_methods
    }

    /// The `get_metrics` result (API.md, Metrics). Process figures are `null` when unreadable.
    pub fn to_json(&self) -> Value {
        let by_method: Map<String, Value> = self
            .by_method
            .iter()
            .map(|(m, s)| {
                let q = |p| s.quantile_ms(p).map(round3);
                (
                    m.name().to_owned(),
                    json!({"count": s.count, "errors": s.errors, "p50_ms": q(0.5), "p99_ms": q(0.99)}),
                )
            })
            .collect();
        let process = match self.process {
            Some(p) => json!({
                "rss_bytes": p.rss_bytes,
                "cpu_percent": round3(p.cpu_percent),
                "threads": p.threads,
                "open_fds": p.open_fds,
            }),
            None => {
                json!({"rss_bytes": null, "cpu_percent": null, "threads": null, "open_fds": null})
            }
        };
        let [t1, t2, t3] = self.snapshots_by_tier;
        json!({
            "timestamp": self.timestamp.to_rfc3339(),
            "uptime": round3(self.uptime_secs),
            "process": process,
            "connections": {
                "active": self.connections_active,
                "authenticated": self.connections_authenticated,
                "accepted_total": self.connections_accepted,
            },
            "requests": {
                "total": self.requests_total(),
                "errors": self.request_errors(),
                "by_method": by_method,
            },
            "cameras": {"total": self.cameras_total, "connected": self.cameras_connected},
            "recordings": {
                "active": self.recordings_active,
                "started_total": self.recordings_started,
                "failed_total": self.recordings_failed,
            },
            "snapshots": {"total": t1 + t2 + t3, "by_tier": {"1": t1, "2": t2, "3": t3}},
            "events": {
                "published": self.events.published,
                "delivered": self.events.delivered,
                "dropped": self.events.dropped,
            },
        })
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn to_prometheus(&self) -> String {
        let mut out = String::with_capacity(4096 + self.by_method.len() * 2048);
        let mut family = |name: &str, kind: &str, help: &str, samples: &[(&str, String)]| {
            // Writing to a String cannot fail.
            let _ = writeln!(
                out,
                "# HELP camera_service_{name} {help}\n# TYPE camera_service_{name} {kind}"
            );
            for (labels, value) in samples {
                let _ = writeln!(out, "camera_service_{name}{labels} {value}");
            }
        };
        let v = |x: u64| x.to_string();
        let none = "";

        family(
            "uptime_seconds",
            "gauge",
            "Seconds since the service started.",
            &[(none, self.uptime_secs.to_string())],
        );
        if let Some(p) = self.process {
            family(
                "process_resident_memory_bytes",
                "gauge",
                "Resident set size.",
                &[(none, v(p.rss_bytes))],
            );
            family(
                "process_cpu_percent",
                "gauge",
                "CPU use since the previous sample, percent of one core.",
                &[(none, p.cpu_percent.to_string())],
            );
            family(
                "process_threads",
                "gauge",
                "Threads of the process.",
                &[(none, v(p.threads))],
            );
            family(
                "process_open_fds",
                "gauge",
                "Open file descriptors.",
                &[(none, v(p.open_fds))],
            );
        }
        family(
            "connections_active",
            "gauge",
            "Open client connections.",
            &[(none, v(self.connections_active))],
        );
        family(
            "connections_authenticated",
            "gauge",
            "Open client connections that are authenticated.",
            &[(none, v(self.connections_authenticated))],
        );
        family(
            "connections_accepted_total",
            "counter",
            "Client connections accepted since start.",
            &[(none, v(self.connections_accepted))],
        );

        let labelled: Vec<(String, &LatencySnapshot)> = self
            .by_method
            .iter()
            .map(|(m, s)| (format!("{{method=\"{}\"}}", m.name()), s))
            .collect();
        let unknown = "{method=\"unknown\"}";
        let mut counts: Vec<(&str, String)> = labelled
            .iter()
            .map(|(l, s)| (l.as_str(), v(s.count)))
            .collect();
        let mut errors: Vec<(&str, String)> = labelled
            .iter()
            .map(|(l, s)| (l.as_str(), v(s.errors)))
            .collect();
        if self.unknown_methods > 0 {
            counts.push((unknown, v(self.unknown_methods)));
            errors.push((unknown, v(self.unknown_methods)));
        }
        family(
            "requests_total",
            "counter",
            "Requests answered, by method (unknown: no such method).",
            &counts,
        );
        family(
            "request_errors_total",
            "counter",
            "Requests answered with an error, by method.",
            &errors,
        );

        let mut hist = Vec::new();
        for (m, s) in &self.by_method {
            let mut cumulative = 0;
            for (i, n) in s.buckets.iter().enumerate() {
                cumulative += n;
                let le = match LATENCY_BUCKETS_US.get(i) {
                    Some(&us) => (us as f64 / 1e6).to_string(),
                    None => "+Inf".to_owned(),
                };
                hist.push((
                    format!("_bucket{{method=\"{}\",le=\"{le}\"}}", m.name()),
                    v(cumulative),
                ));
            }
            hist.push((
                format!("_sum{{method=\"{}\"}}", m.name()),
                (s.sum_us as f64 / 1e6).to_string(),
            ));
            hist.push((format!("_count{{method=\"{}\"}}", m.name()), v(s.count)));
        }
        let hist: Vec<(&str, String)> = hist.iter().map(|(l, x)| (l.as_str(), x.clone())).collect();
        family(
            "request_duration_seconds",
            "histogram",
            "Time to answer a request, by method.",
            &hist,
        );

        family(
            "cameras",
            "gauge",
            "Cameras known.",
            &[(none, v(self.cameras_total))],
        );
        family(
            "cameras_connected",
            "gauge",
            "Cameras connected.",
            &[(none, v(self.cameras_connected))],
        );
        family(
            "recordings_active",
            "gauge",
            "Recordings running.",
            &[(none, v(self.recordings_active))],
        );
        family(
            "recordings_started_total",
            "counter",
            "Recordings started since start.",
            &[(none, v(self.recordings_started))],
        );
        family(
            "recordings_failed_total",
            "counter",
            "Recordings that failed to start or while running.",
            &[(none, v(self.recordings_failed))],
        );
        let tiers: Vec<(String, String)> = (0..3)
            .map(|t| {
                (
                    format!("{{tier=\"{}\"}}", t + 1),
                    v(self.snapshots_by_tier[t]),
                )
            })
            .collect();
        let tiers: Vec<(&str, String)> =
            tiers.iter().map(|(l, x)| (l.as_str(), x.clone())).collect();
        family(
            "snapshots_total",
            "counter",
            "Snapshots taken, by tier.",
            &tiers,
        );
        family(
            "events_published_total",
            "counter",
            "Events published.",
            &[(none, v(self.events.published))],
        );
        family(
            "events_delivered_total",
            "counter",
            "Notifications read by subscribers.",
            &[(none, v(self.events.delivered))],
        );
        family(
            "events_dropped_total",
            "counter",
            "Events slow subscribers lost.",
            &[(none, v(self.events.dropped))],
        );
        family(
            "event_subscribers",
            "gauge",
            "Live event subscriptions.",
            &[(none, v(self.events.subscribers))],
        );
        family(
            "event_stuck_disconnects_total",
            "counter",
            "Subscriptions ended because they stayed stuck.",
            &[(none, v(self.events.stuck_disconnects))],
        );
        family(
            "slow_clients_closed_total",
            "counter",
            "Connections closed because a subscription stayed stuck (the client did not read).",
            &[(none, v(self.events.slow_clients_closed))],
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use config::EventsConfig;
    use domain::events::{Event, EventFilter, Topic, TopicSet};
    use domain::Timestamp;
    use ports::events::EventPublisher;
    use ports::system::ProcessStatsError;
    use std::collections::HashMap;

    struct FakeClock {
        us: AtomicU64,
    }

    impl Clock for FakeClock {
        fn now(&self) -> Timestamp {
            Timestamp::from_unix_millis(1_736_951_400_000)
        }
        fn monotonic_ms(&self) -> u64 {
            self.us.load(Ordering::SeqCst) / 1000
        }
        fn monotonic_us(&self) -> u64 {
            self.us.load(Ordering::SeqCst)
        }
    }

    struct FixedProcess(Option<ProcessSample>);

    impl ProcessStats for FixedProcess {
        fn sample(&self) -> Result<ProcessSample, ProcessStatsError> {
            self.0
                .ok_or_else(|| ProcessStatsError("no /proc here".into()))
        }
    }

    const SAMPLE: ProcessSample = ProcessSample {
        rss_bytes: 5_242_880,
        cpu_percent: 1.5,
        threads: 4,
        open_fds: 12,
    };

    fn setup(process: Option<ProcessSample>) -> (Metrics, EventHub, Arc<FakeClock>) {
        let clock = Arc::new(FakeClock {
            us: AtomicU64::new(10_000_000),
        });
        let hub = EventHub::new(&EventsConfig::default(), clock.clone());
        let metrics = Metrics::new(clock.clone(), Arc::new(FixedProcess(process)), hub.clone());
        (metrics, hub, clock)
    }

    fn with_samples(micros: impl IntoIterator<Item = u64>) -> LatencySnapshot {
        let h = Histogram::new();
        for us in micros {
            h.record(us, true);
        }
        h.snapshot()
    }

    /// The bucket an exact latency falls in, as (lower, upper] in ms.
    fn bucket_of_ms(us: u64) -> (f64, f64) {
        let i = LATENCY_BUCKETS_US.partition_point(|&u| u < us);
        let lower = if i == 0 { 0 } else { LATENCY_BUCKETS_US[i - 1] };
        (lower as f64 / 1000.0, LATENCY_BUCKETS_US[i] as f64 / 1000.0)
    }

    #[test]
    fn the_connection_peak_covers_a_burst_between_two_looks() {
        let (metrics, _, _) = setup(None);
        let first: Vec<_> = (0..3).map(|_| metrics.connection_opened()).collect();
        let burst: Vec<_> = (0..5).map(|_| metrics.connection_opened()).collect();
        drop(burst);
        // The burst came and went; the peak remembers it once.
        assert_eq!(metrics.take_connections_peak(), (8, 3));
        assert_eq!(metrics.take_connections_peak(), (3, 3));
        drop(first);
        assert_eq!(metrics.take_connections_peak(), (3, 0));
        assert_eq!(metrics.take_connections_peak(), (0, 0));
    }

    #[test]
    fn method_indices_follow_the_contract_list() {
        for (i, m) in Method::ALL.iter().enumerate() {
            assert_eq!(*m as usize, i);
        }
    }

    #[test]
    fn percentiles_fall_in_the_bucket_of_the_exact_percentile() {
        // 1..=1000 µs: exact p50 = 500 µs, p99 = 990 µs.
        let s = with_samples(1..=1000);
        let p50 = s.quantile_ms(0.5).expect("has samples");
        let p99 = s.quantile_ms(0.99).expect("has samples");
        let (lo, hi) = bucket_of_ms(500);
        assert!(lo < p50 && p50 <= hi, "p50 {p50} not in ({lo}, {hi}]");
        let (lo, hi) = bucket_of_ms(990);
        assert!(lo < p99 && p99 <= hi, "p99 {p99} not in ({lo}, {hi}]");
    }

    #[test]
    fn identical_samples_give_that_latency_as_every_percentile() {
        // 300 µs sits in (200, 400]; the estimate cannot exceed the largest sample.
        let s = with_samples(std::iter::repeat_n(300, 100));
        assert_eq!(s.quantile_ms(0.99), Some(0.3));
        assert!(s.quantile_ms(0.5).expect("has samples") <= 0.3);
    }

    #[test]
    fn one_slow_outlier_moves_p99_but_not_p50() {
        // 98 fast (80 µs) and 2 slow (40 ms): p50 stays under 0.1 ms, p99 lands in the slow bucket.
        let s = with_samples(std::iter::repeat_n(80, 98).chain([40_000, 40_000]));
        assert!(s.quantile_ms(0.5).expect("has samples") <= 0.1);
        let p99 = s.quantile_ms(0.99).expect("has samples");
        assert!(p99 > 25.0 && p99 <= 40.0, "p99 = {p99}");
    }

    #[test]
    fn latencies_past_the_last_bucket_report_the_largest_seen() {
        let s = with_samples([45_000_000]);
        assert_eq!(s.buckets[BUCKETS - 1], 1);
        assert_eq!(s.quantile_ms(0.5), Some(45_000.0));
    }

    #[test]
    fn no_samples_no_percentile() {
        assert_eq!(with_samples([]).quantile_ms(0.5), None);
    }

    #[test]
    fn get_metrics_has_exactly_the_fields_of_the_contract() {
        let (metrics, _, _) = setup(Some(SAMPLE));
        metrics.record_latency(Method::Ping, 100, true);

        let j = metrics.to_json();

        let keys = |v: &Value| {
            let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(
            keys(&j),
            [
                "cameras",
                "connections",
                "events",
                "process",
                "recordings",
                "requests",
                "snapshots",
                "timestamp",
                "uptime"
            ]
        );
        assert_eq!(
            keys(&j["process"]),
            ["cpu_percent", "open_fds", "rss_bytes", "threads"]
        );
        assert_eq!(
            keys(&j["connections"]),
            ["accepted_total", "active", "authenticated"]
        );
        assert_eq!(keys(&j["requests"]), ["by_method", "errors", "total"]);
        assert_eq!(
            keys(&j["requests"]["by_method"]["ping"]),
            ["count", "errors", "p50_ms", "p99_ms"]
        );
        assert_eq!(keys(&j["cameras"]), ["connected", "total"]);
        assert_eq!(
            keys(&j["recordings"]),
            ["active", "failed_total", "started_total"]
        );
        assert_eq!(keys(&j["snapshots"]), ["by_tier", "total"]);
        assert_eq!(keys(&j["events"]), ["delivered", "dropped", "published"]);
        assert_eq!(j["timestamp"], "2025-01-15T14:30:00.000Z");
    }

    #[test]
    fn get_metrics_reports_what_was_recorded() {
        let (metrics, hub, clock) = setup(Some(SAMPLE));
        let mut sub = hub.subscribe(
            [Topic::SystemHealth].into_iter().collect::<TopicSet>(),
            EventFilter::default(),
        );
        let conn_a = metrics.connection_opened();
        let conn_b = metrics.connection_opened();
        conn_a.set_authenticated(true);
        drop(conn_b);
        let t0 = metrics.request_started();
        clock.us.fetch_add(250, Ordering::SeqCst);
        metrics.record_request(Method::GetCameraList, t0, true);
        metrics.record_latency(Method::GetCameraList, 250, false);
        metrics.record_unknown_method();
        metrics.set_cameras(3, 2);
        metrics.recording_started();
        metrics.recording_started();
        metrics.recording_stopped();
        metrics.recording_failed(false);
        metrics.snapshot_taken(1);
        metrics.snapshot_taken(3);
        metrics.snapshot_taken(3);
        metrics.snapshot_taken(9);
        hub.publish(Event::new(Topic::SystemHealth, Timestamp::UNIX_EPOCH, None));
        assert!(sub.try_next().expect("live").is_some());
        clock.us.fetch_add(1_500_000, Ordering::SeqCst);

        let j = metrics.to_json();

        assert_eq!(j["uptime"], 1.5);
        assert_eq!(j["process"]["rss_bytes"], 5_242_880);
        assert_eq!(
            j["connections"],
            json!({"active": 1, "authenticated": 1, "accepted_total": 2})
        );
        assert_eq!(j["requests"]["total"], 3);
        assert_eq!(j["requests"]["errors"], 2);
        assert_eq!(
            j["requests"]["by_method"]["get_camera_list"],
            json!({"count": 2, "errors": 1, "p50_ms": 0.25, "p99_ms": 0.25})
        );
        assert_eq!(j["cameras"], json!({"total": 3, "connected": 2}));
        assert_eq!(
            j["recordings"],
            json!({"active": 1, "started_total": 2, "failed_total": 1})
        );
        assert_eq!(
            j["snapshots"],
            json!({"total": 3, "by_tier": {"1": 1, "2": 0, "3": 2}})
        );
        assert_eq!(
            j["events"],
            json!({"published": 1, "delivered": 1, "dropped": 0})
        );
        drop(conn_a);
        assert_eq!(metrics.to_json()["connections"]["authenticated"], 0);
    }

    #[test]
    fn unreadable_process_figures_are_null_not_zero() {
        let (metrics, _, _) = setup(None);
        let j = metrics.to_json();
        assert!(j["process"]["rss_bytes"].is_null());
        assert!(!metrics
            .to_prometheus()
            .contains("process_resident_memory_bytes"));
    }

    #[test]
    fn gauges_never_go_below_zero() {
        let (metrics, _, _) = setup(Some(SAMPLE));
        metrics.recording_stopped();
        metrics.recording_failed(true);
        let j = metrics.to_json();
        assert_eq!(j["recordings"]["active"], 0);
    }

    fn parse(text: &str) -> prometheus_parse::Scrape {
        prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
            .expect("valid exposition text")
    }

    fn value_of(scrape: &prometheus_parse::Scrape, name: &str, label: Option<(&str, &str)>) -> f64 {
        let s = scrape
            .samples
            .iter()
            .find(|s| s.metric == name && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
            .unwrap_or_else(|| panic!("{name} {label:?} is exposed"));
        match s.value {
            prometheus_parse::Value::Counter(x) | prometheus_parse::Value::Gauge(x) => x,
            ref other => panic!("{name} is a {other:?}"),
        }
    }

    #[test]
    fn prometheus_text_parses_and_carries_the_same_figures() {
        let (metrics, hub, _) = setup(Some(SAMPLE));
        let _conn = metrics.connection_opened();
        for us in [30, 80, 90, 150, 5_000] {
            metrics.record_latency(Method::Ping, us, true);
        }
        metrics.record_latency(Method::TakeSnapshot, 120_000, false);
        metrics.snapshot_taken(2);
        hub.publish(Event::new(Topic::SystemHealth, Timestamp::UNIX_EPOCH, None));

        let text = metrics.to_prometheus();
        let scrape = parse(&text);

        assert_eq!(
            value_of(
                &scrape,
                "camera_service_requests_total",
                Some(("method", "ping"))
            ),
            5.0
        );
        assert_eq!(
            value_of(
                &scrape,
                "camera_service_request_errors_total",
                Some(("method", "take_snapshot"))
            ),
            1.0
        );
        assert_eq!(
            value_of(&scrape, "camera_service_connections_active", None),
            1.0
        );
        assert_eq!(
            value_of(
                &scrape,
                "camera_service_process_resident_memory_bytes",
                None
            ),
            5_242_880.0
        );
        assert_eq!(
            value_of(
                &scrape,
                "camera_service_snapshots_total",
                Some(("tier", "2"))
            ),
            1.0
        );
        assert_eq!(
            value_of(&scrape, "camera_service_events_published_total", None),
            1.0
        );
        let ping = scrape
            .samples
            .iter()
            .find_map(|s| match &s.value {
                prometheus_parse::Value::Histogram(b) if s.labels.get("method") == Some("ping") => {
                    Some(b.clone())
                }
                _ => None,
            })
            .expect("ping latency is a histogram");
        assert_eq!(ping.len(), BUCKETS);
        assert_eq!(ping.last().map(|b| b.count), Some(5.0));
        // Cumulative counts: 30 µs is the only one ≤ 50 µs; 80 and 90 join by 100 µs; 150 by 200 µs.
        let at = |le: f64| {
            ping.iter()
                .find(|b| (b.less_than - le).abs() < 1e-12)
                .map(|b| b.count)
        };
        assert_eq!(at(0.000025), Some(0.0));
        assert_eq!(at(0.00005), Some(1.0));
        assert_eq!(at(0.0001), Some(3.0));
        assert_eq!(at(0.0002), Some(4.0));
        assert!(ping.windows(2).all(|w| w[0].count <= w[1].count));
        assert!(
            text.contains("camera_service_request_duration_seconds_sum{method=\"ping\"} 0.00535\n")
        );
        assert!(text.contains("camera_service_request_duration_seconds_count{method=\"ping\"} 5\n"));
    }

    #[test]
    fn every_prometheus_sample_belongs_to_a_declared_family() {
        let (metrics, _, _) = setup(Some(SAMPLE));
        metrics.record_latency(Method::Ping, 10, true);
        metrics.record_unknown_method();
        let text = metrics.to_prometheus();
        let mut types: HashMap<String, String> = HashMap::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
                assert!(
                    types.insert(name.to_owned(), kind.to_owned()).is_none(),
                    "{name} declared twice"
                );
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().expect("a sample name");
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|suffix| {
                        name.strip_suffix(suffix).filter(|base| {
                            types.get(*base).map(String::as_str) == Some("histogram")
                        })
                    })
                    .unwrap_or(name);
                assert!(
                    types.contains_key(family),
                    "{name} has no TYPE line before it"
                );
                assert!(name.starts_with("camera_service_"));
            }
        }
    }
}
