//! Which file descriptors reach the container: 0–2, plus those passed with
//! --preserve-fds or by socket activation (LISTEN_FDS). Everything else is
//! marked close-on-exec, so a descriptor the caller leaked (CVE-2024-21626)
//! never crosses into the container.

use nix::errno::Errno;

use crate::error::{Error, Result};

const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;

/// Mark every fd from 3 + `keep_extra` up close-on-exec, and clear the mark
/// on those kept. close_range(CLOSE_RANGE_CLOEXEC) does it in one call
/// (Linux 5.11); where it is missing or refused, walk /proc/self/fd as runc
/// does.
pub fn close_others(keep_extra: u32) -> Result<()> {
    let first = 3 + keep_extra;
    // SAFETY: integer-only syscall on our own fd table.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    if r < 0 {
        let e = Errno::last();
        cloexec_from_proc(first).map_err(|p| {
            p.context(format!(
                "close_range({first}, ~0, CLOSE_RANGE_CLOEXEC) failed ({}), and so did the fallback",
                crate::error::errno_text(e)
            ))
        })?;
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

fn cloexec_from_proc(first: u32) -> Result<()> {
    let dir = std::fs::read_dir("/proc/self/fd")
        .map_err(|e| Error::from(e).context("read /proc/self/fd"))?;
    // The directory's own fd is in the listing too; marking it is harmless.
    for fd in dir.filter_map(|d| d.ok()?.file_name().to_str()?.parse::<i32>().ok()) {
        if fd < first as i32 {
            continue;
        }
        // SAFETY: fcntl on an fd number; one closed meanwhile gives EBADF.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        // SAFETY: as above.
        if flags >= 0 && unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) } < 0 {
            return Err(Error::sys(
                format!("fcntl({fd}, F_SETFD, FD_CLOEXEC)"),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn the_proc_walk_marks_fds_close_on_exec() {
        let f = std::fs::File::open("/dev/null").unwrap();
        let fd = f.as_raw_fd();
        // SAFETY: clearing the flag on our own fd.
        unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
        cloexec_from_proc(fd as u32).unwrap();
        // SAFETY: reading the flag of our own fd.
        assert_eq!(
            unsafe { libc::fcntl(fd, libc::F_GETFD) } & libc::FD_CLOEXEC,
            libc::FD_CLOEXEC
        );
    }
}
