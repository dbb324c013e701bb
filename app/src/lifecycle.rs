//! The running service's life under a service manager (systemd, `Type=notify`): READY
//! once listening with the configured cameras registered, a one-line STATUS, WATCHDOG
//! pings from the main runtime at the interval the manager asked for (a wedged runtime
//! stops pinging and is restarted), SIGHUP reloads, STOPPING on SIGTERM / SIGINT.

use std::sync::Arc;
use std::time::Duration;

use config::Config;
use ports::supervisor::{Notice, ServiceManager};
use slog::{error, info, warn};
use tokio::signal::unix::{signal, SignalKind};

use crate::root::Running;

/// How often the STATUS line is refreshed (sent only when it changed).
const STATUS_EVERY: Duration = Duration::from_secs(5);

/// Runs `running` until SIGTERM, SIGINT or the server's own end, then stops it.
/// `reload` reads the configuration again (for SIGHUP).
pub async fn run(
    running: Running,
    manager: Arc<dyn ServiceManager>,
    reload: impl Fn() -> Result<Config, String>,
) -> Result<(), String> {
    // Signals are handled before READY: a stop asked right after start is not lost.
    let mut term =
        signal(SignalKind::terminate()).map_err(|e| format!("cannot handle SIGTERM: {e}"))?;
    let mut int =
        signal(SignalKind::interrupt()).map_err(|e| format!("cannot handle SIGINT: {e}"))?;
    let mut hup = signal(SignalKind::hangup()).map_err(|e| format!("cannot handle SIGHUP: {e}"))?;
    let log = running.log().clone();
    let notify = |notices: &[Notice]| {
        if let Err(e) = manager.notify(notices) {
            warn!(log, "service manager not told"; "error" => e);
        }
    };

    let mut status = summary(&running);
    notify(&[Notice::Ready, Notice::Status(status.clone())]);
    let watchdog = manager.watchdog_interval();
    if let Some(every) = watchdog {
        info!(log, "watchdog enabled"; "ping_every_ms" => every.as_millis() as u64);
    }
    // Never fires when the manager wants no pings.
    let mut ping = tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(86_400 * 365)));
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut refresh = tokio::time::interval(STATUS_EVERY);
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = running.stopped() => break,
            _ = hup.recv() => {
                notify(&[Notice::Reloading]);
                match reload() {
                    Ok(config) => {
                        running.reload(config).await;
                    }
                    Err(e) => {
                        error!(log, "configuration not reloaded: the running one stays"; "error" => e);
                    }
                }
                status = summary(&running);
                notify(&[Notice::Ready, Notice::Status(status.clone())]);
            }
            _ = ping.tick(), if watchdog.is_some() => notify(&[Notice::Watchdog]),
            _ = refresh.tick() => {
                let now = summary(&running);
                if now != status {
                    status = now;
                    notify(&[Notice::Status(status.clone())]);
                }
            }
        }
    }
    notify(&[Notice::Stopping, Notice::Status("stopping".into())]);
    running.stop().await;
    Ok(())
}

/// One line: `listening on ADDR; cameras: N (M connected); health: STATUS (component: details)`.
pub fn summary(running: &Running) -> String {
    let core = &running.core;
    let (total, connected) = core.cameras.counts();
    let report = serde_json::to_value(core.health.report()).unwrap_or_default();
    let overall = report["status"].as_str().unwrap_or("UNKNOWN").to_owned();
    let mut line = format!(
        "listening on {}; cameras: {total} ({connected} connected); health: {overall}",
        running.addr
    );
    // Name the components that are not healthy, so `systemctl status` says why.
    if let Some(components) = report["components"].as_object() {
        let troubled: Vec<String> = components
            .iter()
            .filter(|(_, c)| c["status"] != "HEALTHY")
            .map(|(name, c)| format!("{name}: {}", c["details"].as_str().unwrap_or("")))
            .collect();
        if !troubled.is_empty() {
            line.push_str(&format!(" ({})", troubled.join("; ")));
        }
    }
    line.replace(['\n', '\r'], " ")
}
