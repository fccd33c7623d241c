//! husk driving a container's terminal itself (`run` or `exec` in the
//! foreground without --console-socket): our terminal in raw mode, bytes
//! both ways, window size changes passed on, signals forwarded, and the
//! process's exit status returned.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

use crate::container::process::pidfd_signal;
use crate::error::{Error, Result};
use crate::linux::tty;

fn write_all(fd: RawFd, mut buf: &[u8]) -> bool {
    while !buf.is_empty() {
        // SAFETY: buf is valid for its length.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            if Errno::last() == Errno::EINTR {
                continue;
            }
            return false;
        }
        buf = &buf[n as usize..];
    }
    true
}

fn exit_code(status: i32) -> i32 {
    if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        libc::WEXITSTATUS(status)
    }
}

/// Copy what is left in the master after the process exited.
fn drain(master: RawFd) {
    let mut buf = [0u8; 8192];
    // SAFETY: F_SETFL on our own fd.
    unsafe { libc::fcntl(master, libc::F_SETFL, libc::O_NONBLOCK) };
    loop {
        // SAFETY: buf is valid for its length.
        let n = unsafe { libc::read(master, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 || !write_all(1, &buf[..n as usize]) {
            return;
        }
    }
}

pub fn relay(master: &OwnedFd, pid: i32, set: &libc::sigset_t, pidfd: &OwnedFd) -> Result<i32> {
    // SAFETY: isatty has no preconditions.
    let _raw = if unsafe { libc::isatty(0) } == 1 {
        tty::RawMode::enter(0)
    } else {
        None
    };
    if let Some((rows, cols)) = tty::get_size(0) {
        let _ = tty::set_size(master.as_raw_fd(), rows, cols);
    }
    // The forwarded signals and SIGCHLD are blocked; read them from an fd
    // so one poll covers the terminal and the signals.
    // SAFETY: set is initialised.
    let sfd = unsafe { libc::signalfd(-1, set, libc::SFD_CLOEXEC) };
    if sfd < 0 {
        return Err(Error::sys("signalfd", Errno::last()));
    }
    // SAFETY: fresh fd.
    let sfd = unsafe { OwnedFd::from_raw_fd(sfd) };
    let mut stdin_open = true;
    let mut master_open = true;
    let mut buf = [0u8; 8192];
    loop {
        let mut fds = [
            libc::pollfd {
                fd: if stdin_open { 0 } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if master_open { master.as_raw_fd() } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: sfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: three valid pollfds.
        if unsafe { libc::poll(fds.as_mut_ptr(), 3, -1) } < 0 {
            if Errno::last() == Errno::EINTR {
                continue;
            }
            return Err(Error::sys("poll(stdin, pty, signalfd)", Errno::last()));
        }
        if fds[0].revents != 0 {
            // SAFETY: buf is valid for its length.
            let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 || !write_all(master.as_raw_fd(), &buf[..n as usize]) {
                stdin_open = false;
            }
        }
        if fds[1].revents != 0 {
            // SAFETY: as above.
            let n = unsafe { libc::read(master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            // EIO: every slave fd is closed.
            if n <= 0 || !write_all(1, &buf[..n as usize]) {
                master_open = false;
            }
        }
        if fds[2].revents != 0 {
            // SAFETY: signalfd_siginfo is plain data.
            let mut si: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
            // SAFETY: reading one record into si.
            let n = unsafe {
                libc::read(
                    sfd.as_raw_fd(),
                    (&mut si as *mut libc::signalfd_siginfo).cast(),
                    std::mem::size_of_val(&si),
                )
            };
            if n <= 0 {
                continue;
            }
            match si.ssi_signo as i32 {
                libc::SIGCHLD => {
                    let mut status = 0;
                    // SAFETY: waiting for our own child.
                    if unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid {
                        drain(master.as_raw_fd());
                        return Ok(exit_code(status));
                    }
                }
                libc::SIGWINCH => {
                    if let Some((rows, cols)) = tty::get_size(0) {
                        let _ = tty::set_size(master.as_raw_fd(), rows, cols);
                    }
                }
                sig => {
                    let _ = pidfd_signal(pidfd, sig);
                }
            }
        }
    }
}
