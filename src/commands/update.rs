//! `husk update`: change a live container's limits, from a resources JSON
//! file (or stdin) and runc's flags.

use std::io::Read;

use crate::bail;
use crate::cgroups::{self, resources::Resources};
use crate::cli::{Global, UpdateArgs};
use crate::container::{Container, Status};
use crate::error::{Error, Result};

/// "512m", "1G", "1024", "-1" → bytes, as runc and docker accept them.
pub fn parse_bytes(flag: &str, s: &str) -> Result<i64> {
    let t = s.trim();
    if t == "-1" {
        return Ok(-1);
    }
    let lower = t.to_ascii_lowercase();
    let lower = lower.strip_suffix('b').unwrap_or(&lower);
    let (num, mult) = match lower.chars().last() {
        Some('k') => (&lower[..lower.len() - 1], 1i64 << 10),
        Some('m') => (&lower[..lower.len() - 1], 1 << 20),
        Some('g') => (&lower[..lower.len() - 1], 1 << 30),
        Some('t') => (&lower[..lower.len() - 1], 1 << 40),
        _ => (lower, 1),
    };
    num.parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| Error::msg(format!("{flag}: {s:?} is not a size (like 512m or 1G)")))
}

fn read_resources(path: &str) -> Result<Resources> {
    let mut text = Vec::new();
    if path == "-" {
        std::io::stdin().read_to_end(&mut text)?;
    } else {
        text = std::fs::read(path).map_err(|e| Error::from(e).context(format!("read {path}")))?;
    }
    let de = &mut serde_json::Deserializer::from_slice(&text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        Error::msg(format!(
            "--resources {path}: bad value for {field}: {}",
            e.into_inner()
        ))
    })
}

pub fn build(a: &UpdateArgs) -> Result<Resources> {
    let mut r = match &a.resources {
        Some(p) => read_resources(p)?,
        None => Resources::default(),
    };
    let mem = r.memory.get_or_insert_with(Default::default);
    if let Some(m) = &a.memory {
        mem.limit = Some(parse_bytes("--memory", m)?);
    }
    if let Some(m) = &a.memory_swap {
        mem.swap = Some(parse_bytes("--memory-swap", m)?);
    }
    if let Some(m) = &a.memory_reservation {
        mem.reservation = Some(parse_bytes("--memory-reservation", m)?);
    }
    if r.memory.as_ref().is_some_and(|m| *m == Default::default()) {
        r.memory = None;
    }
    let cpu = r.cpu.get_or_insert_with(Default::default);
    cpu.shares = a.cpu_share.or(cpu.shares);
    cpu.quota = a.cpu_quota.or(cpu.quota);
    cpu.period = a.cpu_period.or(cpu.period);
    cpu.burst = a.cpu_burst.or(cpu.burst);
    cpu.realtime_period = a.cpu_rt_period.or(cpu.realtime_period);
    cpu.realtime_runtime = a.cpu_rt_runtime.or(cpu.realtime_runtime);
    if a.cpuset_cpus.is_some() {
        cpu.cpus = a.cpuset_cpus.clone();
    }
    if a.cpuset_mems.is_some() {
        cpu.mems = a.cpuset_mems.clone();
    }
    if r.cpu.as_ref().is_some_and(|c| *c == Default::default()) {
        r.cpu = None;
    }
    if let Some(p) = a.pids_limit {
        r.pids = Some(cgroups::resources::Pids { limit: p });
    }
    if let Some(w) = a.blkio_weight {
        r.block_io.get_or_insert_with(Default::default).weight = Some(w);
    }
    cgroups::resources::validate(&r)?;
    Ok(r)
}

pub fn run(g: &Global, a: &UpdateArgs) -> Result<()> {
    let res = build(a)?;
    let (c, st) = Container::open(&g.root, &a.id)?;
    if c.status(&st) == Status::Stopped {
        bail!("container not running");
    }
    let Some(cg) = &st.cgroup else {
        bail!(
            "container {} has no cgroup to update: {}",
            a.id,
            crate::cgroups::rootless::WHY_NONE
        );
    };
    cg.update(&cgroups::hierarchies()?, &res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("x", "512m").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("x", "1G").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("x", "100kb").unwrap(), 100 << 10);
        assert_eq!(parse_bytes("x", "4096").unwrap(), 4096);
        assert_eq!(parse_bytes("x", "-1").unwrap(), -1);
        assert!(
            parse_bytes("--memory", "lots")
                .unwrap_err()
                .to_string()
                .starts_with("--memory")
        );
    }
}
