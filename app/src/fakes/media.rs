//! Fakes of the capture tool (recordings the test ends) and of the event hub (events a test
//! waits for), and `Media` built on them.

use super::*;

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
