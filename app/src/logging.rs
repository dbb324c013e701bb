//! Structured logs (slog): the main log on stdout and the audit log.
//!
//! Main log: JSON lines, or a human format on a terminal (`logging.format`), level from
//! config. Audit log: JSON lines in `logging.audit_file` with size-based rotation, or the
//! main log (records tagged `audit: true`) when no file is configured. Audit records are
//! never dropped: that drain is synchronous.

use std::io::IsTerminal;
use std::sync::Mutex;

use config::{LogFormat, LoggingConfig};
use slog::{o, Drain, Level, Logger};

pub struct Logs {
    pub main: Logger,
    pub audit: Logger,
    _async_guard: Option<slog_async::AsyncGuard>,
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
    let human = match cfg.format {
        LogFormat::Human => true,
        LogFormat::Json => false,
        LogFormat::Auto => std::io::stdout().is_terminal(),
    };
    let min = level(&cfg.level);
    let (main, guard) = if human {
        let decorator = slog_term::TermDecorator::new().stdout().build();
        let drain = slog_term::FullFormat::new(decorator).build().fuse();
        let (drain, guard) = slog_async::Async::new(drain).chan_size(4096).build_with_guard();
        (Logger::root(drain.filter_level(min).fuse(), o!()), guard)
    } else {
        let drain = json_to(std::io::stdout()).fuse();
        let (drain, guard) = slog_async::Async::new(drain).chan_size(4096).build_with_guard();
        (Logger::root(drain.filter_level(min).fuse(), o!()), guard)
    };
    let audit = if cfg.audit_file.is_empty() {
        main.new(o!("audit" => true))
    } else {
        let file = cs_sys::RotatingFile::open(&cfg.audit_file, cfg.audit_max_bytes, cfg.audit_keep)
            .map_err(|e| format!("cannot open audit log {}: {e}", cfg.audit_file))?;
        Logger::root(Mutex::new(json_to(file)).fuse(), o!("audit" => true))
    };
    Ok(Logs {
        main,
        audit,
        _async_guard: Some(guard),
    })
}

/// Logs that go nowhere (for unit tests).
pub fn discard() -> Logs {
    Logs {
        main: Logger::root(slog::Discard, o!()),
        audit: Logger::root(slog::Discard, o!()),
        _async_guard: None,
    }
}
