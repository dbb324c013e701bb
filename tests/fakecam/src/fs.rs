//! The FUSE filesystem: one flat directory of regular files, one per fake node, answering the
//! probe's V4L2 ioctls. The kernel passes them through as "restricted" ioctls: it copies
//! `_IOC_SIZE(cmd)` bytes in and out, exactly as a real driver's `video_usercopy` would.

use std::ffi::OsStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, IoctlFlags,
    LockOwner, OpenAccMode, OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyEmpty,
    ReplyEntry, ReplyIoctl, ReplyOpen, Request,
};

use crate::controls::FakeControls;
use crate::device::{FakeDevice, FakeIntervals, FakeSizes, Ioctl};
use crate::wire::*;

const TTL: Duration = Duration::from_secs(1);

/// What the bench knows about one node while it is mounted.
#[derive(Debug)]
pub(crate) struct Node {
    pub name: String,
    pub device: FakeDevice,
    /// Opens are refused with EACCES (udev has not fixed the permissions yet).
    pub denied: bool,
    /// Opens for writing are refused with EACCES (the node is read-only for us).
    pub read_only: bool,
    pub stats: NodeStats,
    /// The node's controls (none: control ioctls are ENOTTY).
    pub controls: Option<FakeControls>,
    /// Failures injected while mounted (`FakeCam::fail_ioctl`), checked before the device's
    /// own answers.
    pub injected: Vec<Injected>,
}

/// An ioctl answered with `errno`: the next `remaining` times, or every time (`None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Injected {
    pub ioctl: Ioctl,
    pub errno: nix::errno::Errno,
    pub remaining: Option<u32>,
}

impl Node {
    /// The injected error for `cmd`, if one is due now (a counted one is used up).
    fn take_injected(&mut self, cmd: u32) -> Option<nix::errno::Errno> {
        let ioctl = Ioctl::from_cmd(cmd)?;
        let i = self.injected.iter().position(|f| f.ioctl == ioctl)?;
        let errno = self.injected[i].errno;
        match &mut self.injected[i].remaining {
            None => {}
            Some(1) => {
                self.injected.remove(i);
            }
            Some(n) => *n -= 1,
        }
        Some(errno)
    }
}

/// What happened to a node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// Successful opens.
    pub opens: u64,
    /// Opens refused with EACCES.
    pub denied_opens: u64,
    /// Files open now (opens minus releases).
    pub open_handles: u64,
    /// Ioctls answered (successfully or not).
    pub ioctls: u64,
}

pub(crate) type Shared = Arc<Mutex<Vec<Node>>>;

pub(crate) struct FakeFs {
    nodes: Shared,
    uid: u32,
    gid: u32,
    next_fh: AtomicU64,
}

impl FakeFs {
    pub fn new(nodes: Shared) -> FakeFs {
        FakeFs {
            nodes,
            uid: nix::unistd::getuid().as_raw(),
            gid: nix::unistd::getgid().as_raw(),
            next_fh: AtomicU64::new(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Node>> {
        // A panic while holding the lock is a bench bug; keep serving what is there.
        self.nodes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Inode 1 is the root; node i is inode i + 2.
    fn node_index(ino: INodeNo) -> Option<usize> {
        ino.0.checked_sub(2).map(|i| i as usize)
    }

    fn attr(&self, ino: INodeNo) -> FileAttr {
        let dir = ino == INodeNo::ROOT;
        FileAttr {
            ino,
            size: 0,
            blocks: 0,
            atime: UNIX_EPOCH,
            mtime: UNIX_EPOCH,
            ctime: UNIX_EPOCH,
            crtime: UNIX_EPOCH,
            kind: if dir {
                FileType::Directory
            } else {
                FileType::RegularFile
            },
            perm: if dir { 0o755 } else { 0o660 },
            nlink: if dir { 2 } else { 1 },
            uid: self.uid,
            gid: self.gid,
            rdev: 0,
            flags: 0,
            blksize: 512,
        }
    }
}

impl Filesystem for FakeFs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let found = (parent == INodeNo::ROOT)
            .then(|| self.lock().iter().position(|n| OsStr::new(&n.name) == name))
            .flatten();
        match found {
            Some(i) => reply.entry(&TTL, &self.attr(INodeNo(i as u64 + 2)), Generation(0)),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let exists =
            ino == INodeNo::ROOT || Self::node_index(ino).is_some_and(|i| i < self.lock().len());
        if exists {
            reply.attr(&TTL, &self.attr(ino));
        } else {
            reply.error(Errno::ENOENT);
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        if ino != INodeNo::ROOT {
            reply.error(Errno::ENOTDIR);
            return;
        }
        let mut entries = vec![(INodeNo::ROOT, FileType::Directory, ".".to_owned())];
        entries.push((INodeNo::ROOT, FileType::Directory, "..".to_owned()));
        for (i, n) in self.lock().iter().enumerate() {
            entries.push((INodeNo(i as u64 + 2), FileType::RegularFile, n.name.clone()));
        }
        for (i, (ino, kind, name)) in entries.into_iter().enumerate().skip(offset as usize) {
            if reply.add(ino, i as u64 + 1, kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let mut nodes = self.lock();
        let Some(node) = Self::node_index(ino).and_then(|i| nodes.get_mut(i)) else {
            reply.error(Errno::ENOENT);
            return;
        };
        let writes = flags.acc_mode() != OpenAccMode::O_RDONLY;
        if node.denied || (node.read_only && writes) {
            node.stats.denied_opens += 1;
            reply.error(Errno::EACCES);
            return;
        }
        node.stats.opens += 1;
        node.stats.open_handles += 1;
        let fh = FileHandle(self.next_fh.fetch_add(1, Ordering::Relaxed));
        reply.opened(
            fh,
            FopenFlags::FOPEN_DIRECT_IO | FopenFlags::FOPEN_NONSEEKABLE,
        );
    }

    fn release(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        let mut nodes = self.lock();
        if let Some(node) = Self::node_index(ino).and_then(|i| nodes.get_mut(i)) {
            node.stats.open_handles = node.stats.open_handles.saturating_sub(1);
        }
        reply.ok();
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    /// A capture node has no data to read without streaming; reads see end-of-file.
    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _offset: u64,
        _size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        reply.data(&[]);
    }

    fn ioctl(
        &self,
        req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _flags: IoctlFlags,
        cmd: u32,
        in_data: &[u8],
        out_size: u32,
        reply: ReplyIoctl,
    ) {
        let (device, delay) = {
            let mut nodes = self.lock();
            let Some(node) = Self::node_index(ino).and_then(|i| nodes.get_mut(i)) else {
                reply.error(Errno::ENOENT);
                return;
            };
            node.stats.ioctls += 1;
            if let Some(errno) = node.take_injected(cmd) {
                reply.error(Errno::from_i32(errno as i32));
                return;
            }
            (node.device.clone(), node.device.ioctl_delay)
        };
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        if crate::controls::is_control_cmd(cmd) {
            self.control_ioctl(ino, req.pid(), cmd, in_data, out_size, reply);
            return;
        }
        // Start from what came in (an _IOWR struct), as the kernel copies the whole struct back.
        let mut buf = vec![0u8; (out_size as usize).max(in_data.len())];
        buf[..in_data.len()].copy_from_slice(in_data);
        match answer(&device, cmd, &mut buf) {
            Ok(()) => reply.ioctl(0, &buf[..out_size as usize]),
            Err(e) => reply.error(Errno::from_i32(e as i32)),
        }
    }
}

impl FakeFs {
    /// A control ioctl: answered from (and changing) the node's control table.
    fn control_ioctl(
        &self,
        ino: INodeNo,
        pid: u32,
        cmd: u32,
        in_data: &[u8],
        out_size: u32,
        reply: ReplyIoctl,
    ) {
        let mut buf = vec![0u8; (out_size as usize).max(in_data.len())];
        buf[..in_data.len()].copy_from_slice(in_data);
        let result = {
            let mut nodes = self.lock();
            match Self::node_index(ino).and_then(|i| nodes.get_mut(i)) {
                None => Err(nix::errno::Errno::ENOENT),
                Some(node) => match node.controls.as_mut() {
                    None => Err(nix::errno::Errno::ENOTTY),
                    Some(_) if buf.len() < ioc_size(cmd) => Err(nix::errno::Errno::EINVAL),
                    Some(c) => crate::controls::answer(c, cmd, &mut buf, pid),
                },
            }
        };
        match result {
            Ok(()) => reply.ioctl(0, &buf[..out_size as usize]),
            Err(e) => reply.error(Errno::from_i32(e as i32)),
        }
    }
}

type Answer = Result<(), nix::errno::Errno>;

/// Fills `buf` (the ioctl's struct) like a driver would.
fn answer(device: &FakeDevice, cmd: u32, buf: &mut [u8]) -> Answer {
    use nix::errno::Errno::{EINVAL, ENOTTY};
    let Some(ioctl) = Ioctl::from_cmd(cmd) else {
        return Err(ENOTTY);
    };
    if buf.len() < ioc_size(cmd) {
        return Err(EINVAL);
    }
    if let Some(e) = device.fails(ioctl) {
        return Err(e);
    }
    match ioctl {
        Ioctl::QueryCap => {
            buf.fill(0);
            put_str(buf, CAPABILITY_DRIVER, &device.driver);
            put_str(buf, CAPABILITY_CARD, &device.card);
            put_str(buf, CAPABILITY_BUS_INFO, &device.bus_info);
            put_u32(buf, CAPABILITY_VERSION, device.version);
            put_u32(buf, CAPABILITY_CAPABILITIES, device.capabilities);
            put_u32(buf, CAPABILITY_DEVICE_CAPS, device.device_caps);
            Ok(())
        }
        Ioctl::EnumFmt => {
            let index = get_u32(buf, FMTDESC_INDEX) as usize;
            let buf_type = get_u32(buf, FMTDESC_TYPE);
            let f = device
                .formats
                .iter()
                .filter(|f| f.buf_type == buf_type)
                .nth(index)
                .ok_or(EINVAL)?;
            put_u32(buf, FMTDESC_FLAGS, 0);
            put_str(buf, FMTDESC_DESCRIPTION, &f.description);
            put_u32(buf, FMTDESC_PIXELFORMAT, fourcc(f.fourcc));
            Ok(())
        }
        Ioctl::EnumFrameSizes => {
            let index = get_u32(buf, FRMSIZE_INDEX) as usize;
            let f = device
                .find_format(get_u32(buf, FRMSIZE_PIXEL_FORMAT))
                .ok_or(EINVAL)?;
            match &f.sizes {
                FakeSizes::Discrete(sizes) => {
                    let s = sizes.get(index).ok_or(EINVAL)?;
                    put_u32(buf, FRMSIZE_TYPE, TYPE_DISCRETE);
                    put_u32(buf, FRMSIZE_UNION, s.width);
                    put_u32(buf, FRMSIZE_UNION + 4, s.height);
                }
                FakeSizes::Range(r) if index == 0 => {
                    let kind = if r.continuous {
                        TYPE_CONTINUOUS
                    } else {
                        TYPE_STEPWISE
                    };
                    put_u32(buf, FRMSIZE_TYPE, kind);
                    let fields = [
                        r.min_width,
                        r.max_width,
                        r.step_width,
                        r.min_height,
                        r.max_height,
                        r.step_height,
                    ];
                    for (i, v) in fields.into_iter().enumerate() {
                        put_u32(buf, FRMSIZE_UNION + 4 * i, v);
                    }
                }
                FakeSizes::Range(_) => return Err(EINVAL),
            }
            Ok(())
        }
        Ioctl::EnumFrameIntervals => {
            let index = get_u32(buf, FRMIVAL_INDEX) as usize;
            let (code, w, h) = (
                get_u32(buf, FRMIVAL_PIXEL_FORMAT),
                get_u32(buf, FRMIVAL_WIDTH),
                get_u32(buf, FRMIVAL_HEIGHT),
            );
            let intervals = device.intervals_at(code, w, h).ok_or(EINVAL)?;
            let put_fract = |buf: &mut [u8], at: usize, (n, d): (u32, u32)| {
                put_u32(buf, at, n);
                put_u32(buf, at + 4, d);
            };
            match intervals {
                FakeIntervals::Discrete(list) => {
                    let i = list.get(index).ok_or(EINVAL)?;
                    put_u32(buf, FRMIVAL_TYPE, TYPE_DISCRETE);
                    put_fract(buf, FRMIVAL_UNION, *i);
                }
                FakeIntervals::Stepwise { min, max, step } if index == 0 => {
                    put_u32(buf, FRMIVAL_TYPE, TYPE_STEPWISE);
                    put_fract(buf, FRMIVAL_UNION, *min);
                    put_fract(buf, FRMIVAL_UNION + 8, *max);
                    put_fract(buf, FRMIVAL_UNION + 16, *step);
                }
                FakeIntervals::Continuous { min, max } if index == 0 => {
                    put_u32(buf, FRMIVAL_TYPE, TYPE_CONTINUOUS);
                    put_fract(buf, FRMIVAL_UNION, *min);
                    put_fract(buf, FRMIVAL_UNION + 8, *max);
                    // The kernel documents step 1/1 for continuous intervals.
                    put_fract(buf, FRMIVAL_UNION + 16, (1, 1));
                }
                _ => return Err(EINVAL),
            }
            Ok(())
        }
        Ioctl::GFmt => {
            let buf_type = get_u32(buf, FORMAT_TYPE);
            let c = device
                .current
                .as_ref()
                .filter(|c| c.buf_type == buf_type)
                .ok_or(EINVAL)?;
            buf[FORMAT_WIDTH..].fill(0);
            put_u32(buf, FORMAT_WIDTH, c.width);
            put_u32(buf, FORMAT_HEIGHT, c.height);
            put_u32(buf, FORMAT_PIXELFORMAT, fourcc(c.fourcc));
            Ok(())
        }
        Ioctl::GParm => {
            let buf_type = get_u32(buf, STREAMPARM_TYPE);
            let c = device
                .current
                .as_ref()
                .filter(|c| c.buf_type == buf_type)
                .ok_or(EINVAL)?;
            buf[STREAMPARM_CAPABILITY..].fill(0);
            put_u32(buf, STREAMPARM_CAPABILITY, CAP_TIMEPERFRAME);
            put_u32(buf, STREAMPARM_TIMEPERFRAME, c.interval.0);
            put_u32(buf, STREAMPARM_TIMEPERFRAME + 4, c.interval.1);
            Ok(())
        }
    }
}
