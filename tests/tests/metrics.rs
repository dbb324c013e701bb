//! `get_metrics` and `GET /metrics`, black-box: the contract's fields, and Prometheus text
//! that an independent parser accepts and that agrees with the JSON.

use cs_tests::{http, TestService};
use domain::Role;
use serde_json::{json, Value};

fn scrape(text: &str) -> prometheus_parse::Scrape {
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .expect("Prometheus text format")
}

fn sample(s: &prometheus_parse::Scrape, name: &str, label: Option<(&str, &str)>) -> Option<f64> {
    s.samples
        .iter()
        .find(|x| x.metric == name && label.is_none_or(|(k, v)| x.labels.get(k) == Some(v)))
        .and_then(|x| match x.value {
            prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) => Some(v),
            _ => None,
        })
}

#[tokio::test]
async fn get_metrics_has_the_fields_of_the_contract() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Admin).await;
    ws.ok("ping", Value::Null).await;
    ws.ok("get_camera_list", Value::Null).await;

    let m = ws.ok("get_metrics", Value::Null).await;

    for key in [
        "timestamp",
        "uptime",
        "process",
        "connections",
        "requests",
        "cameras",
        "recordings",
        "snapshots",
        "events",
    ] {
        assert!(m.get(key).is_some(), "{key} missing: {m}");
    }
    for key in ["rss_bytes", "cpu_percent", "threads", "open_fds"] {
        assert!(m["process"][key].is_number(), "process.{key}: {m}");
    }
    assert!(m["process"]["rss_bytes"].as_u64().unwrap_or(0) > 1024 * 1024);
    assert_eq!(m["connections"]["active"], 1);
    assert_eq!(m["connections"]["authenticated"], 1);
    let list = &m["requests"]["by_method"]["get_camera_list"];
    assert_eq!(list["count"], 1, "{m}");
    assert_eq!(list["errors"], 0);
    assert!(
        list["p50_ms"].is_number() && list["p99_ms"].is_number(),
        "{list}"
    );
    assert_eq!(m["cameras"], json!({"total": 2, "connected": 2}));
    assert_eq!(
        m["recordings"],
        json!({"active": 0, "started_total": 0, "failed_total": 0})
    );
    assert_eq!(m["snapshots"]["total"], 0);
    for key in ["published", "delivered", "dropped"] {
        assert!(m["events"][key].is_u64(), "events.{key}: {m}");
    }
}

#[tokio::test]
async fn errors_are_counted_per_method() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Admin).await;
    ws.err("get_camera_status", json!({"device": "camera77"}))
        .await;
    ws.err("get_camera_status", json!({"device": "nope"})).await;
    ws.ok("get_camera_status", json!({"device": "camera0"}))
        .await;

    let m = ws.ok("get_metrics", Value::Null).await;

    assert_eq!(m["requests"]["by_method"]["get_camera_status"]["count"], 3);
    assert_eq!(m["requests"]["by_method"]["get_camera_status"]["errors"], 2);
}

#[tokio::test]
async fn the_metrics_endpoint_is_prometheus_text_with_the_same_figures() {
    let svc = TestService::start();
    let mut ws = svc.ws_as(Role::Admin).await;
    for _ in 0..5 {
        ws.ok("ping", Value::Null).await;
    }

    let r = http::get(svc.addr, "/metrics", &[]).await;

    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("text/plain")),
        "{:?}",
        r.headers
    );
    let text = r.text();
    let s = scrape(&text);
    assert_eq!(
        sample(
            &s,
            "camera_service_requests_total",
            Some(("method", "ping"))
        ),
        Some(5.0),
        "{text}"
    );
    assert_eq!(
        sample(&s, "camera_service_connections_active", None),
        Some(1.0)
    );
    assert_eq!(sample(&s, "camera_service_cameras", None), Some(2.0));
    assert!(
        sample(&s, "camera_service_process_resident_memory_bytes", None).is_some_and(|v| v > 0.0)
    );
    let ping = s
        .samples
        .iter()
        .find_map(|x| match &x.value {
            prometheus_parse::Value::Histogram(b) if x.labels.get("method") == Some("ping") => {
                Some(b.clone())
            }
            _ => None,
        })
        .expect("a latency histogram for ping");
    assert_eq!(
        ping.last().map(|b| (b.less_than.is_infinite(), b.count)),
        Some((true, 5.0))
    );
    // The JSON says the same (asked after the scrape, so ping's count is unchanged).
    let m = ws.ok("get_metrics", Value::Null).await;
    assert_eq!(m["requests"]["by_method"]["ping"]["count"], 5);
}
