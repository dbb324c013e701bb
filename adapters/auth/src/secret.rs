//! The JWT signing secret, kept in a private file that is created on first start.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rand::Rng as _;

use crate::files;

/// Shortest secret accepted from a file, in bytes (HS256 wants a key at least as long as
/// its 256-bit output).
pub const MIN_SECRET_LEN: usize = 32;

/// Random bytes in a newly created secret (written hex-encoded: 64 characters).
const NEW_SECRET_BYTES: usize = 32;

/// Problems with the secret file. Carried inside `io::Error` so callers keep one error type;
/// never includes the secret itself.
#[derive(Debug, thiserror::Error)]
enum SecretFileError {
    #[error(
        "JWT secret file {path} holds {len} bytes after trimming whitespace; \
         at least {MIN_SECRET_LEN} are required"
    )]
    TooShort { path: PathBuf, len: usize },
    #[error("cannot read JWT secret file {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot create JWT secret file {path}: {source}")]
    Create { path: PathBuf, source: io::Error },
}

impl From<SecretFileError> for io::Error {
    fn from(err: SecretFileError) -> Self {
        let kind = match &err {
            SecretFileError::TooShort { .. } => io::ErrorKind::InvalidData,
            SecretFileError::Read { source, .. } | SecretFileError::Create { source, .. } => {
                source.kind()
            }
        };
        io::Error::new(kind, err)
    }
}

/// Reads the secret in `path` (surrounding whitespace trimmed), or, when there is no such
/// file, creates it (and its parent directories) with 32 random bytes hex-encoded, mode 0600.
///
/// Creation is atomic and never replaces a file another process created meanwhile: the
/// secret on disk is always the one returned.
pub fn load_or_create_secret(path: &Path) -> io::Result<Vec<u8>> {
    match read_secret(path) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        other => return other,
    }
    let create_error = |source| SecretFileError::Create {
        path: path.to_owned(),
        source,
    };
    fs::create_dir_all(files::parent_dir(path)).map_err(create_error)?;
    let secret = new_secret();
    let created =
        files::create_new(path, format!("{secret}\n").as_bytes()).map_err(create_error)?;
    if created {
        Ok(secret.into_bytes())
    } else {
        read_secret(path)
    }
}

fn read_secret(path: &Path) -> io::Result<Vec<u8>> {
    let bytes = fs::read(path).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            source
        } else {
            SecretFileError::Read {
                path: path.to_owned(),
                source,
            }
            .into()
        }
    })?;
    let secret = bytes.trim_ascii();
    if secret.len() < MIN_SECRET_LEN {
        return Err(SecretFileError::TooShort {
            path: path.to_owned(),
            len: secret.len(),
        }
        .into());
    }
    Ok(secret.to_vec())
}

fn new_secret() -> String {
    let bytes: [u8; NEW_SECRET_BYTES] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn missing_secret_is_created_private_with_parent_dirs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("etc/camera-service/jwt.secret");

        let secret = load_or_create_secret(&path).expect("created");

        assert_eq!(secret.len(), 64);
        assert!(secret.iter().all(|b| b.is_ascii_hexdigit()));
        let meta = fs::metadata(&path).expect("file exists");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::read(&path).expect("read").trim_ascii(), &secret[..]);
    }

    #[test]
    fn existing_secret_is_read_back_unchanged() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("jwt.secret");

        let first = load_or_create_secret(&path).expect("created");
        let second = load_or_create_secret(&path).expect("read");

        assert_eq!(first, second);
    }

    #[test]
    fn two_new_secrets_differ() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = load_or_create_secret(&dir.path().join("a")).expect("a");
        let b = load_or_create_secret(&dir.path().join("b")).expect("b");
        assert_ne!(a, b);
    }

    #[test]
    fn surrounding_whitespace_is_trimmed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("jwt.secret");
        let text = "an-operator-chosen-secret-of-40-bytes!!!";
        fs::write(&path, format!("  {text}\r\n\n")).expect("write");

        assert_eq!(load_or_create_secret(&path).expect("read"), text.as_bytes());
    }

    #[test]
    fn short_secret_is_an_error_naming_the_file_but_not_the_secret() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("jwt.secret");
        fs::write(&path, "hunter2-but-longer\n").expect("write");

        let err = load_or_create_secret(&path).expect_err("too short");

        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("18 bytes"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert_eq!(
            fs::read_to_string(&path).expect("kept"),
            "hunter2-but-longer\n"
        );
    }

    #[test]
    fn empty_secret_file_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("jwt.secret");
        fs::write(&path, "\n").expect("write");

        assert_eq!(
            load_or_create_secret(&path).expect_err("empty").kind(),
            io::ErrorKind::InvalidData
        );
    }

    #[test]
    fn unreadable_path_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A directory where the file should be: reading fails with something other than
        // "not found", and nothing must be created in its place.
        let path = dir.path().join("jwt.secret");
        fs::create_dir(&path).expect("mkdir");

        let err = load_or_create_secret(&path).expect_err("a directory is no secret");

        assert!(err.to_string().contains("jwt.secret"), "{err}");
    }
}
