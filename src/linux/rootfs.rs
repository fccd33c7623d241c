//! Building the container's filesystem view inside its mount namespace:
//! config mounts in order, then pivot_root, masked and read-only paths.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};

use libc::c_ulong;
use nix::errno::Errno;

use crate::cgroups::manager::Cgroup;
use crate::error::{Context, Error, Result};
use crate::linux::mount_options::{MOUNT_ATTR_RDONLY, flag_names};
use crate::linux::mounts::{self, fd_path, mount, open_in_root};
use crate::linux::{copyup, lsm};
use crate::spec::plan::{MountKind, MountPlan};

/// Host mounts must not see what the container mounts, and pivot_root
/// refuses shared mounts, so the whole tree becomes a slave first.
pub fn make_root_private(propagation: Option<c_ulong>) -> Result<()> {
    let flags = match propagation {
        Some(p) if p & libc::MS_SHARED == 0 => p | libc::MS_REC,
        _ => libc::MS_SLAVE | libc::MS_REC,
    };
    mount(None, "/", None, flags, None, "/")
}

/// pivot_root needs the new root to be a mount point of its own.
pub fn bind_rootfs(rootfs: &str) -> Result<()> {
    mount(
        Some(rootfs),
        rootfs,
        None,
        libc::MS_BIND | libc::MS_REC,
        None,
        rootfs,
    )
}

pub fn open_root(rootfs: &str) -> Result<OwnedFd> {
    mounts::openat2(libc::AT_FDCWD, rootfs, libc::O_PATH | libc::O_DIRECTORY, 0)
        .map_err(|e| Error::sys(format!("open rootfs {rootfs}"), e))
}

/// One config mount. `rootfs` is only for messages; all resolution goes
/// through `root`.
/// `own_cgroup`: without a cgroup namespace of its own, the container gets
/// binds of its own cgroup directories rather than the host's whole tree.
/// `container_cgroup`: the container's cgroup in any case, for when a
/// cgroup2 cannot be mounted and is bound instead.
pub fn mount_one(
    root: &OwnedFd,
    rootfs: &str,
    m: &MountPlan,
    in_userns: bool,
    own_cgroup: Option<&Cgroup>,
    container_cgroup: Option<&Cgroup>,
    mount_label: Option<&str>,
) -> Result<()> {
    let shown = format!("{rootfs}{}", m.destination);
    let is_dir = match m.kind {
        MountKind::Bind => std::fs::metadata(&m.source)
            .map_err(|e| Error::from(e).context(format!("bind source {}", m.source)))?
            .is_dir(),
        _ => true,
    };
    // procfs and sysfs only onto real directories: a symlink or a file
    // there is how CVE-2019-16884 and CVE-2023-27561 redirected them.
    let strict = matches!(m.kind, MountKind::Proc | MountKind::Sysfs);
    let target = if strict {
        check_real_dir(root, &m.typ, &m.destination, &shown)?
    } else {
        mounts::ensure_in_root(root, &m.destination, is_dir, rootfs)?
    };
    let tpath = fd_path(&target);
    let flags = m.opts.flags & !libc::MS_REMOUNT;
    match m.kind {
        MountKind::Bind => {
            let bind = libc::MS_BIND | (flags & libc::MS_REC);
            mount(Some(&m.source), &tpath, None, bind, None, &shown)?;
            let extra = flags & !(libc::MS_BIND | libc::MS_REC);
            if extra != 0 {
                let fresh = reopen(root, m, &shown)?;
                remount_bind(&fresh, extra, &shown)?;
            }
        }
        MountKind::Sysfs => {
            let data = m.opts.data_string();
            let r = mount(
                Some(&m.source),
                &tpath,
                Some("sysfs"),
                flags,
                Some(&data),
                &shown,
            );
            match r {
                // A user namespace that does not own the network namespace may
                // not mount sysfs; bind the host's read-only view instead.
                Err(e) if in_userns && e.errno() == Some(Errno::EPERM) => {
                    mount(
                        Some("/sys"),
                        &tpath,
                        None,
                        libc::MS_BIND | libc::MS_REC,
                        None,
                        &shown,
                    )?;
                    let fresh = reopen(root, m, &shown)?;
                    remount_bind(&fresh, flags | libc::MS_RDONLY, &shown)?;
                }
                r => r?,
            }
        }
        MountKind::Cgroup => mount_cgroupfs(
            root,
            rootfs,
            m,
            &target,
            &shown,
            own_cgroup,
            container_cgroup,
        )?,
        MountKind::Proc | MountKind::Other => {
            let data = lsm::mount_data(&m.opts.data_string(), &m.typ, mount_label);
            // tmpcopyup: keep a handle on what the mount will cover, and
            // mount writable until the copy is in.
            let under = if m.opts.tmpcopyup {
                Some(
                    mounts::openat2(
                        target.as_raw_fd(),
                        ".",
                        libc::O_RDONLY | libc::O_DIRECTORY,
                        0,
                    )
                    .map_err(|e| Error::sys(format!("open {shown}"), e))?,
                )
            } else {
                None
            };
            let mflags = if under.is_some() {
                flags & !libc::MS_RDONLY
            } else {
                flags
            };
            mount(
                Some(&m.source),
                &tpath,
                Some(&m.typ),
                mflags,
                Some(&data),
                &shown,
            )?;
            if let Some(src) = under {
                let fresh = reopen(root, m, &shown)?;
                let dst = mounts::openat2(
                    fresh.as_raw_fd(),
                    ".",
                    libc::O_RDONLY | libc::O_DIRECTORY,
                    0,
                )
                .map_err(|e| Error::sys(format!("open {shown}"), e))?;
                copyup::copy_tree(&src, &dst)
                    .map_err(|e| e.context(format!("tmpcopyup into {shown}")))?;
                if flags & libc::MS_RDONLY != 0 {
                    mounts::mount_setattr(fresh.as_raw_fd(), false, MOUNT_ATTR_RDONLY, 0, &shown)?;
                }
            }
        }
    }
    if !m.opts.propagation.is_empty() || m.opts.has_recursive_attrs() {
        let fresh = reopen(root, m, &shown)?;
        for p in &m.opts.propagation {
            mount(None, &fd_path(&fresh), None, *p, None, &shown)?;
        }
        if m.opts.has_recursive_attrs() {
            mounts::mount_setattr(
                fresh.as_raw_fd(),
                true,
                m.opts.attr_set,
                m.opts.attr_clr,
                &shown,
            )?;
        }
    }
    Ok(())
}

fn check_real_dir(root: &OwnedFd, fs: &str, dest: &str, shown: &str) -> Result<OwnedFd> {
    match open_in_root(root, dest, mounts::RESOLVE_NO_SYMLINKS) {
        Ok(fd) => {
            let st = mounts::fstat(&fd).map_err(|e| Error::sys(format!("stat {shown}"), e))?;
            if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
                return Err(Error::msg(format!(
                    "filesystem {fs:?} must be mounted on ordinary directory: {shown} is not a directory"
                )));
            }
            Ok(fd)
        }
        // runc's words, which callers match on.
        Err(Errno::ELOOP) | Err(Errno::EXDEV) => Err(Error::msg(format!(
            "filesystem {fs:?} must be mounted on ordinary directory: {shown} is or passes through a symlink"
        ))),
        Err(Errno::ENOENT) => {
            let root_s = shown.strip_suffix(dest).unwrap_or(shown);
            mounts::mkdir_all_in_root(root, dest, root_s)
        }
        Err(e) => Err(Error::sys(format!("open {shown}"), e)),
    }
}

/// After a mount, the old fd still points below it; look the path up again
/// to act on the new mount.
fn reopen(root: &OwnedFd, m: &MountPlan, shown: &str) -> Result<OwnedFd> {
    open_in_root(root, &m.destination, 0).map_err(|e| Error::sys(format!("reopen {shown}"), e))
}

/// A bind mount takes its flags only on a second, remounting call. Flags
/// inherited from a more privileged namespace are locked and must be kept.
pub fn remount_bind(fd: &OwnedFd, flags: c_ulong, shown: &str) -> Result<()> {
    let base = libc::MS_BIND | libc::MS_REMOUNT;
    let path = fd_path(fd);
    match mount(None, &path, None, base | flags, None, shown) {
        Err(e) if e.errno() == Some(Errno::EPERM) => {
            let locked = mounts::locked_flags(fd);
            mount(None, &path, None, base | flags | locked, None, shown)
        }
        r => r,
    }
}

/// /sys/fs/cgroup inside the container. On a unified host that is one
/// cgroup2 mount. On hybrid and legacy hosts it is a tmpfs holding one
/// cgroup v1 mount per v1 hierarchy the host has.
fn mount_cgroupfs(
    root: &OwnedFd,
    rootfs: &str,
    m: &MountPlan,
    target: &OwnedFd,
    shown: &str,
    own_cgroup: Option<&Cgroup>,
    container_cgroup: Option<&Cgroup>,
) -> Result<()> {
    let flags = m.opts.flags
        & (libc::MS_RDONLY
            | libc::MS_NOSUID
            | libc::MS_NODEV
            | libc::MS_NOEXEC
            | libc::MS_RELATIME);
    let host = host_cgroup_mounts()?;
    let tpath = fd_path(target);
    // The container's own directory in the hierarchy mounted at `mp`.
    let dir_in = |cg: Option<&Cgroup>, mp: &str| {
        cg.and_then(|cg| {
            cg.dirs
                .iter()
                .find(|d| d.path.parent().is_some() && d.path.starts_with(mp))
                .map(|d| d.path.to_string_lossy().into_owned())
        })
    };
    let own_dir = |mp: &str| dir_in(own_cgroup, mp);
    let bind = |dir: &str, path: &str, dest: &str, shown: &str| {
        mount(Some(dir), path, None, libc::MS_BIND, None, shown)?;
        let fd =
            open_in_root(root, dest, 0).map_err(|e| Error::sys(format!("reopen {shown}"), e))?;
        remount_bind(&fd, flags, shown)
    };
    // `dest` is the container path, to look the new mount up again after a
    // bind (the old fd points below it).
    let mount_hierarchy = |path: &str,
                           dest: &str,
                           ty: &str,
                           data: &str,
                           own: Option<String>,
                           shown: &str| match own {
        Some(dir) => bind(&dir, path, dest, shown),
        None => mount(Some(ty), path, Some(ty), flags, Some(data), shown),
    };
    if host
        .iter()
        .any(|h| h.mount_point == "/sys/fs/cgroup" && h.fstype == "cgroup2")
    {
        let r = mount_hierarchy(
            &tpath,
            &m.destination,
            "cgroup2",
            "",
            own_dir("/sys/fs/cgroup"),
            shown,
        );
        return match r {
            // The same cgroup2 already mounted there (a config with two
            // cgroup mounts, as runc spec's plus one more) is EBUSY, and
            // a user namespace without its own cgroup namespace may not
            // mount it (EPERM). runc binds the container's cgroup (or the
            // host's tree) instead; so does husk.
            Err(e) if matches!(e.errno(), Some(Errno::EBUSY | Errno::EPERM)) => {
                let dir = dir_in(container_cgroup, "/sys/fs/cgroup")
                    .unwrap_or_else(|| "/sys/fs/cgroup".into());
                bind(&dir, &tpath, &m.destination, shown)
            }
            r => r,
        };
    }
    mount(
        Some("tmpfs"),
        &tpath,
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        Some("mode=755"),
        shown,
    )?;
    // The tmpfs is fresh and only husk writes to it: nothing on the way can
    // be a symlink, so each hierarchy's directory is one mkdirat and one
    // open from here, not a walk from the container's root.
    let base = open_in_root(root, &m.destination, 0)
        .map_err(|e| Error::sys(format!("reopen {shown}"), e))?;
    for h in &host {
        let Some(name) = h.mount_point.strip_prefix("/sys/fs/cgroup/") else {
            continue;
        };
        if name.contains('/') {
            continue;
        }
        let dest = format!("{}/{name}", m.destination.trim_end_matches('/'));
        let sub_shown = format!("{rootfs}{dest}");
        let sub =
            mkdir_open(&base, name).map_err(|e| Error::sys(format!("mkdir {sub_shown}"), e))?;
        // A hybrid host's cgroup2 at /sys/fs/cgroup/unified stays out, as
        // runc leaves it out: the container sees the v1 hierarchies only.
        if h.fstype == "cgroup2" {
            continue;
        }
        let (ty, data) = ("cgroup", h.controllers.clone());
        mount_hierarchy(
            &fd_path(&sub),
            &dest,
            ty,
            &data,
            own_dir(&h.mount_point),
            &sub_shown,
        )?;
    }
    // The tmpfs itself stays writable, as in runc: "ro" applies to each
    // hierarchy (above), and the tmpfs is the container's own.
    Ok(())
}

/// mkdir `name` in `dir` and open it (O_PATH), refusing a symlink.
fn mkdir_open(dir: &OwnedFd, name: &str) -> Result<OwnedFd, Errno> {
    let c = std::ffi::CString::new(name).map_err(|_| Errno::EINVAL)?;
    // SAFETY: dir is an open directory fd; c is NUL-terminated.
    if unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), 0o755) } < 0 {
        return Err(Errno::last());
    }
    mounts::openat2(
        dir.as_raw_fd(),
        name,
        libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
        mounts::RESOLVE_NO_SYMLINKS | mounts::RESOLVE_NO_MAGICLINKS,
    )
}

struct HostCgroup {
    mount_point: String,
    fstype: String,
    /// The v1 superblock options naming the hierarchy ("cpu,cpuacct",
    /// "name=systemd").
    controllers: String,
}

fn host_cgroup_mounts() -> Result<Vec<HostCgroup>> {
    let text = crate::linux::proc::mountinfo()?;
    Ok(text.lines().filter_map(parse_cgroup_mountinfo).collect())
}

fn parse_cgroup_mountinfo(line: &str) -> Option<HostCgroup> {
    let (left, right) = line.split_once(" - ")?;
    let mount_point = left.split(' ').nth(4)?.to_string();
    let mut r = right.split(' ');
    let fstype = r.next()?.to_string();
    if fstype != "cgroup" && fstype != "cgroup2" {
        return None;
    }
    let _source = r.next()?;
    let super_opts = r.next().unwrap_or("");
    let controllers = super_opts
        .split(',')
        .filter(|o| {
            !matches!(*o, "rw" | "ro")
                && !o.starts_with("release_agent")
                && *o != "clone_children"
                && *o != "noprefix"
                && *o != "xattr"
                && *o != "nsdelegate"
                && *o != "memory_recursiveprot"
        })
        .collect::<Vec<_>>()
        .join(",");
    Some(HostCgroup {
        mount_point,
        fstype,
        controllers,
    })
}

/// Swap the root: after this, the host's filesystem is out of reach.
pub fn pivot_root(rootfs: &str) -> Result<()> {
    // The old root, held open so we can act on it after the swap.
    let old = mounts::openat2(libc::AT_FDCWD, "/", libc::O_DIRECTORY | libc::O_RDONLY, 0)
        .map_err(|e| Error::sys("open /", e))?;
    let c = CString::new(rootfs).map_err(|_| Error::msg("rootfs path has a NUL byte"))?;
    // SAFETY: NUL-terminated path.
    if unsafe { libc::chdir(c.as_ptr()) } < 0 {
        return Err(Error::sys(format!("chdir({rootfs})"), Errno::last()));
    }
    // pivot_root(".", ".") stacks the old root on top of the new one, so no
    // put_old directory is needed inside the rootfs.
    // SAFETY: literal paths.
    if unsafe { libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) } < 0 {
        return Err(Error::sys(format!("pivot_root({rootfs})"), Errno::last()));
    }
    // "." is now the new root, under the old one: step onto the old root
    // itself, or the propagation change below would hit the container's
    // own mounts and undo options such as "rshared".
    // SAFETY: old is an open directory fd.
    if unsafe { libc::fchdir(old.as_raw_fd()) } < 0 {
        return Err(Error::sys("fchdir(old root)", Errno::last()));
    }
    // Unmounting the old root must not propagate back to the host.
    mount(
        None,
        ".",
        None,
        libc::MS_SLAVE | libc::MS_REC,
        None,
        "old root",
    )?;
    // SAFETY: literal path.
    if unsafe { libc::umount2(c".".as_ptr(), libc::MNT_DETACH) } < 0 {
        return Err(Error::sys("umount2(old root, MNT_DETACH)", Errno::last()));
    }
    chdir_root()
}

/// --no-pivot: move the rootfs over / and chroot. Weaker (the old root is
/// still reachable with enough privilege), but works on a ramfs root.
pub fn move_root(rootfs: &str) -> Result<()> {
    let c = CString::new(rootfs).map_err(|_| Error::msg("rootfs path has a NUL byte"))?;
    // SAFETY: NUL-terminated path.
    if unsafe { libc::chdir(c.as_ptr()) } < 0 {
        return Err(Error::sys(format!("chdir({rootfs})"), Errno::last()));
    }
    mount(Some(rootfs), "/", None, libc::MS_MOVE, None, "/")?;
    // SAFETY: literal path.
    if unsafe { libc::chroot(c".".as_ptr()) } < 0 {
        return Err(Error::sys(format!("chroot({rootfs})"), Errno::last()));
    }
    chdir_root()
}

fn chdir_root() -> Result<()> {
    // SAFETY: literal path.
    if unsafe { libc::chdir(c"/".as_ptr()) } < 0 {
        return Err(Error::sys("chdir(/)", Errno::last()));
    }
    Ok(())
}

fn open_nofollow(path: &str) -> Result<Option<OwnedFd>> {
    open_path(path, libc::O_NOFOLLOW)
}

/// maskedPaths and readonlyPaths, after pivot_root: a symlink is followed
/// inside the container, as runc's mount(2) on the path follows it (the
/// target is what gets masked; one that loops is an error). No magic links:
/// /proc/self/... must not lead out.
fn open_following(path: &str) -> Result<Option<OwnedFd>> {
    open_path(path, 0)
}

fn open_path(path: &str, flags: i32) -> Result<Option<OwnedFd>> {
    match mounts::openat2(
        libc::AT_FDCWD,
        path,
        libc::O_PATH | flags,
        mounts::RESOLVE_NO_MAGICLINKS,
    ) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(Error::sys(format!("open {path}"), e)),
    }
}

/// maskedPaths: an empty read-only tmpfs over directories, /dev/null over
/// everything else. Done with fds and the new mount API, so it needs no
/// /proc inside the container. Returns how many paths existed.
pub fn mask_paths(paths: &[String]) -> Result<usize> {
    if paths.is_empty() {
        return Ok(0);
    }
    let null = open_nofollow("/dev/null")?
        .ok_or_else(|| Error::msg("/dev/null is missing in the container"))?;
    let st = mounts::fstat(&null).map_err(|e| Error::sys("stat /dev/null", e))?;
    // CVE-2025-31133: a /dev/null swapped for a symlink or a regular file
    // would turn masking into a bind of something the attacker chose.
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR || st.st_rdev != libc::makedev(1, 3) {
        return Err(Error::msg(
            "/dev/null in the container is not the 1:3 character device; refusing to mask with it",
        ));
    }
    let mut n = 0;
    for p in paths {
        let Some(target) = open_following(p).with_context(|| format!("can't mask path {p}"))?
        else {
            continue;
        };
        let st = mounts::fstat(&target).map_err(|e| Error::sys(format!("stat {p}"), e))?;
        let tree = if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
            mounts::new_tmpfs(MOUNT_ATTR_RDONLY)?
        } else {
            mounts::clone_tree(&null, false, "/dev/null")?
        };
        mounts::attach(&tree, &target, p).with_context(|| format!("mask {p}"))?;
        n += 1;
    }
    Ok(n)
}

/// readonlyPaths: a read-only bind of each path onto itself.
pub fn readonly_paths(paths: &[String]) -> Result<usize> {
    let mut n = 0;
    for p in paths {
        let Some(target) = open_following(p)? else {
            continue;
        };
        let tree = mounts::clone_tree(&target, true, p)?;
        mounts::mount_setattr(tree.as_raw_fd(), true, MOUNT_ATTR_RDONLY, 0, p)?;
        mounts::attach(&tree, &target, p).with_context(|| format!("make {p} read-only"))?;
        n += 1;
    }
    Ok(n)
}

/// root.readonly: only the root mount itself, as runc does.
pub fn readonly_root() -> Result<()> {
    let root = mounts::openat2(libc::AT_FDCWD, "/", libc::O_PATH | libc::O_DIRECTORY, 0)
        .map_err(|e| Error::sys("open /", e))?;
    mounts::mount_setattr(root.as_raw_fd(), false, MOUNT_ATTR_RDONLY, 0, "/")
}

pub fn set_root_propagation(p: c_ulong) -> Result<()> {
    mount(None, "/", None, p, None, "/")
        .with_context(|| format!("rootfsPropagation {}", flag_names(p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_cgroup_lines() {
        let v1 = "35 26 0:30 / /sys/fs/cgroup/cpu rw,relatime shared:12 - cgroup cgroup rw,cpu";
        let h = parse_cgroup_mountinfo(v1).unwrap();
        assert_eq!(
            (
                h.mount_point.as_str(),
                h.fstype.as_str(),
                h.controllers.as_str()
            ),
            ("/sys/fs/cgroup/cpu", "cgroup", "cpu")
        );
        let sd = "40 26 0:35 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd";
        assert_eq!(
            parse_cgroup_mountinfo(sd).unwrap().controllers,
            "name=systemd"
        );
        let v2 =
            "41 26 0:36 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot";
        assert_eq!(parse_cgroup_mountinfo(v2).unwrap().controllers, "");
        assert!(parse_cgroup_mountinfo("22 1 0:21 / /proc rw - proc proc rw").is_none());
    }
}
