//! `husk run`: create, start and wait, forwarding signals to the container
//! and exiting with its status (128+N when killed by signal N).

use std::os::fd::AsRawFd;

use nix::errno::Errno;

use super::create;
use crate::cli::{Global, RunArgs};
use crate::container::Container;
use crate::error::{Error, Result};

/// Signals husk run passes on to the container instead of dying of them.
const FORWARDED: &[i32] = &[
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGTERM,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
    libc::SIGCONT,
    libc::SIGALRM,
];

fn signal_set(with_chld: bool) -> libc::sigset_t {
    // SAFETY: sigset_t is plain data, initialised by sigemptyset.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in FORWARDED {
            libc::sigaddset(&mut set, *s);
        }
        if with_chld {
            libc::sigaddset(&mut set, libc::SIGCHLD);
        }
        set
    }
}

/// Block the signals husk forwards (and SIGCHLD when it will wait), so
/// that none is lost before the waiting loop; children unblock them.
pub fn block_forwarded_signals(wait: bool) -> libc::sigset_t {
    let set = signal_set(wait);
    // SAFETY: set is initialised.
    unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    set
}

pub fn run(g: &Global, a: &RunArgs) -> Result<i32> {
    // Blocked before the clone, so none is lost between the container
    // starting and husk waiting; the init unblocks them for itself.
    let set = block_forwarded_signals(!a.detach);

    let created = create::create(g, &a.create, false, !a.detach)?;
    let pid = created.init.pid;
    let start_time = created.state.init_start_time;
    if let Err(e) = created.init.wait_exec() {
        crate::spawn::parent::kill_and_reap(pid);
        let _ = created.container.destroy(&created.state);
        return Err(e);
    }
    crate::explain::finish()?;
    if let Some(p) = &a.create.pid_file {
        create::write_pid_file(p, pid)?;
    }
    if let Err(e) = created.state.run_poststart() {
        let _ = created.container.destroy(&created.state);
        return Err(e);
    }
    let create::Created {
        container, init, ..
    } = created;
    // Other husk calls (state, kill) must not wait for us.
    drop(container);
    if a.detach {
        return Ok(0);
    }
    let code = match &init.master {
        Some(m) => super::relay::relay(m, pid, &set, &init.pidfd)?,
        None => wait_forwarding(pid, &set, &init.pidfd)?,
    };
    if !a.keep {
        // Someone may have deleted it meanwhile (delete --force), or even
        // made a new container with the same ID: only remove our own.
        match Container::open(&g.root, &a.create.id) {
            Ok((c, st)) if st.pid == pid && st.init_start_time == start_time => c.destroy(&st)?,
            Ok(_) => {}
            Err(e) if e.to_string() == "container does not exist" => {}
            Err(e) => return Err(e),
        }
    }
    Ok(code)
}

pub fn wait_forwarding(
    pid: i32,
    set: &libc::sigset_t,
    pidfd: &std::os::fd::OwnedFd,
) -> Result<i32> {
    loop {
        let mut status = 0;
        // SAFETY: waiting for our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            return Ok(if libc::WIFSIGNALED(status) {
                128 + libc::WTERMSIG(status)
            } else {
                libc::WEXITSTATUS(status)
            });
        }
        if r < 0 && Errno::last() != Errno::EINTR {
            return Err(Error::sys(format!("waitpid({pid})"), Errno::last()));
        }
        // SAFETY: set is initialised; the info pointer may be null.
        let sig = unsafe { libc::sigwaitinfo(set, std::ptr::null_mut()) };
        if sig > 0 && sig != libc::SIGCHLD {
            let _ = crate::container::process::pidfd_signal(pidfd, sig);
        }
        let _ = pidfd.as_raw_fd();
    }
}
