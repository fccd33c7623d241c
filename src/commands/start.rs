//! `husk start`: release the init from the exec fifo and report whether
//! its execve succeeded.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::errno::Errno;

use crate::bail;
use crate::cli::Global;
use crate::container::{Container, lifecycle, process};
use crate::error::{Error, Result};

pub fn run(g: &Global, id: &str) -> Result<()> {
    let (c, st) = Container::open(&g.root, id)?;
    lifecycle::check_start(c.status(&st))?;
    let Some(pidfd) = process::init_pidfd(&st)? else {
        bail!("cannot start a container that has stopped")
    };
    let path = c.fifo_path();
    let cpath = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::msg("bad fifo path"))?;
    // Non-blocking: if the init died, a blocking open would wait forever.
    // SAFETY: NUL-terminated path.
    let fd = unsafe {
        libc::open(
            cpath.as_ptr(),
            libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(Error::sys(
            format!("open {}", path.display()),
            Errno::last(),
        ));
    }
    // SAFETY: fresh fd.
    let fifo = unsafe { OwnedFd::from_raw_fd(fd) };
    let result = wait_for_exec(&fifo, &pidfd);
    let _ = std::fs::remove_file(&path);
    result?;
    st.run_poststart()
}

/// The init writes an error message into the fifo if execve fails; on
/// success the fifo's write end closes (close-on-exec) and we read EOF.
fn wait_for_exec(fifo: &OwnedFd, pidfd: &OwnedFd) -> Result<()> {
    let mut msg = Vec::new();
    loop {
        let mut fds = [
            libc::pollfd {
                fd: fifo.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfds.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if r < 0 {
            if Errno::last() == Errno::EINTR {
                continue;
            }
            return Err(Error::sys("poll(exec.fifo, pidfd)", Errno::last()));
        }
        if fds[0].revents != 0 {
            let mut buf = [0u8; 4096];
            // SAFETY: buf is valid for its length.
            let n = unsafe { libc::read(fifo.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n > 0 {
                msg.extend_from_slice(&buf[..n as usize]);
                continue;
            }
            if n < 0 && Errno::last() == Errno::EAGAIN {
                continue;
            }
            if msg.is_empty() {
                return Ok(());
            }
            bail!(
                "container init failed to exec: {}",
                String::from_utf8_lossy(&msg)
            );
        }
        if fds[1].revents != 0 {
            bail!("container init exited before it could be started");
        }
    }
}
