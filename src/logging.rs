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
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

use crate::container::state::now_rfc3339;
use crate::error::{Error, Result};

pub struct LogLayer {
    out: Mutex<Box<dyn Write + Send>>,
    json: bool,
    max: Level,
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
    fields: Fields,
    start: Instant,
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

impl LogLayer {
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

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for LogLayer {
    fn enabled(&self, meta: &tracing::Metadata<'_>, _: Context<'_, S>) -> bool {
        *meta.level() <= self.max
            || (meta.is_span() && meta.name() == "step" && crate::explain::enabled())
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanData {
                fields,
                start: Instant::now(),
            });
        }
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut f = Fields::default();
        event.record(&mut f);
        self.emit(event.metadata().level(), &f.msg, &f.extra);
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let ext = span.extensions();
        let Some(d) = ext.get::<SpanData>() else {
            return;
        };
        let us = d.start.elapsed().as_micros();
        let field = |k: &str| {
            d.fields
                .extra
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.clone())
        };
        let name = field("step").unwrap_or_else(|| span.name().to_string());
        crate::explain::record(&name, &field("what").unwrap_or_default(), d.start, us);
        if *span.metadata().level() > self.max {
            return;
        }
        let mut extra = d.fields.extra.clone();
        extra.push(("us", us.to_string()));
        self.emit(
            span.metadata().level(),
            &format!("step {name} done"),
            &extra,
        );
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
    let layer = LogLayer {
        out: Mutex::new(out),
        json: o.json,
        max: if o.debug { Level::DEBUG } else { Level::WARN },
    };
    tracing_subscriber::registry().with(layer).init();
    Ok(())
}
