//! The slice of `<linux/videodev2.h>` the probe needs, laid out by hand.
//!
//! Every struct carries compile-time assertions of its size and of the offsets the probe
//! reads, taken from the kernel's header (x86_64 and aarch64 agree on all of them). A wrong
//! size would also change the ioctl request code, which is asserted against the kernel's too.

#![allow(dead_code)] // the header's fields are kept whole even where the probe reads few

use std::mem::{offset_of, size_of};

// Device capability bits (`v4l2_capability.capabilities` / `device_caps`).
pub const CAP_VIDEO_CAPTURE: u32 = 0x0000_0001;
pub const CAP_VIDEO_OUTPUT: u32 = 0x0000_0002;
pub const CAP_VIDEO_CAPTURE_MPLANE: u32 = 0x0000_1000;
pub const CAP_VIDEO_OUTPUT_MPLANE: u32 = 0x0000_2000;
pub const CAP_VIDEO_M2M_MPLANE: u32 = 0x0000_4000;
pub const CAP_VIDEO_M2M: u32 = 0x0000_8000;
pub const CAP_META_CAPTURE: u32 = 0x0080_0000;
pub const CAP_STREAMING: u32 = 0x0400_0000;
pub const CAP_DEVICE_CAPS: u32 = 0x8000_0000;

// `enum v4l2_buf_type`.
pub const BUF_TYPE_VIDEO_CAPTURE: u32 = 1;
pub const BUF_TYPE_VIDEO_CAPTURE_MPLANE: u32 = 9;

// `enum v4l2_frmsizetypes` and `enum v4l2_frmivaltypes` share their values.
pub const FRMSIZE_TYPE_DISCRETE: u32 = 1;
pub const FRMSIZE_TYPE_CONTINUOUS: u32 = 2;
pub const FRMSIZE_TYPE_STEPWISE: u32 = 3;
pub const FRMIVAL_TYPE_DISCRETE: u32 = 1;
pub const FRMIVAL_TYPE_CONTINUOUS: u32 = 2;
pub const FRMIVAL_TYPE_STEPWISE: u32 = 3;

/// `struct v4l2_capability`
#[repr(C)]
#[derive(Clone, Copy)]
pub struct V4l2Capability {
    pub driver: [u8; 16],
    pub card: [u8; 32],
    pub bus_info: [u8; 32],
    pub version: u32,
    pub capabilities: u32,
    pub device_caps: u32,
    pub reserved: [u32; 3],
}
const _: () = assert!(size_of::<V4l2Capability>() == 104);
const _: () = assert!(offset_of!(V4l2Capability, card) == 16);
const _: () = assert!(offset_of!(V4l2Capability, bus_info) == 48);
const _: () = assert!(offset_of!(V4l2Capability, capabilities) == 84);
const _: () = assert!(offset_of!(V4l2Capability, device_caps) == 88);

/// `struct v4l2_fmtdesc`
#[repr(C)]
#[derive(Clone, Copy)]
pub struct V4l2Fmtdesc {
    pub index: u32,
    pub type_: u32,
    pub flags: u32,
    pub description: [u8; 32],
    pub pixelformat: u32,
    pub mbus_code: u32,
    pub reserved: [u32; 3],
}
const _: () = assert!(size_of::<V4l2Fmtdesc>() == 64);
const _: () = assert!(offset_of!(V4l2Fmtdesc, description) == 12);
const _: () = assert!(offset_of!(V4l2Fmtdesc, pixelformat) == 44);

/// `struct v4l2_frmsize_discrete`
#[repr(C)]
#[derive(Clone, Copy)]
pub struct V4l2FrmsizeDiscrete {
    pub width: u32,
    pub height: u32,
}

/// `struct v4l2_frmsize_stepwise`
#[repr(C)]
#[derive(Clone, Copy)]
pub struct V4l2FrmsizeStepwise {
    pub min_width: u32,
    pub max_width: u32,
    pub step_width: u32,
    pub min_height: u32,
    pub max_height: u32,
    pub step_height: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub union V4l2FrmsizeUnion {
    pub discrete: V4l2FrmsizeDiscrete,
    pub stepwise: V4l2FrmsizeStepwise,
}

/// `struct v4l2_frmsizeenum`
#[repr(C)]
#[derive(Clone, Copy)]
pub struct V4l2Frmsizeenum {
    pub index: u32,
    pub pixel_format: u32,
    pub type_: u32,
    pub size: V4l2FrmsizeUnion,
    pub reserved: [u32; 2],
}
const _: () = assert!(size_of::<V4l2Frmsizeenum>() == 44);
const _: () = assert!(offset_of!(V4l2Frmsizeenum, type_) == 8);
const _: () = assert!(offset_of!(V4l2Frmsizeenum, size) == 12);
const _: () = assert!(offset_of!(V4l2Frmsizeenum, reserved) == 36);

/// `struct v4l2_fract`
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct V4l2Fract {
    pub numerator: u32,
    pub denominator: u32,
}

/// `struct v4l2_frmival_stepwise`
#[repr(C)]
#[derive(Clone, Copy)]
pub struct V4l2FrmivalStepwise {
    pub min: V4l2Fract,
    pub max: V4l2Fract,
    pub step: V4l2Fract,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub union V4l2FrmivalUnion {
    pub discrete: V4l2Fract,
    pub stepwise: V4l2FrmivalStepwise,
}

/// `struct v4l2_frmivalenum`
#[repr(C)]
#[derive(Clone, Copy)]
pub struct V4l2Frmivalenum {
    pub index: u32,
    pub pixel_format: u32,
    pub width: u32,
    pub height: u32,
    pub type_: u32,
    pub interval: V4l2FrmivalUnion,
    pub reserved: [u32; 2],
}
const _: () = assert!(size_of::<V4l2Frmivalenum>() == 52);
const _: () = assert!(offset_of!(V4l2Frmivalenum, type_) == 16);
const _: () = assert!(offset_of!(V4l2Frmivalenum, interval) == 20);
const _: () = assert!(offset_of!(V4l2Frmivalenum, reserved) == 44);

/// `struct v4l2_pix_format`
#[repr(C)]
#[derive(Clone, Copy)]
pub struct V4l2PixFormat {
    pub width: u32,
    pub height: u32,
    pub pixelformat: u32,
    pub field: u32,
    pub bytesperline: u32,
    pub sizeimage: u32,
    pub colorspace: u32,
    pub priv_: u32,
    pub flags: u32,
    pub ycbcr_enc: u32,
    pub quantization: u32,
    pub xfer_func: u32,
}
const _: () = assert!(size_of::<V4l2PixFormat>() == 48);

/// `struct v4l2_plane_pix_format` (packed in the kernel; naturally aligned anyway)
#[repr(C, packed)]
#[derive(Clone, Copy)]
pub struct V4l2PlanePixFormat {
    pub sizeimage: u32,
    pub bytesperline: u32,
    pub reserved: [u16; 6],
}
const _: () = assert!(size_of::<V4l2PlanePixFormat>() == 20);

/// `struct v4l2_pix_format_mplane` (packed in the kernel)
#[repr(C, packed)]
#[derive(Clone, Copy)]
pub struct V4l2PixFormatMplane {
    pub width: u32,
    pub height: u32,
    pub pixelformat: u32,
    pub field: u32,
    pub colorspace: u32,
    pub plane_fmt: [V4l2PlanePixFormat; 8],
    pub num_planes: u8,
    pub flags: u8,
    pub ycbcr_enc: u8,
    pub quantization: u8,
    pub xfer_func: u8,
    pub reserved: [u8; 7],
}
const _: () = assert!(size_of::<V4l2PixFormatMplane>() == 192);
const _: () = assert!(offset_of!(V4l2PixFormatMplane, num_planes) == 180);

/// The `fmt` union of `struct v4l2_format`. The kernel's union also holds
/// `struct v4l2_window`, which has pointers: that is what aligns it to 8 bytes on 64-bit
/// targets, and what `_pointer_alignment` stands for here.
#[repr(C)]
#[derive(Clone, Copy)]
pub union V4l2FormatUnion {
    pub pix: V4l2PixFormat,
    pub pix_mp: V4l2PixFormatMplane,
    pub raw_data: [u8; 200],
    _pointer_alignment: [usize; 0],
}

/// `struct v4l2_format`
#[repr(C)]
#[derive(Clone, Copy)]
pub struct V4l2Format {
    pub type_: u32,
    pub fmt: V4l2FormatUnion,
}
#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<V4l2Format>() == 208 && offset_of!(V4l2Format, fmt) == 8);
#[cfg(target_pointer_width = "32")]
const _: () = assert!(size_of::<V4l2Format>() == 204 && offset_of!(V4l2Format, fmt) == 4);

/// `struct v4l2_captureparm`
#[repr(C)]
#[derive(Clone, Copy)]
pub struct V4l2Captureparm {
    pub capability: u32,
    pub capturemode: u32,
    pub timeperframe: V4l2Fract,
    pub extendedmode: u32,
    pub readbuffers: u32,
    pub reserved: [u32; 4],
}
const _: () = assert!(size_of::<V4l2Captureparm>() == 40);
const _: () = assert!(offset_of!(V4l2Captureparm, timeperframe) == 8);

#[repr(C)]
#[derive(Clone, Copy)]
pub union V4l2StreamparmUnion {
    pub capture: V4l2Captureparm,
    pub raw_data: [u8; 200],
}

/// `struct v4l2_streamparm`
#[repr(C)]
#[derive(Clone, Copy)]
pub struct V4l2Streamparm {
    pub type_: u32,
    pub parm: V4l2StreamparmUnion,
}
const _: () = assert!(size_of::<V4l2Streamparm>() == 204);
const _: () = assert!(offset_of!(V4l2Streamparm, parm) == 4);

/// An ioctl struct made of integers, arrays of integers and unions of those only.
///
/// # Safety
/// All-zero bytes must be a valid value of the implementing type.
pub unsafe trait Plain: Copy {}

// SAFETY: each is `#[repr(C)]` and holds only integers, integer arrays and unions of those.
unsafe impl Plain for V4l2Capability {}
unsafe impl Plain for V4l2Fmtdesc {}
unsafe impl Plain for V4l2Frmsizeenum {}
unsafe impl Plain for V4l2Frmivalenum {}
unsafe impl Plain for V4l2Format {}
unsafe impl Plain for V4l2Streamparm {}

/// The all-zero value of an ioctl struct, as the kernel expects for its reserved fields.
pub fn zeroed<T: Plain>() -> T {
    // SAFETY: `Plain` promises all-zero bytes are a valid `T`.
    unsafe { std::mem::zeroed() }
}

nix::ioctl_read!(vidioc_querycap, b'V', 0, V4l2Capability);
nix::ioctl_readwrite!(vidioc_enum_fmt, b'V', 2, V4l2Fmtdesc);
nix::ioctl_readwrite!(vidioc_g_fmt, b'V', 4, V4l2Format);
nix::ioctl_readwrite!(vidioc_g_parm, b'V', 21, V4l2Streamparm);
nix::ioctl_readwrite!(vidioc_enum_framesizes, b'V', 74, V4l2Frmsizeenum);
nix::ioctl_readwrite!(vidioc_enum_frameintervals, b'V', 75, V4l2Frmivalenum);

/// The request codes, as `<linux/videodev2.h>` computes them on x86_64 and aarch64.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
mod request_codes {
    use super::*;
    const fn code_rw<T>(nr: u8) -> u64 {
        nix::request_code_readwrite!(b'V', nr, size_of::<T>()) as u64
    }
    const _: () = assert!(
        nix::request_code_read!(b'V', 0, size_of::<V4l2Capability>()) as u64 == 0x8068_5600
    );
    const _: () = assert!(code_rw::<V4l2Fmtdesc>(2) == 0xc040_5602);
    const _: () = assert!(code_rw::<V4l2Format>(4) == 0xc0d0_5604);
    const _: () = assert!(code_rw::<V4l2Streamparm>(21) == 0xc0cc_5615);
    const _: () = assert!(code_rw::<V4l2Frmsizeenum>(74) == 0xc02c_564a);
    const _: () = assert!(code_rw::<V4l2Frmivalenum>(75) == 0xc034_564b);
}

/// The text of a NUL-padded fixed-size string field.
pub fn c_text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}
