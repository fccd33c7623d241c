//! Config mounts and devices, checked and turned into what the init does.

use std::path::Path;

use libc::c_ulong;

use super::config;
use super::plan::{no_nul, require_container_path};
use crate::bail;
use crate::error::Result;
use crate::linux::mount_options::{self, MountOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    Bind,
    Proc,
    Sysfs,
    Cgroup,
    Other,
}

#[derive(Debug, Clone)]
pub struct MountPlan {
    pub destination: String,
    pub typ: String,
    pub source: String,
    pub kind: MountKind,
    pub opts: MountOptions,
}

#[derive(Debug, Clone)]
pub struct DevicePlan {
    pub path: String,
    /// S_IFCHR, S_IFBLK or S_IFIFO.
    pub file_type: u32,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

pub(super) fn plan_mount(i: usize, m: &config::Mount, bundle: &Path) -> Result<MountPlan> {
    require_container_path(&format!("mounts[{i}].destination"), &m.destination)?;
    if m.destination.split('/').all(|c| c.is_empty() || c == ".") {
        bail!(
            "mounts[{i}].destination: {:?} is the container's root; root.path says what that is",
            m.destination
        );
    }
    let opts =
        mount_options::parse(&m.options).map_err(|e| e.context(format!("mounts[{i}].options")))?;
    let typ = m.typ.clone().unwrap_or_default();
    no_nul(&format!("mounts[{i}].type"), &typ)?;
    no_nul(
        &format!("mounts[{i}].source"),
        m.source.as_deref().unwrap_or_default(),
    )?;
    let kind = if typ == "bind" || opts.is_bind() {
        MountKind::Bind
    } else {
        match typ.as_str() {
            "proc" => MountKind::Proc,
            "sysfs" => MountKind::Sysfs,
            "cgroup" | "cgroup2" => MountKind::Cgroup,
            "" => bail!(
                "mounts[{i}].type: missing for non-bind mount on {}",
                m.destination
            ),
            _ => MountKind::Other,
        }
    };
    let mut opts = opts;
    let mut source = m.source.clone().unwrap_or_default();
    if kind == MountKind::Bind {
        if source.is_empty() {
            bail!("mounts[{i}].source: a bind mount needs a source");
        }
        // runc compatibility: a relative bind source is relative to the bundle.
        if !source.starts_with('/') {
            source = bundle.join(&source).to_string_lossy().into_owned();
        }
        opts.flags |= libc::MS_BIND;
    }
    if source.is_empty() {
        source = typ.clone();
    }
    Ok(MountPlan {
        destination: m.destination.clone(),
        typ,
        source,
        kind,
        opts,
    })
}

const MAX_MAJOR: i64 = (1 << 12) - 1;
const MAX_MINOR: i64 = (1 << 20) - 1;

pub(super) fn plan_device(i: usize, d: &config::Device) -> Result<DevicePlan> {
    let field = format!("linux.devices[{i}]");
    require_container_path(&format!("{field}.path"), &d.path)?;
    let file_type = match d.typ.as_str() {
        "c" | "u" => libc::S_IFCHR,
        "b" => libc::S_IFBLK,
        "p" => libc::S_IFIFO,
        t => bail!("{field}.type: unknown device type {t:?} (c, u, b or p)"),
    };
    if file_type != libc::S_IFIFO && (d.major < 0 || d.minor < 0) {
        bail!("{field}: major and minor numbers must not be negative");
    }
    // dev_t as mknod(2) takes it: 12 bits of major, 20 of minor. A larger
    // number would be silently cut to some other device.
    if d.major > MAX_MAJOR || d.minor > MAX_MINOR {
        bail!(
            "{field}: device {}:{} is out of range (major at most {MAX_MAJOR}, minor at most {MAX_MINOR})",
            d.major,
            d.minor
        );
    }
    for (what, id) in [("uid", d.uid), ("gid", d.gid)] {
        if id == Some(u32::MAX) {
            bail!(
                "{field}.{what}: 4294967295 is (uid_t)-1, which chown reads as \"leave unchanged\""
            );
        }
    }
    Ok(DevicePlan {
        path: d.path.clone(),
        file_type,
        major: d.major.max(0) as u64,
        minor: d.minor.max(0) as u64,
        mode: d.file_mode.unwrap_or(0o666) & 0o7777,
        uid: d.uid.unwrap_or(0),
        gid: d.gid.unwrap_or(0),
    })
}

pub fn parse_propagation(p: &str) -> Result<c_ulong> {
    Ok(match p {
        "shared" => libc::MS_SHARED,
        "rshared" => libc::MS_SHARED | libc::MS_REC,
        "slave" => libc::MS_SLAVE,
        "rslave" => libc::MS_SLAVE | libc::MS_REC,
        "private" => libc::MS_PRIVATE,
        "rprivate" => libc::MS_PRIVATE | libc::MS_REC,
        "unbindable" => libc::MS_UNBINDABLE,
        "runbindable" => libc::MS_UNBINDABLE | libc::MS_REC,
        _ => bail!("linux.rootfsPropagation: unknown propagation {p:?}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn propagation_names() {
        assert_eq!(
            parse_propagation("rslave").unwrap(),
            libc::MS_SLAVE | libc::MS_REC
        );
        assert!(parse_propagation("sideways").is_err());
    }
}
