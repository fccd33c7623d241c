//! `husk events [--stats] [--interval D] ID`: JSON lines, as runc writes
//! them: `{"type":"stats","id":..,"data":{..}}` every interval, and
//! `{"type":"oom","id":..}` when the OOM killer strikes in the container.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::bail;
use crate::cgroups::stats;
use crate::cli::{EventsArgs, Global};
use crate::container::{self, Container, Status};
use crate::error::{Error, Result};

/// "5s", "250ms", "1m", "2" (seconds).
pub fn parse_interval(s: &str) -> Result<Duration> {
    let bad = || {
        Error::msg(format!(
            "--interval: {s:?} is not a duration (like 5s or 250ms)"
        ))
    };
    let (n, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    if secs <= 0.0 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

fn emit(v: serde_json::Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{v}")?;
    out.flush()?;
    Ok(())
}

pub fn run(g: &Global, a: &EventsArgs) -> Result<()> {
    let interval = parse_interval(&a.interval)?;
    let (c, st) = Container::open(&g.root, &a.id)?;
    if c.status(&st) == Status::Stopped {
        bail!("container not running");
    }
    // Do not hold the lock while streaming: other commands must go on.
    drop(c);
    let Some(cg) = st.cgroup.clone() else {
        bail!(
            "container {} has no cgroup to report on: {}",
            a.id,
            crate::cgroups::rootless::WHY_NONE
        );
    };
    let stats_event = || json!({"type": "stats", "id": a.id, "data": stats::collect(&cg)});
    if a.stats {
        return emit(stats_event());
    }
    let dir = g.root.join(&a.id);
    let mut ooms = stats::oom_kills(&cg);
    let mut next = Instant::now();
    loop {
        // Read "stopped" first: an OOM kill that ends the container is
        // still counted below before the loop ends.
        let stopped = container::status_of(&dir, &st) == Status::Stopped;
        let now_ooms = stats::oom_kills(&cg);
        if now_ooms > ooms {
            emit(json!({"type": "oom", "id": a.id}))?;
            ooms = now_ooms;
        }
        if Instant::now() >= next {
            emit(stats_event())?;
            next += interval;
        }
        if stopped {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100).min(interval));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_interval("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_interval("2").unwrap(), Duration::from_secs(2));
        assert!(parse_interval("soon").is_err());
        assert!(parse_interval("0s").is_err());
    }
}
