//! The fake's RTSP relay with the real ffmpeg: publishing, reading, on-demand commands,
//! close-after, path deletion and slow readers. Waits are bounded generously (a loaded CI
//! box); nothing here asserts how long something took.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use fakemtx::FakeMediamtx;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// Bound for "eventually" (not a timing claim).
const WAIT: Duration = Duration::from_secs(60);

async fn fake() -> FakeMediamtx {
    FakeMediamtx::start()
        .await
        .expect("fake MediaMTX starts with the shared spec")
}

/// `POST /v3/config/paths/add/{name}` with `body`; the status.
async fn add_path(fake: &FakeMediamtx, name: &str, body: Value) -> u16 {
    request(
        fake,
        "POST",
        &format!("/v3/config/paths/add/{name}"),
        Some(body),
    )
    .await
}

async fn request(
    fake: &FakeMediamtx,
    method: &'static str,
    path: &str,
    body: Option<Value>,
) -> u16 {
    let url = format!("{}{path}", fake.api_url());
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let r = match (method, body) {
            ("POST", Some(b)) => agent.post(&url).send_json(&b),
            ("DELETE", _) => agent.delete(&url).call(),
            (m, _) => panic!("{m} not used here"),
        };
        r.expect("the fake answers").status().as_u16()
    })
    .await
    .unwrap()
}

/// Polls `f` until it gives a value; panics naming `what` after [`WAIT`].
async fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An ffmpeg test pattern publishing H.264 to `url` over RTSP/TCP (a shell word list).
fn publisher_args(size: &str, url: &str) -> String {
    format!(
        "ffmpeg -nostdin -loglevel error -re -f lavfi -i testsrc2=size={size}:rate=15 \
         -c:v libx264 -preset ultrafast -tune zerolatency -g 15 -bf 0 -pix_fmt yuv420p \
         -f rtsp -rtsp_transport tcp {url}"
    )
}

fn spawn_sh(line: &str) -> Child {
    Command::new("sh")
        .arg("-c")
        .arg(format!("exec {line}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("ffmpeg starts")
}

/// ffmpeg reading `url` over RTSP/TCP, copying `frames` video frames into `out`.
fn reader(url: &str, frames: u32, out: &Path) -> Child {
    Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-loglevel",
            "error",
            "-rtsp_transport",
            "tcp",
            "-i",
            url,
        ])
        .args([
            "-map",
            "0:v:0",
            "-c",
            "copy",
            "-frames:v",
            &frames.to_string(),
            "-y",
        ])
        .arg(out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("ffmpeg starts")
}

/// ffmpeg reading `url` until the stream ends.
fn endless_reader(url: &str) -> Child {
    Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-loglevel",
            "error",
            "-rtsp_transport",
            "tcp",
            "-i",
            url,
        ])
        .args(["-map", "0:v:0", "-c", "copy", "-f", "null", "-"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("ffmpeg starts")
}

async fn exits(child: &mut Child, what: &str) -> std::process::ExitStatus {
    tokio::time::timeout(WAIT, child.wait())
        .await
        .unwrap_or_else(|_| panic!("{what} did not end"))
        .expect("wait")
}

/// `(codec, width, height, frames)` of the first video stream of `file`, by ffprobe.
fn probe(file: &Path) -> (String, u64, u64, u64) {
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-count_packets"])
        .args([
            "-show_entries",
            "stream=codec_name,width,height,nb_read_packets",
        ])
        .args(["-of", "json"])
        .arg(file)
        .output()
        .expect("ffprobe runs");
    let v: Value = serde_json::from_slice(&out.stdout).expect("ffprobe's JSON");
    let s = &v["streams"][0];
    let num = |k: &str| {
        s[k].as_u64()
            .or_else(|| s[k].as_str().and_then(|t| t.parse().ok()))
            .unwrap_or(0)
    };
    (
        s["codec_name"].as_str().unwrap_or_default().to_owned(),
        num("width"),
        num("height"),
        num("nb_read_packets"),
    )
}

/// Whether any live (not zombie) process is in process group `pgid`.
fn group_alive(pgid: i32) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.flatten().any(|e| {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            return false;
        };
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            return false;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        f.len() > 2 && f[0] != "Z" && f[2] == pgid.to_string()
    })
}

fn readers(fake: &FakeMediamtx, name: &str) -> usize {
    fake.path(name)
        .and_then(|p| p["readers"].as_array().map(Vec::len))
        .unwrap_or(0)
}

fn ready(fake: &FakeMediamtx, name: &str) -> bool {
    fake.path(name).is_some_and(|p| p["ready"] == true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_stream_is_relayed_to_a_reader() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(add_path(&fake, "cam", json!({})).await, 200);
    let mut publisher = spawn_sh(&publisher_args("320x240", &fake.rtsp_url("cam")));
    let path = until("the publisher is ready", || {
        fake.path("cam").filter(|p| p["ready"] == true)
    })
    .await;
    assert_eq!(path["tracks"], json!(["H264"]));
    assert_eq!(path["source"]["type"], "rtspSession");

    let out = dir.path().join("read.mkv");
    let mut r = reader(&fake.rtsp_url("cam"), 20, &out);
    until("the reader is listed", || {
        (readers(&fake, "cam") == 1).then_some(())
    })
    .await;
    assert!(exits(&mut r, "the reader").await.success());
    until("the reader leaves the list", || {
        (readers(&fake, "cam") == 0).then_some(())
    })
    .await;

    let (codec, w, h, frames) = probe(&out);
    assert_eq!((codec.as_str(), w, h), ("h264", 320, 240));
    assert_eq!(frames, 20);
    let path = fake.path("cam").unwrap();
    assert!(path["bytesReceived"].as_u64().unwrap() > 0, "{path}");
    assert!(path["bytesSent"].as_u64().unwrap() > 0, "{path}");

    publisher.kill().await.unwrap();
    until("the path is not ready once the publisher left", || {
        (!ready(&fake, "cam")).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_on_demand_command_starts_on_the_first_describe_and_stops_with_close_after_0s() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let cmd = publisher_args("320x240", "rtsp://localhost:$RTSP_PORT/$MTX_PATH");
    let body = json!({"runOnDemand": cmd, "runOnDemandCloseAfter": "0s"});
    assert_eq!(add_path(&fake, "od", body).await, 200);
    assert!(!ready(&fake, "od"));
    assert_eq!(
        fake.on_demand_starts("od"),
        0,
        "nothing runs before a reader"
    );

    let out = dir.path().join("od.mkv");
    let mut r = reader(&fake.rtsp_url("od"), 10, &out);
    let pgid = until("the command runs", || fake.on_demand_pgid("od")).await;
    assert!(exits(&mut r, "the reader").await.success());
    let (codec, w, h, _) = probe(&out);
    assert_eq!((codec.as_str(), w, h), ("h264", 320, 240));
    assert_eq!(fake.on_demand_starts("od"), 1);

    until("the command stops once the reader left", || {
        (fake.on_demand_pgid("od").is_none() && !ready(&fake, "od")).then_some(())
    })
    .await;
    until("no process of the command is left", || {
        (!group_alive(pgid)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_after_keeps_the_command_and_deleting_the_path_ends_readers_and_command() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let cmd = publisher_args("320x240", "rtsp://localhost:$RTSP_PORT/$MTX_PATH");
    let body = json!({"runOnDemand": cmd, "runOnDemandCloseAfter": "1h"});
    assert_eq!(add_path(&fake, "keep", body).await, 200);

    let mut r = reader(&fake.rtsp_url("keep"), 5, &dir.path().join("a.mkv"));
    assert!(exits(&mut r, "the first reader").await.success());
    until("the reader leaves the list", || {
        (readers(&fake, "keep") == 0).then_some(())
    })
    .await;
    // No reader, but runOnDemandCloseAfter has not passed: the publisher stays.
    assert!(ready(&fake, "keep"));
    let pgid = fake.on_demand_pgid("keep").expect("the command still runs");

    let mut long = endless_reader(&fake.rtsp_url("keep"));
    until("the second reader is listed", || {
        (readers(&fake, "keep") == 1).then_some(())
    })
    .await;
    assert_eq!(
        fake.on_demand_starts("keep"),
        1,
        "the running command served it"
    );
    assert_eq!(
        request(&fake, "DELETE", "/v3/config/paths/delete/keep", None).await,
        200
    );
    exits(&mut long, "the reader of a deleted path").await;
    until("the command is killed with its path", || {
        (!group_alive(pgid)).then_some(())
    })
    .await;
    assert!(fake.path("keep").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarting_command_runs_again_and_nothing_outlives_the_fake() {
    let fake = fake().await;
    // Publishes 10 frames, then exits.
    let cmd = publisher_args("160x120", "rtsp://localhost:$RTSP_PORT/$MTX_PATH")
        .replace("-f rtsp", "-frames:v 10 -f rtsp");
    let body =
        json!({"runOnDemand": cmd, "runOnDemandRestart": true, "runOnDemandCloseAfter": "1h"});
    assert_eq!(add_path(&fake, "again", body).await, 200);
    let mut s = Rtsp::connect(fake.rtsp_port()).await;
    let (status, _, _) = s.request("DESCRIBE", &fake.rtsp_url("again"), &[]).await;
    assert_eq!(status, 200);
    until("the command ran a second time", || {
        (fake.on_demand_starts("again") >= 2).then_some(())
    })
    .await;
    let pgid = until("the command runs", || fake.on_demand_pgid("again")).await;
    drop(fake);
    until("no process of the command is left", || {
        (!group_alive(pgid)).then_some(())
    })
    .await;
}

/// A raw RTSP client.
struct Rtsp {
    io: BufReader<TcpStream>,
    cseq: u32,
}

impl Rtsp {
    async fn connect(port: u16) -> Rtsp {
        Rtsp::over(TcpStream::connect(("127.0.0.1", port)).await.unwrap())
    }

    fn over(stream: TcpStream) -> Rtsp {
        Rtsp {
            io: BufReader::new(stream),
            cseq: 0,
        }
    }

    /// Sends a request; the answer's status, headers (lower-case names) and body.
    async fn request(
        &mut self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
    ) -> (u16, Vec<(String, String)>, String) {
        self.cseq += 1;
        let mut req = format!("{method} {url} RTSP/1.0\r\nCSeq: {}\r\n", self.cseq);
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        self.io.get_mut().write_all(req.as_bytes()).await.unwrap();
        let mut line = String::new();
        self.io.read_line(&mut line).await.unwrap();
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an RTSP answer: {line:?}"));
        let mut hs = Vec::new();
        loop {
            let mut l = String::new();
            self.io.read_line(&mut l).await.unwrap();
            let l = l.trim_end();
            if l.is_empty() {
                break;
            }
            let (k, v) = l.split_once(':').unwrap();
            hs.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
        let len: usize = hs
            .iter()
            .find(|(k, _)| k == "content-length")
            .map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = vec![0; len];
        self.io.read_exact(&mut body).await.unwrap();
        let cseq = hs
            .iter()
            .find(|(k, _)| k == "cseq")
            .map(|(_, v)| v.as_str());
        assert_eq!(cseq, Some(self.cseq.to_string().as_str()), "CSeq echoed");
        (status, hs, String::from_utf8(body).unwrap())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_and_paths_nobody_publishes_are_404() {
    let fake = fake().await;
    assert_eq!(add_path(&fake, "plain", json!({})).await, 200);
    let mut s = Rtsp::connect(fake.rtsp_port()).await;
    let (status, hs, _) = s.request("OPTIONS", &fake.rtsp_url("plain"), &[]).await;
    assert_eq!(status, 200);
    assert!(hs
        .iter()
        .any(|(k, v)| k == "public" && v.contains("DESCRIBE")));
    assert_eq!(
        s.request("DESCRIBE", &fake.rtsp_url("nope"), &[]).await.0,
        404
    );
    assert_eq!(
        s.request("DESCRIBE", &fake.rtsp_url("plain"), &[]).await.0,
        404
    );
    // An on-demand path whose command never publishes: 404 once it exits.
    let body = json!({"runOnDemand": "true", "runOnDemandStartTimeout": "1h"});
    assert_eq!(add_path(&fake, "dud", body).await, 200);
    assert_eq!(
        s.request("DESCRIBE", &fake.rtsp_url("dud"), &[]).await.0,
        404
    );
    assert_eq!(fake.on_demand_starts("dud"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_never_reads_does_not_stall_another_reader() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(add_path(&fake, "busy", json!({})).await, 200);
    // A high bit rate (near-lossless) so the stuck reader's queue fills soon.
    let line = publisher_args("640x480", &fake.rtsp_url("busy")).replace("-g 15", "-g 15 -qp 4");
    let _publisher = spawn_sh(&line);
    until("the publisher is ready", || {
        ready(&fake, "busy").then_some(())
    })
    .await;

    // A reader with a tiny receive window that plays, then never reads again.
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let stream = sock
        .connect(([127, 0, 0, 1], fake.rtsp_port()).into())
        .await
        .unwrap();
    let mut stuck = Rtsp::over(stream);
    let url = fake.rtsp_url("busy");
    let (status, hs, sdp) = stuck.request("DESCRIBE", &url, &[]).await;
    assert_eq!(status, 200);
    assert!(sdp.contains("a=control:trackID=0"), "{sdp}");
    let base = hs
        .iter()
        .find(|(k, _)| k == "content-base")
        .unwrap()
        .1
        .clone();
    assert_eq!(base, format!("{url}/"));
    // UDP is not served: ffmpeg falls back to TCP on this answer.
    let udp = stuck
        .request(
            "SETUP",
            &format!("{base}trackID=0"),
            &[("Transport", "RTP/AVP;unicast;client_port=5000-5001")],
        )
        .await;
    assert_eq!(udp.0, 461);
    let (status, hs, _) = stuck
        .request(
            "SETUP",
            &format!("{base}trackID=0"),
            &[("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")],
        )
        .await;
    assert_eq!(status, 200);
    let session = hs.iter().find(|(k, _)| k == "session").unwrap().1.clone();
    let session = session.split(';').next().unwrap().to_owned();
    assert_eq!(
        stuck
            .request("PLAY", &url, &[("Session", &session)])
            .await
            .0,
        200
    );
    until("the stuck reader's queue overflows", || {
        (fake.dropped_frames("busy") > 0).then_some(())
    })
    .await;

    let out = dir.path().join("other.mkv");
    let mut other = reader(&url, 30, &out);
    assert!(exits(&mut other, "the other reader").await.success());
    let (codec, w, h, frames) = probe(&out);
    assert_eq!((codec.as_str(), w, h, frames), ("h264", 640, 480, 30));
    assert_eq!(
        readers(&fake, "busy"),
        1,
        "the stuck reader is still attached"
    );
}
