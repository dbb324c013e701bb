//! The JSON-RPC 2.0 side of a connection: parses a message (one request or a batch), hands
//! every call to the connection's [`ApiConnection`], frames the answers, and runs the one
//! subscription pair (`subscribe_events` / `unsubscribe_events`).
//!
//! Error objects and codes for the protocol itself (-32700, -32600, oversized) are jsonrpsee's
//! (`jsonrpsee::types`), so clients see what a jsonrpsee server would answer.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use domain::{ApiError, ErrorKind};
use jsonrpsee::types::error::{reject_too_big_batch_response, ErrorCode, ErrorObjectOwned};
use ports::api::{ApiConnection, EventStream};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

pub const SUBSCRIBE: &str = "subscribe_events";
pub const UNSUBSCRIBE: &str = "unsubscribe_events";
/// API.md: batches of at most 10 entries.
pub const MAX_BATCH: usize = 10;
/// Answers and notifications queued for one connection before producers wait
/// (jsonrpsee's default message buffer).
const OUTBOX: usize = 1024;

pub type Reply = Pin<Box<dyn Future<Output = Option<String>> + Send>>;

/// One connection as its calls see it.
pub struct Link {
    pub conn: Arc<dyn ApiConnection>,
    max_response: usize,
    subs: Mutex<Subs>,
}

/// Subscriptions, created on the first `subscribe_events` (most connections never subscribe,
/// and an idle connection should hold no queue).
#[derive(Default)]
struct Subs {
    outbox: Option<mpsc::Sender<String>>,
    /// The receiving end, until the connection task takes it.
    fresh: Option<mpsc::Receiver<String>>,
    active: Vec<(u64, AbortHandle)>,
}

static NEXT_SUBSCRIPTION: AtomicU64 = AtomicU64::new(1);

impl Link {
    pub fn new(conn: Arc<dyn ApiConnection>, max_response: usize) -> Link {
        Link {
            conn,
            max_response,
            subs: Mutex::new(Subs::default()),
        }
    }

    fn subs(&self) -> std::sync::MutexGuard<'_, Subs> {
        self.subs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The notification queue, if the first subscription just created it.
    pub fn take_outbox(&self) -> Option<mpsc::Receiver<String>> {
        self.subs().fresh.take()
    }

    fn outbox(&self) -> mpsc::Sender<String> {
        let mut s = self.subs();
        match &s.outbox {
            Some(tx) => tx.clone(),
            None => {
                let (tx, rx) = mpsc::channel(OUTBOX);
                s.outbox = Some(tx.clone());
                s.fresh = Some(rx);
                tx
            }
        }
    }

    /// Ends every subscription (the connection is closing).
    pub fn close(&self) {
        let mut s = self.subs();
        for (_, task) in s.active.drain(..) {
            task.abort();
        }
        s.outbox = None;
    }
}

#[derive(Serialize)]
struct Success<'a, T: Serialize> {
    jsonrpc: &'static str,
    id: &'a Value,
    result: T,
}

#[derive(Serialize)]
struct Failure<'a> {
    jsonrpc: &'static str,
    id: &'a Value,
    error: &'a ErrorObjectOwned,
}

#[derive(Serialize)]
struct SubscriptionParams<'a> {
    subscription: u64,
    result: &'a Value,
}

#[derive(Serialize)]
struct SubscriptionNotice<'a> {
    jsonrpc: &'static str,
    method: &'a str,
    params: SubscriptionParams<'a>,
}

pub fn error_object(e: &ApiError) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(e.code(), e.message(), Some(e.data()))
}

pub fn failure(id: &Value, error: &ErrorObjectOwned) -> String {
    serde_json::to_string(&Failure {
        jsonrpc: "2.0",
        id,
        error,
    })
    .expect("a JSON-RPC error object always serialises")
}

fn success<T: Serialize>(id: &Value, result: T, max: usize) -> String {
    match serde_json::to_string(&Success {
        jsonrpc: "2.0",
        id,
        result,
    }) {
        Ok(text) if text.len() <= max => text,
        Ok(_) => failure(
            id,
            &ErrorObjectOwned::owned(
                jsonrpsee::types::error::OVERSIZED_RESPONSE_CODE,
                jsonrpsee::types::error::OVERSIZED_RESPONSE_MSG,
                Some(format!("Exceeded max limit of {max}")),
            ),
        ),
        Err(e) => failure(
            id,
            &error_object(&ApiError::internal(format!(
                "the result does not serialise: {e}"
            ))),
        ),
    }
}

fn outcome(id: &Value, result: Result<Value, ApiError>, max: usize) -> String {
    match result {
        Ok(value) => success(id, &value, max),
        Err(e) => failure(id, &error_object(&e)),
    }
}

fn invalid_request(id: &Value) -> String {
    failure(id, &ErrorCode::InvalidRequest.into())
}

/// One entry of a message, checked for the JSON-RPC 2.0 shape.
enum Entry {
    Call {
        id: Value,
        method: String,
        params: Option<Value>,
    },
    Notification {
        method: String,
        params: Option<Value>,
    },
    /// Not a request: answered -32600 with the id when it had a usable one.
    Invalid { id: Value },
}

fn entry(v: Value) -> Entry {
    let Value::Object(mut m) = v else {
        return Entry::Invalid { id: Value::Null };
    };
    let id = m.remove("id");
    // jsonrpsee's ids: null, an unsigned integer or a string.
    let id_ok = match &id {
        None | Some(Value::Null) | Some(Value::String(_)) => true,
        Some(Value::Number(n)) => n.is_u64(),
        Some(_) => false,
    };
    let version_ok = m.get("jsonrpc").and_then(Value::as_str) == Some("2.0");
    let method = match m.remove("method") {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    let (Some(method), true, true) = (method, id_ok, version_ok) else {
        let id = if id_ok {
            id.unwrap_or(Value::Null)
        } else {
            Value::Null
        };
        return Entry::Invalid { id };
    };
    let params = match m.remove("params") {
        None | Some(Value::Null) => None,
        Some(p) => Some(p),
    };
    match id {
        Some(id) => Entry::Call { id, method, params },
        None => Entry::Notification { method, params },
    }
}

/// What to do with one WebSocket message: an answer now, or work whose answer comes later
/// (`None` when nothing is answered: notifications).
pub enum Handled {
    Now(String),
    Later(Reply),
}

pub fn handle(link: &Arc<Link>, message: &[u8]) -> Handled {
    let value: Value = match serde_json::from_slice(message) {
        Ok(v) => v,
        Err(_) => return Handled::Now(failure(&Value::Null, &ErrorCode::ParseError.into())),
    };
    match value {
        Value::Array(entries) => {
            if entries.is_empty() {
                return Handled::Now(invalid_request(&Value::Null));
            }
            if entries.len() > MAX_BATCH {
                let e = ApiError::new(
                    ErrorKind::InvalidRequest,
                    "batch_too_large",
                    format!(
                        "a batch may hold at most {MAX_BATCH} entries, this one has {}",
                        entries.len()
                    ),
                );
                return Handled::Now(failure(&Value::Null, &error_object(&e)));
            }
            Handled::Later(Box::pin(batch(Arc::clone(link), entries)))
        }
        single => match entry(single) {
            Entry::Invalid { id } => Handled::Now(invalid_request(&id)),
            Entry::Call { id, method, params } => {
                let link = Arc::clone(link);
                Handled::Later(Box::pin(async move {
                    call(&link, id, method, params, false).await
                }))
            }
            Entry::Notification { method, params } => {
                let link = Arc::clone(link);
                Handled::Later(Box::pin(async move {
                    notification(&link, &method, params).await;
                    None
                }))
            }
        },
    }
}

/// Entries run one after the other, each authorised on its own; notifications are not answered.
async fn batch(link: Arc<Link>, entries: Vec<Value>) -> Option<String> {
    let max = link.max_response;
    let mut out = String::from("[");
    for v in entries {
        let answer = match entry(v) {
            Entry::Invalid { id } => Some(invalid_request(&id)),
            Entry::Call { id, method, params } => call(&link, id, method, params, true).await,
            Entry::Notification { method, params } => {
                notification(&link, &method, params).await;
                None
            }
        };
        if let Some(a) = answer {
            if out.len() > 1 {
                out.push(',');
            }
            out.push_str(&a);
            if out.len() + 1 > max {
                return Some(failure(&Value::Null, &reject_too_big_batch_response(max)));
            }
        }
    }
    if out.len() == 1 {
        // Notifications only: nothing is answered.
        return None;
    }
    out.push(']');
    Some(out)
}

async fn notification(link: &Link, method: &str, params: Option<Value>) {
    // Subscriptions need an id to answer with; as notifications they are no-ops.
    if method != SUBSCRIBE && method != UNSUBSCRIBE {
        let _ = link.conn.call(method, params).await;
    }
}

async fn call(
    link: &Link,
    id: Value,
    method: String,
    params: Option<Value>,
    in_batch: bool,
) -> Option<String> {
    match method.as_str() {
        SUBSCRIBE => subscribe(link, id, params, in_batch).await,
        UNSUBSCRIBE => Some(unsubscribe(link, &id, params)),
        _ => Some(outcome(
            &id,
            link.conn.call(&method, params).await,
            link.max_response,
        )),
    }
}

/// `subscribe_events`: the app checks the topics; the answer (the subscription id) goes out
/// before the first notification.
async fn subscribe(
    link: &Link,
    id: Value,
    params: Option<Value>,
    in_batch: bool,
) -> Option<String> {
    if let Err(e) = link.conn.admit(SUBSCRIBE) {
        return Some(failure(&id, &error_object(&e)));
    }
    let stream = match link.conn.subscribe(params).await {
        Ok(s) => s,
        Err(e) => return Some(failure(&id, &error_object(&e))),
    };
    let sub = NEXT_SUBSCRIPTION.fetch_add(1, Ordering::Relaxed);
    let answer = success(&id, sub, link.max_response);
    let outbox = link.outbox();
    // Registered before the answer goes out, so an immediate unsubscribe finds it; delivery
    // starts only once the answer is queued, so no notification can overtake it.
    let (go, start) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn({
        let outbox = outbox.clone();
        let max = link.max_response;
        async move {
            if start.await.is_ok() {
                deliver(stream, sub, outbox, max).await;
            }
        }
    });
    {
        let mut s = link.subs();
        s.active.retain(|(_, t)| !t.is_finished());
        s.active.push((sub, task.abort_handle()));
    }
    let answer = match in_batch {
        true => Some(answer),
        false => {
            if outbox.send(answer).await.is_err() {
                task.abort();
                return None;
            }
            None
        }
    };
    let _ = go.send(());
    answer
}

async fn deliver(
    mut stream: Box<dyn EventStream>,
    sub: u64,
    outbox: mpsc::Sender<String>,
    max: usize,
) {
    while let Some(n) = stream.next().await {
        let text = match serde_json::to_string(&SubscriptionNotice {
            jsonrpc: "2.0",
            method: n.method,
            params: SubscriptionParams {
                subscription: sub,
                result: &n.result,
            },
        }) {
            Ok(t) if t.len() <= max => t,
            _ => continue,
        };
        if outbox.send(text).await.is_err() {
            break;
        }
    }
}

/// `unsubscribe_events [id]`: `true` when the subscription was active on this connection.
fn unsubscribe(link: &Link, id: &Value, params: Option<Value>) -> String {
    if let Err(e) = link.conn.admit(UNSUBSCRIBE) {
        return failure(id, &error_object(&e));
    }
    let sub = match params {
        Some(Value::Array(a)) if a.len() == 1 => a[0].clone(),
        Some(Value::Object(m)) if m.len() == 1 && m.contains_key("subscription") => {
            m["subscription"].clone()
        }
        _ => return failure(id, &ErrorCode::InvalidParams.into()),
    };
    let found = sub.as_u64().and_then(|sub| {
        let mut s = link.subs();
        let at = s
            .active
            .iter()
            .position(|(k, t)| *k == sub && !t.is_finished())?;
        let (_, task) = s.active.swap_remove(at);
        task.abort();
        Some(())
    });
    success(id, found.is_some(), link.max_response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kind(v: Value) -> &'static str {
        match entry(v) {
            Entry::Call { .. } => "call",
            Entry::Notification { .. } => "notification",
            Entry::Invalid { .. } => "invalid",
        }
    }

    #[test]
    fn entries_are_checked_for_the_json_rpc_shape() {
        assert_eq!(
            kind(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"})),
            "call"
        );
        assert_eq!(
            kind(json!({"jsonrpc": "2.0", "id": "a", "method": "ping", "params": []})),
            "call"
        );
        assert_eq!(
            kind(json!({"jsonrpc": "2.0", "id": null, "method": "ping"})),
            "call"
        );
        assert_eq!(
            kind(json!({"jsonrpc": "2.0", "method": "ping"})),
            "notification"
        );
        assert_eq!(
            kind(json!({"jsonrpc": "1.0", "id": 7, "method": "ping"})),
            "invalid"
        );
        assert_eq!(kind(json!({"jsonrpc": "2.0", "id": 8})), "invalid");
        assert_eq!(
            kind(json!({"jsonrpc": "2.0", "id": -1, "method": "ping"})),
            "invalid"
        );
        assert_eq!(
            kind(json!({"jsonrpc": "2.0", "id": 1, "method": 5})),
            "invalid"
        );
        assert_eq!(kind(json!(5)), "invalid");
    }

    #[test]
    fn invalid_requests_keep_a_usable_id() {
        let Entry::Invalid { id } = entry(json!({"jsonrpc": "1.0", "id": 7, "method": "ping"}))
        else {
            panic!("invalid by construction");
        };
        let answer: Value = serde_json::from_str(&invalid_request(&id)).unwrap();
        assert_eq!(
            answer,
            json!({"jsonrpc": "2.0", "id": 7, "error": {"code": -32600, "message": "Invalid request"}})
        );
    }

    #[test]
    fn oversized_results_become_an_error() {
        let answer: Value = serde_json::from_str(&success(&json!(1), "x".repeat(100), 50)).unwrap();
        assert_eq!(answer["error"]["code"], -32008);
    }
}
