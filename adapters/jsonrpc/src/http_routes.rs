//! Plain HTTP on the JSON-RPC port: health, metrics and file downloads.

use std::net::SocketAddr;

use crate::body::{HttpBody, HttpResponse};
use domain::files::FileKind;
use domain::{ApiError, ErrorKind, SafeFileName};
use futures_util::TryStreamExt;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, StatusCode};
use http_body_util::StreamBody;
use hyper::body::Frame;
use ports::api::{Download, HttpCredential};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::server::Shared;

pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn response(
    status: StatusCode,
    content_type: &'static str,
    body: HttpBody,
) -> HttpResponse<HttpBody> {
    let mut r = HttpResponse::new(body);
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

pub(crate) fn json_response(status: StatusCode, body: &Value) -> HttpResponse<HttpBody> {
    response(status, "application/json", HttpBody::from(body.to_string()))
}

pub fn plain(status: StatusCode, text: &'static str) -> HttpResponse<HttpBody> {
    response(status, "text/plain; charset=utf-8", HttpBody::from(text))
}

pub fn plain_owned(status: StatusCode, text: String) -> HttpResponse<HttpBody> {
    response(status, "text/plain; charset=utf-8", HttpBody::from(text))
}

pub(crate) fn error_response(e: &ApiError) -> HttpResponse<HttpBody> {
    let status = match e.kind {
        ErrorKind::AuthRequired => StatusCode::UNAUTHORIZED,
        ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        ErrorKind::FileNotFound => StatusCode::NOT_FOUND,
        ErrorKind::InvalidParams => StatusCode::BAD_REQUEST,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::RecordingInProgress => StatusCode::CONFLICT,
        ErrorKind::Unsupported => StatusCode::NOT_IMPLEMENTED,
        ErrorKind::DependencyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut r = json_response(
        status,
        &json!({"error": {"code": e.code(), "message": e.message(), "data": e.data()}}),
    );
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    r
}

pub async fn handle(
    req: hyper::Request<hyper::body::Incoming>,
    peer: SocketAddr,
    shared: &Shared,
) -> HttpResponse<HttpBody> {
    let path = req.uri().path().to_owned();
    let is_known = matches!(
        path.as_str(),
        "/health/live" | "/health/ready" | "/health" | "/metrics"
    ) || path.starts_with("/files/");
    if !is_known {
        return json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": "not found", "path": path}),
        );
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({"error": "method not allowed", "allow": "GET, HEAD"}),
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let head = req.method() == Method::HEAD;
    let mut out = match path.as_str() {
        "/health/live" => json_response(StatusCode::OK, &json!({"status": "alive"})),
        "/health/ready" => {
            let r = shared.gateway.readiness().await;
            let status = if r.ready {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            json_response(status, &r.body)
        }
        "/health" => json_response(StatusCode::OK, &shared.gateway.health().await),
        "/metrics" => {
            if !shared.opts.metrics_public && !peer.ip().is_loopback() {
                shared.gateway.refused(
                    Some(peer),
                    "metrics",
                    "/metrics asked from a non-loopback address",
                );
                json_response(
                    StatusCode::FORBIDDEN,
                    &json!({"error": "/metrics is served to loopback clients only"}),
                )
            } else {
                let text = crate::prometheus::render(&shared.gateway.metrics().await);
                response(
                    StatusCode::OK,
                    crate::prometheus::CONTENT_TYPE,
                    HttpBody::from(text),
                )
            }
        }
        _ => files(&req, &path, peer, shared).await,
    };
    if head {
        *out.body_mut() = HttpBody::empty();
    }
    out
}

async fn files(
    req: &hyper::Request<hyper::body::Incoming>,
    path: &str,
    peer: SocketAddr,
    shared: &Shared,
) -> HttpResponse<HttpBody> {
    let rest = &path["/files/".len()..];
    let (kind, name) = match rest.split_once('/') {
        Some(("recordings", name)) => (FileKind::Recording, name),
        Some(("snapshots", name)) => (FileKind::Snapshot, name),
        _ => {
            return json_response(
                StatusCode::NOT_FOUND,
                &json!({"error": "not found", "path": path}),
            )
        }
    };
    let name = match SafeFileName::parse(name) {
        Ok(n) => n,
        Err(e) => {
            shared
                .gateway
                .refused(Some(peer), "bad_file_name", &e.to_string());
            return error_response(&ApiError::invalid_params(e.to_string()));
        }
    };
    let credential = match bearer(req.headers()) {
        Some(token) => Some(HttpCredential::Bearer(token)),
        None => crate::console::session_cookie(req.headers()).map(HttpCredential::Session),
    };
    let download = match shared
        .gateway
        .download(Some(peer), credential, kind, &name)
        .await
    {
        Ok(d) => d,
        Err(e) => return error_response(&e),
    };
    serve_file(req.headers(), &download).await
}

fn etag(d: &Download) -> String {
    format!("\"{:x}-{:x}\"", d.size, d.modified.unix_millis())
}

/// A single `bytes=` range resolved against `size`: `Ok(None)` = whole file,
/// `Err(())` = unsatisfiable.
pub(crate) fn parse_range(value: &str, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        // Several ranges: serving the whole file is allowed (RFC 9110 §14.2).
        return Ok(None);
    }
    let (a, b) = spec.trim().split_once('-').ok_or(())?;
    let num = |s: &str| s.trim().parse::<u64>().map_err(|_| ());
    let (start, end) = match (a.trim().is_empty(), b.trim().is_empty()) {
        (true, true) => return Err(()),
        (true, false) => {
            let n = num(b)?;
            if n == 0 || size == 0 {
                return Err(());
            }
            (size.saturating_sub(n), size - 1)
        }
        (false, true) => (num(a)?, size.saturating_sub(1)),
        (false, false) => (num(a)?, num(b)?.min(size.saturating_sub(1))),
    };
    if size == 0 || start >= size || start > end {
        return Err(());
    }
    Ok(Some((start, end)))
}

async fn serve_file(headers: &HeaderMap, d: &Download) -> HttpResponse<HttpBody> {
    let tag = etag(d);
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        if inm.split(',').any(|t| t.trim() == tag || t.trim() == "*") {
            let mut r = response(StatusCode::NOT_MODIFIED, d.content_type, HttpBody::empty());
            insert(&mut r, header::ETAG, &tag);
            return r;
        }
    }
    let mut range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| parse_range(v, d.size));
    // If-Range with a stale tag: the whole file.
    if let Some(ir) = headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) {
        if ir.trim() != tag {
            range = None;
        }
    }
    let (status, start, len) = match range {
        Some(Err(())) => {
            let mut r = response(
                StatusCode::RANGE_NOT_SATISFIABLE,
                d.content_type,
                HttpBody::empty(),
            );
            insert(
                &mut r,
                header::CONTENT_RANGE,
                &format!("bytes */{}", d.size),
            );
            return r;
        }
        Some(Ok(Some((s, e)))) => (StatusCode::PARTIAL_CONTENT, s, e - s + 1),
        _ => (StatusCode::OK, 0, d.size),
    };
    let mut file = match tokio::fs::File::open(&d.path).await {
        Ok(f) => f,
        Err(_) => {
            return error_response(&ApiError::new(
                ErrorKind::FileNotFound,
                "file_not_found",
                "the file went away",
            ))
        }
    };
    if start > 0 && file.seek(std::io::SeekFrom::Start(start)).await.is_err() {
        return error_response(&ApiError::internal("cannot seek in the file"));
    }
    let stream =
        tokio_util::io::ReaderStream::with_capacity(file.take(len), 64 * 1024).map_ok(Frame::data);
    let mut r = response(
        status,
        d.content_type,
        HttpBody::new(StreamBody::new(stream)),
    );
    insert(&mut r, header::CONTENT_LENGTH, &len.to_string());
    insert(&mut r, header::ETAG, &tag);
    r.headers_mut()
        .insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if status == StatusCode::PARTIAL_CONTENT {
        insert(
            &mut r,
            header::CONTENT_RANGE,
            &format!("bytes {}-{}/{}", start, start + len - 1, d.size),
        );
    }
    r
}

fn insert(r: &mut HttpResponse<HttpBody>, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert(name, v);
    }
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges_resolve_against_the_size() {
        assert_eq!(parse_range("bytes=0-9", 100), Ok(Some((0, 9))));
        assert_eq!(parse_range("bytes=90-", 100), Ok(Some((90, 99))));
        assert_eq!(parse_range("bytes=-10", 100), Ok(Some((90, 99))));
        assert_eq!(parse_range("bytes=50-500", 100), Ok(Some((50, 99))));
        assert_eq!(parse_range("bytes=100-", 100), Err(()));
        assert_eq!(parse_range("bytes=9-3", 100), Err(()));
        assert_eq!(parse_range("bytes=x-3", 100), Err(()));
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Ok(None));
        assert_eq!(parse_range("items=0-1", 100), Ok(None));
    }
}
