//! The web console: its assets, embedded in the binary (plain ES modules, no build step), and
//! the session endpoints that trade a JWT or an API key for a cookie.
//!
//! - `GET /` and `GET /console/<file>`: the assets, with their content type, a strict
//!   Content-Security-Policy (scripts and styles from this origin only, no inline code) and
//!   `Cache-Control: no-cache` with an `ETag` (an upgraded binary serves new assets at once).
//! - `POST /session` `{"token": "<JWT or API key>"}`: a session cookie (`HttpOnly`,
//!   `SameSite=Strict`, `Secure` when the request came over TLS through a proxy), whose
//!   `Max-Age` never passes the credential's expiry. `GET /session`: who is logged in.
//!   `POST /session/logout`: ends it.
//! - The cookie is accepted by the WebSocket upgrade (after an `Origin` check, see
//!   [`check_origin`]) and by `/files`. A token in a query string is never read.

use std::net::SocketAddr;

use crate::body::{HttpBody, HttpResponse};
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Limited};
use serde::{Deserialize, Serialize};

use crate::http_routes::{error_response, json_response, plain};
use crate::server::Shared;

/// The session cookie's name.
pub const COOKIE: &str = "cs_session";

/// A login body is a token and little else.
const MAX_LOGIN_BODY: usize = 16 * 1024;

pub(crate) struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

macro_rules! assets {
    ($( $path:literal => $file:literal, $ct:literal; )*) => {
        pub(crate) const ASSETS: &[Asset] = &[
            $( Asset { path: $path, content_type: $ct, body: include_bytes!(concat!("../console/", $file)) } ),*
        ];
    };
}

assets! {
    "/" => "index.html", "text/html; charset=utf-8";
    "/console/style.css" => "style.css", "text/css; charset=utf-8";
    "/console/app.js" => "app.js", "text/javascript; charset=utf-8";
    "/console/rpc.js" => "rpc.js", "text/javascript; charset=utf-8";
    "/console/ui.js" => "ui.js", "text/javascript; charset=utf-8";
    "/console/cameras.js" => "cameras.js", "text/javascript; charset=utf-8";
    "/console/camera.js" => "camera.js", "text/javascript; charset=utf-8";
    "/console/files.js" => "files.js", "text/javascript; charset=utf-8";
    "/console/events.js" => "events.js", "text/javascript; charset=utf-8";
    "/console/system.js" => "system.js", "text/javascript; charset=utf-8";
    "/console/keys.js" => "keys.js", "text/javascript; charset=utf-8";
    "/console/live.js" => "live.js", "text/javascript; charset=utf-8";
    "/console/icon.svg" => "icon.svg", "image/svg+xml";
}

/// The assets' total size in bytes (the budget is 300 KB; a test holds it).
pub fn assets_size() -> usize {
    ASSETS.iter().map(|a| a.body.len()).sum()
}

/// Whether `path` is the console's (assets or session endpoints).
pub(crate) fn owns(path: &str) -> bool {
    path == "/"
        || path == "/index.html"
        || path.starts_with("/console/")
        || path == "/session"
        || path == "/session/logout"
}

pub(crate) async fn handle(
    req: hyper::Request<hyper::body::Incoming>,
    peer: SocketAddr,
    shared: &Shared,
) -> HttpResponse<HttpBody> {
    let path = req.uri().path().to_owned();
    match (path.as_str(), req.method().clone()) {
        ("/session", Method::POST) => login(req, peer, shared).await,
        ("/session", Method::GET) => who(req.headers(), shared),
        ("/session/logout", Method::POST) => logout(req.headers(), peer, shared),
        ("/session", _) => not_allowed("GET, POST"),
        ("/session/logout", _) => not_allowed("POST"),
        (_, Method::GET | Method::HEAD) => {
            let wanted = if path == "/index.html" { "/" } else { &path };
            let Some(asset) = ASSETS.iter().find(|a| a.path == wanted) else {
                return json_response(
                    StatusCode::NOT_FOUND,
                    &serde_json::json!({"error": "not found", "path": path}),
                );
            };
            let mut r = serve_asset(req.headers(), asset, shared);
            if req.method() == Method::HEAD {
                *r.body_mut() = HttpBody::empty();
            }
            r
        }
        _ => not_allowed("GET, HEAD"),
    }
}

fn not_allowed(allow: &'static str) -> HttpResponse<HttpBody> {
    let mut r = json_response(
        StatusCode::METHOD_NOT_ALLOWED,
        &serde_json::json!({"error": "method not allowed", "allow": allow}),
    );
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

/// FNV-1a of the bytes: a stable tag per asset version.
fn etag(body: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{h:016x}-{:x}\"", body.len())
}

/// The policy for the console's pages: only this origin's scripts and styles, nothing
/// inline, no frames; the WebSocket on this origin, and MediaMTX's WebRTC (WHEP) and HLS
/// ports for the live tiles.
fn content_security_policy(headers: &HeaderMap, shared: &Shared) -> String {
    let mut connect = String::from("'self'");
    if let Some(host) = host(headers) {
        connect.push_str(&format!(" ws://{host} wss://{host}"));
    }
    let mut media = String::from("'self' blob:");
    for port in &shared.opts.console_media_ports {
        connect.push_str(&format!(" http://*:{port} https://*:{port}"));
        media.push_str(&format!(" http://*:{port} https://*:{port}"));
    }
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; \
         media-src {media}; connect-src {connect}; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

fn serve_asset(headers: &HeaderMap, asset: &Asset, shared: &Shared) -> HttpResponse<HttpBody> {
    let tag = etag(asset.body);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|inm| inm.split(',').any(|t| t.trim() == tag));
    let mut r = if fresh {
        let mut r = HttpResponse::new(HttpBody::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let mut r = HttpResponse::new(HttpBody::new(http_body_util::Full::new(
            hyper::body::Bytes::from_static(asset.body),
        )));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        r
    };
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Ok(v) = HeaderValue::from_str(&content_security_policy(headers, shared)) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    r
}

/// The `Host` header when it is a plain `host[:port]` (anything else is not echoed).
fn host(headers: &HeaderMap) -> Option<&str> {
    let h = headers.get(header::HOST)?.to_str().ok()?.trim();
    let ok = !h.is_empty()
        && h.len() <= 255
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    ok.then_some(h)
}

/// The session cookie of a request, if any.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// A request carrying the session cookie must come from a page of this service: its
/// `Origin` names the same host and port as its `Host` (cross-site WebSocket hijacking).
pub(crate) fn check_origin(headers: &HeaderMap) -> Result<(), String> {
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .ok_or("a request with the session cookie has no Origin header")?;
    let host = host(headers).ok_or("the request has no usable Host header")?;
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .ok_or_else(|| format!("Origin {origin:?} is not an http(s) origin"))?;
    if authority.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(format!(
            "Origin {origin:?} is not this service's origin (Host {host:?})"
        ))
    }
}

/// Whether the client reached us over TLS (through a proxy that says so).
fn over_tls(headers: &HeaderMap) -> bool {
    let forwarded_proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    let forwarded = headers
        .get(header::FORWARDED)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("proto=https"));
    forwarded_proto || forwarded
}

fn cookie_header(value: &str, max_age: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    token: String,
}

/// `GET /session`'s and `POST /session`'s body.
#[derive(Serialize)]
struct SessionBody<'a> {
    subject: &'a str,
    role: domain::Role,
    expires_at: domain::Timestamp,
}

fn session_body(view: &ports::api::SessionView) -> serde_json::Value {
    serde_json::to_value(SessionBody {
        subject: &view.subject,
        role: view.role,
        expires_at: view.expires_at,
    })
    .unwrap_or_default()
}

fn bad_request(reason: &str, details: String) -> HttpResponse<HttpBody> {
    error_response(&domain::ApiError::new(
        domain::ErrorKind::InvalidParams,
        reason,
        details,
    ))
}

async fn login(
    req: hyper::Request<hyper::body::Incoming>,
    peer: SocketAddr,
    shared: &Shared,
) -> HttpResponse<HttpBody> {
    // A page of another origin must not log a browser in (login CSRF).
    if req.headers().contains_key(header::ORIGIN) {
        if let Err(why) = check_origin(req.headers()) {
            shared
                .gateway
                .refused(Some(peer), "cross_origin_login", &why);
            return plain(StatusCode::FORBIDDEN, "cross-origin login refused");
        }
    }
    let secure = over_tls(req.headers());
    let body = match Limited::new(req.into_body(), MAX_LOGIN_BODY)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return bad_request(
                "body_too_large",
                format!("a login body is at most {MAX_LOGIN_BODY} bytes"),
            )
        }
    };
    let token = match serde_json::from_slice::<LoginBody>(&body) {
        Ok(b) => b.token,
        Err(e) => {
            return bad_request(
                "invalid_body",
                format!("the body must be {{\"token\": \"<JWT or API key>\"}}: {e}"),
            )
        }
    };
    match shared.gateway.open_session(Some(peer), token.trim()).await {
        Ok(login) => {
            let mut r = json_response(StatusCode::OK, &session_body(&login.view));
            if let Ok(v) =
                HeaderValue::from_str(&cookie_header(&login.cookie, login.max_age_secs, secure))
            {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => error_response(&e),
    }
}

fn who(headers: &HeaderMap, shared: &Shared) -> HttpResponse<HttpBody> {
    let Some(cookie) = session_cookie(headers) else {
        return error_response(&domain::ApiError::new(
            domain::ErrorKind::AuthRequired,
            "auth_required",
            "not logged in",
        ));
    };
    let mut r = match shared.gateway.session(cookie) {
        Ok(view) => json_response(StatusCode::OK, &session_body(&view)),
        Err(e) => {
            let mut r = error_response(&e);
            // The browser forgets an ended session's cookie.
            if let Ok(v) = HeaderValue::from_str(&cookie_header("", 0, over_tls(headers))) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
    };
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn logout(headers: &HeaderMap, peer: SocketAddr, shared: &Shared) -> HttpResponse<HttpBody> {
    if headers.contains_key(header::ORIGIN) {
        if let Err(why) = check_origin(headers) {
            shared
                .gateway
                .refused(Some(peer), "cross_origin_logout", &why);
            return plain(StatusCode::FORBIDDEN, "cross-origin logout refused");
        }
    }
    if let Some(cookie) = session_cookie(headers) {
        shared.gateway.close_session(Some(peer), cookie);
    }
    let mut r = HttpResponse::new(HttpBody::empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    if let Ok(v) = HeaderValue::from_str(&cookie_header("", 0, over_tls(headers))) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_assets_fit_the_budget() {
        let size = assets_size();
        assert!(size <= 300 * 1000, "console assets are {size} bytes");
        assert!(ASSETS.iter().all(|a| !a.body.is_empty()));
    }

    #[test]
    fn the_origin_must_be_the_host() {
        let ok = headers(&[
            ("host", "127.0.0.1:8002"),
            ("origin", "http://127.0.0.1:8002"),
        ]);
        assert!(check_origin(&ok).is_ok());
        let tls = headers(&[("host", "cam.example"), ("origin", "https://CAM.example")]);
        assert!(check_origin(&tls).is_ok());
        let other_port = headers(&[("host", "127.0.0.1:8002"), ("origin", "http://127.0.0.1:9")]);
        assert!(check_origin(&other_port).is_err());
        let none = headers(&[("host", "127.0.0.1:8002")]);
        assert!(check_origin(&none).is_err());
        let null = headers(&[("host", "127.0.0.1:8002"), ("origin", "null")]);
        assert!(check_origin(&null).is_err());
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let h = headers(&[("cookie", "a=1; cs_session=abc ; b=2")]);
        assert_eq!(session_cookie(&h), Some("abc"));
        let h = headers(&[("cookie", "a=1"), ("cookie", "cs_session=xyz")]);
        assert_eq!(session_cookie(&h), Some("xyz"));
        let h = headers(&[("cookie", "cs_session_other=1")]);
        assert_eq!(session_cookie(&h), None);
    }

    #[test]
    fn the_cookie_is_http_only_and_strict() {
        let c = cookie_header("v", 60, false);
        assert_eq!(
            c,
            "cs_session=v; Path=/; Max-Age=60; HttpOnly; SameSite=Strict"
        );
        assert!(cookie_header("v", 60, true).ends_with("; Secure"));
    }
}
