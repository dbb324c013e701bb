//! The operating system as the camera service sees it: the system clock and the
//! figures `/proc/self` gives about this process.

mod clock;
mod process;

pub use clock::SystemClock;
pub use process::{parse_cpu_ticks, parse_status, ProcStats, StatusFigures};
