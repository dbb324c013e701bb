//! Media benchmark: starts the real service (simulated cameras, the real ffmpeg) and prints
//! - snapshot latency (p50/p95/max over N), cold: one ffmpeg per snapshot (tier 3);
//! - snapshot latency while the camera records (the still comes from the recording's frames);
//! - the time from sending `start_recording` to the first byte of its file on disk, and to
//!   the answer;
//! - stream figures in media mode `mediamtx`: tier-2 snapshots (cold stream: activate, then
//!   read), stream activation (`start_streaming` until ready; a raw RTSP reader's DESCRIBE
//!   until its first RTP packet and its first keyframe) and tier-1 snapshots (running stream,
//!   newest keyframe from memory). Each cold sample gets a fresh media server and service.
//!   The media server is the fake MediaMTX's RTSP relay (tests/fakemtx, our code) unless
//!   `MEDIAMTX_BIN` names a MediaMTX v1.15 binary, which is then used instead.
//!
//! Usage: bench-media [--snapshots N] [--recordings K] [--cold C] [--streams-only]

use std::path::Path;
use std::time::{Duration, Instant};

use cs_tests::mediamtx::RealMediamtx;
use cs_tests::{TestService, WsClient};
use domain::Role;
use fakemtx::FakeMediamtx;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

struct Args {
    snapshots: usize,
    recordings: usize,
    cold: usize,
    streams_only: bool,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        snapshots: 20,
        recordings: 5,
        cold: 8,
        streams_only: false,
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
            "--cold" => a.cold = value()?.parse().map_err(|e| format!("--cold: {e}"))?,
            "--streams-only" => a.streams_only = true,
            "-h" | "--help" => return Err(
                "usage: bench-media [--snapshots N] [--recordings K] [--cold C] [--streams-only]"
                    .into(),
            ),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.snapshots == 0 || a.recordings == 0 || a.cold == 0 {
        return Err("--snapshots, --recordings and --cold must be at least 1".into());
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
    if !a.streams_only {
        direct_figures(&a).await;
    }
    stream_figures(&a).await;
}

/// Direct mode: tier-3 snapshots, snapshots while recording, recording start.
async fn direct_figures(a: &Args) {
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
}

/// The media server the stream figures are taken against.
enum Plane {
    /// The fake MediaMTX and its RTSP relay (tests/fakemtx).
    Fake(FakeMediamtx),
    /// A real MediaMTX (found like `find_mediamtx`), stopped when dropped.
    Real(RealMediamtx),
}

impl Plane {
    /// The real MediaMTX when one is found (unless `CS_BENCH_FAKE_MEDIAMTX=1`), else the fake.
    async fn start() -> Plane {
        let fake_asked = std::env::var_os("CS_BENCH_FAKE_MEDIAMTX").is_some_and(|v| v == "1");
        match cs_tests::mediamtx::find_mediamtx().filter(|_| !fake_asked) {
            None => Plane::Fake(
                FakeMediamtx::start()
                    .await
                    .expect("the fake MediaMTX starts"),
            ),
            Some(bin) => Plane::Real(RealMediamtx::start(&bin)),
        }
    }

    fn api_url(&self) -> String {
        match self {
            Plane::Fake(f) => f.api_url(),
            Plane::Real(m) => m.api_url(),
        }
    }

    fn rtsp_port(&self) -> u16 {
        match self {
            Plane::Fake(f) => f.rtsp_port(),
            Plane::Real(m) => m.rtsp,
        }
    }
}

/// A fresh media server and a service in media mode `mediamtx` using it, once the service
/// has configured the cameras' paths.
async fn fresh() -> (Plane, TestService, WsClient) {
    let plane = Plane::start().await;
    let svc = TestService::builder()
        .config(&format!(
            "logging: {{level: info}}\nauth: {{rate_per_second: 10000, rate_burst: 10000}}\nmedia: {{mode: mediamtx}}\nmediamtx: {{api_url: '{}', rtsp_port: {}, reconcile_secs: 1}}",
            plane.api_url(),
            plane.rtsp_port()
        ))
        .start();
    let mut ws = svc.ws_as(Role::Operator).await;
    // The pass that finds MediaMTX answering has added the paths before it says so.
    let deadline = Instant::now() + Duration::from_secs(20);
    while ws.ok("get_server_info", json!({})).await["media_mode"] != "mediamtx" {
        assert!(
            Instant::now() < deadline,
            "the media server did not answer within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (plane, svc, ws)
}

/// Reads one RTSP answer: status, headers (lower-case names), body.
async fn rtsp_answer(io: &mut BufReader<TcpStream>) -> (u16, Vec<(String, String)>, String) {
    let mut line = String::new();
    io.read_line(&mut line).await.expect("an RTSP answer");
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut headers = Vec::new();
    loop {
        let mut l = String::new();
        io.read_line(&mut l).await.expect("a header");
        let l = l.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    io.read_exact(&mut body).await.expect("the body");
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

/// The H.264 NAL unit type an RTP packet starts (FU-A and STAP-A looked into).
fn nal_type(rtp: &[u8]) -> Option<u8> {
    let cc = usize::from(*rtp.first()? & 0x0F);
    let mut at = 12 + 4 * cc;
    if rtp[0] & 0x10 != 0 {
        let words = usize::from(u16::from_be_bytes([*rtp.get(at + 2)?, *rtp.get(at + 3)?]));
        at += 4 + 4 * words;
    }
    let t = rtp.get(at)? & 0x1F;
    match t {
        28 => Some(rtp.get(at + 1)? & 0x1F),
        // STAP-A: whether any aggregated unit is an IDR slice.
        24 => {
            let mut i = at + 1;
            let mut seen = None;
            while i + 2 < rtp.len() {
                let size = usize::from(u16::from_be_bytes([rtp[i], rtp[i + 1]]));
                let ty = rtp[i + 2] & 0x1F;
                if ty == 5 {
                    return Some(5);
                }
                seen = Some(ty);
                i += 2 + size;
            }
            seen
        }
        t => Some(t),
    }
}

/// A raw RTSP reader of `rtsp://127.0.0.1:port/name` (the path is cold): from sending
/// DESCRIBE to the first RTP packet and to the first IDR packet.
async fn first_frame(port: u16, name: &str) -> (Duration, Duration) {
    let url = format!("rtsp://127.0.0.1:{port}/{name}");
    let t = Instant::now();
    let stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("RTSP connect");
    let _ = stream.set_nodelay(true);
    let mut io = BufReader::new(stream);
    io.get_mut()
        .write_all(
            format!("DESCRIBE {url} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let (status, headers, sdp) = rtsp_answer(&mut io).await;
    assert_eq!(status, 200, "DESCRIBE {url}: {status}");
    let base = headers
        .iter()
        .find(|(k, _)| k == "content-base")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| format!("{url}/"));
    // The first media's control: absolute, or relative to the base.
    let media = &sdp[sdp.find("m=video").expect("a video track")..];
    let control = media
        .lines()
        .find_map(|l| l.trim().strip_prefix("a=control:"))
        .unwrap_or("")
        .to_owned();
    let track = if control.starts_with("rtsp://") {
        control
    } else {
        format!("{}/{control}", base.trim_end_matches('/'))
    };
    io.get_mut()
        .write_all(format!("SETUP {track} RTSP/1.0\r\nCSeq: 2\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let (status, headers, _) = rtsp_answer(&mut io).await;
    assert_eq!(status, 200, "SETUP {track}: {status}");
    let session = headers
        .iter()
        .find(|(k, _)| k == "session")
        .map(|(_, v)| v.split(';').next().unwrap_or_default().to_owned())
        .expect("a session");
    io.get_mut()
        .write_all(format!("PLAY {base} RTSP/1.0\r\nCSeq: 3\r\nSession: {session}\r\nRange: npt=0.000-\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let (status, _, _) = rtsp_answer(&mut io).await;
    assert_eq!(status, 200, "PLAY: {status}");
    let mut first_packet = None;
    loop {
        let mut head = [0u8; 4];
        io.read_exact(&mut head).await.expect("a frame");
        assert_eq!(head[0], b'$', "interleaved frames only after PLAY");
        let mut payload = vec![0; usize::from(u16::from_be_bytes([head[2], head[3]]))];
        io.read_exact(&mut payload)
            .await
            .expect("a frame's payload");
        if head[1] != 0 {
            continue;
        }
        let first = *first_packet.get_or_insert_with(|| t.elapsed());
        if nal_type(&payload) == Some(5) {
            return (first, t.elapsed());
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Stream activation and tier-1/tier-2 snapshots in media mode `mediamtx`.
async fn stream_figures(a: &Args) {
    let real = std::env::var_os("MEDIAMTX_BIN").is_some();
    println!();
    if real {
        println!("stream figures: real MediaMTX (MEDIAMTX_BIN), RTSP over TCP");
    } else {
        println!("stream figures: against the FAKE MediaMTX (tests/fakemtx: our own RTSP relay, not MediaMTX).");
        println!("  Real MediaMTX figures need MEDIAMTX_BIN=/path/to/mediamtx (v1.15).");
    }
    println!("  publisher: the service's runOnDemand ffmpeg, lavfi testsrc2 1280x720@30 -> H.264 768x432@30, GOP 30 (1 s)");
    println!(
        "  each cold sample: a fresh media server and service, the camera's publisher not running"
    );

    let mut tier2 = Vec::new();
    let mut tier2_tiers = std::collections::BTreeMap::new();
    let mut activation = Vec::new();
    let mut to_packet = Vec::new();
    let mut to_idr = Vec::new();
    for _ in 0..a.cold {
        {
            let (_plane, _svc, mut ws) = fresh().await;
            let t = Instant::now();
            let r = ws.ok("take_snapshot", json!({"device": "camera1"})).await;
            tier2.push(ms(t.elapsed()));
            *tier2_tiers.entry(r["tier"].to_string()).or_insert(0) += 1;
        }
        {
            let (_plane, _svc, mut ws) = fresh().await;
            let t = Instant::now();
            let r = ws.ok("start_streaming", json!({"device": "camera0"})).await;
            assert_eq!(r["ready"], true, "{r}");
            activation.push(ms(t.elapsed()));
        }
        {
            let (plane, _svc, _ws) = fresh().await;
            let (packet, idr) = first_frame(plane.rtsp_port(), "camera0").await;
            to_packet.push(ms(packet));
            to_idr.push(ms(idr));
        }
    }
    report(
        &format!("take_snapshot, cold stream (tiers {tier2_tiers:?})"),
        tier2,
    );
    report(
        "start_streaming -> ready (publisher started, publishing)",
        activation,
    );
    report("first reader: DESCRIBE -> first RTP packet", to_packet);
    report(
        "first reader: DESCRIBE -> first keyframe (IDR) packet",
        to_idr,
    );

    let (_plane, svc, mut ws) = fresh().await;
    ws.ok("start_streaming", json!({"device": "camera0"})).await;
    // Until the held reader has its first keyframe a snapshot is tier 2.
    let deadline = Instant::now() + Duration::from_secs(20);
    while ws.ok("take_snapshot", json!({"device": "camera0"})).await["tier"] != 1 {
        assert!(Instant::now() < deadline, "no tier-1 snapshot within 20 s");
    }
    let mut tier1 = Vec::new();
    let mut tiers = std::collections::BTreeMap::new();
    for _ in 0..a.snapshots {
        let t = Instant::now();
        let r = ws.ok("take_snapshot", json!({"device": "camera0"})).await;
        tier1.push(ms(t.elapsed()));
        *tiers.entry(r["tier"].to_string()).or_insert(0) += 1;
    }
    report(
        &format!("take_snapshot, running stream (tiers {tiers:?})"),
        tier1,
    );
    drop(ws);
    drop(svc);
}
