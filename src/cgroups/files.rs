//! Which cgroup files a linux.resources section becomes, for v1 and for v2.
//! Pure: the result is a list of (file, value) writes, checked in unit tests
//! and then applied, each confirmed, by the hierarchy code.
//!
//! As in runc, 0 means "leave it as it is" for the memory limits, the CPU
//! numbers, the pids limit and the block IO weights, and "" for the cpuset
//! strings: `docker update` sends every field, 0 for those it does not
//! change. -1 (or "max") is "no limit". The deprecated kernel memory limits
//! (memory.kernel, kernelTCP) are ignored, as runc 1.1 ignores them.

use super::resources::{self as r, Resources, ThrottleDevice};
use crate::bail;
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub file: String,
    pub value: String,
    /// Tried when `file` does not exist (io.bfq.weight → io.weight).
    pub fallback: Option<(String, String)>,
    /// Skipped when `file` does not exist: "no swap limit" implied by "no
    /// memory limit" on a kernel without swap accounting.
    pub optional: bool,
}

fn w(file: impl Into<String>, value: impl ToString) -> Write {
    Write {
        file: file.into(),
        value: value.to_string(),
        fallback: None,
        optional: false,
    }
}

/// A value OCI leaves unset by giving 0.
fn set<T: Default + PartialEq>(v: Option<T>) -> Option<T> {
    v.filter(|v| *v != T::default())
}

/// Whether a memory section sets anything husk writes (kernel memory is
/// ignored; 0 is unset).
fn memory_set(m: &r::Memory) -> bool {
    set(m.limit).is_some()
        || set(m.reservation).is_some()
        || set(m.swap).is_some()
        || m.swappiness.is_some()
        || m.disable_oom_killer == Some(true)
}

fn cpu_set(c: &r::Cpu) -> bool {
    set(c.shares).is_some()
        || set(c.quota).is_some()
        || set(c.period).is_some()
        || c.burst.is_some()
        || c.idle.is_some()
        || set(c.realtime_period).is_some()
        || set(c.realtime_runtime).is_some()
}

fn block_io_set(b: &r::BlockIo) -> bool {
    set(b.weight).is_some()
        || set(b.leaf_weight).is_some()
        || !b.weight_device.is_empty()
        || !b.throttle_read_bps_device.is_empty()
        || !b.throttle_write_bps_device.is_empty()
        || !b.throttle_read_iops_device.is_empty()
        || !b.throttle_write_iops_device.is_empty()
}

/// The deprecated kernel memory fields, if the section has them.
pub fn kernel_memory(res: &Resources) -> (Option<i64>, Option<i64>) {
    res.memory
        .as_ref()
        .map_or((None, None), |m| (m.kernel, m.kernel_tcp))
}

/// The controllers (v1 names) a resources section needs.
pub fn needed(res: &Resources) -> Vec<&'static str> {
    let mut v = Vec::new();
    if res.memory.as_ref().is_some_and(memory_set) {
        v.push("memory");
    }
    if let Some(c) = &res.cpu {
        if cpu_set(c) {
            v.push("cpu");
        }
        if c.cpus.as_deref().is_some_and(|s| !s.is_empty())
            || c.mems.as_deref().is_some_and(|s| !s.is_empty())
        {
            v.push("cpuset");
        }
    }
    if res.pids.as_ref().is_some_and(|p| p.limit != 0) {
        v.push("pids");
    }
    if res.block_io.as_ref().is_some_and(block_io_set) {
        v.push("blkio");
    }
    if !res.hugepage_limits.is_empty() {
        v.push("hugetlb");
    }
    if !res.rdma.is_empty() {
        v.push("rdma");
    }
    if let Some(n) = &res.network {
        if n.class_id.is_some() {
            v.push("net_cls");
        }
        if !n.priorities.is_empty() {
            v.push("net_prio");
        }
    }
    if !res.devices.is_empty() {
        v.push("devices");
    }
    v
}

/// The v2 name of a v1 controller.
pub fn v2_name(c: &str) -> &str {
    match c {
        "blkio" => "io",
        other => other,
    }
}

fn throttle(lines: &mut Vec<(i64, i64, String)>, devs: &[ThrottleDevice], key: &str) {
    for d in devs {
        lines.push((d.major, d.minor, format!("{key}={}", d.rate)));
    }
}

pub fn v2(controller: &str, res: &Resources) -> Result<Vec<Write>> {
    let mut out = Vec::new();
    match controller {
        "memory" => {
            let m = res.memory.clone().unwrap_or_default();
            if m.swappiness.is_some() {
                bail!("linux.resources.memory.swappiness: cgroup v2 has no per-cgroup swappiness");
            }
            if m.disable_oom_killer == Some(true) {
                bail!(
                    "linux.resources.memory.disableOOMKiller: cgroup v2 cannot disable the OOM killer"
                );
            }
            let limit = set(m.limit);
            match set(m.swap) {
                Some(s) => out.push(w("memory.swap.max", r::swap_v2(limit, s)?)),
                // No memory limit and no word on swap: no swap limit either.
                None if limit == Some(-1) => out.push(Write {
                    optional: true,
                    ..w("memory.swap.max", "max")
                }),
                None => {}
            }
            if let Some(l) = limit {
                out.push(w("memory.max", r::max_or(l)));
            }
            if let Some(res) = set(m.reservation) {
                out.push(w("memory.low", r::max_or(res)));
            }
        }
        "cpu" => {
            let c = res.cpu.clone().unwrap_or_default();
            if c.realtime_runtime.is_some_and(|v| v != 0)
                || c.realtime_period.is_some_and(|v| v != 0)
            {
                bail!(
                    "linux.resources.cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no realtime CPU budget"
                );
            }
            if let Some(s) = c.shares.filter(|s| *s != 0) {
                out.push(w("cpu.weight", r::shares_to_weight(s)));
            }
            if let Some(m) = r::cpu_max(set(c.quota), set(c.period)) {
                out.push(w("cpu.max", m));
            }
            if let Some(b) = c.burst {
                out.push(w("cpu.max.burst", b));
            }
            if let Some(i) = c.idle {
                out.push(w("cpu.idle", i));
            }
        }
        "cpuset" => out.extend(cpuset_writes(res)),
        "pids" => out.extend(pids_write(res)),
        "blkio" | "io" => {
            let b = res.block_io.clone().unwrap_or_default();
            if b.leaf_weight.is_some() || b.weight_device.iter().any(|d| d.leaf_weight.is_some()) {
                bail!("linux.resources.blockIO.leafWeight: cgroup v2 has no leaf weight");
            }
            if let Some(wt) = b.weight.filter(|w| *w != 0) {
                out.push(Write {
                    file: "io.bfq.weight".into(),
                    value: wt.to_string(),
                    fallback: Some((
                        "io.weight".into(),
                        format!("default {}", r::blkio_weight_to_io(wt)),
                    )),
                    optional: false,
                });
            }
            for d in &b.weight_device {
                if let Some(wt) = d.weight {
                    out.push(Write {
                        file: "io.bfq.weight".into(),
                        value: format!("{}:{} {wt}", d.major, d.minor),
                        fallback: Some((
                            "io.weight".into(),
                            format!("{}:{} {}", d.major, d.minor, r::blkio_weight_to_io(wt)),
                        )),
                        optional: false,
                    });
                }
            }
            let mut lines = Vec::new();
            throttle(&mut lines, &b.throttle_read_bps_device, "rbps");
            throttle(&mut lines, &b.throttle_write_bps_device, "wbps");
            throttle(&mut lines, &b.throttle_read_iops_device, "riops");
            throttle(&mut lines, &b.throttle_write_iops_device, "wiops");
            for (ma, mi, kv) in lines {
                out.push(w("io.max", format!("{ma}:{mi} {kv}")));
            }
        }
        "hugetlb" => {
            for h in &res.hugepage_limits {
                out.push(w(format!("hugetlb.{}.max", h.page_size), h.limit));
            }
        }
        "rdma" => out.extend(rdma_writes(res)),
        "net_cls" | "net_prio" => {
            bail!("linux.resources.network: net_cls and net_prio exist only on cgroup v1")
        }
        _ => {}
    }
    Ok(out)
}

/// The same files on v1 and v2.
fn cpuset_writes(res: &Resources) -> Vec<Write> {
    let c = res.cpu.clone().unwrap_or_default();
    let mut out = Vec::new();
    if let Some(s) = c.cpus.filter(|s| !s.is_empty()) {
        out.push(w("cpuset.cpus", s));
    }
    if let Some(s) = c.mems.filter(|s| !s.is_empty()) {
        out.push(w("cpuset.mems", s));
    }
    out
}

/// -1 (any negative) is "no limit", which the kernel spells "max"; 0 leaves
/// pids.max as it is, as runc does (a new cgroup's is "max").
fn pids_write(res: &Resources) -> Option<Write> {
    let l = res.pids.as_ref().map_or(0, |p| p.limit);
    match l {
        0 => None,
        l if l < 0 => Some(w("pids.max", "max")),
        l => Some(w("pids.max", l)),
    }
}

fn rdma_writes(res: &Resources) -> Vec<Write> {
    res.rdma
        .iter()
        .map(|(dev, l)| {
            let mut v = dev.clone();
            if let Some(h) = l.hca_handles {
                v.push_str(&format!(" hca_handle={h}"));
            }
            if let Some(o) = l.hca_objects {
                v.push_str(&format!(" hca_object={o}"));
            }
            w("rdma.max", v)
        })
        .collect()
}

pub fn v1(controller: &str, res: &Resources) -> Result<Vec<Write>> {
    let mut out = Vec::new();
    match controller {
        "memory" => {
            let m = res.memory.clone().unwrap_or_default();
            let limit = set(m.limit);
            if let Some(l) = limit {
                out.push(w("memory.limit_in_bytes", l));
            }
            match set(m.swap) {
                Some(s) => out.push(w("memory.memsw.limit_in_bytes", s)),
                // runc: no memory limit and no word on swap is no swap
                // limit either, where the kernel accounts swap.
                None if limit == Some(-1) => out.push(Write {
                    optional: true,
                    ..w("memory.memsw.limit_in_bytes", -1)
                }),
                None => {}
            }
            if let Some(r) = set(m.reservation) {
                out.push(w("memory.soft_limit_in_bytes", r));
            }
            if let Some(s) = m.swappiness {
                if s > 100 {
                    bail!("linux.resources.memory.swappiness: {s} is above 100");
                }
                out.push(w("memory.swappiness", s));
            }
            if m.disable_oom_killer == Some(true) {
                out.push(w("memory.oom_control", 1));
            }
        }
        "cpu" => {
            let c = res.cpu.clone().unwrap_or_default();
            if let Some(s) = c.shares.filter(|s| *s != 0) {
                out.push(w("cpu.shares", s));
            }
            if let Some(p) = c.period.filter(|p| *p != 0) {
                out.push(w("cpu.cfs_period_us", p));
            }
            if let Some(q) = c.quota.filter(|q| *q != 0) {
                out.push(w("cpu.cfs_quota_us", q));
            }
            if let Some(b) = c.burst {
                out.push(w("cpu.cfs_burst_us", b));
            }
            if let Some(p) = c.realtime_period.filter(|p| *p != 0) {
                out.push(w("cpu.rt_period_us", p));
            }
            if let Some(rt) = c.realtime_runtime.filter(|r| *r != 0) {
                out.push(w("cpu.rt_runtime_us", rt));
            }
            if let Some(i) = c.idle {
                out.push(w("cpu.idle", i));
            }
        }
        "cpuset" => out.extend(cpuset_writes(res)),
        "pids" => out.extend(pids_write(res)),
        "blkio" => {
            let b = res.block_io.clone().unwrap_or_default();
            if let Some(wt) = b.weight.filter(|w| *w != 0) {
                out.push(Write {
                    file: "blkio.weight".into(),
                    value: wt.to_string(),
                    fallback: Some(("blkio.bfq.weight".into(), wt.to_string())),
                    optional: false,
                });
            }
            if let Some(lw) = b.leaf_weight.filter(|w| *w != 0) {
                out.push(w("blkio.leaf_weight", lw));
            }
            for d in &b.weight_device {
                if let Some(wt) = d.weight {
                    out.push(Write {
                        file: "blkio.weight_device".into(),
                        value: format!("{}:{} {wt}", d.major, d.minor),
                        fallback: Some((
                            "blkio.bfq.weight_device".into(),
                            format!("{}:{} {wt}", d.major, d.minor),
                        )),
                        optional: false,
                    });
                }
                if let Some(lw) = d.leaf_weight {
                    out.push(w(
                        "blkio.leaf_weight_device",
                        format!("{}:{} {lw}", d.major, d.minor),
                    ));
                }
            }
            for (file, devs) in [
                (
                    "blkio.throttle.read_bps_device",
                    &b.throttle_read_bps_device,
                ),
                (
                    "blkio.throttle.write_bps_device",
                    &b.throttle_write_bps_device,
                ),
                (
                    "blkio.throttle.read_iops_device",
                    &b.throttle_read_iops_device,
                ),
                (
                    "blkio.throttle.write_iops_device",
                    &b.throttle_write_iops_device,
                ),
            ] {
                for d in devs {
                    out.push(w(file, format!("{}:{} {}", d.major, d.minor, d.rate)));
                }
            }
        }
        "hugetlb" => {
            for h in &res.hugepage_limits {
                out.push(w(
                    format!("hugetlb.{}.limit_in_bytes", h.page_size),
                    h.limit,
                ));
            }
        }
        "rdma" => out.extend(rdma_writes(res)),
        "net_cls" => {
            if let Some(id) = res.network.as_ref().and_then(|n| n.class_id) {
                out.push(w("net_cls.classid", id));
            }
        }
        "net_prio" => {
            for p in res.network.iter().flat_map(|n| &n.priorities) {
                out.push(w(
                    "net_prio.ifpriomap",
                    format!("{} {}", p.name, p.priority),
                ));
            }
        }
        "devices" => {
            // Start from deny-all, then replay the rules in order: the
            // kernel's own list semantics give "last rule wins".
            out.push(w("devices.deny", "a"));
            for d in &res.devices {
                out.push(w(
                    if d.allow {
                        "devices.allow"
                    } else {
                        "devices.deny"
                    },
                    device_rule_v1(d),
                ));
            }
        }
        _ => {}
    }
    Ok(out)
}

/// "c 1:3 rwm" / "a *:* rwm".
pub fn device_rule_v1(d: &r::DeviceRule) -> String {
    let t = d.typ.as_deref().unwrap_or("a");
    let num = |n: Option<i64>| {
        n.filter(|n| *n >= 0)
            .map_or("*".to_string(), |n| n.to_string())
    };
    let access = d.access.as_deref().unwrap_or("rwm");
    format!("{t} {}:{} {access}", num(d.major), num(d.minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(json: &str) -> Resources {
        serde_json::from_str(json).unwrap()
    }

    fn files(v: &[Write]) -> Vec<(String, String)> {
        v.iter()
            .map(|w| (w.file.clone(), w.value.clone()))
            .collect()
    }

    #[test]
    fn memory_v2_converts_swap() {
        let r = res(r#"{"memory":{"limit":1048576,"swap":3145728,"reservation":524288}}"#);
        assert_eq!(
            files(&v2("memory", &r).unwrap()),
            // swap first, as runc writes them: a lower memory.max would
            // otherwise meet the old, larger swap limit.
            vec![
                ("memory.swap.max".into(), "2097152".into()),
                ("memory.max".into(), "1048576".into()),
                ("memory.low".into(), "524288".into()),
            ]
        );
        assert!(v2("memory", &res(r#"{"memory":{"swappiness":10}}"#)).is_err());
    }

    #[test]
    fn memory_v1_keeps_memsw() {
        let r =
            res(r#"{"memory":{"limit":100,"swap":300,"swappiness":5,"disableOOMKiller":true}}"#);
        let f = files(&v1("memory", &r).unwrap());
        assert!(f.contains(&("memory.memsw.limit_in_bytes".into(), "300".into())));
        assert!(f.contains(&("memory.swappiness".into(), "5".into())));
        assert!(f.contains(&("memory.oom_control".into(), "1".into())));
    }

    #[test]
    fn cpu_v2() {
        let r = res(r#"{"cpu":{"shares":1024,"quota":50000,"period":100000,"burst":1000}}"#);
        assert_eq!(
            files(&v2("cpu", &r).unwrap()),
            vec![
                ("cpu.weight".into(), "39".into()),
                ("cpu.max".into(), "50000 100000".into()),
                ("cpu.max.burst".into(), "1000".into()),
            ]
        );
        assert!(v2("cpu", &res(r#"{"cpu":{"realtimeRuntime":5}}"#)).is_err());
    }

    #[test]
    fn io_max_lines() {
        let r = res(
            r#"{"blockIO":{"weight":500,"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1048576}],"throttleWriteIOPSDevice":[{"major":8,"minor":0,"rate":100}]}}"#,
        );
        let v = v2("blkio", &r).unwrap();
        assert_eq!(v[0].file, "io.bfq.weight");
        assert_eq!(
            v[0].fallback,
            Some(("io.weight".into(), "default 4950".into()))
        );
        assert_eq!(v[1].value, "8:0 rbps=1048576");
        assert_eq!(v[2].value, "8:0 wiops=100");
    }

    #[test]
    fn pids_zero_is_unset_and_negative_unlimited() {
        assert!(
            v2("pids", &res(r#"{"pids":{"limit":0}}"#))
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            v2("pids", &res(r#"{"pids":{"limit":-1}}"#)).unwrap()[0].value,
            "max"
        );
        assert_eq!(
            v1("pids", &res(r#"{"pids":{"limit":7}}"#)).unwrap()[0].value,
            "7"
        );
    }

    /// What `docker update --pids-limit 50` sends: 0 for every field it
    /// does not change. Only pids.max may be written, on v1 and on v2.
    #[test]
    fn docker_update_zeros_write_nothing_but_pids() {
        let r = res(
            r#"{"memory":{"limit":0,"reservation":0,"kernel":0},"cpu":{"shares":0,"quota":0,"period":0},"pids":{"limit":50},"blockIO":{"weight":0}}"#,
        );
        assert_eq!(needed(&r), vec!["pids"]);
        for c in ["memory", "cpu", "cpuset", "blkio"] {
            assert!(files(&v1(c, &r).unwrap()).is_empty(), "v1 {c}");
            assert!(files(&v2(c, &r).unwrap()).is_empty(), "v2 {c}");
        }
        assert_eq!(
            files(&v1("pids", &r).unwrap()),
            vec![("pids.max".into(), "50".into())]
        );
    }

    #[test]
    fn kernel_memory_is_ignored() {
        let r = res(r#"{"memory":{"kernel":67108864,"kernelTCP":1048576}}"#);
        assert!(needed(&r).is_empty());
        assert!(v1("memory", &r).unwrap().is_empty());
        assert!(v2("memory", &r).unwrap().is_empty());
        assert_eq!(kernel_memory(&r), (Some(67108864), Some(1048576)));
        let r = res(r#"{"memory":{"limit":1048576,"kernel":67108864}}"#);
        assert_eq!(
            files(&v1("memory", &r).unwrap()),
            vec![("memory.limit_in_bytes".into(), "1048576".into())]
        );
    }

    /// -1 without a swap value lifts the swap limit too, where the kernel
    /// has one (runc's setMemoryAndSwap).
    #[test]
    fn no_memory_limit_is_no_swap_limit() {
        let r = res(r#"{"memory":{"limit":-1}}"#);
        let v = v1("memory", &r).unwrap();
        assert_eq!(
            files(&v),
            vec![
                ("memory.limit_in_bytes".into(), "-1".into()),
                ("memory.memsw.limit_in_bytes".into(), "-1".into()),
            ]
        );
        assert!(v[1].optional && !v[0].optional);
        let v = v2("memory", &r).unwrap();
        assert_eq!(
            files(&v),
            vec![
                ("memory.swap.max".into(), "max".into()),
                ("memory.max".into(), "max".into()),
            ]
        );
        assert!(v[0].optional);
    }

    #[test]
    fn devices_v1_rules() {
        let r = res(
            r#"{"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"}]}"#,
        );
        assert_eq!(
            files(&v1("devices", &r).unwrap()),
            vec![
                ("devices.deny".into(), "a".into()),
                ("devices.deny".into(), "a *:* rwm".into()),
                ("devices.allow".into(), "c 1:3 rw".into()),
            ]
        );
    }

    #[test]
    fn needed_controllers() {
        let r = res(
            r#"{"memory":{"limit":1},"cpu":{"cpus":"0"},"pids":{"limit":5},"network":{"classID":1}}"#,
        );
        assert_eq!(needed(&r), vec!["memory", "cpuset", "pids", "net_cls"]);
    }
}
