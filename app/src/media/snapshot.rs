//! `take_snapshot`: the snapshot tiers and the still from a running recording.

use super::*;

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
    pub async fn take_snapshot(&self, p: SnapshotParams) -> Result<Value, ApiError> {
        let device = p.device;
        let camera = self.parts.cameras.get_connected(device)?;
        self.ensure_space(FileKind::Snapshot).await?;
        let now = self.parts.clock.now();
        let wanted = match p.filename {
            Some(name) => snapshot_file_name(name, p.format)?,
            None => snapshot_name(device, now, p.format),
        };
        let file = self
            .parts
            .store
            .create_new(FileKind::Snapshot, &wanted)
            .await
            .map_err(store_error)?;
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
        let streamed = match (&recorder, p.format, &self.parts.streams) {
            (None, SnapshotFormat::Jpg, Some(streams)) => {
                streams.snapshot(device, &file.path).await
            }
            _ => None,
        };
        let mut tier = SnapshotTier::Direct;
        let taken = match (streamed, recorder) {
            (Some((t, width, height)), _) => {
                tier = t;
                Ok(Still { width, height })
            }
            (None, Some(r)) => r.still(p.format, p.quality, &file.path).await,
            (None, None) => match CaptureMode::for_snapshot(&camera.capabilities) {
                Some(mode) => {
                    self.parts
                        .capture
                        .still(StillRequest {
                            source: &camera.source,
                            mode,
                            format: p.format,
                            quality: p.quality,
                            path: &file.path,
                        })
                        .await
                }
                None => {
                    let _ = self
                        .parts
                        .store
                        .delete(FileKind::Snapshot, &file.name)
                        .await;
                    return Err(ApiError::unsupported(
                        "no_capture_mode",
                        format!("{device} reports no frame size to capture at"),
                    ));
                }
            },
        };
        let still = match taken {
            Ok(s) => s,
            Err(e) => {
                let _ = self
                    .parts
                    .store
                    .delete(FileKind::Snapshot, &file.name)
                    .await;
                warn!(self.parts.log, "snapshot failed"; "camera" => device.to_string(), "error" => e.to_string());
                return Err(capture_error(e, device));
            }
        };
        let facts = self
            .parts
            .store
            .stat(FileKind::Snapshot, &file.name)
            .await
            .map_err(store_error)?;
        self.parts.metrics.snapshot_taken(tier.number());
        self.parts.events.publish(
            Event::new(Topic::SnapshotTaken, now, Some(device))
                .with("filename", file.name.as_str())
                .with("file_size", facts.size)
                .with("tier", tier.number()),
        );
        Ok(json!({
            "device": device,
            "filename": file.name,
            "status": "SUCCESS",
            "timestamp": now,
            "file_size": facts.size,
            "format": p.format,
            "width": still.width,
            "height": still.height,
            "tier": tier,
            "download_url": FileKind::Snapshot.download_url(&file.name),
        }))
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
