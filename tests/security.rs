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
