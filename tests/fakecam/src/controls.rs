//! A fake node's controls: the control ioctls answered from a table, with values that
//! change when written, auto controls that make their manual partners inactive, menus
//! with gaps, and injected write failures (EBUSY, EACCES, ERANGE, ...).
//!
//! Like the rest of the bench it encodes every struct at the kernel header's byte offsets,
//! independently of the adapter's `#[repr(C)]` structs. `VIDIOC_G_EXT_CTRLS` /
//! `VIDIOC_S_EXT_CTRLS` carry a pointer to the control array, which FUSE's restricted
//! ioctls cannot follow; the bench reads and writes that array in the caller's memory
//! through `/proc/<pid>/mem`, as a driver's `video_usercopy` copies it.

use std::os::unix::fs::FileExt;

use nix::errno::Errno;

use crate::wire::{get_u32, put_str, put_u32};

pub const VIDIOC_G_CTRL: u32 = 0xc008_561b;
pub const VIDIOC_S_CTRL: u32 = 0xc008_561c;
pub const VIDIOC_QUERYCTRL: u32 = 0xc044_5624;
pub const VIDIOC_QUERYMENU: u32 = 0xc02c_5625;
pub const VIDIOC_G_EXT_CTRLS: u32 = 0xc020_5647;
pub const VIDIOC_S_EXT_CTRLS: u32 = 0xc020_5648;
pub const VIDIOC_QUERY_EXT_CTRL: u32 = 0xc0e8_5667;

pub const TYPE_INTEGER: u32 = 1;
pub const TYPE_BOOLEAN: u32 = 2;
pub const TYPE_MENU: u32 = 3;
pub const TYPE_BUTTON: u32 = 4;
pub const TYPE_INTEGER64: u32 = 5;
pub const TYPE_CTRL_CLASS: u32 = 6;
pub const TYPE_STRING: u32 = 7;
pub const TYPE_BITMASK: u32 = 8;
pub const TYPE_INTEGER_MENU: u32 = 9;

pub const FLAG_DISABLED: u32 = 0x0001;
pub const FLAG_GRABBED: u32 = 0x0002;
pub const FLAG_READ_ONLY: u32 = 0x0004;
pub const FLAG_INACTIVE: u32 = 0x0010;
pub const FLAG_WRITE_ONLY: u32 = 0x0040;
pub const FLAG_VOLATILE: u32 = 0x0080;
pub const FLAG_NEXT_CTRL: u32 = 0x8000_0000;

/// Is `cmd` one of the control ioctls?
pub fn is_control_cmd(cmd: u32) -> bool {
    matches!(
        cmd,
        VIDIOC_G_CTRL
            | VIDIOC_S_CTRL
            | VIDIOC_QUERYCTRL
            | VIDIOC_QUERYMENU
            | VIDIOC_G_EXT_CTRLS
            | VIDIOC_S_EXT_CTRLS
            | VIDIOC_QUERY_EXT_CTRL
    )
}

/// A menu entry: text, or an integer menu's value.
#[derive(Debug, Clone, PartialEq)]
pub enum FakeMenuEntry {
    Name(String),
    Value(i64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct FakeControl {
    pub cid: u32,
    pub type_: u32,
    pub name: String,
    pub minimum: i64,
    pub maximum: i64,
    pub step: u64,
    pub default: i64,
    /// Static flags (INACTIVE is added while a linked auto control is on).
    pub flags: u32,
    /// (index, entry); indexes may skip (uvc menus have gaps).
    pub menu: Vec<(u32, FakeMenuEntry)>,
    pub value: i64,
}

/// An auto control and a manual control it overrides: the manual one is INACTIVE unless
/// the auto control's value is one of `manual_values`.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeLink {
    pub auto: u32,
    pub manual: u32,
    pub manual_values: Vec<i64>,
}

/// A node's control table and how its driver behaves.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FakeControls {
    pub controls: Vec<FakeControl>,
    pub links: Vec<FakeLink>,
    /// The driver predates `VIDIOC_QUERY_EXT_CTRL` (ENOTTY): only `VIDIOC_QUERYCTRL`.
    pub no_ext_query: bool,
    /// Writes to an inactive control are refused with EACCES (as uvcvideo does).
    pub refuse_inactive: bool,
    /// Writes failing with this error: for one CID, or (`None`) for every control.
    pub failing_writes: Vec<(Option<u32>, Errno)>,
    /// Successful writes so far.
    pub writes: u64,
}

impl FakeControls {
    pub fn get(&self, cid: u32) -> Option<&FakeControl> {
        self.controls.iter().find(|c| c.cid == cid)
    }

    pub fn value(&self, cid: u32) -> Option<i64> {
        self.get(cid).map(|c| c.value)
    }

    /// The flags a query reports now.
    pub fn flags_now(&self, c: &FakeControl) -> u32 {
        let inactive = self.links.iter().any(|l| {
            l.manual == c.cid
                && self
                    .value(l.auto)
                    .is_some_and(|v| !l.manual_values.contains(&v))
        });
        c.flags | if inactive { FLAG_INACTIVE } else { 0 }
    }

    /// The next control after `id` (class headers included, as drivers list them), or the
    /// control `id` itself.
    fn query(&self, id: u32) -> Result<&FakeControl, Errno> {
        if id & FLAG_NEXT_CTRL != 0 {
            let after = id & !FLAG_NEXT_CTRL & 0x0fff_ffff;
            let mut sorted: Vec<&FakeControl> = self.controls.iter().collect();
            sorted.sort_by_key(|c| c.cid);
            sorted
                .into_iter()
                .find(|c| c.cid > after)
                .ok_or(Errno::EINVAL)
        } else {
            self.get(id).ok_or(Errno::EINVAL)
        }
    }

    fn write(&mut self, cid: u32, value: i64) -> Result<(), Errno> {
        if let Some((_, e)) = self
            .failing_writes
            .iter()
            .find(|(c, _)| c.is_none_or(|c| c == cid))
        {
            return Err(*e);
        }
        let c = self.get(cid).ok_or(Errno::EINVAL)?;
        let flags = self.flags_now(c);
        if flags & FLAG_READ_ONLY != 0 {
            return Err(Errno::EACCES);
        }
        if flags & FLAG_GRABBED != 0 {
            return Err(Errno::EBUSY);
        }
        if self.refuse_inactive && flags & FLAG_INACTIVE != 0 {
            return Err(Errno::EACCES);
        }
        match c.type_ {
            TYPE_BUTTON => {}
            TYPE_MENU | TYPE_INTEGER_MENU => {
                if !c.menu.iter().any(|(i, _)| i64::from(*i) == value) {
                    return Err(Errno::EINVAL);
                }
            }
            TYPE_BITMASK => {
                if value as u64 & !(c.maximum as u64) != 0 {
                    return Err(Errno::ERANGE);
                }
            }
            TYPE_STRING | TYPE_CTRL_CLASS => return Err(Errno::EINVAL),
            _ => {
                let step = i128::from(c.step.max(1));
                let off_step = (i128::from(value) - i128::from(c.minimum)) % step != 0;
                if value < c.minimum || value > c.maximum || off_step {
                    return Err(Errno::ERANGE);
                }
            }
        }
        let c = self
            .controls
            .iter_mut()
            .find(|c| c.cid == cid)
            .expect("found above");
        if c.type_ != TYPE_BUTTON {
            c.value = value;
        }
        self.writes += 1;
        Ok(())
    }

    fn read(&self, cid: u32) -> Result<i64, Errno> {
        let c = self.get(cid).ok_or(Errno::EINVAL)?;
        if c.flags & FLAG_WRITE_ONLY != 0 || c.type_ == TYPE_BUTTON {
            return Err(Errno::EACCES);
        }
        if matches!(c.type_, TYPE_CTRL_CLASS | TYPE_STRING) {
            return Err(Errno::EINVAL);
        }
        Ok(c.value)
    }
}

// struct v4l2_queryctrl (68 bytes) / struct v4l2_query_ext_ctrl (232 bytes)
const Q_ID: usize = 0;
const Q_TYPE: usize = 4;
const Q_NAME: (usize, usize) = (8, 32);
const QC_MIN: usize = 40;
const QC_FLAGS: usize = 56;
const QE_MIN: usize = 40;
const QE_FLAGS: usize = 72;
const QE_ELEM_SIZE: usize = 76;
const QE_ELEMS: usize = 80;
// struct v4l2_querymenu (44 bytes)
const QM_ID: usize = 0;
const QM_INDEX: usize = 4;
const QM_NAME: (usize, usize) = (8, 32);
// struct v4l2_ext_controls (32 bytes) and struct v4l2_ext_control (20 bytes)
const EC_COUNT: usize = 4;
const EC_ERROR_IDX: usize = 8;
const EC_CONTROLS: usize = 24;
const E_SIZE: usize = 20;
const E_ID: usize = 0;
const E_VALUE: usize = 12;

fn put_i64(buf: &mut [u8], at: usize, v: i64) {
    buf[at..at + 8].copy_from_slice(&v.to_ne_bytes());
}

fn get_i64(buf: &[u8], at: usize) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[at..at + 8]);
    i64::from_ne_bytes(b)
}

/// Answers a control ioctl on `controls`; `pid` is the caller (for the extended calls).
pub fn answer(
    controls: &mut FakeControls,
    cmd: u32,
    buf: &mut [u8],
    pid: u32,
) -> Result<(), Errno> {
    match cmd {
        VIDIOC_QUERY_EXT_CTRL if controls.no_ext_query => Err(Errno::ENOTTY),
        VIDIOC_QUERY_EXT_CTRL => {
            let c = controls.query(get_u32(buf, Q_ID))?.clone();
            buf.fill(0);
            put_u32(buf, Q_ID, c.cid);
            put_u32(buf, Q_TYPE, c.type_);
            put_str(buf, Q_NAME, &c.name);
            put_i64(buf, QE_MIN, c.minimum);
            put_i64(buf, QE_MIN + 8, c.maximum);
            put_i64(buf, QE_MIN + 16, c.step as i64);
            put_i64(buf, QE_MIN + 24, c.default);
            put_u32(buf, QE_FLAGS, controls.flags_now(&c));
            put_u32(
                buf,
                QE_ELEM_SIZE,
                if c.type_ == TYPE_INTEGER64 { 8 } else { 4 },
            );
            put_u32(buf, QE_ELEMS, 1);
            Ok(())
        }
        VIDIOC_QUERYCTRL => {
            let c = controls.query(get_u32(buf, Q_ID))?.clone();
            buf.fill(0);
            put_u32(buf, Q_ID, c.cid);
            put_u32(buf, Q_TYPE, c.type_);
            put_str(buf, Q_NAME, &c.name);
            let clamp = |v: i64| v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32 as u32;
            put_u32(buf, QC_MIN, clamp(c.minimum));
            put_u32(buf, QC_MIN + 4, clamp(c.maximum));
            put_u32(buf, QC_MIN + 8, clamp(c.step as i64));
            put_u32(buf, QC_MIN + 12, clamp(c.default));
            put_u32(buf, QC_FLAGS, controls.flags_now(&c));
            Ok(())
        }
        VIDIOC_QUERYMENU => {
            let c = controls.get(get_u32(buf, QM_ID)).ok_or(Errno::EINVAL)?;
            let index = get_u32(buf, QM_INDEX);
            let (_, entry) = c
                .menu
                .iter()
                .find(|(i, _)| *i == index)
                .ok_or(Errno::EINVAL)?;
            buf[QM_NAME.0..QM_NAME.0 + QM_NAME.1 + 4].fill(0);
            match entry {
                FakeMenuEntry::Name(n) => put_str(buf, QM_NAME, n),
                FakeMenuEntry::Value(v) => put_i64(buf, QM_NAME.0, *v),
            }
            Ok(())
        }
        VIDIOC_G_CTRL => {
            let cid = get_u32(buf, 0);
            if controls.get(cid).is_some_and(|c| c.type_ == TYPE_INTEGER64) {
                return Err(Errno::EINVAL); // 64-bit controls need the extended call
            }
            let v = controls.read(cid)?;
            put_u32(buf, 4, v as i32 as u32);
            Ok(())
        }
        VIDIOC_S_CTRL => {
            let cid = get_u32(buf, 0);
            if controls.get(cid).is_some_and(|c| c.type_ == TYPE_INTEGER64) {
                return Err(Errno::EINVAL);
            }
            let v = i64::from(get_u32(buf, 4) as i32);
            controls.write(cid, v)
        }
        VIDIOC_G_EXT_CTRLS | VIDIOC_S_EXT_CTRLS => {
            let count = get_u32(buf, EC_COUNT) as usize;
            let ptr = get_i64(buf, EC_CONTROLS) as u64;
            if count == 0 || count > 64 || ptr == 0 {
                return Err(Errno::EINVAL);
            }
            let mem = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(format!("/proc/{pid}/mem"))
                .map_err(|_| Errno::EFAULT)?;
            let mut array = vec![0u8; count * E_SIZE];
            mem.read_exact_at(&mut array, ptr)
                .map_err(|_| Errno::EFAULT)?;
            for i in 0..count {
                let at = i * E_SIZE;
                let cid = get_u32(&array, at + E_ID);
                let result = if cmd == VIDIOC_G_EXT_CTRLS {
                    controls
                        .read(cid)
                        .map(|v| put_i64(&mut array, at + E_VALUE, v))
                } else {
                    let is64 = controls.get(cid).is_some_and(|c| c.type_ == TYPE_INTEGER64);
                    let v = if is64 {
                        get_i64(&array, at + E_VALUE)
                    } else {
                        i64::from(get_u32(&array, at + E_VALUE) as i32)
                    };
                    controls.write(cid, v)
                };
                if let Err(e) = result {
                    put_u32(buf, EC_ERROR_IDX, i as u32);
                    return Err(e);
                }
            }
            mem.write_all_at(&array, ptr).map_err(|_| Errno::EFAULT)?;
            Ok(())
        }
        _ => Err(Errno::ENOTTY),
    }
}
