//! Camera identity and status.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// `camera<N>`: N is the index of the V4L2 node `/dev/video<N>` or of a simulated camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CameraId(u16);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("camera id must match ^camera[0-9]{{1,3}}$, got {0:?}")]
pub struct InvalidCameraId(pub String);

impl CameraId {
    pub const MAX_INDEX: u16 = 999;

    pub fn new(index: u16) -> Option<CameraId> {
        (index <= Self::MAX_INDEX).then_some(CameraId(index))
    }

    pub fn parse(text: &str) -> Result<CameraId, InvalidCameraId> {
        let digits = text
            .strip_prefix("camera")
            .filter(|d| (1..=3).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| InvalidCameraId(text.to_owned()))?;
        let index: u16 = digits
            .parse()
            .map_err(|_| InvalidCameraId(text.to_owned()))?;
        Ok(CameraId(index))
    }

    /// The number in a V4L2 node name: `video3` → camera3. Other names are not cameras.
    pub fn from_node_name(name: &str) -> Option<CameraId> {
        let digits = name.strip_prefix("video")?;
        if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        CameraId::new(digits.parse().ok()?)
    }

    pub fn index(self) -> u16 {
        self.0
    }
}

impl fmt::Display for CameraId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "camera{}", self.0)
    }
}

impl FromStr for CameraId {
    type Err = InvalidCameraId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CameraId::parse(s)
    }
}

impl Serialize for CameraId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CameraId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        CameraId::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// What clients see of a camera's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CameraStatus {
    Connected,
    Disconnected,
    Error,
}

/// What happens to a camera, as observed by discovery or capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CameraEvent {
    /// The node appeared and answered its probe.
    Plugged,
    /// The node went away.
    Unplugged,
    /// The node is there but failed (probe or capture error).
    Failed,
}

impl CameraStatus {
    /// The status after `event`. Every event is accepted in every state; the point of
    /// this table is that it is total and that an unplug always wins.
    pub fn after(self, event: CameraEvent) -> CameraStatus {
        match (self, event) {
            (_, CameraEvent::Unplugged) => CameraStatus::Disconnected,
            (_, CameraEvent::Plugged) => CameraStatus::Connected,
            (CameraStatus::Disconnected, CameraEvent::Failed) => CameraStatus::Disconnected,
            (_, CameraEvent::Failed) => CameraStatus::Error,
        }
    }

    pub fn is_usable(self) -> bool {
        self == CameraStatus::Connected
    }
}

/// A frame size, `1920x1080`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Resolution {
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("resolution must be WIDTHxHEIGHT with both in 1..=16384, got {0:?}")]
pub struct InvalidResolution(pub String);

impl Resolution {
    pub const MAX_SIDE: u32 = 16384;

    pub fn new(width: u32, height: u32) -> Option<Resolution> {
        let ok = |v: u32| (1..=Self::MAX_SIDE).contains(&v);
        (ok(width) && ok(height)).then_some(Resolution { width, height })
    }

    pub fn parse(text: &str) -> Result<Resolution, InvalidResolution> {
        let bad = || InvalidResolution(text.to_owned());
        let (w, h) = text.split_once('x').ok_or_else(bad)?;
        let num = |s: &str| {
            if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
                None
            } else {
                s.parse::<u32>().ok()
            }
        };
        Resolution::new(num(w).ok_or_else(bad)?, num(h).ok_or_else(bad)?).ok_or_else(bad)
    }

    pub fn pixels(self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

impl Serialize for Resolution {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Resolution {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Resolution::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_documented_shape_only() {
        assert_eq!(CameraId::parse("camera0").unwrap().index(), 0);
        assert_eq!(CameraId::parse("camera999").unwrap().index(), 999);
        assert_eq!(CameraId::parse("camera007").unwrap().index(), 7);
        for bad in [
            "camera",
            "camera1000",
            "Camera1",
            "camera-1",
            "camera1 ",
            "video0",
            "/dev/video0",
            "camera+1",
            "",
        ] {
            assert!(CameraId::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn node_names_map_to_cameras() {
        assert_eq!(CameraId::from_node_name("video2"), CameraId::new(2));
        assert_eq!(CameraId::from_node_name("video"), None);
        assert_eq!(CameraId::from_node_name("vbi0"), None);
        assert_eq!(CameraId::from_node_name("video1000"), None);
    }

    #[test]
    fn unplug_always_wins() {
        for s in [
            CameraStatus::Connected,
            CameraStatus::Disconnected,
            CameraStatus::Error,
        ] {
            assert_eq!(s.after(CameraEvent::Unplugged), CameraStatus::Disconnected);
            assert_eq!(s.after(CameraEvent::Plugged), CameraStatus::Connected);
        }
        assert_eq!(
            CameraStatus::Connected.after(CameraEvent::Failed),
            CameraStatus::Error
        );
        assert_eq!(
            CameraStatus::Disconnected.after(CameraEvent::Failed),
            CameraStatus::Disconnected
        );
    }

    fn any_event() -> impl Strategy<Value = CameraEvent> {
        prop_oneof![
            Just(CameraEvent::Plugged),
            Just(CameraEvent::Unplugged),
            Just(CameraEvent::Failed)
        ]
    }

    proptest! {
        #[test]
        fn camera_id_round_trips(n in 0u16..=999) {
            let id = CameraId::new(n).unwrap();
            prop_assert_eq!(CameraId::parse(&id.to_string()), Ok(id));
            let json = serde_json::to_string(&id).unwrap();
            prop_assert_eq!(serde_json::from_str::<CameraId>(&json).unwrap(), id);
        }

        #[test]
        fn camera_id_parse_never_panics(s in ".{0,20}") {
            let _ = CameraId::parse(&s);
        }

        #[test]
        fn resolution_round_trips(w in 1u32..=16384, h in 1u32..=16384) {
            let r = Resolution::new(w, h).unwrap();
            prop_assert_eq!(Resolution::parse(&r.to_string()), Ok(r));
        }

        #[test]
        fn status_follows_the_last_plug_event(events in proptest::collection::vec(any_event(), 0..40)) {
            let end = events.iter().fold(CameraStatus::Disconnected, |s, e| s.after(*e));
            let last_plug = events.iter().rev().find(|e| **e != CameraEvent::Failed);
            match last_plug {
                None | Some(CameraEvent::Unplugged) => prop_assert_eq!(end, CameraStatus::Disconnected),
                Some(_) => prop_assert_ne!(end, CameraStatus::Disconnected),
            }
        }
    }
}
