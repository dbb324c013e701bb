//! A raw RFC 6455 peer on a plain TCP socket (no WebSocket library on the sending side) and
//! an in-process server with a minimal application behind it, for the conformance suite.
//!
//! The application here is a test double of `ports::api::ApiGateway`: `ping` answers
//! `"pong"`, `echo {"text": s}` answers `{"len": <bytes of s>, "tail": <its last 8 chars>}`
//! (proof that a message arrived whole), everything else -32601. Every connection starts
//! authenticated unless the server is built `unauthenticated`.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cs_jsonrpc::{ServerHandle, ServerOptions};
use domain::files::FileKind;
use domain::{ApiError, ErrorKind, SafeFileName};
use ports::api::{
    ApiConnection, ApiGateway, AuthState, ConnectionInfo, ConsoleLogin, Download, HttpCredential,
    Outcome, Readiness, SessionView,
};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const OP_CONT: u8 = 0x0;
pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xA;

/// How long a frame the server owes may take on a loaded machine.
pub const WAIT: Duration = Duration::from_secs(20);
/// How long to watch for a frame the server must not send.
pub const QUIET: Duration = Duration::from_millis(300);

struct Conn {
    authenticated: AtomicBool,
}

#[async_trait]
impl ApiConnection for Conn {
    async fn call(&self, method: &str, params: Option<Value>) -> Result<Outcome, ApiError> {
        let value = match method {
            "ping" => Ok(json!("pong")),
            "authenticate" => {
                self.authenticated.store(true, Ordering::Release);
                Ok(json!({"authenticated": true}))
            }
            "echo" => {
                let text = params
                    .as_ref()
                    .and_then(|p| p["text"].as_str())
                    .ok_or_else(|| {
                        ApiError::new(ErrorKind::InvalidParams, "missing", "text: a string")
                    })?;
                let tail: String = {
                    let chars: Vec<char> = text.chars().rev().take(8).collect();
                    chars.into_iter().rev().collect()
                };
                Ok(json!({"len": text.len(), "tail": tail}))
            }
            "subscribe_events" => Err(ApiError::new(
                ErrorKind::Unsupported,
                "no_events",
                "the conformance double has no events",
            )),
            other => Err(domain::api::method_not_found(other)),
        };
        value.map(Outcome::Result)
    }

    fn closing_slow(&self, _stuck_secs: u64) {}

    fn auth_state(&self) -> AuthState {
        if self.authenticated.load(Ordering::Acquire) {
            AuthState::Authenticated { ends_in: None }
        } else {
            AuthState::Unauthenticated
        }
    }
}

struct Gateway {
    start_authenticated: bool,
}

#[async_trait]
impl ApiGateway for Gateway {
    async fn connect(&self, info: ConnectionInfo) -> Arc<dyn ApiConnection> {
        // Any bearer token authenticates, in this double.
        Arc::new(Conn {
            authenticated: AtomicBool::new(self.start_authenticated || info.bearer.is_some()),
        })
    }
    async fn readiness(&self) -> Readiness {
        Readiness {
            ready: true,
            body: json!({"ready": true, "checks": {}}),
        }
    }
    async fn health(&self) -> Value {
        json!({})
    }
    async fn metrics(&self) -> Vec<ports::metrics::MetricFamily> {
        Vec::new()
    }
    async fn download(
        &self,
        _peer: Option<std::net::SocketAddr>,
        _credential: Option<HttpCredential<'_>>,
        _kind: FileKind,
        name: &SafeFileName,
    ) -> Result<Download, ApiError> {
        Err(ApiError::new(
            ErrorKind::FileNotFound,
            "file_not_found",
            format!("{name}: the conformance double has no files"),
        ))
    }
    async fn open_session(
        &self,
        _peer: Option<SocketAddr>,
        _token: &str,
    ) -> Result<ConsoleLogin, ApiError> {
        Err(ApiError::new(
            ErrorKind::Unsupported,
            "no_sessions",
            "the conformance double has no console sessions",
        ))
    }
    fn session(&self, _cookie: &str) -> Result<SessionView, ApiError> {
        Err(ApiError::new(
            ErrorKind::AuthRequired,
            "session_ended",
            "the conformance double has no console sessions",
        ))
    }
    fn close_session(&self, _peer: Option<SocketAddr>, _cookie: &str) -> bool {
        false
    }
    fn refused(&self, _peer: Option<SocketAddr>, _what: &str, _details: &str) {}
}

pub struct TestServer {
    pub addr: SocketAddr,
    handle: Option<ServerHandle>,
}

impl TestServer {
    /// Messages up to 16 MiB (the limits section sends that much), connections authenticated.
    pub async fn start() -> TestServer {
        Self::with(
            ServerOptions {
                max_message_bytes: 16 * 1024 * 1024,
                ..Default::default()
            },
            true,
        )
        .await
    }

    pub async fn with(opts: ServerOptions, start_authenticated: bool) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let handle = cs_jsonrpc::serve(
            listener,
            Arc::new(Gateway {
                start_authenticated,
            }),
            opts,
        )
        .expect("the server starts");
        TestServer {
            addr: handle.local_addr(),
            handle: Some(handle),
        }
    }

    pub async fn peer(&self) -> Peer {
        Peer::connect(self.addr).await
    }

    pub async fn stop(mut self) {
        if let Some(h) = self.handle.take() {
            h.stop().await;
        }
    }
}

/// A masked client frame with the given first byte's flags (FIN, RSV) and opcode.
pub fn frame_bits(fin: bool, rsv: u8, op: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut out = vec![(if fin { 0x80 } else { 0 }) | (rsv << 4) | op];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

pub fn frame(op: u8, payload: &[u8]) -> Vec<u8> {
    frame_bits(true, 0, op, payload)
}

pub fn fragment(fin: bool, op: u8, payload: &[u8]) -> Vec<u8> {
    frame_bits(fin, 0, op, payload)
}

pub fn close(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    frame(OP_CLOSE, &p)
}

/// A JSON-RPC `echo` request of exactly `size` bytes (padded inside the text), id `id`.
pub fn echo_of_size(id: u64, size: usize) -> Vec<u8> {
    let empty = echo_request(id, "");
    assert!(size >= empty.len(), "{size} is too small for an echo");
    let text: String = (0..size - empty.len())
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    let req = echo_request(id, &text);
    assert_eq!(req.len(), size);
    req
}

pub fn echo_request(id: u64, text: &str) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"jsonrpc": "2.0", "id": id, "method": "echo", "params": {"text": text}}),
    )
    .expect("serialises")
}

/// An echo request around raw bytes (possibly not UTF-8), spliced into the JSON string.
pub fn echo_raw(id: u64, text: &[u8]) -> Vec<u8> {
    let mut out =
        format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"echo","params":{{"text":""#).into_bytes();
    out.extend_from_slice(text);
    out.extend_from_slice(br#""}}"#);
    out
}

pub fn ping_request(id: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": id, "method": "ping"})).expect("serialises")
}

/// A frame from the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Got {
    Text(Value),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// Code (if any) and reason.
    Close(Option<u16>, Vec<u8>),
    /// The server closed the TCP connection (or reset it).
    Eof,
}

pub struct Peer {
    sock: TcpStream,
    buf: Vec<u8>,
}

impl Peer {
    pub async fn connect(addr: SocketAddr) -> Peer {
        Self::try_connect(addr, "")
            .await
            .unwrap_or_else(|head| panic!("the upgrade is accepted: {head}"))
    }

    /// The upgrade with `extra` header lines; `Err(response head)` when refused.
    pub async fn try_connect(addr: SocketAddr, extra: &str) -> Result<Peer, String> {
        let mut sock = TcpStream::connect(addr).await.expect("TCP connects");
        sock.set_nodelay(true).expect("nodelay");
        let req = format!(
            "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
        );
        sock.write_all(req.as_bytes())
            .await
            .expect("handshake sent");
        let (head, rest) = read_head(&mut sock).await;
        if !head.starts_with("HTTP/1.1 101") {
            return Err(head);
        }
        // RFC 6455 §1.3's own example key and accept value.
        assert!(
            head.to_ascii_lowercase()
                .contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
            "Sec-WebSocket-Accept: {head}"
        );
        Ok(Peer { sock, buf: rest })
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        // A server that already closed may reset: later writes may fail, which is fine.
        let _ = self.sock.write_all(bytes).await;
    }

    /// Sends `bytes` in pieces of `chop` bytes, with a short pause between them.
    pub async fn send_chopped(&mut self, bytes: &[u8], chop: usize, pause: Duration) {
        for piece in bytes.chunks(chop) {
            let _ = self.sock.write_all(piece).await;
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
        }
    }

    /// The next frame from the server, waiting at most `wait`; `None` when none came.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Got> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(got) = self.parse() {
                return Some(got);
            }
            let mut chunk = vec![0u8; 64 * 1024];
            match tokio::time::timeout_at(deadline, self.sock.read(&mut chunk)).await {
                Err(_) => return None,
                Ok(Ok(0)) | Ok(Err(_)) => return Some(Got::Eof),
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    pub async fn next(&mut self) -> Got {
        self.next_within(WAIT)
            .await
            .expect("a frame from the server within the wait")
    }

    fn parse(&mut self) -> Option<Got> {
        let b = &self.buf;
        if b.len() < 2 {
            return None;
        }
        assert_eq!(b[1] & 0x80, 0, "server frames are never masked");
        assert_eq!(b[0] & 0x70, 0, "server frames have no RSV bits");
        assert_ne!(b[0] & 0x80, 0, "server frames are never fragmented");
        let (len, header) = match b[1] & 0x7F {
            126 if b.len() >= 4 => (u16::from_be_bytes([b[2], b[3]]) as usize, 4),
            127 if b.len() >= 10 => {
                let mut l = [0u8; 8];
                l.copy_from_slice(&b[2..10]);
                (u64::from_be_bytes(l) as usize, 10)
            }
            126 | 127 => return None,
            n => (n as usize, 2),
        };
        if b.len() < header + len {
            return None;
        }
        let payload = b[header..header + len].to_vec();
        let op = b[0] & 0x0F;
        self.buf.drain(..header + len);
        Some(match op {
            OP_TEXT => Got::Text(serde_json::from_slice(&payload).expect("answers are JSON")),
            OP_BINARY => Got::Binary(payload),
            OP_PING => Got::Ping(payload),
            OP_PONG => Got::Pong(payload),
            OP_CLOSE => {
                let code =
                    (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
                let reason = payload.get(2..).unwrap_or_default().to_vec();
                if let Some(c) = code {
                    assert!(
                        !matches!(c, 1005 | 1006 | 1015),
                        "the server sent close code {c}, which must never be sent"
                    );
                }
                assert!(
                    std::str::from_utf8(&reason).is_ok(),
                    "close reasons are UTF-8"
                );
                Got::Close(code, reason)
            }
            other => panic!("the server sent opcode {other}"),
        })
    }

    /// The next text frame (an answer), skipping nothing: any other frame fails.
    pub async fn answer(&mut self) -> Value {
        match self.next().await {
            Got::Text(v) => v,
            other => panic!("an answer, not {other:?}"),
        }
    }

    /// Reads until the server's close frame: its code, after checking that the TCP
    /// connection then ends too. Frames before it are returned.
    pub async fn closed_with(&mut self) -> (Option<u16>, Vec<Got>) {
        let mut before = Vec::new();
        loop {
            match self.next().await {
                Got::Close(code, _) => {
                    // Our close answers, then the server ends the TCP connection.
                    self.send(&close(1000, b"")).await;
                    match self.next_within(WAIT).await {
                        Some(Got::Eof) => {}
                        other => panic!("the TCP connection ends after the close, not {other:?}"),
                    }
                    return (code, before);
                }
                Got::Eof => panic!("the connection ended without a close frame after {before:?}"),
                other => before.push(other),
            }
        }
    }

    /// Asserts the server closes with `code`, with no other frame before it.
    pub async fn expect_close(&mut self, code: u16) {
        let (got, before) = self.closed_with().await;
        assert_eq!(got, Some(code), "close code (frames before: {before:?})");
        assert!(before.is_empty(), "nothing before the close: {before:?}");
    }

    /// Asserts nothing arrives for a short while.
    pub async fn expect_quiet(&mut self) {
        if let Some(got) = self.next_within(QUIET).await {
            panic!("nothing was due, got {got:?}");
        }
    }

    /// The connection still serves: a ping request is answered, then a normal close is
    /// echoed.
    pub async fn expect_alive_then_close(&mut self) {
        self.send(&frame(OP_TEXT, &ping_request("alive"))).await;
        let a = self.answer().await;
        assert_eq!(a["id"], "alive", "{a}");
        assert_eq!(a["result"], "pong", "{a}");
        self.send(&close(1000, b"")).await;
        let (code, before) = self.closed_with().await;
        assert_eq!(code, Some(1000));
        assert!(before.is_empty(), "{before:?}");
    }
}

/// Reads an HTTP response head; returns it and the bytes after it.
pub async fn read_head(sock: &mut TcpStream) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            return (head, buf[end + 4..].to_vec());
        }
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout_at(deadline, sock.read(&mut chunk))
            .await
            .expect("an HTTP response in time")
            .expect("read");
        assert!(n > 0, "the server closed before answering: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Sends a raw HTTP request and returns the response head.
pub async fn http_head(addr: SocketAddr, request: &str) -> String {
    let mut sock = TcpStream::connect(addr).await.expect("TCP connects");
    sock.write_all(request.as_bytes()).await.expect("sent");
    read_head(&mut sock).await.0
}
