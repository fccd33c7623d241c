mod common;

// AppArmor and SELinux labels on a host that has neither (this test host:
// its LSMs are lockdown, capability, landlock and bpf). Asking for a label
// must fail create before anything exists, naming the field, the value and
// how husk found the LSM missing; never run the container unconfined.
// Where the host has the LSM, these tests skip: scripts/vm/lsm.sh checks the
// real AppArmor confinement in the stock-kernel VM.

use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(30);

fn host_has_apparmor() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|v| v.trim() == "Y")
}

fn host_has_selinux() -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| {
            l.split_once(" - ")
                .is_some_and(|(_, r)| r.starts_with("selinuxfs "))
        })
}

/// `husk create` and `husk run` of a bundle with `edit` applied both fail
/// with every one of `words`, and leave no state directory, no mount and no
/// process; the program never ran.
#[track_caller]
fn refused(words: &[&str], edit: impl FnOnce(&mut Bundle)) {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh("echo should-not-run > /ran; sleep 100");
    edit(&mut b);
    b.write();
    for cmd in ["create", "run"] {
        let id = unique_id("lsm");
        let o = h.timed(
            &[cmd, "--bundle", b.arg(), &id],
            Stdin::Null,
            Out::Temp,
            TIMEOUT,
        );
        let e = fails(&o);
        for w in words {
            assert!(
                e.contains(w),
                "{cmd}: the error does not mention {w:?}: {e}"
            );
        }
        assert_no_state_or_mounts(&h, &b, &id);
        let entries: Vec<_> = std::fs::read_dir(h.root.path()).unwrap().collect();
        assert!(
            entries.is_empty(),
            "{cmd}: --root is not empty: {entries:?}"
        );
    }
    assert!(!b.rootfs().join("ran").exists(), "the program ran");
    assert_no_bundle_process(&b);
}

/// No process has the bundle's rootfs as its root or names the bundle.
#[track_caller]
fn assert_no_bundle_process(b: &Bundle) {
    let rootfs = std::fs::canonicalize(b.rootfs()).unwrap();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let root = std::fs::read_link(format!("/proc/{pid}/root")).ok();
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let named = String::from_utf8_lossy(&cmdline).contains(b.arg());
        assert!(
            root.as_deref() != Some(Path::new(&rootfs)) && !named,
            "process {pid} of the bundle is still there"
        );
    }
}

#[test]
fn apparmor_profile_without_apparmor_is_refused() {
    if host_has_apparmor() {
        eprintln!("skipped: this host has AppArmor");
        return;
    }
    refused(
        &[
            "process.apparmorProfile: \"husk-test\" requested, but this host has no AppArmor",
            "/sys/module/apparmor/parameters/enabled",
        ],
        |b| {
            b.set("/process/apparmorProfile", json!("husk-test"));
        },
    );
}

#[test]
fn selinux_label_without_selinux_is_refused() {
    if host_has_selinux() {
        eprintln!("skipped: this host has SELinux");
        return;
    }
    let label = "system_u:system_r:container_t:s0:c1,c2";
    refused(
        &[
            &format!("process.selinuxLabel: {label:?} requested, but this host has no SELinux"),
            "no selinuxfs in /proc/self/mountinfo",
        ],
        |b| {
            b.set("/process/selinuxLabel", json!(label));
        },
    );
}

#[test]
fn mount_label_without_selinux_is_refused() {
    if host_has_selinux() {
        eprintln!("skipped: this host has SELinux");
        return;
    }
    let label = "system_u:object_r:container_file_t:s0:c1,c2";
    refused(
        &[
            &format!("linux.mountLabel: {label:?} requested, but this host has no SELinux"),
            "no selinuxfs in /proc/self/mountinfo",
        ],
        |b| {
            b.set("/linux/mountLabel", json!(label));
        },
    );
}

/// A label that cannot reach the kernel intact is refused on any host.
#[test]
fn mount_label_with_a_quote_is_refused() {
    refused(&["linux.mountLabel", "double quote"], |b| {
        b.set("/linux/mountLabel", json!("u:r:\"t:s0"));
    });
}

/// Empty strings mean unset: the container runs as before.
#[test]
fn empty_labels_are_unset() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh("echo ok");
    b.set("/process/apparmorProfile", json!(""));
    b.set("/process/selinuxLabel", json!(""));
    b.set("/linux/mountLabel", json!(""));
    b.write();
    let id = unique_id("lsm-empty");
    assert_eq!(ok(&h.run(&b, &id)), "ok\n");
}

/// `husk exec` takes the same check: a label for the exec'd process on a
/// host without the LSM fails before any process is made.
#[test]
fn exec_with_apparmor_flag_without_apparmor_is_refused() {
    if host_has_apparmor() {
        eprintln!("skipped: this host has AppArmor");
        return;
    }
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh("sleep 100");
    let id = unique_id("lsm-exec");
    h.run_detached(&b, &id);
    let o = h.timed(
        &["exec", "--apparmor", "husk-test", &id, "true"],
        Stdin::Null,
        Out::Temp,
        TIMEOUT,
    );
    let e = fails(&o);
    assert!(
        e.contains(
            "process.apparmorProfile: \"husk-test\" requested, but this host has no AppArmor"
        ),
        "{e}"
    );
    ok(&h.timed(&["delete", "--force", &id], Stdin::Null, Out::Temp, TIMEOUT));
}

#[test]
fn features_report_build_support() {
    let h = Husk::new();
    let f: serde_json::Value = serde_json::from_str(&ok(&h.cmd(&["features"]))).unwrap();
    assert_eq!(f["linux"]["apparmor"]["enabled"], json!(true));
    assert_eq!(f["linux"]["selinux"]["enabled"], json!(true));
}
