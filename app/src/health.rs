//! Component health: each subsystem reports its own; the worst one is the service's.
//! A change of any component's status is published as a `system.health` event.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use domain::events::{Event, Topic};
use ports::clock::Clock;
use ports::events::EventPublisher;
use serde::Serialize;
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ComponentStatus {
    Healthy,
    Degraded,
    Unhealthy,
}

pub const API: &str = "api";
pub const CAMERA_MONITOR: &str = "camera_monitor";
pub const MEDIA_SERVER: &str = "media_server";
pub const STORAGE: &str = "storage";

#[derive(Debug, Clone, PartialEq)]
struct Component {
    status: ComponentStatus,
    details: String,
}

pub struct Health {
    components: RwLock<BTreeMap<&'static str, Component>>,
    events: Arc<dyn EventPublisher>,
    clock: Arc<dyn Clock>,
}

impl Health {
    pub fn new(events: Arc<dyn EventPublisher>, clock: Arc<dyn Clock>) -> Health {
        Health {
            components: RwLock::new(BTreeMap::new()),
            events,
            clock,
        }
    }

    /// Sets a component's state; publishes `system.health` when its status changed.
    pub fn set(&self, name: &'static str, status: ComponentStatus, details: impl Into<String>) {
        let details = details.into();
        let changed = {
            let mut map = self.components.write().unwrap_or_else(|p| p.into_inner());
            let old = map.insert(name, Component { status, details });
            old.map(|o| o.status) != Some(status)
        };
        if changed {
            let report = self.report();
            let event = Event::new(Topic::SystemHealth, self.clock.now(), None)
                .with("status", report["status"].clone())
                .with("components", report["components"].clone())
                .with("component", name);
            self.events.publish(event);
        }
    }

    pub fn status_of(&self, name: &str) -> Option<ComponentStatus> {
        self.components
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .map(|c| c.status)
    }

    pub fn overall(&self) -> ComponentStatus {
        self.components
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(|c| c.status)
            .max()
            .unwrap_or(ComponentStatus::Healthy)
    }

    /// `{"status": ..., "components": {name: {"status", "details"}}}`
    pub fn report(&self) -> Value {
        let map = self.components.read().unwrap_or_else(|p| p.into_inner());
        let mut components = Map::new();
        for (name, c) in map.iter() {
            components.insert(
                (*name).to_owned(),
                json!({"status": c.status, "details": c.details}),
            );
        }
        let overall = map
            .values()
            .map(|c| c.status)
            .max()
            .unwrap_or(ComponentStatus::Healthy);
        json!({"status": overall, "components": components})
    }
}
