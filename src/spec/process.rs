//! process: what the container's program runs as, with what limits.

use super::config;
use super::plan::{no_nul, require_absolute};
use crate::bail;
use crate::error::Result;
use crate::linux::capabilities::{self, CapSets};
use crate::linux::process_attrs::{IoPriority, Scheduler};
use crate::linux::rlimits::{self, Rlimit};

#[derive(Debug, Clone)]
pub struct ProcessPlan {
    /// A pty for stdio; (rows, columns) to give it, if the config says.
    pub terminal: bool,
    pub console_size: Option<(u16, u16)>,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub umask: u32,
    pub additional_gids: Vec<u32>,
    pub caps: CapSets,
    pub rlimits: Vec<Rlimit>,
    pub no_new_privileges: bool,
    pub oom_score_adj: Option<i32>,
    pub scheduler: Option<Scheduler>,
    pub io_priority: Option<IoPriority>,
    pub personality: Option<u32>,
}

pub fn plan_process(p: &config::Process, linux: &config::Linux) -> Result<ProcessPlan> {
    if p.args.is_empty() || p.args[0].is_empty() {
        bail!("process.args: empty (nothing to run)");
    }
    for (i, a) in p.args.iter().enumerate() {
        no_nul(&format!("process.args[{i}]"), a)?;
    }
    if p.cwd.is_empty() {
        bail!("process.cwd: missing");
    }
    require_absolute("process.cwd", &p.cwd)?;
    for (i, e) in p.env.iter().enumerate() {
        if !e.contains('=') || e.starts_with('=') {
            bail!("process.env[{i}]: {e:?} is not KEY=VALUE");
        }
        no_nul(&format!("process.env[{i}]"), e)?;
    }
    let c = p.capabilities.clone().unwrap_or_default();
    let known = capabilities::kernel_mask();
    let set = |field: &str, names: &[String]| -> Result<u64> {
        let m = capabilities::parse_set(&format!("process.capabilities.{field}"), names)?;
        if m & !known != 0 {
            tracing::warn!(
                "process.capabilities.{field}: this kernel does not know {:?}; leaving them out",
                capabilities::names(m & !known)
            );
        }
        Ok(m & known)
    };
    let caps = CapSets {
        bounding: set("bounding", &c.bounding)?,
        effective: set("effective", &c.effective)?,
        inheritable: set("inheritable", &c.inheritable)?,
        permitted: set("permitted", &c.permitted)?,
        ambient: set("ambient", &c.ambient)?,
    };
    let rlimits = p
        .rlimits
        .iter()
        .map(|r| rlimits::resolve(&r.typ, r.soft, r.hard))
        .collect::<Result<Vec<_>>>()?;
    if let Some(o) = p.oom_score_adj
        && !(-1000..=1000).contains(&o)
    {
        bail!("process.oomScoreAdj: {o} is outside -1000..1000");
    }
    let scheduler = p.scheduler.as_ref().map(Scheduler::from_spec).transpose()?;
    let io_priority = p
        .io_priority
        .as_ref()
        .map(IoPriority::from_spec)
        .transpose()?;
    let personality = linux
        .personality
        .as_ref()
        .map(crate::linux::process_attrs::personality_from_spec)
        .transpose()?;
    Ok(ProcessPlan {
        terminal: p.terminal,
        console_size: p.console_size.map(|c| (c.height, c.width)),
        args: p.args.clone(),
        env: p.env.clone(),
        cwd: p.cwd.clone(),
        uid: p.user.uid,
        gid: p.user.gid,
        umask: p.user.umask.unwrap_or(0o022),
        additional_gids: p.user.additional_gids.clone(),
        caps,
        rlimits,
        no_new_privileges: p.no_new_privileges,
        oom_score_adj: p.oom_score_adj,
        scheduler,
        io_priority,
        personality,
    })
}
