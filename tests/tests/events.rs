//! Live events, black-box: topic subscriptions with filters and roles, the notifications
//! camera hot-plug and recordings produce, unsubscribe, and slow subscribers.
//!
//! One file of ~680 lines: every events test shares the subscription helpers.

use std::time::Duration;

use cs_tests::{TestService, WsClient};
use domain::Role;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;

/// No cameras from config: every camera in these tests is plugged by the test.
fn service_without_cameras(extra: &str) -> TestService {
    TestService::builder()
        .config("camera: {simulated: []}")
        .config(extra)
        .start()
}

async fn subscribe(ws: &mut WsClient, params: Value) -> Value {
    let id = ws.ok("subscribe_events", params).await;
    assert!(id.is_string() || id.is_number(), "a subscription id: {id}");
    id
}

/// The next notification's `(subscription, method, result)`.
async fn next_event(ws: &mut WsClient) -> (Value, String, Value) {
    let n = ws
        .notification(20.0)
        .await
        .expect("a notification within 20 s");
    (
        n["params"]["subscription"].clone(),
        n["method"].as_str().unwrap_or_default().to_owned(),
        n["params"]["result"].clone(),
    )
}

async fn wait_connected(svc: &TestService, ws: &mut WsClient, device: &str) {
    for _ in 0..1000 {
        let list = ws.ok("get_camera_list", Value::Null).await;
        let cameras = list["cameras"].as_array().cloned().unwrap_or_default();
        if cameras
            .iter()
            .any(|c| c["device"] == device && c["status"] == "CONNECTED")
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "{device} never connected; service logs:\n{}",
        svc.logs().join("\n")
    );
}

#[tokio::test]
async fn a_device_filter_delivers_that_cameras_plug_event_and_not_anothers() {
    let svc = service_without_cameras("{}");
    let mut ws = svc.ws_as(Role::Viewer).await;
    let mut probe = svc.ws_as(Role::Viewer).await;
    let sub = subscribe(
        &mut ws,
        json!({"topics": ["camera.connected"], "filters": {"device": "camera1"}}),
    )
    .await;

    // camera0 first, and only once it is in, camera1: an unfiltered subscriber would get
    // camera0's event before camera1's.
    svc.plug_sim(0, "Garage");
    wait_connected(&svc, &mut probe, "camera0").await;
    svc.plug_sim(1, "Porch");

    let (id, method, event) = next_event(&mut ws).await;
    assert_eq!(id, sub);
    assert_eq!(method, "camera_status_update");
    assert_eq!(event["topic"], "camera.connected");
    assert_eq!(event["device"], "camera1");
    assert_eq!(event["status"], "CONNECTED");
    assert_eq!(event["name"], "Porch");
    assert!(event["resolution"].is_string(), "resolution: {event}");
    assert!(event["fps"].is_number(), "fps: {event}");
    assert!(
        event["timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "timestamp: {event}"
    );
}

#[tokio::test]
async fn unplugging_a_camera_notifies_its_disconnection() {
    let svc = service_without_cameras("{}");
    let mut ws = svc.ws_as(Role::Viewer).await;
    subscribe(&mut ws, json!({"topics": ["camera.*"]})).await;

    svc.plug_sim(3, "Hall");
    let (_, _, plugged) = next_event(&mut ws).await;
    svc.unplug_sim(3);
    let (_, method, unplugged) = next_event(&mut ws).await;

    assert_eq!(
        (plugged["topic"].as_str(), plugged["device"].as_str()),
        (Some("camera.connected"), Some("camera3"))
    );
    assert_eq!(method, "camera_status_update");
    assert_eq!(unplugged["topic"], "camera.disconnected");
    assert_eq!(unplugged["device"], "camera3");
    assert_eq!(unplugged["status"], "DISCONNECTED");
}

#[tokio::test]
async fn a_viewer_cannot_subscribe_to_recording_topics() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Viewer).await;

    let e = ws
        .err("subscribe_events", json!({"topics": ["recording.*"]}))
        .await;

    assert_eq!(e["code"], -32002, "{e}");
    assert_eq!(e["data"]["required_role"], "operator");
    assert_eq!(e["data"]["role"], "viewer");
    // The same viewer may subscribe to what it is allowed to see.
    subscribe(&mut ws, json!({"topics": ["camera.*", "system.health"]})).await;
}

#[tokio::test]
async fn unknown_topics_and_bad_filters_are_invalid_params() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Admin).await;

    for params in [
        json!({"topics": ["camera.exploded"]}),
        json!({"topics": []}),
        json!({"topics": ["camera.*"], "filters": {"device": "/dev/video0"}}),
    ] {
        let e = ws.err("subscribe_events", params.clone()).await;
        assert_eq!(e["code"], -32602, "{params}: {e}");
    }
}

#[tokio::test]
async fn recording_start_and_stop_notify_with_the_file_name() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Operator).await;
    let sub = subscribe(
        &mut ws,
        json!({"topics": ["recording.*"], "filters": {"device": "camera0"}}),
    )
    .await;

    let started = ws.ok("start_recording", json!({"device": "camera0"})).await;
    let filename = started["filename"]
        .as_str()
        .expect("start_recording names its file")
        .to_owned();
    let (id, method, start) = next_event(&mut ws).await;
    // Let a few frames reach the file before stopping.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    ws.ok("stop_recording", json!({"device": "camera0"})).await;
    let (_, _, stop) = next_event(&mut ws).await;

    assert_eq!(id, sub);
    assert_eq!(method, "recording_status_update");
    assert_eq!(start["topic"], "recording.start");
    assert_eq!(start["device"], "camera0");
    assert_eq!(start["filename"], filename.as_str());
    assert_eq!(start["status"], "RECORDING");
    assert_eq!(stop["topic"], "recording.stop");
    assert_eq!(stop["filename"], filename.as_str());
    assert_eq!(stop["status"], "STOPPED");
    assert!(
        stop["duration"].as_f64().is_some_and(|d| d > 0.0),
        "duration: {stop}"
    );
}

#[tokio::test]
async fn unsubscribing_stops_delivery_on_that_subscription_only() {
    let svc = service_without_cameras("{}");
    let mut ws = svc.ws_as(Role::Viewer).await;
    let gone = subscribe(&mut ws, json!({"topics": ["camera.connected"]})).await;
    let kept = subscribe(&mut ws, json!({"topics": ["camera.connected"]})).await;
    // Both deliver while subscribed. (Waiting for this also steps around a jsonrpsee 0.26
    // race: it answers `subscribe` before it registers the id that `unsubscribe` looks up.)
    svc.plug_sim(0, "Cam");
    let mut before = vec![next_event(&mut ws).await.0, next_event(&mut ws).await.0];
    before.sort_by_key(|id| id.to_string());
    let mut both = vec![gone.clone(), kept.clone()];
    both.sort_by_key(|id| id.to_string());
    assert_eq!(before, both);

    assert_eq!(ws.ok("unsubscribe_events", json!([gone])).await, true);
    for i in 1..4 {
        svc.plug_sim(i, "Cam");
    }
    let mut seen = Vec::new();
    for _ in 1..4 {
        let (id, _, event) = next_event(&mut ws).await;
        seen.push((id, event["device"].clone()));
    }
    // Anything still in flight for the old subscription would have been queued by now.
    assert!(ws.alive().await);
    while let Some(n) = ws.notification(0.3).await {
        seen.push((
            n["params"]["subscription"].clone(),
            n["params"]["result"]["device"].clone(),
        ));
    }

    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(seen.iter().all(|(id, _)| *id == kept), "{seen:?}");
    // Unsubscribing twice is an error or `false`, not a crash.
    let again = ws.call("unsubscribe_events", json!([gone])).await;
    assert!(
        again.get("error").is_some() || again["result"] == false,
        "{again}"
    );
}

#[tokio::test]
async fn closing_the_connection_removes_its_subscriptions() {
    let svc = TestService::start();
    let subscribers = || async {
        let text = cs_tests::http::get(svc.addr, "/metrics", &[]).await.text();
        text.lines()
            .find_map(|l| l.strip_prefix("camera_service_event_subscribers "))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let mut ws = svc.ws_as(Role::Viewer).await;
    subscribe(&mut ws, json!({"topics": ["camera.*"]})).await;
    subscribe(&mut ws, json!({"topics": ["system.health"]})).await;
    assert_eq!(subscribers().await, Some(2));

    drop(ws);

    let gone = TestService::eventually(10.0, || async {
        (subscribers().await == Some(0)).then_some(())
    })
    .await;
    assert!(
        gone.is_some(),
        "subscriptions outlived their connection: {:?}",
        subscribers().await
    );
}

/// A WebSocket client with a tiny receive buffer and an Ethernet-sized TCP segment that,
/// after subscribing, reads nothing.
struct Stalled {
    ws: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
}

impl Stalled {
    async fn connect(svc: &TestService, topics: Value) -> Stalled {
        let socket = TcpSocket::new_v4().expect("a socket");
        socket
            .set_recv_buffer_size(4096)
            .expect("a small receive buffer");
        // An Ethernet-sized segment instead of loopback's 64 KiB: the server's send buffer
        // is sized from it, as it would be for a client on a real network.
        nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::TcpMaxSeg, &1400)
            .expect("TCP_MAXSEG is settable before connect");
        let tcp = socket.connect(svc.addr).await.expect("TCP connects");
        let (mut ws, _) = tokio_tungstenite::client_async(svc.ws_url(), tcp)
            .await
            .expect("WebSocket upgrade");
        let token = svc.token(Role::Viewer, 3600);
        for (id, method, params) in [
            (1, "authenticate", json!({"auth_token": token})),
            (2, "subscribe_events", json!({"topics": topics})),
        ] {
            let req = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
            ws.send(Message::text(req.to_string())).await.expect("sent");
            loop {
                let msg = ws.next().await.expect("an answer").expect("a frame");
                let Message::Text(t) = msg else { continue };
                let v: Value = serde_json::from_str(&t).expect("JSON");
                if v["id"] == id {
                    assert!(v.get("error").is_none(), "{method}: {v}");
                    break;
                }
            }
        }
        Stalled { ws }
    }

    /// Reads notifications until one of `device`'s arrives; returns every one read.
    async fn read_until(&mut self, device: &str) -> Vec<Value> {
        let mut got = Vec::new();
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(30), self.ws.next())
                .await
                .expect("the stalled client's notifications keep coming")
                .expect("open")
                .expect("a frame");
            let Message::Text(t) = msg else { continue };
            let v: Value = serde_json::from_str(&t).expect("JSON");
            let done = v["params"]["result"]["device"] == device;
            got.push(v["params"]["result"].clone());
            if done {
                return got;
            }
        }
    }
}

/// Waits for `admin`'s notifications (it subscribed to the camera topics) until it has seen
/// `topic` for every camera in `indexes`.
async fn wait_for_all(admin: &mut WsClient, topic: &str, indexes: std::ops::Range<u16>) {
    let mut missing: Vec<String> = indexes.map(|i| format!("camera{i}")).collect();
    while !missing.is_empty() {
        let (_, _, e) = next_event(admin).await;
        if e["topic"] == topic {
            missing.retain(|d| e["device"] != d.as_str());
        }
    }
}

/// One round of camera churn: ten plugs, each seen by `admin` before the ten unplugs, each
/// seen too (so no unplug can overtake its plug, whatever the discovery's timing).
async fn churn_round(svc: &TestService, admin: &mut WsClient) {
    for i in 0..10 {
        svc.plug_sim(100 + i, "Churn");
    }
    wait_for_all(admin, "camera.connected", 100..110).await;
    for i in 0..10 {
        svc.unplug_sim(100 + i);
    }
    wait_for_all(admin, "camera.disconnected", 100..110).await;
}

/// Reads notifications until `marker`'s; says on `rounds` each time it has the ten
/// disconnections of another round; returns every `topic:device` read and whether any
/// notification said events were dropped.
async fn read_until(
    mut ws: WsClient,
    rounds: tokio::sync::mpsc::UnboundedSender<()>,
    marker: &'static str,
) -> (Vec<String>, bool) {
    let mut events = Vec::new();
    let mut dropped = false;
    let mut disconnections = 0;
    loop {
        let n = ws
            .notification(60.0)
            .await
            .expect("notifications keep coming");
        let e = &n["params"]["result"];
        let key = format!(
            "{}:{}",
            e["topic"].as_str().unwrap_or(""),
            e["device"].as_str().unwrap_or("")
        );
        dropped |= e.get("dropped").is_some();
        if e["topic"] == "camera.disconnected" {
            disconnections += 1;
            if disconnections % 10 == 0 {
                let _ = rounds.send(());
            }
        }
        events.push(key.clone());
        if key == marker {
            return (events, dropped);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_does_not_delay_the_others_and_learns_what_it_lost() {
    let svc =
        service_without_cameras("events: {subscriber_buffer: 64, stuck_disconnect_secs: 3600}");
    let topics = json!(["camera.connected", "camera.disconnected"]);
    let mut stalled = Stalled::connect(&svc, topics.clone()).await;
    let marker = "camera.connected:camera999";
    let (round_tx, mut round_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut readers = Vec::new();
    for _ in 0..100 {
        let mut ws = svc.ws_as(Role::Viewer).await;
        subscribe(&mut ws, json!({"topics": topics})).await;
        readers.push(tokio::spawn(read_until(ws, round_tx.clone(), marker)));
    }
    let mut admin = svc.ws_as(Role::Admin).await;
    subscribe(&mut admin, json!({"topics": topics})).await;

    // Rounds of churn. A round ends only once all 100 readers have read all of it, while
    // the stalled client reads nothing; rounds go on until the transport's and the kernel's
    // buffers for the stalled client are full and the hub drops its oldest events.
    let mut rounds = 0;
    while admin.ok("get_metrics", Value::Null).await["events"]["dropped"].as_u64() == Some(0) {
        assert!(rounds < 300, "no event was dropped after {rounds} rounds");
        churn_round(&svc, &mut admin).await;
        rounds += 1;
        for _ in 0..100 {
            round_rx
                .recv()
                .await
                .expect("every reader reads every round, however stalled the other client");
        }
    }
    svc.plug_sim(999, "Marker");

    let mut sequences = Vec::new();
    for task in readers {
        let (events, dropped) = task.await.expect("reader task");
        assert!(!dropped, "a reader that keeps up never loses events");
        sequences.push(events);
    }
    // The hub publishes one event at a time to all: one order for everyone.
    assert!(
        sequences.iter().all(|s| *s == sequences[0]),
        "every reader saw the same events in the same order"
    );
    let published = sequences[0].len() as u64;

    // The stalled client, reading at last, is told how many it lost.
    let got = stalled.read_until("camera999").await;
    let lost: u64 = got.iter().filter_map(|e| e["dropped"].as_u64()).sum();
    eprintln!(
        "{rounds} rounds, {published} events, the stalled client read {} and lost {lost}",
        got.len()
    );
    assert!(lost > 0, "some notification carries `dropped`");
    assert_eq!(
        got.len() as u64 + lost,
        published,
        "what it read plus what it lost is everything ({rounds} rounds)"
    );
    let m = admin.ok("get_metrics", Value::Null).await;
    assert_eq!(m["events"]["dropped"].as_u64(), Some(lost), "{m}");
}

/// A `/metrics` counter.
async fn counter(svc: &TestService, name: &str) -> u64 {
    let text = cs_tests::http::get(svc.addr, "/metrics", &[]).await.text();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_stuck_past_the_limit_is_disconnected_and_a_reader_keeps_its_events() {
    let svc = service_without_cameras("events: {subscriber_buffer: 64, stuck_disconnect_secs: 1}");
    let topics = json!(["camera.connected", "camera.disconnected"]);
    let mut stalled = Stalled::connect(&svc, topics.clone()).await;
    let mut reader = svc.ws_as(Role::Viewer).await;
    subscribe(&mut reader, json!({"topics": topics})).await;
    let mut admin = svc.ws_as(Role::Admin).await;
    subscribe(&mut admin, json!({"topics": topics})).await;

    // Churn until the service closes the stalled connection. The limit is wall time (1 s
    // with events waiting and none read), so rounds are paced; the reader reads each round.
    let mut rounds = 0;
    while counter(&svc, "camera_service_slow_clients_closed_total").await == 0 {
        assert!(
            rounds < 300,
            "the stalled client is still connected after {rounds} rounds"
        );
        churn_round(&svc, &mut admin).await;
        let mut disconnections = 0;
        while disconnections < 10 {
            let (_, _, e) = next_event(&mut reader).await;
            assert!(e.get("dropped").is_none(), "the reader keeps up: {e}");
            if e["topic"] == "camera.disconnected" {
                disconnections += 1;
            }
        }
        rounds += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        counter(&svc, "camera_service_slow_clients_closed_total").await,
        1,
        "only the stalled connection was closed"
    );
    eprintln!("the stalled connection was closed after {rounds} rounds");

    // The reader's subscription lives on.
    svc.plug_sim(999, "Marker");
    loop {
        let (_, _, e) = next_event(&mut reader).await;
        if e["device"] == "camera999" {
            break;
        }
    }
    assert!(reader.alive().await);

    // The stalled client finds its connection closed once it reads what was sent before:
    // with a close frame (policy violation, 1008) when the socket had room for one.
    let ended = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match stalled.ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    })
    .await
    .expect("the server closed the stalled connection");
    eprintln!("the stalled client's close frame: {ended:?}");
    if let Some(code) = ended {
        assert_eq!(code, 1008, "a policy-violation close");
    }
    let audited = TestService::eventually(10.0, || async {
        svc.audit()
            .into_iter()
            .find(|e| e["event"] == "slow_client_disconnected")
    })
    .await
    .expect("the disconnection is in the audit log");
    assert_eq!(audited["stuck_secs"], 1, "{audited}");
    let logged = TestService::eventually(10.0, || async {
        svc.logs()
            .iter()
            .any(|l| l.contains("closing a connection that does not read its events"))
            .then_some(())
    })
    .await;
    assert!(logged.is_some(), "the disconnection is logged");
}

/// Every notification's `topic:device` until `marker`'s.
async fn events_until(ws: &mut WsClient, marker: &str) -> Vec<String> {
    let mut got = Vec::new();
    loop {
        let (_, _, e) = next_event(ws).await;
        let key = format!(
            "{}:{}",
            e["topic"].as_str().unwrap_or(""),
            e["device"].as_str().unwrap_or("")
        );
        got.push(key.clone());
        if key == marker {
            return got;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_pipelining_calls_while_events_stream_gets_every_answer_and_event_in_order() {
    let svc = service_without_cameras("{}");
    let topics = json!(["camera.connected", "camera.disconnected"]);
    let mut busy = svc.ws_as(Role::Viewer).await;
    subscribe(&mut busy, json!({"topics": topics})).await;
    let mut reader = svc.ws_as(Role::Viewer).await;
    subscribe(&mut reader, json!({"topics": topics})).await;
    let marker = "camera.connected:camera999";

    // Cameras come and go while `busy` sends calls without waiting for their answers, so
    // answers and notifications go out to the same socket at the same time.
    let churn = async {
        for i in 0..20 {
            svc.plug_sim(200 + i, "Churn");
            tokio::time::sleep(Duration::from_millis(3)).await;
            svc.unplug_sim(200 + i);
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
    };
    let calls = 150u64;
    let send = async {
        for id in 0..calls {
            let method = if id % 3 == 0 {
                "get_camera_list"
            } else {
                "ping"
            };
            busy.send_text(json!({"jsonrpc": "2.0", "id": id, "method": method}).to_string())
                .await;
            if id % 10 == 9 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    };
    tokio::join!(churn, send);
    svc.plug_sim(999, "Marker");

    // Every frame decodes (tungstenite checks the framing), every answer comes once, and the
    // notifications are the reader's, in the same order.
    let mut answered = vec![0u32; calls as usize];
    let mut events = Vec::new();
    while answered.contains(&0) || events.last().map(String::as_str) != Some(marker) {
        let v = busy
            .recv_timeout(20.0)
            .await
            .unwrap_or_else(|| panic!("an intact message within 20 s; answered {answered:?}"));
        if let Some(id) = v.get("id") {
            let id = id.as_u64().expect("our numeric id") as usize;
            assert!(v.get("result").is_some() || v.get("error").is_some(), "{v}");
            answered[id] += 1;
        } else {
            let e = &v["params"]["result"];
            events.push(format!(
                "{}:{}",
                e["topic"].as_str().unwrap_or(""),
                e["device"].as_str().unwrap_or("")
            ));
        }
    }
    assert!(
        answered.iter().all(|&n| n == 1),
        "each answer once: {answered:?}"
    );
    assert_eq!(events, events_until(&mut reader, marker).await);
    // A camera unplugged before discovery saw it has no event at all; one that was seen
    // comes and goes once, in that order.
    for i in 200..220 {
        let mine: Vec<&str> = events
            .iter()
            .filter_map(|e| e.strip_suffix(&format!(":camera{i}")))
            .collect();
        assert!(
            mine.is_empty() || mine == ["camera.connected", "camera.disconnected"],
            "camera{i}: {mine:?}"
        );
    }
}

/// A raw WebSocket client, authenticated as a viewer, subscribed to the camera topics when
/// `subscribed`.
async fn raw_viewer(
    svc: &TestService,
    subscribed: bool,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let (mut ws, _) = tokio_tungstenite::connect_async(svc.ws_url())
        .await
        .expect("WebSocket upgrade");
    let token = svc.token(Role::Viewer, 3600);
    let mut calls = vec![(1, "authenticate", json!({"auth_token": token}))];
    if subscribed {
        calls.push((2, "subscribe_events", json!({"topics": ["camera.*"]})));
    }
    for (id, method, params) in calls {
        let req = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        ws.send(Message::text(req.to_string())).await.expect("sent");
        loop {
            let msg = ws.next().await.expect("an answer").expect("a frame");
            let Message::Text(t) = msg else { continue };
            let v: Value = serde_json::from_str(&t).expect("JSON");
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                break;
            }
        }
    }
    ws
}

#[tokio::test]
async fn stopping_the_service_closes_idle_and_subscribed_connections_with_going_away() {
    let svc = service_without_cameras("{}");
    let mut idle = raw_viewer(&svc, false).await;
    let mut subscribed = raw_viewer(&svc, true).await;

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(svc.pid() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM is sent");

    for (who, ws) in [("idle", &mut idle), ("subscribed", &mut subscribed)] {
        let code = loop {
            let msg = tokio::time::timeout(Duration::from_secs(20), ws.next())
                .await
                .unwrap_or_else(|_| panic!("{who}: closed within 20 s"));
            match msg {
                Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                other => panic!("{who}: a close frame, not {other:?}"),
            }
        };
        assert_eq!(code, Some(1001), "{who}");
    }
}
