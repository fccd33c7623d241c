//! linux.resources as systemd unit properties: what `systemctl show`
//! reports for the container's unit, so that systemd's view of the limits
//! stays true and a daemon-reload does not undo them. husk's own cgroup
//! layer still writes every limit to the unit's cgroup afterwards (runc
//! does the same); these properties are systemd's copy. Pure logic.

use crate::bail;
use crate::cgroups::resources::{self, DeviceRule, Resources};
use crate::dbus::wire::Value;
use crate::error::Result;

/// systemd's "infinity" for the u64 properties.
const INFINITY: u64 = u64::MAX;

type Props = Vec<(String, Value)>;

fn put(p: &mut Props, name: &str, v: Value) {
    p.retain(|(n, _)| n != name);
    p.push((name.to_string(), v));
}

fn bytes(v: i64) -> Value {
    Value::U64(if v < 0 { INFINITY } else { v as u64 })
}

/// The resource properties for `res` (only what it sets).
pub fn resource_properties(res: &Resources) -> Result<Props> {
    let mut p = Props::new();
    if let Some(m) = &res.memory {
        if let Some(l) = m.limit.filter(|l| *l != 0) {
            put(&mut p, "MemoryMax", bytes(l));
        }
        if let Some(r) = m.reservation.filter(|r| *r != 0) {
            put(&mut p, "MemoryLow", bytes(r));
        }
        if let Some(s) = m.swap.filter(|s| *s != 0) {
            let v = resources::swap_v2(m.limit, s)?;
            put(&mut p, "MemorySwapMax", max_or_number("memory.swap", &v)?);
        }
    }
    if let Some(pids) = &res.pids
        && pids.limit != 0
    {
        put(&mut p, "TasksMax", bytes(pids.limit));
    }
    if let Some(c) = &res.cpu {
        if let Some(s) = c.shares.filter(|s| *s != 0) {
            put(
                &mut p,
                "CPUWeight",
                Value::U64(resources::shares_to_weight(s)),
            );
        }
        let quota = c.quota.filter(|q| *q != 0);
        let period = c.period.filter(|p| *p != 0);
        if quota.is_some() || period.is_some() {
            if let Some(per) = period {
                put(&mut p, "CPUQuotaPeriodUSec", Value::U64(per));
            }
            put(
                &mut p,
                "CPUQuotaPerSecUSec",
                Value::U64(quota_per_sec(quota, period)),
            );
        }
        if let Some(cpus) = c.cpus.as_deref().filter(|s| !s.is_empty()) {
            put(
                &mut p,
                "AllowedCPUs",
                mask_value(&cpu_mask(cpus, "cpu.cpus")?),
            );
        }
        if let Some(mems) = c.mems.as_deref().filter(|s| !s.is_empty()) {
            put(
                &mut p,
                "AllowedMemoryNodes",
                mask_value(&cpu_mask(mems, "cpu.mems")?),
            );
        }
    }
    if let Some(w) = res
        .block_io
        .as_ref()
        .and_then(|b| b.weight)
        .filter(|w| *w != 0)
    {
        put(
            &mut p,
            "IOWeight",
            Value::U64(resources::blkio_weight_to_io(w)),
        );
    }
    unified_properties(res, &mut p)?;
    Ok(p)
}

/// The unified map's keys that systemd has a property for; the rest only
/// go to the cgroup files.
fn unified_properties(res: &Resources, p: &mut Props) -> Result<()> {
    for (k, v) in &res.unified {
        let v = v.trim();
        let prop = match k.as_str() {
            "memory.max" => "MemoryMax",
            "memory.high" => "MemoryHigh",
            "memory.low" => "MemoryLow",
            "memory.min" => "MemoryMin",
            "memory.swap.max" => "MemorySwapMax",
            "pids.max" => "TasksMax",
            "cpu.weight" => "CPUWeight",
            "io.weight" => "IOWeight",
            "cpuset.cpus" => {
                put(p, "AllowedCPUs", mask_value(&cpu_mask(v, k)?));
                continue;
            }
            "cpuset.mems" => {
                put(p, "AllowedMemoryNodes", mask_value(&cpu_mask(v, k)?));
                continue;
            }
            "cpu.max" => {
                let mut f = v.split_whitespace();
                let quota = match f.next() {
                    Some("max") | None => None,
                    Some(q) => Some(number(k, q)? as i64),
                };
                let period = f.next().map(|s| number(k, s)).transpose()?;
                if let Some(per) = period {
                    put(p, "CPUQuotaPeriodUSec", Value::U64(per));
                }
                put(
                    p,
                    "CPUQuotaPerSecUSec",
                    Value::U64(quota_per_sec(quota, period)),
                );
                continue;
            }
            _ => continue,
        };
        put(p, prop, max_or_number(k, v)?);
    }
    Ok(())
}

fn number(key: &str, v: &str) -> Result<u64> {
    match v.parse::<u64>() {
        Ok(n) => Ok(n),
        Err(_) => bail!("linux.resources.unified[{key:?}]: {v:?} is not a number"),
    }
}

fn max_or_number(key: &str, v: &str) -> Result<Value> {
    if v == "max" {
        return Ok(Value::U64(INFINITY));
    }
    Ok(Value::U64(number(key, v)?))
}

/// CPU time per second of wall time, in µs, as systemd stores the quota.
/// systemd keeps it in whole 10 ms steps (it prints "CPUQuota=" in
/// percent), so round up as runc does, never granting less than asked.
pub fn quota_per_sec(quota: Option<i64>, period: Option<u64>) -> u64 {
    let Some(q) = quota.filter(|q| *q > 0) else {
        return INFINITY;
    };
    let period = period.unwrap_or(100_000).max(1);
    let per_sec = (q as u64).saturating_mul(1_000_000) / period;
    per_sec.div_ceil(10_000) * 10_000
}

/// "0-3,8" → the CPUs' (or nodes') numbers.
pub fn cpu_mask(list: &str, what: &str) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    for part in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (Ok(a), Ok(b)) = (a.trim().parse::<u32>(), b.trim().parse::<u32>()) else {
            bail!("linux.resources.{what}: {list:?} is not a list like \"0-3,8\"");
        };
        if a > b || b >= 8192 {
            bail!("linux.resources.{what}: {part:?} is not a range of CPUs or nodes below 8192");
        }
        out.extend(a..=b);
    }
    if out.is_empty() {
        bail!("linux.resources.{what}: {list:?} names no CPU or node");
    }
    Ok(out)
}

/// systemd's bitmask ("ay"): byte i holds numbers 8i..8i+7, lowest bit
/// first.
fn mask_value(set: &[u32]) -> Value {
    let len = set.iter().max().map_or(0, |m| *m as usize / 8 + 1);
    let mut b = vec![0u8; len];
    for n in set {
        b[*n as usize / 8] |= 1 << (n % 8);
    }
    Value::Array("y".into(), b.into_iter().map(Value::Byte).collect())
}

/// DevicePolicy and DeviceAllow for the container's device rules (with
/// runc's defaults appended). systemd keeps an allow list, so this works
/// for the shape every engine writes: deny all, then allow some. Rules of
/// any other shape (a deny after an allow) have no allow-list form: then
/// systemd is told nothing ("auto", no list) and husk's own eBPF program,
/// which follows the rules in order, is what enforces them.
pub fn device_properties(rules: &[DeviceRule], proc_devices: &str) -> Props {
    let mut all = rules.to_vec();
    all.extend(resources::default_device_rules());
    let is_all = |r: &DeviceRule| {
        matches!(r.typ.as_deref(), None | Some("a"))
            && r.major.is_none_or(|m| m < 0)
            && r.minor.is_none_or(|m| m < 0)
    };
    let last_all = all.iter().rposition(is_all);
    let auto = || {
        vec![
            ("DevicePolicy".to_string(), Value::str("auto")),
            (
                "DeviceAllow".to_string(),
                Value::Array("(ss)".into(), vec![]),
            ),
        ]
    };
    let start = match last_all {
        Some(i) if all[i].allow => {
            // Allow all, then maybe some denies: no allow list says that.
            return auto();
        }
        Some(i) => i + 1,
        None => 0,
    };
    if all[start..].iter().any(|r| !r.allow) {
        tracing::debug!(
            "device rules deny after they allow: systemd gets no device list, husk's eBPF filter enforces them"
        );
        return auto();
    }
    let mut allow = Vec::new();
    for r in &all[start..] {
        let access = r.access.clone().unwrap_or_else(|| "rwm".into());
        let types: &[&str] = match r.typ.as_deref() {
            Some("b") => &["block"],
            Some("c") => &["char"],
            _ => &["char", "block"],
        };
        for t in types {
            let path = match (r.major.filter(|m| *m >= 0), r.minor.filter(|m| *m >= 0)) {
                (None, None) => format!("{t}-*"),
                (Some(maj), Some(min)) => format!("/dev/{t}/{maj}:{min}"),
                (Some(maj), None) => match group_name(proc_devices, t, maj) {
                    Some(name) => format!("{t}-{name}"),
                    None => {
                        tracing::debug!("no {t} device group with major {maj} in /proc/devices");
                        continue;
                    }
                },
                (None, Some(min)) => {
                    tracing::warn!(
                        "device rule {t} *:{min} has no systemd form; husk's eBPF filter alone enforces it"
                    );
                    continue;
                }
            };
            allow.push(Value::Struct(vec![
                Value::Str(path),
                Value::Str(access.clone()),
            ]));
        }
    }
    vec![
        ("DevicePolicy".to_string(), Value::str("strict")),
        (
            "DeviceAllow".to_string(),
            Value::Array("(ss)".into(), allow),
        ),
    ]
}

/// The group name /proc/devices gives a major ("136 pts" → "pts").
fn group_name(proc_devices: &str, typ: &str, major: i64) -> Option<String> {
    let header = if typ == "char" {
        "Character devices:"
    } else {
        "Block devices:"
    };
    let mut in_section = false;
    for line in proc_devices.lines() {
        if line.ends_with("devices:") {
            in_section = line == header;
            continue;
        }
        let mut f = line.split_whitespace();
        if in_section
            && f.next().and_then(|n| n.parse::<i64>().ok()) == Some(major)
            && let Some(name) = f.next()
        {
            return Some(name.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::resources::{Cpu, Memory, Pids};

    fn get<'a>(p: &'a Props, name: &str) -> Option<&'a Value> {
        p.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    #[test]
    fn limits_become_properties() {
        let res = Resources {
            memory: Some(Memory {
                limit: Some(64 << 20),
                reservation: Some(32 << 20),
                swap: Some(96 << 20),
                ..Default::default()
            }),
            pids: Some(Pids { limit: 20 }),
            cpu: Some(Cpu {
                shares: Some(1024),
                quota: Some(50_000),
                period: Some(100_000),
                cpus: Some("0-1,9".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let p = resource_properties(&res).unwrap();
        assert_eq!(get(&p, "MemoryMax"), Some(&Value::U64(64 << 20)));
        assert_eq!(get(&p, "MemoryLow"), Some(&Value::U64(32 << 20)));
        assert_eq!(get(&p, "MemorySwapMax"), Some(&Value::U64(32 << 20)));
        assert_eq!(get(&p, "TasksMax"), Some(&Value::U64(20)));
        assert_eq!(get(&p, "CPUWeight"), Some(&Value::U64(39)));
        assert_eq!(get(&p, "CPUQuotaPerSecUSec"), Some(&Value::U64(500_000)));
        assert_eq!(get(&p, "CPUQuotaPeriodUSec"), Some(&Value::U64(100_000)));
        assert_eq!(
            get(&p, "AllowedCPUs"),
            Some(&Value::Array(
                "y".into(),
                vec![Value::Byte(3), Value::Byte(2)]
            ))
        );
    }

    #[test]
    fn unlimited_and_unified() {
        let mut res = Resources {
            memory: Some(Memory {
                limit: Some(-1),
                ..Default::default()
            }),
            pids: Some(Pids { limit: -1 }),
            ..Default::default()
        };
        res.unified.insert("memory.high".into(), "max".into());
        res.unified.insert("cpu.max".into(), "25000 50000".into());
        res.unified.insert("memory.oom.group".into(), "1".into());
        let p = resource_properties(&res).unwrap();
        assert_eq!(get(&p, "MemoryMax"), Some(&Value::U64(u64::MAX)));
        assert_eq!(get(&p, "TasksMax"), Some(&Value::U64(u64::MAX)));
        assert_eq!(get(&p, "MemoryHigh"), Some(&Value::U64(u64::MAX)));
        assert_eq!(get(&p, "CPUQuotaPerSecUSec"), Some(&Value::U64(500_000)));
        assert_eq!(get(&p, "CPUQuotaPeriodUSec"), Some(&Value::U64(50_000)));
        assert_eq!(p.len(), 5, "memory.oom.group has no property: {p:?}");
        res.unified.insert("pids.max".into(), "lots".into());
        assert!(resource_properties(&res).is_err());
    }

    #[test]
    fn quota_rounds_up_to_10ms() {
        assert_eq!(quota_per_sec(Some(1), Some(100_000)), 10_000);
        assert_eq!(quota_per_sec(Some(123_456), None), 1_240_000);
        assert_eq!(quota_per_sec(None, Some(100_000)), u64::MAX);
        assert_eq!(quota_per_sec(Some(-1), None), u64::MAX);
    }

    #[test]
    fn masks() {
        assert_eq!(cpu_mask("0-2, 7", "cpu.cpus").unwrap(), vec![0, 1, 2, 7]);
        assert!(cpu_mask("2-1", "cpu.cpus").is_err());
        assert!(cpu_mask("x", "cpu.cpus").is_err());
        assert!(cpu_mask("", "cpu.cpus").is_err());
    }

    #[test]
    fn devices_deny_all_then_allow() {
        let proc_devices = "Character devices:\n  1 mem\n136 pts\n\nBlock devices:\n  8 sd\n";
        let rules = vec![
            DeviceRule {
                allow: false,
                access: Some("rwm".into()),
                ..Default::default()
            },
            DeviceRule {
                allow: true,
                typ: Some("c".into()),
                major: Some(10),
                minor: Some(229),
                access: Some("rw".into()),
            },
        ];
        let p = device_properties(&rules, proc_devices);
        assert_eq!(get(&p, "DevicePolicy"), Some(&Value::str("strict")));
        let Some(Value::Array(_, allow)) = get(&p, "DeviceAllow") else {
            panic!("{p:?}")
        };
        let pairs: Vec<String> = allow
            .iter()
            .map(|v| match v {
                Value::Struct(f) => {
                    format!("{} {}", f[0].as_str().unwrap(), f[1].as_str().unwrap())
                }
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(pairs[0], "/dev/char/10:229 rw");
        assert!(pairs.contains(&"block-* m".to_string()), "{pairs:?}");
        assert!(pairs.contains(&"char-pts rwm".to_string()), "{pairs:?}");
        assert!(
            pairs.contains(&"/dev/char/1:3 rwm".to_string()),
            "{pairs:?}"
        );
        // A deny after an allow: no allow list.
        let mut odd = rules.clone();
        odd.push(DeviceRule {
            allow: false,
            typ: Some("c".into()),
            major: Some(1),
            minor: Some(3),
            access: Some("w".into()),
        });
        let odd = device_properties(&odd, proc_devices);
        assert_eq!(get(&odd, "DevicePolicy"), Some(&Value::str("auto")));
    }
}
