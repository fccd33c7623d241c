//! Thin wrappers over the mount syscalls, and resolution of paths *inside*
//! the container's root so that a symlink in the rootfs can never send a
//! mount (or a mknod) outside it.
//!
//! The pattern: resolve with openat2(RESOLVE_IN_ROOT) to an O_PATH fd, then
//! act on the fd ("/proc/self/fd/N" for mount(2), or the fd itself for the
//! new mount API). Nothing is resolved again by path after the check, which
//! is what CVE-2021-30465 exploited.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use libc::c_ulong;
use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::linux::mount_options::{MOUNT_ATTR_RDONLY, flag_names};

fn cstr(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::msg(format!("path {s:?} contains a NUL byte")))
}

/// mount(2). `shown_target` is what the error names (the fd path means
/// nothing to a reader).
pub fn mount(
    source: Option<&str>,
    target: &str,
    fstype: Option<&str>,
    flags: c_ulong,
    data: Option<&str>,
    shown_target: &str,
) -> Result<()> {
    let src = source.map(cstr).transpose()?;
    let tgt = cstr(target)?;
    let ty = fstype.map(cstr).transpose()?;
    let dat = data.filter(|d| !d.is_empty()).map(cstr).transpose()?;
    // SAFETY: all pointers are NUL-terminated strings that outlive the call,
    // or null where mount(2) allows it.
    let r = unsafe {
        libc::mount(
            src.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            tgt.as_ptr(),
            ty.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            flags,
            dat.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()) as *const libc::c_void,
        )
    };
    if r < 0 {
        return Err(Error::sys(
            format!(
                "mount({}, {shown_target}, type={}, flags={}, data={:?})",
                source.unwrap_or("none"),
                fstype.unwrap_or("none"),
                flag_names(flags),
                data.unwrap_or("")
            ),
            Errno::last(),
        ));
    }
    Ok(())
}

pub fn fd_path(fd: &OwnedFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_IN_ROOT: u64 = 0x10;

pub fn openat2(dirfd: RawFd, path: &str, flags: i32, resolve: u64) -> Result<OwnedFd, Errno> {
    let p = CString::new(path).map_err(|_| Errno::EINVAL)?;
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve,
    };
    // SAFETY: how is a valid open_how of the size we pass; p is NUL-terminated.
    let r = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dirfd,
            p.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if r < 0 {
        return Err(Errno::last());
    }
    // SAFETY: the kernel returned a fresh fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
}

/// Open `rel` (an absolute container path) as O_PATH inside `root`.
pub fn open_in_root(root: &OwnedFd, rel: &str, extra_resolve: u64) -> Result<OwnedFd, Errno> {
    let rel = rel.trim_start_matches('/');
    let rel = if rel.is_empty() { "." } else { rel };
    openat2(
        root.as_raw_fd(),
        rel,
        libc::O_PATH,
        RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra_resolve,
    )
}

/// `mkdir -p` inside the root, each step resolved in the root; returns an
/// O_PATH fd of the final directory. A dangling symlink on the way is
/// followed (inside the root) and its target created, as runc does.
pub fn mkdir_all_in_root(root: &OwnedFd, path: &str, shown_root: &str) -> Result<OwnedFd> {
    let mut todo: Vec<String> = path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .rev()
        .map(String::from)
        .collect();
    let mut cur =
        open_in_root(root, "/", 0).map_err(|e| Error::sys(format!("open {shown_root}"), e))?;
    let mut prefix = String::new();
    let mut links = 0;
    while let Some(c) = todo.pop() {
        let next = format!("{prefix}/{c}");
        match open_in_root(root, &next, 0) {
            Ok(fd) => {
                cur = fd;
                prefix = next;
                continue;
            }
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(Error::sys(format!("open {shown_root}{next}"), e)),
        }
        let name = cstr(&c)?;
        // SAFETY: cur is an open directory fd; name is NUL-terminated.
        let r = unsafe { libc::mkdirat(cur.as_raw_fd(), name.as_ptr(), 0o755) };
        if r == 0 {
            cur = open_in_root(root, &next, 0)
                .map_err(|e| Error::sys(format!("open {shown_root}{next} after mkdir"), e))?;
            prefix = next;
            continue;
        }
        if Errno::last() != Errno::EEXIST {
            return Err(Error::sys(
                format!("mkdir {shown_root}{next}"),
                Errno::last(),
            ));
        }
        // It exists but cannot be opened: a dangling symlink.
        let target = readlink_at(&cur, &name)
            .map_err(|e| Error::sys(format!("readlink {shown_root}{next}"), e))?;
        links += 1;
        if links > 40 {
            return Err(Error::sys(
                format!("mkdir {shown_root}{path}"),
                Errno::ELOOP,
            ));
        }
        for t in target
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .rev()
        {
            todo.push(t.to_string());
        }
        if target.starts_with('/') {
            prefix.clear();
            cur = open_in_root(root, "/", 0)
                .map_err(|e| Error::sys(format!("open {shown_root}"), e))?;
        }
    }
    Ok(cur)
}

fn readlink_at(dir: &OwnedFd, name: &CString) -> Result<String, Errno> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: buf is valid for its length; name is NUL-terminated.
    let n = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(Errno::last());
    }
    buf.truncate(n as usize);
    String::from_utf8(buf).map_err(|_| Errno::EINVAL)
}

/// Split "/a/b/c" into ("/a/b", "c").
pub fn split_parent(path: &str) -> (&str, &str) {
    let t = path.trim_end_matches('/');
    match t.rfind('/') {
        Some(i) => (&t[..i], &t[i + 1..]),
        None => ("", t),
    }
}

/// Make sure `path` exists in the root as a directory or as an empty file,
/// and return an O_PATH fd to it.
pub fn ensure_in_root(root: &OwnedFd, path: &str, dir: bool, shown_root: &str) -> Result<OwnedFd> {
    match open_in_root(root, path, 0) {
        Ok(fd) => return Ok(fd),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(Error::sys(format!("open {shown_root}{path}"), e)),
    }
    if dir {
        return mkdir_all_in_root(root, path, shown_root);
    }
    let (parent, name) = split_parent(path);
    let pfd = mkdir_all_in_root(root, parent, shown_root)?;
    // O_PATH fds cannot be used as a base for O_CREAT, so reopen the parent.
    let pdir = openat2(pfd.as_raw_fd(), ".", libc::O_DIRECTORY | libc::O_RDONLY, 0)
        .map_err(|e| Error::sys(format!("open {shown_root}{parent}"), e))?;
    let n = cstr(name)?;
    // SAFETY: pdir is an open directory; n is NUL-terminated.
    let r = unsafe {
        libc::openat(
            pdir.as_raw_fd(),
            n.as_ptr(),
            libc::O_CREAT | libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0o644,
        )
    };
    if r < 0 && Errno::last() != Errno::EEXIST {
        return Err(Error::sys(
            format!("create {shown_root}{path}"),
            Errno::last(),
        ));
    }
    if r >= 0 {
        // SAFETY: r is a fresh fd we own.
        drop(unsafe { OwnedFd::from_raw_fd(r) });
    }
    open_in_root(root, path, 0).map_err(|e| Error::sys(format!("open {shown_root}{path}"), e))
}

pub fn fstat(fd: &OwnedFd) -> Result<libc::stat, Errno> {
    // SAFETY: st is plain data the kernel fills in.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let empty = c"";
    // SAFETY: fd is open; AT_EMPTY_PATH makes the empty path mean the fd.
    let r = unsafe { libc::fstatat(fd.as_raw_fd(), empty.as_ptr(), &mut st, libc::AT_EMPTY_PATH) };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(st)
}

/// The mount flags a remount must keep: once a less privileged mount
/// namespace inherits nosuid/nodev/noexec/ro/atime settings, they are
/// locked, and a remount that leaves them out fails with EPERM.
pub fn locked_flags(fd: &OwnedFd) -> c_ulong {
    // SAFETY: buf is plain data filled by the kernel.
    let mut buf: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: fd is open.
    if unsafe { libc::fstatvfs(fd.as_raw_fd(), &mut buf) } < 0 {
        return 0;
    }
    let f = buf.f_flag;
    let mut out = 0;
    for (st, ms) in [
        (libc::ST_RDONLY, libc::MS_RDONLY),
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ] {
        if f & st != 0 {
            out |= ms;
        }
    }
    out
}

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

pub const AT_RECURSIVE: u32 = 0x8000;

/// mount_setattr(2) on the mount at `fd` (and below it when recursive).
pub fn mount_setattr(fd: RawFd, recursive: bool, set: u64, clr: u64, shown: &str) -> Result<()> {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation: 0,
        userns_fd: 0,
    };
    let mut flags = libc::AT_EMPTY_PATH as u32;
    if recursive {
        flags |= AT_RECURSIVE;
    }
    // SAFETY: attr is a valid mount_attr of the size passed; the empty path
    // with AT_EMPTY_PATH means the fd itself.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd,
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r < 0 {
        return Err(Error::sys(
            format!("mount_setattr({shown}, set={set:#x}, clear={clr:#x}, recursive={recursive})"),
            Errno::last(),
        ));
    }
    Ok(())
}

const OPEN_TREE_CLONE: u32 = 1;
const MOVE_MOUNT_F_EMPTY_PATH: u32 = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH: u32 = 0x40;

/// open_tree(OPEN_TREE_CLONE): a detached copy of the mount at `fd`, the
/// fd-based equivalent of a bind mount's source.
pub fn clone_tree(fd: &OwnedFd, recursive: bool, shown: &str) -> Result<OwnedFd> {
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as u32 | libc::AT_EMPTY_PATH as u32;
    if recursive {
        flags |= AT_RECURSIVE;
    }
    // SAFETY: fd is open; empty path with AT_EMPTY_PATH refers to it.
    let r = unsafe { libc::syscall(libc::SYS_open_tree, fd.as_raw_fd(), c"".as_ptr(), flags) };
    if r < 0 {
        return Err(Error::sys(
            format!("open_tree({shown}, OPEN_TREE_CLONE)"),
            Errno::last(),
        ));
    }
    // SAFETY: fresh fd from the kernel.
    Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
}

/// move_mount(2) a detached tree onto the location `target` refers to.
pub fn attach(tree: &OwnedFd, target: &OwnedFd, shown: &str) -> Result<()> {
    // SAFETY: both fds are open; empty paths with the EMPTY_PATH flags refer
    // to the fds themselves.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            target.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    if r < 0 {
        return Err(Error::sys(
            format!("move_mount(onto {shown})"),
            Errno::last(),
        ));
    }
    Ok(())
}

const FSOPEN_CLOEXEC: u32 = 1;
const FSMOUNT_CLOEXEC: u32 = 1;

/// A fresh, detached tmpfs (fsopen/fsmount) with the given attributes.
pub fn new_tmpfs(attrs: u64) -> Result<OwnedFd> {
    // SAFETY: the name is a NUL-terminated literal.
    let fs = unsafe { libc::syscall(libc::SYS_fsopen, c"tmpfs".as_ptr(), FSOPEN_CLOEXEC) };
    if fs < 0 {
        return Err(Error::sys("fsopen(tmpfs)", Errno::last()));
    }
    // SAFETY: fresh fd.
    let fs = unsafe { OwnedFd::from_raw_fd(fs as RawFd) };
    // What runc's mount("tmpfs", dir, "tmpfs", MS_RDONLY) makes, so that the
    // mount table reads the same: source "tmpfs", a read-only superblock.
    const FSCONFIG_SET_FLAG: u32 = 0;
    const FSCONFIG_SET_STRING: u32 = 1;
    let config = |cmd: u32, key: &std::ffi::CStr, value: Option<&std::ffi::CStr>| {
        // SAFETY: key and value are NUL-terminated; SET_FLAG takes no value.
        let r = unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                fs.as_raw_fd(),
                cmd,
                key.as_ptr(),
                value.map_or(std::ptr::null(), |v| v.as_ptr()),
                0,
            )
        };
        if r < 0 {
            return Err(Error::sys(
                format!("fsconfig(tmpfs, {})", key.to_string_lossy()),
                Errno::last(),
            ));
        }
        Ok(())
    };
    config(FSCONFIG_SET_STRING, c"source", Some(c"tmpfs"))?;
    if attrs & MOUNT_ATTR_RDONLY != 0 {
        config(FSCONFIG_SET_FLAG, c"ro", None)?;
    }
    const FSCONFIG_CMD_CREATE: u32 = 6;
    // SAFETY: the CREATE command takes no key or value.
    let r = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    };
    if r < 0 {
        return Err(Error::sys(
            "fsconfig(tmpfs, FSCONFIG_CMD_CREATE)",
            Errno::last(),
        ));
    }
    // SAFETY: fs is a configured filesystem context.
    let m = unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, attrs) };
    if m < 0 {
        return Err(Error::sys("fsmount(tmpfs)", Errno::last()));
    }
    // SAFETY: fresh fd.
    Ok(unsafe { OwnedFd::from_raw_fd(m as RawFd) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split() {
        assert_eq!(split_parent("/dev/null"), ("/dev", "null"));
        assert_eq!(split_parent("/x"), ("", "x"));
        assert_eq!(split_parent("/a/b/"), ("/a", "b"));
    }

    #[test]
    fn resolution_stays_in_root() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc", dir.path().join("escape")).unwrap();
        std::os::unix::fs::symlink("../../..", dir.path().join("up")).unwrap();
        let root = openat2(
            libc::AT_FDCWD,
            dir.path().to_str().unwrap(),
            libc::O_PATH,
            0,
        )
        .unwrap();
        // "/escape/passwd" would be the host's /etc/passwd if followed naively.
        assert_eq!(
            open_in_root(&root, "/escape/passwd", 0).unwrap_err(),
            Errno::ENOENT
        );
        // mkdir -p through the symlink lands inside the root.
        mkdir_all_in_root(&root, "/escape/husk-test-dir", "root").unwrap();
        assert!(dir.path().join("etc/husk-test-dir").is_dir());
        assert!(!std::path::Path::new("/etc/husk-test-dir").exists());
        // ".." cannot climb out either.
        mkdir_all_in_root(&root, "/up/inside", "root").unwrap();
        assert!(dir.path().join("inside").is_dir());
        ensure_in_root(&root, "/f/file", false, "root").unwrap();
        assert!(dir.path().join("f/file").is_file());
    }
}
