//! linux.resources as config.json spells it, and the conversions between
//! OCI's (cgroup v1 flavoured) values and cgroup v2's files. Pure logic.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::spec::config::nullable;

use crate::bail;
use crate::error::Result;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    #[serde(default, deserialize_with = "nullable")]
    pub devices: Vec<DeviceRule>,
    pub memory: Option<Memory>,
    pub cpu: Option<Cpu>,
    pub pids: Option<Pids>,
    #[serde(rename = "blockIO")]
    pub block_io: Option<BlockIo>,
    #[serde(default, deserialize_with = "nullable")]
    pub hugepage_limits: Vec<HugepageLimit>,
    pub network: Option<Network>,
    #[serde(default, deserialize_with = "nullable")]
    pub rdma: BTreeMap<String, Rdma>,
    #[serde(default, deserialize_with = "nullable")]
    pub unified: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct DeviceRule {
    #[serde(default)]
    pub allow: bool,
    #[serde(rename = "type")]
    pub typ: Option<String>,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    pub access: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Memory {
    pub limit: Option<i64>,
    pub reservation: Option<i64>,
    pub swap: Option<i64>,
    pub kernel: Option<i64>,
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: Option<i64>,
    pub swappiness: Option<u64>,
    #[serde(rename = "disableOOMKiller")]
    pub disable_oom_killer: Option<bool>,
    pub use_hierarchy: Option<bool>,
    pub check_before_update: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Cpu {
    pub shares: Option<u64>,
    pub quota: Option<i64>,
    pub burst: Option<u64>,
    pub period: Option<u64>,
    pub realtime_runtime: Option<i64>,
    pub realtime_period: Option<u64>,
    pub cpus: Option<String>,
    pub mems: Option<String>,
    pub idle: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Pids {
    #[serde(default)]
    pub limit: i64,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BlockIo {
    pub weight: Option<u16>,
    pub leaf_weight: Option<u16>,
    #[serde(default, deserialize_with = "nullable")]
    pub weight_device: Vec<WeightDevice>,
    #[serde(default, deserialize_with = "nullable")]
    pub throttle_read_bps_device: Vec<ThrottleDevice>,
    #[serde(default, deserialize_with = "nullable")]
    pub throttle_write_bps_device: Vec<ThrottleDevice>,
    #[serde(
        default,
        deserialize_with = "nullable",
        rename = "throttleReadIOPSDevice"
    )]
    pub throttle_read_iops_device: Vec<ThrottleDevice>,
    #[serde(
        default,
        deserialize_with = "nullable",
        rename = "throttleWriteIOPSDevice"
    )]
    pub throttle_write_iops_device: Vec<ThrottleDevice>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WeightDevice {
    pub major: i64,
    pub minor: i64,
    pub weight: Option<u16>,
    pub leaf_weight: Option<u16>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ThrottleDevice {
    pub major: i64,
    pub minor: i64,
    pub rate: u64,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HugepageLimit {
    pub page_size: String,
    pub limit: u64,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Network {
    #[serde(rename = "classID")]
    pub class_id: Option<u32>,
    #[serde(default, deserialize_with = "nullable")]
    pub priorities: Vec<NetPriority>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct NetPriority {
    pub name: String,
    pub priority: u32,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Rdma {
    pub hca_handles: Option<u32>,
    pub hca_objects: Option<u32>,
}

/// The device rules every container gets after its own, as runc appends
/// them: mknod of anything, and use of the standard nodes (null, zero,
/// full, random, urandom, tty, ptmx, the pty slaves, /dev/net/tun). Without
/// them a config that starts with "deny all" (as podman's does) could not
/// even write to /dev/null.
pub fn default_device_rules() -> Vec<DeviceRule> {
    let rule = |typ: &str, major: Option<i64>, minor: Option<i64>, access: &str| DeviceRule {
        allow: true,
        typ: Some(typ.into()),
        major,
        minor,
        access: Some(access.into()),
    };
    // In the order runc leaves them in devices.list.
    vec![
        rule("b", None, None, "m"),
        rule("c", None, None, "m"),
        rule("c", Some(1), Some(3), "rwm"),
        rule("c", Some(1), Some(5), "rwm"),
        rule("c", Some(1), Some(7), "rwm"),
        rule("c", Some(1), Some(8), "rwm"),
        rule("c", Some(1), Some(9), "rwm"),
        rule("c", Some(5), Some(0), "rwm"),
        rule("c", Some(5), Some(2), "rwm"),
        rule("c", Some(10), Some(200), "rwm"),
        rule("c", Some(136), None, "rwm"),
    ]
}

/// cgroup v1 cpu.shares (2..262144) onto v2 cpu.weight (1..10000), the
/// conversion runc, crun and the kernel documentation agree on.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    let s = shares.clamp(2, 262_144);
    1 + ((s - 2) * 9999) / 262_142
}

/// blkio.weight (10..1000) onto io.weight (1..10000).
pub fn blkio_weight_to_io(w: u16) -> u64 {
    if w == 0 {
        return 0;
    }
    1 + (u64::from(w).saturating_sub(10) * 9999) / 990
}

/// OCI memory.swap is memory+swap (v1's memsw); v2's memory.swap.max is
/// swap alone. -1 stays "max".
pub fn swap_v2(limit: Option<i64>, swap: i64) -> Result<String> {
    if swap == -1 {
        return Ok("max".into());
    }
    let Some(limit) = limit.filter(|l| *l != -1) else {
        bail!("linux.resources.memory.swap: {swap} needs a memory limit (swap counts memory+swap)");
    };
    if swap < limit {
        bail!(
            "linux.resources.memory.swap: {swap} is below the memory limit {limit} (swap counts memory+swap)"
        );
    }
    Ok((swap - limit).to_string())
}

/// "max" for -1 (and 0 where the kernel treats it as unset), else the number.
pub fn max_or(v: i64) -> String {
    if v < 0 { "max".into() } else { v.to_string() }
}

/// cpu.max: "$QUOTA $PERIOD", or "$QUOTA" alone, which keeps the period
/// the cgroup has (100000 in a new one). None and 0 are both "unset" (the
/// caller filters 0); a negative quota is "max".
pub fn cpu_max(quota: Option<i64>, period: Option<u64>) -> Option<String> {
    let q = |q: i64| if q > 0 { q.to_string() } else { "max".into() };
    match (quota, period) {
        (None, None) => None,
        (Some(quota), None) => Some(q(quota)),
        (quota, Some(p)) => Some(format!("{} {p}", quota.map_or("max".into(), q))),
    }
}

/// Check values the kernel would otherwise reject with a bare EINVAL.
pub fn validate(r: &Resources) -> Result<()> {
    if let Some(c) = &r.cpu {
        if let Some(s) = c.shares
            && s != 0
            && !(2..=262_144).contains(&s)
        {
            bail!("linux.resources.cpu.shares: {s} is outside 2..262144");
        }
        if let Some(p) = c.period
            && p != 0
            && !(1000..=1_000_000).contains(&p)
        {
            bail!("linux.resources.cpu.period: {p} is outside 1000..1000000 microseconds");
        }
    }
    if let Some(b) = &r.block_io {
        for (what, w) in [("weight", b.weight), ("leafWeight", b.leaf_weight)] {
            if let Some(w) = w
                && w != 0
                && !(10..=1000).contains(&w)
            {
                bail!("linux.resources.blockIO.{what}: {w} is outside 10..1000");
            }
        }
    }
    for (i, d) in r.devices.iter().enumerate() {
        if let Some(t) = &d.typ
            && !matches!(t.as_str(), "a" | "b" | "c")
        {
            bail!("linux.resources.devices[{i}].type: {t:?} is not a, b or c");
        }
        if let Some(a) = &d.access
            && (a.is_empty() || a.chars().any(|c| !matches!(c, 'r' | 'w' | 'm')))
        {
            bail!("linux.resources.devices[{i}].access: {a:?} is not a combination of r, w and m");
        }
    }
    for k in r.unified.keys() {
        if k.contains('/') || k.starts_with('.') || !k.contains('.') {
            bail!("linux.resources.unified: {k:?} is not a cgroup file name");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_weight() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(0), 0);
    }

    #[test]
    fn blkio_weight() {
        assert_eq!(blkio_weight_to_io(10), 1);
        assert_eq!(blkio_weight_to_io(1000), 10_000);
        assert_eq!(blkio_weight_to_io(500), 4950);
    }

    #[test]
    fn swap_conversion() {
        assert_eq!(swap_v2(Some(100), 300).unwrap(), "200");
        assert_eq!(swap_v2(Some(100), 100).unwrap(), "0");
        assert_eq!(swap_v2(Some(100), -1).unwrap(), "max");
        assert!(swap_v2(Some(100), 50).is_err());
        assert!(swap_v2(None, 50).is_err());
    }

    #[test]
    fn cpu_max_lines() {
        assert_eq!(
            cpu_max(Some(50_000), Some(100_000)).as_deref(),
            Some("50000 100000")
        );
        assert_eq!(cpu_max(Some(-1), None).as_deref(), Some("max"));
        assert_eq!(cpu_max(Some(20_000), None).as_deref(), Some("20000"));
        assert_eq!(cpu_max(None, Some(20_000)).as_deref(), Some("max 20000"));
        assert_eq!(cpu_max(None, None), None);
    }

    #[test]
    fn validation() {
        let r = Resources {
            cpu: Some(Cpu {
                shares: Some(1),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(validate(&r).unwrap_err().to_string().contains("cpu.shares"));
        let r: Resources =
            serde_json::from_str(r#"{"devices":[{"allow":true,"access":"rwx"}]}"#).unwrap();
        assert!(validate(&r).is_err());
        let r: Resources = serde_json::from_str(r#"{"unified":{"../x":"1"}}"#).unwrap();
        assert!(validate(&r).is_err());
    }
}
