//! Finding cameras: discovery sources report to a sink owned by the app.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use domain::capabilities::DeviceDescription;
use domain::CameraId;

/// Where a camera's pictures come from. Never shown to clients.
#[derive(Debug, Clone, PartialEq)]
pub enum CaptureSource {
    /// A V4L2 capture node (`/dev/video0`).
    Device { path: PathBuf },
    /// A simulated camera: an ffmpeg `lavfi` test pattern (`testsrc2`, `smptebars`, ...).
    TestPattern { pattern: String },
}

/// A camera a discovery source found.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoveredCamera {
    pub id: CameraId,
    pub description: DeviceDescription,
    pub source: CaptureSource,
}

/// The app's side of discovery: sources call it as cameras come and go.
pub trait DiscoverySink: Send + Sync + 'static {
    /// A camera is there and answered its probe (also sent again when it changes).
    fn appeared(&self, camera: DiscoveredCamera);
    /// A camera went away.
    fn vanished(&self, id: CameraId);
    /// The node is there but could not be probed or used.
    fn failed(&self, id: CameraId, reason: String);
    /// Whether `source` (`v4l2`, `simulated`) can follow its cameras now, told when it
    /// changes: health reflects it. A sink that reports no health may ignore it.
    fn watch_state(&self, _source: &'static str, _state: WatchState) {}
}

/// A discovery source's watch on the place its cameras appear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchState {
    /// Changes are seen as they happen.
    Watching,
    /// Changes are not seen (why): cameras that come or go are missed until it recovers.
    Lost(String),
}

/// A source of cameras: simulated descriptors, V4L2 nodes, ...
#[async_trait]
pub trait CameraDiscovery: Send + Sync + 'static {
    /// Reports what is there now, then follows changes until the task is dropped.
    async fn run(self: Arc<Self>, sink: Arc<dyn DiscoverySink>);

    /// Reports at once, before `run` is spawned, the cameras known without waiting for any
    /// device (configured ones, descriptor files already there), so that the service listens
    /// only once they are registered. `run` may report them again: a sink takes an unchanged
    /// camera as no change.
    fn report_known(&self, _sink: &dyn DiscoverySink) {}
}
