//! WebSocket load generator for camera-service: opens N authenticated connections, drives
//! a method at a fixed total rate, and prints connections held, throughput, latency
//! percentiles, and the server's RSS and CPU (read from /proc/<pid>).
//!
//! Usage: bench-ws --url ws://127.0.0.1:8002/ws --token T --pid P [--connections N]
//!        [--active M] [--rate R] [--seconds S] [--method ping] [--params JSON] [--cycles K]
//!
//! RSS is VmRSS; "anon" is RssAnon, the heap and stacks without the mapped executable.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

struct Args {
    url: String,
    token: String,
    pid: u32,
    connections: usize,
    active: usize,
    rate: f64,
    seconds: f64,
    method: String,
    /// The `params` member of every call (JSON), if any.
    params: Option<String>,
    cycles: usize,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        url: "ws://127.0.0.1:8002/ws".into(),
        token: String::new(),
        pid: 0,
        connections: 1000,
        active: 1000,
        rate: 2000.0,
        seconds: 10.0,
        method: "ping".into(),
        params: None,
        cycles: 0,
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
            "--token" => a.token = v,
            "--pid" => a.pid = num(&v)? as u32,
            "--connections" => a.connections = num(&v)? as usize,
            "--active" => a.active = num(&v)? as usize,
            "--rate" => a.rate = num(&v)?,
            "--seconds" => a.seconds = num(&v)?,
            "--method" => a.method = v,
            "--params" => {
                serde_json::from_str::<serde_json::Value>(&v)
                    .map_err(|e| format!("--params: not JSON: {e}"))?;
                a.params = Some(v)
            }
            "--cycles" => a.cycles = num(&v)? as usize,
            _ => return Err(format!("unknown option {k}")),
        }
    }
    if a.token.is_empty() || a.pid == 0 {
        return Err("--token and --pid are required".into());
    }
    Ok(a)
}

/// A `/proc/<pid>/status` figure in bytes (`VmRSS`, `RssAnon`).
fn status_bytes(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb: u64 = status
        .lines()
        .find(|l| l.split(':').next() == Some(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    kb * 1024
}

/// (rss bytes, cpu ticks) of a process.
fn proc_figures(pid: u32) -> (u64, u64) {
    let rss = status_bytes(pid, "VmRSS");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = fields
        .get(11)
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        + fields
            .get(12)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    (rss, ticks)
}

fn mib(b: u64) -> f64 {
    b as f64 / 1024.0 / 1024.0
}

async fn connect(url: &str, token: &str) -> Result<Ws, String> {
    let mut req = url.into_client_request().map_err(|e| e.to_string())?;
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {token}")
            .parse()
            .map_err(|_| "bad token".to_owned())?,
    );
    // Small client buffers so that 10,000 client connections fit comfortably.
    let cfg = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (ws, _) = tokio_tungstenite::connect_async_with_config(req, Some(cfg), true)
        .await
        .map_err(|e| e.to_string())?;
    Ok(ws)
}

async fn open_all(a: &Args, n: usize) -> (Vec<Ws>, usize, Duration) {
    let started = Instant::now();
    let mut conns = Vec::with_capacity(n);
    let mut failed = 0;
    let batch = 256;
    let mut opened = 0;
    while opened < n {
        let k = batch.min(n - opened);
        let futs: Vec<_> = (0..k).map(|_| connect(&a.url, &a.token)).collect();
        for r in futures_util::future::join_all(futs).await {
            match r {
                Ok(ws) => conns.push(ws),
                Err(_) => failed += 1,
            }
        }
        opened += k;
    }
    (conns, failed, started.elapsed())
}

fn percentile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i] as f64 / 1000.0
}

/// Drives `rate` calls per second in total over `conns` for `seconds`; returns latencies (µs)
/// and the number of failed calls.
async fn drive(
    conns: Vec<Ws>,
    method: &str,
    params: Option<&str>,
    rate: f64,
    seconds: f64,
) -> (Vec<u64>, u64, Vec<Ws>) {
    let params = params
        .map(|p| format!(r#","params":{p}"#))
        .unwrap_or_default();
    let m = conns.len().max(1);
    let per_conn_interval = Duration::from_secs_f64(m as f64 / rate);
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::with_capacity(m);
    for (i, mut ws) in conns.into_iter().enumerate() {
        let method = method.to_owned();
        let params = params.clone();
        // Spread the connections' schedules evenly over one interval.
        let offset = per_conn_interval.mul_f64(i as f64 / m as f64);
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            let mut next = tokio::time::Instant::now() + offset;
            let mut id = 0u64;
            while Instant::now() < deadline {
                tokio::time::sleep_until(next).await;
                next += per_conn_interval;
                id += 1;
                let req = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}"{params}}}"#);
                let t = Instant::now();
                if ws.send(Message::text(req)).await.is_err() {
                    errors += 1;
                    break;
                }
                match ws.next().await {
                    Some(Ok(Message::Text(t2))) if !t2.contains("\"error\"") => {
                        lat.push(t.elapsed().as_micros() as u64)
                    }
                    Some(Ok(_)) => errors += 1,
                    _ => {
                        errors += 1;
                        break;
                    }
                }
            }
            (lat, errors, ws)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    let mut back = Vec::new();
    for t in tasks {
        if let Ok((lat, e, ws)) = t.await {
            all.extend(lat);
            errors += e;
            back.push(ws);
        }
    }
    (all, errors, back)
}

async fn close_all(conns: Vec<Ws>) {
    let futs: Vec<_> = conns
        .into_iter()
        .map(|mut ws| async move {
            let _ = ws.close(None).await;
        })
        .collect();
    futures_util::future::join_all(futs).await;
}

async fn run(a: Args) {
    let clk = 100.0; // USER_HZ on Linux
    let (rss0, _) = proc_figures(a.pid);
    println!("server pid {}: idle RSS {:.1} MiB", a.pid, mib(rss0));

    let (conns, failed, took) = open_all(&a, a.connections).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (rss1, _) = proc_figures(a.pid);
    let held = conns.len();
    println!(
        "connections: {held} held, {failed} failed, opened in {:.2} s; server RSS {:.1} MiB (anon {:.1}; +{:.2} KiB per connection)",
        took.as_secs_f64(),
        mib(rss1),
        mib(status_bytes(a.pid, "RssAnon")),
        (rss1.saturating_sub(rss0)) as f64 / 1024.0 / held.max(1) as f64
    );

    let mut conns = conns;
    let active: Vec<Ws> = conns.drain(..a.active.min(conns.len())).collect();
    let n_active = active.len();
    let (_, cpu0) = proc_figures(a.pid);
    let t = Instant::now();
    let (mut lat, errors, active) =
        drive(active, &a.method, a.params.as_deref(), a.rate, a.seconds).await;
    let wall = t.elapsed().as_secs_f64();
    let (rss2, cpu1) = proc_figures(a.pid);
    lat.sort_unstable();
    let done = lat.len() as f64;
    let cpu_s = (cpu1 - cpu0) as f64 / clk;
    println!(
        "load: {} on {n_active} connections at {:.0} req/s target: {:.0} req/s achieved, {errors} errors",
        a.method,
        a.rate,
        done / wall
    );
    println!(
        "latency ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}",
        percentile(&lat, 0.5),
        percentile(&lat, 0.9),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0)
    );
    println!(
        "server: CPU {:.1}% of one core, {:.1} µs CPU per request; RSS {:.1} MiB with {} connections held",
        cpu_s / wall * 100.0,
        cpu_s * 1e6 / done.max(1.0),
        mib(rss2),
        conns.len() + active.len()
    );
    conns.extend(active);
    close_all(conns).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (rss3, _) = proc_figures(a.pid);
    println!(
        "after all closed: server RSS {:.1} MiB (anon {:.1})",
        mib(rss3),
        mib(status_bytes(a.pid, "RssAnon"))
    );

    if a.cycles > 0 {
        let mut first = 0;
        for c in 1..=a.cycles {
            let (conns, failed, _) = open_all(&a, a.connections).await;
            let held = conns.len();
            close_all(conns).await;
            // As long as after the first close: the service trims its heap (checked every
            // second) once a burst of clients has gone.
            tokio::time::sleep(Duration::from_secs(2)).await;
            let (rss, _) = proc_figures(a.pid);
            if c == 1 {
                first = rss;
            }
            println!(
                "churn cycle {c}: {held} connected ({failed} failed) and closed; server RSS {:.1} MiB ({:+.1}% vs cycle 1; anon {:.1})",
                mib(rss),
                (rss as f64 - first as f64) / first.max(1) as f64 * 100.0,
                mib(status_bytes(a.pid, "RssAnon"))
            );
        }
    }
}

fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench-ws: {e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(run(a));
}
