//! Where domain events go (the app's event hub implements it).

use domain::events::Event;

pub trait EventPublisher: Send + Sync + 'static {
    /// Never blocks: slow subscribers lose their oldest events instead.
    fn publish(&self, event: Event);
}
