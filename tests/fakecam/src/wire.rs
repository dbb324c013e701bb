//! The V4L2 ioctls the bench answers, encoded at the byte offsets of `<linux/videodev2.h>`.
//!
//! Deliberately independent of the probe's `#[repr(C)]` structs: the bench writes each field
//! at the offset the kernel header gives it, so a layout mistake in the probe shows up as a
//! wrong answer instead of being mirrored here.

// Request codes on 64-bit Linux (x86_64, aarch64): `_IOWR('V', nr, struct ...)`.
pub const VIDIOC_QUERYCAP: u32 = 0x8068_5600;
pub const VIDIOC_ENUM_FMT: u32 = 0xc040_5602;
pub const VIDIOC_G_FMT: u32 = 0xc0d0_5604;
pub const VIDIOC_G_PARM: u32 = 0xc0cc_5615;
pub const VIDIOC_ENUM_FRAMESIZES: u32 = 0xc02c_564a;
pub const VIDIOC_ENUM_FRAMEINTERVALS: u32 = 0xc034_564b;

/// The size the kernel copies in and out for a request code (`_IOC_SIZE`).
pub fn ioc_size(cmd: u32) -> usize {
    ((cmd >> 16) & 0x3fff) as usize
}

/// Capability bits.
pub const CAP_VIDEO_CAPTURE: u32 = 0x0000_0001;
pub const CAP_VIDEO_CAPTURE_MPLANE: u32 = 0x0000_1000;
pub const CAP_VIDEO_OUTPUT: u32 = 0x0000_0002;
pub const CAP_VIDEO_OUTPUT_MPLANE: u32 = 0x0000_2000;
pub const CAP_VIDEO_M2M_MPLANE: u32 = 0x0000_4000;
pub const CAP_VIDEO_M2M: u32 = 0x0000_8000;
pub const CAP_EXT_PIX_FORMAT: u32 = 0x0020_0000;
pub const CAP_META_CAPTURE: u32 = 0x0080_0000;
pub const CAP_STREAMING: u32 = 0x0400_0000;
pub const CAP_IO_MC: u32 = 0x2000_0000;
pub const CAP_DEVICE_CAPS: u32 = 0x8000_0000;

/// Buffer types.
pub const BUF_TYPE_VIDEO_CAPTURE: u32 = 1;
pub const BUF_TYPE_VIDEO_CAPTURE_MPLANE: u32 = 9;
pub const BUF_TYPE_META_CAPTURE: u32 = 13;

/// `v4l2_captureparm.capability`: the driver can report the frame interval.
pub const CAP_TIMEPERFRAME: u32 = 0x1000;

// struct v4l2_capability (104 bytes)
pub const CAPABILITY_DRIVER: (usize, usize) = (0, 16);
pub const CAPABILITY_CARD: (usize, usize) = (16, 32);
pub const CAPABILITY_BUS_INFO: (usize, usize) = (48, 32);
pub const CAPABILITY_VERSION: usize = 80;
pub const CAPABILITY_CAPABILITIES: usize = 84;
pub const CAPABILITY_DEVICE_CAPS: usize = 88;

// struct v4l2_fmtdesc (64 bytes)
pub const FMTDESC_INDEX: usize = 0;
pub const FMTDESC_TYPE: usize = 4;
pub const FMTDESC_FLAGS: usize = 8;
pub const FMTDESC_DESCRIPTION: (usize, usize) = (12, 32);
pub const FMTDESC_PIXELFORMAT: usize = 44;

// struct v4l2_frmsizeenum (44 bytes)
pub const FRMSIZE_INDEX: usize = 0;
pub const FRMSIZE_PIXEL_FORMAT: usize = 4;
pub const FRMSIZE_TYPE: usize = 8;
/// discrete: width, height; stepwise: min_w, max_w, step_w, min_h, max_h, step_h
pub const FRMSIZE_UNION: usize = 12;

// struct v4l2_frmivalenum (52 bytes)
pub const FRMIVAL_INDEX: usize = 0;
pub const FRMIVAL_PIXEL_FORMAT: usize = 4;
pub const FRMIVAL_WIDTH: usize = 8;
pub const FRMIVAL_HEIGHT: usize = 12;
pub const FRMIVAL_TYPE: usize = 16;
/// discrete: num, den; stepwise: min (num, den), max (num, den), step (num, den)
pub const FRMIVAL_UNION: usize = 20;

// struct v4l2_format (208 bytes on 64-bit: the union is 8-aligned)
pub const FORMAT_TYPE: usize = 0;
/// pix and pix_mp both start with width, height, pixelformat
pub const FORMAT_WIDTH: usize = 8;
pub const FORMAT_HEIGHT: usize = 12;
pub const FORMAT_PIXELFORMAT: usize = 16;

// struct v4l2_streamparm (204 bytes)
pub const STREAMPARM_TYPE: usize = 0;
pub const STREAMPARM_CAPABILITY: usize = 4;
pub const STREAMPARM_TIMEPERFRAME: usize = 12;

// Size types shared by frame sizes and frame intervals.
pub const TYPE_DISCRETE: u32 = 1;
pub const TYPE_CONTINUOUS: u32 = 2;
pub const TYPE_STEPWISE: u32 = 3;

#[cfg(not(target_pointer_width = "64"))]
compile_error!("the bench's request codes and v4l2_format offsets are those of 64-bit Linux");

pub fn get_u32(buf: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

pub fn put_u32(buf: &mut [u8], at: usize, value: u32) {
    buf[at..at + 4].copy_from_slice(&value.to_ne_bytes());
}

/// A NUL-padded string field; text longer than the field is cut, leaving the final NUL.
pub fn put_str(buf: &mut [u8], (at, len): (usize, usize), text: &str) {
    let field = &mut buf[at..at + len];
    field.fill(0);
    let n = text.len().min(len - 1);
    field[..n].copy_from_slice(&text.as_bytes()[..n]);
}

pub fn fourcc(code: [u8; 4]) -> u32 {
    u32::from_le_bytes(code)
}
