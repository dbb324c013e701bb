//! The service's figures as data, for an exposition format to render (`GET /metrics`).
//!
//! The app says which figures exist, of what kind and with which labels; the transport
//! adapter alone knows the text format (names are rendered with its namespace prefix).

/// Label name and value pairs of one sample.
pub type Labels = Vec<(&'static str, String)>;

/// One figure with its labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub value: f64,
}

impl Sample {
    /// A sample without labels.
    pub fn plain(value: f64) -> Sample {
        Sample {
            labels: Vec::new(),
            value,
        }
    }
}

/// One histogram series (a label set), buckets cumulative.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSample {
    pub labels: Labels,
    /// (inclusive upper bound, observations at or below it), bounds ascending; the `+Inf`
    /// bucket is `count`.
    pub buckets: Vec<(f64, u64)>,
    pub sum: f64,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MetricValues {
    /// Only ever grows (until the process restarts).
    Counter(Vec<Sample>),
    /// Goes up and down.
    Gauge(Vec<Sample>),
    Histogram(Vec<HistogramSample>),
}

/// A named family of samples.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricFamily {
    /// Without the exposition's namespace, e.g. `requests_total`.
    pub name: &'static str,
    pub help: &'static str,
    pub values: MetricValues,
}

impl MetricFamily {
    pub fn counter(name: &'static str, help: &'static str, value: u64) -> MetricFamily {
        MetricFamily {
            name,
            help,
            values: MetricValues::Counter(vec![Sample::plain(value as f64)]),
        }
    }

    pub fn gauge(name: &'static str, help: &'static str, value: f64) -> MetricFamily {
        MetricFamily {
            name,
            help,
            values: MetricValues::Gauge(vec![Sample::plain(value)]),
        }
    }
}
