//! clone3(2): one call makes the init with all its new namespaces, and
//! returns a pidfd so the parent can signal and wait without PID races.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::linux::namespaces::flag_names;

#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_PIDFD: u64 = 0x1000;
pub const CLONE_PARENT: u64 = 0x8000;
/// Born straight into the cgroup `args.cgroup` names (v2, kernel 5.7+).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

pub enum Forked {
    Child,
    Parent { pid: i32, pidfd: OwnedFd },
}

/// Fork-like clone3: no new stack, so the child continues right here with
/// a copy of the address space. husk is single-threaded, so the copy holds
/// no lock another thread owned and the child may allocate freely.
pub fn clone3(flags: u64, cgroup: Option<RawFd>) -> Result<Forked> {
    let mut pidfd: RawFd = -1;
    let mut args = CloneArgs {
        flags: flags
            | CLONE_PIDFD
            | if cgroup.is_some() {
                CLONE_INTO_CGROUP
            } else {
                0
            },
        cgroup: cgroup.map_or(0, |fd| fd as u64),
        pidfd: &mut pidfd as *mut RawFd as u64,
        // With CLONE_PARENT the kernel insists on 0 and reuses the caller's
        // own exit signal (SIGCHLD, from our first clone).
        exit_signal: if flags & CLONE_PARENT != 0 {
            0
        } else {
            libc::SIGCHLD as u64
        },
        ..Default::default()
    };
    // SAFETY: args is a valid clone_args of the size passed. Without
    // CLONE_VM the child gets its own copy of memory, as with fork.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if r < 0 {
        return Err(Error::sys(
            format!("clone3({})", flag_names(flags)),
            Errno::last(),
        ));
    }
    if r == 0 {
        return Ok(Forked::Child);
    }
    // SAFETY: the kernel stored a fresh pidfd for us.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    Ok(Forked::Parent {
        pid: r as i32,
        pidfd,
    })
}

pub fn pidfd_open(pid: i32) -> Result<OwnedFd> {
    // SAFETY: integer-only syscall.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if r < 0 {
        return Err(Error::sys(format!("pidfd_open({pid})"), Errno::last()));
    }
    // SAFETY: fresh fd from the kernel.
    Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
}
