//! The listener: one TCP port, WebSocket JSON-RPC on `/ws`, plain HTTP elsewhere.
//!
//! hyper serves HTTP/1.1 (the routes, and the upgrade request on `/ws`); once upgraded, the
//! hyper connection ends and the socket goes to a lean WebSocket task ([`crate::conn`]) that
//! holds no buffer while idle. A bare jsonrpsee server keeps ~20 KiB per idle connection
//! (8 KiB read and 8 KiB write buffers, two tasks); see docs/performance.md.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::body::{HttpBody, HttpResponse};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use ports::api::{ApiGateway, AuthState, ConnectionInfo};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::conn;
use crate::http_routes;
use crate::limits::Unauthenticated;
use crate::rpc::Link;

/// Transport limits (from the `server` config section).
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub max_connections: u32,
    pub max_message_bytes: u32,
    pub max_response_bytes: u32,
    /// Serve `/metrics` to non-loopback peers.
    pub metrics_public: bool,
    /// A connection not authenticated this long after its upgrade is closed (1008).
    pub auth_timeout: Duration,
    /// Unauthenticated connections at most, in total (below `max_connections`).
    pub max_unauthenticated: u32,
    /// Unauthenticated connections at most from one source address.
    pub max_unauthenticated_per_ip: u32,
    /// A silent peer is pinged after this long, and dropped after as long again.
    pub ping_interval: Duration,
    /// Event subscriptions one connection may hold.
    pub max_subscriptions: u32,
    /// MediaMTX's WebRTC and HLS ports, which the console's pages may reach (its
    /// Content-Security-Policy); empty without a media server.
    pub console_media_ports: Vec<u16>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_connections: 20_000,
            max_message_bytes: 64 * 1024,
            max_response_bytes: 16 * 1024 * 1024,
            metrics_public: false,
            auth_timeout: Duration::from_secs(10),
            max_unauthenticated: 1000,
            max_unauthenticated_per_ip: 32,
            ping_interval: Duration::from_secs(30),
            max_subscriptions: 32,
            console_media_ports: Vec::new(),
        }
    }
}

/// How long [`ServerHandle::stop`] waits for connections to finish closing.
pub const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// A running server. Dropping it does not stop it; call [`ServerHandle::stop`].
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Arc<watch::Sender<bool>>,
    accept_loop: JoinHandle<()>,
}

impl ServerHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, closes connections gracefully (calls in flight are answered first,
    /// WebSocket clients get a going-away close frame) and waits, at most [`CLOSE_GRACE`],
    /// until every connection has ended, so that a process exiting after this has written
    /// what it owed its clients.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        let _ = self.accept_loop.await;
        // Every connection task holds a receiver of the stop channel: the channel is closed
        // once the last of them has ended.
        let _ = tokio::time::timeout(CLOSE_GRACE, self.stop.closed()).await;
    }

    /// Resolves when the server has been stopped.
    pub async fn stopped(&self) {
        let mut rx = self.stop.subscribe();
        let _ = rx.wait_for(|stopped| *stopped).await;
    }
}

#[derive(Clone)]
pub(crate) struct Shared {
    pub gateway: Arc<dyn ApiGateway>,
    pub opts: ServerOptions,
    /// Open WebSocket connections.
    connections: Arc<AtomicU32>,
    /// Those not authenticated yet.
    unauthenticated: Arc<Unauthenticated>,
    stop: watch::Receiver<bool>,
}

/// Serves `gateway` on `listener` until stopped.
pub fn serve(
    listener: TcpListener,
    gateway: Arc<dyn ApiGateway>,
    opts: ServerOptions,
) -> std::io::Result<ServerHandle> {
    let addr = listener.local_addr()?;
    let stop = Arc::new(watch::Sender::new(false));
    let shared = Shared {
        gateway,
        unauthenticated: Unauthenticated::new(
            opts.max_unauthenticated,
            opts.max_unauthenticated_per_ip,
        ),
        opts,
        connections: Arc::new(AtomicU32::new(0)),
        stop: stop.subscribe(),
    };
    let accept_loop = tokio::spawn({
        // Held by the loop: connections see the stop signal, never a dropped sender.
        let stop = Arc::clone(&stop);
        async move {
            let mut stopped = stop.subscribe();
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = stopped_signal(&mut stopped) => break,
                };
                let (sock, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(_) => {
                        // Out of fds or a connection reset before accept: back off briefly.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let _ = sock.set_nodelay(true);
                tokio::spawn(http_connection(sock, peer, shared.clone()));
            }
        }
    });
    Ok(ServerHandle {
        addr,
        stop,
        accept_loop,
    })
}

/// One HTTP/1.1 connection: requests until it closes or upgrades.
async fn http_connection(sock: TcpStream, peer: SocketAddr, shared: Shared) {
    let mut stop = shared.stop.clone();
    let svc = hyper::service::service_fn(move |req| {
        let shared = shared.clone();
        async move { Ok::<_, std::convert::Infallible>(route(req, peer, shared).await) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(sock), svc)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stopped_signal(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Resolves once the stop signal is up (the value guard is not held across awaits).
async fn stopped_signal(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stopped| *stopped).await;
}

/// Counts an open WebSocket connection until dropped.
struct Slot(Arc<AtomicU32>);

impl Slot {
    fn take(counter: &Arc<AtomicU32>, max: u32) -> Option<Slot> {
        counter
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(Arc::clone(counter)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

async fn route(
    req: hyper::Request<hyper::body::Incoming>,
    peer: SocketAddr,
    shared: Shared,
) -> HttpResponse<HttpBody> {
    if req.uri().path() == "/ws" {
        return upgrade(req, peer, shared).await;
    }
    if crate::console::owns(req.uri().path()) {
        return crate::console::handle(req, peer, &shared).await;
    }
    http_routes::handle(req, peer, &shared).await
}

async fn upgrade(
    mut req: hyper::Request<hyper::body::Incoming>,
    peer: SocketAddr,
    shared: Shared,
) -> HttpResponse<HttpBody> {
    if !soketto::handshake::http::is_upgrade_request(&req) {
        return http_routes::plain(
            http::StatusCode::UPGRADE_REQUIRED,
            "GET /ws upgrades to a WebSocket; send JSON-RPC 2.0 text frames over it",
        );
    }
    if let Some(refused) = handshake_refusal(&req) {
        return refused;
    }
    let Some(slot) = Slot::take(&shared.connections, shared.opts.max_connections) else {
        return http_routes::plain(
            http::StatusCode::TOO_MANY_REQUESTS,
            "Too many connections. Please try again later.",
        );
    };
    let response = match soketto::handshake::http::Server::new().receive_request(&req) {
        Ok(r) => r,
        Err(_) => {
            return http_routes::plain(
                http::StatusCode::BAD_REQUEST,
                "WebSocket upgrade handshake failed",
            )
        }
    };
    let bearer = http_routes::bearer(req.headers()).map(str::to_owned);
    // The console's session cookie, when there is no bearer token: only from a page of this
    // service's own origin (a page elsewhere would ride on the browser's cookie).
    let session = match bearer {
        Some(_) => None,
        None => crate::console::session_cookie(req.headers()).map(str::to_owned),
    };
    if session.is_some() {
        if let Err(why) = crate::console::check_origin(req.headers()) {
            shared
                .gateway
                .refused(Some(peer), "cross_origin_websocket", &why);
            return http_routes::plain(
                http::StatusCode::FORBIDDEN,
                "a WebSocket with the console's session cookie must come from the console's own origin",
            );
        }
    }
    // Without a credential the connection starts unauthenticated: it needs a place in that
    // quota before the app does anything for it.
    let mut unauth = None;
    if bearer.is_none() && session.is_none() {
        match shared.unauthenticated.take(peer.ip()) {
            Ok(s) => unauth = Some(s),
            Err(r) => return refuse_unauthenticated(&shared, peer, r),
        }
    }
    let host = req
        .headers()
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    let info = ConnectionInfo {
        peer: Some(peer),
        bearer,
        host,
        session,
    };
    let conn = shared.gateway.connect(info).await;
    if unauth.is_none() && !matches!(conn.auth_state(), AuthState::Authenticated { .. }) {
        // A bearer token or a session that did not authenticate.
        match shared.unauthenticated.take(peer.ip()) {
            Ok(s) => unauth = Some(s),
            Err(r) => return refuse_unauthenticated(&shared, peer, r),
        }
    }
    let on_upgrade = hyper::upgrade::on(&mut req);
    drop(req);
    let params = conn::Params {
        link: Arc::new(Link::new(
            conn,
            shared.opts.max_response_bytes as usize,
            shared.opts.max_subscriptions as usize,
        )),
        gateway: Arc::clone(&shared.gateway),
        peer,
        max_message: shared.opts.max_message_bytes as usize,
        stop: shared.stop.clone(),
        unauth,
        auth_timeout: shared.opts.auth_timeout,
        ping_interval: shared.opts.ping_interval,
    };
    // A task of its own: the hyper connection (and its buffers) ends with the upgrade.
    tokio::spawn(async move {
        let _slot = slot;
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        // The socket served by `http_connection` is a `TokioIo<TcpStream>`.
        let Ok(parts) = upgraded.downcast::<TokioIo<TcpStream>>() else {
            return;
        };
        // Copy the bytes read past the handshake and let go of hyper's read buffer now: a
        // `Bytes` view into it would keep its whole 8 KiB alive for the connection's life.
        let hyper::upgrade::Parts { io, read_buf, .. } = parts;
        let early = read_buf.to_vec();
        drop(read_buf);
        conn::run(io.into_inner(), early, params).await;
    });
    response.map(|()| HttpBody::empty())
}

fn refuse_unauthenticated(
    shared: &Shared,
    peer: SocketAddr,
    why: crate::limits::Refusal,
) -> HttpResponse<HttpBody> {
    let text = why.text();
    shared
        .gateway
        .refused(Some(peer), "unauthenticated_quota", &text);
    http_routes::plain_owned(http::StatusCode::TOO_MANY_REQUESTS, text)
}

/// RFC 6455 §4.1-4.2: the opening handshake is an HTTP/1.1 (or later) GET, for version 13.
fn handshake_refusal<B>(req: &hyper::Request<B>) -> Option<HttpResponse<HttpBody>> {
    if req.method() != http::Method::GET {
        let mut r = http_routes::plain(
            http::StatusCode::METHOD_NOT_ALLOWED,
            "the WebSocket handshake is a GET request",
        );
        r.headers_mut()
            .insert(http::header::ALLOW, http::HeaderValue::from_static("GET"));
        return Some(r);
    }
    if req.version() < http::Version::HTTP_11 {
        return Some(http_routes::plain(
            http::StatusCode::BAD_REQUEST,
            "the WebSocket handshake needs HTTP/1.1",
        ));
    }
    let version = req
        .headers()
        .get(http::header::SEC_WEBSOCKET_VERSION)
        .map(|v| v.as_bytes());
    if version != Some(b"13") {
        let mut r = http_routes::plain(
            http::StatusCode::UPGRADE_REQUIRED,
            "this server speaks WebSocket version 13 only",
        );
        r.headers_mut().insert(
            http::header::SEC_WEBSOCKET_VERSION,
            http::HeaderValue::from_static("13"),
        );
        return Some(r);
    }
    None
}
