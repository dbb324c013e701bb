//! The operating system as the camera service sees it: the system clock and the
//! figures `/proc/self` gives about this process, and size-rotated log files.

mod clock;
mod limits;
mod process;
mod rotating;

pub use clock::SystemClock;
pub use limits::{raise_fd_limit, FdLimit};
pub use process::{parse_cpu_ticks, parse_status, ProcStats, StatusFigures};
pub use rotating::RotatingFile;
