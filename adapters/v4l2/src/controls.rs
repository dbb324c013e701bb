//! [`V4l2Controls`]: a node's controls with raw ioctls. Enumerates with
//! `VIDIOC_QUERY_EXT_CTRL | V4L2_CTRL_FLAG_NEXT_CTRL` (falling back to `VIDIOC_QUERYCTRL`
//! where the driver lacks it), reads menus with `VIDIOC_QUERYMENU` (skipping the gaps uvc
//! menus have), and reads and writes values with `VIDIOC_G_CTRL` / `VIDIOC_S_CTRL`, or the
//! extended calls for 64-bit controls.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use domain::controls::{
    cids, link_auto_controls, Control, ControlChange, ControlFlag, ControlType, MenuItem,
};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use ports::camera::CaptureSource;
use ports::controls::{ApplyFailure, CameraControls, ControlsError};

use crate::ctrl_sys::*;
use crate::sys::{self, c_text};

/// Controls one enumeration may return; real devices have a few dozen.
const MAX_CONTROLS: usize = 512;
/// Menu entries asked for per menu control.
const MAX_MENU_ITEMS: i64 = 64;

/// Reads and sets V4L2 controls. Never changes a format; opening the node does not disturb
/// a stream another process runs on it.
#[derive(Debug, Clone, Default)]
pub struct V4l2Controls;

impl V4l2Controls {
    pub fn new() -> V4l2Controls {
        V4l2Controls
    }
}

fn node_of(source: &CaptureSource) -> Result<&Path, ControlsError> {
    match source {
        CaptureSource::Device { path } => Ok(path),
        CaptureSource::TestPattern { .. } => Err(ControlsError::Unsupported(
            "a test pattern is not a V4L2 device".into(),
        )),
    }
}

fn open(node: &Path) -> Result<File, ControlsError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags((OFlag::O_NONBLOCK | OFlag::O_CLOEXEC | OFlag::O_NOCTTY).bits())
        .open(node)
        .map_err(|e| {
            let what = format!("open {}: {e}", node.display());
            match e.kind() {
                io::ErrorKind::NotFound => ControlsError::Gone(what),
                io::ErrorKind::PermissionDenied => ControlsError::Refused(what),
                _ => match Errno::from_raw(e.raw_os_error().unwrap_or(0)) {
                    Errno::ENODEV | Errno::ENXIO => ControlsError::Gone(what),
                    Errno::EBUSY => ControlsError::Busy(what),
                    _ => ControlsError::Failed(what),
                },
            }
        })
}

/// How a driver's errno reads for a client.
fn classify(call: &str, control: &str, e: Errno) -> ControlsError {
    let what = format!("{call} {control}: {}", e.desc());
    match e {
        Errno::EBUSY => ControlsError::Busy(what),
        Errno::EACCES | Errno::EPERM => ControlsError::Refused(what),
        Errno::ERANGE | Errno::EINVAL => ControlsError::OutOfRange(what),
        Errno::ENODEV | Errno::ENOENT | Errno::ENXIO => ControlsError::Gone(what),
        _ => ControlsError::Failed(what),
    }
}

/// A control as the query found it, before its value and menu are read.
struct Queried {
    cid: u32,
    type_: u32,
    name: String,
    minimum: i64,
    maximum: i64,
    step: u64,
    default: i64,
    flags: u32,
}

struct Node {
    file: File,
}

impl Node {
    fn fd(&self) -> i32 {
        self.file.as_raw_fd()
    }

    fn query_ext(&self, id: u32) -> Result<Queried, Errno> {
        let mut q: V4l2QueryExtCtrl = sys::zeroed();
        q.id = id;
        // SAFETY: `q` is a `struct v4l2_query_ext_ctrl`; the fd is open.
        unsafe { vidioc_query_ext_ctrl(self.fd(), &mut q) }?;
        Ok(Queried {
            cid: q.id,
            type_: q.type_,
            name: c_text(&q.name),
            minimum: q.minimum,
            maximum: q.maximum,
            step: q.step,
            default: q.default_value,
            flags: q.flags,
        })
    }

    fn query_old(&self, id: u32) -> Result<Queried, Errno> {
        let mut q: V4l2Queryctrl = sys::zeroed();
        q.id = id;
        // SAFETY: `q` is a `struct v4l2_queryctrl`; the fd is open.
        unsafe { vidioc_queryctrl(self.fd(), &mut q) }?;
        Ok(Queried {
            cid: q.id,
            type_: q.type_,
            name: c_text(&q.name),
            minimum: i64::from(q.minimum),
            maximum: i64::from(q.maximum),
            step: u64::try_from(q.step).unwrap_or(1),
            default: i64::from(q.default_value),
            flags: q.flags,
        })
    }

    /// Every control, in the driver's order: NEXT_CTRL with the extended query, else with
    /// the old one.
    fn enumerate(&self) -> Result<Vec<Queried>, ControlsError> {
        let walk = |query: &dyn Fn(u32) -> Result<Queried, Errno>| -> Result<Vec<Queried>, Errno> {
            let mut found = Vec::new();
            let mut id = 0u32;
            while found.len() < MAX_CONTROLS {
                match query(id | CTRL_FLAG_NEXT_CTRL) {
                    Ok(q) if q.cid <= id && id != 0 => break, // a driver that does not advance
                    Ok(q) => {
                        id = q.cid;
                        found.push(q);
                    }
                    // The end of the list (or no controls at all).
                    Err(Errno::EINVAL) => break,
                    Err(e) => return Err(e),
                }
            }
            Ok(found)
        };
        match walk(&|id| self.query_ext(id)) {
            Ok(found) => Ok(found),
            Err(Errno::ENOTTY) => match walk(&|id| self.query_old(id)) {
                Ok(found) => Ok(found),
                // Neither query: a device without controls.
                Err(Errno::ENOTTY) => Ok(Vec::new()),
                Err(e) => Err(classify("VIDIOC_QUERYCTRL", "(enumeration)", e)),
            },
            Err(e) => Err(classify("VIDIOC_QUERY_EXT_CTRL", "(enumeration)", e)),
        }
    }

    fn menu(&self, q: &Queried, integer: bool) -> Vec<MenuItem> {
        let mut items = Vec::new();
        let last = q.maximum.min(q.minimum.saturating_add(MAX_MENU_ITEMS - 1));
        for index in q.minimum.max(0)..=last {
            let mut m: V4l2Querymenu = sys::zeroed();
            m.id = q.cid;
            m.index = index as u32;
            // SAFETY: `m` is a `struct v4l2_querymenu`; the fd is open.
            if unsafe { vidioc_querymenu(self.fd(), &mut m) }.is_err() {
                continue; // a gap in the menu (uvc skips unsupported entries)
            }
            items.push(if integer {
                MenuItem {
                    index,
                    name: None,
                    value: Some(m.value()),
                }
            } else {
                MenuItem {
                    index,
                    name: Some(c_text(&m.name_or_value)),
                    value: None,
                }
            });
        }
        items
    }

    fn get(&self, cid: u32, kind: ControlType) -> Result<i64, Errno> {
        if kind.is_64bit() {
            let mut c: V4l2ExtControl = sys::zeroed();
            c.id = cid;
            let mut all: V4l2ExtControls = sys::zeroed();
            all.which = cids::class_of(cid);
            all.count = 1;
            all.controls = &mut c;
            // SAFETY: `all` points at one `struct v4l2_ext_control` that outlives the call.
            unsafe { vidioc_g_ext_ctrls(self.fd(), &mut all) }?;
            Ok(c.value64)
        } else {
            let mut c = V4l2Control { id: cid, value: 0 };
            // SAFETY: `c` is a `struct v4l2_control`; the fd is open.
            unsafe { vidioc_g_ctrl(self.fd(), &mut c) }?;
            Ok(match kind {
                // A bitmask is a `__u32` in the same field.
                ControlType::Bitmask => i64::from(c.value as u32),
                _ => i64::from(c.value),
            })
        }
    }

    fn set(&self, change: &ControlChange) -> Result<(), Errno> {
        if change.kind.is_64bit() {
            let mut c: V4l2ExtControl = sys::zeroed();
            c.id = change.cid;
            c.value64 = change.value;
            let mut all: V4l2ExtControls = sys::zeroed();
            all.which = cids::class_of(change.cid);
            all.count = 1;
            all.controls = &mut c;
            // SAFETY: as in `get`.
            unsafe { vidioc_s_ext_ctrls(self.fd(), &mut all) }?;
        } else {
            let value = match change.kind {
                ControlType::Bitmask => u32::try_from(change.value).map(|v| v as i32),
                _ => i32::try_from(change.value),
            }
            .map_err(|_| Errno::ERANGE)?;
            let mut c = V4l2Control {
                id: change.cid,
                value,
            };
            // SAFETY: `c` is a `struct v4l2_control`; the fd is open.
            unsafe { vidioc_s_ctrl(self.fd(), &mut c) }?;
        }
        Ok(())
    }
}

impl CameraControls for V4l2Controls {
    fn list(&self, source: &CaptureSource) -> Result<Vec<Control>, ControlsError> {
        let node = Node {
            file: open(node_of(source)?)?,
        };
        let mut controls = Vec::new();
        for q in node.enumerate()? {
            if q.type_ == CTRL_TYPE_CTRL_CLASS || q.flags & CTRL_FLAG_DISABLED != 0 {
                continue;
            }
            let Some(kind) = ControlType::from_v4l2(q.type_) else {
                continue; // strings and compound controls are not offered
            };
            let menu = match kind {
                ControlType::Menu => node.menu(&q, false),
                ControlType::IntegerMenu => node.menu(&q, true),
                _ => Vec::new(),
            };
            let readable = kind != ControlType::Button && q.flags & CTRL_FLAG_WRITE_ONLY == 0;
            let value = match readable {
                true => match node.get(q.cid, kind) {
                    Ok(v) => Some(v),
                    Err(e @ (Errno::ENODEV | Errno::ENOENT)) => {
                        return Err(classify("VIDIOC_G_CTRL", &q.name, e))
                    }
                    Err(_) => None,
                },
                false => None,
            };
            controls.push(Control {
                id: cids::stable_id(q.cid, &q.name),
                cid: q.cid,
                class: cids::class_name(cids::class_of(q.cid)).to_owned(),
                kind,
                minimum: q.minimum,
                maximum: q.maximum,
                step: q.step,
                default: q.default,
                value,
                menu,
                flags: ControlFlag::from_v4l2(q.flags),
                auto_control: None,
                name: q.name,
            });
        }
        link_auto_controls(&mut controls);
        Ok(controls)
    }

    fn apply(&self, source: &CaptureSource, changes: &[ControlChange]) -> Result<(), ApplyFailure> {
        let fail = |applied: usize, control: &str, error: ControlsError| ApplyFailure {
            applied,
            control: control.to_owned(),
            error,
        };
        let first = changes.first().map(|c| c.id.as_str()).unwrap_or("");
        let path = node_of(source).map_err(|e| fail(0, first, e))?;
        let node = Node {
            file: open(path).map_err(|e| fail(0, first, e))?,
        };
        for (i, change) in changes.iter().enumerate() {
            let call = if change.kind.is_64bit() {
                "VIDIOC_S_EXT_CTRLS"
            } else {
                "VIDIOC_S_CTRL"
            };
            node.set(change)
                .map_err(|e| fail(i, &change.id, classify(call, &change.id, e)))?;
        }
        Ok(())
    }

    fn serial(&self, source: &CaptureSource) -> Option<String> {
        let meta = std::fs::metadata(node_of(source).ok()?).ok()?;
        if meta.rdev() == 0 {
            return None; // not a device node (the FUSE test bench serves regular files)
        }
        let (major, minor) = (
            nix::sys::stat::major(meta.rdev()),
            nix::sys::stat::minor(meta.rdev()),
        );
        // The node's device is the USB interface; the USB device above it has the serial.
        let dir = std::path::PathBuf::from(format!("/sys/dev/char/{major}:{minor}/device/.."));
        let serial = std::fs::read_to_string(dir.join("serial")).ok()?;
        let serial = serial.trim();
        (!serial.is_empty()).then(|| serial.to_owned())
    }
}
