//! Structured logs (slog): the main log on stdout and the audit log.
//!
//! Main log: JSON lines, or a human format on a terminal, or journal lines under systemd
//! (`logging.format`; [`crate::journal`]), level from config and changeable while running
//! ([`LogLevel`]). Audit log: JSON lines in `logging.audit_file` with size-based rotation, or the
//! main log (records tagged `audit: true`) when no file is configured. Audit records are
//! never dropped: that drain is synchronous.
//!
//! Correlation: a connection's logger carries `conn`; a request runs inside
//! [`in_request`], and every record logged while it runs, by any component's logger, main
//! or audit, gets that request's `conn` and `req` added (unless the record has them).
//! No library the service runs logs through `tracing` (jsonrpsee's client, which does, is
//! only `camera-service call`'s), so nothing is bridged from it.

use std::fmt;
use std::future::Future;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use config::{LogFormat, LoggingConfig};
use slog::{
    o, BorrowedKV, Drain, Level, Logger, OwnedKVList, Record, RecordStatic, Serializer, KV,
};

pub struct Logs {
    pub main: Logger,
    pub audit: Logger,
    /// The main log's level, changeable while running (SIGHUP reload).
    pub level: LogLevel,
    _async_guard: Option<slog_async::AsyncGuard>,
}

/// The main log's minimum level, shared by its drain: [`LogLevel::set`] takes effect on
/// the next record.
#[derive(Clone)]
pub struct LogLevel(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl LogLevel {
    fn new(min: Level) -> LogLevel {
        LogLevel(std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(
            min.as_usize(),
        )))
    }

    /// Sets the level by its configuration name (`logging.level`, already validated).
    pub fn set(&self, name: &str) {
        self.0.store(level(name).as_usize(), Ordering::Relaxed);
    }

    pub fn get(&self) -> Level {
        Level::from_usize(self.0.load(Ordering::Relaxed)).unwrap_or(Level::Info)
    }
}

/// Passes records at or above the current [`LogLevel`].
struct AtLevel<D> {
    drain: D,
    level: LogLevel,
}

impl<D: Drain> Drain for AtLevel<D> {
    type Ok = Option<D::Ok>;
    type Err = D::Err;

    fn log(&self, record: &Record, values: &OwnedKVList) -> Result<Self::Ok, D::Err> {
        if record.level().is_at_least(self.level.get()) {
            self.drain.log(record, values).map(Some)
        } else {
            Ok(None)
        }
    }

    fn is_enabled(&self, level: Level) -> bool {
        level.is_at_least(self.level.get()) && self.drain.is_enabled(level)
    }
}

fn level(name: &str) -> Level {
    match name {
        "trace" => Level::Trace,
        "debug" => Level::Debug,
        "warning" => Level::Warning,
        "error" => Level::Error,
        "critical" => Level::Critical,
        _ => Level::Info,
    }
}

fn json_to<W: std::io::Write + Send + 'static>(w: W) -> slog_json::Json<W> {
    slog_json::Json::new(w)
        .set_newlines(true)
        .add_key_value(o!(
            "ts" => slog::PushFnValue(|_, ser| ser.emit(time_now())),
            "level" => slog::FnValue(|r| r.level().as_short_str()),
            "msg" => slog::PushFnValue(|r, ser| ser.emit(r.msg())),
        ))
        .build()
}

fn time_now() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    domain::Timestamp::from_unix_millis(ms).to_rfc3339()
}

/// Builds the logs. Fails only when the audit file cannot be opened.
pub fn build(cfg: &LoggingConfig) -> Result<Logs, String> {
    // Under systemd (stdout is the journal's stream) lines are journal lines.
    let journal = match cfg.format {
        LogFormat::Journal => true,
        LogFormat::Auto => crate::journal::stdout_is_journal(),
        _ => false,
    };
    let human = match cfg.format {
        LogFormat::Human => true,
        LogFormat::Json | LogFormat::Journal => false,
        LogFormat::Auto => std::io::stdout().is_terminal(),
    };
    let min = level(&cfg.level);
    let live = LogLevel::new(min);
    let (main, guard) = if journal {
        let drain = crate::journal::JournalDrain::new(std::io::stdout()).fuse();
        let (drain, guard) = slog_async::Async::new(drain)
            .chan_size(4096)
            .build_with_guard();
        (
            Logger::root(WithRequest(at_level(drain, &live)).fuse(), o!()),
            guard,
        )
    } else if human {
        let decorator = slog_term::TermDecorator::new().stdout().build();
        let drain = slog_term::FullFormat::new(decorator).build().fuse();
        let (drain, guard) = slog_async::Async::new(drain)
            .chan_size(4096)
            .build_with_guard();
        (
            Logger::root(WithRequest(at_level(drain, &live)).fuse(), o!()),
            guard,
        )
    } else {
        let drain = json_to(std::io::stdout()).fuse();
        let (drain, guard) = slog_async::Async::new(drain)
            .chan_size(4096)
            .build_with_guard();
        (
            Logger::root(WithRequest(at_level(drain, &live)).fuse(), o!()),
            guard,
        )
    };
    let audit = if cfg.audit_file.is_empty() {
        main.new(o!("audit" => true))
    } else {
        let file = cs_sys::RotatingFile::open(&cfg.audit_file, cfg.audit_max_bytes, cfg.audit_keep)
            .map_err(|e| format!("cannot open audit log {}: {e}", cfg.audit_file))?;
        Logger::root(
            WithRequest(Mutex::new(json_to(file))).fuse(),
            o!("audit" => true),
        )
    };
    Ok(Logs {
        main,
        audit,
        level: live,
        _async_guard: Some(guard),
    })
}

fn at_level<D: Drain>(drain: D, level: &LogLevel) -> AtLevel<D> {
    AtLevel {
        drain,
        level: level.clone(),
    }
}

/// Logs that go nowhere (for unit tests).
pub fn discard() -> Logs {
    Logs {
        main: Logger::root(slog::Discard, o!()),
        audit: Logger::root(slog::Discard, o!()),
        level: LogLevel::new(Level::Info),
        _async_guard: None,
    }
}

/// The correlation ids of the request running in the current task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestIds {
    pub conn: u64,
    pub req: u64,
}

tokio::task_local! {
    static REQUEST: RequestIds;
}

static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

/// A request id unique in this process.
pub fn next_request_id() -> u64 {
    NEXT_REQUEST.fetch_add(1, Ordering::Relaxed)
}

/// Runs `work` as request `req` of connection `conn`: what it logs carries both ids.
pub async fn in_request<F: Future>(conn: u64, req: u64, work: F) -> F::Output {
    REQUEST.scope(RequestIds { conn, req }, work).await
}

/// The ids of the request running in this task, if any.
pub fn current_request() -> Option<RequestIds> {
    REQUEST.try_with(|ids| *ids).ok()
}

/// Which of the correlation keys a record already has.
#[derive(Default)]
struct KeyProbe {
    conn: bool,
    req: bool,
}

impl Serializer for KeyProbe {
    fn emit_arguments(&mut self, key: slog::Key, _val: &fmt::Arguments) -> slog::Result {
        match key {
            "conn" => self.conn = true,
            "req" => self.req = true,
            _ => {}
        }
        Ok(())
    }
}

/// The correlation keys a record lacks.
struct MissingIds {
    conn: Option<u64>,
    req: Option<u64>,
}

impl KV for MissingIds {
    fn serialize(&self, _record: &Record, serializer: &mut dyn Serializer) -> slog::Result {
        if let Some(conn) = self.conn {
            serializer.emit_u64("conn", conn)?;
        }
        if let Some(req) = self.req {
            serializer.emit_u64("req", req)?;
        }
        Ok(())
    }
}

/// Adds the current request's `conn` and `req` to every record logged inside
/// [`in_request`]. Runs in the logging task, before any asynchronous hand-off.
struct WithRequest<D>(D);

impl<D: Drain> Drain for WithRequest<D> {
    type Ok = D::Ok;
    type Err = D::Err;

    fn log(&self, record: &Record, values: &OwnedKVList) -> Result<D::Ok, D::Err> {
        let Some(ids) = current_request() else {
            return self.0.log(record, values);
        };
        let mut probe = KeyProbe::default();
        // The probe never fails; a value whose serialisation fails just leaves its key unseen.
        let _ = record.kv().serialize(record, &mut probe);
        let _ = values.serialize(record, &mut probe);
        let missing = MissingIds {
            conn: (!probe.conn).then_some(ids.conn),
            req: (!probe.req).then_some(ids.req),
        };
        if missing.conn.is_none() && missing.req.is_none() {
            return self.0.log(record, values);
        }
        let kv = (record.kv(), missing);
        let rstatic = RecordStatic {
            location: record.location(),
            tag: record.tag(),
            level: record.level(),
        };
        self.0.log(
            &Record::new(&rstatic, record.msg(), BorrowedKV(&kv)),
            values,
        )
    }

    fn is_enabled(&self, level: Level) -> bool {
        self.0.is_enabled(level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::log_capture::{lines, Capture};

    #[tokio::test]
    async fn records_logged_inside_a_request_carry_its_ids() {
        let cap = Capture::default();
        let root = Logger::root(WithRequest(cap.clone()), o!());
        let component = root.new(o!("component" => "media"));

        in_request(7, 42, async {
            slog::info!(component, "capturing"; "camera" => "camera0");
        })
        .await;
        slog::info!(component, "idle");

        assert_eq!(
            lines(&cap),
            [
                "capturing camera=camera0 conn=7 req=42 component=media",
                "idle component=media"
            ]
        );
    }

    #[tokio::test]
    async fn ids_a_record_already_has_are_not_repeated() {
        let cap = Capture::default();
        let conn_log = Logger::root(WithRequest(cap.clone()), o!("conn" => 7u64));

        in_request(7, 43, async {
            slog::warn!(conn_log, "internal error");
        })
        .await;

        assert_eq!(lines(&cap), ["internal error req=43 conn=7"]);
    }

    #[test]
    fn request_ids_are_unique() {
        let a = next_request_id();
        let b = next_request_id();
        assert_ne!(a, b);
    }
}
