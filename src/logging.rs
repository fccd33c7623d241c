//! Logs the way runc writes them, so containerd and podman can read ours:
//! `--log-format json` gives one `{"level","msg","time"}` object per line.
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
    json: bool,
    max: Level,
    /// Open spans; a span's `Id` is its index + 1. A slot is freed when
    /// the last handle to its span closes, and reused.
    spans: Mutex<Vec<Option<SpanData>>>,
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
        let line = if self.json {
            let mut m = serde_json::Map::new();
            m.insert("level".into(), level_name(level).into());
            m.insert("msg".into(), msg.into());
            m.insert("time".into(), now_rfc3339().into());
            for (k, v) in extra {
                m.insert((*k).into(), v.clone().into());
            }
            let mut s = serde_json::Value::Object(m).to_string();
            s.push('\n');
            s
        } else {
            let mut s = format!("{} {:<5} {msg}", now_rfc3339(), level_name(level));
            for (k, v) in extra {
                let _ = write!(s, " {k}={v}");
            }
            s.push('\n');
            s
        };
        if let Ok(mut out) = self.out.lock() {
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        }
    }
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
        json: o.json,
        max: if o.debug { Level::DEBUG } else { Level::WARN },
        spans: Mutex::new(Vec::new()),
    };
    // Fails only if a subscriber is already set, and husk sets one once.
    let _ = tracing::subscriber::set_global_default(logger);
    Ok(())
}
