//! The cgroup filesystem itself: write a file and say which errno the
//! kernel gave, make a container's directories (and say which were new),
//! give v2 controllers to them, and take a cgroup tree down again.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;

use crate::error::{Error, Result};

pub(super) fn write_file(dir: &Path, file: &str, value: &str) -> Result<(), (Error, Errno)> {
    let p = dir.join(file);
    // No O_CREAT: on cgroupfs a missing file would then fail with EACCES
    // instead of ENOENT, and hide which files the kernel lacks.
    let r = std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .and_then(|mut f| std::io::Write::write_all(&mut f, value.as_bytes()));
    r.map_err(|e| {
        let errno = Errno::from_raw(e.raw_os_error().unwrap_or(0));
        (
            Error::from(e).context(format!("write {value:?} to {}", p.display())),
            errno,
        )
    })
}

/// Copy the parent's cpuset.cpus and cpuset.mems into `dir` where `dir`'s
/// are empty (runc's cpusetCopyIfNeeded); values already there stay.
fn fill_cpuset(parent: &Path, dir: &Path) -> Result<()> {
    let read = |d: &Path, f: &str| {
        std::fs::read_to_string(d.join(f))
            .map(|v| v.trim().to_string())
            .map_err(|e| Error::from(e).context(format!("read {}", d.join(f).display())))
    };
    for f in ["cpuset.cpus", "cpuset.mems"] {
        if !read(dir, f)?.is_empty() {
            continue;
        }
        let v = read(parent, f)?;
        write_file(dir, f, &v).map_err(|(e, _)| {
            e.context(format!(
                "give {} its parent's {f} (a cpuset with none cannot be joined)",
                dir.display()
            ))
        })?;
    }
    Ok(())
}

/// The v2 controllers that work in a threaded subtree; the others (memory,
/// io, hugetlb, rdma, misc) are "domain" controllers.
const THREADED: [&str; 4] = ["cpu", "cpuset", "pids", "perf_event"];

/// cgroup v2 only lets a controller's files appear in a child once every
/// ancestor lists it in cgroup.subtree_control. `wanted` must be enabled
/// all the way (the limits need them); `optional` are tried and may fail.
/// Walks from the top down, because enabling a controller in one
/// directory can change what its children may become (see settle_type).
pub(super) fn enable_v2(
    mount: &Path,
    leaf: &Path,
    wanted: &[&str],
    optional: &[&str],
) -> Result<()> {
    let domain = wanted.iter().any(|c| !THREADED.contains(c));
    let mut chain = vec![mount.to_path_buf()];
    let mut cur = mount.to_path_buf();
    for c in components(mount, leaf) {
        cur.push(c);
        chain.push(cur.clone());
    }
    let (leaf_dir, ancestors) = chain.split_last().expect("chain holds the mount");
    for d in ancestors {
        if d != mount {
            settle_type(d, domain)?;
        }
        let have = std::fs::read_to_string(d.join("cgroup.subtree_control")).unwrap_or_default();
        let on = |c: &str| have.split_whitespace().any(|h| h == c);
        for c in wanted.iter().filter(|c| !on(c)) {
            enable_one(d, c)?;
        }
        for c in optional.iter().filter(|c| !on(c) && !wanted.contains(c)) {
            let _ = write_file(d, "cgroup.subtree_control", &format!("+{c}"));
        }
    }
    if leaf_dir != mount {
        settle_type(leaf_dir, domain)?;
    }
    Ok(())
}

fn enable_one(d: &Path, c: &str) -> Result<()> {
    write_file(d, "cgroup.subtree_control", &format!("+{c}")).map_err(|(e, errno)| {
        if errno == Errno::EBUSY {
            e.context(format!(
                "enable the {c} controller: {} has processes of its own, and cgroup v2 only gives controllers to cgroups without them; use an absolute linux.cgroupsPath",
                d.display()
            ))
        } else {
            e.context(format!("enable the {c} controller"))
        }
    })
}

/// cgroup v2's "no internal processes" rule, where a path runs through a
/// cgroup that has processes of its own (a systemd service with
/// Delegate=yes, say). The kernel still lets such a cgroup enable the
/// threaded controllers, and then it becomes a thread root: a new child is
/// "domain invalid" and can take no process (clone3 and cgroup.procs give
/// EOPNOTSUPP) until it is made "threaded". runc makes it threaded when
/// the limits need no domain controller, and refuses otherwise, in these
/// words; husk does the same.
fn settle_type(d: &Path, domain: bool) -> Result<()> {
    let Ok(t) = std::fs::read_to_string(d.join("cgroup.type")) else {
        return Ok(());
    };
    match (t.trim(), domain) {
        ("domain invalid", false) => write_file(d, "cgroup.type", "threaded").map_err(|(e, _)| e),
        ("domain invalid", true) => Err(Error::msg(format!(
            "cannot enter cgroupv2 {:?} with domain controllers -- it is in an invalid state",
            d.display().to_string()
        ))),
        (t @ ("threaded" | "domain threaded"), true) => Err(Error::msg(format!(
            "cannot enter cgroupv2 {:?} with domain controllers -- it is in {t} mode",
            d.display().to_string()
        ))),
        _ => Ok(()),
    }
}

pub(super) fn collect_pids(dir: &Path, out: &mut Vec<i32>) -> Result<()> {
    let text = match std::fs::read_to_string(dir.join("cgroup.procs")) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(Error::from(e).context(format!("read {}/cgroup.procs", dir.display())));
        }
    };
    out.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                collect_pids(&e.path(), out)?;
            }
        }
    }
    Ok(())
}

/// The directories on the way from `mount` to `leaf` that do not exist
/// yet, outermost first: what making `leaf` will create. create records
/// them (container/record.rs) before the first mkdir.
pub(super) fn missing_dirs(mount: &Path, leaf: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut cur = mount.to_path_buf();
    for c in components(mount, leaf) {
        cur.push(c);
        // Below a missing directory nothing can exist.
        if !out.is_empty() || !cur.exists() {
            out.push(cur.clone());
        }
    }
    out
}

fn components<'a>(mount: &Path, leaf: &'a Path) -> impl Iterator<Item = &'a std::ffi::OsStr> {
    leaf.strip_prefix(mount)
        .unwrap_or(leaf)
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(n) => Some(n),
            _ => None,
        })
}

/// mkdir -p of `leaf`, pushing each directory that was new onto `made` as
/// soon as it exists, so that a failure half-way still knows what to take
/// down. In a v1 cpuset hierarchy every directory on the way, new or not,
/// gets its parent's CPUs and memory nodes if it has none, as runc's
/// cpusetEnsureParent does: no task can join a cpuset without both (ENOSPC).
pub(super) fn make_dirs(
    mount: &Path,
    leaf: &Path,
    made: &mut Vec<PathBuf>,
    cpuset: bool,
) -> Result<()> {
    let mut cur = mount.to_path_buf();
    for c in components(mount, leaf) {
        let parent = cur.clone();
        cur.push(c);
        match std::fs::create_dir(&cur) {
            Ok(()) => made.push(cur.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::from(e).context(format!("mkdir {}", cur.display()))),
        }
        if cpuset {
            fill_cpuset(&parent, &cur)?;
        }
    }
    Ok(())
}

/// Remove a container's cgroup and every cgroup below it (the container
/// may have made its own, and `exec --cgroup` uses them), deepest first.
///
/// rmdir fails with EBUSY while a process is in the cgroup or is still
/// exiting. A process that arrived after the caller's kill (an `exec`
/// racing with `delete`) is killed here too, so the loop ends; it gives up
/// after 5 s and names what is left.
pub(super) fn remove_tree(dir: &Path) -> Result<()> {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&e.path())?;
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                kill_members(dir);
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => {
                let mut left = Vec::new();
                let _ = collect_pids(dir, &mut left);
                let who = if left.is_empty() {
                    String::new()
                } else {
                    format!(" (processes still in it: {left:?})")
                };
                return Err(Error::from(e).context(format!("rmdir {}{who}", dir.display())));
            }
        }
    }
}

/// SIGKILL whatever is in `dir` now.
fn kill_members(dir: &Path) {
    let mut pids = Vec::new();
    let _ = collect_pids(dir, &mut pids);
    for pid in pids {
        // SAFETY: kill(2) with integer arguments; cgroup membership, read
        // a moment ago, pins the PID to a live (or exiting) process.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}
