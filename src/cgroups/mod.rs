//! husk's own cgroup layer: find the hierarchies, make the container's
//! cgroup in each, write its limits (every write checked), place the init,
//! and later freeze, signal, measure and remove it. Works on unified (v2),
//! hybrid (v1 controllers plus a v2 hierarchy) and legacy (v1) hosts.

pub mod bpf;
pub mod files;
mod fs;
pub mod manager;
pub mod resources;
pub mod rootless;
pub mod stats;
pub mod sub;
pub mod systemd;

use std::path::{Path, PathBuf};

use crate::error::{Context, Error, Result};

pub const ROOT: &str = "/sys/fs/cgroup";
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Unified,
    Hybrid,
    Legacy,
}

/// statfs(2) of /sys/fs/cgroup tells the layout: cgroup2 there is unified;
/// a tmpfs with a cgroup2 "unified" beside the v1 controllers is hybrid.
pub fn detect() -> Result<Mode> {
    let fs = |p: &str| -> Result<i64> {
        let c = std::ffi::CString::new(p).expect("literal");
        // SAFETY: buf is plain data the kernel fills in.
        let mut buf: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: NUL-terminated path, valid buffer.
        if unsafe { libc::statfs(c.as_ptr(), &mut buf) } < 0 {
            return Err(Error::sys(
                format!("statfs({p})"),
                nix::errno::Errno::last(),
            ));
        }
        Ok(buf.f_type as i64)
    };
    if fs(ROOT)? == CGROUP2_SUPER_MAGIC {
        return Ok(Mode::Unified);
    }
    match fs("/sys/fs/cgroup/unified") {
        Ok(t) if t == CGROUP2_SUPER_MAGIC => Ok(Mode::Hybrid),
        _ => Ok(Mode::Legacy),
    }
}

/// One mounted hierarchy and husk's own cgroup in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    pub v2: bool,
    /// v1: the controllers (and "name=..."), as in the mount options.
    /// v2: the controllers in the root's cgroup.controllers.
    pub controllers: Vec<String>,
    pub mount: PathBuf,
    /// husk's own cgroup, relative to the mount ("/" or "/a/b").
    pub own: String,
}

impl Hierarchy {
    pub fn has(&self, controller: &str) -> bool {
        let name = if self.v2 {
            files::v2_name(controller)
        } else {
            controller
        };
        self.controllers.iter().any(|c| c == name)
    }
}

/// The hierarchies of this host, from mountinfo and /proc/self/cgroup.
pub fn hierarchies() -> Result<Vec<Hierarchy>> {
    let all = mounted_hierarchies()?;
    // cgroup2 mounted over /sys/fs/cgroup hides whatever v1 mounts were
    // below it (they stay in mountinfo): only the visible one counts.
    if detect()? == Mode::Unified {
        return Ok(all
            .into_iter()
            .filter(|h| h.v2 && h.mount == Path::new(ROOT))
            .collect());
    }
    Ok(all)
}

fn mounted_hierarchies() -> Result<Vec<Hierarchy>> {
    let mountinfo = crate::linux::proc::mountinfo()?;
    let own = std::fs::read_to_string("/proc/self/cgroup").context("read /proc/self/cgroup")?;
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mount = left.split(' ').nth(4).unwrap_or("");
        let mut r = right.split(' ');
        let fstype = r.next().unwrap_or("");
        let super_opts = r.nth(1).unwrap_or("");
        if !mount.starts_with(ROOT) {
            continue;
        }
        match fstype {
            "cgroup2" => {
                let ctrl = std::fs::read_to_string(Path::new(mount).join("cgroup.controllers"))
                    .unwrap_or_default();
                out.push(Hierarchy {
                    v2: true,
                    controllers: ctrl.split_whitespace().map(String::from).collect(),
                    mount: PathBuf::from(mount),
                    own: own_path(&own, None).unwrap_or_else(|| "/".into()),
                });
            }
            "cgroup" => {
                let controllers: Vec<String> = super_opts
                    .split(',')
                    .filter(|o| is_controller_opt(o))
                    .map(String::from)
                    .collect();
                if controllers.is_empty() {
                    continue;
                }
                let own = own_path(&own, Some(&controllers)).unwrap_or_else(|| "/".into());
                out.push(Hierarchy {
                    v2: false,
                    controllers,
                    mount: PathBuf::from(mount),
                    own,
                });
            }
            _ => {}
        }
    }
    Ok(out)
}

fn is_controller_opt(o: &str) -> bool {
    !matches!(
        o,
        "rw" | "ro" | "clone_children" | "noprefix" | "xattr" | "cpuset_v2_mode"
    ) && !o.starts_with("release_agent=")
}

/// Find husk's own path in /proc/self/cgroup: "0::/x" for v2, or the line
/// whose controller list matches the v1 hierarchy.
pub fn own_path(text: &str, v1: Option<&[String]>) -> Option<String> {
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (id, ctrl, path) = (f.next()?, f.next()?, f.next()?);
        match v1 {
            None if id == "0" && ctrl.is_empty() => return Some(path.to_string()),
            Some(want) if !ctrl.is_empty() => {
                let mut have: Vec<&str> = ctrl.split(',').collect();
                let mut want: Vec<&str> = want.iter().map(String::as_str).collect();
                have.sort_unstable();
                want.sort_unstable();
                if have == want {
                    return Some(path.to_string());
                }
            }
            _ => {}
        }
    }
    None
}

/// Where the container's cgroup goes, relative to each hierarchy's mount.
/// Absolute: from the root. Relative: under husk's own cgroup. Absent: a
/// directory named after the container under husk's own cgroup.
pub fn container_path(cgroups_path: Option<&str>, id: &str, own: &str) -> Result<String> {
    let own = own.trim_end_matches('/');
    let p = match cgroups_path {
        Some(p) if p.contains(':') => {
            return Err(Error::msg(format!(
                "linux.cgroupsPath {p:?} is a systemd path (slice:prefix:name): pass --systemd-cgroup to have systemd manage the cgroup"
            )));
        }
        Some(p) if p.starts_with('/') => p.to_string(),
        Some(p) if !p.is_empty() => format!("{own}/{p}"),
        _ => format!("{own}/{id}"),
    };
    let clean: Vec<&str> = p
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    if clean.contains(&"..") {
        return Err(Error::msg(format!(
            "linux.cgroupsPath {p:?} contains \"..\""
        )));
    }
    if clean.is_empty() {
        return Err(Error::msg(
            "linux.cgroupsPath resolves to the root cgroup; a container needs a cgroup of its own",
        ));
    }
    Ok(format!("/{}", clean.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_paths() {
        let t = "9:name=systemd:/\n4:memory:/sup/x\n2:cpu,cpuacct:/c\n0::/u\n";
        assert_eq!(own_path(t, None).as_deref(), Some("/u"));
        assert_eq!(
            own_path(t, Some(&["memory".into()])).as_deref(),
            Some("/sup/x")
        );
        assert_eq!(
            own_path(t, Some(&["cpuacct".into(), "cpu".into()])).as_deref(),
            Some("/c")
        );
        assert_eq!(
            own_path(t, Some(&["name=systemd".into()])).as_deref(),
            Some("/")
        );
    }

    #[test]
    fn container_paths() {
        assert_eq!(container_path(None, "c1", "/sup/x").unwrap(), "/sup/x/c1");
        assert_eq!(container_path(None, "c1", "/").unwrap(), "/c1");
        assert_eq!(
            container_path(Some("a/b"), "c1", "/own").unwrap(),
            "/own/a/b"
        );
        assert_eq!(
            container_path(Some("/abs/p"), "c1", "/own").unwrap(),
            "/abs/p"
        );
        assert!(container_path(Some("../x"), "c1", "/own").is_err());
        assert!(container_path(Some("system.slice:husk:c1"), "c1", "/").is_err());
        assert!(container_path(Some("/"), "c1", "/").is_err());
    }
}
