//! Starting and stopping the real service binary.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use domain::{Role, Timestamp};
use serde_yaml::Value as Yaml;

use crate::ws::WsClient;

/// The secret every test service signs JWTs with.
pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";

/// The `camera-service` binary next to the test executable (`target/<profile>/`), or
/// `$CAMERA_SERVICE_BIN`. Refused when older than a source file it was built from (cargo's
/// dep-info file beside it lists them): the tests must not pass or fail on a stale build.
pub fn binary() -> PathBuf {
    let bin = match std::env::var("CAMERA_SERVICE_BIN") {
        Ok(p) => PathBuf::from(p),
        Err(_) => {
            let exe = std::env::current_exe().expect("the test executable has a path");
            let dir = exe
                .parent()
                .and_then(Path::parent)
                .expect("tests run from target/<profile>/deps");
            dir.join("camera-service")
        }
    };
    assert!(
        bin.exists(),
        "{} is missing: build it first (cargo build --workspace --all-targets)",
        bin.display()
    );
    if let Some(newer) = newer_source(&bin) {
        panic!(
            "stale binary: run cargo build ({} is newer than {})",
            newer.display(),
            bin.display()
        );
    }
    bin
}

/// A source file listed in `bin`'s dep-info file (`<bin>.d`) modified after `bin`, if any.
/// Without a dep-info file (a binary from elsewhere) nothing can be said.
pub fn newer_source(bin: &Path) -> Option<PathBuf> {
    let built = std::fs::metadata(bin).and_then(|m| m.modified()).ok()?;
    let dep_info = std::fs::read_to_string(bin.with_extension("d")).ok()?;
    dep_sources(&dep_info).into_iter().find(|src| {
        std::fs::metadata(src)
            .and_then(|m| m.modified())
            // A listed file that is gone was moved or deleted since: the build is stale too.
            .map_or(true, |m| m > built)
    })
}

/// The prerequisites of the first rule of a Makefile-style dep-info text (`target: a b\ c`).
fn dep_sources(dep_info: &str) -> Vec<PathBuf> {
    let Some(first) = dep_info.lines().next() else {
        return Vec::new();
    };
    // The target's own path may hold "\ " escapes; the list starts after the first ": ".
    let Some((_, list)) = first.split_once(": ") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut word = String::new();
    let mut chars = list.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => word.extend(chars.next()),
            ' ' => {
                if !word.is_empty() {
                    out.push(PathBuf::from(std::mem::take(&mut word)));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        out.push(PathBuf::from(word));
    }
    out
}

pub fn now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    Timestamp::from_unix_millis(ms)
}

/// Deep-merges `over` into `base`.
fn merge(base: &mut Yaml, over: Yaml) {
    match (base, over) {
        (Yaml::Mapping(b), Yaml::Mapping(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

pub struct ServiceBuilder {
    overrides: Vec<String>,
    env: Vec<(String, String)>,
}

impl ServiceBuilder {
    /// YAML merged over the test defaults.
    pub fn config(mut self, yaml: &str) -> Self {
        self.overrides.push(yaml.to_owned());
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn start(self) -> TestService {
        let dir = tempfile::tempdir().expect("a temp dir");
        let d = dir.path();
        let base = format!(
            r#"
server: {{host: 127.0.0.1, port: 0, public_host: camera.test}}
auth:
  jwt_secret: {TEST_SECRET}
  jwt_secret_file: {d}/jwt-secret
  keys_file: {d}/api-keys.json
  rate_per_second: 200
  rate_burst: 400
camera:
  simulated_dir: {d}/sim
storage:
  recordings_dir: {d}/recordings
  snapshots_dir: {d}/snapshots
  state_dir: {d}/state
  min_free_bytes: 1048576
media: {{mode: direct}}
logging: {{level: debug, format: json, audit_file: {d}/audit.log}}
"#,
            d = d.display()
        );
        let mut config: Yaml = serde_yaml::from_str(&base).expect("the base test config parses");
        for o in self.overrides {
            merge(
                &mut config,
                serde_yaml::from_str(&o).expect("test config override parses"),
            );
        }
        let path = d.join("config.yaml");
        std::fs::write(
            &path,
            serde_yaml::to_string(&config).expect("config serialises"),
        )
        .expect("config written");
        std::fs::create_dir_all(d.join("sim")).expect("sim dir");
        TestService::spawn(dir, path, self.env)
    }
}

/// A running service process; killed when dropped.
pub struct TestService {
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub addr: SocketAddr,
    bin: PathBuf,
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
}

impl TestService {
    pub fn builder() -> ServiceBuilder {
        ServiceBuilder {
            overrides: Vec::new(),
            env: Vec::new(),
        }
    }

    /// Two simulated cameras (camera0, camera1), direct media, state in a temp dir.
    pub fn start() -> TestService {
        Self::builder().start()
    }

    /// Runs `bin` (e.g. a packaged binary) with the config at `config_path` (port 0,
    /// JSON logs) until dropped.
    pub fn spawn_binary(
        bin: &Path,
        config_path: PathBuf,
        env: Vec<(String, String)>,
    ) -> TestService {
        let dir = tempfile::tempdir().expect("a temp dir");
        Self::spawn_with(bin, dir, config_path, env)
    }

    fn spawn(
        dir: tempfile::TempDir,
        config_path: PathBuf,
        env: Vec<(String, String)>,
    ) -> TestService {
        Self::spawn_with(&binary(), dir, config_path, env)
    }

    fn spawn_with(
        bin: &Path,
        dir: tempfile::TempDir,
        config_path: PathBuf,
        env: Vec<(String, String)>,
    ) -> TestService {
        let mut cmd = Command::new(bin);
        // The tests' own variable, kept from the service it runs.
        cmd.env_remove("CAMERA_SERVICE_BIN");
        cmd.arg("--config").arg(&config_path).arg("serve");
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("camera-service starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
        {
            let logs = Arc::clone(&logs);
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                        if v["msg"] == "listening" {
                            if let Some(addr) = v["addr"].as_str().and_then(|a| a.parse().ok()) {
                                let _ = tx.send(addr);
                            }
                        }
                    }
                    logs.lock().unwrap_or_else(|p| p.into_inner()).push(line);
                }
            });
        }
        {
            let logs = Arc::clone(&logs);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    logs.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(format!("stderr: {line}"));
                }
            });
        }
        let addr = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "the service did not start; its output:\n{}",
                    logs.lock().unwrap().join("\n")
                );
            }
        };
        TestService {
            dir,
            config_path,
            addr,
            bin: bin.to_owned(),
            child,
            logs,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Everything the service printed so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The audit log's records.
    pub fn audit(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.path().join("audit.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    pub fn token(&self, role: Role, lifetime_secs: u64) -> String {
        cs_auth::JwtAuthority::new(TEST_SECRET.as_bytes()).issue(
            "tester",
            role,
            lifetime_secs,
            now(),
        )
    }

    /// Runs the binary's CLI against this service's config (e.g. `keys add`).
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(&self.bin)
            .arg("--config")
            .arg(&self.config_path)
            .args(args)
            .output()
            .expect("the CLI runs")
    }

    pub async fn ws(&self) -> WsClient {
        WsClient::connect(&self.ws_url(), None).await
    }

    /// A connection authenticated with a fresh JWT for `role`.
    pub async fn ws_as(&self, role: Role) -> WsClient {
        let mut ws = self.ws().await;
        let token = self.token(role, 3600);
        let r = ws
            .call("authenticate", serde_json::json!({"auth_token": token}))
            .await;
        assert_eq!(
            r["result"]["authenticated"], true,
            "authenticate failed: {r}"
        );
        ws
    }

    /// Plugs a simulated camera by writing its descriptor file.
    pub fn plug_sim(&self, index: u16, name: &str) {
        let dir = self.dir.path().join("sim");
        let tmp = dir.join(format!(".camera{index}.tmp"));
        std::fs::write(&tmp, format!("index: {index}\nname: {name}\n"))
            .expect("descriptor written");
        std::fs::rename(&tmp, dir.join(format!("camera{index}.yaml"))).expect("descriptor renamed");
    }

    pub fn unplug_sim(&self, index: u16) {
        std::fs::remove_file(
            self.dir
                .path()
                .join("sim")
                .join(format!("camera{index}.yaml")),
        )
        .expect("descriptor removed");
    }

    /// Polls `f` until it returns `Some`, for at most `secs`.
    pub async fn eventually<T, F, Fut>(secs: f64, mut f: F) -> Option<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + Duration::from_secs_f64(secs);
        loop {
            if let Some(v) = f().await {
                return Some(v);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits at most `secs` for the process to exit by itself; its status, or `None`.
    pub fn wait_exit(&mut self, secs: f64) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + Duration::from_secs_f64(secs);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, like a power cut or the OOM killer.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep_info_lists_every_prerequisite_with_escaped_spaces() {
        let text = "/t/debug/camera-service: /w/a.rs /w/my\\ dir/b.rs\n\n/w/a.rs:\n";
        assert_eq!(
            dep_sources(text),
            [PathBuf::from("/w/a.rs"), PathBuf::from("/w/my dir/b.rs")]
        );
    }

    #[test]
    fn a_source_newer_than_the_binary_makes_it_stale() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("lib.rs");
        let bin = dir.path().join("camera-service");
        std::fs::write(&src, "fn main() {}").unwrap();
        std::fs::write(&bin, "binary").unwrap();
        std::fs::write(
            dir.path().join("camera-service.d"),
            format!("{}: {}\n", bin.display(), src.display()),
        )
        .unwrap();
        let old = SystemTime::now() - Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(&src)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert_eq!(newer_source(&bin), None);
        std::fs::File::options()
            .write(true)
            .open(&src)
            .unwrap()
            .set_modified(SystemTime::now() + Duration::from_secs(60))
            .unwrap();
        assert_eq!(newer_source(&bin), Some(src));
    }
}
