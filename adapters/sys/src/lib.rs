//! The operating system as the camera service sees it: the system clock and the
//! figures `/proc/self` gives about this process, size-rotated log files, the C heap, and
//! the service manager (systemd's notification protocol).

mod clock;
mod heap;
mod limits;
mod notify;
mod process;
mod rotating;

pub use clock::SystemClock;
pub use heap::{release_free_heap, TrimAfterBursts};
pub use limits::{raise_fd_limit, FdLimit};
pub use notify::SystemdNotifier;
pub use process::{parse_cpu_ticks, parse_status, ProcStats, StatusFigures};
pub use rotating::RotatingFile;
