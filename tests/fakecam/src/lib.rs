//! Test bench: fake V4L2 nodes served from a FUSE filesystem.
//!
//! There is no kernel video support on the machines the tests run on, but the kernel's FUSE
//! passes ioctls on a regular file through to the filesystem ("restricted" ioctls: it copies
//! `_IOC_SIZE` bytes in and out). [`FakeCam::mount`] serves one regular file per
//! [`FakeDevice`] and answers VIDIOC_QUERYCAP, ENUM_FMT, ENUM_FRAMESIZES,
//! ENUM_FRAMEINTERVALS, G_FMT and G_PARM from the description, so the real ioctl probe is
//! exercised through the real kernel path. Tests plug a node by symlinking `video<N>` to it
//! in a watched directory, and unplug it by removing the symlink.
//!
//! Mounting needs root and a usable `/dev/fuse` (no fusermount: the mount syscall is made
//! directly). Where that is missing, [`FakeCam::mount_or_skip`] prints a notice and returns
//! `None`, and the test returns early; set `CS_REQUIRE_FUSE=1` to make that a failure instead.

pub mod control_sets;
pub mod controls;
mod device;
pub mod devices;
mod fs;
pub mod wire;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use device::{
    FakeCurrent, FakeDevice, FakeFormat, FakeIntervals, FakeRange, FakeSize, FakeSizes, Interval,
    Ioctl,
};
pub use fs::NodeStats;

use fs::{FakeFs, Injected, Node, Shared};

/// A mounted bench; unmounted (and its directory removed) on drop.
pub struct FakeCam {
    session: Option<fuser::BackgroundSession>,
    nodes: Shared,
    mountpoint: PathBuf,
    _dir: TempDir,
}

impl FakeCam {
    /// Mounts a bench serving `nodes` (file name, device) in a fresh temporary directory.
    pub fn mount<S: Into<String>>(
        nodes: impl IntoIterator<Item = (S, FakeDevice)>,
    ) -> io::Result<FakeCam> {
        let nodes: Vec<Node> = nodes
            .into_iter()
            .map(|(name, device)| Node {
                name: name.into(),
                device,
                denied: false,
                read_only: false,
                stats: NodeStats::default(),
                controls: None,
                injected: Vec::new(),
            })
            .collect();
        let nodes: Shared = Arc::new(Mutex::new(nodes));
        let dir = TempDir::new("fakecam")?;
        let mountpoint = dir.path().join("mnt");
        std::fs::create_dir(&mountpoint)?;
        let mut config = fuser::Config::default();
        config.mount_options = vec![
            fuser::MountOption::FSName("cs-fakecam".into()),
            fuser::MountOption::Subtype("cs-fakecam".into()),
        ];
        // Several threads, so a slow node does not hold up lookups of the others.
        config.n_threads = Some(4);
        let session = fuser::spawn_mount(FakeFs::new(nodes.clone()), &mountpoint, &config)?;
        Ok(FakeCam {
            session: Some(session),
            nodes,
            mountpoint,
            _dir: dir,
        })
    }

    /// [`FakeCam::mount`], or `None` with a printed notice where FUSE cannot be used here
    /// (not root, no `/dev/fuse`, no fuse filesystem). A mount that fails for another
    /// reason is a bench bug and panics. With `CS_REQUIRE_FUSE=1` a missing FUSE panics too.
    pub fn mount_or_skip<S: Into<String>>(
        test: &str,
        nodes: impl IntoIterator<Item = (S, FakeDevice)>,
    ) -> Option<FakeCam> {
        if let Err(why) = fuse_usable() {
            if std::env::var_os("CS_REQUIRE_FUSE").is_some_and(|v| v == "1") {
                panic!("{test}: FUSE is required (CS_REQUIRE_FUSE=1) but unusable: {why}");
            }
            eprintln!("SKIPPED {test}: FUSE is unusable here ({why})");
            return None;
        }
        match FakeCam::mount(nodes) {
            Ok(cam) => Some(cam),
            Err(e) => panic!("{test}: mounting the fake camera bench failed: {e}"),
        }
    }

    /// Where node `name` is served.
    pub fn node(&self, name: &str) -> PathBuf {
        self.mountpoint.join(name)
    }

    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    /// Refuses opens of `name` with EACCES until called again with `false`
    /// (as a node is before udev has fixed its permissions).
    pub fn set_denied(&self, name: &str, denied: bool) {
        self.with_node(name, |n| n.denied = denied);
    }

    /// Refuses opens of `name` for writing with EACCES (read-only opens still work).
    pub fn set_read_only(&self, name: &str, read_only: bool) {
        self.with_node(name, |n| n.read_only = read_only);
    }

    /// Answers `ioctl` on `name` with `errno` the next `times` times (`None`: until
    /// [`FakeCam::clear_failures`]), as a flaky or broken driver would; replaces an earlier
    /// injection for the same ioctl.
    pub fn fail_ioctl(
        &self,
        name: &str,
        ioctl: Ioctl,
        errno: nix::errno::Errno,
        times: Option<u32>,
    ) {
        self.with_node(name, |n| {
            n.injected.retain(|f| f.ioctl != ioctl);
            n.injected.push(Injected {
                ioctl,
                errno,
                remaining: times,
            });
        });
    }

    /// Ends every failure injected with [`FakeCam::fail_ioctl`] on `name`.
    pub fn clear_failures(&self, name: &str) {
        self.with_node(name, |n| n.injected.clear());
    }

    /// Injected failures of `name` still due (a counted one disappears when used up).
    pub fn pending_failures(&self, name: &str) -> usize {
        self.with_node(name, |n| n.injected.len())
    }

    /// Makes every ioctl on `name` take `delay`.
    pub fn set_ioctl_delay(&self, name: &str, delay: Duration) {
        self.with_node(name, |n| n.device.ioctl_delay = delay);
    }

    /// Gives `name` these controls (replacing what it had: a camera that lost power).
    pub fn set_controls(&self, name: &str, controls: controls::FakeControls) {
        self.with_node(name, |n| n.controls = Some(controls));
    }

    /// Reads or changes `name`'s controls in place (inject failures, read values).
    pub fn with_controls<R>(
        &self,
        name: &str,
        f: impl FnOnce(&mut controls::FakeControls) -> R,
    ) -> R {
        self.with_node(name, |n| {
            f(n.controls
                .as_mut()
                .unwrap_or_else(|| panic!("node {name:?} has no controls")))
        })
    }

    /// A control's value on `name` now.
    pub fn control_value(&self, name: &str, cid: u32) -> Option<i64> {
        self.with_controls(name, |c| c.value(cid))
    }

    pub fn stats(&self, name: &str) -> NodeStats {
        self.with_node(name, |n| n.stats)
    }

    /// Files open now on any node of this bench.
    pub fn open_handles(&self) -> u64 {
        self.lock().iter().map(|n| n.stats.open_handles).sum()
    }

    /// Waits (up to `limit`) until no node of this bench is open; returns whether that happened.
    /// The kernel sends FUSE's release after `close` returns, so a count read right after a
    /// close may still include it.
    pub fn wait_all_closed(&self, limit: Duration) -> bool {
        let end = std::time::Instant::now() + limit;
        while self.open_handles() > 0 {
            if std::time::Instant::now() > end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        true
    }

    /// Waits (up to `limit`) until `check` holds for `name`'s stats; returns whether it did.
    pub fn wait_for(
        &self,
        name: &str,
        limit: Duration,
        check: impl Fn(&NodeStats) -> bool,
    ) -> bool {
        let end = std::time::Instant::now() + limit;
        loop {
            if check(&self.stats(name)) {
                return true;
            }
            if std::time::Instant::now() > end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Node>> {
        self.nodes.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn with_node<R>(&self, name: &str, f: impl FnOnce(&mut Node) -> R) -> R {
        let mut nodes = self.lock();
        let node = nodes
            .iter_mut()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("the bench has no node {name:?}"));
        f(node)
    }
}

impl Drop for FakeCam {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            if let Err(e) = session.umount_and_join() {
                eprintln!("fakecam: unmounting {}: {e}", self.mountpoint.display());
            }
        }
    }
}

/// Why FUSE cannot be used by this process, if it cannot.
pub fn fuse_usable() -> Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("not running as root (the bench mounts without fusermount)".into());
    }
    let filesystems = std::fs::read_to_string("/proc/filesystems")
        .map_err(|e| format!("/proc/filesystems: {e}"))?;
    if !filesystems
        .lines()
        .any(|l| l.split_whitespace().last() == Some("fuse"))
    {
        return Err("the kernel has no fuse filesystem".into());
    }
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
        .map(drop)
        .map_err(|e| format!("/dev/fuse: {e}"))
}

/// A directory removed (with its contents) on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(label: &str) -> io::Result<TempDir> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("cs-{label}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(TempDir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Plugs `target` in as `dir/video<index>` (a symlink, as udev's would be a node).
pub fn plug(dir: &Path, index: u16, target: &Path) -> io::Result<PathBuf> {
    let link = dir.join(format!("video{index}"));
    std::os::unix::fs::symlink(target, &link)?;
    Ok(link)
}

/// Unplugs `dir/video<index>`.
pub fn unplug(dir: &Path, index: u16) -> io::Result<()> {
    std::fs::remove_file(dir.join(format!("video{index}")))
}

/// Number of file descriptors this process has open.
pub fn open_fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}
