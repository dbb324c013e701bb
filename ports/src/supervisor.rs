//! The service manager this process runs under (systemd), as the application needs it:
//! to be told when the service is ready, reloading or stopping, to hear a one-line status,
//! and to be pinged by a watchdog. Without one every notice is a no-op.

use std::time::Duration;

/// One thing the service manager is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Start-up (or a reload) is finished: listening, configured cameras registered.
    Ready,
    /// A configuration reload begins.
    Reloading,
    /// Shutdown begins.
    Stopping,
    /// A one-line human summary (one line: new lines are not allowed).
    Status(String),
    /// The main runtime is alive.
    Watchdog,
}

pub trait ServiceManager: Send + Sync + 'static {
    /// Sends `notices` as one message. An error says why it could not be delivered.
    fn notify(&self, notices: &[Notice]) -> Result<(), String>;

    /// How often the manager wants [`Notice::Watchdog`], when it wants it at all: half of
    /// the watchdog timeout it set for this process.
    fn watchdog_interval(&self) -> Option<Duration>;
}
