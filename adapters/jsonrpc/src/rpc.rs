//! The JSON-RPC 2.0 side of a connection: parses a message (one request or a batch), hands
//! every call — the subscription pair included — to the connection's [`ApiConnection`]
//! (the app admits each), frames the answers, and numbers and keeps the subscriptions
//! (`subscribe_events` / `unsubscribe_events`).
//!
//! Error objects and codes for the protocol itself (-32700, -32600, oversized) are jsonrpsee's
//! (`jsonrpsee::types`), so clients see what a jsonrpsee server would answer.
//!
//! Past 600 lines only by its tests (the engine is ~580): framing, batches and the answers they
//! need are one protocol.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use domain::{ApiError, ErrorKind};
use jsonrpsee::types::error::{reject_too_big_batch_response, ErrorCode, ErrorObjectOwned};
use ports::api::{ApiConnection, AuthState, EventStream, Outcome, StreamEnd};
use serde::Serialize;
use serde_json::Value;

use crate::ws;

/// The last notification of a subscription ended by the service because the connection's
/// credential ended (expired, revoked): no event follows it.
pub const SUBSCRIPTION_ENDED: &str = "subscription_ended";
/// API.md: batches of at most 10 entries.
pub const MAX_BATCH: usize = 10;

pub type Reply = Pin<Box<dyn Future<Output = Option<Answer>> + Send>>;

/// A subscription whose answer has not gone out yet.
pub type NewSub = (u64, Box<dyn EventStream>);

/// The answer to a message, and the subscriptions it created: they deliver only once the
/// answer is queued, so no notification can overtake it.
pub struct Answer {
    pub text: String,
    pub subs: Vec<NewSub>,
}

/// One connection as its calls see it.
pub struct Link {
    pub conn: Arc<dyn ApiConnection>,
    max_response: usize,
    max_subs: usize,
    /// Subscriptions that exist: active, or created and waiting for their answer to go out.
    sub_count: AtomicUsize,
    subs: Mutex<Subs>,
}

/// `subscription_ended`'s params.
#[derive(Serialize)]
struct Ended<'a> {
    subscription: u64,
    result: EndedWhy<'a>,
}

#[derive(Serialize)]
struct EndedWhy<'a> {
    reason: &'a str,
    details: &'a str,
}

#[derive(Serialize)]
struct Note<P: Serialize> {
    jsonrpc: &'static str,
    method: &'static str,
    params: P,
}

/// Live subscriptions, polled by the connection's task itself: a publish wakes that task
/// directly, and everything waiting for the connection goes out in one write.
#[derive(Default)]
struct Subs {
    active: Vec<NewSub>,
    /// Where a notification's payload is assembled (kept while the connection subscribes).
    scratch: Vec<u8>,
}

static NEXT_SUBSCRIPTION: AtomicU64 = AtomicU64::new(1);

impl Link {
    pub fn new(conn: Arc<dyn ApiConnection>, max_response: usize, max_subs: usize) -> Link {
        Link {
            conn,
            max_response,
            max_subs,
            sub_count: AtomicUsize::new(0),
            subs: Mutex::new(Subs::default()),
        }
    }

    /// Takes a place for one more subscription, if the connection has one left.
    fn reserve_sub(&self) -> bool {
        self.sub_count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max_subs).then_some(n + 1)
            })
            .is_ok()
    }

    fn release_subs(&self, n: usize) {
        if n > 0 {
            let _ = self
                .sub_count
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
                    Some(c.saturating_sub(n))
                });
        }
    }

    /// The credential ended: every subscription ends, each with a `subscription_ended`
    /// notification saying why (appended to `out`); nothing more is delivered.
    fn end_all(&self, active: &mut Vec<NewSub>, why: &ApiError, out: &mut Vec<u8>) {
        for (sub, _) in active.drain(..) {
            let note = Note {
                jsonrpc: "2.0",
                method: SUBSCRIPTION_ENDED,
                params: Ended {
                    subscription: sub,
                    result: EndedWhy {
                        reason: &why.reason,
                        details: &why.details,
                    },
                },
            };
            let text = serde_json::to_vec(&note).expect("plain strings and numbers serialise");
            ws::frame_into(out, ws::OP_TEXT, &text);
        }
        self.sub_count.store(0, Ordering::Release);
    }

    /// When the connection's credential has ended, ends its subscriptions (see `end_all`).
    /// `true` when it did.
    pub fn end_if_credential_ended(&self, out: &mut Vec<u8>) -> bool {
        let mut s = self.subs();
        if s.active.is_empty() {
            return false;
        }
        match self.conn.auth_state() {
            AuthState::Ended(why) => {
                self.end_all(&mut s.active, &why, out);
                true
            }
            _ => false,
        }
    }

    /// Appends every notification waiting now, without waiting (the connection is closing:
    /// what was published before reaches the client before the close frame).
    pub fn drain_notes(&self, out: &mut Vec<u8>) {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        while let Poll::Ready(Ok(())) = self.poll_notes(&mut cx, out, usize::MAX) {
            if !self.subscribed() {
                break;
            }
        }
    }

    fn subs(&self) -> std::sync::MutexGuard<'_, Subs> {
        self.subs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts delivery on subscriptions whose answer has just been queued.
    /// Those of an answer that was lost are given back with `drop_subs`.
    pub fn start(&self, subs: Vec<NewSub>) {
        if !subs.is_empty() {
            self.subs().active.extend(subs);
        }
    }

    pub fn subscribed(&self) -> bool {
        !self.subs().active.is_empty()
    }

    /// Appends a frame for every waiting notification of every subscription to `out`, one
    /// subscription after the other, until none waits or `out` holds `limit` bytes (when it
    /// already does, only looks for a subscription that ended).
    /// `Ready(Ok(()))` when something was appended or `out` is full, `Pending` (every
    /// subscription will wake the task) when nothing waits, `Ready(Err(secs))` when a
    /// subscription stayed stuck for `secs`: the connection is to be closed.
    pub fn poll_notes(
        &self,
        cx: &mut Context<'_>,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Poll<Result<(), u64>> {
        let mut guard = self.subs();
        let Subs { active, scratch } = &mut *guard;
        if out.len() >= limit {
            // No room: only see whether a subscription ended (stuck, most likely).
            for (_, stream) in active.iter_mut() {
                if let Poll::Ready(StreamEnd::Stuck { secs }) = stream.poll_end(cx) {
                    return Poll::Ready(Err(secs));
                }
            }
            return Poll::Pending;
        }
        let mut appended = false;
        let mut credential_checked = false;
        loop {
            let mut progress = false;
            let mut i = 0;
            while i < active.len() {
                if out.len() >= limit {
                    return Poll::Ready(Ok(()));
                }
                let stream = &mut active[i].1;
                match stream.poll_next(cx) {
                    Poll::Pending => {}
                    Poll::Ready(Ok(n)) => {
                        if !credential_checked {
                            // No event goes out once the credential has ended (expired or
                            // revoked since the last call): checked once per delivery round.
                            credential_checked = true;
                            if let AuthState::Ended(why) = self.conn.auth_state() {
                                self.end_all(active, &why, out);
                                return Poll::Ready(Ok(()));
                            }
                        }
                        let (sub, _) = &active[i];
                        scratch.clear();
                        scratch.extend_from_slice(br#"{"jsonrpc":"2.0","method":""#);
                        scratch.extend_from_slice(n.method.as_bytes());
                        scratch.extend_from_slice(br#"","params":{"subscription":"#);
                        scratch.extend_from_slice(sub.to_string().as_bytes());
                        scratch.extend_from_slice(br#","result":"#);
                        n.write_result(scratch);
                        scratch.extend_from_slice(b"}}");
                        if scratch.len() <= self.max_response {
                            ws::frame_into(out, ws::OP_TEXT, scratch);
                            appended = true;
                        }
                        progress = true;
                    }
                    Poll::Ready(Err(StreamEnd::Stuck { secs })) => {
                        return Poll::Ready(Err(secs));
                    }
                    Poll::Ready(Err(StreamEnd::Closed)) => {
                        // The service is stopping: this subscription is over.
                        active.swap_remove(i);
                        self.release_subs(1);
                        continue;
                    }
                }
                i += 1;
            }
            if !progress {
                break;
            }
        }
        if scratch.capacity() > 64 * 1024 {
            *scratch = Vec::new();
        }
        if appended {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }

    /// Ends every subscription (the connection is closing).
    pub fn close(&self) {
        let mut s = self.subs();
        s.active.clear();
        self.sub_count.store(0, Ordering::Release);
        s.scratch = Vec::new();
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

/// The method and params of a call or notification (the fuzz target's view of `entry`).
pub fn fuzz_entry(v: Value) -> Option<(String, Option<Value>)> {
    match entry(v) {
        Entry::Call { method, params, .. } | Entry::Notification { method, params } => {
            Some((method, params))
        }
        Entry::Invalid { .. } => None,
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
                    let mut subs = Vec::new();
                    let text = call(&link, id, method, params, &mut subs).await;
                    Some(Answer { text, subs })
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
async fn batch(link: Arc<Link>, entries: Vec<Value>) -> Option<Answer> {
    let max = link.max_response;
    let mut out = String::from("[");
    let mut subs = Vec::new();
    for v in entries {
        let answer = match entry(v) {
            Entry::Invalid { id } => Some(invalid_request(&id)),
            Entry::Call { id, method, params } => {
                Some(call(&link, id, method, params, &mut subs).await)
            }
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
                // The answer is lost, and so are the subscriptions it would have named.
                link.release_subs(subs.len());
                return Some(Answer {
                    text: failure(&Value::Null, &reject_too_big_batch_response(max)),
                    subs: Vec::new(),
                });
            }
        }
    }
    if out.len() == 1 {
        // Notifications only: nothing is answered.
        return None;
    }
    out.push(']');
    Some(Answer { text: out, subs })
}

async fn notification(link: &Link, method: &str, params: Option<Value>) {
    // Admitted and counted like a call; a subscription made without an id to answer with
    // is dropped at once (its events would have no subscription id).
    let _ = link.conn.call(method, params).await;
}

/// One call; subscriptions it creates go to `fresh` (started once the answer is queued).
/// The app admits every method, the subscription pair included; the transport numbers
/// subscriptions and keeps the connection's list.
async fn call(
    link: &Link,
    id: Value,
    method: String,
    params: Option<Value>,
    fresh: &mut Vec<NewSub>,
) -> String {
    match link.conn.call(&method, params).await {
        Ok(Outcome::Result(v)) => outcome(&id, Ok(v), link.max_response),
        Ok(Outcome::Subscribed(stream)) => subscribed(link, id, stream, fresh),
        Ok(Outcome::Unsubscribe(sub)) => unsubscribe(link, &id, &sub, fresh),
        Err(e) => failure(&id, &error_object(&e)),
    }
}

/// `subscribe_events`, admitted: numbered, or refused past the connection's limit.
fn subscribed(
    link: &Link,
    id: Value,
    stream: Box<dyn EventStream>,
    fresh: &mut Vec<NewSub>,
) -> String {
    if !link.reserve_sub() {
        let e = ApiError::new(
            ErrorKind::InvalidState,
            "subscription_limit",
            format!(
                "this connection already holds {} subscriptions, the most server.max_subscriptions allows; unsubscribe one first",
                link.max_subs
            ),
        )
        .with("max_subscriptions", link.max_subs);
        return failure(&id, &error_object(&e));
    }
    let sub = NEXT_SUBSCRIPTION.fetch_add(1, Ordering::Relaxed);
    fresh.push((sub, stream));
    success(&id, sub, link.max_response)
}

/// `unsubscribe_events`, admitted: `true` when the subscription was active on this
/// connection (or created earlier in the same batch).
fn unsubscribe(link: &Link, id: &Value, sub: &Value, fresh: &mut Vec<NewSub>) -> String {
    let found = sub.as_u64().is_some_and(|sub| {
        if let Some(at) = fresh.iter().position(|(k, _)| *k == sub) {
            fresh.swap_remove(at);
            return true;
        }
        let mut s = link.subs();
        match s.active.iter().position(|(k, _)| *k == sub) {
            // Dropping the stream leaves the hub.
            Some(at) => {
                s.active.swap_remove(at);
                true
            }
            None => false,
        }
    });
    if found {
        link.release_subs(1);
    }
    success(id, found, link.max_response)
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
