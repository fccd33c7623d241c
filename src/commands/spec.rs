//! `husk spec [--bundle DIR] [--rootless]`: write a default config.json,
//! like runc's: a `sh`, the usual namespaces, mounts, masked and read-only
//! paths, and a small capability set.

use std::path::Path;

use serde_json::{Value, json};

use crate::bail;
use crate::cli::{Global, SpecArgs};
use crate::error::{Error, Result};
use crate::linux::identity;
use crate::spec::version::SPEC_VERSION;

const CAPS: [&str; 3] = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

pub fn default_spec() -> Value {
    json!({
        "ociVersion": SPEC_VERSION,
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": CAPS, "effective": CAPS, "permitted": CAPS},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "husk",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    })
}

/// Rootless: a user namespace mapping the caller to root, and what an
/// unprivileged user can mount (no devpts gid=5, a /sys bind, no cgroupfs).
pub fn make_rootless(spec: &mut Value, uid: u32, gid: u32) {
    spec["linux"]["namespaces"]
        .as_array_mut()
        .expect("namespaces")
        .push(json!({"type": "user"}));
    spec["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": uid, "size": 1}]);
    spec["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": gid, "size": 1}]);
    let mounts = spec["mounts"].as_array_mut().expect("mounts");
    mounts.retain(|m| m["type"] != "cgroup");
    for m in mounts.iter_mut() {
        if m["type"] == "devpts" {
            let opts = m["options"].as_array_mut().expect("options");
            opts.retain(|o| o != "gid=5");
        }
        if m["type"] == "sysfs" {
            *m = json!({"destination": "/sys", "type": "none", "source": "/sys", "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]});
        }
    }
}

pub fn run(_g: &Global, a: &SpecArgs) -> Result<()> {
    let path = a.bundle.join("config.json");
    if path.exists() {
        bail!("{} exists; remove it first", path.display());
    }
    let mut spec = default_spec();
    if a.rootless {
        make_rootless(&mut spec, identity::euid(), identity::egid());
    }
    write(&path, &spec)
}

fn write(path: &Path, spec: &Value) -> Result<()> {
    let mut text = serde_json::to_string_pretty(spec).map_err(|e| Error::msg(e.to_string()))?;
    text.push('\n');
    std::fs::write(path, text)
        .map_err(|e| Error::from(e).context(format!("write {}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{self as s, Plan};

    #[test]
    fn default_spec_is_a_valid_plan() {
        let spec = s::parse(default_spec().to_string().as_bytes()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("rootfs")).unwrap();
        let plan = Plan::build(&spec, dir.path()).unwrap();
        assert_eq!(plan.process.args, vec!["sh"]);
        assert!(plan.readonly_root);
    }

    #[test]
    fn rootless_maps_the_caller() {
        let mut v = default_spec();
        make_rootless(&mut v, 1000, 1001);
        assert_eq!(v["linux"]["uidMappings"][0]["hostID"], 1000);
        assert_eq!(v["linux"]["gidMappings"][0]["hostID"], 1001);
        assert!(
            v["mounts"]
                .as_array()
                .unwrap()
                .iter()
                .all(|m| m["type"] != "cgroup")
        );
        let spec = s::parse(v.to_string().as_bytes()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("rootfs")).unwrap();
        Plan::build(&spec, dir.path()).unwrap();
    }

    /// bundles/busybox/config.json is what `husk spec` writes.
    #[test]
    fn busybox_bundle_is_the_default_spec() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/bundles/busybox/config.json"
        ))
        .unwrap();
        let bundle: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(bundle, default_spec());
    }
}
