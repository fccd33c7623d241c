mod common;

// `husk exec`: a new process in a running container. It must join every
// namespace and the cgroup of the container, take the container's process
// settings (env, user, cwd, capabilities, no_new_privs, rlimits) unless the
// command line or --process says otherwise, pass its stdio and exit status
// through, and refuse (with runc's wording) containers it cannot exec in.
//
// Each test starts its own long-running container with `run --detach`;
// husk's output always goes to files, never pipes, since a detached
// container or exec'd process keeps husk's stdout and stderr open.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// No husk command may take longer than this.
const TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------
// Running husk.

/// `husk ARGS` with stdout and stderr to temp files (never pipes) and an
/// empty stdin, killing it after TIMEOUT.
fn husk(h: &Husk, args: &[&str]) -> Output {
    husk_stdin(h, args, "")
}

/// As [`husk`], with `input` on stdin.
fn husk_stdin(h: &Husk, args: &[&str], input: &str) -> Output {
    h.timed(args, Stdin::File(input.as_bytes()), Out::Temp, TIMEOUT)
}

/// `husk exec` with these arguments (flags, ID, command).
fn exec(h: &Husk, args: &[&str]) -> Output {
    let mut all = vec!["exec"];
    all.extend_from_slice(args);
    husk(h, &all)
}

/// `husk exec ID sh -c SCRIPT`; must succeed; returns stdout.
#[track_caller]
fn exec_sh(h: &Husk, id: &str, script: &str) -> String {
    ok(&exec(h, &[id, "sh", "-c", script]))
}

/// A husk whose container of bundle `b` runs (`run --detach`); returns
/// husk, the container's ID (with `prefix`) and its init's host pid.
#[track_caller]
fn running(b: &Bundle, prefix: &str) -> (Husk, String, i32) {
    let h = Husk::new();
    let id = unique_id(prefix);
    let init = h.run_detached(b, &id);
    (h, id, init)
}

/// A bundle whose init sleeps for a minute.
fn sleeper() -> Bundle {
    let mut b = Bundle::new();
    b.args(&["sleep", "60"]);
    b
}

/// `husk exec -d --pid-file F ID args...`; returns the exec'd host pid.
#[track_caller]
fn exec_detached(h: &Husk, b: &Bundle, flags: &[&str], id: &str, args: &[&str]) -> i32 {
    let pf = b.path().join(format!("exec-{}.pid", unique_id("pf")));
    let mut all = vec!["-d", "--pid-file", pf.to_str().unwrap()];
    all.extend_from_slice(flags);
    all.push(id);
    all.extend_from_slice(args);
    ok(&exec(h, &all));
    let text = std::fs::read_to_string(&pf)
        .unwrap_or_else(|e| panic!("read pid file {}: {e}", pf.display()));
    let pid: i32 = text
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("pid file {text:?}: {e}"));
    assert!(pid > 0, "pid file says {pid}");
    pid
}

// ---------------------------------------------------------------------------
// Reading results.

fn host_status(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/status: {e}"))
}

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s, 16).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

const CAP_NET_RAW: u32 = 13;

fn read(p: impl AsRef<Path>) -> String {
    let p = p.as_ref();
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// This test process's own cgroup in the hierarchy whose /proc/self/cgroup
/// controller field is `ctrl` ("pids"; "" for the v2 one).
fn own_cgroup(ctrl: &str) -> String {
    read("/proc/self/cgroup")
        .lines()
        .find_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, c, p) = (f.next()?, f.next()?, f.next()?);
            let hit = if ctrl.is_empty() {
                c.is_empty()
            } else {
                c.split(',').any(|x| x == ctrl)
            };
            hit.then(|| p.to_string())
        })
        .unwrap_or_else(|| panic!("no {ctrl:?} line in /proc/self/cgroup"))
}

/// The container's cgroup.procs files on the host: the v1 pids hierarchy
/// and the v2 one (mounted at /sys/fs/cgroup/unified on this hybrid host).
/// With no cgroupsPath, husk puts the container at <own cgroup>/<id>.
fn procs_files(id: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for (mount, ctrl) in [
        ("/sys/fs/cgroup/pids", "pids"),
        ("/sys/fs/cgroup/unified", ""),
    ] {
        let own = own_cgroup(ctrl);
        out.push(PathBuf::from(format!(
            "{mount}{}/{id}/cgroup.procs",
            own.trim_end_matches('/')
        )));
    }
    out
}

/// The pids in each of the container's cgroup.procs files.
fn container_procs(id: &str) -> Vec<(PathBuf, BTreeSet<i32>)> {
    procs_files(id)
        .into_iter()
        .map(|p| {
            let s = pids_in(&p);
            (p, s)
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Namespaces, root, cgroup.

const NAMESPACES: [&str; 6] = ["pid", "net", "mnt", "ipc", "uts", "cgroup"];

#[test]
fn exec_joins_every_namespace_of_the_container() {
    let b = sleeper();
    let (h, id, pid) = running(&b, "ns");
    let out = exec_sh(
        &h,
        &id,
        "for n in pid net mnt ipc uts cgroup; do echo $n=$(readlink /proc/self/ns/$n); done",
    );
    let v = kv_trimmed(&out);
    for n in NAMESPACES {
        let theirs = std::fs::read_link(format!("/proc/{pid}/ns/{n}")).unwrap();
        let ours = std::fs::read_link(format!("/proc/self/ns/{n}")).unwrap();
        let got = v
            .get(n)
            .unwrap_or_else(|| panic!("no {n} in exec output:\n{out}"));
        assert_eq!(
            got,
            &theirs.to_string_lossy(),
            "exec'd process's {n} namespace differs from the init's\n{out}"
        );
        // The container really has its own (so the comparison means
        // something).
        assert_ne!(
            theirs, ours,
            "the container shares the host's {n} namespace"
        );
    }
}

#[test]
fn exec_sees_the_container_root_and_hostname() {
    let mut b = sleeper();
    b.set("/hostname", json!("exec-host"));
    std::fs::write(b.rootfs().join("marker-in-rootfs"), "inside\n").unwrap();
    // A file on the host that is not in the rootfs.
    let host_only = b.path().join("host-only");
    std::fs::write(&host_only, "host\n").unwrap();
    let (h, id, _) = running(&b, "root");
    let out = exec_sh(
        &h,
        &id,
        &format!(
            "echo marker=$(cat /marker-in-rootfs); \
             if [ -e {host} ]; then echo hostfile=visible; else echo hostfile=absent; fi; \
             echo hostname=$(hostname); echo uname=$(uname -n)",
            host = host_only.display()
        ),
    );
    let v = kv_trimmed(&out);
    assert_eq!(value(&v, "marker"), Some("inside"), "{out}");
    assert_eq!(value(&v, "hostfile"), Some("absent"), "{out}");
    assert_eq!(value(&v, "hostname"), Some("exec-host"), "{out}");
    assert_eq!(value(&v, "uname"), Some("exec-host"), "{out}");
}

#[test]
fn exec_is_in_the_container_pid_namespace() {
    let b = sleeper();
    let (h, id, init) = running(&b, "pidns");
    let out = exec_sh(
        &h,
        &id,
        "echo self=$$; echo init=$(tr '\\0' ' ' < /proc/1/cmdline); echo ==procs==; ls /proc",
    );
    let v = kv_trimmed(&out);
    let me: i32 = v["self"].parse().unwrap();
    // Only the init (1) and exec'd processes live in the namespace.
    assert!((2..20).contains(&me), "own pid {me} is not small\n{out}");
    assert_eq!(v["init"], "sleep 60", "{out}");
    let procs: BTreeSet<i32> = out
        .split("==procs==")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(procs.contains(&1), "no 1 in ls /proc: {procs:?}\n{out}");
    assert!(procs.contains(&me), "no {me} in ls /proc: {procs:?}\n{out}");
    assert!(
        procs.len() <= 4,
        "ls /proc shows more than the container's processes: {procs:?}"
    );
    assert!(
        !procs.contains(&init) && !procs.contains(&(std::process::id() as i32)),
        "ls /proc shows host pids: {procs:?} (init {init})"
    );
}

#[test]
fn exec_joins_the_container_cgroup() {
    let b = sleeper();
    let (h, id, init) = running(&b, "cg");

    // Inside: the cgroup namespace makes the container's cgroup the root.
    let out = exec_sh(&h, &id, "cat /proc/self/cgroup");
    let lines: Vec<&str> = out.lines().collect();
    assert!(!lines.is_empty(), "empty /proc/self/cgroup");
    for l in &lines {
        assert!(
            l.ends_with(":/"),
            "not the container's root cgroup: {l}\n{out}"
        );
    }

    // On the host: the exec'd process is in the container's cgroups.
    let pid = exec_detached(&h, &b, &[], &id, &["sleep", "5"]);
    for f in procs_files(&id) {
        let pids = pids_in(&f);
        assert!(
            pids.contains(&init),
            "init {init} not in {}: {pids:?}",
            f.display()
        );
        assert!(
            pids.contains(&pid),
            "exec'd process {pid} not in {}: {pids:?}",
            f.display()
        );
    }
    // In every hierarchy, the same cgroup as the init.
    assert_eq!(
        read(format!("/proc/{pid}/cgroup")),
        read(format!("/proc/{init}/cgroup")),
        "exec'd process {pid} and init {init} are in different cgroups"
    );
}

// ---------------------------------------------------------------------------
// Exit status and stdio.

#[test]
fn exec_exit_status_is_the_process_status() {
    let b = sleeper();
    let (h, id, _) = running(&b, "exit");
    let code = |args: &[&str]| {
        let mut all = vec![id.as_str()];
        all.extend_from_slice(args);
        exec(&h, &all).status.code()
    };
    assert_eq!(code(&["true"]), Some(0));
    assert_eq!(code(&["false"]), Some(1));
    assert_eq!(code(&["sh", "-c", "exit 7"]), Some(7));
    assert_eq!(code(&["sh", "-c", "exit 255"]), Some(255));
    // Killed by a signal: 128 + N.
    assert_eq!(code(&["sh", "-c", "kill -9 $$"]), Some(137));
    assert_eq!(code(&["sh", "-c", "kill -TERM $$"]), Some(143));
    // The container is unaffected.
    assert_eq!(h.status(&id), "running");
}

#[test]
fn exec_passes_stdout_stderr_and_stdin() {
    let b = sleeper();
    let (h, id, _) = running(&b, "stdio");
    let o = exec(&h, &[&id, "sh", "-c", "echo to-out; echo to-err >&2"]);
    assert_eq!(ok(&o), "to-out\n");
    assert!(stderr(&o).contains("to-err"), "stderr: {}", stderr(&o));
    assert!(!stderr(&o).contains("to-out"), "stderr: {}", stderr(&o));

    let o = husk_stdin(&h, &["exec", &id, "cat"], "hello");
    assert_eq!(ok(&o), "hello");

    let o = husk_stdin(
        &h,
        &["exec", &id, "sh", "-c", "read l; echo got:$l"],
        "line1\n",
    );
    assert_eq!(ok(&o), "got:line1\n");
}

#[test]
fn exec_forwards_signals_to_the_process() {
    let b = sleeper();
    let (h, id, init) = running(&b, "sig");
    let tmp = tempfile::tempdir().unwrap();
    let mut child = h
        .command()
        .args(["exec", &id, "sleep", "50"])
        .stdin(Stdio::null())
        .stdout(File::create(tmp.path().join("out")).unwrap())
        .stderr(File::create(tmp.path().join("err")).unwrap())
        .spawn()
        .unwrap();
    // Wait until the sleep runs in the container's cgroup.
    let pids_file = procs_files(&id).remove(0);
    wait_for("the exec'd sleep in the container's cgroup", || {
        pids_in(&pids_file).iter().any(|p| {
            *p != init
                && std::fs::read_to_string(format!("/proc/{p}/cmdline"))
                    .is_ok_and(|c| c == "sleep\x0050\x00")
        })
    });
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let st = wait_child(
        &mut child,
        "husk exec after SIGTERM",
        Duration::from_secs(15),
    );
    assert_eq!(
        st.code(),
        Some(143),
        "{st:?} stderr: {}",
        std::fs::read_to_string(tmp.path().join("err")).unwrap_or_default()
    );
    assert_eq!(h.status(&id), "running");
}

// ---------------------------------------------------------------------------
// Defaults from the container's process.

#[test]
fn exec_defaults_env_cwd_and_rlimits_from_the_config() {
    let mut b = sleeper();
    b.set(
        "/process/env",
        json!([
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "FROM_CONFIG=config-value"
        ]),
    );
    b.set("/process/cwd", json!("/tmp"));
    b.set(
        "/process/rlimits",
        json!([{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654}]),
    );
    let (h, id, _) = running(&b, "defaults");
    let out = exec_sh(
        &h,
        &id,
        "echo env=$FROM_CONFIG; echo cwd=$(pwd); echo soft=$(ulimit -Sn); echo hard=$(ulimit -Hn); echo home=$HOME",
    );
    let v = kv_trimmed(&out);
    assert_eq!(v["env"], "config-value", "{out}");
    assert_eq!(v["cwd"], "/tmp", "{out}");
    assert_eq!(v["soft"], "321", "{out}");
    assert_eq!(v["hard"], "654", "{out}");
    assert_eq!(v["home"], "/root", "{out}");
}

#[test]
fn exec_default_user_comes_from_the_config() {
    let mut b = sleeper();
    b.set(
        "/process/user",
        json!({"uid": 1000, "gid": 1001, "additionalGids": [44, 45]}),
    );
    let (h, id, init) = running(&b, "defuser");
    let out = exec_sh(
        &h,
        &id,
        "echo uid=$(id -u); echo gid=$(id -g); echo groups=$(grep Groups: /proc/self/status | cut -f2)",
    );
    let v = kv_trimmed(&out);
    assert_eq!(v["uid"], "1000", "{out}");
    assert_eq!(v["gid"], "1001", "{out}");
    let groups: BTreeSet<&str> = v["groups"].split_whitespace().collect();
    assert_eq!(groups, BTreeSet::from(["44", "45"]), "{out}");
    // The same as the init's.
    let st = host_status(init);
    assert_eq!(
        status_field(&st, "Uid").split_whitespace().next(),
        Some("1000")
    );
}

/// The capability sets and NoNewPrivs of an exec'd process equal the
/// init's (read from the host).
fn assert_exec_caps_match_init(b: &mut Bundle, nnp: bool) {
    b.set("/process/noNewPrivileges", json!(nnp));
    let caps = json!([
        "CAP_CHOWN",
        "CAP_KILL",
        "CAP_SETUID",
        "CAP_NET_BIND_SERVICE"
    ]);
    for set in [
        "bounding",
        "effective",
        "permitted",
        "inheritable",
        "ambient",
    ] {
        b.set(&format!("/process/capabilities/{set}"), caps.clone());
    }
    let (h, id, init) = running(b, "caps");
    let out = exec_sh(&h, &id, "grep -E '^(Cap|NoNewPrivs)' /proc/self/status");
    let st = host_status(init);
    for k in [
        "CapInh",
        "CapPrm",
        "CapEff",
        "CapBnd",
        "CapAmb",
        "NoNewPrivs",
    ] {
        assert_eq!(
            status_field(&out, k),
            status_field(&st, k),
            "{k}: exec'd process vs init\nexec:\n{out}\ninit:\n{st}"
        );
    }
    // Not simply everything, and what the config said.
    let want = (1u64 << 0) | (1 << 5) | (1 << 7) | (1 << 10);
    assert_eq!(hex(&status_field(&out, "CapEff")), want, "{out}");
    assert_eq!(hex(&status_field(&out, "CapBnd")), want, "{out}");
    assert_eq!(
        status_field(&out, "NoNewPrivs"),
        if nnp { "1" } else { "0" }
    );
}

#[test]
fn exec_default_capabilities_and_no_new_privs_match_the_init() {
    assert_exec_caps_match_init(&mut sleeper(), true);
}

#[test]
fn exec_default_no_new_privs_false_matches_the_init() {
    assert_exec_caps_match_init(&mut sleeper(), false);
}

// ---------------------------------------------------------------------------
// Command-line overrides.

#[test]
fn exec_env_adds_and_overrides() {
    let mut b = sleeper();
    b.set(
        "/process/env",
        json!([
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "KEEP=kept",
            "OVER=old"
        ]),
    );
    let (h, id, _) = running(&b, "env");
    let out = ok(&exec(
        &h,
        &["--env", "NEW=new value", "-e", "OVER=new", &id, "env"],
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.contains(&"NEW=new value"), "{out}");
    assert!(lines.contains(&"KEEP=kept"), "{out}");
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("OVER="))
            .collect::<Vec<_>>(),
        [&"OVER=new"],
        "{out}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("PATH=/usr/local/sbin")),
        "{out}"
    );
}

#[test]
fn exec_cwd_override() {
    let b = sleeper();
    let (h, id, _) = running(&b, "cwd");
    assert_eq!(ok(&exec(&h, &["--cwd", "/tmp", &id, "pwd"])), "/tmp\n");
    assert_eq!(ok(&exec(&h, &["--cwd", "/etc", &id, "pwd"])), "/etc\n");
    // Without --cwd: the config's ("/").
    assert_eq!(ok(&exec(&h, &[&id, "pwd"])), "/\n");
}

#[test]
fn exec_user_override() {
    let mut b = sleeper();
    b.set("/process/user", json!({"uid": 0, "gid": 33}));
    let (h, id, _) = running(&b, "user");
    let script = "echo uid=$(id -u); echo gid=$(id -g)";
    let v = kv_trimmed(&ok(&exec(
        &h,
        &["--user", "1000:1000", &id, "sh", "-c", script],
    )));
    assert_eq!((v["uid"].as_str(), v["gid"].as_str()), ("1000", "1000"));
    // UID only: the gid stays the config's.
    let v = kv_trimmed(&ok(&exec(&h, &["--user", "5", &id, "sh", "-c", script])));
    assert_eq!((v["uid"].as_str(), v["gid"].as_str()), ("5", "33"));
    let v = kv_trimmed(&ok(&exec(&h, &["-u", "7:8", &id, "sh", "-c", script])));
    assert_eq!((v["uid"].as_str(), v["gid"].as_str()), ("7", "8"));
}

#[test]
fn exec_additional_gids() {
    let b = sleeper();
    let (h, id, _) = running(&b, "gids");
    let out = ok(&exec(
        &h,
        &[
            "--user",
            "1000:1000",
            "--additional-gids",
            "10",
            "-g",
            "20",
            &id,
            "sh",
            "-c",
            "echo uid=$(id -u); echo groups=$(grep Groups: /proc/self/status | cut -f2)",
        ],
    ));
    let v = kv_trimmed(&out);
    assert_eq!(v["uid"], "1000", "{out}");
    let groups: BTreeSet<&str> = v["groups"].split_whitespace().collect();
    assert_eq!(groups, BTreeSet::from(["10", "20"]), "{out}");
}

#[test]
fn exec_cap_adds_a_capability() {
    let b = sleeper();
    let (h, id, init) = running(&b, "cap");
    let bit = 1u64 << CAP_NET_RAW;
    // The container's process does not have it.
    let st = host_status(init);
    assert_eq!(hex(&status_field(&st, "CapBnd")) & bit, 0, "{st}");
    let without = exec_sh(&h, &id, "grep ^Cap /proc/self/status");
    assert_eq!(hex(&status_field(&without, "CapBnd")) & bit, 0, "{without}");

    let out = ok(&exec(
        &h,
        &[
            "--cap",
            "CAP_NET_RAW",
            &id,
            "grep",
            "^Cap",
            "/proc/self/status",
        ],
    ));
    for k in ["CapBnd", "CapPrm", "CapEff"] {
        let v = hex(&status_field(&out, k));
        assert_ne!(v & bit, 0, "{k} lacks CAP_NET_RAW\n{out}");
        // The container's other capabilities stay.
        let base = hex(&status_field(&without, k));
        assert_eq!(v & base, base, "{k} lost capabilities\n{out}");
    }
}

/// The container's five capability sets, hex, as /proc/self/status shows
/// them, from an exec'd `cat /proc/self/status`.
fn exec_caps(h: &Husk, flags: &[&str], id: &str) -> HashMap<&'static str, String> {
    let mut args = flags.to_vec();
    args.extend_from_slice(&[id, "cat", "/proc/self/status"]);
    let out = ok(&exec(h, &args));
    ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]
        .into_iter()
        .map(|k| (k, status_field(&out, k)))
        .collect()
}

#[test]
fn exec_cap_with_no_capabilities_in_the_config() {
    // runc's "runc exec --cap": added to bounding, effective and permitted
    // only, not to inheritable or ambient.
    let mut b = sleeper();
    b.set("/process/capabilities", json!({}));
    let (h, id, _) = running(&b, "cap0");
    let c = exec_caps(&h, &[], &id);
    for k in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert_eq!(c[k], "0000000000000000", "{k}: {c:?}");
    }
    let c = exec_caps(&h, &["--cap", "CAP_KILL", "--cap", "CAP_AUDIT_WRITE"], &id);
    assert_eq!(c["CapInh"], "0000000000000000", "{c:?}");
    assert_eq!(c["CapPrm"], "0000000020000020", "{c:?}");
    assert_eq!(c["CapEff"], "0000000020000020", "{c:?}");
    assert_eq!(c["CapBnd"], "0000000020000020", "{c:?}");
    assert_eq!(c["CapAmb"], "0000000000000000", "{c:?}");
}

/// The config of runc's "runc exec --cap [ambient is set from spec]".
fn inheritable_caps_bundle() -> Bundle {
    let mut b = sleeper();
    b.set(
        "/process/capabilities",
        json!({
            "inheritable": ["CAP_CHOWN", "CAP_SYSLOG"],
            "permitted": ["CAP_KILL", "CAP_CHOWN"],
            "effective": ["CAP_KILL"],
            "bounding": ["CAP_KILL", "CAP_CHOWN", "CAP_SYSLOG"],
            "ambient": ["CAP_CHOWN"]
        }),
    );
    b
}

#[test]
fn exec_cap_adds_ambient_when_the_config_has_inheritable() {
    let b = inheritable_caps_bundle();
    let (h, id, _) = running(&b, "capamb");
    let c = exec_caps(&h, &[], &id);
    assert_eq!(c["CapInh"], "0000000400000001", "{c:?}");
    assert_eq!(c["CapPrm"], "0000000000000021", "{c:?}");
    assert_eq!(c["CapEff"], "0000000000000021", "{c:?}");
    assert_eq!(c["CapBnd"], "0000000400000021", "{c:?}");
    assert_eq!(c["CapAmb"], "0000000000000001", "{c:?}");
    let c = exec_caps(&h, &["--cap", "CAP_SYSLOG"], &id);
    assert_eq!(c["CapInh"], "0000000400000001", "{c:?}");
    assert_eq!(c["CapPrm"], "0000000400000021", "{c:?}");
    assert_eq!(c["CapEff"], "0000000400000021", "{c:?}");
    assert_eq!(c["CapBnd"], "0000000400000021", "{c:?}");
    assert_eq!(c["CapAmb"], "0000000400000001", "{c:?}");
}

#[test]
fn exec_cap_not_in_inheritable_still_runs() {
    // --cap puts the capability into ambient when the config has any
    // inheritable ones (as runc does), but ambient needs it inheritable
    // too. runc then only warns ("can't raise ambient capability") and
    // runs the process with the capability in bounding, effective and
    // permitted; the exec must not fail because of a set the command
    // line itself made up.
    let b = inheritable_caps_bundle();
    let (h, id, _) = running(&b, "capnoinh");
    let c = exec_caps(&h, &["--cap", "CAP_NET_RAW"], &id);
    let bit = 1u64 << CAP_NET_RAW;
    for k in ["CapPrm", "CapEff", "CapBnd"] {
        assert_ne!(hex(&c[k]) & bit, 0, "{k} lacks CAP_NET_RAW: {c:?}");
    }
    assert_eq!(c["CapInh"], "0000000400000001", "{c:?}");
}

#[test]
fn exec_no_new_privs_flag() {
    let mut b = sleeper();
    b.set("/process/noNewPrivileges", json!(false));
    let (h, id, _) = running(&b, "nnp");
    let cmd = ["grep", "^NoNewPrivs", "/proc/self/status"];
    let mut args = vec![id.as_str()];
    args.extend_from_slice(&cmd);
    let out = ok(&exec(&h, &args));
    assert_eq!(status_field(&out, "NoNewPrivs"), "0", "{out}");
    let mut args = vec!["--no-new-privs", id.as_str()];
    args.extend_from_slice(&cmd);
    let out = ok(&exec(&h, &args));
    assert_eq!(status_field(&out, "NoNewPrivs"), "1", "{out}");
}

#[test]
fn exec_uses_the_container_personality() {
    // runc's "runc run personality with exec for i686": linux.personality
    // applies to exec'd processes too.
    if std::env::consts::ARCH != "x86_64" {
        eprintln!("note: not x86_64; skipped");
        return;
    }
    let mut b = sleeper();
    b.set("/linux/personality", json!({"domain": "LINUX32"}));
    let (h, id, init) = running(&b, "persona");
    // The init has it (PER_LINUX32 = 8).
    assert_eq!(read(format!("/proc/{init}/personality")).trim(), "00000008");
    let out = exec_sh(
        &h,
        &id,
        "echo machine=$(uname -m); echo persona=$(cat /proc/self/personality)",
    );
    let v = kv_trimmed(&out);
    assert_eq!(v["persona"], "00000008", "{out}");
    assert_eq!(v["machine"], "i686", "{out}");
}

// ---------------------------------------------------------------------------
// --process, --detach, --preserve-fds.

#[test]
fn exec_process_file_runs_exactly_that_process() {
    let mut b = sleeper();
    b.set(
        "/process/env",
        json!([
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "FROM_CONFIG=yes"
        ]),
    );
    let (h, id, _) = running(&b, "procfile");
    let pf = b.path().join("process.json");
    std::fs::write(
        &pf,
        serde_json::to_vec(&json!({
            "terminal": false,
            "args": ["sh", "-c", "echo uid=$(id -u); echo gid=$(id -g); echo cwd=$(pwd); echo only=$ONLY; echo config=${FROM_CONFIG:-unset}; echo arg0=$0", "zero"],
            "env": ["PATH=/bin:/usr/bin", "ONLY=process-file"],
            "cwd": "/etc",
            "user": {"uid": 7, "gid": 8}
        }))
        .unwrap(),
    )
    .unwrap();
    let out = ok(&exec(&h, &["--process", pf.to_str().unwrap(), &id]));
    let v = kv_trimmed(&out);
    assert_eq!(v["uid"], "7", "{out}");
    assert_eq!(v["gid"], "8", "{out}");
    assert_eq!(v["cwd"], "/etc", "{out}");
    assert_eq!(v["only"], "process-file", "{out}");
    assert_eq!(v["config"], "unset", "{out}");
    assert_eq!(v["arg0"], "zero", "{out}");
    // Short form too.
    let out = ok(&exec(&h, &["-p", pf.to_str().unwrap(), &id]));
    assert_eq!(kv_trimmed(&out)["only"], "process-file", "{out}");
}

#[test]
fn exec_detach_returns_at_once_and_writes_the_pid_file() {
    let b = sleeper();
    let (h, id, _) = running(&b, "detach");
    let t = Instant::now();
    let pid = exec_detached(
        &h,
        &b,
        &[],
        &id,
        &[
            "sh",
            "-c",
            "echo started > /started; sleep 3; echo done > /done",
        ],
    );
    let took = t.elapsed();
    assert!(
        took < Duration::from_millis(2500),
        "exec --detach took {took:?}: it waited for the process"
    );
    // The pid file names the running process, in the container's cgroup.
    // husk returns once the process is past its last check, which may be a
    // moment before the exec stub has handed over to sh: same pid, so wait.
    let cmdline = || std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    wait_for("sh in the pid file's process", || {
        cmdline().starts_with("sh\0-c\0")
    });
    for f in procs_files(&id) {
        assert!(pids_in(&f).contains(&pid), "{pid} not in {}", f.display());
    }
    let started = b.rootfs().join("started");
    let done = b.rootfs().join("done");
    wait_for("/started", || started.exists());
    assert!(!done.exists(), "the detached process finished too early");
    // It goes on running after husk returned.
    wait_for("/done", || done.exists());
    assert_eq!(read(&done), "done\n");
}

/// `husk exec` started by bash with fd 3 open on a file.
fn exec_with_fd3(h: &Husk, fd3: &Path, args: &[&str]) -> Output {
    let mut c = Command::new("bash");
    c.arg("-c")
        .arg("exec 3<\"$1\"; shift; exec \"$@\"")
        .arg("bash")
        .arg(fd3)
        .arg(HUSK)
        .arg("--root")
        .arg(h.root.path())
        .arg("exec")
        .args(args);
    run_timed(c, Stdin::File(b""), Out::Temp, TIMEOUT)
}

#[test]
fn exec_preserve_fds_passes_fd_3() {
    let b = sleeper();
    let (h, id, _) = running(&b, "fds");
    let file = b.path().join("fd3-file");
    std::fs::write(&file, "fd3-content\n").unwrap();
    let script = "cat <&3 2>/dev/null || echo no-fd3";
    let out = ok(&exec_with_fd3(
        &h,
        &file,
        &["--preserve-fds", "1", &id, "sh", "-c", script],
    ));
    assert_eq!(out, "fd3-content\n");
    // Without the flag, fd 3 is closed.
    let out = ok(&exec_with_fd3(&h, &file, &[&id, "sh", "-c", script]));
    assert_eq!(out, "no-fd3\n");
}

// ---------------------------------------------------------------------------
// User namespace.

#[test]
fn exec_in_a_user_namespace_container() {
    let mut b = sleeper();
    std::fs::set_permissions(b.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    b.add_namespace("user", None);
    let map = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    b.set("/linux/uidMappings", map.clone());
    b.set("/linux/gidMappings", map);
    let (h, id, init) = running(&b, "userns");
    let out = exec_sh(
        &h,
        &id,
        "echo ==uid==; cat /proc/self/uid_map; echo ==gid==; cat /proc/self/gid_map; echo ==end==; \
         echo uid=$(id -u); echo gid=$(id -g); echo userns=$(readlink /proc/self/ns/user)",
    );
    let words = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    let section = |name: &str| {
        let s = out
            .split(&format!("=={name}==\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("no {name} in\n{out}"));
        s.split("\n==").next().unwrap().to_string()
    };
    assert_eq!(
        words(&section("uid")),
        words(&read(format!("/proc/{init}/uid_map"))),
        "{out}"
    );
    assert_eq!(
        words(&section("gid")),
        words(&read(format!("/proc/{init}/gid_map"))),
        "{out}"
    );
    assert_eq!(words(&section("uid")), ["0", "100000", "65536"], "{out}");
    let v = kv_trimmed(&out);
    assert_eq!(v["uid"], "0", "{out}");
    assert_eq!(v["gid"], "0", "{out}");
    assert_eq!(
        v["userns"],
        std::fs::read_link(format!("/proc/{init}/ns/user"))
            .unwrap()
            .to_string_lossy(),
        "{out}"
    );
    // On the host, the exec'd process runs as the mapped ids.
    let pid = exec_detached(&h, &b, &[], &id, &["sleep", "5"]);
    let st = host_status(pid);
    for k in ["Uid", "Gid"] {
        let f = status_field(&st, k);
        assert!(
            f.split_whitespace().count() == 4 && f.split_whitespace().all(|x| x == "100000"),
            "{k}: {f} (want 100000)\n{st}"
        );
    }
    // --user inside maps too: 1000 is host 101000.
    let pid = exec_detached(&h, &b, &["--user", "1000:1000"], &id, &["sleep", "5"]);
    let st = host_status(pid);
    for k in ["Uid", "Gid"] {
        let f = status_field(&st, k);
        assert!(
            f.split_whitespace().all(|x| x == "101000"),
            "{k}: {f} (want 101000)\n{st}"
        );
    }
}

// ---------------------------------------------------------------------------
// Refusals.

#[test]
fn exec_in_a_stopped_container_fails() {
    let mut b = Bundle::new();
    b.args(&["sleep", "0.1"]);
    let h = Husk::new();
    let id = unique_id("stopped");
    b.write();
    ok(&husk(&h, &["run", "-d", "--bundle", b.arg(), &id]));
    h.wait_status(&id, "stopped");
    let o = exec(&h, &[&id, "sh", "-c", "touch /ran"]);
    let e = fails(&o);
    assert!(e.contains("cannot exec in a stopped container"), "{e}");
    assert!(!b.rootfs().join("ran").exists());
}

#[test]
fn exec_in_a_killed_container_fails() {
    let b = sleeper();
    let (h, id, _) = running(&b, "killed");
    ok(&husk(&h, &["kill", &id, "KILL"]));
    h.wait_status(&id, "stopped");
    let e = fails(&exec(&h, &[&id, "true"]));
    assert!(e.contains("cannot exec in a stopped container"), "{e}");
}

#[test]
fn exec_in_a_created_container_fails() {
    let mut b = Bundle::new();
    b.sh("echo started > /started; sleep 60");
    let h = Husk::new();
    let id = unique_id("created");
    b.write();
    ok(&husk(&h, &["create", "--bundle", b.arg(), &id]));
    assert_eq!(h.status(&id), "created");
    let e = fails(&exec(&h, &[&id, "sh", "-c", "touch /ran"]));
    assert!(e.contains("not been started"), "{e}");
    assert!(!b.rootfs().join("ran").exists());
    // The container is undisturbed and still starts.
    assert_eq!(h.status(&id), "created");
    ok(&husk(&h, &["start", &id]));
    let started = b.rootfs().join("started");
    wait_for("/started", || started.exists());
    assert_eq!(h.status(&id), "running");
}

#[test]
fn exec_in_a_paused_container_fails() {
    let b = sleeper();
    let (h, id, _) = running(&b, "paused");
    ok(&husk(&h, &["pause", &id]));
    h.wait_status(&id, "paused");
    let e = fails(&exec(&h, &[&id, "sh", "-c", "touch /ran"]));
    assert!(e.contains("cannot exec in a paused container"), "{e}");
    assert!(e.contains("--ignore-paused"), "{e}");
    assert!(!b.rootfs().join("ran").exists());
    ok(&husk(&h, &["resume", &id]));
    h.wait_status(&id, "running");
    assert_eq!(
        ok(&exec(&h, &[&id, "echo", "after-resume"])),
        "after-resume\n"
    );
}

#[test]
fn exec_in_an_unknown_container_fails() {
    let h = Husk::new();
    let id = unique_id("nosuch");
    let e = fails(&exec(&h, &[&id, "true"]));
    assert!(e.contains("container does not exist"), "{e}");
}

#[test]
fn exec_of_a_missing_program_fails() {
    let b = sleeper();
    let (h, id, _) = running(&b, "missing");
    let o = exec(&h, &[&id, "no-such-program"]);
    let e = fails(&o);
    assert!(e.contains("executable file not found"), "{e}");
    assert!(e.contains("no-such-program"), "{e}");
    assert_eq!(h.status(&id), "running");
}

#[test]
fn exec_tty_detached_without_console_socket_is_refused() {
    let b = sleeper();
    let (h, id, _) = running(&b, "tty");
    // Detached, nobody would hold the terminal: husk needs a socket for it.
    for flag in ["--tty", "-t"] {
        let e = fails(&exec(
            &h,
            &[flag, "--detach", &id, "sh", "-c", "touch /ran"],
        ));
        assert!(e.contains("console-socket"), "{flag}: {e}");
    }
    // Also from a process file.
    let pf = b.path().join("tty.json");
    std::fs::write(
        &pf,
        serde_json::to_vec(&json!({
            "terminal": true, "args": ["sh", "-c", "touch /ran"], "cwd": "/",
            "user": {"uid": 0, "gid": 0}
        }))
        .unwrap(),
    )
    .unwrap();
    let e = fails(&exec(
        &h,
        &["--detach", "--process", pf.to_str().unwrap(), &id],
    ));
    assert!(e.contains("console-socket"), "{e}");
    // A console socket without a terminal is refused too.
    let e = fails(&exec(
        &h,
        &["--console-socket", "/nonexistent.sock", &id, "true"],
    ));
    assert!(e.contains("terminal"), "{e}");
    assert!(!b.rootfs().join("ran").exists());
}

#[test]
fn exec_process_and_command_together_fail() {
    let b = sleeper();
    let (h, id, _) = running(&b, "both");
    let pf = b.path().join("process.json");
    std::fs::write(
        &pf,
        serde_json::to_vec(&json!({
            "args": ["sh", "-c", "touch /ran"], "cwd": "/", "user": {"uid": 0, "gid": 0}
        }))
        .unwrap(),
    )
    .unwrap();
    let e = fails(&exec(
        &h,
        &[
            "--process",
            pf.to_str().unwrap(),
            &id,
            "sh",
            "-c",
            "touch /ran2",
        ],
    ));
    assert!(e.contains("--process"), "{e}");
    assert!(!b.rootfs().join("ran").exists());
    assert!(!b.rootfs().join("ran2").exists());
}

#[test]
fn exec_without_a_command_fails() {
    let b = sleeper();
    let (h, id, _) = running(&b, "nocmd");
    let e = fails(&exec(&h, &[&id]));
    assert!(e.contains("no command"), "{e}");
}

#[test]
fn exec_bad_user_fails() {
    let b = sleeper();
    let (h, id, _) = running(&b, "baduser");
    for u in ["abc", "1000:abc", "1000:", ":5", "1:2:3", "-1", ""] {
        let flag = format!("--user={u}");
        let e = fails(&exec(&h, &[&flag, &id, "sh", "-c", "touch /ran"]));
        assert!(e.contains("--user"), "{flag}: {e}");
        assert!(!b.rootfs().join("ran").exists(), "{flag} ran the command");
    }
}

#[test]
fn exec_bad_cwd_fails() {
    let b = sleeper();
    let (h, id, _) = running(&b, "badcwd");
    let e = fails(&exec(&h, &["--cwd", "/no/such/dir", &id, "true"]));
    assert!(e.contains("/no/such/dir"), "{e}");
    assert_eq!(h.status(&id), "running");
}

#[test]
fn exec_bad_process_file_fails() {
    let b = sleeper();
    let (h, id, _) = running(&b, "badproc");
    let missing = b.path().join("missing.json");
    let e = fails(&exec(&h, &["--process", missing.to_str().unwrap(), &id]));
    assert!(e.contains("missing.json"), "{e}");
    let bad = b.path().join("bad.json");
    std::fs::write(&bad, r#"{"args": "not a list", "cwd": "/"}"#).unwrap();
    let e = fails(&exec(&h, &["--process", bad.to_str().unwrap(), &id]));
    assert!(e.contains("args"), "{e}");
}

// ---------------------------------------------------------------------------
// Nothing leaks.

#[test]
fn failed_exec_leaves_no_process_in_the_container() {
    let b = sleeper();
    let (h, id, init) = running(&b, "leak");
    let before = container_procs(&id);
    for (f, pids) in &before {
        assert_eq!(pids, &BTreeSet::from([init]), "{}", f.display());
    }
    fails(&exec(&h, &[&id, "no-such-program"]));
    fails(&exec(&h, &["--cwd", "/no/such/dir", &id, "true"]));
    fails(&exec(&h, &["-d", &id, "no-such-program"]));
    // A finished exec leaves nothing either.
    ok(&exec(&h, &[&id, "true"]));
    assert_eq!(container_procs(&id), before);
    // Nor anything visible inside: only the init and this exec's ls.
    let out = ok(&exec(&h, &[&id, "ls", "/proc"]));
    let pids: Vec<&str> = out
        .split_whitespace()
        .filter(|w| w.parse::<i32>().is_ok())
        .collect();
    assert_eq!(pids.len(), 2, "processes in the container: {pids:?}");
    assert!(pids.contains(&"1"), "{pids:?}");
}

/// `exec --cgroup` (runc's flag): the process runs in an existing
/// sub-cgroup of the container's, in every hierarchy or only in the named
/// ones; a sub-cgroup that does not exist is an error naming it.
#[test]
fn exec_cgroup_joins_an_existing_sub_cgroup() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.args(&["sleep", "1000"]);
    let id = unique_id("subcg");
    h.run_detached(&b, &id);
    let subs: Vec<PathBuf> = hierarchies()
        .iter()
        .map(|hi| hi.dir(&id))
        .filter(|d| d.is_dir())
        .map(|d| d.join("sub"))
        .collect();
    for s in &subs {
        std::fs::create_dir(s).unwrap();
        // A new v1 cpuset starts with no CPUs and no memory nodes.
        for f in ["cpuset.cpus", "cpuset.mems"] {
            if let Ok(v) = std::fs::read_to_string(s.parent().unwrap().join(f)) {
                std::fs::write(s.join(f), v.trim()).unwrap();
            }
        }
    }
    let line = |out: &str, ctrl: &str| {
        out.lines()
            .find(|l| l.split(':').nth(1) == Some(ctrl))
            .unwrap_or_else(|| panic!("no {ctrl} line: {out}"))
            .to_string()
    };
    let all = ok(&h.cmd(&["exec", "--cgroup", "sub", &id, "cat", "/proc/self/cgroup"]));
    for ctrl in ["memory", "pids"] {
        assert!(line(&all, ctrl).ends_with("/sub"), "{all}");
    }
    let mem = ok(&h.cmd(&[
        "exec",
        "--cgroup",
        "memory:sub",
        &id,
        "cat",
        "/proc/self/cgroup",
    ]));
    assert!(line(&mem, "memory").ends_with("/sub"), "{mem}");
    assert!(!line(&mem, "pids").ends_with("/sub"), "{mem}");
    let e = fails(&h.cmd(&["exec", "--cgroup", "nosuch", &id, "true"]));
    assert!(e.contains("nosuch") && e.contains("does not exist"), "{e}");
    for s in &subs {
        std::fs::remove_dir(s).unwrap();
    }
    ok(&h.cmd(&["delete", "--force", &id]));
}
