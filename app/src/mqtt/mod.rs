//! The MQTT bridge (docs/mqtt.md): publishes availability, camera states, every event,
//! snapshots and system figures on a broker, with Home Assistant discovery; runs the
//! commands it receives through a `Session` like any API call (rate limit, role, params,
//! audit). The broker connection is a `ports::broker::MessageBroker`: publishing never
//! waits, so a slow or absent broker never slows the API.
//!
//! One file of ~700 lines (half of it payload types and tests): the bridge's task and the
//! payloads it publishes are read together; topics, discovery and fleet are split out.

pub mod discovery;
pub mod fleet;
pub mod topics;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use domain::contract::results::{ComponentStatus, StatusReport, StorageInfo};
use domain::events::{EventFilter, Topic};
use domain::files::FileKind;
use domain::{ApiError, CameraId, ErrorKind, Role, SafeFileName, Timestamp};
use ports::api::ApiConnection;
use ports::auth::Identity;
use ports::broker::{BrokerListener, BrokerStats, MessageBroker, Outgoing};
use ports::metrics::MetricFamily;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use slog::{debug, info, warn, Logger};
use tokio::sync::{mpsc, Semaphore};

use crate::core::{Core, Session};
use discovery::Discovery;
use topics::{Inbound, TopicMap};

/// Incoming messages and connection changes waiting for the bridge (beyond: dropped).
const INBOX: usize = 256;
/// Commands running at once; more wait their turn.
const COMMANDS_AT_ONCE: usize = 4;
/// After a (re)connect, retained states of cameras this service does not know are taken as
/// cameras gone for good once discovery has had this long to find the cameras.
const STALE_AFTER: Duration = Duration::from_secs(5);

/// What the bridge was configured with (resolved by the composition root).
#[derive(Debug, Clone)]
pub struct BridgeSettings {
    pub topics: TopicMap,
    /// For the HA device name.
    pub box_name: String,
    pub qos: u8,
    pub role: Role,
    pub discovery: bool,
    pub snapshot_max_bytes: u64,
    pub snapshot_every: Option<Duration>,
    pub system_every: Duration,
}

/// What the broker connection tells the bridge.
#[derive(Debug)]
pub enum Incoming {
    Connected,
    Disconnected(String),
    Message {
        topic: String,
        payload: Vec<u8>,
        retained: bool,
    },
}

/// The `BrokerListener` side: hands everything to the bridge's task.
pub struct Inbox {
    tx: mpsc::Sender<Incoming>,
}

/// The listener to give the broker connection, and the receiver to give the bridge.
pub fn inbox() -> (Inbox, mpsc::Receiver<Incoming>) {
    inbox_of(INBOX)
}

/// An inbox holding up to `capacity` messages (the fleet view reads a whole broker's).
pub fn inbox_of(capacity: usize) -> (Inbox, mpsc::Receiver<Incoming>) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (Inbox { tx }, rx)
}

impl BrokerListener for Inbox {
    fn connected(&self) {
        let _ = self.tx.try_send(Incoming::Connected);
    }
    fn disconnected(&self, reason: &str) {
        let _ = self.tx.try_send(Incoming::Disconnected(reason.to_owned()));
    }
    fn message(&self, topic: &str, payload: &[u8], retained: bool) {
        // A flood of commands beyond the inbox is dropped here, never queued without bound.
        let _ = self.tx.try_send(Incoming::Message {
            topic: topic.to_owned(),
            payload: payload.to_vec(),
            retained,
        });
    }
}

/// `<base>/<camera>/state`, retained.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CameraState {
    pub device: String,
    pub status: String,
    pub name: String,
    pub resolution: Option<String>,
    pub fps: Option<f64>,
    pub recording: bool,
    pub streaming: bool,
    /// The file being recorded, while recording.
    pub recording_file: Option<String>,
    /// RFC 3339, when this state was published.
    pub timestamp: String,
}

/// The bridge's own figures, also in `get_metrics` and `/metrics`.
pub use domain::contract::results::MqttFigures;

/// The bridge's figures for `GET /metrics`.
pub fn metric_families(s: &BrokerStats) -> [MetricFamily; 6] {
    [
        MetricFamily::gauge(
            "mqtt_connected",
            "1 while connected to the MQTT broker.",
            if s.connected { 1.0 } else { 0.0 },
        ),
        MetricFamily::counter(
            "mqtt_sent_total",
            "Messages handed to the MQTT broker connection.",
            s.sent,
        ),
        MetricFamily::counter(
            "mqtt_dropped_total",
            "Events dropped (oldest first) because the MQTT outgoing queue was full.",
            s.dropped,
        ),
        MetricFamily::gauge(
            "mqtt_queued",
            "Messages waiting for the MQTT broker.",
            s.queued as f64,
        ),
        MetricFamily::counter(
            "mqtt_connects_total",
            "Connections made to the MQTT broker.",
            s.connects,
        ),
        MetricFamily::counter(
            "mqtt_received_total",
            "Messages received from the MQTT broker.",
            s.received,
        ),
    ]
}

#[derive(Debug, Clone, Serialize)]
struct CameraCounts {
    total: usize,
    connected: usize,
}

/// `<base>/system`, retained: health (as `get_status`), storage (as `get_storage_info`).
#[derive(Debug, Clone, Serialize)]
struct SystemState {
    status: ComponentStatus,
    health: StatusReport,
    storage: Option<StorageInfo>,
    cameras: CameraCounts,
    mqtt: MqttFigures,
    timestamp: Timestamp,
}

/// `.../command/<command>/result`: the API's result or error.
#[derive(Debug, Clone, Serialize)]
pub struct CommandReply {
    pub command: String,
    /// The request's `id`, echoed so that a caller can match its answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Value>,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
    pub timestamp: Timestamp,
}

/// The JSON-RPC error object of the API.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorBody {
    pub code: i32,
    pub message: &'static str,
    pub data: Value,
}

impl From<&ApiError> for ErrorBody {
    fn from(e: &ApiError) -> Self {
        ErrorBody {
            code: e.code(),
            message: e.message(),
            data: e.data(),
        }
    }
}

/// Head of an event notification: where it goes.
#[derive(Deserialize)]
struct EventHead {
    topic: String,
    device: Option<String>,
    filename: Option<String>,
}

/// A command as an API call: the request's `id`, the method, its params.
pub type CommandCall = (Option<Value>, &'static str, Value);
/// A command refused before the call: the request's `id` and why.
pub type CommandRefusal = (Option<Value>, ApiError);

/// Which API method a command runs, and its params (the payload's members but `action`
/// and `id`, plus `device`).
pub fn command_call(
    camera: &str,
    command: &str,
    payload: &[u8],
) -> Result<CommandCall, CommandRefusal> {
    let mut params: Map<String, Value> = if payload.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(payload) {
            Ok(Value::Object(m)) => m,
            _ => {
                return Err((
                    None,
                    ApiError::invalid_params("the payload must be a JSON object (or empty)"),
                ))
            }
        }
    };
    let id = params.remove("id");
    let action = params.remove("action");
    let action = match &action {
        None => None,
        Some(Value::String(a)) => Some(a.as_str()),
        Some(_) => {
            return Err((
                id,
                ApiError::invalid_params("action must be \"start\" or \"stop\"")
                    .with("param", "action"),
            ))
        }
    };
    let bad_action = |id| {
        Err((
            id,
            ApiError::invalid_params(format!(
                "action must be \"start\" or \"stop\" for {command}"
            ))
            .with("param", "action"),
        ))
    };
    let method = match (command, action) {
        ("snapshot", None) => "take_snapshot",
        ("snapshot", Some(_)) => {
            return Err((
                id,
                ApiError::invalid_params("snapshot takes no action").with("param", "action"),
            ))
        }
        ("record", Some("start")) => "start_recording",
        ("record", Some("stop")) => "stop_recording",
        ("stream", Some("start")) => "start_streaming",
        ("stream", Some("stop")) => "stop_streaming",
        ("record" | "stream", _) => return bad_action(id),
        (other, _) => {
            return Err((
                id,
                ApiError::new(
                    ErrorKind::MethodNotFound,
                    "unknown_command",
                    format!("unknown command {other:?}: snapshot, record or stream"),
                ),
            ))
        }
    };
    params.insert("device".into(), Value::String(camera.to_owned()));
    Ok((id, method, Value::Object(params)))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The bridge. Cheap to share; `run` is its one task, commands run on tasks of their own.
pub struct MqttBridge {
    core: Arc<Core>,
    broker: Arc<dyn MessageBroker>,
    settings: BridgeSettings,
    /// Commands from the broker: one session, so one rate limit, for all of them.
    commands: Session,
    /// The periodic snapshots (audited like any capture).
    timer: Session,
    running: Semaphore,
    /// Cameras with a retained state on the broker (seen when subscribing).
    seen_on_broker: Mutex<BTreeSet<String>>,
    log: Logger,
}

impl MqttBridge {
    pub fn new(
        core: Arc<Core>,
        broker: Arc<dyn MessageBroker>,
        settings: BridgeSettings,
        log: Logger,
    ) -> Arc<MqttBridge> {
        let identity = |subject: &str| Identity {
            subject: subject.to_owned(),
            role: settings.role,
            expires_at: None,
            key_id: None,
        };
        let commands = core.internal_session(identity("mqtt"), "mqtt");
        let timer = core.internal_session(identity("mqtt-timer"), "mqtt");
        Arc::new(MqttBridge {
            core,
            broker,
            commands,
            timer,
            running: Semaphore::new(COMMANDS_AT_ONCE),
            seen_on_broker: Mutex::new(BTreeSet::new()),
            settings,
            log,
        })
    }

    fn topics(&self) -> &TopicMap {
        &self.settings.topics
    }

    fn discovery(&self) -> Discovery<'_> {
        Discovery {
            topics: &self.settings.topics,
            box_name: &self.settings.box_name,
            qos: self.settings.qos,
        }
    }

    /// The will and the clean-stop message.
    pub fn offline(topics: &TopicMap) -> Outgoing {
        Outgoing::retained(topics.status(), b"offline".to_vec())
    }

    pub fn figures(&self) -> MqttFigures {
        self.broker.stats()
    }

    /// Runs until the event hub closes (the service stops).
    pub async fn run(self: Arc<Self>, mut inbox: mpsc::Receiver<Incoming>) {
        let t = self.topics().clone();
        self.broker.subscribe(&t.command_filter());
        self.broker.subscribe(&t.state_filter());
        if self.settings.discovery {
            self.broker.subscribe(&t.homeassistant_status());
        }
        let mut events = self
            .core
            .hub
            .subscribe(Topic::ALL.into_iter().collect(), EventFilter::default());
        let mut system = tokio::time::interval(self.settings.system_every);
        system.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut snapshots = tokio::time::interval(
            self.settings
                .snapshot_every
                .unwrap_or(Duration::from_secs(86_400)),
        );
        snapshots.tick().await;
        let stale_check = tokio::time::sleep(Duration::MAX / 4);
        tokio::pin!(stale_check);
        loop {
            tokio::select! {
                n = events.next() => match n {
                    Ok(n) => self.on_event(n).await,
                    Err(_) => break,
                },
                msg = inbox.recv() => match msg {
                    Some(Incoming::Connected) => {
                        info!(self.log, "connected to the broker");
                        self.publish_everything().await;
                        stale_check.as_mut().reset(tokio::time::Instant::now() + STALE_AFTER);
                    }
                    Some(Incoming::Disconnected(reason)) => {
                        warn!(self.log, "lost the broker; reconnecting"; "reason" => reason);
                    }
                    Some(Incoming::Message { topic, payload, retained }) => {
                        self.on_message(&topic, payload, retained).await;
                    }
                    None => break,
                },
                _ = system.tick() => {
                    self.publish_system().await;
                    for id in self.core.cameras.ids() {
                        self.publish_state(id).await;
                    }
                }
                _ = snapshots.tick(), if self.settings.snapshot_every.is_some() => {
                    self.periodic_snapshots();
                }
                _ = &mut stale_check => {
                    stale_check.as_mut().reset(tokio::time::Instant::now() + Duration::MAX / 4);
                    self.clear_gone_cameras();
                }
            }
        }
    }

    /// On every (re)connect: availability, system, every camera's state, discovery.
    async fn publish_everything(&self) {
        let t = self.topics();
        self.broker
            .publish(Outgoing::retained(t.status(), b"online".to_vec()));
        self.publish_discovery();
        self.publish_system().await;
        for id in self.core.cameras.ids() {
            self.publish_state(id).await;
        }
    }

    fn publish_discovery(&self) {
        if !self.settings.discovery {
            return;
        }
        let d = self.discovery();
        let mut configs = d.box_configs();
        for id in self.core.cameras.ids() {
            configs.extend(d.camera_configs(&id.to_string()));
        }
        for c in configs {
            self.broker.publish(Outgoing::retained(c.topic, c.payload));
        }
    }

    async fn on_event(&self, n: ports::api::Notification) {
        let mut payload = Vec::with_capacity(n.event.len() + 16);
        n.write_result(&mut payload);
        let Ok(head) = serde_json::from_str::<EventHead>(&n.event) else {
            return;
        };
        let t = self.topics();
        let topic = t.event(head.device.as_deref(), &head.topic);
        self.broker.publish(Outgoing::event(topic, payload));
        let device = head.device.as_deref().and_then(|d| CameraId::parse(d).ok());
        match (head.topic.split('.').next(), device) {
            (Some("camera"), Some(id)) => {
                if head.topic == "camera.connected" && self.settings.discovery {
                    // A camera new to this run gets its entities (re-publishing is harmless).
                    for c in self.discovery().camera_configs(&id.to_string()) {
                        self.broker.publish(Outgoing::retained(c.topic, c.payload));
                    }
                }
                self.publish_state(id).await;
            }
            (Some("recording"), Some(id)) => self.publish_state(id).await,
            (Some("snapshot"), Some(id)) => {
                if let Some(name) = &head.filename {
                    self.publish_snapshot(id, name).await;
                }
            }
            (Some("system"), _) => self.publish_system().await,
            _ => {}
        }
    }

    async fn camera_state(&self, id: CameraId) -> Option<CameraState> {
        let cam = self.core.cameras.get(id).ok()?;
        let (resolution, fps) = cam.mode();
        let recording = self.core.media.recording_status(id);
        let recording_file = recording.map(|r| r.filename.as_str().to_owned());
        let streaming = match &self.core.streams {
            Some(s) => s.camera_stream(id).await.is_some_and(|s| s.ready),
            None => false,
        };
        Some(CameraState {
            device: id.to_string(),
            status: serde_json::to_value(cam.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            name: cam.name().to_owned(),
            resolution: resolution.map(|r| r.to_string()),
            fps,
            recording: recording_file.is_some(),
            streaming,
            recording_file,
            timestamp: self.core.clock.now().to_rfc3339(),
        })
    }

    async fn publish_state(&self, id: CameraId) {
        if let Some(state) = self.camera_state(id).await {
            if let Ok(payload) = serde_json::to_vec(&state) {
                self.broker.publish(Outgoing::retained(
                    self.topics().state(&state.device),
                    payload,
                ));
            }
        }
    }

    async fn publish_snapshot(&self, id: CameraId, filename: &str) {
        let Ok(name) = SafeFileName::parse(filename) else {
            return;
        };
        let Ok(file) = self.core.files.download(FileKind::Snapshot, &name).await else {
            return;
        };
        if file.content_type != "image/jpeg" {
            return;
        }
        if file.size > self.settings.snapshot_max_bytes {
            debug!(self.log, "snapshot too large to publish"; "camera" => id.to_string(),
                "size" => file.size, "max" => self.settings.snapshot_max_bytes);
            return;
        }
        match tokio::fs::read(&file.path).await {
            Ok(bytes) => self.broker.publish(Outgoing::retained(
                self.topics().snapshot(&id.to_string()),
                bytes,
            )),
            Err(e) => {
                debug!(self.log, "cannot read the snapshot to publish"; "file" => filename, "error" => e.to_string())
            }
        }
    }

    async fn publish_system(&self) {
        let health = self.core.status_report();
        let storage = self.core.files.storage_info().await.ok();
        let (total, connected) = self.core.cameras.counts();
        let state = SystemState {
            status: health.health.status,
            health,
            storage,
            cameras: CameraCounts { total, connected },
            mqtt: self.figures(),
            timestamp: self.core.clock.now(),
        };
        if let Ok(payload) = serde_json::to_vec(&state) {
            self.broker
                .publish(Outgoing::retained(self.topics().system(), payload));
        }
    }

    async fn on_message(self: &Arc<Self>, topic: &str, payload: Vec<u8>, retained: bool) {
        match self.topics().classify(topic) {
            Inbound::Command { camera, command } => {
                // Retained commands are stale orders: never run them.
                if retained {
                    return;
                }
                let (camera, command) = (camera.to_owned(), command.to_owned());
                let me = Arc::clone(self);
                tokio::spawn(async move {
                    let _turn = me.running.acquire().await;
                    me.run_command(&camera, &command, &payload).await;
                });
            }
            Inbound::State { camera } => {
                if retained && !payload.is_empty() {
                    lock(&self.seen_on_broker).insert(camera.to_owned());
                }
            }
            Inbound::HomeAssistantStatus => {
                if payload == b"online" {
                    info!(
                        self.log,
                        "Home Assistant is online: re-publishing discovery"
                    );
                    self.publish_discovery();
                    for id in self.core.cameras.ids() {
                        self.publish_state(id).await;
                    }
                }
            }
            Inbound::Other => {}
        }
    }

    async fn run_command(&self, camera: &str, command: &str, payload: &[u8]) {
        let t = self.topics();
        let (id, outcome) = match command_call(camera, command, payload) {
            // Commands map to plain methods only: never the subscription pair.
            Ok((id, method, params)) => (
                id,
                self.commands
                    .call(method, Some(params))
                    .await
                    .map(|o| o.into_result().unwrap_or(Value::Null)),
            ),
            Err((id, e)) => (id, Err(e)),
        };
        let reply = CommandReply {
            command: command.to_owned(),
            id,
            ok: outcome.is_ok(),
            error: outcome.as_ref().err().map(ErrorBody::from),
            result: outcome.ok(),
            timestamp: self.core.clock.now(),
        };
        if let Ok(bytes) = serde_json::to_vec(&reply) {
            self.broker
                .publish(Outgoing::event(t.command_result(camera, command), bytes));
        }
        if let Ok(id) = CameraId::parse(camera) {
            self.publish_state(id).await;
        }
    }

    fn periodic_snapshots(self: &Arc<Self>) {
        for cam in self.core.cameras.list() {
            if cam.status != domain::CameraStatus::Connected {
                continue;
            }
            let me = Arc::clone(self);
            tokio::spawn(async move {
                let params = serde_json::json!({"device": cam.id.to_string()});
                if let Err(e) = me.timer.call("take_snapshot", Some(params)).await {
                    debug!(me.log, "periodic snapshot failed"; "camera" => cam.id.to_string(), "error" => e.to_string());
                }
            });
        }
    }

    /// Cameras whose state the broker kept but this service does not know: gone for good.
    /// Their state, snapshot and discovery configs are cleared (empty retained messages).
    fn clear_gone_cameras(&self) {
        let known: BTreeSet<String> = self
            .core
            .cameras
            .ids()
            .into_iter()
            .map(|id| id.to_string())
            .collect();
        let seen = std::mem::take(&mut *lock(&self.seen_on_broker));
        let t = self.topics();
        for camera in seen.difference(&known) {
            info!(self.log, "camera gone for good: clearing its retained topics"; "camera" => camera);
            let mut clear = vec![t.state(camera), t.snapshot(camera)];
            clear.extend(self.discovery().camera_config_topics(camera));
            for topic in clear {
                self.broker.publish(Outgoing::retained(topic, Vec::new()));
            }
        }
    }

    /// Clean stop: `offline` (retained), then DISCONNECT (so the broker keeps the will unused).
    pub async fn stop(&self) {
        self.broker.close(Some(Self::offline(self.topics()))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn commands_map_to_api_methods_with_the_camera_as_device() {
        let (id, m, p) = command_call(
            "camera1",
            "record",
            br#"{"action":"start","duration":60,"id":7}"#,
        )
        .unwrap();
        assert_eq!((id, m), (Some(json!(7)), "start_recording"));
        assert_eq!(p, json!({"device": "camera1", "duration": 60}));
        let (_, m, p) = command_call("camera1", "snapshot", b"").unwrap();
        assert_eq!((m, p), ("take_snapshot", json!({"device": "camera1"})));
        assert_eq!(
            command_call("camera1", "stream", br#"{"action":"stop"}"#)
                .unwrap()
                .1,
            "stop_streaming"
        );
    }

    #[test]
    fn bad_commands_are_refused_naming_what_is_wrong() {
        let (_, e) = command_call("camera1", "record", br#"{"action":"pause"}"#).unwrap_err();
        assert_eq!(e.code(), -32602);
        assert_eq!(e.data()["param"], "action");
        let (_, e) = command_call("camera1", "record", b"[1]").unwrap_err();
        assert_eq!(e.code(), -32602);
        let (_, e) = command_call("camera1", "explode", b"").unwrap_err();
        assert_eq!(e.code(), -32601);
    }
}
