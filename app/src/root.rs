//! The composition root: builds every adapter from the configuration and wires them to the
//! use cases. The only place in `app` that names concrete adapters.
//!
//! One file of ~670 lines on purpose: it is the only module of `app` allowed to name concrete
//! adapters (`tests/tests/layering.rs`), so all the wiring, `DoctorHost` included, stays here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use config::Config;
use ports::camera::{CameraDiscovery, DiscoverySink};
use ports::clock::Clock;
use ports::events::EventPublisher;
use slog::{info, o};
use tokio::task::JoinHandle;

use crate::cameras::CameraRegistry;
use crate::core::{Core, CoreParts, Gateway};
use crate::events::EventHub;
use crate::files::{configured_policy, Files, FilesParts};
use crate::health::{self, ComponentStatus, Health};
use crate::logging::{self, Logs};
use crate::media::{Media, MediaParts};
use crate::metrics::Metrics;
use crate::mqtt::MqttBridge;
use crate::reload::{ReloadParts, ReloadReport, Reloader, SwappableKeys, SwappableTokens};
use crate::streams::{Streams, StreamsParts};

/// Why the service could not start. The text says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Logs(String),
    #[error("JWT secret: {0}")]
    Secret(std::io::Error),
    #[error("API key store {path}: {source}")]
    Keys {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("storage {path}: {source}")]
    Storage {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("media: {0}")]
    Media(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("mqtt: {0}")]
    Mqtt(String),
}

/// A running service.
pub struct Running {
    pub addr: SocketAddr,
    pub core: Arc<Core>,
    server: cs_jsonrpc::ServerHandle,
    tasks: Vec<JoinHandle<()>>,
    logs: Logs,
    reloader: Reloader,
    mqtt: Option<Arc<MqttBridge>>,
}

impl Running {
    pub fn log(&self) -> &slog::Logger {
        &self.logs.main
    }

    /// Applies a new configuration as far as it can change while running (SIGHUP).
    pub async fn reload(&self, config: Config) -> ReloadReport {
        self.reloader.apply(config).await
    }

    /// Resolves when the server has stopped.
    pub async fn stopped(&self) {
        self.server.stopped().await
    }

    /// Stops accepting, closes connections and subscriptions, stops background tasks.
    pub async fn stop(self) {
        info!(self.logs.main, "stopping");
        self.core.media.stop_all().await;
        if let Some(mqtt) = &self.mqtt {
            mqtt.stop().await;
        }
        self.core.hub.close();
        self.server.stop().await;
        for t in self.tasks {
            t.abort();
        }
    }
}

/// The JWT secret: from config (file or env), else the secret file (created on first start).
pub fn jwt_secret(config: &Config) -> Result<Vec<u8>, std::io::Error> {
    match &config.auth.jwt_secret {
        Some(s) => Ok(s.expose().as_bytes().to_vec()),
        None => cs_auth::load_or_create_secret(&config.auth.jwt_secret_file),
    }
}

/// Builds and starts the service. Listening when this returns.
pub async fn start(config: Config) -> Result<Running, StartError> {
    let logs = logging::build(&config.logging).map_err(StartError::Logs)?;
    let log = logs.main.clone();
    let config = Arc::new(config);

    let clock: Arc<dyn Clock> = Arc::new(cs_sys::SystemClock::new());
    let secret = jwt_secret(&config).map_err(StartError::Secret)?;
    // Swappable: a reload (SIGHUP) may bring a new secret or key store.
    let tokens = Arc::new(SwappableTokens::new(Arc::new(cs_auth::JwtAuthority::new(
        &secret,
    ))));
    let keys = Arc::new(SwappableKeys::new(Arc::new(
        cs_auth::FileKeyStore::open(&config.auth.keys_file).map_err(|source| StartError::Keys {
            path: config.auth.keys_file.clone(),
            source,
        })?,
    )));

    let hub = EventHub::new(&config.events, Arc::clone(&clock));
    let publisher: Arc<dyn EventPublisher> = Arc::new(hub.clone());
    let metrics = Metrics::new(
        Arc::clone(&clock),
        Arc::new(cs_sys::ProcStats::new()),
        hub.clone(),
    );
    let health = Arc::new(Health::new(Arc::clone(&publisher), Arc::clone(&clock)));
    let cameras = Arc::new(CameraRegistry::new(
        Arc::clone(&publisher),
        Arc::clone(&clock),
        log.new(o!("component" => "cameras")),
    ));

    let streams = stream_plane(&config, &clock, &cameras, &health, &log)?;
    let (media, files) = media_plane(
        &config,
        &clock,
        &publisher,
        &cameras,
        &metrics,
        &health,
        &log,
        streams.clone(),
    )
    .await?;

    let controls = Arc::new(
        crate::controls::Controls::open(crate::controls::ControlsParts {
            device: Arc::new(cs_v4l2::V4l2Controls::new()),
            state: Arc::new(
                cs_fs::FsStateStore::open(&config.storage.state_dir).map_err(|source| {
                    StartError::Storage {
                        path: config.storage.state_dir.clone(),
                        source,
                    }
                })?,
            ),
            cameras: Arc::clone(&cameras),
            events: Arc::clone(&publisher),
            clock: Arc::clone(&clock),
            log: log.new(o!("component" => "controls")),
        })
        .await,
    );
    let core = Arc::new(Core::new(CoreParts {
        config: Arc::clone(&config),
        clock: Arc::clone(&clock),
        tokens: tokens.clone(),
        keys: keys.clone(),
        cameras: Arc::clone(&cameras),
        hub,
        metrics,
        health: Arc::clone(&health),
        streams: streams.clone(),
        media,
        files: Arc::clone(&files),
        log: log.clone(),
        audit: logs.audit.clone(),
        controls: Arc::clone(&controls),
    }));

    let mut tasks = vec![tokio::spawn(trim_heap_after_bursts(
        core.metrics.clone(),
        log.new(o!("component" => "heap")),
    ))];
    if let Some(streams) = &streams {
        cameras.observe(streams.clone());
        tasks.push(tokio::spawn(Arc::clone(streams).run()));
    }
    // A camera that goes away ends its recording (the file is finished, the failure told).
    cameras.observe(core.media.clone());
    // A camera that comes (back) gets its remembered control values.
    cameras.observe(controls);
    tasks.push(tokio::spawn(
        Arc::clone(&files).run(Duration::from_secs(config.retention.interval_secs)),
    ));
    let mut sources = vec!["simulated"];
    if !config.camera.device_dir.is_empty() {
        sources.push("v4l2");
    }
    // The sources report cameras and their watch state here: camera_monitor's health is live.
    let sink: Arc<dyn DiscoverySink> = Arc::new(crate::camera_monitor::CameraMonitor::new(
        cameras.clone(),
        Arc::clone(&health),
        &sources,
    ));
    let simulated_dir = (!config.camera.simulated_dir.is_empty())
        .then(|| PathBuf::from(&config.camera.simulated_dir));
    let sim: Arc<dyn CameraDiscovery> = Arc::new(cs_sim::SimulatedDiscovery::new(
        config.camera.simulated.clone(),
        simulated_dir,
        log.new(o!("component" => "sim")),
    ));
    // The configured cameras are in the registry before the service listens: a first client
    // sees all of them, never a part.
    sim.report_known(&*sink);
    tasks.push(tokio::spawn(sim.run(Arc::clone(&sink))));
    if !config.camera.device_dir.is_empty() {
        let v4l2 = cs_hotplug::HotplugConfig {
            node_filter: match config.camera.accept_file_nodes {
                true => cs_hotplug::NodeFilter::AnyFile,
                false => cs_hotplug::NodeFilter::CharDevicesOnly,
            },
            ..cs_hotplug::HotplugConfig::new(
                &config.camera.device_dir,
                std::time::Duration::from_secs(config.camera.rescan_secs),
            )
        };
        let v4l2: Arc<dyn CameraDiscovery> = Arc::new(cs_hotplug::V4l2Discovery::with_v4l2_probe(
            v4l2,
            log.new(o!("component" => "v4l2")),
        ));
        tasks.push(tokio::spawn(v4l2.run(Arc::clone(&sink))));
    }
    if streams.is_none() {
        health.set(
            health::MEDIA_SERVER,
            ComponentStatus::Healthy,
            "direct mode: captures run ffmpeg straight from the camera",
        );
        // ffmpeg is checked in the background: a missing one degrades captures, not the start.
        let (media, health) = (Arc::clone(&core.media), Arc::clone(&health));
        tokio::spawn(async move {
            if let Err(e) = media.check_capture().await {
                health.set(
                    health::MEDIA_SERVER,
                    ComponentStatus::Degraded,
                    format!("direct mode, but captures cannot run: {e}"),
                );
            }
        });
    }

    let addr = format!("{}:{}", config.server.host, config.server.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|source| StartError::Listen {
            addr: addr.clone(),
            source,
        })?;
    let opts = cs_jsonrpc::ServerOptions {
        max_connections: config.server.max_connections,
        max_message_bytes: config.server.max_message_bytes,
        metrics_public: config.server.metrics_public,
        auth_timeout: Duration::from_secs(config.server.auth_timeout_secs),
        max_unauthenticated: config.server.unauthenticated_limit(),
        max_unauthenticated_per_ip: config.server.max_unauthenticated_per_ip,
        ping_interval: Duration::from_secs(config.server.ping_interval_secs),
        max_subscriptions: config.server.max_subscriptions,
        console_media_ports: match config.media.mode {
            config::MediaMode::Direct => Vec::new(),
            _ => vec![config.mediamtx.webrtc_port, config.mediamtx.hls_port],
        },
        ..Default::default()
    };
    let gateway = Arc::new(Gateway {
        core: Arc::clone(&core),
    });
    let server = cs_jsonrpc::serve(listener, gateway, opts)
        .map_err(|source| StartError::Listen { addr, source })?;
    let addr = server.local_addr();
    health.set(
        health::API,
        ComponentStatus::Healthy,
        format!("listening on {addr}"),
    );
    info!(log, "listening"; "addr" => addr.to_string(), "ws" => format!("ws://{addr}/ws"));
    let reloader = Reloader::new(ReloadParts {
        config: (*config).clone(),
        level: logs.level.clone(),
        files: Arc::clone(&files),
        cameras: sink,
        describe: cs_sim::describe,
        tokens,
        keys,
        auth: Box::new(credential_checkers),
        log: log.new(o!("component" => "reload")),
    });
    let mqtt = match config.mqtt.enabled {
        true => Some(start_mqtt(&config, &core, &log, &mut tasks)?),
        false => None,
    };
    Ok(Running {
        addr,
        core,
        server,
        tasks,
        logs,
        reloader,
        mqtt,
    })
}

/// The JWT verifier and API key store `config` names (for a reload).
#[allow(clippy::type_complexity)] // the pair of ports a reload swaps
fn credential_checkers(
    config: &Config,
) -> Result<
    (
        Arc<dyn ports::auth::TokenVerifier>,
        Arc<dyn ports::auth::KeyStore>,
    ),
    String,
> {
    let secret = jwt_secret(config).map_err(|e| format!("JWT secret: {e}"))?;
    let keys = cs_auth::FileKeyStore::open(&config.auth.keys_file)
        .map_err(|e| format!("API key store {}: {e}", config.auth.keys_file.display()))?;
    Ok((
        Arc::new(cs_auth::JwtAuthority::new(&secret)),
        Arc::new(keys),
    ))
}

/// This machine's host name (empty when it cannot be read).
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

/// The MQTT bridge: the broker connection (connecting in the background, retried forever:
/// a broker that is down never stops the start) and the bridge's task.
fn start_mqtt(
    config: &Config,
    core: &Arc<Core>,
    log: &slog::Logger,
    tasks: &mut Vec<JoinHandle<()>>,
) -> Result<Arc<MqttBridge>, StartError> {
    let m = &config.mqtt;
    let host = match hostname() {
        h if h.is_empty() => "localhost".to_owned(),
        h => h,
    };
    let base = match m.base_topic.as_str() {
        "" => format!("camera-service/{}", crate::mqtt::topics::id_chars(&host)),
        b => b.to_owned(),
    };
    let topics = crate::mqtt::topics::TopicMap::new(&base, &m.discovery_prefix);
    let client_id = match m.client_id.as_str() {
        "" => format!("cs-{}", topics.node_id),
        id => id.to_owned(),
    };
    let ca_pem = match m.ca_file.as_str() {
        "" => None,
        path => Some(
            std::fs::read(path)
                .map_err(|e| StartError::Mqtt(format!("mqtt.ca_file {path}: {e}")))?,
        ),
    };
    let password = m
        .password_text()
        .map_err(|e| StartError::Mqtt(format!("mqtt.password_file {}: {e}", m.password_file)))?;
    let options = cs_mqtt::BrokerOptions {
        ca_pem,
        username: (!m.username.is_empty()).then(|| m.username.clone()),
        password,
        keepalive: Duration::from_secs(m.keepalive_secs),
        qos: m.qos,
        will: Some(MqttBridge::offline(&topics)),
        queue_capacity: m.queue_capacity,
        max_packet_bytes: (m.snapshot_max_bytes as usize).max(256 * 1024) + 64 * 1024,
        ..cs_mqtt::BrokerOptions::new(&m.broker_url, &client_id)
    };
    let (inbox, incoming) = crate::mqtt::inbox();
    let broker: Arc<dyn ports::broker::MessageBroker> =
        cs_mqtt::MqttBroker::start(options, Arc::new(inbox))
            .map_err(|e| StartError::Mqtt(e.to_string()))?;
    let _ = core.broker.set(Arc::clone(&broker));
    let settings = crate::mqtt::BridgeSettings {
        topics,
        box_name: if m.base_topic.is_empty() {
            host
        } else {
            base.clone()
        },
        qos: m.qos,
        role: domain::Role::parse(&m.role).unwrap_or(domain::Role::Operator),
        discovery: m.discovery,
        snapshot_max_bytes: m.snapshot_max_bytes,
        snapshot_every: (m.snapshot_interval_secs > 0)
            .then(|| Duration::from_secs(m.snapshot_interval_secs)),
        system_every: Duration::from_secs(m.system_interval_secs),
    };
    let bridge = MqttBridge::new(
        Arc::clone(core),
        broker,
        settings,
        log.new(o!("component" => "mqtt")),
    );
    tasks.push(tokio::spawn(Arc::clone(&bridge).run(incoming)));
    info!(log, "mqtt bridge started"; "broker" => &m.broker_url, "base_topic" => base, "client_id" => client_id);
    Ok(bridge)
}

/// How often the live connections are compared with their peak (two atomic operations).
const HEAP_CHECK_EVERY: Duration = Duration::from_secs(1);
/// A burst worth trimming after: this many connections gone (~1,000 clients leave 1–9 MiB
/// of free heap behind).
const HEAP_TRIM_MIN_DROP: u64 = 500;

/// glibc keeps the heap a burst of connections freed (docs/performance.md, Budgets: < 50 MB
/// once clients have gone); once most of a burst has left, hand it back to the kernel. The trim walks the free
/// chunks with the arena locks held, so it runs on a blocking thread, not a worker.
async fn trim_heap_after_bursts(metrics: Metrics, log: slog::Logger) {
    let mut trigger = cs_sys::TrimAfterBursts::new(HEAP_TRIM_MIN_DROP);
    let mut tick = tokio::time::interval(HEAP_CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let (peak, live) = metrics.take_connections_peak();
        if !trigger.observe(peak, live) {
            continue;
        }
        let started = std::time::Instant::now();
        let released = tokio::task::spawn_blocking(cs_sys::release_free_heap)
            .await
            .unwrap_or(false);
        slog::debug!(log, "heap trimmed after a burst of connections";
            "live" => live, "released" => released,
            "took_ms" => started.elapsed().as_secs_f64() * 1000.0);
    }
}

/// Direct media: ffmpeg captures, ffprobe facts, the file collections and the state store.
/// With `streams`, JPEG snapshots come from MediaMTX's stream while it serves.
#[allow(clippy::too_many_arguments)] // the composition root hands each plane what it needs
async fn media_plane(
    config: &Config,
    clock: &Arc<dyn Clock>,
    publisher: &Arc<dyn EventPublisher>,
    cameras: &Arc<CameraRegistry>,
    metrics: &Metrics,
    health: &Arc<Health>,
    log: &slog::Logger,
    streams: Option<Arc<Streams>>,
) -> Result<(Arc<Media>, Arc<Files>), StartError> {
    let encoding = config
        .media
        .video
        .encoding()
        .map_err(|e| StartError::Media(e.to_string()))?;
    let settings = cs_ffmpeg::Settings {
        ffmpeg: config.media.ffmpeg.clone(),
        ffprobe: config.media.ffprobe.clone(),
        still_timeout: Duration::from_secs_f64(config.media.snapshot_timeout_secs),
        // A recording from the stream may first wait for MediaMTX to start the publisher.
        stream_start_timeout: cs_ffmpeg::Settings::default().start_timeout
            + domain::stream::PUBLISHER_START_TIMEOUT,
        stall_after: Some(Duration::from_secs(config.recording.stall_secs)),
        ..Default::default()
    };
    let storage = &config.storage;
    let store = cs_fs::FsFileStore::open(&storage.recordings_dir, &storage.snapshots_dir).map_err(
        |source| StartError::Storage {
            path: storage.recordings_dir.clone(),
            source,
        },
    )?;
    let state =
        cs_fs::FsStateStore::open(&storage.state_dir).map_err(|source| StartError::Storage {
            path: storage.state_dir.clone(),
            source,
        })?;
    let capture = cs_ffmpeg::FfmpegCapture::new(settings.clone());
    let inspector: Arc<dyn ports::capture::MediaInspector> =
        Arc::new(cs_ffmpeg::FfprobeInspector::new(&settings));
    let store: Arc<dyn ports::files::FileStore> = Arc::new(store);
    let media = Arc::new(Media::new(MediaParts {
        capture: Arc::new(capture),
        inspector: Arc::clone(&inspector),
        store: Arc::clone(&store),
        events: Arc::clone(publisher),
        clock: Arc::clone(clock),
        cameras: Arc::clone(cameras),
        metrics: metrics.clone(),
        encoding,
        min_free_bytes: storage.min_free_bytes,
        segment_secs: config.recording.segment_seconds,
        streams,
        log: log.new(o!("component" => "media")),
        max_captures: config.media.max_captures as usize,
        capture_wait: Duration::from_secs_f64(config.media.snapshot_timeout_secs),
    }));
    let files = Arc::new(
        Files::open(FilesParts {
            store,
            inspector,
            state: Arc::new(state),
            clock: Arc::clone(clock),
            media: Arc::clone(&media),
            health: Arc::clone(health),
            configured: configured_policy(&config.retention),
            log: log.new(o!("component" => "files")),
        })
        .await,
    );
    files.check_storage().await;
    Ok((media, files))
}

/// Streams through MediaMTX (media modes `mediamtx` and `auto`); `None` in `direct`.
fn stream_plane(
    config: &Config,
    clock: &Arc<dyn Clock>,
    cameras: &Arc<CameraRegistry>,
    health: &Arc<Health>,
    log: &slog::Logger,
) -> Result<Option<Arc<Streams>>, StartError> {
    use config::MediaMode;
    let mtx = &config.mediamtx;
    let forced = match config.media.mode {
        MediaMode::Direct => return Ok(None),
        MediaMode::Mediamtx => true,
        MediaMode::Auto => false,
    };
    let client = cs_mediamtx::MediamtxClient::new(
        &mtx.api_url,
        Duration::from_millis(mtx.request_timeout_ms),
    )
    .map_err(StartError::Media)?;
    let encoding = config
        .media
        .video
        .encoding()
        .map_err(|e| StartError::Media(e.to_string()))?;
    let ffmpeg = config
        .media
        .ffmpeg
        .to_str()
        .ok_or_else(|| StartError::Media("media.ffmpeg is not UTF-8".into()))?
        .to_owned();
    let public_host = match config.server.public_host.trim() {
        "" => std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into()),
        host => host.to_owned(),
    };
    let streams = Streams::new(StreamsParts {
        server: Arc::new(client),
        reader: Arc::new(cs_mediamtx::RtspReader::new(&config.media.ffmpeg)),
        forced,
        api_url: mtx.api_url.clone(),
        endpoints: domain::stream::StreamEndpoints {
            public_host,
            rtsp_port: mtx.rtsp_port,
            webrtc_port: mtx.webrtc_port,
            hls_port: mtx.hls_port,
        },
        local_rtsp: format!("rtsp://127.0.0.1:{}/", mtx.rtsp_port),
        encoding,
        publisher: Arc::new(cs_ffmpeg::FfmpegPublisher::new(ffmpeg)),
        reconcile_every: Duration::from_secs(mtx.reconcile_secs),
        cameras: Arc::clone(cameras),
        health: Arc::clone(health),
        clock: Arc::clone(clock),
        log: log.new(o!("component" => "streams")),
    });
    Ok(Some(streams))
}

/// What `camera-service doctor` asks of the outside world, answered by the adapters.
pub struct DoctorHost {
    probe: cs_v4l2::V4l2Probe,
}

impl DoctorHost {
    pub fn new() -> DoctorHost {
        DoctorHost {
            probe: cs_v4l2::V4l2Probe::default(),
        }
    }
}

impl Default for DoctorHost {
    fn default() -> Self {
        DoctorHost::new()
    }
}

#[async_trait::async_trait]
impl crate::doctor::Host for DoctorHost {
    fn probe(
        &self,
        node: &std::path::Path,
    ) -> Result<ports::probe::ProbeOutcome, ports::probe::ProbeError> {
        use ports::probe::DeviceProbe;
        self.probe.probe(node)
    }

    async fn tool_version(
        &self,
        program: &std::path::Path,
        timeout: Duration,
    ) -> Result<String, String> {
        let name = match program.file_name().and_then(|n| n.to_str()) {
            Some(n) if n.contains("ffprobe") => "ffprobe",
            _ => "ffmpeg",
        };
        cs_ffmpeg::tools::version(name, program, timeout)
            .await
            .map_err(|e| e.to_string())
    }

    async fn encoders(
        &self,
        ffmpeg: &std::path::Path,
        timeout: Duration,
    ) -> Result<std::collections::BTreeSet<String>, String> {
        cs_ffmpeg::tools::encoders(ffmpeg, timeout)
            .await
            .map_err(|e| e.to_string())
    }

    fn encoders_used(&self) -> Vec<(&'static str, &'static str)> {
        cs_ffmpeg::tools::ENCODERS_USED.to_vec()
    }

    async fn mediamtx(
        &self,
        api_url: &str,
        timeout: Duration,
    ) -> Result<(String, serde_json::Value), String> {
        let client = cs_mediamtx::MediamtxClient::new(api_url, timeout)?;
        let info = client.info().await.map_err(|e| e.to_string())?;
        let global = client.global_config().await.map_err(|e| e.to_string())?;
        let version = info["version"]
            .as_str()
            .unwrap_or("(no version)")
            .to_owned();
        Ok((version, global))
    }

    fn free_bytes(&self, dir: &std::path::Path) -> Result<u64, String> {
        cs_fs::free_bytes(dir).map_err(|e| e.to_string())
    }

    async fn answers_as_camera_service(&self, port: u16) -> bool {
        let url = format!("ws://127.0.0.1:{port}/ws");
        let ask = async {
            let client = cs_jsonrpc::Client::connect(&url, None).await.ok()?;
            client.call("ping", serde_json::Value::Null).await.ok()
        };
        matches!(
            tokio::time::timeout(Duration::from_secs(3), ask).await,
            Ok(Some(serde_json::Value::String(s))) if s == "pong"
        )
    }
}
