//! A small JSON-RPC client over WebSocket, for the `camera-service call` command and scripts.

use std::time::Duration;

use jsonrpsee::core::client::{
    ClientT, Error as ClientError, Subscription, SubscriptionClientT, SubscriptionKind,
};
use jsonrpsee::core::params::{ArrayParams, ObjectParams};
use jsonrpsee::ws_client::{HeaderMap, HeaderValue, WsClient, WsClientBuilder};
use serde_json::Value;

/// A failed call: the server's JSON-RPC error, or a transport problem.
#[derive(Debug)]
pub enum CallError {
    Rpc {
        code: i32,
        message: String,
        data: Option<Value>,
    },
    Transport(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Rpc {
                code,
                message,
                data,
            } => {
                write!(f, "error {code}: {message}")?;
                if let Some(d) = data {
                    write!(f, " {d}")?;
                }
                Ok(())
            }
            CallError::Transport(t) => write!(f, "transport: {t}"),
        }
    }
}

impl std::error::Error for CallError {}

fn map_err(e: ClientError) -> CallError {
    match e {
        ClientError::Call(obj) => CallError::Rpc {
            code: obj.code(),
            message: obj.message().to_owned(),
            data: obj.data().and_then(|d| serde_json::from_str(d.get()).ok()),
        },
        other => CallError::Transport(other.to_string()),
    }
}

pub struct Client {
    inner: WsClient,
}

impl Client {
    /// Connects to `url` (`ws://host:port/ws`), optionally sending `Authorization: Bearer`.
    pub async fn connect(url: &str, bearer: Option<&str>) -> Result<Client, CallError> {
        let mut headers = HeaderMap::new();
        if let Some(token) = bearer {
            let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                CallError::Transport("the token is not a valid header value".into())
            })?;
            headers.insert("authorization", value);
        }
        let inner = WsClientBuilder::default()
            .set_headers(headers)
            .request_timeout(Duration::from_secs(120))
            .connection_timeout(Duration::from_secs(10))
            .build(url)
            .await
            .map_err(map_err)?;
        Ok(Client { inner })
    }

    /// Calls `method` with `params` (an object, an array, or null).
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, CallError> {
        match params {
            Value::Null => self
                .inner
                .request(method, ArrayParams::new())
                .await
                .map_err(map_err),
            Value::Object(map) => {
                let mut p = ObjectParams::new();
                for (k, v) in map {
                    p.insert(&k, v)
                        .map_err(|e| CallError::Transport(e.to_string()))?;
                }
                self.inner.request(method, p).await.map_err(map_err)
            }
            Value::Array(items) => {
                let mut p = ArrayParams::new();
                for v in items {
                    p.insert(v)
                        .map_err(|e| CallError::Transport(e.to_string()))?;
                }
                self.inner.request(method, p).await.map_err(map_err)
            }
            other => Err(CallError::Transport(format!(
                "params must be an object or an array, got {other}"
            ))),
        }
    }

    /// `subscribe_events` with `params` (an object): the subscription, whose notifications
    /// are read with [`Events::next`] (`unsubscribe_events` is sent when it is dropped).
    pub async fn subscribe_events(&self, params: Value) -> Result<Events, CallError> {
        let mut p = ObjectParams::new();
        if let Value::Object(map) = params {
            for (k, v) in map {
                p.insert(&k, v)
                    .map_err(|e| CallError::Transport(e.to_string()))?;
            }
        }
        let inner: Subscription<Value> = self
            .inner
            .subscribe("subscribe_events", p, "unsubscribe_events")
            .await
            .map_err(map_err)?;
        Ok(Events { inner })
    }
}

/// A live subscription of [`Client::subscribe_events`].
pub struct Events {
    inner: Subscription<Value>,
}

impl Events {
    /// The subscription id the server returned.
    pub fn id(&self) -> Value {
        match self.inner.kind() {
            SubscriptionKind::Subscription(id) => serde_json::to_value(id).unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }

    /// The next event (a notification's `result`); `None` once the connection has ended.
    pub async fn next(&mut self) -> Option<Result<Value, CallError>> {
        self.inner
            .next()
            .await
            .map(|r| r.map_err(|e| CallError::Transport(e.to_string())))
    }
}
