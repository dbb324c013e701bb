//! Authentication storm against camera-service: N connections send `authenticate` with an
//! API key as fast as the service answers (a window of calls in flight on each), for S
//! seconds, while the server's RSS is sampled from /proc/<pid>/status. Prints RSS before,
//! the peak and the last sample during, and after (at once and after a settle time), and
//! the answers by outcome.
//!
//! Usage: bench-auth --url ws://127.0.0.1:8002/ws --pid P --key csk_<id>_<secret>
//!        [--mode wrong|as-is] [--connections 6] [--seconds 10] [--inflight 16] [--settle 5]
//!
//! `wrong` (the default) presents the key's id with a fresh random secret on every call;
//! `as-is` presents the key itself (a right key, or a revoked one).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rand::distr::Alphanumeric;
use rand::Rng as _;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

struct Args {
    url: String,
    pid: u32,
    key: String,
    wrong: bool,
    connections: usize,
    seconds: f64,
    inflight: usize,
    settle: f64,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        url: "ws://127.0.0.1:8002/ws".into(),
        pid: 0,
        key: String::new(),
        wrong: true,
        connections: 6,
        seconds: 10.0,
        inflight: 16,
        settle: 5.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().ok_or_else(|| format!("{k} needs a value"))?;
        let num = |v: &str| {
            v.parse::<f64>()
                .map_err(|_| format!("{k}: not a number: {v}"))
        };
        match k.as_str() {
            "--url" => a.url = v,
            "--pid" => a.pid = num(&v)? as u32,
            "--key" => a.key = v,
            "--mode" => {
                a.wrong = match v.as_str() {
                    "wrong" => true,
                    "as-is" => false,
                    _ => return Err(format!("--mode: wrong or as-is, not {v}")),
                }
            }
            "--connections" => a.connections = num(&v)? as usize,
            "--seconds" => a.seconds = num(&v)?,
            "--inflight" => a.inflight = (num(&v)? as usize).max(1),
            "--settle" => a.settle = num(&v)?,
            _ => return Err(format!("unknown option {k}")),
        }
    }
    if a.pid == 0 || !a.key.starts_with("csk_") {
        return Err("--pid and --key csk_... are required".into());
    }
    Ok(a)
}

fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

fn mib(b: u64) -> f64 {
    b as f64 / 1024.0 / 1024.0
}

/// The key's `csk_<id>_` with a fresh random secret.
fn wrong_key(key: &str) -> String {
    let prefix_len = key.rfind('_').map_or(key.len(), |i| i + 1);
    let secret: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(43)
        .map(char::from)
        .collect();
    format!("{}{secret}", &key[..prefix_len])
}

/// What an answer says: `ok`, or the error's `data.reason`.
fn outcome(answer: &Value) -> String {
    if answer["result"]["authenticated"] == true {
        return "ok".into();
    }
    answer["error"]["data"]["reason"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("code {}", answer["error"]["code"]))
}

/// One storming connection: keeps `inflight` calls outstanding until `stop`.
async fn storm(
    a: Arc<Args>,
    stop: Arc<AtomicBool>,
) -> Result<(BTreeMap<String, u64>, Vec<f64>), String> {
    let (ws, _) = tokio_tungstenite::connect_async(a.url.as_str())
        .await
        .map_err(|e| e.to_string())?;
    let (mut tx, mut rx) = ws.split();
    let mut outcomes = BTreeMap::new();
    let mut latencies_ms = Vec::new();
    let mut sent_at: BTreeMap<u64, Instant> = BTreeMap::new();
    let mut next_id = 0u64;
    loop {
        while !stop.load(Ordering::Relaxed) && sent_at.len() < a.inflight {
            next_id += 1;
            let key = if a.wrong {
                wrong_key(&a.key)
            } else {
                a.key.clone()
            };
            let req = json!({"jsonrpc": "2.0", "id": next_id, "method": "authenticate",
                "params": {"auth_token": key}});
            tx.send(Message::text(req.to_string()))
                .await
                .map_err(|e| e.to_string())?;
            sent_at.insert(next_id, Instant::now());
        }
        if sent_at.is_empty() {
            break;
        }
        let msg = match tokio::time::timeout(Duration::from_secs(30), rx.next()).await {
            Ok(Some(Ok(m))) => m,
            Ok(Some(Err(e))) => return Err(e.to_string()),
            Ok(None) => return Err("the server closed the connection".into()),
            Err(_) => return Err("no answer within 30 s".into()),
        };
        let Message::Text(text) = msg else { continue };
        let Ok(answer) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if let Some(at) = answer["id"].as_u64().and_then(|id| sent_at.remove(&id)) {
            latencies_ms.push(at.elapsed().as_secs_f64() * 1000.0);
        }
        *outcomes.entry(outcome(&answer)).or_insert(0) += 1;
    }
    let _ = tx.send(Message::Close(None)).await;
    Ok((outcomes, latencies_ms))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let a = match args() {
        Ok(a) => Arc::new(a),
        Err(e) => {
            eprintln!("bench-auth: {e}");
            std::process::exit(2);
        }
    };
    let before = rss_bytes(a.pid);
    println!(
        "RSS before: {:.1} MiB ({} connections x {} s of {} for key id {})",
        mib(before),
        a.connections,
        a.seconds,
        if a.wrong { "wrong secrets" } else { "this key" },
        a.key.split('_').nth(1).unwrap_or("?")
    );

    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(before));
    let last = Arc::new(AtomicU64::new(before));
    let sampler = {
        let (stop, peak, last, pid) = (stop.clone(), peak.clone(), last.clone(), a.pid);
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let rss = rss_bytes(pid);
                peak.fetch_max(rss, Ordering::Relaxed);
                last.store(rss, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let started = Instant::now();
    let conns: Vec<_> = (0..a.connections)
        .map(|_| tokio::spawn(storm(a.clone(), stop.clone())))
        .collect();
    tokio::time::sleep(Duration::from_secs_f64(a.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    let mut latencies = Vec::new();
    let mut failed = Vec::new();
    for c in conns {
        match c.await {
            Ok(Ok((o, l))) => {
                for (k, n) in o {
                    *outcomes.entry(k).or_insert(0) += n;
                }
                latencies.extend(l);
            }
            Ok(Err(e)) => failed.push(e),
            Err(e) => failed.push(e.to_string()),
        }
    }
    let took = started.elapsed().as_secs_f64();
    let _ = sampler.await;
    let total: u64 = outcomes.values().sum();
    latencies.sort_by(f64::total_cmp);
    println!(
        "storm: {total} answers in {took:.1} s ({:.0}/s); p50 {:.2} ms, p99 {:.2} ms",
        total as f64 / took,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
    let by_outcome: Vec<String> = outcomes.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!("answers by outcome: {}", by_outcome.join(", "));
    if !failed.is_empty() {
        println!(
            "connections that failed: {}: {}",
            failed.len(),
            failed.join("; ")
        );
    }
    println!(
        "RSS during: peak {:.1} MiB, last {:.1} MiB",
        mib(peak.load(Ordering::Relaxed)),
        mib(last.load(Ordering::Relaxed))
    );
    println!("RSS after: {:.1} MiB at once", mib(rss_bytes(a.pid)));
    tokio::time::sleep(Duration::from_secs_f64(a.settle)).await;
    let after = rss_bytes(a.pid);
    println!("RSS after: {:.1} MiB {:.0} s later", mib(after), a.settle);
    let worst = peak.load(Ordering::Relaxed).max(after);
    println!(
        "budget (50 MB during and after): {} (worst {:.1} MiB)",
        if worst <= 50 * 1000 * 1000 {
            "met"
        } else {
            "MISSED"
        },
        mib(worst)
    );
}
