//! In-memory fakes of the ports the app's unit tests need (test builds only): a clock the
//! test moves, credentials read from the token text, an in-memory file and state store, a
//! capture tool that is not there, and a core built from them. Nothing here sleeps: time
//! passes when a test says so.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use config::Config;
use domain::api::Quality;
use domain::events::{Event, Topic};
use domain::files::FileKind;
use domain::files::SnapshotFormat;
use domain::stream::PathConfig;
use domain::{Role, SafeFileName, Timestamp};
use ports::auth::{CredentialError, Identity, KeyPrecheck, KeyStore, TokenVerifier};
use ports::camera::CaptureSource;
use ports::capture::{
    Capture, CaptureError, MediaInfo, MediaInspector, Recorder, RecordingEnd, RecordingRequest,
    Still, StillRequest,
};
use ports::clock::Clock;
use ports::controls::{ApplyFailure, CameraControls, ControlsError};
use ports::events::EventPublisher;
use ports::files::{FileFacts, FileStore, NewFile, Space, StateStore, StoreError};
use ports::media_server::{
    MediaServer, MediaServerError, PathStatus, StreamFrame, StreamHandle, StreamReader,
};
use ports::system::{ProcessSample, ProcessStats, ProcessStatsError};
use slog::{o, Logger};

use crate::cameras::CameraRegistry;
use crate::core::{Core, CoreParts};
use crate::events::EventHub;
use crate::health::Health;
use crate::media::{Media, MediaParts};
use crate::metrics::Metrics;
use crate::streams::{Streams, StreamsParts};

/// A clock that moves only when told (`advance`).
pub struct FakeClock {
    micros: AtomicU64,
}

/// The fake clock's wall time at monotonic zero: 2025-01-15T14:30:00Z.
const EPOCH_MS: i64 = 1_736_951_400_000;

impl FakeClock {
    pub fn new() -> Arc<FakeClock> {
        Arc::new(FakeClock {
            micros: AtomicU64::new(1_000_000),
        })
    }

    pub fn advance(&self, by: Duration) {
        self.micros
            .fetch_add(by.as_micros() as u64, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(EPOCH_MS + (self.monotonic_ms() as i64))
    }
    fn monotonic_ms(&self) -> u64 {
        self.micros.load(Ordering::SeqCst) / 1000
    }
    fn monotonic_us(&self) -> u64 {
        self.micros.load(Ordering::SeqCst)
    }
}

/// JWTs as plain text: `jwt:<role>:<subject>:<expires, unix ms>`.
pub struct FakeTokens;

impl FakeTokens {
    pub fn token(role: Role, subject: &str, expires_at: Timestamp) -> String {
        format!(
            "jwt:{}:{subject}:{}",
            role.as_str(),
            expires_at.unix_millis()
        )
    }
}

impl TokenVerifier for FakeTokens {
    fn verify(&self, token: &str, now: Timestamp) -> Result<Identity, CredentialError> {
        let bad = || CredentialError::Invalid(format!("not a fake token: {token}"));
        let mut parts = token.split(':');
        if parts.next() != Some("jwt") {
            return Err(bad());
        }
        let role = parts.next().and_then(Role::parse).ok_or_else(bad)?;
        let subject = parts.next().ok_or_else(bad)?.to_owned();
        let exp = parts
            .next()
            .and_then(|t| t.parse().ok())
            .map(Timestamp::from_unix_millis)
            .ok_or_else(bad)?;
        if exp <= now {
            return Err(CredentialError::Expired);
        }
        Ok(Identity {
            subject,
            role,
            expires_at: Some(exp),
            key_id: None,
        })
    }
}

/// API keys as plain text: `csk_<id>_<role>`; revoked by id.
#[derive(Default)]
pub struct FakeKeys {
    revoked: Mutex<BTreeSet<String>>,
}

impl FakeKeys {
    pub fn revoke(&self, id: &str) {
        self.revoked.lock().unwrap().insert(id.to_owned());
    }
}

impl KeyStore for FakeKeys {
    fn verify(&self, key: &str, now: Timestamp) -> Result<Identity, CredentialError> {
        let rest = key
            .strip_prefix("csk_")
            .ok_or_else(|| CredentialError::Invalid("not a key".into()))?;
        let (id, role) = rest
            .split_once('_')
            .ok_or_else(|| CredentialError::Invalid("not a key".into()))?;
        let role = Role::parse(role).ok_or_else(|| CredentialError::Invalid("role".into()))?;
        self.check(id, now)?;
        Ok(Identity {
            subject: format!("key:{id}"),
            role,
            expires_at: None,
            key_id: Some(id.to_owned()),
        })
    }
    fn precheck(&self, key: &str, now: Timestamp) -> Result<KeyPrecheck, CredentialError> {
        self.verify(key, now)?;
        Ok(KeyPrecheck::Remembered)
    }
    fn check(&self, key_id: &str, _now: Timestamp) -> Result<(), CredentialError> {
        if self.revoked.lock().unwrap().contains(key_id) {
            return Err(CredentialError::Revoked);
        }
        Ok(())
    }
    /// Keys are their own text here: there is no list of them.
    fn list(&self) -> Result<Vec<ports::auth::ApiKeyRecord>, ports::auth::KeyStoreError> {
        Ok(Vec::new())
    }
    fn add(
        &self,
        _role: Role,
        _label: &str,
        _expires_at: Option<Timestamp>,
        _now: Timestamp,
    ) -> Result<(String, ports::auth::ApiKeyRecord), ports::auth::KeyStoreError> {
        Err(ports::auth::KeyStoreError::Unavailable(
            "the fake key store creates no keys".into(),
        ))
    }
    fn revoke(&self, id: &str) -> Result<bool, ports::auth::KeyStoreError> {
        FakeKeys::revoke(self, id);
        Ok(true)
    }
}

/// Files and state documents in memory: (kind, name) → (size, created).
#[derive(Default)]
pub struct MemStore {
    files: Mutex<BTreeMap<(u8, String), (u64, Timestamp)>>,
    docs: Mutex<BTreeMap<String, String>>,
    /// Free bytes reported by `space`.
    pub free: AtomicU64,
}

fn kind_key(kind: FileKind) -> u8 {
    match kind {
        FileKind::Recording => 0,
        FileKind::Snapshot => 1,
    }
}

impl MemStore {
    pub fn new() -> Arc<MemStore> {
        let store = MemStore::default();
        store.free.store(u64::MAX / 2, Ordering::SeqCst);
        Arc::new(store)
    }

    pub fn put(&self, kind: FileKind, name: &str, size: u64, created: Timestamp) {
        self.files
            .lock()
            .unwrap()
            .insert((kind_key(kind), name.to_owned()), (size, created));
    }

    pub fn names(&self, kind: FileKind) -> Vec<String> {
        self.files
            .lock()
            .unwrap()
            .keys()
            .filter(|(k, _)| *k == kind_key(kind))
            .map(|(_, n)| n.clone())
            .collect()
    }

    fn facts(kind: FileKind, name: &str, size: u64, created: Timestamp) -> Option<FileFacts> {
        Some(FileFacts {
            kind,
            name: SafeFileName::parse(name).ok()?,
            size,
            created,
            modified: created,
        })
    }
}

#[async_trait]
impl FileStore for MemStore {
    async fn list(&self, kind: FileKind) -> Result<Vec<FileFacts>, StoreError> {
        Ok(self
            .files
            .lock()
            .unwrap()
            .iter()
            .filter(|((k, _), _)| *k == kind_key(kind))
            .filter_map(|((_, n), (size, at))| MemStore::facts(kind, n, *size, *at))
            .collect())
    }
    async fn stat(&self, kind: FileKind, name: &SafeFileName) -> Result<FileFacts, StoreError> {
        let files = self.files.lock().unwrap();
        let (size, at) = files
            .get(&(kind_key(kind), name.as_str().to_owned()))
            .ok_or_else(|| StoreError::NotFound(name.clone()))?;
        MemStore::facts(kind, name.as_str(), *size, *at)
            .ok_or_else(|| StoreError::NotFound(name.clone()))
    }
    async fn delete(&self, kind: FileKind, name: &SafeFileName) -> Result<(), StoreError> {
        self.files
            .lock()
            .unwrap()
            .remove(&(kind_key(kind), name.as_str().to_owned()))
            .map(|_| ())
            .ok_or_else(|| StoreError::NotFound(name.clone()))
    }
    async fn space(&self, _kind: FileKind) -> Result<Space, StoreError> {
        let used: u64 = self.files.lock().unwrap().values().map(|(s, _)| s).sum();
        let free = self.free.load(Ordering::SeqCst);
        Ok(Space {
            total_bytes: free.saturating_add(used),
            available_bytes: free,
            used_bytes: used,
        })
    }
    async fn create_new(
        &self,
        kind: FileKind,
        wanted: &SafeFileName,
    ) -> Result<NewFile, StoreError> {
        let mut files = self.files.lock().unwrap();
        let key = (kind_key(kind), wanted.as_str().to_owned());
        if files.contains_key(&key) {
            return Err(StoreError::NamesExhausted(wanted.clone()));
        }
        files.insert(key, (0, Timestamp::from_unix_millis(EPOCH_MS)));
        Ok(NewFile {
            name: wanted.clone(),
            path: self.path_of(kind, wanted),
        })
    }
    fn path_of(&self, kind: FileKind, name: &SafeFileName) -> PathBuf {
        Path::new("/mem")
            .join(kind.url_segment())
            .join(name.as_str())
    }
    async fn copy(
        &self,
        kind: FileKind,
        from: &SafeFileName,
        to: &SafeFileName,
    ) -> Result<u64, StoreError> {
        let mut files = self.files.lock().unwrap();
        let (size, at) = *files
            .get(&(kind_key(kind), from.as_str().to_owned()))
            .ok_or_else(|| StoreError::NotFound(from.clone()))?;
        files.insert((kind_key(kind), to.as_str().to_owned()), (size, at));
        Ok(size)
    }
}

#[async_trait]
impl StateStore for MemStore {
    async fn load(&self, key: &SafeFileName) -> Result<Option<String>, StoreError> {
        Ok(self.docs.lock().unwrap().get(key.as_str()).cloned())
    }
    async fn save(&self, key: &SafeFileName, text: &str) -> Result<(), StoreError> {
        self.docs
            .lock()
            .unwrap()
            .insert(key.as_str().to_owned(), text.to_owned());
        Ok(())
    }
}

/// A capture tool that is not installed: every capture is refused as `Unavailable`.
pub struct NoCapture;

fn not_here() -> CaptureError {
    CaptureError::Unavailable {
        dependency: "ffmpeg",
        details: "not in this test".into(),
    }
}

#[async_trait]
impl Capture for NoCapture {
    async fn still(&self, _request: StillRequest<'_>) -> Result<Still, CaptureError> {
        Err(not_here())
    }
    async fn record(&self, _request: RecordingRequest) -> Result<Arc<dyn Recorder>, CaptureError> {
        Err(not_here())
    }
    async fn check(&self) -> Result<String, CaptureError> {
        Err(not_here())
    }
}

#[async_trait]
impl MediaInspector for NoCapture {
    async fn inspect(&self, _path: &Path) -> Result<MediaInfo, CaptureError> {
        Err(not_here())
    }
}

/// A capture tool that records what it was asked: every recording it starts is kept (with
/// its request) so the test can end it as the tool would (`FakeRecorder::end`); the next
/// start can be made to fail (`fail_next`). Stills are refused as `Unavailable`.
#[derive(Default)]
pub struct FakeCapture {
    started: Mutex<Vec<(RecordingRequest, Arc<FakeRecorder>)>>,
    fail_next: Mutex<Option<CaptureError>>,
}

impl FakeCapture {
    pub fn new() -> Arc<FakeCapture> {
        Arc::new(FakeCapture::default())
    }

    /// The next `record` fails with `e` (once).
    pub fn fail_next(&self, e: CaptureError) {
        *self.fail_next.lock().unwrap() = Some(e);
    }

    /// The requests of every recording started, first to last.
    pub fn requests(&self) -> Vec<RecordingRequest> {
        let started = self.started.lock().unwrap();
        started.iter().map(|(r, _)| r.clone()).collect()
    }

    /// The recorder of the last recording started.
    pub fn last(&self) -> Option<Arc<FakeRecorder>> {
        let started = self.started.lock().unwrap();
        started.last().map(|(_, r)| Arc::clone(r))
    }
}

#[async_trait]
impl Capture for FakeCapture {
    async fn still(&self, _request: StillRequest<'_>) -> Result<Still, CaptureError> {
        Err(not_here())
    }
    async fn record(&self, request: RecordingRequest) -> Result<Arc<dyn Recorder>, CaptureError> {
        if let Some(e) = self.fail_next.lock().unwrap().take() {
            return Err(e);
        }
        let recorder = Arc::new(FakeRecorder::new(request.path.clone()));
        self.started
            .lock()
            .unwrap()
            .push((request, Arc::clone(&recorder)));
        Ok(recorder)
    }
    async fn check(&self) -> Result<String, CaptureError> {
        Ok("fake capture".into())
    }
}

/// A recording the test ends: `end` is how the tool would finish by itself; `stop` ends it
/// `Finished` unless it had ended already. `stops` counts the stops asked.
pub struct FakeRecorder {
    path: PathBuf,
    end: tokio::sync::watch::Sender<Option<RecordingEnd>>,
    pub stops: AtomicU64,
}

impl FakeRecorder {
    fn new(path: PathBuf) -> FakeRecorder {
        FakeRecorder {
            path,
            end: tokio::sync::watch::channel(None).0,
            stops: AtomicU64::new(0),
        }
    }

    /// Ends the recording by itself (as the tool exiting would), once.
    pub fn end(&self, end: RecordingEnd) {
        self.end.send_if_modified(|e| {
            if e.is_some() {
                return false;
            }
            *e = Some(end);
            true
        });
    }
}

#[async_trait]
impl Recorder for FakeRecorder {
    fn files(&self) -> Vec<PathBuf> {
        vec![self.path.clone()]
    }
    async fn still(
        &self,
        _format: SnapshotFormat,
        _quality: Quality,
        _path: &Path,
    ) -> Result<Still, CaptureError> {
        Err(not_here())
    }
    async fn stop(&self) -> RecordingEnd {
        self.stops.fetch_add(1, Ordering::SeqCst);
        self.end(RecordingEnd::Finished);
        self.ended().await
    }
    async fn ended(&self) -> RecordingEnd {
        let mut rx = self.end.subscribe();
        let end = rx.wait_for(Option::is_some).await;
        match end {
            Ok(e) => e.clone().unwrap_or(RecordingEnd::Finished),
            // The sender lives in `self`: it cannot be gone while `self` is borrowed.
            Err(_) => RecordingEnd::Finished,
        }
    }
}

/// Events kept in order; a test waits for one without sleeping (`wait_for`).
pub struct EventLog {
    events: tokio::sync::watch::Sender<Vec<Event>>,
}

impl EventLog {
    pub fn new() -> Arc<EventLog> {
        Arc::new(EventLog {
            events: tokio::sync::watch::channel(Vec::new()).0,
        })
    }

    /// Every event of `topic` so far.
    pub fn of(&self, topic: Topic) -> Vec<Event> {
        self.events
            .borrow()
            .iter()
            .filter(|e| e.topic == topic)
            .cloned()
            .collect()
    }

    /// The first event of `topic`, once it is published.
    pub async fn wait_for(&self, topic: Topic) -> Event {
        let mut rx = self.events.subscribe();
        let events = rx
            .wait_for(|v| v.iter().any(|e| e.topic == topic))
            .await
            .expect("the log owns its sender");
        events
            .iter()
            .find(|e| e.topic == topic)
            .cloned()
            .expect("waited for it")
    }
}

impl EventPublisher for EventLog {
    fn publish(&self, event: Event) {
        self.events.send_modify(|v| v.push(event));
    }
}

/// `Media` on fakes with one connected simulated camera, `camera0`, in media mode direct.
pub struct MediaFixture {
    pub media: Arc<Media>,
    pub capture: Arc<FakeCapture>,
    pub store: Arc<MemStore>,
    pub events: Arc<EventLog>,
    pub clock: Arc<FakeClock>,
    pub cameras: Arc<CameraRegistry>,
    /// The streams use case Media records through (`media_streamed`).
    pub mtx: Option<StreamsFixture>,
}

/// Media mode direct: recordings from the camera.
pub fn media() -> MediaFixture {
    build_media(false)
}

/// Media mode `mediamtx`, MediaMTX answering: after one reconcile pass recordings copy the
/// camera's stream.
pub async fn media_streamed() -> MediaFixture {
    let fx = build_media(true);
    if let Some(mtx) = &fx.mtx {
        assert!(
            mtx.streams.reconcile_once().await,
            "the fake MediaMTX answers"
        );
    }
    fx
}

fn build_media(with_streams: bool) -> MediaFixture {
    let clock = FakeClock::new();
    let store = MemStore::new();
    let events = EventLog::new();
    let capture = FakeCapture::new();
    let log = Logger::root(slog::Discard, o!());
    let publisher: Arc<dyn EventPublisher> = events.clone();
    let cameras = Arc::new(CameraRegistry::new(
        Arc::clone(&publisher),
        clock.clone(),
        log.clone(),
    ));
    let sim: config::SimulatedCamera =
        serde_json::from_value(serde_json::json!({ "index": 0 })).expect("a simulated camera");
    let found = cs_sim::describe(&sim).expect("camera0 described");
    ports::camera::DiscoverySink::appeared(cameras.as_ref(), found);
    let hub = EventHub::new(&config::Config::default().events, clock.clone());
    let metrics = Metrics::new(clock.clone(), Arc::new(NoProcess), hub);
    let mtx = with_streams.then(|| streams(&cameras, &events, &clock));
    let media = Arc::new(Media::new(MediaParts {
        capture: capture.clone(),
        inspector: Arc::new(NoCapture),
        store: store.clone(),
        events: publisher,
        clock: clock.clone(),
        cameras: Arc::clone(&cameras),
        metrics,
        encoding: domain::media::VideoEncoding::standard(),
        min_free_bytes: 0,
        segment_secs: None,
        streams: mtx.as_ref().map(|m| Arc::clone(&m.streams)),
        log,
        max_captures: 1,
        capture_wait: Duration::from_millis(1),
    }));
    cameras.observe(media.clone());
    MediaFixture {
        media,
        capture,
        store,
        events,
        clock,
        cameras,
        mtx,
    }
}

/// MediaMTX in memory: paths by name with their config and status. `set_down(true)` is an
/// outage (every request `Unreachable`); `restart_empty` is a MediaMTX that came back
/// without the paths it had. A path is ready (its publisher up) as soon as it exists.
#[derive(Default)]
pub struct FakeMediaServer {
    paths: Mutex<BTreeMap<String, PathConfig>>,
    down: std::sync::atomic::AtomicBool,
    /// `ensure_path` calls that reached it.
    pub ensures: AtomicU64,
}

impl FakeMediaServer {
    pub fn new() -> Arc<FakeMediaServer> {
        Arc::new(FakeMediaServer::default())
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Forgets every path, as a restarted MediaMTX whose paths the service had added.
    pub fn restart_empty(&self) {
        self.paths.lock().unwrap().clear();
    }

    /// The paths it has, by name.
    pub fn paths(&self) -> BTreeMap<String, PathConfig> {
        self.paths.lock().unwrap().clone()
    }

    fn up(&self) -> Result<(), MediaServerError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(MediaServerError::Unreachable(
                "connection refused (fake outage)".into(),
            ));
        }
        Ok(())
    }

    fn status(name: &str) -> PathStatus {
        PathStatus {
            name: name.to_owned(),
            ready: true,
            ready_since: None,
            readers: 0,
            bytes_received: 0,
            bytes_sent: 0,
        }
    }
}

#[async_trait]
impl MediaServer for FakeMediaServer {
    async fn ensure_path(&self, name: &str, config: &PathConfig) -> Result<(), MediaServerError> {
        self.up()?;
        self.ensures.fetch_add(1, Ordering::SeqCst);
        self.paths
            .lock()
            .unwrap()
            .insert(name.to_owned(), config.clone());
        Ok(())
    }
    async fn patch_path(&self, name: &str, config: &PathConfig) -> Result<(), MediaServerError> {
        self.up()?;
        let mut paths = self.paths.lock().unwrap();
        let path = paths
            .get_mut(name)
            .ok_or_else(|| MediaServerError::NotFound(name.to_owned()))?;
        macro_rules! take {
            ($($f:ident),*) => { $( if config.$f.is_some() { path.$f = config.$f.clone(); } )* };
        }
        take!(
            source,
            run_on_demand,
            run_on_demand_restart,
            run_on_demand_start_timeout,
            run_on_demand_close_after
        );
        Ok(())
    }
    async fn remove_path(&self, name: &str) -> Result<(), MediaServerError> {
        self.up()?;
        self.paths.lock().unwrap().remove(name);
        Ok(())
    }
    async fn path_configs(&self) -> Result<BTreeMap<String, PathConfig>, MediaServerError> {
        self.up()?;
        Ok(self.paths())
    }
    async fn path_status(&self, name: &str) -> Result<Option<PathStatus>, MediaServerError> {
        self.up()?;
        let paths = self.paths.lock().unwrap();
        Ok(paths
            .contains_key(name)
            .then(|| FakeMediaServer::status(name)))
    }
    async fn path_statuses(&self) -> Result<Vec<PathStatus>, MediaServerError> {
        self.up()?;
        let paths = self.paths.lock().unwrap();
        Ok(paths.keys().map(|n| FakeMediaServer::status(n)).collect())
    }
    async fn probe(&self) -> Result<(), MediaServerError> {
        self.up()
    }
}

/// A stream reader that reads nothing: each `attach` is counted (by URL) and gives a handle
/// that keeps reading, with no pictures, until dropped.
#[derive(Default)]
pub struct FakeStreamReader {
    attached: Mutex<Vec<String>>,
    live: Arc<AtomicU64>,
}

impl FakeStreamReader {
    /// The URLs attached to, first to last.
    pub fn attached(&self) -> Vec<String> {
        self.attached.lock().unwrap().clone()
    }

    /// Handles not dropped yet.
    pub fn live(&self) -> u64 {
        self.live.load(Ordering::SeqCst)
    }
}

struct FakeHandle(Arc<AtomicU64>);

impl StreamHandle for FakeHandle {
    fn is_reading(&self) -> bool {
        true
    }
    fn latest_frame(&self) -> Option<StreamFrame> {
        None
    }
}

impl Drop for FakeHandle {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl StreamReader for FakeStreamReader {
    async fn attach(&self, url: &str) -> Result<Box<dyn StreamHandle>, String> {
        self.attached.lock().unwrap().push(url.to_owned());
        self.live.fetch_add(1, Ordering::SeqCst);
        Ok(Box::new(FakeHandle(Arc::clone(&self.live))))
    }
    async fn save_frame(&self, _jpeg: &[u8], _path: &Path) -> Result<(), String> {
        Err("the fake reader keeps no pictures".into())
    }
}

/// `Streams` on fakes (media mode `mediamtx`; the reconcile passes are the test's).
pub struct StreamsFixture {
    pub streams: Arc<Streams>,
    pub server: Arc<FakeMediaServer>,
    pub reader: Arc<FakeStreamReader>,
    pub health: Arc<Health>,
}

fn streams(
    cameras: &Arc<CameraRegistry>,
    events: &Arc<EventLog>,
    clock: &Arc<FakeClock>,
) -> StreamsFixture {
    let server = FakeMediaServer::new();
    let reader = Arc::new(FakeStreamReader::default());
    let publisher: Arc<dyn EventPublisher> = events.clone();
    let health = Arc::new(Health::new(publisher, clock.clone()));
    let streams = Streams::new(StreamsParts {
        server: server.clone(),
        reader: reader.clone(),
        forced: true,
        api_url: "http://127.0.0.1:9997".into(),
        endpoints: domain::stream::StreamEndpoints {
            public_host: "localhost".into(),
            rtsp_port: 8554,
            webrtc_port: 8889,
            hls_port: 8888,
        },
        local_rtsp: "rtsp://127.0.0.1:8554/".into(),
        encoding: domain::media::VideoEncoding::standard(),
        publisher: Arc::new(cs_ffmpeg::FfmpegPublisher::new("ffmpeg")),
        reconcile_every: Duration::from_secs(3600),
        cameras: Arc::clone(cameras),
        health: Arc::clone(&health),
        clock: clock.clone(),
        log: Logger::root(slog::Discard, o!()),
    });
    StreamsFixture {
        streams,
        server,
        reader,
        health,
    }
}

/// Cameras without controls.
pub struct NoControls;

impl CameraControls for NoControls {
    fn list(
        &self,
        _source: &CaptureSource,
    ) -> Result<Vec<domain::controls::Control>, ControlsError> {
        Ok(Vec::new())
    }
    fn apply(
        &self,
        _source: &CaptureSource,
        _changes: &[domain::controls::ControlChange],
    ) -> Result<(), ApplyFailure> {
        Ok(())
    }
    fn serial(&self, _source: &CaptureSource) -> Option<String> {
        None
    }
}

/// No process figures.
pub struct NoProcess;

impl ProcessStats for NoProcess {
    fn sample(&self) -> Result<ProcessSample, ProcessStatsError> {
        Err(ProcessStatsError("no /proc in this test".into()))
    }
}

/// A core of fakes, and the fakes a test drives.
pub struct Fixture {
    pub core: Arc<Core>,
    pub clock: Arc<FakeClock>,
    pub keys: Arc<FakeKeys>,
    pub store: Arc<MemStore>,
}

/// A core on fakes with `config` (media mode direct, no cameras).
pub async fn core(config: Config) -> Fixture {
    let clock = FakeClock::new();
    let keys = Arc::new(FakeKeys::default());
    let store = MemStore::new();
    let log = Logger::root(slog::Discard, o!());
    let hub = EventHub::new(&config.events, clock.clone());
    let events: Arc<dyn ports::events::EventPublisher> = Arc::new(hub.clone());
    let metrics = Metrics::new(clock.clone(), Arc::new(NoProcess), hub.clone());
    let health = Arc::new(Health::new(Arc::clone(&events), clock.clone()));
    let cameras = Arc::new(CameraRegistry::new(
        Arc::clone(&events),
        clock.clone(),
        log.clone(),
    ));
    let media = Arc::new(Media::new(MediaParts {
        capture: Arc::new(NoCapture),
        inspector: Arc::new(NoCapture),
        store: store.clone(),
        events: Arc::clone(&events),
        clock: clock.clone(),
        cameras: Arc::clone(&cameras),
        metrics: metrics.clone(),
        encoding: domain::media::VideoEncoding::standard(),
        min_free_bytes: 0,
        segment_secs: None,
        streams: None,
        log: log.clone(),
        max_captures: 1,
        capture_wait: Duration::from_millis(1),
    }));
    let files = Arc::new(
        crate::files::Files::open(crate::files::FilesParts {
            store: store.clone(),
            inspector: Arc::new(NoCapture),
            state: store.clone(),
            clock: clock.clone(),
            media: Arc::clone(&media),
            health: Arc::clone(&health),
            configured: domain::retention::RetentionPolicy::default(),
            log: log.clone(),
        })
        .await,
    );
    let controls = Arc::new(
        crate::controls::Controls::open(crate::controls::ControlsParts {
            device: Arc::new(NoControls),
            state: store.clone(),
            cameras: Arc::clone(&cameras),
            events,
            clock: clock.clone(),
            log: log.clone(),
        })
        .await,
    );
    let core = Arc::new(Core::new(CoreParts {
        config: Arc::new(config),
        clock: clock.clone(),
        tokens: Arc::new(FakeTokens),
        keys: keys.clone(),
        cameras,
        hub,
        metrics,
        health,
        streams: None,
        media,
        files,
        log: log.clone(),
        audit: log,
        controls,
    }));
    Fixture {
        core,
        clock,
        keys,
        store,
    }
}
