//! Service figures for `get_metrics` (JSON) and `GET /metrics` (rendered by the transport
//! from `ports::metrics::MetricFamily`).
//!
//! Recording a figure is a few relaxed atomic operations: a request's latency goes into a
//! fixed-bucket histogram of its method in O(1), with no lock and no allocation. Reading
//! takes one `MetricsSnapshot`, which both the JSON result and the families are built from,
//! so they always agree.
//!
//! - `histogram`: one method's latencies and their quantiles;
//! - `snapshot`: all figures at one moment and the `get_metrics` result;
//! - `families`: the same snapshot as metric families for an exposition format;
//! - `cpu`: CPU use from the cumulative CPU seconds the process reports.

mod cpu;
mod families;
mod histogram;
mod snapshot;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use domain::Method;
use ports::clock::Clock;
use ports::metrics::MetricFamily;
use ports::system::ProcessStats;
use serde_json::Value;

use crate::events::EventHub;
use histogram::Histogram;
pub use histogram::{LatencySnapshot, LATENCY_BUCKETS_US};
pub use snapshot::MetricsSnapshot;

const METHODS: usize = Method::ALL.len();

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
    /// HTTP downloads answered: served, refused or failed.
    downloads: [AtomicU64; 2],
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
                downloads: std::array::from_fn(|_| AtomicU64::new(0)),
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

    /// An HTTP download was answered (`ok`: the file is served).
    pub fn download_served(&self, ok: bool) {
        self.inner.downloads[usize::from(!ok)].fetch_add(1, Ordering::Relaxed);
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
            downloads: std::array::from_fn(|k| load(&i.downloads[k])),
        }
    }

    /// The `get_metrics` result.
    pub fn report(&self) -> domain::contract::results::Metrics {
        self.snapshot().report()
    }

    /// The `get_metrics` result as JSON.
    pub fn to_json(&self) -> Value {
        self.snapshot().to_json()
    }

    /// `GET /metrics`: every figure as metric families.
    pub fn families(&self) -> Vec<MetricFamily> {
        self.snapshot().families()
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

#[cfg(test)]
mod tests {
    use super::*;
    use config::EventsConfig;
    use domain::events::{Event, EventFilter, Topic, TopicSet};
    use domain::Timestamp;
    use ports::events::EventPublisher;
    use ports::system::{ProcessSample, ProcessStatsError};
    use serde_json::json;

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
        cpu_seconds_total: 1.5,
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
            .families()
            .iter()
            .any(|f| f.name.starts_with("process_")));
    }

    #[test]
    fn gauges_never_go_below_zero() {
        let (metrics, _, _) = setup(Some(SAMPLE));
        metrics.recording_stopped();
        metrics.recording_failed(true);
        let j = metrics.to_json();
        assert_eq!(j["recordings"]["active"], 0);
    }

    fn plain_value(families: &[MetricFamily], name: &str) -> f64 {
        use ports::metrics::MetricValues;
        let family = families
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("{name} is a family"));
        match &family.values {
            MetricValues::Counter(s) | MetricValues::Gauge(s) => s[0].value,
            MetricValues::Histogram(_) => panic!("{name} is a histogram"),
        }
    }

    #[test]
    fn the_families_carry_the_figures_of_the_json_result() {
        let (metrics, _, clock) = setup(Some(SAMPLE));
        let _conn = metrics.connection_opened();
        metrics.record_latency(Method::Ping, 30, true);
        metrics.record_latency(Method::Ping, 150, true);
        metrics.record_latency(Method::TakeSnapshot, 120_000, false);
        metrics.snapshot_taken(2);
        clock.us.fetch_add(10_000_000, Ordering::SeqCst);

        let families = metrics.families();
        let j = metrics.to_json();

        assert_eq!(plain_value(&families, "connections_active"), 1.0);
        assert_eq!(plain_value(&families, "process_cpu_seconds_total"), 1.5);
        assert_eq!(
            plain_value(&families, "process_resident_memory_bytes"),
            5_242_880.0
        );
        // 1.5 s of CPU over 10 s up: 15 % of one core, the same for every reader.
        assert_eq!(j["process"]["cpu_percent"], 15.0);
        assert_eq!(metrics.to_json()["process"]["cpu_percent"], 15.0);
        let durations = families
            .iter()
            .find(|f| f.name == "request_duration_seconds")
            .expect("latencies are exposed");
        let ports::metrics::MetricValues::Histogram(series) = &durations.values else {
            panic!("request_duration_seconds is a histogram");
        };
        let ping = series
            .iter()
            .find(|h| h.labels == vec![("method", "ping".to_owned())])
            .expect("ping has a series");
        assert_eq!(ping.count, 2);
        assert_eq!(ping.buckets.len(), LATENCY_BUCKETS_US.len());
        // 30 µs is the only one at or below 50 µs; both by 200 µs.
        assert_eq!(ping.buckets[1], (0.00005, 1));
        assert_eq!(ping.buckets[3], (0.0002, 2));
        assert_eq!(j["requests"]["by_method"]["ping"]["count"], 2);
    }
}
