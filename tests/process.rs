//! The container's process: user and groups, umask, environment, cwd,
//! program lookup, capabilities, no_new_privs, rlimits, OOM score,
//! personality, scheduler, I/O priority, sysctls, file descriptors and the
//! session keyring. Checked from the inside (the container's sh prints)
//! or, for a detached container, from the host's /proc.
mod common;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};

use common::*;
use serde_json::json;

// ---------------------------------------------------------------------------
// Helpers.

fn cap_mask(caps: &[u32]) -> u64 {
    caps.iter().fold(0, |m, c| m | (1u64 << c))
}

const CAP_CHOWN: u32 = 0;
const CAP_KILL: u32 = 5;
const CAP_NET_BIND_SERVICE: u32 = 10;
const CAP_NET_RAW: u32 = 13;
const CAP_SYS_ADMIN: u32 = 21;
const CAP_AUDIT_WRITE: u32 = 29;

/// The five capability sets from the container's /proc/self/status.
fn caps_inside(out: &str) -> HashMap<&'static str, u64> {
    ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]
        .into_iter()
        .map(|k| (k, u64::from_str_radix(&status_field(out, k), 16).unwrap()))
        .collect()
}

/// `husk run` started by bash after `prelude` (e.g. "exec 3<file"), so
/// the container's husk inherits whatever descriptors the prelude opened.
fn run_via_bash(h: &Husk, b: &Bundle, id: &str, prelude: &str, flags: &[&str]) -> Output {
    b.write();
    Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{prelude}\nexec \"$0\" --root \"$1\" run \"${{@:4}}\" --bundle \"$2\" \"$3\""
        ))
        .arg(HUSK)
        .arg(h.root.path())
        .arg(b.path())
        .arg(id)
        .args(flags)
        .stdin(Stdio::null())
        .output()
        .expect("spawn bash")
}

/// Fields of /proc/<pid>/stat after the comm, numbered as in proc(5).
fn stat_field(pid: i32, n: usize) -> i64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &text[text.rfind(')').unwrap() + 2..];
    // rest starts at field 3.
    rest.split_whitespace().nth(n - 3).unwrap().parse().unwrap()
}

// ---------------------------------------------------------------------------
// User, groups, umask.

#[test]
fn user_uid_gid_and_additional_gids() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set(
        "/process/user",
        json!({"uid": 1000, "gid": 1000, "additionalGids": [5, 100]}),
    );
    b.sh("echo uid=$(id -u); echo gid=$(id -g); echo groups=$(id -G); echo name=$(id -un); grep -E '^(Uid|Gid|Groups):' /proc/self/status");
    let out = ok(&h.run(&b, &unique_id("user")));
    let v = kv(&out);
    assert_eq!(v["uid"], "1000");
    assert_eq!(v["gid"], "1000");
    assert_eq!(v["name"], "demo");
    let mut groups: Vec<u32> = v["groups"]
        .split_whitespace()
        .map(|g| g.parse().unwrap())
        .collect();
    groups.sort();
    assert_eq!(groups, [5, 100, 1000], "{out}");
    // Real, effective, saved and fs ids all switched.
    assert_eq!(
        status_field(&out, "Uid")
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["1000"; 4]
    );
    assert_eq!(
        status_field(&out, "Gid")
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["1000"; 4]
    );
    // Exactly the configured supplementary groups: nothing of root's kept.
    assert_eq!(
        status_field(&out, "Groups")
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["5", "100"]
    );
}

#[test]
fn root_user_has_no_supplementary_groups() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh("grep -E '^(Uid|Groups):' /proc/self/status");
    let out = ok(&h.run(&b, &unique_id("rootuser")));
    assert_eq!(status_field(&out, "Groups"), "");
    assert_eq!(
        status_field(&out, "Uid")
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["0"; 4]
    );
}

#[test]
fn umask_from_config() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set("/process/user/umask", json!(0o077));
    b.sh("echo umask=$(umask); touch /tmp/f; mkdir /tmp/d; echo f=$(stat -c %a /tmp/f); echo d=$(stat -c %a /tmp/d)");
    let out = ok(&h.run(&b, &unique_id("umask")));
    let v = kv(&out);
    assert_eq!(v["umask"], "0077");
    assert_eq!(v["f"], "600");
    assert_eq!(v["d"], "700");
}

#[test]
fn umask_defaults_to_0022() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh("echo umask=$(umask); touch /tmp/f; echo f=$(stat -c %a /tmp/f)");
    let out = ok(&h.run(&b, &unique_id("umask-default")));
    let v = kv(&out);
    assert_eq!(v["umask"], "0022");
    assert_eq!(v["f"], "644");
}

// ---------------------------------------------------------------------------
// Environment.

#[test]
fn env_is_exactly_the_configured_one_plus_home() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.config["process"]["env"].as_array_mut().unwrap().extend([
        json!("FOO=bar"),
        json!("SPACED=a b  c"),
        json!("EMPTY="),
    ]);
    // env(1) rather than the shell's set: sh adds PWD, SHLVL.
    b.args(&["env"]);
    b.write();
    // Nothing of husk's own environment gets in.
    let o = h
        .command()
        .env("HUSK_LEAK_CHECK", "host-only")
        .args(["run", "--bundle", b.path().to_str().unwrap()])
        .arg(unique_id("env"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = ok(&o);
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort();
    let mut want = vec![
        "EMPTY=",
        "FOO=bar",
        "HOME=/root",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "SPACED=a b  c",
        "TERM=xterm",
    ];
    want.sort();
    assert_eq!(lines, want, "{out}");
}

#[test]
fn home_comes_from_etc_passwd_for_uid_1000() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set("/process/user", json!({"uid": 1000, "gid": 1000}));
    b.sh("echo home=$HOME");
    let out = ok(&h.run(&b, &unique_id("home-demo")));
    // scripts/mkrootfs.sh: demo:x:1000:1000:demo:/home/demo:/bin/sh
    assert_eq!(kv(&out)["home"], "/home/demo");
}

#[test]
fn home_for_uid_without_passwd_entry_is_slash() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set("/process/user", json!({"uid": 4242, "gid": 4242}));
    b.sh("echo home=$HOME");
    let out = ok(&h.run(&b, &unique_id("home-none")));
    assert_eq!(kv(&out)["home"], "/");
}

#[test]
fn home_is_read_from_the_containers_passwd_not_the_hosts() {
    let h = Husk::new();
    let mut b = Bundle::new();
    std::fs::write(
        b.rootfs().join("etc/passwd"),
        "root:x:0:0:root:/container-root-home:/bin/sh\n",
    )
    .unwrap();
    b.sh("echo home=$HOME");
    let out = ok(&h.run(&b, &unique_id("home-rootfs")));
    assert_eq!(kv(&out)["home"], "/container-root-home");
}

#[test]
fn home_given_in_env_is_kept() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.config["process"]["env"]
        .as_array_mut()
        .unwrap()
        .push(json!("HOME=/custom/home"));
    b.sh("echo home=$HOME; env | grep -c '^HOME='");
    let out = ok(&h.run(&b, &unique_id("home-given")));
    assert_eq!(kv(&out)["home"], "/custom/home");
    assert_eq!(out.lines().last(), Some("1"), "HOME set twice: {out}");
}

#[test]
fn malformed_env_entry_is_rejected() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.config["process"]["env"]
        .as_array_mut()
        .unwrap()
        .push(json!("NOEQUALSIGN"));
    let id = unique_id("badenv");
    run_refused(&h, &b, &id, &["process.env", "NOEQUALSIGN"]);
}

// ---------------------------------------------------------------------------
// cwd and program lookup.

#[test]
fn missing_cwd_is_created() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set("/process/cwd", json!("/tmp/work/deeper"));
    b.sh("echo pwd=$(pwd); echo physical=$(pwd -P)");
    let out = ok(&h.run(&b, &unique_id("cwd")));
    let v = kv(&out);
    assert_eq!(v["pwd"], "/tmp/work/deeper");
    assert_eq!(v["physical"], "/tmp/work/deeper");
    assert!(b.rootfs().join("tmp/work/deeper").is_dir());
}

#[test]
fn cwd_for_non_root_user() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set("/process/user", json!({"uid": 1000, "gid": 1000}));
    b.set("/process/cwd", json!("/home/demo"));
    b.sh("echo pwd=$(pwd); touch ./mine && echo write=ok");
    let out = ok(&h.run(&b, &unique_id("cwd-demo")));
    let v = kv(&out);
    assert_eq!(v["pwd"], "/home/demo");
    assert_eq!(v["write"], "ok");
}

#[test]
fn relative_cwd_is_rejected() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set("/process/cwd", json!("tmp"));
    let id = unique_id("relcwd");
    run_refused(&h, &b, &id, &["process.cwd"]);
}

#[test]
fn args_are_looked_up_on_the_containers_path() {
    let h = Husk::new();
    let mut b = Bundle::new();
    let tools = b.rootfs().join("opt/tools");
    std::fs::create_dir_all(&tools).unwrap();
    let prog = tools.join("hello-husk");
    std::fs::write(&prog, "#!/bin/sh\necho hello-from-path \"$@\"\n").unwrap();
    std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
    // A non-executable file of the same name earlier on PATH is skipped.
    let decoy = b.rootfs().join("opt/decoy");
    std::fs::create_dir_all(&decoy).unwrap();
    std::fs::write(decoy.join("hello-husk"), "not a program").unwrap();
    b.config["process"]["env"] = json!(["PATH=/opt/decoy:/opt/tools:/bin"]);
    b.args(&["hello-husk", "arg1", "two words"]);
    let out = ok(&h.run(&b, &unique_id("lookup")));
    assert_eq!(out, "hello-from-path arg1 two words\n");
}

#[test]
fn absolute_program_path_works() {
    let h = Husk::new();
    let mut b = Bundle::new();
    // No PATH at all: an absolute path needs none.
    b.config["process"]["env"] = json!(["A=1"]);
    b.args(&["/bin/echo", "absolute"]);
    let out = ok(&h.run(&b, &unique_id("abs")));
    assert_eq!(out, "absolute\n");
}

#[test]
fn program_not_on_path_fails_clearly() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.config["process"]["env"] = json!(["PATH=/nonexistent"]);
    b.args(&["sh", "-c", "true"]);
    let id = unique_id("notfound");
    run_refused(&h, &b, &id, &["\"sh\"", "not found", "/nonexistent"]);
}

// ---------------------------------------------------------------------------
// Capabilities.

#[test]
fn capabilities_match_the_config_for_root() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set(
        "/process/capabilities",
        json!({
            "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_ADMIN", "CAP_AUDIT_WRITE"],
            "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_AUDIT_WRITE"],
            "effective": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_AUDIT_WRITE"],
            "inheritable": ["CAP_NET_RAW"]
        }),
    );
    b.sh("grep ^Cap /proc/self/status");
    let out = ok(&h.run(&b, &unique_id("caps")));
    let c = caps_inside(&out);
    let bounding = cap_mask(&[
        CAP_CHOWN,
        CAP_KILL,
        CAP_NET_BIND_SERVICE,
        CAP_NET_RAW,
        CAP_SYS_ADMIN,
        CAP_AUDIT_WRITE,
    ]);
    let permitted = cap_mask(&[CAP_CHOWN, CAP_KILL, CAP_NET_RAW, CAP_AUDIT_WRITE]);
    assert_eq!(bounding, 0x2020_2421);
    assert_eq!(c["CapBnd"], bounding, "{out}");
    // no_new_privs (set by the bundle) keeps root's execve from gaining
    // the rest of the bounding set.
    assert_eq!(c["CapPrm"], permitted, "{out}");
    assert_eq!(c["CapEff"], permitted, "{out}");
    assert_eq!(c["CapInh"], cap_mask(&[CAP_NET_RAW]), "{out}");
    assert_eq!(c["CapAmb"], 0, "{out}");
}

#[test]
fn capability_names_without_prefix_and_in_lower_case() {
    let h = Husk::new();
    let mut b = Bundle::new();
    let set = json!(["kill", "Chown"]);
    b.set(
        "/process/capabilities",
        json!({"bounding": set, "permitted": set, "effective": set}),
    );
    b.sh("grep ^Cap /proc/self/status");
    let out = ok(&h.run(&b, &unique_id("capnames")));
    let c = caps_inside(&out);
    assert_eq!(c["CapBnd"], cap_mask(&[CAP_CHOWN, CAP_KILL]), "{out}");
    assert_eq!(c["CapEff"], cap_mask(&[CAP_CHOWN, CAP_KILL]), "{out}");
}

#[test]
fn ambient_capabilities_survive_exec_for_non_root() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set("/process/user", json!({"uid": 1000, "gid": 1000}));
    b.set(
        "/process/capabilities",
        json!({
            "bounding": ["CAP_NET_RAW", "CAP_KILL"],
            "permitted": ["CAP_NET_RAW"],
            "effective": ["CAP_NET_RAW"],
            "inheritable": ["CAP_NET_RAW"],
            "ambient": ["CAP_NET_RAW"]
        }),
    );
    b.sh("id -u; grep ^Cap /proc/self/status");
    let out = ok(&h.run(&b, &unique_id("ambient")));
    assert!(out.starts_with("1000\n"), "{out}");
    let c = caps_inside(&out);
    let raw = cap_mask(&[CAP_NET_RAW]);
    assert_eq!(c["CapAmb"], raw, "{out}");
    assert_eq!(c["CapEff"], raw, "{out}");
    assert_eq!(c["CapPrm"], raw, "{out}");
    assert_eq!(c["CapInh"], raw, "{out}");
    assert_eq!(c["CapBnd"], cap_mask(&[CAP_NET_RAW, CAP_KILL]), "{out}");
}

#[test]
fn non_root_without_ambient_has_no_effective_capabilities() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set("/process/user", json!({"uid": 1000, "gid": 1000}));
    b.sh("grep ^Cap /proc/self/status");
    let out = ok(&h.run(&b, &unique_id("nonroot-caps")));
    let c = caps_inside(&out);
    assert_eq!(c["CapEff"], 0, "{out}");
    assert_eq!(c["CapPrm"], 0, "{out}");
    // The bundle's bounding set still applies.
    assert_eq!(
        c["CapBnd"],
        cap_mask(&[CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE]),
        "{out}"
    );
}

#[test]
fn empty_capability_sets_give_no_capabilities() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set(
        "/process/capabilities",
        json!({"bounding": [], "permitted": [], "effective": [], "inheritable": [], "ambient": []}),
    );
    b.sh("grep ^Cap /proc/self/status; chown 1000 /tmp 2>&1; echo chown=$?");
    let out = ok(&h.run(&b, &unique_id("nocaps")));
    let c = caps_inside(&out);
    for (k, v) in &c {
        assert_eq!(*v, 0, "{k} not empty: {out}");
    }
    // Root without CAP_CHOWN really cannot chown.
    assert_ne!(kv(&out)["chown"], "0", "{out}");
}

#[test]
fn unknown_capability_is_rejected_by_name() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.config["process"]["capabilities"]["bounding"]
        .as_array_mut()
        .unwrap()
        .push(json!("CAP_FLY"));
    let id = unique_id("badcap");
    run_refused(&h, &b, &id, &["CAP_FLY", "process.capabilities.bounding"]);
}

// ---------------------------------------------------------------------------
// no_new_privs.

#[test]
fn no_new_privileges_true_and_false() {
    for (nnp, want) in [(true, "1"), (false, "0")] {
        let h = Husk::new();
        let mut b = Bundle::new();
        b.set("/process/noNewPrivileges", json!(nnp));
        b.sh("grep NoNewPrivs /proc/self/status");
        let out = ok(&h.run(&b, &unique_id("nnp")));
        assert_eq!(status_field(&out, "NoNewPrivs"), want, "nnp={nnp}");
    }
}

// ---------------------------------------------------------------------------
// rlimits.

#[test]
fn rlimit_nofile_soft_and_hard() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set(
        "/process/rlimits",
        json!([{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200}]),
    );
    b.sh("echo soft=$(ulimit -n); echo hard=$(ulimit -Hn); grep 'open files' /proc/self/limits");
    let out = ok(&h.run(&b, &unique_id("rlimit")));
    let v = kv(&out);
    assert_eq!(v["soft"], "100");
    assert_eq!(v["hard"], "200");
    let limits: Vec<&str> = out
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(&limits[3..5], ["100", "200"], "{out}");
}

#[test]
fn rlimit_other_resources() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set(
        "/process/rlimits",
        json!([
            {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
            {"type": "RLIMIT_NPROC", "soft": 500, "hard": 600}
        ]),
    );
    b.sh("grep -E 'Max (core file size|processes)' /proc/self/limits");
    let out = ok(&h.run(&b, &unique_id("rlimit2")));
    let row = |name: &str| -> Vec<String> {
        let l = out.lines().find(|l| l.starts_with(name)).unwrap();
        let rest = l[name.len()..].split_whitespace().map(String::from);
        rest.take(2).collect()
    };
    assert_eq!(row("Max core file size"), ["0", "0"], "{out}");
    assert_eq!(row("Max processes"), ["500", "600"], "{out}");
}

#[test]
fn rlimit_hard_above_current_fails_clearly() {
    let mut cur = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: cur is a valid rlimit.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut cur) }, 0);
    let nr_open: u64 = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Above both the current hard limit and what the kernel allows at
    // all; without CAP_SYS_RESOURCE either is refused.
    let hard = cur.rlim_max.max(nr_open) + 1;
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set(
        "/process/rlimits",
        json!([{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": hard}]),
    );
    let id = unique_id("rlimit-high");
    run_refused(
        &h,
        &b,
        &id,
        &["RLIMIT_NOFILE", "setrlimit", &hard.to_string()],
    );
}

#[test]
fn rlimit_soft_above_hard_and_unknown_type_are_rejected() {
    for (limits, needle) in [
        (
            json!([{"type": "RLIMIT_NOFILE", "soft": 300, "hard": 200}]),
            "above hard limit",
        ),
        (
            json!([{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]),
            "RLIMIT_BOGUS",
        ),
    ] {
        let h = Husk::new();
        let mut b = Bundle::new();
        b.set("/process/rlimits", limits);
        let id = unique_id("rlimit-bad");
        run_refused(&h, &b, &id, &["process.rlimits", needle]);
    }
}

// ---------------------------------------------------------------------------
// OOM score, personality, scheduler, I/O priority.

#[test]
fn oom_score_adj_is_set() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set("/process/oomScoreAdj", json!(500));
    b.sh("echo oom=$(cat /proc/self/oom_score_adj)");
    let out = ok(&h.run(&b, &unique_id("oom")));
    assert_eq!(kv(&out)["oom"], "500");
}

#[test]
fn oom_score_adj_below_current_fails_clearly() {
    let cur: i32 = std::fs::read_to_string("/proc/self/oom_score_adj")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    if cur <= -1000 {
        eprintln!("oom_score_adj is already -1000; nothing lower to try");
        return;
    }
    let want = (cur - 100).max(-1000);
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set("/process/oomScoreAdj", json!(want));
    let id = unique_id("oom-low");
    run_refused(
        &h,
        &b,
        &id,
        &["oom_score_adj", &want.to_string(), "CAP_SYS_RESOURCE"],
    );
}

#[test]
fn oom_score_adj_out_of_range_is_rejected() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set("/process/oomScoreAdj", json!(1001));
    let id = unique_id("oom-range");
    run_refused(&h, &b, &id, &["process.oomScoreAdj"]);
}

#[test]
fn personality_linux32() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set("/linux/personality", json!({"domain": "LINUX32"}));
    b.sh("echo arch=$(uname -m)");
    let out = ok(&h.run(&b, &unique_id("linux32")));
    let arch = &kv(&out)["arch"];
    let host = Command::new("uname").arg("-m").output().unwrap();
    let host = String::from_utf8_lossy(&host.stdout).trim().to_string();
    let expected: &[&str] = match host.as_str() {
        "x86_64" => &["i686", "i386", "i586"],
        "aarch64" => &["armv8l", "armv7l"],
        _ => &[],
    };
    assert!(
        expected.contains(&arch.as_str()),
        "uname -m inside: {arch}, host {host}"
    );
}

#[test]
fn personality_linux_keeps_the_host_arch() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set("/linux/personality", json!({"domain": "LINUX"}));
    b.sh("echo arch=$(uname -m)");
    let out = ok(&h.run(&b, &unique_id("linux64")));
    let host = Command::new("uname").arg("-m").output().unwrap();
    assert_eq!(
        kv(&out)["arch"],
        String::from_utf8_lossy(&host.stdout).trim()
    );
}

#[test]
fn scheduler_batch_with_nice() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set(
        "/process/scheduler",
        json!({"policy": "SCHED_BATCH", "nice": 5}),
    );
    b.args(&["sleep", "30"]);
    let pid = h.run_detached(&b, &unique_id("sched"));
    // proc(5): field 19 is nice, field 41 the policy (3 = SCHED_BATCH).
    assert_eq!(stat_field(pid, 19), 5);
    assert_eq!(stat_field(pid, 41), 3);
    // SAFETY: integer-only syscall about another process.
    let policy = unsafe { libc::sched_getscheduler(pid) };
    assert_eq!(policy, libc::SCHED_BATCH);
}

#[test]
fn io_priority_idle() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set(
        "/process/ioPriority",
        json!({"class": "IOPRIO_CLASS_IDLE", "priority": 0}),
    );
    b.args(&["sleep", "30"]);
    let pid = h.run_detached(&b, &unique_id("ioprio"));
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    // SAFETY: integer-only syscall about another process.
    let v = unsafe { libc::syscall(libc::SYS_ioprio_get, IOPRIO_WHO_PROCESS, pid) };
    assert!(v >= 0, "ioprio_get: {}", std::io::Error::last_os_error());
    assert_eq!(v >> 13, 3, "class is not IOPRIO_CLASS_IDLE: {v:#x}");
}

#[test]
fn io_priority_best_effort_level() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set(
        "/process/ioPriority",
        json!({"class": "IOPRIO_CLASS_BE", "priority": 6}),
    );
    b.args(&["sleep", "30"]);
    let pid = h.run_detached(&b, &unique_id("ioprio-be"));
    // SAFETY: integer-only syscall about another process.
    let v = unsafe { libc::syscall(libc::SYS_ioprio_get, 1 as libc::c_long, pid) };
    assert_eq!((v >> 13, v & 0x1fff), (2, 6), "{v:#x}");
}

// ---------------------------------------------------------------------------
// sysctl.

#[test]
fn sysctl_in_network_namespace_leaves_host_alone() {
    let path = "/proc/sys/net/ipv4/ip_forward";
    let before = std::fs::read_to_string(path).unwrap().trim().to_string();
    let want = if before == "1" { "0" } else { "1" };
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set("/linux/sysctl", json!({"net.ipv4.ip_forward": want}));
    b.sh("echo fwd=$(cat /proc/sys/net/ipv4/ip_forward)");
    let out = ok(&h.run(&b, &unique_id("sysctl-net")));
    assert_eq!(kv(&out)["fwd"], want);
    assert_eq!(std::fs::read_to_string(path).unwrap().trim(), before);
}

#[test]
fn sysctl_in_ipc_namespace_leaves_host_alone() {
    let path = "/proc/sys/kernel/shmmax";
    let before = std::fs::read_to_string(path).unwrap().trim().to_string();
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set("/linux/sysctl", json!({"kernel.shmmax": "123456789"}));
    b.sh("echo shmmax=$(cat /proc/sys/kernel/shmmax)");
    let out = ok(&h.run(&b, &unique_id("sysctl-ipc")));
    assert_eq!(kv(&out)["shmmax"], "123456789");
    assert_eq!(std::fs::read_to_string(path).unwrap().trim(), before);
}

#[test]
fn sysctl_outside_any_namespace_is_refused() {
    let before = std::fs::read_to_string("/proc/sys/vm/swappiness").unwrap();
    let h = Husk::new();
    let mut b = Bundle::new();
    b.set("/linux/sysctl", json!({"vm.swappiness": "1"}));
    let id = unique_id("sysctl-vm");
    run_refused(&h, &b, &id, &["vm.swappiness", "linux.sysctl"]);
    assert_eq!(
        std::fs::read_to_string("/proc/sys/vm/swappiness").unwrap(),
        before
    );
}

#[test]
fn net_sysctl_without_network_namespace_is_refused() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.remove_namespace("network");
    b.set("/linux/sysctl", json!({"net.ipv4.ip_forward": "1"}));
    let id = unique_id("sysctl-nonet");
    run_refused(&h, &b, &id, &["net.ipv4.ip_forward", "network namespace"]);
}

// ---------------------------------------------------------------------------
// File descriptors.

/// The fds of the container's init (its sh, pid 1), sorted. Listed by a
/// child while the init only waits: busybox runs some applets inside the
/// shell itself, which then holds redirections and pipes of its own.
const LIST_FDS: &str = "sh -c 'ls -l /proc/1/fd > /tmp/fds.long; ls /proc/1/fd > /tmp/fds'; \
     echo fds=$(sort -n /tmp/fds | tr '\\n' ' '); cat /tmp/fds.long";

fn fds_of(out: &str) -> Vec<u32> {
    kv(out)["fds"]
        .split_whitespace()
        .map(|f| f.parse().unwrap())
        .collect()
}

#[test]
fn only_stdio_reaches_the_container() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh(LIST_FDS);
    let out = ok(&h.run(&b, &unique_id("fds")));
    assert_eq!(fds_of(&out), [0, 1, 2], "{out}");
}

#[test]
fn leaked_fds_of_the_caller_do_not_reach_the_container() {
    let h = Husk::new();
    let mut b = Bundle::new();
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), "leaked secret\n").unwrap();
    b.sh(&format!(
        "{LIST_FDS}; cat /proc/self/fd/7 2>/dev/null; cat <&7 2>/dev/null; echo done"
    ));
    // Fds 7 and 12 are open without close-on-exec when husk starts.
    let prelude = format!("exec 7<'{0}' 12<'{0}'", secret.path().display());
    let out = ok(&run_via_bash(&h, &b, &unique_id("leak"), &prelude, &[]));
    assert_eq!(fds_of(&out), [0, 1, 2], "{out}");
    assert!(!out.contains("leaked secret"), "{out}");
}

#[test]
fn preserve_fds_passes_exactly_that_many() {
    let h = Husk::new();
    let mut b = Bundle::new();
    let f3 = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f3.path(), "through fd three\n").unwrap();
    let f4 = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f4.path(), "fd four stays out\n").unwrap();
    b.sh(&format!("{LIST_FDS}; cat <&3"));
    let prelude = format!(
        "exec 3<'{}' 4<'{}'",
        f3.path().display(),
        f4.path().display()
    );
    let out = ok(&run_via_bash(
        &h,
        &b,
        &unique_id("preserve"),
        &prelude,
        &["--preserve-fds", "1"],
    ));
    assert_eq!(fds_of(&out), [0, 1, 2, 3], "{out}");
    assert!(out.contains("through fd three"), "{out}");
    assert!(!out.contains("fd four"), "{out}");
}

#[test]
fn listen_fds_are_passed_with_listen_pid_1() {
    let h = Husk::new();
    let mut b = Bundle::new();
    let f3 = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f3.path(), "socket stand-in\n").unwrap();
    // A stale LISTEN_FDS in the config is replaced, not duplicated.
    b.config["process"]["env"]
        .as_array_mut()
        .unwrap()
        .push(json!("LISTEN_FDS=7"));
    b.sh(&format!("{LIST_FDS}; env | grep ^LISTEN_ | sort; cat <&3"));
    let prelude = format!(
        "exec 3<'{}' 4</dev/null; export LISTEN_FDS=1 LISTEN_PID=$$",
        f3.path().display()
    );
    let out = ok(&run_via_bash(&h, &b, &unique_id("listen"), &prelude, &[]));
    assert_eq!(fds_of(&out), [0, 1, 2, 3], "{out}");
    let listen: Vec<&str> = out.lines().filter(|l| l.starts_with("LISTEN_")).collect();
    assert_eq!(listen, ["LISTEN_FDS=1", "LISTEN_PID=1"], "{out}");
    assert!(out.contains("socket stand-in"), "{out}");
}

#[test]
fn create_then_start_keeps_only_stdio_and_preserved_fds() {
    // create leaves the init waiting on the exec fifo with descriptors of
    // its own; after start only 0-2 and the preserved fd 3 may remain.
    let h = Husk::new();
    let mut b = Bundle::new();
    let f3 = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f3.path(), "preserved across create\n").unwrap();
    // A child lists the init's fds while the init only waits for it.
    b.sh("sh -c 'ls /proc/1/fd > /tmp/fds; ls -l /proc/1/fd > /tmp/fds.long'; cat <&3 > /tmp/fd3");
    b.write();
    let id = unique_id("create-fds");
    let log_path = b.path().join("create.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let st = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "exec 3<'{}' 7</dev/null\nexec \"$0\" --root \"$1\" create --preserve-fds 1 --bundle \"$2\" \"$3\"",
            f3.path().display()
        ))
        .arg(HUSK)
        .arg(h.root.path())
        .arg(b.path())
        .arg(&id)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .status()
        .unwrap();
    assert!(
        st.success(),
        "{}",
        std::fs::read_to_string(&log_path).unwrap()
    );
    ok(&h.cmd(&["start", &id]));
    h.wait_status(&id, "stopped");
    let rootfs = b.rootfs();
    let fds = std::fs::read_to_string(rootfs.join("tmp/fds")).unwrap();
    let long = std::fs::read_to_string(rootfs.join("tmp/fds.long")).unwrap();
    let mut fds: Vec<u32> = fds.split_whitespace().map(|f| f.parse().unwrap()).collect();
    fds.sort();
    assert_eq!(fds, [0, 1, 2, 3], "fds after start:\n{long}");
    assert_eq!(
        std::fs::read_to_string(rootfs.join("tmp/fd3")).unwrap(),
        "preserved across create\n"
    );
}

#[test]
fn cwd_through_symlink_stays_in_rootfs() {
    let h = Husk::new();
    let mut b = Bundle::new();
    let host = tempfile::Builder::new()
        .prefix("husk-evil-cwd-")
        .tempdir_in("/tmp")
        .unwrap();
    std::os::unix::fs::symlink(host.path(), b.rootfs().join("escape")).unwrap();
    b.set("/process/cwd", json!("/escape/work"));
    b.sh("touch here; echo physical=$(pwd -P)");
    let out = ok(&h.run(&b, &unique_id("evil-cwd")));
    assert_eq!(
        kv(&out)["physical"],
        format!("{}/work", host.path().display()),
        "{out}"
    );
    assert_eq!(
        std::fs::read_dir(host.path()).unwrap().count(),
        0,
        "cwd was created outside the rootfs"
    );
    let inside = host.path().strip_prefix("/").unwrap();
    assert!(b.rootfs().join(inside).join("work/here").exists());
}

// ---------------------------------------------------------------------------
// Session keyring.

/// Whether the container's /proc/keys lists a keyring named `id`.
fn keyring_named_id_visible(extra: &[&str]) -> (bool, String) {
    let h = Husk::new();
    let mut b = Bundle::new();
    // /proc/keys is masked in the bundle; unmask it to look.
    b.config["linux"]["maskedPaths"]
        .as_array_mut()
        .unwrap()
        .retain(|p| p != "/proc/keys");
    b.sh("cat /proc/keys");
    b.write();
    let id = unique_id("keyring");
    let mut args = vec!["run"];
    args.extend_from_slice(extra);
    let bundle = b.path().to_str().unwrap().to_string();
    args.extend_from_slice(&["--bundle", &bundle, &id]);
    let out = ok(&h.cmd(&args));
    let needle = format!(" {id}: ");
    (out.lines().any(|l| l.contains(&needle)), out)
}

#[test]
fn container_gets_a_session_keyring_named_after_it() {
    let (visible, out) = keyring_named_id_visible(&[]);
    assert!(visible, "no keyring named after the container:\n{out}");
}

#[test]
fn no_new_keyring_is_accepted_and_keeps_the_callers_keyring() {
    let (visible, out) = keyring_named_id_visible(&["--no-new-keyring"]);
    assert!(!visible, "--no-new-keyring still made one:\n{out}");
}
