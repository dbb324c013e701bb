//! Private files written so that a reader (in any process) sees either the old content or
//! the new, never a torn mix: write a sibling temporary file, fsync it, then move it into
//! place and fsync the directory.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Owner read/write only: secrets and key hashes are nobody else's business.
pub(crate) const PRIVATE_MODE: u32 = 0o600;

/// The directory holding `path` (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Replaces `path` with `contents`, atomically.
pub(crate) fn replace(path: &Path, contents: &[u8]) -> io::Result<()> {
    let tmp = write_temp(path, contents)?;
    if let Err(err) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(err);
    }
    sync_dir(parent_dir(path))
}

/// Creates `path` with `contents` unless something already exists there, atomically.
/// `Ok(false)` when another writer got there first (its file is left alone).
pub(crate) fn create_new(path: &Path, contents: &[u8]) -> io::Result<bool> {
    let tmp = write_temp(path, contents)?;
    // A hard link, unlike a rename, refuses to replace an existing file.
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => sync_dir(parent_dir(path)).map(|()| true),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(err) => Err(err),
    }
}

/// Opens (creating if needed) a private file, for use as a lock.
pub(crate) fn open_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(PRIVATE_MODE)
        .open(path)
}

fn write_temp(path: &Path, contents: &[u8]) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(
        ".{}.{:016x}.tmp",
        std::process::id(),
        rand::random::<u64>()
    ));
    let tmp = parent_dir(path).join(tmp_name);

    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_MODE)
        .open(&tmp)?;
    let written = file
        // The mode given at creation is filtered by the umask; make it exact.
        .set_permissions(Permissions::from_mode(PRIVATE_MODE))
        .and_then(|()| file.write_all(contents))
        .and_then(|()| file.sync_all());
    match written {
        Ok(()) => Ok(tmp),
        Err(err) => {
            let _ = fs::remove_file(&tmp);
            Err(err)
        }
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).expect("exists").permissions().mode() & 0o777
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replace_writes_a_private_file_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("data.json");
        fs::write(&path, "old").expect("seed");
        fs::set_permissions(&path, Permissions::from_mode(0o644)).expect("chmod");

        replace(&path, b"new").expect("replace");

        assert_eq!(fs::read_to_string(&path).expect("read"), "new");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(entries(dir.path()), ["data.json"]);
    }

    #[test]
    fn create_new_does_not_clobber_an_existing_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secret");

        assert!(create_new(&path, b"first").expect("create"));
        assert!(!create_new(&path, b"second").expect("second create"));

        assert_eq!(fs::read_to_string(&path).expect("read"), "first");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(entries(dir.path()), ["secret"]);
    }

    #[test]
    fn bare_file_names_live_in_the_current_directory() {
        assert_eq!(parent_dir(Path::new("keys.json")), Path::new("."));
        assert_eq!(parent_dir(Path::new("/etc/keys.json")), Path::new("/etc"));
    }
}
