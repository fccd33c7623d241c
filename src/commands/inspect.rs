//! `husk inspect ID`: the host's view of a running container, next to the
//! host's own. Everything here is read from /proc and the cgroup files:
//! a container is an ordinary process with a restricted view.

use serde_json::{Value, json};

use crate::bail;
use crate::cgroups::stats;
use crate::cli::{Global, InspectArgs, ListFormat};
use crate::container::{Container, Status};
use crate::error::{Error, Result};
use crate::linux::capabilities;
use crate::linux::namespaces::NsKind;

fn status_field(status: &str, key: &str) -> Option<String> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn caps(status: &str, key: &str) -> Vec<&'static str> {
    let mask = status_field(status, key)
        .and_then(|v| u64::from_str_radix(&v, 16).ok())
        .unwrap_or(0);
    capabilities::names(mask)
}

fn lines(path: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

pub fn collect(g: &Global, id: &str) -> Result<Value> {
    let (c, st) = Container::open(&g.root, id)?;
    let status = c.status(&st);
    if status == Status::Stopped {
        bail!("container not running");
    }
    drop(c);
    let pid = st.pid;
    let proc_status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| Error::from(e).context(format!("read /proc/{pid}/status")))?;
    let inner_pid = status_field(&proc_status, "NSpid")
        .and_then(|v| v.split_whitespace().last().map(String::from))
        .unwrap_or_default();
    let namespaces: Vec<Value> = NsKind::ALL
        .iter()
        .map(|k| {
            let theirs = std::fs::read_link(format!("/proc/{pid}/ns/{}", k.proc_file()))
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            let ours = std::fs::read_link(format!("/proc/self/ns/{}", k.proc_file()))
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            json!({"type": k.spec_name(), "container": theirs, "host": ours, "isolated": theirs != ours})
        })
        .collect();
    let cgroup = match &st.cgroup {
        Some(cg) => {
            let s = stats::collect(cg);
            json!({
                "paths": cg.dirs.iter().map(|d| d.path.to_string_lossy().into_owned()).collect::<Vec<_>>(),
                "memory": {"limit": s["memory"]["usage"]["limit"], "usage": s["memory"]["usage"]["usage"]},
                "pids": s["pids"],
                "cpu": {"usage_ns": s["cpu"]["usage"]["total"], "throttling": s["cpu"]["throttling"]},
            })
        }
        None => Value::Null,
    };
    let seccomp = match status_field(&proc_status, "Seccomp").as_deref() {
        Some("0") => "disabled",
        Some("1") => "strict",
        Some("2") => "filter",
        _ => "unknown",
    };
    let mounts_in = lines(&format!("/proc/{pid}/mountinfo")).len();
    let mounts_host = lines("/proc/self/mountinfo").len();
    Ok(json!({
        "id": id,
        "status": status.as_str(),
        "pid": {"host": pid, "container": inner_pid.parse::<i64>().unwrap_or(0)},
        "user": {"uid": status_field(&proc_status, "Uid"), "gid": status_field(&proc_status, "Gid")},
        "namespaces": namespaces,
        "cgroup": cgroup,
        "capabilities": {
            "effective": caps(&proc_status, "CapEff"),
            "permitted": caps(&proc_status, "CapPrm"),
            "inheritable": caps(&proc_status, "CapInh"),
            "bounding": caps(&proc_status, "CapBnd"),
            "ambient": caps(&proc_status, "CapAmb"),
        },
        "hostCapabilities": capabilities::names(capabilities::kernel_mask()).len(),
        "seccomp": seccomp,
        "noNewPrivs": status_field(&proc_status, "NoNewPrivs").as_deref() == Some("1"),
        "uidMap": lines(&format!("/proc/{pid}/uid_map")),
        "gidMap": lines(&format!("/proc/{pid}/gid_map")),
        "root": st.rootfs,
        "mounts": {"container": mounts_in, "host": mounts_host},
    }))
}

fn table(v: &Value) -> String {
    let mut out = String::new();
    let s = |x: &Value| {
        x.as_str()
            .map(String::from)
            .unwrap_or_else(|| x.to_string())
    };
    out.push_str(&format!(
        "container {}  ({})\n",
        s(&v["id"]),
        s(&v["status"])
    ));
    out.push_str(&format!(
        "  process      host PID {}  =  PID {} inside its pid namespace\n",
        v["pid"]["host"], v["pid"]["container"]
    ));
    out.push_str(&format!(
        "  uid / gid    {} / {}  (real, effective, saved, fs; as the host sees them)\n",
        s(&v["user"]["uid"]),
        s(&v["user"]["gid"])
    ));
    out.push_str(&format!("  root         {}\n", s(&v["root"])));
    out.push_str("\n  namespace    container              host                   \n");
    for n in v["namespaces"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  {:<12} {:<22} {:<22} {}\n",
            s(&n["type"]),
            s(&n["container"]),
            s(&n["host"]),
            if n["isolated"] == true {
                "own"
            } else {
                "shared with the host"
            }
        ));
    }
    let caps = &v["capabilities"];
    let list = |k: &str| {
        let a = caps[k].as_array().cloned().unwrap_or_default();
        if a.is_empty() {
            "(none)".to_string()
        } else {
            a.iter().map(s).collect::<Vec<_>>().join(" ")
        }
    };
    out.push_str(&format!(
        "\n  capabilities effective {} of the host's {}: {}\n",
        caps["effective"].as_array().map_or(0, Vec::len),
        v["hostCapabilities"],
        list("effective")
    ));
    out.push_str(&format!("               bounding  {}\n", list("bounding")));
    out.push_str(&format!("               ambient   {}\n", list("ambient")));
    out.push_str(&format!(
        "  seccomp      {}    no_new_privs {}\n",
        s(&v["seccomp"]),
        v["noNewPrivs"]
    ));
    let maps = |k: &str| {
        v[k].as_array()
            .map(|a| a.iter().map(s).collect::<Vec<_>>().join("; "))
            .unwrap_or_default()
    };
    out.push_str(&format!(
        "  uid_map      {}\n  gid_map      {}\n",
        maps("uidMap"),
        maps("gidMap")
    ));
    out.push_str(&format!(
        "  mounts       {} in the container, {} on the host\n",
        v["mounts"]["container"], v["mounts"]["host"]
    ));
    if !v["cgroup"].is_null() {
        let c = &v["cgroup"];
        let limit = |x: &Value| match x.as_u64() {
            Some(n) if n >= (1u64 << 62) => "no limit".to_string(),
            Some(n) => n.to_string(),
            None => "-".into(),
        };
        out.push_str(&format!(
            "\n  cgroup       {}\n  memory       {} bytes used, limit {}\n  pids         {} running, limit {}\n  cpu          {} ns used\n",
            c["paths"].as_array().and_then(|a| a.first()).map(s).unwrap_or_default(),
            c["memory"]["usage"],
            limit(&c["memory"]["limit"]),
            c["pids"]["current"],
            match c["pids"]["limit"].as_u64() {
                Some(0) | None => "none".to_string(),
                Some(n) => n.to_string(),
            },
            c["cpu"]["usage_ns"]
        ));
    }
    out
}

pub fn run(g: &Global, a: &InspectArgs) -> Result<()> {
    let v = collect(g, &a.id)?;
    match a.format {
        ListFormat::Json => super::say!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(|e| Error::msg(e.to_string()))?
        ),
        ListFormat::Table => super::say!("{}", table(&v)),
    }
    Ok(())
}
