//! Asking a device node what it is: the kernel's own answer, not a guess from its name.

use std::path::Path;

use domain::capabilities::DeviceDescription;
use thiserror::Error;

/// What a probe found at a node.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeOutcome {
    /// A video capture node (single- or multi-planar): a camera.
    Capture(DeviceDescription),
    /// A device, but not a camera: a metadata node, an output-only or memory-to-memory node.
    NotCapture,
    /// A camera whose driver failed some of the enumerations (sizes or frame intervals) even
    /// after a few retries: what it did answer, and which questions went unanswered. Worth
    /// probing again later.
    Incomplete {
        description: DeviceDescription,
        missing: Vec<String>,
    },
}

/// Why a probe gave no answer. Each carries a human-readable reason.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProbeError {
    /// The node is not there (any more): it was unplugged during or before the probe.
    #[error("device node is gone: {0}")]
    Gone(String),
    /// The node is there but may not be opened yet (udev may still be fixing its permissions).
    #[error("device node is not accessible: {0}")]
    Denied(String),
    /// The node is there and opened, but did not answer like a V4L2 device.
    #[error("device probe failed: {0}")]
    Failed(String),
}

/// Reads what a device node can do. Blocking: callers run it on a blocking thread.
/// Probing only reads (it never sets a format), so it works while another process streams.
pub trait DeviceProbe: Send + Sync + 'static {
    fn probe(&self, node: &Path) -> Result<ProbeOutcome, ProbeError>;
}
