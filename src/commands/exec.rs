//! `husk exec`: run another process in a running container. The process
//! comes from `--process FILE` (a runtime-spec process object, as conmon
//! and containerd write it) or from the arguments, on top of the
//! container's own process settings.

use crate::bail;
use crate::cli::{ExecArgs, Global};
use crate::container::{Container, Status};
use crate::error::{Error, Result};
use crate::linux::tty;
use crate::spawn::exec as spawn_exec;
use crate::spec::config::{self, Process};
use crate::spec::plan::plan_process;
use std::os::fd::AsRawFd;

fn read_process(path: &str) -> Result<Process> {
    let text = std::fs::read(path)
        .map_err(|e| Error::from(e).context(format!("read --process {path}")))?;
    let de = &mut serde_json::Deserializer::from_slice(&text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        Error::msg(format!(
            "--process {path}: bad value for {field}: {}",
            e.into_inner()
        ))
    })
}

/// The container's process with the command line's changes. The LSM
/// labels: --apparmor / --process-label, else the process file's, else the
/// container's (as runc does), so an exec'd process is never less confined
/// than the container by omission.
pub fn build(a: &ExecArgs, base: Option<&Process>) -> Result<Process> {
    let mut p = build_process(a, base)?;
    inherit_labels(&mut p, base);
    if let Some(v) = &a.apparmor {
        p.apparmor_profile = Some(v.clone());
    }
    if let Some(v) = &a.process_label {
        p.selinux_label = Some(v.clone());
    }
    Ok(p)
}

fn inherit_labels(p: &mut Process, base: Option<&Process>) {
    let unset = |v: &Option<String>| v.as_deref().is_none_or(str::is_empty);
    if let Some(b) = base {
        if unset(&p.apparmor_profile) {
            p.apparmor_profile = b.apparmor_profile.clone();
        }
        if unset(&p.selinux_label) {
            p.selinux_label = b.selinux_label.clone();
        }
    }
}

fn build_process(a: &ExecArgs, base: Option<&Process>) -> Result<Process> {
    if let Some(path) = &a.process {
        if !a.command.is_empty() {
            bail!("exec: give either --process or a command, not both");
        }
        return read_process(path);
    }
    if a.command.is_empty() {
        bail!("exec: no command given (and no --process)");
    }
    let mut p = base
        .cloned()
        .ok_or_else(|| Error::msg("exec: the container's state has no process to start from"))?;
    p.args = a.command.clone();
    p.terminal = a.tty;
    if let Some(cwd) = &a.cwd {
        p.cwd = cwd.clone();
    }
    for kv in &a.env {
        let Some((k, _)) = kv.split_once('=') else {
            bail!("--env {kv:?}: not KEY=VALUE");
        };
        p.env
            .retain(|e| e.split_once('=').map(|(ek, _)| ek) != Some(k));
        p.env.push(kv.clone());
    }
    if let Some(u) = &a.user {
        let (uid, gid) = match u.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (u.as_str(), None),
        };
        p.user.uid = uid
            .parse()
            .map_err(|_| Error::msg(format!("--user {u:?}: not UID[:GID] (numbers)")))?;
        if let Some(g) = gid {
            p.user.gid = g
                .parse()
                .map_err(|_| Error::msg(format!("--user {u:?}: not UID[:GID] (numbers)")))?;
        }
    }
    if !a.additional_gids.is_empty() {
        p.user.additional_gids = a.additional_gids.clone();
    }
    if !a.cap.is_empty() {
        let c = p.capabilities.get_or_insert_with(Default::default);
        for cap in &a.cap {
            c.bounding.push(cap.clone());
            c.effective.push(cap.clone());
            c.permitted.push(cap.clone());
            // Ambient needs the cap inheritable too. runc tries the raise
            // when the process has inheritable caps and only warns when it
            // fails; husk does the same without the failed syscall.
            if c.inheritable.contains(cap) {
                c.ambient.push(cap.clone());
            } else if !c.inheritable.is_empty() {
                tracing::warn!("--cap {cap}: not in the inheritable set, so it cannot be ambient");
            }
        }
    }
    if a.no_new_privs {
        p.no_new_privileges = true;
    }
    Ok(p)
}

pub fn run(g: &Global, a: &ExecArgs) -> Result<i32> {
    let (c, mut st) = Container::open(&g.root, &a.id)?;
    match c.status(&st) {
        Status::Running => {}
        Status::Paused if a.ignore_paused => {}
        Status::Paused => {
            bail!("cannot exec in a paused container (use --ignore-paused to try anyway)")
        }
        Status::Stopped => bail!("cannot exec in a stopped container"),
        Status::Created => bail!("cannot exec in a container that has not been started"),
    }
    // After the status, which reads the container's own cgroup.
    if !a.cgroup.is_empty() {
        let subs = crate::cgroups::sub::parse(&a.cgroup)?;
        let Some(cg) = &st.cgroup else {
            bail!("--cgroup: the container has no cgroup of its own");
        };
        st.cgroup = Some(crate::cgroups::sub::apply(cg, &subs)?);
    }
    let process = build(a, st.process.as_ref())?;
    match (process.terminal, &a.console_socket) {
        (false, Some(_)) => {
            bail!("--console-socket: there is no terminal to send (process.terminal is false)")
        }
        (true, None) if a.detach => {
            bail!("exec --tty --detach needs --console-socket to receive the terminal")
        }
        _ => {}
    }
    let mut plan = plan_process(&process, &config::Linux::default())?;
    // The container's personality is the container's, not the process's.
    plan.personality = st.personality;
    let host_mnt = crate::linux::host_mounts::recorded(&c.dir);
    // The lock is held until the process has exec'd: a delete waits for it
    // and then finds it in the cgroup, and a pause cannot freeze it half
    // set up (its exec would then hang). Into a paused container the
    // process freezes as it joins, and a resume must be able to thaw it.
    let dir = c.dir.clone();
    let lock = if a.ignore_paused {
        drop(c);
        None
    } else {
        Some(c)
    };
    let set = super::run::block_forwarded_signals(!a.detach);
    let console = a.console_socket.as_deref().map(tty::connect).transpose()?;
    let console_fd = console.as_ref().map(|s| s.as_raw_fd());
    let child = spawn_exec::spawn(&st, &plan, a.preserve_fds, console_fd, host_mnt)
        .map_err(|e| stopped_meanwhile(&dir, &st, e))?;
    let master = child.wait_exec(&st).inspect_err(|_| {
        // SAFETY: reaping our own child.
        unsafe { libc::waitpid(child.pid, std::ptr::null_mut(), 0) };
    })?;
    if let Some(p) = &a.pid_file {
        super::create::write_pid_file(p, child.pid)?;
    }
    // The container lock is not needed while the process runs.
    drop(lock);
    if a.detach {
        return Ok(0);
    }
    match &master {
        Some(m) => super::relay::relay(m, child.pid, &set, &child.pidfd),
        None => super::run::wait_forwarding(child.pid, &set, &child.pidfd),
    }
}

/// The init can die while the process is set up (a kill is not
/// serialized with exec): the clone into its dying pid namespace then
/// fails with ENOMEM, which names the wrong cause. Say what happened.
fn stopped_meanwhile(dir: &std::path::Path, st: &crate::container::State, e: Error) -> Error {
    // A dying init (its pid namespace closed, the kernel reaping the rest)
    // is not dead yet: give it a moment when the clone said ENOMEM.
    if e.errno() == Some(nix::errno::Errno::ENOMEM)
        && let Ok(fd) = crate::spawn::clone::pidfd_open(st.pid)
    {
        crate::container::process::wait_exit(&fd, std::time::Duration::from_secs(1));
    }
    if crate::container::status_of(dir, st) == Status::Stopped {
        Error::msg("cannot exec in a stopped container").note(format_args!(
            "the container stopped while husk set up the process ({e})"
        ))
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(extra: serde_json::Value) -> Process {
        let mut v = serde_json::json!({"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn exec_inherits_the_containers_labels_unless_given() {
        let base = process(serde_json::json!({"apparmorProfile": "c", "selinuxLabel": "u:r:c:s0"}));
        let mut p = process(serde_json::json!({"apparmorProfile": ""}));
        inherit_labels(&mut p, Some(&base));
        assert_eq!(p.apparmor_profile.as_deref(), Some("c"));
        assert_eq!(p.selinux_label.as_deref(), Some("u:r:c:s0"));
        let mut p = process(serde_json::json!({"apparmorProfile": "own"}));
        inherit_labels(&mut p, Some(&base));
        assert_eq!(p.apparmor_profile.as_deref(), Some("own"));
    }
}
