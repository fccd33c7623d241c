//! Signalling and waiting for a container's processes by pidfd, after
//! checking the start time, so a recycled PID is never signalled.

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::State;
use crate::bail;
use crate::error::{Error, Result};
use crate::linux::proc;
use crate::spawn::clone::pidfd_open;

/// A pidfd for the init, or None if the process is gone.
pub fn init_pidfd(st: &State) -> Result<Option<OwnedFd>> {
    let fd = match pidfd_open(st.pid) {
        Ok(fd) => fd,
        Err(e) if e.errno() == Some(Errno::ESRCH) => return Ok(None),
        Err(e) => return Err(e),
    };
    // The pidfd pins the process; if the start time matches now, the pidfd
    // is ours for good.
    match proc::stat(st.pid) {
        Some(p) if p.start_time == st.init_start_time && p.state != 'Z' => Ok(Some(fd)),
        _ => Ok(None),
    }
}

pub fn pidfd_signal(fd: &OwnedFd, sig: i32) -> Result<(), Errno> {
    // SAFETY: fd is a pidfd; a null siginfo means "as kill(2) would".
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if r < 0 { Err(Errno::last()) } else { Ok(()) }
}

pub fn signal_init(st: &State, sig: i32) -> Result<()> {
    let Some(fd) = init_pidfd(st)? else {
        bail!("container not running")
    };
    pidfd_signal(&fd, sig).map_err(|e| {
        Error::sys(
            format!("pidfd_send_signal(pid {}, signal {sig})", st.pid),
            e,
        )
    })
}

/// Every process in the container's pid namespace (the init included),
/// found by comparing /proc/<pid>/ns/pid with the init's.
pub fn pids_in_container(st: &State) -> Result<Vec<i32>> {
    if !st.own_pid_ns {
        bail!(
            "kill --all: the container shares a pid namespace, and husk cannot find its processes without a cgroup yet"
        );
    }
    let target = std::fs::read_link(format!("/proc/{}/ns/pid", st.pid))
        .map_err(|e| Error::from(e).context(format!("readlink /proc/{}/ns/pid", st.pid)))?;
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc")?.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if std::fs::read_link(format!("/proc/{pid}/ns/pid"))
            .ok()
            .as_ref()
            == Some(&target)
        {
            pids.push(pid);
        }
    }
    Ok(pids)
}

pub fn signal_all(st: &State, sig: i32) -> Result<()> {
    let Some(init) = init_pidfd(st)? else {
        bail!("container not running")
    };
    if let Some(cg) = &st.cgroup {
        return cg.signal_all(sig);
    }
    for pid in pids_in_container(st)? {
        if pid == st.pid {
            continue;
        }
        if let Ok(fd) = pidfd_open(pid) {
            let _ = pidfd_signal(&fd, sig);
        }
    }
    pidfd_signal(&init, sig).map_err(|e| {
        Error::sys(
            format!("pidfd_send_signal(pid {}, signal {sig})", st.pid),
            e,
        )
    })
}

/// Wait until the pidfd says the process has exited.
pub fn wait_exit(fd: &OwnedFd, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut p = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut p, 1, left.as_millis().min(i32::MAX as u128) as i32) };
        if r > 0 {
            return true;
        }
        if r == 0 || (r < 0 && Errno::last() != Errno::EINTR) {
            return false;
        }
    }
}

/// SIGKILL the container (every process, when it has its own pid
/// namespace: killing its pid 1 takes the rest with it) and wait.
pub fn kill_and_wait(st: &State) -> Result<()> {
    if let Some(cg) = &st.cgroup {
        cg.signal_all(libc::SIGKILL)?;
        // A frozen process only dies once thawed.
        if cg.is_frozen().unwrap_or(false) {
            cg.set_frozen(false)?;
        }
    }
    let Some(fd) = init_pidfd(st)? else {
        return Ok(());
    };
    pidfd_signal(&fd, libc::SIGKILL)
        .or_else(|e| if e == Errno::ESRCH { Ok(()) } else { Err(e) })
        .map_err(|e| Error::sys(format!("pidfd_send_signal(pid {}, SIGKILL)", st.pid), e))?;
    if !wait_exit(&fd, Duration::from_secs(10)) {
        bail!(
            "container init (pid {}) did not exit within 10s of SIGKILL",
            st.pid
        );
    }
    Ok(())
}
