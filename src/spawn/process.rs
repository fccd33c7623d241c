//! The last part of every container process's start, shared by the init
//! and by `husk exec`: limits, identity, capabilities, cwd, the program
//! and its environment, and the fds it may keep. Then only execve is left.

use crate::error::{Error, Result};
use crate::linux::{capabilities, exec, fds, identity, process_attrs, rlimits};
use crate::spec::plan::ProcessPlan;
use crate::steps::step;

/// Returns the program's path and its environment.
pub fn prepare(p: &ProcessPlan, preserve_fds: u32) -> Result<(String, Vec<String>)> {
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
    step("drop-bounding-caps", "prctl(PR_CAPBSET_DROP)", || {
        capabilities::drop_bounding(p.caps.bounding).map(drop)
    })?;
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
    step("chdir-cwd", format!("chdir({})", p.cwd), || {
        chdir_checked(&p.cwd)
    })?;
    let path = step(
        "find-executable",
        format!("look up {:?} on PATH", p.args[0]),
        || exec::find(&p.args[0], exec::path_from_env(&p.env)),
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
    Ok((path, env))
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
