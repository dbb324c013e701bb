//! `camera-service fleet`: the boxes and cameras a broker knows, from the retained
//! availability (`<base>/status`) and states (`<base>/<camera>/state`) every service
//! publishes; and, with `--follow`, every event fleet-wide. Pure: fed (topic, payload).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use ports::broker::MessageBroker;
use tokio::sync::mpsc;

use super::{CameraState, Incoming};

/// How long the broker may take to answer before `fleet` gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Retained messages arrive right after the subscription; this long without one ends the list.
const QUIET: Duration = Duration::from_millis(500);
/// The longest `fleet` collects retained messages (a busy broker keeps sending).
const COLLECT_AT_MOST: Duration = Duration::from_secs(10);

/// `camera-service fleet`: subscribes to `filter`, prints the fleet from the retained
/// messages, then with `follow` prints every event, availability and state change as it
/// comes (one line each) until the broker connection ends or the process is stopped.
pub async fn run(
    broker: Arc<dyn MessageBroker>,
    mut incoming: mpsc::Receiver<Incoming>,
    filter: &str,
    follow: bool,
    out: &mut (dyn std::io::Write + Send),
) -> Result<(), String> {
    match tokio::time::timeout(CONNECT_TIMEOUT, incoming.recv()).await {
        Ok(Some(Incoming::Connected)) => {}
        _ => {
            broker.close(None).await;
            return Err(format!(
                "no answer from the broker within {} s",
                CONNECT_TIMEOUT.as_secs()
            ));
        }
    }
    broker.subscribe(filter);
    let mut view = FleetView::default();
    let until = tokio::time::Instant::now() + COLLECT_AT_MOST;
    loop {
        let wait = QUIET.min(until.saturating_duration_since(tokio::time::Instant::now()));
        match tokio::time::timeout(wait, incoming.recv()).await {
            Ok(Some(Incoming::Message { topic, payload, .. })) => {
                view.apply(&classify(&topic, &payload))
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    let write = |out: &mut (dyn std::io::Write + Send), text: &str| {
        out.write_all(text.as_bytes())
            .and_then(|_| out.flush())
            .map_err(|e| format!("cannot write: {e}"))
    };
    write(out, &view.render())?;
    if !follow {
        broker.close(None).await;
        return Ok(());
    }
    while let Some(msg) = incoming.recv().await {
        let Incoming::Message { topic, payload, .. } = msg else {
            continue;
        };
        let seen = classify(&topic, &payload);
        let line = match &seen {
            Seen::Event {
                base,
                camera,
                topic,
                payload,
            } => format!(
                "{base} {} {topic} {payload}\n",
                camera.as_deref().unwrap_or("-")
            ),
            Seen::Availability { base, online } => {
                format!(
                    "{base} - availability {}\n",
                    if *online { "online" } else { "offline" }
                )
            }
            Seen::State {
                base,
                camera,
                state: Some(s),
            } => format!(
                "{base} {camera} state {} recording={} streaming={}\n",
                s.status, s.recording, s.streaming
            ),
            Seen::State {
                base,
                camera,
                state: None,
            } => format!("{base} {camera} state cleared\n"),
            Seen::Other => continue,
        };
        view.apply(&seen);
        write(out, &line)?;
    }
    Ok(())
}

/// What one message on the broker is, for the fleet view.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    /// `<box>/status`: `online` or `offline`.
    Availability {
        base: String,
        online: bool,
    },
    /// `<box>/<camera>/state`; `None` when the state was cleared (the camera went for good).
    State {
        base: String,
        camera: String,
        state: Option<Box<CameraState>>,
    },
    /// `<box>/<camera>/events/<topic>` or `<box>/events/<topic>`.
    Event {
        base: String,
        camera: Option<String>,
        topic: String,
        payload: String,
    },
    Other,
}

fn is_camera(level: &str) -> bool {
    level
        .strip_prefix("camera")
        .is_some_and(|n| !n.is_empty() && n.len() <= 3 && n.bytes().all(|b| b.is_ascii_digit()))
}

pub fn classify(topic: &str, payload: &[u8]) -> Seen {
    let levels: Vec<&str> = topic.split('/').collect();
    let n = levels.len();
    let base = |upto: usize| levels[..upto].join("/");
    if n >= 2 && levels[n - 1] == "status" && !is_camera(levels[n - 2]) {
        return match payload {
            b"online" => Seen::Availability {
                base: base(n - 1),
                online: true,
            },
            b"offline" => Seen::Availability {
                base: base(n - 1),
                online: false,
            },
            _ => Seen::Other,
        };
    }
    if n >= 3 && levels[n - 1] == "state" && is_camera(levels[n - 2]) {
        let state = if payload.is_empty() {
            None
        } else {
            match serde_json::from_slice::<CameraState>(payload) {
                Ok(s) => Some(Box::new(s)),
                Err(_) => return Seen::Other,
            }
        };
        return Seen::State {
            base: base(n - 2),
            camera: levels[n - 2].to_owned(),
            state,
        };
    }
    if n >= 3 && levels[n - 2] == "events" {
        let payload = String::from_utf8_lossy(payload).into_owned();
        let topic = levels[n - 1].to_owned();
        if n >= 4 && is_camera(levels[n - 3]) {
            return Seen::Event {
                base: base(n - 3),
                camera: Some(levels[n - 3].to_owned()),
                topic,
                payload,
            };
        }
        return Seen::Event {
            base: base(n - 2),
            camera: None,
            topic,
            payload,
        };
    }
    Seen::Other
}

#[derive(Debug, Default)]
struct BoxView {
    online: Option<bool>,
    cameras: BTreeMap<u32, CameraState>,
}

/// Every box and camera seen so far.
#[derive(Debug, Default)]
pub struct FleetView {
    boxes: BTreeMap<String, BoxView>,
}

fn camera_index(name: &str) -> u32 {
    name.trim_start_matches("camera")
        .parse()
        .unwrap_or(u32::MAX)
}

impl FleetView {
    pub fn apply(&mut self, seen: &Seen) {
        match seen {
            Seen::Availability { base, online } => {
                self.boxes.entry(base.clone()).or_default().online = Some(*online);
            }
            Seen::State {
                base,
                camera,
                state,
            } => {
                let b = self.boxes.entry(base.clone()).or_default();
                match state {
                    Some(s) => {
                        b.cameras.insert(camera_index(camera), (**s).clone());
                    }
                    None => {
                        b.cameras.remove(&camera_index(camera));
                    }
                }
            }
            Seen::Event { .. } | Seen::Other => {}
        }
    }

    pub fn boxes(&self) -> usize {
        self.boxes.len()
    }

    pub fn cameras(&self) -> usize {
        self.boxes.values().map(|b| b.cameras.len()).sum()
    }

    /// One line per camera (one per box without cameras), aligned columns.
    pub fn render(&self) -> String {
        let mut rows = vec![[
            "BOX",
            "BOX_STATUS",
            "CAMERA",
            "STATUS",
            "NAME",
            "RESOLUTION",
            "FPS",
            "RECORDING",
            "STREAMING",
        ]
        .map(str::to_owned)];
        for (base, b) in &self.boxes {
            let online = match b.online {
                Some(true) => "online",
                Some(false) => "offline",
                None => "unknown",
            };
            if b.cameras.is_empty() {
                rows.push(
                    [base.as_str(), online, "-", "-", "-", "-", "-", "-", "-"].map(str::to_owned),
                );
            }
            for s in b.cameras.values() {
                rows.push([
                    base.clone(),
                    online.to_owned(),
                    s.device.clone(),
                    // A box that is offline cannot vouch for its cameras.
                    if b.online == Some(false) {
                        format!("{} (stale)", s.status)
                    } else {
                        s.status.clone()
                    },
                    s.name.clone(),
                    s.resolution.clone().unwrap_or_else(|| "-".into()),
                    s.fps.map(|f| f.to_string()).unwrap_or_else(|| "-".into()),
                    if s.recording { "yes" } else { "no" }.to_owned(),
                    if s.streaming { "yes" } else { "no" }.to_owned(),
                ]);
            }
        }
        let widths: Vec<usize> = (0..9)
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for r in &rows {
            let line: Vec<String> = r
                .iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            let _ = writeln!(out, "{}", line.join("  ").trim_end());
        }
        let _ = writeln!(out, "{} boxes, {} cameras", self.boxes(), self.cameras());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::Timestamp;

    fn state(device: &str) -> Vec<u8> {
        serde_json::to_vec(&CameraState {
            device: device.into(),
            status: "CONNECTED".into(),
            name: "Lab".into(),
            resolution: Some("640x480".into()),
            fps: Some(30.0),
            recording: false,
            streaming: false,
            recording_file: None,
            timestamp: Timestamp::UNIX_EPOCH.to_rfc3339(),
        })
        .unwrap()
    }

    #[test]
    fn topics_are_read_whatever_the_depth_of_the_base() {
        assert_eq!(
            classify("camera-service/a/status", b"online"),
            Seen::Availability {
                base: "camera-service/a".into(),
                online: true
            }
        );
        assert!(matches!(
            classify("site/x/box/camera3/state", &state("camera3")),
            Seen::State { base, camera, state: Some(_) } if base == "site/x/box" && camera == "camera3"
        ));
        assert!(matches!(
            classify("camera-service/a/camera3/state", b""),
            Seen::State { state: None, .. }
        ));
        assert!(matches!(
            classify("camera-service/a/camera0/events/recording.start", b"{}"),
            Seen::Event { camera: Some(c), topic, .. } if c == "camera0" && topic == "recording.start"
        ));
        assert!(matches!(
            classify("camera-service/a/events/system.health", b"{}"),
            Seen::Event { camera: None, base, .. } if base == "camera-service/a"
        ));
        assert_eq!(
            classify("camera-service/a/camera0/snapshot", b"\xff"),
            Seen::Other
        );
    }

    #[test]
    fn the_view_lists_boxes_and_their_cameras_and_forgets_cleared_ones() {
        let mut v = FleetView::default();
        for (t, p) in [
            ("cs/a/status", b"online".to_vec()),
            ("cs/a/camera0/state", state("camera0")),
            ("cs/a/camera1/state", state("camera1")),
            ("cs/b/status", b"offline".to_vec()),
            ("cs/a/camera1/state", Vec::new()),
        ] {
            v.apply(&classify(t, &p));
        }
        assert_eq!((v.boxes(), v.cameras()), (2, 1));
        let text = v.render();
        assert!(text.contains("cs/a") && text.contains("camera0") && !text.contains("camera1"));
        assert!(text
            .lines()
            .any(|l| l.starts_with("cs/b") && l.contains("offline")));
        assert!(text.ends_with("2 boxes, 1 cameras\n"));
    }
}
