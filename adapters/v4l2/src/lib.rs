//! V4L2 device probing with raw ioctls (`nix`), no v4l2-ctl and no bindgen.
//!
//! [`V4l2Probe`] implements [`ports::probe::DeviceProbe`]: it opens a node without blocking,
//! asks the kernel what the node is and can do, and closes it again. Only nodes with video
//! capture (single- or multi-planar) are cameras; metadata, output and memory-to-memory
//! nodes are reported as `NotCapture`.
//!
//! [`V4l2Controls`] implements [`ports::controls::CameraControls`]: a node's controls
//! (QUERY_EXT_CTRL / QUERYCTRL, QUERYMENU, G/S_CTRL, G/S_EXT_CTRLS for 64-bit values).

mod controls;
mod ctrl_sys;
mod probe;
mod sys;

pub use controls::V4l2Controls;
pub use probe::V4l2Probe;
