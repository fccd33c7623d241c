//! Configs without a mount namespace (the container inherits the caller's,
//! as the runtime-spec says of every namespace type the config leaves
//! out): husk runs what runc 1.1.5 runs, with the same view from inside,
//! and, unlike runc, removes every mount it made under the bundle at
//! delete, at the end of `run` and on a failed create. What runc does here
//! is in src/linux/host_mounts.rs.
//!
//! runc is only ever run in a mount namespace of its own (`unshare -m
//! --propagation slave`): without a mount namespace in the config it makes
//! its caller's whole tree MS_SLAVE|MS_REC, and that must not be the host's.
//! husk runs in the test's own mount namespace, the host's: the point is
//! to see what it leaves there.

mod common;

use std::collections::HashMap;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::json;

const RUNC: &str = "/usr/sbin/runc";

/// A bundle whose mounts, if a test fails half-way, are detached before
/// its directory is removed (TempDir's rm -r would reach into them).
struct HostBundle {
    b: Bundle,
}

impl Drop for HostBundle {
    fn drop(&mut self) {
        let left = mounts_under(&self.b.rootfs());
        for (_, mp) in left.iter().rev() {
            let c = CString::new(mp.as_os_str().to_string_lossy().as_bytes()).unwrap();
            // SAFETY: NUL-terminated path.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
        if !mounts_under(&self.b.rootfs()).is_empty() {
            // Never rm -r through a mount: leak the directory instead.
            let dir = std::mem::replace(&mut self.b.dir, tempfile::tempdir().unwrap());
            let _ = dir.keep();
        }
    }
}

impl std::ops::Deref for HostBundle {
    type Target = Bundle;
    fn deref(&self) -> &Bundle {
        &self.b
    }
}

impl std::ops::DerefMut for HostBundle {
    fn deref_mut(&mut self) -> &mut Bundle {
        &mut self.b
    }
}

/// `runc spec`, terminal false, `linux.namespaces: []`, no masked or
/// read-only paths, no hostname (runc refuses one without a uts
/// namespace), a relative cgroupsPath (the id).
fn no_ns_bundle(id: &str) -> HostBundle {
    let mut b = Bundle::new();
    let o = Command::new(husk_or_runc_spec())
        .arg("spec")
        .current_dir(b.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "spec: {}", stderr(&o));
    let text = std::fs::read_to_string(b.path().join("config.json")).unwrap();
    b.config = serde_json::from_str(&text).unwrap();
    b.set("/process/terminal", json!(false))
        .set("/linux/namespaces", json!([]))
        .set("/linux/cgroupsPath", json!(id))
        .remove("/linux/maskedPaths")
        .remove("/linux/readonlyPaths")
        .remove("/hostname");
    // runc spec's root is read-only; both runtimes leave it writable
    // without a mount namespace. The tests that write want it stated.
    b.set("/root", json!({"path": "rootfs", "readonly": false}));
    HostBundle { b }
}

/// runc's `spec` when runc is here (the differential needs runc anyway),
/// else husk's, which writes the same template.
fn husk_or_runc_spec() -> &'static str {
    if Path::new(RUNC).exists() { RUNC } else { HUSK }
}

/// (mount id, mount point) of the test's own mounts at or under `dir`.
fn mounts_under(dir: &Path) -> Vec<(u64, PathBuf)> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let mp = PathBuf::from(f.get(4)?.replace("\\040", " "));
            mp.starts_with(dir).then(|| (f[0].parse().unwrap(), mp))
        })
        .collect()
}

#[track_caller]
fn assert_no_mounts(b: &Bundle, when: &str) {
    let left = mounts_under(b.path());
    assert!(
        left.is_empty(),
        "{when}: mounts left under the bundle: {left:?}"
    );
}

/// What the process sees, one `key: value` a line.
const PROBE: &str = r#"
grep -E '^(Cap|NoNewPrivs|Seccomp|Uid|Gid|Groups)' /proc/self/status | tr -s '\t ' ' '
for n in cgroup ipc mnt net pid time user uts; do echo "ns.$n: $(readlink /proc/self/ns/$n)"; done
sed 's/^/mountinfo: /' /proc/self/mountinfo
sed 's/^/cgroup: /' /proc/self/cgroup
sed 's/^/limits: /' /proc/self/limits | tr -s ' '
echo "hostname: $(hostname)"
echo "cwd: $(pwd)"
env | sort | sed 's/^/env: /'
for f in /dev/* /dev/pts/* /dev/shm /dev/mqueue; do stat -c 'dev: %n %F %a %t:%T' "$f"; done
echo "umask: $(umask)"
echo "root-writable: $(touch /.probe-w 2>&1 && echo yes && rm /.probe-w)"
"#;

/// The caller's namespace links, to tell "host" from "new" inside.
fn ns_links(pid: &str) -> HashMap<String, String> {
    ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"]
        .iter()
        .map(|n| {
            let l = std::fs::read_link(format!("/proc/{pid}/ns/{n}")).unwrap();
            (n.to_string(), l.to_string_lossy().into_owned())
        })
        .collect()
}

/// Run-specific parts out: namespace inodes (host or new), mount ids,
/// device numbers and peer group numbers, the bundle and the id.
fn normalise(raw: &str, caller: &HashMap<String, String>, b: &Bundle, id: &str) -> Vec<String> {
    let bundle = b.arg();
    let mut out: Vec<String> = raw
        .lines()
        .map(|l| match l.split_once(": ") {
            Some((k, v)) if k.starts_with("ns.") => {
                let host = caller.get(&k[3..]).map(String::as_str) == Some(v);
                format!("{k}: {}", if host { "host" } else { "new" })
            }
            Some(("mountinfo", v)) => {
                let (pre, post) = v.split_once(" - ").unwrap_or((v, ""));
                let f: Vec<&str> = pre.split(' ').collect();
                let tags: Vec<String> = f[6..]
                    .iter()
                    .map(|t| t.trim_end_matches(|c: char| c.is_ascii_digit()).to_string())
                    .collect();
                format!(
                    "mountinfo: {} {} {} {} - {post}",
                    f[3],
                    f[4],
                    f[5],
                    tags.join(",")
                )
            }
            _ => l.to_string(),
        })
        .map(|l| l.replace(bundle, "<bundle>").replace(id, "<id>"))
        .collect();
    out.sort();
    out
}

/// runc run, in a mount namespace of its own (see the module doc). Its
/// caller's namespaces are the test's, but for that mount namespace, which
/// the shell that becomes runc prints first.
fn runc_run(b: &Bundle, id: &str, root: &Path) -> (String, HashMap<String, String>) {
    b.write();
    let script = format!(
        "readlink /proc/self/ns/mnt; exec {RUNC} --root {} run --bundle {} {id}",
        root.display(),
        b.arg()
    );
    let mut c = Command::new("unshare");
    c.args(["--mount", "--propagation", "slave", "sh", "-c", &script]);
    let o = run_timed(c, Stdin::Null, Out::Temp, TIMEOUT);
    assert!(o.status.success(), "runc run: {}{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    let (mnt, rest) = text.split_once('\n').unwrap();
    let mut caller = ns_links("self");
    assert_ne!(
        caller["mnt"], mnt,
        "runc must not run in the host's mount namespace"
    );
    caller.insert("mnt".into(), mnt.to_string());
    (rest.to_string(), caller)
}

/// Both runtimes on one config (probe as process), sequentially on one
/// bundle; the probe's lines, normalised, sorted.
fn both_views(b: &mut Bundle, tag: &str) -> (Vec<String>, Vec<String>) {
    let runc_root = tempfile::tempdir().unwrap();
    let (rid, hid) = (
        unique_id(&format!("{tag}-runc")),
        unique_id(&format!("{tag}-husk")),
    );
    b.set("/linux/cgroupsPath", json!(rid));
    let (runc_raw, runc_caller) = runc_run(b, &rid, runc_root.path());
    // runc's mounts stayed in its own (now gone) mount namespace.
    assert_no_mounts(b, "after runc");
    let runc_view = normalise(&runc_raw, &runc_caller, b, &rid);
    b.set("/linux/cgroupsPath", json!(hid));
    let h = Husk::new();
    let husk_raw = ok(&h.run(b, &hid));
    assert_no_mounts(b, "after husk run");
    (runc_view, normalise(&husk_raw, &ns_links("self"), b, &hid))
}

/// (only runc saw, only husk saw).
fn differences(runc: &[String], husk: &[String]) -> (Vec<String>, Vec<String>) {
    let only = |a: &[String], b: &[String]| a.iter().filter(|l| !b.contains(l)).cloned().collect();
    (only(runc, husk), only(husk, runc))
}

/// The differential: what runc's container sees, husk's sees. husk and
/// runc still differ in ways that have nothing to do with the mount
/// namespace (the /sys/fs/cgroup mount, when this was written): the
/// differences without one must be exactly those with one.
#[test]
fn no_namespaces_sees_what_runc_sees() {
    if !Path::new(RUNC).exists() {
        eprintln!("skipped: {RUNC} (the oracle) is not installed");
        return;
    }
    let mut b = no_ns_bundle("unset");
    b.sh(PROBE);
    let (runc_view, husk_view) = both_views(&mut b, "nons");
    let without = differences(&runc_view, &husk_view);
    b.set("/linux/namespaces", json!([{"type": "mount"}]));
    let (r, h) = both_views(&mut b, "mntns");
    let with = differences(&r, &h);
    eprintln!("husk and runc differ, with a mount namespace too, in: {with:#?}");
    assert_eq!(
        without, with,
        "(runc saw, husk did not; husk saw, runc did not) without a mount namespace, then with one"
    );
    // Some namespaces of its own, none for mounts.
    let some = json!([{"type": "pid"}, {"type": "uts"}, {"type": "ipc"}, {"type": "network"}]);
    b.set("/linux/namespaces", some)
        .set("/hostname", json!("inner"));
    let (r, h) = both_views(&mut b, "somens");
    let some_without = differences(&r, &h);
    let mut ns = b.config["linux"]["namespaces"].as_array().unwrap().clone();
    ns.push(json!({"type": "mount"}));
    b.set("/linux/namespaces", json!(ns));
    let (r, h) = both_views(&mut b, "somensmnt");
    assert_eq!(
        some_without,
        differences(&r, &h),
        "pid/uts/ipc/net, then with mount too"
    );
    // The view is the caller's namespaces, chrooted into the rootfs.
    for n in ["mnt", "pid", "net", "ipc", "uts"] {
        assert!(
            husk_view.contains(&format!("ns.{n}: host")),
            "{n}: {husk_view:#?}"
        );
    }
    for l in [
        "cwd: /",
        "root-writable: yes",
        "mountinfo: <bundle>/rootfs / rw,relatime  - ext4",
    ] {
        assert!(
            husk_view.iter().any(|v| v.starts_with(l)),
            "{l}: {husk_view:#?}"
        );
    }
}

#[test]
fn delete_removes_every_mount_husk_made() {
    let h = Husk::new();
    let id = unique_id("nons-del");
    let mut b = no_ns_bundle(&id);
    b.sh("sleep 60");
    let before = mounts_under(b.path());
    assert!(before.is_empty(), "{before:?}");
    b.write();
    // In files, not pipes: the init holds husk's stdout until it execs.
    let timed = |args: &[&str]| h.timed(args, Stdin::Null, Out::Temp, TIMEOUT);
    ok(&timed(&["create", "--bundle", b.arg(), &id]));
    // The container's mounts are in the caller's namespace, under the rootfs.
    let made = mounts_under(&b.rootfs());
    let points: Vec<PathBuf> = made.iter().map(|(_, p)| p.clone()).collect();
    for d in ["", "proc", "dev", "dev/pts", "sys", "sys/fs/cgroup"] {
        let p = b.rootfs().join(d);
        let p = if d.is_empty() { b.rootfs() } else { p };
        assert!(
            points.contains(&p),
            "{} not mounted: {points:?}",
            p.display()
        );
    }
    ok(&timed(&["start", &id]));
    h.wait_status(&id, "running");
    ok(&timed(&["kill", &id, "9"]));
    h.wait_status(&id, "stopped");
    // Still there while the stopped container is: runc's, too.
    assert_eq!(mounts_under(&b.rootfs()).len(), made.len());
    ok(&timed(&["delete", &id]));
    assert_no_mounts(&b, "after delete");
    assert_no_container(&h, &id);
}

#[test]
fn run_removes_its_mounts_when_it_ends() {
    let h = Husk::new();
    let id = unique_id("nons-run");
    let mut b = no_ns_bundle(&id);
    b.sh("test -c /dev/null && test -d /proc/self && echo inside");
    let out = ok(&h.run(&b, &id));
    assert_eq!(out.trim(), "inside");
    assert_no_mounts(&b, "after run");
    assert_no_container(&h, &id);
}

/// A mount failing late (the last one): create fails, and every mount made
/// before it is gone, with the state directory.
#[test]
fn failed_create_leaves_no_mount() {
    let h = Husk::new();
    let id = unique_id("nons-fail");
    let mut b = no_ns_bundle(&id);
    b.add_mount(json!({
        "destination": "/mnt/late",
        "type": "tmpfs",
        "source": "tmpfs",
        "options": ["size=not-a-size"]
    }));
    let e = fails(&h.create(&b, &id));
    assert!(e.contains("/mnt/late"), "{e}");
    assert_no_mounts(&b, "after the failed create");
    assert_no_container(&h, &id);
}

/// runc's refusal, in runc's words, before anything exists.
#[test]
fn masked_or_readonly_paths_are_refused_as_in_runc() {
    let h = Husk::new();
    for (field, value) in [
        ("maskedPaths", json!(["/proc/kcore"])),
        ("readonlyPaths", json!(["/proc/sys"])),
    ] {
        let id = unique_id("nons-masked");
        let mut b = no_ns_bundle(&id);
        b.set(&format!("/linux/{field}"), value);
        let e = run_refused(
            &h,
            &b,
            &id,
            &[
                "unable to restrict sys entries without a private MNT namespace",
                field,
            ],
        );
        assert!(e.contains("step \"load-config\""), "refused at load: {e}");
        assert_no_mounts(&b, field);
        assert!(
            std::fs::read_dir(h.root.path()).unwrap().next().is_none(),
            "something was created under --root"
        );
        // Nor the config's cgroup (relative: below the test's own).
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        let pids = own
            .lines()
            .find_map(|l| l.split_once(":pids:"))
            .map(|(_, p)| p);
        if let Some(p) = pids {
            let cg = Path::new("/sys/fs/cgroup/pids")
                .join(p.trim_start_matches('/'))
                .join(&id);
            assert!(!cg.exists(), "{}", cg.display());
        }
    }
}

/// pid, uts, ipc and net namespaces of its own, and the caller's mount
/// namespace: /proc shows the container's pids, the hostname is its own.
#[test]
fn some_namespaces_without_a_mount_namespace() {
    let h = Husk::new();
    let id = unique_id("nons-some");
    let mut b = no_ns_bundle(&id);
    b.set(
        "/linux/namespaces",
        json!([{"type": "pid"}, {"type": "uts"}, {"type": "ipc"}, {"type": "network"}]),
    )
    .set("/hostname", json!("inner"))
    .sh("echo self=$$; echo host=$(hostname); \
         for n in mnt pid uts ipc net; do echo $n=$(readlink /proc/self/ns/$n); done; \
         ip -o link | cut -d: -f2 | tr -d ' '");
    let out = ok(&h.run(&b, &id));
    let kv = kv(&out);
    assert_eq!(value(&kv, "self"), Some("1"), "{out}");
    assert_eq!(value(&kv, "host"), Some("inner"), "{out}");
    let own = ns_links("self");
    assert_eq!(value(&kv, "mnt"), Some(own["mnt"].as_str()), "{out}");
    for n in ["pid", "uts", "ipc", "net"] {
        assert_ne!(value(&kv, n), Some(own[n].as_str()), "{n}: {out}");
    }
    assert!(out.lines().any(|l| l == "lo"), "{out}");
    assert_no_mounts(&b, "after run");
}

/// An engine's rootfs is often a mount point of its own (an overlay): it
/// was there before, so it stays; only what husk mounted goes.
#[test]
fn a_rootfs_that_was_a_mount_point_stays() {
    let h = Husk::new();
    let id = unique_id("nons-mp");
    let mut b = no_ns_bundle(&id);
    b.sh("true");
    let r = b.rootfs();
    let st = Command::new("mount")
        .args(["--bind", "--make-private"])
        .arg(&r)
        .arg(&r)
        .status()
        .unwrap();
    assert!(st.success(), "mount --bind the rootfs");
    let engine = mounts_under(&r);
    assert_eq!(engine.len(), 1, "{engine:?}");
    ok(&h.run(&b, &id));
    assert_eq!(
        mounts_under(b.path()),
        engine,
        "only the engine's mount is left"
    );
    // HostBundle's drop detaches the engine's mount.
}

/// Crash safety: a create killed after its mounts are made leaves its
/// record; `delete --force` finds it and removes them.
#[test]
fn delete_force_after_a_killed_create_removes_its_mounts() {
    let h = Husk::new();
    let id = unique_id("nons-kill");
    let mut b = no_ns_bundle(&id);
    let marker = b.path().join("hook-ran");
    b.set(
        "/hooks",
        json!({"createRuntime": [{
            "path": "/bin/sh",
            "args": ["sh", "-c", format!("echo $$ > {}; exec sleep 30", marker.display())]
        }]}),
    );
    b.write();
    let mut c = h.command();
    c.args(["create", "--bundle", b.arg(), &id])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = c.spawn().unwrap();
    wait_for("the createRuntime hook", || {
        std::fs::read_to_string(&marker).is_ok_and(|s| s.ends_with('\n'))
    });
    assert!(
        !mounts_under(&b.rootfs()).is_empty(),
        "mounted before the hook"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    // The hook's sleep outlives husk; it is ours to end, by its pid.
    let hook: i32 = read_trim(&marker).parse().unwrap();
    // SAFETY: a signal to the hook this test started.
    unsafe { libc::kill(hook, libc::SIGKILL) };
    let o = h.timed(
        &["delete", "--force", &id],
        Stdin::Null,
        Out::Temp,
        Duration::from_secs(30),
    );
    ok(&o);
    assert_no_mounts(&b, "after delete --force");
    assert!(!h.root.path().join(&id).exists());
    // The record lists the cgroup too: delete --force removed it.
    let left: Vec<_> = hierarchies()
        .iter()
        .map(|hi| hi.dir(&id))
        .filter(|d| d.exists())
        .collect();
    assert!(
        left.is_empty(),
        "cgroups left after delete --force: {left:?}"
    );
}

/// `husk exec` into such a container sees its root, not the host's.
#[test]
fn exec_sees_the_containers_root() {
    let h = Husk::new();
    let id = unique_id("nons-exec");
    let mut b = no_ns_bundle(&id);
    b.sh("sleep 60");
    std::fs::write(b.rootfs().join("marker"), "in-the-rootfs\n").unwrap();
    h.run_detached(&b, &id);
    let out = ok(&h.timed(
        &["exec", &id, "cat", "/marker"],
        Stdin::Null,
        Out::Temp,
        TIMEOUT,
    ));
    assert_eq!(out.trim(), "in-the-rootfs");
    ok(&h.cmd(&["delete", "--force", &id]));
    assert_no_mounts(&b, "after delete --force");
}
