//! Headless Chromium driven through chromedriver (WebDriver), for the console's tests.
//!
//! Chromium and chromedriver are Debian's `chromium` and `chromium-driver` (scripts/lib.sh
//! installs them); `CHROMIUM_BIN` / `CHROMEDRIVER_BIN` point elsewhere. Without them a test
//! prints `skipped: ...` and returns; with `CS_REQUIRE_BROWSER=1` (CI) it panics instead.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::mediamtx::free_port;

/// Where the screenshots of the console's pages are kept (the workspace's
/// `target/console-screenshots/`).
pub fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

fn find(var: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        return Some(PathBuf::from(p));
    }
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A fresh headless Chromium (its own profile: no cookies), or `None` (skipped) when
    /// there is none on this machine.
    pub async fn start(test: &str) -> Option<Browser> {
        let chromium = find(
            "CHROMIUM_BIN",
            &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
        );
        let driver = find("CHROMEDRIVER_BIN", &["/usr/bin/chromedriver"]);
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            if std::env::var_os("CS_REQUIRE_BROWSER").is_some_and(|v| v == "1") {
                panic!("{test}: Chromium and chromedriver are required (CS_REQUIRE_BROWSER=1): apt-get install chromium chromium-driver");
            }
            eprintln!("skipped: {test}: no chromium / chromedriver (apt-get install chromium chromium-driver)");
            return None;
        };
        let port = free_port();
        // A process group of its own: chromedriver and the Chromium it starts are ended
        // together, even when a test fails before closing the session.
        let mut driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = driver.try_wait() {
                panic!("chromedriver exited at start: {status}");
            }
            assert!(Instant::now() < deadline, "chromedriver never listened");
            std::thread::sleep(Duration::from_millis(20));
        }
        let profile = tempfile::tempdir().expect("a profile dir");
        let args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--autoplay-policy=no-user-gesture-required".to_owned(),
            "--window-size=1280,900".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"binary": chromium, "args": args}),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a WebDriver session with Chromium");
        Some(Browser {
            client,
            driver,
            _profile: profile,
        })
    }

    /// Runs `script` (a function body; `arguments` as usual) and returns its value.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Polls `script` until it returns something truthy, for at most `secs`.
    pub async fn wait_js(&self, what: &str, script: &str, secs: f64) -> Value {
        let deadline = Instant::now() + Duration::from_secs_f64(secs);
        loop {
            let v = self.js(script).await;
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return v;
            }
            if Instant::now() > deadline {
                let error = self
                    .js("return document.getElementById('error')?.textContent || ''")
                    .await;
                panic!("timed out waiting for {what} (page error: {error})");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        self.client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
    }

    /// Opens the console at `base` and logs in with `token` through the login form.
    pub async fn login(&self, base: &str, token: &str) {
        self.client.goto(base).await.expect("the console loads");
        let input = self
            .client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css("#token"))
            .await
            .expect("the login form");
        input.send_keys(token).await.expect("token typed");
        self.click("#login-button").await;
        self.wait_js(
            "the logged-in shell",
            "return document.getElementById('whoami')?.textContent",
            15.0,
        )
        .await;
    }

    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("a screenshot");
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("screenshot written");
        path
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let group = nix::unistd::Pid::from_raw(-(self.driver.id() as i32));
        let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.driver.wait();
    }
}
