//! A real MediaMTX for the tests and the media bench.
//!
//! The binary is found as `scripts/lib.sh`'s `find_mediamtx` finds it: `MEDIAMTX_BIN`, else
//! `../shared/mediamtx/bin/mediamtx` beside the workspace, else `mediamtx` on `PATH`. Without
//! one a real-MediaMTX test prints `skipped: ...` and returns; with `CS_REQUIRE_MEDIAMTX=1` it
//! panics instead. When `CS_MEDIAMTX_REPORT` names a file, each such test appends
//! `ran <test>` or `skipped <test>` to it, so `scripts/test.sh` can say how many ran.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free port on 127.0.0.1 (bound, then let go): nothing listens on it afterwards.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Where a real MediaMTX is, in the search order of `scripts/lib.sh`'s `find_mediamtx`.
pub fn find_mediamtx() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MEDIAMTX_BIN").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        assert!(
            executable(&p),
            "MEDIAMTX_BIN={} is not an executable file",
            p.display()
        );
        return Some(p);
    }
    // tests/ is one level below the workspace root.
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/mediamtx/bin/mediamtx");
    if executable(&beside) {
        return Some(beside);
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join("mediamtx"))
        .find(|p| executable(p))
}

fn report(line: &str) {
    if let Some(file) = std::env::var_os("CS_MEDIAMTX_REPORT") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// The MediaMTX binary for the real-MediaMTX test `test`, or a printed `skipped:` notice and
/// `None` (a panic with `CS_REQUIRE_MEDIAMTX=1`).
pub fn real_mediamtx_bin(test: &str) -> Option<PathBuf> {
    match find_mediamtx() {
        Some(p) => {
            report(&format!("ran {test}"));
            Some(p)
        }
        None if std::env::var_os("CS_REQUIRE_MEDIAMTX").is_some_and(|v| v == "1") => {
            panic!("{test}: a real MediaMTX is required (CS_REQUIRE_MEDIAMTX=1) but none was found (MEDIAMTX_BIN, ../shared/mediamtx/bin/mediamtx, PATH)")
        }
        None => {
            eprintln!("skipped: {test}: no MediaMTX binary (set MEDIAMTX_BIN, or put one at ../shared/mediamtx/bin/mediamtx or on PATH)");
            report(&format!("skipped {test}"));
            None
        }
    }
}

/// Which of MediaMTX's servers to open besides the API and RTSP.
#[derive(Debug, Clone, Copy, Default)]
pub struct Servers {
    pub hls: bool,
    pub webrtc: bool,
}

/// A real MediaMTX with its API and RTSP (TCP only) on 127.0.0.1, free ports, and HLS and
/// WebRTC when asked for; killed when dropped.
pub struct RealMediamtx {
    child: Option<Child>,
    bin: PathBuf,
    pub api: u16,
    pub rtsp: u16,
    /// 0 when closed.
    pub hls: u16,
    /// 0 when closed.
    pub webrtc: u16,
    dir: tempfile::TempDir,
}

impl RealMediamtx {
    /// Starts `bin` with no paths configured, API and RTSP only, and waits until its API
    /// answers.
    pub fn start(bin: &Path) -> RealMediamtx {
        RealMediamtx::start_with(bin, Servers::default())
    }

    /// Starts `bin` with the `servers` asked for and waits until its API answers.
    pub fn start_with(bin: &Path, servers: Servers) -> RealMediamtx {
        let dir = tempfile::tempdir().expect("a temp dir");
        let port = |on: bool| if on { free_port() } else { 0 };
        let mut mtx = RealMediamtx {
            child: None,
            bin: bin.to_owned(),
            api: free_port(),
            rtsp: free_port(),
            hls: port(servers.hls),
            webrtc: port(servers.webrtc),
            dir,
        };
        mtx.child = Some(mtx.spawn());
        mtx.wait_listening();
        mtx
    }

    /// The running server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn config(&self) -> String {
        let mut conf = format!(
            "logLevel: warn\napi: yes\napiAddress: 127.0.0.1:{}\nrtspAddress: 127.0.0.1:{}\nrtspTransports: [tcp]\nrtmp: no\nsrt: no\n",
            self.api, self.rtsp
        );
        if self.hls != 0 {
            conf.push_str(&format!(
                "hls: yes\nhlsAddress: 127.0.0.1:{}\nhlsVariant: mpegts\n",
                self.hls
            ));
        } else {
            conf.push_str("hls: no\n");
        }
        if self.webrtc != 0 {
            // ICE over TCP on a port of its own; no UDP listener, no interface scan.
            conf.push_str(&format!(
                "webrtc: yes\nwebrtcAddress: 127.0.0.1:{}\nwebrtcLocalUDPAddress: ''\nwebrtcLocalTCPAddress: 127.0.0.1:{}\nwebrtcIPsFromInterfaces: no\nwebrtcAdditionalHosts: [127.0.0.1]\n",
                self.webrtc,
                free_port()
            ));
        } else {
            conf.push_str("webrtc: no\n");
        }
        conf.push_str("paths:\n  all_others:\n");
        conf
    }

    fn spawn(&self) -> Child {
        let path = self.dir.path().join("mediamtx.yml");
        std::fs::write(&path, self.config()).expect("MediaMTX config written");
        Command::new(&self.bin)
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("MediaMTX starts")
    }

    /// Waits (generously) until the API port accepts connections.
    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.api)).is_err() {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!(
                    "MediaMTX exited at start ({status}); config:\n{}",
                    self.config()
                );
            }
            assert!(Instant::now() < deadline, "MediaMTX's API never listened");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts it again on the same ports, empty of paths (after [`RealMediamtx::kill`]).
    pub fn restart(&mut self) {
        self.kill();
        self.child = Some(self.spawn());
        self.wait_listening();
    }

    /// Kills it (SIGKILL: no goodbye to anyone); its ports stay reserved for
    /// [`RealMediamtx::restart`].
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops it as an operator would (SIGTERM: it ends its `runOnDemand` publishers), killing
    /// it if it has not ended within 10 s.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.api)
    }

    /// The `mediamtx` section of a service config pointing at this server.
    pub fn service_config(&self, reconcile_secs: u64) -> String {
        let mut s = format!(
            "mediamtx: {{api_url: '{}', reconcile_secs: {reconcile_secs}, rtsp_port: {}",
            self.api_url(),
            self.rtsp
        );
        if self.hls != 0 {
            s.push_str(&format!(", hls_port: {}", self.hls));
        }
        if self.webrtc != 0 {
            s.push_str(&format!(", webrtc_port: {}", self.webrtc));
        }
        s.push_str("}\n");
        s
    }
}

impl Drop for RealMediamtx {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The MediaMTX a stream scenario runs against: the fake (which can also say what it was
/// asked and inject faults) or a real one. The scenarios take a `&mut MediaServerUnderTest`
/// so each runs on both.
pub enum MediaServerUnderTest {
    Fake(fakemtx::FakeMediamtx),
    Real(RealMediamtx),
}

impl MediaServerUnderTest {
    pub async fn fake() -> MediaServerUnderTest {
        MediaServerUnderTest::Fake(
            fakemtx::FakeMediamtx::start()
                .await
                .expect("fake MediaMTX starts with the shared spec"),
        )
    }

    /// A real MediaMTX (API and RTSP) for the test `test`, or `None` (skipped, said so).
    pub fn real(test: &str) -> Option<MediaServerUnderTest> {
        MediaServerUnderTest::real_with(test, Servers::default())
    }

    pub fn real_with(test: &str, servers: Servers) -> Option<MediaServerUnderTest> {
        let bin = real_mediamtx_bin(test)?;
        Some(MediaServerUnderTest::Real(RealMediamtx::start_with(
            &bin, servers,
        )))
    }

    pub fn is_real(&self) -> bool {
        matches!(self, MediaServerUnderTest::Real(_))
    }

    pub fn fake_ref(&self) -> Option<&fakemtx::FakeMediamtx> {
        match self {
            MediaServerUnderTest::Fake(f) => Some(f),
            MediaServerUnderTest::Real(_) => None,
        }
    }

    pub fn api_url(&self) -> String {
        match self {
            MediaServerUnderTest::Fake(f) => f.api_url(),
            MediaServerUnderTest::Real(r) => r.api_url(),
        }
    }

    pub fn rtsp_port(&self) -> u16 {
        match self {
            MediaServerUnderTest::Fake(f) => f.rtsp_port(),
            MediaServerUnderTest::Real(r) => r.rtsp,
        }
    }

    /// The service config for media mode `mode` against this server.
    pub fn service_config(&self, mode: &str, reconcile_secs: u64) -> String {
        let mtx = match self {
            MediaServerUnderTest::Fake(f) => format!(
                "mediamtx: {{api_url: '{}', reconcile_secs: {reconcile_secs}, request_timeout_ms: 1000, rtsp_port: {}}}\n",
                f.api_url(),
                f.rtsp_port()
            ),
            MediaServerUnderTest::Real(r) => r.service_config(reconcile_secs),
        };
        format!("media: {{mode: {mode}}}\n{mtx}")
    }

    /// The names of the paths configured now (empty while it does not answer).
    pub async fn path_names(&self) -> Vec<String> {
        match self {
            MediaServerUnderTest::Fake(f) => f.config_path_names(),
            MediaServerUnderTest::Real(r) => {
                let addr = std::net::SocketAddr::from(([127, 0, 0, 1], r.api));
                if TcpStream::connect(addr).is_err() {
                    return Vec::new();
                }
                let resp =
                    crate::http::get(addr, "/v3/config/paths/list?itemsPerPage=1000", &[]).await;
                resp.json()["items"]
                    .as_array()
                    .map(|items| {
                        items
                            .iter()
                            .filter_map(|i| i["name"].as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
            }
        }
    }

    pub async fn has_path(&self, name: &str) -> bool {
        self.path_names().await.iter().any(|n| n == name)
    }

    /// It restarts empty: its API paths are gone, publishers and readers are cut off, and
    /// it answers again.
    pub async fn restart_empty(&mut self) {
        match self {
            MediaServerUnderTest::Fake(f) => f.restart_empty(),
            MediaServerUnderTest::Real(r) => r.restart(),
        }
    }

    /// It dies: the API stops answering, streams end, paths are lost.
    pub async fn die(&mut self) {
        match self {
            MediaServerUnderTest::Fake(f) => {
                f.go_down(fakemtx::Outage::Refuse).await;
                // What dies with the process: paths added over the API, every stream.
                f.restart_empty();
            }
            MediaServerUnderTest::Real(r) => r.kill(),
        }
    }

    /// It comes back on the same ports (empty of paths, as a restarted MediaMTX is).
    pub async fn come_back(&mut self) {
        match self {
            MediaServerUnderTest::Fake(f) => f.come_back().await.expect("the fake comes back"),
            MediaServerUnderTest::Real(r) => r.restart(),
        }
    }

    /// Stops it (after the service, so its readers end first).
    pub async fn stop(self) {
        match self {
            MediaServerUnderTest::Fake(f) => f.stop().await,
            MediaServerUnderTest::Real(mut r) => r.stop(),
        }
    }
}
