//! Log lines for systemd's journal. Under systemd, stdout is a stream to journald, which
//! stamps each line with its own time and reads a `<N>` syslog priority prefix
//! (`SyslogLevelPrefix=`, on by default): so a line is `<6>listening addr=... ws=...`,
//! with no timestamp and no level word of ours. journald announces the stream in
//! `$JOURNAL_STREAM` (`device:inode`); it is ours only when that is what stdout is
//! (a child whose stdout was redirected elsewhere inherits the variable).

use std::fmt::{self, Write as _};
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;

use slog::{Drain, Level, OwnedKVList, Record, Serializer, KV};

/// Whether stdout is the journal stream `$JOURNAL_STREAM` names.
pub fn stdout_is_journal() -> bool {
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = stream.to_str().and_then(parse_stream) else {
        return false;
    };
    let stdout = std::io::stdout();
    let Ok(fd) = stdout.as_fd().try_clone_to_owned() else {
        return false;
    };
    std::fs::File::from(fd)
        .metadata()
        .map(|m| m.dev() == dev && m.ino() == ino)
        .unwrap_or(false)
}

/// `"8:12345"` → (8, 12345).
pub fn parse_stream(text: &str) -> Option<(u64, u64)> {
    let (dev, ino) = text.trim().split_once(':')?;
    Some((dev.parse().ok()?, ino.parse().ok()?))
}

/// The syslog priority journald reads from a `<N>` prefix.
pub fn priority(level: Level) -> u8 {
    match level {
        Level::Critical => 2,
        Level::Error => 3,
        Level::Warning => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

/// Writes `<N>message key=value ...` lines, one per record, to `W`.
pub struct JournalDrain<W: Write + Send> {
    out: std::sync::Mutex<W>,
}

impl<W: Write + Send> JournalDrain<W> {
    pub fn new(out: W) -> Self {
        JournalDrain {
            out: std::sync::Mutex::new(out),
        }
    }
}

/// Renders one record as a journal line (with its trailing new line).
pub fn line(record: &Record, values: &OwnedKVList) -> String {
    let mut text = format!("<{}>", priority(record.level()));
    // A new line would split the record into two journal entries.
    let _ = write!(Escaped(&mut text), "{}", record.msg());
    let mut pairs = Pairs(&mut text);
    let _ = record.kv().serialize(record, &mut pairs);
    let _ = values.serialize(record, &mut pairs);
    text.push('\n');
    text
}

impl<W: Write + Send> Drain for JournalDrain<W> {
    type Ok = ();
    type Err = std::io::Error;

    fn log(&self, record: &Record, values: &OwnedKVList) -> Result<(), std::io::Error> {
        let text = line(record, values);
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        out.write_all(text.as_bytes())?;
        out.flush()
    }
}

/// ` key=value`, the value quoted when it has a space, a quote or an `=`.
struct Pairs<'a>(&'a mut String);

impl Serializer for Pairs<'_> {
    fn emit_arguments(&mut self, key: slog::Key, val: &fmt::Arguments) -> slog::Result {
        let value = val.to_string();
        self.0.push(' ');
        self.0.push_str(key);
        self.0.push('=');
        if value.is_empty() || value.contains([' ', '"', '=', '\t']) {
            self.0.push('"');
            let _ = Escaped(self.0).write_str(&value.replace('"', "\\\""));
            self.0.push('"');
        } else {
            let _ = Escaped(self.0).write_str(&value);
        }
        Ok(())
    }
}

/// Writes text with new lines and carriage returns as `\n` / `\r`.
struct Escaped<'a>(&'a mut String);

impl fmt::Write for Escaped<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            match c {
                '\n' => self.0.push_str("\\n"),
                '\r' => self.0.push_str("\\r"),
                c => self.0.push(c),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slog::{o, Logger};
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn text(s: &Sink) -> String {
        String::from_utf8(s.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn lines_carry_a_priority_prefix_and_no_timestamp() {
        let sink = Sink::default();
        let log = Logger::root(
            JournalDrain::new(sink.clone()).fuse(),
            o!("component" => "media"),
        );
        slog::info!(log, "listening"; "addr" => "127.0.0.1:8002");
        slog::warn!(log, "camera lost"; "camera" => "camera0", "why" => "unplugged by hand");
        slog::error!(log, "two\nlines");
        slog::debug!(log, "quiet"; "empty" => "");

        assert_eq!(
            text(&sink),
            "<6>listening addr=127.0.0.1:8002 component=media\n\
             <4>camera lost why=\"unplugged by hand\" camera=camera0 component=media\n\
             <3>two\\nlines component=media\n\
             <7>quiet empty=\"\" component=media\n"
        );
    }

    #[test]
    fn stream_identity_parses_device_and_inode() {
        assert_eq!(parse_stream("8:12345"), Some((8, 12345)));
        assert_eq!(parse_stream(" 0:1\n"), Some((0, 1)));
        assert_eq!(parse_stream("8-12345"), None);
        assert_eq!(parse_stream("x:1"), None);
    }
}
