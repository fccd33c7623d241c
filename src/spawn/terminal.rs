//! The container process's terminal, set up from inside: a pty from the
//! container's own devpts, /dev/console bound to it (for the init), and the
//! master sent to whoever drives it: the --console-socket, or husk itself.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

use super::sync;
use crate::error::{Error, Result};
use crate::linux::{mounts, tty};
use crate::spec::plan::ProcessPlan;
use crate::steps::step;

/// Allocate, size and hand over the pty; returns the slave, to become
/// the process's stdio at the very end.
pub fn setup(
    p: &ProcessPlan,
    console_sock: Option<RawFd>,
    sync_sock: &OwnedFd,
    bind_console: bool,
) -> Result<OwnedFd> {
    let pty = step(
        "open-terminal",
        "open /dev/ptmx in the container's devpts",
        tty::open_pty,
    )?;
    if let Some((rows, cols)) = p.console_size {
        tty::set_size(pty.master.as_raw_fd(), rows, cols)?;
    }
    // The process may not be root: let it own its terminal.
    // SAFETY: fchown on our own fd.
    if unsafe { libc::fchown(pty.slave.as_raw_fd(), p.uid, p.gid) } < 0 {
        return Err(Error::sys(
            format!("chown {} to {}:{}", pty.name, p.uid, p.gid),
            Errno::last(),
        ));
    }
    if bind_console {
        step(
            "bind-console",
            format!("mount {} on /dev/console", pty.name),
            || bind_dev_console(&pty.name, &pty.slave),
        )?;
    }
    step(
        "send-terminal",
        "sendmsg(SCM_RIGHTS, pty master)",
        || match console_sock {
            Some(s) => tty::send_fd(s, pty.name.as_bytes(), pty.master.as_raw_fd()),
            None => {
                let mut msg = vec![sync::TERMINAL];
                msg.extend_from_slice(pty.name.as_bytes());
                tty::send_fd(sync_sock.as_raw_fd(), &msg, pty.master.as_raw_fd())
            }
        },
    )?;
    Ok(pty.slave)
}

/// /dev/console becomes the pty slave. Checked first (CVE-2025-52565):
/// it must be a plain file or a character device, not a symlink to
/// somewhere a bind would hurt. The source is the slave we hold (from
/// TIOCGPTPEER), never `name` looked up again: CVE-2025-52565 swapped
/// /dev/pts/N for a symlink between the check and the bind.
fn bind_dev_console(name: &str, slave: &OwnedFd) -> Result<()> {
    let open = |path: &str| {
        mounts::openat2(
            libc::AT_FDCWD,
            path,
            libc::O_PATH | libc::O_NOFOLLOW,
            mounts::RESOLVE_NO_SYMLINKS,
        )
    };
    let target = match open("/dev/console") {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => {
            // SAFETY: literal path; O_EXCL|O_NOFOLLOW never follows a link.
            let fd = unsafe {
                libc::open(
                    c"/dev/console".as_ptr(),
                    libc::O_CREAT
                        | libc::O_EXCL
                        | libc::O_NOFOLLOW
                        | libc::O_CLOEXEC
                        | libc::O_WRONLY,
                    0o600,
                )
            };
            if fd < 0 {
                return Err(Error::sys("create /dev/console", Errno::last()));
            }
            // SAFETY: closing the fd just made.
            unsafe { libc::close(fd) };
            open("/dev/console").map_err(|e| Error::sys("open /dev/console", e))?
        }
        Err(e) => {
            return Err(Error::sys(
                "open /dev/console (it must not be a symlink)",
                e,
            ));
        }
    };
    let st = mounts::fstat(&target).map_err(|e| Error::sys("stat /dev/console", e))?;
    let kind = st.st_mode & libc::S_IFMT;
    if kind != libc::S_IFREG && kind != libc::S_IFCHR {
        return Err(Error::msg(
            "/dev/console is neither a file nor a character device; refusing to bind the terminal onto it",
        ));
    }
    let tree = mounts::clone_tree(slave, false, name)?;
    mounts::attach(&tree, &target, "/dev/console")
}
