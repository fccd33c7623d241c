//! The checked plan: config.json turned into exactly what create will do.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use libc::c_ulong;

use super::config::{self, IdMapping, Spec};
pub use super::mounts::{DevicePlan, MountKind, MountPlan};
use super::mounts::{parse_propagation, plan_device, plan_mount};
pub use super::namespaces::NsPlan;
use super::namespaces::{
    check_mappings, check_sysctl, check_without_mount_ns, plan_namespaces, plan_time_offsets,
};
pub use super::process::{ProcessPlan, plan_process};
use super::version;
use crate::bail;
use crate::cgroups::resources::{self, Resources};
use crate::cgroups::rootless;
use crate::error::{Error, Result};
use crate::hooks::Hooks;
use crate::linux::lsm;
use crate::linux::namespaces::NsKind;
use crate::linux::seccomp::Seccomp;

#[derive(Debug, Clone)]
pub struct Plan {
    pub oci_version: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub readonly_root: bool,
    pub ns: NsPlan,
    pub uid_mappings: Vec<IdMapping>,
    pub gid_mappings: Vec<IdMapping>,
    pub time_offsets: Vec<(String, i64, u32)>,
    pub mounts: Vec<MountPlan>,
    pub devices: Vec<DevicePlan>,
    pub masked_paths: Vec<String>,
    pub readonly_paths: Vec<String>,
    pub rootfs_propagation: Option<c_ulong>,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub sysctl: Vec<(String, String)>,
    pub process: ProcessPlan,
    pub annotations: BTreeMap<String, String>,
    pub cgroup: CgroupPlan,
    pub hooks: Hooks,
    /// The config's process as written, the base for `husk exec`.
    pub process_spec: config::Process,
    pub seccomp: Option<Seccomp>,
    /// linux.mountLabel: the SELinux context of the filesystems husk mounts
    /// that take one (see linux/lsm.rs).
    pub mount_label: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct CgroupPlan {
    /// linux.cgroupsPath as given; resolved per hierarchy at create.
    pub path: Option<String>,
    pub resources: Resources,
    /// The annotation husk.cgroups=optional: run without the limits when an
    /// unprivileged husk has no cgroup to put them in.
    pub optional: bool,
}

/// Fields of the spec husk knows but cannot honour yet. Refusing them by
/// name is the point: a limit that silently does not apply is worse than
/// an error.
fn refuse_unsupported(spec: &Spec) -> Result<()> {
    let unsupported =
        |field: &str, why: &str| -> Result<()> { bail!("unsupported config field {field}: {why}") };
    if spec
        .process
        .as_ref()
        .is_some_and(|p| p.exec_cpu_affinity.is_some())
    {
        unsupported(
            "process.execCPUAffinity",
            "husk does not set CPU affinity yet",
        )?;
    }
    if let Some(l) = &spec.linux {
        if l.intel_rdt.is_some() {
            unsupported("linux.intelRdt", "husk does not support Intel RDT")?;
        }
        if l.net_devices.is_some() {
            unsupported("linux.netDevices", "husk does not move network devices yet")?;
        }
        if l.memory_policy.is_some() {
            unsupported(
                "linux.memoryPolicy",
                "husk does not set memory policies yet",
            )?;
        }
    }
    for (i, m) in spec.mounts.iter().enumerate() {
        if m.uid_mappings.is_some() || m.gid_mappings.is_some() {
            unsupported(
                &format!("mounts[{i}].uidMappings"),
                "husk does not make id-mapped mounts yet",
            )?;
        }
    }
    Ok(())
}

pub(super) fn require_absolute(field: &str, p: &str) -> Result<()> {
    if !p.starts_with('/') {
        bail!("{field}: {p:?} is not an absolute path");
    }
    no_nul(field, p)
}

/// A path inside the container that husk acts on: absolute, without ".."
/// (resolution stays inside the root anyway, but "/proc/../../etc" would
/// quietly act on /etc, not on what the entry seems to name).
pub(super) fn require_container_path(field: &str, p: &str) -> Result<()> {
    require_absolute(field, p)?;
    if p.split('/').any(|c| c == "..") {
        bail!("{field}: {p:?} contains \"..\"");
    }
    Ok(())
}

/// The kernel's HOST_NAME_MAX (and the UTS domainname's limit).
const HOST_NAME_MAX: usize = 64;

fn check_uts_name(field: &str, v: Option<&str>) -> Result<()> {
    if let Some(v) = v {
        if v.len() > HOST_NAME_MAX {
            bail!(
                "{field}: {} bytes; the kernel allows at most {HOST_NAME_MAX}",
                v.len()
            );
        }
        no_nul(field, v)?;
    }
    Ok(())
}

/// More mounts than fs.mount-max cannot all be made: the kernel fails the
/// one past the limit with ENOSPC, after all the others. Say so up front.
fn check_mount_count(n: usize) -> Result<()> {
    let max = std::fs::read_to_string("/proc/sys/fs/mount-max")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok());
    if let Some(max) = max
        && n >= max
    {
        bail!(
            "mounts: {n} entries; the kernel allows at most {max} mounts in a mount namespace (fs.mount-max)"
        );
    }
    Ok(())
}

/// Strings that reach the kernel as C strings (paths, arguments, mount
/// data, names) cannot hold a NUL byte: refused here, not when the init
/// makes its CString after the namespaces exist.
pub(super) fn no_nul(field: &str, s: &str) -> Result<()> {
    if s.contains('\0') {
        bail!("{field}: {s:?} contains a NUL byte");
    }
    Ok(())
}

impl Plan {
    pub fn build(spec: &Spec, bundle: &Path) -> Result<Plan> {
        version::check(&spec.oci_version)?;
        refuse_unsupported(spec)?;

        let root = spec
            .root
            .as_ref()
            .ok_or_else(|| Error::msg("root: missing (config.json has no root.path)"))?;
        let rootfs = bundle.join(&root.path);
        let meta = std::fs::metadata(&rootfs).map_err(|e| {
            Error::from(e).context(format!("root.path: rootfs {}", rootfs.display()))
        })?;
        if !meta.is_dir() {
            bail!("root.path: rootfs {} is not a directory", rootfs.display());
        }
        let rootfs = std::fs::canonicalize(&rootfs)
            .map_err(|e| Error::from(e).context(format!("resolve rootfs {}", rootfs.display())))?;

        let empty = config::Linux::default();
        let linux = spec.linux.as_ref().unwrap_or(&empty);
        let ns = plan_namespaces(&linux.namespaces)?;
        check_mappings(&ns, linux)?;
        let time_offsets = plan_time_offsets(&ns, linux)?;

        no_nul("root.path", &root.path)?;
        no_nul("hostname", spec.hostname.as_deref().unwrap_or_default())?;
        no_nul("domainname", spec.domainname.as_deref().unwrap_or_default())?;
        if spec.hostname.as_deref().is_some_and(|h| !h.is_empty()) && !ns.has(NsKind::Uts) {
            bail!("hostname: setting a hostname needs a uts namespace in linux.namespaces");
        }
        if spec.domainname.as_deref().is_some_and(|h| !h.is_empty()) && !ns.has(NsKind::Uts) {
            bail!("domainname: setting a domainname needs a uts namespace in linux.namespaces");
        }
        check_uts_name("hostname", spec.hostname.as_deref())?;
        check_uts_name("domainname", spec.domainname.as_deref())?;
        check_without_mount_ns(&ns, linux, &rootfs, root.readonly)?;

        check_mount_count(spec.mounts.len())?;
        let mut mounts = Vec::new();
        for (i, m) in spec.mounts.iter().enumerate() {
            mounts.push(plan_mount(i, m, bundle)?);
        }
        let devices = linux
            .devices
            .iter()
            .enumerate()
            .map(|(i, d)| plan_device(i, d))
            .collect::<Result<Vec<_>>>()?;
        for (i, p) in linux.masked_paths.iter().enumerate() {
            require_container_path(&format!("linux.maskedPaths[{i}]"), p)?;
        }
        for (i, p) in linux.readonly_paths.iter().enumerate() {
            require_container_path(&format!("linux.readonlyPaths[{i}]"), p)?;
        }
        let rootfs_propagation = match linux.rootfs_propagation.as_deref() {
            None | Some("") => None,
            Some(p) => Some(parse_propagation(p)?),
        };
        let sysctl = linux
            .sysctl
            .iter()
            .map(|(k, v)| {
                no_nul(&format!("linux.sysctl.{k}"), v)?;
                check_sysctl(&ns, k).map(|_| (k.clone(), v.clone()))
            })
            .collect::<Result<Vec<_>>>()?;

        let process = spec
            .process
            .as_ref()
            .ok_or_else(|| Error::msg("process: missing (nothing to run)"))?;
        let process_spec = process.clone();
        let process = plan_process(process, linux)?;
        let mount_label = linux.mount_label.as_deref().filter(|l| !l.is_empty());
        if let Some(l) = mount_label {
            lsm::check_mount_label(l)?;
        }
        let mount_label = super::process::plan_label(
            "linux.mountLabel",
            "SELinux",
            mount_label,
            lsm::selinux_missing,
        )?;
        let cgroup = plan_cgroup(linux, &spec.annotations)?;
        let hooks = match &spec.hooks {
            None => Hooks::default(),
            Some(v) => serde_path_to_error::deserialize::<_, Hooks>(v.clone()).map_err(|e| {
                let field = e.path().to_string();
                Error::msg(format!("bad value for hooks.{field}: {}", e.into_inner()))
            })?,
        };
        hooks.validate()?;
        let seccomp = match &linux.seccomp {
            None => None,
            Some(v) => {
                let s: Seccomp = serde_path_to_error::deserialize(v.clone()).map_err(|e| {
                    let field = e.path().to_string();
                    Error::msg(format!(
                        "bad value for linux.seccomp.{field}: {}",
                        e.into_inner()
                    ))
                })?;
                s.validate()?;
                Some(s)
            }
        };

        Ok(Plan {
            oci_version: spec.oci_version.clone(),
            bundle: bundle.to_path_buf(),
            rootfs,
            readonly_root: root.readonly,
            ns,
            uid_mappings: linux.uid_mappings.clone(),
            gid_mappings: linux.gid_mappings.clone(),
            time_offsets,
            mounts,
            devices,
            masked_paths: linux.masked_paths.clone(),
            readonly_paths: linux.readonly_paths.clone(),
            rootfs_propagation,
            hostname: spec.hostname.clone().filter(|h| !h.is_empty()),
            domainname: spec.domainname.clone().filter(|h| !h.is_empty()),
            sysctl,
            process,
            annotations: spec.annotations.clone(),
            cgroup,
            hooks,
            process_spec,
            seccomp,
            mount_label,
        })
    }
}

fn plan_cgroup(
    linux: &config::Linux,
    annotations: &BTreeMap<String, String>,
) -> Result<CgroupPlan> {
    let optional = match annotations.get(rootless::ANNOTATION).map(String::as_str) {
        None | Some("required") => false,
        Some("optional") => true,
        Some(v) => bail!(
            "annotations.{}: {v:?} is neither \"optional\" nor \"required\"",
            rootless::ANNOTATION
        ),
    };
    let res = match &linux.resources {
        None => Resources::default(),
        Some(v) => serde_path_to_error::deserialize::<_, Resources>(v.clone()).map_err(|e| {
            let field = e.path().to_string();
            Error::msg(format!(
                "bad value for linux.resources.{field}: {}",
                e.into_inner()
            ))
        })?,
    };
    resources::validate(&res)?;
    let mut res = res;
    // runc puts its standard device rules on every container, and with no
    // rules of the config's own it starts from "deny all": a config without
    // linux.resources (runc spec --rootless's) still gets the standard
    // list, not every device. An unprivileged husk has no device cgroup.
    if res.devices.is_empty() && !crate::linux::identity::rootless() {
        res.devices.push(resources::DeviceRule {
            allow: false,
            typ: None,
            major: None,
            minor: None,
            access: Some("rwm".into()),
        });
    }
    if let Some(p) = linux.cgroups_path.as_deref() {
        if p.split('/').any(|c| c == "..") {
            bail!("linux.cgroupsPath: {p:?} contains \"..\"");
        }
        no_nul("linux.cgroupsPath", p)?;
    }
    Ok(CgroupPlan {
        path: linux.cgroups_path.clone().filter(|p| !p.is_empty()),
        resources: res,
        optional,
    })
}
