//! What the hot-plug tests share: a sink that records what it is told, and a discovery
//! watching a temporary directory in which tests plug fake nodes as symlinks.

#![allow(dead_code)] // each test binary uses its own part

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cs_fakecam::TempDir;
use cs_hotplug::{HotplugConfig, NodeFilter, V4l2Discovery};
use domain::CameraId;
use ports::camera::{CameraDiscovery, DiscoveredCamera, DiscoverySink};

#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    Appeared(DiscoveredCamera),
    Vanished(CameraId),
    Failed(CameraId, String),
}

#[derive(Default)]
pub struct RecordingSink {
    seen: Mutex<Vec<Seen>>,
}

impl RecordingSink {
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// What the sink was told about one camera, in order.
    pub fn seen_for(&self, id: CameraId) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| match s {
                Seen::Appeared(c) => c.id == id,
                Seen::Vanished(v) | Seen::Failed(v, _) => *v == id,
            })
            .collect()
    }

    /// The cameras present after everything the sink was told.
    pub fn cameras(&self) -> BTreeMap<CameraId, DiscoveredCamera> {
        let mut cameras = BTreeMap::new();
        for s in self.seen() {
            match s {
                Seen::Appeared(c) => {
                    cameras.insert(c.id, c);
                }
                Seen::Vanished(id) | Seen::Failed(id, _) => {
                    cameras.remove(&id);
                }
            }
        }
        cameras
    }
}

impl DiscoverySink for RecordingSink {
    fn appeared(&self, camera: DiscoveredCamera) {
        self.seen.lock().unwrap().push(Seen::Appeared(camera));
    }
    fn vanished(&self, id: CameraId) {
        self.seen.lock().unwrap().push(Seen::Vanished(id));
    }
    fn failed(&self, id: CameraId, reason: String) {
        self.seen.lock().unwrap().push(Seen::Failed(id, reason));
    }
}

/// Bound on how long a test waits for discovery to settle: only hit by a hang.
const HANG_GUARD: Duration = Duration::from_secs(30);

pub struct Harness {
    pub dir: TempDir,
    pub discovery: Arc<V4l2Discovery>,
    pub sink: Arc<RecordingSink>,
    task: tokio::task::JoinHandle<()>,
}

pub fn camera(n: u16) -> CameraId {
    CameraId::new(n).unwrap()
}

pub fn quiet() -> slog::Logger {
    slog::Logger::root(slog::Discard, slog::o!())
}

/// A watched directory (fake nodes are regular files, so any file counts).
pub fn test_config(dir: &TempDir) -> HotplugConfig {
    HotplugConfig {
        node_filter: NodeFilter::AnyFile,
        // Generous: a slow machine must not turn a fixable node into a failed one.
        settle: Duration::from_secs(10),
        ..HotplugConfig::new(dir.path(), Duration::from_secs(30))
    }
}

impl Harness {
    /// Starts discovery on a fresh watched directory, after `prepare` has filled it.
    pub async fn start(
        adjust: impl FnOnce(&mut HotplugConfig),
        prepare: impl FnOnce(&TempDir),
    ) -> Harness {
        let dir = TempDir::new("watched").unwrap();
        prepare(&dir);
        let mut config = test_config(&dir);
        adjust(&mut config);
        let discovery = Arc::new(V4l2Discovery::with_v4l2_probe(config, quiet()));
        let sink = Arc::new(RecordingSink::default());
        let task = tokio::spawn(discovery.clone().run(sink.clone()));
        let harness = Harness {
            dir,
            discovery,
            sink,
            task,
        };
        harness.settled().await;
        harness
    }

    /// Waits until every change made so far has been handled.
    pub async fn settled(&self) {
        tokio::time::timeout(HANG_GUARD, self.discovery.settled())
            .await
            .expect("discovery did not settle: hung");
    }

    /// Stops discovery (its watch and any checks are dropped).
    pub async fn stop(self) -> TempDir {
        self.task.abort();
        let _ = self.task.await;
        self.dir
    }
}
