//! A message broker (MQTT): what the app's bridge needs to publish state and events and to
//! receive commands. The adapter only moves bytes; topics and payloads are the app's.

use async_trait::async_trait;

/// One message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub topic: String,
    pub payload: Vec<u8>,
    /// Retained: the broker keeps the latest per topic for late subscribers. A retained
    /// message waiting to be sent is replaced by a newer one for the same topic; an empty
    /// retained payload clears the topic.
    pub retain: bool,
}

impl Outgoing {
    pub fn event(topic: String, payload: Vec<u8>) -> Outgoing {
        Outgoing {
            topic,
            payload,
            retain: false,
        }
    }

    pub fn retained(topic: String, payload: Vec<u8>) -> Outgoing {
        Outgoing {
            topic,
            payload,
            retain: true,
        }
    }
}

/// Counters for metrics: the contract's `MqttFigures`, so what the connection counts is
/// what `get_metrics` sends, with no copy field by field between them.
pub use domain::contract::results::MqttFigures as BrokerStats;

/// What the broker connection tells the app. Called from the connection's own task: keep
/// each call short (hand work to a task of your own).
pub trait BrokerListener: Send + Sync + 'static {
    /// Connected (first time or again): subscriptions are restored by the adapter; the app
    /// re-publishes its state.
    fn connected(&self);
    /// Lost the broker; the adapter reconnects with backoff by itself.
    fn disconnected(&self, reason: &str);
    fn message(&self, topic: &str, payload: &[u8], retained: bool);
}

#[async_trait]
pub trait MessageBroker: Send + Sync + 'static {
    /// Never waits: the message is queued (bounded; when full the oldest event goes).
    fn publish(&self, msg: Outgoing);
    /// Subscribes now if connected, and again after every reconnect.
    fn subscribe(&self, filter: &str);
    fn unsubscribe(&self, filter: &str);
    fn stats(&self) -> BrokerStats;
    /// Clean stop: sends what waits (bounded by a deadline), then `last` (e.g. the retained
    /// `offline` availability), then disconnects so that the broker does not send the will.
    async fn close(&self, last: Option<Outgoing>);
}
