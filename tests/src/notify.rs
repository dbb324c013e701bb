//! A stand-in for systemd's notification socket: a real datagram socket the service is
//! given as `NOTIFY_SOCKET`, whose messages (`READY=1\nSTATUS=...`) are collected with the
//! time they arrived.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One datagram the service sent.
#[derive(Debug, Clone)]
pub struct Notification {
    pub at: Instant,
    pub text: String,
}

impl Notification {
    /// The `KEY=value` assignments of the message.
    pub fn has(&self, assignment: &str) -> bool {
        self.text.lines().any(|l| l == assignment)
    }

    /// The value of `KEY=` in the message, if present.
    pub fn value(&self, key: &str) -> Option<String> {
        self.text
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('=').map(str::to_owned))
    }
}

pub struct NotifySocket {
    _dir: tempfile::TempDir,
    path: PathBuf,
    received: Arc<Mutex<Vec<Notification>>>,
}

impl NotifySocket {
    pub fn bind() -> NotifySocket {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&path).expect("the notify socket binds");
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&received);
        // The thread ends with the process (the socket outlives the test only by that much).
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n) = socket.recv(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                sink.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(Notification {
                        at: Instant::now(),
                        text,
                    });
            }
        });
        NotifySocket {
            _dir: dir,
            path,
            received,
        }
    }

    /// The value for `NOTIFY_SOCKET`.
    pub fn path(&self) -> String {
        self.path.display().to_string()
    }

    /// Every message so far.
    pub fn messages(&self) -> Vec<Notification> {
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The first message after the first `skip` for which `check` holds, waiting at most
    /// `secs`; `None` if none came.
    pub fn wait_for(
        &self,
        skip: usize,
        secs: f64,
        check: impl Fn(&Notification) -> bool,
    ) -> Option<(usize, Notification)> {
        let deadline = Instant::now() + Duration::from_secs_f64(secs);
        loop {
            let found = self
                .messages()
                .into_iter()
                .enumerate()
                .skip(skip)
                .find(|(_, m)| check(m));
            if found.is_some() || Instant::now() > deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
