mod common;

// The demo bundles in bundles/demos/: each test runs the demo's own
// config.json (on a private copy of the busybox rootfs) and proves the
// effect the demo script (scripts/demo-<name>.sh) tells a learner about,
// from the inside (the container's output) and, where it can, from the
// host.

use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

/// No husk command may take longer than this.
const TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------
// Helpers.

/// A bundle with the config of bundles/demos/<name>, its root pointed at
/// the bundle's private rootfs copy (keeping the demo's `readonly`).
fn demo_bundle(name: &str) -> Bundle {
    let mut b = Bundle::new();
    let path = repo().join("bundles/demos").join(name).join("config.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let config: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()));
    assert_eq!(
        config["root"]["path"], "../../busybox/rootfs",
        "{name}: the demo bundles share the busybox rootfs"
    );
    let readonly = config["root"]["readonly"].clone();
    b.config = config;
    b.set("/root", json!({"path": "rootfs", "readonly": readonly}));
    b
}

/// Run husk with `args`, stdout into `out` and stderr next to it (a pipe
/// would stay open as long as a detached container runs), with a time
/// limit.
fn husk_out(h: &Husk, args: &[&str], out: &Path) -> Output {
    h.timed(args, Stdin::Null, Out::Beside(out), TIMEOUT)
}

/// `husk run` in the foreground; the container's output is stdout.
fn run(h: &Husk, b: &Bundle, id: &str, extra: &[&str]) -> Output {
    b.write();
    let mut args = vec!["run"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--bundle", b.arg(), id]);
    husk_out(h, &args, &b.path().join(format!("{id}.out")))
}

/// `husk run --detach`; the container's output goes on into the returned
/// file. Returns the file and the init's host PID.
fn run_detached(h: &Husk, b: &Bundle, id: &str) -> (PathBuf, i32) {
    b.write();
    let out = b.path().join(format!("{id}.out"));
    let o = husk_out(h, &["run", "--detach", "--bundle", b.arg(), id], &out);
    assert!(o.status.success(), "run --detach {id}: {}", stderr(&o));
    let pid = h.state(id)["pid"].as_i64().unwrap() as i32;
    assert!(pid > 0);
    (out, pid)
}

/// Wait (up to 15 s) until `file` has a line containing `needle`.
#[track_caller]
fn wait_for_line(file: &Path, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if text.lines().any(|l| l.contains(needle)) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "no line with {needle:?} in: {text}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The value of "result: KEY=VALUE" in the demo's output.
#[track_caller]
fn result(out: &str, key: &str) -> i32 {
    let prefix = format!("result: {key}=");
    out.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line in: {out}"))
        .trim()
        .parse()
        .unwrap()
}

/// This process's cgroup for `controller` on a v1 hierarchy (hybrid or
/// legacy host), or on the v2 hierarchy: husk, our child, puts a container
/// without cgroupsPath in <that>/<id>.
fn own_cgroup_dir(controller: &str) -> PathBuf {
    let text = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    for l in text.lines() {
        let mut parts = l.splitn(3, ':');
        let (_, ctrls, path) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
        if ctrls.split(',').any(|c| c == controller) {
            let dir = Path::new("/sys/fs/cgroup").join(controller);
            if dir.is_dir() {
                return dir.join(path.trim_start_matches('/'));
            }
        }
    }
    let v2 = text
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .expect("a cgroup2 line in /proc/self/cgroup");
    let mount = if Path::new("/sys/fs/cgroup/unified").is_dir() {
        "/sys/fs/cgroup/unified"
    } else {
        "/sys/fs/cgroup"
    };
    Path::new(mount).join(v2.trim_start_matches('/'))
}

// ---------------------------------------------------------------------------
// memory: 32 MiB and no swap; `tail /dev/zero` keeps allocating.

#[test]
fn memory_demo_is_oom_killed() {
    let h = Husk::new();
    let b = demo_bundle("memory");
    let mem = &b.config["linux"]["resources"]["memory"];
    assert_eq!(mem["limit"], 33554432);
    assert_eq!(mem["swap"], 33554432, "memory+swap = memory: no swap");
    let id = unique_id("demo-mem");
    // --keep: the cgroup stays until delete, so the host can read its
    // OOM counter.
    let o = run(&h, &b, &id, &["--keep"]);
    let out = stdout(&o);
    assert_eq!(
        o.status.code(),
        Some(137),
        "128 + SIGKILL from the OOM killer\nstdout: {out}\nstderr: {}",
        stderr(&o)
    );
    assert!(out.contains("allocating memory"), "{out}");
    assert_eq!(h.status(&id), "stopped");

    let dir = own_cgroup_dir("memory").join(&id);
    let (file, key) = if dir.join("memory.oom_control").exists() {
        ("memory.oom_control", "oom_kill")
    } else {
        ("memory.events", "oom_kill")
    };
    let text = read_trim(dir.join(file));
    let kills: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {}: {text}", dir.join(file).display()));
    assert!(
        kills >= 1,
        "the kernel's OOM killer ran in the cgroup: {text}"
    );

    ok(&h.cmd(&["delete", &id]));
    assert!(!dir.exists(), "{} left behind", dir.display());
}

// ---------------------------------------------------------------------------
// pids: a fork loop stops at pids.max = 10.

#[test]
fn pids_demo_stops_the_fork_loop_at_the_limit() {
    let h = Husk::new();
    let b = demo_bundle("pids");
    assert_eq!(b.config["linux"]["resources"]["pids"]["limit"], 10);
    let id = unique_id("demo-pids");
    let (out_file, _pid) = run_detached(&h, &b, &id);
    let out = wait_for_line(&out_file, "staying alive");

    assert!(out.contains("can't fork"), "a fork failed: {out}");
    let forks: Vec<(u32, u32)> = out
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("fork ")?;
            let (n, rest) = rest.split_once(": ok (pids.current=")?;
            Some((n.parse().ok()?, rest.trim_end_matches(')').parse().ok()?))
        })
        .collect();
    assert!(!forks.is_empty(), "{out}");
    let (last, _) = *forks.last().unwrap();
    assert!(last < 20, "the loop was stopped before its 20 forks: {out}");
    assert!(
        forks.iter().all(|&(_, cur)| cur <= 10),
        "pids.current never passes 10: {out}"
    );
    assert!(
        forks.iter().any(|&(_, cur)| cur == 10),
        "the loop reached the limit: {out}"
    );
    assert!(out.contains("pids.max=10"), "{out}");

    // The host's view: the same numbers in the container's pids cgroup.
    let dir = own_cgroup_dir("pids").join(&id);
    assert_eq!(read_trim(dir.join("pids.max")), "10");
    let current: u32 = read_trim(dir.join("pids.current")).parse().unwrap();
    assert!((1..=10).contains(&current), "pids.current {current}");
    let v = h.inspect_json(&id);
    assert_eq!(v["cgroup"]["pids"]["limit"], 10, "{v}");
    assert!(
        v["cgroup"]["pids"]["current"].as_u64().unwrap() <= 10,
        "{v}"
    );

    ok(&h.cmd(&["delete", "--force", &id]));
    assert!(!dir.exists(), "{} left behind", dir.display());
}

// ---------------------------------------------------------------------------
// readonly: the root cannot be written; a tmpfs at /tmp can.

#[test]
fn readonly_demo_refuses_writes_to_the_root_only() {
    let h = Husk::new();
    let mut b = demo_bundle("readonly");
    assert_eq!(b.config["root"]["readonly"], true);
    let o = run(&h, &b, &unique_id("demo-ro"), &[]);
    let out = ok(&o);
    assert!(out.contains("/x: Read-only file system"), "{out}");
    assert_ne!(result(&out, "root_write"), 0, "{out}");
    assert_eq!(result(&out, "tmp_write"), 0, "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("tmpfs /tmp tmpfs rw,")),
        "/tmp is a writable tmpfs: {out}"
    );
    assert!(!b.rootfs().join("x").exists());

    // The same container with root.readonly false writes to its rootfs
    // (the test's private copy): the flag is what refused the write.
    b.set("/root/readonly", json!(false));
    let out = ok(&run(&h, &b, &unique_id("demo-rw"), &[]));
    assert_eq!(result(&out, "root_write"), 0, "{out}");
    assert!(b.rootfs().join("x").exists());
}

// ---------------------------------------------------------------------------
// network: a new network namespace has only a loopback, and it is down.

/// The host's first global IPv4 address, if it has one.
fn host_ipv4() -> Option<String> {
    let o = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "scope", "global"])
        .output()
        .ok()?;
    String::from_utf8_lossy(&o.stdout).lines().find_map(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        let i = w.iter().position(|x| *x == "inet")?;
        Some(w.get(i + 1)?.split('/').next()?.to_string())
    })
}

#[test]
fn network_demo_has_only_lo_and_cannot_connect() {
    let h = Husk::new();
    let mut b = demo_bundle("network");
    // A server on the host, listening on every address.
    let listener = TcpListener::bind("0.0.0.0:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut targets = vec![format!("127.0.0.1:{port}")];
    if let Some(ip) = host_ipv4() {
        // Sanity: the host itself reaches it there.
        let _conn = TcpStream::connect(format!("{ip}:{port}")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while listener.accept().is_err() {
            assert!(Instant::now() < deadline, "the host's own connection");
            std::thread::sleep(Duration::from_millis(5));
        }
        targets.push(format!("{ip}:{port}"));
    }
    let env = b.config["process"]["env"].as_array_mut().unwrap();
    env.push(json!(format!("HOST_ADDR={}", targets.join(" "))));

    let out = ok(&run(&h, &b, &unique_id("demo-net"), &[]));
    let links: Vec<&str> = out
        .lines()
        .filter(|l| {
            l.split_once(": ")
                .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
        })
        .collect();
    assert_eq!(links.len(), 1, "one interface: {out}");
    assert!(links[0].starts_with("1: lo: "), "{out}");
    assert!(!links[0].contains("UP"), "lo is down: {out}");
    let devs: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("Inter-|"))
        .skip(2)
        .take_while(|l| l.contains(':') && !l.starts_with('$'))
        .map(|l| l.split(':').next().unwrap().trim())
        .collect();
    assert_eq!(devs, ["lo"], "/proc/net/dev: {out}");

    for t in std::iter::once("1.1.1.1:80".to_string()).chain(targets) {
        assert_ne!(result(&out, &format!("connect {t}")), 0, "{t}: {out}");
    }
    assert!(out.contains("Network is unreachable"), "{out}");
    match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("the host's server got a connection: {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// capabilities: root without CAP_CHOWN / CAP_NET_ADMIN / CAP_NET_RAW.

#[test]
fn capabilities_demo_fails_without_and_works_with_the_caps() {
    let h = Husk::new();
    let mut b = demo_bundle("capabilities");
    let out = ok(&run(&h, &b, &unique_id("demo-caps"), &[]));
    assert!(out.contains("CapEff:\t0000000020000420"), "{out}");
    assert_ne!(result(&out, "chown"), 0, "{out}");
    assert!(
        out.contains("chown: /tmp/file: Operation not permitted"),
        "{out}"
    );
    assert_ne!(result(&out, "lo_up"), 0, "{out}");
    assert!(
        out.contains("SIOCSIFFLAGS: Operation not permitted"),
        "{out}"
    );
    assert_ne!(result(&out, "ping"), 0, "{out}");
    assert!(out.contains("ping: permission denied"), "{out}");

    for set in ["bounding", "effective", "permitted"] {
        let caps = b.config["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap();
        for c in ["CAP_CHOWN", "CAP_NET_ADMIN", "CAP_NET_RAW"] {
            caps.push(json!(c));
        }
    }
    let out = ok(&run(&h, &b, &unique_id("demo-caps"), &[]));
    // CAP_CHOWN (0), CAP_NET_ADMIN (12), CAP_NET_RAW (13) on top.
    assert!(out.contains("CapEff:\t0000000020003421"), "{out}");
    assert_eq!(result(&out, "chown"), 0, "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains(" 1000 ") && l.ends_with("/tmp/file")),
        "{out}"
    );
    assert_eq!(result(&out, "lo_up"), 0, "{out}");
    assert_eq!(result(&out, "ping"), 0, "{out}");
    assert!(out.contains("1 packets received"), "{out}");
}

// ---------------------------------------------------------------------------
// seccomp: mkdir is denied by the profile, everything else allowed.

#[test]
fn seccomp_demo_denies_mkdir() {
    let h = Husk::new();
    let mut b = demo_bundle("seccomp");
    let out = ok(&run(&h, &b, &unique_id("demo-sc"), &[]));
    assert!(out.contains("Seccomp:\t2"), "filter mode: {out}");
    assert_eq!(result(&out, "touch"), 0, "{out}");
    assert_eq!(result(&out, "mkdir"), 1, "{out}");
    assert!(
        out.contains("mkdir: can't create directory '/tmp/dir': Operation not permitted"),
        "{out}"
    );

    // Without the profile the same mkdir works.
    b.remove("/linux/seccomp");
    let out = ok(&run(&h, &b, &unique_id("demo-sc"), &[]));
    assert!(out.contains("Seccomp:\t0"), "{out}");
    assert_eq!(result(&out, "mkdir"), 0, "{out}");
}

// ---------------------------------------------------------------------------
// userns: root inside, uid 100000 outside.

#[test]
fn userns_demo_is_root_inside_and_100000_outside() {
    let h = Husk::new();
    let b = demo_bundle("userns");
    // The mapped root is an ordinary user on the host: it must be able to
    // reach the bundle.
    std::fs::set_permissions(b.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let id = unique_id("demo-userns");
    let (out_file, pid) = run_detached(&h, &b, &id);
    let out = wait_for_line(&out_file, "staying alive");
    assert!(out.contains("inside: id -u = 0, id -g = 0"), "{out}");
    let map = out
        .lines()
        .find_map(|l| l.strip_prefix("inside: /proc/self/uid_map:"))
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(
        map.split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"],
        "{out}"
    );

    let table = ok(&h.cmd(&["inspect", &id]));
    let uid_line = table
        .lines()
        .find(|l| l.trim_start().starts_with("uid / gid"))
        .unwrap_or_else(|| panic!("no uid line: {table}"));
    assert!(
        uid_line.contains("100000 100000 100000 100000 / 100000 100000 100000 100000"),
        "{table}"
    );
    let v = h.inspect_json(&id);
    assert_eq!(v["uidMap"], json!(["0 100000 65536"]), "{v}");
    assert_eq!(v["gidMap"], json!(["0 100000 65536"]), "{v}");

    let ps = Command::new("ps")
        .args(["-o", "user=,pid=,comm=", "-p", &pid.to_string()])
        .output()
        .expect("ps (procps)");
    let ps = String::from_utf8_lossy(&ps.stdout);
    let w: Vec<&str> = ps.split_whitespace().collect();
    assert_eq!(w, ["100000", &pid.to_string(), "sleep"], "{ps}");

    ok(&h.cmd(&["delete", "--force", &id]));
}

/// The same demo the way containerd and podman drive a runtime: `create`,
/// then `start`. The init, root in its user namespace but uid 100000 on
/// the host, must be able to open exec.fifo for writing.
#[test]
fn userns_demo_create_then_start() {
    let h = Husk::new();
    let b = demo_bundle("userns");
    std::fs::set_permissions(b.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    b.write();
    let id = unique_id("demo-userns-cs");
    let out = b.path().join(format!("{id}.out"));
    ok(&husk_out(&h, &["create", "--bundle", b.arg(), &id], &out));
    let fifo = h.root.path().join(&id).join("exec.fifo");
    let fifo_info = std::fs::metadata(&fifo)
        .map(|m| {
            use std::os::unix::fs::MetadataExt;
            format!(
                "mode {:o}, owner {}:{}",
                m.mode() & 0o7777,
                m.uid(),
                m.gid()
            )
        })
        .unwrap_or_else(|e| e.to_string());
    assert_eq!(
        h.status(&id),
        "created",
        "the init (uid 100000 on the host) is waiting for start on {} ({fifo_info})",
        fifo.display()
    );
    ok(&h.cmd(&["start", &id]));
    let text = wait_for_line(&out, "staying alive");
    assert!(text.contains("inside: id -u = 0"), "{text}");
    ok(&h.cmd(&["delete", "--force", &id]));
}

/// Can every user walk down to `p` (as a user namespace's root must)?
fn traversable_by_all(p: &Path) -> bool {
    p.ancestors()
        .all(|a| std::fs::metadata(a).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
}

/// Every demo config is valid for husk as it is in the repository, with
/// its relative root.path: `husk create` in place, then `delete`.
#[test]
fn demo_configs_create_in_place() {
    let h = Husk::new();
    let dir = repo().join("bundles/demos");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "capabilities",
            "memory",
            "network",
            "pids",
            "readonly",
            "seccomp",
            "userns"
        ]
    );
    let rootfs = repo().join("bundles/busybox/rootfs");
    if !rootfs.join("bin/busybox").exists() {
        let st = Command::new(repo().join("scripts/mkrootfs.sh"))
            .status()
            .unwrap();
        assert!(st.success(), "scripts/mkrootfs.sh failed");
    }
    let outs = tempfile::tempdir().unwrap();
    for n in &names {
        let bundle = dir.join(n);
        assert!(bundle.join("README.md").is_file(), "{n}: README.md");
        if n == "userns" && !traversable_by_all(&rootfs) {
            // The mapped root cannot reach a rootfs under a private home
            // directory; scripts/demo-userns.sh copies it for that reason.
            eprintln!(
                "skipping userns in place: {} is not world-searchable",
                rootfs.display()
            );
            continue;
        }
        let id = unique_id(&format!("demo-{n}"));
        let o = husk_out(
            &h,
            &["create", "--bundle", bundle.to_str().unwrap(), &id],
            &outs.path().join(&id),
        );
        ok(&o);
        assert_eq!(
            h.status(&id),
            "created",
            "{n}: the init is waiting for start"
        );
        ok(&h.cmd(&["delete", "--force", &id]));
    }
}
