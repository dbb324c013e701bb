//! All figures at one moment, and the `get_metrics` result built from them.

use domain::Method;
use ports::system::ProcessSample;
use serde_json::{json, Map, Value};

use super::cpu;
use super::histogram::LatencySnapshot;
use crate::events::EventCounts;

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

pub(super) fn round3(x: f64) -> f64 {
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
                "cpu_percent": round3(cpu::average_percent(p.cpu_seconds_total, self.uptime_secs)),
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
}
