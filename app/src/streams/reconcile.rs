//! The reconcile loop: keeps MediaMTX's paths in step with the cameras, decides which
//! media plane serves (MediaMTX while its API answers, direct capture while it does not)
//! and keeps the viewing holds.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use domain::stream::{managed_camera, path_name, reconcile, PathConfig};
use domain::CameraId;
use ports::media_server::{MediaServerError, PathStatus};
use slog::{info, warn};

use super::Streams;
use crate::health::{self, ComponentStatus};

impl Streams {
    fn desired(&self) -> BTreeMap<CameraId, PathConfig> {
        self.parts
            .cameras
            .list()
            .iter()
            .filter(|c| c.status.is_usable())
            .filter_map(|c| Some((c.id, self.desired_for(c)?)))
            .collect()
    }

    /// Keeps MediaMTX in step until the task is dropped.
    pub async fn run(self: Arc<Self>) {
        loop {
            self.reconcile_once().await;
            tokio::select! {
                _ = tokio::time::sleep(self.parts.reconcile_every) => {}
                _ = self.wake.notified() => {}
            }
        }
    }

    /// One pass: probe, diff, fix, then the holds. Returns whether MediaMTX answered.
    pub async fn reconcile_once(&self) -> bool {
        let server = &self.parts.server;
        let result = async {
            server.probe().await?;
            let desired = self.desired();
            let actual = server.path_configs().await?;
            let plan = reconcile(&desired, &actual);
            let mut refused = Vec::new();
            let mut note = |camera: CameraId, what: &str, r: Result<(), MediaServerError>| match r {
                Ok(()) => {
                    info!(self.parts.log, "path reconciled"; "camera" => %camera, "action" => what);
                    Ok(())
                }
                Err(e) if e.is_unavailable() => Err(e),
                Err(e) => {
                    warn!(self.parts.log, "MediaMTX refused a path"; "camera" => %camera, "action" => what, "error" => e.to_string());
                    refused.push(format!("{camera}: {e}"));
                    Ok(())
                }
            };
            for (camera, cfg) in &plan.add {
                note(*camera, "add", server.ensure_path(&path_name(*camera), cfg).await)?;
            }
            for (camera, cfg) in &plan.patch {
                note(*camera, "patch", server.patch_path(&path_name(*camera), cfg).await)?;
            }
            for camera in &plan.delete {
                note(*camera, "delete", server.remove_path(&path_name(*camera)).await)?;
            }
            let statuses = server.path_statuses().await?;
            Ok::<_, MediaServerError>((desired.len(), refused, statuses))
        }
        .await;
        match result {
            Ok((paths, refused, statuses)) => {
                self.became_available(paths, &refused);
                self.keep_holds(&statuses).await;
                true
            }
            Err(e) => {
                self.became_unavailable(&e);
                false
            }
        }
    }

    fn became_available(&self, paths: usize, refused: &[String]) {
        let was = self.lock().available.replace(true);
        if was != Some(true) {
            info!(self.parts.log, "MediaMTX answers: streams through MediaMTX"; "api" => &self.parts.api_url);
        }
        let (status, details) = if refused.is_empty() {
            (
                ComponentStatus::Healthy,
                format!("mediamtx at {}: {paths} camera paths", self.parts.api_url),
            )
        } else {
            (
                ComponentStatus::Degraded,
                format!(
                    "mediamtx at {} refused paths: {}",
                    self.parts.api_url,
                    refused.join("; ")
                ),
            )
        };
        self.parts.health.set(health::MEDIA_SERVER, status, details);
    }

    fn became_unavailable(&self, e: &MediaServerError) {
        let was = {
            let mut st = self.lock();
            // Without MediaMTX nobody serves the held streams: let the readers go.
            for cam in st.cameras.values_mut() {
                cam.reader = None;
            }
            st.available.replace(false)
        };
        if was != Some(false) {
            warn!(self.parts.log, "MediaMTX does not answer: direct mode"; "api" => &self.parts.api_url, "error" => e.to_string());
        }
        let plane = if self.parts.forced {
            "media.mode is mediamtx: no streams until it answers; snapshots and recordings direct"
        } else {
            "auto mode: direct capture, no streams until it answers"
        };
        self.parts.health.set(
            health::MEDIA_SERVER,
            ComponentStatus::Degraded,
            format!(
                "MediaMTX API at {} not answering ({e}); {plane}",
                self.parts.api_url
            ),
        );
    }

    /// Renews viewing holds from the readers MediaMTX reports, lets go of streams whose
    /// holds ended and re-attaches readers that ended while a hold lasts.
    async fn keep_holds(&self, statuses: &[PathStatus]) {
        let now = self.parts.clock.now();
        let present: Vec<CameraId> = self
            .parts
            .cameras
            .list()
            .iter()
            .filter(|c| c.status.is_usable())
            .map(|c| c.id)
            .collect();
        let readers: HashMap<CameraId, u32> = statuses
            .iter()
            .filter_map(|s| Some((managed_camera(&s.name)?, s.readers)))
            .collect();
        let reattach: Vec<CameraId> = {
            let mut st = self.lock();
            st.cameras.retain(|id, _| present.contains(id));
            let mut reattach = Vec::new();
            for (id, cam) in st.cameras.iter_mut() {
                let others = readers
                    .get(id)
                    .copied()
                    .unwrap_or(0)
                    .saturating_sub(cam.own_readers());
                if others > 0 {
                    cam.holds.viewer_seen(now);
                }
                if !cam.holds.is_held(now) {
                    cam.reader = None;
                } else if !cam.reader.as_ref().is_some_and(|r| r.is_reading()) {
                    reattach.push(*id);
                }
            }
            reattach
        };
        for id in reattach {
            self.attach(id).await;
        }
    }
}
