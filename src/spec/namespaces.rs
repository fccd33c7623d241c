//! linux.namespaces, id mappings, time offsets and which sysctls a
//! container may set: all decided by which namespaces it owns.

use std::path::{Path, PathBuf};

use super::config;
use super::plan::require_absolute;
use crate::bail;
use crate::error::{Error, Result};
use crate::linux::namespaces::NsKind;

#[derive(Debug, Clone, Default)]
pub struct NsPlan {
    /// CLONE_NEW* flags of the namespaces to create.
    pub new: u64,
    /// Existing namespaces to join, in config order.
    pub join: Vec<(NsKind, PathBuf)>,
}

impl NsPlan {
    pub fn is_new(&self, k: NsKind) -> bool {
        self.new & k.clone_flag() != 0
    }
    pub fn joined(&self, k: NsKind) -> Option<&Path> {
        self.join
            .iter()
            .find(|(kind, _)| *kind == k)
            .map(|(_, p)| p.as_path())
    }
    /// Own namespace of this kind, new or joined (not the host's).
    pub fn has(&self, k: NsKind) -> bool {
        self.is_new(k) || self.joined(k).is_some()
    }
}

pub fn plan_namespaces(list: &[config::Namespace]) -> Result<NsPlan> {
    let mut ns = NsPlan::default();
    let mut seen = Vec::new();
    for (i, n) in list.iter().enumerate() {
        let kind = NsKind::from_spec(&n.typ).ok_or_else(|| {
            Error::msg(format!(
                "linux.namespaces[{i}]: unknown namespace type {:?}",
                n.typ
            ))
        })?;
        if seen.contains(&kind) {
            bail!(
                "linux.namespaces[{i}]: namespace type {:?} is listed twice",
                n.typ
            );
        }
        seen.push(kind);
        match n.path.as_deref() {
            None | Some("") => ns.new |= kind.clone_flag(),
            Some(p) => {
                require_absolute(&format!("linux.namespaces[{i}].path"), p)?;
                ns.join.push((kind, PathBuf::from(p)));
            }
        }
    }
    if ns.is_new(NsKind::User) && ns.joined(NsKind::Mount).is_some() {
        bail!(
            "linux.namespaces: joining a mount namespace by path together with a new user namespace is not supported"
        );
    }
    Ok(ns)
}

/// Without a mount namespace of its own, the container's mounts are made
/// in the caller's (see linux/host_mounts.rs), as in runc. runc refuses
/// masked and read-only paths there, with these words, and ignores
/// root.readonly.
pub(super) fn check_without_mount_ns(
    ns: &NsPlan,
    linux: &config::Linux,
    rootfs: &Path,
    readonly_root: bool,
) -> Result<()> {
    if ns.has(NsKind::Mount) {
        return Ok(());
    }
    let field = match (
        linux.masked_paths.is_empty(),
        linux.readonly_paths.is_empty(),
    ) {
        (true, true) => None,
        (false, _) => Some("linux.maskedPaths"),
        (true, false) => Some("linux.readonlyPaths"),
    };
    if let Some(field) = field {
        bail!("{field}: unable to restrict sys entries without a private MNT namespace");
    }
    if rootfs == Path::new("/") {
        bail!(
            "root.path: the rootfs is the host's /; without a mount namespace husk would mount over the host's own /proc, /dev and /sys"
        );
    }
    if readonly_root {
        tracing::warn!(
            "root.readonly: without a mount namespace the root stays writable (as in runc, which makes it read-only only in a mount namespace of the container's own)"
        );
    }
    Ok(())
}

pub(super) fn check_mappings(ns: &NsPlan, linux: &config::Linux) -> Result<()> {
    let has_maps = !linux.uid_mappings.is_empty() || !linux.gid_mappings.is_empty();
    if ns.is_new(NsKind::User) {
        if linux.uid_mappings.is_empty() {
            bail!("linux.uidMappings: a new user namespace needs uid mappings");
        }
        if linux.gid_mappings.is_empty() {
            bail!("linux.gidMappings: a new user namespace needs gid mappings");
        }
    } else if has_maps && !ns.has(NsKind::User) {
        bail!("linux.uidMappings: mappings given but linux.namespaces has no user namespace");
    }
    for (field, maps) in [
        ("linux.uidMappings", &linux.uid_mappings),
        ("linux.gidMappings", &linux.gid_mappings),
    ] {
        if maps.len() > 340 {
            bail!(
                "{field}: {} ranges; the kernel allows at most 340",
                maps.len()
            );
        }
        for (i, m) in maps.iter().enumerate() {
            if m.size == 0 {
                bail!("{field}[{i}]: size must not be 0");
            }
        }
    }
    Ok(())
}

pub(super) fn plan_time_offsets(
    ns: &NsPlan,
    linux: &config::Linux,
) -> Result<Vec<(String, i64, u32)>> {
    if linux.time_offsets.is_empty() {
        return Ok(vec![]);
    }
    if !ns.is_new(NsKind::Time) {
        bail!("linux.timeOffsets: offsets need a new time namespace in linux.namespaces");
    }
    let mut v = Vec::new();
    for (clock, off) in &linux.time_offsets {
        if clock != "monotonic" && clock != "boottime" {
            bail!("linux.timeOffsets: unknown clock {clock:?} (monotonic or boottime)");
        }
        if off.nanosecs >= 1_000_000_000 {
            bail!(
                "linux.timeOffsets.{clock}.nanosecs: {} is not below 1e9",
                off.nanosecs
            );
        }
        v.push((clock.clone(), off.secs, off.nanosecs));
    }
    Ok(v)
}

/// A sysctl is only safe to set when it belongs to a namespace the
/// container has of its own; anything else would change the host.
pub fn check_sysctl(ns: &NsPlan, key: &str) -> Result<()> {
    const IPC: &[&str] = &[
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    let need = if IPC.contains(&key) || key.starts_with("fs.mqueue.") {
        NsKind::Ipc
    } else if key.starts_with("net.") {
        NsKind::Network
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        NsKind::Uts
    } else {
        bail!(
            "linux.sysctl: {key:?} is not in a namespace the container owns; setting it would change the host"
        );
    };
    if !ns.has(need) {
        bail!(
            "linux.sysctl: {key:?} needs a {} namespace in linux.namespaces",
            need.spec_name()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(list: &[(&str, Option<&str>)]) -> Result<NsPlan> {
        plan_namespaces(
            &list
                .iter()
                .map(|(t, p)| config::Namespace {
                    typ: t.to_string(),
                    path: p.map(String::from),
                })
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn namespaces_new_and_joined() {
        let n = ns(&[
            ("pid", None),
            ("network", Some("/proc/1/ns/net")),
            ("mount", None),
        ])
        .unwrap();
        assert!(n.is_new(NsKind::Pid));
        assert!(!n.is_new(NsKind::Network));
        assert!(n.has(NsKind::Network));
        assert!(!n.has(NsKind::Ipc));
    }

    #[test]
    fn namespace_errors() {
        assert!(
            ns(&[("pidz", None)])
                .unwrap_err()
                .to_string()
                .contains("unknown namespace type \"pidz\"")
        );
        assert!(
            ns(&[("pid", None), ("pid", None)])
                .unwrap_err()
                .to_string()
                .contains("listed twice")
        );
        assert!(
            ns(&[("network", Some("proc/1/ns/net"))])
                .unwrap_err()
                .to_string()
                .contains("not an absolute path")
        );
    }

    #[test]
    fn sysctl_rules() {
        let n = ns(&[("network", None), ("ipc", None), ("mount", None)]).unwrap();
        check_sysctl(&n, "net.ipv4.ip_forward").unwrap();
        check_sysctl(&n, "kernel.shmmax").unwrap();
        check_sysctl(&n, "fs.mqueue.msg_max").unwrap();
        assert!(check_sysctl(&n, "kernel.hostname").is_err());
        assert!(check_sysctl(&n, "vm.swappiness").is_err());
    }
}
