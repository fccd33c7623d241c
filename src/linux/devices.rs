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
    [
        ("null", 1, 3),
        ("zero", 1, 5),
        ("full", 1, 7),
        ("random", 1, 8),
        ("urandom", 1, 9),
        ("tty", 5, 0),
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

/// Create one device node. In a user namespace mknod is not allowed, so
/// the host's node is bind-mounted instead, as runc does.
pub fn create(root: &OwnedFd, rootfs: &str, d: &DevicePlan, in_userns: bool) -> Result<()> {
    let shown = format!("{rootfs}{}", d.path);
    let (parent, name) = mounts::split_parent(&d.path);
    if in_userns {
        let target = mounts::ensure_in_root(root, &d.path, false, rootfs)?;
        return mount(
            Some(&d.path),
            &fd_path(&target),
            None,
            libc::MS_BIND,
            None,
            &shown,
        );
    }
    let pfd = mounts::mkdir_all_in_root(root, parent, rootfs)?;
    let dir = mounts::openat2(pfd.as_raw_fd(), ".", libc::O_DIRECTORY | libc::O_RDONLY, 0)
        .map_err(|e| Error::sys(format!("open {rootfs}{parent}"), e))?;
    let n = CString::new(name).map_err(|_| Error::msg("device name has a NUL byte"))?;
    // A leftover file (from the image) is replaced, never written through.
    // SAFETY: dir is open; n is NUL-terminated.
    unsafe { libc::unlinkat(dir.as_raw_fd(), n.as_ptr(), 0) };
    let dev = libc::makedev(d.major as u32, d.minor as u32);
    // SAFETY: dir is open; n is NUL-terminated.
    if unsafe { libc::mknodat(dir.as_raw_fd(), n.as_ptr(), d.file_type | d.mode, dev) } < 0 {
        return Err(Error::sys(
            format!("mknod({shown}, {}:{})", d.major, d.minor),
            Errno::last(),
        ));
    }
    // mknod applies the umask; set the exact mode the config asked for.
    // SAFETY: as above.
    if unsafe { libc::fchmodat(dir.as_raw_fd(), n.as_ptr(), d.mode, 0) } < 0 {
        return Err(Error::sys(
            format!("chmod({shown}, {:o})", d.mode),
            Errno::last(),
        ));
    }
    // SAFETY: as above; the node was just made by us, so no symlink to follow.
    if unsafe {
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
        unsafe { libc::unlinkat(dir.as_raw_fd(), n.as_ptr(), 0) };
        // SAFETY: as above.
        if unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), n.as_ptr()) } < 0 {
            return Err(Error::sys(
                format!("symlink {rootfs}/dev/{name} -> {target}"),
                Errno::last(),
            ));
        }
    }
    Ok(())
}
