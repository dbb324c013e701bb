//! A log drain for unit tests (test builds only): each record kept as
//! `msg key=value ...` (the record's pairs, then the logger's).

use std::sync::{Arc, Mutex};

use slog::{Drain, OwnedKVList, Record, Serializer, KV};

#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<String>>>);

struct Line(String);

impl Serializer for Line {
    fn emit_arguments(&mut self, key: slog::Key, val: &std::fmt::Arguments) -> slog::Result {
        self.0.push_str(&format!(" {key}={val}"));
        Ok(())
    }
}

impl Drain for Capture {
    type Ok = ();
    type Err = slog::Never;
    fn log(&self, record: &Record, values: &OwnedKVList) -> Result<(), slog::Never> {
        let mut line = Line(record.msg().to_string());
        let _ = record.kv().serialize(record, &mut line);
        let _ = values.serialize(record, &mut line);
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(line.0);
        Ok(())
    }
}

/// The records so far.
pub fn lines(c: &Capture) -> Vec<String> {
    c.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
}
