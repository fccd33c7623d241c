//! What a container can see of the host: namespaces, the root filesystem,
//! mounts, devices, masked and read-only paths. Each test looks from the
//! inside (the container's sh prints, the test parses `husk run`'s stdout)
//! and compares with the host where that says something.
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::*;
use serde_json::json;

// ---------------------------------------------------------------------------
// Helpers.

/// One line of /proc/<pid>/mountinfo.
#[derive(Debug, Clone)]
struct MountLine {
    root: String,
    point: String,
    opts: Vec<String>,
    optional: Vec<String>,
    fstype: String,
    super_opts: Vec<String>,
}

impl MountLine {
    fn has_opt(&self, o: &str) -> bool {
        self.opts.iter().any(|x| x == o)
    }
    fn has_tag(&self, prefix: &str) -> bool {
        self.optional.iter().any(|x| x.starts_with(prefix))
    }
}

fn parse_mountinfo(text: &str) -> Vec<MountLine> {
    text.lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let f: Vec<&str> = left.split(' ').collect();
            if f.len() < 6 {
                return None;
            }
            let r: Vec<&str> = right.split(' ').collect();
            Some(MountLine {
                root: f[3].to_string(),
                point: f[4].to_string(),
                opts: f[5].split(',').map(String::from).collect(),
                optional: f[6..].iter().map(|s| s.to_string()).collect(),
                fstype: r.first()?.to_string(),
                super_opts: r
                    .get(2)
                    .map(|s| s.split(',').map(String::from).collect())
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// The last (topmost) mount at `point`.
#[track_caller]
fn mount_at<'a>(mi: &'a [MountLine], point: &str) -> &'a MountLine {
    mi.iter()
        .rev()
        .find(|m| m.point == point)
        .unwrap_or_else(|| panic!("no mount at {point} in\n{mi:#?}"))
}

/// Output between "==name==" and the next "==...==" marker.
fn section<'a>(out: &'a str, name: &str) -> &'a str {
    let start_tag = format!("=={name}==\n");
    let start = out
        .find(&start_tag)
        .unwrap_or_else(|| panic!("no section {name} in output:\n{out}"))
        + start_tag.len();
    let rest = &out[start..];
    let end = rest.find("\n==").map(|i| i + 1).unwrap_or(rest.len());
    &rest[..end]
}

/// Run husk inside a private mount namespace of its own (unshare -m), after
/// `setup` (shell commands, e.g. mounts) ran there. The host never sees
/// those mounts, and they vanish with the namespace.
fn run_in_private_mntns(h: &Husk, b: &Bundle, id: &str, setup: &str) -> Output {
    b.write();
    Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-ec"])
        .arg(format!(
            "{setup}\nexec \"$0\" --root \"$1\" run --bundle \"$2\" \"$3\""
        ))
        .arg(HUSK)
        .arg(h.root.path())
        .arg(b.path())
        .arg(id)
        .stdin(Stdio::null())
        .output()
        .expect("spawn unshare")
}

/// A host directory the container's root user can traverse (a user
/// namespace's root is not the host's root).
fn make_traversable(p: &Path) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

// ---------------------------------------------------------------------------
// PID namespace.

#[test]
fn pid_namespace_init_is_pid_1_and_sees_only_container_processes() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh(
        "echo pid=$$; echo ==ps==; ps -o pid,comm; echo ==proc==; ls /proc | grep -E '^[0-9]+$'; echo ==end==",
    );
    let out = ok(&h.run(&b, &unique_id("pidns")));
    assert_eq!(kv(&out)["pid"], "1", "{out}");
    // ps: a header, then sh (pid 1) and ps itself; nothing of the host's.
    let ps: Vec<&str> = section(&out, "ps").lines().skip(1).collect();
    assert_eq!(ps.len(), 2, "ps shows more than sh and ps:\n{out}");
    assert!(
        ps.iter()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["1", "sh"]),
        "{out}"
    );
    let pids: Vec<u32> = section(&out, "proc")
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert!(pids.contains(&1), "{out}");
    // sh, ls, grep at most: the host has many more processes.
    assert!(pids.len() <= 3, "/proc shows host processes: {pids:?}");
    assert!(pids.iter().all(|p| *p < 10), "{pids:?}");
    let host_pids = std::fs::read_dir("/proc")
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .parse::<u32>()
                .is_ok()
        })
        .count();
    assert!(host_pids > pids.len());
}

// ---------------------------------------------------------------------------
// New namespaces against the host's.

const NS_SCRIPT: &str =
    "for n in pid net mnt ipc uts cgroup user time; do echo $n=$(readlink /proc/self/ns/$n); done";

#[test]
fn each_configured_namespace_is_new() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh(NS_SCRIPT);
    let out = ok(&h.run(&b, &unique_id("nsnew")));
    let ns = kv(&out);
    for n in ["pid", "net", "mnt", "ipc", "uts", "cgroup"] {
        let inside = &ns[n];
        assert!(inside.starts_with(&format!("{n}:[")), "{n}: {inside}");
        assert_ne!(inside, &host_ns(n), "{n} namespace is the host's");
    }
    // Not in the config: shared with the host.
    for n in ["user", "time"] {
        assert_eq!(ns[n], host_ns(n), "{n} namespace should be the host's");
    }
}

#[test]
fn config_without_network_namespace_shares_hosts_net() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh(NS_SCRIPT);
    b.remove_namespace("network");
    let out = ok(&h.run(&b, &unique_id("nonet")));
    let ns = kv(&out);
    assert_eq!(ns["net"], host_ns("net"));
    // The others are still new.
    assert_ne!(ns["ipc"], host_ns("ipc"));
    assert_ne!(ns["mnt"], host_ns("mnt"));
}

#[test]
fn time_namespace_applies_offsets() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.add_namespace("time", None);
    b.set(
        "/linux/timeOffsets",
        json!({
            "monotonic": {"secs": 86400 * 10, "nanosecs": 0},
            "boottime": {"secs": 86400 * 20, "nanosecs": 0}
        }),
    );
    b.sh("echo time=$(readlink /proc/self/ns/time); echo ==offsets==; cat /proc/self/timens_offsets; echo ==uptime==; cat /proc/uptime; echo ==end==");
    let host_uptime_before: f64 = std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let out = ok(&h.run(&b, &unique_id("timens")));
    assert_ne!(kv(&out)["time"], host_ns("time"), "{out}");
    // /proc/uptime is CLOCK_BOOTTIME: 20 days ahead of the host's.
    let inside: f64 = section(&out, "uptime")
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        inside >= host_uptime_before + 86400.0 * 20.0,
        "uptime inside {inside}, host {host_uptime_before}"
    );
    assert!(inside < host_uptime_before + 86400.0 * 20.0 + 60.0);
    // The monotonic offset is what the namespace says it is.
    let offsets: Vec<Vec<String>> = section(&out, "offsets")
        .lines()
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect();
    assert!(
        offsets.contains(&vec!["monotonic".into(), "864000".into(), "0".into()]),
        "{out}"
    );
    assert!(
        offsets.contains(&vec!["boottime".into(), "1728000".into(), "0".into()]),
        "{out}"
    );
}

#[test]
fn time_offsets_without_time_namespace_are_rejected() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set(
        "/linux/timeOffsets",
        json!({"monotonic": {"secs": 10, "nanosecs": 0}}),
    );
    let id = unique_id("timeoff");
    run_refused(&h, &b, &id, &["linux.timeOffsets", "time namespace"]);
}

#[test]
fn cgroup_namespace_roots_the_containers_cgroups() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh("cat /proc/self/cgroup");
    let out = ok(&h.run(&b, &unique_id("cgns")));
    // "4:memory:/some/path" on the host is "4:memory:/" inside: the
    // container's own cgroup is its root.
    let lines: Vec<&str> = out.lines().collect();
    assert!(!lines.is_empty());
    for l in &lines {
        assert!(l.ends_with(":/"), "host cgroup path visible: {l}\n{out}");
    }
    let host = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    assert_eq!(host.lines().count(), lines.len(), "{host}\n{out}");
}

// ---------------------------------------------------------------------------
// Joining namespaces by path.

#[test]
fn join_network_uts_ipc_namespaces_by_path() {
    let h = Husk::new();
    let mut a = Bundle::new();
    a.set("/hostname", json!("alpha-host"));
    a.args(&["sleep", "30"]);
    let pid_a = h.run_detached(&a, &unique_id("join-a"));

    let mut b = Bundle::new();
    b.remove("/hostname");
    for (typ, file) in [("network", "net"), ("uts", "uts"), ("ipc", "ipc")] {
        b.add_namespace(typ, Some(&format!("/proc/{pid_a}/ns/{file}")));
    }
    b.sh("for n in net uts ipc mnt pid; do echo $n=$(readlink /proc/self/ns/$n); done; echo hostname=$(hostname)");
    let out = ok(&h.run(&b, &unique_id("join-b")));
    let ns = kv(&out);
    for n in ["net", "uts", "ipc"] {
        assert_eq!(ns[n], proc_ns(pid_a, n), "{n} not joined: {out}");
        assert_ne!(ns[n], host_ns(n));
    }
    // Not joined: B's own.
    assert_ne!(ns["mnt"], proc_ns(pid_a, "mnt"));
    assert_ne!(ns["pid"], proc_ns(pid_a, "pid"));
    assert_eq!(ns["hostname"], "alpha-host", "{out}");
}

#[test]
fn join_pid_namespace_by_path_sees_the_other_containers_processes() {
    let h = Husk::new();
    let mut a = Bundle::new();
    a.args(&["sleep", "30"]);
    let pid_a = h.run_detached(&a, &unique_id("joinpid-a"));

    let mut b = Bundle::new();
    b.add_namespace("pid", Some(&format!("/proc/{pid_a}/ns/pid")));
    b.sh("echo self=$$; echo pidns=$(readlink /proc/self/ns/pid); echo ==ps==; ps -o pid,comm; echo ==end==");
    let out = ok(&h.run(&b, &unique_id("joinpid-b")));
    let v = kv(&out);
    assert_eq!(v["pidns"], proc_ns(pid_a, "pid"), "{out}");
    assert_ne!(v["self"], "1", "B is not A's init: {out}");
    let ps: Vec<Vec<&str>> = section(&out, "ps")
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(
        ps.iter().any(|l| l == &["1", "sleep"]),
        "A's init is not visible from B:\n{out}"
    );
}

#[test]
fn joining_a_namespace_of_the_wrong_type_fails_clearly() {
    let h = Husk::new();
    let mut b = Bundle::new();
    // A uts namespace file given as the network namespace.
    b.add_namespace("network", Some("/proc/self/ns/uts"));
    let id = unique_id("join-wrong");
    run_refused(&h, &b, &id, &["/proc/self/ns/uts", "setns"]);
}

#[test]
fn joining_a_missing_namespace_path_fails_clearly() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.add_namespace("ipc", Some("/proc/999999999/ns/ipc"));
    let id = unique_id("join-missing");
    run_refused(&h, &b, &id, &["/proc/999999999/ns/ipc", "ipc namespace"]);
}

// ---------------------------------------------------------------------------
// User namespace.

fn userns_bundle() -> Bundle {
    let mut b = Bundle::new();
    make_traversable(b.path());
    b.add_namespace("user", None);
    let map = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    b.set("/linux/uidMappings", map.clone());
    b.set("/linux/gidMappings", map);
    b
}

#[test]
fn user_namespace_maps_root_to_host_id() {
    let h = Husk::new();
    let mut b = userns_bundle();
    b.sh("echo ==uid==; cat /proc/self/uid_map; echo ==gid==; cat /proc/self/gid_map; echo ==end==; echo uid=$(id -u); echo gid=$(id -g); echo user=$(readlink /proc/self/ns/user); echo null=$(stat -c '%F %t:%T' /dev/null); echo hi > /dev/null && echo devnull=ok; echo ==mountinfo==; cat /proc/self/mountinfo; echo ==end==");
    let out = ok(&h.run(&b, &unique_id("userns")));
    let words = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    assert_eq!(
        words(section(&out, "uid")),
        ["0", "100000", "65536"],
        "{out}"
    );
    assert_eq!(
        words(section(&out, "gid")),
        ["0", "100000", "65536"],
        "{out}"
    );
    let v = kv(&out);
    assert_eq!(v["uid"], "0");
    assert_eq!(v["gid"], "0");
    assert_ne!(v["user"], host_ns("user"));
    // /dev/null is the host's node bind-mounted (mknod is not allowed).
    assert_eq!(v["null"], "character special file 1:3", "{out}");
    assert_eq!(v["devnull"], "ok");
    let mi = parse_mountinfo(section(&out, "mountinfo"));
    for d in ["null", "zero", "full", "random", "urandom", "tty"] {
        let m = mount_at(&mi, &format!("/dev/{d}"));
        assert_eq!(m.root, format!("/{d}"), "{m:?}");
    }
}

#[test]
fn user_namespace_init_runs_as_mapped_host_uid() {
    let h = Husk::new();
    let mut b = userns_bundle();
    b.args(&["sleep", "30"]);
    let pid = h.run_detached(&b, &unique_id("userns-host"));
    let status = proc_status(pid);
    assert_eq!(ids(&status, "Uid"), ["100000"; 4], "{status}");
    assert_eq!(ids(&status, "Gid"), ["100000"; 4], "{status}");
    let map = std::fs::read_to_string(format!("/proc/{pid}/uid_map")).unwrap();
    assert_eq!(
        map.split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"]
    );
}

/// The ids (real, effective, saved, filesystem) of a "Uid" or "Gid" line
/// of /proc/<pid>/status.
fn ids(status: &str, key: &str) -> Vec<String> {
    status_field(status, key)
        .split_whitespace()
        .map(String::from)
        .collect()
}

/// A sleeping container in a user namespace of its own (see
/// [`userns_bundle`]); returns its init's host pid.
fn userns_sleeper(h: &Husk, prefix: &str) -> i32 {
    let mut a = userns_bundle();
    a.args(&["sleep", "30"]);
    h.run_detached(&a, &unique_id(prefix))
}

/// A bundle that joins the user namespace of process `pid`.
fn joining_user_namespace_of(pid: i32) -> Bundle {
    let mut b = Bundle::new();
    make_traversable(b.path());
    b.add_namespace("user", Some(&format!("/proc/{pid}/ns/user")));
    b
}

#[test]
fn join_user_namespace_by_path() {
    let h = Husk::new();
    let pid_a = userns_sleeper(&h, "joinuser-a");
    let mut b = joining_user_namespace_of(pid_a);
    b.sh("echo user=$(readlink /proc/self/ns/user); echo uid=$(id -u); echo pid=$$; echo ==map==; cat /proc/self/uid_map; echo ==end==");
    let id_b = unique_id("joinuser-b");
    let out = ok(&h.run(&b, &id_b));
    let v = kv(&out);
    assert_eq!(v["user"], proc_ns(pid_a, "user"), "{out}");
    assert_eq!(v["uid"], "0", "{out}");
    // A new pid namespace inside the joined user namespace.
    assert_eq!(v["pid"], "1", "{out}");
    assert_eq!(
        section(&out, "map").split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"]
    );
}

#[test]
fn join_user_namespace_by_path_runs_as_its_host_uid() {
    let h = Husk::new();
    let pid_a = userns_sleeper(&h, "joinuser2-a");
    let mut b = joining_user_namespace_of(pid_a);
    b.args(&["sleep", "30"]);
    let pid_b = h.run_detached(&b, &unique_id("joinuser2-b"));
    assert_ne!(pid_a, pid_b);
    let status = proc_status(pid_b);
    assert_eq!(ids(&status, "Uid"), ["100000"; 4], "{status}");
    assert_eq!(proc_ns(pid_b, "user"), proc_ns(pid_a, "user"));
    assert_ne!(proc_ns(pid_b, "pid"), proc_ns(pid_a, "pid"));
}

#[test]
fn id_mappings_without_user_namespace_are_rejected() {
    let h = Husk::new();
    let mut b = Bundle::new();
    let map = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    b.set("/linux/uidMappings", map.clone());
    b.set("/linux/gidMappings", map);
    let id = unique_id("maps-nouserns");
    run_refused(&h, &b, &id, &["linux.uidMappings", "no user namespace"]);
}

// ---------------------------------------------------------------------------
// UTS.

#[test]
fn hostname_and_domainname_are_set_inside_only() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set("/hostname", json!("box-one"));
    b.set("/domainname", json!("example.test"));
    b.sh("echo hostname=$(hostname); echo domain=$(cat /proc/sys/kernel/domainname)");
    let host_before = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let dom_before = std::fs::read_to_string("/proc/sys/kernel/domainname").unwrap();
    let out = ok(&h.run(&b, &unique_id("uts")));
    let v = kv(&out);
    assert_eq!(v["hostname"], "box-one");
    assert_eq!(v["domain"], "example.test");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        host_before
    );
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/domainname").unwrap(),
        dom_before
    );
}

#[test]
fn hostname_without_uts_namespace_is_rejected() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.remove_namespace("uts");
    let id = unique_id("nouts");
    run_refused(&h, &b, &id, &["hostname", "uts namespace"]);
}

// ---------------------------------------------------------------------------
// Root filesystem.

/// Checks shared by the pivot_root and --no-pivot tests.
fn assert_root_is_rootfs_only(out: &str, b: &Bundle) {
    let mi = parse_mountinfo(section(out, "mountinfo"));
    let rootfs = std::fs::canonicalize(b.rootfs()).unwrap();
    let roots: Vec<&MountLine> = mi.iter().filter(|m| m.point == "/").collect();
    assert_eq!(roots.len(), 1, "more than one / mount: {roots:#?}");
    assert_eq!(
        roots[0].root,
        rootfs.to_str().unwrap(),
        "/ is not the rootfs: {roots:#?}"
    );
    // Only the rootfs and the config's mounts: nothing of the host's tree
    // (its /, /mnt/…, the host's /sys/fs/cgroup tmpfs …) is reachable.
    for m in &mi {
        let p = m.point.as_str();
        assert!(
            p == "/"
                || ["/proc", "/dev", "/sys"]
                    .iter()
                    .any(|d| p == *d || p.starts_with(&format!("{d}/"))),
            "host mount visible in the container: {m:?}"
        );
    }
    let v = kv(out);
    assert_eq!(v["marker"], "absent", "host file visible: {out}");
    assert_eq!(v["rootmarker"], "absent", "bundle file visible: {out}");
}

/// A bundle whose container prints its mounts and tries to read a marker
/// file in a host directory (returned: it lives as long as the test needs
/// it) and one in the bundle directory, just outside its rootfs.
fn rootfs_bundle() -> (Bundle, tempfile::TempDir) {
    let mut b = Bundle::new();
    let host = tempfile::tempdir().unwrap();
    let host_marker = host.path().join("host-marker");
    std::fs::write(&host_marker, "host secret").unwrap();
    std::fs::write(b.path().join("outside-marker"), "bundle secret").unwrap();
    b.sh(&format!(
        "echo ==mountinfo==; cat /proc/self/mountinfo; echo ==end==; \
         if cat {m} 2>/dev/null; then echo marker=present; else echo marker=absent; fi; \
         if cat /../outside-marker /proc/1/root/../outside-marker 2>/dev/null; then echo rootmarker=present; else echo rootmarker=absent; fi",
        m = host_marker.display()
    ));
    (b, host)
}

/// `husk run --no-pivot` of the bundle.
fn run_no_pivot(h: &Husk, b: &Bundle, id: &str) -> Output {
    b.write();
    h.cmd(&["run", "--no-pivot", "--bundle", b.arg(), id])
}

#[test]
fn pivot_root_leaves_only_the_rootfs() {
    let h = Husk::new();
    let (b, _host) = rootfs_bundle();
    let out = ok(&h.run(&b, &unique_id("pivot")));
    assert_root_is_rootfs_only(&out, &b);
}

#[test]
fn no_pivot_still_hides_host_files() {
    let h = Husk::new();
    let (b, _host) = rootfs_bundle();
    let out = ok(&run_no_pivot(&h, &b, &unique_id("nopivot")));
    assert_root_is_rootfs_only(&out, &b);
}

#[test]
fn no_pivot_create_then_start() {
    let h = Husk::new();
    let mut b = Bundle::new();
    // The output goes to a file in the rootfs: create's stdio stays with
    // the container.
    b.sh("readlink /proc/self/ns/mnt > /tmp/out; echo pid=$$ >> /tmp/out");
    b.write();
    let id = unique_id("nopivot-create");
    ok(&h.timed(
        &["create", "--no-pivot", "--bundle", b.arg(), &id],
        Stdin::Null,
        Out::Beside(&b.path().join("create.log")),
        TIMEOUT,
    ));
    assert_eq!(h.status(&id), "created");
    ok(&h.cmd(&["start", &id]));
    h.wait_status(&id, "stopped");
    let out = std::fs::read_to_string(b.rootfs().join("tmp/out")).unwrap();
    assert!(out.starts_with("mnt:["), "{out}");
    assert_ne!(out.lines().next().unwrap(), host_ns("mnt"));
    assert!(out.contains("pid=1"), "{out}");
}

#[test]
fn readonly_root_refuses_writes() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set("/root/readonly", json!(true));
    b.sh("touch /x 2>&1; echo touch=$?; touch /dev/shm/y && echo shm=ok; echo ==mountinfo==; cat /proc/self/mountinfo; echo ==end==");
    let out = ok(&h.run(&b, &unique_id("roroot")));
    assert!(out.contains("Read-only file system"), "{out}");
    assert_ne!(kv(&out)["touch"], "0");
    // Only the root mount: /dev/shm (a mount of its own) is writable.
    assert_eq!(kv(&out)["shm"], "ok");
    let mi = parse_mountinfo(section(&out, "mountinfo"));
    assert!(mount_at(&mi, "/").has_opt("ro"), "{mi:#?}");
    assert!(!b.rootfs().join("x").exists());
}

#[test]
fn readonly_root_with_no_pivot() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set("/root/readonly", json!(true));
    b.sh(
        "touch /x 2>&1; echo touch=$?; echo ==mountinfo==; cat /proc/self/mountinfo; echo ==end==",
    );
    let out = ok(&run_no_pivot(&h, &b, &unique_id("roroot-nopivot")));
    assert_ne!(kv(&out)["touch"], "0", "{out}");
    assert!(out.contains("Read-only file system"), "{out}");
    let mi = parse_mountinfo(section(&out, "mountinfo"));
    assert!(mount_at(&mi, "/").has_opt("ro"), "{mi:#?}");
    assert!(!b.rootfs().join("x").exists());
}

#[test]
fn writable_root_allows_writes() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh("touch /x && echo touch=ok");
    let out = ok(&h.run(&b, &unique_id("rwroot")));
    assert_eq!(kv(&out)["touch"], "ok");
    assert!(b.rootfs().join("x").exists());
}

// ---------------------------------------------------------------------------
// Config mounts.

#[test]
fn readonly_rbind_of_host_dir() {
    let h = Husk::new();
    let mut b = Bundle::new();
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("hello"), "from the host\n").unwrap();
    b.add_mount(json!({
        "destination": "/data", "type": "bind",
        "source": host.path(), "options": ["rbind", "ro"]
    }));
    b.sh("cat /data/hello; { echo new > /data/new; } 2>&1; echo write=$?; echo ==mountinfo==; cat /proc/self/mountinfo; echo ==end==");
    let out = ok(&h.run(&b, &unique_id("rbind-ro")));
    assert!(out.contains("from the host"), "{out}");
    assert!(out.contains("Read-only file system"), "{out}");
    assert_ne!(kv(&out)["write"], "0");
    let mi = parse_mountinfo(section(&out, "mountinfo"));
    let m = mount_at(&mi, "/data");
    assert!(m.has_opt("ro"), "{m:?}");
    assert!(!host.path().join("new").exists());
}

#[test]
fn bind_mount_flags_nosuid_nodev_noexec() {
    let h = Husk::new();
    let mut b = Bundle::new();
    let host = tempfile::tempdir().unwrap();
    std::fs::copy(b.rootfs().join("bin/busybox"), host.path().join("bb")).unwrap();
    b.add_mount(json!({
        "destination": "/data", "type": "bind",
        "source": host.path(), "options": ["bind", "nosuid", "nodev", "noexec"]
    }));
    b.sh("/data/bb true 2>&1; echo exec=$?; echo w > /data/w && echo write=ok; echo ==mountinfo==; cat /proc/self/mountinfo; echo ==end==");
    let out = ok(&h.run(&b, &unique_id("bindflags")));
    let mi = parse_mountinfo(section(&out, "mountinfo"));
    let m = mount_at(&mi, "/data");
    for o in ["nosuid", "nodev", "noexec", "rw"] {
        assert!(m.has_opt(o), "{o} missing: {m:?}");
    }
    // noexec really applies; the mount is still writable.
    assert_ne!(kv(&out)["exec"], "0", "{out}");
    assert!(out.contains("Permission denied"), "{out}");
    assert_eq!(kv(&out)["write"], "ok");
    assert_eq!(
        std::fs::read_to_string(host.path().join("w")).unwrap(),
        "w\n"
    );
}

#[test]
fn tmpfs_mount_with_size_and_mode() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.add_mount(json!({
        "destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
        "options": ["nosuid", "size=1m", "mode=700"]
    }));
    b.sh("echo mode=$(stat -c %a /scratch); echo ==df==; df -k /scratch; echo ==mountinfo==; cat /proc/self/mountinfo; echo ==end==");
    let out = ok(&h.run(&b, &unique_id("tmpfs")));
    assert_eq!(kv(&out)["mode"], "700", "{out}");
    let mi = parse_mountinfo(section(&out, "mountinfo"));
    let m = mount_at(&mi, "/scratch");
    assert_eq!(m.fstype, "tmpfs");
    assert!(m.has_opt("nosuid"), "{m:?}");
    assert!(m.super_opts.iter().any(|o| o == "size=1024k"), "{m:?}");
    assert!(m.super_opts.iter().any(|o| o == "mode=700"), "{m:?}");
    // df: 1024 1K-blocks in total.
    let df = section(&out, "df");
    let line = df.lines().nth(1).unwrap();
    assert_eq!(line.split_whitespace().nth(1), Some("1024"), "{df}");
}

#[test]
fn rro_makes_submounts_readonly_too() {
    let h = Husk::new();
    let mut b = Bundle::new();
    let host = tempfile::tempdir().unwrap();
    std::fs::create_dir(host.path().join("sub")).unwrap();
    b.add_mount(json!({
        "destination": "/rro", "type": "bind",
        "source": host.path(), "options": ["rbind", "rro"]
    }));
    b.add_mount(json!({
        "destination": "/plain", "type": "bind",
        "source": host.path(), "options": ["rbind", "ro"]
    }));
    b.sh(
        "touch /rro/sub/x 2>&1; echo rrosub=$?; touch /rro/x 2>&1; echo rrotop=$?; \
          touch /plain/sub/y 2>&1; echo plainsub=$?; touch /plain/y 2>&1; echo plaintop=$?; \
          echo ==mountinfo==; cat /proc/self/mountinfo; echo ==end==",
    );
    let sub = host.path().join("sub");
    let out = ok(&run_in_private_mntns(
        &h,
        &b,
        &unique_id("rro"),
        &format!("mount -t tmpfs husk-rro-sub '{}'", sub.display()),
    ));
    let v = kv(&out);
    assert_ne!(v["rrosub"], "0", "rro did not reach the submount: {out}");
    assert_ne!(v["rrotop"], "0", "{out}");
    assert_ne!(v["plaintop"], "0", "{out}");
    // Plain "ro" on a bind is not recursive (as in runc): the submount
    // keeps its own flags.
    assert_eq!(v["plainsub"], "0", "{out}");
    let mi = parse_mountinfo(section(&out, "mountinfo"));
    assert!(mount_at(&mi, "/rro").has_opt("ro"));
    assert!(mount_at(&mi, "/rro/sub").has_opt("ro"), "{mi:#?}");
    assert!(mount_at(&mi, "/plain/sub").has_opt("rw"), "{mi:#?}");
    // The submount lived only in the private namespace.
    assert!(host_mounts_mentioning(host.path().to_str().unwrap()).is_empty());
    assert_eq!(std::fs::read_dir(&sub).unwrap().count(), 0);
}

/// Binds of a shared host mount (made in a private mount namespace) at
/// /priv, /slave and /shared with the given propagation options; returns
/// the container's mountinfo.
fn propagation_mountinfo(label: &str, opts: &[(&str, &str)]) -> Vec<MountLine> {
    let h = Husk::new();
    let mut b = Bundle::new();
    let host = tempfile::tempdir().unwrap();
    for (dest, opt) in opts {
        b.add_mount(json!({
            "destination": dest, "type": "bind",
            "source": host.path(), "options": ["rbind", opt]
        }));
    }
    b.sh("echo ==mountinfo==; cat /proc/self/mountinfo; echo ==end==");
    // The source is a shared mount, so its copies in the container have
    // a master (or peers) to show.
    let setup = format!(
        "mount -t tmpfs husk-prop '{0}'; mount --make-shared '{0}'",
        host.path().display()
    );
    let out = ok(&run_in_private_mntns(&h, &b, &unique_id(label), &setup));
    assert!(host_mounts_mentioning(host.path().to_str().unwrap()).is_empty());
    parse_mountinfo(section(&out, "mountinfo"))
}

#[test]
fn mount_propagation_rprivate_and_rslave() {
    let mi = propagation_mountinfo(
        "prop",
        &[
            ("/priv", "rprivate"),
            ("/slave", "rslave"),
            ("/unbind", "runbindable"),
        ],
    );
    let p = mount_at(&mi, "/priv");
    assert!(!p.has_tag("shared:") && !p.has_tag("master:"), "{p:?}");
    let s = mount_at(&mi, "/slave");
    assert!(s.has_tag("master:") && !s.has_tag("shared:"), "{s:?}");
    let u = mount_at(&mi, "/unbind");
    assert!(u.has_tag("unbindable"), "{u:?}");
}

#[test]
fn mount_propagation_rshared_is_kept() {
    let mi = propagation_mountinfo("prop-shared", &[("/shared", "rshared")]);
    let sh = mount_at(&mi, "/shared");
    assert!(sh.has_tag("shared:"), "rshared mount is not shared: {sh:?}");
}

#[test]
fn mount_propagation_rshared_on_a_private_source() {
    // The plainest case: the host directory is not a mount of its own, so
    // "rshared" makes a new peer group that only the container has.
    let h = Husk::new();
    let mut b = Bundle::new();
    let host = tempfile::tempdir().unwrap();
    b.add_mount(json!({
        "destination": "/shared", "type": "bind",
        "source": host.path(), "options": ["rbind", "rshared"]
    }));
    b.sh("cat /proc/self/mountinfo");
    let out = ok(&h.run(&b, &unique_id("prop-shared-plain")));
    let mi = parse_mountinfo(&out);
    let sh = mount_at(&mi, "/shared");
    assert!(sh.has_tag("shared:"), "rshared mount is not shared: {sh:?}");
}

#[test]
fn bind_mount_of_a_single_file() {
    let h = Husk::new();
    let mut b = Bundle::new();
    let host = tempfile::tempdir().unwrap();
    let f = host.path().join("hostfile");
    std::fs::write(&f, "single file contents\n").unwrap();
    b.add_mount(json!({
        "destination": "/etc/hostfile", "type": "bind",
        "source": f, "options": ["bind", "ro"]
    }));
    b.sh("echo type=$(stat -c %F /etc/hostfile); cat /etc/hostfile; { echo x >> /etc/hostfile; } 2>&1; echo append=$?");
    let out = ok(&h.run(&b, &unique_id("filebind")));
    let v = kv(&out);
    assert_eq!(v["type"], "regular file", "{out}");
    assert!(out.contains("single file contents"), "{out}");
    assert_ne!(v["append"], "0", "{out}");
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "single file contents\n"
    );
}

/// A symlink in the rootfs pointing outside it must be resolved inside the
/// rootfs when it lies on a mount destination.
fn symlinked_destination_stays_inside(link_target: &str, host_dir: &Path, label: &str) {
    let h = Husk::new();
    let mut b = Bundle::new();
    std::os::unix::fs::symlink(link_target, b.rootfs().join("evil")).unwrap();
    b.add_mount(json!({
        "destination": "/evil/sub", "type": "tmpfs", "source": "tmpfs",
        "options": ["size=64k"]
    }));
    b.sh("touch /evil/sub/written-inside && echo touched=ok; echo ==mountinfo==; cat /proc/self/mountinfo; echo ==end==");
    let out = ok(&h.run(&b, &unique_id(label)));
    assert_eq!(kv(&out)["touched"], "ok", "{out}");
    // The host directory was not touched: no "sub" was made there.
    let left: Vec<_> = std::fs::read_dir(host_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "mount escaped the rootfs: {left:?}");
    assert!(host_mounts_mentioning(host_dir.to_str().unwrap()).is_empty());
    // It landed under the rootfs, where the link points when resolved
    // with the rootfs as /.
    let inside = host_dir.strip_prefix("/").unwrap();
    assert!(
        b.rootfs().join(inside).join("sub").is_dir(),
        "expected {}/sub inside the rootfs",
        host_dir.display()
    );
    let mi = parse_mountinfo(section(&out, "mountinfo"));
    let m = mount_at(&mi, &format!("{}/sub", host_dir.display()));
    assert_eq!(m.fstype, "tmpfs");
}

#[test]
fn mount_through_absolute_symlink_stays_in_rootfs() {
    let host = tempfile::Builder::new()
        .prefix("husk-evil-abs-")
        .tempdir_in("/tmp")
        .unwrap();
    let target = host.path().to_str().unwrap().to_string();
    symlinked_destination_stays_inside(&target, host.path(), "evil-abs");
}

#[test]
fn mount_through_relative_symlink_stays_in_rootfs() {
    let host = tempfile::Builder::new()
        .prefix("husk-evil-rel-")
        .tempdir_in("/tmp")
        .unwrap();
    let name = host.path().file_name().unwrap().to_str().unwrap();
    let target = format!("../../../../../../../../tmp/{name}");
    symlinked_destination_stays_inside(&target, host.path(), "evil-rel");
}

fn symlinked_special_dir_is_refused(dir: &str, link_to: &str) {
    let h = Husk::new();
    let b = Bundle::new();
    let p = b.rootfs().join(dir);
    std::fs::remove_dir(&p).unwrap();
    std::fs::create_dir_all(b.rootfs().join("decoy")).unwrap();
    std::os::unix::fs::symlink(link_to, &p).unwrap();
    let id = unique_id(&format!("symlink-{dir}"));
    let err = fails(&h.create(&b, &id));
    assert!(err.contains(&format!("/{dir}")), "{err}");
    assert!(err.contains("symlink"), "{err}");
    assert_no_state_or_mounts(&h, &b, &id);
    // The link target got nothing mounted or created.
    assert_eq!(
        std::fs::read_dir(b.rootfs().join("decoy")).unwrap().count(),
        0
    );
}

#[test]
fn proc_mount_target_that_is_a_symlink_is_refused() {
    symlinked_special_dir_is_refused("proc", "decoy");
}

#[test]
fn sys_mount_target_that_is_a_symlink_is_refused() {
    symlinked_special_dir_is_refused("sys", "/decoy");
}

#[test]
fn proc_mount_target_that_is_a_file_is_refused() {
    let h = Husk::new();
    let b = Bundle::new();
    let p = b.rootfs().join("proc");
    std::fs::remove_dir(&p).unwrap();
    std::fs::write(&p, "").unwrap();
    let id = unique_id("procfile");
    let err = fails(&h.create(&b, &id));
    assert!(err.contains("not a directory"), "{err}");
    assert_no_state_or_mounts(&h, &b, &id);
}

// ---------------------------------------------------------------------------
// Devices.

#[test]
fn default_devices_and_links() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh("for d in null zero full random urandom tty; do echo $d=$(stat -c '%F %t:%T %a' /dev/$d); done; \
          for l in ptmx fd stdin stdout stderr; do echo link-$l=$(readlink /dev/$l); done; \
          echo hi > /dev/null && echo null-write=ok; \
          echo zero-read=$(head -c 4 /dev/zero | od -An -tx1 | tr -d ' '); \
          { echo x > /dev/full; } 2>&1; echo full-write=$?");
    let out = ok(&h.run(&b, &unique_id("devices")));
    let v = kv(&out);
    for (d, num) in [
        ("null", "1:3"),
        ("zero", "1:5"),
        ("full", "1:7"),
        ("random", "1:8"),
        ("urandom", "1:9"),
        ("tty", "5:0"),
    ] {
        assert_eq!(
            v[d],
            format!("character special file {num} 666"),
            "/dev/{d}: {out}"
        );
    }
    assert_eq!(v["link-ptmx"], "pts/ptmx");
    assert_eq!(v["link-fd"], "/proc/self/fd");
    assert_eq!(v["link-stdin"], "/proc/self/fd/0");
    assert_eq!(v["link-stdout"], "/proc/self/fd/1");
    assert_eq!(v["link-stderr"], "/proc/self/fd/2");
    assert_eq!(v["null-write"], "ok");
    assert_eq!(v["zero-read"], "00000000");
    assert_ne!(v["full-write"], "0");
    assert!(out.contains("No space left on device"), "{out}");
}

#[test]
fn linux_devices_are_created_with_their_mode_and_owner() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set(
        "/linux/devices",
        json!([
            {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
             "fileMode": 0o640, "uid": 1000, "gid": 5},
            {"path": "/dev/extra/loopish", "type": "b", "major": 7, "minor": 3,
             "fileMode": 0o600, "uid": 0, "gid": 0},
            {"path": "/dev/myfifo", "type": "p", "fileMode": 0o620}
        ]),
    );
    b.sh("for d in fuse extra/loopish myfifo; do echo $d=$(stat -c '%F %t:%T %a %u %g' /dev/$d); done");
    let out = ok(&h.run(&b, &unique_id("linuxdev")));
    let v = kv(&out);
    assert_eq!(v["fuse"], "character special file a:e5 640 1000 5", "{out}");
    assert_eq!(
        v["extra/loopish"], "block special file 7:3 600 0 0",
        "{out}"
    );
    assert_eq!(v["myfifo"], "fifo 0:0 620 0 0", "{out}");
}

/// The image's own /dev (no tmpfs over it) with a stale file and a stale
/// symlink where linux.devices wants nodes: both are replaced, and the
/// symlink's target is not written through.
#[test]
fn linux_devices_replace_what_the_image_left_there() {
    let h = Husk::new();
    let mut b = Bundle::with_image_dev();
    let dev = b.rootfs().join("dev");
    std::fs::write(dev.join("fuse"), "stale\n").unwrap();
    std::fs::write(b.rootfs().join("etc/target"), "keep\n").unwrap();
    std::os::unix::fs::symlink("/etc/target", dev.join("loopish")).unwrap();
    b.set(
        "/linux/devices",
        json!([
            {"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666},
            {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o600},
            {"path": "/dev/loopish", "type": "b", "major": 7, "minor": 3, "fileMode": 0o640}
        ]),
    );
    b.sh("for d in fuse loopish; do echo $d=$(stat -c '%F %t:%T %a' /dev/$d); done; echo target=$(cat /etc/target)");
    let out = ok(&h.run(&b, &unique_id("stale-dev")));
    let v = kv(&out);
    assert_eq!(v["fuse"], "character special file a:e5 600", "{out}");
    assert_eq!(v["loopish"], "block special file 7:3 640", "{out}");
    assert_eq!(v["target"], "keep", "{out}");
}

#[test]
fn device_path_through_symlink_stays_in_rootfs() {
    let h = Husk::new();
    let mut b = Bundle::new();
    let host = tempfile::Builder::new()
        .prefix("husk-evil-dev-")
        .tempdir_in("/tmp")
        .unwrap();
    std::os::unix::fs::symlink(host.path(), b.rootfs().join("etc/evil")).unwrap();
    b.set(
        "/linux/devices",
        json!([{"path": "/etc/evil/null2", "type": "c", "major": 1, "minor": 3}]),
    );
    b.sh("echo dev=$(stat -c '%F %t:%T' /etc/evil/null2)");
    let out = ok(&h.run(&b, &unique_id("evil-dev")));
    assert_eq!(kv(&out)["dev"], "character special file 1:3", "{out}");
    assert_eq!(
        std::fs::read_dir(host.path()).unwrap().count(),
        0,
        "device node made outside the rootfs"
    );
    let inside = host.path().strip_prefix("/").unwrap();
    assert!(b.rootfs().join(inside).join("null2").exists());
}

// ---------------------------------------------------------------------------
// Masked and read-only paths.

#[test]
fn masked_paths_are_empty() {
    let h = Husk::new();
    let mut b = Bundle::new();
    std::fs::write(b.rootfs().join("etc/secret"), "top secret\n").unwrap();
    b.config["linux"]["maskedPaths"]
        .as_array_mut()
        .unwrap()
        .push(json!("/etc/secret"));
    b.sh(
        "echo keys=$(wc -c < /proc/keys); echo timer=$(wc -c < /proc/timer_list); \
          echo secret=$(wc -c < /etc/secret); echo fw=$(ls -A /sys/firmware | wc -l); \
          touch /sys/firmware/x 2>/dev/null; echo fwtouch=$?; \
          echo ==mountinfo==; cat /proc/self/mountinfo; echo ==end==",
    );
    let out = ok(&h.run(&b, &unique_id("masked")));
    let v = kv(&out);
    for k in ["keys", "timer", "secret", "fw"] {
        assert_eq!(v[k].trim(), "0", "{k} not masked: {out}");
    }
    assert_ne!(v["fwtouch"], "0");
    // The host's really has content, so "empty" means masked.
    assert!(std::fs::read_dir("/sys/firmware").unwrap().count() > 0);
    let mi = parse_mountinfo(section(&out, "mountinfo"));
    let fw = mount_at(&mi, "/sys/firmware");
    assert_eq!(fw.fstype, "tmpfs");
    assert!(fw.has_opt("ro"), "{fw:?}");
    // The rootfs file itself is untouched.
    assert_eq!(
        std::fs::read_to_string(b.rootfs().join("etc/secret")).unwrap(),
        "top secret\n"
    );
}

#[test]
fn readonly_paths_refuse_writes() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.config["linux"]["readonlyPaths"]
        .as_array_mut()
        .unwrap()
        .push(json!("/etc"));
    b.sh(
        "{ echo evil > /proc/sys/kernel/hostname; } 2>&1; echo sysw=$?; echo hostname=$(hostname); \
          touch /etc/x 2>&1; echo etcw=$?; touch /tmp/x && echo tmpw=ok",
    );
    let out = ok(&h.run(&b, &unique_id("ropaths")));
    let v = kv(&out);
    assert_ne!(v["sysw"], "0", "{out}");
    assert!(out.contains("Read-only file system"), "{out}");
    assert_eq!(v["hostname"], "husk");
    assert_ne!(v["etcw"], "0", "{out}");
    assert_eq!(v["tmpw"], "ok");
    assert!(!b.rootfs().join("etc/x").exists());
}

/// Every cgroup hierarchy the container sees is read-only; on a v1 or
/// hybrid host the tmpfs holding them stays writable, as in runc (it is the
/// container's own). A hybrid host's cgroup2 is not mounted inside, as in
/// runc 1.1.
#[test]
fn cgroup_filesystem_is_readonly() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh(
        "for d in /sys/fs/cgroup /sys/fs/cgroup/*/; do [ -e $d/cgroup.procs ] || continue; \
           mkdir $d/husk-x 2>/dev/null && echo made=$d; done; echo ==mountinfo==; \
           cat /proc/self/mountinfo; echo ==end==",
    );
    let out = ok(&h.run(&b, &unique_id("cgro")));
    assert!(!out.contains("made="), "{out}");
    let mi = parse_mountinfo(section(&out, "mountinfo"));
    let cg: Vec<&MountLine> = mi
        .iter()
        .filter(|m| m.fstype == "cgroup" || m.fstype == "cgroup2")
        .collect();
    assert!(!cg.is_empty(), "{out}");
    for m in &cg {
        assert!(m.has_opt("ro"), "writable cgroup mount: {m:?}");
    }
    // As many hierarchies as the host has (v1 ones, on a hybrid host).
    let host: Vec<MountLine> =
        parse_mountinfo(&std::fs::read_to_string("/proc/self/mountinfo").unwrap())
            .into_iter()
            .filter(|m| m.point == "/sys/fs/cgroup" || m.point.starts_with("/sys/fs/cgroup/"))
            .collect();
    let v1 = host.iter().filter(|m| m.fstype == "cgroup").count();
    let host_cg = if v1 > 0 {
        v1
    } else {
        host.iter().filter(|m| m.fstype == "cgroup2").count()
    };
    assert_eq!(cg.len(), host_cg, "{cg:#?}");
}

#[test]
fn rootfs_propagation_values() {
    for (prop, want_shared) in [
        ("slave", false),
        ("private", false),
        ("rprivate", false),
        ("shared", true),
    ] {
        let h = Husk::new();
        let mut b = Bundle::new();
        b.set("/linux/rootfsPropagation", json!(prop));
        b.sh("cat /proc/self/mountinfo");
        let out = ok(&h.run(&b, &unique_id("rootprop")));
        let mi = parse_mountinfo(&out);
        let root = mount_at(&mi, "/");
        assert_eq!(root.has_tag("shared:"), want_shared, "{prop}: {root:?}");
    }
}

#[test]
fn unknown_rootfs_propagation_is_rejected() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set("/linux/rootfsPropagation", json!("sideways"));
    let id = unique_id("badprop");
    run_refused(&h, &b, &id, &["sideways"]);
}
