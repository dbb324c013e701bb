//! Figures about the running process itself (for `get_metrics` and `/metrics`).

/// One reading of the process's resource use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessSample {
    /// Resident set size.
    pub rss_bytes: u64,
    /// CPU used since the previous sample, in percent of one core (200 = two cores busy).
    pub cpu_percent: f64,
    pub threads: u64,
    pub open_fds: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("process statistics unavailable: {0}")]
pub struct ProcessStatsError(pub String);

pub trait ProcessStats: Send + Sync + 'static {
    /// Reads the figures now; `cpu_percent` covers the time since the previous call
    /// (or since the figures were first asked for, on the first call).
    fn sample(&self) -> Result<ProcessSample, ProcessStatsError>;
}
