//! The checked plan: config.json turned into exactly what create will do.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use libc::c_ulong;

use super::config::{self, IdMapping, Spec};
use super::version;
use crate::bail;
use crate::cgroups::resources::{self, Resources};
use crate::error::{Error, Result};
use crate::hooks::Hooks;
use crate::linux::capabilities::{self, CapSets};
use crate::linux::mount_options::{self, MountOptions};
use crate::linux::namespaces::NsKind;
use crate::linux::process_attrs::{IoPriority, Scheduler};
use crate::linux::rlimits::{self, Rlimit};
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
}

#[derive(Debug, Clone, Default)]
pub struct CgroupPlan {
    /// linux.cgroupsPath as given; resolved per hierarchy at create.
    pub path: Option<String>,
    pub resources: Resources,
}

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

#[derive(Debug, Clone)]
pub struct ProcessPlan {
    /// A pty for stdio; (rows, columns) to give it, if the config says.
    pub terminal: bool,
    pub console_size: Option<(u16, u16)>,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub umask: u32,
    pub additional_gids: Vec<u32>,
    pub caps: CapSets,
    pub rlimits: Vec<Rlimit>,
    pub no_new_privileges: bool,
    pub oom_score_adj: Option<i32>,
    pub scheduler: Option<Scheduler>,
    pub io_priority: Option<IoPriority>,
    pub personality: Option<u32>,
}

/// Fields of the spec husk knows but cannot honour yet. Refusing them by
/// name is the point: a limit that silently does not apply is worse than
/// an error.
fn refuse_unsupported(spec: &Spec) -> Result<()> {
    let unsupported =
        |field: &str, why: &str| -> Result<()> { bail!("unsupported config field {field}: {why}") };
    if let Some(p) = &spec.process {
        if p.apparmor_profile.as_deref().is_some_and(|s| !s.is_empty()) {
            unsupported(
                "process.apparmorProfile",
                "husk does not apply AppArmor profiles yet",
            )?;
        }
        if p.selinux_label.as_deref().is_some_and(|s| !s.is_empty()) {
            unsupported(
                "process.selinuxLabel",
                "husk does not apply SELinux labels yet",
            )?;
        }
        if p.exec_cpu_affinity.is_some() {
            unsupported(
                "process.execCPUAffinity",
                "husk does not set CPU affinity yet",
            )?;
        }
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
        if l.mount_label.as_deref().is_some_and(|s| !s.is_empty()) {
            unsupported("linux.mountLabel", "husk does not apply SELinux labels yet")?;
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

fn require_absolute(field: &str, p: &str) -> Result<()> {
    if !p.starts_with('/') {
        bail!("{field}: {p:?} is not an absolute path");
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

        if spec.hostname.as_deref().is_some_and(|h| !h.is_empty()) && !ns.has(NsKind::Uts) {
            bail!("hostname: setting a hostname needs a uts namespace in linux.namespaces");
        }
        if spec.domainname.as_deref().is_some_and(|h| !h.is_empty()) && !ns.has(NsKind::Uts) {
            bail!("domainname: setting a domainname needs a uts namespace in linux.namespaces");
        }
        if !ns.has(NsKind::Mount) {
            bail!("linux.namespaces: husk needs a mount namespace to set up the root filesystem");
        }

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
            require_absolute(&format!("linux.maskedPaths[{i}]"), p)?;
        }
        for (i, p) in linux.readonly_paths.iter().enumerate() {
            require_absolute(&format!("linux.readonlyPaths[{i}]"), p)?;
        }
        let rootfs_propagation = match linux.rootfs_propagation.as_deref() {
            None | Some("") => None,
            Some(p) => Some(parse_propagation(p)?),
        };
        let sysctl = linux
            .sysctl
            .iter()
            .map(|(k, v)| check_sysctl(&ns, k).map(|_| (k.clone(), v.clone())))
            .collect::<Result<Vec<_>>>()?;

        let process = spec
            .process
            .as_ref()
            .ok_or_else(|| Error::msg("process: missing (nothing to run)"))?;
        let process_spec = process.clone();
        let process = plan_process(process, linux)?;
        let cgroup = plan_cgroup(linux)?;
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
        })
    }
}

fn plan_cgroup(linux: &config::Linux) -> Result<CgroupPlan> {
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
    if let Some(p) = linux.cgroups_path.as_deref()
        && p.split('/').any(|c| c == "..")
    {
        bail!("linux.cgroupsPath: {p:?} contains \"..\"");
    }
    Ok(CgroupPlan {
        path: linux.cgroups_path.clone().filter(|p| !p.is_empty()),
        resources: res,
    })
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

fn check_mappings(ns: &NsPlan, linux: &config::Linux) -> Result<()> {
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

fn plan_time_offsets(ns: &NsPlan, linux: &config::Linux) -> Result<Vec<(String, i64, u32)>> {
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

fn plan_mount(i: usize, m: &config::Mount, bundle: &Path) -> Result<MountPlan> {
    require_absolute(&format!("mounts[{i}].destination"), &m.destination)?;
    if m.destination.split('/').any(|c| c == "..") {
        bail!(
            "mounts[{i}].destination: {:?} contains \"..\"",
            m.destination
        );
    }
    let opts =
        mount_options::parse(&m.options).map_err(|e| e.context(format!("mounts[{i}].options")))?;
    let typ = m.typ.clone().unwrap_or_default();
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

fn plan_device(i: usize, d: &config::Device) -> Result<DevicePlan> {
    let field = format!("linux.devices[{i}]");
    require_absolute(&format!("{field}.path"), &d.path)?;
    if d.path.split('/').any(|c| c == "..") {
        bail!("{field}.path: {:?} contains \"..\"", d.path);
    }
    let file_type = match d.typ.as_str() {
        "c" | "u" => libc::S_IFCHR,
        "b" => libc::S_IFBLK,
        "p" => libc::S_IFIFO,
        t => bail!("{field}.type: unknown device type {t:?} (c, u, b or p)"),
    };
    if file_type != libc::S_IFIFO && (d.major < 0 || d.minor < 0) {
        bail!("{field}: major and minor numbers must not be negative");
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

pub fn plan_process(p: &config::Process, linux: &config::Linux) -> Result<ProcessPlan> {
    if p.args.is_empty() || p.args[0].is_empty() {
        bail!("process.args: empty (nothing to run)");
    }
    if p.cwd.is_empty() {
        bail!("process.cwd: missing");
    }
    require_absolute("process.cwd", &p.cwd)?;
    for (i, e) in p.env.iter().enumerate() {
        if !e.contains('=') || e.starts_with('=') {
            bail!("process.env[{i}]: {e:?} is not KEY=VALUE");
        }
    }
    let c = p.capabilities.clone().unwrap_or_default();
    let known = capabilities::kernel_mask();
    let set = |field: &str, names: &[String]| -> Result<u64> {
        let m = capabilities::parse_set(&format!("process.capabilities.{field}"), names)?;
        if m & !known != 0 {
            tracing::warn!(
                "process.capabilities.{field}: this kernel does not know {:?}; leaving them out",
                capabilities::names(m & !known)
            );
        }
        Ok(m & known)
    };
    let caps = CapSets {
        bounding: set("bounding", &c.bounding)?,
        effective: set("effective", &c.effective)?,
        inheritable: set("inheritable", &c.inheritable)?,
        permitted: set("permitted", &c.permitted)?,
        ambient: set("ambient", &c.ambient)?,
    };
    let rlimits = p
        .rlimits
        .iter()
        .map(|r| rlimits::resolve(&r.typ, r.soft, r.hard))
        .collect::<Result<Vec<_>>>()?;
    if let Some(o) = p.oom_score_adj
        && !(-1000..=1000).contains(&o)
    {
        bail!("process.oomScoreAdj: {o} is outside -1000..1000");
    }
    let scheduler = p.scheduler.as_ref().map(Scheduler::from_spec).transpose()?;
    let io_priority = p
        .io_priority
        .as_ref()
        .map(IoPriority::from_spec)
        .transpose()?;
    let personality = linux
        .personality
        .as_ref()
        .map(crate::linux::process_attrs::personality_from_spec)
        .transpose()?;
    Ok(ProcessPlan {
        terminal: p.terminal,
        console_size: p.console_size.map(|c| (c.height, c.width)),
        args: p.args.clone(),
        env: p.env.clone(),
        cwd: p.cwd.clone(),
        uid: p.user.uid,
        gid: p.user.gid,
        umask: p.user.umask.unwrap_or(0o022),
        additional_gids: p.user.additional_gids.clone(),
        caps,
        rlimits,
        no_new_privileges: p.no_new_privileges,
        oom_score_adj: p.oom_score_adj,
        scheduler,
        io_priority,
        personality,
    })
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

    #[test]
    fn propagation_names() {
        assert_eq!(
            parse_propagation("rslave").unwrap(),
            libc::MS_SLAVE | libc::MS_REC
        );
        assert!(parse_propagation("sideways").is_err());
    }
}
