//! `start_recording` / `stop_recording`: reserving files, choosing the source, the
//! watcher of each running recording and how it ends (in media mode `auto`, a recording
//! whose stream ends goes on from the device: `go_on_from_device`).
//!
//! One file of ~690 lines: starting, watching and ending a recording are one life cycle over
//! the same state (`go_on_from_device` changes recorder mid-way); the snapshot side lives in
//! `snapshot.rs`.

use super::*;

/// The name of the first segment of a recording named `base`: `<stem>_000.<ext>`.
fn first_segment(base: &SafeFileName) -> Option<SafeFileName> {
    let (stem, ext) = base.as_str().rsplit_once('.')?;
    SafeFileName::parse(&format!("{stem}_000.{ext}")).ok()
}

/// What became of a recording whose recorder failed.
enum Continued {
    /// It goes on with this recorder (from the device, in a new file).
    Recorder(Arc<dyn Recorder>),
    /// It ends so.
    Not(RecordingEnd),
}

/// How long a recording going on from the device waits for the device to be free (a real
/// camera is held until the stream's publisher has died).
const DEVICE_FREE_WAIT: Duration = Duration::from_secs(10);
/// How often it tries the device meanwhile.
const DEVICE_RETRY: Duration = Duration::from_millis(250);
/// A planned recording this close to its end is finished rather than continued.
const NOT_WORTH_A_FILE_SECS: f64 = 1.0;

impl Media {
    /// Reserves the recording's (first) file: `<name>` or, with segments, `<stem>_000.<ext>`,
    /// trying `<name>-2`, ... until the file to be written is free.
    async fn reserve_recording(
        &self,
        wanted: &SafeFileName,
    ) -> Result<(SafeFileName, PathBuf), ApiError> {
        let store = &self.parts.store;
        let Some(_) = self.parts.segment_secs else {
            let f = store
                .create_new(FileKind::Recording, wanted)
                .await
                .map_err(store_error)?;
            return Ok((f.name.clone(), f.path));
        };
        for n in 1..=100u32 {
            let base = if n == 1 {
                Some(wanted.clone())
            } else {
                wanted.with_counter(n)
            };
            let Some(first) = base.as_ref().and_then(first_segment) else {
                break;
            };
            let f = store
                .create_new(FileKind::Recording, &first)
                .await
                .map_err(store_error)?;
            if f.name == first {
                let base = base.unwrap_or_else(|| wanted.clone());
                return Ok((first, store.path_of(FileKind::Recording, &base)));
            }
            // Taken: give back the variant it made and try the next base name.
            let _ = store.delete(FileKind::Recording, &f.name).await;
        }
        Err(store_error(StoreError::NamesExhausted(wanted.clone())))
    }

    /// Where a recording of `camera` reads, with the size and rate it records at: MediaMTX's
    /// stream while it serves (its hold taken: release it with `release_stream` when the
    /// recording does not happen), else the camera itself.
    async fn recording_source(
        &self,
        camera: &CameraEntry,
    ) -> Result<(RecordingSource, domain::Resolution, f64), ApiError> {
        if let Some(streams) = &self.parts.streams {
            if let Some(stream) = streams.recording_begins(camera).await? {
                return Ok((
                    RecordingSource::Stream { url: stream.url },
                    stream.size,
                    stream.fps,
                ));
            }
        }
        let mode = self
            .parts
            .encoding
            .plan(&camera.capabilities)
            .ok_or_else(|| {
                ApiError::unsupported(
                    "no_capture_mode",
                    format!("{} offers no mode to record in", camera.id),
                )
            })?;
        Ok((
            RecordingSource::Camera {
                source: camera.source.clone(),
                mode,
            },
            mode.size,
            mode.fps,
        ))
    }

    /// Gives back the stream hold of a recording from the stream that ended or never began.
    fn release_stream(&self, device: CameraId, origin: RecordingOrigin) {
        if let (RecordingOrigin::Stream, Some(streams)) = (origin, &self.parts.streams) {
            streams.recording_ended(device);
        }
    }

    /// `start_recording`.
    pub async fn start_recording(
        self: &Arc<Self>,
        p: RecordingParams,
    ) -> Result<RecordingStarted, ApiError> {
        let device = p.device;
        let camera = self.parts.cameras.get_connected(device)?;
        if let Some(plan) = self.slots().get(&device).and_then(|s| s.session.active()) {
            return Err(
                domain::recording::RecordingError::AlreadyRecording(plan.file.clone()).into(),
            );
        }
        let (source, size, fps) = self.recording_source(&camera).await?;
        let origin = source.origin();
        let mut undo = StartUndo {
            media: Arc::clone(self),
            device,
            origin,
            file: None,
            armed: true,
        };
        let reserved = async {
            self.ensure_space(FileKind::Recording).await?;
            let requested_at = self.parts.clock.now();
            let wanted = recording_name(device, requested_at, p.format);
            let (first, path) = self.reserve_recording(&wanted).await?;
            Ok::<_, ApiError>((requested_at, first, path))
        }
        .await;
        let (requested_at, first, path) = match reserved {
            Ok(r) => r,
            Err(e) => {
                undo.run().await;
                return Err(e);
            }
        };
        undo.file = Some(first.clone());
        let plan = RecordingPlan {
            file: first.clone(),
            format: p.format,
            planned: p.duration,
            origin,
        };
        let (lost_tx, lost_rx) = oneshot::channel();
        let started = {
            let mut slots = self.slots();
            let slot = slots.entry(device).or_default();
            slot.session.start(plan, requested_at).map(|()| {
                slot.generation += 1;
                slot.lost = Some(lost_tx);
                slot.earlier.clear();
                slot.base = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| SafeFileName::parse(n).ok());
                slot.generation
            })
        };
        let generation = match started {
            Ok(g) => g,
            Err(e) => {
                undo.run().await;
                return Err(e.into());
            }
        };

        let request = RecordingRequest {
            source,
            format: p.format,
            planned: p.duration,
            path,
            segment_secs: self.parts.segment_secs,
        };
        let recorder = match self.parts.capture.record(request).await {
            Ok(r) => r,
            Err(e) => {
                let now = self.parts.clock.now();
                let failed = self
                    .slots()
                    .get_mut(&device)
                    .filter(|s| s.generation == generation)
                    .and_then(|s| {
                        s.lost = None;
                        s.session.failed(e.to_string(), now).ok()
                    });
                undo.run().await;
                self.parts.metrics.recording_failed(false);
                if let Some(f) = failed {
                    self.publish_failure(device, &f, 0);
                }
                warn!(self.parts.log, "recording failed to start"; "camera" => device.to_string(),
                    "source" => origin.as_str(), "error" => e.to_string());
                return Err(capture_error(e, device));
            }
        };
        // From here the recording runs: its watcher owns the stream hold and the file.
        undo.disarm();
        let started_at = self.parts.clock.now();
        {
            let mut slots = self.slots();
            let slot = slots.entry(device).or_default();
            // Only this call moves a Starting session on, so this cannot be refused.
            let _ = slot.session.started(started_at);
            slot.recorder = Some(Arc::clone(&recorder));
        }
        // A camera that went away while the recorder started was not seen by `changed`
        // until the session existed: look once more.
        if let Ok(entry) = self.parts.cameras.get(device) {
            self.changed(&entry);
        }
        self.parts.metrics.recording_started();
        let planned = p.duration.map(|d| d.secs());
        self.parts.events.publish(Event::typed(
            Topic::RecordingStart,
            started_at,
            Some(device),
            &RecordingStartEvent {
                filename: first.as_str().to_owned(),
                status: Recording::Value,
                duration: planned,
                format: p.format,
                source: origin,
            },
        ));
        info!(self.parts.log, "recording started"; "camera" => device.to_string(), "file" => first.as_str(),
            "source" => origin.as_str(), "size" => size.to_string(), "fps" => fps);
        self.watch(
            device,
            generation,
            recorder,
            p.duration.map(|d| Duration::from_secs_f64(d.secs())),
            lost_rx,
        );
        Ok(RecordingStarted {
            device,
            download_url: FileKind::Recording.download_url(&first),
            filename: first,
            status: Recording::Value,
            start_time: started_at,
            duration: planned,
            format: p.format,
            width: size.width,
            height: size.height,
            fps,
            source: origin,
        })
    }

    /// Follows a recording until it ends: by itself, failing, past its planned duration
    /// (then it is stopped), when free space falls below the floor or its camera went away
    /// (stopped, reported as an error).
    fn watch(
        self: &Arc<Self>,
        device: CameraId,
        generation: u64,
        mut recorder: Arc<dyn Recorder>,
        planned: Option<Duration>,
        mut lost: oneshot::Receiver<String>,
    ) {
        let media = Arc::clone(self);
        tokio::spawn(async move {
            let overdue = async {
                match planned {
                    Some(d) => tokio::time::sleep(d + PLANNED_GRACE).await,
                    None => std::future::pending().await,
                }
            };
            tokio::pin!(overdue);
            let mut space = tokio::time::interval(SPACE_CHECK);
            let mut lost_open = true;
            let end = loop {
                tokio::select! {
                    end = recorder.ended() => match end {
                        // In `auto` a recording whose stream ended goes on from the device.
                        RecordingEnd::Failed { reason } => {
                            match media.go_on_from_device(device, generation, &recorder, reason).await {
                                Continued::Recorder(next) => recorder = next,
                                Continued::Not(end) => break end,
                            }
                        }
                        end => break end,
                    },
                    reason = &mut lost, if lost_open => match reason {
                        Ok(reason) => {
                            warn!(media.parts.log, "stopping a recording: its camera went away"; "camera" => device.to_string());
                            // Whatever the recorder says (a stream that ended, a device
                            // error, or a clean stop), the recording did not end as asked.
                            let _ = recorder.stop().await;
                            break RecordingEnd::Failed { reason };
                        }
                        Err(_) => lost_open = false,
                    },
                    _ = &mut overdue => {
                        if let Some(slot) = media.slots().get_mut(&device).filter(|s| s.generation == generation) {
                            let _ = slot.session.duration_reached();
                        }
                        warn!(media.parts.log, "recording overran its planned duration; stopping it"; "camera" => device.to_string());
                        break recorder.stop().await;
                    }
                    _ = space.tick() => {
                        if let Err(e) = media.ensure_space(FileKind::Recording).await {
                            if e.kind == ErrorKind::InsufficientStorage {
                                warn!(media.parts.log, "stopping a recording: storage is nearly full"; "camera" => device.to_string());
                                let _ = recorder.stop().await;
                                break RecordingEnd::Failed { reason: format!("stopped: {}", e.details) };
                            }
                        }
                    }
                }
            };
            media.finish(device, generation, end).await;
        });
    }

    /// A recording from the stream whose recorder failed (`reason`: the stream ended,
    /// MediaMTX went away, the stream stalled). In media mode `auto`, while it records (no
    /// stop asked) and its camera is there, it goes on from the device in a new file of the
    /// same recording, `<name>_part2.<ext>` (segmented like the first), and
    /// `recording.source_changed` tells the clients. Otherwise the failure stands.
    async fn go_on_from_device(
        &self,
        device: CameraId,
        generation: u64,
        failed: &Arc<dyn Recorder>,
        reason: String,
    ) -> Continued {
        let fail = |why: String| Continued::Not(RecordingEnd::Failed { reason: why });
        let falls_back = self
            .parts
            .streams
            .as_ref()
            .is_some_and(|s| s.falls_back_to_device());
        let Some(switch) = self.slots().get(&device).map(|s| Arc::clone(&s.switch)) else {
            return fail(reason);
        };
        if !falls_back {
            return fail(reason);
        }
        let _switching = switch.lock().await;
        let (plan, started_at, base) = {
            let slots = self.slots();
            let Some(slot) = slots.get(&device).filter(|s| s.generation == generation) else {
                return fail(reason);
            };
            match slot.session.state() {
                RecordingState::Recording { plan, started_at }
                    if plan.origin == RecordingOrigin::Stream =>
                {
                    let base = slot.base.clone().unwrap_or_else(|| plan.file.clone());
                    (plan.clone(), *started_at, base)
                }
                _ => return fail(reason),
            }
        };
        let not_on = |why: String| fail(format!("{reason}; cannot go on from the device: {why}"));
        let camera = match self.parts.cameras.get_connected(device) {
            Ok(c) => c,
            Err(e) => return not_on(e.details),
        };
        let planned = match plan.planned {
            None => None,
            Some(d) => {
                let left = d.secs() - self.parts.clock.now().secs_since(started_at);
                if left < NOT_WORTH_A_FILE_SECS {
                    // Its planned end is here anyway.
                    return Continued::Not(RecordingEnd::Finished);
                }
                RecordingDuration::new(left)
            }
        };
        let Some(mode) = self.parts.encoding.plan(&camera.capabilities) else {
            return not_on(format!("{device} offers no mode to record in"));
        };
        if let Err(e) = self.ensure_space(FileKind::Recording).await {
            return not_on(e.details);
        }
        let Some(wanted) = base
            .as_str()
            .rsplit_once('.')
            .and_then(|(stem, ext)| SafeFileName::parse(&format!("{stem}_part2.{ext}")).ok())
        else {
            return not_on(format!("no name for a second file of {base}"));
        };
        let (first, path) = match self.reserve_recording(&wanted).await {
            Ok(r) => r,
            Err(e) => return not_on(e.details),
        };
        // A real camera stays held until the stream's publisher has died: wait for it.
        let deadline = tokio::time::Instant::now() + DEVICE_FREE_WAIT;
        let recorder = loop {
            let request = RecordingRequest {
                source: RecordingSource::Camera {
                    source: camera.source.clone(),
                    mode,
                },
                format: plan.format,
                planned,
                path: path.clone(),
                segment_secs: self.parts.segment_secs,
            };
            match self.parts.capture.record(request).await {
                Ok(r) => break r,
                Err(CaptureError::Busy(_)) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(DEVICE_RETRY).await;
                }
                Err(e) => {
                    let _ = self.parts.store.delete(FileKind::Recording, &first).await;
                    return not_on(e.to_string());
                }
            }
        };
        let now = self.parts.clock.now();
        let files = {
            let mut slots = self.slots();
            let switched = slots
                .get_mut(&device)
                .filter(|s| s.generation == generation)
                .and_then(|s| {
                    s.session.source_changed(RecordingOrigin::Device).ok()?;
                    Some(s)
                });
            match switched {
                Some(slot) => {
                    slot.earlier.extend(failed.files());
                    slot.recorder = Some(Arc::clone(&recorder));
                    Some(slot.files())
                }
                None => None,
            }
        };
        let Some(files) = files else {
            // Cannot happen while the switch is held (only stops change the session, and
            // they wait for it); finish the new file rather than leave it running.
            let _ = recorder.stop().await;
            return fail(reason);
        };
        self.release_stream(device, RecordingOrigin::Stream);
        let names: Vec<&str> = files
            .iter()
            .filter_map(|p| p.file_name()?.to_str())
            .collect();
        self.parts.events.publish(Event::typed(
            Topic::RecordingSourceChanged,
            now,
            Some(device),
            &RecordingSourceChangedEvent {
                filename: plan.file.as_str().to_owned(),
                status: Recording::Value,
                source: RecordingOrigin::Device,
                previous_source: RecordingOrigin::Stream,
                reason: reason.clone(),
                new_file: first.as_str().to_owned(),
                files: names.iter().map(|n| (*n).to_owned()).collect(),
                duration: now.secs_since(started_at).max(0.0),
            },
        ));
        warn!(self.parts.log, "recording goes on from the device: its stream ended"; "camera" => device.to_string(),
            "file" => plan.file.as_str(), "new_file" => first.as_str(), "reason" => &reason);
        Continued::Recorder(recorder)
    }

    /// Records how a recording ended, once: the session moves on, metrics and events follow.
    /// Later calls for the same recording get the same outcome.
    async fn finish(
        &self,
        device: CameraId,
        generation: u64,
        end: RecordingEnd,
    ) -> Option<(Outcome, Vec<PathBuf>)> {
        let ending = Arc::clone(&self.slots().get(&device)?.ending);
        let _ending = ending.lock().await;
        let now = self.parts.clock.now();
        let (outcome, files) = {
            let mut slots = self.slots();
            let slot = slots.get_mut(&device)?;
            if slot.generation != generation {
                return None;
            }
            if !slot.session.is_active() {
                let files = slot.files();
                return slot
                    .last
                    .clone()
                    .filter(|(g, _)| *g == generation)
                    .map(|(_, o)| (o, files));
            }
            let outcome = match end {
                RecordingEnd::Finished | RecordingEnd::Killed => {
                    slot.session.ended(now).map(Outcome::Finished)
                }
                RecordingEnd::Failed { reason } => {
                    slot.session.failed(reason, now).map(Outcome::Failed)
                }
            }
            .ok()?;
            slot.last = Some((generation, outcome.clone()));
            slot.lost = None;
            (outcome, slot.files())
        };
        let origin = match &outcome {
            Outcome::Finished(f) => f.plan.origin,
            Outcome::Failed(f) => f.plan.origin,
        };
        self.release_stream(device, origin);
        let size: u64 = files
            .iter()
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum();
        match &outcome {
            Outcome::Finished(f) => {
                self.parts.metrics.recording_stopped();
                // The file's own duration, as stop_recording reports it.
                let duration = self.files_duration(&files).await.unwrap_or(f.duration());
                self.parts.events.publish(Event::typed(
                    Topic::RecordingStop,
                    now,
                    Some(device),
                    &RecordingStopEvent {
                        filename: f.plan.file.as_str().to_owned(),
                        status: Stopped::Value,
                        duration,
                        file_size: size,
                        stop_reason: stop_reason(f.cause),
                    },
                ));
                info!(self.parts.log, "recording stopped"; "camera" => device.to_string(), "file" => f.plan.file.as_str(),
                    "duration" => duration, "cause" => f.cause.as_str());
            }
            Outcome::Failed(f) => {
                self.parts.metrics.recording_failed(true);
                self.publish_failure(device, f, size);
                warn!(self.parts.log, "recording failed"; "camera" => device.to_string(), "file" => f.plan.file.as_str(),
                    "reason" => &f.reason);
            }
        }
        Some((outcome, files))
    }

    /// How long the files play together (ffprobe), when every one of them can be read.
    async fn files_duration(&self, files: &[PathBuf]) -> Option<f64> {
        if files.is_empty() {
            return None;
        }
        let mut total = 0.0;
        for path in files {
            total += self.parts.inspector.inspect(path).await.ok()?.duration?;
        }
        Some(total)
    }

    fn publish_failure(&self, device: CameraId, f: &FailedRecording, size: u64) {
        let duration = f
            .started_at
            .map(|s| f.at.secs_since(s).max(0.0))
            .unwrap_or(0.0);
        self.parts.events.publish(Event::typed(
            Topic::RecordingError,
            f.at,
            Some(device),
            &RecordingErrorEvent {
                filename: f.plan.file.as_str().to_owned(),
                status: Failed::Value,
                duration,
                file_size: size,
                reason: f.reason.clone(),
            },
        ));
    }

    /// `stop_recording`: finishes the file and reports its real duration and size.
    pub async fn stop_recording(&self, device: CameraId) -> Result<RecordingStopped, ApiError> {
        self.parts.cameras.get(device)?;
        // A recording changing recorder is stopped once the new one runs.
        let switch = Arc::clone(&self.slots().entry(device).or_default().switch);
        let _switching = switch.lock().await;
        let (generation, recorder) = {
            let mut slots = self.slots();
            let slot = slots.entry(device).or_default();
            slot.session
                .request_stop()
                .map_err(|e| ApiError::from(e).with("device", device.to_string()))?;
            (slot.generation, slot.recorder.clone())
        };
        let recorder =
            recorder.ok_or_else(|| ApiError::internal("a recording under way has no recorder"))?;
        let end = recorder.stop().await;
        let (outcome, files) = self
            .finish(device, generation, end)
            .await
            .ok_or_else(|| ApiError::internal("the recording's end was not recorded"))?;
        match outcome {
            Outcome::Failed(f) => Err(ApiError::new(
                ErrorKind::DependencyUnavailable,
                "recording_failed",
                format!("the recording failed: {}", f.reason),
            )
            .with("dependency", "ffmpeg")
            .with("device", device.to_string())
            .with("filename", f.plan.file.as_str())),
            Outcome::Finished(f) => {
                let size: u64 = files
                    .iter()
                    .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
                    .sum();
                // The file's own duration when it can be read; the wall clock otherwise.
                let duration = self.files_duration(&files).await.unwrap_or(f.duration());
                Ok(RecordingStopped {
                    device,
                    download_url: FileKind::Recording.download_url(&f.plan.file),
                    filename: f.plan.file,
                    status: Stopped::Value,
                    start_time: f.started_at,
                    end_time: f.ended_at,
                    duration,
                    file_size: size,
                    format: f.plan.format,
                    files: files
                        .iter()
                        .filter_map(|p| Some(p.file_name()?.to_str()?.to_owned()))
                        .collect(),
                })
            }
        }
    }

    /// Stops every recording (service shutdown), finishing their files.
    pub async fn stop_all(&self) {
        let switches: Vec<(CameraId, Arc<tokio::sync::Mutex<()>>)> = self
            .slots()
            .iter()
            .map(|(id, s)| (*id, Arc::clone(&s.switch)))
            .collect();
        for (device, switch) in switches {
            let _switching = switch.lock().await;
            let running = {
                let mut slots = self.slots();
                slots.get_mut(&device).and_then(|s| {
                    let r = s.recorder.clone()?;
                    s.session.request_stop().ok()?;
                    Some((s.generation, r))
                })
            };
            if let Some((generation, recorder)) = running {
                let end = recorder.stop().await;
                self.finish(device, generation, end).await;
            }
        }
    }
}

/// What a `start_recording` has taken so far — the stream hold of its source, the file it
/// reserved — given back when the start does not get to the end: on a failed step
/// (`run`, awaited) or, when the start is abandoned mid-way because its caller went away,
/// on drop (the file is then deleted by a task of its own).
struct StartUndo {
    media: Arc<Media>,
    device: CameraId,
    origin: RecordingOrigin,
    file: Option<SafeFileName>,
    /// Still to be given back (cleared by `run` and `disarm`).
    armed: bool,
}

impl StartUndo {
    async fn run(mut self) {
        self.armed = false;
        self.media.release_stream(self.device, self.origin);
        if let Some(file) = self.file.take() {
            let _ = self
                .media
                .parts
                .store
                .delete(FileKind::Recording, &file)
                .await;
        }
    }

    /// The start got to the end: nothing to give back.
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for StartUndo {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        self.media.release_stream(self.device, self.origin);
        if let (Some(file), Ok(runtime)) = (self.file.take(), tokio::runtime::Handle::try_current())
        {
            let store = Arc::clone(&self.media.parts.store);
            runtime.spawn(async move {
                let _ = store.delete(FileKind::Recording, &file).await;
            });
        }
    }
}

/// How a finished recording's end is told in `recording.stop`.
fn stop_reason(cause: domain::recording::StopCause) -> StopReason {
    match cause {
        domain::recording::StopCause::Requested => StopReason::Requested,
        domain::recording::StopCause::DurationReached => StopReason::DurationReached,
        domain::recording::StopCause::SourceEnded => StopReason::SourceEnded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_named_after_the_recording() {
        let n = SafeFileName::parse("camera0_20250115T143000Z.mp4").unwrap();
        assert_eq!(
            first_segment(&n).unwrap().as_str(),
            "camera0_20250115T143000Z_000.mp4"
        );
    }
}
