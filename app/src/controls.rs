//! Camera controls: `get_camera_controls`, `set_camera_controls`, `reset_camera_controls`,
//! the `camera.controls` event, and the values remembered per camera identity that are
//! re-applied when a camera comes (back): plugged in, out of an error, or at start.
//!
//! V4L2 cameras go through the [`CameraControls`] port. A simulated camera's controls are
//! the picture adjustments of its test pattern (`domain::controls::simulated`): setting
//! them changes the camera's capture source, so snapshots, recordings and streams show it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use domain::api::SetControlsParams;
use domain::controls::memory::{restore_plan, CameraIdentity, ControlMemory, StoredValue};
use domain::controls::simulated::{self, Picture};
use domain::controls::{plan, reset_plan, Control, ControlChange, ControlError};
use domain::events::{Event, Topic};
use domain::{ApiError, CameraId, CameraStatus, ErrorKind, SafeFileName};
use ports::camera::CaptureSource;
use ports::clock::Clock;
use ports::controls::{ApplyFailure, CameraControls, ControlsError};
use ports::events::EventPublisher;
use ports::files::StateStore;
use slog::{info, warn, Logger};

use crate::cameras::{CameraEntry, CameraObserver, CameraRegistry};

/// The state document holding the remembered values.
const MEMORY_KEY: &str = "camera-controls.json";

fn memory_key() -> SafeFileName {
    SafeFileName::parse(MEMORY_KEY).expect("camera-controls.json is a safe file name")
}

pub struct ControlsParts {
    pub device: Arc<dyn CameraControls>,
    pub state: Arc<dyn StateStore>,
    pub cameras: Arc<CameraRegistry>,
    pub events: Arc<dyn EventPublisher>,
    pub clock: Arc<dyn Clock>,
    pub log: Logger,
}

use domain::contract::notifications::{CameraControlsEvent, ControlsReason};
/// `get_camera_controls`' result.
pub use domain::contract::results::CameraControls as CameraControlsResult;
/// `set_camera_controls`' and `reset_camera_controls`' result: the values the camera has
/// after the writes (read back), by control id.
pub use domain::contract::results::ControlsChanged;

#[derive(Clone)]
pub struct Controls {
    parts: Arc<ControlsParts>,
    memory: Arc<tokio::sync::Mutex<ControlMemory>>,
    /// Simulated cameras' adjustments.
    pictures: Arc<Mutex<HashMap<CameraId, Picture>>>,
    /// The status each camera had when last seen (a change to CONNECTED restores).
    seen: Arc<Mutex<HashMap<CameraId, CameraStatus>>>,
    /// One control operation at a time (sets, resets and restores do not interleave).
    ops: Arc<tokio::sync::Mutex<()>>,
}

impl Controls {
    /// Loads the remembered values (a missing or unreadable document is an empty memory).
    pub async fn open(parts: ControlsParts) -> Controls {
        let memory = match parts.state.load(&memory_key()).await {
            Ok(Some(text)) => serde_json::from_str(&text).unwrap_or_else(|e| {
                warn!(parts.log, "ignoring the remembered camera controls"; "error" => e.to_string());
                ControlMemory::default()
            }),
            Ok(None) => ControlMemory::default(),
            Err(e) => {
                warn!(parts.log, "cannot read the remembered camera controls"; "error" => e.to_string());
                ControlMemory::default()
            }
        };
        Controls {
            parts: Arc::new(parts),
            memory: Arc::new(tokio::sync::Mutex::new(memory)),
            pictures: Arc::new(Mutex::new(HashMap::new())),
            seen: Arc::new(Mutex::new(HashMap::new())),
            ops: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    pub async fn get(&self, device: CameraId) -> Result<CameraControlsResult, ApiError> {
        let cam = self.parts.cameras.get_connected(device)?;
        let controls = self.list(&cam).await?;
        Ok(CameraControlsResult { device, controls })
    }

    pub async fn set(&self, p: SetControlsParams) -> Result<ControlsChanged, ApiError> {
        let _op = self.ops.lock().await;
        let cam = self.parts.cameras.get_connected(p.device)?;
        let before = self.list(&cam).await?;
        let changes =
            plan(&before, &p.controls.0, p.switch_to_manual).map_err(|e| invalid(p.device, &e))?;
        let outcome = self.apply(&cam, &changes).await;
        let after = self.list(&cam).await?;
        let values = read_back(&changes, &after);
        let applied = match &outcome {
            Ok(()) => changes.len(),
            Err(f) => f.applied,
        };
        let failed: Vec<u32> = changes[applied..].iter().take(1).map(|c| c.cid).collect();
        self.remember(&cam, &changes[..applied], &after, &failed)
            .await;
        if applied > 0 {
            let took = read_back(&changes[..applied], &after);
            self.publish(p.device, &took, ControlsReason::Set);
        }
        match outcome {
            Ok(()) => Ok(ControlsChanged {
                device: p.device,
                controls: values,
                skipped: None,
            }),
            Err(f) => Err(driver_error(p.device, &f, &changes[..applied])),
        }
    }

    pub async fn reset(&self, device: CameraId) -> Result<ControlsChanged, ApiError> {
        let _op = self.ops.lock().await;
        let cam = self.parts.cameras.get_connected(device)?;
        let before = self.list(&cam).await?;
        let (changes, skipped) = reset_plan(&before);
        let outcome = self.apply(&cam, &changes).await;
        let after = self.list(&cam).await?;
        {
            let who = self.identity(&cam).await;
            let present = self.present(device);
            let mut memory = self.memory.lock().await;
            memory.forget(&who, &present);
            self.save(&memory).await;
        }
        let applied = match &outcome {
            Ok(()) => changes.len(),
            Err(f) => f.applied,
        };
        let values = read_back(&changes, &after);
        if applied > 0 {
            self.publish(
                device,
                &read_back(&changes[..applied], &after),
                ControlsReason::Reset,
            );
        }
        match outcome {
            Ok(()) => Ok(ControlsChanged {
                device,
                controls: values,
                skipped: Some(skipped),
            }),
            Err(f) => Err(driver_error(device, &f, &changes[..applied])),
        }
    }

    /// Puts the remembered values back on a camera that just became CONNECTED.
    pub async fn restore(&self, device: CameraId) {
        let _op = self.ops.lock().await;
        let Ok(cam) = self.parts.cameras.get_connected(device) else {
            return;
        };
        let who = self.identity(&cam).await;
        let present = self.present(device);
        let stored = self.memory.lock().await.values(&who, &present);
        if stored.is_empty() {
            return;
        }
        let before = match self.list(&cam).await {
            Ok(b) => b,
            Err(e) => {
                warn!(self.parts.log, "cannot read controls to restore them"; "camera" => %device, "error" => e.to_string());
                return;
            }
        };
        let (changes, unusable) = restore_plan(&before, &stored);
        let outcome = self.apply(&cam, &changes).await;
        let after = self.list(&cam).await.unwrap_or_default();
        let applied = match &outcome {
            Ok(()) => changes.len(),
            Err(f) => {
                warn!(self.parts.log, "restoring camera controls failed"; "camera" => %device, "control" => &f.control, "error" => f.error.to_string());
                f.applied
            }
        };
        // A value the camera refuses outright is forgotten; a busy camera keeps it for next time.
        let mut failed = unusable;
        if let Err(f) = &outcome {
            if !matches!(f.error, ControlsError::Busy(_)) {
                failed.extend(changes.get(applied).map(|c| c.cid));
            }
        }
        self.remember(&cam, &changes[..applied], &after, &failed)
            .await;
        if applied > 0 {
            let took = read_back(&changes[..applied], &after);
            info!(self.parts.log, "camera controls restored"; "camera" => %device, "controls" => applied);
            self.publish(device, &took, ControlsReason::Restored);
        }
    }

    async fn list(&self, cam: &CameraEntry) -> Result<Vec<Control>, ApiError> {
        if let CaptureSource::TestPattern { .. } = &cam.source {
            return Ok(self.picture(cam.id).controls());
        }
        let port = Arc::clone(&self.parts.device);
        let source = cam.source.clone();
        tokio::task::spawn_blocking(move || port.list(&source))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
            .map_err(|e| port_error(cam.id, &e))
    }

    async fn apply(
        &self,
        cam: &CameraEntry,
        changes: &[ControlChange],
    ) -> Result<(), ApplyFailure> {
        if changes.is_empty() {
            return Ok(());
        }
        if let CaptureSource::TestPattern { pattern } = &cam.source {
            let picture = {
                let mut pictures = self.pictures.lock().unwrap_or_else(|p| p.into_inner());
                let picture = pictures.entry(cam.id).or_default();
                picture.apply(changes);
                *picture
            };
            let adjusted = simulated::adjusted_pattern(pattern, &picture);
            self.parts
                .cameras
                .set_source(cam.id, CaptureSource::TestPattern { pattern: adjusted });
            return Ok(());
        }
        let port = Arc::clone(&self.parts.device);
        let source = cam.source.clone();
        let owned = changes.to_vec();
        tokio::task::spawn_blocking(move || port.apply(&source, &owned))
            .await
            .unwrap_or_else(|e| {
                Err(ApplyFailure {
                    applied: 0,
                    control: String::new(),
                    error: ControlsError::Failed(e.to_string()),
                })
            })
    }

    fn picture(&self, id: CameraId) -> Picture {
        self.pictures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .copied()
            .unwrap_or_default()
    }

    async fn identity(&self, cam: &CameraEntry) -> CameraIdentity {
        let serial = match &cam.source {
            CaptureSource::Device { .. } => {
                let port = Arc::clone(&self.parts.device);
                let source = cam.source.clone();
                tokio::task::spawn_blocking(move || port.serial(&source))
                    .await
                    .ok()
                    .flatten()
            }
            CaptureSource::TestPattern { .. } => None,
        };
        CameraIdentity {
            card: cam.capabilities.card.clone(),
            bus_info: cam.capabilities.bus_info.clone(),
            serial,
        }
    }

    /// The other connected cameras (a remembered camera still plugged in did not move).
    fn present(&self, except: CameraId) -> Vec<CameraIdentity> {
        self.parts
            .cameras
            .list()
            .into_iter()
            .filter(|c| c.id != except && c.status.is_usable())
            .map(|c| CameraIdentity {
                card: c.capabilities.card.clone(),
                bus_info: c.capabilities.bus_info.clone(),
                serial: None,
            })
            .collect()
    }

    /// Remembers what the camera took (read back) and forgets `failed` controls.
    async fn remember(
        &self,
        cam: &CameraEntry,
        applied: &[ControlChange],
        after: &[Control],
        failed: &[u32],
    ) {
        let took: Vec<StoredValue> = applied
            .iter()
            .filter_map(|ch| {
                let now = after.iter().find(|c| c.cid == ch.cid)?;
                // Buttons have no value to keep; a value not read back is not claimed.
                Some(StoredValue {
                    cid: ch.cid,
                    id: ch.id.clone(),
                    value: now.value?,
                })
            })
            .collect();
        let mut failed = failed.to_vec();
        failed.extend(
            applied
                .iter()
                .filter(|ch| !took.iter().any(|t| t.cid == ch.cid))
                .map(|ch| ch.cid),
        );
        if took.is_empty() && failed.is_empty() {
            return;
        }
        let who = self.identity(cam).await;
        let present = self.present(cam.id);
        let mut memory = self.memory.lock().await;
        memory.remember(&who, &present, &took, &failed);
        self.save(&memory).await;
    }

    async fn save(&self, memory: &ControlMemory) {
        let text = match serde_json::to_string_pretty(memory) {
            Ok(t) => t,
            Err(e) => {
                warn!(self.parts.log, "cannot encode the remembered camera controls"; "error" => e.to_string());
                return;
            }
        };
        if let Err(e) = self.parts.state.save(&memory_key(), &text).await {
            warn!(self.parts.log, "cannot save the remembered camera controls"; "error" => e.to_string());
        }
    }

    fn publish(
        &self,
        device: CameraId,
        controls: &BTreeMap<String, Option<i64>>,
        reason: ControlsReason,
    ) {
        let fields = CameraControlsEvent {
            controls: controls.clone(),
            reason,
        };
        self.parts.events.publish(Event::typed(
            Topic::CameraControls,
            self.parts.clock.now(),
            Some(device),
            &fields,
        ));
    }
}

/// The value each changed control has now, by id.
fn read_back(changes: &[ControlChange], after: &[Control]) -> BTreeMap<String, Option<i64>> {
    changes
        .iter()
        .map(|ch| {
            let now = after.iter().find(|c| c.cid == ch.cid).and_then(|c| c.value);
            (ch.id.clone(), now)
        })
        .collect()
}

fn invalid(device: CameraId, e: &ControlError) -> ApiError {
    let mut err = ApiError::new(ErrorKind::InvalidParams, e.reason(), e.to_string())
        .with("device", device.to_string())
        .with("control", e.control());
    if let ControlError::AutoIsOn { auto, .. } | ControlError::Conflict { auto, .. } = e {
        err = err.with("auto_control", auto.as_str());
    }
    err
}

fn port_error(device: CameraId, e: &ControlsError) -> ApiError {
    let (kind, reason) = match e {
        ControlsError::Busy(_) => (ErrorKind::DeviceBusy, "control_busy"),
        ControlsError::Refused(_) => (ErrorKind::InvalidState, "control_refused"),
        ControlsError::OutOfRange(_) => (ErrorKind::InvalidParams, "control_out_of_range"),
        ControlsError::Gone(_) => (ErrorKind::CameraNotFound, "camera_gone"),
        ControlsError::Unsupported(_) => (ErrorKind::Unsupported, "controls_unsupported"),
        ControlsError::Failed(_) => (ErrorKind::DependencyUnavailable, "control_failed"),
    };
    let mut err = ApiError::new(kind, reason, e.to_string()).with("device", device.to_string());
    if let ControlsError::Failed(_) = e {
        err = err.with("dependency", "v4l2");
    }
    err
}

/// A write the driver refused part way: which control, and which were applied before it.
fn driver_error(device: CameraId, f: &ApplyFailure, applied: &[ControlChange]) -> ApiError {
    let applied: Vec<&str> = applied.iter().map(|c| c.id.as_str()).collect();
    port_error(device, &f.error)
        .with("control", f.control.as_str())
        .with("applied", applied)
}

impl CameraObserver for Controls {
    /// A camera that becomes CONNECTED (plugged, back from an error, found at start) gets
    /// its remembered values back.
    fn changed(&self, camera: &CameraEntry) {
        let previous = self
            .seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(camera.id, camera.status);
        if !camera.status.is_usable() {
            return;
        }
        if let CaptureSource::TestPattern { pattern } = &camera.source {
            // A simulated camera described again keeps its adjustments.
            let picture = self.picture(camera.id);
            let adjusted = simulated::adjusted_pattern(pattern, &picture);
            if *pattern != adjusted && picture != Picture::default() {
                self.parts
                    .cameras
                    .set_source(camera.id, CaptureSource::TestPattern { pattern: adjusted });
            }
        }
        if previous == Some(CameraStatus::Connected) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let me = self.clone();
        let id = camera.id;
        runtime.spawn(async move { me.restore(id).await });
    }
}
