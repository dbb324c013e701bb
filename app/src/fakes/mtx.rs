//! MediaMTX and the stream reader in memory, and `Streams` built on them.

use super::*;

/// The publisher line as a plain description of what `Streams` asked to publish, so a test
/// sees the publication it handed over (the real command lines are the ffmpeg adapter's,
/// tested there).
pub struct FakePublisher;

impl ports::media_server::PublisherCommands for FakePublisher {
    fn publisher_command(
        &self,
        publication: &domain::stream::Publication,
    ) -> Result<String, ports::media_server::PublisherError> {
        Ok(match &publication.input {
            domain::stream::PublisherInput::Device { path, .. } => format!("publish device {path}"),
            domain::stream::PublisherInput::TestPattern { pattern, size, fps } => {
                format!(
                    "publish pattern {pattern} {}x{}@{fps}",
                    size.width, size.height
                )
            }
        })
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

pub(super) fn streams(
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
        publisher: Arc::new(FakePublisher),
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
