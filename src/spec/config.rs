//! The runtime-spec `config.json` as husk reads it.
//!
//! husk keeps its own types instead of a general-purpose crate so that every
//! field it knows about is either acted on or refused by name: a field that a
//! crate silently drops would be a limit that silently does not apply.
//! Unknown fields are ignored, as the spec requires.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Go tools write `null` for empty lists and maps; treat it as empty.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    pub oci_version: String,
    pub root: Option<Root>,
    #[serde(default, deserialize_with = "nullable")]
    pub mounts: Vec<Mount>,
    pub process: Option<Process>,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub hooks: Option<Value>,
    #[serde(default, deserialize_with = "nullable")]
    pub annotations: BTreeMap<String, String>,
    pub linux: Option<Linux>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Root {
    pub path: String,
    #[serde(default)]
    pub readonly: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mount {
    pub destination: String,
    #[serde(rename = "type")]
    pub typ: Option<String>,
    pub source: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub options: Vec<String>,
    pub uid_mappings: Option<Value>,
    pub gid_mappings: Option<Value>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Process {
    #[serde(default)]
    pub terminal: bool,
    pub console_size: Option<ConsoleSize>,
    #[serde(default)]
    pub user: User,
    #[serde(default, deserialize_with = "nullable")]
    pub args: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub env: Vec<String>,
    #[serde(default)]
    pub cwd: String,
    pub capabilities: Option<Capabilities>,
    #[serde(default, deserialize_with = "nullable")]
    pub rlimits: Vec<Rlimit>,
    #[serde(default)]
    pub no_new_privileges: bool,
    pub apparmor_profile: Option<String>,
    pub oom_score_adj: Option<i32>,
    pub scheduler: Option<Scheduler>,
    pub selinux_label: Option<String>,
    pub io_priority: Option<IoPriority>,
    #[serde(rename = "execCPUAffinity")]
    pub exec_cpu_affinity: Option<Value>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
pub struct ConsoleSize {
    pub height: u16,
    pub width: u16,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[serde(default)]
    pub uid: u32,
    #[serde(default)]
    pub gid: u32,
    pub umask: Option<u32>,
    #[serde(default, deserialize_with = "nullable")]
    pub additional_gids: Vec<u32>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Capabilities {
    #[serde(default, deserialize_with = "nullable")]
    pub bounding: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub effective: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub inheritable: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub permitted: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub ambient: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Rlimit {
    #[serde(rename = "type")]
    pub typ: String,
    pub hard: u64,
    pub soft: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Scheduler {
    pub policy: String,
    #[serde(default)]
    pub nice: i32,
    #[serde(default)]
    pub priority: i32,
    #[serde(default, deserialize_with = "nullable")]
    pub flags: Vec<String>,
    #[serde(default)]
    pub runtime: u64,
    #[serde(default)]
    pub deadline: u64,
    #[serde(default)]
    pub period: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct IoPriority {
    pub class: String,
    #[serde(default)]
    pub priority: i32,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Linux {
    #[serde(default, deserialize_with = "nullable")]
    pub namespaces: Vec<Namespace>,
    #[serde(default, deserialize_with = "nullable")]
    pub uid_mappings: Vec<IdMapping>,
    #[serde(default, deserialize_with = "nullable")]
    pub gid_mappings: Vec<IdMapping>,
    #[serde(default, deserialize_with = "nullable")]
    pub time_offsets: BTreeMap<String, TimeOffset>,
    #[serde(default, deserialize_with = "nullable")]
    pub devices: Vec<Device>,
    pub cgroups_path: Option<String>,
    pub resources: Option<Value>,
    pub rootfs_propagation: Option<String>,
    pub seccomp: Option<Value>,
    #[serde(default, deserialize_with = "nullable")]
    pub sysctl: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    pub masked_paths: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub readonly_paths: Vec<String>,
    pub mount_label: Option<String>,
    pub personality: Option<Personality>,
    pub intel_rdt: Option<Value>,
    pub net_devices: Option<Value>,
    pub memory_policy: Option<Value>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Namespace {
    #[serde(rename = "type")]
    pub typ: String,
    pub path: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct IdMapping {
    #[serde(rename = "containerID")]
    pub container_id: u32,
    #[serde(rename = "hostID")]
    pub host_id: u32,
    pub size: u32,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
pub struct TimeOffset {
    #[serde(default)]
    pub secs: i64,
    #[serde(default)]
    pub nanosecs: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    #[serde(rename = "type")]
    pub typ: String,
    pub path: String,
    #[serde(default)]
    pub major: i64,
    #[serde(default)]
    pub minor: i64,
    pub file_mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Personality {
    pub domain: String,
    #[serde(default, deserialize_with = "nullable")]
    pub flags: Vec<String>,
}
