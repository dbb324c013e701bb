//! CPU use for the `get_metrics` result, from the cumulative CPU seconds the process
//! reports (`ProcessSample::cpu_seconds_total`, exposed as-is as a counter).
//!
//! The percent is the average since the service started: it depends only on the two
//! figures of one snapshot, so two clients reading the metrics never change each other's
//! figure (a "since the previous sample" percent would). A rate over a window is for the
//! scraper to take from the counter.

/// Percent of one core (200 = two cores busy) used on average over `uptime_secs`.
pub(super) fn average_percent(cpu_seconds_total: f64, uptime_secs: f64) -> f64 {
    if uptime_secs > 0.0 {
        (cpu_seconds_total / uptime_secs * 100.0).max(0.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_percent_is_cpu_time_over_uptime() {
        assert_eq!(average_percent(1.5, 10.0), 15.0);
        assert_eq!(average_percent(20.0, 10.0), 200.0);
    }

    #[test]
    fn no_uptime_yet_is_no_use() {
        assert_eq!(average_percent(0.2, 0.0), 0.0);
    }
}
