//! The machine's processes as the tests look at them (which ffmpeg runs, for whom).

/// One process from `/proc`.
#[derive(Debug, Clone)]
pub struct Proc {
    pub pid: i32,
    pub ppid: i32,
    /// The executable's short name (`/proc/<pid>/stat`'s comm).
    pub comm: String,
    /// The command line, arguments joined by spaces.
    pub cmdline: String,
    /// Ended, not yet reaped by its parent.
    pub zombie: bool,
}

/// Every process readable now; ones that end while being read are left out.
pub fn processes() -> Vec<Proc> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let (Ok(stat), Ok(cmdline)) = (
            std::fs::read_to_string(format!("/proc/{pid}/stat")),
            std::fs::read(format!("/proc/{pid}/cmdline")),
        ) else {
            continue;
        };
        // pid (comm) state ppid ...; comm may itself hold ") ", so split at the last one.
        let Some((head, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let comm = head.split_once(" (").map_or("", |(_, c)| c).to_owned();
        let mut fields = rest.split(' ');
        let zombie = fields.next() == Some("Z");
        let ppid = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        out.push(Proc {
            pid,
            ppid,
            comm,
            cmdline: String::from_utf8_lossy(&cmdline)
                .trim_end_matches('\0')
                .replace('\0', " "),
            zombie,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_test_process_is_listed_with_its_parent() {
        let me = std::process::id() as i32;
        let found = processes()
            .into_iter()
            .find(|p| p.pid == me)
            .expect("this process is listed");
        assert!(!found.zombie);
        assert_eq!(found.ppid, parent_pid());
        assert!(found.cmdline.contains(&std::env::args().next().unwrap()));
    }

    /// The parent's pid from `std::os::unix`, independent of the parser under test.
    fn parent_pid() -> i32 {
        std::os::unix::process::parent_id() as i32
    }
}
