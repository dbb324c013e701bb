//! Safe file names and the names the service gives its files.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::camera::CameraId;
use crate::time::Timestamp;

/// A flat file name: `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$` without `..`.
/// Once parsed it can be joined to a directory without escaping it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SafeFileName(String);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "file name must match ^[A-Za-z0-9][A-Za-z0-9._-]{{0,127}}$ and not contain '..', got {0:?}"
)]
pub struct InvalidFileName(pub String);

impl SafeFileName {
    pub const MAX_LEN: usize = 128;

    pub fn parse(text: &str) -> Result<SafeFileName, InvalidFileName> {
        let bytes = text.as_bytes();
        let ok = !bytes.is_empty()
            && bytes.len() <= Self::MAX_LEN
            && bytes[0].is_ascii_alphanumeric()
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            && !text.contains("..");
        if ok {
            Ok(SafeFileName(text.to_owned()))
        } else {
            Err(InvalidFileName(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the last dot, lower-cased (`"mp4"`), if any.
    pub fn extension(&self) -> Option<String> {
        let (stem, ext) = self.0.rsplit_once('.')?;
        (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_ascii_lowercase())
    }

    /// The camera a service-made name starts with (`camera0_...`).
    pub fn camera(&self) -> Option<CameraId> {
        let prefix = self.0.split(['_', '.', '-']).next()?;
        CameraId::parse(prefix).ok()
    }

    /// `name.ext` → `name-N.ext`, for a name that is already taken. `None` when too long.
    pub fn with_counter(&self, n: u32) -> Option<SafeFileName> {
        let text = match self.0.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => format!("{stem}-{n}.{ext}"),
            _ => format!("{}-{n}", self.0),
        };
        SafeFileName::parse(&text).ok()
    }
}

impl fmt::Display for SafeFileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for SafeFileName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for SafeFileName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SafeFileName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        SafeFileName::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Which of the two file collections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Recording,
    Snapshot,
}

impl FileKind {
    /// The HTTP download path segment: `/files/<segment>/<name>`.
    pub fn url_segment(self) -> &'static str {
        match self {
            FileKind::Recording => "recordings",
            FileKind::Snapshot => "snapshots",
        }
    }

    pub fn download_url(self, name: &SafeFileName) -> String {
        format!("/files/{}/{}", self.url_segment(), name)
    }
}

/// Still image formats.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotFormat {
    #[default]
    Jpg,
    Png,
}

impl SnapshotFormat {
    pub fn extension(self) -> &'static str {
        match self {
            SnapshotFormat::Jpg => "jpg",
            SnapshotFormat::Png => "png",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            SnapshotFormat::Jpg => "image/jpeg",
            SnapshotFormat::Png => "image/png",
        }
    }
}

/// Video container formats.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum RecordingFormat {
    #[default]
    Mp4,
    Mkv,
}

impl RecordingFormat {
    pub fn extension(self) -> &'static str {
        match self {
            RecordingFormat::Mp4 => "mp4",
            RecordingFormat::Mkv => "mkv",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            RecordingFormat::Mp4 => "video/mp4",
            RecordingFormat::Mkv => "video/x-matroska",
        }
    }
}

/// The content type of a file by its extension.
pub fn content_type_of(name: &SafeFileName) -> &'static str {
    match name.extension().as_deref() {
        Some("jpg") | Some("jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("mp4") => "video/mp4",
        Some("mkv") => "video/x-matroska",
        _ => "application/octet-stream",
    }
}

/// `camera0_20250115T143000.123Z.jpg`
pub fn snapshot_name(camera: CameraId, at: Timestamp, format: SnapshotFormat) -> SafeFileName {
    SafeFileName(format!(
        "{camera}_{}.{}",
        at.compact_millis(),
        format.extension()
    ))
}

/// `camera0_20250115T143000Z.mp4`
pub fn recording_name(camera: CameraId, at: Timestamp, format: RecordingFormat) -> SafeFileName {
    SafeFileName(format!(
        "{camera}_{}.{}",
        at.compact_secs(),
        format.extension()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn traversal_and_separators_are_refused() {
        for bad in [
            "../x", "a/b", "..", ".hidden", "%2e%2e", "a..b", "", "a b", "a\\b", "-x", "x\0",
        ] {
            assert!(SafeFileName::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(SafeFileName::parse(&"a".repeat(129)).is_err());
        assert!(SafeFileName::parse(&"a".repeat(128)).is_ok());
    }

    #[test]
    fn default_names_follow_the_contract() {
        let t = Timestamp::parse_rfc3339("2025-01-15T14:30:00.123Z").unwrap();
        let cam = CameraId::new(0).unwrap();
        assert_eq!(
            snapshot_name(cam, t, SnapshotFormat::Jpg).as_str(),
            "camera0_20250115T143000.123Z.jpg"
        );
        assert_eq!(
            recording_name(cam, t, RecordingFormat::Mp4).as_str(),
            "camera0_20250115T143000Z.mp4"
        );
        assert_eq!(
            snapshot_name(cam, t, SnapshotFormat::Png).camera(),
            Some(cam)
        );
    }

    #[test]
    fn counter_goes_before_the_extension() {
        let n = SafeFileName::parse("camera0_x.mp4").unwrap();
        assert_eq!(n.with_counter(2).unwrap().as_str(), "camera0_x-2.mp4");
    }

    proptest! {
        #[test]
        fn accepted_names_are_flat(s in "[A-Za-z0-9._/%-]{0,140}") {
            if let Ok(n) = SafeFileName::parse(&s) {
                prop_assert!(!n.as_str().contains('/'));
                prop_assert!(!n.as_str().contains(".."));
                prop_assert!(n.as_str().len() <= 128);
                prop_assert!(std::path::Path::new(n.as_str()).components().count() == 1);
            }
        }

        #[test]
        fn valid_names_round_trip(s in "[A-Za-z0-9][A-Za-z0-9_-]{0,100}(\\.[a-z0-9]{1,5})?") {
            let n = SafeFileName::parse(&s).unwrap();
            prop_assert_eq!(n.as_str(), s.as_str());
            let json = serde_json::to_string(&n).unwrap();
            prop_assert_eq!(serde_json::from_str::<SafeFileName>(&json).unwrap(), n);
        }
    }
}
