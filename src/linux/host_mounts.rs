//! A container without a mount namespace of its own (the config lists no
//! `mount` namespace, so it inherits husk's, the caller's): its mounts are
//! made in the caller's mount namespace, under the rootfs, as runc makes
//! them, and the init chroots into the rootfs (pivot_root needs a mount
//! namespace of its own).
//!
//! What runc 1.1.5 does here, and what husk does instead:
//! - runc makes the caller's whole tree `MS_SLAVE|MS_REC` (with
//!   `rootfsPropagation` "rshared", it makes the rootfs's parent mount,
//!   often `/`, private). husk leaves the caller's mounts alone: it binds
//!   the rootfs onto itself and gives only that bind (and so everything
//!   mounted under it) the propagation runc's would end up with.
//! - runc leaves every mount behind when the container is gone. husk
//!   records, before the init makes the first one, which mounts were
//!   already under the rootfs (an engine's overlay, say), and at delete,
//!   or when create fails, detaches every other mount under the rootfs.
//!   The record is a file in the state directory, so a create killed
//!   half-way is cleaned up by `delete --force`.
//!
//! Where the rootfs's parent mount is shared, the bind itself propagates
//! to the parent's peers, as any mount there would; detaching it
//! propagates the same way, so the peers lose their copies again.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use libc::c_ulong;
use nix::errno::Errno;
use serde::{Deserialize, Serialize};

use crate::container::state::write_atomic;
use crate::error::{Error, Result};
use crate::linux::mounts::{self, mount};
use crate::spec::plan::MountPlan;

/// The record's name in the state directory.
pub const RECORD: &str = "host-mounts.json";

/// What was under the rootfs before create made anything there.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// The rootfs, canonical, as it appears in mountinfo.
    pub rootfs: PathBuf,
    /// The caller's mount namespace (inode of /proc/self/ns/mnt): the
    /// mounts are in it, and only a husk in it can see and remove them.
    pub mnt_ns: u64,
    /// Mount ids at or under the rootfs before create: not husk's.
    pub before: BTreeSet<u64>,
}

/// One line of /proc/self/mountinfo: the fields cleanup needs.
#[derive(Debug, Clone, PartialEq)]
pub struct MountEntry {
    pub id: u64,
    pub parent: u64,
    pub mount_point: PathBuf,
}

fn mnt_ns_inode() -> Result<u64> {
    std::fs::metadata("/proc/self/ns/mnt")
        .map(|m| m.ino())
        .map_err(|e| Error::from(e).context("stat /proc/self/ns/mnt"))
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b
            .get(i + 1..i + 4)
            .filter(|o| o.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], oct) {
            (b'\\', Some(o)) => {
                out.push((o[0] - b'0') * 64 + (o[1] - b'0') * 8 + (o[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn parse_mountinfo(text: &str) -> Vec<MountEntry> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(' ');
            let id = f.next()?.parse().ok()?;
            let parent = f.next()?.parse().ok()?;
            let mount_point = PathBuf::from(unescape(f.nth(2)?));
            Some(MountEntry {
                id,
                parent,
                mount_point,
            })
        })
        .collect()
}

/// Fresh, not the per-process copy in linux::proc: the point is to see
/// what changed.
fn read_mountinfo() -> Result<Vec<MountEntry>> {
    let text = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| Error::from(e).context("read /proc/self/mountinfo"))?;
    Ok(parse_mountinfo(&text))
}

/// The mounts at or below `rootfs`, in mountinfo order (oldest first).
fn under<'a>(all: &'a [MountEntry], rootfs: &'a Path) -> impl Iterator<Item = &'a MountEntry> {
    all.iter()
        .filter(move |m| m.mount_point.starts_with(rootfs))
}

/// Before the init exists: note what is already mounted under the rootfs.
pub fn record(dir: &Path, rootfs: &Path) -> Result<()> {
    if rootfs == Path::new("/") {
        // Every mount is under "/": cleanup could not tell husk's apart.
        return Err(Error::msg(
            "root.path: the rootfs is the host's /; without a mount namespace husk would mount over the host's own /proc, /dev and /sys",
        ));
    }
    let all = read_mountinfo()?;
    let rec = Record {
        rootfs: rootfs.to_path_buf(),
        mnt_ns: mnt_ns_inode()?,
        before: under(&all, rootfs).map(|m| m.id).collect(),
    };
    let data = serde_json::to_vec(&rec).map_err(|e| Error::msg(e.to_string()))?;
    write_atomic(&dir.join(RECORD), &data)
}

/// Whether the container in `dir` has its mounts in the caller's mount
/// namespace (its record is there from create until delete).
pub fn recorded(dir: &Path) -> bool {
    dir.join(RECORD).exists()
}

/// Detach every mount under the recorded rootfs that was not there
/// before create; then the record goes. No record: nothing to do.
pub fn release(dir: &Path) -> Result<()> {
    let path = dir.join(RECORD);
    let rec: Record = match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b)
            .map_err(|e| Error::msg(format!("corrupt {}: {e}", path.display())))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::from(e).context(format!("read {}", path.display()))),
    };
    let ns = mnt_ns_inode()?;
    if ns != rec.mnt_ns {
        return Err(Error::msg(format!(
            "the container's mounts under {} are in mount namespace mnt:[{}], and husk runs in mnt:[{ns}]: run delete in the namespace that created the container",
            rec.rootfs.display(),
            rec.mnt_ns
        )));
    }
    // Newest first: children before parents, the top of a stack before
    // what it covers. Two passes in case something moved in between.
    for _ in 0..2 {
        let all = read_mountinfo()?;
        let ours: Vec<&MountEntry> = under(&all, &rec.rootfs)
            .filter(|m| !rec.before.contains(&m.id))
            .collect();
        if ours.is_empty() {
            return remove_record(&path);
        }
        for m in ours.iter().rev() {
            detach(m)?;
        }
    }
    let all = read_mountinfo()?;
    let left: Vec<String> = under(&all, &rec.rootfs)
        .filter(|m| !rec.before.contains(&m.id))
        .map(|m| format!("{} (mount id {})", m.mount_point.display(), m.id))
        .collect();
    if left.is_empty() {
        return remove_record(&path);
    }
    Err(Error::msg(format!(
        "could not remove the container's mounts: {}",
        left.join(", ")
    )))
}

fn remove_record(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::from(e).context(format!("remove {}", path.display())))
        }
        _ => Ok(()),
    }
}

/// The mount id of what `fd` is on.
fn mount_id(fd: &OwnedFd) -> Result<u64, Errno> {
    // SAFETY: statx is plain data; zeroed is a valid value.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: fd is open, the path is a literal empty string with
    // AT_EMPTY_PATH, and stx is a valid buffer.
    let r = unsafe {
        libc::statx(
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            libc::STATX_MNT_ID,
            &mut stx,
        )
    };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(stx.stx_mnt_id)
}

/// umount2(MNT_DETACH) of exactly this mount: its mount point is opened
/// without following symlinks, and only unmounted if what the path leads
/// to is that mount (not one stacked on it, nor one a renamed directory or
/// a symlink the container made would lead to instead).
fn detach(m: &MountEntry) -> Result<()> {
    let shown = m.mount_point.display();
    let fd = match mounts::openat2(
        libc::AT_FDCWD,
        &m.mount_point.to_string_lossy(),
        libc::O_PATH | libc::O_NOFOLLOW,
        mounts::RESOLVE_NO_SYMLINKS | mounts::RESOLVE_NO_MAGICLINKS,
    ) {
        Ok(fd) => fd,
        // Gone with a parent detached before it, or out of reach: the check
        // after the passes reports it if it is still there.
        Err(_) => return Ok(()),
    };
    if mount_id(&fd).map_err(|e| Error::sys(format!("statx({shown})"), e))? != m.id {
        return Ok(());
    }
    let p = CString::new(mounts::fd_path(&fd)).expect("no NUL in an fd path");
    // SAFETY: NUL-terminated path; umount2 follows the fd's magic link to
    // the mount checked above.
    if unsafe { libc::umount2(p.as_ptr(), libc::MNT_DETACH) } < 0 {
        let e = Errno::last();
        if e != Errno::EINVAL && e != Errno::ENOENT {
            return Err(Error::sys(format!("umount2({shown}, MNT_DETACH)"), e));
        }
    }
    Ok(())
}

/// In the init, after bind-rootfs: the propagation the bind would have
/// under runc, which first changes the caller's tree (see the module
/// doc); husk changes only the bind. Nothing mounted under it then
/// reaches the caller's other mounts or their peers.
pub fn make_rootfs_private(rootfs: &str, propagation: Option<c_ulong>) -> Result<()> {
    mount(
        None,
        rootfs,
        None,
        bind_propagation(propagation),
        None,
        rootfs,
    )
}

fn bind_propagation(propagation: Option<c_ulong>) -> c_ulong {
    match propagation {
        // runc: a shared parent of the rootfs is made private.
        Some(p) if p & libc::MS_SHARED != 0 => libc::MS_PRIVATE | libc::MS_REC,
        Some(p) => p | libc::MS_REC,
        None => libc::MS_SLAVE | libc::MS_REC,
    }
}

/// After each config mount that names no propagation of its own: a bind
/// of a shared host mount would be its peer, so that what is mounted on
/// one shows on the other. Under runc, which made the caller's tree
/// slave first, such a bind is a slave; here it is made one. With
/// rootfsPropagation shared, runc's binds stay peers, and so do husk's.
pub fn contain(root: &OwnedFd, m: &MountPlan, propagation: Option<c_ulong>) -> Result<()> {
    let flags = match propagation {
        Some(p) if p & libc::MS_SHARED != 0 => return Ok(()),
        Some(p) => p | libc::MS_REC,
        None => libc::MS_SLAVE | libc::MS_REC,
    };
    if !m.opts.propagation.is_empty() {
        return Ok(());
    }
    let fd = mounts::open_in_root(root, &m.destination, 0)
        .map_err(|e| Error::sys(format!("reopen {}", m.destination), e))?;
    mount(
        None,
        &mounts::fd_path(&fd),
        None,
        flags,
        None,
        &m.destination,
    )
}

/// In place of pivot_root: chroot into the rootfs (the bind of it onto
/// itself), as runc does without a mount namespace. Also with --no-pivot:
/// runc's MS_MOVE there moves the rootfs over the caller's / and unmounts
/// the caller's other mounts.
pub fn chroot(rootfs: &str) -> Result<()> {
    let c = CString::new(rootfs).map_err(|_| Error::msg("rootfs path has a NUL byte"))?;
    // SAFETY: NUL-terminated path.
    if unsafe { libc::chdir(c.as_ptr()) } < 0 {
        return Err(Error::sys(format!("chdir({rootfs})"), Errno::last()));
    }
    // SAFETY: literal path.
    if unsafe { libc::chroot(c".".as_ptr()) } < 0 {
        return Err(Error::sys(format!("chroot({rootfs})"), Errno::last()));
    }
    // SAFETY: literal path.
    if unsafe { libc::chdir(c"/".as_ptr()) } < 0 {
        return Err(Error::sys("chdir(/)", Errno::last()));
    }
    Ok(())
}

/// For `husk exec`: the root of a container without a mount namespace of
/// its own is only its init's root (runc's exec stays in the caller's,
/// seeing the host's files, or fails when there is no namespace to join).
pub fn open_container_root(pid: i32) -> Result<OwnedFd> {
    let p = format!("/proc/{pid}/root");
    mounts::openat2(libc::AT_FDCWD, &p, libc::O_PATH | libc::O_DIRECTORY, 0)
        .map_err(|e| Error::sys(format!("open {p}"), e))
}

/// chroot into a root opened with [`open_container_root`].
pub fn enter_root(root: &OwnedFd) -> Result<()> {
    // SAFETY: root is an open directory fd.
    if unsafe { libc::fchdir(root.as_raw_fd()) } < 0 {
        return Err(Error::sys("fchdir(the container's root)", Errno::last()));
    }
    // SAFETY: literal paths.
    if unsafe { libc::chroot(c".".as_ptr()) } < 0 {
        return Err(Error::sys("chroot(the container's root)", Errno::last()));
    }
    // SAFETY: literal path.
    if unsafe { libc::chdir(c"/".as_ptr()) } < 0 {
        return Err(Error::sys("chdir(/)", Errno::last()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_unescapes() {
        let t = "27 1 254:0 / / rw - ext4 /dev/vda rw\n\
                 135 134 0:58 / /b/root\\040fs/proc rw,relatime - proc proc rw\n\
                 bad line\n";
        let m = parse_mountinfo(t);
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].id, 135);
        assert_eq!(m[1].parent, 134);
        assert_eq!(m[1].mount_point, Path::new("/b/root fs/proc"));
        assert_eq!(unescape("a\\134b\\011"), "a\\b\t");
        assert_eq!(unescape("trailing\\04"), "trailing\\04");
    }

    #[test]
    fn under_is_by_component() {
        let all = parse_mountinfo(
            "1 0 0:1 / /b/rootfs rw - x x rw\n\
             2 1 0:2 / /b/rootfs/proc rw - x x rw\n\
             3 0 0:3 / /b/rootfs2 rw - x x rw\n\
             4 0 0:4 / /b rw - x x rw\n",
        );
        let ids: Vec<u64> = under(&all, Path::new("/b/rootfs")).map(|m| m.id).collect();
        assert_eq!(ids, vec![1, 2]);
    }

    #[test]
    fn propagation_of_the_bind() {
        assert_eq!(bind_propagation(None), libc::MS_SLAVE | libc::MS_REC);
        assert_eq!(
            bind_propagation(Some(libc::MS_SHARED | libc::MS_REC)),
            libc::MS_PRIVATE | libc::MS_REC
        );
        assert_eq!(
            bind_propagation(Some(libc::MS_PRIVATE)),
            libc::MS_PRIVATE | libc::MS_REC
        );
    }

    #[test]
    fn release_without_record_is_a_no_op() {
        let d = tempfile::tempdir().unwrap();
        release(d.path()).unwrap();
    }
}
