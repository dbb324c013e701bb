//! A real MediaMTX for the tests and the media bench, when `MEDIAMTX_BIN` names one.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A free port on 127.0.0.1 (bound, then let go): nothing listens on it afterwards.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The MediaMTX binary named by `MEDIAMTX_BIN`, or a printed notice (saying what is skipped)
/// and `None`.
pub fn real_mediamtx_bin(skipped: &str) -> Option<PathBuf> {
    match std::env::var_os("MEDIAMTX_BIN") {
        Some(p) => Some(p.into()),
        None => {
            eprintln!("skipped: set MEDIAMTX_BIN to a MediaMTX v1.15 binary to run {skipped}");
            None
        }
    }
}

/// A real MediaMTX with its API and RTSP (TCP only) on 127.0.0.1, free ports; killed when
/// dropped.
pub struct RealMediamtx {
    pub child: Child,
    pub api: u16,
    pub rtsp: u16,
    dir: tempfile::TempDir,
}

impl RealMediamtx {
    /// Starts `bin` with no paths configured.
    pub fn start(bin: &Path) -> RealMediamtx {
        let dir = tempfile::tempdir().expect("a temp dir");
        let (api, rtsp) = (free_port(), free_port());
        let child = spawn(bin, dir.path(), api, rtsp);
        RealMediamtx {
            child,
            api,
            rtsp,
            dir,
        }
    }

    /// Starts `bin` again on the same ports, empty of paths (after the old one was killed).
    pub fn restart(&mut self, bin: &Path) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(bin, self.dir.path(), self.api, self.rtsp);
    }

    /// Kills it (its ports stay reserved for [`RealMediamtx::restart`]).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.api)
    }
}

fn spawn(bin: &Path, dir: &Path, api: u16, rtsp: u16) -> Child {
    let conf = format!(
        "api: yes\napiAddress: 127.0.0.1:{api}\nrtspAddress: 127.0.0.1:{rtsp}\nrtspTransports: [tcp]\nrtmp: no\nhls: no\nwebrtc: no\nsrt: no\npaths:\n  all_others:\n"
    );
    let path = dir.join("mediamtx.yml");
    std::fs::write(&path, conf).expect("MediaMTX config written");
    Command::new(bin)
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("MediaMTX starts")
}

impl Drop for RealMediamtx {
    fn drop(&mut self) {
        self.kill();
    }
}
