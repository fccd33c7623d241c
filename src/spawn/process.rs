//! The last part of every container process's start, shared by the init
//! and by `husk exec`: limits, identity, capabilities, cwd, the program
//! and its environment, and the fds it may keep. Then only execve is left.

use std::os::fd::{FromRawFd, OwnedFd};

use crate::error::{Error, Result};
use crate::linux::libseccomp::Filter;
use crate::linux::lsm::ExecLabels;
use crate::linux::seccomp::Seccomp;
use crate::linux::{capabilities, dmz, exec, fds, identity, process_attrs, rlimits};
use crate::spec::plan::ProcessPlan;
use crate::steps::step;

pub struct Prepared {
    /// The sealed exec stub (CVE-2019-5736, see linux/dmz.rs).
    pub dmz: Option<OwnedFd>,
    pub path: String,
    pub env: Vec<String>,
    /// The seccomp listener fd, when the profile has NOTIFY rules.
    pub notify: Option<OwnedFd>,
    /// A filter still to load, as the very last step before execve.
    pub pending: Option<Filter>,
}

/// Everything up to execve. Seccomp timing: with no_new_privs the filter
/// is loaded last (just before execve), so it never constrains husk; its
/// listener fd, though, must reach husk before "ready", so a NOTIFY profile
/// is loaded right after no_new_privs. Without no_new_privs the kernel
/// only accepts a filter from a process with CAP_SYS_ADMIN, so it is
/// loaded before the capabilities are dropped, and the syscalls husk makes
/// after that must be ones the profile allows.
///
/// LSM labels (`labels`, opened earlier: see linux/lsm.rs) are written as
/// late as they can be while still before "ready", so that an unknown
/// profile fails create: after the other process attributes, before any
/// seccomp filter (a profile need not allow husk's openat/write), before
/// no_new_privs and before the user and capabilities change. None of that
/// would stop the write (it needs no capability), but it keeps the write
/// free of the container's restrictions. The label takes effect at the next
/// execve, the exec stub's; see [`exec`] for why that is the right place.
pub fn prepare(
    p: &ProcessPlan,
    preserve_fds: u32,
    seccomp: Option<&Seccomp>,
    labels: &ExecLabels,
) -> Result<Prepared> {
    // First, before any seccomp filter: its syscalls are husk's, not the
    // container's.
    let dmz = step(
        "seal-exec-stub",
        "memfd_create, write the exec stub, F_ADD_SEALS",
        dmz::create,
    )?;
    let mut filter = match seccomp {
        Some(s) => Some(step(
            "compile-seccomp",
            format!("{} rules", s.syscalls.len()),
            || s.build(),
        )?),
        None => None,
    };
    let notify_wanted = seccomp.is_some_and(Seccomp::uses_notify);
    let mut notify = None;
    for l in &p.rlimits {
        step(
            "set-rlimit",
            format!("setrlimit({}, {}, {})", l.name, l.soft, l.hard),
            || rlimits::apply(l),
        )?;
    }
    if let Some(persona) = p.personality {
        step(
            "set-personality",
            format!("personality({persona:#x})"),
            || process_attrs::set_personality(persona),
        )?;
    }
    if let Some(s) = &p.scheduler {
        step(
            "set-scheduler",
            format!("sched_setattr({})", s.policy_name),
            || s.apply(),
        )?;
    }
    if let Some(io) = &p.io_priority {
        step(
            "set-io-priority",
            format!("ioprio_set({}, {})", io.class_name, io.priority),
            || io.apply(),
        )?;
    }
    if !labels.is_empty() {
        step("set-exec-label", labels.describe(), || labels.apply())?;
    }
    if !p.no_new_privileges
        && let Some(f) = filter.take()
    {
        notify = load_filter(&f, notify_wanted)?;
    }
    let dropping = (0..=capabilities::last_cap())
        .filter(|c| p.caps.bounding & (1 << c) == 0)
        .count();
    step(
        "drop-bounding-caps",
        format!("drop {dropping} capabilities from the bounding set (prctl PR_CAPBSET_DROP)"),
        || capabilities::drop_bounding(p.caps.bounding).map(drop),
    )?;
    step(
        "switch-user",
        format!("setresgid({0}), setresuid({1})", p.gid, p.uid),
        || identity::switch_user(p.uid, p.gid, &p.additional_gids),
    )?;
    step(
        "set-capabilities",
        "capset(effective, permitted, inheritable), ambient",
        || {
            capabilities::set_eip(p.caps.effective, p.caps.permitted, p.caps.inheritable)?;
            capabilities::raise_ambient(p.caps.ambient)
        },
    )?;
    if p.no_new_privileges {
        step(
            "set-no-new-privs",
            "prctl(PR_SET_NO_NEW_PRIVS, 1)",
            identity::set_no_new_privs,
        )?;
    }
    if notify_wanted && let Some(f) = filter.take() {
        notify = load_filter(&f, true)?;
    }
    step("chdir-cwd", format!("chdir({})", p.cwd), || {
        chdir_checked(&p.cwd)
    })?;
    let path = step(
        "find-executable",
        format!("look up {:?} on PATH", p.args[0]),
        || exec::find(&p.args[0], exec::path_from_env(&p.env)),
    )?;
    step(
        "check-executable",
        format!("{path} is an ELF binary or a #! script"),
        || exec::check_format(&path),
    )?;
    let listen = fds::listen_fds();
    let env = build_env(&p.env, p.uid, listen);
    step(
        "close-fds",
        format!("close_range({}, ~0, CLOEXEC)", 3 + preserve_fds + listen),
        || fds::close_others(preserve_fds + listen),
    )?;
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(p.umask) };
    Ok(Prepared {
        dmz,
        path,
        env,
        notify,
        pending: filter,
    })
}

/// The last step: execve of the program, through the sealed stub where
/// husk has one. Returns only on failure.
///
/// LSM labels and the stub: the exec label applies at the first execve,
/// the stub's, and is used up there; the stub then runs confined and its
/// own execve of the program is an ordinary exec under the new label. For
/// AppArmor that exec is mediated by the profile's exec rules: with `ix`
/// (inherit, which a bare `file,` rule grants) the program runs in the same
/// profile, as it would had husk exec'd it directly; a profile that gives
/// the program no exec permission at all makes that execve fail (EACCES,
/// the stub exits 127), so the program never runs unconfined. The stub's own
/// exec is checked against husk's (unconfined) label, and the files it
/// inherits were opened by husk, so the profile needs no rule for the
/// memfd. For SELinux the domain transition happens at the stub too, so
/// the target domain needs `entrypoint` on the memfd's type; that is
/// untested here (no SELinux host).
pub fn exec(prep: &Prepared, args: &[String]) -> Error {
    match &prep.dmz {
        Some(d) => dmz::exec(d, &prep.path, args, &prep.env),
        None => exec::exec(&prep.path, args, &prep.env),
    }
}

pub fn load_filter(f: &Filter, notify: bool) -> Result<Option<OwnedFd>> {
    step("load-seccomp", "seccomp(SECCOMP_SET_MODE_FILTER)", || {
        f.load()?;
        if !notify {
            return Ok(None);
        }
        let fd = f.notify_fd()?;
        // SAFETY: the listener fd is ours; libseccomp does not close it.
        Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }))
    })
}

pub fn chdir_checked(cwd: &str) -> Result<()> {
    std::env::set_current_dir(cwd).map_err(|e| Error::from(e).context(format!("chdir({cwd})")))?;
    // CVE-2024-21626: a cwd outside the root shows up as "(unreachable)".
    let now = std::env::current_dir().map_err(|e| Error::from(e).context("getcwd"))?;
    if !now.starts_with("/") {
        return Err(Error::msg(format!(
            "cwd {cwd} resolves outside the container root"
        )));
    }
    Ok(())
}

fn build_env(env: &[String], uid: u32, listen: u32) -> Vec<String> {
    let mut env = env.to_vec();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", identity::home_for(uid)));
    }
    if listen > 0 {
        env.retain(|e| !e.starts_with("LISTEN_FDS=") && !e.starts_with("LISTEN_PID="));
        env.push(format!("LISTEN_FDS={listen}"));
        env.push("LISTEN_PID=1".into());
    }
    env
}
