//! The event hub: domain events in (`ports::events::EventPublisher`), per-subscriber
//! notification streams out (`ports::api::EventStream`).
//!
//! - Topic-indexed: a publish touches only the subscribers of the event's topic.
//! - An event becomes JSON text once per publish; subscribers share it through an `Arc<str>`
//!   (the transport splices it into each subscriber's frame, adding `dropped` when needed).
//! - Publishes are serialised, so every subscriber sees events in the same order.
//! - Each subscriber has a bounded queue. When it is full the oldest event goes, and the
//!   next event the subscriber reads carries `dropped` (how many it lost). Publishing never
//!   waits: it takes each queue's lock for a push and wakes the reader's waker (the
//!   connection's own task: there is no task per subscription).
//! - A subscriber that has events waiting and reads none for `stuck_disconnect_secs` is
//!   ended: its stream returns `StreamEnd::Stuck` (the transport then closes the
//!   connection) and it leaves every topic.
//! - Dropping a `Subscription` unsubscribes it.
//! - `close` (the service stops) ends every subscription after the events already queued:
//!   a subscriber reads them all, then `StreamEnd::Closed`.
//!
//! Past 600 lines only by its tests (the hub is ~390 lines).

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::task::{Context, Poll, Waker};

use config::EventsConfig;
use domain::events::{Event, EventFilter, Topic, TopicSet};
use ports::api::{EventStream, Notification, StreamEnd};
use ports::clock::Clock;
use ports::events::EventPublisher;

/// Figures for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventCounts {
    /// Events handed to the hub.
    pub published: u64,
    /// Notifications read by subscribers.
    pub delivered: u64,
    /// Events a subscriber lost: pushed out of a full queue, or discarded when it was ended.
    pub dropped: u64,
    /// Live subscriptions.
    pub subscribers: u64,
    /// Subscriptions ended because they stayed stuck.
    pub stuck_disconnects: u64,
    /// Client connections closed because one of their subscriptions stayed stuck.
    pub slow_clients_closed: u64,
}

/// Fans events out to subscriptions. Cheap to clone (one shared hub).
#[derive(Clone)]
pub struct EventHub {
    inner: Arc<Hub>,
}

struct Hub {
    by_topic: [RwLock<Vec<Arc<Subscriber>>>; Topic::ALL.len()],
    /// Held for the whole fan-out of one event: one order for every subscriber.
    publishing: Mutex<()>,
    clock: Arc<dyn Clock>,
    capacity: usize,
    stuck_after_ms: u64,
    next_id: AtomicU64,
    closed: AtomicBool,
    published: AtomicU64,
    delivered: AtomicU64,
    dropped: AtomicU64,
    subscribers: AtomicU64,
    stuck_disconnects: AtomicU64,
    slow_clients_closed: AtomicU64,
}

/// One publish, shared by every subscriber that gets it.
#[derive(Clone)]
struct Shared {
    method: &'static str,
    /// The event as JSON text (without `dropped`).
    json: Arc<str>,
}

struct Subscriber {
    id: u64,
    topics: TopicSet,
    filter: EventFilter,
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    events: VecDeque<Shared>,
    /// Events lost since the last one read.
    lost: u64,
    /// Since when events have waited with none read (monotonic ms); `None` when empty.
    waiting_since_ms: Option<u64>,
    ended: Option<StreamEnd>,
    /// The reader waiting for the next event.
    waker: Option<Waker>,
}

enum Pushed {
    Queued,
    /// Queued after pushing the oldest out.
    Evicted,
    /// The subscriber was already ended.
    Skipped,
    /// The subscriber stayed stuck too long and is now ended; it lost this many events.
    EndedStuck(u64),
}

/// The guarded values are plain data that every writer leaves consistent between
/// statements, so a panic elsewhere cannot leave them half-written: poisoning is ignored.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}
fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

impl Subscriber {
    fn push(&self, event: &Shared, now_ms: u64, capacity: usize, stuck_after_ms: u64) -> Pushed {
        let mut q = lock(&self.queue);
        if q.ended.is_some() {
            return Pushed::Skipped;
        }
        if let Some(since) = q.waiting_since_ms {
            if now_ms.saturating_sub(since) >= stuck_after_ms {
                let lost = q.events.len() as u64 + 1;
                q.ended = Some(StreamEnd::Stuck {
                    secs: stuck_after_ms / 1000,
                });
                q.events = VecDeque::new();
                let waker = q.waker.take();
                drop(q);
                if let Some(w) = waker {
                    w.wake();
                }
                return Pushed::EndedStuck(lost);
            }
        }
        let evicted = if q.events.len() >= capacity {
            q.events.pop_front();
            q.lost += 1;
            true
        } else {
            false
        };
        if q.waiting_since_ms.is_none() {
            q.waiting_since_ms = Some(now_ms);
        }
        q.events.push_back(event.clone());
        let waker = q.waker.take();
        drop(q);
        if let Some(w) = waker {
            w.wake();
        }
        if evicted {
            Pushed::Evicted
        } else {
            Pushed::Queued
        }
    }

    fn end(&self, why: StreamEnd) {
        let mut q = lock(&self.queue);
        q.ended.get_or_insert(why);
        let waker = q.waker.take();
        drop(q);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl EventHub {
    pub fn new(config: &EventsConfig, clock: Arc<dyn Clock>) -> EventHub {
        EventHub {
            inner: Arc::new(Hub {
                by_topic: std::array::from_fn(|_| RwLock::new(Vec::new())),
                publishing: Mutex::new(()),
                clock,
                capacity: config.subscriber_buffer.max(1),
                stuck_after_ms: config.stuck_disconnect_secs.saturating_mul(1000),
                next_id: AtomicU64::new(1),
                closed: AtomicBool::new(false),
                published: AtomicU64::new(0),
                delivered: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                subscribers: AtomicU64::new(0),
                stuck_disconnects: AtomicU64::new(0),
                slow_clients_closed: AtomicU64::new(0),
            }),
        }
    }

    /// Starts delivery of `topics` events that pass `filter`. The caller has checked the
    /// subscriber's role. After `close` the subscription ends at once.
    pub fn subscribe(&self, topics: TopicSet, filter: EventFilter) -> Subscription {
        let sub = Arc::new(Subscriber {
            id: self.inner.next_id.fetch_add(1, Ordering::Relaxed),
            topics,
            filter,
            queue: Mutex::new(Queue::default()),
        });
        self.inner.subscribers.fetch_add(1, Ordering::Relaxed);
        for topic in topics.iter() {
            write(&self.inner.by_topic[topic.index()]).push(Arc::clone(&sub));
        }
        // Checked after joining so that a concurrent `close` cannot miss this one.
        if self.inner.closed.load(Ordering::Acquire) {
            sub.end(StreamEnd::Closed);
        }
        Subscription {
            hub: Arc::clone(&self.inner),
            sub,
        }
    }

    /// Ends every subscription (server shutdown); later publishes reach nobody.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        for list in &self.inner.by_topic {
            for sub in write(list).drain(..) {
                sub.end(StreamEnd::Closed);
            }
        }
    }

    /// A client connection was closed because a subscription of it stayed stuck.
    pub fn count_slow_client_closed(&self) {
        self.inner
            .slow_clients_closed
            .fetch_add(1, Ordering::Relaxed);
    }

    pub fn counts(&self) -> EventCounts {
        let h = &self.inner;
        EventCounts {
            published: h.published.load(Ordering::Relaxed),
            delivered: h.delivered.load(Ordering::Relaxed),
            dropped: h.dropped.load(Ordering::Relaxed),
            subscribers: h.subscribers.load(Ordering::Relaxed),
            stuck_disconnects: h.stuck_disconnects.load(Ordering::Relaxed),
            slow_clients_closed: h.slow_clients_closed.load(Ordering::Relaxed),
        }
    }
}

impl Hub {
    fn leave(&self, sub: &Subscriber) {
        for topic in sub.topics.iter() {
            let mut list = write(&self.by_topic[topic.index()]);
            if let Some(at) = list.iter().position(|s| s.id == sub.id) {
                list.swap_remove(at);
            }
        }
    }
}

impl EventPublisher for EventHub {
    fn publish(&self, event: Event) {
        let hub = &*self.inner;
        hub.published.fetch_add(1, Ordering::Relaxed);
        let mut stuck: Vec<Arc<Subscriber>> = Vec::new();
        let _order = lock(&hub.publishing);
        {
            let list = read(&hub.by_topic[event.topic.index()]);
            if list.is_empty() {
                return;
            }
            let shared = Shared {
                method: event.topic.notification_method(),
                json: event.to_json(0).to_string().into(),
            };
            let now_ms = hub.clock.monotonic_ms();
            let mut dropped = 0;
            for sub in list.iter().filter(|s| s.filter.accepts(&event)) {
                match sub.push(&shared, now_ms, hub.capacity, hub.stuck_after_ms) {
                    Pushed::Queued | Pushed::Skipped => {}
                    Pushed::Evicted => dropped += 1,
                    Pushed::EndedStuck(lost) => {
                        dropped += lost;
                        stuck.push(Arc::clone(sub));
                    }
                }
            }
            if dropped > 0 {
                hub.dropped.fetch_add(dropped, Ordering::Relaxed);
            }
        }
        // Write locks only after the read lock above is released.
        for sub in stuck {
            hub.stuck_disconnects.fetch_add(1, Ordering::Relaxed);
            hub.leave(&sub);
        }
    }
}

/// One subscriber's notifications. Dropping it unsubscribes.
pub struct Subscription {
    hub: Arc<Hub>,
    sub: Arc<Subscriber>,
}

impl Subscription {
    /// Unique within the hub.
    pub fn id(&self) -> u64 {
        self.sub.id
    }

    /// The next waiting notification without waiting: `Ok(None)` when none waits, `Err`
    /// when the subscription has ended.
    pub fn try_next(&mut self) -> Result<Option<Notification>, StreamEnd> {
        self.take(None)
    }

    /// The next notification, waiting for it.
    pub async fn next(&mut self) -> Result<Notification, StreamEnd> {
        poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Pops the next event; with `waker`, registers it when none waits.
    fn take(&mut self, waker: Option<&Waker>) -> Result<Option<Notification>, StreamEnd> {
        let mut q = lock(&self.sub.queue);
        // A subscription closed by the service's stop still delivers what was published
        // before the stop; one ended as stuck has nothing left (its queue was dropped).
        if let Some(why) = q.ended {
            if why != StreamEnd::Closed || q.events.is_empty() {
                return Err(why);
            }
        }
        let Some(event) = q.events.pop_front() else {
            if let Some(w) = waker {
                if !q.waker.as_ref().is_some_and(|old| old.will_wake(w)) {
                    q.waker = Some(w.clone());
                }
            }
            return Ok(None);
        };
        let lost = std::mem::take(&mut q.lost);
        q.waiting_since_ms = if q.events.is_empty() {
            None
        } else {
            Some(self.hub.clock.monotonic_ms())
        };
        drop(q);
        self.hub.delivered.fetch_add(1, Ordering::Relaxed);
        Ok(Some(Notification {
            method: event.method,
            event: event.json,
            dropped: lost,
        }))
    }
}

impl EventStream for Subscription {
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Result<Notification, StreamEnd>> {
        match self.take(Some(cx.waker())) {
            Ok(Some(n)) => Poll::Ready(Ok(n)),
            Ok(None) => Poll::Pending,
            Err(why) => Poll::Ready(Err(why)),
        }
    }

    fn poll_end(&mut self, cx: &mut Context<'_>) -> Poll<StreamEnd> {
        let mut q = lock(&self.sub.queue);
        if let Some(why) = q.ended {
            return Poll::Ready(why);
        }
        if !q
            .waker
            .as_ref()
            .is_some_and(|old| old.will_wake(cx.waker()))
        {
            q.waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.leave(&self.sub);
        self.hub.subscribers.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::camera::CameraId;
    use domain::Timestamp;
    use serde_json::{json, Value};

    #[derive(Default)]
    struct FakeClock {
        ms: AtomicU64,
    }

    impl FakeClock {
        fn advance_secs(&self, secs: u64) {
            self.ms.fetch_add(secs * 1000, Ordering::SeqCst);
        }
    }

    impl Clock for FakeClock {
        fn now(&self) -> Timestamp {
            Timestamp::from_unix_millis(1_736_951_400_000 + self.ms.load(Ordering::SeqCst) as i64)
        }
        fn monotonic_ms(&self) -> u64 {
            self.ms.load(Ordering::SeqCst)
        }
    }

    fn hub_with(buffer: usize, stuck_secs: u64) -> (EventHub, Arc<FakeClock>) {
        let clock = Arc::new(FakeClock::default());
        let config = EventsConfig {
            subscriber_buffer: buffer,
            stuck_disconnect_secs: stuck_secs,
        };
        (EventHub::new(&config, clock.clone()), clock)
    }

    fn topics(list: &[Topic]) -> TopicSet {
        list.iter().copied().collect()
    }

    fn camera(n: u16) -> Option<CameraId> {
        CameraId::new(n)
    }

    fn plugged(n: u16) -> Event {
        Event::new(Topic::CameraConnected, Timestamp::UNIX_EPOCH, camera(n))
            .with("status", "CONNECTED")
            .with("name", "Test Cam")
            .with("resolution", "1280x720")
            .with("fps", 30.0)
    }

    fn seq(topic: Topic, i: u64) -> Event {
        Event::new(topic, Timestamp::UNIX_EPOCH, camera(0)).with("seq", i)
    }

    fn drain(sub: &mut Subscription) -> Vec<Value> {
        std::iter::from_fn(|| sub.try_next().expect("subscription is live"))
            .map(|n| n.result())
            .collect()
    }

    #[tokio::test]
    async fn a_subscriber_gets_the_notification_method_and_payload_of_its_topic() {
        let (hub, _) = hub_with(16, 60);
        let mut sub = hub.subscribe(topics(&[Topic::CameraConnected]), EventFilter::default());

        hub.publish(plugged(1));

        let n = sub.next().await.expect("subscription is live");
        assert_eq!(n.dropped, 0);
        assert_eq!(n.method, "camera_status_update");
        assert_eq!(
            n.result(),
            json!({"topic": "camera.connected", "timestamp": "1970-01-01T00:00:00.000Z",
                   "device": "camera1", "status": "CONNECTED", "name": "Test Cam",
                   "resolution": "1280x720", "fps": 30.0})
        );
    }

    #[tokio::test]
    async fn events_of_other_topics_are_not_delivered() {
        let (hub, _) = hub_with(16, 60);
        let mut cams = hub.subscribe(topics(&[Topic::CameraConnected]), EventFilter::default());
        let mut recs = hub.subscribe(
            topics(&[Topic::RecordingStart, Topic::RecordingStop]),
            EventFilter::default(),
        );

        hub.publish(plugged(0));
        hub.publish(seq(Topic::RecordingStop, 7));

        assert_eq!(drain(&mut cams).len(), 1);
        let got = drain(&mut recs);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["topic"], "recording.stop");
    }

    #[tokio::test]
    async fn a_device_filter_passes_only_that_camera_and_system_events() {
        let (hub, _) = hub_with(16, 60);
        let filter = EventFilter { device: camera(1) };
        let mut sub = hub.subscribe(
            topics(&[Topic::CameraConnected, Topic::SystemHealth]),
            filter,
        );

        hub.publish(plugged(0));
        hub.publish(plugged(1));
        hub.publish(
            Event::new(Topic::SystemHealth, Timestamp::UNIX_EPOCH, None).with("status", "DEGRADED"),
        );

        let got = drain(&mut sub);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0]["device"], "camera1");
        assert_eq!(got[1]["topic"], "system.health");
    }

    #[tokio::test]
    async fn next_waits_for_the_next_publish() {
        let (hub, _) = hub_with(16, 60);
        let mut sub = hub.subscribe(topics(&[Topic::CameraConnected]), EventFilter::default());
        let reader =
            tokio::spawn(
                async move { sub.next().await.ok().map(|n| n.result()["device"].clone()) },
            );
        tokio::task::yield_now().await;

        hub.publish(plugged(3));

        assert_eq!(
            reader.await.expect("reader task ran"),
            Some(json!("camera3"))
        );
    }

    #[tokio::test]
    async fn a_slow_reader_loses_its_oldest_events_and_is_told_how_many() {
        let (hub, _) = hub_with(4, 60);
        let mut sub = hub.subscribe(topics(&[Topic::RecordingStart]), EventFilter::default());

        for i in 0..10 {
            hub.publish(seq(Topic::RecordingStart, i));
        }

        let got = drain(&mut sub);
        let seqs: Vec<u64> = got
            .iter()
            .map(|v| v["seq"].as_u64().expect("seq set"))
            .collect();
        assert_eq!(seqs, vec![6, 7, 8, 9]);
        assert_eq!(got[0]["dropped"], 6);
        assert!(got[1..].iter().all(|v| v.get("dropped").is_none()));
        assert_eq!(hub.counts().dropped, 6);
    }

    #[tokio::test]
    async fn a_reader_that_never_reads_does_not_hold_back_the_others() {
        let (hub, _) = hub_with(8, 60);
        let _stalled = hub.subscribe(topics(&[Topic::CameraStatusChange]), EventFilter::default());
        let mut readers: Vec<Subscription> = (0..100)
            .map(|_| hub.subscribe(topics(&[Topic::CameraStatusChange]), EventFilter::default()))
            .collect();

        for i in 0..50 {
            hub.publish(seq(Topic::CameraStatusChange, i));
            for r in &mut readers {
                let n = r
                    .try_next()
                    .expect("live")
                    .expect("the event was queued at publish");
                assert_eq!(n.result()["seq"], i);
            }
        }
        // The stalled one kept its newest 8 and lost 42.
        assert_eq!(hub.counts().dropped, 42);
        assert_eq!(hub.counts().delivered, 100 * 50);
    }

    #[tokio::test]
    async fn a_subscriber_stuck_past_the_limit_is_ended() {
        let (hub, clock) = hub_with(4, 60);
        let mut stuck = hub.subscribe(
            topics(&[Topic::CameraConnected, Topic::SystemHealth]),
            EventFilter::default(),
        );

        hub.publish(plugged(0));
        clock.advance_secs(59);
        hub.publish(plugged(0));
        assert!(stuck.try_next().is_ok(), "not yet past the limit");
        // It read one event at 59 s: one still waits, from 59 s on.
        clock.advance_secs(60);
        hub.publish(plugged(0));

        assert_eq!(stuck.next().await, Err(StreamEnd::Stuck { secs: 60 }));
        assert_eq!(hub.counts().stuck_disconnects, 1);
        // It left every topic, not only the one whose publish found it stuck.
        assert!(read(&hub.inner.by_topic[Topic::SystemHealth.index()]).is_empty());
    }

    #[tokio::test]
    async fn a_subscriber_that_keeps_reading_is_never_ended() {
        let (hub, clock) = hub_with(4, 60);
        let mut sub = hub.subscribe(topics(&[Topic::CameraConnected]), EventFilter::default());

        for _ in 0..10 {
            hub.publish(plugged(0));
            clock.advance_secs(50);
            assert!(sub.next().await.is_ok());
        }
        hub.publish(plugged(0));
        assert!(sub.next().await.is_ok());
        assert_eq!(hub.counts().stuck_disconnects, 0);
    }

    #[tokio::test]
    async fn an_idle_subscriber_with_nothing_waiting_is_not_stuck() {
        let (hub, clock) = hub_with(4, 60);
        let mut sub = hub.subscribe(topics(&[Topic::CameraConnected]), EventFilter::default());

        clock.advance_secs(3600);
        hub.publish(plugged(0));

        assert!(sub.next().await.is_ok());
    }

    #[tokio::test]
    async fn dropping_a_subscription_unsubscribes_it() {
        let (hub, _) = hub_with(4, 60);
        let sub = hub.subscribe(
            topics(&[Topic::CameraConnected, Topic::RecordingStop]),
            EventFilter::default(),
        );
        assert_eq!(hub.counts().subscribers, 1);

        drop(sub);

        assert_eq!(hub.counts().subscribers, 0);
        assert!(hub.inner.by_topic.iter().all(|l| read(l).is_empty()));
    }

    #[tokio::test]
    async fn closing_the_hub_ends_every_subscription_after_the_events_it_already_had() {
        let (hub, _) = hub_with(4, 60);
        let mut before = hub.subscribe(topics(&[Topic::CameraConnected]), EventFilter::default());
        hub.publish(plugged(0));
        hub.publish(plugged(1));

        hub.close();
        hub.publish(plugged(2));
        let mut after = hub.subscribe(topics(&[Topic::CameraConnected]), EventFilter::default());

        let first = before.next().await.expect("published before the close");
        assert_eq!(first.result()["device"], "camera0");
        let second = before.next().await.expect("published before the close");
        assert_eq!(second.result()["device"], "camera1");
        assert_eq!(before.next().await, Err(StreamEnd::Closed));
        assert_eq!(after.next().await, Err(StreamEnd::Closed));
    }

    #[tokio::test]
    async fn counters_follow_publishes_and_reads() {
        let (hub, _) = hub_with(16, 60);
        let mut a = hub.subscribe(topics(&[Topic::SnapshotTaken]), EventFilter::default());
        let mut b = hub.subscribe(topics(&[Topic::SnapshotTaken]), EventFilter::default());

        hub.publish(seq(Topic::SnapshotTaken, 1));
        hub.publish(seq(Topic::SystemHealth, 2));
        drain(&mut a);

        let c = hub.counts();
        assert_eq!(
            (c.published, c.delivered, c.dropped, c.subscribers),
            (2, 1, 0, 2)
        );
        drain(&mut b);
        assert_eq!(hub.counts().delivered, 2);
    }

    #[tokio::test]
    async fn every_subscriber_shares_one_serialised_event() {
        let (hub, _) = hub_with(16, 60);
        let subs: Vec<Subscription> = (0..3)
            .map(|_| hub.subscribe(topics(&[Topic::CameraConnected]), EventFilter::default()))
            .collect();

        hub.publish(plugged(0));

        let first = Arc::clone(&lock(&subs[0].sub.queue).events[0].json);
        for s in &subs[1..] {
            assert!(Arc::ptr_eq(&first, &lock(&s.sub.queue).events[0].json));
        }
    }

    #[test]
    fn publishing_from_many_threads_delivers_every_event_in_each_publishers_order() {
        let (hub, _) = hub_with(65_536, 60);
        let mut sub = hub.subscribe(topics(&[Topic::CameraStatusChange]), EventFilter::default());
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let hub = hub.clone();
                std::thread::spawn(move || {
                    for i in 0..1000 {
                        hub.publish(seq(Topic::CameraStatusChange, t * 10_000 + i));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("publisher thread finished");
        }

        let got: Vec<u64> = drain(&mut sub)
            .iter()
            .map(|v| v["seq"].as_u64().expect("seq set"))
            .collect();
        assert_eq!(got.len(), 4000);
        for t in 0..4u64 {
            let mine: Vec<u64> = got.iter().copied().filter(|s| s / 10_000 == t).collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]));
        }
    }

    #[test]
    fn concurrent_publishers_reach_every_subscriber_in_the_same_order() {
        let (hub, _) = hub_with(65_536, 60);
        let mut subs: Vec<Subscription> = (0..8)
            .map(|_| hub.subscribe(topics(&[Topic::CameraStatusChange]), EventFilter::default()))
            .collect();
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let hub = hub.clone();
                std::thread::spawn(move || {
                    for i in 0..500 {
                        hub.publish(seq(Topic::CameraStatusChange, t * 10_000 + i));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("publisher thread finished");
        }

        let orders: Vec<Vec<Value>> = subs
            .iter_mut()
            .map(|s| drain(s).into_iter().map(|v| v["seq"].clone()).collect())
            .collect();
        assert_eq!(orders[0].len(), 2000);
        assert!(orders.iter().all(|o| *o == orders[0]));
    }

    #[test]
    fn dropped_is_spliced_into_the_shared_json() {
        let n = Notification {
            method: "m",
            event: Arc::from(r#"{"topic":"camera.connected"}"#),
            dropped: 3,
        };
        assert_eq!(
            n.result(),
            json!({"topic": "camera.connected", "dropped": 3})
        );
        let empty = Notification {
            method: "m",
            event: Arc::from("{}"),
            dropped: 2,
        };
        assert_eq!(empty.result(), json!({"dropped": 2}));
    }
}
