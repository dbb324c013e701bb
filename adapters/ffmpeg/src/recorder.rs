//! A recording under way: one supervised ffmpeg writing a crash-safe file (or segments)
//! and sending preview JPEGs on stdout for snapshots while it holds the device; or an ffmpeg
//! copying a stream (MediaMTX's path) into the same containers, for which any end it was not
//! asked for is the stream going away, a failure.
//!
//! One file of ~670 lines: the supervised recording process, its stop protocol and its progress
//! watching share one state machine; split, each half would need the other's internals.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use domain::api::Quality;
use domain::files::SnapshotFormat;
use domain::Resolution;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use ports::camera::CaptureSource;
use ports::capture::{
    CaptureError, Recorder, RecordingEnd, RecordingRequest, RecordingSource, Still,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::{mpsc, watch, Mutex};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::command::{self, RecordingTarget};
use crate::process::{self, StderrTail};
use crate::progress::{FramecrcReader, Progress};
use crate::Settings;

const DEPENDENCY: &str = "ffmpeg";
/// Largest preview frame accepted from ffmpeg.
const MAX_PREVIEW_BYTES: usize = 16 * 1024 * 1024;
/// How long a snapshot waits for the first preview frame of a recording that just started.
const FIRST_PREVIEW_WAIT: Duration = Duration::from_secs(3);
/// The longest time between two looks for a stall.
const STALL_TICK: Duration = Duration::from_millis(500);
/// A planned recording from a stream whose packet list never says it holds its time (a
/// stream without timestamps) is finished this long after its planned end by the clock.
const PLANNED_FALLBACK: Duration = Duration::from_secs(2);

/// Where a recording's files are.
#[derive(Debug, Clone)]
enum Files {
    One(PathBuf),
    /// `<dir>/<stem>_NNN.<ext>`
    Segments {
        dir: PathBuf,
        stem: String,
        ext: String,
    },
}

impl Files {
    fn for_request(req: &RecordingRequest) -> Files {
        match req.segment_secs {
            None => Files::One(req.path.clone()),
            Some(_) => {
                let dir = req.path.parent().map(Path::to_path_buf).unwrap_or_default();
                let stem = req
                    .path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let ext = req.format.extension().to_owned();
                Files::Segments { dir, stem, ext }
            }
        }
    }

    fn segment(dir: &Path, stem: &str, ext: &str, n: u32) -> PathBuf {
        dir.join(format!("{stem}_{n:03}.{ext}"))
    }

    fn first(&self) -> PathBuf {
        match self {
            Files::One(p) => p.clone(),
            Files::Segments { dir, stem, ext } => Files::segment(dir, stem, ext, 0),
        }
    }

    /// The bytes written so far, in every file.
    fn total_size(&self) -> u64 {
        self.existing()
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }

    fn existing(&self) -> Vec<PathBuf> {
        match self {
            Files::One(p) => vec![p.clone()],
            Files::Segments { dir, stem, ext } => (0..)
                .map(|n| Files::segment(dir, stem, ext, n))
                .take_while(|p| p.exists())
                .collect(),
        }
    }
}

enum Control {
    Kill,
    /// The first bytes are on disk: watch for stalls from now on, and finish the file once
    /// it holds `planned` (a planned recording from a stream).
    Started {
        planned: Option<Duration>,
    },
}

/// How the process ended, with what it said.
#[derive(Debug, Clone)]
struct Exit {
    end: RecordingEnd,
    error: Option<CaptureError>,
}

/// A running ffmpeg recording.
pub struct FfmpegRecorder {
    files: Files,
    pid: Option<u32>,
    stdin: Mutex<Option<ChildStdin>>,
    control: mpsc::Sender<Control>,
    exit: watch::Receiver<Option<Exit>>,
    stop_requested: Arc<AtomicBool>,
    preview: watch::Receiver<Option<Arc<Vec<u8>>>>,
    /// The preview's size; `None` for a stream recording, which sends no preview.
    preview_size: Option<Resolution>,
    settings: Arc<Settings>,
}

impl FfmpegRecorder {
    /// Starts ffmpeg and waits until the first bytes of the file are on disk.
    pub(crate) async fn start(
        settings: Arc<Settings>,
        req: RecordingRequest,
    ) -> Result<Arc<FfmpegRecorder>, CaptureError> {
        if let RecordingSource::Camera {
            source: CaptureSource::TestPattern { pattern },
            ..
        } = &req.source
        {
            if !command::valid_pattern(pattern) {
                return Err(CaptureError::Failed {
                    dependency: DEPENDENCY,
                    details: format!("{pattern:?} is not a test pattern name"),
                });
            }
        }
        let files = Files::for_request(&req);
        let pattern;
        let target = match (&files, req.segment_secs) {
            (Files::Segments { dir, stem, ext }, Some(seconds)) => {
                pattern = dir.join(format!("{stem}_%03d.{ext}"));
                RecordingTarget::Segments {
                    pattern: &pattern,
                    seconds,
                }
            }
            _ => RecordingTarget::File(&req.path),
        };
        let (args, preview_size, start_timeout) = match &req.source {
            RecordingSource::Camera { source, mode } => (
                command::recording(source, mode, req.format, req.planned, target),
                Some(mode.capture.size),
                settings.start_timeout,
            ),
            RecordingSource::Stream { url } => (
                command::stream_recording(url, req.format, target),
                None,
                settings.stream_start_timeout,
            ),
        };
        let from_stream = matches!(req.source, RecordingSource::Stream { .. });
        // No parent-death signal: if the service dies, the pipe on stdout (preview JPEGs, or
        // a stream recording's packet list) breaks and ffmpeg finishes the file (see
        // `process::supervised`).
        let mut cmd = process::supervised(&settings.ffmpeg, args, None);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| process::spawn_error(DEPENDENCY, &settings.ffmpeg, e))?;
        let pid = child.id();
        let stdin = child.stdin.take();
        let (tail, tail_task) = match child.stderr.take() {
            Some(s) => {
                let (t, task) = StderrTail::collect(s);
                (t, Some(task))
            }
            None => (StderrTail::default(), None),
        };
        let (preview_tx, preview_rx) = watch::channel(None);
        let (progress_tx, progress_rx) = watch::channel(Progress::default());
        if let Some(out) = child.stdout.take() {
            if from_stream {
                tokio::spawn(read_packets(out, progress_tx));
            } else {
                tokio::spawn(read_previews(out, preview_tx, progress_tx));
            }
        }

        let (control_tx, control_rx) = mpsc::channel::<Control>(4);
        let (exit_tx, exit_rx) = watch::channel(None::<Exit>);
        let stop_requested = Arc::new(AtomicBool::new(false));
        let from_device = matches!(
            req.source,
            RecordingSource::Camera {
                source: CaptureSource::Device { .. },
                ..
            }
        );
        let supervisor = Supervisor {
            child,
            files: files.clone(),
            control: control_rx,
            progress: progress_rx,
            stopping: stop_requested.clone(),
            grace: settings.stop_grace,
            stall_after: settings.stall_after,
            from_stream,
            from_device,
            tail,
            tail_task,
        };
        tokio::spawn(async move {
            let exit = supervisor.run().await;
            let _ = exit_tx.send(Some(exit));
        });

        let recorder = Arc::new(FfmpegRecorder {
            files,
            pid,
            stdin: Mutex::new(stdin),
            control: control_tx,
            exit: exit_rx,
            stop_requested,
            preview: preview_rx,
            preview_size,
            settings: settings.clone(),
        });
        recorder
            .wait_for_first_bytes(&req.path, start_timeout)
            .await?;
        let planned = req.planned.map(|d| Duration::from_secs_f64(d.secs()));
        let _ = recorder
            .control
            .send(Control::Started {
                // A recording from the camera ends itself (`-t`); one from a stream is ended
                // by its supervisor when the file holds the planned time.
                planned: if from_stream { planned } else { None },
            })
            .await;
        Ok(recorder)
    }

    async fn wait_for_first_bytes(
        &self,
        reserved: &Path,
        timeout: Duration,
    ) -> Result<(), CaptureError> {
        let first = self.files.first();
        let deadline = tokio::time::Instant::now() + timeout;
        let mut exit = self.exit.clone();
        loop {
            if std::fs::metadata(&first)
                .map(|m| m.len() > 0)
                .unwrap_or(false)
            {
                if first != reserved {
                    // Segments are named after the reserved name, which they replace.
                    let _ = std::fs::remove_file(reserved);
                }
                return Ok(());
            }
            if let Some(e) = exit.borrow().clone() {
                return Err(e.error.unwrap_or_else(|| CaptureError::Failed {
                    dependency: DEPENDENCY,
                    details: format!("ended before writing anything ({:?})", e.end),
                }));
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                let _ = self.control.send(Control::Kill).await;
                let _ = self.ended().await;
                return Err(CaptureError::TimedOut {
                    dependency: DEPENDENCY,
                    secs: timeout.as_secs_f64(),
                    details: "no video was written".into(),
                });
            }
            let nap = Duration::from_millis(20).min(deadline - now);
            let _ = tokio::time::timeout(nap, exit.changed()).await;
        }
    }

    /// The ffmpeg process id while it runs (for tests that kill it).
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    fn ended_now(&self) -> Option<RecordingEnd> {
        self.exit.borrow().as_ref().map(|e| e.end.clone())
    }

    async fn latest_preview(&self) -> Option<Arc<Vec<u8>>> {
        let mut rx = self.preview.clone();
        let waited = tokio::time::timeout(FIRST_PREVIEW_WAIT, async {
            rx.wait_for(|f| f.is_some())
                .await
                .ok()
                .and_then(|f| f.clone())
        })
        .await;
        waited
            .ok()
            .flatten()
            .or_else(|| self.preview.borrow().clone())
    }
}

/// Watches one ffmpeg to its end: control messages, the planned end of a recording from a
/// stream, stalls; then says how it ended.
struct Supervisor {
    child: tokio::process::Child,
    files: Files,
    control: mpsc::Receiver<Control>,
    progress: watch::Receiver<Progress>,
    stopping: Arc<AtomicBool>,
    grace: Duration,
    stall_after: Option<Duration>,
    from_stream: bool,
    from_device: bool,
    tail: StderrTail,
    tail_task: Option<JoinHandle<()>>,
}

/// What the supervisor's loop does next.
enum Step {
    Wait,
    /// Finish the file (a planned end, a stall, every handle gone).
    Finish,
}

impl Supervisor {
    async fn run(mut self) -> Exit {
        let mut killed = false;
        let mut stalled: Option<String> = None;
        let mut control_open = true;
        let mut progress_open = true;
        // Set by `Control::Started`: stalls count from then on.
        let mut watching = false;
        let mut planned: Option<Duration> = None;
        let mut fallback_at: Option<Instant> = None;
        let mut last_progress = Instant::now();
        let mut last_size = 0u64;
        let mut tick = tokio::time::interval(self.stall_after.map_or(STALL_TICK, |d| {
            (d / 4).clamp(Duration::from_millis(10), STALL_TICK)
        }));
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let status = loop {
            let due = fallback_at.unwrap_or_else(Instant::now);
            let step = tokio::select! {
                s = self.child.wait() => break s,
                _ = tokio::time::sleep_until(due), if fallback_at.is_some() => {
                    fallback_at = None;
                    planned = None;
                    Step::Finish
                }
                changed = self.progress.changed(), if progress_open => match changed {
                    Ok(()) => {
                        last_progress = Instant::now();
                        let held = self.progress.borrow_and_update().held;
                        if planned.is_some_and(|p| held.is_some_and(|h| h >= p)) {
                            // The planned end: the file holds the planned time.
                            planned = None;
                            fallback_at = None;
                            Step::Finish
                        } else {
                            Step::Wait
                        }
                    }
                    Err(_) => {
                        progress_open = false;
                        Step::Wait
                    }
                },
                _ = tick.tick(), if watching => {
                    let size = self.files.total_size();
                    let after = self.stall_after.filter(|a| last_progress.elapsed() >= *a);
                    if size != last_size {
                        last_size = size;
                        last_progress = Instant::now();
                        Step::Wait
                    } else if let (Some(after), false) = (after, self.stopping.load(Ordering::SeqCst)) {
                        stalled = Some(format!(
                            "stalled: no new video for {} s{}",
                            after.as_secs_f64(),
                            if self.from_stream { " (the stream sends nothing)" } else { "" }
                        ));
                        watching = false;
                        Step::Finish
                    } else {
                        Step::Wait
                    }
                }
                c = self.control.recv(), if control_open => match c {
                    Some(Control::Kill) => {
                        killed = true;
                        let _ = self.child.start_kill();
                        Step::Wait
                    }
                    Some(Control::Started { planned: p }) => {
                        watching = self.stall_after.is_some();
                        last_progress = Instant::now();
                        last_size = self.files.total_size();
                        let held = self.progress.borrow().held;
                        if p.is_some_and(|p| held.is_some_and(|h| h >= p)) {
                            Step::Finish
                        } else {
                            planned = p;
                            fallback_at = p.map(|d| Instant::now() + d + PLANNED_FALLBACK);
                            Step::Wait
                        }
                    }
                    None => {
                        // Every handle is gone: finish the file as a stop would.
                        control_open = false;
                        Step::Finish
                    }
                },
            };
            if let Step::Finish = step {
                if !self.stopping.swap(true, Ordering::SeqCst) {
                    match finish_file(&mut self.child, self.grace).await {
                        Some(s) => break s,
                        None => killed = true,
                    }
                }
            }
        };
        if let Some(t) = self.tail_task.take() {
            let _ = t.await;
        }
        let failed = |reason: String| Exit {
            end: RecordingEnd::Failed { reason },
            error: None,
        };
        match status {
            _ if stalled.is_some() => failed(stalled.unwrap_or_default()),
            Err(e) => failed(format!("lost track of ffmpeg: {e}")),
            Ok(_) if killed => Exit {
                end: RecordingEnd::Killed,
                error: None,
            },
            Ok(status) => {
                let asked = self.stopping.load(Ordering::SeqCst);
                // After `q` ffmpeg exits 0; after SIGINT it exits 255, having finished the file.
                let finished_as_asked = asked && (status.success() || status.code() == Some(255));
                if finished_as_asked || (status.success() && !self.from_stream) {
                    Exit {
                        end: RecordingEnd::Finished,
                        error: None,
                    }
                } else if status.success() {
                    // A stream recording ends only when asked: the stream went away
                    // (publisher gone, path removed, media server restarted).
                    let tail = self.tail.text();
                    let said = tail.trim();
                    failed(if said.is_empty() {
                        "the stream ended".to_owned()
                    } else {
                        format!("the stream ended: {said}")
                    })
                } else {
                    let error =
                        process::failure(DEPENDENCY, status, &self.tail.text(), self.from_device);
                    Exit {
                        end: RecordingEnd::Failed {
                            reason: format!("ffmpeg {}", error_text(&error)),
                        },
                        error: Some(error),
                    }
                }
            }
        }
    }
}

/// Asks ffmpeg to finish the file (SIGINT: it writes what it holds and closes the
/// container; SIGCONT in case it was stopped, so that it can) and waits up to `grace`; past
/// that it is killed and `None` is returned.
async fn finish_file(
    child: &mut tokio::process::Child,
    grace: Duration,
) -> Option<std::io::Result<std::process::ExitStatus>> {
    if let Some(pid) = child.id() {
        let pid = Pid::from_raw(pid as i32);
        let _ = kill(pid, Signal::SIGINT);
        let _ = kill(pid, Signal::SIGCONT);
    }
    match tokio::time::timeout(grace, child.wait()).await {
        Ok(s) => Some(s),
        Err(_) => {
            let _ = child.start_kill();
            None
        }
    }
}

fn error_text(e: &CaptureError) -> String {
    match e {
        CaptureError::Failed { details, .. } => details.clone(),
        other => other.to_string(),
    }
}

#[async_trait]
impl Recorder for FfmpegRecorder {
    fn files(&self) -> Vec<PathBuf> {
        self.files.existing()
    }

    async fn still(
        &self,
        format: SnapshotFormat,
        quality: Quality,
        path: &Path,
    ) -> Result<Still, CaptureError> {
        let Some(size) = self.preview_size else {
            return Err(CaptureError::Failed {
                dependency: DEPENDENCY,
                details: "a recording from a stream keeps no frames; read the stream".into(),
            });
        };
        let frame = self
            .latest_preview()
            .await
            .ok_or_else(|| CaptureError::Failed {
                dependency: DEPENDENCY,
                details: "the recording has not produced a frame".into(),
            })?;
        let args = command::still_from_jpeg(format, quality, path);
        process::run(
            DEPENDENCY,
            &self.settings.ffmpeg,
            args,
            Some(frame),
            0,
            self.settings.still_timeout,
            false,
        )
        .await?;
        crate::check_written(path)?;
        Ok(Still {
            width: size.width,
            height: size.height,
        })
    }

    async fn stop(&self) -> RecordingEnd {
        if let Some(end) = self.ended_now() {
            return end;
        }
        self.stop_requested.store(true, Ordering::SeqCst);
        let asked = {
            let mut stdin = self.stdin.lock().await;
            match stdin.as_mut() {
                Some(pipe) => pipe.write_all(b"q").await.is_ok() && pipe.flush().await.is_ok(),
                None => false,
            }
        };
        if self.ended_now().is_none() {
            if let Some(pid) = self.pid {
                let pid = Pid::from_raw(pid as i32);
                if !asked {
                    let _ = kill(pid, Signal::SIGINT);
                }
                // A stopped ffmpeg (SIGSTOP, a debugger) reads neither: let it run to finish.
                let _ = kill(pid, Signal::SIGCONT);
            }
        }
        match tokio::time::timeout(self.settings.stop_grace, self.ended()).await {
            Ok(end) => end,
            Err(_) => {
                let _ = self.control.send(Control::Kill).await;
                self.ended().await
            }
        }
    }

    async fn ended(&self) -> RecordingEnd {
        let mut rx = self.exit.clone();
        let end = match rx.wait_for(|e| e.is_some()).await {
            Ok(e) => e.as_ref().map(|e| e.end.clone()),
            Err(_) => None,
        };
        end.unwrap_or_else(|| RecordingEnd::Failed {
            reason: "the ffmpeg supervisor stopped".into(),
        })
    }
}

/// Reads ffmpeg's `mpjpeg` output (`--ffmpeg`, `Content-type`, `Content-length: N`, a blank
/// line, N bytes) and keeps the latest frame.
async fn read_previews(
    out: ChildStdout,
    latest: watch::Sender<Option<Arc<Vec<u8>>>>,
    progress: watch::Sender<Progress>,
) {
    let mut reader = BufReader::new(out);
    let mut line = Vec::new();
    'parts: loop {
        let mut length: Option<usize> = None;
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => break 'parts,
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim();
            if text.is_empty() {
                if length.is_some() {
                    break;
                }
                continue;
            }
            if let Some((name, value)) = text.split_once(':') {
                if name.trim().eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().ok();
                }
            }
        }
        let Some(n) = length.filter(|n| *n > 0 && *n <= MAX_PREVIEW_BYTES) else {
            break;
        };
        let mut frame = vec![0u8; n];
        if reader.read_exact(&mut frame).await.is_err() {
            break;
        }
        latest.send_replace(Some(Arc::new(frame)));
        progress.send_modify(|p| p.units += 1);
    }
    // Keep draining so ffmpeg never blocks on a full pipe, even after a parse problem.
    let _ = tokio::io::copy(&mut reader, &mut tokio::io::sink()).await;
}

/// Reads a stream recording's packet list (`framecrc`) as its progress.
async fn read_packets(out: ChildStdout, progress: watch::Sender<Progress>) {
    let mut reader = BufReader::new(out);
    let mut packets = FramecrcReader::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                if packets.line(&String::from_utf8_lossy(&line)) {
                    progress.send_replace(packets.progress());
                }
            }
        }
    }
}
