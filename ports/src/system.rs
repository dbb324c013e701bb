//! Figures about the running process itself (for `get_metrics` and `/metrics`).

/// One reading of the process's resource use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessSample {
    /// Resident set size.
    pub rss_bytes: u64,
    /// CPU time (user + system) used since the process started, in seconds: a counter, so
    /// any number of readers can take rates from it without disturbing each other.
    pub cpu_seconds_total: f64,
    pub threads: u64,
    pub open_fds: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("process statistics unavailable: {0}")]
pub struct ProcessStatsError(pub String);

pub trait ProcessStats: Send + Sync + 'static {
    /// Reads the figures now. Holds no state between calls.
    fn sample(&self) -> Result<ProcessSample, ProcessStatsError>;
}
