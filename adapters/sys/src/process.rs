//! `ports::system::ProcessStats` from `/proc/self`.

use std::path::PathBuf;

use nix::unistd::{sysconf, SysconfVar};
use ports::system::{ProcessSample, ProcessStats, ProcessStatsError};

/// Reads `/proc/self/{status,stat,fd}`; CPU is the cumulative `utime + stime`, so a
/// sample depends on no earlier one.
pub struct ProcStats {
    proc_dir: PathBuf,
    ticks_per_sec: f64,
}

/// The figures `/proc/<pid>/status` gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusFigures {
    pub rss_bytes: u64,
    pub threads: u64,
}

impl ProcStats {
    /// This process.
    pub fn new() -> ProcStats {
        ProcStats::at("/proc/self")
    }

    /// Another `/proc/<pid>`-shaped directory.
    pub fn at(proc_dir: impl Into<PathBuf>) -> ProcStats {
        let ticks_per_sec = match sysconf(SysconfVar::CLK_TCK) {
            Ok(Some(t)) if t > 0 => t as f64,
            // USER_HZ is 100 on every Linux architecture.
            _ => 100.0,
        };
        ProcStats {
            proc_dir: proc_dir.into(),
            ticks_per_sec,
        }
    }

    fn read(&self, name: &str) -> Result<String, ProcessStatsError> {
        let path = self.proc_dir.join(name);
        std::fs::read_to_string(&path)
            .map_err(|e| ProcessStatsError(format!("{}: {e}", path.display())))
    }

    fn cpu_ticks(&self) -> Result<u64, ProcessStatsError> {
        let stat = self.read("stat")?;
        parse_cpu_ticks(&stat)
            .ok_or_else(|| ProcessStatsError(format!("unexpected stat line: {stat:?}")))
    }

    fn open_fds(&self) -> Result<u64, ProcessStatsError> {
        let dir = self.proc_dir.join("fd");
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| ProcessStatsError(format!("{}: {e}", dir.display())))?;
        let listed = entries.filter(|e| e.is_ok()).count() as u64;
        // The listing itself holds one descriptor open on the directory.
        Ok(listed.saturating_sub(1))
    }
}

impl Default for ProcStats {
    fn default() -> Self {
        ProcStats::new()
    }
}

impl ProcessStats for ProcStats {
    fn sample(&self) -> Result<ProcessSample, ProcessStatsError> {
        let status = self.read("status")?;
        let figures = parse_status(&status)
            .ok_or_else(|| ProcessStatsError("status lacks VmRSS or Threads".to_owned()))?;
        let ticks = self.cpu_ticks()?;
        let open_fds = self.open_fds()?;
        Ok(ProcessSample {
            rss_bytes: figures.rss_bytes,
            cpu_seconds_total: ticks as f64 / self.ticks_per_sec,
            threads: figures.threads,
            open_fds,
        })
    }
}

/// `utime + stime` (clock ticks) from a `/proc/<pid>/stat` line. The command name may hold
/// spaces and parentheses, so fields are counted from its closing `)`.
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_comm.split_ascii_whitespace();
    // Field 3 (state) is the first after the name; utime and stime are fields 14 and 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// `VmRSS` and `Threads` from `/proc/<pid>/status`.
pub fn parse_status(status: &str) -> Option<StatusFigures> {
    let mut rss_bytes = None;
    let mut threads = None;
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix("VmRSS:") {
            let mut parts = rest.split_ascii_whitespace();
            let value: u64 = parts.next()?.parse().ok()?;
            let scale = match parts.next() {
                Some("kB") | Some("KB") | Some("kb") => 1024,
                Some("mB") | Some("MB") => 1024 * 1024,
                None | Some("B") => 1,
                Some(_) => return None,
            };
            rss_bytes = Some(value * scale);
        } else if let Some(rest) = line.strip_prefix("Threads:") {
            threads = Some(rest.trim().parse().ok()?);
        }
    }
    Some(StatusFigures {
        rss_bytes: rss_bytes?,
        threads: threads?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (camera (x) svc) S 1 4242 4242 0 -1 4194560 1234 0 0 0 \
        250 75 0 0 20 0 6 0 123456 12345678 900 18446744073709551615 1 1 0 0 0 0 0 4096 17642 0 0 0 17 1 0 0 0 0 0";

    const STATUS: &str = "Name:\tcamera-service\nUmask:\t0022\nState:\tS (sleeping)\n\
        VmPeak:\t   10000 kB\nVmRSS:\t    5120 kB\nRssAnon:\t    2048 kB\nThreads:\t6\nSigQ:\t0/63382\n";

    #[test]
    fn cpu_ticks_are_user_plus_system_time_even_with_odd_command_names() {
        assert_eq!(parse_cpu_ticks(STAT), Some(325));
    }

    #[test]
    fn truncated_stat_lines_are_refused() {
        assert_eq!(parse_cpu_ticks("4242 (svc) S 1 2 3"), None);
        assert_eq!(parse_cpu_ticks("no parenthesis here"), None);
    }

    #[test]
    fn status_gives_rss_in_bytes_and_thread_count() {
        assert_eq!(
            parse_status(STATUS),
            Some(StatusFigures {
                rss_bytes: 5120 * 1024,
                threads: 6
            })
        );
    }

    #[test]
    fn status_without_rss_is_refused() {
        assert_eq!(parse_status("Name:\tx\nThreads:\t1\n"), None);
    }

    #[test]
    fn this_process_reports_plausible_figures() {
        let stats = ProcStats::new();
        let file = std::fs::File::open("/proc/self/status").expect("procfs is mounted on Linux");
        let s = stats.sample().expect("/proc/self is readable");
        assert!(s.rss_bytes > 0);
        assert!(s.threads >= 1);
        // stdin/stdout/stderr plus the file held open above.
        assert!(s.open_fds >= 4, "open_fds = {}", s.open_fds);
        assert!(s.cpu_seconds_total >= 0.0);
        drop(file);
    }

    #[test]
    fn busy_work_between_samples_shows_as_cpu_use() {
        let stats = ProcStats::new();
        let first = stats.sample().expect("/proc/self is readable");
        // Spin until the kernel has charged this process at least one more tick.
        let before = stats.cpu_ticks().expect("/proc/self/stat is readable");
        let mut x = 0u64;
        while stats.cpu_ticks().expect("/proc/self/stat is readable") == before {
            for _ in 0..100_000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
            std::hint::black_box(x);
        }
        let s = stats.sample().expect("/proc/self is readable");
        assert!(
            s.cpu_seconds_total > first.cpu_seconds_total,
            "{} then {}",
            first.cpu_seconds_total,
            s.cpu_seconds_total
        );
    }
}
