//! The container's init, from clone3 to execve, as a list of named steps.
//! Runs in the child, in the new namespaces; never returns.

use std::convert::Infallible;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;

use nix::errno::Errno;

use super::{process, sync, terminal};
use crate::cgroups::manager::Cgroup;
use crate::error::{Error, Result};
use crate::hooks;
use crate::linux::namespaces::{self, NsKind};
use crate::linux::{devices, host_mounts, lsm, mounts, process_attrs, rootfs, tty, uts};
use crate::spec::Plan;
use crate::spec::plan::MountKind;
use crate::steps::step;

pub struct InitConfig<'a> {
    pub id: &'a str,
    pub plan: &'a Plan,
    pub sock: OwnedFd,
    /// O_PATH fd of exec.fifo: wait on it for `start`. None: exec at once.
    pub fifo: Option<RawFdNum>,
    /// Wait for the parent's go-ahead: id maps written and/or placed in
    /// the v1 cgroups.
    pub wait_for_parent: bool,
    /// Move into the v1 cgroups here, first thing (see
    /// `Cgroup::join_v1_self`), rather than be moved by husk.
    pub join_v1: bool,
    /// A new user namespace: become its root once the maps exist.
    pub new_userns: bool,
    /// Make the cgroup namespace here, once inside the container's cgroup,
    /// so that its root is that cgroup.
    pub unshare_cgroupns: bool,
    pub join_mnt: Option<(File, PathBuf)>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    pub cgroup: Option<&'a Cgroup>,
    /// Connected --console-socket; None with a terminal: send it to husk.
    pub console_sock: Option<RawFdNum>,
}

pub type RawFdNum = i32;

/// Run the init; on any error, tell the parent which step failed and exit.
pub fn run(cfg: InitConfig) -> ! {
    let err = match sequence(&cfg) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let _ = sync::send(&cfg.sock, sync::ERROR, err.to_string().as_bytes());
    // SAFETY: _exit skips destructors and atexit handlers, which belong to
    // the parent's copy of this process.
    unsafe { libc::_exit(1) }
}

fn sequence(c: &InitConfig) -> Result<Infallible> {
    let plan = c.plan;
    let rootfs = plan.rootfs.to_string_lossy().into_owned();
    let in_userns = plan.ns.has(NsKind::User);

    step(
        "reset-signals",
        "sigprocmask(SIG_SETMASK, {}), PR_SET_PDEATHSIG, PR_SET_NAME(husk:init)",
        reset_signals,
    )?;
    // While /proc is still the host's: see linux/lsm.rs.
    let labels = open_labels(&plan.process)?;
    if let Some(cg) = c.cgroup.filter(|_| c.join_v1) {
        join_cgroups(cg)?;
    }
    if c.wait_for_parent {
        step(
            "wait-for-parent",
            "the parent writes uid_map/gid_map and moves us into the v1 cgroups",
            || wait_for_parent(&c.sock),
        )?;
    }
    if c.new_userns {
        step(
            "become-userns-root",
            "setresgid(0), setresuid(0)",
            become_userns_root,
        )?;
    }
    if c.unshare_cgroupns {
        step(
            "new-cgroup-namespace",
            "unshare(CLONE_NEWCGROUP): the container's cgroup becomes its /",
            || namespaces::unshare(NsKind::Cgroup.clone_flag()),
        )?;
    }
    if let Some((f, path)) = &c.join_mnt {
        step(
            "join-mount-namespace",
            format!("setns({})", path.display()),
            || namespaces::setns(NsKind::Mount, f, path),
        )?;
        crate::linux::proc::forget_mountinfo();
    }
    if let Some(v) = plan.process.oom_score_adj {
        step(
            "set-oom-score-adj",
            format!("write {v} to /proc/self/oom_score_adj"),
            || process_attrs::set_oom_score_adj(v),
        )?;
    }
    // No mount namespace of its own: the caller's mounts are not ours to
    // change (see linux/host_mounts.rs).
    let own_mnt = plan.ns.has(NsKind::Mount);
    if own_mnt {
        step("make-root-private", "mount(/, MS_SLAVE|MS_REC)", || {
            rootfs::make_root_private(plan.rootfs_propagation)
        })?;
    }
    step(
        "bind-rootfs",
        format!("mount({rootfs}, {rootfs}, MS_BIND|MS_REC)"),
        || {
            rootfs::bind_rootfs(&rootfs).map_err(|e| match e.errno() {
                Some(Errno::EACCES) if in_userns => e.context(format!(
                    "the container's root (host uid {}) cannot reach the rootfs; every directory above it must be searchable by that uid",
                    plan.uid_mappings
                        .iter()
                        .find(|m| m.container_id == 0)
                        .map_or("?".to_string(), |m| m.host_id.to_string())
                )),
                _ => e,
            })
        },
    )?;
    if !own_mnt {
        step(
            "make-rootfs-private",
            format!("mount({rootfs}, MS_SLAVE|MS_REC): only the bind, not the caller's /"),
            || host_mounts::make_rootfs_private(&rootfs, plan.rootfs_propagation),
        )?;
    }
    let root = rootfs::open_root(&rootfs)?;
    let bind_cgroup = c.cgroup.filter(|_| !plan.ns.has(NsKind::Cgroup));
    for m in &plan.mounts {
        step(
            "mount",
            format!("mount {} on {}", m.typ, m.destination),
            || {
                rootfs::mount_one(
                    &root,
                    &rootfs,
                    m,
                    in_userns,
                    bind_cgroup,
                    c.cgroup,
                    plan.mount_label.as_deref(),
                )?;
                if !own_mnt {
                    host_mounts::contain(&root, m, plan.rootfs_propagation)?;
                }
                Ok(())
            },
        )?;
    }
    // As runc: the standard nodes and links are made in /dev unless /dev is
    // a bind mount (the caller's own /dev); with no /dev mount at all they
    // go into the image's /dev.
    let fresh_dev = !plan
        .mounts
        .iter()
        .any(|m| m.destination.trim_end_matches('/') == "/dev" && m.kind == MountKind::Bind);
    if fresh_dev {
        step(
            "create-default-devices",
            if in_userns {
                "bind the host's null random full tty zero urandom (no mknod in a user namespace)"
            } else {
                "mknod null random full tty zero urandom"
            },
            || devices::create_all(&root, &rootfs, &devices::default_devices(), in_userns),
        )?;
    }
    if !plan.devices.is_empty() {
        step(
            "create-devices",
            format!("{} from linux.devices", plan.devices.len()),
            || devices::create_all(&root, &rootfs, &plan.devices, in_userns),
        )?;
    }
    // After linux.devices, as in runc: a /dev/ptmx node there (every
    // --privileged config lists the host's) becomes the link to pts/ptmx.
    if fresh_dev {
        step(
            "create-dev-links",
            "symlink /dev/fd /dev/std{in,out,err} /dev/ptmx",
            || devices::create_links(&root, &rootfs),
        )?;
    }
    step(
        "create-cwd",
        format!("mkdir -p {}", plan.process.cwd),
        || mounts::mkdir_all_in_root(&root, &plan.process.cwd, &rootfs).map(drop),
    )?;
    drop(root);
    // After pivot_root the host's /proc is gone; keep our own fd directory
    // so the exec fifo can be reopened for writing later.
    let proc_fd_dir = match c.fifo {
        Some(_) => Some(step("open-proc-fd-dir", "open /proc/self/fd", || {
            mounts::openat2(
                libc::AT_FDCWD,
                "/proc/self/fd",
                libc::O_PATH | libc::O_DIRECTORY,
                0,
            )
            .map_err(|e| Error::sys("open /proc/self/fd", e))
        })?),
        None => None,
    };
    let hook_state = if plan.hooks.any_at_create() || !plan.hooks.start_container.is_empty() {
        Some(step(
            "create-hooks",
            "husk runs prestart/createRuntime, then createContainer runs here, before pivot_root",
            || create_hooks(c),
        )?)
    } else {
        None
    };
    if !own_mnt {
        step("chroot", format!("chroot({rootfs})"), || {
            host_mounts::chroot(&rootfs)
        })?;
    } else if c.no_pivot {
        step(
            "move-root",
            format!("mount({rootfs}, /, MS_MOVE), chroot(.)"),
            || rootfs::move_root(&rootfs),
        )?;
    } else {
        step(
            "pivot-root",
            format!("pivot_root({rootfs}, {rootfs})"),
            || rootfs::pivot_root(&rootfs),
        )?;
    }
    let slave = if plan.process.terminal {
        Some(terminal::setup(
            &plan.process,
            c.console_sock,
            &c.sock,
            true,
        )?)
    } else {
        None
    };
    if let Some(h) = &plan.hostname {
        step("set-hostname", format!("sethostname({h:?})"), || {
            uts::set_hostname(h)
        })?;
    }
    if let Some(d) = &plan.domainname {
        step("set-domainname", format!("setdomainname({d:?})"), || {
            uts::set_domainname(d)
        })?;
    }
    for (k, v) in &plan.sysctl {
        step("set-sysctl", format!("{k}={v}"), || uts::set_sysctl(k, v))?;
    }
    // readonlyPaths first, as runc orders them: a path in both lists ends
    // up masked, and the mount table reads the same.
    step(
        "readonly-paths",
        format!("{} readonlyPaths", plan.readonly_paths.len()),
        || rootfs::readonly_paths(&plan.readonly_paths).map(drop),
    )?;
    step(
        "mask-paths",
        format!("{} maskedPaths", plan.masked_paths.len()),
        || rootfs::mask_paths(&plan.masked_paths).map(drop),
    )?;
    if let Some(p) = plan.rootfs_propagation.filter(|_| own_mnt) {
        step("set-rootfs-propagation", "mount(/, propagation)", || {
            rootfs::set_root_propagation(p)
        })?;
    }
    if plan.readonly_root && own_mnt {
        step(
            "readonly-root",
            "mount_setattr(/, MOUNT_ATTR_RDONLY)",
            rootfs::readonly_root,
        )?;
    }
    if !c.no_new_keyring {
        step(
            "join-session-keyring",
            format!("keyctl(JOIN_SESSION_KEYRING, {:?})", c.id),
            || uts::join_session_keyring(c.id),
        )?;
    }
    let p = &plan.process;
    // Before the seccomp filter, as in runc: a profile need not allow
    // setsid or TIOCSCTTY.
    if let Some(s) = &slave {
        step(
            "attach-terminal",
            "setsid, TIOCSCTTY, pty slave as stdio",
            || tty::make_controlling(s),
        )?;
    }
    let prep = process::prepare(p, c.preserve_fds, plan.seccomp.as_ref(), &labels, &|fd| {
        tty::send_fd(c.sock.as_raw_fd(), &[sync::SECCOMP], fd.as_raw_fd())
    })?;
    if let (Some(fifo), Some(dir)) = (c.fifo, &proc_fd_dir) {
        step(
            "check-exec-fifo",
            "open exec.fifo for writing, without waiting",
            || check_fifo(dir, fifo),
        )?;
    }
    // The init must outlive `husk create` from here on.
    // SAFETY: integer-only prctl.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, 0, 0, 0, 0) };
    sync::send(&c.sock, sync::READY, b"")?;
    if c.fifo.is_none() && !plan.cgroup.resources.devices.is_empty() {
        // run: husk writes the device rules now that the nodes exist.
        step(
            "wait-for-device-rules",
            "husk applies linux.resources.devices",
            || wait_for_parent(&c.sock),
        )?;
    }
    match (c.fifo, proc_fd_dir) {
        (Some(fifo), Some(dir)) => {
            let w = step(
                "wait-for-start",
                "open exec.fifo for writing (blocks until start)",
                || open_fifo(&dir, fifo),
            )?;
            drop(dir);
            let e = match start_hooks(plan, hook_state.as_deref()) {
                Ok(()) => match prep.pending.as_ref().map(process::load_pending) {
                    Some(Err(e)) => e,
                    _ => process::exec(&prep, &p.args),
                },
                Err(e) => e,
            };
            // start reads this from the fifo and reports it.
            // SAFETY: w is open; the message is a valid buffer.
            let msg = e.to_string();
            unsafe { libc::write(w.as_raw_fd(), msg.as_ptr().cast(), msg.len()) };
            // SAFETY: see run().
            unsafe { libc::_exit(127) }
        }
        _ => {
            start_hooks(plan, hook_state.as_deref())?;
            if let Some(f) = &prep.pending {
                process::load_pending(f)?;
            }
            Err(process::exec(&prep, &p.args).context("step \"exec\""))
        }
    }
}

/// The process's LSM exec attr files, opened now, written late in
/// process::prepare. Shared with `husk exec`'s child.
pub fn open_labels(p: &crate::spec::plan::ProcessPlan) -> Result<lsm::ExecLabels> {
    let (aa, se) = (p.apparmor_profile.as_deref(), p.selinux_label.as_deref());
    if aa.is_none() && se.is_none() {
        return Ok(lsm::ExecLabels::default());
    }
    step(
        "open-lsm-attr",
        "open /proc/thread-self/attr/.../exec while /proc is the host's",
        || lsm::ExecLabels::open(aa, se),
    )
}

/// Stop for the runtime's hooks, then run createContainer in here, in the
/// container's namespaces but before pivot_root. Returns the state JSON.
fn create_hooks(c: &InitConfig) -> Result<String> {
    sync::send(&c.sock, sync::HOOKS, b"")?;
    let state = match sync::recv(&c.sock)? {
        Some((sync::STATE, s)) => String::from_utf8_lossy(&s).into_owned(),
        _ => return Err(Error::msg("husk went away during the create hooks")),
    };
    hooks::run_all(
        "createContainer",
        &c.plan.hooks.create_container,
        &state,
        &[],
    )?;
    Ok(state)
}

/// startContainer hooks: in the container, after start, before the exec.
fn start_hooks(plan: &Plan, state: Option<&str>) -> Result<()> {
    let (Some(state), false) = (state, plan.hooks.start_container.is_empty()) else {
        return Ok(());
    };
    let mut v: serde_json::Value =
        serde_json::from_str(state).map_err(|e| Error::msg(e.to_string()))?;
    v["status"] = "created".into();
    step("start-container-hooks", "startContainer hooks", || {
        hooks::run_all(
            "startContainer",
            &plan.hooks.start_container,
            &v.to_string(),
            &[],
        )
    })
}

/// The step in which the init (or `husk exec`'s child) moves itself into
/// the v1 cgroups: see `Cgroup::join_v1_self`.
pub fn join_cgroups(cg: &Cgroup) -> Result<()> {
    step(
        "join-cgroups",
        "write 0 (this thread) to tasks in each v1 hierarchy",
        || cg.join_v1_self(),
    )
}

pub fn wait_for_parent(sock: &OwnedFd) -> Result<()> {
    match sync::recv(sock)? {
        Some((sync::GO, _)) => Ok(()),
        _ => Err(Error::msg(
            "husk went away before the container's ids and cgroups were set up",
        )),
    }
}

/// Until now the init ran as a host uid the new namespace does not map, so
/// it could not create files on filesystems mounted inside it (EOVERFLOW).
pub fn become_userns_root() -> Result<()> {
    // SAFETY: integer-only syscalls.
    if unsafe { libc::syscall(libc::SYS_setresgid, 0, 0, 0) } < 0 {
        return Err(Error::sys(
            "setresgid(0) in the new user namespace (is container gid 0 mapped?)",
            Errno::last(),
        ));
    }
    // SAFETY: as above.
    if unsafe { libc::syscall(libc::SYS_setresuid, 0, 0, 0) } < 0 {
        return Err(Error::sys(
            "setresuid(0) in the new user namespace (is container uid 0 mapped?)",
            Errno::last(),
        ));
    }
    Ok(())
}

fn reset_signals() -> Result<()> {
    crate::linux::signal::reset_for_exec();
    // The name says "not exec'd yet" to `husk state` (see proc::INIT_COMM).
    // SAFETY: a NUL-terminated name of under 16 bytes.
    unsafe { libc::prctl(libc::PR_SET_NAME, c"husk:init".as_ptr(), 0, 0, 0) };
    // Until create hands over, the init dies with husk.
    // SAFETY: integer-only prctl.
    unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        );
    }
    Ok(())
}

/// After create returns nobody hears the init, so find out now whether it
/// will be able to open the fifo as the container's user: a non-blocking
/// open with no reader yet fails with ENXIO when (and only when) it is
/// otherwise allowed.
fn check_fifo(dir: &OwnedFd, fifo: RawFdNum) -> Result<()> {
    let name = std::ffi::CString::new(fifo.to_string()).expect("digits");
    // SAFETY: dir is an open directory fd; name is NUL-terminated.
    let r = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            name.as_ptr(),
            libc::O_WRONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if r >= 0 {
        // SAFETY: closing the fd just opened.
        unsafe { libc::close(r) };
        return Ok(());
    }
    match Errno::last() {
        Errno::ENXIO => Ok(()),
        e => Err(Error::sys(
            "open exec.fifo for writing as the container's user",
            e,
        )),
    }
}

fn open_fifo(dir: &OwnedFd, fifo: RawFdNum) -> Result<OwnedFd> {
    let name = std::ffi::CString::new(fifo.to_string()).expect("digits");
    loop {
        // SAFETY: dir is an open directory fd; name is NUL-terminated.
        let r = unsafe {
            libc::openat(
                dir.as_raw_fd(),
                name.as_ptr(),
                libc::O_WRONLY | libc::O_CLOEXEC,
            )
        };
        if r >= 0 {
            // SAFETY: fresh fd.
            return Ok(unsafe { OwnedFd::from_raw_fd(r) });
        }
        if Errno::last() != Errno::EINTR {
            return Err(Error::sys("open exec.fifo for writing", Errno::last()));
        }
    }
}
