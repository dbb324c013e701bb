//! Media benchmark: starts the real service (simulated cameras, direct media, the real
//! ffmpeg) and prints
//! - snapshot latency (p50/p95/max over N), cold: one ffmpeg per snapshot (tier 3);
//! - snapshot latency while the camera records (the still comes from the recording's frames);
//! - the time from sending `start_recording` to the first byte of its file on disk, and to
//!   the answer.
//!
//! - with `MEDIAMTX_BIN` set (a MediaMTX v1.15 binary), media mode `mediamtx`: stream
//!   activation (`start_streaming` until ready), tier-2 snapshots (cold stream) and tier-1
//!   snapshots (running stream, newest keyframe from memory).
//!
//! Usage: bench-media [--snapshots N] [--recordings K]

use std::path::Path;
use std::time::{Duration, Instant};

use cs_tests::TestService;
use domain::Role;
use serde_json::json;

struct Args {
    snapshots: usize,
    recordings: usize,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        snapshots: 20,
        recordings: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--snapshots" => {
                a.snapshots = value()?.parse().map_err(|e| format!("--snapshots: {e}"))?
            }
            "--recordings" => {
                a.recordings = value()?.parse().map_err(|e| format!("--recordings: {e}"))?
            }
            "-h" | "--help" => {
                return Err("usage: bench-media [--snapshots N] [--recordings K]".into())
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.snapshots == 0 || a.recordings == 0 {
        return Err("--snapshots and --recordings must be at least 1".into());
    }
    Ok(a)
}

/// The value at quantile `q` of sorted `v` (nearest rank).
fn quantile(v: &[f64], q: f64) -> f64 {
    let i = ((v.len() - 1) as f64 * q).round() as usize;
    v[i.min(v.len() - 1)]
}

fn report(what: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    println!(
        "{what:<60} n={:<3} p50 {:>7.1} ms   p95 {:>7.1} ms   max {:>7.1} ms",
        ms.len(),
        quantile(&ms, 0.5),
        quantile(&ms, 0.95),
        ms[ms.len() - 1]
    );
}

/// Waits until some file in `dir` that is not in `before` has bytes; when that happened.
async fn first_bytes(dir: &Path, before: &[String]) -> Instant {
    loop {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if !before.contains(&name) && e.metadata().map(|m| m.len() > 0).unwrap_or(false) {
                    return Instant::now();
                }
            }
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
}

fn names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::main]
async fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let svc = TestService::builder()
        .config("logging: {level: info}\nauth: {rate_per_second: 10000, rate_burst: 10000}")
        .start();
    let mut ws = svc.ws_as(Role::Operator).await;
    let recordings = svc.dir.path().join("recordings");

    // Warm the page cache for ffmpeg's libraries (the first exec reads them from disk).
    ws.ok("take_snapshot", json!({"device": "camera0"})).await;

    let mut cold = Vec::new();
    for _ in 0..a.snapshots {
        let t = Instant::now();
        ws.ok("take_snapshot", json!({"device": "camera0"})).await;
        cold.push(t.elapsed().as_secs_f64() * 1000.0);
    }

    ws.ok("start_recording", json!({"device": "camera1"})).await;
    // The first preview frame arrives within half a second of the start.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let mut recording = Vec::new();
    for _ in 0..a.snapshots {
        let t = Instant::now();
        ws.ok("take_snapshot", json!({"device": "camera1"})).await;
        recording.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ws.ok("stop_recording", json!({"device": "camera1"})).await;

    let mut to_first_byte = Vec::new();
    let mut to_answer = Vec::new();
    for _ in 0..a.recordings {
        let before = names(&recordings);
        let t = Instant::now();
        let (answered, first) = tokio::join!(
            async {
                ws.ok("start_recording", json!({"device": "camera0"})).await;
                Instant::now()
            },
            first_bytes(&recordings, &before)
        );
        to_first_byte.push(first.duration_since(t).as_secs_f64() * 1000.0);
        to_answer.push(answered.duration_since(t).as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(500)).await;
        ws.ok("stop_recording", json!({"device": "camera0"})).await;
        // A new second, so the next recording gets a new name rather than a counter.
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }

    println!("camera: simulated 1280x720@30 (ffmpeg lavfi testsrc2); recordings H.264 768x432@30");
    report(
        "take_snapshot, cold (tier 3: one ffmpeg per snapshot)",
        cold,
    );
    report(
        "take_snapshot while recording (from the recording's frames)",
        recording,
    );
    report(
        "start_recording -> first byte of the file on disk",
        to_first_byte,
    );
    report("start_recording -> answer", to_answer);
    drop(ws);
    drop(svc);
    stream_figures(&a).await;
}

/// A free TCP port on the loopback (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Stream activation and tier-1/tier-2 snapshots against a real MediaMTX (`MEDIAMTX_BIN`).
async fn stream_figures(a: &Args) {
    let Some(bin) = std::env::var_os("MEDIAMTX_BIN") else {
        println!("stream figures (activation, tier 1/2 snapshots): skipped, set MEDIAMTX_BIN to a MediaMTX binary");
        return;
    };
    let dir = tempfile::tempdir().expect("a temp dir");
    let (api, rtsp) = (free_port(), free_port());
    let conf = format!(
        "api: yes\napiAddress: 127.0.0.1:{api}\nrtspAddress: 127.0.0.1:{rtsp}\nrtspTransports: [tcp]\nrtmp: no\nhls: no\nwebrtc: no\nsrt: no\n"
    );
    std::fs::write(dir.path().join("mediamtx.yml"), conf).expect("MediaMTX config written");
    let mut mtx = std::process::Command::new(bin)
        .arg(dir.path().join("mediamtx.yml"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("MediaMTX starts");
    let svc = TestService::builder()
        .config(&format!(
            "logging: {{level: info}}\nauth: {{rate_per_second: 10000, rate_burst: 10000}}\nmedia: {{mode: mediamtx}}\nmediamtx: {{api_url: 'http://127.0.0.1:{api}', rtsp_port: {rtsp}, reconcile_secs: 1}}"
        ))
        .start();
    let mut ws = svc.ws_as(Role::Operator).await;
    // MediaMTX answers and the cameras' paths exist.
    let deadline = Instant::now() + Duration::from_secs(20);
    while ws.ok("get_server_info", json!({})).await["media_mode"] != "mediamtx" {
        assert!(
            Instant::now() < deadline,
            "MediaMTX did not answer within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // Tier 2: the first snapshot of a cold camera starts its publisher.
    let t = Instant::now();
    let r = ws.ok("take_snapshot", json!({"device": "camera1"})).await;
    let tier2 = t.elapsed().as_secs_f64() * 1000.0;
    println!(
        "take_snapshot on a cold stream: tier {} in {tier2:.1} ms",
        r["tier"]
    );

    let t = Instant::now();
    ws.ok("start_streaming", json!({"device": "camera0"})).await;
    let activation = t.elapsed().as_secs_f64() * 1000.0;
    println!("start_streaming -> ready (publisher start, first frames): {activation:.1} ms");
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let mut tier1 = Vec::new();
    let mut tiers = std::collections::BTreeMap::new();
    for _ in 0..a.snapshots {
        let t = Instant::now();
        let r = ws.ok("take_snapshot", json!({"device": "camera0"})).await;
        tier1.push(t.elapsed().as_secs_f64() * 1000.0);
        *tiers.entry(r["tier"].to_string()).or_insert(0) += 1;
    }
    report(
        &format!("take_snapshot, running stream (tiers {tiers:?})"),
        tier1,
    );
    drop(ws);
    drop(svc);
    let _ = mtx.kill();
    let _ = mtx.wait();
}
