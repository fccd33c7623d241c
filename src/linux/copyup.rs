//! `tmpcopyup` (a runc extension podman uses for --read-only and --tmpfs):
//! a new tmpfs starts with a copy of what the directory under it held.
//! Everything is done through directory fds, never by path, so nothing in
//! the image can redirect the copy.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

use crate::error::{Error, Result};

fn open_at(dir: RawFd, name: &CStr, flags: i32, mode: u32) -> Result<OwnedFd> {
    // SAFETY: dir is open; name is NUL-terminated.
    let fd = unsafe {
        libc::openat(
            dir,
            name.as_ptr(),
            flags | libc::O_CLOEXEC | libc::O_NOFOLLOW,
            mode,
        )
    };
    if fd < 0 {
        return Err(Error::sys(
            format!("openat({})", name.to_string_lossy()),
            Errno::last(),
        ));
    }
    // SAFETY: fresh fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn stat_at(dir: RawFd, name: &CStr) -> Result<libc::stat> {
    // SAFETY: st is filled in by the kernel.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: dir is open; name is NUL-terminated.
    if unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) } < 0 {
        return Err(Error::sys(
            format!("stat {}", name.to_string_lossy()),
            Errno::last(),
        ));
    }
    Ok(st)
}

fn names(dir: RawFd) -> Result<Vec<CString>> {
    // A second fd: fdopendir takes ownership and moves the offset.
    // SAFETY: dup of an open fd.
    let d = unsafe { libc::fcntl(dir, libc::F_DUPFD_CLOEXEC, 3) };
    if d < 0 {
        return Err(Error::sys("dup directory fd", Errno::last()));
    }
    // SAFETY: d is a fresh directory fd; closedir closes it.
    let dp = unsafe { libc::fdopendir(d) };
    if dp.is_null() {
        // SAFETY: d is still ours when fdopendir fails.
        unsafe { libc::close(d) };
        return Err(Error::sys("fdopendir", Errno::last()));
    }
    let mut out = Vec::new();
    loop {
        // SAFETY: dp is an open DIR*.
        let e = unsafe { libc::readdir(dp) };
        if e.is_null() {
            break;
        }
        // SAFETY: d_name is NUL-terminated within the dirent.
        let n = unsafe { CStr::from_ptr((*e).d_name.as_ptr()) };
        if n.to_bytes() != b"." && n.to_bytes() != b".." {
            out.push(n.to_owned());
        }
    }
    // SAFETY: dp came from fdopendir.
    unsafe { libc::closedir(dp) };
    Ok(out)
}

/// Copy the contents of directory `src` into directory `dst`, keeping
/// modes and owners.
pub fn copy_tree(src: &OwnedFd, dst: &OwnedFd) -> Result<()> {
    for name in names(src.as_raw_fd())? {
        let st = stat_at(src.as_raw_fd(), &name)?;
        let mode = st.st_mode & 0o7777;
        match st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => {
                // SAFETY: dst is open; name is NUL-terminated.
                if unsafe { libc::mkdirat(dst.as_raw_fd(), name.as_ptr(), mode) } < 0 {
                    return Err(Error::sys(
                        format!("mkdir {}", name.to_string_lossy()),
                        Errno::last(),
                    ));
                }
                let s = open_at(
                    src.as_raw_fd(),
                    &name,
                    libc::O_RDONLY | libc::O_DIRECTORY,
                    0,
                )?;
                let d = open_at(
                    dst.as_raw_fd(),
                    &name,
                    libc::O_RDONLY | libc::O_DIRECTORY,
                    0,
                )?;
                copy_tree(&s, &d)?;
            }
            libc::S_IFREG => {
                let s = open_at(src.as_raw_fd(), &name, libc::O_RDONLY, 0)?;
                let d = open_at(
                    dst.as_raw_fd(),
                    &name,
                    libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
                    mode,
                )?;
                let mut left = st.st_size as usize;
                while left > 0 {
                    // SAFETY: both fds are open.
                    let n = unsafe {
                        libc::sendfile(d.as_raw_fd(), s.as_raw_fd(), std::ptr::null_mut(), left)
                    };
                    if n <= 0 {
                        return Err(Error::sys(
                            format!("copy {}", name.to_string_lossy()),
                            Errno::last(),
                        ));
                    }
                    left -= n as usize;
                }
                // SAFETY: d is open; the umask must not trim the mode.
                unsafe { libc::fchmod(d.as_raw_fd(), mode) };
            }
            libc::S_IFLNK => {
                let mut buf = vec![0u8; libc::PATH_MAX as usize];
                // SAFETY: buf is valid for its length.
                let n = unsafe {
                    libc::readlinkat(
                        src.as_raw_fd(),
                        name.as_ptr(),
                        buf.as_mut_ptr().cast(),
                        buf.len(),
                    )
                };
                if n < 0 {
                    return Err(Error::sys(
                        format!("readlink {}", name.to_string_lossy()),
                        Errno::last(),
                    ));
                }
                buf.truncate(n as usize);
                let target =
                    CString::new(buf).map_err(|_| Error::msg("symlink target has a NUL byte"))?;
                // SAFETY: dst is open; both strings are NUL-terminated.
                if unsafe { libc::symlinkat(target.as_ptr(), dst.as_raw_fd(), name.as_ptr()) } < 0 {
                    return Err(Error::sys(
                        format!("symlink {}", name.to_string_lossy()),
                        Errno::last(),
                    ));
                }
            }
            _ => {
                // SAFETY: dst is open; recreating a device node or fifo.
                if unsafe { libc::mknodat(dst.as_raw_fd(), name.as_ptr(), st.st_mode, st.st_rdev) }
                    < 0
                {
                    return Err(Error::sys(
                        format!("mknod {}", name.to_string_lossy()),
                        Errno::last(),
                    ));
                }
            }
        }
        // SAFETY: dst is open; the entry was just made by us.
        unsafe {
            libc::fchownat(
                dst.as_raw_fd(),
                name.as_ptr(),
                st.st_uid,
                st.st_gid,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
    }
    // The tmpfs root keeps what its mount options say (mode=...), as runc.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_dir(p: &std::path::Path) -> OwnedFd {
        let c = CString::new(p.to_str().unwrap()).unwrap();
        open_at(libc::AT_FDCWD, &c, libc::O_RDONLY | libc::O_DIRECTORY, 0).unwrap()
    }

    #[test]
    fn copies_files_dirs_links_and_modes() {
        use std::os::unix::fs::PermissionsExt;
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        std::fs::create_dir(src.path().join("sub")).unwrap();
        std::fs::write(src.path().join("sub/f"), b"hello").unwrap();
        std::fs::set_permissions(
            src.path().join("sub/f"),
            std::fs::Permissions::from_mode(0o640),
        )
        .unwrap();
        std::os::unix::fs::symlink("sub/f", src.path().join("l")).unwrap();
        copy_tree(&open_dir(src.path()), &open_dir(dst.path())).unwrap();
        assert_eq!(std::fs::read(dst.path().join("sub/f")).unwrap(), b"hello");
        let m = std::fs::metadata(dst.path().join("sub/f"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(m, 0o640);
        assert_eq!(
            std::fs::read_link(dst.path().join("l")).unwrap().to_str(),
            Some("sub/f")
        );
    }
}
