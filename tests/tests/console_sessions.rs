//! The console's session cookie and assets, without a browser: what the cookie says, how
//! long it lasts, what ends it, where it is accepted, and the Origin check of the upgrade.
//! Also the API-key methods the console's admin page uses.

use cs_tests::http::{get, post_with, HttpResponse};
use cs_tests::{TestService, WsClient};
use domain::Role;
use serde_json::json;

async fn login(svc: &TestService, token: &str, extra: &[(&str, &str)]) -> HttpResponse {
    let body = json!({ "token": token }).to_string();
    let mut headers = vec![("Content-Type", "application/json")];
    headers.extend_from_slice(extra);
    post_with(svc.addr, "/session", &headers, body.as_bytes()).await
}

/// `cs_session=<value>` of a login's `Set-Cookie`.
fn cookie(r: &HttpResponse) -> String {
    let set = r.header("set-cookie").expect("a Set-Cookie header");
    set.split(';').next().expect("name=value").trim().to_owned()
}

fn max_age(r: &HttpResponse) -> u64 {
    let set = r.header("set-cookie").expect("a Set-Cookie header");
    set.split(';')
        .find_map(|p| p.trim().strip_prefix("Max-Age="))
        .and_then(|v| v.parse().ok())
        .expect("a Max-Age")
}

async fn ws_with(svc: &TestService, headers: &[(&str, String)]) -> Result<WsClient, String> {
    WsClient::try_connect_with(&svc.ws_url(), headers).await
}

#[tokio::test]
async fn a_token_is_exchanged_for_an_http_only_strict_cookie_bounded_by_its_expiry() {
    let svc = TestService::start();
    let r = login(&svc, &svc.token(Role::Operator, 600), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let set = r.header("set-cookie").unwrap().to_owned();
    assert!(set.starts_with("cs_session="), "{set}");
    assert!(set.contains("; HttpOnly"), "{set}");
    assert!(set.contains("; SameSite=Strict"), "{set}");
    assert!(set.contains("; Path=/"), "{set}");
    assert!(!set.contains("Secure"), "plain HTTP: no Secure flag: {set}");
    let age = max_age(&r);
    assert!(
        (590..=600).contains(&age),
        "Max-Age {age} within the token's 600 s"
    );
    assert_eq!(r.json()["role"], "operator");
    assert_eq!(r.json()["subject"], "tester");

    let who = get(svc.addr, "/session", &[("Cookie", &cookie(&r))]).await;
    assert_eq!(who.status, 200);
    assert_eq!(who.json()["role"], "operator");
    assert!(svc.audit().iter().any(|a| a["event"] == "session_opened"));
}

#[tokio::test]
async fn a_long_lived_credential_gets_at_most_twelve_hours_and_tls_gets_secure() {
    let svc = TestService::start();
    let r = login(
        &svc,
        &svc.token(Role::Viewer, 7 * 86_400),
        &[("X-Forwarded-Proto", "https")],
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(max_age(&r) <= 12 * 3600);
    assert!(r.header("set-cookie").unwrap().ends_with("; Secure"));
}

#[tokio::test]
async fn a_bad_token_gets_no_cookie_and_the_reason() {
    let svc = TestService::start();
    let r = login(&svc, "not-a-token", &[]).await;
    assert_eq!(r.status, 401);
    assert!(r.header("set-cookie").is_none());
    assert_eq!(r.json()["error"]["data"]["reason"], "invalid_token");
    let r = post_with(
        svc.addr,
        "/session",
        &[("Content-Type", "application/json")],
        b"{\"tok\":1}",
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
}

#[tokio::test]
async fn logout_ends_the_session_everywhere() {
    let svc = TestService::start();
    let r = login(&svc, &svc.token(Role::Admin, 600), &[]).await;
    let c = cookie(&r);
    let origin = format!("http://{}", svc.addr);
    let mut ws = ws_with(&svc, &[("cookie", c.clone()), ("origin", origin.clone())])
        .await
        .expect("upgrade with the cookie from the console's origin");
    ws.ok("get_camera_list", json!({})).await;
    let out = post_with(svc.addr, "/session/logout", &[("Cookie", &c)], b"").await;
    assert_eq!(out.status, 204);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(
        get(svc.addr, "/session", &[("Cookie", &c)]).await.status,
        401
    );
    let mut ws = ws_with(&svc, &[("cookie", c.clone()), ("origin", origin)])
        .await
        .expect("the upgrade itself is not refused");
    let e = ws.err("get_camera_list", json!({})).await;
    assert_eq!(e["code"], -32001);
    assert_eq!(e["data"]["reason"], "session_ended");
}

#[tokio::test]
async fn the_upgrade_with_the_cookie_needs_the_services_own_origin() {
    let svc = TestService::start();
    let c = cookie(&login(&svc, &svc.token(Role::Viewer, 600), &[]).await);
    let port = svc.addr.port();
    for origin in [
        Some(format!("http://127.0.0.1:{}", port + 1)),
        Some("http://evil.example".to_owned()),
        Some("null".to_owned()),
        None,
    ] {
        let mut headers = vec![("cookie", c.clone())];
        if let Some(o) = &origin {
            headers.push(("origin", o.clone()));
        }
        let e = ws_with(&svc, &headers).await.err();
        assert!(
            e.as_deref().is_some_and(|e| e.contains("403")),
            "origin {origin:?}: {e:?}"
        );
    }
    let refusals = svc
        .audit()
        .iter()
        .filter(|a| a["what"] == "cross_origin_websocket" || a["event"] == "refused")
        .count();
    assert!(refusals >= 1, "cross-origin upgrades are audited");
    // The same origin, over https through a proxy, is this service too.
    let mut ws = ws_with(
        &svc,
        &[
            ("cookie", c.clone()),
            ("origin", format!("https://{}", svc.addr)),
        ],
    )
    .await
    .expect("same host and port");
    ws.ok("get_camera_list", json!({})).await;
}

#[tokio::test]
async fn files_accept_the_cookie_and_never_a_query_token() {
    let svc = TestService::start();
    let token = svc.token(Role::Operator, 600);
    let mut ws = WsClient::connect(&svc.ws_url(), Some(&token)).await;
    let shot = ws.ok("take_snapshot", json!({"device": "camera0"})).await;
    let url = shot["download_url"].as_str().unwrap().to_owned();
    let c = cookie(&login(&svc, &token, &[]).await);
    let r = get(svc.addr, &url, &[("Cookie", &c), ("Range", "bytes=0-1")]).await;
    assert_eq!(r.status, 206);
    assert_eq!(r.body, vec![0xff, 0xd8], "a JPEG's first bytes");
    let r = get(svc.addr, &format!("{url}?token={token}"), &[]).await;
    assert_eq!(r.status, 401, "a token in the query string is not read");
    let r = get(svc.addr, &url, &[("Cookie", "cs_session=forged")]).await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn a_revoked_key_ends_its_console_session() {
    let svc = TestService::start();
    let admin = svc.token(Role::Admin, 600);
    let mut ws = WsClient::connect(&svc.ws_url(), Some(&admin)).await;
    let created = ws
        .ok(
            "create_api_key",
            json!({"role": "operator", "label": "console test", "expires_in_secs": 3600}),
        )
        .await;
    let key = created["key"]
        .as_str()
        .expect("the key, shown once")
        .to_owned();
    assert!(key.starts_with("csk_"));
    let id = created["id"].as_str().unwrap().to_owned();
    let listed = ws.ok("list_api_keys", json!({})).await;
    let row = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id.as_str())
        .expect("listed")
        .clone();
    assert_eq!(row["role"], "operator");
    assert_eq!(row["label"], "console test");
    assert!(
        row.get("key").is_none() && !listed.to_string().contains(&key),
        "never the key again"
    );

    let r = login(&svc, &key, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(max_age(&r) <= 3600);
    let c = cookie(&r);
    assert_eq!(
        get(svc.addr, "/session", &[("Cookie", &c)]).await.status,
        200
    );
    ws.ok("revoke_api_key", json!({"id": id})).await;
    let who = get(svc.addr, "/session", &[("Cookie", &c)]).await;
    assert_eq!(who.status, 401);
    assert_eq!(who.json()["error"]["data"]["reason"], "key_revoked");
    let audit = svc.audit();
    assert!(audit
        .iter()
        .any(|a| a["event"] == "api_key_created" && a["key_id"] == id.as_str()));
    assert!(audit
        .iter()
        .any(|a| a["event"] == "api_key_revoked" && a["key_id"] == id.as_str()));
    assert!(!std::fs::read_to_string(svc.dir.path().join("audit.log"))
        .unwrap()
        .contains(&key));

    let e = ws.err("revoke_api_key", json!({"id": "nosuchkey"})).await;
    assert_eq!(e["code"], -32602);
    let e = ws
        .err("create_api_key", json!({"role": "operator", "label": ""}))
        .await;
    assert_eq!(e["code"], -32602);
    let mut op = WsClient::connect(&svc.ws_url(), Some(&svc.token(Role::Operator, 600))).await;
    assert_eq!(op.err("list_api_keys", json!({})).await["code"], -32002);
}

#[tokio::test]
async fn the_assets_are_served_with_their_types_and_a_strict_policy() {
    let svc = TestService::start();
    let index = get(svc.addr, "/", &[]).await;
    assert_eq!(index.status, 200);
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = index
        .header("content-security-policy")
        .expect("a CSP")
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(index.header("cache-control"), Some("no-cache"));
    let js = get(svc.addr, "/console/app.js", &[]).await;
    assert_eq!(
        js.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    let tag = js.header("etag").expect("an ETag").to_owned();
    let again = get(svc.addr, "/console/app.js", &[("If-None-Match", &tag)]).await;
    assert_eq!(again.status, 304);
    assert_eq!(get(svc.addr, "/console/nothing.js", &[]).await.status, 404);
    // Every script the page loads is embedded (no CDN).
    for m in [
        "rpc", "ui", "cameras", "camera", "files", "events", "system", "keys", "live",
    ] {
        assert_eq!(
            get(svc.addr, &format!("/console/{m}.js"), &[]).await.status,
            200,
            "{m}.js"
        );
    }
    assert!(!index.text().contains("https://"), "no outside resources");
}
