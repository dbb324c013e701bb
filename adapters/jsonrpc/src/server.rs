//! The listener: one TCP port, WebSocket JSON-RPC on `/ws`, plain HTTP elsewhere.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use jsonrpsee::core::middleware::RpcServiceBuilder;
use jsonrpsee::server::{
    serve_with_graceful_shutdown, stop_channel, BatchRequestConfig, HttpBody, HttpResponse, Methods,
    ServerBuilder, ServerConfig,
};
use ports::api::{ApiGateway, ConnectionInfo};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::http_routes;
use crate::rpc::{self, ConnHandle, Gate};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Transport limits (from the `server` config section).
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub max_connections: u32,
    pub max_message_bytes: u32,
    pub max_response_bytes: u32,
    /// Serve `/metrics` to non-loopback peers.
    pub metrics_public: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_connections: 20_000,
            max_message_bytes: 64 * 1024,
            max_response_bytes: 16 * 1024 * 1024,
            metrics_public: false,
        }
    }
}

/// A running server. Dropping it does not stop it; call [`ServerHandle::stop`].
pub struct ServerHandle {
    addr: SocketAddr,
    stop: jsonrpsee::server::ServerHandle,
    accept_loop: JoinHandle<()>,
}

impl ServerHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, closes connections gracefully, waits for the accept loop.
    pub async fn stop(self) {
        let _ = self.stop.stop();
        let _ = self.accept_loop.await;
    }

    /// Resolves when the server has been stopped.
    pub async fn stopped(&self) {
        self.stop.clone().stopped().await
    }
}

#[derive(Clone)]
pub(crate) struct Shared {
    pub gateway: Arc<dyn ApiGateway>,
    pub opts: ServerOptions,
}

/// Serves `gateway` on `listener` until stopped.
pub fn serve(listener: TcpListener, gateway: Arc<dyn ApiGateway>, opts: ServerOptions) -> std::io::Result<ServerHandle> {
    let addr = listener.local_addr()?;
    let (stop_handle, server_handle) = stop_channel();
    let config = ServerConfig::builder()
        .max_connections(opts.max_connections)
        .max_request_body_size(opts.max_message_bytes)
        .max_response_body_size(opts.max_response_bytes)
        .set_batch_request_config(BatchRequestConfig::Unlimited)
        .max_subscriptions_per_connection(64)
        .ws_only()
        .build();
    let max_response = opts.max_response_bytes as usize;
    let builder = ServerBuilder::with_config(config)
        .set_rpc_middleware(RpcServiceBuilder::new().layer_fn(move |inner| Gate::new(inner, max_response)))
        .to_service_builder();
    let methods: Methods = rpc::module().into();
    let shared = Shared { gateway, opts };

    let accept_loop = tokio::spawn({
        let stop_handle = stop_handle.clone();
        async move {
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = stop_handle.clone().shutdown() => break,
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
                let svc = tower::service_fn({
                    let builder = builder.clone();
                    let methods = methods.clone();
                    let stop_handle = stop_handle.clone();
                    let shared = shared.clone();
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let builder = builder.clone();
                        let methods = methods.clone();
                        let stop_handle = stop_handle.clone();
                        let shared = shared.clone();
                        async move {
                            let response = route(req, peer, shared, move |req| {
                                let mut svc = builder.build(methods, stop_handle);
                                tower::Service::call(&mut svc, req)
                            })
                            .await;
                            Ok::<_, std::convert::Infallible>(response.unwrap_or_else(|_| {
                                http_routes::plain(
                                    http::StatusCode::INTERNAL_SERVER_ERROR,
                                    "the WebSocket upgrade failed",
                                )
                            }))
                        }
                    }
                });
                let stopped = stop_handle.clone().shutdown();
                tokio::spawn(async move {
                    let _ = serve_with_graceful_shutdown(sock, svc, stopped).await;
                });
            }
        }
    });
    Ok(ServerHandle {
        addr,
        stop: server_handle,
        accept_loop,
    })
}

async fn route<F, Fut>(
    mut req: hyper::Request<hyper::body::Incoming>,
    peer: SocketAddr,
    shared: Shared,
    jsonrpc: F,
) -> Result<HttpResponse<HttpBody>, BoxError>
where
    F: FnOnce(hyper::Request<hyper::body::Incoming>) -> Fut,
    Fut: std::future::Future<Output = Result<HttpResponse<HttpBody>, BoxError>>,
{
    if req.uri().path() == "/ws" {
        if !jsonrpsee::server::ws::is_upgrade_request(&req) {
            return Ok(http_routes::plain(
                http::StatusCode::UPGRADE_REQUIRED,
                "GET /ws upgrades to a WebSocket; send JSON-RPC 2.0 text frames over it",
            ));
        }
        let info = ConnectionInfo {
            peer: Some(peer),
            bearer: http_routes::bearer(req.headers()).map(str::to_owned),
        };
        let conn = shared.gateway.connect(info).await;
        req.extensions_mut().insert(ConnHandle(conn));
        return jsonrpc(req).await;
    }
    Ok(http_routes::handle(req, peer, &shared).await)
}
