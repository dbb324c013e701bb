//! `take_snapshot`: the snapshot tiers and the still from a running recording; concurrent
//! snapshots of one camera share one capture, and capture processes are capped.
//!
//! Sharing: while a snapshot of a camera is being taken, another of the same camera, format
//! and quality joins it instead of starting a capture of its own; when the picture is
//! there, each joiner gets its own file (its own name, its own `snapshot.taken` event),
//! copied from the one capture. If the capture fails, every joiner gets its error; if the
//! caller that started it goes away, a joiner starts its own.
//!
//! Cap: at most `media.max_captures` capture processes (ffmpeg: tier 3, or a still from a
//! recording's frames) run at once, all cameras together; a snapshot waits for a slot at
//! most `media.snapshot_timeout_secs`, then gets -32003 `capture_limit`. Stream snapshots
//! (tiers 1, 2) run no process and take no slot.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{watch, Semaphore};

use super::*;

/// Concurrent snapshots that can share a capture: same camera, format and quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ShareKey {
    device: CameraId,
    format: SnapshotFormat,
    quality: u8,
}

/// What a shared capture gives its joiners: the tier, the size and the file to copy.
type Shot = Result<(SnapshotTier, Still, SafeFileName), ApiError>;

/// One capture under way: its result once there, and who started it.
struct InFlight {
    id: u64,
    result: watch::Receiver<Option<Shot>>,
}

/// The snapshots under way and the capture slots.
pub(super) struct Snapshots {
    in_flight: Mutex<HashMap<ShareKey, InFlight>>,
    next_id: AtomicU64,
    slots: Semaphore,
    max_captures: usize,
    wait: Duration,
}

impl Snapshots {
    pub(super) fn new(max_captures: usize, wait: Duration) -> Self {
        let max_captures = max_captures.max(1);
        Snapshots {
            in_flight: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            slots: Semaphore::new(max_captures),
            max_captures,
            wait,
        }
    }

    fn in_flight(&self) -> MutexGuard<'_, HashMap<ShareKey, InFlight>> {
        // Every change is one insert or remove: a poisoned map is still whole.
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Takes the in-flight entry away when the capture that made it ends, however it ends
/// (a caller that goes away drops it mid-capture, and joiners then start their own).
struct Leading<'a> {
    snapshots: &'a Snapshots,
    key: ShareKey,
    id: u64,
}

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        let mut in_flight = self.snapshots.in_flight();
        if in_flight.get(&self.key).is_some_and(|f| f.id == self.id) {
            in_flight.remove(&self.key);
        }
    }
}

/// Where a still that runs a capture process comes from.
enum StillSource {
    /// The frames of a recording that holds the device.
    Recording(Arc<dyn Recorder>),
    /// The camera itself, in this mode.
    Camera(CaptureMode),
}

/// Joining a capture, or leading one.
enum Role<'a> {
    Join(watch::Receiver<Option<Shot>>),
    Lead(Leading<'a>, watch::Sender<Option<Shot>>),
}

/// A client's snapshot name with the format's extension: added when missing, refused
/// when it names another format.
fn snapshot_file_name(
    name: SafeFileName,
    format: SnapshotFormat,
) -> Result<SafeFileName, ApiError> {
    let fits = |ext: &str| match format {
        SnapshotFormat::Jpg => ext == "jpg" || ext == "jpeg",
        SnapshotFormat::Png => ext == "png",
    };
    match name.extension() {
        Some(ext) if fits(&ext) => Ok(name),
        Some(ext) if matches!(ext.as_str(), "jpg" | "jpeg" | "png") => {
            Err(ApiError::invalid_params(format!(
                "filename {name} has extension .{ext} but format is {}",
                format.extension()
            )))
        }
        _ => SafeFileName::parse(&format!("{name}.{}", format.extension()))
            .map_err(|e| ApiError::invalid_params(e.to_string())),
    }
}

impl Media {
    /// `take_snapshot`: JPEGs from MediaMTX's stream while it serves (tier 1 from the held
    /// stream's newest keyframe, tier 2 after activating it), else straight from the camera
    /// (tier 3; also every PNG).
    pub async fn take_snapshot(&self, p: SnapshotParams) -> Result<SnapshotTaken, ApiError> {
        let device = p.device;
        let camera = self.parts.cameras.get_connected(device)?;
        self.ensure_space(FileKind::Snapshot).await?;
        let now = self.parts.clock.now();
        let wanted = match p.filename.clone() {
            Some(name) => snapshot_file_name(name, p.format)?,
            None => snapshot_name(device, now, p.format),
        };
        let file = self
            .parts
            .store
            .create_new(FileKind::Snapshot, &wanted)
            .await
            .map_err(store_error)?;
        let (tier, still) = match self.shared_still(&camera, &p, &file).await {
            Ok(taken) => taken,
            Err(e) => {
                let _ = self
                    .parts
                    .store
                    .delete(FileKind::Snapshot, &file.name)
                    .await;
                return Err(e);
            }
        };
        let facts = self
            .parts
            .store
            .stat(FileKind::Snapshot, &file.name)
            .await
            .map_err(store_error)?;
        self.parts.metrics.snapshot_taken(tier.number());
        self.parts.events.publish(Event::typed(
            Topic::SnapshotTaken,
            now,
            Some(device),
            &SnapshotTakenEvent {
                filename: file.name.as_str().to_owned(),
                file_size: facts.size,
                tier,
            },
        ));
        Ok(SnapshotTaken {
            device,
            download_url: FileKind::Snapshot.download_url(&file.name),
            filename: file.name,
            status: Success::Value,
            timestamp: now,
            file_size: facts.size,
            format: p.format,
            width: still.width,
            height: still.height,
            tier,
        })
    }

    /// The still for `file`: joins a capture of the same camera, format and quality under
    /// way (and copies its picture), or makes one.
    async fn shared_still(
        &self,
        camera: &CameraEntry,
        p: &SnapshotParams,
        file: &ports::files::NewFile,
    ) -> Result<(SnapshotTier, Still), ApiError> {
        let key = ShareKey {
            device: camera.id,
            format: p.format,
            quality: p.quality.get(),
        };
        let snapshots = &self.snapshots;
        loop {
            let role = {
                let mut in_flight = snapshots.in_flight();
                match in_flight.get(&key) {
                    Some(f) => Role::Join(f.result.clone()),
                    None => {
                        let id = snapshots.next_id.fetch_add(1, Ordering::Relaxed);
                        let (tx, rx) = watch::channel(None);
                        in_flight.insert(key, InFlight { id, result: rx });
                        Role::Lead(Leading { snapshots, key, id }, tx)
                    }
                }
            };
            match role {
                Role::Lead(leading, tx) => {
                    let taken = self.capture_still(camera, p, &file.path).await;
                    let shot = taken
                        .clone()
                        .map(|(tier, still)| (tier, still, file.name.clone()));
                    // Joiners arriving from now on start a capture of their own.
                    drop(leading);
                    let _ = tx.send(Some(shot));
                    return taken;
                }
                Role::Join(mut rx) => {
                    let shot = match rx.wait_for(Option::is_some).await {
                        Ok(shot) => shot.clone(),
                        // The caller that led it went away: try again.
                        Err(_) => continue,
                    };
                    let Some(shot) = shot else { continue };
                    let (tier, still, from) = shot?;
                    match self
                        .parts
                        .store
                        .copy(FileKind::Snapshot, &from, &file.name)
                        .await
                    {
                        Ok(_) => return Ok((tier, still)),
                        // Its file is gone already (deleted by its owner): take our own.
                        Err(e) => {
                            warn!(self.parts.log, "cannot copy a shared snapshot"; "camera" => camera.id.to_string(),
                                "error" => e.to_string());
                            continue;
                        }
                    }
                }
            }
        }
    }

    /// One capture into `path`: from the stream while MediaMTX serves a JPEG, from a
    /// recording's frames while one holds the device, else straight from the camera.
    async fn capture_still(
        &self,
        camera: &CameraEntry,
        p: &SnapshotParams,
        path: &std::path::Path,
    ) -> Result<(SnapshotTier, Still), ApiError> {
        let device = camera.id;
        // A recording from the device holds it: its own frames make the still. One from
        // the stream has none; the stream serves the snapshot.
        let recorder = {
            let slots = self.slots();
            slots
                .get(&device)
                .filter(|s| match s.session.state() {
                    RecordingState::Recording { plan, .. } => {
                        plan.origin == RecordingOrigin::Device
                    }
                    _ => false,
                })
                .and_then(|s| s.recorder.clone())
        };
        if let (None, SnapshotFormat::Jpg, Some(streams)) =
            (&recorder, p.format, &self.parts.streams)
        {
            if let Some((tier, width, height)) = streams.snapshot(device, path).await {
                return Ok((tier, Still { width, height }));
            }
        }
        let source = match recorder {
            Some(r) => StillSource::Recording(r),
            None => StillSource::Camera(
                CaptureMode::for_snapshot(&camera.capabilities).ok_or_else(|| {
                    ApiError::unsupported(
                        "no_capture_mode",
                        format!("{device} reports no frame size to capture at"),
                    )
                })?,
            ),
        };
        let _slot = self.capture_slot(device).await?;
        let taken = match source {
            StillSource::Recording(r) => r.still(p.format, p.quality, path).await,
            StillSource::Camera(mode) => {
                self.parts
                    .capture
                    .still(StillRequest {
                        source: &camera.source,
                        mode,
                        format: p.format,
                        quality: p.quality,
                        path,
                    })
                    .await
            }
        };
        taken
            .map(|still| (SnapshotTier::Direct, still))
            .map_err(|e| {
                warn!(self.parts.log, "snapshot failed"; "camera" => device.to_string(), "error" => e.to_string());
                capture_error(e, device)
            })
    }

    /// A capture slot, waiting at most `media.snapshot_timeout_secs` for one.
    async fn capture_slot(
        &self,
        device: CameraId,
    ) -> Result<tokio::sync::SemaphorePermit<'_>, ApiError> {
        let snapshots = &self.snapshots;
        match tokio::time::timeout(snapshots.wait, snapshots.slots.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ApiError::new(
                ErrorKind::DeviceBusy,
                "capture_limit",
                format!(
                    "{} snapshot captures are running (media.max_captures) and none ended \
                     within {:.1} s; retry later",
                    snapshots.max_captures,
                    snapshots.wait.as_secs_f64()
                ),
            )
            .with("device", device.to_string())
            .with("max_captures", snapshots.max_captures as u64)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_name_gets_the_formats_extension() {
        let n = |s: &str| SafeFileName::parse(s).unwrap();
        assert_eq!(
            snapshot_file_name(n("door"), SnapshotFormat::Jpg)
                .unwrap()
                .as_str(),
            "door.jpg"
        );
        assert_eq!(
            snapshot_file_name(n("door.JPEG"), SnapshotFormat::Jpg)
                .unwrap()
                .as_str(),
            "door.JPEG"
        );
        assert_eq!(
            snapshot_file_name(n("door.v2"), SnapshotFormat::Png)
                .unwrap()
                .as_str(),
            "door.v2.png"
        );
        assert_eq!(
            snapshot_file_name(n("door.png"), SnapshotFormat::Jpg)
                .unwrap_err()
                .code(),
            -32602
        );
    }
}
