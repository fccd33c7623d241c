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
    // The image's own /dev, bind-mounted (no device nodes made), with a
    // fake null.
    let mut b = Bundle::with_image_dev();
    std::fs::write(b.rootfs().join("dev/null"), "not a device").unwrap();
    b.args(&["true"]);
    let id = unique_id("fakenull");
    let e = fails(&h.create(&b, &id));
    assert!(e.contains("/dev/null") && e.contains("1:3"), "{e}");
    assert!(!h.root.path().join(&id).exists());
}

// ---------------------------------------------------------------------------
// Helpers for the attacks below.

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
    let mut v: Vec<u32> = out
        .lines()
        .filter_map(|l| l.split_once(" -> "))
        .filter_map(|(l, _)| l.split_whitespace().last()?.parse().ok())
        .collect();
    v.sort();
    v
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

// ---------------------------------------------------------------------------
// CVE-2021-30465: a mount target swapped for a symlink.

/// CVE-2021-30465: while husk mounts, a helper thread keeps swapping
/// rootfs/flip between a real directory and a symlink to a host
/// directory (renameat2 RENAME_EXCHANGE, so one of the two is always
/// there). husk resolves every target inside the rootfs and mounts by fd,
/// so whatever it hits, nothing is made or mounted in the host directory.
/// A runtime that checked the path and then mounted by path would follow
/// the link on some runs and create (and mount over) flip/mN in the host
/// directory. Bounded by a run count and a few seconds; runs may fail
/// (a target can vanish mid-walk), which is fine.
#[test]
fn mount_targets_swapped_for_symlinks_never_land_outside() {
    let h = Husk::new();
    let mut b = Bundle::new();
    let host = host_target("race");
    let real = b.rootfs().join("flip");
    let alt = b.rootfs().join("flip.alt");
    std::fs::create_dir(&real).unwrap();
    std::os::unix::fs::symlink(host.path(), &alt).unwrap();
    for i in 0..40 {
        b.add_mount(json!({
            "destination": format!("/flip/m{i}"), "type": "tmpfs", "source": "tmpfs",
            "options": ["size=16k"]
        }));
    }
    b.args(&["true"]);
    b.write();

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flipper = {
        let stop = stop.clone();
        let a = std::ffi::CString::new(real.to_str().unwrap()).unwrap();
        let z = std::ffi::CString::new(alt.to_str().unwrap()).unwrap();
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // SAFETY: two NUL-terminated paths; RENAME_EXCHANGE swaps
                // them atomically.
                let r = unsafe {
                    libc::renameat2(
                        libc::AT_FDCWD,
                        a.as_ptr(),
                        libc::AT_FDCWD,
                        z.as_ptr(),
                        libc::RENAME_EXCHANGE,
                    )
                };
                if r != 0 {
                    // Only once the test is over and the bundle is gone.
                    break;
                }
                swaps += 1;
            }
            swaps
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(4);
    let (mut runs, mut failed) = (0, 0);
    while runs < 40 && std::time::Instant::now() < deadline {
        let id = unique_id("race");
        let o = h.timed(
            &["run", "--bundle", b.arg(), &id],
            Stdin::Null,
            Out::Temp,
            TIMEOUT,
        );
        if !o.status.success() {
            failed += 1;
        }
        runs += 1;
        assert_untouched(host.path());
        assert_no_state_or_mounts(&h, &b, &id);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let swaps = flipper.join().unwrap();
    assert!(swaps > 0 && runs > 0, "swaps {swaps}, runs {runs}");
    eprintln!("{runs} runs ({failed} failed) during {swaps} swaps");
    assert_untouched(host.path());
}

// ---------------------------------------------------------------------------
// CVE-2019-16884 / CVE-2023-27561: procfs and sysfs targets.

/// CVE-2019-16884, CVE-2023-27561: procfs and sysfs are mounted only onto
/// real directories. A rootfs whose /proc or /sys is a symlink to a host
/// directory (absolute or climbing with ".."), or a file, is refused by
/// name, and the host directory gets nothing. (isolation.rs covers links
/// to a decoy inside the rootfs and /proc as a file.)
#[test]
fn procfs_and_sysfs_never_follow_a_link_out_or_land_on_a_file() {
    let host = host_target("procsys");
    let up = format!("../../../../../../..{}", host.path().display());
    let abs = host.path().to_str().unwrap().to_string();
    for (dir, link) in [
        ("proc", Some(abs.as_str())),
        ("proc", Some(up.as_str())),
        ("sys", Some(abs.as_str())),
        ("sys", None),
    ] {
        let h = Husk::new();
        let mut b = Bundle::new();
        let p = b.rootfs().join(dir);
        std::fs::remove_dir(&p).unwrap();
        match link {
            Some(l) => std::os::unix::fs::symlink(l, &p).unwrap(),
            None => std::fs::write(&p, "").unwrap(),
        }
        b.args(&["true"]);
        let id = unique_id(&format!("ps-{dir}"));
        let e = fails(&h.create(&b, &id));
        let why = if link.is_some() {
            "symlink"
        } else {
            "not a directory"
        };
        assert!(e.contains(&format!("/{dir}")) && e.contains(why), "{e}");
        assert_no_state_or_mounts(&h, &b, &id);
        assert_untouched(host.path());
    }
}

// ---------------------------------------------------------------------------
// CVE-2025-31133 / CVE-2025-52565: what masking and /dev/console bind.

/// CVE-2025-31133: an image whose /dev/null is a symlink to
/// /proc/sys/kernel/core_pattern would make masking bind the host's
/// core_pattern, writable, over every masked file. husk refuses a
/// /dev/null that is not the 1:3 device (a regular file is covered by
/// `masking_refuses_a_fake_dev_null`).
#[test]
fn masking_refuses_a_dev_null_symlink_to_core_pattern() {
    let h = Husk::new();
    let mut b = Bundle::with_image_dev();
    let before = read_trim("/proc/sys/kernel/core_pattern");
    std::os::unix::fs::symlink("/proc/sys/kernel/core_pattern", b.rootfs().join("dev/null"))
        .unwrap();
    // Were the mask a bind of core_pattern, /proc/kcore would now be it.
    b.sh("echo '|/bin/false husk-evil' > /proc/kcore; echo done");
    let id = unique_id("nulllink");
    let e = fails(&h.create(&b, &id));
    assert!(e.contains("/dev/null") && e.contains("1:3"), "{e}");
    assert_no_state_or_mounts(&h, &b, &id);
    assert_eq!(read_trim("/proc/sys/kernel/core_pattern"), before);
}

/// A maskedPaths entry that is a symlink is followed inside the container,
/// as runc follows it: the link's target is masked (here /etc/kept, and
/// /proc/cmdline through /etc/evil), never anything outside the root,
/// and a link that loops is an error naming it.
#[test]
fn masked_path_symlink_masks_its_target_inside_the_root() {
    let h = Husk::new();
    let mut b = Bundle::new();
    std::os::unix::fs::symlink("/proc/cmdline", b.rootfs().join("etc/evil")).unwrap();
    std::fs::write(b.rootfs().join("etc/kept"), "kept\n").unwrap();
    std::os::unix::fs::symlink("/etc/kept", b.rootfs().join("etc/evil2")).unwrap();
    b.config["linux"]["maskedPaths"]
        .as_array_mut()
        .unwrap()
        .extend([json!("/etc/evil"), json!("/etc/evil2")]);
    b.sh("echo \"[$(cat /etc/kept)]\"; echo ==mountinfo==; cat /proc/self/mountinfo");
    let out = ok(&h.run(&b, &unique_id("masklink")));
    assert!(out.starts_with("[]\n"), "/etc/kept is masked: {out}");
    let masked = |p: &str| {
        out.lines()
            .any(|l| l.contains(&format!(" {p} ")) && l.contains("/null "))
    };
    assert!(masked("/etc/kept") && masked("/proc/cmdline"), "{out}");
    assert!(!masked("/etc/evil") && !masked("/etc/evil2"), "{out}");
    // A loop fails create, naming the path, and leaves nothing behind.
    let mut b = Bundle::new();
    std::os::unix::fs::symlink("/etc/loop", b.rootfs().join("etc/loop")).unwrap();
    b.config["linux"]["maskedPaths"]
        .as_array_mut()
        .unwrap()
        .push(json!("/etc/loop"));
    b.args(&["true"]);
    let id = unique_id("maskloop");
    let e = fails(&h.create(&b, &id));
    assert!(
        e.contains("can't mask path /etc/loop") && e.contains("ELOOP"),
        "{e}"
    );
    assert_no_state_or_mounts(&h, &b, &id);
}

/// Accept one --console-socket connection in the background and hold it
/// until husk closes its end.
fn console_sink(h: &Husk) -> std::path::PathBuf {
    let sock = h.root.path().join("console.sock");
    let l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    std::thread::spawn(move || {
        if let Ok((mut c, _)) = l.accept() {
            let _ = std::io::Read::read_to_end(&mut c, &mut Vec::new());
        }
    });
    sock
}

/// CVE-2025-52565: with process.terminal, /dev/console gets the pty bound
/// onto it. An image whose /dev/console is a symlink (to core_pattern, or
/// to a host path) or a directory must be refused, naming /dev/console,
/// not followed.
#[test]
fn dev_console_that_is_not_a_file_is_refused() {
    let host = host_target("console");
    let before = read_trim("/proc/sys/kernel/core_pattern");
    let abs = host.path().join("marker");
    for target in [
        Some("/proc/sys/kernel/core_pattern"),
        Some(abs.to_str().unwrap()),
        None,
    ] {
        let h = Husk::new();
        let mut b = Bundle::with_image_dev();
        // The /dev/pts devpts back, for the pty.
        b.add_mount(
            json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts",
            "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]}),
        );
        std::os::unix::fs::symlink("pts/ptmx", b.rootfs().join("dev/ptmx")).unwrap();
        let console = b.rootfs().join("dev/console");
        match target {
            Some(t) => std::os::unix::fs::symlink(t, &console).unwrap(),
            None => std::fs::create_dir(&console).unwrap(),
        }
        b.args(&["true"]).set("/process/terminal", json!(true));
        b.write();
        let sock = console_sink(&h);
        let id = unique_id("console");
        let o = h.cmd(&[
            "create",
            "--bundle",
            b.arg(),
            "--console-socket",
            sock.to_str().unwrap(),
            &id,
        ]);
        let e = fails(&o);
        assert!(e.contains("/dev/console"), "{target:?}: {e}");
        assert_no_state_or_mounts(&h, &b, &id);
        assert_untouched(host.path());
        assert_eq!(read_trim("/proc/sys/kernel/core_pattern"), before);
    }
}

// ---------------------------------------------------------------------------
// Host /proc/sys and /sys from the default bundle.

/// The default bundle (`husk spec`'s) gives no write access to the host's
/// /proc/sys, /proc/sysrq-trigger or /sys: each write fails with EROFS
/// (readonlyPaths and the ro sysfs; root in the container would otherwise
/// pass the 0644 permission check) and the host's values are unchanged.
/// The values written are harmless if they did get through: core_pattern
/// gets a new value checked (and put back) below, sysrq a space (help),
/// the sysfs file its own value.
#[test]
fn default_bundle_cannot_write_host_proc_sys_or_sys() {
    let h = Husk::new();
    let mut b = Bundle::new();
    let core = read_trim("/proc/sys/kernel/core_pattern");
    let hostname = read_trim("/proc/sys/kernel/hostname");
    let sysfile = "/sys/kernel/mm/transparent_hugepage/defrag";
    let sysval = std::fs::read_to_string(sysfile).ok();
    b.sh(&format!(
        "w() {{ {{ echo \"$2\" > $1; }} 2>&1; echo \"$1=$?\"; }}; \
         w /proc/sys/kernel/core_pattern '|/bin/false husk-evil'; \
         w /proc/sysrq-trigger ' '; \
         w /proc/sys/kernel/hostname husk-evil; \
         w /proc/sys/vm/drop_caches 1; \
         w {sysfile} \"$(cat {sysfile} | sed 's/.*\\[\\(.*\\)\\].*/\\1/')\"; \
         w /sys/kernel/uevent_helper ''"
    ));
    let out = ok(&h.run(&b, &unique_id("procsys")));
    let now = read_trim("/proc/sys/kernel/core_pattern");
    if now != core {
        std::fs::write("/proc/sys/kernel/core_pattern", &core).unwrap();
        panic!("the container changed the host's core_pattern to {now:?}: {out}");
    }
    assert_eq!(read_trim("/proc/sys/kernel/hostname"), hostname);
    if let Some(v) = sysval {
        assert_eq!(std::fs::read_to_string(sysfile).unwrap(), v);
    }
    let v = kv(&out);
    for f in [
        "/proc/sys/kernel/core_pattern",
        "/proc/sysrq-trigger",
        "/proc/sys/kernel/hostname",
        "/proc/sys/vm/drop_caches",
        sysfile,
        "/sys/kernel/uevent_helper",
    ] {
        assert_ne!(
            v.get(f).map(String::as_str),
            Some("0"),
            "{f} written: {out}"
        );
    }
    assert!(
        out.matches("Read-only file system").count() >= 4,
        "expected EROFS: {out}"
    );
}

/// With a terminal, /dev/console is the container's own pty slave (bound
/// from the slave husk holds, not looked up again by name).
#[test]
fn dev_console_is_the_containers_pty() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh("echo console=$(stat -c %t:%T /dev/console) tty=$(stat -c %t:%T $(tty)); sleep 1")
        .set("/process/terminal", json!(true));
    b.write();
    let sock = h.root.path().join("console.sock");
    let l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let reader = std::thread::spawn(move || {
        let (conn, _) = l.accept().unwrap();
        let mut name = [0u8; 256];
        let (_, fd) = recv_with_fd(&conn, &mut name);
        let mut m = std::fs::File::from(fd);
        let mut out = Vec::new();
        let mut buf = [0u8; 1024];
        // Until the line is complete, or EIO once the container is gone.
        while let Ok(n) = std::io::Read::read(&mut m, &mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
            if out.ends_with(b"\n") && String::from_utf8_lossy(&out).contains("tty=") {
                break;
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    });
    let id = unique_id("conspty");
    ok(&h.timed(
        &[
            "create",
            "--bundle",
            b.arg(),
            "--console-socket",
            sock.to_str().unwrap(),
            &id,
        ],
        Stdin::Null,
        Out::Temp,
        TIMEOUT,
    ));
    ok(&h.timed(&["start", &id], Stdin::Null, Out::Temp, TIMEOUT));
    let out = reader.join().unwrap();
    let v = kv_trimmed(&out.replace(' ', "\n"));
    assert!(v.contains_key("console"), "{out}");
    assert_eq!(v.get("console"), v.get("tty"), "{out}");
    assert!(v["console"].starts_with("88:"), "not a devpts slave: {out}");
}
