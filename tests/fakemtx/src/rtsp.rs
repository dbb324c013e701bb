//! A minimal RTSP relay inside the fake, so streams really flow in tests.
//!
//! One file of ~1,100 lines: publisher, reader and relay share one private state and read
//! best together. Written for the fake (no RTSP library): RTSP 1.0 over TCP with RTP/RTCP interleaved on
//! the same connection (`RTP/AVP/TCP;interleaved=a-b`), which is what ffmpeg speaks with
//! `-rtsp_transport tcp`; a UDP `SETUP` is answered 461 (ffmpeg then retries over TCP).
//!
//! - A publisher: `OPTIONS`, `ANNOUNCE` (its SDP is kept), `SETUP` per track, `RECORD`,
//!   then interleaved frames. The path becomes ready with the SDP's tracks.
//! - A reader: `OPTIONS`, `DESCRIBE` (the publisher's SDP with `Content-Base` and a
//!   `trackID=N` control per track), `SETUP`, `PLAY`, then every RTP/RTCP frame of the
//!   publisher on the reader's own channels. Each reader has a bounded queue: when a reader
//!   does not keep up, frames for it are dropped (counted), never waited for, as MediaMTX
//!   discards frames for a slow reader.
//! - On demand, as MediaMTX: a `DESCRIBE` on a path with `runOnDemand` and no publisher
//!   runs the command (`sh -c`, `MTX_PATH` and `RTSP_PORT` set, its own process group),
//!   waits up to `runOnDemandStartTimeout` for it to publish (503 when it does not, 404 when
//!   it exits first), restarts it when it exits if `runOnDemandRestart`, and stops it
//!   `runOnDemandCloseAfter` after the last reader left.
//! - When the publisher leaves, its readers are closed (they see the stream end); deleting
//!   or recreating a path closes its sessions and stops its command.
//!
//! Paths are the configured plain names; any other name is publishable when `all_others`
//! (or `all`) is configured, and its runtime path exists while it is published. `~regex`
//! names are not matched.
//!
//! One file of ~1,100 lines: a self-contained minimal RTSP relay (no RTSP library), whose
//! sessions, interleaved framing and SDP are one protocol.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Notify};

use crate::{godur, next_id, now_rfc3339, Runtime, Shared, State};

/// Frames queued for one reader before further ones are dropped for it.
pub const READER_QUEUE: usize = 512;
/// Pause before an exited `runOnDemand` command is run again (MediaMTX waits 5 s; the fake
/// is shorter so tests of the restart stay short).
const RESTART_PAUSE: Duration = Duration::from_secs(1);
/// How long a stopped command has between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// An RTSP request's start line and headers may not be longer.
const MAX_HEAD: usize = 64 * 1024;
/// Nor its body.
const MAX_BODY: usize = 1024 * 1024;

/// The media side of one path.
#[derive(Default)]
pub(crate) struct PathMedia {
    pub(crate) publisher: Option<PublisherSlot>,
    pub(crate) readers: Vec<ReaderSlot>,
    pub(crate) command: Option<CommandSlot>,
    /// Frames dropped for readers that did not keep up.
    pub(crate) dropped: u64,
    /// How many times the `runOnDemand` command was run.
    pub(crate) starts: u64,
    /// Bumped whenever a reader comes or goes: a pending close-after is for one idle spell.
    idle_token: u64,
}

pub(crate) struct PublisherSlot {
    id: String,
    sdp: Arc<Sdp>,
    close: Arc<Notify>,
}

impl PublisherSlot {
    pub(crate) fn close_session(&self) {
        self.close.notify_one();
    }
}

pub(crate) struct ReaderSlot {
    id: String,
    tx: mpsc::Sender<Vec<u8>>,
    /// The reader's RTP channel per track (RTCP is the next one).
    channels: Vec<Option<u8>>,
    close: Arc<Notify>,
}

pub(crate) struct CommandSlot {
    generation: u64,
    stop: Arc<Notify>,
    /// Process group (the `sh` pid) while it runs, else 0.
    pgid: Arc<AtomicI32>,
}

impl CommandSlot {
    /// The running process group, if any.
    pub(crate) fn pgid(&self) -> Option<i32> {
        Some(self.pgid.load(Ordering::SeqCst)).filter(|p| *p > 0)
    }

    /// Ends the command now (SIGKILL to its group), for a fake that is going away.
    pub(crate) fn kill_now(&self) {
        if let Some(pgid) = self.pgid() {
            signal_group(pgid, nix::sys::signal::Signal::SIGKILL);
        }
        self.stop.notify_one();
    }
}

impl PathMedia {
    /// Closes every session of the path and stops its command.
    pub(crate) fn close_all(self) {
        if let Some(p) = self.publisher {
            p.close.notify_one();
        }
        for r in self.readers {
            r.close.notify_one();
        }
        if let Some(c) = self.command {
            c.stop.notify_one();
        }
    }
}

fn signal_group(pgid: i32, sig: nix::sys::signal::Signal) {
    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), sig);
}

/// A publisher's session description, split into its tracks.
#[derive(Debug)]
pub(crate) struct Sdp {
    session: Vec<String>,
    media: Vec<Vec<String>>,
    /// Codec per track as MediaMTX names them (`H264`, ...).
    pub(crate) tracks: Vec<String>,
    /// The publisher's control attribute per track.
    controls: Vec<Option<String>>,
}

impl Sdp {
    pub(crate) fn parse(text: &str) -> Result<Sdp, String> {
        let mut session = Vec::new();
        let mut media: Vec<Vec<String>> = Vec::new();
        for line in text.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
            if line.starts_with("m=") {
                media.push(vec![line.to_owned()]);
            } else if let Some(m) = media.last_mut() {
                m.push(line.to_owned());
            } else {
                session.push(line.to_owned());
            }
        }
        if !session.first().is_some_and(|l| l.starts_with("v=")) {
            return Err("SDP does not start with v=".into());
        }
        if media.is_empty() {
            return Err("SDP has no media".into());
        }
        let attr = |m: &[String], key: &str| {
            m.iter()
                .find_map(|l| l.strip_prefix(key).map(str::to_owned))
        };
        let tracks = media
            .iter()
            .map(|m| {
                attr(m, "a=rtpmap:")
                    .and_then(|v| {
                        let enc = v.split_whitespace().nth(1)?;
                        Some(enc.split('/').next()?.to_ascii_uppercase())
                    })
                    .unwrap_or_else(|| "Generic".into())
            })
            .collect();
        let controls = media.iter().map(|m| attr(m, "a=control:")).collect();
        Ok(Sdp {
            session,
            media,
            tracks,
            controls,
        })
    }

    /// The description readers get: the same media, controls `trackID=N`.
    fn for_readers(&self) -> String {
        let mut out = String::new();
        for l in self.session.iter().filter(|l| !l.starts_with("a=control:")) {
            out.push_str(l);
            out.push_str("\r\n");
        }
        for (i, m) in self.media.iter().enumerate() {
            for l in m.iter().filter(|l| !l.starts_with("a=control:")) {
                out.push_str(l);
                out.push_str("\r\n");
            }
            out.push_str(&format!("a=control:trackID={i}\r\n"));
        }
        out
    }

    /// The publisher's track a SETUP control names.
    fn publisher_track(&self, control: &str) -> Option<usize> {
        if control.is_empty() && self.media.len() == 1 {
            return Some(0);
        }
        self.controls.iter().position(|c| {
            c.as_deref()
                .is_some_and(|c| c == control || c.rsplit('/').next() == Some(control))
        })
    }

    /// The reader's track a SETUP control names (`trackID=N`).
    fn reader_track(&self, control: &str) -> Option<usize> {
        if control.is_empty() && self.media.len() == 1 {
            return Some(0);
        }
        let n: usize = control.strip_prefix("trackID=")?.parse().ok()?;
        (n < self.media.len()).then_some(n)
    }
}

/// The configuration that applies to `name`: its own, else `all_others` / `all`.
pub(crate) fn conf_for<'a>(st: &'a State, name: &str) -> Option<&'a Map<String, Value>> {
    st.configs
        .get(name)
        .filter(|_| crate::is_plain_name(name))
        .or_else(|| st.configs.get("all_others"))
        .or_else(|| st.configs.get("all"))
}

fn conf_text(conf: &Map<String, Value>, key: &str) -> String {
    conf.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn conf_duration(conf: &Map<String, Value>, key: &str, default: Duration) -> Duration {
    conf.get(key)
        .and_then(Value::as_str)
        .and_then(godur::parse)
        .map(|n| Duration::from_nanos(u64::try_from(n).unwrap_or(0)))
        .unwrap_or(default)
}

pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve(stream, shared.clone()));
    }
}

struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

enum Message {
    /// An interleaved frame: channel, payload.
    Frame(u8, Vec<u8>),
    Request(Request),
}

/// The first whole message in `buf` and how many bytes it took.
fn next_message(buf: &[u8]) -> Result<Option<(Message, usize)>, String> {
    if buf.is_empty() {
        return Ok(None);
    }
    if buf[0] == b'$' {
        if buf.len() < 4 {
            return Ok(None);
        }
        let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
        if buf.len() < 4 + len {
            return Ok(None);
        }
        return Ok(Some((
            Message::Frame(buf[1], buf[4..4 + len].to_vec()),
            4 + len,
        )));
    }
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() > MAX_HEAD {
            return Err("request head too long".into());
        }
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..end]).map_err(|_| "request head is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let start = lines.next().unwrap_or_default();
    let mut parts = start.split(' ');
    let (Some(method), Some(url), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("bad request line {start:?}"));
    };
    if !version.starts_with("RTSP/1.") {
        return Err(format!("not RTSP: {start:?}"));
    }
    let mut headers = Vec::new();
    for l in lines {
        let (k, v) = l
            .split_once(':')
            .ok_or_else(|| format!("bad header {l:?}"))?;
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    let req = Request {
        method: method.to_owned(),
        url: url.to_owned(),
        headers,
        body: Vec::new(),
    };
    let len: usize = match req.header("Content-Length") {
        Some(v) => v.parse().map_err(|_| format!("bad Content-Length {v:?}"))?,
        None => 0,
    };
    if len > MAX_BODY {
        return Err("request body too long".into());
    }
    let total = end + 4 + len;
    if buf.len() < total {
        return Ok(None);
    }
    let mut req = req;
    req.body = buf[end + 4..total].to_vec();
    Ok(Some((Message::Request(req), total)))
}

/// The path part of an RTSP URL (`rtsp://host:port/a/b?q` → `a/b`), or of a bare path.
fn url_path(url: &str) -> String {
    let rest = url
        .strip_prefix("rtsp://")
        .or_else(|| url.strip_prefix("rtsps://"))
        .map(|r| r.find('/').map_or("", |i| &r[i..]))
        .unwrap_or(url);
    let rest = rest.split('?').next().unwrap_or_default();
    rest.trim_matches('/').to_owned()
}

struct Response {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Option<(&'static str, String)>,
}

impl Response {
    fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: None,
        }
    }

    fn with(mut self, k: &'static str, v: impl Into<String>) -> Response {
        self.headers.push((k, v.into()));
        self
    }

    fn bytes(&self, cseq: Option<&str>) -> Vec<u8> {
        let reason = match self.status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            454 => "Session Not Found",
            455 => "Method Not Valid in This State",
            461 => "Unsupported Transport",
            501 => "Not Implemented",
            503 => "Service Unavailable",
            _ => "Error",
        };
        let mut s = format!("RTSP/1.0 {} {reason}\r\n", self.status);
        if let Some(c) = cseq {
            s.push_str(&format!("CSeq: {c}\r\n"));
        }
        s.push_str("Server: fakemtx\r\n");
        for (k, v) in &self.headers {
            s.push_str(&format!("{k}: {v}\r\n"));
        }
        match &self.body {
            Some((ctype, body)) => {
                s.push_str(&format!(
                    "Content-Type: {ctype}\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                ));
            }
            None => s.push_str("\r\n"),
        }
        s.into_bytes()
    }
}

enum Role {
    None,
    Publisher {
        path: String,
        sdp: Arc<Sdp>,
        /// Interleaved channel → (track, is RTCP).
        channels: HashMap<u8, (usize, bool)>,
        registered: bool,
    },
    Reader {
        path: String,
        sdp: Arc<Sdp>,
        channels: Vec<Option<u8>>,
        playing: bool,
    },
}

struct Conn {
    shared: Arc<Shared>,
    id: String,
    role: Role,
    close: Arc<Notify>,
    frames: Option<mpsc::Receiver<Vec<u8>>>,
    /// Set by TEARDOWN: end after the answer.
    done: bool,
}

async fn recv_frame(rx: &mut Option<mpsc::Receiver<Vec<u8>>>) -> Option<Vec<u8>> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let (mut rd, mut wr) = stream.into_split();
    let id = next_id(&mut shared.lock());
    let mut epoch = shared.rtsp_epoch.subscribe();
    let mut conn = Conn {
        shared: shared.clone(),
        id,
        role: Role::None,
        close: Arc::new(Notify::new()),
        frames: None,
        done: false,
    };
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    'conn: loop {
        loop {
            match next_message(&buf) {
                Ok(None) => break,
                Err(_) => break 'conn,
                Ok(Some((msg, used))) => {
                    buf.drain(..used);
                    match msg {
                        Message::Frame(ch, payload) => {
                            if !conn.on_frame(ch, &payload) {
                                break 'conn;
                            }
                        }
                        Message::Request(req) => {
                            let cseq = req.header("CSeq").map(str::to_owned);
                            let resp = conn.on_request(req).await;
                            let close = conn.close.clone();
                            let bytes = resp.bytes(cseq.as_deref());
                            tokio::select! {
                                r = wr.write_all(&bytes) => if r.is_err() { break 'conn },
                                _ = close.notified() => break 'conn,
                                _ = epoch.changed() => break 'conn,
                            }
                            if conn.done {
                                break 'conn;
                            }
                        }
                    }
                }
            }
        }
        let close = conn.close.clone();
        tokio::select! {
            r = rd.read(&mut chunk) => match r {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            },
            f = recv_frame(&mut conn.frames) => match f {
                Some(frame) => {
                    if !write_frame(&mut wr, &frame, &close, &mut epoch).await {
                        break;
                    }
                }
                // Taken off the path (publisher gone, path deleted).
                None => break,
            },
            _ = close.notified() => break,
            _ = epoch.changed() => break,
        }
    }
    conn.finish();
    let _ = wr.shutdown().await;
}

async fn write_frame(
    wr: &mut OwnedWriteHalf,
    frame: &[u8],
    close: &Notify,
    epoch: &mut tokio::sync::watch::Receiver<u64>,
) -> bool {
    tokio::select! {
        r = wr.write_all(frame) => r.is_ok(),
        _ = close.notified() => false,
        _ = epoch.changed() => false,
    }
}

impl Conn {
    fn session_header(&self) -> String {
        format!("{};timeout=60", self.id)
    }

    async fn on_request(&mut self, req: Request) -> Response {
        match req.method.as_str() {
            "OPTIONS" => Response::new(200).with(
                "Public",
                "DESCRIBE, ANNOUNCE, SETUP, PLAY, RECORD, PAUSE, GET_PARAMETER, SET_PARAMETER, TEARDOWN",
            ),
            "DESCRIBE" => self.describe(&req).await,
            "ANNOUNCE" => self.announce(&req),
            "SETUP" => self.setup(&req),
            "RECORD" => self.record(),
            "PLAY" => self.play(),
            "TEARDOWN" => {
                self.done = true;
                Response::new(200)
            }
            "GET_PARAMETER" | "SET_PARAMETER" | "PAUSE" => Response::new(200),
            _ => Response::new(501),
        }
    }

    async fn describe(&mut self, req: &Request) -> Response {
        if !matches!(self.role, Role::None) {
            return Response::new(455);
        }
        let name = url_path(&req.url);
        match wait_for_stream(&self.shared, &name).await {
            Ok(sdp) => {
                let base = req.url.split('?').next().unwrap_or_default();
                let base = format!("{}/", base.trim_end_matches('/'));
                let n = sdp.media.len();
                let body = sdp.for_readers();
                self.role = Role::Reader {
                    path: name,
                    sdp,
                    channels: vec![None; n],
                    playing: false,
                };
                let mut r = Response::new(200).with("Content-Base", base);
                r.body = Some(("application/sdp", body));
                r
            }
            Err(status) => Response::new(status),
        }
    }

    fn announce(&mut self, req: &Request) -> Response {
        if !matches!(self.role, Role::None) {
            return Response::new(455);
        }
        let name = url_path(&req.url);
        {
            let st = self.shared.lock();
            match conf_for(&st, &name) {
                None => return Response::new(404),
                Some(c) if conf_text(c, "source") != "publisher" => return Response::new(400),
                Some(_) => {}
            }
        }
        let Ok(text) = std::str::from_utf8(&req.body) else {
            return Response::new(400);
        };
        match Sdp::parse(text) {
            Ok(sdp) => {
                self.role = Role::Publisher {
                    path: name,
                    sdp: Arc::new(sdp),
                    channels: HashMap::new(),
                    registered: false,
                };
                Response::new(200)
            }
            Err(_) => Response::new(400),
        }
    }

    fn setup(&mut self, req: &Request) -> Response {
        let transport = req.header("Transport").unwrap_or_default().to_owned();
        let parts: Vec<&str> = transport
            .split(',')
            .next()
            .unwrap_or_default()
            .split(';')
            .map(str::trim)
            .collect();
        if !parts
            .first()
            .is_some_and(|p| p.eq_ignore_ascii_case("RTP/AVP/TCP"))
        {
            return Response::new(461);
        }
        let interleaved = parts.iter().find_map(|p| {
            let (a, b) = p.strip_prefix("interleaved=")?.split_once('-')?;
            Some((a.parse::<u8>().ok()?, b.parse::<u8>().ok()?))
        });
        let url = url_path(&req.url);
        let control = |path: &str| -> Option<String> {
            if url == path {
                return Some(String::new());
            }
            url.strip_prefix(path)?.strip_prefix('/').map(str::to_owned)
        };
        let session = self.session_header();
        match &mut self.role {
            Role::Publisher {
                path,
                sdp,
                channels,
                registered: false,
            } => {
                let Some(track) = control(path).and_then(|c| sdp.publisher_track(&c)) else {
                    return Response::new(404);
                };
                let (rtp, rtcp) = interleaved.unwrap_or((2 * track as u8, 2 * track as u8 + 1));
                channels.insert(rtp, (track, false));
                channels.insert(rtcp, (track, true));
                Response::new(200)
                    .with(
                        "Transport",
                        format!("RTP/AVP/TCP;unicast;interleaved={rtp}-{rtcp};mode=record"),
                    )
                    .with("Session", session)
            }
            Role::Reader {
                path,
                sdp,
                channels,
                playing: false,
            } => {
                let Some(track) = control(path).and_then(|c| sdp.reader_track(&c)) else {
                    return Response::new(404);
                };
                let (rtp, rtcp) = interleaved.unwrap_or((2 * track as u8, 2 * track as u8 + 1));
                channels[track] = Some(rtp);
                Response::new(200)
                    .with(
                        "Transport",
                        format!("RTP/AVP/TCP;unicast;interleaved={rtp}-{rtcp}"),
                    )
                    .with("Session", session)
            }
            _ => Response::new(455),
        }
    }

    fn record(&mut self) -> Response {
        let Role::Publisher {
            path,
            sdp,
            channels,
            registered,
        } = &mut self.role
        else {
            return Response::new(455);
        };
        if channels.is_empty() || *registered {
            return Response::new(455);
        }
        let shared = self.shared.clone();
        let mut st = shared.lock();
        let Some(conf) = conf_for(&st, path) else {
            return Response::new(404);
        };
        if conf_text(conf, "source") != "publisher" {
            return Response::new(400);
        }
        let media = st.media.entry(path.clone()).or_default();
        // overridePublisher (MediaMTX's default): the newcomer replaces the old one.
        let mut gone = Vec::new();
        if let Some(old) = media.publisher.take() {
            old.close.notify_one();
            for r in media.readers.drain(..) {
                r.close.notify_one();
                gone.push(r.id);
            }
        }
        media.publisher = Some(PublisherSlot {
            id: self.id.clone(),
            sdp: sdp.clone(),
            close: self.close.clone(),
        });
        let rt = st.runtime.entry(path.clone()).or_insert_with(Runtime::idle);
        rt.readers.retain(|(_, id)| !gone.contains(id));
        rt.source = Some(json!({"type": "rtspSession", "id": self.id}));
        rt.ready_time = Some(now_rfc3339());
        rt.tracks = sdp.tracks.clone();
        *registered = true;
        drop(st);
        shared.media_changed.send_modify(|n| *n += 1);
        Response::new(200).with("Session", self.session_header())
    }

    fn play(&mut self) -> Response {
        let session = self.session_header();
        let Role::Reader {
            path,
            sdp,
            channels,
            playing,
        } = &mut self.role
        else {
            return Response::new(455);
        };
        if *playing || channels.iter().all(Option::is_none) {
            return Response::new(455);
        }
        let shared = self.shared.clone();
        let mut st = shared.lock();
        let State { runtime, media, .. } = &mut *st;
        let (Some(rt), Some(m)) = (runtime.get_mut(path.as_str()), media.get_mut(path.as_str()))
        else {
            return Response::new(404);
        };
        // The stream described is still the one published.
        if !m
            .publisher
            .as_ref()
            .is_some_and(|p| Arc::ptr_eq(&p.sdp, sdp))
        {
            return Response::new(404);
        }
        let (tx, rx) = mpsc::channel(READER_QUEUE);
        m.readers.push(ReaderSlot {
            id: self.id.clone(),
            tx,
            channels: channels.clone(),
            close: self.close.clone(),
        });
        m.idle_token += 1;
        rt.readers.push(("rtspSession".into(), self.id.clone()));
        *playing = true;
        self.frames = Some(rx);
        Response::new(200)
            .with("Session", session)
            .with("Range", "npt=0.000-")
    }

    /// A frame from the client; `false` ends the connection.
    fn on_frame(&mut self, ch: u8, payload: &[u8]) -> bool {
        let Role::Publisher {
            path,
            channels,
            registered: true,
            ..
        } = &self.role
        else {
            // A reader's RTCP receiver reports, or frames before RECORD: ignored.
            return true;
        };
        let Some(&(track, rtcp)) = channels.get(&ch) else {
            return true;
        };
        let mut st = self.shared.lock();
        let State { runtime, media, .. } = &mut *st;
        let (Some(rt), Some(m)) = (runtime.get_mut(path.as_str()), media.get_mut(path.as_str()))
        else {
            return false;
        };
        if m.publisher.as_ref().is_none_or(|p| p.id != self.id) {
            return false;
        }
        rt.bytes_received += 4 + payload.len() as u64;
        let len = u16::try_from(payload.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes();
        for r in &m.readers {
            let Some(base) = r.channels.get(track).copied().flatten() else {
                continue;
            };
            let mut frame = Vec::with_capacity(4 + payload.len());
            frame.extend_from_slice(&[b'$', base + u8::from(rtcp), len[0], len[1]]);
            frame.extend_from_slice(payload);
            let n = frame.len() as u64;
            match r.tx.try_send(frame) {
                Ok(()) => rt.bytes_sent += n,
                Err(mpsc::error::TrySendError::Full(_)) => m.dropped += 1,
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        true
    }

    /// The connection ended: leave the path.
    fn finish(&mut self) {
        let role = std::mem::replace(&mut self.role, Role::None);
        let shared = self.shared.clone();
        match role {
            Role::Publisher {
                path,
                registered: true,
                ..
            } => {
                let mut st = shared.lock();
                let dynamic = !st.configs.contains_key(&path);
                let State { runtime, media, .. } = &mut *st;
                let Some(m) = media.get_mut(&path) else {
                    return;
                };
                if m.publisher.as_ref().is_none_or(|p| p.id != self.id) {
                    return;
                }
                m.publisher = None;
                // The stream ends: so do its readers.
                let gone: Vec<String> = m.readers.iter().map(|r| r.id.clone()).collect();
                for r in m.readers.drain(..) {
                    r.close.notify_one();
                }
                m.idle_token += 1;
                if let Some(rt) = runtime.get_mut(&path) {
                    crate::stop_publisher(rt);
                    rt.readers.retain(|(_, id)| !gone.contains(id));
                    if dynamic && rt.readers.is_empty() {
                        runtime.remove(&path);
                    }
                }
                drop(st);
                schedule_close(&shared, &path);
                shared.media_changed.send_modify(|n| *n += 1);
            }
            Role::Reader { path, playing, .. } => {
                {
                    let mut st = shared.lock();
                    let State { runtime, media, .. } = &mut *st;
                    if playing {
                        if let Some(m) = media.get_mut(&path) {
                            m.readers.retain(|r| r.id != self.id);
                            m.idle_token += 1;
                        }
                        if let Some(rt) = runtime.get_mut(&path) {
                            rt.readers.retain(|(_, id)| *id != self.id);
                        }
                    }
                }
                schedule_close(&shared, &path);
            }
            _ => {}
        }
    }
}

/// Waits for `name` to be published (running its `runOnDemand` command if it has one);
/// the SDP, or the RTSP status to answer.
async fn wait_for_stream(shared: &Arc<Shared>, name: &str) -> Result<Arc<Sdp>, u16> {
    let mut changed = shared.media_changed.subscribe();
    let deadline;
    {
        let mut st = shared.lock();
        let Some(conf) = conf_for(&st, name) else {
            return Err(404);
        };
        let cmd = conf_text(conf, "runOnDemand");
        let restart = conf.get("runOnDemandRestart").and_then(Value::as_bool) == Some(true);
        let timeout = conf_duration(conf, "runOnDemandStartTimeout", Duration::from_secs(10));
        if let Some(p) = st.media.get(name).and_then(|m| m.publisher.as_ref()) {
            return Ok(p.sdp.clone());
        }
        if cmd.is_empty() || !st.configs.contains_key(name) {
            return Err(404);
        }
        let m = st.media.entry(name.to_owned()).or_default();
        if m.command.is_none() {
            start_command(shared, m, name, cmd, restart);
        }
        deadline = tokio::time::Instant::now() + timeout;
    }
    loop {
        tokio::select! {
            _ = changed.changed() => {}
            _ = tokio::time::sleep_until(deadline) => break,
        }
        let st = shared.lock();
        if conf_for(&st, name).is_none() {
            return Err(404);
        }
        let m = st.media.get(name);
        if let Some(p) = m.and_then(|m| m.publisher.as_ref()) {
            return Ok(p.sdp.clone());
        }
        if m.is_none_or(|m| m.command.is_none()) {
            // The command exited without publishing and is not restarted.
            return Err(404);
        }
    }
    // Timed out: MediaMTX gives up on the command.
    let mut st = shared.lock();
    if let Some(m) = st.media.get_mut(name) {
        if m.publisher.is_none() {
            if let Some(c) = m.command.take() {
                c.stop.notify_one();
            }
        }
    }
    Err(503)
}

/// Stops the path's command `runOnDemandCloseAfter` from now unless a reader comes.
fn schedule_close(shared: &Arc<Shared>, name: &str) {
    let (token, after) = {
        let st = shared.lock();
        let Some(m) = st.media.get(name) else { return };
        if m.command.is_none() || !m.readers.is_empty() {
            return;
        }
        let after = conf_for(&st, name)
            .map(|c| conf_duration(c, "runOnDemandCloseAfter", Duration::from_secs(10)))
            .unwrap_or_default();
        (m.idle_token, after)
    };
    let shared = shared.clone();
    let name = name.to_owned();
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        let mut st = shared.lock();
        let has_readers = st
            .runtime
            .get(&name)
            .is_some_and(|rt| !rt.readers.is_empty());
        let Some(m) = st.media.get_mut(&name) else {
            return;
        };
        if m.idle_token != token || !m.readers.is_empty() || has_readers {
            return;
        }
        if let Some(c) = m.command.take() {
            c.stop.notify_one();
            if let Some(p) = m.publisher.take() {
                p.close.notify_one();
            }
            if let Some(rt) = st.runtime.get_mut(&name) {
                crate::stop_publisher(rt);
            }
            drop(st);
            shared.media_changed.send_modify(|n| *n += 1);
        }
    });
}

static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Runs `cmd` for `name` under a supervisor task; the slot goes into `media`.
fn start_command(
    shared: &Arc<Shared>,
    media: &mut PathMedia,
    name: &str,
    cmd: String,
    restart: bool,
) {
    let generation = GENERATION.fetch_add(1, Ordering::SeqCst);
    let stop = Arc::new(Notify::new());
    let pgid = Arc::new(AtomicI32::new(0));
    media.command = Some(CommandSlot {
        generation,
        stop: stop.clone(),
        pgid: pgid.clone(),
    });
    tokio::spawn(supervise(
        shared.clone(),
        name.to_owned(),
        cmd,
        restart,
        generation,
        stop,
        pgid,
    ));
}

/// Whether `generation` is still the path's command; counts a start when `start`.
fn current(shared: &Shared, name: &str, generation: u64, start: bool) -> bool {
    let mut st = shared.lock();
    match st.media.get_mut(name) {
        Some(m)
            if m.command
                .as_ref()
                .is_some_and(|c| c.generation == generation) =>
        {
            if start {
                m.starts += 1;
            }
            true
        }
        _ => false,
    }
}

async fn supervise(
    shared: Arc<Shared>,
    name: String,
    cmd: String,
    restart: bool,
    generation: u64,
    stop: Arc<Notify>,
    pgid: Arc<AtomicI32>,
) {
    loop {
        if !current(&shared, &name, generation, true) {
            return;
        }
        let mut command = tokio::process::Command::new("sh");
        command
            .arg("-c")
            .arg(&cmd)
            .env("MTX_PATH", &name)
            .env("RTSP_PORT", shared.rtsp_port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true);
        let Ok(mut child) = command.spawn() else {
            break;
        };
        let pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
        pgid.store(pid, Ordering::SeqCst);
        let stopped = tokio::select! {
            _ = child.wait() => false,
            _ = stop.notified() => true,
        };
        if stopped {
            if pid > 0 {
                signal_group(pid, nix::sys::signal::Signal::SIGTERM);
            }
            if tokio::time::timeout(STOP_GRACE, child.wait())
                .await
                .is_err()
                && pid > 0
            {
                signal_group(pid, nix::sys::signal::Signal::SIGKILL);
                let _ = child.wait().await;
            }
        }
        // Whatever the shell left behind in its group goes with it.
        if pid > 0 {
            signal_group(pid, nix::sys::signal::Signal::SIGKILL);
        }
        pgid.store(0, Ordering::SeqCst);
        if stopped || !restart {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(RESTART_PAUSE) => {}
            _ = stop.notified() => return,
        }
    }
    let mut st = shared.lock();
    if let Some(m) = st.media.get_mut(&name) {
        if m.command
            .as_ref()
            .is_some_and(|c| c.generation == generation)
        {
            m.command = None;
        }
    }
    drop(st);
    shared.media_changed.send_modify(|n| *n += 1);
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDP: &str = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=No Name\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\na=tool:libavformat\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\na=control:streamid=0\r\n";

    #[test]
    fn an_sdp_is_split_into_tracks_and_rewritten_for_readers() {
        let sdp = Sdp::parse(SDP).unwrap();
        assert_eq!(sdp.tracks, vec!["H264".to_string()]);
        assert_eq!(sdp.publisher_track("streamid=0"), Some(0));
        assert_eq!(sdp.publisher_track("streamid=1"), None);
        let r = sdp.for_readers();
        assert!(r.contains("a=control:trackID=0\r\n"), "{r}");
        assert!(!r.contains("streamid"), "{r}");
        assert_eq!(sdp.reader_track("trackID=0"), Some(0));
        assert_eq!(sdp.reader_track("trackID=1"), None);
    }

    #[test]
    fn messages_are_cut_from_a_byte_stream() {
        let mut bytes = b"OPTIONS rtsp://h/x RTSP/1.0\r\nCSeq: 1\r\n\r\n".to_vec();
        bytes.extend([b'$', 2, 0, 3, 7, 8, 9]);
        bytes.extend(b"ANNOUNCE rtsp://h/x RTSP/1.0\r\nContent-Length: 2\r\n\r\nab");
        let mut at = 0;
        let mut got = Vec::new();
        // Fed one byte at a time, as a slow network would.
        for end in 1..=bytes.len() {
            if let Some((m, used)) = next_message(&bytes[at..end]).unwrap() {
                got.push(m);
                at += used;
            }
        }
        assert_eq!(at, bytes.len());
        assert!(
            matches!(&got[0], Message::Request(r) if r.method == "OPTIONS" && r.header("cseq") == Some("1"))
        );
        assert!(matches!(&got[1], Message::Frame(2, p) if p == &[7, 8, 9]));
        assert!(matches!(&got[2], Message::Request(r) if r.body == b"ab"));
        assert!(next_message(b"GET / HTTP/1.1\r\n\r\n").is_err());
    }

    #[test]
    fn url_paths() {
        assert_eq!(url_path("rtsp://127.0.0.1:8554/camera0"), "camera0");
        assert_eq!(url_path("rtsp://h:1/a/b/trackID=0?x=1"), "a/b/trackID=0");
        assert_eq!(url_path("rtsp://h:1/camera0/"), "camera0");
    }
}
