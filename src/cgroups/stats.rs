//! Usage numbers from the container's cgroup, in the JSON shape of runc's
//! `events --stats` (what containerd's and podman's tooling read).

use std::path::Path;

use serde_json::{Map, Value, json};

use super::manager::Cgroup;

fn read(dir: &Path, file: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(file)).ok()
}

fn num(dir: &Path, file: &str) -> u64 {
    read(dir, file)
        .map(|s| {
            let t = s.trim();
            if t == "max" {
                u64::MAX
            } else {
                t.parse().unwrap_or(0)
            }
        })
        .unwrap_or(0)
}

/// "key value" lines (cpu.stat, memory.stat, memory.events).
fn kv(dir: &Path, file: &str) -> Map<String, Value> {
    read(dir, file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), json!(v.trim().parse::<u64>().ok()?)))
        })
        .collect()
}

fn get(m: &Map<String, Value>, k: &str) -> u64 {
    m.get(k).and_then(Value::as_u64).unwrap_or(0)
}

fn dir_with<'a>(cg: &'a Cgroup, controller: &str) -> Option<(&'a Path, bool)> {
    cg.dirs
        .iter()
        .find(|d| !d.v2 && d.controllers.iter().any(|c| c == controller))
        .or_else(|| {
            cg.dirs
                .iter()
                .find(|d| d.v2 && d.controllers.iter().any(|c| c == controller))
        })
        .map(|d| (d.path.as_path(), d.v2))
}

/// Hugepage sizes the hierarchy knows, from its file names.
fn huge_sizes(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().into_string().ok()?;
            let rest = n.strip_prefix("hugetlb.")?;
            let (size, _) = rest.split_once('.')?;
            Some(size.to_string())
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// "8:0 Read 4096" (v1) or "8:0 rbytes=1 wbytes=2 ..." (v2) → runc's entries.
fn io_entries(text: &str, v2: bool) -> (Vec<Value>, Vec<Value>) {
    let mut bytes = Vec::new();
    let mut ios = Vec::new();
    for l in text.lines() {
        let mut f = l.split_whitespace();
        let Some(dev) = f.next() else { continue };
        let Some((ma, mi)) = dev.split_once(':') else {
            continue;
        };
        let (ma, mi) = (
            ma.parse::<u64>().unwrap_or(0),
            mi.parse::<u64>().unwrap_or(0),
        );
        if v2 {
            for kv in f {
                let Some((k, v)) = kv.split_once('=') else {
                    continue;
                };
                let v = v.parse::<u64>().unwrap_or(0);
                let (list, op) = match k {
                    "rbytes" => (&mut bytes, "Read"),
                    "wbytes" => (&mut bytes, "Write"),
                    "rios" => (&mut ios, "Read"),
                    "wios" => (&mut ios, "Write"),
                    _ => continue,
                };
                list.push(json!({"major": ma, "minor": mi, "op": op, "value": v}));
            }
        } else if let (Some(op), Some(v)) = (f.next(), f.next()) {
            bytes.push(
                json!({"major": ma, "minor": mi, "op": op, "value": v.parse::<u64>().unwrap_or(0)}),
            );
        }
    }
    (bytes, ios)
}

pub fn collect(cg: &Cgroup) -> Value {
    let mut data = Map::new();
    // CPU: v1 splits it over cpuacct and cpu; v2 has one cpu.stat.
    if let Some((d, true)) = dir_with(cg, "cpu").or_else(|| cg.v2_dir().map(|p| (p, true))) {
        let s = kv(d, "cpu.stat");
        data.insert(
            "cpu".into(),
            json!({
                "usage": {"total": get(&s, "usage_usec") * 1000, "kernel": get(&s, "system_usec") * 1000, "user": get(&s, "user_usec") * 1000},
                "throttling": {"periods": get(&s, "nr_periods"), "throttled_periods": get(&s, "nr_throttled"), "throttled_time": get(&s, "throttled_usec") * 1000},
            }),
        );
    } else {
        let mut cpu = json!({"usage": {}, "throttling": {}});
        if let Some((d, _)) = dir_with(cg, "cpuacct") {
            let percpu: Vec<u64> = read(d, "cpuacct.usage_percpu")
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            let st = kv(d, "cpuacct.stat");
            // cpuacct.stat counts USER_HZ (100/s) ticks.
            cpu["usage"] = json!({"total": num(d, "cpuacct.usage"), "percpu": percpu,
                "kernel": get(&st, "system") * 10_000_000, "user": get(&st, "user") * 10_000_000});
        }
        if let Some((d, _)) = dir_with(cg, "cpu") {
            let s = kv(d, "cpu.stat");
            cpu["throttling"] = json!({"periods": get(&s, "nr_periods"), "throttled_periods": get(&s, "nr_throttled"), "throttled_time": get(&s, "throttled_time")});
        }
        data.insert("cpu".into(), cpu);
    }
    if let Some((d, v2)) = dir_with(cg, "memory") {
        let raw = kv(d, "memory.stat");
        let m = if v2 {
            let ev = kv(d, "memory.events");
            json!({
                "usage": {"usage": num(d, "memory.current"), "limit": num(d, "memory.max"), "max": num(d, "memory.peak"), "failcnt": get(&ev, "max")},
                "swap": {"usage": num(d, "memory.swap.current"), "limit": num(d, "memory.swap.max")},
                "cache": get(&raw, "file"),
                "raw": raw,
            })
        } else {
            let u = |p: &str| json!({"usage": num(d, &format!("{p}usage_in_bytes")), "limit": num(d, &format!("{p}limit_in_bytes")), "max": num(d, &format!("{p}max_usage_in_bytes")), "failcnt": num(d, &format!("{p}failcnt"))});
            json!({
                "usage": u("memory."),
                "swap": u("memory.memsw."),
                "kernel": u("memory.kmem."),
                "kernelTCP": u("memory.kmem.tcp."),
                "cache": get(&raw, "cache"),
                "use_hierarchy": num(d, "memory.use_hierarchy") == 1,
                "raw": raw,
            })
        };
        data.insert("memory".into(), m);
    }
    if let Some((d, _)) = dir_with(cg, "pids") {
        let limit = num(d, "pids.max");
        data.insert(
            "pids".into(),
            json!({"current": num(d, "pids.current"), "limit": if limit == u64::MAX { 0 } else { limit }}),
        );
    }
    if let Some((d, v2)) = dir_with(
        cg,
        if cg.v2_dir().is_some() && cg.unified_mode {
            "io"
        } else {
            "blkio"
        },
    ) {
        let (bytes, ios) = if v2 {
            io_entries(&read(d, "io.stat").unwrap_or_default(), true)
        } else {
            let (b, _) = io_entries(
                &read(d, "blkio.throttle.io_service_bytes_recursive").unwrap_or_default(),
                false,
            );
            let (s, _) = io_entries(
                &read(d, "blkio.throttle.io_serviced_recursive").unwrap_or_default(),
                false,
            );
            (b, s)
        };
        data.insert(
            "blkio".into(),
            json!({"ioServiceBytesRecursive": bytes, "ioServicedRecursive": ios}),
        );
    }
    if let Some((d, v2)) = dir_with(cg, "hugetlb") {
        let mut h = Map::new();
        for size in huge_sizes(d) {
            let e = if v2 {
                let ev = kv(d, &format!("hugetlb.{size}.events"));
                json!({"usage": num(d, &format!("hugetlb.{size}.current")), "max": num(d, &format!("hugetlb.{size}.max")), "failcnt": get(&ev, "max")})
            } else {
                json!({"usage": num(d, &format!("hugetlb.{size}.usage_in_bytes")), "max": num(d, &format!("hugetlb.{size}.max_usage_in_bytes")), "failcnt": num(d, &format!("hugetlb.{size}.failcnt"))})
            };
            h.insert(size, e);
        }
        data.insert("hugetlb".into(), Value::Object(h));
    }
    Value::Object(data)
}

/// How many times the kernel's OOM killer has struck in the cgroup.
pub fn oom_kills(cg: &Cgroup) -> u64 {
    match dir_with(cg, "memory") {
        Some((d, true)) => get(&kv(d, "memory.events"), "oom_kill"),
        Some((d, false)) => get(&kv(d, "memory.oom_control"), "oom_kill"),
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_lines() {
        let (b, s) = io_entries(
            "8:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n",
            true,
        );
        assert_eq!(
            b[0],
            json!({"major": 8, "minor": 0, "op": "Read", "value": 4096})
        );
        assert_eq!(s[0]["value"], 1);
        let (b, _) = io_entries("8:0 Read 512\n8:0 Write 0\nTotal 512\n", false);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0]["op"], "Read");
    }
}
