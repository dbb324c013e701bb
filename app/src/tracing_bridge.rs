//! Libraries the transport uses (jsonrpsee, hyper) log through `tracing`; this forwards
//! their events into the service's slog logger so they land in the same output with the
//! same format and level, instead of being lost.
//!
//! Only events are forwarded. Spans are accepted and ignored: the service's own
//! correlation ids (`conn`, `req`) are slog key/values, not tracing spans.

use std::fmt;

use slog::{Logger, Record, Serializer, KV};
use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record as SpanRecord};
use tracing_core::{Event, Level, LevelFilter, Metadata, Subscriber};

/// A `tracing` subscriber that writes events to a slog `Logger`.
pub struct SlogSubscriber {
    logger: Logger,
    max: LevelFilter,
}

impl SlogSubscriber {
    /// Events above `max` (more verbose) are skipped before their fields are formatted.
    pub fn new(logger: Logger, max: slog::Level) -> SlogSubscriber {
        let max = match max {
            slog::Level::Critical | slog::Level::Error => LevelFilter::ERROR,
            slog::Level::Warning => LevelFilter::WARN,
            slog::Level::Info => LevelFilter::INFO,
            slog::Level::Debug => LevelFilter::DEBUG,
            slog::Level::Trace => LevelFilter::TRACE,
        };
        SlogSubscriber { logger, max }
    }

    /// Makes this the process-wide `tracing` subscriber. Fails if one is already set
    /// (a second service in the same process, as in tests, keeps the first).
    pub fn install(self) -> Result<(), tracing_core::dispatcher::SetGlobalDefaultError> {
        tracing_core::dispatcher::set_global_default(tracing_core::Dispatch::new(self))
    }
}

fn slog_level(level: &Level) -> slog::Level {
    match *level {
        Level::ERROR => slog::Level::Error,
        Level::WARN => slog::Level::Warning,
        Level::INFO => slog::Level::Info,
        Level::DEBUG => slog::Level::Debug,
        _ => slog::Level::Trace,
    }
}

/// An event's fields: `message` apart, the rest as key/values.
#[derive(Default)]
struct Fields {
    message: String,
    pairs: Vec<(&'static str, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            self.pairs.push((field.name(), value.to_owned()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.pairs.push((field.name(), format!("{value:?}")));
        }
    }
}

impl KV for Fields {
    fn serialize(&self, _record: &Record, serializer: &mut dyn Serializer) -> slog::Result {
        for (key, value) in &self.pairs {
            serializer.emit_str(key, value)?;
        }
        Ok(())
    }
}

impl Subscriber for SlogSubscriber {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= self.max
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.max)
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        // Spans are not tracked; every span gets the same (non-zero) id.
        Id::from_u64(1)
    }

    fn record(&self, _span: &Id, _values: &SpanRecord<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let target = meta.target();
        let log = &self.logger;
        let msg = &fields.message;
        // slog's macros need the level as a constant.
        match slog_level(meta.level()) {
            slog::Level::Critical | slog::Level::Error => {
                slog::error!(log, "{}", msg; "target" => target, &fields)
            }
            slog::Level::Warning => slog::warn!(log, "{}", msg; "target" => target, &fields),
            slog::Level::Info => slog::info!(log, "{}", msg; "target" => target, &fields),
            slog::Level::Debug => slog::debug!(log, "{}", msg; "target" => target, &fields),
            slog::Level::Trace => slog::trace!(log, "{}", msg; "target" => target, &fields),
        }
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Collects records as `level message key=value ...` lines.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<String>>>);

    struct Line(String);

    impl Serializer for Line {
        fn emit_arguments(&mut self, key: slog::Key, val: &fmt::Arguments) -> slog::Result {
            self.0.push_str(&format!(" {key}={val}"));
            Ok(())
        }
    }

    impl slog::Drain for Capture {
        type Ok = ();
        type Err = slog::Never;
        fn log(&self, record: &Record, values: &slog::OwnedKVList) -> Result<(), slog::Never> {
            let mut line = Line(format!(
                "{} {}",
                record.level().as_short_str(),
                record.msg()
            ));
            let _ = record.kv().serialize(record, &mut line);
            let _ = values.serialize(record, &mut line);
            self.0.lock().expect("test lock").push(line.0);
            Ok(())
        }
    }

    fn capture(max: slog::Level) -> (Capture, tracing_core::Dispatch) {
        let cap = Capture::default();
        let logger = Logger::root(cap.clone(), slog::o!("svc" => "test"));
        (
            cap,
            tracing_core::Dispatch::new(SlogSubscriber::new(logger, max)),
        )
    }

    #[test]
    fn tracing_events_arrive_in_slog_with_their_fields_and_target() {
        let (cap, dispatch) = capture(slog::Level::Debug);

        tracing_core::dispatcher::with_default(&dispatch, || {
            tracing::warn!(target: "jsonrpsee_server::server", conn_id = 7, remote = "127.0.0.1", "connection closed");
            tracing::info_span!("method_call", name = "ping").in_scope(|| {
                tracing::debug!(bytes = 42usize, "sent");
            });
        });

        let lines = cap.0.lock().expect("test lock").clone();
        assert_eq!(
            lines,
            [
                "WARN connection closed conn_id=7 remote=127.0.0.1 target=jsonrpsee_server::server svc=test",
                "DEBG sent bytes=42 target=app::tracing_bridge::tests svc=test",
            ]
        );
    }

    #[test]
    fn events_more_verbose_than_the_configured_level_are_skipped() {
        let (cap, dispatch) = capture(slog::Level::Info);

        tracing_core::dispatcher::with_default(&dispatch, || {
            tracing::debug!("too chatty");
            tracing::trace!("even more");
            tracing::error!("kept");
        });

        let lines = cap.0.lock().expect("test lock").clone();
        assert_eq!(
            lines,
            ["ERRO kept target=app::tracing_bridge::tests svc=test"]
        );
    }
}
