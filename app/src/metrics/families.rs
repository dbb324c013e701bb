//! The snapshot as metric families: which figures `GET /metrics` exposes, of what kind,
//! with which labels. The transport renders them (`ports::metrics`).

use ports::metrics::{HistogramSample, MetricFamily, MetricValues, Sample};

use super::histogram::LATENCY_BUCKETS_US;
use super::snapshot::MetricsSnapshot;

fn method_label(name: &str) -> Vec<(&'static str, String)> {
    vec![("method", name.to_owned())]
}

impl MetricsSnapshot {
    /// Every figure, in a stable order. Process figures are left out when unreadable.
    pub fn families(&self) -> Vec<MetricFamily> {
        let mut out = Vec::with_capacity(32);
        out.push(MetricFamily::gauge(
            "uptime_seconds",
            "Seconds since the service started.",
            self.uptime_secs,
        ));
        if let Some(p) = self.process {
            out.push(MetricFamily::gauge(
                "process_resident_memory_bytes",
                "Resident set size.",
                p.rss_bytes as f64,
            ));
            out.push(MetricFamily {
                name: "process_cpu_seconds_total",
                help: "User and system CPU time used since the process started.",
                values: MetricValues::Counter(vec![Sample::plain(p.cpu_seconds_total)]),
            });
            out.push(MetricFamily::gauge(
                "process_threads",
                "Threads of the process.",
                p.threads as f64,
            ));
            out.push(MetricFamily::gauge(
                "process_open_fds",
                "Open file descriptors.",
                p.open_fds as f64,
            ));
        }
        out.push(MetricFamily::gauge(
            "connections_active",
            "Open client connections.",
            self.connections_active as f64,
        ));
        out.push(MetricFamily::gauge(
            "connections_authenticated",
            "Open client connections that are authenticated.",
            self.connections_authenticated as f64,
        ));
        out.push(MetricFamily::counter(
            "connections_accepted_total",
            "Client connections accepted since start.",
            self.connections_accepted,
        ));

        let per_method = |figure: fn(&super::LatencySnapshot) -> u64| {
            let mut samples: Vec<Sample> = self
                .by_method
                .iter()
                .map(|(m, s)| Sample {
                    labels: method_label(m.name()),
                    value: figure(s) as f64,
                })
                .collect();
            if self.unknown_methods > 0 {
                samples.push(Sample {
                    labels: method_label("unknown"),
                    value: self.unknown_methods as f64,
                });
            }
            MetricValues::Counter(samples)
        };
        out.push(MetricFamily {
            name: "requests_total",
            help: "Requests answered, by method (unknown: no such method).",
            values: per_method(|s| s.count),
        });
        out.push(MetricFamily {
            name: "request_errors_total",
            help: "Requests answered with an error, by method.",
            values: per_method(|s| s.errors),
        });
        let latencies = self
            .by_method
            .iter()
            .map(|(m, s)| {
                let mut cumulative = 0;
                let buckets = LATENCY_BUCKETS_US
                    .iter()
                    .zip(&s.buckets)
                    .map(|(&upper_us, &n)| {
                        cumulative += n;
                        (upper_us as f64 / 1e6, cumulative)
                    })
                    .collect();
                HistogramSample {
                    labels: method_label(m.name()),
                    buckets,
                    sum: s.sum_us as f64 / 1e6,
                    count: s.count,
                }
            })
            .collect();
        out.push(MetricFamily {
            name: "request_duration_seconds",
            help: "Time to answer a request, by method.",
            values: MetricValues::Histogram(latencies),
        });

        out.push(MetricFamily::gauge(
            "cameras",
            "Cameras known.",
            self.cameras_total as f64,
        ));
        out.push(MetricFamily::gauge(
            "cameras_connected",
            "Cameras connected.",
            self.cameras_connected as f64,
        ));
        out.push(MetricFamily::gauge(
            "recordings_active",
            "Recordings running.",
            self.recordings_active as f64,
        ));
        out.push(MetricFamily::counter(
            "recordings_started_total",
            "Recordings started since start.",
            self.recordings_started,
        ));
        out.push(MetricFamily::counter(
            "recordings_failed_total",
            "Recordings that failed to start or while running.",
            self.recordings_failed,
        ));
        out.push(MetricFamily {
            name: "snapshots_total",
            help: "Snapshots taken, by tier.",
            values: MetricValues::Counter(
                (1..=3)
                    .zip(self.snapshots_by_tier)
                    .map(|(tier, n)| Sample {
                        labels: vec![("tier", tier.to_string())],
                        value: n as f64,
                    })
                    .collect(),
            ),
        });
        out.push(MetricFamily {
            name: "downloads_total",
            help: "HTTP file downloads answered, by outcome (error: refused or failed).",
            values: MetricValues::Counter(
                ["ok", "error"]
                    .into_iter()
                    .zip(self.downloads)
                    .map(|(outcome, n)| Sample {
                        labels: vec![("outcome", outcome.to_owned())],
                        value: n as f64,
                    })
                    .collect(),
            ),
        });
        let e = &self.events;
        out.push(MetricFamily::counter(
            "events_published_total",
            "Events published.",
            e.published,
        ));
        out.push(MetricFamily::counter(
            "events_delivered_total",
            "Notifications read by subscribers.",
            e.delivered,
        ));
        out.push(MetricFamily::counter(
            "events_dropped_total",
            "Events slow subscribers lost.",
            e.dropped,
        ));
        out.push(MetricFamily::gauge(
            "event_subscribers",
            "Live event subscriptions.",
            e.subscribers as f64,
        ));
        out.push(MetricFamily::counter(
            "event_stuck_disconnects_total",
            "Subscriptions ended because they stayed stuck.",
            e.stuck_disconnects,
        ));
        out.push(MetricFamily::counter(
            "slow_clients_closed_total",
            "Connections closed because a subscription stayed stuck (the client did not read).",
            e.slow_clients_closed,
        ));
        out
    }
}
