//! One WebSocket connection after the upgrade: a single task that reads frames, runs calls
//! (concurrently, as they arrive) and writes answers and notifications.
//!
//! Memory is the point here: an idle connection holds its socket, this task's state and the
//! app's session — no read buffer (bytes are read only when the socket is readable, and the
//! buffer is released once the messages in it are decoded), no write buffer (frames are written
//! straight to the socket) and no queue until the first subscription.

use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use jsonrpsee::types::error::reject_too_big_request;
use ports::api::ApiGateway;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use crate::rpc::{self, Handled, Link, Reply};
use crate::ws::{self, Decoder, Event};

/// Bytes asked of the socket per read (grown when a frame needs more).
const READ_CHUNK: usize = 4096;

pub(crate) struct Params {
    pub link: Arc<Link>,
    pub gateway: Arc<dyn ApiGateway>,
    pub peer: SocketAddr,
    pub max_message: usize,
    pub stop: watch::Receiver<bool>,
}

async fn recv(outbox: &mut Option<mpsc::Receiver<String>>) -> Option<String> {
    match outbox {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn send(io: &mut TcpStream, op: u8, payload: &[u8]) -> bool {
    io.write_all(&ws::frame(op, payload)).await.is_ok()
}

/// Serves the connection until the peer closes it, breaks the protocol, or the server stops.
/// `buf` holds bytes the peer sent right after the upgrade request, if any.
pub(crate) async fn run(mut io: TcpStream, mut buf: Vec<u8>, p: Params) {
    let Params {
        link,
        gateway,
        peer,
        max_message,
        mut stop,
    } = p;
    let mut decoder = Decoder::new(max_message);
    let mut pending: FuturesUnordered<Reply> = FuturesUnordered::new();
    let mut outbox: Option<mpsc::Receiver<String>> = None;
    let mut stopping = *stop.borrow();
    // Bytes already in `buf` are decoded before the first read.
    let mut fresh_bytes = !buf.is_empty();

    let close_code = loop {
        if stopping && pending.is_empty() {
            break ws::CLOSE_GOING_AWAY;
        }
        if !fresh_bytes {
            tokio::select! {
                biased;
                changed = stop.changed(), if !stopping => {
                    stopping = changed.is_err() || *stop.borrow();
                    continue;
                }
                Some(answer) = pending.next(), if !pending.is_empty() => {
                    if outbox.is_none() {
                        outbox = link.take_outbox();
                    }
                    if let Some(text) = answer {
                        if !send(&mut io, ws::OP_TEXT, text.as_bytes()).await {
                            break 0;
                        }
                    }
                    continue;
                }
                Some(note) = recv(&mut outbox) => {
                    if !send(&mut io, ws::OP_TEXT, note.as_bytes()).await {
                        break 0;
                    }
                    continue;
                }
                ready = io.readable(), if !stopping => {
                    if ready.is_err() {
                        break 0;
                    }
                    let want = decoder.wants(&buf).max(READ_CHUNK);
                    buf.reserve(want);
                    match io.try_read_buf(&mut buf) {
                        Ok(0) => break 0,
                        Ok(_) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                        Err(_) => break 0,
                    }
                }
            }
        }
        fresh_bytes = false;

        // Decode every complete event in `buf`.
        let mut at = 0;
        let mut closing = None;
        while closing.is_none() {
            let (used, event) = match decoder.decode(&buf[at..]) {
                Ok(r) => r,
                Err(ws::ProtocolError(code)) => {
                    closing = Some(code);
                    break;
                }
            };
            at += used;
            let Some(event) = event else {
                if used == 0 {
                    break;
                }
                continue;
            };
            match event {
                Event::Message(bytes) => match rpc::handle(&link, &bytes) {
                    Handled::Now(text) => {
                        if !send(&mut io, ws::OP_TEXT, text.as_bytes()).await {
                            closing = Some(0);
                        }
                    }
                    Handled::Later(reply) => pending.push(reply),
                },
                Event::TooBig => {
                    gateway.refused(
                        Some(peer),
                        "oversized_message",
                        &format!("a WebSocket message over {max_message} bytes"),
                    );
                    let text =
                        rpc::failure(&Value::Null, &reject_too_big_request(max_message as u32));
                    if !send(&mut io, ws::OP_TEXT, text.as_bytes()).await {
                        closing = Some(0);
                    }
                }
                Event::Ping(payload) => {
                    if !send(&mut io, ws::OP_PONG, &payload).await {
                        closing = Some(0);
                    }
                }
                Event::Pong => {}
                Event::Close(code) => closing = Some(code.unwrap_or(ws::CLOSE_NORMAL)),
            }
        }
        if let Some(code) = closing {
            break code;
        }
        buf.drain(..at);
        if buf.is_empty() && buf.capacity() > 0 {
            // Idle again: hold no buffer.
            buf = Vec::new();
        }
    };

    link.close();
    if close_code != 0 {
        let _ = io.write_all(&ws::close_frame(close_code)).await;
        let _ = io.shutdown().await;
    }
}
