//! Component health: each subsystem reports its own; the worst one is the service's.
//! A change of any component's status is published as a `system.health` event.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use domain::contract::notifications::SystemHealthEvent;
pub use domain::contract::results::ComponentStatus;
use domain::contract::results::{ComponentReport, HealthReport};
use domain::events::{Event, Topic};
use ports::clock::Clock;
use ports::events::EventPublisher;

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
            let fields = SystemHealthEvent {
                status: report.status,
                components: report.components,
                component: name.to_owned(),
            };
            self.events.publish(Event::typed(
                Topic::SystemHealth,
                self.clock.now(),
                None,
                &fields,
            ));
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
    pub fn report(&self) -> HealthReport {
        let map = self.components.read().unwrap_or_else(|p| p.into_inner());
        let components = map
            .iter()
            .map(|(name, c)| {
                (
                    (*name).to_owned(),
                    ComponentReport {
                        status: c.status,
                        details: c.details.clone(),
                    },
                )
            })
            .collect();
        let overall = map
            .values()
            .map(|c| c.status)
            .max()
            .unwrap_or(ComponentStatus::Healthy);
        HealthReport {
            status: overall,
            components,
        }
    }
}
