//! Device nodes in the container's /dev: the standard set, linux.devices,
//! and the /dev/fd, /dev/std* and /dev/ptmx links.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::linux::mounts::{self, fd_path, mount};
use crate::spec::plan::DevicePlan;

/// The devices every container gets when /dev is a fresh tmpfs.
pub fn default_devices() -> Vec<DevicePlan> {
    // In runc's order, so that the bind mounts made in a user namespace
    // list the same in the mount table.
    [
        ("null", 1, 3),
        ("random", 1, 8),
        ("full", 1, 7),
        ("tty", 5, 0),
        ("zero", 1, 5),
        ("urandom", 1, 9),
    ]
    .iter()
    .map(|(n, ma, mi)| DevicePlan {
        path: format!("/dev/{n}"),
        file_type: libc::S_IFCHR,
        major: *ma,
        minor: *mi,
        mode: 0o666,
        uid: 0,
        gid: 0,
    })
    .collect()
}

/// Create device nodes. In a user namespace mknod is not allowed, so the
/// host's node is bind-mounted instead, as runc does.
pub fn create_all(
    root: &OwnedFd,
    rootfs: &str,
    devs: &[DevicePlan],
    in_userns: bool,
) -> Result<()> {
    if in_userns {
        return devs
            .iter()
            .try_for_each(|d| bind_host_node(root, rootfs, d));
    }
    // mknod applies the umask; the nodes get exactly the mode the plan
    // asks for (runc's init does the same).
    // SAFETY: umask cannot fail; the old mask is put back below.
    let old = unsafe { libc::umask(0) };
    let r = make_nodes(root, rootfs, devs);
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    r
}

fn make_nodes(root: &OwnedFd, rootfs: &str, devs: &[DevicePlan]) -> Result<()> {
    // SAFETY: no arguments, cannot fail.
    let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
    // Nodes usually share a directory (/dev): open it once, not per node.
    let mut open: Option<(&str, OwnedFd, bool)> = None;
    for d in devs {
        let (parent, name) = mounts::split_parent(&d.path);
        let (dir, setgid) = match open.take() {
            Some((p, fd, setgid)) if p == parent => (fd, setgid),
            _ => {
                let pfd = mounts::mkdir_all_in_root(root, parent, rootfs)?;
                let fd =
                    mounts::openat2(pfd.as_raw_fd(), ".", libc::O_DIRECTORY | libc::O_RDONLY, 0)
                        .map_err(|e| Error::sys(format!("open {rootfs}{parent}"), e))?;
                // A set-group-ID directory hands its group to new nodes.
                // SAFETY: st is plain data the kernel fills; fd is open.
                let setgid = unsafe {
                    let mut st: libc::stat = std::mem::zeroed();
                    libc::fstat(fd.as_raw_fd(), &mut st) != 0 || st.st_mode & libc::S_ISGID != 0
                };
                (fd, setgid)
            }
        };
        let owner = (euid, if setgid { u32::MAX } else { egid });
        make_node(&dir, name, d, rootfs, owner)?;
        open = Some((parent, dir, setgid));
    }
    Ok(())
}

fn bind_host_node(root: &OwnedFd, rootfs: &str, d: &DevicePlan) -> Result<()> {
    let shown = format!("{rootfs}{}", d.path);
    let target = mounts::ensure_in_root(root, &d.path, false, rootfs)?;
    mount(
        Some(&d.path),
        &fd_path(&target),
        None,
        libc::MS_BIND,
        None,
        &shown,
    )
}

/// mknod `name` in `dir` with exactly the mode and owner the plan asks for.
fn make_node(
    dir: &OwnedFd,
    name: &str,
    d: &DevicePlan,
    rootfs: &str,
    owner: (libc::uid_t, libc::gid_t),
) -> Result<()> {
    let shown = format!("{rootfs}{}", d.path);
    let n = CString::new(name).map_err(|_| Error::msg("device name has a NUL byte"))?;
    let dev = libc::makedev(d.major as u32, d.minor as u32);
    let mknod = || {
        // SAFETY: dir is open; n is NUL-terminated.
        unsafe { libc::mknodat(dir.as_raw_fd(), n.as_ptr(), d.file_type | d.mode, dev) }
    };
    let mut r = mknod();
    if r < 0 && Errno::last() == Errno::EEXIST {
        // A leftover file (from the image) is replaced, never written
        // through. Only then: on a fresh /dev there is nothing to remove.
        // SAFETY: as above.
        unsafe { libc::unlinkat(dir.as_raw_fd(), n.as_ptr(), 0) };
        r = mknod();
    }
    if r < 0 {
        return Err(Error::sys(
            format!("mknod({shown}, {}:{})", d.major, d.minor),
            Errno::last(),
        ));
    }
    // The node is new and ours: it has no symlink to follow, and already
    // has `owner` (u32::MAX: its group is not known).
    // SAFETY: as above.
    if (d.uid, d.gid) != owner
        && unsafe {
            libc::fchownat(
                dir.as_raw_fd(),
                n.as_ptr(),
                d.uid,
                d.gid,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        } < 0
    {
        return Err(Error::sys(
            format!("chown({shown}, {}:{})", d.uid, d.gid),
            Errno::last(),
        ));
    }
    Ok(())
}

/// /dev/fd and friends point into /proc/self, as every libc expects.
pub fn create_links(root: &OwnedFd, rootfs: &str) -> Result<()> {
    let dev = mounts::mkdir_all_in_root(root, "/dev", rootfs)?;
    let dir = mounts::openat2(dev.as_raw_fd(), ".", libc::O_DIRECTORY | libc::O_RDONLY, 0)
        .map_err(|e| Error::sys(format!("open {rootfs}/dev"), e))?;
    for (name, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
    ] {
        let n = CString::new(name).expect("literal");
        let t = CString::new(target).expect("literal");
        // SAFETY: dir is open; both strings are NUL-terminated.
        let link = || unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), n.as_ptr()) };
        let mut r = link();
        if r < 0 && Errno::last() == Errno::EEXIST {
            // SAFETY: as above.
            unsafe { libc::unlinkat(dir.as_raw_fd(), n.as_ptr(), 0) };
            r = link();
        }
        if r < 0 {
            return Err(Error::sys(
                format!("symlink {rootfs}/dev/{name} -> {target}"),
                Errno::last(),
            ));
        }
    }
    Ok(())
}
