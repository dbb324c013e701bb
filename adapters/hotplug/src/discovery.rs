//! [`V4l2Discovery`]: the inotify watch, the per-node checks and what the sink is told.
//!
//! One file of ~900 lines, ~230 of them tests: the inotify loop, the per-node checks and the
//! retries share one state.

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use cs_v4l2::V4l2Probe;
use domain::capabilities::DeviceDescription;
use domain::CameraId;
use inotify::{EventMask, Inotify, WatchMask};
use ports::camera::{CameraDiscovery, CaptureSource, DiscoveredCamera, DiscoverySink, WatchState};
use ports::probe::{DeviceProbe, ProbeError, ProbeOutcome};
use slog::{debug, info, warn, Logger};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::filter::NodeFilter;

/// How discovery watches and probes.
#[derive(Debug, Clone)]
pub struct HotplugConfig {
    /// The directory holding `video<N>` nodes (`/dev`).
    pub device_dir: PathBuf,
    /// Period of the safety-net reconcile; zero turns it off.
    pub rescan: Duration,
    /// What an entry must be to be probed.
    pub node_filter: NodeFilter,
    /// How long a node that is there but fails its probe is retried before it is reported
    /// failed (udev fixes permissions shortly after the node appears).
    pub settle: Duration,
    /// How long one probe may take before the node is reported failed.
    pub probe_timeout: Duration,
}

impl HotplugConfig {
    pub const DEFAULT_SETTLE: Duration = Duration::from_secs(2);
    pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

    /// Real devices in `device_dir`, reconciled every `rescan`.
    pub fn new(device_dir: impl Into<PathBuf>, rescan: Duration) -> HotplugConfig {
        HotplugConfig {
            device_dir: device_dir.into(),
            rescan,
            node_filter: NodeFilter::CharDevicesOnly,
            settle: Self::DEFAULT_SETTLE,
            probe_timeout: Self::DEFAULT_PROBE_TIMEOUT,
        }
    }
}

/// The stable facts of a camera: the same physical camera keeps them on any node
/// (`bus_info` names the USB port it is plugged into).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeviceIdentity {
    pub card: String,
    pub bus_info: String,
}

impl DeviceIdentity {
    pub fn of(description: &DeviceDescription) -> DeviceIdentity {
        DeviceIdentity {
            card: description.card.clone(),
            bus_info: description.bus_info.clone(),
        }
    }
}

/// V4L2 cameras in a device directory, followed with inotify. See the crate docs.
pub struct V4l2Discovery {
    config: HotplugConfig,
    probe: Arc<dyn DeviceProbe>,
    log: Logger,
    control: mpsc::UnboundedSender<Control>,
    control_rx: Mutex<Option<mpsc::UnboundedReceiver<Control>>>,
    identities: Mutex<Identities>,
}

enum Control {
    Settled(oneshot::Sender<()>),
}

#[derive(Default)]
struct Identities {
    /// Cameras present now.
    current: HashMap<CameraId, DeviceIdentity>,
    /// The node each identity was last seen on.
    last_node: HashMap<DeviceIdentity, CameraId>,
    /// Cameras present now that were last seen on another node.
    replugged_from: HashMap<CameraId, CameraId>,
}

impl V4l2Discovery {
    pub fn new(config: HotplugConfig, probe: Arc<dyn DeviceProbe>, log: Logger) -> V4l2Discovery {
        let (control, control_rx) = mpsc::unbounded_channel();
        V4l2Discovery {
            config,
            probe,
            log,
            control,
            control_rx: Mutex::new(Some(control_rx)),
            identities: Mutex::new(Identities::default()),
        }
    }

    /// Discovery of real devices with the ioctl probe.
    pub fn with_v4l2_probe(config: HotplugConfig, log: Logger) -> V4l2Discovery {
        V4l2Discovery::new(config, Arc::new(V4l2Probe::default()), log)
    }

    pub fn config(&self) -> &HotplugConfig {
        &self.config
    }

    /// Resolves once every change made to the device directory before the call has been
    /// handled and no check is running. Waits for [`CameraDiscovery::run`] to start, and
    /// returns at once if it has ended.
    pub async fn settled(&self) {
        let (tx, rx) = oneshot::channel();
        if self.control.send(Control::Settled(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// The stable facts of the camera at `id`, while it is there.
    pub fn identity(&self, id: CameraId) -> Option<DeviceIdentity> {
        self.identities().current.get(&id).cloned()
    }

    /// The node the camera now at `id` was last seen on, when that was another one
    /// (the same camera re-plugged and given a new node).
    pub fn replugged_from(&self, id: CameraId) -> Option<CameraId> {
        self.identities().replugged_from.get(&id).copied()
    }

    fn identities(&self) -> MutexGuard<'_, Identities> {
        // The maps stay consistent even if a holder panicked: every update is one insert/remove.
        self.identities.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a camera seen at `id`; returns the node it was last seen on if that differs.
    fn note_present(&self, id: CameraId, identity: DeviceIdentity) -> Option<CameraId> {
        let mut ids = self.identities();
        let previous = ids.last_node.insert(identity.clone(), id);
        let moved = previous.filter(|old| *old != id && ids.current.get(old) != Some(&identity));
        match moved {
            Some(old) => ids.replugged_from.insert(id, old),
            None => ids.replugged_from.remove(&id),
        };
        ids.current.insert(id, identity);
        moved
    }

    fn note_absent(&self, id: CameraId) {
        let mut ids = self.identities();
        ids.current.remove(&id);
        ids.replugged_from.remove(&id);
    }
}

#[async_trait]
impl CameraDiscovery for V4l2Discovery {
    async fn run(self: Arc<Self>, sink: Arc<dyn DiscoverySink>) {
        let control = self
            .control_rx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let Some(control) = control else {
            warn!(self.log, "V4L2 discovery is already running; not starting it twice";
                "device_dir" => %self.config.device_dir.display());
            return;
        };
        Actor::new(self, sink).run(control).await;
    }
}

/// What a check found.
#[derive(Debug)]
enum Checked {
    Absent,
    Camera(DeviceDescription),
    /// A camera whose driver left parts of its description unanswered.
    Incomplete(DeviceDescription, Vec<String>),
    NotCamera,
    Failed(String),
}

/// What the sink was last told about a node.
#[derive(Debug, Clone, PartialEq, Default)]
enum Reported {
    #[default]
    Nothing,
    NotCamera,
    Camera(DeviceDescription),
    Failed(String),
}

#[derive(Debug, Default)]
struct Node {
    reported: Reported,
    checking: bool,
    /// Something happened during the running check: check again when it ends.
    dirty: bool,
    /// Checks in a row that failed or found the description incomplete.
    misses: u32,
    /// When to check again (a failed probe, an incomplete description), with backoff.
    retry_at: Option<Instant>,
}

/// An inotify event, owned.
#[derive(Debug)]
struct RawEvent {
    mask: EventMask,
    name: Option<OsString>,
}

enum Step {
    Events(io::Result<Vec<RawEvent>>),
    Checked(CameraId, Checked),
    Control(Control),
    Tick,
    Retry,
}

/// Retry period of a missing watch (the directory does not exist yet).
const WATCH_RETRY: Duration = Duration::from_secs(1);
/// The first wait before probing a failed or incomplete node again; it doubles after each
/// miss up to [`RETRY_MAX`]. A failed node is retried for as long as it is there; an
/// incomplete one [`INCOMPLETE_RETRIES`] times, then at each periodic reconcile.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(30);
const INCOMPLETE_RETRIES: u32 = 5;

/// The wait before the next check after `misses` misses in a row (1 s, 2 s, 4 s, ... 30 s).
fn retry_after(misses: u32) -> Duration {
    RETRY_FIRST
        .saturating_mul(1 << misses.saturating_sub(1).min(16))
        .min(RETRY_MAX)
}
/// Stand-in for "never" when the periodic reconcile is off.
const NEVER: Duration = Duration::from_secs(86_400);

struct Actor {
    shared: Arc<V4l2Discovery>,
    sink: Arc<dyn DiscoverySink>,
    log: Logger,
    watch: Option<AsyncFd<Inotify>>,
    buffer: Vec<u8>,
    nodes: HashMap<CameraId, Node>,
    checks: JoinSet<(CameraId, Checked)>,
    waiters: Vec<oneshot::Sender<()>>,
    /// The watch state last told to the sink (told again only when it changes).
    told: Option<WatchState>,
}

impl Actor {
    fn new(shared: Arc<V4l2Discovery>, sink: Arc<dyn DiscoverySink>) -> Actor {
        let log = shared
            .log
            .new(slog::o!("device_dir" => shared.config.device_dir.display().to_string()));
        Actor {
            shared,
            sink,
            log,
            watch: None,
            buffer: vec![0; 16 * 1024],
            nodes: HashMap::new(),
            checks: JoinSet::new(),
            waiters: Vec::new(),
            told: None,
        }
    }

    async fn run(mut self, mut control: mpsc::UnboundedReceiver<Control>) {
        self.open_watch();
        self.full_rescan("start");
        let mut next_tick = Instant::now() + self.tick_period();
        loop {
            let next_retry = self.nodes.values().filter_map(|n| n.retry_at).min();
            let step = tokio::select! {
                events = next_events(&mut self.watch, &mut self.buffer) => Step::Events(events),
                Some(done) = self.checks.join_next(), if !self.checks.is_empty() => match done {
                    Ok((id, checked)) => Step::Checked(id, checked),
                    Err(e) => {
                        // A check only ends this way if it panicked: a bug, not a device state.
                        warn!(self.log, "a node check ended abnormally"; "error" => %e);
                        continue;
                    }
                },
                request = control.recv() => match request {
                    Some(request) => Step::Control(request),
                    // The discovery handle is gone; nobody can ask for anything any more,
                    // but cameras are still followed for the sink.
                    None => std::future::pending().await,
                },
                () = tokio::time::sleep_until(next_tick) => Step::Tick,
                () = tokio::time::sleep_until(next_retry.unwrap_or(next_tick)), if next_retry.is_some() => Step::Retry,
            };
            match step {
                Step::Events(Ok(events)) => self.handle_events(events),
                Step::Events(Err(e)) => {
                    warn!(self.log, "reading inotify events failed; watching again"; "error" => %e);
                    self.lose_watch(&e);
                    self.full_rescan("watch error");
                }
                Step::Checked(id, checked) => self.finish_check(id, checked),
                Step::Retry => self.retry_due(),
                Step::Control(Control::Settled(waiter)) => {
                    self.drain_events();
                    self.waiters.push(waiter);
                }
                Step::Tick => {
                    if self.watch.is_none() {
                        if self.open_watch() {
                            self.full_rescan("watch restored");
                        }
                    } else {
                        self.reconcile();
                    }
                    next_tick = Instant::now() + self.tick_period();
                }
            }
            // A watch lost just now is retried after WATCH_RETRY, not at the next rescan.
            if self.watch.is_none() {
                next_tick = next_tick.min(Instant::now() + WATCH_RETRY);
            }
            if self.checks.is_empty() {
                for waiter in self.waiters.drain(..) {
                    let _ = waiter.send(());
                }
            }
        }
    }

    fn tick_period(&self) -> Duration {
        if self.watch.is_none() {
            WATCH_RETRY
        } else if self.shared.config.rescan.is_zero() {
            NEVER
        } else {
            self.shared.config.rescan
        }
    }

    /// Watches the device directory; returns whether the watch is up.
    fn open_watch(&mut self) -> bool {
        let mask = WatchMask::CREATE
            | WatchMask::ATTRIB
            | WatchMask::DELETE
            | WatchMask::MOVED_FROM
            | WatchMask::MOVED_TO
            | WatchMask::DELETE_SELF
            | WatchMask::MOVE_SELF
            | WatchMask::ONLYDIR;
        let opened = Inotify::init().and_then(|inotify| {
            inotify
                .watches()
                .add(&self.shared.config.device_dir, mask)?;
            // SAFETY: `Inotify` owns its descriptor and keeps it open, unchanged, until it is
            // dropped, which only happens with the `AsyncFd` that holds it.
            unsafe { AsyncFd::register_with_interest(inotify, Interest::READABLE) }
                .map_err(io::Error::from)
        });
        match opened {
            Ok(watch) => {
                debug!(self.log, "watching the device directory");
                self.watch = Some(watch);
                self.tell(WatchState::Watching);
                true
            }
            Err(e) => {
                warn!(self.log, "cannot watch the device directory; retrying"; "error" => %e);
                self.lose_watch(&e);
                false
            }
        }
    }

    fn lose_watch(&mut self, e: &io::Error) {
        self.watch = None;
        self.tell(WatchState::Lost(format!(
            "cannot watch {}: {e}",
            self.shared.config.device_dir.display()
        )));
    }

    /// Tells the sink how the watch stands, when that changed.
    fn tell(&mut self, state: WatchState) {
        let changed = match (&self.told, &state) {
            (Some(WatchState::Lost(_)), WatchState::Lost(_)) => false,
            (told, now) => told.as_ref() != Some(now),
        };
        if changed {
            self.sink.watch_state("v4l2", state.clone());
            self.told = Some(state);
        }
    }

    /// Reads what the watch has queued now, without waiting.
    fn drain_events(&mut self) {
        let Some(watch) = self.watch.as_mut() else {
            return;
        };
        let mut events = Vec::new();
        loop {
            match read_owned(watch.get_mut(), &mut self.buffer) {
                Ok(batch) => events.extend(batch),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    warn!(self.log, "reading inotify events failed; watching again"; "error" => %e);
                    self.lose_watch(&e);
                    self.full_rescan("watch error");
                    break;
                }
            }
        }
        self.handle_events(events);
    }

    fn handle_events(&mut self, events: Vec<RawEvent>) {
        for event in events {
            if event.mask.contains(EventMask::Q_OVERFLOW) {
                warn!(self.log, "inotify queue overflowed; rescanning");
                self.full_rescan("queue overflow");
            } else if event
                .mask
                .intersects(EventMask::IGNORED | EventMask::DELETE_SELF | EventMask::MOVE_SELF)
            {
                warn!(
                    self.log,
                    "the device directory went away; watching again when it is back"
                );
                self.watch = None;
                self.full_rescan("directory gone");
            } else if let Some(id) = event.name.as_deref().and_then(node_id) {
                debug!(self.log, "node event"; "camera" => %id, "mask" => ?event.mask);
                self.schedule(id);
            }
        }
    }

    /// Checks every node there is now and every node known.
    fn full_rescan(&mut self, why: &str) {
        let present = self.list_nodes();
        debug!(self.log, "full rescan"; "why" => why, "nodes" => present.len());
        let known: Vec<CameraId> = self.nodes.keys().copied().collect();
        for id in present.into_iter().chain(known) {
            self.schedule(id);
        }
    }

    /// The safety net: checks nodes that appeared or vanished unnoticed and retries
    /// failed ones; cameras that are there and fine are left alone.
    fn reconcile(&mut self) {
        let present = self.list_nodes();
        let mut due: Vec<CameraId> = present
            .iter()
            .filter(|id| {
                self.nodes.get(id).is_none_or(|n| {
                    n.misses > 0 || matches!(n.reported, Reported::Nothing | Reported::Failed(_))
                })
            })
            .copied()
            .collect();
        due.extend(self.nodes.keys().filter(|id| !present.contains(id)));
        for id in due {
            self.schedule(id);
        }
    }

    /// Checks again the failed and incomplete nodes whose wait is over.
    fn retry_due(&mut self) {
        let now = Instant::now();
        let due: Vec<CameraId> = self
            .nodes
            .iter_mut()
            .filter(|(_, n)| n.retry_at.is_some_and(|at| at <= now))
            .map(|(id, n)| {
                n.retry_at = None;
                *id
            })
            .collect();
        for id in due {
            debug!(self.log, "probing again"; "camera" => %id);
            self.schedule(id);
        }
    }

    /// The `video<N>` entries in the device directory now.
    fn list_nodes(&self) -> BTreeSet<CameraId> {
        match std::fs::read_dir(&self.shared.config.device_dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .filter_map(|e| node_id(&e.file_name()))
                .collect(),
            Err(e) => {
                debug!(self.log, "cannot list the device directory"; "error" => %e);
                BTreeSet::new()
            }
        }
    }

    fn schedule(&mut self, id: CameraId) {
        let node = self.nodes.entry(id).or_default();
        if node.checking {
            node.dirty = true;
            return;
        }
        node.checking = true;
        let config = &self.shared.config;
        let path = node_path(&config.device_dir, id);
        let probe = self.shared.probe.clone();
        let (filter, settle, timeout) = (config.node_filter, config.settle, config.probe_timeout);
        self.checks
            .spawn(async move { (id, check(path, probe, filter, settle, timeout).await) });
    }

    fn finish_check(&mut self, id: CameraId, checked: Checked) {
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        node.checking = false;
        if std::mem::take(&mut node.dirty) {
            // The node changed while it was being checked: this answer may be stale.
            self.schedule(id);
            return;
        }
        let before = node.reported.clone();
        // A failed probe or an incomplete description is checked again after a wait that
        // doubles with each miss; anything else ends the retries.
        let missed = matches!(checked, Checked::Failed(_) | Checked::Incomplete(..));
        node.misses = if missed { node.misses + 1 } else { 0 };
        node.retry_at = match &checked {
            Checked::Failed(_) => Some(Instant::now() + retry_after(node.misses)),
            Checked::Incomplete(..) if node.misses <= INCOMPLETE_RETRIES => {
                Some(Instant::now() + retry_after(node.misses))
            }
            _ => None,
        };
        if let Checked::Incomplete(_, missing) = &checked {
            warn!(self.log, "the camera left parts of its description unanswered; probing again later";
                "camera" => %id, "missing" => missing.join("; "), "attempt" => node.misses,
                "next_in_secs" => node.retry_at.map(|at| at.saturating_duration_since(Instant::now()).as_secs()));
        }
        match checked {
            Checked::Absent => {
                self.nodes.remove(&id);
                if matches!(before, Reported::Camera(_) | Reported::Failed(_)) {
                    self.shared.note_absent(id);
                    info!(self.log, "camera unplugged"; "camera" => %id);
                    self.sink.vanished(id);
                }
            }
            Checked::NotCamera => {
                node.reported = Reported::NotCamera;
                if matches!(before, Reported::Camera(_) | Reported::Failed(_)) {
                    self.shared.note_absent(id);
                    self.sink.vanished(id);
                }
                if before != Reported::NotCamera {
                    debug!(self.log, "node is not a camera"; "camera" => %id);
                }
            }
            Checked::Camera(description) | Checked::Incomplete(description, _) => {
                if before == Reported::Camera(description.clone()) {
                    return;
                }
                node.reported = Reported::Camera(description.clone());
                let previous = self
                    .shared
                    .note_present(id, DeviceIdentity::of(&description));
                match previous {
                    Some(old) => info!(self.log, "camera re-plugged on another node";
                        "camera" => %id, "previous" => %old, "card" => &description.card,
                        "bus_info" => &description.bus_info),
                    None => info!(self.log, "camera plugged";
                        "camera" => %id, "card" => &description.card, "bus_info" => &description.bus_info),
                }
                let source = CaptureSource::Device {
                    path: node_path(&self.shared.config.device_dir, id),
                };
                self.sink.appeared(DiscoveredCamera {
                    id,
                    description,
                    source,
                });
            }
            Checked::Failed(reason) => {
                if before == Reported::Failed(reason.clone()) {
                    return;
                }
                node.reported = Reported::Failed(reason.clone());
                self.shared.note_absent(id);
                warn!(self.log, "camera node failed its probe"; "camera" => %id, "reason" => &reason);
                self.sink.failed(id, reason);
            }
        }
    }
}

/// `video<N>` in its canonical spelling (`video7`, not `video007`) → camera N.
fn node_id(name: &std::ffi::OsStr) -> Option<CameraId> {
    let name = name.to_str()?;
    CameraId::from_node_name(name).filter(|id| name == format!("video{}", id.index()))
}

fn node_path(dir: &Path, id: CameraId) -> PathBuf {
    dir.join(format!("video{}", id.index()))
}

/// Waits for and reads the next batch of events; never resolves without a watch.
async fn next_events(
    watch: &mut Option<AsyncFd<Inotify>>,
    buffer: &mut [u8],
) -> io::Result<Vec<RawEvent>> {
    let Some(watch) = watch.as_mut() else {
        return std::future::pending().await;
    };
    loop {
        let mut ready = watch.readable_mut().await?;
        if let Ok(result) = ready.try_io(|inner| read_owned(inner.get_mut(), buffer)) {
            return result;
        }
    }
}

fn read_owned(inotify: &mut Inotify, buffer: &mut [u8]) -> io::Result<Vec<RawEvent>> {
    let events = inotify.read_events(buffer)?;
    Ok(events
        .map(|e| RawEvent {
            mask: e.mask,
            name: e.name.map(|n| n.to_owned()),
        })
        .collect())
}

/// One attempt on the blocking pool.
enum Attempt {
    Absent,
    Probed(ProbeOutcome),
    Error(ProbeError),
}

/// Looks at the node now: gone, a camera, not a camera, or failing (after retrying for
/// `settle`, which covers udev fixing permissions of a fresh node).
async fn check(
    path: PathBuf,
    probe: Arc<dyn DeviceProbe>,
    filter: NodeFilter,
    settle: Duration,
    probe_timeout: Duration,
) -> Checked {
    let give_up = Instant::now() + settle;
    let mut pause = Duration::from_millis(5);
    loop {
        let (p, pr) = (path.clone(), probe.clone());
        let attempt = tokio::task::spawn_blocking(move || attempt(&p, &*pr, filter));
        let error = match tokio::time::timeout(probe_timeout, attempt).await {
            Err(_) => {
                return Checked::Failed(format!(
                    "the probe did not answer within {probe_timeout:?}"
                ))
            }
            Ok(Err(e)) => return Checked::Failed(format!("the probe ended abnormally: {e}")),
            Ok(Ok(Attempt::Absent)) => return Checked::Absent,
            Ok(Ok(Attempt::Probed(ProbeOutcome::Capture(d)))) => return Checked::Camera(d),
            Ok(Ok(Attempt::Probed(ProbeOutcome::NotCapture))) => return Checked::NotCamera,
            Ok(Ok(Attempt::Probed(ProbeOutcome::Incomplete {
                description,
                missing,
            }))) => return Checked::Incomplete(description, missing),
            Ok(Ok(Attempt::Error(e))) => e,
        };
        if Instant::now() + pause > give_up {
            return Checked::Failed(error.to_string());
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

fn attempt(path: &Path, probe: &dyn DeviceProbe, filter: NodeFilter) -> Attempt {
    if !filter.accepts(path) {
        return Attempt::Absent;
    }
    let result = probe.probe(path);
    // Gone while it was probed: whatever the probe saw is not there any more.
    if !filter.accepts(path) {
        return Attempt::Absent;
    }
    match result {
        Ok(outcome) => Attempt::Probed(outcome),
        Err(e) => Attempt::Error(e),
    }
}

#[cfg(test)]
mod tests {
    //! The actor's bookkeeping driven directly, with in-memory probes and plain files:
    //! events that inotify cannot be made to produce on demand (queue overflow), changes it
    //! never reported (what the periodic reconcile is for), and races with a running probe.

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc as std_mpsc;

    use cs_fakecam::TempDir;
    use domain::capabilities::DeviceDescription;

    use super::*;

    #[test]
    fn retries_back_off_from_one_second_to_thirty() {
        let waits: Vec<u64> = (1..=7).map(|m| retry_after(m).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(retry_after(u32::MAX), RETRY_MAX);
    }

    fn description(card: &str) -> DeviceDescription {
        DeviceDescription {
            driver: "test".into(),
            card: card.into(),
            bus_info: format!("test:{card}"),
            formats: Vec::new(),
            current: None,
        }
    }

    /// Every node is a camera whose card is its file name.
    #[derive(Default)]
    struct NamedCameras {
        probes: AtomicUsize,
    }

    impl DeviceProbe for NamedCameras {
        fn probe(&self, node: &Path) -> Result<ProbeOutcome, ProbeError> {
            self.probes.fetch_add(1, Ordering::SeqCst);
            Ok(ProbeOutcome::Capture(description(
                &node.file_name().unwrap().to_string_lossy(),
            )))
        }
    }

    /// The first probe waits at a gate and answers card "first"; later ones answer "second".
    struct GatedProbe {
        calls: AtomicUsize,
        entered: Mutex<std_mpsc::Sender<()>>,
        gate: Mutex<std_mpsc::Receiver<()>>,
    }

    impl DeviceProbe for GatedProbe {
        fn probe(&self, _node: &Path) -> Result<ProbeOutcome, ProbeError> {
            if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
                self.entered.lock().unwrap().send(()).unwrap();
                self.gate.lock().unwrap().recv().unwrap();
                return Ok(ProbeOutcome::Capture(description("first")));
            }
            Ok(ProbeOutcome::Capture(description("second")))
        }
    }

    #[derive(Default)]
    struct Sink(Mutex<Vec<String>>);

    impl DiscoverySink for Sink {
        fn appeared(&self, camera: DiscoveredCamera) {
            let card = &camera.description.card;
            self.0
                .lock()
                .unwrap()
                .push(format!("appeared {} ({card})", camera.id));
        }
        fn vanished(&self, id: CameraId) {
            self.0.lock().unwrap().push(format!("vanished {id}"));
        }
        fn failed(&self, id: CameraId, reason: String) {
            self.0
                .lock()
                .unwrap()
                .push(format!("failed {id}: {reason}"));
        }
    }

    struct Setup {
        dir: TempDir,
        sink: Arc<Sink>,
        actor: Actor,
    }

    fn setup(probe: Arc<dyn DeviceProbe>) -> Setup {
        let dir = TempDir::new("hotplug-unit").unwrap();
        let config = HotplugConfig {
            node_filter: NodeFilter::AnyFile,
            ..HotplugConfig::new(dir.path(), Duration::from_secs(30))
        };
        let log = Logger::root(slog::Discard, slog::o!());
        let shared = Arc::new(V4l2Discovery::new(config, probe, log));
        let sink = Arc::new(Sink::default());
        let actor = Actor::new(shared, sink.clone());
        Setup { dir, sink, actor }
    }

    impl Setup {
        fn touch(&self, name: &str) {
            std::fs::write(self.dir.path().join(name), b"").unwrap();
        }

        /// Runs every scheduled check to its end, as the actor's loop would.
        async fn finish_checks(&mut self) {
            while let Some(done) = self.actor.checks.join_next().await {
                let (id, checked) = done.unwrap();
                self.actor.finish_check(id, checked);
            }
        }

        fn told(&self) -> Vec<String> {
            std::mem::take(&mut *self.sink.0.lock().unwrap())
        }
    }

    #[tokio::test]
    async fn queue_overflow_rescans_the_whole_directory() {
        let mut s = setup(Arc::new(NamedCameras::default()));
        s.touch("video0");
        s.touch("video3");

        s.actor.handle_events(vec![RawEvent {
            mask: EventMask::Q_OVERFLOW,
            name: None,
        }]);
        s.finish_checks().await;

        let mut told = s.told();
        told.sort();
        assert_eq!(
            told,
            ["appeared camera0 (video0)", "appeared camera3 (video3)"]
        );
    }

    #[tokio::test]
    async fn reconcile_finds_what_no_event_reported_and_leaves_known_cameras_alone() {
        let probe = Arc::new(NamedCameras::default());
        let mut s = setup(probe.clone());
        s.touch("video0");
        s.touch("video1");
        s.actor.full_rescan("test");
        s.finish_checks().await;
        s.told();
        let probes = probe.probes.load(Ordering::SeqCst);

        std::fs::remove_file(s.dir.path().join("video0")).unwrap();
        s.touch("video2");
        s.actor.reconcile();
        s.finish_checks().await;

        let mut told = s.told();
        told.sort();
        assert_eq!(told, ["appeared camera2 (video2)", "vanished camera0"]);
        assert_eq!(
            probe.probes.load(Ordering::SeqCst),
            probes + 1,
            "only the new node is probed"
        );
    }

    #[tokio::test]
    async fn a_change_during_a_probe_makes_the_check_run_again() {
        let (entered_tx, entered) = std_mpsc::channel();
        let (open_gate, gate) = std_mpsc::channel();
        let probe = GatedProbe {
            calls: AtomicUsize::new(0),
            entered: Mutex::new(entered_tx),
            gate: Mutex::new(gate),
        };
        let mut s = setup(Arc::new(probe));
        s.touch("video0");
        s.actor.schedule(camera(0));
        let first_check = s.actor.checks.join_next();
        // Drive the first check until its probe is running, then change the node under it.
        let driven = tokio::time::timeout(Duration::from_millis(50), first_check).await;
        assert!(driven.is_err(), "the first check must still be probing");
        entered.recv().unwrap();
        s.actor.schedule(camera(0));
        open_gate.send(()).unwrap();
        s.finish_checks().await;

        assert_eq!(s.told(), ["appeared camera0 (second)"]);
    }

    #[tokio::test]
    async fn an_unchanged_camera_is_not_reported_twice() {
        let mut s = setup(Arc::new(NamedCameras::default()));
        s.touch("video0");
        s.actor.schedule(camera(0));
        s.finish_checks().await;
        s.actor.schedule(camera(0)); // e.g. an attribute change
        s.finish_checks().await;

        assert_eq!(s.told(), ["appeared camera0 (video0)"]);
    }

    #[test]
    fn only_canonical_node_names_are_cameras() {
        use std::ffi::OsStr;
        assert_eq!(node_id(OsStr::new("video0")), Some(camera(0)));
        assert_eq!(node_id(OsStr::new("video12")), Some(camera(12)));
        for name in [
            "video",
            "video00",
            "video007",
            "video1000",
            "vbi0",
            "video0.lock",
            "media0",
        ] {
            assert_eq!(node_id(OsStr::new(name)), None, "{name}");
        }
    }

    fn camera(n: u16) -> CameraId {
        CameraId::new(n).unwrap()
    }
}
