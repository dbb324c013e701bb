//! The composition root: builds every adapter from the configuration and wires them to the
//! use cases. The only place in `app` that names concrete adapters.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use config::Config;
use ports::camera::{CameraDiscovery, DiscoverySink};
use ports::clock::Clock;
use ports::events::EventPublisher;
use slog::{info, o};
use tokio::task::JoinHandle;

use crate::cameras::CameraRegistry;
use crate::core::{Core, CoreParts, Gateway};
use crate::events::EventHub;
use crate::health::{self, ComponentStatus, Health};
use crate::logging::{self, Logs};
use crate::metrics::Metrics;

/// Why the service could not start. The text says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Logs(String),
    #[error("JWT secret: {0}")]
    Secret(std::io::Error),
    #[error("API key store {path}: {source}")]
    Keys { path: PathBuf, source: std::io::Error },
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: String, source: std::io::Error },
}

/// A running service.
pub struct Running {
    pub addr: SocketAddr,
    pub core: Arc<Core>,
    server: cs_jsonrpc::ServerHandle,
    tasks: Vec<JoinHandle<()>>,
    logs: Logs,
}

impl Running {
    pub fn log(&self) -> &slog::Logger {
        &self.logs.main
    }

    /// Resolves when the server has stopped.
    pub async fn stopped(&self) {
        self.server.stopped().await
    }

    /// Stops accepting, closes connections and subscriptions, stops background tasks.
    pub async fn stop(self) {
        info!(self.logs.main, "stopping");
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
    let tokens = Arc::new(cs_auth::JwtAuthority::new(&secret));
    let keys = Arc::new(cs_auth::FileKeyStore::open(&config.auth.keys_file).map_err(|source| StartError::Keys {
        path: config.auth.keys_file.clone(),
        source,
    })?);

    let hub = EventHub::new(&config.events, Arc::clone(&clock));
    let publisher: Arc<dyn EventPublisher> = Arc::new(hub.clone());
    let metrics = Metrics::new(Arc::clone(&clock), Arc::new(cs_sys::ProcStats::new()), hub.clone());
    let health = Arc::new(Health::new(Arc::clone(&publisher), Arc::clone(&clock)));
    let cameras = Arc::new(CameraRegistry::new(
        Arc::clone(&publisher),
        Arc::clone(&clock),
        log.new(o!("component" => "cameras")),
    ));

    let core = Arc::new(Core::new(CoreParts {
        config: Arc::clone(&config),
        clock: Arc::clone(&clock),
        tokens,
        keys,
        cameras: Arc::clone(&cameras),
        hub,
        metrics,
        health: Arc::clone(&health),
        log: log.clone(),
        audit: logs.audit.clone(),
    }));

    let mut tasks = Vec::new();
    let sink: Arc<dyn DiscoverySink> = cameras.clone();
    let simulated_dir = (!config.camera.simulated_dir.is_empty()).then(|| PathBuf::from(&config.camera.simulated_dir));
    let mut sources = vec!["simulated"];
    let sim: Arc<dyn CameraDiscovery> = Arc::new(cs_sim::SimulatedDiscovery::new(
        config.camera.simulated.clone(),
        simulated_dir,
        log.new(o!("component" => "sim")),
    ));
    tasks.push(tokio::spawn(sim.run(Arc::clone(&sink))));
    if !config.camera.device_dir.is_empty() {
        sources.push("v4l2");
        let v4l2 = cs_hotplug::HotplugConfig {
            node_filter: match config.camera.accept_file_nodes {
                true => cs_hotplug::NodeFilter::AnyFile,
                false => cs_hotplug::NodeFilter::CharDevicesOnly,
            },
            ..cs_hotplug::HotplugConfig::new(&config.camera.device_dir, std::time::Duration::from_secs(config.camera.rescan_secs))
        };
        let v4l2: Arc<dyn CameraDiscovery> =
            Arc::new(cs_hotplug::V4l2Discovery::with_v4l2_probe(v4l2, log.new(o!("component" => "v4l2"))));
        tasks.push(tokio::spawn(v4l2.run(Arc::clone(&sink))));
    }
    health.set(
        health::CAMERA_MONITOR,
        ComponentStatus::Healthy,
        format!("watching sources: {}", sources.join(", ")),
    );
    health.set(
        health::MEDIA_SERVER,
        ComponentStatus::Healthy,
        "direct mode: captures run ffmpeg straight from the camera",
    );

    let addr = format!("{}:{}", config.server.host, config.server.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|source| StartError::Listen { addr: addr.clone(), source })?;
    let opts = cs_jsonrpc::ServerOptions {
        max_connections: config.server.max_connections,
        max_message_bytes: config.server.max_message_bytes,
        metrics_public: config.server.metrics_public,
        ..Default::default()
    };
    let gateway = Arc::new(Gateway { core: Arc::clone(&core) });
    let server = cs_jsonrpc::serve(listener, gateway, opts).map_err(|source| StartError::Listen { addr, source })?;
    let addr = server.local_addr();
    health.set(health::API, ComponentStatus::Healthy, format!("listening on {addr}"));
    info!(log, "listening"; "addr" => addr.to_string(), "ws" => format!("ws://{addr}/ws"));
    Ok(Running {
        addr,
        core,
        server,
        tasks,
        logs,
    })
}
