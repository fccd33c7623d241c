//! Hostile configs and bundles (issue #5's "bad input" table): each row
//! must be refused with an error naming the field or path at fault, and
//! leave nothing on the host: no state directory under --root, no
//! process, no mount, no cgroup, and no change to the host paths the row
//! aims at. Several mounts on one destination are legal (they stack), and
//! have a test of their own.

mod common;

use std::path::Path;

use common::*;
use serde_json::{Value, json};

/// Host mounts on system paths, in or under a bundle, or under /tmp:
/// where a hostile config would try to land. (Mount IDs are left out, so
/// a remount elsewhere does not count.)
fn host_mounts_of_interest() -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let point = *f.get(4)?;
            let watched = ["/", "/etc", "/proc", "/sys", "/dev", "/tmp", "/root"]
                .iter()
                .any(|p| point == *p || point.starts_with(&format!("{p}/")) && *p != "/");
            watched.then(|| f[3..].join(" "))
        })
        .collect()
}

/// A row of the table: what it does to the bundle, and the words its
/// error must contain.
struct Row {
    name: &'static str,
    edit: fn(&mut Bundle),
    words: &'static [&'static str],
}

/// The config as text, with `field` (a top-level key of "process")
/// replaced by `depth` nested arrays.
fn nested(b: &Bundle, field: &str, depth: usize) -> String {
    let mut c = b.config.clone();
    c["process"][field] = json!("@@NEST@@");
    let text = serde_json::to_string(&c).unwrap();
    let nest = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    text.replace("\"@@NEST@@\"", &nest)
}

fn tmpfs(dest: &str) -> Value {
    json!({"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": ["size=16k"]})
}

/// rootfs/etc replaced by a symlink to `to`, and a bind mount at /etc/x.
fn etc_link_with_bind(b: &mut Bundle, to: &str) {
    let etc = b.rootfs().join("etc");
    std::fs::rename(&etc, b.rootfs().join("etc.real")).unwrap();
    std::os::unix::fs::symlink(to, &etc).unwrap();
    let src = b.path().join("bindsrc");
    std::fs::create_dir_all(&src).unwrap();
    let src = src.to_str().unwrap().to_string();
    b.add_mount(
        json!({"destination": "/etc/x", "type": "bind", "source": src,
                       "options": ["rbind"]}),
    );
}

const ROWS: &[Row] = &[
    Row {
        name: "relative destination climbing out",
        edit: |b| {
            b.add_mount(tmpfs("../../etc"));
        },
        words: &["mounts[7].destination", "\"../../etc\"", "absolute"],
    },
    Row {
        name: "relative destination",
        edit: |b| {
            b.add_mount(tmpfs("etc/x"));
        },
        words: &["mounts[7].destination", "\"etc/x\"", "absolute"],
    },
    Row {
        name: "absolute destination with ..",
        edit: |b| {
            b.add_mount(tmpfs("/tmp/../../../etc"));
        },
        words: &["mounts[7].destination", "\"..\""],
    },
    Row {
        name: "destination is the root",
        edit: |b| {
            b.add_mount(tmpfs("/"));
        },
        words: &["mounts[7].destination", "root"],
    },
    Row {
        name: "destination with a NUL byte",
        edit: |b| {
            b.add_mount(tmpfs("/a\u{0}b"));
        },
        words: &["mounts[7].destination", "NUL"],
    },
    Row {
        name: "rootfs /etc -> host /etc, bind on /etc/x",
        edit: |b| etc_link_with_bind(b, "/etc"),
        words: &["/etc/x", "ELOOP"],
    },
    Row {
        name: "rootfs /etc -> ../../../../etc, bind on /etc/x",
        edit: |b| etc_link_with_bind(b, "../../../../../../../../etc"),
        words: &["/etc/x", "ELOOP"],
    },
    Row {
        name: "uid (uid_t)-1",
        edit: |b| {
            b.set("/process/user/uid", json!(4294967295u64));
        },
        words: &["process.user.uid", "4294967295"],
    },
    Row {
        name: "gid (gid_t)-1",
        edit: |b| {
            b.set("/process/user/gid", json!(4294967295u64));
        },
        words: &["process.user.gid", "4294967295"],
    },
    Row {
        name: "uid beyond 32 bits",
        edit: |b| {
            b.set("/process/user/uid", json!(4294967296u64));
        },
        words: &["process.user.uid", "4294967296"],
    },
    Row {
        name: "negative uid",
        edit: |b| {
            b.set("/process/user/uid", json!(-1));
        },
        words: &["process.user.uid", "-1"],
    },
    Row {
        name: "negative gid",
        edit: |b| {
            b.set("/process/user/gid", json!(-5));
        },
        words: &["process.user.gid", "-5"],
    },
    Row {
        name: "additional gid (gid_t)-1",
        edit: |b| {
            b.set("/process/user/additionalGids", json!([10, 4294967295u64]));
        },
        words: &["process.user.additionalGids[1]"],
    },
    Row {
        name: "negative additional gid",
        edit: |b| {
            b.set("/process/user/additionalGids", json!([-1]));
        },
        words: &["process.user.additionalGids[0]", "-1"],
    },
    Row {
        name: "huge rlimit (above husk's hard limit)",
        edit: |b| {
            b.set(
                "/process/rlimits",
                json!([{"type": "RLIMIT_NOFILE", "soft": u64::MAX, "hard": u64::MAX}]),
            );
        },
        words: &["RLIMIT_NOFILE", "EPERM"],
    },
    Row {
        name: "rlimit beyond 64 bits",
        edit: |b| {
            b.set(
                "/process/rlimits",
                json!([{"type": "RLIMIT_NOFILE", "soft": 1e30, "hard": 1e30}]),
            );
        },
        words: &["process.rlimits[0].", "expected u64"],
    },
    Row {
        name: "rlimit soft above hard",
        edit: |b| {
            b.set(
                "/process/rlimits",
                json!([{"type": "RLIMIT_NOFILE", "soft": 2048, "hard": 1024}]),
            );
        },
        words: &["process.rlimits", "RLIMIT_NOFILE", "soft"],
    },
    Row {
        name: "huge consoleSize",
        edit: |b| {
            b.set(
                "/process/consoleSize",
                json!({"height": 100000, "width": 80}),
            );
        },
        words: &["process.consoleSize.height", "100000"],
    },
    Row {
        name: "negative consoleSize",
        edit: |b| {
            b.set("/process/consoleSize", json!({"height": 24, "width": -1}));
        },
        words: &["process.consoleSize.width", "-1"],
    },
    Row {
        name: "100k mounts",
        edit: |b| {
            let mut m: Vec<Value> = b.config["mounts"].as_array().unwrap().clone();
            m.extend((0..100_000).map(|i| tmpfs(&format!("/t/{i}"))));
            b.set("/mounts", json!(m));
        },
        words: &["mounts", "100007", "fs.mount-max"],
    },
    Row {
        name: "100k args (more than execve takes)",
        edit: |b| {
            let mut a = vec!["true".to_string()];
            a.extend((0..100_000).map(|i| format!("argument-number-{i:020}")));
            b.set("/process/args", json!(a));
        },
        words: &["process.args", "execve"],
    },
    Row {
        name: "one argument longer than execve takes",
        edit: |b| {
            b.set("/process/args", json!(["echo", "x".repeat(200_000)]));
        },
        words: &["process.args[1]", "200000"],
    },
    Row {
        name: "NUL byte in an argument",
        edit: |b| {
            b.set("/process/args", json!(["echo", "a\u{0}b"]));
        },
        words: &["process.args[1]", "NUL"],
    },
    Row {
        name: "NUL byte in the environment",
        edit: |b| {
            b.set("/process/env", json!(["PATH=/bin", "A=a\u{0}b"]));
        },
        words: &["process.env[1]", "NUL"],
    },
    Row {
        name: "NUL byte in the cwd",
        edit: |b| {
            b.set("/process/cwd", json!("/tm\u{0}p"));
        },
        words: &["process.cwd", "NUL"],
    },
    Row {
        name: "unknown capability",
        edit: |b| {
            b.set(
                "/process/capabilities/bounding",
                json!(["CAP_KILL", "CAP_BOGUS"]),
            );
        },
        words: &["process.capabilities.bounding", "CAP_BOGUS"],
    },
    Row {
        name: "unknown ambient capability",
        edit: |b| {
            b.set("/process/capabilities/ambient", json!(["CAP_ESCAPE"]));
        },
        words: &["process.capabilities.ambient", "CAP_ESCAPE"],
    },
    Row {
        name: "effective capability that is not permitted",
        edit: |b| {
            b.set(
                "/process/capabilities/effective",
                json!(["CAP_KILL", "CAP_SYS_ADMIN"]),
            );
            b.set("/process/capabilities/permitted", json!(["CAP_KILL"]));
        },
        words: &[
            "process.capabilities.effective",
            "CAP_SYS_ADMIN",
            "not permitted",
        ],
    },
    Row {
        name: "device number beyond dev_t",
        edit: |b| {
            b.set(
                "/linux/devices",
                json!([{"path": "/dev/big", "type": "c", "major": 1u64 << 40, "minor": 1}]),
            );
        },
        words: &["linux.devices[0]", "out of range"],
    },
    Row {
        name: "negative device number",
        edit: |b| {
            b.set(
                "/linux/devices",
                json!([{"path": "/dev/neg", "type": "c", "major": -1, "minor": 3}]),
            );
        },
        words: &["linux.devices[0]", "negative"],
    },
    Row {
        name: "device path with ..",
        edit: |b| {
            b.set(
                "/linux/devices",
                json!([{"path": "/dev/../../etc/null", "type": "c", "major": 1, "minor": 3}]),
            );
        },
        words: &["linux.devices[0].path", "\"..\""],
    },
    Row {
        name: "maskedPaths entry with ..",
        edit: |b| {
            b.config["linux"]["maskedPaths"]
                .as_array_mut()
                .unwrap()
                .push(json!("/proc/../../etc"));
        },
        words: &["linux.maskedPaths[10]", "\"..\""],
    },
    Row {
        name: "readonlyPaths entry with ..",
        edit: |b| {
            b.config["linux"]["readonlyPaths"]
                .as_array_mut()
                .unwrap()
                .push(json!("/proc/sys/../../../etc"));
        },
        words: &["linux.readonlyPaths[5]", "\"..\""],
    },
    Row {
        name: "hostname longer than the kernel takes",
        edit: |b| {
            b.set("/hostname", json!("h".repeat(100)));
        },
        words: &["hostname", "100 bytes", "64"],
    },
    Row {
        name: "huge oomScoreAdj",
        edit: |b| {
            b.set("/process/oomScoreAdj", json!(1u64 << 40));
        },
        words: &["process.oomScoreAdj"],
    },
];

/// `husk create` then `husk run` of the bundle both fail with every word
/// of `words` in the error (exit status 1), and leave nothing behind.
#[track_caller]
fn refused(name: &str, b: &Bundle, words: &[&str], watch: &[&Path]) {
    let h = Husk::new();
    let mounts_before = host_mounts_of_interest();
    let listing = |p: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(p)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let watched_before: Vec<_> = watch.iter().map(|p| listing(p)).collect();
    for cmd in ["create", "run"] {
        let id = unique_id("hostile");
        let pid_file = b.path().join("pid");
        let o = h.timed(
            &[
                cmd,
                "--bundle",
                b.arg(),
                "--pid-file",
                pid_file.to_str().unwrap(),
                &id,
            ],
            Stdin::Null,
            Out::Temp,
            TIMEOUT,
        );
        let e = fails(&o);
        assert_eq!(o.status.code(), Some(1), "{name}: {cmd}: {e}");
        for w in words {
            assert!(
                e.contains(w),
                "{name}: {cmd}: the error does not mention {w:?}: {e}"
            );
        }
        let dir = h.root.path().join(&id);
        assert!(
            !dir.exists(),
            "{name}: {cmd}: {} left behind",
            dir.display()
        );
        assert!(!pid_file.exists(), "{name}: {cmd}: pid file left behind");
        let procs = bundle_processes(b);
        assert!(procs.is_empty(), "{name}: {cmd}: processes left: {procs:?}");
        let cg = cgroup_dirs_named(&id);
        assert!(cg.is_empty(), "{name}: {cmd}: cgroups left: {cg:?}");
        assert!(
            host_mounts_mentioning(b.arg()).is_empty(),
            "{name}: {cmd}: mounts of the bundle left on the host"
        );
    }
    assert_eq!(
        host_mounts_of_interest(),
        mounts_before,
        "{name}: host mounts changed"
    );
    for (p, before) in watch.iter().zip(watched_before) {
        assert_eq!(listing(p), before, "{name}: {} changed", p.display());
    }
    assert!(!b.rootfs().join("ran").exists(), "{name}: the program ran");
}

/// Every row of the table, each in a fresh bundle.
#[test]
fn hostile_configs_are_refused_by_name_and_leave_nothing() {
    for row in ROWS {
        let mut b = Bundle::new();
        b.sh("echo ran > /ran");
        (row.edit)(&mut b);
        b.write();
        refused(row.name, &b, row.words, &[Path::new("/etc")]);
    }
}

/// Deeply nested JSON where a string list belongs: refused by field,
/// without a stack overflow (serde_json's recursion limit).
#[test]
fn deeply_nested_json_is_refused_by_field() {
    for (field, depth) in [("args", 100_000), ("env", 1_000), ("rlimits", 200)] {
        let b = Bundle::new();
        let text = nested(&b, field, depth);
        std::fs::write(b.path().join("config.json"), text).unwrap();
        refused(
            &format!("nested {field}"),
            &b,
            &[&format!("process.{field}")],
            &[],
        );
    }
}

/// Several mounts on one destination are legal OCI (runc and crun stack
/// them; podman relies on it): they stack in order, the last on top, and
/// none of them reaches the host.
#[test]
fn mounts_on_the_same_destination_stack_and_the_last_wins() {
    let h = Husk::new();
    let mut b = Bundle::new();
    let first = b.path().join("first");
    let second = b.path().join("second");
    for (d, f) in [(&first, "one"), (&second, "two")] {
        std::fs::create_dir(d).unwrap();
        std::fs::write(d.join(f), f).unwrap();
    }
    let mounts_before = host_mounts_of_interest();
    b.add_mount(
        json!({"destination": "/dup", "type": "tmpfs", "source": "tmpfs",
                       "options": ["size=1m"]}),
    )
    .add_mount(
        json!({"destination": "/dup", "type": "tmpfs", "source": "tmpfs",
                          "options": ["size=2m"]}),
    )
    .add_mount(json!({"destination": "/dupb", "type": "bind",
                          "source": first.to_str().unwrap(), "options": ["rbind"]}))
    .add_mount(json!({"destination": "/dupb", "type": "bind",
                          "source": second.to_str().unwrap(), "options": ["rbind", "ro"]}));
    b.sh("echo dup=$(grep -c ' /dup ' /proc/self/mountinfo); \
          echo top=$(grep ' /dup ' /proc/self/mountinfo | tail -1 | grep -o 'size=[0-9]*k'); \
          echo dupb=$(grep -c ' /dupb ' /proc/self/mountinfo); echo files=$(ls /dupb); \
          touch /dupb/x 2>/dev/null; echo write=$?");
    let id = unique_id("stack");
    let out = ok(&h.run(&b, &id));
    let v = kv(&out);
    assert_eq!(v["dup"], "2", "{out}");
    assert_eq!(v["top"], "size=2048k", "{out}");
    assert_eq!(v["dupb"], "2", "{out}");
    assert_eq!(v["files"], "two", "{out}");
    assert_ne!(
        v["write"], "0",
        "the last (read-only) bind is not on top: {out}"
    );
    assert_eq!(host_mounts_of_interest(), mounts_before);
    assert!(host_mounts_mentioning(b.arg()).is_empty());
    assert!(!b.rootfs().join("dup").join("x").exists());
    assert!(!second.join("x").exists() && !first.join("x").exists());
    assert!(cgroup_dirs_named(&id).is_empty());
    assert!(!h.root.path().join(&id).exists());
}
