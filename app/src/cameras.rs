//! The cameras the service knows: fed by discovery sources, read by the API.
//!
//! A camera that goes away stays listed as DISCONNECTED (with its last known
//! capabilities) so clients see what happened; it becomes CONNECTED again when it returns.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use domain::camera::CameraEvent;
use domain::capabilities::DeviceDescription;
use domain::contract::notifications::CameraStatusEvent;
use domain::contract::results::{Camera, CameraStreams};
use domain::events::{Event, Topic};
use domain::{ApiError, CameraId, CameraStatus, Capabilities, ErrorKind, Resolution};
use ports::camera::{CaptureSource, DiscoveredCamera, DiscoverySink};
use ports::clock::Clock;
use ports::events::EventPublisher;
use serde_json::json;
use slog::{info, warn, Logger};

/// What the service knows about one camera.
#[derive(Debug, Clone)]
pub struct CameraEntry {
    pub id: CameraId,
    pub status: CameraStatus,
    pub capabilities: Capabilities,
    pub source: CaptureSource,
    /// Why the camera is in ERROR, if it is.
    pub error: Option<String>,
}

impl CameraEntry {
    pub fn name(&self) -> &str {
        &self.capabilities.card
    }

    /// The current or default mode.
    pub fn mode(&self) -> (Option<Resolution>, Option<f64>) {
        match self.capabilities.default_mode() {
            Some((r, fps)) => (Some(r), fps),
            None => (None, None),
        }
    }

    /// The Camera object of the contract; `streams` comes from the media plane.
    pub fn to_camera(&self, streams: CameraStreams) -> Camera {
        let (resolution, fps) = self.mode();
        Camera {
            device: self.id,
            status: self.status,
            name: self.name().to_owned(),
            resolution: resolution.map(|r| r.to_string()),
            fps,
            streams,
            error: self.error.clone(),
        }
    }

    /// The `camera.*` event's fields; `previous_device` and `reason` for the caller to add.
    fn event_fields(&self) -> CameraStatusEvent {
        let (resolution, fps) = self.mode();
        CameraStatusEvent {
            status: self.status,
            name: self.name().to_owned(),
            resolution: resolution.map(|r| r.to_string()),
            fps,
            previous_device: None,
            reason: None,
        }
    }

    fn event(&self, topic: Topic, at: domain::Timestamp) -> Event {
        Event::typed(topic, at, Some(self.id), &self.event_fields())
    }
}

/// Called with every camera whose status or description changed (the media plane keeps
/// its paths in step through this).
pub trait CameraObserver: Send + Sync + 'static {
    fn changed(&self, camera: &CameraEntry);
}

pub struct CameraRegistry {
    cameras: RwLock<BTreeMap<CameraId, CameraEntry>>,
    events: Arc<dyn EventPublisher>,
    clock: Arc<dyn Clock>,
    observers: RwLock<Vec<Arc<dyn CameraObserver>>>,
    log: Logger,
}

impl CameraRegistry {
    pub fn new(
        events: Arc<dyn EventPublisher>,
        clock: Arc<dyn Clock>,
        log: Logger,
    ) -> CameraRegistry {
        CameraRegistry {
            cameras: RwLock::new(BTreeMap::new()),
            events,
            clock,
            observers: RwLock::new(Vec::new()),
            log,
        }
    }

    pub fn observe(&self, observer: Arc<dyn CameraObserver>) {
        self.observers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(observer);
    }

    /// Every camera, sorted by index.
    pub fn list(&self) -> Vec<CameraEntry> {
        self.read().values().cloned().collect()
    }

    pub fn ids(&self) -> Vec<CameraId> {
        self.read().keys().copied().collect()
    }

    pub fn counts(&self) -> (usize, usize) {
        let cams = self.read();
        (
            cams.len(),
            cams.values().filter(|c| c.status.is_usable()).count(),
        )
    }

    /// The camera, or -32000 listing the cameras there are.
    pub fn get(&self, id: CameraId) -> Result<CameraEntry, ApiError> {
        let cams = self.read();
        cams.get(&id).cloned().ok_or_else(|| {
            let available: Vec<String> = cams.keys().map(|k| k.to_string()).collect();
            ApiError::new(
                ErrorKind::CameraNotFound,
                "camera_not_found",
                format!("no camera {id}"),
            )
            .with("device", id.to_string())
            .with("available", available)
        })
    }

    /// The camera if it is CONNECTED; -32000 otherwise (a disconnected camera cannot capture).
    pub fn get_connected(&self, id: CameraId) -> Result<CameraEntry, ApiError> {
        let cam = self.get(id)?;
        if cam.status.is_usable() {
            Ok(cam)
        } else {
            Err(ApiError::new(
                ErrorKind::CameraNotFound,
                "camera_not_connected",
                format!("{id} is {}", status_text(cam.status)),
            )
            .with("device", id.to_string())
            .with("status", json!(cam.status))
            .with("available", self.connected_ids()))
        }
    }

    /// Replaces a camera's capture source (a simulated camera's adjusted pattern) and tells
    /// the observers, so the media plane picks it up. No event: the camera did not change.
    pub fn set_source(&self, id: CameraId, source: CaptureSource) {
        let entry = {
            let mut cams = self.write();
            let Some(entry) = cams.get_mut(&id) else {
                return;
            };
            if entry.source == source {
                return;
            }
            entry.source = source;
            entry.clone()
        };
        self.tell_observers(&entry);
    }

    fn connected_ids(&self) -> Vec<String> {
        self.read()
            .values()
            .filter(|c| c.status.is_usable())
            .map(|c| c.id.to_string())
            .collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<CameraId, CameraEntry>> {
        self.cameras.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<CameraId, CameraEntry>> {
        self.cameras.write().unwrap_or_else(|p| p.into_inner())
    }

    fn notify(&self, entry: &CameraEntry, topic: Topic) {
        self.events.publish(entry.event(topic, self.clock.now()));
        self.tell_observers(entry);
    }

    fn tell_observers(&self, entry: &CameraEntry) {
        let observers = self
            .observers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for o in observers {
            o.changed(entry);
        }
    }

    /// Applies a status event; returns the entry when the status changed.
    fn transition(
        &self,
        id: CameraId,
        event: CameraEvent,
        error: Option<String>,
    ) -> Option<CameraEntry> {
        let mut cams = self.write();
        let entry = cams.get_mut(&id)?;
        let next = entry.status.after(event);
        if next == entry.status && entry.error == error {
            return None;
        }
        entry.status = next;
        entry.error = error;
        Some(entry.clone())
    }
}

fn status_text(s: CameraStatus) -> &'static str {
    match s {
        CameraStatus::Connected => "connected",
        CameraStatus::Disconnected => "disconnected",
        CameraStatus::Error => "in error",
    }
}

fn same_device(a: &DeviceDescription, b: &Capabilities) -> bool {
    a.card == b.card && a.bus_info == b.bus_info
}

impl DiscoverySink for CameraRegistry {
    fn appeared(&self, found: DiscoveredCamera) {
        let id = found.id;
        // Another index with the same card and bus: the same camera re-plugged on a new node.
        let moved_from: Option<CameraId> = self
            .read()
            .values()
            .find(|c| {
                c.id != id
                    && c.status != CameraStatus::Connected
                    && same_device(&found.description, &c.capabilities)
            })
            .map(|c| c.id);
        let capabilities = Capabilities::new(id, found.description);
        let (topic, entry) = {
            let mut cams = self.write();
            let previous = cams.get(&id).map(|c| c.status);
            let entry = CameraEntry {
                id,
                status: CameraStatus::Connected,
                capabilities,
                source: found.source,
                error: None,
            };
            let unchanged = cams.get(&id).is_some_and(|c| {
                c.status == CameraStatus::Connected
                    && c.capabilities == entry.capabilities
                    && c.source == entry.source
            });
            if unchanged {
                return;
            }
            cams.insert(id, entry.clone());
            let topic = match previous {
                Some(CameraStatus::Connected) => Topic::CameraStatusChange,
                _ => Topic::CameraConnected,
            };
            (topic, entry)
        };
        info!(self.log, "camera connected"; "camera" => %id, "name" => entry.name(), "moved_from" => moved_from.map(|m| m.to_string()));
        // The same camera re-plugged on another node says where it was.
        let fields = CameraStatusEvent {
            previous_device: moved_from,
            ..entry.event_fields()
        };
        self.events
            .publish(Event::typed(topic, self.clock.now(), Some(id), &fields));
        self.tell_observers(&entry);
    }

    fn vanished(&self, id: CameraId) {
        if let Some(entry) = self.transition(id, CameraEvent::Unplugged, None) {
            info!(self.log, "camera disconnected"; "camera" => %id);
            self.notify(&entry, Topic::CameraDisconnected);
        }
    }

    fn failed(&self, id: CameraId, reason: String) {
        let known = self.read().contains_key(&id);
        if !known {
            // A node that never answered its probe is listed as ERROR with the reason (not
            // only logged); it becomes CONNECTED when a later probe succeeds.
            warn!(self.log, "unusable video node"; "camera" => %id, "reason" => &reason);
            let entry = CameraEntry {
                id,
                status: CameraStatus::Error,
                capabilities: Capabilities::new(
                    id,
                    DeviceDescription {
                        driver: String::new(),
                        card: String::new(),
                        bus_info: String::new(),
                        formats: Vec::new(),
                        current: None,
                    },
                ),
                source: CaptureSource::Device {
                    path: std::path::PathBuf::new(),
                },
                error: Some(reason),
            };
            self.write().insert(id, entry.clone());
            // Never usable yet: nothing for the media plane to do, but clients are told.
            let fields = CameraStatusEvent {
                reason: entry.error.clone(),
                ..entry.event_fields()
            };
            self.events.publish(Event::typed(
                Topic::CameraStatusChange,
                self.clock.now(),
                Some(id),
                &fields,
            ));
            return;
        }
        if let Some(entry) = self.transition(id, CameraEvent::Failed, Some(reason.clone())) {
            warn!(self.log, "camera failed"; "camera" => %id, "reason" => reason);
            self.notify(&entry, Topic::CameraStatusChange);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Events(Mutex<Vec<Event>>);
    impl EventPublisher for Events {
        fn publish(&self, event: Event) {
            self.0.lock().unwrap().push(event);
        }
    }
    struct Fixed;
    impl Clock for Fixed {
        fn now(&self) -> domain::Timestamp {
            domain::Timestamp::from_unix_millis(0)
        }
        fn monotonic_ms(&self) -> u64 {
            0
        }
        fn monotonic_us(&self) -> u64 {
            0
        }
    }

    #[test]
    fn a_node_whose_probe_fails_is_listed_in_error_until_it_recovers() {
        let events = Arc::new(Events::default());
        let reg = CameraRegistry::new(
            events.clone(),
            Arc::new(Fixed),
            Logger::root(slog::Discard, slog::o!()),
        );
        let id = CameraId::new(3).unwrap();
        reg.failed(id, "QUERYCAP: EIO".into());
        let cam = reg.get(id).expect("listed");
        assert_eq!(cam.status, CameraStatus::Error);
        assert_eq!(
            cam.to_camera(CameraStreams::default()).error.as_deref(),
            Some("QUERYCAP: EIO")
        );
        assert_eq!(events.0.lock().unwrap().len(), 1, "clients are told");
        reg.appeared(DiscoveredCamera {
            id,
            description: DeviceDescription {
                driver: "uvcvideo".into(),
                card: "Cam".into(),
                bus_info: "usb-1".into(),
                formats: Vec::new(),
                current: None,
            },
            source: CaptureSource::Device {
                path: "/dev/video3".into(),
            },
        });
        let cam = reg.get(id).unwrap();
        assert_eq!(cam.status, CameraStatus::Connected);
        assert!(cam.to_camera(CameraStreams::default()).error.is_none());
        let v = serde_json::to_value(cam.to_camera(CameraStreams::default())).unwrap();
        assert!(v.get("error").is_none(), "{v}");
        assert_eq!(v["streams"], serde_json::json!({}));
        assert_eq!(
            events.0.lock().unwrap().len(),
            2,
            "the recovery is published"
        );
    }
}
