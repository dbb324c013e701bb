//! The JSON-RPC side: a per-call middleware that hands every call to the connection's
//! [`ApiConnection`], and the one subscription (`subscribe_events`).

use std::future::Future;
use std::sync::Arc;

use domain::{ApiError, ErrorKind};
use jsonrpsee::core::middleware::{Batch, BatchEntry, BatchEntryErr, Notification, RpcServiceT};
use jsonrpsee::server::{BatchResponseBuilder, MethodResponse, ResponsePayload, RpcModule, SubscriptionMessage};
use jsonrpsee::types::{ErrorObjectOwned, Id, Request};
use ports::api::ApiConnection;
use serde_json::Value;

/// The client connection a request belongs to, put in the HTTP upgrade request's extensions
/// (jsonrpsee copies them into every call's extensions).
#[derive(Clone)]
pub struct ConnHandle(pub Arc<dyn ApiConnection>);

pub const SUBSCRIBE: &str = "subscribe_events";
pub const UNSUBSCRIBE: &str = "unsubscribe_events";
/// API.md: batches of at most 10 entries.
pub const MAX_BATCH: usize = 10;

pub fn error_object(e: &ApiError) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(e.code(), e.message(), Some(e.data()))
}

fn params_value(req: &Request<'_>) -> Result<Option<Value>, ApiError> {
    match req.params.as_ref() {
        None => Ok(None),
        Some(raw) => serde_json::from_str(raw.get())
            .map(Some)
            .map_err(|e| ApiError::invalid_params(format!("params are not valid JSON: {e}"))),
    }
}

/// The middleware. Stateless: the connection comes with each request.
#[derive(Clone)]
pub struct Gate<S> {
    inner: S,
    max_response_bytes: usize,
}

impl<S> Gate<S> {
    pub fn new(inner: S, max_response_bytes: usize) -> Self {
        Gate {
            inner,
            max_response_bytes,
        }
    }
}

impl<S> Gate<S>
where
    S: RpcServiceT<MethodResponse = MethodResponse> + Send + Sync + Clone + 'static,
{
    async fn one(inner: S, max: usize, req: Request<'_>) -> MethodResponse {
        let Some(ConnHandle(conn)) = req.extensions().get::<ConnHandle>().cloned() else {
            let e = ApiError::internal("request without a connection");
            return MethodResponse::error(req.id, error_object(&e));
        };
        let name = req.method_name().to_owned();
        if name == SUBSCRIBE || name == UNSUBSCRIBE {
            if let Err(e) = conn.admit(&name) {
                return MethodResponse::error(req.id, error_object(&e));
            }
            return inner.call(req).await;
        }
        let id = req.id.clone().into_owned();
        let outcome = match params_value(&req) {
            Ok(params) => conn.call(&name, params).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(value) => MethodResponse::response(id, ResponsePayload::success(value), max),
            Err(e) => MethodResponse::error(id, error_object(&e)),
        }
    }
}

impl<S> RpcServiceT for Gate<S>
where
    S: RpcServiceT<MethodResponse = MethodResponse, BatchResponse = MethodResponse, NotificationResponse = MethodResponse>
        + Send
        + Sync
        + Clone
        + 'static,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = MethodResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(&self, req: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        Self::one(self.inner.clone(), self.max_response_bytes, req)
    }

    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let inner = self.inner.clone();
        let max = self.max_response_bytes;
        async move {
            if batch.len() > MAX_BATCH {
                let e = ApiError::new(
                    ErrorKind::InvalidRequest,
                    "batch_too_large",
                    format!("a batch may hold at most {MAX_BATCH} entries, this one has {}", batch.len()),
                );
                return MethodResponse::error(Id::Null, error_object(&e));
            }
            let mut out = BatchResponseBuilder::new_with_limit(max);
            for entry in batch {
                let response = match entry {
                    Ok(BatchEntry::Call(req)) => Self::one(inner.clone(), max, req).await,
                    Ok(BatchEntry::Notification(n)) => {
                        run_notification(n).await;
                        continue;
                    }
                    Err(err) => {
                        let (e, id) = BatchEntryErr::into_parts(err);
                        MethodResponse::error(id, e)
                    }
                };
                if let Err(too_big) = out.append(response) {
                    return too_big;
                }
            }
            if out.is_empty() {
                // A batch of notifications only: nothing is answered.
                return MethodResponse::notification();
            }
            MethodResponse::from_batch(out.finish())
        }
    }

    fn notification<'a>(&self, n: Notification<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        async move {
            run_notification(n).await;
            MethodResponse::notification()
        }
    }
}

/// A request without `id`: executed, never answered.
async fn run_notification(n: Notification<'_>) {
    let Some(ConnHandle(conn)) = n.extensions().get::<ConnHandle>().cloned() else {
        return;
    };
    let params = n
        .params()
        .as_ref()
        .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok());
    // Subscriptions need an id to answer with; as notifications they are no-ops.
    if n.method_name() != SUBSCRIBE && n.method_name() != UNSUBSCRIBE {
        let _ = conn.call(n.method_name(), params).await;
    }
}

/// The module with `subscribe_events` / `unsubscribe_events`.
pub fn module() -> RpcModule<()> {
    let mut m = RpcModule::new(());
    m.register_subscription(SUBSCRIBE, "event", UNSUBSCRIBE, |params, pending, _ctx, ext| async move {
        let Some(ConnHandle(conn)) = ext.get::<ConnHandle>().cloned() else {
            pending
                .reject(error_object(&ApiError::internal("subscription without a connection")))
                .await;
            return;
        };
        let params: Option<Value> = params.as_str().and_then(|s| serde_json::from_str(s).ok());
        let mut stream = match conn.subscribe(params).await {
            Ok(s) => s,
            Err(e) => {
                pending.reject(error_object(&e)).await;
                return;
            }
        };
        let Ok(sink) = pending.accept().await else {
            return;
        };
        loop {
            tokio::select! {
                next = stream.next() => {
                    let Some(n) = next else { break };
                    let Ok(msg) = SubscriptionMessage::new(n.method, sink.subscription_id(), &n.result) else {
                        continue;
                    };
                    if sink.send(msg).await.is_err() {
                        break;
                    }
                }
                _ = sink.closed() => break,
            }
        }
    })
    .expect("subscribe_events is registered once on a fresh module");
    m
}
