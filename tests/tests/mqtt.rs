//! The MQTT bridge against a real Mosquitto started by the test on a loopback port: HA
//! discovery (checked against Home Assistant's documented keys), state and availability,
//! the last will, commands with their results, roles and rate limits, reconnects, cameras
//! gone for good, and `camera-service fleet` over ten services.
//!
//! One file (~760 lines): every test shares the broker helpers and the HA key table.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use cs_tests::mosquitto::{Mosquitto, Probe, Received};
use cs_tests::service::binary;
use cs_tests::TestService;
use serde_json::{json, Value};

/// Generous: the box runs many builds and tests at once.
const WAIT: f64 = 30.0;

fn service_on(broker: &Mosquitto, base: &str, extra: &str) -> TestService {
    TestService::builder()
        .config(&format!(
            "mqtt: {{enabled: true, broker_url: \"{}\", base_topic: \"{base}\", keepalive_secs: 5}}",
            broker.url()
        ))
        .config(extra)
        .start()
}

/// Keys Home Assistant documents for MQTT discovery of each component we publish (the
/// entity options of camera.mqtt, binary_sensor.mqtt, button.mqtt, switch.mqtt and
/// sensor.mqtt that we use, plus the common ones: availability, device, origin, qos).
fn documented_keys(component: &str) -> (BTreeSet<&'static str>, BTreeSet<&'static str>) {
    let common = [
        "name",
        "unique_id",
        "device",
        "origin",
        "availability_topic",
        "payload_available",
        "payload_not_available",
        "qos",
        "icon",
        "object_id",
        "default_entity_id",
        "enabled_by_default",
        "entity_category",
        "json_attributes_topic",
        "json_attributes_template",
        "availability",
        "availability_mode",
        "encoding",
    ];
    let (specific, required): (&[&str], &[&str]) = match component {
        "camera" => (&["topic", "image_encoding"], &["topic"]),
        "binary_sensor" => (
            &[
                "state_topic",
                "value_template",
                "payload_on",
                "payload_off",
                "device_class",
                "expire_after",
                "force_update",
                "off_delay",
            ],
            &["state_topic"],
        ),
        "button" => (
            &[
                "command_topic",
                "command_template",
                "payload_press",
                "device_class",
                "retain",
            ],
            &["command_topic"],
        ),
        "switch" => (
            &[
                "command_topic",
                "command_template",
                "state_topic",
                "value_template",
                "payload_on",
                "payload_off",
                "state_on",
                "state_off",
                "optimistic",
                "device_class",
                "retain",
            ],
            &["command_topic"],
        ),
        "sensor" => (
            &[
                "state_topic",
                "value_template",
                "unit_of_measurement",
                "device_class",
                "state_class",
                "expire_after",
                "force_update",
                "suggested_display_precision",
                "last_reset_value_template",
                "options",
            ],
            &["state_topic"],
        ),
        other => panic!("unexpected component {other}"),
    };
    let allowed = common.iter().chain(specific).copied().collect();
    let required = required
        .iter()
        .copied()
        .chain(["unique_id", "device"])
        .collect();
    (allowed, required)
}

const DEVICE_KEYS: [&str; 8] = [
    "identifiers",
    "connections",
    "name",
    "manufacturer",
    "model",
    "sw_version",
    "hw_version",
    "configuration_url",
];

/// Latest retained discovery config per topic (empty payloads: cleared).
fn configs(probe: &Probe) -> BTreeMap<String, Received> {
    let mut out = BTreeMap::new();
    for m in probe.received() {
        if m.topic.starts_with("homeassistant/") && m.topic.ends_with("/config") {
            out.insert(m.topic.clone(), m);
        }
    }
    out
}

#[tokio::test]
async fn discovery_state_and_availability_reach_the_broker() {
    let Some(broker) = Mosquitto::start("the MQTT discovery test") else {
        return;
    };
    let base = "camera-service/disc";
    let probe = Probe::connect(broker.port, &[&format!("{base}/#"), "homeassistant/#"]).await;
    let svc = service_on(&broker, base, "{}");

    probe
        .wait_for(&format!("{base}/status"), WAIT, |m| m.payload == b"online")
        .await
        .expect("availability online");
    for cam in ["camera0", "camera1"] {
        let state = probe
            .wait_for(&format!("{base}/{cam}/state"), WAIT, |m| {
                !m.payload.is_empty()
            })
            .await
            .expect("a camera state")
            .json();
        assert_eq!(state["device"], cam);
        assert_eq!(state["status"], "CONNECTED");
        assert_eq!(state["recording"], false);
        assert_eq!(state["streaming"], false);
        assert!(state["name"].is_string() && state["resolution"].is_string());
        assert!(state["fps"].is_number());
    }
    let system = probe
        .wait_for(&format!("{base}/system"), WAIT, |_| true)
        .await
        .expect("system figures")
        .json();
    assert_eq!(system["status"], "HEALTHY");
    assert!(system["storage"]["used_bytes"].is_u64(), "{system}");
    assert!(system["storage"]["available_bytes"].is_u64());

    // 5 entities per camera, 2 per box.
    let ok = TestService::eventually(WAIT, || async {
        (configs(&probe).len() >= 12).then_some(())
    })
    .await;
    assert!(
        ok.is_some(),
        "discovery configs: {:?}",
        configs(&probe).keys()
    );
    let all = configs(&probe);
    let mut components = BTreeMap::new();
    let mut unique_ids = BTreeSet::new();
    let mut devices = BTreeSet::new();
    for (topic, m) in &all {
        let levels: Vec<&str> = topic.split('/').collect();
        assert_eq!(
            levels.len(),
            5,
            "{topic}: <prefix>/<component>/<node>/<object>/config"
        );
        let component = levels[1];
        *components.entry(component.to_owned()).or_insert(0) += 1;
        let v = m.json();
        let obj = v
            .as_object()
            .unwrap_or_else(|| panic!("{topic} is a JSON object"));
        let (allowed, required) = documented_keys(component);
        for k in obj.keys() {
            assert!(
                allowed.contains(k.as_str()),
                "{topic}: {k} is not a documented key"
            );
        }
        for k in required {
            assert!(obj.contains_key(k), "{topic}: {k} is missing");
        }
        for k in v["device"].as_object().expect("device mapping").keys() {
            assert!(DEVICE_KEYS.contains(&k.as_str()), "{topic}: device.{k}");
        }
        for id in [levels[2], levels[3]] {
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
                "{topic}: ids are [a-zA-Z0-9_-]"
            );
        }
        assert_eq!(v["availability_topic"], format!("{base}/status"));
        assert!(unique_ids.insert(v["unique_id"].as_str().unwrap().to_owned()));
        devices.insert(v["device"]["identifiers"].to_string());
        // Every topic an entity reads is one the service publishes.
        for key in ["state_topic", "topic"] {
            if let Some(t) = v[key].as_str() {
                assert!(t.starts_with(base), "{topic}: {key} {t}");
            }
        }
    }
    assert_eq!(devices.len(), 1, "one device per box");
    assert_eq!(
        components,
        BTreeMap::from([
            ("binary_sensor".to_owned(), 4),
            ("button".to_owned(), 2),
            ("camera".to_owned(), 2),
            ("sensor".to_owned(), 2),
            ("switch".to_owned(), 2),
        ])
    );
    let camera = &all
        ["homeassistant/camera/camera-service_disc/camera-service_disc_camera0_snapshot/config"];
    assert_eq!(camera.json()["topic"], format!("{base}/camera0/snapshot"));
    let switch = all
        .iter()
        .find(|(t, _)| t.starts_with("homeassistant/switch/") && t.contains("camera0"))
        .unwrap()
        .1
        .json();
    assert_eq!(
        switch["command_topic"],
        format!("{base}/camera0/command/record")
    );

    // Retained: a Home Assistant that subscribes later gets them all.
    let late = Probe::connect(broker.port, &["homeassistant/#"]).await;
    let retained = TestService::eventually(WAIT, || async {
        let got = configs(&late);
        (got.len() >= 12 && got.values().all(|m| m.retained)).then_some(())
    })
    .await;
    assert!(retained.is_some(), "discovery configs are retained");
    drop(late);

    // Home Assistant announcing itself gets every config again.
    let before = probe.received().len();
    probe
        .publish("homeassistant/status", b"online", false)
        .await;
    let again = TestService::eventually(WAIT, || async {
        let fresh = probe.received()[before..]
            .iter()
            .filter(|m| m.topic.ends_with("/config") && !m.payload.is_empty())
            .count();
        (fresh >= 12).then_some(())
    })
    .await;
    assert!(
        again.is_some(),
        "configs re-published after homeassistant/status online"
    );

    // A camera plugged later appears with its state and its entities.
    svc.plug_sim(7, "Late Camera");
    let state = probe
        .wait_for(&format!("{base}/camera7/state"), WAIT, |m| {
            !m.payload.is_empty()
        })
        .await
        .expect("the new camera's state")
        .json();
    assert_eq!(state["name"], "Late Camera");
    probe
        .wait_for(
            &format!("{base}/camera7/events/camera.connected"),
            WAIT,
            |_| true,
        )
        .await
        .expect("the event");
    let ok = TestService::eventually(WAIT, || async {
        (configs(&probe)
            .keys()
            .filter(|t| t.contains("_camera7_"))
            .count()
            == 5)
            .then_some(())
    })
    .await;
    assert!(ok.is_some(), "camera7's entities");
    drop(svc);
}

#[tokio::test]
async fn the_will_says_offline_when_the_service_is_killed_and_a_clean_stop_says_it_too() {
    let Some(broker) = Mosquitto::start("the MQTT last-will test") else {
        return;
    };
    let probe = Probe::connect(broker.port, &["camera-service/+/status"]).await;
    let mut killed = service_on(&broker, "camera-service/killed", "{}");
    let stopped = service_on(&broker, "camera-service/stopped", "{}");
    for b in ["killed", "stopped"] {
        probe
            .wait_for(&format!("camera-service/{b}/status"), WAIT, |m| {
                m.payload == b"online"
            })
            .await
            .expect("online");
    }
    killed.kill9();
    let status = Command::new("kill")
        .args(["-TERM", &stopped.pid().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    for b in ["killed", "stopped"] {
        probe
            .wait_for(&format!("camera-service/{b}/status"), WAIT, |m| {
                m.payload == b"offline"
            })
            .await
            .unwrap_or_else(|| panic!("{b}: offline after the end"));
    }
    // Both are retained: a late subscriber sees them.
    let late = Probe::connect(broker.port, &["camera-service/+/status"]).await;
    for b in ["killed", "stopped"] {
        let m = late
            .wait_for(&format!("camera-service/{b}/status"), WAIT, |_| true)
            .await
            .expect("retained availability");
        assert!(m.retained && m.payload == b"offline");
    }
}

async fn command(probe: &Probe, base: &str, cam: &str, cmd: &str, payload: Value) -> Value {
    let id = payload["id"].clone();
    probe
        .publish(
            &format!("{base}/{cam}/command/{cmd}"),
            payload.to_string().as_bytes(),
            false,
        )
        .await;
    probe
        .wait_for(&format!("{base}/{cam}/command/{cmd}/result"), WAIT, |m| {
            m.json()["id"] == id
        })
        .await
        .unwrap_or_else(|| panic!("no answer to {cmd} {id}"))
        .json()
}

#[tokio::test]
async fn commands_run_as_api_calls_and_answer_on_their_result_topic() {
    let Some(broker) = Mosquitto::start("the MQTT command test") else {
        return;
    };
    let base = "camera-service/cmd";
    let probe = Probe::connect(broker.port, &[&format!("{base}/#")]).await;
    let svc = service_on(&broker, base, "{}");
    probe
        .wait_for(&format!("{base}/status"), WAIT, |m| m.payload == b"online")
        .await
        .expect("online");

    let r = command(&probe, base, "camera0", "snapshot", json!({"id": 1})).await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["command"], "snapshot");
    assert_eq!(r["result"]["status"], "SUCCESS");
    let filename = r["result"]["filename"].as_str().unwrap().to_owned();
    let event = probe
        .wait_for(
            &format!("{base}/camera0/events/snapshot.taken"),
            WAIT,
            |_| true,
        )
        .await
        .expect("the snapshot event")
        .json();
    assert_eq!(event["filename"], filename.as_str());
    let jpeg = probe
        .wait_for(&format!("{base}/camera0/snapshot"), WAIT, |_| true)
        .await
        .expect("the snapshot itself");
    assert!(jpeg.payload.starts_with(&[0xff, 0xd8]), "a JPEG");
    assert_eq!(
        jpeg.payload.len() as u64,
        r["result"]["file_size"].as_u64().unwrap()
    );

    let r = command(
        &probe,
        base,
        "camera1",
        "record",
        json!({"id": "r1", "action": "start", "duration": 60}),
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["result"]["status"], "RECORDING");
    probe
        .wait_for(&format!("{base}/camera1/state"), WAIT, |m| {
            m.json()["recording"] == true
        })
        .await
        .expect("the state says recording");
    probe
        .wait_for(
            &format!("{base}/camera1/events/recording.start"),
            WAIT,
            |_| true,
        )
        .await
        .expect("the recording event");
    let r = command(
        &probe,
        base,
        "camera1",
        "record",
        json!({"id": "r2", "action": "stop"}),
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["result"]["status"], "STOPPED");
    probe
        .wait_for(&format!("{base}/camera1/state"), WAIT, |m| {
            m.json()["recording"] == false
        })
        .await
        .expect("the state says not recording");

    // Errors are the API's, naming what is wrong.
    let r = command(
        &probe,
        base,
        "camera1",
        "record",
        json!({"id": 3, "action": "pause"}),
    )
    .await;
    assert_eq!(
        (r["ok"].clone(), r["error"]["code"].clone()),
        (json!(false), json!(-32602))
    );
    assert_eq!(r["error"]["data"]["param"], "action");
    let r = command(
        &probe,
        base,
        "camera1",
        "record",
        json!({"id": 4, "action": "start", "duration": -1}),
    )
    .await;
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert!(
        r["error"]["data"]["details"]
            .as_str()
            .unwrap()
            .contains("duration"),
        "{r}"
    );
    let r = command(&probe, base, "camera9", "snapshot", json!({"id": 5})).await;
    assert_eq!(r["error"]["code"], -32000, "{r}");
    let r = command(
        &probe,
        base,
        "camera0",
        "stream",
        json!({"id": 6, "action": "start"}),
    )
    .await;
    assert_eq!(
        r["error"]["code"], -32030,
        "streams need MediaMTX in direct mode: {r}"
    );

    // Audited like API calls, as the mqtt user.
    let audited = TestService::eventually(WAIT, || async {
        let calls: Vec<Value> = svc
            .audit()
            .into_iter()
            .filter(|a| a["event"] == "call" && a["user"] == "mqtt")
            .collect();
        (calls.len() >= 3).then_some(calls)
    })
    .await
    .expect("commands in the audit log");
    assert!(audited
        .iter()
        .any(|a| a["method"] == "take_snapshot" && a["outcome"] == "ok"));
    assert!(audited.iter().any(|a| a["method"] == "start_recording"));
}

#[tokio::test]
async fn commands_obey_the_configured_role_and_the_rate_limit() {
    let Some(broker) = Mosquitto::start("the MQTT role and rate-limit test") else {
        return;
    };
    let base = "camera-service/viewer";
    let probe = Probe::connect(broker.port, &[&format!("{base}/#")]).await;
    let svc = service_on(
        &broker,
        base,
        "{mqtt: {role: viewer}, auth: {rate_burst: 3, rate_per_second: 0.05}}",
    );
    probe
        .wait_for(&format!("{base}/status"), WAIT, |m| m.payload == b"online")
        .await
        .expect("online");
    for id in 0..3 {
        let r = command(&probe, base, "camera0", "snapshot", json!({"id": id})).await;
        assert_eq!(
            r["error"]["code"], -32002,
            "a viewer may not take snapshots: {r}"
        );
        assert_eq!(r["error"]["data"]["required_role"], "operator");
    }
    let r = command(&probe, base, "camera0", "snapshot", json!({"id": 3})).await;
    assert_eq!(
        r["error"]["code"], -32040,
        "the fourth call is over the burst: {r}"
    );
    assert!(r["error"]["data"]["retry_after_ms"].as_u64().unwrap() > 0);
    let audit = svc.audit();
    assert!(audit
        .iter()
        .any(|a| a["event"] == "permission_denied" && a["user"] == "mqtt"));
    assert!(audit.iter().any(|a| a["event"] == "rate_limited"));
}

#[tokio::test]
async fn the_bridge_reconnects_and_republishes_after_the_broker_restarts() {
    let Some(mut broker) = Mosquitto::start("the MQTT reconnect test") else {
        return;
    };
    let base = "camera-service/again";
    let svc = service_on(&broker, base, "{}");
    {
        let probe = Probe::connect(broker.port, &[&format!("{base}/#")]).await;
        probe
            .wait_for(&format!("{base}/camera0/state"), WAIT, |_| true)
            .await
            .expect("state before the restart");
    }
    broker.kill();
    // The API does not notice the broker is gone.
    let mut ws = svc.ws_as(domain::Role::Admin).await;
    let started = std::time::Instant::now();
    let r = ws.call("get_camera_list", json!({})).await;
    assert_eq!(r["result"]["total"], 2, "{r}");
    let r = ws.call("take_snapshot", json!({"device": "camera0"})).await;
    assert_eq!(r["result"]["status"], "SUCCESS", "{r}");
    assert!(started.elapsed() < Duration::from_secs(20));
    let metrics = TestService::eventually(WAIT, || async {
        let mut ws = svc.ws_as(domain::Role::Admin).await;
        let m = ws.call("get_metrics", json!({})).await;
        (m["result"]["mqtt"]["connected"] == false).then_some(m)
    })
    .await
    .expect("metrics say the broker is gone");
    assert!(metrics["result"]["mqtt"]["connects"].as_u64().unwrap() >= 1);

    // No persistence: the new broker knows nothing until the service re-publishes.
    broker.restart();
    let probe = Probe::connect(broker.port, &[&format!("{base}/#")]).await;
    for topic in ["status", "camera0/state", "camera1/state", "system"] {
        probe
            .wait_for(&format!("{base}/{topic}"), WAIT, |m| !m.payload.is_empty())
            .await
            .unwrap_or_else(|| panic!("{topic} re-published after the reconnect"));
    }
    // And commands work again.
    let r = command(&probe, base, "camera1", "snapshot", json!({"id": "after"})).await;
    assert_eq!(r["ok"], true, "{r}");
    let text = cs_tests::http::get(svc.addr, "/metrics", &[]).await.text();
    assert!(text.contains("camera_service_mqtt_connected 1"), "{text}");
    assert!(
        text.contains("camera_service_mqtt_connects_total 2"),
        "{text}"
    );
}

#[tokio::test]
async fn a_camera_gone_for_good_has_its_retained_topics_cleared() {
    let Some(broker) = Mosquitto::start("the MQTT gone-camera test") else {
        return;
    };
    let base = "camera-service/gone";
    let probe = Probe::connect(broker.port, &[&format!("{base}/#"), "homeassistant/#"]).await;
    let first = service_on(&broker, base, "{}");
    probe
        .wait_for(&format!("{base}/camera1/state"), WAIT, |m| {
            !m.payload.is_empty()
        })
        .await
        .expect("camera1 known");
    drop(first);
    // The same box comes back with only camera0.
    let _second = service_on(
        &broker,
        base,
        "{camera: {simulated: [{index: 0, name: Only}]}}",
    );
    probe
        .wait_for(&format!("{base}/camera1/state"), WAIT, |m| {
            m.payload.is_empty() && !m.retained
        })
        .await
        .expect("camera1's state cleared");
    let cleared = TestService::eventually(WAIT, || async {
        let c = configs(&probe);
        let cam1: Vec<_> = c.iter().filter(|(t, _)| t.contains("_camera1_")).collect();
        (cam1.len() == 5 && cam1.iter().all(|(_, m)| m.payload.is_empty())).then_some(())
    })
    .await;
    assert!(cleared.is_some(), "camera1's discovery configs cleared");
    let c = configs(&probe);
    assert!(c
        .iter()
        .filter(|(t, _)| t.contains("_camera0_"))
        .all(|(_, m)| !m.payload.is_empty()));
    // A late subscriber sees camera0 only.
    let late = Probe::connect(broker.port, &[&format!("{base}/+/state")]).await;
    late.wait_for(&format!("{base}/camera0/state"), WAIT, |_| true)
        .await
        .expect("camera0 retained");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(late.on(&format!("{base}/camera1/state")).is_empty());
}

#[tokio::test]
async fn fleet_lists_ten_services_on_one_broker_and_follows_their_events() {
    let Some(broker) = Mosquitto::start("the fleet test") else {
        return;
    };
    let probe = Probe::connect(
        broker.port,
        &["camera-service/+/status", "camera-service/+/+/state"],
    )
    .await;
    let services: Vec<TestService> = (0..10)
        .map(|i| {
            service_on(
                &broker,
                &format!("camera-service/box{i}"),
                "{mqtt: {discovery: false}}",
            )
        })
        .collect();
    let all = TestService::eventually(60.0, || async {
        let online = probe
            .received()
            .iter()
            .filter(|m| m.topic.ends_with("/status") && m.payload == b"online")
            .map(|m| m.topic.clone())
            .collect::<BTreeSet<_>>();
        let states = probe
            .received()
            .iter()
            .filter(|m| m.topic.ends_with("/state"))
            .map(|m| m.topic.clone())
            .collect::<BTreeSet<_>>();
        (online.len() == 10 && states.len() == 20).then_some(())
    })
    .await;
    assert!(all.is_some(), "ten boxes online with two cameras each");

    let out = Command::new(binary())
        .args(["fleet", "--broker", &broker.url()])
        .env_remove("CAMERA_SERVICE_BIN")
        .output()
        .expect("fleet runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.trim_end().ends_with("10 boxes, 20 cameras"), "{text}");
    for i in 0..10 {
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with(&format!("camera-service/box{i} ")))
            .collect();
        assert_eq!(rows.len(), 2, "box{i}: {text}");
        assert!(rows
            .iter()
            .all(|r| r.contains("online") && r.contains("CONNECTED")));
    }

    // --follow: an event on one box shows up.
    let mut follow = Command::new(binary())
        .args(["fleet", "--broker", &broker.url(), "--follow"])
        .env_remove("CAMERA_SERVICE_BIN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("fleet --follow runs");
    let stdout = follow.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // The list comes first.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .expect("fleet --follow prints the list");
        if line.ends_with("10 boxes, 20 cameras") {
            break;
        }
    }
    services[3].plug_sim(5, "Follow Me");
    let seen = loop {
        match rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())) {
            Ok(line) if line.starts_with("camera-service/box3 camera5 camera.connected ") => {
                break line
            }
            Ok(_) => continue,
            Err(_) => {
                let _ = follow.kill();
                let _ = follow.wait();
                panic!("no camera.connected line from box3");
            }
        }
    };
    assert!(seen.contains("Follow Me"), "{seen}");
    let _ = follow.kill();
    let _ = follow.wait();
    drop(services);
}
