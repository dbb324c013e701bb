//! Event fan-out benchmark: starts the real service (simulated cameras only), connects N
//! WebSocket subscribers to the camera topics, plugs and unplugs simulated cameras, and
//! prints how long notifications take to reach every subscriber and how many per second
//! the service delivers. One file of ~600 lines: a benchmark binary read top to bottom.
//!
//! The client is kept lean so that it measures the service, not itself: connections are set
//! up with async code, then one thread reads them all with a level-triggered epoll, one
//! `recvmsg` per ready socket, taking the receipt time as soon as the read returns; no JSON
//! parsing on the hot path (the event's topic, device and timestamp text are found in the
//! frame), receipts handed over under one lock per epoll batch.
//!
//! Latencies:
//! - plug -> read: from the rename of the camera's descriptor into the watched directory to
//!   the return of the read that brought the notification, both on this process's monotonic
//!   clock. It contains inotify, discovery and the hub publish, so it is an upper bound of
//!   publish -> receipt.
//! - plug -> in client socket: the same start (wall clock, read right after the monotonic
//!   one) to the kernel's receive timestamp of the bytes (SO_TIMESTAMPNS): what the service
//!   and the kernel took, without this client's own scheduling delays.
//! - publish -> read (wall): read time on the wall clock minus the event's own `timestamp`
//!   (taken by the service when the event is made, 1 ms resolution, truncated): high by up
//!   to 1 ms.
//! - first -> last read of an event, across all subscribers.
//!
//! Events are published one at a time, each after the previous one reached every subscriber
//! and a pause (`--gap-ms`), after `--warmup` events that are not counted.
//!
//! Usage: bench-events [--subscribers N] [--trials K] [--warmup W] [--gap-ms G] [--burst B]

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cs_tests::TestService;
use domain::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

struct Args {
    subscribers: usize,
    trials: usize,
    warmup: usize,
    gap_ms: u64,
    burst: u16,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        subscribers: 1000,
        trials: 60,
        warmup: 6,
        gap_ms: 50,
        burst: 100,
    };
    let usage =
        "usage: bench-events [--subscribers N] [--trials K] [--warmup W] [--gap-ms G] [--burst B]";
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let bad = |e: std::num::ParseIntError| format!("{flag}: {e}");
        match flag.as_str() {
            "--subscribers" => a.subscribers = value()?.parse().map_err(bad)?,
            "--trials" => a.trials = value()?.parse().map_err(bad)?,
            "--warmup" => a.warmup = value()?.parse().map_err(bad)?,
            "--gap-ms" => a.gap_ms = value()?.parse().map_err(bad)?,
            "--burst" => a.burst = value()?.parse().map_err(bad)?,
            "-h" | "--help" => return Err(usage.into()),
            other => return Err(format!("unknown argument {other}\n{usage}")),
        }
    }
    // Beyond the service's per-subscriber buffer (events.subscriber_buffer, 256) a burst
    // loses its oldest events by design, and the count would never complete.
    if a.burst == 0 || a.burst > 200 {
        return Err("--burst must be 1..=200".into());
    }
    Ok(a)
}

/// `camera.connected` of camera N is key 2N, `camera.disconnected` 2N + 1.
fn key(connected: bool, index: u16) -> u32 {
    index as u32 * 2 + u32::from(!connected)
}

/// The key of a notification, from its text.
fn key_of(text: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(text).ok()?;
    let connected = if text.contains(r#""topic":"camera.connected""#) {
        true
    } else if text.contains(r#""topic":"camera.disconnected""#) {
        false
    } else {
        return None;
    };
    let at = text.find(r#""device":"camera"#)? + r#""device":"camera"#.len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some(key(connected, digits.parse().ok()?))
}

/// The event's `timestamp` text, copied (parsed later, once per event).
fn stamp_of(text: &[u8]) -> [u8; 24] {
    let mut out = [0u8; 24];
    let tag = br#""timestamp":""#;
    if let Some(at) = text.windows(tag.len()).position(|w| w == tag) {
        let start = at + tag.len();
        if let Some(src) = text.get(start..start + 24) {
            out.copy_from_slice(src);
        }
    }
    out
}

/// Unix milliseconds of a `timestamp` text.
fn parse_stamp(stamp: &[u8; 24]) -> Option<i64> {
    let text = std::str::from_utf8(stamp).ok()?;
    domain::Timestamp::parse_rfc3339(text).map(|t| t.unix_millis())
}

/// One notification read.
struct Receipt {
    key: u32,
    /// When the read returned.
    at: Instant,
    /// When the kernel queued the bytes on the socket (wall clock, ms).
    kernel_ms: f64,
    /// The event's `timestamp` text (`2025-01-15T14:30:00.000Z`).
    stamp: [u8; 24],
}

/// What every connection task reports into.
#[derive(Default)]
struct Receipts {
    got: Vec<Receipt>,
    /// Receipts of `want_key` so far, and how many make the event complete.
    want_key: Option<u32>,
    want_count: usize,
    seen: usize,
}

/// The first complete server frame (unmasked) in `buf`: its opcode, payload and end.
fn next_frame(buf: &[u8]) -> Option<(u8, &[u8], usize)> {
    if buf.len() < 2 {
        return None;
    }
    let (len, header) = match buf[1] & 0x7F {
        126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4),
        127 if buf.len() >= 10 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[2..10]);
            (u64::from_be_bytes(b) as usize, 10)
        }
        126 | 127 => return None,
        n => (n as usize, 2),
    };
    let end = header + len;
    (buf.len() >= end).then(|| (buf[0] & 0x0F, &buf[header..end], end))
}

/// Every complete frame in `buf`; returns the bytes used.
fn frames(buf: &[u8], mut each: impl FnMut(u8, &[u8])) -> usize {
    let mut at = 0;
    while let Some((op, payload, end)) = next_frame(&buf[at..]) {
        each(op, payload);
        at += end;
    }
    at
}

/// One masked client text frame.
fn client_frame(payload: &[u8]) -> Vec<u8> {
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut out = vec![0x81];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

/// Opens a WebSocket with `token` and subscribes to `camera.*`; returns the socket and any
/// bytes read past the subscription's answer.
async fn subscriber(addr: std::net::SocketAddr, token: &str) -> (TcpStream, Vec<u8>) {
    let mut io = TcpStream::connect(addr).await.expect("TCP connects");
    io.set_nodelay(true).expect("TCP_NODELAY");
    let upgrade = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Authorization: Bearer {token}\r\n\r\n"
    );
    io.write_all(upgrade.as_bytes())
        .await
        .expect("upgrade sent");
    let mut buf = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let n = io.read(&mut chunk).await.expect("upgrade answer");
        assert!(n > 0, "the service closed during the upgrade");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    assert!(
        buf.starts_with(b"HTTP/1.1 101"),
        "upgrade refused: {}",
        String::from_utf8_lossy(&buf[..head_end])
    );
    buf.drain(..head_end);
    let req =
        br#"{"jsonrpc":"2.0","id":1,"method":"subscribe_events","params":{"topics":["camera.*"]}}"#;
    io.write_all(&client_frame(req))
        .await
        .expect("subscribe sent");
    loop {
        // Only the answer can come first: no camera is plugged before every subscriber is in.
        if let Some((_, answer, end)) = next_frame(&buf) {
            let text = String::from_utf8_lossy(answer);
            assert!(text.contains(r#""result":"#), "subscribe failed: {text}");
            buf.drain(..end);
            return (io, buf);
        }
        let mut chunk = [0u8; 4096];
        let n = io.read(&mut chunk).await.expect("subscribe answer");
        assert!(n > 0, "the service closed before answering subscribe");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Receipts, and the signal that the awaited count came.
#[derive(Default)]
struct Shared {
    receipts: Mutex<Receipts>,
    done: Notify,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Receipts> {
        self.receipts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Reads every connection's notifications on this thread until all are closed: one
/// level-triggered epoll, one `recvmsg` per ready socket (no read that only finds the socket
/// empty). Each notification is reported with two times: when the read returned
/// (monotonic), and when the kernel queued its bytes on the socket (SO_TIMESTAMPNS, wall
/// clock), which this client's own scheduling cannot delay.
fn read_all(conns: Vec<(std::net::TcpStream, Vec<u8>)>, shared: Arc<Shared>) {
    use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
    use nix::sys::socket::{recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags};
    use std::os::fd::AsRawFd;

    let epoll = Epoll::new(EpollCreateFlags::empty()).expect("epoll");
    for (i, (io, _)) in conns.iter().enumerate() {
        setsockopt(io, sockopt::ReceiveTimestampns, &true).expect("SO_TIMESTAMPNS");
        epoll
            .add(io, EpollEvent::new(EpollFlags::EPOLLIN, i as u64))
            .expect("epoll add");
    }
    let (socks, mut bufs): (Vec<std::net::TcpStream>, Vec<Vec<u8>>) = conns.into_iter().unzip();
    let mut open = socks.len();
    let mut events = vec![EpollEvent::empty(); 1024];
    let mut chunk = vec![0u8; 16 * 1024];
    let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
    let mut batch: Vec<Receipt> = Vec::new();
    while open > 0 {
        let ready = match epoll.wait(&mut events, EpollTimeout::NONE) {
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => panic!("epoll_wait: {e}"),
        };
        for ev in &events[..ready] {
            let i = ev.data() as usize;
            let io = &socks[i];
            let mut iov = [std::io::IoSliceMut::new(&mut chunk)];
            let msg = recvmsg::<()>(
                io.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::MSG_DONTWAIT,
            );
            let at = Instant::now();
            let (n, kernel_ms) = match msg {
                Ok(msg) => {
                    let mut kernel_ms = f64::NAN;
                    if let Ok(cmsgs) = msg.cmsgs() {
                        for c in cmsgs {
                            if let ControlMessageOwned::ScmTimestampns(ts) = c {
                                kernel_ms = ts.tv_sec() as f64 * 1000.0 + ts.tv_nsec() as f64 / 1e6;
                            }
                        }
                    }
                    (msg.bytes, kernel_ms)
                }
                Err(nix::errno::Errno::EAGAIN) => continue,
                Err(_) => (0, f64::NAN),
            };
            if n == 0 {
                let _ = epoll.delete(io);
                open -= 1;
                continue;
            }
            let buf = &mut bufs[i];
            buf.extend_from_slice(&chunk[..n]);
            let used = frames(buf, |op, payload| {
                if op != 0x1 {
                    return;
                }
                if let Some(key) = key_of(payload) {
                    let stamp = stamp_of(payload);
                    batch.push(Receipt {
                        key,
                        at,
                        kernel_ms,
                        stamp,
                    });
                }
            });
            buf.drain(..used);
        }
        if batch.is_empty() {
            continue;
        }
        let mut r = shared.lock();
        for g in batch.drain(..) {
            if r.want_key.is_none_or(|w| w == g.key) {
                r.seen += 1;
                if r.seen == r.want_count {
                    shared.done.notify_one();
                }
            }
            r.got.push(g);
        }
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn summary(name: &str, mut samples: Vec<f64>) {
    samples.sort_by(f64::total_cmp);
    println!(
        "{name:<30} n={:<7} p50={:>7.2} ms  p99={:>7.2} ms  max={:>7.2} ms",
        samples.len(),
        percentile(&samples, 0.50),
        percentile(&samples, 0.99),
        samples.last().copied().unwrap_or(f64::NAN)
    );
}

/// CPU seconds (user + system) a process has used, from /proc (clock ticks of 10 ms).
fn cpu_secs(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) as f64 / 100.0
}

/// Microseconds some runnable task has waited for a CPU since boot (/proc/pressure/cpu).
fn cpu_pressure_us() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/pressure/cpu").ok()?;
    let some = text.lines().find(|l| l.starts_with("some "))?;
    some.split_whitespace()
        .find_map(|f| f.strip_prefix("total="))?
        .parse()
        .ok()
}

fn now_wall_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

fn loadavg() -> String {
    let mut s = String::new();
    let _ = std::fs::File::open("/proc/loadavg").and_then(|mut f| f.read_to_string(&mut s));
    s.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// Waits until `count` receipts of `key` (or of anything, with `None`) have come.
async fn wait_for(shared: &Shared, key: Option<u32>, count: usize) {
    {
        let mut r = shared.lock();
        r.want_key = key;
        r.want_count = count;
        r.seen = r
            .got
            .iter()
            .filter(|g| key.is_none_or(|w| w == g.key))
            .count();
        if r.seen >= count {
            return;
        }
    }
    if tokio::time::timeout(Duration::from_secs(60), shared.done.notified())
        .await
        .is_err()
    {
        eprintln!(
            "timed out: {} of {count} notifications came",
            shared.lock().seen
        );
        std::process::exit(1);
    }
}

fn main() {
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(run(args));
}

async fn run(args: Args) {
    println!("load average at start: {}", loadavg());
    let svc = TestService::builder()
        .config("camera: {simulated: []}\nauth: {rate_per_second: 1000, rate_burst: 1000}")
        .start();
    let pid = svc.pid().to_string();
    println!(
        "service pid {pid} on {}; {} subscribers to camera.*; client: one epoll thread reads them all",
        svc.addr, args.subscribers
    );
    let shared = Arc::new(Shared::default());
    let token = svc.token(Role::Viewer, 3600);
    let setup = Instant::now();
    let mut conns = Vec::with_capacity(args.subscribers);
    for _ in 0..args.subscribers {
        let (io, rest) = subscriber(svc.addr, &token).await;
        conns.push((io.into_std().expect("a std socket"), rest));
    }
    let reader = std::thread::spawn({
        let shared = Arc::clone(&shared);
        move || read_all(conns, shared)
    });
    println!(
        "connected and subscribed in {:.2} s",
        setup.elapsed().as_secs_f64()
    );

    // The wall clock at one instant of the monotonic one, to place reads on it.
    let (mono0, wall0_ms) = (Instant::now(), now_wall_ms());
    let wall_ms = |t: Instant| wall0_ms + t.duration_since(mono0).as_secs_f64() * 1000.0;

    // Latency: one event at a time, each fanned out to every subscriber, then a pause.
    let n = args.subscribers;
    let mut plug_to_read = Vec::new();
    let mut plug_to_socket = Vec::new();
    let mut publish_to_read = Vec::new();
    let mut spread = Vec::new();
    // (trial, connected?, camera, plug -> last read ms, plug -> last in socket ms)
    let mut per_event: Vec<(usize, bool, u16, f64, f64)> = Vec::new();
    let cpu_svc = cpu_secs(&pid);
    let cpu_me = cpu_secs("self");
    let pressure = cpu_pressure_us();
    let phase = Instant::now();
    for trial in 0..args.warmup + args.trials {
        tokio::time::sleep(Duration::from_millis(args.gap_ms)).await;
        let index = 10 + (trial / 2) as u16 % 90;
        let connected = trial % 2 == 0;
        let k = key(connected, index);
        shared.lock().got.clear();
        let t0 = Instant::now();
        let t0_wall = now_wall_ms();
        if connected {
            svc.plug_sim(index, "Bench");
        } else {
            svc.unplug_sim(index);
        }
        wait_for(&shared, Some(k), n).await;
        if trial < args.warmup {
            continue;
        }
        let r = shared.lock();
        let mine: Vec<&Receipt> = r.got.iter().filter(|g| g.key == k).collect();
        let stamp = mine.first().and_then(|g| parse_stamp(&g.stamp));
        for g in &mine {
            plug_to_read.push(g.at.duration_since(t0).as_secs_f64() * 1000.0);
            plug_to_socket.push(g.kernel_ms - t0_wall);
            if let Some(ts) = stamp {
                publish_to_read.push(wall_ms(g.at) - ts as f64);
            }
        }
        if let (Some(first), Some(last)) = (
            mine.iter().map(|g| g.at).min(),
            mine.iter().map(|g| g.at).max(),
        ) {
            spread.push(last.duration_since(first).as_secs_f64() * 1000.0);
            let in_socket = mine
                .iter()
                .map(|g| g.kernel_ms - t0_wall)
                .fold(f64::NAN, f64::max);
            per_event.push((
                trial,
                connected,
                index,
                last.duration_since(t0).as_secs_f64() * 1000.0,
                in_socket,
            ));
        }
    }
    let secs = phase.elapsed().as_secs_f64();
    let waited = match (pressure, cpu_pressure_us()) {
        (Some(a), Some(b)) => format!("{:.0} %", (b - a) as f64 / 1e6 / secs * 100.0),
        _ => "n/a".into(),
    };
    println!(
        "{} events ({} warm-up not counted), one at a time with {} ms pauses: {:.1} events/s",
        args.trials,
        args.warmup,
        args.gap_ms,
        (args.warmup + args.trials) as f64 / secs
    );
    summary("plug -> read (upper bound)", plug_to_read);
    summary("plug -> in client socket", plug_to_socket);
    summary("publish -> read (wall, +<1)", publish_to_read);
    summary("first -> last read of an event", spread);
    per_event.sort_by(|a, b| b.3.total_cmp(&a.3));
    let slowest: Vec<String> = per_event
        .iter()
        .take(3)
        .map(|(trial, connected, cam, read, socket)| {
            let what = if *connected { "plug" } else { "unplug" };
            format!("#{trial} {what} camera{cam}: last read {read:.1} ms, last in socket {socket:.1} ms")
        })
        .collect();
    println!("slowest events: {}", slowest.join("; "));
    println!(
        "share of the time some task on this machine waited for a CPU (PSI) during the phase: {waited}"
    );
    println!(
        "CPU per notification: service {:.1} us, this client {:.1} us",
        (cpu_secs(&pid) - cpu_svc) * 1e6 / ((args.warmup + args.trials) * n) as f64,
        (cpu_secs("self") - cpu_me) * 1e6 / ((args.warmup + args.trials) * n) as f64,
    );
    if (args.warmup + args.trials) % 2 == 1 {
        let last = args.warmup + args.trials - 1;
        svc.unplug_sim(10 + (last / 2) as u16 % 90);
        wait_for(&shared, Some(key(false, 10 + (last / 2) as u16 % 90)), n).await;
    }

    // Throughput: a burst of plugs as fast as the files can be renamed, every event to every
    // subscriber.
    tokio::time::sleep(Duration::from_millis(200)).await;
    shared.lock().got.clear();
    let cpu_before = cpu_secs(&pid);
    let t0 = Instant::now();
    for i in 0..args.burst {
        svc.plug_sim(400 + i, "Burst");
    }
    wait_for(&shared, None, args.burst as usize * n).await;
    let r = shared.lock();
    let last = r.got.iter().map(|g| g.at).max().unwrap_or(t0);
    let secs = last.duration_since(t0).as_secs_f64();
    let delivered = r.got.len() as f64;
    let cpu = cpu_secs(&pid) - cpu_before;
    println!(
        "burst of {} events to {} subscribers: {:.3} s, {:.0} events/s, {:.0} notifications/s; service CPU {:.3} s ({:.1} us per notification)",
        args.burst,
        n,
        secs,
        args.burst as f64 / secs,
        delivered / secs,
        cpu,
        cpu * 1e6 / delivered
    );
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    if let Some(rss) = status.lines().find(|l| l.starts_with("VmRSS:")) {
        println!(
            "service {}",
            rss.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
    drop(r);
    println!("load average at end: {}", loadavg());
    let _ = std::io::stdout().flush();
    drop(svc);
    let _ = reader.join();
}
