//! `husk exec`'s process: a new process that enters every namespace of a
//! running container and its cgroup, then takes the container's (or the
//! given) user, capabilities and limits, and execs.

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

use super::clone::{self, Forked};
use super::{init, process, sync, terminal};
use crate::cgroups::manager::Cgroup;
use crate::container::State;
use crate::error::{Error, Result};
use crate::linux::namespaces::{self, NsKind};
use crate::linux::{host_mounts, identity, mounts};
use crate::spec::plan::ProcessPlan;
use crate::steps::step;

pub struct ExecProcess {
    pub pid: i32,
    pub pidfd: OwnedFd,
    sock: OwnedFd,
}

impl ExecProcess {
    /// EOF on the sync socket: the execve happened. Returns the terminal's
    /// master when husk is to drive it.
    pub fn wait_exec(&self, st: &State) -> Result<Option<OwnedFd>> {
        let mut master = None;
        loop {
            match sync::recv_full(&self.sock)? {
                None => return Ok(master),
                Some((sync::TERMINAL, _, fd)) => master = fd,
                Some((sync::SECCOMP, _, Some(fd))) => st.send_to_listener(self.pid, &fd)?,
                Some((sync::ERROR, msg, _)) => {
                    return Err(Error::msg(String::from_utf8_lossy(&msg).into_owned()));
                }
                Some((k, _, _)) => {
                    return Err(Error::msg(format!(
                        "unexpected message {:?} from exec process",
                        k as char
                    )));
                }
            }
        }
    }
}

/// The container's namespaces that differ from husk's: the ones to enter.
fn container_namespaces(pid: i32) -> Result<Vec<(NsKind, File, PathBuf)>> {
    let mut out = Vec::new();
    for k in NsKind::ALL {
        let theirs = PathBuf::from(format!("/proc/{pid}/ns/{}", k.proc_file()));
        let ours = format!("/proc/self/ns/{}", k.proc_file());
        let (Ok(a), Ok(b)) = (std::fs::read_link(&theirs), std::fs::read_link(&ours)) else {
            continue;
        };
        if a != b {
            out.push((k, namespaces::open_ns(k, &theirs)?, theirs));
        }
    }
    Ok(out)
}

pub fn spawn(
    st: &State,
    p: &ProcessPlan,
    preserve_fds: u32,
    console_sock: Option<i32>,
    host_mnt: bool,
) -> Result<ExecProcess> {
    // The child builds the filter inside the container's mount namespace,
    // where libseccomp.so.2 is the container's file: open it here, first.
    if st.seccomp.is_some() {
        crate::linux::seccomp::load_library()?;
    }
    let mut ns = step("open-namespaces", format!("/proc/{}/ns/*", st.pid), || {
        container_namespaces(st.pid)
    })?;
    // No mount namespace of its own: the container's root is only its
    // init's root (opened here, before any setns; the child chroots into
    // it), whichever mount namespace this husk runs in.
    let root = if host_mnt {
        Some(step(
            "open-container-root",
            format!("/proc/{}/root", st.pid),
            || host_mounts::open_container_root(st.pid),
        )?)
    } else {
        None
    };
    // husk itself (not the child) enters these, and drops them from the
    // child's list.
    let mut enter_here = |kind: NsKind, name: &'static str| -> Result<()> {
        if let Some(i) = ns.iter().position(|(k, _, _)| *k == kind) {
            let (k, f, path) = ns.remove(i);
            step(name, format!("setns({})", path.display()), || {
                namespaces::setns(k, &f, &path)
            })?;
        }
        Ok(())
    };
    // Unprivileged, husk holds no capability over the container's other
    // namespaces until it is inside their owner, the user namespace: enter
    // that first. (Root enters it last, in the child, keeping the host's
    // privileges for the others.)
    if identity::rootless() {
        enter_here(NsKind::User, "join-user-namespace")?;
    }
    // A pid namespace only applies to children: husk enters it, the child
    // is born in it.
    enter_here(NsKind::Pid, "join-pid-namespace")?;
    let cg = st.cgroup.as_ref();
    let cgroup_fd = match cg.and_then(Cgroup::v2_dir) {
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
    // As for the init (spawn::parent): with the host's credentials the
    // child moves itself into the v1 cgroups; in the user namespace that
    // husk entered it cannot, and husk moves it.
    let has_v1 = cg.is_some_and(Cgroup::has_v1);
    let self_join = has_v1 && !identity::rootless();
    let place_v1 = has_v1 && !self_join;
    let (parent_sock, child_sock) = sync::pair()?;
    let forked = clone::clone3(0, cgroup_fd.as_ref().map(|f| f.as_raw_fd()))
        .map_err(|e| e.context("step \"clone\""))?;
    match forked {
        Forked::Child => {
            drop(parent_sock);
            let r = child(
                Enter {
                    ns: &ns,
                    root: root.as_ref(),
                },
                p,
                preserve_fds,
                &child_sock,
                match cg {
                    Some(c) if self_join => V1Join::Itself(c),
                    _ if place_v1 => V1Join::ByHusk,
                    _ => V1Join::No,
                },
                console_sock,
                st.seccomp.as_ref(),
            );
            let e = match r {
                Ok(never) => match never {},
                Err(e) => e,
            };
            let _ = sync::send(&child_sock, sync::ERROR, e.to_string().as_bytes());
            // SAFETY: leave without running the parent's destructors.
            unsafe { libc::_exit(1) }
        }
        Forked::Parent { pid, pidfd } => {
            drop(child_sock);
            if place_v1 {
                let r = step(
                    "join-v1-cgroups",
                    format!("move {pid} into the container's v1 cgroups"),
                    || {
                        cg.expect("checked").place_v1(pid)?;
                        sync::send(&parent_sock, sync::GO, b"")
                    },
                );
                if let Err(e) = r {
                    super::parent::kill_and_reap(pid);
                    return Err(e);
                }
            }
            Ok(ExecProcess {
                pid,
                pidfd,
                sock: parent_sock,
            })
        }
    }
}

/// How the exec'd process gets into the container's v1 cgroups.
enum V1Join<'a> {
    /// No v1 hierarchy (or no cgroup).
    No,
    /// It moves itself, first thing.
    Itself(&'a Cgroup),
    /// husk moves it; it waits for husk's go-ahead.
    ByHusk,
}

/// Where the child goes: the container's namespaces (those husk did not
/// enter itself), then, for a container without a mount namespace of its
/// own, its init's root.
struct Enter<'a> {
    ns: &'a [(NsKind, File, PathBuf)],
    root: Option<&'a OwnedFd>,
}

fn child(
    Enter { ns, root }: Enter,
    p: &ProcessPlan,
    preserve_fds: u32,
    sock: &OwnedFd,
    v1: V1Join,
    console_sock: Option<i32>,
    seccomp: Option<&crate::linux::seccomp::Seccomp>,
) -> Result<std::convert::Infallible> {
    step("reset-signals", "sigprocmask(SIG_SETMASK, {})", || {
        crate::linux::signal::reset_for_exec();
        Ok(())
    })?;
    if let Some(v) = p.oom_score_adj {
        step(
            "set-oom-score-adj",
            format!("write {v} to /proc/self/oom_score_adj"),
            || crate::linux::process_attrs::set_oom_score_adj(v),
        )?;
    }
    // Before entering the container's mount namespace: see linux/lsm.rs.
    let labels = init::open_labels(p)?;
    if let V1Join::Itself(cg) = v1 {
        init::join_cgroups(cg)?;
    }
    if let V1Join::ByHusk = v1 {
        step(
            "wait-for-parent",
            "husk moves us into the v1 cgroups",
            || init::wait_for_parent(sock),
        )?;
    }
    // Host root may enter any of them; the user namespace goes last, since
    // once inside it the host's privileges are gone.
    let mut ordered: Vec<&(NsKind, File, PathBuf)> =
        ns.iter().filter(|(k, _, _)| *k != NsKind::User).collect();
    ordered.extend(ns.iter().filter(|(k, _, _)| *k == NsKind::User));
    for (k, f, path) in ordered {
        step(
            "join-namespace",
            format!("setns({})", path.display()),
            || namespaces::setns(*k, f, path),
        )?;
    }
    if let Some(r) = root {
        step("chroot", "fchdir(the container's root), chroot(.)", || {
            host_mounts::enter_root(r)
        })?;
    }
    // The pty comes from the container's devpts, now that we see its /dev.
    let slave = if p.terminal {
        Some(terminal::setup(p, console_sock, sock, false)?)
    } else {
        None
    };
    if let Some(s) = &slave {
        step(
            "attach-terminal",
            "setsid, TIOCSCTTY, pty slave as stdio",
            || crate::linux::tty::make_controlling(s),
        )?;
    }
    let prep = process::prepare(p, preserve_fds, seccomp, &labels, &|fd| {
        crate::linux::tty::send_fd(sock.as_raw_fd(), &[sync::SECCOMP], fd.as_raw_fd())
    })?;
    if let Some(f) = &prep.pending {
        process::load_pending(f)?;
    }
    Err(process::exec(&prep, &p.args).context("step \"exec\""))
}
