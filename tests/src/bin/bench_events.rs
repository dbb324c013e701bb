//! Event fan-out benchmark: starts the real service (simulated cameras only), connects N
//! WebSocket subscribers to the camera topics, plugs and unplugs simulated cameras, and
//! prints how long notifications take to reach every subscriber and how many per second
//! the service delivers.
//!
//! Two latencies are printed:
//! - publish → receipt: the event's own `timestamp` (taken when the service publishes it)
//!   to the moment a subscriber has parsed it, on the wall clock (1 ms resolution);
//! - plug → receipt: from renaming the camera's descriptor file into the watched
//!   directory to receipt, which adds inotify and discovery (the hot-plug path).
//!
//! Usage: bench-events [--subscribers N] [--trials K] [--burst B]

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cs_tests::{TestService, WsClient};
use domain::Role;
use serde_json::json;
use tokio::sync::mpsc;

struct Args {
    subscribers: usize,
    trials: usize,
    burst: u16,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        subscribers: 1000,
        trials: 40,
        burst: 100,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--subscribers" => {
                a.subscribers = value()?
                    .parse()
                    .map_err(|e| format!("--subscribers: {e}"))?
            }
            "--trials" => a.trials = value()?.parse().map_err(|e| format!("--trials: {e}"))?,
            "--burst" => a.burst = value()?.parse().map_err(|e| format!("--burst: {e}"))?,
            "-h" | "--help" => {
                return Err("usage: bench-events [--subscribers N] [--trials K] [--burst B]".into())
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    // Beyond the service's per-subscriber buffer (events.subscriber_buffer, 256) a burst
    // loses its oldest events by design, and the count would never complete.
    if a.burst == 0 || a.burst > 200 {
        return Err("--burst must be 1..=200".into());
    }
    Ok(a)
}

/// One notification as a subscriber saw it.
struct Receipt {
    /// `camera.connected:camera5`
    key: String,
    at: Instant,
    /// Wall-clock receipt minus the event's timestamp, milliseconds.
    publish_to_receipt_ms: f64,
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    domain::Timestamp::parse_rfc3339(text).map(|t| t.unix_millis())
}

/// CPU seconds (user + system) a process has used, from /proc (clock ticks of 10 ms).
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) as f64 / 100.0
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn summary(name: &str, mut samples: Vec<f64>) {
    samples.sort_by(f64::total_cmp);
    println!(
        "{name:<26} n={:<7} p50={:>7.2} ms  p99={:>7.2} ms  max={:>7.2} ms",
        samples.len(),
        percentile(&samples, 0.50),
        percentile(&samples, 0.99),
        samples.last().copied().unwrap_or(f64::NAN)
    );
}

/// Waits until every subscriber has reported each of `keys`; returns the receipts.
async fn collect(
    rx: &mut mpsc::UnboundedReceiver<Receipt>,
    keys: &[String],
    subscribers: usize,
) -> Result<Vec<Receipt>, String> {
    let mut wanted: HashMap<&str, usize> = keys.iter().map(|k| (k.as_str(), subscribers)).collect();
    let mut got = Vec::with_capacity(keys.len() * subscribers);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while wanted.values().any(|&n| n > 0) {
        let r = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .map_err(|_| {
                let missing: usize = wanted.values().sum();
                format!("timed out with {missing} notifications missing")
            })?
            .ok_or("every subscriber stopped")?;
        if let Some(n) = wanted.get_mut(r.key.as_str()) {
            *n = n.saturating_sub(1);
            got.push(r);
        }
    }
    Ok(got)
}

#[tokio::main]
async fn main() {
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let svc = TestService::builder()
        .config("camera: {simulated: []}\nauth: {rate_per_second: 1000, rate_burst: 1000}")
        .start();
    println!(
        "service pid {} on {}; {} subscribers to camera.*",
        svc.pid(),
        svc.addr,
        args.subscribers
    );

    let (tx, mut rx) = mpsc::unbounded_channel::<Receipt>();
    let token = svc.token(Role::Viewer, 3600);
    let setup = Instant::now();
    for _ in 0..args.subscribers {
        let mut ws = WsClient::connect(&svc.ws_url(), Some(&token)).await;
        ws.ok("subscribe_events", json!({"topics": ["camera.*"]}))
            .await;
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(n) = ws.notification(3600.0).await {
                let at = Instant::now();
                let now_ms = wall_ms();
                let e = &n["params"]["result"];
                let key = format!(
                    "{}:{}",
                    e["topic"].as_str().unwrap_or(""),
                    e["device"].as_str().unwrap_or("")
                );
                let published = e["timestamp"]
                    .as_str()
                    .and_then(parse_rfc3339_ms)
                    .unwrap_or(now_ms);
                let r = Receipt {
                    key,
                    at,
                    publish_to_receipt_ms: (now_ms - published) as f64,
                };
                if tx.send(r).is_err() {
                    return;
                }
            }
        });
    }
    drop(tx);
    println!(
        "connected and subscribed in {:.2} s",
        setup.elapsed().as_secs_f64()
    );

    // Latency: one event at a time, each fanned out to every subscriber.
    let mut publish_to_receipt = Vec::new();
    let mut plug_to_receipt = Vec::new();
    for trial in 0..args.trials {
        let index = 10 + (trial / 2) as u16 % 90;
        let (topic, t0) = if trial % 2 == 0 {
            let t0 = Instant::now();
            svc.plug_sim(index, "Bench");
            ("camera.connected", t0)
        } else {
            let t0 = Instant::now();
            svc.unplug_sim(index);
            ("camera.disconnected", t0)
        };
        let key = format!("{topic}:camera{index}");
        match collect(&mut rx, &[key], args.subscribers).await {
            Ok(got) => {
                for r in got {
                    plug_to_receipt.push(r.at.duration_since(t0).as_secs_f64() * 1000.0);
                    publish_to_receipt.push(r.publish_to_receipt_ms);
                }
            }
            Err(e) => {
                eprintln!("trial {trial}: {e}");
                std::process::exit(1);
            }
        }
    }
    if args.trials % 2 == 1 {
        svc.unplug_sim(10 + ((args.trials - 1) / 2) as u16 % 90);
    }
    summary("publish -> receipt", publish_to_receipt);
    summary("plug -> receipt (hot-plug)", plug_to_receipt);

    // Throughput: a burst of plugs, every event to every subscriber.
    let keys: Vec<String> = (0..args.burst)
        .map(|i| format!("camera.connected:camera{}", 400 + i))
        .collect();
    // Drain stray receipts (the last unplug above) before timing.
    tokio::time::sleep(Duration::from_millis(300)).await;
    while rx.try_recv().is_ok() {}
    let cpu_before = cpu_secs(svc.pid());
    let t0 = Instant::now();
    for i in 0..args.burst {
        svc.plug_sim(400 + i, "Burst");
    }
    match collect(&mut rx, &keys, args.subscribers).await {
        Ok(got) => {
            let last = got.iter().map(|r| r.at).max().unwrap_or(t0);
            let secs = last.duration_since(t0).as_secs_f64();
            let delivered = got.len() as f64;
            let cpu = cpu_secs(svc.pid()) - cpu_before;
            println!(
                "service CPU during the burst: {:.3} s ({:.1} us per notification)",
                cpu,
                cpu * 1e6 / delivered
            );
            println!(
                "burst of {} events to {} subscribers: {:.3} s, {:.0} events/s, {:.0} notifications/s",
                args.burst,
                args.subscribers,
                secs,
                args.burst as f64 / secs,
                delivered / secs
            );
        }
        Err(e) => {
            eprintln!("burst: {e}");
            std::process::exit(1);
        }
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", svc.pid())).unwrap_or_default();
    if let Some(rss) = status.lines().find(|l| l.starts_with("VmRSS:")) {
        println!(
            "service {}",
            rss.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
}
