//! Regression tests that attack husk the way known runtime escapes did.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

use common::*;
use serde_json::json;

/// CVE-2019-5736: a program whose interpreter is `/proc/self/exe` must
/// never get to run husk's own binary inside the container. husk execs the
/// program through a sealed stub, so the interpreter is that stub: it tries
/// to exec "--version" as a program, fails, and exits 127.
#[test]
fn proc_self_exe_as_interpreter_never_runs_husk() {
    let h = Husk::new();
    let mut b = Bundle::new();
    let evil = b.rootfs().join("evil");
    std::fs::write(&evil, "#!/proc/self/exe --version\n").unwrap();
    std::fs::set_permissions(&evil, std::fs::Permissions::from_mode(0o755)).unwrap();
    let husk_before = std::fs::read(HUSK).unwrap();

    b.args(&["/evil"]);
    let o = h.run(&b, &unique_id("evil"));
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        !all.contains("commit:"),
        "husk's binary ran in the container: {all}"
    );
    assert_eq!(o.status.code(), Some(127), "{all}");

    // The same through `husk exec` into a running container.
    b.args(&["sleep", "30"]);
    b.write();
    let id = unique_id("evilx");
    let st = h
        .command()
        .args([
            "run",
            "--detach",
            "--bundle",
            b.path().to_str().unwrap(),
            &id,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let o = h.cmd(&["exec", &id, "/evil"]);
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        !all.contains("commit:"),
        "husk's binary ran in the container: {all}"
    );
    assert_eq!(o.status.code(), Some(127), "{all}");
    assert_eq!(
        std::fs::read(HUSK).unwrap(),
        husk_before,
        "husk's binary changed"
    );
}

/// The program runs as itself, not as the stub, once started.
#[test]
fn the_program_is_its_own_exe_after_the_stub() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh("readlink /proc/self/exe; readlink /proc/1/exe");
    let out = ok(&h.run(&b, &unique_id("exe")));
    assert_eq!(out, "/bin/busybox\n/bin/busybox\n");
}

/// A file that is neither ELF nor a #! script is refused before the
/// container starts, with the kernel's word for it.
#[test]
fn a_program_in_no_known_format_is_refused_up_front() {
    let h = Husk::new();
    let mut b = Bundle::new();
    let junk = b.rootfs().join("junk");
    std::fs::write(&junk, b"\x00\x01not a program").unwrap();
    std::fs::set_permissions(&junk, std::fs::Permissions::from_mode(0o755)).unwrap();
    b.args(&["/junk"]);
    let id = unique_id("junk");
    let e = fails(&h.create(&b, &id));
    assert!(e.contains("ENOEXEC") && e.contains("/junk"), "{e}");
    assert!(!h.root.path().join(&id).exists());
}

/// CVE-2025-31133: masking binds /dev/null over paths; a /dev/null that is
/// really a file (or a link to one) would turn that into a bind of
/// something the image chose. husk checks it is the 1:3 device first.
#[test]
fn masking_refuses_a_fake_dev_null() {
    let h = Husk::new();
    let mut b = Bundle::new();
    // No /dev tmpfs: the image's own /dev is used, with a fake null.
    let mounts: Vec<serde_json::Value> = b.config["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| !m["destination"].as_str().unwrap_or("").starts_with("/dev"))
        .cloned()
        .collect();
    b.set("/mounts", json!(mounts));
    std::fs::create_dir_all(b.rootfs().join("dev")).unwrap();
    std::fs::write(b.rootfs().join("dev/null"), "not a device").unwrap();
    b.args(&["true"]);
    let id = unique_id("fakenull");
    let e = fails(&h.create(&b, &id));
    assert!(e.contains("/dev/null") && e.contains("1:3"), "{e}");
    assert!(!h.root.path().join(&id).exists());
}

// ---------------------------------------------------------------------------
// Helpers for the attacks below.

/// The busybox bundle without the /dev tmpfs (and what is mounted under
/// it), so the image's own /dev, which an attacker controls, is used.
fn bundle_with_image_dev() -> Bundle {
    let mut b = Bundle::new();
    let mounts: Vec<serde_json::Value> = b.config["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| !m["destination"].as_str().unwrap_or("").starts_with("/dev"))
        .cloned()
        .collect();
    b.set("/mounts", json!(mounts));
    std::fs::create_dir_all(b.rootfs().join("dev")).unwrap();
    b
}

/// A host directory outside every rootfs, holding one marker file, to
/// point symlinks at; [`assert_untouched`] checks it afterwards.
fn host_target(label: &str) -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix(&format!("husk-host-{label}-"))
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::write(d.path().join("marker"), "host\n").unwrap();
    d
}

/// The host directory still holds only its marker, unchanged, and has
/// nothing mounted on or under it.
#[track_caller]
fn assert_untouched(d: &std::path::Path) {
    let names: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["marker"], "{} was written to", d.display());
    assert_eq!(std::fs::read_to_string(d.join("marker")).unwrap(), "host\n");
    let m = host_mounts_mentioning(d.to_str().unwrap());
    assert!(m.is_empty(), "mounted on the host: {m:?}");
}

/// `sh -c SCRIPT` on the host, with stdio in files, within TIMEOUT.
fn host_sh(script: &str) -> std::process::Output {
    let mut c = std::process::Command::new("sh");
    c.arg("-c").arg(script);
    run_timed(c, Stdin::Null, Out::Temp, TIMEOUT)
}

/// The fds the container's shell has open, as `ls -l` of its /proc/PID/fd
/// shows them ("... N -> target"). Two commands, so sh forks ls rather
/// than exec'ing it (ls's own directory fd would show up otherwise).
const LIST_FDS: &str = "ls -l /proc/$$/fd; true";

fn fd_numbers(out: &str) -> Vec<u32> {
    out.lines()
        .filter_map(|l| l.split_once(" -> "))
        .filter_map(|(l, _)| l.split_whitespace().last()?.parse().ok())
        .collect()
}

// ---------------------------------------------------------------------------
// CVE-2024-21626: leaked fds and the cwd.

/// CVE-2024-21626: fds the caller leaked into husk (not CLOEXEC: here the
/// host's /, its /proc/self and a host directory) never reach the
/// container, neither its init (`run`) nor an `exec`'d process. Without
/// husk's close_range(CLOEXEC) they would cross the execve as fds 7–9.
#[test]
fn leaked_host_fds_never_reach_the_container() {
    let h = Husk::new();
    let mut b = Bundle::new();
    let host = host_target("fds");
    let plant = format!(
        "exec 7</ 8</proc/self 9<{}; exec {HUSK} --root {}",
        host.path().display(),
        h.root.path().display()
    );
    b.sh(LIST_FDS);
    b.write();
    let id = unique_id("fdleak");
    let o = host_sh(&format!("{plant} run --bundle {} {id}", b.arg()));
    let out = ok(&o);
    assert_eq!(fd_numbers(&out), [0, 1, 2], "{out}");

    // The same through `husk exec` into a running container.
    b.args(&["sleep", "60"]);
    let id = unique_id("fdleakx");
    h.run_detached(&b, &id);
    let o = host_sh(&format!("{plant} exec {id} sh -c '{LIST_FDS}'"));
    let out = ok(&o);
    assert_eq!(fd_numbers(&out), [0, 1, 2], "{out}");
    assert_untouched(host.path());
}

/// CVE-2024-21626: process.cwd through a leaked fd (/proc/self/fd/7, the
/// host's /) must not become the container's working directory: create
/// refuses it (it does not resolve inside the rootfs), and so does `husk
/// exec --cwd`, which checks where chdir landed.
#[test]
fn cwd_through_a_leaked_fd_is_refused() {
    let h = Husk::new();
    let mut b = Bundle::new();
    let host = host_target("cwdfd");
    let plant = format!(
        "exec 7<{} 8</; exec {HUSK} --root {}",
        host.path().display(),
        h.root.path().display()
    );
    b.sh("ls; echo ran");
    b.set("/process/cwd", json!("/proc/self/fd/7"));
    b.write();
    let id = unique_id("cwdfd");
    let e = fails(&host_sh(&format!("{plant} run --bundle {} {id}", b.arg())));
    assert!(e.contains("/proc/self/fd/7"), "{e}");
    assert!(!e.contains("marker"), "{e}");
    assert_no_state_or_mounts(&h, &b, &id);

    b.set("/process/cwd", json!("/"));
    b.args(&["sleep", "60"]);
    let id = unique_id("cwdfdx");
    h.run_detached(&b, &id);
    for fd in ["7", "8"] {
        let o = host_sh(&format!(
            "{plant} exec --cwd /proc/self/fd/{fd} {id} sh -c 'ls; echo ran'"
        ));
        let e = fails(&o);
        let all = format!("{}{e}", stdout(&o));
        assert!(!all.contains("marker") && !all.contains("ran"), "{all}");
        assert!(e.contains("cwd") || e.contains("chdir"), "{e}");
    }
    assert_untouched(host.path());
}

/// CVE-2024-21626: a cwd that is a symlink pointing out of the rootfs
/// ("../../../.." or an absolute host path) resolves inside it.
#[test]
fn cwd_symlink_pointing_out_resolves_inside_the_rootfs() {
    let h = Husk::new();
    let mut b = Bundle::new();
    let host = host_target("cwdlink");
    std::fs::write(b.rootfs().join("inside-marker"), "").unwrap();
    std::os::unix::fs::symlink("../../../..", b.rootfs().join("up")).unwrap();
    std::os::unix::fs::symlink(host.path(), b.rootfs().join("hostlink")).unwrap();
    b.sh("pwd; ls; echo end");
    b.set("/process/cwd", json!("/up"));
    let out = ok(&h.run(&b, &unique_id("cwdup")));
    assert!(out.starts_with("/\n"), "{out}");
    assert!(out.contains("inside-marker"), "{out}");
    assert!(!out.contains("\nmarker\n"), "{out}");

    b.set("/process/cwd", json!("/hostlink"));
    let out = ok(&h.run(&b, &unique_id("cwdabs")));
    assert_eq!(out, format!("{}\nend\n", host.path().display()), "{out}");
    // What it got is the rootfs's copy of that path, made empty.
    let inside = host.path().strip_prefix("/").unwrap();
    assert!(b.rootfs().join(inside).is_dir());
    assert_untouched(host.path());
}
