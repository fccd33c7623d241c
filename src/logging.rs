//! Logs the way runc (logrus) writes them, so containerd and podman can read
//! ours: `--log-format json` gives one `{"level","msg","time"}` object per
//! line; text gives `time="…" level=error msg="…"`, or on a terminal
//! logrus's coloured `ERRO[0000] …`. Only the framing is runc's: the
//! messages stay husk's own.
//! Steps (tracing spans) are logged with their duration at debug level.
//! No writer thread: husk forks, and must stay single-threaded.

use std::fmt::Write as _;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

use crate::container::state::now_rfc3339;
use crate::error::{Error, Result};

/// husk's whole `tracing` subscriber. Its own, not tracing-subscriber's
/// registry: husk only needs each open span's fields and start time, and
/// the registry (sharded slabs, thread locals, per-layer extensions) cost
/// about 40 KB of binary for that.
pub struct Logger {
    out: Mutex<Box<dyn Write + Send>>,
    format: Format,
    max: Level,
    /// Open spans; a span's `Id` is its index + 1. A slot is freed when
    /// the last handle to its span closes, and reused.
    spans: Mutex<Vec<Option<SpanData>>>,
}

/// How a line is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    /// `time="…" level=… msg="…" key=value`: logrus's text without a tty.
    Text,
    /// logrus's text on a terminal: `ERRO[0003] msg`, coloured; the number
    /// is seconds since start.
    Tty(Instant),
}

#[derive(Default)]
struct Fields {
    msg: String,
    extra: Vec<(&'static str, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, f: &Field, v: &str) {
        if f.name() == "message" {
            self.msg = v.to_string();
        } else {
            self.extra.push((f.name(), v.to_string()));
        }
    }
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
        if f.name() == "message" {
            self.msg = format!("{v:?}");
        } else {
            self.extra.push((f.name(), format!("{v:?}")));
        }
    }
}

struct SpanData {
    meta: &'static Metadata<'static>,
    fields: Fields,
    start: Instant,
    /// Handles to the span (`Span::clone` adds one); closed at zero.
    refs: usize,
}

fn level_name(l: &Level) -> &'static str {
    match *l {
        Level::ERROR => "error",
        Level::WARN => "warning",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

impl Logger {
    fn emit(&self, level: &Level, msg: &str, extra: &[(&'static str, String)]) {
        let line = format_line(self.format, level, msg, extra);
        if let Ok(mut out) = self.out.lock() {
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        }
    }
}

fn format_line(
    format: Format,
    level: &Level,
    msg: &str,
    extra: &[(&'static str, String)],
) -> String {
    let mut extra = extra.to_vec();
    // logrus sorts the fields after time, level and msg.
    extra.sort_by_key(|(k, _)| *k);
    let mut s = match format {
        Format::Json => {
            let mut m = serde_json::Map::new();
            m.insert("level".into(), level_name(level).into());
            m.insert("msg".into(), msg.into());
            m.insert("time".into(), log_time().into());
            for (k, v) in &extra {
                m.insert((*k).into(), v.clone().into());
            }
            serde_json::Value::Object(m).to_string()
        }
        Format::Text => {
            let mut s = format!(
                "time={} level={} msg={}",
                text_value(&log_time()),
                level_name(level),
                text_value(msg)
            );
            for (k, v) in &extra {
                let _ = write!(s, " {k}={}", text_value(v));
            }
            s
        }
        Format::Tty(start) => {
            let (color, name) = tty_level(level);
            let secs = start.elapsed().as_secs();
            let mut s = format!("\x1b[{color}m{name}\x1b[0m[{secs:04}] {msg:<44} ");
            for (k, v) in &extra {
                let _ = write!(s, " \x1b[{color}m{k}\x1b[0m={}", text_value(v));
            }
            s
        }
    };
    s.push('\n');
    s
}

/// logrus's default time stamp, as runc writes it: RFC 3339 in UTC, to the
/// second ("2026-12-07T03:13:24Z").
fn log_time() -> String {
    let t = now_rfc3339();
    match t.split_once('.') {
        Some((secs, _)) => format!("{secs}Z"),
        None => t,
    }
}

/// logrus's colour and four-letter name of a level.
fn tty_level(l: &Level) -> (u8, &'static str) {
    match *l {
        Level::ERROR => (31, "ERRO"),
        Level::WARN => (33, "WARN"),
        Level::INFO => (36, "INFO"),
        Level::DEBUG => (37, "DEBU"),
        Level::TRACE => (37, "TRAC"),
    }
}

/// A value as logrus's text formatter writes it: bare when it is made of
/// letters, digits and `-._/@^+` only, else quoted as Go's %q does.
fn text_value(v: &str) -> String {
    let bare = |c: char| c.is_ascii_alphanumeric() || "-._/@^+".contains(c);
    if v.chars().all(bare) {
        v.to_string()
    } else {
        go_quote(v)
    }
}

/// Go's strconv.Quote: `"` and `\` escaped, control characters as \n, \t
/// or \xNN, other non-printable characters as \uNNNN; the rest as is.
pub fn go_quote(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\t' => s.push_str("\\t"),
            '\r' => s.push_str("\\r"),
            '\x07' => s.push_str("\\a"),
            '\x08' => s.push_str("\\b"),
            '\x0c' => s.push_str("\\f"),
            '\x0b' => s.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                let _ = write!(s, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(s, "\\u{:04x}", c as u32);
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// An error from before the logger exists (a bad --log path, a bad
/// --explain mode): one text line on stderr, framed as the logger would.
pub fn early_error(msg: &str) {
    eprint!("{}", format_line(Format::Text, &Level::ERROR, msg, &[]));
}

impl Logger {
    /// A span's last handle is gone: record its timing for --explain and
    /// log "step NAME done" with its duration.
    fn close(&self, d: SpanData) {
        let us = d.start.elapsed().as_micros();
        let field = |k: &str| {
            d.fields
                .extra
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.clone())
        };
        let name = field("step").unwrap_or_else(|| d.meta.name().to_string());
        crate::explain::record(&name, &field("what").unwrap_or_default(), d.start, us);
        if *d.meta.level() > self.max {
            return;
        }
        let mut extra = d.fields.extra.clone();
        extra.push(("us", us.to_string()));
        self.emit(d.meta.level(), &format!("step {name} done"), &extra);
    }
}

impl Subscriber for Logger {
    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        *meta.level() <= self.max
            || (meta.is_span() && meta.name() == "step" && crate::explain::enabled())
    }

    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let data = SpanData {
            meta: attrs.metadata(),
            fields,
            start: Instant::now(),
            refs: 1,
        };
        let mut spans = self.spans.lock().unwrap_or_else(|e| e.into_inner());
        let i = match spans.iter().position(Option::is_none) {
            Some(i) => {
                spans[i] = Some(data);
                i
            }
            None => {
                spans.push(Some(data));
                spans.len() - 1
            }
        };
        Id::from_u64(i as u64 + 1)
    }

    fn record(&self, id: &Id, values: &Record<'_>) {
        let mut spans = self.spans.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(Some(d)) = spans.get_mut(id.into_u64() as usize - 1) {
            values.record(&mut d.fields);
        }
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut f = Fields::default();
        event.record(&mut f);
        self.emit(event.metadata().level(), &f.msg, &f.extra);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}

    fn clone_span(&self, id: &Id) -> Id {
        let mut spans = self.spans.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(Some(d)) = spans.get_mut(id.into_u64() as usize - 1) {
            d.refs += 1;
        }
        id.clone()
    }

    fn try_close(&self, id: Id) -> bool {
        let closed = {
            let mut spans = self.spans.lock().unwrap_or_else(|e| e.into_inner());
            match spans.get_mut(id.into_u64() as usize - 1) {
                Some(slot @ Some(_)) => {
                    let d = slot.as_mut().expect("matched Some");
                    d.refs -= 1;
                    if d.refs == 0 { slot.take() } else { None }
                }
                _ => None,
            }
        };
        // Outside the lock: close() writes the log line.
        match closed {
            Some(d) => {
                self.close(d);
                true
            }
            None => false,
        }
    }
}

pub struct LogOptions<'a> {
    pub file: Option<&'a Path>,
    pub json: bool,
    pub debug: bool,
}

pub fn init(o: &LogOptions) -> Result<()> {
    // SAFETY: isatty has no preconditions.
    let tty = o.file.is_none() && unsafe { libc::isatty(2) } == 1;
    let format = match (o.json, tty) {
        (true, _) => Format::Json,
        (false, true) => Format::Tty(Instant::now()),
        (false, false) => Format::Text,
    };
    let out: Box<dyn Write + Send> = match o.file {
        // std opens with O_CLOEXEC: the log never leaks into the container.
        Some(p) => Box::new(
            File::options()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| Error::from(e).context(format!("open log file {}", p.display())))?,
        ),
        None => Box::new(std::io::stderr()),
    };
    let logger = Logger {
        out: Mutex::new(out),
        format,
        max: if o.debug { Level::DEBUG } else { Level::WARN },
        spans: Mutex::new(Vec::new()),
    };
    // Fails only if a subscriber is already set, and husk sets one once.
    let _ = tracing::subscriber::set_global_default(logger);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lines_are_logrus_lines() {
        let l = format_line(Format::Text, &Level::ERROR, "container does not exist", &[]);
        let (time, rest) = l.strip_prefix("time=\"").unwrap().split_once('"').unwrap();
        // 2026-12-07T03:13:24Z, to the second, as runc's.
        assert_eq!(time.len(), 20, "{l}");
        assert!(time.ends_with('Z') && time.as_bytes()[10] == b'T', "{l}");
        assert_eq!(rest, " level=error msg=\"container does not exist\"\n");
        let l = format_line(Format::Text, &Level::WARN, "ok", &[("us", "12".into())]);
        assert!(l.ends_with(" level=warning msg=ok us=12\n"), "{l}");
    }

    #[test]
    fn quoting_is_gos() {
        assert_eq!(go_quote("a\"b\\c\nd\te"), r#""a\"b\\c\nd\te""#);
        assert_eq!(go_quote("\x01é\u{85}"), r#""\x01é\u0085""#);
        assert_eq!(text_value("abc-1.2/x@y"), "abc-1.2/x@y");
        assert_eq!(text_value(""), "");
        assert_eq!(text_value("exec: \"x\""), r#""exec: \"x\"""#);
    }

    #[test]
    fn json_keys_are_runcs() {
        let l = format_line(Format::Json, &Level::ERROR, "m", &[]);
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["level", "msg", "time"]);
        assert_eq!(v["level"], "error");
    }
}
