//! The control ioctls' structs of `<linux/videodev2.h>`, laid out by hand, with compile-time
//! checks of their sizes, the offsets read, and the request codes (64-bit Linux).

use std::mem::{offset_of, size_of};

use crate::sys::Plain;

pub const CTRL_FLAG_DISABLED: u32 = 0x0001;
pub const CTRL_FLAG_WRITE_ONLY: u32 = 0x0040;
pub const CTRL_FLAG_NEXT_CTRL: u32 = 0x8000_0000;
pub const CTRL_TYPE_CTRL_CLASS: u32 = 6;

/// `struct v4l2_queryctrl` (the old query: 32-bit range).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct V4l2Queryctrl {
    pub id: u32,
    pub type_: u32,
    pub name: [u8; 32],
    pub minimum: i32,
    pub maximum: i32,
    pub step: i32,
    pub default_value: i32,
    pub flags: u32,
    pub reserved: [u32; 2],
}
const _: () = assert!(size_of::<V4l2Queryctrl>() == 68);
const _: () = assert!(offset_of!(V4l2Queryctrl, minimum) == 40);
const _: () = assert!(offset_of!(V4l2Queryctrl, flags) == 56);

/// `struct v4l2_query_ext_ctrl` (64-bit range, element info).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct V4l2QueryExtCtrl {
    pub id: u32,
    pub type_: u32,
    pub name: [u8; 32],
    pub minimum: i64,
    pub maximum: i64,
    pub step: u64,
    pub default_value: i64,
    pub flags: u32,
    pub elem_size: u32,
    pub elems: u32,
    pub nr_of_dims: u32,
    pub dims: [u32; 4],
    pub reserved: [u32; 32],
}
const _: () = assert!(size_of::<V4l2QueryExtCtrl>() == 232);
const _: () = assert!(offset_of!(V4l2QueryExtCtrl, minimum) == 40);
const _: () = assert!(offset_of!(V4l2QueryExtCtrl, default_value) == 64);
const _: () = assert!(offset_of!(V4l2QueryExtCtrl, flags) == 72);
const _: () = assert!(offset_of!(V4l2QueryExtCtrl, elems) == 80);
const _: () = assert!(offset_of!(V4l2QueryExtCtrl, reserved) == 104);

/// `struct v4l2_querymenu` (packed; `name` and `value` share bytes 8..40).
#[repr(C, packed)]
#[derive(Clone, Copy)]
pub struct V4l2Querymenu {
    pub id: u32,
    pub index: u32,
    /// The menu text, or (integer menus) an `__s64` in its first 8 bytes.
    pub name_or_value: [u8; 32],
    pub reserved: u32,
}
const _: () = assert!(size_of::<V4l2Querymenu>() == 44);

impl V4l2Querymenu {
    pub fn value(&self) -> i64 {
        let b = self.name_or_value;
        i64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    }
}

/// `struct v4l2_control`
#[repr(C)]
#[derive(Clone, Copy)]
pub struct V4l2Control {
    pub id: u32,
    pub value: i32,
}
const _: () = assert!(size_of::<V4l2Control>() == 8);

/// `struct v4l2_ext_control` (packed; the union is `value`, `value64` or a pointer).
#[repr(C, packed)]
#[derive(Clone, Copy)]
pub struct V4l2ExtControl {
    pub id: u32,
    pub size: u32,
    pub reserved2: u32,
    pub value64: i64,
}
const _: () = assert!(size_of::<V4l2ExtControl>() == 20);

/// `struct v4l2_ext_controls`
#[repr(C)]
#[derive(Clone, Copy)]
pub struct V4l2ExtControls {
    /// `ctrl_class` / `which`.
    pub which: u32,
    pub count: u32,
    pub error_idx: u32,
    pub request_fd: i32,
    pub reserved: u32,
    pub controls: *mut V4l2ExtControl,
}
#[cfg(target_pointer_width = "64")]
const _: () =
    assert!(size_of::<V4l2ExtControls>() == 32 && offset_of!(V4l2ExtControls, controls) == 24);

// SAFETY: each is `#[repr(C)]` of integers and integer arrays; zero is valid for all
// (`V4l2ExtControls`' pointer is null when zeroed, and set before every call).
unsafe impl Plain for V4l2Queryctrl {}
unsafe impl Plain for V4l2QueryExtCtrl {}
unsafe impl Plain for V4l2Querymenu {}
unsafe impl Plain for V4l2Control {}
unsafe impl Plain for V4l2ExtControl {}
unsafe impl Plain for V4l2ExtControls {}

nix::ioctl_readwrite!(vidioc_g_ctrl, b'V', 27, V4l2Control);
nix::ioctl_readwrite!(vidioc_s_ctrl, b'V', 28, V4l2Control);
nix::ioctl_readwrite!(vidioc_queryctrl, b'V', 36, V4l2Queryctrl);
nix::ioctl_readwrite!(vidioc_querymenu, b'V', 37, V4l2Querymenu);
nix::ioctl_readwrite!(vidioc_g_ext_ctrls, b'V', 71, V4l2ExtControls);
nix::ioctl_readwrite!(vidioc_s_ext_ctrls, b'V', 72, V4l2ExtControls);
nix::ioctl_readwrite!(vidioc_query_ext_ctrl, b'V', 103, V4l2QueryExtCtrl);

#[cfg(all(
    target_pointer_width = "64",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod request_codes {
    use super::*;
    const fn code_rw<T>(nr: u8) -> u64 {
        nix::request_code_readwrite!(b'V', nr, size_of::<T>()) as u64
    }
    const _: () = assert!(code_rw::<V4l2Control>(27) == 0xc008_561b);
    const _: () = assert!(code_rw::<V4l2Control>(28) == 0xc008_561c);
    const _: () = assert!(code_rw::<V4l2Queryctrl>(36) == 0xc044_5624);
    const _: () = assert!(code_rw::<V4l2Querymenu>(37) == 0xc02c_5625);
    const _: () = assert!(code_rw::<V4l2ExtControls>(71) == 0xc020_5647);
    const _: () = assert!(code_rw::<V4l2ExtControls>(72) == 0xc020_5648);
    const _: () = assert!(code_rw::<V4l2QueryExtCtrl>(103) == 0xc0e8_5667);
}
