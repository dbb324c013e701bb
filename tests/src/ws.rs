//! A raw WebSocket JSON-RPC client: sends any text, keeps notifications apart from answers.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct WsClient {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    notifications: VecDeque<Value>,
    /// Answers read while waiting for another id.
    answers: VecDeque<Value>,
}

impl WsClient {
    pub async fn connect(url: &str, bearer: Option<&str>) -> WsClient {
        Self::try_connect(url, bearer)
            .await
            .expect("WebSocket connects")
    }

    pub async fn try_connect(url: &str, bearer: Option<&str>) -> Result<WsClient, String> {
        let headers: Vec<(&str, String)> = bearer
            .map(|t| ("authorization", format!("Bearer {t}")))
            .into_iter()
            .collect();
        Self::try_connect_with(url, &headers).await
    }

    /// Connects with these extra upgrade headers (`Cookie`, `Origin`, ...).
    pub async fn try_connect_with(
        url: &str,
        headers: &[(&str, String)],
    ) -> Result<WsClient, String> {
        let mut req = url.into_client_request().map_err(|e| e.to_string())?;
        for (name, value) in headers {
            let name =
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| "bad header name".to_owned())?;
            req.headers_mut()
                .insert(name, value.parse().map_err(|_| "bad header".to_owned())?);
        }
        let (stream, _) = tokio_tungstenite::connect_async(req)
            .await
            .map_err(|e| e.to_string())?;
        Ok(WsClient {
            stream,
            next_id: 1,
            notifications: VecDeque::new(),
            answers: VecDeque::new(),
        })
    }

    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.stream
            .send(Message::text(text.into()))
            .await
            .expect("the frame is sent");
    }

    /// The next JSON message of any kind, or `None` on timeout / close.
    pub async fn recv_timeout(&mut self, secs: f64) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(secs);
        loop {
            let msg = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()??;
            match msg {
                Ok(Message::Text(t)) => return serde_json::from_str(&t).ok(),
                Ok(Message::Close(_)) | Err(_) => return None,
                _ => continue,
            }
        }
    }

    /// The next answer (a message with an `id`, or a batch array); notifications are kept.
    pub async fn recv_answer(&mut self, secs: f64) -> Option<Value> {
        if let Some(a) = self.answers.pop_front() {
            return Some(a);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(secs);
        loop {
            let left = deadline
                .saturating_duration_since(tokio::time::Instant::now())
                .as_secs_f64();
            let v = self.recv_timeout(left).await?;
            if v.is_array() || v.get("id").is_some() {
                return Some(v);
            }
            self.notifications.push_back(v);
        }
    }

    /// Sends a request and returns the whole response object.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut req = json!({"jsonrpc": "2.0", "id": id, "method": method});
        if !params.is_null() {
            req["params"] = params;
        }
        self.send_text(req.to_string()).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline
                .saturating_duration_since(tokio::time::Instant::now())
                .as_secs_f64();
            let Some(v) = self.recv_answer(left).await else {
                panic!("no answer to {method} (id {id})");
            };
            if v["id"] == json!(id) {
                // Every result is held to the document's schema for its method.
                if let Some(result) = v.get("result") {
                    if let Err(e) = crate::contract::check_result(method, result) {
                        panic!("the result does not match the contract: {e}");
                    }
                }
                return v;
            }
            self.answers.push_back(v);
        }
    }

    /// The result of a call that must succeed.
    pub async fn ok(&mut self, method: &str, params: Value) -> Value {
        let r = self.call(method, params).await;
        assert!(r.get("error").is_none(), "{method} failed: {r}");
        r["result"].clone()
    }

    /// The error of a call that must fail.
    pub async fn err(&mut self, method: &str, params: Value) -> Value {
        let r = self.call(method, params).await;
        assert!(
            r.get("result").is_none(),
            "{method} should have failed: {r}"
        );
        r["error"].clone()
    }

    /// The next notification, waiting up to `secs`; every one is held to the document's
    /// schema for its topic.
    pub async fn notification(&mut self, secs: f64) -> Option<Value> {
        let n = self.next_notification(secs).await?;
        if let Err(e) = crate::contract::check_notification(&n) {
            panic!("the notification does not match the contract: {e}");
        }
        Some(n)
    }

    async fn next_notification(&mut self, secs: f64) -> Option<Value> {
        if let Some(n) = self.notifications.pop_front() {
            return Some(n);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(secs);
        loop {
            let left = deadline
                .saturating_duration_since(tokio::time::Instant::now())
                .as_secs_f64();
            let v = self.recv_timeout(left).await?;
            if v.get("id").is_none() && !v.is_array() {
                return Some(v);
            }
            self.answers.push_back(v);
        }
    }

    /// Whether the server still answers on this connection.
    pub async fn alive(&mut self) -> bool {
        let id = self.next_id;
        self.next_id += 1;
        let req = json!({"jsonrpc": "2.0", "id": id, "method": "ping"}).to_string();
        if self.stream.send(Message::text(req)).await.is_err() {
            return false;
        }
        matches!(self.recv_answer(10.0).await, Some(v) if v["result"] == "pong")
    }
}
