//! The `camera_monitor` health component, live: the discovery sink the sources report to.
//! Cameras go to the registry; each source's watch state (`DiscoverySink::watch_state`)
//! makes the component HEALTHY while every source follows its cameras and DEGRADED, with
//! the reason, while one cannot (cameras that come or go are missed until it recovers).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use domain::CameraId;
use ports::camera::{DiscoveredCamera, DiscoverySink, WatchState};

use crate::cameras::CameraRegistry;
use crate::health::{self, ComponentStatus, Health};

pub struct CameraMonitor {
    registry: Arc<CameraRegistry>,
    health: Arc<Health>,
    /// Each source and, while its watch is lost, why.
    sources: Mutex<BTreeMap<&'static str, Option<String>>>,
}

impl CameraMonitor {
    /// Reports HEALTHY for `sources` at once; a source that cannot watch says so itself.
    pub fn new(
        registry: Arc<CameraRegistry>,
        health: Arc<Health>,
        sources: &[&'static str],
    ) -> CameraMonitor {
        let monitor = CameraMonitor {
            registry,
            health,
            sources: Mutex::new(sources.iter().map(|s| (*s, None)).collect()),
        };
        monitor.report(&monitor.lock());
        monitor
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, Option<String>>> {
        self.sources.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn report(&self, sources: &BTreeMap<&'static str, Option<String>>) {
        let lost: Vec<String> = sources
            .iter()
            .filter_map(|(name, problem)| Some(format!("{name}: {}", problem.as_deref()?)))
            .collect();
        let names: Vec<&str> = sources.keys().copied().collect();
        if lost.is_empty() {
            self.health.set(
                health::CAMERA_MONITOR,
                ComponentStatus::Healthy,
                format!("watching sources: {}", names.join(", ")),
            );
        } else {
            self.health.set(
                health::CAMERA_MONITOR,
                ComponentStatus::Degraded,
                format!("not following cameras: {}", lost.join("; ")),
            );
        }
    }
}

impl DiscoverySink for CameraMonitor {
    fn appeared(&self, camera: DiscoveredCamera) {
        self.registry.appeared(camera);
    }

    fn vanished(&self, id: CameraId) {
        self.registry.vanished(id);
    }

    fn failed(&self, id: CameraId, reason: String) {
        self.registry.failed(id, reason);
    }

    fn watch_state(&self, source: &'static str, state: WatchState) {
        let mut sources = self.lock();
        sources.insert(
            source,
            match state {
                WatchState::Watching => None,
                WatchState::Lost(why) => Some(why),
            },
        );
        self.report(&sources);
    }
}
