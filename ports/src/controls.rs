//! Reading and setting a camera's controls (brightness, exposure, focus, ...).

use domain::controls::{Control, ControlChange};
use thiserror::Error;

use crate::camera::CaptureSource;

/// Why the driver did not do what was asked; the text says which call and control.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ControlsError {
    /// EBUSY: held by a running stream, or the device is busy.
    #[error("busy: {0}")]
    Busy(String),
    /// EACCES / EPERM: the driver refuses the write now (e.g. inactive under its auto control).
    #[error("refused: {0}")]
    Refused(String),
    /// ERANGE, or EINVAL on a value: the driver does not take the value.
    #[error("out of range: {0}")]
    OutOfRange(String),
    /// The node is not there any more.
    #[error("device gone: {0}")]
    Gone(String),
    /// This source has no controls the service can reach.
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("{0}")]
    Failed(String),
}

/// A write that stopped part way: the first `applied` changes were made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{control}: {error}")]
pub struct ApplyFailure {
    pub applied: usize,
    /// The stable id of the control that failed.
    pub control: String,
    pub error: ControlsError,
}

/// A camera's controls. Blocking: callers run it on a blocking thread.
pub trait CameraControls: Send + Sync + 'static {
    /// Every control the device offers now, with its value (disabled ones left out).
    fn list(&self, source: &CaptureSource) -> Result<Vec<Control>, ControlsError>;

    /// Writes the changes in order and stops at the first failure.
    fn apply(&self, source: &CaptureSource, changes: &[ControlChange]) -> Result<(), ApplyFailure>;

    /// The device's serial number, where the system says one (USB devices).
    fn serial(&self, source: &CaptureSource) -> Option<String>;
}
