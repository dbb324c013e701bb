//! Running ffmpeg and ffprobe: never through a shell, killed when dropped or hung, their
//! error output kept (the last lines) for the error a client sees.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::Signal;
use ports::capture::CaptureError;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{ChildStderr, Command};
use tokio::task::JoinHandle;

/// Lines of error output kept.
const TAIL_LINES: usize = 12;
/// Longest line kept.
const TAIL_LINE_BYTES: usize = 300;

/// A command for `program` with `args`, set up to be supervised:
/// - killed (SIGKILL) when its handle is dropped;
/// - in its own process group, so a Ctrl-C meant for the service does not cut a recording
///   short before the service finishes it;
/// - sent `on_parent_death` when the service dies (even by SIGKILL), when given.
///
/// Linux sends the parent-death signal each time the child is handed from a dying thread
/// to another thread of the dying service, so a multi-threaded service that is killed
/// sends it several times; ffmpeg takes a second SIGTERM as "exit immediately" and then
/// skips the file's trailer. So only processes with nothing to finish get one (SIGKILL);
/// a recording notices the service's death through its preview pipe instead (EPIPE), on
/// which ffmpeg finishes its files cleanly.
pub fn supervised(program: &Path, args: Vec<OsString>, on_parent_death: Option<Signal>) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args).kill_on_drop(true).process_group(0);
    if let Some(signal) = on_parent_death {
        // SAFETY: the closure runs in the child between fork and exec; it only makes the
        // prctl(2) system call, which is async-signal-safe, and allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                nix::sys::prctl::set_pdeathsig(signal)
                    .map_err(|e| io::Error::from_raw_os_error(e as i32))
            });
        }
    }
    cmd
}

/// Why `program` could not be started.
pub fn spawn_error(dependency: &'static str, program: &Path, e: io::Error) -> CaptureError {
    let details = format!("cannot run {}: {e}", program.display());
    match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied => CaptureError::Unavailable {
            dependency,
            details,
        },
        _ => CaptureError::Failed {
            dependency,
            details,
        },
    }
}

/// The last lines a process wrote to stderr, collected while it runs.
#[derive(Clone, Default)]
pub struct StderrTail {
    lines: Arc<Mutex<VecDeque<String>>>,
}

impl StderrTail {
    /// Reads `stderr` to its end in a task (so the process never blocks on a full pipe).
    pub fn collect(stderr: ChildStderr) -> (StderrTail, JoinHandle<()>) {
        let tail = StderrTail::default();
        let lines = tail.lines.clone();
        let task = tokio::spawn(async move {
            let mut reader = BufReader::new(stderr);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(&buf);
                        let text = text.trim_end();
                        if text.is_empty() {
                            continue;
                        }
                        let mut cut = text.len().min(TAIL_LINE_BYTES);
                        while !text.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        let mut l = lines.lock().unwrap_or_else(|p| p.into_inner());
                        if l.len() == TAIL_LINES {
                            l.pop_front();
                        }
                        l.push_back(text[..cut].to_owned());
                    }
                }
            }
        });
        (tail, task)
    }

    pub fn text(&self) -> String {
        let l = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        l.iter().map(String::as_str).collect::<Vec<_>>().join("\n")
    }
}

/// `exit status 1`, `killed by signal 9`.
pub fn status_text(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        (None, None) => "unknown exit".into(),
    }
}

/// The error for a process that ended badly, by what it said.
pub fn failure(
    dependency: &'static str,
    status: ExitStatus,
    tail: &str,
    from_device: bool,
) -> CaptureError {
    let lower = tail.to_ascii_lowercase();
    if lower.contains("device or resource busy") {
        return CaptureError::Busy(tail.to_owned());
    }
    if from_device
        && (lower.contains("no such file or directory") || lower.contains("no such device"))
    {
        return CaptureError::SourceGone(tail.to_owned());
    }
    let details = if tail.is_empty() {
        status_text(status)
    } else {
        format!("{}: {tail}", status_text(status))
    };
    CaptureError::Failed {
        dependency,
        details,
    }
}

/// What a finished run gave.
pub struct Finished {
    pub stdout: Vec<u8>,
}

/// Runs a command to its end, feeding it `stdin` and keeping at most `max_stdout` bytes
/// of its output. Killed after `timeout`.
pub async fn run(
    dependency: &'static str,
    program: &Path,
    args: Vec<OsString>,
    stdin: Option<Arc<Vec<u8>>>,
    max_stdout: usize,
    timeout: Duration,
    from_device: bool,
) -> Result<Finished, CaptureError> {
    // Nothing to finish: gone with the service.
    let mut cmd = supervised(program, args, Some(Signal::SIGKILL));
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(if max_stdout > 0 {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| spawn_error(dependency, program, e))?;
    let (tail, tail_task) = match child.stderr.take() {
        Some(s) => {
            let (t, task) = StderrTail::collect(s);
            (t, Some(task))
        }
        None => (StderrTail::default(), None),
    };
    let feeder = match (stdin, child.stdin.take()) {
        (Some(data), Some(mut pipe)) => Some(tokio::spawn(async move {
            // A process that stops reading early closes the pipe: not our error to report.
            let _ = pipe.write_all(&data).await;
            let _ = pipe.shutdown().await;
        })),
        _ => None,
    };
    let reader = child.stdout.take().map(|mut out| {
        tokio::spawn(async move {
            let mut kept = Vec::new();
            let _ = (&mut out)
                .take(max_stdout as u64)
                .read_to_end(&mut kept)
                .await;
            // Drain the rest so the process never blocks on a full pipe.
            let _ = tokio::io::copy(&mut out, &mut tokio::io::sink()).await;
            kept
        })
    });
    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => status,
        Ok(Err(e)) => {
            return Err(CaptureError::Failed {
                dependency,
                details: format!("waiting for {}: {e}", program.display()),
            })
        }
        Err(_) => {
            let _ = child.kill().await;
            if let Some(t) = tail_task {
                let _ = t.await;
            }
            return Err(CaptureError::TimedOut {
                dependency,
                secs: timeout.as_secs_f64(),
                details: tail.text(),
            });
        }
    };
    if let Some(t) = tail_task {
        let _ = t.await;
    }
    if let Some(f) = feeder {
        let _ = f.await;
    }
    let stdout = match reader {
        Some(r) => r.await.unwrap_or_default(),
        None => Vec::new(),
    };
    if !status.success() {
        return Err(failure(dependency, status, &tail.text(), from_device));
    }
    Ok(Finished { stdout })
}
