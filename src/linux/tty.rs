//! Terminals: a pty allocated inside the container's own devpts, its master
//! handed over a unix socket with SCM_RIGHTS (what conmon and containerd
//! expect from --console-socket), raw mode and window sizes for husk's own
//! relay.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

use crate::error::{Error, Result};

pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
    /// "/dev/pts/N" as the container sees it.
    pub name: String,
}

/// Open /dev/ptmx as the container sees it (after pivot_root, or after
/// entering its mount namespace), so the slave lives in its devpts.
pub fn open_pty() -> Result<Pty> {
    // SAFETY: literal path.
    let m = unsafe {
        libc::open(
            c"/dev/ptmx".as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if m < 0 {
        return Err(Error::sys("open /dev/ptmx", Errno::last()));
    }
    // SAFETY: fresh fd.
    let master = unsafe { OwnedFd::from_raw_fd(m) };
    // SAFETY: master is a pty master.
    if unsafe { libc::unlockpt(master.as_raw_fd()) } < 0 {
        return Err(Error::sys("unlockpt", Errno::last()));
    }
    let mut n: libc::c_int = 0;
    // SAFETY: TIOCGPTN writes one int.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN, &mut n) } < 0 {
        return Err(Error::sys("ioctl(TIOCGPTN)", Errno::last()));
    }
    // TIOCGPTPEER opens the slave through the master, without a path
    // lookup that a symlink in /dev/pts could redirect.
    // SAFETY: integer ioctl on the master.
    let s = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if s < 0 {
        return Err(Error::sys("ioctl(TIOCGPTPEER)", Errno::last()));
    }
    // SAFETY: fresh fd.
    let slave = unsafe { OwnedFd::from_raw_fd(s) };
    Ok(Pty {
        master,
        slave,
        name: format!("/dev/pts/{n}"),
    })
}

pub fn set_size(fd: RawFd, rows: u16, cols: u16) -> Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize.
    if unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) } < 0 {
        return Err(Error::sys(
            format!("ioctl(TIOCSWINSZ, {rows}x{cols})"),
            Errno::last(),
        ));
    }
    Ok(())
}

pub fn get_size(fd: RawFd) -> Option<(u16, u16)> {
    // SAFETY: TIOCGWINSZ fills one winsize.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    // A terminal that never had a size reports 0x0: nothing to pass on.
    if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } < 0 || ws.ws_row == 0 || ws.ws_col == 0
    {
        return None;
    }
    Some((ws.ws_row, ws.ws_col))
}

/// Make the slave the controlling terminal and stdio of this process.
pub fn make_controlling(slave: &OwnedFd) -> Result<()> {
    // SAFETY: plain syscalls on our own fds.
    unsafe {
        if libc::setsid() < 0 {
            return Err(Error::sys("setsid", Errno::last()));
        }
        if libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) < 0 {
            return Err(Error::sys("ioctl(TIOCSCTTY)", Errno::last()));
        }
        for fd in 0..3 {
            if libc::dup2(slave.as_raw_fd(), fd) < 0 {
                return Err(Error::sys(format!("dup2(pty, {fd})"), Errno::last()));
            }
        }
    }
    Ok(())
}

/// Connect to the console socket (a path on the host; done before
/// pivot_root, while the path still resolves).
pub fn connect(path: &std::path::Path) -> Result<OwnedFd> {
    let p = path.as_os_str().as_encoded_bytes();
    // SAFETY: sockaddr_un is plain data.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    // sun_path is 108 bytes including the NUL.
    if p.len() >= addr.sun_path.len() {
        return Err(Error::msg(format!(
            "--console-socket {}: path longer than the {} bytes a unix socket address holds",
            path.display(),
            addr.sun_path.len() - 1
        )));
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, s) in addr.sun_path.iter_mut().zip(p) {
        *d = *s as libc::c_char;
    }
    // SAFETY: plain socket call.
    let s = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if s < 0 {
        return Err(Error::sys("socket(AF_UNIX)", Errno::last()));
    }
    // SAFETY: fresh fd.
    let sock = unsafe { OwnedFd::from_raw_fd(s) };
    // SAFETY: addr is a valid sockaddr_un of the size passed.
    let r = unsafe {
        libc::connect(
            sock.as_raw_fd(),
            &addr as *const libc::sockaddr_un as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(Error::sys(
            format!("connect to --console-socket {}", path.display()),
            Errno::last(),
        ));
    }
    Ok(sock)
}

/// Send `fd` with `payload` in one message (SCM_RIGHTS).
pub fn send_fd(sock: RawFd, payload: &[u8], fd: RawFd) -> Result<()> {
    let mut iov = libc::iovec {
        iov_base: payload.as_ptr() as *mut libc::c_void,
        iov_len: payload.len(),
    };
    // Room for one cmsg carrying one int, aligned as the kernel wants.
    let mut buf = [0u64; 4];
    // SAFETY: msghdr is plain data; its pointers are set below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = buf.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE is a pure size computation.
    msg.msg_controllen = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as usize;
    // SAFETY: msg_control points at a buffer of msg_controllen bytes.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(c) as *mut RawFd, fd);
    }
    // SAFETY: msg is fully initialised.
    if unsafe { libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL) } < 0 {
        return Err(Error::sys("sendmsg(SCM_RIGHTS, pty master)", Errno::last()));
    }
    Ok(())
}

/// Raw mode on a terminal, restored on drop.
pub struct RawMode {
    fd: RawFd,
    saved: libc::termios,
}

impl RawMode {
    pub fn enter(fd: RawFd) -> Option<RawMode> {
        // SAFETY: termios is plain data filled by tcgetattr.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: fd is open; t is valid.
        if unsafe { libc::tcgetattr(fd, &mut t) } < 0 {
            return None;
        }
        let saved = t;
        // SAFETY: cfmakeraw only edits t.
        unsafe { libc::cfmakeraw(&mut t) };
        // SAFETY: as above.
        if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &t) } < 0 {
            return None;
        }
        Some(RawMode { fd, saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restoring the settings read in enter().
        unsafe { libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved) };
    }
}
