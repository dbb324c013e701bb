//! An in-process fake of MediaMTX's control API (v3) for tests.
//!
//! It loads MediaMTX's own OpenAPI document and default config from `shared/mediamtx/` and
//! refuses (400, `{"status":"error","error":...}`) every request whose method and path are
//! not in the document, whose query has unknown or mistyped parameters, or whose body is not
//! valid against the operation's schema (unknown fields, wrong types; see [`spec`]). Every
//! answer it gives is itself checked against the document's response schema.
//!
//! It models what the camera service relies on: configured paths (defaults from the default
//! config, durations written back the way MediaMTX writes them), runtime paths with `ready`,
//! readers and byte counters, a path being recreated when its config changes, and the
//! `runOnDemand` publisher starting on the first reader.
//!
//! One file of ~1,000 lines: the control API's handlers, the state they share and the
//! outage controls tests drive are one private unit; the spec checks are in `spec`, the
//! media relay in `rtsp`.
//!
//! It is also a minimal RTSP relay ([`rtsp`], on [`FakeMediamtx::rtsp_port`]): publishers
//! (ffmpeg `-f rtsp -rtsp_transport tcp`) and readers over TCP-interleaved RTP, real
//! `runOnDemand` commands (run with `sh -c`, stopped after `runOnDemandCloseAfter`, killed
//! with their path and when the fake goes away), so streams, stream snapshots and
//! recordings from the stream run in tests. Tests drive the rest through hooks, which change
//! the API's view only (no media flows for them):
//! [`FakeMediamtx::read`] (a client reads a path), [`FakeMediamtx::close_idle_on_demand`],
//! [`FakeMediamtx::go_down`] / [`FakeMediamtx::come_back`] (connection refused, 5xx, or a hung
//! server), [`FakeMediamtx::restart_empty`], and [`FakeMediamtx::requests`] for assertions.
//!
//! It binds 127.0.0.1 on a free port and stops when dropped or [`FakeMediamtx::stop`]ped.
//!
//! One file of ~1,000 lines: the fake's state, its spec-checked routes and its fault knobs are
//! one server; the spec checks are in `spec.rs`, the RTSP relay in `rtsp.rs`.

pub mod godur;
pub mod rtsp;
pub mod spec;

pub use rtsp::READER_QUEUE;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::spec::Spec;

/// The directory holding `openapi-v1.15.5.yaml` and `mediamtx-v1.15.5.default.yml`.
pub fn shared_mediamtx_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/mediamtx")
}

pub const SPEC_FILE: &str = "openapi-v1.15.5.yaml";
pub const DEFAULT_CONFIG_FILE: &str = "mediamtx-v1.15.5.default.yml";

/// Largest request body accepted.
const MAX_BODY: usize = 1024 * 1024;

/// PathConf fields MediaMTX reads as Go durations.
const DURATION_FIELDS: [&str; 7] = [
    "sourceOnDemandStartTimeout",
    "sourceOnDemandCloseAfter",
    "recordPartDuration",
    "recordSegmentDuration",
    "recordDeleteAfter",
    "runOnDemandStartTimeout",
    "runOnDemandCloseAfter",
];

/// How the fake is unavailable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outage {
    /// Nothing listens: connections are refused (open ones are closed).
    Refuse,
    /// Every request gets a 500 with this MediaMTX-style error text.
    ServerError(String),
    /// Requests are read and never answered.
    Hang,
}

/// One request as the fake received it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// The body as JSON, when it was JSON.
    pub body: Option<Value>,
    /// `None` while hanging (never answered).
    pub status: Option<u16>,
    /// Why the fake refused it as not matching the spec.
    pub rejection: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct Runtime {
    source: Option<Value>,
    ready_time: Option<String>,
    tracks: Vec<String>,
    bytes_received: u64,
    bytes_sent: u64,
    readers: Vec<(String, String)>,
}

impl Runtime {
    fn idle() -> Runtime {
        Runtime {
            source: None,
            ready_time: None,
            tracks: Vec::new(),
            bytes_received: 0,
            bytes_sent: 0,
            readers: Vec::new(),
        }
    }

    fn to_json(&self, name: &str) -> Value {
        json!({
            "name": name,
            "confName": name,
            "source": self.source,
            "ready": self.source.is_some(),
            "readyTime": self.ready_time,
            "tracks": self.tracks,
            "bytesReceived": self.bytes_received,
            "bytesSent": self.bytes_sent,
            "readers": self.readers.iter().map(|(t, id)| json!({"type": t, "id": id})).collect::<Vec<_>>(),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Mode {
    Up,
    Failing(String),
    Hanging,
}

struct State {
    configs: BTreeMap<String, Map<String, Value>>,
    runtime: BTreeMap<String, Runtime>,
    requests: Vec<RecordedRequest>,
    mode: Mode,
    next_id: u64,
    restarts: u64,
    /// The relay's side of each runtime path (RTSP sessions, `runOnDemand` command).
    media: BTreeMap<String, rtsp::PathMedia>,
}

impl State {
    /// Closes the sessions of `name` and stops its command (path deleted or recreated).
    fn close_media(&mut self, name: &str) {
        if let Some(m) = self.media.remove(name) {
            m.close_all();
        }
    }

    fn close_all_media(&mut self) {
        for (_, m) in std::mem::take(&mut self.media) {
            m.close_all();
        }
    }
}

struct Shared {
    spec: Spec,
    path_defaults: Map<String, Value>,
    global: Value,
    /// Configured paths at start (the default config's `paths:`), restored by a restart.
    initial_paths: BTreeMap<String, Map<String, Value>>,
    started: String,
    state: Mutex<State>,
    /// Bumped to drop every open connection.
    epoch: watch::Sender<u64>,
    /// The relay's RTSP port.
    rtsp_port: u16,
    /// Bumped to drop every RTSP session.
    rtsp_epoch: watch::Sender<u64>,
    /// Bumped whenever a publisher or a `runOnDemand` command comes or goes.
    media_changed: watch::Sender<u64>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock is a bug of the fake; keep serving the state.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn drop_connections(&self) {
        self.epoch.send_modify(|e| *e += 1);
    }

    /// Every RTSP session closes and every command is killed at once (the fake goes away).
    fn end_media(&self) {
        {
            let mut st = self.lock();
            for m in st.media.values() {
                if let Some(c) = &m.command {
                    c.kill_now();
                }
            }
            st.close_all_media();
        }
        self.rtsp_epoch.send_modify(|e| *e += 1);
        self.media_changed.send_modify(|e| *e += 1);
    }
}

/// The fake server. Dropping it stops it.
pub struct FakeMediamtx {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: Mutex<Option<JoinHandle<()>>>,
    rtsp_accept: Mutex<Option<JoinHandle<()>>>,
}

impl FakeMediamtx {
    /// Starts with the spec and default config from [`shared_mediamtx_dir`].
    pub async fn start() -> Result<FakeMediamtx, String> {
        Self::start_from(&shared_mediamtx_dir()).await
    }

    /// Starts with `openapi-v1.15.5.yaml` and `mediamtx-v1.15.5.default.yml` from `dir`.
    pub async fn start_from(dir: &Path) -> Result<FakeMediamtx, String> {
        let read = |f: &str| {
            std::fs::read_to_string(dir.join(f))
                .map_err(|e| format!("{}: {e}", dir.join(f).display()))
        };
        let spec = Spec::parse(&read(SPEC_FILE)?)?;
        let config: Value = serde_yaml::from_str(&read(DEFAULT_CONFIG_FILE)?)
            .map_err(|e| format!("{DEFAULT_CONFIG_FILE}: {e}"))?;
        let path_schema = spec
            .component("PathConf")
            .cloned()
            .ok_or("spec lacks PathConf")?;
        let global_schema = spec
            .component("GlobalConf")
            .cloned()
            .ok_or("spec lacks GlobalConf")?;
        let path_defaults = spec.coerce(
            &path_schema,
            config.get("pathDefaults").unwrap_or(&Value::Null),
        )?;
        let mut global_src = config.as_object().cloned().unwrap_or_default();
        global_src.remove("pathDefaults");
        global_src.remove("paths");
        let global = spec.coerce(&global_schema, &Value::Object(global_src))?;
        spec.validate(&path_schema, &path_defaults, "pathDefaults")?;
        spec.validate(&global_schema, &global, "global")?;
        let mut path_defaults = path_defaults.as_object().cloned().unwrap_or_default();
        path_defaults.remove("name");
        for field in DURATION_FIELDS {
            normalise_duration(&mut path_defaults, field)?;
        }
        let mut initial_paths = BTreeMap::new();
        for (name, overrides) in config
            .get("paths")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let conf = build_conf(
                &spec,
                &path_defaults,
                name,
                overrides.as_object().cloned().unwrap_or_default(),
            )?;
            initial_paths.insert(name.clone(), conf);
        }
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("bind: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let rtsp_listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("bind RTSP: {e}"))?;
        let rtsp_port = rtsp_listener
            .local_addr()
            .map_err(|e| e.to_string())?
            .port();
        let (epoch, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            spec,
            path_defaults,
            global,
            started: now_rfc3339(),
            state: Mutex::new(State {
                configs: initial_paths.clone(),
                runtime: runtime_for(&initial_paths),
                requests: Vec::new(),
                mode: Mode::Up,
                next_id: 1,
                restarts: 0,
                media: BTreeMap::new(),
            }),
            initial_paths,
            epoch,
            rtsp_port,
            rtsp_epoch: watch::channel(0).0,
            media_changed: watch::channel(0).0,
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        let rtsp_accept = tokio::spawn(rtsp::accept_loop(rtsp_listener, shared.clone()));
        Ok(FakeMediamtx {
            shared,
            addr,
            accept: Mutex::new(Some(accept)),
            rtsp_accept: Mutex::new(Some(rtsp_accept)),
        })
    }

    /// `http://127.0.0.1:PORT`, what `mediamtx.api_url` should be.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The relay's RTSP port (127.0.0.1), what `mediamtx.rtsp_port` should be.
    pub fn rtsp_port(&self) -> u16 {
        self.shared.rtsp_port
    }

    /// `rtsp://127.0.0.1:PORT/name`
    pub fn rtsp_url(&self, name: &str) -> String {
        format!("rtsp://127.0.0.1:{}/{name}", self.shared.rtsp_port)
    }

    /// How many times the `runOnDemand` command of `name` was run (restarts included).
    pub fn on_demand_starts(&self, name: &str) -> u64 {
        self.shared.lock().media.get(name).map_or(0, |m| m.starts)
    }

    /// The process group (its `sh`'s pid) of the running `runOnDemand` command of `name`.
    pub fn on_demand_pgid(&self, name: &str) -> Option<i32> {
        self.shared
            .lock()
            .media
            .get(name)
            .and_then(|m| m.command.as_ref())
            .and_then(|c| c.pgid())
    }

    /// Frames the relay dropped for readers of `name` that did not keep up.
    pub fn dropped_frames(&self, name: &str) -> u64 {
        self.shared.lock().media.get(name).map_or(0, |m| m.dropped)
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// A configured path as `GET /v3/config/paths/get/{name}` shows it.
    pub fn config_path(&self, name: &str) -> Option<Value> {
        self.shared
            .lock()
            .configs
            .get(name)
            .cloned()
            .map(Value::Object)
    }

    pub fn config_path_names(&self) -> Vec<String> {
        self.shared.lock().configs.keys().cloned().collect()
    }

    /// A runtime path as `GET /v3/paths/get/{name}` shows it.
    pub fn path(&self, name: &str) -> Option<Value> {
        self.shared
            .lock()
            .runtime
            .get(name)
            .map(|r| r.to_json(name))
    }

    /// How many times [`FakeMediamtx::restart_empty`] ran.
    pub fn restarts(&self) -> u64 {
        self.shared.lock().restarts
    }

    /// A client starts reading `name` (RTSP, WebRTC, ...). A path with a `runOnDemand`
    /// publisher becomes ready first, as MediaMTX runs it; a path without a publisher
    /// refuses. Returns the reader's id.
    pub fn read(&self, name: &str) -> Result<String, String> {
        let mut st = self.shared.lock();
        let on_demand = st
            .configs
            .get(name)
            .and_then(|c| c.get("runOnDemand"))
            .and_then(Value::as_str)
            .is_some_and(|c| !c.is_empty());
        let id = next_id(&mut st);
        let publisher_id = next_id(&mut st);
        let rt = st
            .runtime
            .get_mut(name)
            .ok_or_else(|| format!("path '{name}' is not configured"))?;
        if rt.source.is_none() {
            if !on_demand {
                return Err(format!("no stream is available on path '{name}'"));
            }
            start_publisher(rt, publisher_id);
        }
        rt.readers.push(("rtspSession".into(), id.clone()));
        Ok(id)
    }

    /// The reader `id` leaves. `false` when there was no such reader.
    pub fn stop_reading(&self, name: &str, id: &str) -> bool {
        let mut st = self.shared.lock();
        let Some(rt) = st.runtime.get_mut(name) else {
            return false;
        };
        let before = rt.readers.len();
        rt.readers.retain(|(_, r)| r != id);
        rt.readers.len() != before
    }

    /// A publisher appears on `name` (pushed from outside). `false` for an unknown path.
    pub fn mark_ready(&self, name: &str) -> bool {
        let mut st = self.shared.lock();
        let publisher_id = next_id(&mut st);
        match st.runtime.get_mut(name) {
            Some(rt) => {
                if rt.source.is_none() {
                    start_publisher(rt, publisher_id);
                }
                true
            }
            None => false,
        }
    }

    /// The publisher of `name` goes away (exits, crashes). Readers counted by [`read`]
    /// stay; an RTSP publisher's session is closed, which ends its RTSP readers.
    ///
    /// [`read`]: FakeMediamtx::read
    pub fn mark_not_ready(&self, name: &str) -> bool {
        let mut st = self.shared.lock();
        if let Some(p) = st.media.get(name).and_then(|m| m.publisher.as_ref()) {
            p.close_session();
        }
        match st.runtime.get_mut(name) {
            Some(rt) => {
                stop_publisher(rt);
                true
            }
            None => false,
        }
    }

    /// As if every `runOnDemandCloseAfter` elapsed: on-demand publishers without readers stop.
    /// Returns the paths that closed.
    pub fn close_idle_on_demand(&self) -> Vec<String> {
        let mut st = self.shared.lock();
        let on_demand: Vec<String> = st
            .configs
            .iter()
            .filter(|(_, c)| {
                c.get("runOnDemand")
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty())
            })
            .map(|(n, _)| n.clone())
            .collect();
        let mut closed = Vec::new();
        for name in on_demand {
            if let Some(rt) = st.runtime.get_mut(&name) {
                if rt.source.is_some() && rt.readers.is_empty() {
                    stop_publisher(rt);
                    closed.push(name.clone());
                    st.close_media(&name);
                }
            }
        }
        closed
    }

    /// Adds to a path's byte counters.
    pub fn add_bytes(&self, name: &str, received: u64, sent: u64) -> bool {
        match self.shared.lock().runtime.get_mut(name) {
            Some(rt) => {
                rt.bytes_received += received;
                rt.bytes_sent += sent;
                true
            }
            None => false,
        }
    }

    /// An operator edits a path in MediaMTX's config file (the fields are merged; the path
    /// is recreated as MediaMTX does on a config change). `false` for an unknown path.
    pub fn edit_path_by_hand(&self, name: &str, fields: Value) -> bool {
        let mut st = self.shared.lock();
        let Some(conf) = st.configs.get_mut(name) else {
            return false;
        };
        for (k, v) in fields.as_object().cloned().unwrap_or_default() {
            conf.insert(k, v);
        }
        if let Some(rt) = st.runtime.get_mut(name) {
            *rt = Runtime::idle();
        }
        st.close_media(name);
        drop(st);
        self.shared.media_changed.send_modify(|n| *n += 1);
        true
    }

    /// An operator removes a path from MediaMTX's config file.
    pub fn delete_path_by_hand(&self, name: &str) -> bool {
        let mut st = self.shared.lock();
        st.runtime.remove(name);
        st.close_media(name);
        let existed = st.configs.remove(name).is_some();
        drop(st);
        self.shared.media_changed.send_modify(|n| *n += 1);
        existed
    }

    /// MediaMTX restarts with its config file: every path added over the API is gone,
    /// every runtime path is idle, open connections are dropped, and it answers again.
    pub fn restart_empty(&self) {
        {
            let mut st = self.shared.lock();
            st.configs = self.shared.initial_paths.clone();
            st.runtime = runtime_for(&st.configs);
            st.mode = Mode::Up;
            st.restarts += 1;
        }
        self.shared.end_media();
        self.shared.drop_connections();
    }

    /// Becomes unavailable in the way `outage` says. Open connections are dropped.
    pub async fn go_down(&self, outage: Outage) {
        match outage {
            Outage::Refuse => {
                let handle = self.accept.lock().unwrap_or_else(|e| e.into_inner()).take();
                if let Some(h) = handle {
                    h.abort();
                    // Cancelled: the listener is closed once this returns.
                    let _ = h.await;
                }
            }
            Outage::ServerError(message) => self.shared.lock().mode = Mode::Failing(message),
            Outage::Hang => self.shared.lock().mode = Mode::Hanging,
        }
        self.shared.drop_connections();
    }

    /// Answers again on the same address, with the state it had.
    pub async fn come_back(&self) -> Result<(), String> {
        self.shared.lock().mode = Mode::Up;
        self.shared.drop_connections();
        let running = self
            .accept
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some();
        if !running {
            let listener = TcpListener::bind(self.addr)
                .await
                .map_err(|e| format!("rebind {}: {e}", self.addr))?;
            let handle = tokio::spawn(accept_loop(listener, self.shared.clone()));
            *self.accept.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
        }
        Ok(())
    }

    /// Stops listening, drops every connection and kills every `runOnDemand` command.
    pub async fn stop(self) {
        for slot in [&self.accept, &self.rtsp_accept] {
            let handle = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(h) = handle {
                h.abort();
                let _ = h.await;
            }
        }
        self.shared.end_media();
        self.shared.drop_connections();
    }
}

impl Drop for FakeMediamtx {
    fn drop(&mut self) {
        for slot in [&self.accept, &self.rtsp_accept] {
            if let Some(h) = slot.lock().unwrap_or_else(|e| e.into_inner()).take() {
                h.abort();
            }
        }
        self.shared.end_media();
        self.shared.drop_connections();
    }
}

fn next_id(st: &mut State) -> String {
    let n = st.next_id;
    st.next_id += 1;
    format!("{n:08x}-0000-4000-8000-{n:012x}")
}

fn start_publisher(rt: &mut Runtime, id: String) {
    rt.source = Some(json!({"type": "rtspSession", "id": id}));
    rt.ready_time = Some(now_rfc3339());
    rt.tracks = vec!["H264".into()];
}

fn stop_publisher(rt: &mut Runtime) {
    rt.source = None;
    rt.ready_time = None;
    rt.tracks.clear();
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

/// `all_others`, `all` and `~regex` names configure many paths; MediaMTX creates runtime
/// paths only for plain names up front.
fn is_plain_name(name: &str) -> bool {
    !(name.starts_with('~') || name == "all" || name == "all_others")
}

fn runtime_for(configs: &BTreeMap<String, Map<String, Value>>) -> BTreeMap<String, Runtime> {
    configs
        .keys()
        .filter(|n| is_plain_name(n))
        .map(|n| (n.clone(), Runtime::idle()))
        .collect()
}

fn normalise_duration(conf: &mut Map<String, Value>, field: &str) -> Result<(), String> {
    if let Some(Value::String(text)) = conf.get(field) {
        let nanos =
            godur::parse(text).ok_or_else(|| format!("invalid duration {text:?} in '{field}'"))?;
        conf.insert(field.into(), Value::String(godur::format(nanos)));
    }
    Ok(())
}

/// MediaMTX's path name rule.
fn check_path_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("invalid path name: cannot be empty".into());
    }
    if name.starts_with('/') {
        return Err(format!(
            "invalid path name '{name}': can't begin with a slash"
        ));
    }
    if name.ends_with('/') {
        return Err(format!(
            "invalid path name '{name}': can't end with a slash"
        ));
    }
    if !name.starts_with('~')
        && !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./~:".contains(c))
    {
        return Err(format!(
            "invalid path name '{name}': can contain only alphanumeric characters, underscore, dot, tilde, minus, slash, colon"
        ));
    }
    Ok(())
}

/// A full path config: defaults, then `fields`, checked the way MediaMTX checks it.
fn build_conf(
    spec: &Spec,
    defaults: &Map<String, Value>,
    name: &str,
    fields: Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    let mut conf = defaults.clone();
    for (k, v) in fields {
        conf.insert(k, v);
    }
    conf.insert("name".into(), Value::String(name.to_owned()));
    finish_conf(spec, &mut conf)?;
    Ok(conf)
}

fn finish_conf(spec: &Spec, conf: &mut Map<String, Value>) -> Result<(), String> {
    for field in DURATION_FIELDS {
        normalise_duration(conf, field)?;
    }
    let text = |k: &str| conf.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    if !text("runOnDemand").is_empty() && text("source") != "publisher" {
        return Err("'runOnDemand' can be used only when source is 'publisher'".into());
    }
    if conf.get("sourceOnDemand").and_then(Value::as_bool) == Some(true)
        && text("source") == "publisher"
    {
        return Err("'sourceOnDemand' is useless when source is 'publisher'".into());
    }
    if let Some(schema) = spec.component("PathConf") {
        spec.validate(schema, &Value::Object(conf.clone()), "conf")?;
    }
    Ok(())
}

/// Fields MediaMTX applies to a live path without recreating it.
fn hot_field(key: &str) -> bool {
    key == "name" || key.starts_with("record") || key.starts_with("rpiCamera")
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors and the like: let the test see refused/failed requests.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let shared = shared.clone();
        let mut epoch = shared.epoch.subscribe();
        tokio::spawn(async move {
            let svc_shared = shared.clone();
            let svc = service_fn(move |req: Request<Incoming>| {
                let shared = svc_shared.clone();
                async move { Ok::<_, Infallible>(handle(&shared, req).await) }
            });
            let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
            // Biased: once the epoch moved (the fake went down), a request already waiting on
            // this kept-alive connection must not be served (it was, one run in many).
            tokio::select! {
                biased;
                _ = epoch.changed() => {}
                _ = conn => {}
            }
        });
    }
}

fn respond(status: u16, body: &Value) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}

fn error_body(message: &str) -> Value {
    json!({"status": "error", "error": message})
}

async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let body_bytes = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            let (status, body) = (400, error_body(&format!("request body: {e}")));
            record(
                shared,
                &method,
                &path,
                &query,
                None,
                Some(status),
                Some(e.to_string()),
            );
            return respond(status, &body);
        }
    };
    let body_json: Option<Value> = serde_json::from_slice(&body_bytes).ok();
    let mode = shared.lock().mode.clone();
    match mode {
        Mode::Up => {}
        Mode::Failing(message) => {
            record(shared, &method, &path, &query, body_json, Some(500), None);
            return respond(500, &error_body(&message));
        }
        Mode::Hanging => {
            record(shared, &method, &path, &query, body_json, None, None);
            // The connection task drops this when the fake comes back or stops.
            return std::future::pending().await;
        }
    }
    let (status, body, rejection) =
        match check(shared, &method, &path, query.as_deref(), &body_bytes) {
            Err(reason) => (400, error_body(&reason), Some(reason)),
            Ok((op_id, params, json_body)) => {
                let (status, body) = operate(shared, &op_id, &params, query.as_deref(), json_body);
                // The fake's own answers must be what the spec promises.
                let checked = shared.spec.route(&method, &path).and_then(|m| {
                    match m.op.responses.get(&status.to_string()) {
                        Some(Some(schema)) => shared.spec.validate(schema, &body, "response"),
                        Some(None) => Ok(()),
                        None => Err(format!(
                            "status {status} is not in the spec for {}",
                            m.op.id
                        )),
                    }
                });
                match checked {
                    Ok(()) => (status, body, None),
                    Err(e) => (500, error_body(&format!("fake MediaMTX bug: {e}")), None),
                }
            }
        };
    record(
        shared,
        &method,
        &path,
        &query,
        body_json,
        Some(status),
        rejection,
    );
    respond(status, &body)
}

fn record(
    shared: &Shared,
    method: &str,
    path: &str,
    query: &Option<String>,
    body: Option<Value>,
    status: Option<u16>,
    rejection: Option<String>,
) {
    shared.lock().requests.push(RecordedRequest {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.clone(),
        body,
        status,
        rejection,
    });
}

type Checked = (String, BTreeMap<String, String>, Option<Value>);

/// The request against the spec: route, query, body.
fn check(
    shared: &Shared,
    method: &str,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Result<Checked, String> {
    let matched = shared.spec.route(method, path)?;
    let op = matched.op;
    shared.spec.check_query(op, query)?;
    let json_body = match &op.body {
        None if !body.is_empty() => return Err(format!("{}: request body not allowed", op.id)),
        None => None,
        Some((required, _)) if body.is_empty() => {
            if *required {
                return Err(format!("{}: request body required", op.id));
            }
            None
        }
        Some((_, schema)) => {
            let value: Value =
                serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))?;
            shared.spec.validate(schema, &value, "body")?;
            Some(value)
        }
    };
    Ok((op.id.clone(), matched.path_params, json_body))
}

fn query_param(query: Option<&str>, key: &str) -> Option<String> {
    query?
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| spec::percent_decode(v).ok())
}

fn paginate(items: Vec<Value>, query: Option<&str>) -> Result<Value, String> {
    let per_page: usize = match query_param(query, "itemsPerPage") {
        Some(v) => v
            .parse()
            .map_err(|_| "invalid items per page".to_string())?,
        None => 100,
    };
    let page: usize = match query_param(query, "page") {
        Some(v) => v.parse().map_err(|_| "invalid page".to_string())?,
        None => 0,
    };
    if per_page == 0 {
        return Err("invalid items per page".into());
    }
    let count = items.len();
    let page_count = count.div_ceil(per_page);
    let slice: Vec<Value> = items
        .into_iter()
        .skip(page.saturating_mul(per_page))
        .take(per_page)
        .collect();
    Ok(json!({"pageCount": page_count, "itemCount": count, "items": slice}))
}

fn ok() -> (u16, Value) {
    (200, json!({"status": "ok"}))
}

fn operate(
    shared: &Shared,
    op_id: &str,
    params: &BTreeMap<String, String>,
    query: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let name = params.get("name").cloned().unwrap_or_default();
    let fields = body
        .and_then(|b| b.as_object().cloned())
        .unwrap_or_default();
    let mut st = shared.lock();
    let result: Result<(u16, Value), (u16, String)> = match op_id {
        "info" => Ok((
            200,
            json!({"version": "v1.15.5", "started": shared.started}),
        )),
        "configGlobalGet" => Ok((200, shared.global.clone())),
        "configPathDefaultsGet" => Ok((200, Value::Object(shared.path_defaults.clone()))),
        "configPathsList" => {
            let items = st.configs.values().cloned().map(Value::Object).collect();
            paginate(items, query)
                .map(|v| (200, v))
                .map_err(|e| (400, e))
        }
        "configPathsGet" => st
            .configs
            .get(&name)
            .map(|c| (200, Value::Object(c.clone())))
            .ok_or((404, "path not found".into())),
        "configPathsAdd" => (|| {
            check_path_name(&name).map_err(|e| (400, e))?;
            if st.configs.contains_key(&name) {
                return Err((400, "path already exists".to_string()));
            }
            let conf = build_conf(&shared.spec, &shared.path_defaults, &name, fields)
                .map_err(|e| (400, e))?;
            st.configs.insert(name.clone(), conf);
            if is_plain_name(&name) {
                st.runtime.insert(name.clone(), Runtime::idle());
            }
            Ok(ok())
        })(),
        "configPathsPatch" | "configPathsReplace" => (|| {
            let old = st
                .configs
                .get(&name)
                .cloned()
                .ok_or((404, "path not found".to_string()))?;
            let conf = if op_id == "configPathsPatch" {
                let mut conf = old.clone();
                for (k, v) in fields {
                    conf.insert(k, v);
                }
                conf.insert("name".into(), Value::String(name.clone()));
                finish_conf(&shared.spec, &mut conf).map_err(|e| (400, e))?;
                conf
            } else {
                build_conf(&shared.spec, &shared.path_defaults, &name, fields)
                    .map_err(|e| (400, e))?
            };
            let recreate = conf
                .iter()
                .any(|(k, v)| !hot_field(k) && old.get(k) != Some(v));
            st.configs.insert(name.clone(), conf);
            if recreate {
                if let Some(rt) = st.runtime.get_mut(&name) {
                    *rt = Runtime::idle();
                }
                st.close_media(&name);
            }
            Ok(ok())
        })(),
        "configPathsDelete" => {
            if st.configs.remove(&name).is_some() {
                st.runtime.remove(&name);
                st.close_media(&name);
                Ok(ok())
            } else {
                Err((404, "path not found".into()))
            }
        }
        "pathsList" => {
            let items = st.runtime.iter().map(|(n, r)| r.to_json(n)).collect();
            paginate(items, query)
                .map(|v| (200, v))
                .map_err(|e| (400, e))
        }
        "pathsGet" => st
            .runtime
            .get(&name)
            .map(|r| (200, r.to_json(&name)))
            .ok_or((404, "path not found".into())),
        other if other.ends_with("List") => {
            // Connections, sessions, muxers, recordings: the fake has none.
            paginate(Vec::new(), query)
                .map(|v| (200, v))
                .map_err(|e| (400, e))
        }
        other => Err((500, format!("{other} is not modelled by the fake"))),
    };
    drop(st);
    // DESCRIBEs waiting on a deleted or recreated path answer now.
    shared.media_changed.send_modify(|n| *n += 1);
    match result {
        Ok(r) => r,
        Err((status, message)) => (status, error_body(&message)),
    }
}
