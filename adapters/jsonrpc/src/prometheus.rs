//! `GET /metrics`: the gateway's metric families in the Prometheus text exposition format
//! 0.0.4, every name under the `camera_service_` namespace.

use std::fmt::Write as _;

use ports::metrics::{Labels, MetricFamily, MetricValues};

const NAMESPACE: &str = "camera_service_";

/// The content type of `render`'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `{k="v",...}`, or nothing without labels; `extra` (the `le` of a bucket) goes last.
fn write_labels(out: &mut String, labels: &Labels, extra: Option<(&str, &str)>) {
    let all = labels
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .chain(extra)
        .collect::<Vec<_>>();
    if all.is_empty() {
        return;
    }
    out.push('{');
    for (i, (k, v)) in all.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        for c in v.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push('}');
}

/// The exposition text of `families`, in their order.
pub fn render(families: &[MetricFamily]) -> String {
    let mut out = String::with_capacity(4096 + families.len() * 256);
    // Writing to a String cannot fail.
    for f in families {
        let kind = match f.values {
            MetricValues::Counter(_) => "counter",
            MetricValues::Gauge(_) => "gauge",
            MetricValues::Histogram(_) => "histogram",
        };
        let name = f.name;
        let _ = writeln!(
            out,
            "# HELP {NAMESPACE}{name} {}\n# TYPE {NAMESPACE}{name} {kind}",
            f.help
        );
        match &f.values {
            MetricValues::Counter(samples) | MetricValues::Gauge(samples) => {
                for s in samples {
                    let _ = write!(out, "{NAMESPACE}{name}");
                    write_labels(&mut out, &s.labels, None);
                    let _ = writeln!(out, " {}", s.value);
                }
            }
            MetricValues::Histogram(series) => {
                for h in series {
                    for (upper, n) in &h.buckets {
                        let _ = write!(out, "{NAMESPACE}{name}_bucket");
                        write_labels(&mut out, &h.labels, Some(("le", &upper.to_string())));
                        let _ = writeln!(out, " {n}");
                    }
                    let _ = write!(out, "{NAMESPACE}{name}_bucket");
                    write_labels(&mut out, &h.labels, Some(("le", "+Inf")));
                    let _ = writeln!(out, " {}", h.count);
                    let _ = write!(out, "{NAMESPACE}{name}_sum");
                    write_labels(&mut out, &h.labels, None);
                    let _ = writeln!(out, " {}", h.sum);
                    let _ = write!(out, "{NAMESPACE}{name}_count");
                    write_labels(&mut out, &h.labels, None);
                    let _ = writeln!(out, " {}", h.count);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ports::metrics::{HistogramSample, Sample};
    use std::collections::HashMap;

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

    fn families() -> Vec<MetricFamily> {
        vec![
            MetricFamily::gauge("uptime_seconds", "Seconds since start.", 1.5),
            MetricFamily {
                name: "process_cpu_seconds_total",
                help: "CPU time.",
                values: MetricValues::Counter(vec![Sample::plain(0.25)]),
            },
            MetricFamily {
                name: "requests_total",
                help: "Requests, by method.",
                values: MetricValues::Counter(vec![
                    Sample {
                        labels: vec![("method", "ping".into())],
                        value: 5.0,
                    },
                    Sample {
                        labels: vec![("method", "odd \"name\"\\".into())],
                        value: 1.0,
                    },
                ]),
            },
            MetricFamily {
                name: "request_duration_seconds",
                help: "Latency.",
                values: MetricValues::Histogram(vec![HistogramSample {
                    labels: vec![("method", "ping".into())],
                    buckets: vec![(0.000025, 0), (0.00005, 1), (0.0001, 3), (0.0002, 4)],
                    sum: 0.00535,
                    count: 5,
                }]),
            },
        ]
    }

    #[test]
    fn the_text_parses_and_carries_the_figures() {
        let text = render(&families());
        let scrape = parse(&text);
        assert_eq!(
            value_of(&scrape, "camera_service_uptime_seconds", None),
            1.5
        );
        assert_eq!(
            value_of(&scrape, "camera_service_process_cpu_seconds_total", None),
            0.25
        );
        assert_eq!(
            value_of(
                &scrape,
                "camera_service_requests_total",
                Some(("method", "ping"))
            ),
            5.0
        );
        assert!(text.contains("# TYPE camera_service_process_cpu_seconds_total counter\n"));
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
        assert_eq!(ping.len(), 5);
        assert_eq!(ping.last().map(|b| b.count), Some(5.0));
        assert!(ping.windows(2).all(|w| w[0].count <= w[1].count));
        assert!(
            text.contains("camera_service_request_duration_seconds_sum{method=\"ping\"} 0.00535\n")
        );
        assert!(text.contains("camera_service_request_duration_seconds_count{method=\"ping\"} 5\n"));
        assert!(text.contains(r#"{method="odd \"name\"\\"} 1"#));
    }

    #[test]
    fn every_sample_belongs_to_a_declared_family() {
        let text = render(&families());
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
                assert!(name.starts_with(NAMESPACE));
            }
        }
    }
}
