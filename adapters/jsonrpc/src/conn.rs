//! One WebSocket connection after the upgrade: a single task that reads frames, runs calls
//! (concurrently, as they arrive), polls its event subscriptions and writes answers and
//! notifications.
//!
//! Memory is the point here: an idle connection holds its socket, this task's state and the
//! app's session — no read buffer (bytes are read only when the socket is readable, and the
//! buffer is released once the messages in it are decoded), no write buffer (one exists only
//! while frames wait for the socket) and no queue: a subscription is the hub's own bounded
//! queue, polled by this task, so a publish wakes this task directly.
//!
//! Frames go to the socket in as few writes as possible: everything ready (answers, every
//! waiting notification of every subscription) is appended to the write buffer, then written
//! with one non-blocking write. While the socket does not take it, the buffer is bounded by
//! [`WRITE_HIGH_WATER`]: past it the task stops reading requests and stops taking events
//! (which then wait, and are dropped oldest first, in the hub). A subscription that stays
//! stuck past the configured limit ends, and the connection is closed (code 1008).

use std::future::poll_fn;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use jsonrpsee::types::error::reject_too_big_request;
use ports::api::ApiGateway;
use ports::api::AuthState;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::limits::UnauthSlot;
use crate::rpc::{self, Handled, Link, Reply};
use crate::ws::{self, Decoder, Event};

/// Bytes asked of the socket per read (grown when a frame needs more).
const READ_CHUNK: usize = 4096;
/// Bytes waiting for the socket past which no more requests are read and no more events
/// taken from the hub.
const WRITE_HIGH_WATER: usize = 64 * 1024;
/// How long closing frames may wait for a socket that does not take them.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

pub(crate) struct Params {
    pub link: Arc<Link>,
    pub gateway: Arc<dyn ApiGateway>,
    pub peer: SocketAddr,
    pub max_message: usize,
    pub stop: watch::Receiver<bool>,
    /// The connection's place in the unauthenticated quota, until it authenticates.
    pub unauth: Option<UnauthSlot>,
    pub auth_timeout: Duration,
    pub ping_interval: Duration,
}

/// Frames waiting for the socket: `buf[written..]` is still to go. Frames are appended
/// whole, and `buf` always starts at a frame boundary.
#[derive(Default)]
struct Outbox {
    buf: Vec<u8>,
    written: usize,
}

impl Outbox {
    fn pending(&self) -> bool {
        self.written < self.buf.len()
    }

    fn push(&mut self, op: u8, payload: &[u8]) {
        ws::frame_into(&mut self.buf, op, payload);
    }

    /// Writes what the socket takes without waiting. `Err` when the socket failed.
    fn flush(&mut self, io: &TcpStream) -> std::io::Result<()> {
        while self.pending() {
            match io.try_write(&self.buf[self.written..]) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        if !self.pending() {
            // Nothing waits: hold no buffer.
            *self = Outbox::default();
        } else if self.written >= self.buf.len() / 2 {
            // Drop the frames written so far (up to the one being written).
            let mut at = 0;
            loop {
                let end = ws::frame_end(&self.buf, at);
                if end > self.written {
                    break;
                }
                at = end;
            }
            self.buf.drain(..at);
            self.written -= at;
        }
        Ok(())
    }

    /// Keeps only the frame being written (the peer has part of it), so that a close
    /// frame can follow it.
    fn cut_after_current(&mut self) {
        if !self.pending() {
            return;
        }
        let mut at = 0;
        loop {
            let end = ws::frame_end(&self.buf, at);
            if end > self.written {
                // A frame the peer has none of is dropped whole.
                let keep = if self.written > at { end } else { at };
                self.buf.truncate(keep);
                return;
            }
            at = end;
        }
    }
}

/// How the connection ends.
enum Ending {
    /// The socket failed or the peer went away: nothing more is written.
    Gone,
    /// A close frame with this code (and reason) goes out first.
    Close(u16, String),
}

/// The connection's clocks: the authentication deadline, keepalive and the credential's
/// expiry share one timer (one timer entry per connection, reset only when a deadline passes
/// or changes).
struct Clocks {
    /// Until then the connection must authenticate (while it holds an unauthenticated slot).
    auth_deadline: Option<Instant>,
    auth_timeout: Duration,
    ping_interval: Duration,
    next_tick: Instant,
    /// Something was read since the last tick.
    heard: bool,
    /// A ping went out at the last tick and nothing was read since.
    ping_out: bool,
    /// When the credential expires (while the connection has subscriptions).
    expiry: Option<Instant>,
}

impl Clocks {
    fn next(&self) -> Instant {
        [self.auth_deadline, self.expiry]
            .into_iter()
            .flatten()
            .fold(self.next_tick, Instant::min)
    }
}

/// Serves the connection until the peer closes it, breaks the protocol, is too slow to read
/// its events, does not authenticate in time, stops answering pings, or the server stops.
/// `buf` holds bytes the peer sent right after the upgrade request, if any.
pub(crate) async fn run(mut io: TcpStream, mut buf: Vec<u8>, p: Params) {
    let Params {
        link,
        gateway,
        peer,
        max_message,
        mut stop,
        mut unauth,
        auth_timeout,
        ping_interval,
    } = p;
    let mut decoder = Decoder::new(max_message);
    let mut pending: FuturesUnordered<Reply> = FuturesUnordered::new();
    let mut out = Outbox::default();
    let mut stopping = *stop.borrow();
    // Set once the peer closed or broke the protocol: nothing more is read, calls already
    // read are answered, then the close frame goes out.
    let mut closing: Option<(u16, String)> = None;
    // The peer's close frame has come: nothing more of its will.
    let mut peer_closed = false;
    // One wait for the whole connection, not a new one per wake-up: re-arming it takes the
    // stop channel's lock, which every connection shares.
    let mut stop_signal = std::pin::pin!(async move {
        let _ = stop.wait_for(|stopped| *stopped).await;
    });
    // Bytes already in `buf` are decoded before the first read.
    let mut fresh_bytes = !buf.is_empty();
    let now = Instant::now();
    let mut clocks = Clocks {
        auth_deadline: unauth.is_some().then(|| now + auth_timeout),
        auth_timeout,
        ping_interval,
        next_tick: now + ping_interval,
        heard: false,
        ping_out: false,
        expiry: None,
    };
    let mut timer = std::pin::pin!(tokio::time::sleep_until(clocks.next()));

    let ending = loop {
        if pending.is_empty() {
            if let Some((code, reason)) = closing.take() {
                break Ending::Close(code, reason);
            }
            if stopping {
                // Every event published before the stop reaches the client before the close.
                link.drain_notes(&mut out.buf);
                break Ending::Close(ws::CLOSE_GOING_AWAY, String::new());
            }
        }
        if !fresh_bytes {
            let room = out.buf.len() < WRITE_HIGH_WATER;
            let subscribed = link.subscribed();
            let reading = !stopping && closing.is_none() && room;
            tokio::select! {
                biased;
                () = &mut stop_signal, if !stopping => {
                    stopping = true;
                }
                Some(answer) = pending.next(), if !pending.is_empty() => {
                    if let Some(a) = answer {
                        out.push(ws::OP_TEXT, a.text.as_bytes());
                        // After the answer that names them: no notification overtakes it.
                        let started = !a.subs.is_empty();
                        link.start(a.subs);
                        if started {
                            watch_expiry(&link, &mut clocks, &mut timer);
                        }
                    }
                    if unauth.is_some()
                        && matches!(link.conn.auth_state(), AuthState::Authenticated { .. })
                    {
                        // Authenticated: its place in the quota is free for another.
                        unauth = None;
                        clocks.auth_deadline = None;
                    }
                }
                notes = poll_fn(|cx| link.poll_notes(cx, &mut out.buf, WRITE_HIGH_WATER)), if subscribed => {
                    if let Err(secs) = notes {
                        link.conn.closing_slow(secs);
                        out.cut_after_current();
                        break Ending::Close(
                            ws::CLOSE_POLICY,
                            format!("events not read for {secs} s: too slow, disconnected"),
                        );
                    }
                }
                () = &mut timer => {
                    if let Some(ending) = on_timer(&link, &mut clocks, &mut unauth, &mut out) {
                        break ending;
                    }
                    timer.as_mut().reset(clocks.next());
                }
                // `poll_write_ready` keeps one waker in the socket's writer slot; `writable()`
                // would join and leave its waiter list on every wake-up.
                ready = poll_fn(|cx| io.poll_write_ready(cx)), if out.pending() => {
                    if ready.is_err() {
                        break Ending::Gone;
                    }
                }
                // `poll_read_ready` takes the socket's reader slot, replacing the waker
                // hyper's finished connection task left there (which kept that task's
                // memory alive, ~1.3 KiB per connection); `readable()` would leave it.
                ready = std::future::poll_fn(|cx| io.poll_read_ready(cx)), if reading => {
                    if ready.is_err() {
                        break Ending::Gone;
                    }
                    let want = decoder.wants(&buf).max(READ_CHUNK);
                    buf.reserve(want);
                    match io.try_read_buf(&mut buf) {
                        Ok(0) => break Ending::Gone,
                        Ok(_) => {
                            fresh_bytes = true;
                            clocks.heard = true;
                            clocks.ping_out = false;
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(_) => break Ending::Gone,
                    }
                }
            }
        }

        if fresh_bytes {
            fresh_bytes = false;
            if let Some((code, by_peer)) = decode(
                &link,
                &gateway,
                peer,
                max_message,
                &mut decoder,
                &mut buf,
                &mut out,
                &mut pending,
            ) {
                // Answers to the requests before the end still go out first.
                closing = Some((code, String::new()));
                peer_closed = by_peer;
                buf = Vec::new();
            }
        }
        if out.flush(&io).is_err() {
            break Ending::Gone;
        }
    };

    link.close();
    drop(unauth);
    if let Ending::Close(code, reason) = ending {
        let frame = ws::close_frame(code, &reason);
        out.buf.extend_from_slice(&frame);
        let rest = &out.buf[out.written..];
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            if io.write_all(rest).await.is_ok() && io.shutdown().await.is_ok() && !peer_closed {
                linger(&mut io).await;
            }
        })
        .await;
    }
}

/// After our close frame: reads what the peer still sends until its close frame or its end
/// of stream. A socket closed with unread bytes is reset, and a reset can destroy our close
/// frame before the peer has read it.
async fn linger(io: &mut TcpStream) {
    // Limit 0: data frames are skipped as they stream in, never held.
    let mut decoder = Decoder::new(0);
    let mut buf = Vec::new();
    let mut sink = vec![0u8; 1024];
    loop {
        let n = match io.read(&mut sink).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&sink[..n]);
        let mut at = 0;
        loop {
            match decoder.decode(&buf[at..]) {
                Ok((_, Some(Event::Close(_)))) | Err(_) => return,
                Ok((0, None)) => break,
                Ok((used, _)) => at += used,
            }
        }
        buf.drain(..at);
    }
}

/// Sets the timer to the credential's expiry while the connection has subscriptions.
fn watch_expiry(
    link: &Link,
    clocks: &mut Clocks,
    timer: &mut std::pin::Pin<&mut tokio::time::Sleep>,
) {
    let before = clocks.next();
    clocks.expiry = match link.conn.auth_state() {
        AuthState::Authenticated {
            ends_in: Some(left),
        } if link.subscribed() => Some(Instant::now() + left),
        // Ended already: the next delivery round ends the subscriptions.
        AuthState::Ended(_) => Some(Instant::now()),
        _ => None,
    };
    if clocks.next() != before {
        timer.as_mut().reset(clocks.next());
    }
}

/// A deadline passed: the authentication deadline, a keepalive tick or the credential's
/// expiry. `Some` when the connection is to end.
fn on_timer(
    link: &Link,
    clocks: &mut Clocks,
    unauth: &mut Option<UnauthSlot>,
    out: &mut Outbox,
) -> Option<Ending> {
    let now = Instant::now();
    if clocks.auth_deadline.is_some_and(|d| now >= d) {
        clocks.auth_deadline = None;
        if matches!(link.conn.auth_state(), AuthState::Authenticated { .. }) {
            *unauth = None;
        } else {
            return Some(Ending::Close(
                ws::CLOSE_POLICY,
                format!(
                    "not authenticated within {} s",
                    clocks.auth_timeout.as_secs()
                ),
            ));
        }
    }
    if now >= clocks.next_tick {
        clocks.next_tick = now + clocks.ping_interval;
        if clocks.heard {
            clocks.heard = false;
        } else if clocks.ping_out {
            return Some(Ending::Close(
                ws::CLOSE_POLICY,
                format!(
                    "no answer to a ping within {} s",
                    clocks.ping_interval.as_secs()
                ),
            ));
        } else {
            out.push(ws::OP_PING, b"");
            clocks.ping_out = true;
        }
        // A revoked key is noticed here at the latest, with or without events.
        link.end_if_credential_ended(&mut out.buf);
    }
    if clocks.expiry.is_some_and(|e| now >= e) {
        clocks.expiry = None;
        link.end_if_credential_ended(&mut out.buf);
    }
    None
}

/// Decodes every complete event in `buf`: runs the messages, answers pings. `Some(code,
/// by_peer)` when the connection is to be closed with that code (`by_peer`: the peer's
/// close frame came).
#[allow(clippy::too_many_arguments)]
fn decode(
    link: &Arc<Link>,
    gateway: &Arc<dyn ApiGateway>,
    peer: SocketAddr,
    max_message: usize,
    decoder: &mut Decoder,
    buf: &mut Vec<u8>,
    out: &mut Outbox,
    pending: &mut FuturesUnordered<Reply>,
) -> Option<(u16, bool)> {
    let mut at = 0;
    loop {
        let (used, event) = match decoder.decode(&buf[at..]) {
            Ok(r) => r,
            Err(ws::ProtocolError(code)) => return Some((code, false)),
        };
        at += used;
        let Some(event) = event else {
            if used == 0 {
                break;
            }
            continue;
        };
        match event {
            Event::Message(bytes) => match rpc::handle(link, &bytes) {
                Handled::Now(text) => out.push(ws::OP_TEXT, text.as_bytes()),
                Handled::Later(reply) => pending.push(reply),
            },
            Event::TooBig => {
                gateway.refused(
                    Some(peer),
                    "oversized_message",
                    &format!("a WebSocket message over {max_message} bytes"),
                );
                let text = rpc::failure(&Value::Null, &reject_too_big_request(max_message as u32));
                out.push(ws::OP_TEXT, text.as_bytes());
            }
            Event::Ping(payload) => out.push(ws::OP_PONG, &payload),
            Event::Pong => {}
            // A valid code is echoed (the decoder refused the others); none gets 1000.
            Event::Close(code) => return Some((code.unwrap_or(ws::CLOSE_NORMAL), true)),
        }
    }
    buf.drain(..at);
    if buf.is_empty() && buf.capacity() > 0 {
        // Idle again: hold no buffer.
        *buf = Vec::new();
    }
    None
}
