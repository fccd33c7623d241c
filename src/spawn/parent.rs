//! The husk side of create: join or make namespaces, clone the init, write
//! its id maps, and wait until it reports ready (or which step failed).
//!
//! Round trips: none beyond the child's final "ready" when the config has
//! no new user namespace; one more (the id maps) when it has.

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

use nix::errno::Errno;

use super::clone::{self, Forked};
use super::init::{self, InitConfig};
use super::sync;
use crate::cgroups::manager::Cgroup;
use crate::error::{Error, Result};
use crate::hooks;
use crate::linux::namespaces::{self, NsKind, flag_names};
use crate::linux::{idmap, mounts};
use crate::spec::Plan;
use crate::steps::step;

pub struct SpawnOptions<'a> {
    pub id: &'a str,
    pub plan: &'a Plan,
    /// O_PATH fd of exec.fifo (create); None for run, which execs at once.
    pub fifo: Option<&'a OwnedFd>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// Descriptors of husk's own that the child must close at once.
    pub close_in_child: &'a [i32],
    /// The container's cgroup, already made and limited.
    pub cgroup: Option<&'a Cgroup>,
    /// A connected --console-socket for the terminal's master.
    pub console_sock: Option<i32>,
    /// Puts the init in its cgroup once it exists, while it waits (the
    /// systemd driver: systemd needs a PID to make the unit). The init is
    /// then not born in its cgroup.
    pub place: Option<&'a dyn Fn(i32) -> Result<()>>,
}

/// The init, set up and either blocked on the fifo or exec'ing.
pub struct Init {
    pub pid: i32,
    pub pidfd: OwnedFd,
    sock: OwnedFd,
    /// The terminal's master, when husk itself drives it (run).
    pub master: Option<OwnedFd>,
}

impl Init {
    /// Let an init that waits after "ready" (run with device rules) go on.
    pub fn release(&self) -> Result<()> {
        sync::send(&self.sock, sync::GO, b"")
    }

    /// For run: the sync socket closes on a successful execve; an error
    /// message means the exec failed.
    pub fn wait_exec(&self) -> Result<()> {
        match sync::recv(&self.sock)? {
            None => Ok(()),
            Some((sync::ERROR, msg)) => Err(Error::msg(String::from_utf8_lossy(&msg).into_owned())),
            Some((k, _)) => Err(Error::msg(format!(
                "unexpected message {:?} from init",
                k as char
            ))),
        }
    }
}

/// Kill and reap a child that will not become a container.
pub fn kill_and_reap(pid: i32) {
    // SAFETY: signalling and reaping our own child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
}

pub fn spawn(o: &SpawnOptions) -> Result<Init> {
    let plan = o.plan;
    let ns = &plan.ns;
    let mut opened: Vec<(NsKind, File, PathBuf)> = Vec::new();
    step(
        "open-namespaces",
        format!("{} to join", ns.join.len()),
        || {
            for (k, p) in &ns.join {
                opened.push((*k, namespaces::open_ns(*k, p)?, p.clone()));
            }
            Ok(())
        },
    )?;
    let take = |opened: &mut Vec<(NsKind, File, PathBuf)>, k: NsKind| {
        opened
            .iter()
            .position(|(kind, _, _)| *kind == k)
            .map(|i| opened.remove(i))
    };
    let join_user = take(&mut opened, NsKind::User);
    let join_mnt = take(&mut opened, NsKind::Mount).map(|(_, f, p)| (f, p));
    // Joined while husk still has the host's privileges: a namespace owned
    // by the host user namespace cannot be entered from inside a new one.
    // Hooks run by husk belong in the host's namespaces, not the joined
    // ones: keep a way back for them (pid excepted: it only applies to
    // children, and the hooks are husk's children).
    let mut host_ns = Vec::new();
    for (k, _, _) in opened.iter().filter(|(k, _, _)| *k != NsKind::Pid) {
        host_ns.push(namespaces::open_ns(
            *k,
            &PathBuf::from(format!("/proc/self/ns/{}", k.proc_file())),
        )?);
    }
    for (k, f, p) in &opened {
        step("join-namespace", format!("setns({})", p.display()), || {
            namespaces::setns(*k, f, p)
        })?;
    }
    if ns.is_new(NsKind::Time) {
        // Offsets can only be set before any process is in the namespace,
        // so husk unshares it for its children and writes them first.
        step(
            "new-time-namespace",
            "unshare(CLONE_NEWTIME), write timens_offsets",
            || {
                namespaces::unshare(NsKind::Time.clone_flag())?;
                let text: String = plan
                    .time_offsets
                    .iter()
                    .map(|(c, s, n)| format!("{c} {s} {n}\n"))
                    .collect();
                if !text.is_empty() {
                    std::fs::write("/proc/self/timens_offsets", &text).map_err(|e| {
                        Error::from(e).context(format!(
                            "write {:?} to /proc/self/timens_offsets",
                            text.trim_end()
                        ))
                    })?;
                }
                Ok(())
            },
        )?;
    }

    let (parent_sock, child_sock) = sync::pair()?;
    let new = ns.new & !NsKind::Time.clone_flag();
    let need_maps = ns.is_new(NsKind::User);
    let has_v1 = o.cgroup.is_some_and(|c| c.has_v1());
    // v1 has no CLONE_INTO_CGROUP. An init with the host's credentials
    // moves itself (see Cgroup::join_v1_self): no global lock, no grace
    // period, no round trip. In a user namespace it cannot write the
    // host's cgroup files, so husk moves it, along with its id maps.
    let self_join = has_v1 && !need_maps && join_user.is_none();
    let place_v1 = has_v1 && !self_join;
    let need_go = need_maps || place_v1 || o.place.is_some();
    // v2: the init is born in its cgroup (CLONE_INTO_CGROUP), no handoff.
    let born_in = o
        .cgroup
        .and_then(|c| c.v2_dir())
        .filter(|_| o.place.is_none());
    let cgroup_fd = match &born_in {
        Some(d) => Some(
            mounts::openat2(
                libc::AT_FDCWD,
                &d.to_string_lossy(),
                libc::O_PATH | libc::O_DIRECTORY,
                0,
            )
            .map_err(|e| Error::sys(format!("open cgroup {}", d.display()), e))?,
        ),
        None => None,
    };
    // Joining a user namespace: the child enters it first, then creates the
    // rest so they are owned by it. A new pid namespace then needs one more
    // fork, since only children enter it.
    // The cgroup namespace is made by the child once it is in its cgroup.
    let clone_flags = if join_user.is_some() {
        0
    } else {
        new & !NsKind::Cgroup.clone_flag()
    };
    let staged = join_user.is_some();
    let cfg = |sock: OwnedFd, join_mnt: Option<(File, PathBuf)>| InitConfig {
        id: o.id,
        plan,
        sock,
        fifo: o.fifo.map(|f| f.as_raw_fd()),
        wait_for_parent: need_go && !staged,
        join_v1: self_join,
        new_userns: need_maps,
        unshare_cgroupns: ns.is_new(NsKind::Cgroup) && !staged,
        join_mnt,
        no_pivot: o.no_pivot,
        no_new_keyring: o.no_new_keyring,
        preserve_fds: o.preserve_fds,
        cgroup: o.cgroup,
        console_sock: o.console_sock,
    };

    // Not through step(): its span would close, and log, in both processes.
    let mut what = format!("clone3({})", flag_names(clone_flags));
    if let Some(d) = &born_in {
        what.push_str(&format!(" into cgroup {}", d.display()));
    }
    crate::steps::stop_if_asked("clone");
    let span = tracing::debug_span!("step", step = "clone", what = %what);
    let entered = span.enter();
    let forked = clone::clone3(clone_flags, cgroup_fd.as_ref().map(|f| f.as_raw_fd()))
        .map_err(|e| e.context(format!("step \"clone\" ({what})")))?;
    let (pid, pidfd) = match forked {
        Forked::Child => {
            // The clone step belongs to the parent's timeline.
            std::mem::forget(entered);
            std::mem::forget(span);
            drop(parent_sock);
            for fd in o.close_in_child {
                // SAFETY: closing an fd of the parent's that this copy of the
                // process never uses.
                unsafe { libc::close(*fd) };
            }
            if let Some((_, f, p)) = &join_user {
                stage_in_user_ns(f, p, new, &child_sock, need_go);
                if ns.is_new(NsKind::Pid) {
                    fork_init_in_new_pid_ns(child_sock, cfg, join_mnt);
                }
            }
            init::run(cfg(child_sock, join_mnt));
        }
        Forked::Parent { pid, pidfd } => (pid, pidfd),
    };
    drop(entered);
    drop(span);
    drop(child_sock);
    if need_go {
        step(
            "hand-over",
            hand_over_text(o, pid, need_maps, place_v1),
            || {
                if need_maps {
                    idmap::write_maps(pid, &plan.uid_mappings, &plan.gid_mappings)?;
                }
                if let Some(cg) = o.cgroup.filter(|_| place_v1) {
                    cg.place_v1(pid)?;
                }
                if let Some(place) = o.place {
                    place(pid)?;
                }
                sync::send(&parent_sock, sync::GO, b"")
            },
        )
        .map_err(|e| {
            kill_and_reap(pid);
            // The init may have failed on its own before it read GO (its
            // first steps run before the wait) and left the reason on the
            // socket: that is the error to report, not the move of a
            // process that is gone.
            own_error(&parent_sock).unwrap_or(e)
        })?;
    }
    let (pid, pidfd) = if join_user.is_some() && ns.is_new(NsKind::Pid) {
        // The intermediate reports the init's PID and exits.
        let r = (|| -> Result<(i32, OwnedFd)> {
            match sync::recv(&parent_sock)? {
                Some((sync::PID, p)) => {
                    let init: i32 = String::from_utf8_lossy(&p)
                        .parse()
                        .map_err(|_| Error::msg("bad pid from intermediate"))?;
                    Ok((init, clone::pidfd_open(init)?))
                }
                Some((sync::ERROR, m)) => Err(Error::msg(String::from_utf8_lossy(&m).into_owned())),
                _ => Err(Error::msg("intermediate process exited early")),
            }
        })();
        // SAFETY: reaping our own child.
        unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
        r?
    } else {
        (pid, pidfd)
    };
    let fail = |e: Error| -> Error {
        kill_and_reap(pid);
        e
    };
    let mut master = None;
    loop {
        match sync::recv_full(&parent_sock).map_err(fail)? {
            Some((sync::TERMINAL, _, fd)) => master = fd,
            Some((sync::SECCOMP, _, Some(fd))) => {
                step(
                    "seccomp-listener",
                    "send the notify fd to linux.seccomp.listenerPath",
                    || send_listener(plan, o.id, pid, &fd),
                )
                .map_err(fail)?;
            }
            Some((sync::HOOKS, _, _)) => {
                let state = hooks::state_json(
                    &plan.oci_version,
                    o.id,
                    "creating",
                    pid,
                    &plan.bundle.to_string_lossy(),
                    &plan.annotations,
                );
                step(
                    "create-runtime-hooks",
                    "prestart and createRuntime hooks",
                    || {
                        let restore: Vec<i32> = host_ns.iter().map(|f| f.as_raw_fd()).collect();
                        hooks::run_all("prestart", &plan.hooks.prestart, &state, &restore)?;
                        hooks::run_all(
                            "createRuntime",
                            &plan.hooks.create_runtime,
                            &state,
                            &restore,
                        )?;
                        sync::send(&parent_sock, sync::STATE, state.as_bytes())
                    },
                )
                .map_err(fail)?;
            }
            other => {
                return finish(
                    other.map(|(k, p, _)| (k, p)),
                    pid,
                    pidfd,
                    parent_sock,
                    master,
                );
            }
        }
    }
}

/// What the hand-over step does, for --debug and --explain.
fn hand_over_text(o: &SpawnOptions, pid: i32, maps: bool, v1: bool) -> String {
    let mut parts = Vec::new();
    if maps {
        parts.push(idmap::describe(&o.plan.uid_mappings, &o.plan.gid_mappings));
    }
    if v1 {
        parts.push(format!("move {pid} into the v1 cgroups"));
    }
    if let Some(u) = o.cgroup.and_then(|c| c.systemd.as_ref()) {
        parts.push(format!(
            "ask systemd for {} holding {pid}, write its limits",
            u.name
        ));
    }
    parts.join(", ")
}

fn finish(
    msg: Option<(u8, Vec<u8>)>,
    pid: i32,
    pidfd: OwnedFd,
    parent_sock: OwnedFd,
    master: Option<OwnedFd>,
) -> Result<Init> {
    match msg {
        Some((sync::READY, _)) => Ok(Init {
            pid,
            pidfd,
            sock: parent_sock,
            master,
        }),
        Some((sync::ERROR, msg)) => {
            kill_and_reap(pid);
            Err(Error::msg(String::from_utf8_lossy(&msg).into_owned()))
        }
        _ => {
            let status = reap_status(pid);
            Err(Error::msg(format!(
                "container init exited before it was ready ({status})"
            )))
        }
    }
}

/// The init's own error message, if it sent one before it died.
fn own_error(sock: &OwnedFd) -> Option<Error> {
    loop {
        match sync::recv(sock) {
            Ok(Some((sync::ERROR, msg))) => {
                return Some(Error::msg(String::from_utf8_lossy(&msg).into_owned()));
            }
            Ok(Some(_)) => {}
            _ => return None,
        }
    }
}

fn send_listener(plan: &Plan, id: &str, pid: i32, fd: &OwnedFd) -> Result<()> {
    // The same message `husk exec` sends, built from a minimal state.
    let st = crate::container::State {
        oci_version: plan.oci_version.clone(),
        id: id.to_string(),
        pid,
        bundle: plan.bundle.to_string_lossy().into_owned(),
        rootfs: plan.rootfs.to_string_lossy().into_owned(),
        created: String::new(),
        owner: String::new(),
        annotations: plan.annotations.clone(),
        init_start_time: 0,
        own_pid_ns: false,
        cgroup: None,
        hooks: Default::default(),
        process: None,
        personality: None,
        seccomp: plan.seccomp.clone(),
    };
    st.send_to_listener(pid, fd)
}

fn reap_status(pid: i32) -> String {
    let mut st = 0;
    // SAFETY: reaping our own child.
    let r = unsafe { libc::waitpid(pid, &mut st, 0) };
    if r < 0 {
        return format!("waitpid: {}", crate::error::errno_text(Errno::last()));
    }
    if libc::WIFSIGNALED(st) {
        format!("killed by signal {}", libc::WTERMSIG(st))
    } else {
        format!("exit status {}", libc::WEXITSTATUS(st))
    }
}

/// In the first child, when a user namespace is joined by path: enter it,
/// then create the new namespaces so that they belong to it.
fn stage_in_user_ns(f: &File, p: &std::path::Path, new: u64, sock: &OwnedFd, wait: bool) {
    let r = (|| {
        if wait {
            step(
                "wait-for-parent",
                "the parent moves us into the v1 cgroups",
                || init::wait_for_parent(sock),
            )?;
        }
        step(
            "join-user-namespace",
            format!("setns({})", p.display()),
            || {
                namespaces::setns(NsKind::User, f, p)?;
                init::become_userns_root()
            },
        )?;
        let flags = new & !NsKind::User.clone_flag();
        step("unshare", format!("unshare({})", flag_names(flags)), || {
            namespaces::unshare(flags)
        })
    })();
    if let Err(e) = r {
        let _ = sync::send(sock, sync::ERROR, e.to_string().as_bytes());
        // SAFETY: leaving the child without running the parent's destructors.
        unsafe { libc::_exit(1) }
    }
}

fn fork_init_in_new_pid_ns<'a>(
    sock: OwnedFd,
    cfg: impl FnOnce(OwnedFd, Option<(File, PathBuf)>) -> InitConfig<'a>,
    join_mnt: Option<(File, PathBuf)>,
) -> ! {
    // CLONE_PARENT: the init becomes husk's child, so husk can wait for it.
    match clone::clone3(clone::CLONE_PARENT, None) {
        Ok(Forked::Child) => init::run(cfg(sock, join_mnt)),
        Ok(Forked::Parent { pid, .. }) => {
            let _ = sync::send(&sock, sync::PID, pid.to_string().as_bytes());
        }
        Err(e) => {
            let _ = sync::send(
                &sock,
                sync::ERROR,
                e.context("step \"clone-init\"").to_string().as_bytes(),
            );
        }
    }
    // SAFETY: see stage_in_user_ns.
    unsafe { libc::_exit(0) }
}
