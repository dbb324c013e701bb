//! An MQTT broker connection (`ports::broker::MessageBroker`) over rumqttc.
//!
//! Moves bytes only; topics and payloads are the app's. What it adds to the protocol client:
//!
//! - A bounded outgoing queue in front of the connection, so `publish` never waits: a
//!   retained message replaces a waiting one for the same topic (only the latest state
//!   matters); when the queue is full the oldest *event* (not retained) is dropped and counted.
//!   While the broker is away messages wait in the queue.
//! - One task polls the protocol client (keepalive, acks, reconnects with exponential backoff)
//!   and tells a `BrokerListener` about connections and incoming messages; subscriptions are
//!   restored after every reconnect (clean sessions).
//! - One task moves queued messages to the connection while it is up.
//! - `close` sends what waits, then the last message (the retained `offline`), then a clean
//!   DISCONNECT, so that the broker does not publish the will.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use ports::broker::{BrokerListener, BrokerStats, MessageBroker, Outgoing};
use rumqttc::{
    AsyncClient, ConnectionError, Event, EventLoop, LastWill, MqttOptions, Packet, QoS,
    TlsConfiguration, Transport,
};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// First wait before a reconnect; doubled on every failure up to `BACKOFF_MAX`.
const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How long `close` waits for the queue to drain and the DISCONNECT to go out.
const CLOSE_DEADLINE: Duration = Duration::from_secs(3);
/// Requests between our pump and the protocol client (rumqttc's own channel).
const CLIENT_CHANNEL: usize = 64;

/// How to reach the broker.
#[derive(Debug, Clone)]
pub struct BrokerOptions {
    /// `mqtt://host[:port]` (default port 1883) or `mqtts://host[:port]` (8883).
    pub url: String,
    /// PEM of the CA that signed the broker's certificate (required for `mqtts://`).
    pub ca_pem: Option<Vec<u8>>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub client_id: String,
    pub keepalive: Duration,
    /// QoS of everything published and subscribed: 0, 1 or 2.
    pub qos: u8,
    /// Published by the broker if this connection ends without a clean DISCONNECT.
    pub will: Option<Outgoing>,
    /// Outgoing messages waiting before the oldest event is dropped.
    pub queue_capacity: usize,
    /// Largest message in either direction.
    pub max_packet_bytes: usize,
}

impl BrokerOptions {
    pub fn new(url: &str, client_id: &str) -> BrokerOptions {
        BrokerOptions {
            url: url.to_owned(),
            ca_pem: None,
            username: None,
            password: None,
            client_id: client_id.to_owned(),
            keepalive: Duration::from_secs(30),
            qos: 1,
            will: None,
            queue_capacity: 1024,
            max_packet_bytes: 8 * 1024 * 1024,
        }
    }
}

/// Why a broker connection could not be set up (the connection itself is retried forever).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("broker URL {0:?}: expected mqtt://host[:port] or mqtts://host[:port]")]
    Url(String),
    #[error("mqtts:// needs the CA certificate of the broker")]
    NoCa,
    #[error("CA certificate: {0}")]
    Ca(String),
}

/// `(tls, host, port)` of `mqtt://host[:port]` / `mqtts://host[:port]`.
pub fn parse_url(url: &str) -> Result<(bool, String, u16), SetupError> {
    let bad = || SetupError::Url(url.to_owned());
    let (tls, rest) = if let Some(r) = url.strip_prefix("mqtts://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("mqtt://") {
        (false, r)
    } else {
        return Err(bad());
    };
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest.contains(['/', '@', '?', ' ']) {
        return Err(bad());
    }
    let default_port = if tls { 8883 } else { 1883 };
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(bad)?;
        match after.strip_prefix(':') {
            Some(p) => (host, p.parse().map_err(|_| bad())?),
            None if after.is_empty() => (host, default_port),
            None => return Err(bad()),
        }
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().map_err(|_| bad())?),
            None => (rest, default_port),
        }
    };
    if host.is_empty() || port == 0 {
        return Err(bad());
    }
    Ok((tls, host.to_owned(), port))
}

fn qos(level: u8) -> QoS {
    match level {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

fn tls_config(ca_pem: &[u8]) -> Result<TlsConfiguration, SetupError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    let mut found = 0;
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        let cert = cert.map_err(|e| SetupError::Ca(e.to_string()))?;
        roots.add(cert).map_err(|e| SetupError::Ca(e.to_string()))?;
        found += 1;
    }
    if found == 0 {
        return Err(SetupError::Ca("no certificate in the PEM".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SetupError::Ca(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConfiguration::Rustls(Arc::new(config)))
}

fn mqtt_options(o: &BrokerOptions) -> Result<MqttOptions, SetupError> {
    let (tls, host, port) = parse_url(&o.url)?;
    let mut opts = MqttOptions::new(o.client_id.clone(), host, port);
    opts.set_keep_alive(o.keepalive)
        .set_clean_session(true)
        .set_max_packet_size(o.max_packet_bytes, o.max_packet_bytes);
    if tls {
        let ca = o.ca_pem.as_deref().ok_or(SetupError::NoCa)?;
        opts.set_transport(Transport::tls_with_config(tls_config(ca)?));
    }
    if let Some(user) = &o.username {
        opts.set_credentials(user.clone(), o.password.clone().unwrap_or_default());
    }
    if let Some(will) = &o.will {
        opts.set_last_will(LastWill::new(
            will.topic.clone(),
            will.payload.clone(),
            qos(o.qos),
            will.retain,
        ));
    }
    Ok(opts)
}

/// Messages waiting for the broker.
#[derive(Default)]
struct Queue {
    items: VecDeque<Outgoing>,
    events: usize,
}

impl Queue {
    /// Returns whether an event was dropped to make room.
    fn push(&mut self, msg: Outgoing, capacity: usize) -> bool {
        if msg.retain {
            if let Some(old) = self
                .items
                .iter_mut()
                .find(|m| m.retain && m.topic == msg.topic)
            {
                *old = msg;
                return false;
            }
            self.items.push_back(msg);
            // Retained messages are bounded by their topics; events make room for them.
            return self.items.len() > capacity && self.drop_oldest_event();
        }
        self.items.push_back(msg);
        self.events += 1;
        self.items.len() > capacity && self.drop_oldest_event()
    }

    fn drop_oldest_event(&mut self) -> bool {
        match self.items.iter().position(|m| !m.retain) {
            Some(at) => {
                self.items.remove(at);
                self.events -= 1;
                true
            }
            None => false,
        }
    }

    fn pop(&mut self) -> Option<Outgoing> {
        let msg = self.items.pop_front()?;
        if !msg.retain {
            self.events -= 1;
        }
        Some(msg)
    }
}

struct Shared {
    client: AsyncClient,
    qos: QoS,
    capacity: usize,
    queue: Mutex<Queue>,
    /// Wakes the pump: a message was queued, or the connection came up.
    wake: Notify,
    connected: AtomicBool,
    closing: AtomicBool,
    loop_ended: AtomicBool,
    subscriptions: Mutex<Vec<String>>,
    sent: AtomicU64,
    dropped: AtomicU64,
    connects: AtomicU64,
    received: AtomicU64,
}

/// Plain data kept consistent between statements: a panic elsewhere cannot leave it
/// half-written, so poisoning is ignored.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A connection to one broker; see the module documentation.
pub struct MqttBroker {
    shared: Arc<Shared>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl MqttBroker {
    /// Starts connecting (in the background, retried forever) and returns at once.
    /// Call from within a tokio runtime.
    pub fn start(
        options: BrokerOptions,
        listener: Arc<dyn BrokerListener>,
    ) -> Result<Arc<MqttBroker>, SetupError> {
        let opts = mqtt_options(&options)?;
        let (client, eventloop) = AsyncClient::new(opts, CLIENT_CHANNEL);
        let shared = Arc::new(Shared {
            client,
            qos: qos(options.qos),
            capacity: options.queue_capacity.max(1),
            queue: Mutex::new(Queue::default()),
            wake: Notify::new(),
            connected: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            loop_ended: AtomicBool::new(false),
            subscriptions: Mutex::new(Vec::new()),
            sent: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            connects: AtomicU64::new(0),
            received: AtomicU64::new(0),
        });
        let tasks = vec![
            tokio::spawn(run_connection(Arc::clone(&shared), eventloop, listener)),
            tokio::spawn(pump(Arc::clone(&shared))),
        ];
        Ok(Arc::new(MqttBroker {
            shared,
            tasks: Mutex::new(tasks),
        }))
    }
}

impl Drop for MqttBroker {
    fn drop(&mut self) {
        for t in lock(&self.tasks).drain(..) {
            t.abort();
        }
    }
}

/// Polls the protocol client: connections, incoming messages, reconnects with backoff.
async fn run_connection(
    shared: Arc<Shared>,
    mut eventloop: EventLoop,
    listener: Arc<dyn BrokerListener>,
) {
    let mut backoff = BACKOFF_MIN;
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                backoff = BACKOFF_MIN;
                shared.connects.fetch_add(1, Ordering::Relaxed);
                let filters = lock(&shared.subscriptions).clone();
                for f in filters {
                    let _ = shared.client.try_subscribe(f, shared.qos);
                }
                shared.connected.store(true, Ordering::Release);
                listener.connected();
                shared.wake.notify_one();
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                shared.received.fetch_add(1, Ordering::Relaxed);
                listener.message(&p.topic, &p.payload, p.retain);
            }
            Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => {
                if shared.closing.load(Ordering::Acquire) {
                    break;
                }
            }
            Ok(_) => {}
            Err(e) => {
                let was = shared.connected.swap(false, Ordering::AcqRel);
                if shared.closing.load(Ordering::Acquire) {
                    break;
                }
                if was {
                    listener.disconnected(&describe(&e));
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
    shared.connected.store(false, Ordering::Release);
    shared.loop_ended.store(true, Ordering::Release);
}

fn describe(e: &ConnectionError) -> String {
    e.to_string()
}

/// Moves queued messages to the connection while it is up.
async fn pump(shared: Arc<Shared>) {
    loop {
        let next = if shared.connected.load(Ordering::Acquire) {
            lock(&shared.queue).pop()
        } else {
            None
        };
        let Some(msg) = next else {
            shared.wake.notified().await;
            continue;
        };
        // Waits only while rumqttc's own channel is full (the broker is slow or away).
        if shared
            .client
            .publish(msg.topic, shared.qos, msg.retain, msg.payload)
            .await
            .is_ok()
        {
            shared.sent.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[async_trait]
impl MessageBroker for MqttBroker {
    fn publish(&self, msg: Outgoing) {
        if self.shared.closing.load(Ordering::Acquire) {
            return;
        }
        let dropped = lock(&self.shared.queue).push(msg, self.shared.capacity);
        if dropped {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
        self.shared.wake.notify_one();
    }

    fn subscribe(&self, filter: &str) {
        {
            let mut subs = lock(&self.shared.subscriptions);
            if subs.iter().any(|s| s == filter) {
                return;
            }
            subs.push(filter.to_owned());
        }
        if self.shared.connected.load(Ordering::Acquire) {
            let _ = self.shared.client.try_subscribe(filter, self.shared.qos);
        }
    }

    fn unsubscribe(&self, filter: &str) {
        lock(&self.shared.subscriptions).retain(|s| s != filter);
        if self.shared.connected.load(Ordering::Acquire) {
            let _ = self.shared.client.try_unsubscribe(filter);
        }
    }

    fn stats(&self) -> BrokerStats {
        let s = &self.shared;
        BrokerStats {
            connected: s.connected.load(Ordering::Acquire),
            sent: s.sent.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            queued: lock(&s.queue).items.len() as u64,
            connects: s.connects.load(Ordering::Relaxed),
            received: s.received.load(Ordering::Relaxed),
        }
    }

    async fn close(&self, last: Option<Outgoing>) {
        let s = &self.shared;
        let deadline = tokio::time::Instant::now() + CLOSE_DEADLINE;
        // Let the pump send what waits, while the broker is there to take it.
        wait_until(deadline, || {
            !s.connected.load(Ordering::Acquire) || lock(&s.queue).items.is_empty()
        })
        .await;
        s.closing.store(true, Ordering::Release);
        if s.connected.load(Ordering::Acquire) {
            let send_last = async {
                if let Some(m) = last {
                    let _ = s.client.publish(m.topic, s.qos, m.retain, m.payload).await;
                }
                let _ = s.client.disconnect().await;
            };
            let _ = tokio::time::timeout_at(deadline, send_last).await;
            wait_until(deadline, || s.loop_ended.load(Ordering::Acquire)).await;
        }
        for t in lock(&self.tasks).drain(..) {
            t.abort();
        }
    }
}

/// Waits (checking every few ms) until `done` or the deadline.
async fn wait_until(deadline: tokio::time::Instant, done: impl Fn() -> bool) {
    while !done() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u32) -> Outgoing {
        Outgoing::event(format!("e/{n}"), n.to_string().into_bytes())
    }

    #[test]
    fn urls_give_scheme_host_and_port() {
        assert_eq!(
            parse_url("mqtt://127.0.0.1:1884").unwrap(),
            (false, "127.0.0.1".into(), 1884)
        );
        assert_eq!(
            parse_url("mqtts://broker.lan").unwrap(),
            (true, "broker.lan".into(), 8883)
        );
        assert_eq!(
            parse_url("mqtt://[::1]:1883").unwrap(),
            (false, "::1".into(), 1883)
        );
        for bad in [
            "http://x",
            "mqtt://",
            "mqtt://u:p@host",
            "mqtt://host:0",
            "mqtt://host:x",
            "mqtt://host/path",
        ] {
            assert!(parse_url(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn a_full_queue_drops_its_oldest_event() {
        let mut q = Queue::default();
        let mut dropped = 0;
        for n in 0..5 {
            dropped += q.push(event(n), 3) as u32;
        }
        assert_eq!(dropped, 2);
        let topics: Vec<String> = std::iter::from_fn(|| q.pop()).map(|m| m.topic).collect();
        assert_eq!(topics, ["e/2", "e/3", "e/4"]);
    }

    #[test]
    fn a_retained_message_replaces_the_waiting_one_and_is_never_dropped_for_events() {
        let mut q = Queue::default();
        q.push(Outgoing::retained("s".into(), b"old".to_vec()), 2);
        q.push(event(1), 2);
        q.push(Outgoing::retained("s".into(), b"new".to_vec()), 2);
        assert!(q.push(event(2), 2), "the oldest event makes room");
        let got: Vec<(String, Vec<u8>)> = std::iter::from_fn(|| q.pop())
            .map(|m| (m.topic, m.payload))
            .collect();
        assert_eq!(
            got,
            [("s".into(), b"new".to_vec()), ("e/2".into(), b"2".to_vec())]
        );
    }
}
