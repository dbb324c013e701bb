//! Home Assistant MQTT discovery, per component (`<prefix>/<component>/<node_id>/<object_id>/config`):
//! one device per box; per camera a `camera` (the snapshot topic), `binary_sensor`s
//! (connected, recording), a `button` (snapshot) and a `switch` (recording); per box two
//! `sensor`s (storage used, free). Every entity has a stable `unique_id` and the box's
//! availability topic. Keys are HA's documented long names.

use serde::Serialize;

use super::topics::TopicMap;

/// HA's `device` mapping: every entity of the box joins the same device.
#[derive(Debug, Clone, Serialize)]
pub struct Device {
    pub identifiers: Vec<String>,
    pub name: String,
    pub manufacturer: &'static str,
    pub model: &'static str,
    pub sw_version: &'static str,
}

/// HA's `origin` mapping: who published the discovery message.
#[derive(Debug, Clone, Serialize)]
pub struct Origin {
    pub name: &'static str,
    pub sw_version: &'static str,
}

/// The keys every one of our entities carries.
#[derive(Debug, Clone, Serialize)]
pub struct Common {
    pub name: String,
    pub unique_id: String,
    pub device: Device,
    pub origin: Origin,
    pub availability_topic: String,
    pub payload_available: &'static str,
    pub payload_not_available: &'static str,
    pub qos: u8,
}

#[derive(Debug, Clone, Serialize)]
pub struct CameraEntity {
    #[serde(flatten)]
    pub common: Common,
    /// The retained snapshot JPEG.
    pub topic: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BinarySensorEntity {
    #[serde(flatten)]
    pub common: Common,
    pub state_topic: String,
    pub value_template: &'static str,
    pub payload_on: &'static str,
    pub payload_off: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_class: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ButtonEntity {
    #[serde(flatten)]
    pub common: Common,
    pub command_topic: String,
    pub payload_press: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct SwitchEntity {
    #[serde(flatten)]
    pub common: Common,
    pub command_topic: String,
    pub state_topic: String,
    pub value_template: &'static str,
    pub payload_on: &'static str,
    pub payload_off: &'static str,
    pub state_on: &'static str,
    pub state_off: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct SensorEntity {
    #[serde(flatten)]
    pub common: Common,
    pub state_topic: String,
    pub value_template: &'static str,
    pub unit_of_measurement: &'static str,
    pub device_class: &'static str,
    pub state_class: &'static str,
}

/// One discovery message: where it goes and its JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub topic: String,
    pub payload: Vec<u8>,
}

/// Builds the discovery messages of one box.
pub struct Discovery<'a> {
    pub topics: &'a TopicMap,
    /// Shown as the device name (the host name, or the base topic).
    pub box_name: &'a str,
    pub qos: u8,
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The per-camera entities: (component, object suffix).
const CAMERA_ENTITIES: [(&str, &str); 5] = [
    ("camera", "snapshot"),
    ("binary_sensor", "connected"),
    ("binary_sensor", "recording"),
    ("button", "take_snapshot"),
    ("switch", "record"),
];
const BOX_ENTITIES: [(&str, &str); 2] = [("sensor", "storage_used"), ("sensor", "storage_free")];

fn json<T: Serialize>(topic: String, value: &T) -> Config {
    Config {
        topic,
        // Plain structs of strings and numbers: serialising cannot fail.
        payload: serde_json::to_vec(value).unwrap_or_default(),
    }
}

impl Discovery<'_> {
    fn object_id(&self, camera: Option<&str>, suffix: &str) -> String {
        match camera {
            Some(c) => format!("{}_{c}_{suffix}", self.topics.node_id),
            None => format!("{}_{suffix}", self.topics.node_id),
        }
    }

    fn common(&self, name: String, unique_id: String) -> Common {
        Common {
            name,
            unique_id,
            device: Device {
                identifiers: vec![self.topics.node_id.clone()],
                name: format!("camera-service {}", self.box_name),
                manufacturer: "camera-service",
                model: "camera-service",
                sw_version: VERSION,
            },
            origin: Origin {
                name: "camera-service",
                sw_version: VERSION,
            },
            availability_topic: self.topics.status(),
            payload_available: "online",
            payload_not_available: "offline",
            qos: self.qos,
        }
    }

    /// The box's own entities (storage sensors).
    pub fn box_configs(&self) -> Vec<Config> {
        let t = self.topics;
        let sensor = |suffix: &str, name: &str, template: &'static str| {
            let id = self.object_id(None, suffix);
            json(
                t.discovery("sensor", &id),
                &SensorEntity {
                    common: self.common(name.to_owned(), id.clone()),
                    state_topic: t.system(),
                    value_template: template,
                    unit_of_measurement: "B",
                    device_class: "data_size",
                    state_class: "measurement",
                },
            )
        };
        vec![
            sensor(
                "storage_used",
                "Storage used",
                "{{ value_json.storage.used_bytes }}",
            ),
            sensor(
                "storage_free",
                "Storage free",
                "{{ value_json.storage.available_bytes }}",
            ),
        ]
    }

    /// A camera's entities.
    pub fn camera_configs(&self, camera: &str) -> Vec<Config> {
        let t = self.topics;
        let id = |suffix: &str| self.object_id(Some(camera), suffix);
        let binary = |suffix: &str, name: String, template, class| {
            json(
                t.discovery("binary_sensor", &id(suffix)),
                &BinarySensorEntity {
                    common: self.common(name, id(suffix)),
                    state_topic: t.state(camera),
                    value_template: template,
                    payload_on: "ON",
                    payload_off: "OFF",
                    device_class: class,
                },
            )
        };
        vec![
            json(
                t.discovery("camera", &id("snapshot")),
                &CameraEntity {
                    common: self.common(camera.to_owned(), id("snapshot")),
                    topic: t.snapshot(camera),
                },
            ),
            binary(
                "connected",
                format!("{camera} connected"),
                "{{ 'ON' if value_json.status == 'CONNECTED' else 'OFF' }}",
                Some("connectivity"),
            ),
            binary(
                "recording",
                format!("{camera} recording"),
                "{{ 'ON' if value_json.recording else 'OFF' }}",
                Some("running"),
            ),
            json(
                t.discovery("button", &id("take_snapshot")),
                &ButtonEntity {
                    common: self.common(format!("{camera} take snapshot"), id("take_snapshot")),
                    command_topic: t.command(camera, "snapshot"),
                    payload_press: "{}",
                },
            ),
            json(
                t.discovery("switch", &id("record")),
                &SwitchEntity {
                    common: self.common(format!("{camera} record"), id("record")),
                    command_topic: t.command(camera, "record"),
                    state_topic: t.state(camera),
                    value_template: "{{ 'ON' if value_json.recording else 'OFF' }}",
                    payload_on: r#"{"action":"start"}"#,
                    payload_off: r#"{"action":"stop"}"#,
                    state_on: "ON",
                    state_off: "OFF",
                },
            ),
        ]
    }

    /// The topics of a camera's configs (to clear them with empty retained messages).
    pub fn camera_config_topics(&self, camera: &str) -> Vec<String> {
        CAMERA_ENTITIES
            .iter()
            .map(|(component, suffix)| {
                self.topics
                    .discovery(component, &self.object_id(Some(camera), suffix))
            })
            .collect()
    }

    pub fn box_config_topics(&self) -> Vec<String> {
        BOX_ENTITIES
            .iter()
            .map(|(component, suffix)| {
                self.topics
                    .discovery(component, &self.object_id(None, suffix))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn clearing_topics_are_the_published_ones() {
        let topics = TopicMap::new("camera-service/box", "homeassistant");
        let d = Discovery {
            topics: &topics,
            box_name: "box",
            qos: 1,
        };
        let published: Vec<String> = d
            .camera_configs("camera3")
            .into_iter()
            .map(|c| c.topic)
            .collect();
        assert_eq!(published, d.camera_config_topics("camera3"));
        let published: Vec<String> = d.box_configs().into_iter().map(|c| c.topic).collect();
        assert_eq!(published, d.box_config_topics());
    }

    #[test]
    fn unique_ids_are_stable_and_distinct() {
        let topics = TopicMap::new("camera-service/box", "homeassistant");
        let d = Discovery {
            topics: &topics,
            box_name: "box",
            qos: 1,
        };
        let ids = |configs: Vec<Config>| -> Vec<String> {
            configs
                .into_iter()
                .map(|c| {
                    let v: Value = serde_json::from_slice(&c.payload).unwrap();
                    v["unique_id"].as_str().unwrap().to_owned()
                })
                .collect()
        };
        let mut all = ids(d.camera_configs("camera0"));
        all.extend(ids(d.camera_configs("camera1")));
        all.extend(ids(d.box_configs()));
        let unique: std::collections::BTreeSet<_> = all.iter().collect();
        assert_eq!(unique.len(), all.len());
        assert_eq!(
            ids(d.camera_configs("camera0")),
            ids(d.camera_configs("camera0"))
        );
        assert!(all.iter().all(|id| id.starts_with("camera-service_box_")));
    }
}
