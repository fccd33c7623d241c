//! linux.seccomp: what a filtered container sees from the inside.

mod common;

use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

fn run_with(profile: Value, script: &str, nnp: bool) -> std::process::Output {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh(script)
        .set("/linux/seccomp", profile)
        .set("/process/noNewPrivileges", json!(nnp));
    h.run(&b, &unique_id("sc"))
}

#[test]
fn deny_list_mkdir_gets_eperm() {
    for nnp in [true, false] {
        let o = run_with(
            mkdir_seccomp("SCMP_ACT_ERRNO"),
            "mkdir /x 2>&1; echo rc=$?; grep ^Seccomp: /proc/self/status",
            nnp,
        );
        let out = ok(&o);
        assert!(
            out.contains("Operation not permitted") && out.contains("rc=1"),
            "nnp={nnp}: {out}"
        );
        assert!(out.contains("Seccomp:\t2"), "filter mode: {out}");
    }
}

#[test]
fn allow_list_with_default_errno() {
    // A real allow-list: everything busybox sh and echo need, and not
    // mkdir, which then fails with defaultErrnoRet.
    let allowed = [
        "read",
        "write",
        "writev",
        "openat",
        "open",
        "close",
        "fstat",
        "newfstatat",
        "stat",
        "lstat",
        "mmap",
        "munmap",
        "mprotect",
        "brk",
        "rt_sigaction",
        "rt_sigprocmask",
        "rt_sigreturn",
        "ioctl",
        "access",
        "execve",
        "exit",
        "exit_group",
        "getpid",
        "getppid",
        "getuid",
        "geteuid",
        "getgid",
        "getegid",
        "fcntl",
        "dup2",
        "dup3",
        "arch_prctl",
        "set_tid_address",
        "set_robust_list",
        "prlimit64",
        "getcwd",
        "wait4",
        "clone",
        "clone3",
        "fork",
        "vfork",
        "sigaltstack",
        "getrandom",
        "rseq",
        "futex",
        "pipe2",
        "lseek",
        "getdents64",
        "statx",
        "readlink",
        "prctl",
        "capget",
        "capset",
        "setgroups",
        "setresuid",
        "setresgid",
        "chdir",
        "umask",
        "close_range",
        "sendmsg",
        "sendto",
        "recvmsg",
        "poll",
        "getpgrp",
        "setpgid",
        "faccessat",
        "faccessat2",
    ];
    let o = run_with(
        json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
               "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
               "syscalls": [{"names": allowed.to_vec(), "action": "SCMP_ACT_ALLOW"}]}),
        "echo still-alive; mkdir /q 2>&1; echo rc=$?",
        true,
    );
    let out = ok(&o);
    assert!(out.contains("still-alive"), "{out}");
    assert!(
        out.contains("Function not implemented") && out.contains("rc=1"),
        "mkdir must get ENOSYS: {out}"
    );
}

#[test]
fn argument_filter_on_personality() {
    let o = run_with(
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                             "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}),
        "linux32 true 2>/dev/null; echo l32=$?; linux64 true; echo l64=$?",
        true,
    );
    let out = ok(&o);
    assert!(out.contains("l32=1") && out.contains("l64=0"), "{out}");
}

#[test]
fn masked_eq_compares_under_the_mask() {
    // Deny personality(x) when x & 0xff == 0x08 (PER_LINUX32).
    let o = run_with(
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                             "args": [{"index": 0, "value": 255, "valueTwo": 8, "op": "SCMP_CMP_MASKED_EQ"}]}]}),
        "linux32 true 2>/dev/null; echo l32=$?; linux64 true; echo l64=$?",
        true,
    );
    let out = ok(&o);
    assert!(out.contains("l32=1") && out.contains("l64=0"), "{out}");
}

#[test]
fn kill_action_ends_the_process_with_sigsys() {
    for action in ["SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS"] {
        let h = Husk::new();
        let mut b = Bundle::new();
        b.args(&["mkdir", "/x"])
            .set("/linux/seccomp", mkdir_seccomp(action));
        let o = h.run(&b, &unique_id("kill"));
        assert_eq!(
            o.status.code(),
            Some(128 + libc::SIGSYS),
            "{action}: {}",
            stderr(&o)
        );
        assert!(!b.rootfs().join("x").exists());
    }
}

#[test]
fn exec_gets_the_same_filter() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.args(&["sleep", "30"])
        .set("/linux/seccomp", mkdir_seccomp("SCMP_ACT_ERRNO"));
    let id = unique_id("scx");
    h.run_detached(&b, &id);
    let out = ok(&h.cmd(&["exec", &id, "sh", "-c", "mkdir /z 2>&1; echo rc=$?"]));
    assert!(
        out.contains("Operation not permitted") && out.contains("rc=1"),
        "{out}"
    );
}

#[test]
fn bad_profiles_are_refused_by_field() {
    for (profile, word) in [
        (
            json!({"defaultAction": "SCMP_ACT_MAYBE"}),
            "linux.seccomp.defaultAction",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_PDP11"]}),
            "architectures",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NOPE"]}),
            "flags",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                   "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ABOUT"}]}]}),
            "syscalls[0].args[0].op",
        ),
        (json!({"defaultAction": "SCMP_ACT_NOTIFY"}), "listenerPath"),
    ] {
        let h = Husk::new();
        let mut b = Bundle::new();
        b.args(&["true"]).set("/linux/seccomp", profile);
        let id = unique_id("bad");
        let e = fails(&h.create(&b, &id));
        assert!(e.contains(word), "{word}: {e}");
        assert!(!h.root.path().join(&id).exists());
    }
}

/// NOTIFY: the listener gets the fd and runc's state message, answers the
/// container's mkdir itself (success without a directory), and the
/// container sees that answer.
#[test]
fn notify_listener_answers_for_the_kernel() {
    let h = Husk::new();
    let sock = h.root.path().join("listener.sock");
    let l = UnixListener::bind(&sock).unwrap();
    let mut b = Bundle::new();
    b.sh("mkdir /notified; echo rc=$?; test -d /notified && echo made || echo not-made").set(
        "/linux/seccomp",
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock, "listenerMetadata": "meta-42",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}),
    );
    let id = unique_id("notify");
    let listener = std::thread::spawn(move || {
        let (conn, _) = l.accept().unwrap();
        let mut data = [0u8; 8192];
        let (n, fd) = recv_with_fd(&conn, &mut data);
        let state: Value = serde_json::from_slice(&data[..n]).unwrap();
        // The kernel's interface, as a listener uses it: receive one
        // notification, answer it with success.
        // SAFETY: all-zero is a valid seccomp_notif (the kernel wants it
        // zeroed), and RECV writes one into it.
        let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
        // SAFETY: fd is the listener; req is a seccomp_notif, what RECV takes.
        let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_RECV, &mut req) };
        assert_eq!(r, 0, "NOTIF_RECV: {}", std::io::Error::last_os_error());
        let resp = libc::seccomp_notif_resp {
            id: req.id,
            val: 0,
            error: 0,
            flags: 0,
        };
        // SAFETY: fd is the listener; resp is a seccomp_notif_resp.
        let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SEND, &resp) };
        assert_eq!(r, 0, "NOTIF_SEND: {}", std::io::Error::last_os_error());
        (state, i64::from(req.data.nr))
    });
    let o = h.run(&b, &id);
    let out = ok(&o);
    let (state, nr) = listener.join().unwrap();
    assert!(
        nr == libc::SYS_mkdir || nr == libc::SYS_mkdirat,
        "notified of syscall {nr}, not mkdir(at)"
    );
    assert!(
        out.contains("rc=0") && out.contains("not-made"),
        "the listener's answer: {out}"
    );
    assert_eq!(state["metadata"], "meta-42", "{state}");
    assert_eq!(state["fds"], json!(["seccompFd"]), "{state}");
    assert_eq!(state["state"]["id"], id.as_str(), "{state}");
    assert!(state["pid"].as_i64().unwrap() > 0, "{state}");
}

/// The file the loader finds for libseccomp.so.2 (symlinks resolved).
fn libseccomp_file() -> PathBuf {
    let o = Command::new("ldconfig").arg("-p").output().unwrap();
    let text = stdout(&o);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("libseccomp.so.2 "))
        .unwrap_or_else(|| panic!("ldconfig -p lists no libseccomp.so.2:\n{text}"));
    let path = line.rsplit("=> ").next().unwrap().trim();
    std::fs::canonicalize(path).unwrap()
}

/// husk with these arguments, in a mount namespace where libseccomp.so.2
/// is /dev/null, so dlopen fails.
fn without_libseccomp(h: &Husk, args: &[&str]) -> Output {
    Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
        .arg(r#"mount --bind /dev/null "$0" && exec "$@""#)
        .arg(libseccomp_file())
        .arg(HUSK)
        .arg("--root")
        .arg(h.root.path())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// libseccomp is opened only when a profile needs it: without it, husk
/// still runs containers without linux.seccomp, `features` and `--version`
/// say why it is missing, and a profile is refused at create, by field,
/// before anything is made.
#[test]
fn without_libseccomp_only_profiles_fail() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.args(&["true"]);
    b.write();
    let id = unique_id("nolib");
    ok(&without_libseccomp(&h, &["run", "--bundle", b.arg(), &id]));

    let f: Value = serde_json::from_str(&ok(&without_libseccomp(&h, &["features"]))).unwrap();
    let sc = &f["linux"]["seccomp"];
    assert_eq!(sc["enabled"], true, "{sc}");
    assert_eq!(sc["supportedFlags"], json!([]), "{sc}");
    assert!(!sc["actions"].as_array().unwrap().is_empty(), "{sc}");
    let why = f["annotations"]["io.github.husk.seccomp.error"]
        .as_str()
        .unwrap_or_else(|| panic!("no seccomp error annotation: {f}"));
    assert!(why.starts_with("cannot load libseccomp.so.2: "), "{why}");

    let v = ok(&without_libseccomp(&h, &["--version"]));
    assert!(
        v.contains("libseccomp: unavailable (cannot load libseccomp.so.2: "),
        "{v}"
    );

    b.set("/linux/seccomp", mkdir_seccomp("SCMP_ACT_ERRNO"));
    b.write();
    let id = unique_id("nolib");
    let e = fails(&without_libseccomp(&h, &["run", "--bundle", b.arg(), &id]));
    assert!(
        e.contains("linux.seccomp: cannot load libseccomp.so.2: "),
        "{e}"
    );
    assert_no_state_or_mounts(&h, &b, &id);
}

/// Without no_new_privs the filter is loaded before the capabilities are
/// set, so husk's own calls after it must be ones runc's init makes there:
/// a profile that kills for the calls husk used to make (close_range,
/// getcwd, statx, sendto, recvfrom, recvmsg) still runs, for run and for
/// create/start.
#[test]
fn no_husk_call_after_the_filter_that_runc_does_not_make() {
    let profile = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{
        "names": ["close_range", "getcwd", "statx", "sendto", "recvfrom", "recvmsg"],
        "action": "SCMP_ACT_KILL_PROCESS"}]});
    let h = Husk::new();
    for how in ["run", "create"] {
        let mut b = Bundle::new();
        b.set("/process/args", json!(["/bin/echo", "started"]))
            .set("/linux/seccomp", profile.clone())
            .set("/process/noNewPrivileges", json!(false))
            .set("/process/user", json!({"uid": 1000, "gid": 1000}));
        let id = unique_id("late");
        let out = if how == "run" {
            ok(&h.run(&b, &id))
        } else {
            b.write();
            let log = b.path().join("out.log");
            let o = h.timed(
                &["create", "--bundle", b.arg(), &id],
                Stdin::Null,
                Out::Beside(&log),
                TIMEOUT,
            );
            assert!(o.status.success(), "create: {}", stderr(&o));
            ok(&h.cmd(&["start", &id]));
            h.wait_status(&id, "stopped");
            ok(&h.cmd(&["delete", &id]));
            std::fs::read_to_string(&log).unwrap()
        };
        assert!(out.contains("started"), "{how}: {out}");
    }
}

/// A profile written before Linux 5.9 allows what it lists and not
/// close_range; husk (without no_new_privs) still starts the container.
#[test]
fn allow_list_without_close_range_runs_without_nnp() {
    let allowed: Vec<&str> = include_str!("data/seccomp-allow-no-close-range.txt")
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let o = run_with(
        json!({"defaultAction": "SCMP_ACT_ERRNO",
               "syscalls": [{"names": allowed, "action": "SCMP_ACT_ALLOW"}]}),
        "echo ok",
        false,
    );
    assert!(ok(&o).contains("ok"));
}

/// A NOTIFY rule on a call husk's init once made late (getcwd) must not
/// hang create: the listener fd reaches the agent before the init goes on.
#[test]
fn notify_on_getcwd_does_not_hang_create() {
    let h = Husk::new();
    let sock = h.root.path().join("agent.sock");
    let l = UnixListener::bind(&sock).unwrap();
    let mut b = Bundle::new();
    b.sh("cd /tmp && pwd")
        .set("/process/noNewPrivileges", json!(false))
        .set(
            "/linux/seccomp",
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock,
                   "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_NOTIFY"}]}),
        );
    // The agent lets every notified call through to the kernel.
    std::thread::spawn(move || {
        let (conn, _) = l.accept().unwrap();
        let mut data = [0u8; 8192];
        let (_, fd) = recv_with_fd(&conn, &mut data);
        loop {
            // SAFETY: as in notify_listener_answers_for_the_kernel.
            let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
            // SAFETY: fd is the listener; req is what RECV takes.
            if unsafe { libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_RECV, &mut req) } < 0
            {
                return;
            }
            let resp = libc::seccomp_notif_resp {
                id: req.id,
                val: 0,
                error: 0,
                flags: libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32,
            };
            // SAFETY: fd is the listener; resp is a seccomp_notif_resp.
            unsafe { libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SEND, &resp) };
        }
    });
    b.write();
    let o = h.timed(
        &["run", "--bundle", b.arg(), &unique_id("nfy")],
        Stdin::Null,
        Out::Temp,
        Duration::from_secs(20),
    );
    assert_eq!(ok(&o).trim(), "/tmp");
}
