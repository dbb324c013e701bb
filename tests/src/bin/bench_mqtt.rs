//! bench-mqtt: event publish → broker delivery on a real Mosquitto (loopback).
//!
//! 1. End to end: a real camera-service with the MQTT bridge; simulated cameras are plugged
//!    and unplugged (descriptor files), each a `camera.*` event; a subscriber on the broker
//!    takes the receipt time minus the event's own `timestamp` (set when the service
//!    publishes it; millisecond resolution). Then a burst of plugs: events/s delivered.
//! 2. The broker connection alone (`cs_mqtt::MqttBroker`, what the bridge publishes
//!    through): N events published as fast as the caller can, time until the subscriber has
//!    them all, and how many the bounded queue dropped.
//!
//! Usage: bench-mqtt [ROUNDS] [BURST] [MESSAGES]   (defaults 200, 200, 20000)

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cs_tests::mosquitto::{Mosquitto, Probe};
use cs_tests::TestService;
use ports::broker::{BrokerListener, MessageBroker, Outgoing};

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

struct Quiet;
impl BrokerListener for Quiet {
    fn connected(&self) {}
    fn disconnected(&self, _: &str) {}
    fn message(&self, _: &str, _: &[u8], _: bool) {}
}

#[tokio::main]
async fn main() {
    let rounds = arg(1, 200);
    let burst = arg(2, 200);
    let messages = arg(3, 20_000);
    let Some(broker) = Mosquitto::start("bench-mqtt") else {
        std::process::exit(2);
    };
    let base = "camera-service/bench";

    // 1. End to end.
    let probe = Probe::connect(broker.port, &[&format!("{base}/+/events/#")]).await;
    let svc = TestService::builder()
        .config(&format!(
            "{{mqtt: {{enabled: true, broker_url: \"{}\", base_topic: \"{base}\", discovery: false}}, camera: {{simulated: []}}, logging: {{level: info}}}}",
            broker.url()
        ))
        .start();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut latencies = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let plugged = i % 2 == 0;
        let topic = if plugged {
            "camera.connected"
        } else {
            "camera.disconnected"
        };
        let before = probe.received().len();
        if plugged {
            svc.plug_sim(10, "Bench");
        } else {
            svc.unplug_sim(10);
        }
        let m = probe
            .wait_for(&format!("{base}/camera10/events/{topic}"), 30.0, |_| true)
            .await;
        let got = probe.received();
        let Some(m) = got[before..]
            .iter()
            .find(|m| m.topic.ends_with(topic))
            .cloned()
            .or(m)
        else {
            eprintln!("no {topic} event within 30 s");
            std::process::exit(1);
        };
        let received_ms = now_ms() - m.at.elapsed().as_secs_f64() * 1000.0;
        let published = m.json()["timestamp"]
            .as_str()
            .and_then(domain::Timestamp::parse_rfc3339)
            .map(|t| t.unix_millis() as f64)
            .unwrap_or(f64::NAN);
        latencies.push(received_ms - published);
        probe.clear();
    }
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "end to end, event publish -> broker delivery ({} events, ms resolution): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        pct(&latencies, 0.5),
        pct(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN)
    );

    // Burst: `burst` cameras plugged at once.
    probe.clear();
    let started = Instant::now();
    for i in 0..burst {
        svc.plug_sim(100 + i as u16, "Burst");
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last = Instant::now();
    loop {
        let got = probe
            .received()
            .iter()
            .filter(|m| m.topic.ends_with("camera.connected"))
            .count();
        if got >= burst {
            last = probe.received().iter().map(|m| m.at).max().unwrap_or(last);
            break;
        }
        if Instant::now() > deadline {
            println!("burst: only {got} of {burst} events within 120 s");
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let secs = last.duration_since(started).as_secs_f64();
    println!(
        "end to end, burst of {burst} camera.connected events: all delivered in {:.0} ms ({:.0} events/s, discovery of the cameras included)",
        secs * 1000.0,
        burst as f64 / secs
    );
    drop(svc);

    // 2. The broker connection alone.
    let probe = Probe::connect(broker.port, &["bench/raw/#"]).await;
    let link = cs_mqtt::MqttBroker::start(
        cs_mqtt::BrokerOptions {
            queue_capacity: messages.max(16),
            ..cs_mqtt::BrokerOptions::new(&broker.url(), "bench-raw")
        },
        Arc::new(Quiet),
    )
    .expect("broker options");
    while !link.stats().connected {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let payload = vec![b'x'; 200];
    let started = Instant::now();
    for i in 0..messages {
        link.publish(Outgoing::event(
            format!("bench/raw/{}", i % 16),
            payload.clone(),
        ));
    }
    let publish_us = started.elapsed().as_secs_f64() * 1e6 / messages as f64;
    let deadline = Instant::now() + Duration::from_secs(120);
    while probe.received().len() < messages && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let got = probe.received();
    let end = got.iter().map(|m| m.at).max().unwrap_or_else(Instant::now);
    let secs = end.duration_since(started).as_secs_f64();
    println!(
        "broker connection alone, QoS 1, 200-byte events: {} of {messages} delivered in {:.0} ms ({:.0} msg/s); publish() {:.2} us per call; dropped {}",
        got.len(),
        secs * 1000.0,
        got.len() as f64 / secs,
        publish_us,
        link.stats().dropped
    );
    link.close(None).await;
}
