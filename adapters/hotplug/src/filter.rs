//! Which directory entries can be device nodes at all.

use std::os::unix::fs::FileTypeExt;
use std::path::Path;

/// What a `video<N>` entry (after following symlinks) must be to be probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NodeFilter {
    /// Character devices only: real V4L2 nodes (the default).
    #[default]
    CharDevicesOnly,
    /// Any file that is not a directory: fake nodes served as regular files (tests).
    AnyFile,
}

impl NodeFilter {
    /// Whether `path` is there now and of the accepted kind. Blocking (a `stat`).
    pub fn accepts(self, path: &Path) -> bool {
        let Ok(meta) = std::fs::metadata(path) else {
            return false;
        };
        let kind = meta.file_type();
        match self {
            NodeFilter::CharDevicesOnly => kind.is_char_device(),
            NodeFilter::AnyFile => !kind.is_dir(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_devices_only_accepts_char_devices() {
        assert!(NodeFilter::CharDevicesOnly.accepts(Path::new("/dev/null")));
        assert!(!NodeFilter::CharDevicesOnly.accepts(Path::new("/proc/self/status")));
        assert!(!NodeFilter::CharDevicesOnly.accepts(Path::new("/nonexistent/video0")));
    }

    #[test]
    fn any_file_accepts_regular_files_but_not_directories() {
        assert!(NodeFilter::AnyFile.accepts(Path::new("/proc/self/status")));
        assert!(!NodeFilter::AnyFile.accepts(Path::new("/proc/self")));
        assert!(!NodeFilter::AnyFile.accepts(Path::new("/nonexistent/video0")));
    }
}
