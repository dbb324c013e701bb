//! Simulated cameras: a capture source like any other (an ffmpeg `lavfi` test pattern) with a
//! name and capabilities from configuration, so the whole service runs with no hardware.
//!
//! Cameras come from the config list and from descriptor files (`*.yaml`, one
//! [`config::SimulatedCamera`] each) in a watched directory: writing a file plugs a camera,
//! removing it unplugs it — hot-plug for demos and tests. A descriptor naming a camera the
//! config list already has is refused (logged): it never replaces a configured camera.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use config::SimulatedCamera;
use domain::capabilities::{
    CurrentMode, DeviceDescription, DiscreteSize, FourCc, FrameSize, PixelFormat,
};
use domain::{CameraId, Resolution};
use futures_util::StreamExt;
use inotify::{Inotify, WatchMask};
use ports::camera::{CameraDiscovery, CaptureSource, DiscoveredCamera, DiscoverySink};
use slog::{info, warn, Logger};

pub const DRIVER: &str = "camera-service-sim";

/// The V4L2-like description of a simulated camera: one YUYV format offering every configured
/// size at every configured rate; the first size and rate are the current mode.
pub fn describe(cam: &SimulatedCamera) -> Option<DiscoveredCamera> {
    let id = CameraId::new(cam.index)?;
    let mut rates = cam.frame_rates.clone();
    rates.sort_by(|a, b| b.total_cmp(a));
    rates.dedup();
    let sizes: Vec<Resolution> = cam
        .resolutions
        .iter()
        .filter_map(|r| Resolution::parse(r).ok())
        .collect();
    let first = *sizes.first()?;
    let yuyv = FourCc(*b"YUYV");
    Some(DiscoveredCamera {
        id,
        description: DeviceDescription {
            driver: DRIVER.into(),
            card: cam.name.clone(),
            bus_info: format!("sim:{}", cam.index),
            formats: vec![PixelFormat {
                pixel_format: yuyv,
                description: "YUYV 4:2:2".into(),
                sizes: sizes
                    .iter()
                    .map(|r| {
                        FrameSize::Discrete(DiscreteSize {
                            width: r.width,
                            height: r.height,
                            frame_rates: rates.clone(),
                        })
                    })
                    .collect(),
            }],
            current: Some(CurrentMode {
                pixel_format: yuyv,
                width: first.width,
                height: first.height,
                fps: cam.frame_rates.first().copied(),
            }),
        },
        source: CaptureSource::TestPattern {
            pattern: cam.pattern.clone(),
        },
    })
}

/// Reads and validates one descriptor file.
pub fn read_descriptor(path: &Path) -> Result<SimulatedCamera, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let cam: SimulatedCamera =
        serde_yaml::from_str(&text).map_err(|e| format!("not a camera descriptor: {e}"))?;
    cam.validate("descriptor").map_err(|e| e.to_string())?;
    Ok(cam)
}

fn is_descriptor(name: &str) -> bool {
    !name.starts_with('.') && (name.ends_with(".yaml") || name.ends_with(".yml"))
}

pub struct SimulatedDiscovery {
    fixed: Vec<SimulatedCamera>,
    watch_dir: Option<PathBuf>,
    log: Logger,
}

impl SimulatedDiscovery {
    pub fn new(fixed: Vec<SimulatedCamera>, watch_dir: Option<PathBuf>, log: Logger) -> Self {
        SimulatedDiscovery {
            fixed,
            watch_dir,
            log,
        }
    }
}

/// Which descriptor file plugged which camera.
struct Plugged {
    by_file: HashMap<String, CameraId>,
    /// The cameras of the config list: no descriptor may stand in for one.
    configured: HashSet<CameraId>,
}

impl Plugged {
    fn load(&mut self, dir: &Path, name: &str, sink: &dyn DiscoverySink, log: &Logger) {
        match read_descriptor(&dir.join(name)).map(|c| (describe(&c), c)) {
            Ok((Some(found), _)) if self.configured.contains(&found.id) => {
                warn!(log, "ignoring simulated camera descriptor: its index is a configured camera (camera.simulated)";
                    "file" => name, "camera" => found.id.to_string());
                self.remove(name, sink);
            }
            Ok((Some(found), _)) => {
                if let Some(old) = self.by_file.insert(name.to_owned(), found.id) {
                    if old != found.id {
                        sink.vanished(old);
                    }
                }
                sink.appeared(found);
            }
            Ok((None, c)) => {
                warn!(log, "simulated camera descriptor has no usable size"; "file" => name, "index" => c.index)
            }
            Err(e) => {
                warn!(log, "ignoring simulated camera descriptor"; "file" => name, "error" => e)
            }
        }
    }

    fn remove(&mut self, name: &str, sink: &dyn DiscoverySink) {
        if let Some(id) = self.by_file.remove(name) {
            sink.vanished(id);
        }
    }
}

/// The descriptor files in `dir`, sorted by name.
fn descriptor_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| is_descriptor(n))
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

impl SimulatedDiscovery {
    /// The ids of the configured cameras, which no descriptor file may replace.
    fn configured_ids(&self) -> HashSet<CameraId> {
        self.fixed
            .iter()
            .filter_map(|c| CameraId::new(c.index))
            .collect()
    }
}

#[async_trait]
impl CameraDiscovery for SimulatedDiscovery {
    /// The configured cameras and the descriptor files there now.
    fn report_known(&self, sink: &dyn DiscoverySink) {
        for cam in &self.fixed {
            if let Some(found) = describe(cam) {
                sink.appeared(found);
            }
        }
        if let Some(dir) = &self.watch_dir {
            let mut plugged = Plugged {
                by_file: HashMap::new(),
                configured: self.configured_ids(),
            };
            for name in descriptor_names(dir) {
                plugged.load(dir, &name, sink, &self.log);
            }
        }
    }

    async fn run(self: Arc<Self>, sink: Arc<dyn DiscoverySink>) {
        for cam in &self.fixed {
            if let Some(found) = describe(cam) {
                sink.appeared(found);
            }
        }
        let Some(dir) = self.watch_dir.clone() else {
            return;
        };
        if let Err(e) = std::fs::create_dir_all(&dir) {
            warn!(self.log, "cannot create the simulated camera directory"; "dir" => dir.display().to_string(), "error" => e.to_string());
            return;
        }
        let inotify = match Inotify::init() {
            Ok(i) => i,
            Err(e) => {
                warn!(self.log, "inotify unavailable; simulated hot-plug is off"; "error" => e.to_string());
                return;
            }
        };
        let mask = WatchMask::CLOSE_WRITE
            | WatchMask::MOVED_TO
            | WatchMask::MOVED_FROM
            | WatchMask::DELETE;
        if let Err(e) = inotify.watches().add(&dir, mask) {
            warn!(self.log, "cannot watch the simulated camera directory"; "dir" => dir.display().to_string(), "error" => e.to_string());
            return;
        }
        let mut stream = match inotify.into_event_stream([0u8; 4096]) {
            Ok(s) => s,
            Err(e) => {
                warn!(self.log, "cannot read inotify events"; "error" => e.to_string());
                return;
            }
        };
        info!(self.log, "watching for simulated camera descriptors"; "dir" => dir.display().to_string());
        let mut plugged = Plugged {
            by_file: HashMap::new(),
            configured: self.configured_ids(),
        };
        // The watch is in place before the scan, so nothing written meanwhile is missed.
        for name in descriptor_names(&dir) {
            plugged.load(&dir, &name, &*sink, &self.log);
        }
        while let Some(event) = stream.next().await {
            let Ok(event) = event else { continue };
            let Some(name) = event.name.as_ref().and_then(|n| n.to_str()) else {
                continue;
            };
            if !is_descriptor(name) {
                continue;
            }
            if event
                .mask
                .intersects(inotify::EventMask::DELETE | inotify::EventMask::MOVED_FROM)
            {
                plugged.remove(name, &*sink);
            } else {
                plugged.load(&dir, name, &*sink, &self.log);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl DiscoverySink for Recorder {
        fn appeared(&self, c: DiscoveredCamera) {
            self.0
                .lock()
                .unwrap()
                .push(format!("+{} {}", c.id, c.description.card));
        }
        fn vanished(&self, id: CameraId) {
            self.0.lock().unwrap().push(format!("-{id}"));
        }
        fn failed(&self, id: CameraId, _reason: String) {
            self.0.lock().unwrap().push(format!("!{id}"));
        }
    }

    fn log() -> Logger {
        Logger::root(slog::Discard, slog::o!())
    }

    #[test]
    fn description_lists_every_size_and_rate_with_the_first_as_current() {
        let mut cam = SimulatedCamera::with_index(3);
        cam.resolutions = vec!["640x480".into(), "1280x720".into()];
        cam.frame_rates = vec![15.0, 30.0];
        let d = describe(&cam).unwrap();
        assert_eq!(d.id.to_string(), "camera3");
        let cur = d.description.current.unwrap();
        assert_eq!((cur.width, cur.height, cur.fps), (640, 480, Some(15.0)));
        assert_eq!(d.description.formats[0].sizes.len(), 2);
        assert_eq!(
            d.description.formats[0].sizes[0].frame_rates(),
            &[30.0, 15.0]
        );
        assert_eq!(
            d.source,
            CaptureSource::TestPattern {
                pattern: "testsrc2".into()
            }
        );
    }

    async fn wait_for(rec: &Recorder, n: usize) -> Vec<String> {
        for _ in 0..200 {
            if rec.0.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        rec.0.lock().unwrap().clone()
    }

    #[test]
    fn known_cameras_are_reported_at_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), "index: 4\nname: Early\n").unwrap();
        let rec = Recorder::default();
        let disc = SimulatedDiscovery::new(
            vec![SimulatedCamera::with_index(0)],
            Some(dir.path().to_owned()),
            log(),
        );
        disc.report_known(&rec);
        assert_eq!(
            *rec.0.lock().unwrap(),
            ["+camera0 Simulated Camera 0", "+camera4 Early"]
        );
    }

    #[tokio::test]
    async fn descriptor_files_plug_and_unplug_cameras() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), "index: 4\nname: Early\n").unwrap();
        let rec = Arc::new(Recorder::default());
        let disc = Arc::new(SimulatedDiscovery::new(
            vec![SimulatedCamera::with_index(0)],
            Some(dir.path().to_owned()),
            log(),
        ));
        let task = tokio::spawn(disc.run(rec.clone()));
        assert_eq!(
            wait_for(&rec, 2).await,
            ["+camera0 Simulated Camera 0", "+camera4 Early"]
        );
        std::fs::write(dir.path().join("b.yaml"), "index: 7\nname: Late\n").unwrap();
        assert_eq!(wait_for(&rec, 3).await[2], "+camera7 Late");
        std::fs::remove_file(dir.path().join("b.yaml")).unwrap();
        assert_eq!(wait_for(&rec, 4).await[3], "-camera7");
        std::fs::write(dir.path().join("bad.yaml"), "index: 5000\n").unwrap();
        std::fs::write(dir.path().join("c.yaml"), "index: 8\n").unwrap();
        let seen = wait_for(&rec, 5).await;
        assert_eq!(
            seen[4], "+camera8 Simulated Camera",
            "the bad file is skipped: {seen:?}"
        );
        // camera0 is configured: a descriptor with index 0 never replaces it.
        std::fs::write(dir.path().join("d.yaml"), "index: 0\nname: Impostor\n").unwrap();
        std::fs::write(dir.path().join("e.yaml"), "index: 9\nname: After\n").unwrap();
        let seen = wait_for(&rec, 6).await;
        assert_eq!(seen.len(), 6, "{seen:?}");
        assert_eq!(seen[5], "+camera9 After", "index 0 refused: {seen:?}");
        task.abort();
    }
}
