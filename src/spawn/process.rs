//! The last part of every container process's start, shared by the init
//! and by `husk exec`: limits, identity, capabilities, cwd, the program
//! and its environment, and the fds it may keep. Then only execve is left.

use std::os::fd::{FromRawFd, OwnedFd};

use nix::errno::Errno;

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
    /// A filter still to load, as the very last step before execve.
    pub pending: Option<Filter>,
}

/// Where a seccomp listener fd goes the moment the filter exists: to husk,
/// which hands it to linux.seccomp.listenerPath at once.
pub type ListenerSink<'a> = &'a dyn Fn(&OwnedFd) -> Result<()>;

/// Everything up to execve.
///
/// Seccomp timing. A profile is written for runc, so after the filter is
/// loaded husk makes no syscall that runc's init does not make there (a
/// strict profile may deny it, kill for it, or send it to an agent that is
/// not serving yet). So everything that reads files or the fd table (cwd,
/// the executable, /etc/passwd, close-fds) comes first. With
/// no_new_privs the filter is loaded last, just before execve. Without it
/// the kernel only accepts a filter from a process with CAP_SYS_ADMIN, so it
/// is loaded before the final capabilities are set; what follows it is
/// capset, prctl and, later in the init, the fifo and the sync socket, as
/// in runc. A NOTIFY profile's listener fd goes to husk (`listener`)
/// straight after the load, so the agent serves before the init makes
/// another call.
///
/// LSM labels (`labels`, opened earlier: see linux/lsm.rs) are written as
/// late as they can be while still before "ready", so that an unknown
/// profile fails create: after the other process attributes, before any
/// seccomp filter, before no_new_privs and before the user and capabilities
/// change. The label takes effect at the next execve, the exec stub's; see
/// [`exec`] for why that is the right place.
pub fn prepare(
    p: &ProcessPlan,
    preserve_fds: u32,
    seccomp: Option<&Seccomp>,
    labels: &ExecLabels,
    listener: ListenerSink,
) -> Result<Prepared> {
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
    let notify = seccomp.is_some_and(Seccomp::uses_notify);
    set_attributes(p, labels)?;
    let listen = fds::listen_fds();
    step(
        "close-fds",
        format!("mark fds from {} close-on-exec", 3 + preserve_fds + listen),
        || fds::close_others(preserve_fds + listen),
    )?;
    let cwd_done = step("chdir-cwd", format!("chdir({}) as root", p.cwd), || {
        chdir_first(&p.cwd)
    })?;
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
    if !cwd_done {
        step(
            "chdir-cwd",
            format!("chdir({}) as the container's user", p.cwd),
            || chdir(&p.cwd),
        )?;
    }
    step("check-cwd", "getcwd: the cwd is inside the root", check_cwd)?;
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
    let env = build_env(&p.env, p.uid, listen);
    if !p.no_new_privileges
        && let Some(f) = filter.take()
    {
        step(
            "raise-cap-sys-admin",
            "capset: effective = permitted, for seccomp without no_new_privs",
            capabilities::raise_effective,
        )?;
        load_filter(&f, notify, listener)?;
    }
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
    // A listener fd must reach husk before "ready"; the filter itself,
    // with no_new_privs, can wait until just before execve.
    if notify && let Some(f) = filter.take() {
        load_filter(&f, true, listener)?;
    }
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(p.umask) };
    Ok(Prepared {
        dmz,
        path,
        env,
        pending: filter,
    })
}

/// rlimits, personality, scheduler, I/O priority and the LSM exec label.
fn set_attributes(p: &ProcessPlan, labels: &ExecLabels) -> Result<()> {
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
    Ok(())
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

/// Load the filter; with a listener, hand its fd to husk at once.
pub fn load_filter(f: &Filter, notify: bool, listener: ListenerSink) -> Result<()> {
    let fd = step("load-seccomp", "seccomp(SECCOMP_SET_MODE_FILTER)", || {
        f.load()?;
        if !notify {
            return Ok(None);
        }
        let fd = f.notify_fd()?;
        // SAFETY: the listener fd is ours; libseccomp does not close it.
        Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }))
    })?;
    match fd {
        Some(fd) => step(
            "send-seccomp-fd",
            "the listener fd goes to husk, then to listenerPath",
            || listener(&fd),
        ),
        None => Ok(()),
    }
}

/// The filter left for last (no_new_privs), which has no listener.
pub fn load_pending(f: &Filter) -> Result<()> {
    load_filter(f, false, &|_| Ok(()))
}

/// chdir as root, before the user changes, as runc does: a directory that
/// root can reach but the container's user cannot search still works.
/// Returns false on EACCES/EPERM, to try again as the user (a volume that
/// only the container's user may enter, on a root-squashing filesystem).
fn chdir_first(cwd: &str) -> Result<bool> {
    match chdir(cwd) {
        Ok(()) => Ok(true),
        Err(e) if matches!(e.errno(), Some(Errno::EACCES | Errno::EPERM)) => Ok(false),
        Err(e) => Err(e),
    }
}

fn chdir(cwd: &str) -> Result<()> {
    let c = std::ffi::CString::new(cwd).map_err(|_| Error::msg("process.cwd contains a NUL"))?;
    // SAFETY: c is NUL-terminated.
    if unsafe { libc::chdir(c.as_ptr()) } < 0 {
        return Err(Error::sys(format!("chdir({cwd})"), Errno::last()));
    }
    Ok(())
}

/// CVE-2024-21626: a cwd outside the root shows up as "(unreachable)".
pub fn check_cwd() -> Result<()> {
    let now = std::env::current_dir().map_err(|e| Error::from(e).context("getcwd"))?;
    if !now.starts_with("/") {
        return Err(Error::msg(format!(
            "cwd {} resolves outside the container root",
            now.display()
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
