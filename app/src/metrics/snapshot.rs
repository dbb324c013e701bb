//! All figures at one moment, and the `get_metrics` result built from them.

use domain::contract::results::{
    CameraFigures, ConnectionFigures, EventFigures, MethodFigures, Metrics, ProcessFigures,
    RecordingFigures, RequestFigures, SnapshotFigures,
};
use domain::Method;
use ports::system::ProcessSample;
use serde_json::Value;

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
    /// HTTP downloads: served, refused or failed.
    pub downloads: [u64; 2],
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
    pub fn report(&self) -> Metrics {
        let by_method = self
            .by_method
            .iter()
            .map(|(m, s)| {
                let q = |p| s.quantile_ms(p).map(round3);
                (
                    m.name().to_owned(),
                    MethodFigures {
                        count: s.count,
                        errors: s.errors,
                        p50_ms: q(0.5),
                        p99_ms: q(0.99),
                    },
                )
            })
            .collect();
        let process = match self.process {
            Some(p) => ProcessFigures {
                rss_bytes: Some(p.rss_bytes),
                cpu_percent: Some(round3(cpu::average_percent(
                    p.cpu_seconds_total,
                    self.uptime_secs,
                ))),
                threads: Some(p.threads),
                open_fds: Some(p.open_fds),
            },
            None => ProcessFigures::default(),
        };
        let [t1, t2, t3] = self.snapshots_by_tier;
        Metrics {
            timestamp: self.timestamp,
            uptime: round3(self.uptime_secs),
            process,
            connections: ConnectionFigures {
                active: self.connections_active,
                authenticated: self.connections_authenticated,
                accepted_total: self.connections_accepted,
            },
            requests: RequestFigures {
                total: self.requests_total(),
                errors: self.request_errors(),
                by_method,
            },
            cameras: CameraFigures {
                total: self.cameras_total,
                connected: self.cameras_connected,
            },
            recordings: RecordingFigures {
                active: self.recordings_active,
                started_total: self.recordings_started,
                failed_total: self.recordings_failed,
            },
            snapshots: SnapshotFigures {
                total: t1 + t2 + t3,
                by_tier: [("1", t1), ("2", t2), ("3", t3)]
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
            },
            events: EventFigures {
                published: self.events.published,
                delivered: self.events.delivered,
                dropped: self.events.dropped,
            },
            mqtt: None,
        }
    }

    /// [`MetricsSnapshot::report`] as JSON.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self.report()).unwrap_or(Value::Null)
    }
}
