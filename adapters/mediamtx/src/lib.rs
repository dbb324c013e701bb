//! MediaMTX's v3 control API as the camera service's [`MediaServer`].
//!
//! One pooled [`ureq::Agent`] with every timeout set (connect and whole call), used from
//! Tokio's blocking pool. Requests and answers have the shapes of MediaMTX's OpenAPI spec
//! (v1.15.5); MediaMTX's own error text (`{"status":"error","error":"..."}`) is carried in
//! every error so logs and health say what MediaMTX said.
//!
//! [`RtspReader`] holds a stream open by reading it (ffmpeg as an RTSP client).

mod reader;
mod wire;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use domain::stream::PathConfig;
use ports::media_server::{MediaServer, MediaServerError, PathStatus};
use serde_json::Value;

pub use reader::{RtspHandle, RtspReader};
pub use wire::{format_duration, parse_duration};

/// Items asked for per page when listing (MediaMTX's default page size).
const PAGE_SIZE: usize = 100;
/// A list longer than this many pages is not MediaMTX being sensible.
const MAX_PAGES: usize = 10_000;
/// Idle keep-alive connections kept to MediaMTX.
const IDLE_CONNECTIONS: usize = 4;

/// A client of one MediaMTX instance's control API. Cheap to clone (shares its pool).
#[derive(Clone)]
pub struct MediamtxClient {
    agent: ureq::Agent,
    base: Arc<str>,
    timeout: Duration,
}

impl std::fmt::Debug for MediamtxClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediamtxClient")
            .field("base", &self.base)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A request that is about one path: a 404 from MediaMTX then means "no such path".
#[derive(Clone, Copy)]
enum Subject<'a> {
    Path(&'a str),
    Server,
}

impl MediamtxClient {
    /// `api_url` is MediaMTX's API address (`http://127.0.0.1:9997`); `timeout` bounds every
    /// request from connect to the last byte of the answer.
    pub fn new(api_url: &str, timeout: Duration) -> Result<MediamtxClient, String> {
        let base = api_url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://"))
            || base.len() <= "https://".len()
        {
            return Err(format!(
                "MediaMTX API URL must be http(s)://host:port, got {api_url:?}"
            ));
        }
        if timeout.is_zero() {
            return Err("MediaMTX request timeout must be above zero".into());
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout))
            .max_idle_connections(IDLE_CONNECTIONS)
            .max_idle_connections_per_host(IDLE_CONNECTIONS)
            // The API is local: an HTTP_PROXY meant for the internet must not capture it.
            .proxy(None)
            .user_agent("camera-service")
            .build()
            .into();
        Ok(MediamtxClient {
            agent,
            base: Arc::from(base),
            timeout,
        })
    }

    pub fn api_url(&self) -> &str {
        &self.base
    }

    /// `POST /v3/config/paths/add/{name}`
    pub async fn add_path_config(
        &self,
        name: &str,
        config: &PathConfig,
    ) -> Result<(), MediaServerError> {
        let url = format!("/v3/config/paths/add/{}", wire::encode_name(name));
        self.send(
            "POST",
            url,
            Some(wire::path_conf_body(config)),
            Subject::Server,
        )
        .await
        .map(drop)
    }

    /// `PATCH /v3/config/paths/patch/{name}`: the settings `config` says, others untouched.
    pub async fn patch_path_config(
        &self,
        name: &str,
        config: &PathConfig,
    ) -> Result<(), MediaServerError> {
        let url = format!("/v3/config/paths/patch/{}", wire::encode_name(name));
        self.send(
            "PATCH",
            url,
            Some(wire::path_conf_body(config)),
            Subject::Path(name),
        )
        .await
        .map(drop)
    }

    /// `POST /v3/config/paths/replace/{name}`: the settings `config` says, others to defaults.
    pub async fn replace_path_config(
        &self,
        name: &str,
        config: &PathConfig,
    ) -> Result<(), MediaServerError> {
        let url = format!("/v3/config/paths/replace/{}", wire::encode_name(name));
        self.send(
            "POST",
            url,
            Some(wire::path_conf_body(config)),
            Subject::Path(name),
        )
        .await
        .map(drop)
    }

    /// `DELETE /v3/config/paths/delete/{name}`
    pub async fn delete_path_config(&self, name: &str) -> Result<(), MediaServerError> {
        let url = format!("/v3/config/paths/delete/{}", wire::encode_name(name));
        self.send("DELETE", url, None, Subject::Path(name))
            .await
            .map(drop)
    }

    /// `GET /v3/config/paths/get/{name}`
    pub async fn get_path_config(&self, name: &str) -> Result<PathConfig, MediaServerError> {
        let url = format!("/v3/config/paths/get/{}", wire::encode_name(name));
        let conf = self.get_json(url, Subject::Path(name)).await?;
        Ok(wire::path_config(&conf))
    }

    /// `GET /v3/config/paths/list`, every page.
    pub async fn list_path_configs(
        &self,
    ) -> Result<BTreeMap<String, PathConfig>, MediaServerError> {
        let items = self.list_all("/v3/config/paths/list").await?;
        let mut out = BTreeMap::new();
        for item in items {
            let name = item
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| MediaServerError::Protocol("path config without a name".into()))?;
            out.insert(name.to_owned(), wire::path_config(&item));
        }
        Ok(out)
    }

    /// `GET /v3/paths/get/{name}`
    pub async fn get_path(&self, name: &str) -> Result<PathStatus, MediaServerError> {
        let url = format!("/v3/paths/get/{}", wire::encode_name(name));
        let path = self.get_json(url, Subject::Path(name)).await?;
        wire::path_status(&path).map_err(MediaServerError::Protocol)
    }

    /// `GET /v3/paths/list`, every page.
    pub async fn list_paths(&self) -> Result<Vec<PathStatus>, MediaServerError> {
        self.list_all("/v3/paths/list")
            .await?
            .iter()
            .map(|p| wire::path_status(p).map_err(MediaServerError::Protocol))
            .collect()
    }

    /// `GET /v3/info`: `version` and `started`.
    pub async fn info(&self) -> Result<Value, MediaServerError> {
        self.get_json("/v3/info".into(), Subject::Server).await
    }

    /// `GET /v3/config/global/get`
    pub async fn global_config(&self) -> Result<Value, MediaServerError> {
        let conf = self
            .get_json("/v3/config/global/get".into(), Subject::Server)
            .await?;
        if conf.is_object() {
            Ok(conf)
        } else {
            Err(MediaServerError::Protocol(
                "global configuration is not an object".into(),
            ))
        }
    }

    async fn list_all(&self, endpoint: &str) -> Result<Vec<Value>, MediaServerError> {
        let mut items = Vec::new();
        let mut page = 0;
        loop {
            let url = format!("{endpoint}?itemsPerPage={PAGE_SIZE}&page={page}");
            let list = self.get_json(url, Subject::Server).await?;
            let page_items = list.get("items").and_then(Value::as_array).ok_or_else(|| {
                MediaServerError::Protocol(format!("{endpoint}: answer has no items"))
            })?;
            items.extend(page_items.iter().cloned());
            let page_count = list.get("pageCount").and_then(Value::as_u64).unwrap_or(0);
            page += 1;
            if page as u64 >= page_count || page_items.is_empty() {
                return Ok(items);
            }
            if page >= MAX_PAGES {
                return Err(MediaServerError::Protocol(format!(
                    "{endpoint}: more than {MAX_PAGES} pages"
                )));
            }
        }
    }

    async fn get_json(&self, url: String, subject: Subject<'_>) -> Result<Value, MediaServerError> {
        let body = self.send("GET", url, None, subject).await?;
        serde_json::from_str(&body)
            .map_err(|e| MediaServerError::Protocol(format!("answer is not JSON: {e}")))
    }

    /// One request on the blocking pool; the answer's body when it is a 2xx.
    async fn send(
        &self,
        method: &'static str,
        path_and_query: String,
        body: Option<Value>,
        subject: Subject<'_>,
    ) -> Result<String, MediaServerError> {
        let agent = self.agent.clone();
        let url = format!("{}{path_and_query}", self.base);
        let timeout = self.timeout;
        let (status, text) = tokio::task::spawn_blocking(move || {
            match exchange(&agent, method, &url, body.as_ref(), timeout) {
                // A pooled keep-alive connection the server had closed (MediaMTX restarted,
                // or dropped idle connections): the request never reached it. Once more on
                // a fresh connection, so a stale socket is not taken for a server that is down.
                Err(Stale) => exchange(&agent, method, &url, body.as_ref(), timeout)
                    .map_err(Exchange::into_error),
                other => other.map_err(Exchange::into_error),
            }
        })
        .await
        .map_err(|e| MediaServerError::Protocol(format!("request task failed: {e}")))??;
        match status {
            200..=299 => Ok(text),
            404 => match (subject, serde_json::from_str::<Value>(&text).ok()) {
                // MediaMTX's own "path not found" (JSON); a bare 404 is an unknown endpoint.
                (Subject::Path(name), Some(v)) if v.get("error").is_some() => {
                    Err(MediaServerError::NotFound(name.to_owned()))
                }
                _ => Err(MediaServerError::Protocol(format!(
                    "{path_and_query}: 404 {} (not MediaMTX's v3 API?)",
                    wire::error_message(&text)
                ))),
            },
            400..=499 => Err(MediaServerError::Rejected {
                status,
                message: wire::error_message(&text),
            }),
            500..=599 => Err(MediaServerError::Failed {
                status,
                message: wire::error_message(&text),
            }),
            other => Err(MediaServerError::Protocol(format!(
                "{path_and_query}: unexpected HTTP status {other}"
            ))),
        }
    }
}

/// Why an exchange failed: on a connection that turned out closed, or otherwise.
enum Exchange {
    Stale,
    Failed(MediaServerError),
}

use Exchange::Stale;

impl Exchange {
    fn into_error(self) -> MediaServerError {
        match self {
            Exchange::Stale => {
                MediaServerError::Unreachable("connection closed by the server".into())
            }
            Exchange::Failed(e) => e,
        }
    }
}

/// Status and body text of one HTTP exchange (blocking).
fn exchange(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    body: Option<&Value>,
    timeout: Duration,
) -> Result<(u16, String), Exchange> {
    let result = match (method, body) {
        ("GET", _) => agent.get(url).call(),
        ("DELETE", _) => agent.delete(url).call(),
        ("POST", Some(b)) => agent.post(url).send_json(b),
        ("POST", None) => agent.post(url).send_empty(),
        ("PATCH", Some(b)) => agent.patch(url).send_json(b),
        ("PATCH", None) => agent.patch(url).send_empty(),
        (m, _) => {
            return Err(Exchange::Failed(MediaServerError::Protocol(format!(
                "method {m} not used with MediaMTX"
            ))))
        }
    };
    let mut resp = result.map_err(|e| match e {
        ureq::Error::Io(io) if is_stale(&io) => Stale,
        e => Exchange::Failed(transport_error(e, timeout)),
    })?;
    let status = resp.status().as_u16();
    let text = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| Exchange::Failed(transport_error(e, timeout)))?;
    Ok((status, text))
}

/// The connection was closed under the request before any answer.
fn is_stale(io: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        io.kind(),
        UnexpectedEof | ConnectionReset | ConnectionAborted | BrokenPipe
    )
}

fn transport_error(e: ureq::Error, timeout: Duration) -> MediaServerError {
    let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    match e {
        ureq::Error::Timeout(_) => MediaServerError::Timeout(ms),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            MediaServerError::Timeout(ms)
        }
        ureq::Error::Io(io) => MediaServerError::Unreachable(io.to_string()),
        ureq::Error::HostNotFound => MediaServerError::Unreachable("host not found".into()),
        ureq::Error::ConnectionFailed => MediaServerError::Unreachable("connection failed".into()),
        other => MediaServerError::Protocol(other.to_string()),
    }
}

fn already_exists(e: &MediaServerError) -> bool {
    matches!(e, MediaServerError::Rejected { status: 400, message } if message.contains("already exists"))
}

#[async_trait]
impl MediaServer for MediamtxClient {
    async fn ensure_path(&self, name: &str, config: &PathConfig) -> Result<(), MediaServerError> {
        match self.add_path_config(name, config).await {
            Err(e) if already_exists(&e) => self.patch_path_config(name, config).await,
            other => other,
        }
    }

    async fn patch_path(&self, name: &str, config: &PathConfig) -> Result<(), MediaServerError> {
        self.patch_path_config(name, config).await
    }

    async fn remove_path(&self, name: &str) -> Result<(), MediaServerError> {
        match self.delete_path_config(name).await {
            Err(MediaServerError::NotFound(_)) => Ok(()),
            other => other,
        }
    }

    async fn path_configs(&self) -> Result<BTreeMap<String, PathConfig>, MediaServerError> {
        self.list_path_configs().await
    }

    async fn path_status(&self, name: &str) -> Result<Option<PathStatus>, MediaServerError> {
        match self.get_path(name).await {
            Ok(s) => Ok(Some(s)),
            Err(MediaServerError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn path_statuses(&self) -> Result<Vec<PathStatus>, MediaServerError> {
        self.list_paths().await
    }

    async fn probe(&self) -> Result<(), MediaServerError> {
        self.global_config().await.map(drop)
    }
}
