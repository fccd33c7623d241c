//! linux.seccomp: what a filtered container sees from the inside.

mod common;

use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;

use common::*;
use libseccomp::{ScmpNotifReq, ScmpNotifResp, ScmpNotifRespFlags, ScmpSyscall};
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
        let req = ScmpNotifReq::receive(fd.as_raw_fd()).unwrap();
        let name = req.data.syscall.get_name().unwrap();
        ScmpNotifResp::new_val(req.id, 0, ScmpNotifRespFlags::empty())
            .respond(fd.as_raw_fd())
            .unwrap();
        (state, name, ScmpSyscall::from_name("mkdir").is_ok())
    });
    let o = h.run(&b, &id);
    let out = ok(&o);
    let (state, name, _) = listener.join().unwrap();
    assert!(name.starts_with("mkdir"), "{name}");
    assert!(
        out.contains("rc=0") && out.contains("not-made"),
        "the listener's answer: {out}"
    );
    assert_eq!(state["metadata"], "meta-42", "{state}");
    assert_eq!(state["fds"], json!(["seccompFd"]), "{state}");
    assert_eq!(state["state"]["id"], id.as_str(), "{state}");
    assert!(state["pid"].as_i64().unwrap() > 0, "{state}");
}
