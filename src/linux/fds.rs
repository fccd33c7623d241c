//! Which file descriptors reach the container: 0–2, plus those passed with
//! --preserve-fds or by socket activation (LISTEN_FDS). Everything else is
//! marked close-on-exec, so a descriptor the caller leaked (CVE-2024-21626)
//! never crosses into the container.

use nix::errno::Errno;

use crate::error::{Error, Result};

const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;

pub fn close_others(keep_extra: u32) -> Result<()> {
    let first = 3 + keep_extra;
    // SAFETY: integer-only syscall on our own fd table.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    if r < 0 {
        return Err(Error::sys(
            format!("close_range({first}, ~0, CLOSE_RANGE_CLOEXEC)"),
            Errno::last(),
        ));
    }
    for fd in 3..first {
        // SAFETY: fcntl on an fd number; a closed one gives EBADF.
        let flags = unsafe { libc::fcntl(fd as i32, libc::F_GETFD) };
        if flags < 0 {
            return Err(Error::sys(
                format!("preserved fd {fd}: fcntl(F_GETFD)"),
                Errno::last(),
            ));
        }
        // SAFETY: as above.
        if unsafe { libc::fcntl(fd as i32, libc::F_SETFD, flags & !libc::FD_CLOEXEC) } < 0 {
            return Err(Error::sys(
                format!("preserved fd {fd}: fcntl(F_SETFD)"),
                Errno::last(),
            ));
        }
    }
    Ok(())
}

/// LISTEN_FDS from husk's own environment (systemd socket activation).
pub fn listen_fds() -> u32 {
    std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
