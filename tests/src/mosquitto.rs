//! A real Mosquitto broker for the MQTT tests and bench (Debian's `mosquitto`), started on a
//! free loopback port with a generated config (no system service, no persistence), killed
//! when dropped; and a plain MQTT client that records what it receives.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

use crate::mediamtx::free_port;

/// The `mosquitto` binary: `$MOSQUITTO_BIN`, else `/usr/sbin/mosquitto`, else PATH.
fn mosquitto_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MOSQUITTO_BIN") {
        return Some(p.into());
    }
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"] {
        let p = PathBuf::from(dir).join("mosquitto");
        if p.exists() {
            return Some(p);
        }
    }
    None
}

/// A broker on 127.0.0.1:`port`.
pub struct Mosquitto {
    pub port: u16,
    child: Option<Child>,
    bin: PathBuf,
    dir: tempfile::TempDir,
}

impl Mosquitto {
    /// Starts one, or prints that `what` is skipped and returns `None` when Mosquitto is not
    /// installed (scripts/test.sh installs it; under CI a missing broker fails the test).
    pub fn start(what: &str) -> Option<Mosquitto> {
        let Some(bin) = mosquitto_bin() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "mosquitto is not installed (apt-get install mosquitto): {what} must run in CI"
            );
            eprintln!("skipped: {what} needs mosquitto (apt-get install mosquitto)");
            return None;
        };
        let dir = tempfile::tempdir().expect("a temp dir");
        let mut m = Mosquitto {
            port: free_port(),
            child: None,
            bin,
            dir,
        };
        m.spawn();
        Some(m)
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let conf = self.dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 100000\n",
                self.port
            ),
        )
        .expect("mosquitto config written");
        let child = Command::new(&self.bin)
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "mosquitto did not listen on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the broker (its retained messages go with it: no persistence).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One message as a subscriber got it.
#[derive(Debug, Clone)]
pub struct Received {
    pub topic: String,
    pub payload: Vec<u8>,
    pub retained: bool,
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload).unwrap_or(serde_json::Value::Null)
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }
}

/// A plain MQTT client (QoS 1) that records everything it receives.
pub struct Probe {
    client: AsyncClient,
    got: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Probe {
    /// Connects and subscribes to `filters`; returns once the subscriptions are acknowledged.
    pub async fn connect(port: u16, filters: &[&str]) -> Probe {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let id = format!(
            "probe-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let mut opts = MqttOptions::new(id, "127.0.0.1", port);
        opts.set_keep_alive(Duration::from_secs(30))
            .set_max_packet_size(16 << 20, 16 << 20);
        let (client, mut eventloop) = AsyncClient::new(opts, 1024);
        let got = Arc::new(Mutex::new(Vec::new()));
        let (subacked_tx, mut subacked) = tokio::sync::mpsc::unbounded_channel();
        for f in filters {
            client
                .subscribe(*f, QoS::AtLeastOnce)
                .await
                .expect("subscribe queued");
        }
        let task = {
            let got = Arc::clone(&got);
            tokio::spawn(async move {
                loop {
                    match eventloop.poll().await {
                        Ok(Event::Incoming(Packet::Publish(p))) => {
                            got.lock().unwrap().push(Received {
                                topic: p.topic.clone(),
                                payload: p.payload.to_vec(),
                                retained: p.retain,
                                at: Instant::now(),
                            })
                        }
                        Ok(Event::Incoming(Packet::SubAck(_))) => {
                            let _ = subacked_tx.send(());
                        }
                        Ok(_) => {}
                        Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                    }
                }
            })
        };
        for _ in filters {
            tokio::time::timeout(Duration::from_secs(20), subacked.recv())
                .await
                .expect("the broker acknowledges the subscription");
        }
        Probe { client, got, task }
    }

    pub async fn publish(&self, topic: &str, payload: &[u8], retain: bool) {
        self.client
            .publish(topic, QoS::AtLeastOnce, retain, payload.to_vec())
            .await
            .expect("publish queued");
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Messages on `topic` so far.
    pub fn on(&self, topic: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|m| m.topic == topic)
            .collect()
    }

    pub fn clear(&self) {
        self.got.lock().unwrap().clear();
    }

    /// Waits (at most `secs`) for a message on `topic` that `pred` accepts.
    pub async fn wait_for(
        &self,
        topic: &str,
        secs: f64,
        pred: impl Fn(&Received) -> bool,
    ) -> Option<Received> {
        let deadline = Instant::now() + Duration::from_secs_f64(secs);
        loop {
            if let Some(m) = self
                .got
                .lock()
                .unwrap()
                .iter()
                .find(|m| m.topic == topic && pred(m))
            {
                return Some(m.clone());
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.task.abort();
    }
}
