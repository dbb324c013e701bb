//! An append-only log file that rotates by size: `audit.log` → `audit.log.1` → … →
//! `audit.log.<keep>`, the oldest deleted. Whole lines only: a line is never split
//! across two files.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
    file: File,
    /// Bytes in the current file.
    size: u64,
    /// Bytes of a line not yet complete.
    pending: Vec<u8>,
}

impl RotatingFile {
    /// Opens (appending) or creates `path`, creating its directory when missing.
    /// Rotates once the file would exceed `max_bytes`; keeps `keep` rotated files.
    pub fn open(path: impl Into<PathBuf>, max_bytes: u64, keep: u32) -> io::Result<RotatingFile> {
        let path = path.into();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = open_append(&path)?;
        let size = file.metadata()?.len();
        Ok(RotatingFile {
            path,
            max_bytes: max_bytes.max(1),
            keep: keep.max(1),
            file,
            size,
            pending: Vec::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn numbered(&self, n: u32) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        match std::fs::remove_file(self.numbered(self.keep)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        for n in (1..self.keep).rev() {
            match std::fs::rename(self.numbered(n), self.numbered(n + 1)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        std::fs::rename(&self.path, self.numbered(1))?;
        self.file = open_append(&self.path)?;
        self.size = 0;
        Ok(())
    }

    /// Writes the complete lines of `pending`, rotating first when they would overflow.
    fn write_lines(&mut self) -> io::Result<()> {
        let Some(last_newline) = self.pending.iter().rposition(|&b| b == b'\n') else {
            return Ok(());
        };
        let lines = last_newline as u64 + 1;
        if self.size > 0 && self.size + lines > self.max_bytes {
            self.rotate()?;
        }
        self.file.write_all(&self.pending[..=last_newline])?;
        self.size += lines;
        self.pending.drain(..=last_newline);
        Ok(())
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if buf.contains(&b'\n') {
            self.write_lines()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_lines()?;
        self.file.flush()
    }
}

impl Drop for RotatingFile {
    fn drop(&mut self) {
        // A last line without its newline is still worth keeping.
        if !self.pending.is_empty() {
            self.pending.push(b'\n');
            let _ = self.write_lines();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let dir = std::env::temp_dir().join(format!("cs-sys-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("temp dir is writable");
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap_or_default()
    }

    #[test]
    fn past_the_size_limit_the_file_rotates_and_keeps_only_the_newest() {
        let dir = TempDir::new("rotate");
        let path = dir.0.join("audit.log");
        let mut f = RotatingFile::open(&path, 20, 2).expect("opens");

        for i in 0..8 {
            // 10 bytes a line: two lines per file.
            writeln!(f, "line {i:04}").expect("writes");
        }
        f.flush().expect("flushes");

        assert_eq!(read(&path), "line 0006\nline 0007\n");
        assert_eq!(read(&f.numbered(1)), "line 0004\nline 0005\n");
        assert_eq!(read(&f.numbered(2)), "line 0002\nline 0003\n");
        assert!(!f.numbered(3).exists(), "only `keep` rotated files stay");
    }

    #[test]
    fn a_line_written_in_pieces_is_never_split_across_files() {
        let dir = TempDir::new("pieces");
        let path = dir.0.join("audit.log");
        let mut f = RotatingFile::open(&path, 16, 3).expect("opens");

        for i in 0..5 {
            f.write_all(b"{\"n\":").expect("writes");
            f.write_all(i.to_string().as_bytes()).expect("writes");
            f.write_all(b",\"pad\":1}").expect("writes");
            f.write_all(b"\n").expect("writes");
        }
        f.flush().expect("flushes");

        for p in [path.clone(), f.numbered(1), f.numbered(2), f.numbered(3)] {
            for line in read(&p).lines() {
                assert!(
                    line.starts_with("{\"n\":") && line.ends_with('}'),
                    "{line:?} in {p:?}"
                );
            }
        }
        assert_eq!(read(&path).lines().count(), 1);
    }

    #[test]
    fn reopening_appends_and_counts_what_is_there() {
        let dir = TempDir::new("reopen");
        let path = dir.0.join("logs").join("audit.log");
        {
            let mut f = RotatingFile::open(&path, 25, 1).expect("opens and creates the directory");
            writeln!(f, "first line").expect("writes");
        }
        let mut f = RotatingFile::open(&path, 25, 1).expect("reopens");
        writeln!(f, "second line").expect("writes");
        f.flush().expect("flushes");
        assert_eq!(read(&path), "first line\nsecond line\n");

        writeln!(f, "third line").expect("writes");
        f.flush().expect("flushes");
        assert_eq!(read(&path), "third line\n");
        assert_eq!(read(&f.numbered(1)), "first line\nsecond line\n");
    }

    #[test]
    fn a_line_longer_than_the_limit_gets_a_file_of_its_own() {
        let dir = TempDir::new("long");
        let path = dir.0.join("a.log");
        let mut f = RotatingFile::open(&path, 8, 2).expect("opens");
        writeln!(f, "short").expect("writes");
        writeln!(f, "a rather long line").expect("writes");
        f.flush().expect("flushes");
        assert_eq!(read(&path), "a rather long line\n");
        assert_eq!(read(&f.numbered(1)), "short\n");
    }
}
