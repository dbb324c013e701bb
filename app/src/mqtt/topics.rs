//! The topic map of the MQTT bridge (docs/mqtt.md): every topic the service publishes or
//! listens to, built from the base topic in one place.

/// Topics under one base (`camera-service/<hostname>` by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMap {
    pub base: String,
    /// Home Assistant's discovery prefix (`homeassistant`).
    pub discovery_prefix: String,
    /// `[a-zA-Z0-9_-]` form of the base: the discovery node id and the prefix of `unique_id`s.
    pub node_id: String,
}

/// What an incoming message is, by its topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound<'a> {
    /// `<base>/<camera>/command/<command>`
    Command {
        camera: &'a str,
        command: &'a str,
    },
    /// `<base>/<camera>/state` (retained states seen when subscribing: the cameras the
    /// broker knows for this box).
    State {
        camera: &'a str,
    },
    /// `<discovery_prefix>/status`: Home Assistant's birth and will.
    HomeAssistantStatus,
    Other,
}

/// `[a-zA-Z0-9_-]` only (HA's rule for node and object ids); anything else becomes `_`.
pub fn id_chars(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl TopicMap {
    pub fn new(base: &str, discovery_prefix: &str) -> TopicMap {
        TopicMap {
            base: base.to_owned(),
            discovery_prefix: discovery_prefix.to_owned(),
            node_id: id_chars(base),
        }
    }

    /// Availability: `online` (retained) / `offline` (the will, and on a clean stop).
    pub fn status(&self) -> String {
        format!("{}/status", self.base)
    }

    pub fn system(&self) -> String {
        format!("{}/system", self.base)
    }

    pub fn state(&self, camera: &str) -> String {
        format!("{}/{camera}/state", self.base)
    }

    pub fn snapshot(&self, camera: &str) -> String {
        format!("{}/{camera}/snapshot", self.base)
    }

    /// An event about a camera, or about the box (`camera` `None`).
    pub fn event(&self, camera: Option<&str>, topic: &str) -> String {
        match camera {
            Some(c) => format!("{}/{c}/events/{topic}", self.base),
            None => format!("{}/events/{topic}", self.base),
        }
    }

    pub fn command(&self, camera: &str, command: &str) -> String {
        format!("{}/{camera}/command/{command}", self.base)
    }

    pub fn command_result(&self, camera: &str, command: &str) -> String {
        format!("{}/{camera}/command/{command}/result", self.base)
    }

    /// Subscriptions: every camera's commands and retained states.
    pub fn command_filter(&self) -> String {
        format!("{}/+/command/+", self.base)
    }

    pub fn state_filter(&self) -> String {
        format!("{}/+/state", self.base)
    }

    pub fn homeassistant_status(&self) -> String {
        format!("{}/status", self.discovery_prefix)
    }

    /// `<prefix>/<component>/<node_id>/<object_id>/config`
    pub fn discovery(&self, component: &str, object_id: &str) -> String {
        format!(
            "{}/{component}/{}/{object_id}/config",
            self.discovery_prefix, self.node_id
        )
    }

    pub fn classify<'t>(&self, topic: &'t str) -> Inbound<'t> {
        if topic == self.homeassistant_status() {
            return Inbound::HomeAssistantStatus;
        }
        let Some(rest) = topic
            .strip_prefix(self.base.as_str())
            .and_then(|r| r.strip_prefix('/'))
        else {
            return Inbound::Other;
        };
        let levels: Vec<&str> = rest.split('/').collect();
        match levels.as_slice() {
            [camera, "command", command] => Inbound::Command { camera, command },
            [camera, "state"] => Inbound::State { camera },
            _ => Inbound::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> TopicMap {
        TopicMap::new("camera-service/box-1", "homeassistant")
    }

    #[test]
    fn topics_hang_under_the_base() {
        let m = map();
        assert_eq!(m.status(), "camera-service/box-1/status");
        assert_eq!(m.state("camera0"), "camera-service/box-1/camera0/state");
        assert_eq!(
            m.event(Some("camera0"), "recording.start"),
            "camera-service/box-1/camera0/events/recording.start"
        );
        assert_eq!(
            m.event(None, "system.health"),
            "camera-service/box-1/events/system.health"
        );
        assert_eq!(
            m.command_result("camera0", "record"),
            "camera-service/box-1/camera0/command/record/result"
        );
        assert_eq!(m.node_id, "camera-service_box-1");
        assert_eq!(
            m.discovery("switch", "camera-service_box-1_camera0_recording"),
            "homeassistant/switch/camera-service_box-1/camera-service_box-1_camera0_recording/config"
        );
    }

    #[test]
    fn incoming_topics_are_classified() {
        let m = map();
        assert_eq!(
            m.classify("camera-service/box-1/camera2/command/snapshot"),
            Inbound::Command {
                camera: "camera2",
                command: "snapshot"
            }
        );
        assert_eq!(
            m.classify("camera-service/box-1/camera2/state"),
            Inbound::State { camera: "camera2" }
        );
        assert_eq!(
            m.classify("homeassistant/status"),
            Inbound::HomeAssistantStatus
        );
        for other in [
            "camera-service/box-1/camera2/command/snapshot/result",
            "camera-service/box-10/camera2/state",
            "camera-service/box-1/status",
            "elsewhere/camera2/state",
        ] {
            assert_eq!(m.classify(other), Inbound::Other, "{other}");
        }
    }
}
