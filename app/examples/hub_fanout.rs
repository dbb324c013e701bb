//! The event hub alone: N subscriptions, each read by its own task on the multi-threaded
//! runtime, as the transport reads them. Prints publish → `next()` latency and throughput,
//! without WebSocket or JSON encoding on the way (scripts/bench-events.sh runs the end-to-end
//! figure first).
//!
//! Usage: hub_fanout [SUBSCRIBERS] [EVENTS]

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::events::EventHub;
use config::EventsConfig;
use domain::events::{Event, EventFilter, Topic, TopicSet};
use domain::CameraId;
use ports::clock::Clock;
use ports::events::EventPublisher;

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// The unsigned integer member `name` of a flat JSON object.
fn field_u64(json: &str, name: &str) -> Option<u64> {
    let at = json.find(&format!("\"{name}\":"))? + name.len() + 3;
    let digits: String = json[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[tokio::main]
async fn main() {
    let mut argv = std::env::args().skip(1);
    let subscribers: usize = argv.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let events: u64 = argv.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let clock: Arc<dyn Clock> = Arc::new(cs_sys::SystemClock::new());
    let hub = EventHub::new(&EventsConfig::default(), Arc::clone(&clock));
    let base = Instant::now();
    let topics: TopicSet = [Topic::CameraStatusChange].into_iter().collect();

    let mut readers = Vec::new();
    for _ in 0..subscribers {
        let mut sub = hub.subscribe(topics, EventFilter::default());
        readers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut received = 0u64;
            while let Ok(n) = sub.next().await {
                let now = base.elapsed().as_nanos() as u64;
                received += 1;
                // The shared JSON text, read without parsing it (as the transport does).
                let json = &*n.event;
                if json.contains(r#""phase":"latency""#) {
                    let sent = field_u64(json, "t_ns").unwrap_or(now);
                    latencies.push(now.saturating_sub(sent) as f64 / 1e6);
                }
                if json.contains(r#""last":true"#) {
                    break;
                }
            }
            (latencies, received)
        }));
    }
    let event = |phase: &str, last: bool| {
        Event::new(Topic::CameraStatusChange, clock.now(), CameraId::new(0))
            .with("status", "CONNECTED")
            .with("name", "Bench")
            .with("resolution", "1280x720")
            .with("fps", 30)
            .with("phase", phase)
            .with("last", last)
            .with("t_ns", base.elapsed().as_nanos() as u64)
    };

    // Latency: one event at a time, spaced so each fan-out is done before the next.
    for _ in 0..events {
        hub.publish(event("latency", false));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Throughput: a burst, as fast as the publisher goes; slow readers may drop (counted).
    let burst = 10_000u64;
    let before = hub.counts();
    let t0 = Instant::now();
    for i in 0..burst {
        hub.publish(event("burst", i + 1 == burst));
    }
    let publish_secs = t0.elapsed().as_secs_f64();
    let mut latencies = Vec::new();
    for r in readers {
        let (l, _) = r.await.expect("reader task");
        latencies.extend(l);
    }
    let drain_secs = t0.elapsed().as_secs_f64();
    let after = hub.counts();
    latencies.sort_by(f64::total_cmp);
    println!(
        "hub: {subscribers} subscribers, {events} events: publish -> next() p50={:.3} ms p99={:.3} ms max={:.3} ms",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    let delivered = after.delivered - before.delivered;
    println!(
        "hub: burst of {burst} events: published at {:.0} events/s; {} notifications read in {:.3} s ({:.0}/s), {} dropped",
        burst as f64 / publish_secs,
        delivered,
        drain_secs,
        delivered as f64 / drain_secs,
        after.dropped - before.dropped
    );
}
