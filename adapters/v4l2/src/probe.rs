//! [`V4l2Probe`]: asks a node QUERYCAP, ENUM_FMT, ENUM_FRAMESIZES, ENUM_FRAMEINTERVALS, G_FMT
//! and G_PARM, and maps the answers onto the domain's [`DeviceDescription`].

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use domain::capabilities::{
    CurrentMode, DeviceDescription, DiscreteSize, FourCc, Fraction, FrameIntervals, FrameSize,
    PixelFormat, SizeRange, SizeRangeKind,
};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use ports::probe::{DeviceProbe, ProbeError, ProbeOutcome};

use crate::sys::{self, *};

/// Reads a V4L2 node's description with raw ioctls. Only reads: it never sets a format, so it
/// answers while another process (ffmpeg) streams from the node.
#[derive(Debug, Clone)]
pub struct V4l2Probe {
    budget: Duration,
}

impl V4l2Probe {
    /// Time a whole probe may take before it gives up (a wedged driver, a device
    /// that answers every index forever).
    pub const DEFAULT_BUDGET: Duration = Duration::from_secs(2);

    // Caps on what one enumeration may return; real devices are far below them.
    const MAX_FORMATS: u32 = 128;
    const MAX_SIZES: u32 = 512;
    const MAX_INTERVALS: u32 = 128;

    pub fn new(budget: Duration) -> V4l2Probe {
        V4l2Probe { budget }
    }
}

impl Default for V4l2Probe {
    fn default() -> Self {
        V4l2Probe::new(Self::DEFAULT_BUDGET)
    }
}

impl DeviceProbe for V4l2Probe {
    fn probe(&self, node: &Path) -> Result<ProbeOutcome, ProbeError> {
        let file = open_node(node)?;
        let session = Session {
            fd: file.as_raw_fd(),
            deadline: Instant::now() + self.budget,
            budget: self.budget,
            missing: Default::default(),
        };
        // `file` is dropped (closed) on every path out of here.
        session.describe()
    }
}

/// Opens read-write (what capture will need) and falls back to read-only, which is all
/// the probe itself needs. Never blocks on the device.
fn open_node(node: &Path) -> Result<File, ProbeError> {
    let open = |write: bool| {
        OpenOptions::new()
            .read(true)
            .write(write)
            .custom_flags((OFlag::O_NONBLOCK | OFlag::O_CLOEXEC | OFlag::O_NOCTTY).bits())
            .open(node)
    };
    match open(true) {
        Ok(file) => Ok(file),
        Err(e) if matches!(errno_of(&e), Errno::EACCES | Errno::EPERM | Errno::EROFS) => {
            open(false).map_err(|e| open_error(node, e))
        }
        Err(e) => Err(open_error(node, e)),
    }
}

fn errno_of(e: &io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(0))
}

fn open_error(node: &Path, e: io::Error) -> ProbeError {
    let reason = format!("open {}: {e}", node.display());
    match errno_of(&e) {
        Errno::ENOENT | Errno::ENODEV | Errno::ENXIO | Errno::ENOTDIR => ProbeError::Gone(reason),
        Errno::EACCES | Errno::EPERM => ProbeError::Denied(reason),
        _ => ProbeError::Failed(reason),
    }
}

/// How often an enumeration step that fails for another reason than "end of list" or
/// "unsupported" is asked before its part is given up as missing, and the pause between.
const PART_TRIES: u32 = 3;
const PART_RETRY_PAUSE: Duration = Duration::from_millis(10);

/// One open node being asked questions.
struct Session {
    fd: i32,
    deadline: Instant,
    budget: Duration,
    /// Enumerations the driver failed (not "end of list", not "unsupported") after retries.
    missing: std::cell::RefCell<Vec<String>>,
}

/// How an ioctl the probe could do without went.
enum Answer<T> {
    Some(T),
    /// The driver says no (EINVAL at the end of a list, ENOTTY when it lacks the ioctl).
    No(Errno),
}

impl Session {
    fn describe(&self) -> Result<ProbeOutcome, ProbeError> {
        let mut cap: V4l2Capability = sys::zeroed();
        // SAFETY: `cap` is a `struct v4l2_capability` the kernel fills; fd is open.
        self.ask("VIDIOC_QUERYCAP", || unsafe {
            vidioc_querycap(self.fd, &mut cap)
        })
        .and_then(|a| match a {
            Answer::Some(_) => Ok(()),
            Answer::No(e @ Errno::ENOTTY) => Err(ProbeError::Failed(format!(
                "not a V4L2 device: VIDIOC_QUERYCAP: {e}"
            ))),
            Answer::No(e) => Err(ProbeError::Failed(format!("VIDIOC_QUERYCAP: {e}"))),
        })?;
        let caps = if cap.capabilities & CAP_DEVICE_CAPS != 0 {
            cap.device_caps
        } else {
            cap.capabilities
        };
        let Some(buffer_types) = capture_buffer_types(caps) else {
            return Ok(ProbeOutcome::NotCapture);
        };

        let mut formats: Vec<PixelFormat> = Vec::new();
        for &buf_type in &buffer_types {
            for format in self.formats(buf_type)? {
                if !formats
                    .iter()
                    .any(|f| f.pixel_format == format.pixel_format)
                {
                    formats.push(format);
                }
            }
        }
        let current = self.current_mode(buffer_types[0])?;
        let description = DeviceDescription {
            driver: c_text(&cap.driver),
            card: c_text(&cap.card),
            bus_info: c_text(&cap.bus_info),
            formats,
            current,
        };
        let missing = self.missing.take();
        Ok(if missing.is_empty() {
            ProbeOutcome::Capture(description)
        } else {
            ProbeOutcome::Incomplete {
                description,
                missing,
            }
        })
    }

    fn formats(&self, buf_type: u32) -> Result<Vec<PixelFormat>, ProbeError> {
        let mut formats = Vec::new();
        for index in 0..V4l2Probe::MAX_FORMATS {
            let mut desc: V4l2Fmtdesc = sys::zeroed();
            desc.index = index;
            desc.type_ = buf_type;
            // SAFETY: `desc` is a `struct v4l2_fmtdesc` with index and type set.
            match self.ask("VIDIOC_ENUM_FMT", || unsafe {
                vidioc_enum_fmt(self.fd, &mut desc)
            })? {
                Answer::Some(_) => {}
                Answer::No(Errno::EINVAL) => break,
                Answer::No(e) => {
                    return Err(ProbeError::Failed(format!(
                        "VIDIOC_ENUM_FMT index {index}: {e}"
                    )));
                }
            }
            let code = desc.pixelformat;
            formats.push(PixelFormat {
                pixel_format: FourCc::from_u32(code),
                description: c_text(&desc.description),
                sizes: self.sizes(code)?,
            });
        }
        Ok(formats)
    }

    /// Every discrete size, or the one stepwise/continuous range; empty when the driver
    /// cannot say.
    fn sizes(&self, code: u32) -> Result<Vec<FrameSize>, ProbeError> {
        let mut sizes = Vec::new();
        for index in 0..V4l2Probe::MAX_SIZES {
            let mut e: V4l2Frmsizeenum = sys::zeroed();
            e.index = index;
            e.pixel_format = code;
            // SAFETY: `e` is a `struct v4l2_frmsizeenum` with index and pixel_format set.
            let Answer::Some(_) = self.ask_part(
                "VIDIOC_ENUM_FRAMESIZES",
                || format!("{} sizes", FourCc::from_u32(code)),
                || unsafe { vidioc_enum_framesizes(self.fd, &mut e) },
            )?
            else {
                break;
            };
            match e.type_ {
                FRMSIZE_TYPE_DISCRETE => {
                    // SAFETY: the driver said this union holds `discrete`.
                    let d = unsafe { e.size.discrete };
                    let frame_rates = self.intervals(code, d.width, d.height)?.frame_rates();
                    sizes.push(FrameSize::Discrete(DiscreteSize {
                        width: d.width,
                        height: d.height,
                        frame_rates,
                    }));
                }
                FRMSIZE_TYPE_STEPWISE | FRMSIZE_TYPE_CONTINUOUS => {
                    // SAFETY: the driver said this union holds `stepwise`.
                    let s = unsafe { e.size.stepwise };
                    let kind = if e.type_ == FRMSIZE_TYPE_STEPWISE {
                        SizeRangeKind::Stepwise
                    } else {
                        SizeRangeKind::Continuous
                    };
                    let frame_rates = self
                        .intervals(code, s.max_width, s.max_height)?
                        .frame_rates();
                    sizes.push(FrameSize::Range(SizeRange {
                        kind,
                        min_width: s.min_width,
                        max_width: s.max_width,
                        step_width: s.step_width,
                        min_height: s.min_height,
                        max_height: s.max_height,
                        step_height: s.step_height,
                        frame_rates,
                    }));
                    // A range is the only entry the driver has for this format.
                    break;
                }
                _ => break,
            }
        }
        Ok(sizes)
    }

    fn intervals(&self, code: u32, width: u32, height: u32) -> Result<FrameIntervals, ProbeError> {
        let mut discrete = Vec::new();
        for index in 0..V4l2Probe::MAX_INTERVALS {
            let mut e: V4l2Frmivalenum = sys::zeroed();
            e.index = index;
            e.pixel_format = code;
            e.width = width;
            e.height = height;
            // SAFETY: `e` is a `struct v4l2_frmivalenum` with index, format and size set.
            let Answer::Some(_) = self.ask_part(
                "VIDIOC_ENUM_FRAMEINTERVALS",
                || format!("{} {width}x{height} frame rates", FourCc::from_u32(code)),
                || unsafe { vidioc_enum_frameintervals(self.fd, &mut e) },
            )?
            else {
                break;
            };
            let fraction = |f: V4l2Fract| Fraction::new(f.numerator, f.denominator);
            match e.type_ {
                // SAFETY (all three arms): the driver said which member the union holds.
                FRMIVAL_TYPE_DISCRETE => discrete.push(fraction(unsafe { e.interval.discrete })),
                FRMIVAL_TYPE_STEPWISE if index == 0 => {
                    let s = unsafe { e.interval.stepwise };
                    return Ok(FrameIntervals::Stepwise {
                        min: fraction(s.min),
                        max: fraction(s.max),
                        step: fraction(s.step),
                    });
                }
                FRMIVAL_TYPE_CONTINUOUS if index == 0 => {
                    let s = unsafe { e.interval.stepwise };
                    return Ok(FrameIntervals::Continuous {
                        min: fraction(s.min),
                        max: fraction(s.max),
                    });
                }
                _ => break,
            }
        }
        Ok(if discrete.is_empty() {
            FrameIntervals::Unknown
        } else {
            FrameIntervals::Discrete(discrete)
        })
    }

    /// What `G_FMT` and `G_PARM` say now; `None` when the driver will not tell.
    fn current_mode(&self, buf_type: u32) -> Result<Option<CurrentMode>, ProbeError> {
        let mut fmt: V4l2Format = sys::zeroed();
        fmt.type_ = buf_type;
        // SAFETY: `fmt` is a `struct v4l2_format` with its type set; G_FMT only reads state.
        let Answer::Some(_) = self.ask("VIDIOC_G_FMT", || unsafe {
            vidioc_g_fmt(self.fd, &mut fmt)
        })?
        else {
            return Ok(None);
        };
        let (code, width, height) = if buf_type == BUF_TYPE_VIDEO_CAPTURE_MPLANE {
            // SAFETY: for a multi-planar buffer type the union holds `pix_mp`.
            let p = unsafe { fmt.fmt.pix_mp };
            (p.pixelformat, p.width, p.height)
        } else {
            // SAFETY: for a single-planar capture buffer type the union holds `pix`.
            let p = unsafe { fmt.fmt.pix };
            (p.pixelformat, p.width, p.height)
        };

        let mut parm: V4l2Streamparm = sys::zeroed();
        parm.type_ = buf_type;
        // SAFETY: `parm` is a `struct v4l2_streamparm` with its type set.
        let fps = match self.ask("VIDIOC_G_PARM", || unsafe {
            vidioc_g_parm(self.fd, &mut parm)
        })? {
            Answer::Some(_) => {
                // SAFETY: for a capture buffer type the union holds `capture`.
                let t = unsafe { parm.parm.capture.timeperframe };
                Fraction::new(t.numerator, t.denominator).fps()
            }
            Answer::No(_) => None,
        };
        Ok(Some(CurrentMode {
            pixel_format: FourCc::from_u32(code),
            width,
            height,
            fps,
        }))
    }

    /// One step of an enumeration the description can do without (sizes, frame intervals):
    /// EINVAL (the end of the list) and ENOTTY (the driver lacks the ioctl) are answers;
    /// any other refusal (EIO from a flaky device, EBUSY) is retried a few times, and if it
    /// persists `what` is noted as missing, so the caller can probe again later.
    fn ask_part(
        &self,
        name: &str,
        what: impl Fn() -> String,
        mut call: impl FnMut() -> nix::Result<i32>,
    ) -> Result<Answer<()>, ProbeError> {
        let mut tries = 0;
        loop {
            match self.ask(name, &mut call)? {
                Answer::No(e) if !matches!(e, Errno::EINVAL | Errno::ENOTTY) => {
                    tries += 1;
                    if tries < PART_TRIES {
                        std::thread::sleep(PART_RETRY_PAUSE);
                        continue;
                    }
                    self.missing
                        .borrow_mut()
                        .push(format!("{} ({name}: {e})", what()));
                    return Ok(Answer::No(e));
                }
                answer => return Ok(answer),
            }
        }
    }

    /// Runs one ioctl: retries interruptions, turns a vanished device into `Gone` and a
    /// blown budget into `Failed`; any other refusal is the caller's to judge.
    fn ask(
        &self,
        name: &str,
        mut call: impl FnMut() -> nix::Result<i32>,
    ) -> Result<Answer<()>, ProbeError> {
        loop {
            if Instant::now() > self.deadline {
                return Err(ProbeError::Failed(format!(
                    "probe took longer than {:?} (at {name})",
                    self.budget
                )));
            }
            return match call() {
                Ok(_) => Ok(Answer::Some(())),
                Err(Errno::EINTR | Errno::EAGAIN) => continue,
                Err(e @ (Errno::ENODEV | Errno::ENXIO)) => {
                    Err(ProbeError::Gone(format!("{name}: {e}")))
                }
                Err(e) => Ok(Answer::No(e)),
            };
        }
    }
}

/// The capture buffer types a node offers, single-planar first; `None` for nodes that are
/// not cameras: metadata-only, output-only, and memory-to-memory (codec, ISP) nodes.
fn capture_buffer_types(caps: u32) -> Option<Vec<u32>> {
    let not_camera =
        CAP_VIDEO_OUTPUT | CAP_VIDEO_OUTPUT_MPLANE | CAP_VIDEO_M2M | CAP_VIDEO_M2M_MPLANE;
    if caps & not_camera != 0 {
        return None;
    }
    let mut types = Vec::new();
    if caps & CAP_VIDEO_CAPTURE != 0 {
        types.push(BUF_TYPE_VIDEO_CAPTURE);
    }
    if caps & CAP_VIDEO_CAPTURE_MPLANE != 0 {
        types.push(BUF_TYPE_VIDEO_CAPTURE_MPLANE);
    }
    (!types.is_empty()).then_some(types)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_and_codec_nodes_are_not_cameras() {
        assert_eq!(capture_buffer_types(CAP_META_CAPTURE | CAP_STREAMING), None);
        assert_eq!(
            capture_buffer_types(CAP_VIDEO_M2M_MPLANE | CAP_STREAMING),
            None
        );
        assert_eq!(
            capture_buffer_types(CAP_VIDEO_CAPTURE | CAP_VIDEO_OUTPUT),
            None
        );
        assert_eq!(capture_buffer_types(CAP_VIDEO_OUTPUT), None);
    }

    #[test]
    fn capture_nodes_list_single_planar_first() {
        assert_eq!(
            capture_buffer_types(CAP_VIDEO_CAPTURE),
            Some(vec![BUF_TYPE_VIDEO_CAPTURE])
        );
        assert_eq!(
            capture_buffer_types(CAP_VIDEO_CAPTURE_MPLANE | CAP_VIDEO_CAPTURE),
            Some(vec![BUF_TYPE_VIDEO_CAPTURE, BUF_TYPE_VIDEO_CAPTURE_MPLANE])
        );
    }

    #[test]
    fn a_missing_node_is_gone() {
        let err = V4l2Probe::default()
            .probe(Path::new("/nonexistent/video0"))
            .unwrap_err();
        assert!(matches!(err, ProbeError::Gone(_)), "{err:?}");
    }

    #[test]
    fn a_regular_file_is_not_a_v4l2_device() {
        let err = V4l2Probe::default()
            .probe(Path::new("/proc/self/status"))
            .unwrap_err();
        assert!(matches!(err, ProbeError::Failed(_)), "{err:?}");
    }
}
