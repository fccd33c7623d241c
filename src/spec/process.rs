//! process: what the container's program runs as, with what limits.

use super::config;
use super::plan::{no_nul, require_absolute};
use crate::bail;
use crate::error::Result;
use crate::linux::capabilities::{self, CapSets};
use crate::linux::lsm;
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
    /// process.apparmorProfile, process.selinuxLabel (empty: None).
    pub apparmor_profile: Option<String>,
    pub selinux_label: Option<String>,
}

/// execve(2) refuses (E2BIG) a single string longer than MAX_ARG_STRLEN,
/// or arguments and environment (strings plus pointers) larger than a
/// quarter of the stack limit (at most 6 MiB, at least 128 KiB). Checked
/// here so the error names the field instead of surfacing at the exec.
/// The estimate leaves out the program's path, so it never refuses what
/// the kernel would take.
fn check_exec_strings(p: &config::Process) -> Result<()> {
    const MAX_ARG_STRLEN: usize = 32 * 4096;
    let mut total = 0usize;
    for (field, list) in [("args", &p.args), ("env", &p.env)] {
        for (i, a) in list.iter().enumerate() {
            if a.len() + 1 > MAX_ARG_STRLEN {
                bail!(
                    "process.{field}[{i}]: {} bytes; execve takes at most {MAX_ARG_STRLEN} per string",
                    a.len()
                );
            }
            total += a.len() + 1 + std::mem::size_of::<usize>();
        }
    }
    let stack = p
        .rlimits
        .iter()
        .find(|r| r.typ == "RLIMIT_STACK")
        .map(|r| r.soft)
        .unwrap_or_else(|| {
            // SAFETY: rl is plain data getrlimit fills in.
            let mut rl: libc::rlimit = unsafe { std::mem::zeroed() };
            // SAFETY: valid resource and pointer.
            if unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut rl) } == 0 {
                rl.rlim_cur
            } else {
                u64::MAX
            }
        });
    let limit = (stack / 4).clamp(128 << 10, 6 << 20) as usize;
    if total > limit {
        bail!(
            "process.args and process.env: {total} bytes ({} arguments, {} variables); execve takes at most {limit} with this stack limit",
            p.args.len(),
            p.env.len()
        );
    }
    Ok(())
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
    check_exec_strings(p)?;
    // set*id(2) read (uid_t)-1 as "leave this id unchanged": the process
    // would quietly stay root rather than become the user asked for.
    for (field, id) in [("uid", p.user.uid), ("gid", p.user.gid)] {
        if id == u32::MAX {
            bail!(
                "process.user.{field}: 4294967295 is (uid_t)-1, which setres{field} reads as \"leave unchanged\" (the process would stay root)"
            );
        }
    }
    if let Some(i) = p.user.additional_gids.iter().position(|g| *g == u32::MAX) {
        bail!("process.user.additionalGids[{i}]: 4294967295 is (gid_t)-1, not a group");
    }
    let apparmor_profile = plan_label(
        "process.apparmorProfile",
        "AppArmor",
        p.apparmor_profile.as_deref(),
        lsm::apparmor_missing,
    )?;
    let selinux_label = plan_label(
        "process.selinuxLabel",
        "SELinux",
        p.selinux_label.as_deref(),
        lsm::selinux_missing,
    )?;
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
    let mut caps = CapSets {
        bounding: set("bounding", &c.bounding)?,
        effective: set("effective", &c.effective)?,
        inheritable: set("inheritable", &c.inheritable)?,
        permitted: set("permitted", &c.permitted)?,
        ambient: set("ambient", &c.ambient)?,
    };
    caps.ambient = raisable_ambient(&caps);
    // capset(2) refuses an effective set that is not within the permitted
    // one (EPERM): say which, before anything exists.
    if caps.effective & !caps.permitted != 0 {
        bail!(
            "process.capabilities.effective: {:?} not in process.capabilities.permitted; the kernel refuses an effective capability that is not permitted",
            capabilities::names(caps.effective & !caps.permitted)
        );
    }
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
        apparmor_profile,
        selinux_label,
    })
}

/// An LSM label from the config: None when unset or empty; an error naming
/// the field when the host lacks the LSM (`missing` says why), so that
/// create fails before anything exists instead of running unconfined.
pub(super) fn plan_label(
    field: &str,
    lsm_name: &str,
    v: Option<&str>,
    missing: impl FnOnce() -> Option<String>,
) -> Result<Option<String>> {
    let Some(v) = v.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    lsm::check_label(field, v)?;
    if let Some(why) = missing() {
        bail!("{field}: {v:?} requested, but this host has no {lsm_name} ({why})");
    }
    Ok(Some(v.to_string()))
}

/// The ambient capabilities the kernel will raise. PR_CAP_AMBIENT_RAISE
/// fails (EPERM) for a capability that is not both permitted and
/// inheritable, and `runc spec` lists three ambient capabilities that are
/// not inheritable. runc and crun try each raise and carry on when it fails,
/// so the container starts with an empty ambient set; husk leaves those out
/// up front, with the same warning, and makes no failing syscall.
fn raisable_ambient(caps: &CapSets) -> u64 {
    let ok = caps.ambient & caps.permitted & caps.inheritable;
    let skipped = caps.ambient & !ok;
    if skipped != 0 {
        tracing::warn!(
            "process.capabilities.ambient: {:?} not both permitted and inheritable, so the kernel cannot raise them; leaving them out (as runc does)",
            capabilities::names(skipped)
        );
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ambient_keeps_only_what_is_permitted_and_inheritable() {
        // runc spec: ambient = permitted = {AUDIT_WRITE, KILL, NET_BIND_SERVICE},
        // inheritable empty.
        let three = (1 << 29) | (1 << 5) | (1 << 10);
        let mut caps = CapSets {
            bounding: three,
            effective: three,
            inheritable: 0,
            permitted: three,
            ambient: three,
        };
        assert_eq!(raisable_ambient(&caps), 0);
        caps.inheritable = 1 << 5;
        assert_eq!(raisable_ambient(&caps), 1 << 5);
        caps.permitted = 0;
        assert_eq!(raisable_ambient(&caps), 0);
    }
}
