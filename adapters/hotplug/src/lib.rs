//! V4L2 camera discovery: [`V4l2Discovery`] watches the device directory (`/dev`) with
//! inotify, probes `video<N>` nodes on the blocking pool with a [`ports::probe::DeviceProbe`]
//! (by default [`cs_v4l2::V4l2Probe`]), and reports cameras to the app's
//! [`ports::camera::DiscoverySink`] as they come and go.
//!
//! How it stays right:
//! - every inotify event about a node (create, attribute change, delete, rename in or out)
//!   only marks that node for a *check*; a check looks at what is there now, so the last
//!   check after the last event decides, whatever order events arrived in;
//! - one check per node at a time; an event during a check makes it run again, so a node
//!   that appears and vanishes quickly leaves no ghost camera;
//! - a node that is there but fails its probe is retried for a short while (udev may still
//!   be fixing its permissions) before it is reported failed, then probed again with backoff
//!   (1 s doubling to 30 s) for as long as it is there;
//! - a camera described only in part (the driver failed some enumerations) is probed again
//!   with the same backoff, five times, then at each periodic reconcile;
//! - a full rescan at start and when the inotify queue overflows, and a slow periodic
//!   reconcile as a safety net.

mod discovery;
mod filter;

pub use discovery::{DeviceIdentity, HotplugConfig, V4l2Discovery};
pub use filter::NodeFilter;
