//! Event topics, subscription filters and the events themselves.

use serde_json::{Map, Value};

use crate::auth::Role;
use crate::camera::CameraId;
use crate::time::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    CameraConnected,
    CameraDisconnected,
    CameraStatusChange,
    RecordingStart,
    RecordingStop,
    RecordingError,
    SnapshotTaken,
    SystemHealth,
    /// A recording goes on from another source (its stream ended: it continues from the
    /// device in a new file of the same recording).
    RecordingSourceChanged,
    CameraControls,
}

impl Topic {
    pub const ALL: [Topic; 10] = [
        Topic::CameraConnected,
        Topic::CameraDisconnected,
        Topic::CameraStatusChange,
        Topic::RecordingStart,
        Topic::RecordingStop,
        Topic::RecordingError,
        Topic::SnapshotTaken,
        Topic::SystemHealth,
        Topic::RecordingSourceChanged,
        Topic::CameraControls,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Topic::CameraConnected => "camera.connected",
            Topic::CameraDisconnected => "camera.disconnected",
            Topic::CameraStatusChange => "camera.status_change",
            Topic::RecordingStart => "recording.start",
            Topic::RecordingStop => "recording.stop",
            Topic::RecordingError => "recording.error",
            Topic::SnapshotTaken => "snapshot.taken",
            Topic::SystemHealth => "system.health",
            Topic::RecordingSourceChanged => "recording.source_changed",
            Topic::CameraControls => "camera.controls",
        }
    }

    /// The JSON-RPC notification method an event of this topic arrives as.
    pub fn notification_method(self) -> &'static str {
        match self {
            Topic::CameraConnected | Topic::CameraDisconnected | Topic::CameraStatusChange => {
                "camera_status_update"
            }
            Topic::RecordingStart
            | Topic::RecordingStop
            | Topic::RecordingError
            | Topic::RecordingSourceChanged => "recording_status_update",
            Topic::SnapshotTaken => "snapshot_update",
            Topic::SystemHealth => "system_status_update",
            Topic::CameraControls => "camera_controls_update",
        }
    }

    /// The least role that may subscribe.
    pub fn min_role(self) -> Role {
        match self {
            Topic::RecordingStart
            | Topic::RecordingStop
            | Topic::RecordingError
            | Topic::RecordingSourceChanged
            | Topic::SnapshotTaken => Role::Operator,
            _ => Role::Viewer,
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn parse(text: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.name() == text)
    }

    /// A topic name, or a group wildcard (`recording.*`, or `*` for all).
    pub fn parse_pattern(text: &str) -> Option<Vec<Topic>> {
        if text == "*" {
            return Some(Topic::ALL.to_vec());
        }
        if let Some(group) = text.strip_suffix(".*") {
            let topics: Vec<Topic> = Topic::ALL
                .into_iter()
                .filter(|t| t.name().split('.').next() == Some(group))
                .collect();
            return (!topics.is_empty()).then_some(topics);
        }
        Topic::parse(text).map(|t| vec![t])
    }
}

/// A set of topics as a bit mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct TopicSet(u16);

impl TopicSet {
    pub fn insert(&mut self, t: Topic) {
        self.0 |= 1 << t.index();
    }

    pub fn contains(self, t: Topic) -> bool {
        self.0 & (1 << t.index()) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Topic> {
        Topic::ALL.into_iter().filter(move |t| self.contains(*t))
    }

    /// The least role that may subscribe to all of them.
    pub fn min_role(self) -> Role {
        self.iter()
            .map(Topic::min_role)
            .max()
            .unwrap_or(Role::Viewer)
    }
}

impl FromIterator<Topic> for TopicSet {
    fn from_iter<I: IntoIterator<Item = Topic>>(iter: I) -> Self {
        let mut s = TopicSet::default();
        for t in iter {
            s.insert(t);
        }
        s
    }
}

/// Restricts delivery (`filters.device`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct EventFilter {
    pub device: Option<CameraId>,
}

impl EventFilter {
    /// Events about no camera (system health) pass every filter.
    pub fn accepts(&self, event: &Event) -> bool {
        match (self.device, event.device) {
            (Some(want), Some(have)) => want == have,
            _ => true,
        }
    }
}

/// Something that happened, for subscribers.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub topic: Topic,
    pub timestamp: Timestamp,
    pub device: Option<CameraId>,
    /// Topic-specific fields (API.md, Notifications); `device` is added from the field above.
    pub fields: Map<String, Value>,
}

impl Event {
    pub fn new(topic: Topic, timestamp: Timestamp, device: Option<CameraId>) -> Event {
        Event {
            topic,
            timestamp,
            device,
            fields: Map::new(),
        }
    }

    /// An event whose fields are one of the typed payloads of
    /// `contract::notifications` (their schemas are the document's).
    pub fn typed<T: serde::Serialize>(
        topic: Topic,
        timestamp: Timestamp,
        device: Option<CameraId>,
        fields: &T,
    ) -> Event {
        let mut event = Event::new(topic, timestamp, device);
        // The payloads are structs of plain fields: they always serialize to an object.
        if let Ok(Value::Object(map)) = serde_json::to_value(fields) {
            event.fields = map;
        }
        event
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Event {
        self.fields.insert(key.to_owned(), value.into());
        self
    }

    /// The notification's `result`: `topic`, `timestamp`, `device`, the fields, and
    /// `dropped` when the subscriber lost events before this one.
    pub fn to_json(&self, dropped: u64) -> Value {
        let mut m = Map::with_capacity(self.fields.len() + 4);
        m.insert("topic".into(), Value::from(self.topic.name()));
        m.insert("timestamp".into(), Value::from(self.timestamp.to_rfc3339()));
        if let Some(d) = self.device {
            m.insert("device".into(), Value::from(d.to_string()));
        }
        for (k, v) in &self.fields {
            m.insert(k.clone(), v.clone());
        }
        if dropped > 0 {
            m.insert("dropped".into(), Value::from(dropped));
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wildcards_expand_to_their_group() {
        assert_eq!(
            Topic::parse_pattern("recording.*").unwrap(),
            vec![
                Topic::RecordingStart,
                Topic::RecordingStop,
                Topic::RecordingError,
                Topic::RecordingSourceChanged
            ]
        );
        assert_eq!(Topic::parse_pattern("*").unwrap().len(), Topic::ALL.len());
        assert!(Topic::parse_pattern("nope.*").is_none());
        assert!(Topic::parse_pattern("camera.exploded").is_none());
    }

    #[test]
    fn recording_and_snapshot_topics_need_operator() {
        let s: TopicSet = [Topic::CameraConnected, Topic::SnapshotTaken]
            .into_iter()
            .collect();
        assert_eq!(s.min_role(), Role::Operator);
        let s: TopicSet = [Topic::SystemHealth].into_iter().collect();
        assert_eq!(s.min_role(), Role::Viewer);
    }

    #[test]
    fn device_filter_passes_system_events() {
        let f = EventFilter {
            device: CameraId::new(1),
        };
        let t = Timestamp::UNIX_EPOCH;
        assert!(f.accepts(&Event::new(Topic::SystemHealth, t, None)));
        assert!(f.accepts(&Event::new(Topic::CameraConnected, t, CameraId::new(1))));
        assert!(!f.accepts(&Event::new(Topic::CameraConnected, t, CameraId::new(0))));
    }

    proptest! {
        #[test]
        fn topic_names_round_trip(i in 0usize..Topic::ALL.len()) {
            let t = Topic::ALL[i];
            prop_assert_eq!(Topic::parse(t.name()), Some(t));
            prop_assert_eq!(t.index(), i);
        }

        #[test]
        fn topic_set_holds_what_was_inserted(mask in 0u16..(1 << Topic::ALL.len())) {
            let picked: Vec<Topic> = Topic::ALL.into_iter().filter(|t| mask & (1 << t.index()) != 0).collect();
            let set: TopicSet = picked.iter().copied().collect();
            prop_assert_eq!(set.iter().collect::<Vec<_>>(), picked);
        }
    }
}
