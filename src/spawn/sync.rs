//! The channel between husk and the container's init: a SOCK_SEQPACKET
//! socketpair, so each message arrives whole and a closed end reads as EOF.
//! Both ends are close-on-exec: when the init execs, husk reads EOF.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::errno::Errno;

use crate::error::{Error, Result};

/// Parent → child: the id maps are written and the v1 cgroups joined.
pub const GO: u8 = b'G';
/// Child → parent: set up and waiting (or about to exec).
pub const READY: u8 = b'R';
/// Child → parent: an error message follows.
pub const ERROR: u8 = b'E';
/// Child → parent: stopped before pivot_root for the create hooks.
pub const HOOKS: u8 = b'H';
/// Parent → child: runtime hooks done; the container state JSON follows.
pub const STATE: u8 = b'S';
/// Intermediate → parent: the init's PID follows (user namespace joined).
pub const PID: u8 = b'P';

pub fn pair() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors socketpair returns.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if r < 0 {
        return Err(Error::sys(
            "socketpair(AF_UNIX, SOCK_SEQPACKET)",
            Errno::last(),
        ));
    }
    // SAFETY: both fds are fresh and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

pub fn send(fd: &OwnedFd, kind: u8, payload: &[u8]) -> Result<()> {
    let mut msg = Vec::with_capacity(1 + payload.len());
    msg.push(kind);
    msg.extend_from_slice(payload);
    // write(2), not send(2): the init also sends after its seccomp filter
    // is loaded, and a profile written for runc allows write (runc's init
    // writes to its sync pipe) but need not allow sendto. husk ignores
    // SIGPIPE; the init has it at its default, and dies by it only when
    // husk is gone, which kills it anyway.
    loop {
        // SAFETY: msg is a valid buffer of its length.
        let r = unsafe { libc::write(fd.as_raw_fd(), msg.as_ptr().cast(), msg.len()) };
        if r >= 0 {
            return Ok(());
        }
        if Errno::last() != Errno::EINTR {
            return Err(Error::sys("send on sync socket", Errno::last()));
        }
    }
}

/// Child → parent: the seccomp listener fd rides along (SCM_RIGHTS).
pub const SECCOMP: u8 = b'N';
/// Child → parent: the terminal's master fd rides along (SCM_RIGHTS).
pub const TERMINAL: u8 = b'T';

/// A message and the fd that came with it, if any.
pub type Message = (u8, Vec<u8>, Option<OwnedFd>);

/// One message, or None when the other side closed (or exec'd). read(2),
/// not recvmsg(2), for the reason given at [`send`]; an fd that came along
/// is closed by the kernel.
pub fn recv(fd: &OwnedFd) -> Result<Option<(u8, Vec<u8>)>> {
    let mut buf: Vec<u8> = Vec::with_capacity(65536);
    loop {
        // SAFETY: buf has room for its capacity; read writes at most that.
        let r = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.capacity()) };
        if r > 0 {
            // SAFETY: the kernel wrote the first r bytes.
            unsafe { buf.set_len(r as usize) };
            let kind = buf.remove(0);
            buf.shrink_to_fit();
            return Ok(Some((kind, buf)));
        }
        if r == 0 {
            return Ok(None);
        }
        match Errno::last() {
            // See recv_full.
            Errno::EINTR | Errno::ECONNRESET => {}
            e => return Err(Error::sys("read on sync socket", e)),
        }
    }
}

/// Like recv, keeping a passed file descriptor.
pub fn recv_full(fd: &OwnedFd) -> Result<Option<Message>> {
    // Room for the largest message, left uninitialised: zeroing 64 KiB
    // would touch 16 pages, each a page fault (and, in the freshly forked
    // init, a copy-on-write) for messages that are mostly one byte long.
    let mut buf: Vec<u8> = Vec::with_capacity(65536);
    let mut ctl = [0u64; 4];
    loop {
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.capacity(),
        };
        // SAFETY: plain data; the pointers are set right below.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = ctl.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&ctl);
        // SAFETY: msg points at live buffers.
        let r = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if r > 0 {
            // SAFETY: the kernel filled msg_control; only its header is read.
            let c = unsafe { libc::CMSG_FIRSTHDR(&msg) };
            // SAFETY: c is checked before use; SCM_RIGHTS carries an fd,
            // which is now ours.
            let passed = if !c.is_null() && unsafe { (*c).cmsg_type } == libc::SCM_RIGHTS {
                Some(unsafe {
                    OwnedFd::from_raw_fd(std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const i32))
                })
            } else {
                None
            };
            // SAFETY: the kernel wrote the first r bytes.
            unsafe { buf.set_len(r as usize) };
            let kind = buf.remove(0);
            buf.shrink_to_fit();
            return Ok(Some((kind, buf, passed)));
        }
        if r == 0 {
            return Ok(None);
        }
        match Errno::last() {
            Errno::EINTR => {}
            // The other side closed with a message of ours unread (an init
            // that failed before it read GO). The kernel reports that once,
            // ahead of what the other side sent before it closed (its error,
            // say): read on.
            Errno::ECONNRESET => {}
            e => return Err(Error::sys("recv on sync socket", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An init that fails before it reads GO closes its end with GO unread:
    /// husk must still get the init's error, not ECONNRESET.
    #[test]
    fn the_peers_last_words_survive_an_unread_message() {
        let (husk, init) = pair().unwrap();
        send(&husk, GO, b"").unwrap();
        send(&init, ERROR, b"step \"mount\": ENODEV").unwrap();
        drop(init);
        assert_eq!(
            recv(&husk).unwrap(),
            Some((ERROR, b"step \"mount\": ENODEV".to_vec()))
        );
        assert_eq!(recv(&husk).unwrap(), None);
    }
}
