//! The web console in a real browser: headless Chromium through WebDriver (see
//! `cs_tests::browser`). Screenshots of the grid, a camera page, files and system go to
//! `target/console-screenshots/`. Without Chromium each test prints `skipped:` and returns
//! (a panic with `CS_REQUIRE_BROWSER=1`, as in CI).

use std::time::{Duration, Instant};

use cs_tests::browser::Browser;
use cs_tests::mediamtx::{real_mediamtx_bin, RealMediamtx, Servers};
use cs_tests::TestService;
use domain::Role;

fn base(svc: &TestService) -> String {
    format!("http://{}/", svc.addr)
}

const GRID_COUNT: &str =
    "return Number(document.getElementById('camera-grid')?.dataset.count || 0)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_shows_the_cameras_and_a_snapshot_taken_from_the_page() {
    let Some(b) =
        Browser::start("console::login_shows_the_cameras_and_a_snapshot_taken_from_the_page").await
    else {
        return;
    };
    let svc = TestService::start();
    let started = Instant::now();
    b.login(&base(&svc), &svc.token(Role::Operator, 3600)).await;
    b.wait_js("two camera tiles", &format!("{GRID_COUNT} === 2"), 15.0)
        .await;
    let populated_ms = started.elapsed().as_millis();
    let devices = b
        .js("return [...document.querySelectorAll('#camera-grid [data-device]')].map(e => e.dataset.device + ':' + e.dataset.status)")
        .await;
    assert_eq!(
        devices,
        serde_json::json!(["camera0:CONNECTED", "camera1:CONNECTED"])
    );

    // First load of a logged-in browser: the page again, from navigation to a full grid.
    let t0 = Instant::now();
    b.client.refresh().await.expect("reload");
    b.wait_js(
        "the grid after a reload",
        &format!("{GRID_COUNT} === 2"),
        15.0,
    )
    .await;
    let grid_ms = t0.elapsed().as_millis();
    let load = b
        .js("const n = performance.getEntriesByType('navigation')[0]; return {load: n.loadEventEnd, dom: n.domContentLoadedEventEnd, bytes: n.transferSize}")
        .await;
    eprintln!(
        "console first load on loopback: load event {:.0} ms, DOMContentLoaded {:.0} ms, grid populated {grid_ms} ms after navigation (login to grid {populated_ms} ms)",
        load["load"].as_f64().unwrap_or(-1.0),
        load["dom"].as_f64().unwrap_or(-1.0),
    );
    b.wait_js(
        "snapshot or placeholder in the tiles",
        "return [...document.querySelectorAll('[data-live]')].every(e => e.textContent.includes('No picture') || e.querySelector('img'))",
        15.0,
    )
    .await;
    let shot = b.screenshot("grid").await;
    eprintln!("screenshot: {}", shot.display());

    b.client
        .goto(&format!("{}#/camera/camera0", base(&svc)))
        .await
        .expect("camera page");
    b.click("#take-snapshot").await;
    let name = b
        .wait_js(
            "the snapshot shown",
            "const i = document.getElementById('snapshot-image'); return i && i.complete && i.naturalWidth > 0 && i.dataset.filename",
            30.0,
        )
        .await;
    let name = name.as_str().expect("a file name").to_owned();
    assert!(
        name.starts_with("camera0_") && name.ends_with(".jpg"),
        "{name}"
    );
    // The grid's tile shows that snapshot too (direct mode: the newest snapshot).
    b.wait_js(
        "the capabilities",
        "return document.querySelectorAll('#formats tbody tr').length > 0",
        10.0,
    )
    .await;
    b.screenshot("camera").await;

    // Direct mode: asked for it, the live tile shows a fresh picture every 2 s.
    b.click("#live-refresh").await;
    let first = b
        .wait_js(
            "a refreshed picture",
            &format!("const i = document.querySelector('[data-live=camera0] img'); return i && i.src.split('/').pop() !== '{name}' && i.src"),
            15.0,
        )
        .await;
    b.wait_js(
        "another refreshed picture",
        &format!("const i = document.querySelector('[data-live=camera0] img'); return i && i.src !== {first} && i.src"),
        15.0,
    )
    .await;
    b.click("#live-refresh").await;

    // The events panel has the snapshot's notification, live.
    b.client
        .goto(&format!("{}#/events", base(&svc)))
        .await
        .expect("events page");
    b.wait_js(
        "the snapshot.taken event",
        &format!("return document.getElementById('event-list')?.textContent.includes('{name}')"),
        10.0,
    )
    .await;

    // Phone width: the grid fits, nothing scrolls sideways.
    b.client
        .set_window_size(390, 844)
        .await
        .expect("phone width");
    b.client
        .goto(&format!("{}#/cameras", base(&svc)))
        .await
        .expect("grid");
    b.wait_js(
        "the grid at phone width",
        &format!("{GRID_COUNT} === 2"),
        15.0,
    )
    .await;
    let overflow = b
        .js("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        .await;
    assert_eq!(overflow, 0, "no sideways scrolling at phone width");
    b.screenshot("grid-phone").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_from_the_page_appears_in_files_and_plays() {
    let Some(b) =
        Browser::start("console::a_recording_from_the_page_appears_in_files_and_plays").await
    else {
        return;
    };
    let svc = TestService::start();
    b.login(&base(&svc), &svc.token(Role::Admin, 3600)).await;
    b.client
        .goto(&format!("{}#/camera/camera0", base(&svc)))
        .await
        .expect("camera page");
    b.click("#record-button").await;
    b.wait_js(
        "the running timer",
        "return /REC 00:00:0[2-9]/.test(document.getElementById('recording-timer')?.textContent || '')",
        20.0,
    )
    .await;
    b.click("#record-button").await;
    let name = b
        .wait_js(
            "the saved recording",
            "return document.getElementById('recording-timer')?.dataset.filename",
            20.0,
        )
        .await;
    let name = name.as_str().expect("a file name").to_owned();

    b.client
        .goto(&format!("{}#/files", base(&svc)))
        .await
        .expect("files page");
    let first = b
        .wait_js(
            "the recording listed",
            "return document.querySelector('#files-rows tr[data-filename]')?.dataset.filename",
            10.0,
        )
        .await;
    assert_eq!(first.as_str(), Some(name.as_str()), "newest first");
    b.click("#files-rows tr[data-filename] [data-action=open]")
        .await;
    let t1 = b
        .wait_js(
            "the video playing",
            "const v = document.getElementById('player'); return v && v.currentTime > 0.3 && v.currentTime",
            20.0,
        )
        .await
        .as_f64()
        .unwrap_or(0.0);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let t2 = b
        .js("return document.getElementById('player').currentTime")
        .await
        .as_f64()
        .unwrap_or(0.0);
    assert!(
        t2 > t1 || t2 > 1.5,
        "the video's time advances: {t1} then {t2}"
    );
    b.screenshot("files").await;

    b.client
        .goto(&format!("{}#/system", base(&svc)))
        .await
        .expect("system page");
    b.wait_js(
        "the metrics",
        "return document.getElementById('metrics')",
        15.0,
    )
    .await;
    let version = b
        .js("return document.getElementById('version').textContent")
        .await;
    assert!(
        version
            .as_str()
            .unwrap_or("")
            .contains(env!("CARGO_PKG_VERSION")),
        "{version}"
    );
    b.screenshot("system").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_creates_a_key_shown_once_and_revokes_it() {
    let Some(b) = Browser::start("console::an_admin_creates_a_key_shown_once_and_revokes_it").await
    else {
        return;
    };
    let svc = TestService::start();
    b.login(&base(&svc), &svc.token(Role::Admin, 3600)).await;
    b.client
        .goto(&format!("{}#/keys", base(&svc)))
        .await
        .expect("keys page");
    let label = b
        .client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(fantoccini::Locator::Css("#key-label"))
        .await
        .expect("the key form");
    label.send_keys("kiosk").await.expect("label typed");
    b.click("#key-form button[type=submit]").await;
    let key = b
        .wait_js(
            "the new key",
            "return document.getElementById('new-key-value')?.value",
            15.0,
        )
        .await;
    let key = key.as_str().unwrap().to_owned();
    assert!(key.starts_with("csk_"), "{key}");
    let id = b
        .wait_js(
            "the key listed",
            "return document.querySelector('#key-rows tr[data-id]')?.dataset.id",
            10.0,
        )
        .await;
    let id = id.as_str().unwrap().to_owned();
    assert!(key.contains(&id), "the key {key} is of the listed id {id}");
    assert_eq!(
        b.js("return document.getElementById('key-rows').textContent.includes('csk_')")
            .await,
        false,
        "the list never shows a key"
    );
    b.screenshot("keys").await;
    b.click(&format!("#key-rows button[data-id='{id}']")).await;
    b.wait_js(
        "the key revoked",
        &format!("return document.querySelector(\"#key-rows tr[data-id='{id}']\")?.textContent.includes('revoked')"),
        10.0,
    )
    .await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugged_camera_appears_without_a_reload() {
    let Some(b) = Browser::start("console::a_plugged_camera_appears_without_a_reload").await else {
        return;
    };
    let svc = TestService::start();
    b.login(&base(&svc), &svc.token(Role::Viewer, 3600)).await;
    b.wait_js("two camera tiles", &format!("{GRID_COUNT} === 2"), 15.0)
        .await;
    b.js("window.__sameDocument = true; return true").await;
    svc.plug_sim(5, "Plugged Cam");
    b.wait_js(
        "the plugged camera's tile",
        "return document.querySelector('#camera-grid [data-device=camera5]')?.dataset.status === 'CONNECTED'",
        20.0,
    )
    .await;
    assert_eq!(
        b.js("return window.__sameDocument === true").await,
        true,
        "no reload"
    );
    svc.unplug_sim(5);
    b.wait_js(
        "the unplugged camera shown disconnected",
        "return document.querySelector('#camera-grid [data-device=camera5]')?.dataset.status === 'DISCONNECTED'",
        20.0,
    )
    .await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_is_offered_no_control_it_may_not_use() {
    let Some(b) = Browser::start("console::a_viewer_is_offered_no_control_it_may_not_use").await
    else {
        return;
    };
    let svc = TestService::start();
    b.login(&base(&svc), &svc.token(Role::Viewer, 3600)).await;
    b.client
        .goto(&format!("{}#/camera/camera0", base(&svc)))
        .await
        .expect("camera page");
    b.wait_js(
        "the capabilities",
        "return document.querySelectorAll('#formats tbody tr').length > 0",
        15.0,
    )
    .await;
    let controls = b
        .js("return ['record-button', 'take-snapshot', 'start-stream'].filter(id => document.getElementById(id))")
        .await;
    assert_eq!(
        controls,
        serde_json::json!([]),
        "controls offered to a viewer"
    );
    let keys_link_hidden = b
        .js("return document.querySelector('nav a[data-page=keys]').hidden")
        .await;
    assert_eq!(keys_link_hidden, true);
    b.close().await;
}

/// A page served from another origin (another port of the same host: same site, so the
/// browser does send the SameSite=Strict cookie) cannot open the API's WebSocket with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_another_origin_cannot_open_the_websocket_with_the_cookie() {
    let Some(b) = Browser::start(
        "console::a_page_of_another_origin_cannot_open_the_websocket_with_the_cookie",
    )
    .await
    else {
        return;
    };
    let svc = TestService::start();
    b.login(&base(&svc), &svc.token(Role::Admin, 3600)).await;
    // The console's own page opens it.
    b.wait_js(
        "the console's WebSocket",
        "return document.body.dataset.ws === 'open'",
        10.0,
    )
    .await;

    let evil = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let evil_addr = evil.local_addr().expect("addr");
    let page = format!(
        "<!doctype html><title>waiting</title><script>\
         const ws = new WebSocket('ws://{}/ws');\
         ws.onopen = () => {{ document.title = 'open'; ws.send(JSON.stringify({{jsonrpc:'2.0',id:1,method:'get_camera_list'}})); }};\
         ws.onmessage = (m) => {{ document.title = 'answered ' + m.data.slice(0, 60); }};\
         ws.onerror = () => {{ document.title = 'refused'; }};\
         </script>",
        svc.addr
    );
    let server = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let Ok((mut s, _)) = evil.accept().await else {
                return;
            };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                page.len()
            );
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.write_all(page.as_bytes()).await;
        }
    });
    b.client
        .goto(&format!("http://{evil_addr}/"))
        .await
        .expect("the other page");
    let title = b
        .wait_js(
            "the other page's outcome",
            "return document.title !== 'waiting' && document.title",
            10.0,
        )
        .await;
    assert_eq!(title, "refused");
    server.abort();
    // It was refused for its origin, with the cookie on it (audited).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let refused = svc
            .audit()
            .iter()
            .any(|r| r["what"] == "cross_origin_websocket");
        if refused {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no cross_origin_websocket refusal in the audit log"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.close().await;
}

/// With the real MediaMTX a live tile shows moving video: WebRTC (WHEP) on loopback, ICE
/// over TCP to MediaMTX's 127.0.0.1 candidate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_tile_shows_moving_video_from_the_real_mediamtx() {
    let test = "console::a_live_tile_shows_moving_video_from_the_real_mediamtx";
    let Some(bin) = real_mediamtx_bin(test) else {
        return;
    };
    let Some(b) = Browser::start(test).await else {
        return;
    };
    let mtx = RealMediamtx::start_with(
        &bin,
        Servers {
            hls: true,
            webrtc: true,
        },
    );
    let svc = TestService::builder()
        .config(&mtx.service_config(5))
        .config("media: {mode: mediamtx}\nserver: {public_host: 127.0.0.1}\n")
        .start();
    b.login(&base(&svc), &svc.token(Role::Viewer, 3600)).await;
    let via = b
        .wait_js(
            "a video tile",
            "const t = document.querySelector('[data-live=camera0]'); return t && t.querySelector('video') && t.dataset.via",
            30.0,
        )
        .await;
    let t1 = b
        .wait_js(
            "the live video playing",
            "const v = document.querySelector('[data-live=camera0] video'); return v.currentTime > 0.2 && v.videoWidth > 0 && v.currentTime",
            30.0,
        )
        .await
        .as_f64()
        .unwrap_or(0.0);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let t2 = b
        .js("return document.querySelector('[data-live=camera0] video').currentTime")
        .await
        .as_f64()
        .unwrap_or(0.0);
    eprintln!("live tile via {via}: currentTime {t1:.2} then {t2:.2}");
    assert!(t2 > t1 + 0.5, "the live video moves: {t1} then {t2}");
    assert_eq!(via, "WebRTC", "loopback WebRTC in headless Chromium");
    b.screenshot("grid-live").await;
    b.close().await;
}
