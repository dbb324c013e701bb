//! systemd's notification protocol (`sd_notify(3)`) through the `sd-notify` crate: a
//! datagram per message to `$NOTIFY_SOCKET`, the watchdog period from `$WATCHDOG_USEC`
//! (when `$WATCHDOG_PID` is absent or names this process).

use std::time::Duration;

use ports::supervisor::{Notice, ServiceManager};
use sd_notify::NotifyState;

/// The service manager named by this process's environment; every notice is a no-op
/// where `$NOTIFY_SOCKET` is not set (started from a shell, or in tests).
pub struct SystemdNotifier {
    watchdog: Option<Duration>,
}

impl SystemdNotifier {
    /// Reads `$WATCHDOG_USEC` / `$WATCHDOG_PID` once, at start.
    pub fn from_env() -> SystemdNotifier {
        SystemdNotifier {
            watchdog: sd_notify::watchdog_enabled()
                .filter(|d| !d.is_zero())
                .map(|d| d / 2),
        }
    }
}

impl ServiceManager for SystemdNotifier {
    fn notify(&self, notices: &[Notice]) -> Result<(), String> {
        let mut states = Vec::with_capacity(notices.len() + 1);
        for n in notices {
            match n {
                Notice::Ready => states.push(NotifyState::Ready),
                Notice::Reloading => {
                    states.push(NotifyState::Reloading);
                    // systemd >= 253 wants the reload's start time with RELOADING=1.
                    if let Ok(now) = NotifyState::monotonic_usec_now() {
                        states.push(now);
                    }
                }
                Notice::Stopping => states.push(NotifyState::Stopping),
                Notice::Status(text) => states.push(NotifyState::Status(text)),
                Notice::Watchdog => states.push(NotifyState::Watchdog),
            }
        }
        sd_notify::notify(&states).map_err(|e| {
            let socket = std::env::var("NOTIFY_SOCKET").unwrap_or_default();
            format!("cannot notify the service manager at {socket:?}: {e}")
        })
    }

    fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog
    }
}
