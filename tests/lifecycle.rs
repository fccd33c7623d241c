mod common;

// The container lifecycle as a runc user (containerd, podman, a person)
// sees it: create, start, state, kill, delete, run and list, checked both
// through what the container itself prints or writes and through husk's
// own outputs (exit codes, state JSON, error texts, the --root directory).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use serde_json::{Value, json};

/// No husk command may take longer than this; a hang fails the test
/// instead of stalling the whole suite.
const TIMEOUT: Duration = Duration::from_secs(30);

/// `husk --root R ARGS...`, with a timeout; output in files, not pipes
/// (a container inherits husk's stdio, and a pipe it holds would keep the
/// test waiting until it exits).
fn husk(h: &Husk, args: &[&str]) -> Output {
    h.timed(args, Stdin::Null, Out::Temp, TIMEOUT)
}

/// As [`husk`], the container's (inherited) stdout appended to `out`.
fn husk_out(h: &Husk, args: &[&str], out: &Path) -> Output {
    h.timed(args, Stdin::Null, Out::Append(out), TIMEOUT)
}

/// Where the container's stdout goes in tests that read it.
fn out_file(b: &Bundle) -> PathBuf {
    b.path().join("container-stdout")
}

fn create(h: &Husk, b: &Bundle, id: &str) -> Output {
    b.write();
    husk_out(h, &["create", "--bundle", b.arg(), id], &out_file(b))
}

fn run_detached(h: &Husk, b: &Bundle, id: &str) -> Output {
    b.write();
    husk_out(
        h,
        &["run", "--detach", "--bundle", b.arg(), id],
        &out_file(b),
    )
}

fn run_fg(h: &Husk, b: &Bundle, id: &str, extra: &[&str]) -> Output {
    b.write();
    let mut args = vec!["run"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--bundle", b.arg(), id]);
    husk(h, &args)
}

/// Spawn `husk run` of `b` in the foreground, the container's stdout in
/// [`out_file`] and husk's stderr in the bundle's run-stderr.
fn spawn_run(h: &Husk, b: &Bundle, id: &str) -> Child {
    b.write();
    h.command()
        .args(["run", "--bundle", b.arg(), id])
        .stdin(Stdio::null())
        .stdout(File::create(out_file(b)).unwrap())
        .stderr(File::create(b.path().join("run-stderr")).unwrap())
        .spawn()
        .unwrap()
}

/// Poll `cond` for up to 10 s.
#[track_caller]
fn wait_for(what: &str, cond: impl FnMut() -> bool) {
    wait_within(what, Duration::from_secs(10), cond);
}

/// Assert `husk state ID` says the container does not exist, and that
/// nothing for it is left under --root.
#[track_caller]
fn assert_gone(h: &Husk, id: &str) {
    assert_no_container(h, id);
    let cg = cgroup_dirs_named(id);
    assert!(cg.is_empty(), "cgroups left behind: {cg:?}");
}

/// `husk run --detach` of `b`; returns its init and, once there are `n`,
/// the init's descendants.
#[track_caller]
fn start_with_children(h: &Husk, b: &Bundle, id: &str, n: usize) -> (Proc, Vec<Proc>) {
    ok(&run_detached(h, b, id));
    let init = Proc::of(h.pid(id));
    let mut kids = Vec::new();
    wait_for(&format!("the container's {n} child processes"), || {
        kids = descendants(init.pid);
        kids.len() == n
    });
    (init, kids)
}

/// A script that stays up until killed with SIGKILL.
const FOREVER: &str = "while :; do sleep 0.1; done";

// ---------------------------------------------------------------------------
// run

#[test]
fn run_prints_stdout_and_exits_with_the_container_exit_code() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh("echo \"hello from $(hostname)\"; echo to-stderr >&2; exit 3");
    let id = unique_id("run-exit");
    let o = run_fg(&h, &b, &id, &[]);
    assert_eq!(o.status.code(), Some(3), "stderr: {}", stderr(&o));
    assert_eq!(stdout(&o), "hello from husk\n");
    assert!(stderr(&o).contains("to-stderr"), "stderr: {}", stderr(&o));
    // Without --keep, run removes the container once it exits.
    assert_gone(&h, &id);
}

#[test]
fn run_exit_zero() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.args(&["true"]);
    let id = unique_id("run-zero");
    let o = run_fg(&h, &b, &id, &[]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_gone(&h, &id);
}

#[test]
fn run_killed_by_signal_exits_128_plus_signal() {
    let h = Husk::new();
    for (sig, code) in [("KILL", 128 + libc::SIGKILL), ("TERM", 128 + libc::SIGTERM)] {
        let mut b = Bundle::new();
        // In the host pid namespace the init is not a pid 1, so a signal
        // without a handler kills it as it would any process.
        b.remove_namespace("pid");
        b.sh(&format!("echo before; kill -{sig} $$; echo after"));
        let id = unique_id("run-sig");
        let o = run_fg(&h, &b, &id, &[]);
        assert_eq!(o.status.code(), Some(code), "SIG{sig}: {}", stderr(&o));
        assert_eq!(stdout(&o), "before\n");
        assert_gone(&h, &id);
    }
}

#[test]
fn run_keep_leaves_a_stopped_container_that_delete_removes() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh("echo kept; exit 5");
    let id = unique_id("run-keep");
    let o = run_fg(&h, &b, &id, &["--keep"]);
    assert_eq!(o.status.code(), Some(5), "stderr: {}", stderr(&o));
    assert_eq!(stdout(&o), "kept\n");
    let st = h.state(&id);
    assert_eq!(st["status"], "stopped");
    assert_eq!(st["pid"], 0);
    assert_eq!(st["id"], id.as_str());
    ok(&husk(&h, &["delete", &id]));
    assert_gone(&h, &id);
}

#[test]
fn run_detach_returns_at_once_and_kill_stops_it() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh(&format!("echo detached-up; {FOREVER}"));
    let id = unique_id("run-detach");
    let t = Instant::now();
    // The container never exits: a run that waited would time out.
    ok(&run_detached(&h, &b, &id));
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "run --detach took {:?}",
        t.elapsed()
    );
    let st = h.state(&id);
    assert_eq!(st["status"], "running");
    let init = Proc::of(st["pid"].as_i64().unwrap() as i32);
    assert!(init.alive());
    let out = out_file(&b);
    wait_for("the container's output", || {
        std::fs::read_to_string(&out).unwrap_or_default() == "detached-up\n"
    });
    kill_and_delete(&h, &[&id, "KILL"], &id, init, &[]);
}

#[test]
fn run_forwards_signals_to_the_container() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh(&format!(
        "trap 'echo got-usr1' USR1; trap 'exit 7' TERM; echo up > /up; {FOREVER}"
    ));
    let id = unique_id("run-fwd");
    let out = out_file(&b);
    let mut child = spawn_run(&h, &b, &id);
    let husk_pid = child.id() as i32;
    let up = b.rootfs().join("up");
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for("the container", || up.exists());
        assert_eq!(h.status(&id), "running");
        // SAFETY: signalling the husk process this test started.
        assert_eq!(unsafe { libc::kill(husk_pid, libc::SIGUSR1) }, 0);
        wait_for("the USR1 trap", || {
            std::fs::read_to_string(&out).unwrap_or_default() == "got-usr1\n"
        });
        // SAFETY: as above.
        assert_eq!(unsafe { libc::kill(husk_pid, libc::SIGTERM) }, 0);
    }));
    let st = wait_or_kill(&mut child, Duration::from_secs(10));
    if let Err(p) = r {
        std::panic::resume_unwind(p);
    }
    let st = st.expect("husk run did not exit after SIGTERM was forwarded");
    assert_eq!(
        st.code(),
        Some(7),
        "{st:?}: {}",
        std::fs::read_to_string(b.path().join("run-stderr")).unwrap()
    );
    assert_gone(&h, &id);
}

/// Start `husk run` (foreground) of a container that loops until killed,
/// wait until it is up, do `act`, and return run's exit status (None if it
/// did not exit within 10 s) and stderr.
fn foreground_run_then(
    h: &Husk,
    id: &str,
    act: impl FnOnce(),
) -> (Option<std::process::ExitStatus>, String) {
    let mut b = Bundle::new();
    b.sh(&format!("echo up > /up; {FOREVER}"));
    let mut child = spawn_run(h, &b, id);
    let up = b.rootfs().join("up");
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for("the container", || up.exists());
        act();
    }));
    let st = wait_or_kill(&mut child, Duration::from_secs(10));
    if let Err(p) = r {
        std::panic::resume_unwind(p);
    }
    (
        st,
        std::fs::read_to_string(b.path().join("run-stderr")).unwrap(),
    )
}

#[test]
fn run_exits_137_when_the_container_is_killed_from_outside() {
    let h = Husk::new();
    let id = unique_id("run-killed");
    let (st, err) = foreground_run_then(&h, &id, || {
        ok(&husk(&h, &["kill", &id, "KILL"]));
    });
    let st = st.expect("husk run did not exit");
    assert_eq!(st.code(), Some(137), "{st:?}: {err}");
    assert_gone(&h, &id);
}

#[test]
fn run_reports_the_exit_status_when_the_container_is_deleted_meanwhile() {
    // `delete --force` from elsewhere kills the container and removes its
    // state; the foreground run must still report how the container ended
    // (128+9), as runc does, not fail because the state is already gone.
    let h = Husk::new();
    let id = unique_id("run-deleted");
    let (st, err) = foreground_run_then(&h, &id, || {
        ok(&husk(&h, &["delete", "--force", &id]));
    });
    let st = st.expect("husk run did not exit");
    assert_eq!(st.code(), Some(137), "{st:?}: {err}");
    assert_gone(&h, &id);
}

// ---------------------------------------------------------------------------
// create / start / state / kill / delete

#[test]
fn create_start_kill_delete() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh(&format!(
        "echo started > /marker; trap 'exit 7' TERM; {FOREVER}"
    ));
    let id = unique_id("cycle");
    let pid_file = b.path().join("init.pid");
    b.write();
    ok(&husk_out(
        &h,
        &[
            "create",
            "--bundle",
            b.arg(),
            "--pid-file",
            pid_file.to_str().unwrap(),
            &id,
        ],
        &out_file(&b),
    ));
    let text = std::fs::read_to_string(&pid_file).unwrap();
    let pid: i32 = text
        .parse()
        .unwrap_or_else(|_| panic!("pid file holds {text:?}, not just a number"));
    assert!(pid > 0);
    let st = h.state(&id);
    assert_eq!(st["status"], "created");
    assert_eq!(st["pid"], pid);
    let init = Proc::of(pid);
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    assert!(init.alive());

    // The program has not run yet, and does not run until start.
    let marker = b.rootfs().join("marker");
    std::thread::sleep(Duration::from_millis(300));
    assert!(!marker.exists(), "the program ran before start");
    assert_eq!(h.status(&id), "created");

    ok(&husk(&h, &["start", &id]));
    wait_for("the marker", || {
        std::fs::read_to_string(&marker).unwrap_or_default() == "started\n"
    });
    let st = h.state(&id);
    assert_eq!(st["status"], "running");
    // The init exec'd the program: same process.
    assert_eq!(st["pid"], pid);
    assert!(init.alive());

    // Default signal: SIGTERM, which the script traps.
    ok(&husk(&h, &["kill", &id]));
    h.wait_status(&id, "stopped");
    assert!(!init.alive());
    assert_eq!(h.state(&id)["pid"], 0);

    ok(&husk(&h, &["delete", &id]));
    assert_gone(&h, &id);
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since the epoch of an RFC 3339 timestamp, or None if it is not
/// one ("2006-01-02T15:04:05[.frac](Z|+hh:mm|-hh:mm)").
fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    if b[4] != b'-'
        || b[7] != b'-'
        || (b[10] != b'T' && b[10] != b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d, hh, mm, ss) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        b'+' | b'-' if i + 6 == b.len() && b[i + 3] == b':' => {
            let o = num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60;
            if b[i] == b'+' { o } else { -o }
        }
        _ => return None,
    };
    Some(days_from_civil(y, mo, d) * 86400 + hh * 3600 + mm * 60 + ss - offset)
}

#[test]
fn rfc3339_checker_itself() {
    assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(
        parse_rfc3339("2000-02-29T00:00:00.000000005Z"),
        Some(951_782_400)
    );
    assert_eq!(parse_rfc3339("1970-01-01T01:00:00+01:00"), Some(0));
    for bad in [
        "",
        "2020-01-01",
        "2020-01-01 00:00:00Z",
        "2020-13-01T00:00:00Z",
        "2020-01-01T00:00:00",
    ] {
        assert_eq!(parse_rfc3339(bad), None, "{bad}");
    }
}

#[test]
fn state_reports_the_runtime_spec_fields() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh(FOREVER);
    b.set(
        "/annotations",
        json!({"com.example.owner": "husk-tests", "org.example.empty": ""}),
    );
    let id = unique_id("state");
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // A relative --bundle: state must still report an absolute path.
    b.write();
    let mut c = h.command();
    c.current_dir(b.path())
        .args(["create", "--bundle", ".", &id]);
    ok(&run_timed(
        c,
        Stdin::Null,
        Out::Append(&out_file(&b)),
        TIMEOUT,
    ));
    let after = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;

    let st = h.state(&id);
    let bundle = std::fs::canonicalize(b.path()).unwrap();
    assert_eq!(st["ociVersion"], b.config["ociVersion"]);
    assert_eq!(st["id"], id.as_str());
    assert_eq!(st["status"], "created");
    assert!(st["pid"].as_i64().unwrap() > 0, "{st}");
    assert_eq!(st["bundle"], bundle.to_str().unwrap(), "{st}");
    assert!(Path::new(st["bundle"].as_str().unwrap()).is_absolute());
    assert_eq!(
        st["rootfs"],
        bundle.join("rootfs").to_str().unwrap(),
        "{st}"
    );
    let created = st["created"].as_str().unwrap();
    let t = parse_rfc3339(created).unwrap_or_else(|| panic!("created {created:?} is not RFC 3339"));
    assert!(
        before - 2 <= t && t <= after + 2,
        "created {created} is not between {before} and {after}"
    );
    assert_eq!(
        st["annotations"],
        json!({"com.example.owner": "husk-tests", "org.example.empty": ""})
    );

    ok(&husk(&h, &["start", &id]));
    let st2 = h.state(&id);
    assert_eq!(st2["status"], "running");
    assert_eq!(st2["created"], st["created"], "created changed on start");
    assert_eq!(st2["pid"], st["pid"]);
    ok(&husk(&h, &["delete", "--force", &id]));
    assert_gone(&h, &id);
}

#[test]
fn kill_accepts_signal_numbers_names_and_sig_prefix() {
    let h = Husk::new();
    for sig in ["9", "KILL", "SIGKILL"] {
        let mut b = Bundle::new();
        b.sh(FOREVER);
        let id = unique_id("kill-form");
        ok(&run_detached(&h, &b, &id));
        let init = Proc::of(h.pid(&id));
        kill_and_delete(&h, &[&id, sig], &id, init, &[]);
    }
}

#[test]
fn kill_delivers_the_named_signal() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh(&format!(
        "trap 'echo usr1 >> /sigs' USR1; echo up > /up; {FOREVER}"
    ));
    let id = unique_id("kill-usr1");
    ok(&run_detached(&h, &b, &id));
    let up = b.rootfs().join("up");
    wait_for("the trap to be set", || up.exists());
    let sigs = b.rootfs().join("sigs");
    let usr1 = libc::SIGUSR1.to_string();
    for (n, sig) in ["USR1", "SIGUSR1", usr1.as_str(), "usr1"]
        .iter()
        .enumerate()
    {
        ok(&husk(&h, &["kill", &id, sig]));
        wait_for(&format!("signal #{} ({sig})", n + 1), || {
            std::fs::read_to_string(&sigs)
                .unwrap_or_default()
                .lines()
                .count()
                == n + 1
        });
    }
    // A trapped signal does not stop it.
    assert_eq!(h.status(&id), "running");
    ok(&husk(&h, &["delete", "--force", &id]));
    assert_gone(&h, &id);
}

#[test]
fn kill_all_leaves_no_process_of_the_container() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh("sleep 1000 & sleep 1000 & sh -c 'sleep 1000; echo' & wait");
    let id = unique_id("kill-all");
    let (init, kids) = start_with_children(&h, &b, &id, 4);
    kill_and_delete(&h, &["--all", &id, "KILL"], &id, init, &kids);
}

#[test]
fn kill_all_signals_processes_that_kill_does_not() {
    // The init (pid 1 of its namespace, no handler) ignores SIGTERM; its
    // children do not. Plain kill reaches only the init, --all every one.
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh("sleep 1000 & sleep 1000 & wait; echo children-gone > /marker; exec sleep 1000");
    let id = unique_id("kill-all-term");
    let (init, kids) = start_with_children(&h, &b, &id, 2);
    let marker = b.rootfs().join("marker");

    ok(&husk(&h, &["kill", &id, "TERM"]));
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        kids.iter().all(Proc::alive),
        "kill without --all hit the children"
    );
    assert!(!marker.exists());
    assert_eq!(h.status(&id), "running");

    ok(&husk(&h, &["kill", "--all", &id, "TERM"]));
    wait_for("the children to die of SIGTERM", || {
        kids.iter().all(|k| !k.alive())
    });
    wait_for("the init to see its children gone", || marker.exists());
    assert!(init.alive());
    assert_eq!(h.status(&id), "running");

    ok(&husk(&h, &["kill", "--all", &id, "KILL"]));
    h.wait_status(&id, "stopped");
    ok(&husk(&h, &["delete", &id]));
    assert_gone(&h, &id);
}

/// `husk kill ARGS` stops container `id`, its init and every one of `kids`
/// die, and `husk delete` removes it.
#[track_caller]
fn kill_and_delete(h: &Husk, args: &[&str], id: &str, init: Proc, kids: &[Proc]) {
    let mut all = vec!["kill"];
    all.extend_from_slice(args);
    ok(&husk(h, &all));
    h.wait_status(id, "stopped");
    assert!(!init.alive(), "{all:?}: init {init:?} survived");
    wait_for("every process of the container to be gone", || {
        kids.iter().all(|k| !k.alive())
    });
    ok(&husk(h, &["delete", id]));
    assert_gone(h, id);
}

/// A container in the host's pid namespace whose init has two children;
/// returns the init and the children.
fn host_pid_ns_container(h: &Husk, b: &mut Bundle, id: &str) -> (Proc, Vec<Proc>) {
    b.remove_namespace("pid");
    b.sh("sleep 1000 & sleep 1000 & wait");
    start_with_children(h, b, id, 2)
}

#[test]
fn kill_all_without_a_pid_namespace_kills_every_process() {
    // No pid namespace: killing the init does not take its children with
    // it, so only a real --all (by cgroup) gets them.
    let h = Husk::new();
    let mut b = Bundle::new();
    let id = unique_id("kill-all-hostpid");
    let (init, kids) = host_pid_ns_container(&h, &mut b, &id);
    // Kills whatever of them husk failed to clean up.
    let _reap = ProcGuard(kids.clone());
    kill_and_delete(&h, &["--all", &id, "KILL"], &id, init, &kids);
}

#[test]
fn delete_force_without_a_pid_namespace_leaves_no_process() {
    let h = Husk::new();
    let mut b = Bundle::new();
    let id = unique_id("del-hostpid");
    let (init, kids) = host_pid_ns_container(&h, &mut b, &id);
    let _reap = ProcGuard(kids.clone());
    ok(&husk(&h, &["delete", "--force", &id]));
    assert!(!init.alive());
    wait_for("the init's children to die", || {
        kids.iter().all(|k| !k.alive())
    });
    assert_gone(&h, &id);
}

// ---------------------------------------------------------------------------
// Operations in the wrong status

#[test]
fn start_of_a_running_container_fails() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh(&format!("echo once >> /ran; {FOREVER}"));
    let id = unique_id("start-running");
    ok(&run_detached(&h, &b, &id));
    let ran = b.rootfs().join("ran");
    wait_for("the program", || ran.exists());
    let e = fails(&husk(&h, &["start", &id]));
    assert!(
        e.contains("cannot start an already running container"),
        "{e}"
    );
    assert_eq!(h.status(&id), "running");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(std::fs::read_to_string(&ran).unwrap(), "once\n");
    ok(&husk(&h, &["delete", "--force", &id]));
    assert_gone(&h, &id);
}

#[test]
fn start_of_a_stopped_container_fails() {
    let h = Husk::new();
    // Stopped after running.
    let mut b = Bundle::new();
    b.args(&["true"]);
    let id = unique_id("start-stopped");
    assert_eq!(run_fg(&h, &b, &id, &["--keep"]).status.code(), Some(0));
    assert_eq!(h.status(&id), "stopped");
    let e = fails(&husk(&h, &["start", &id]));
    assert!(e.contains("stopped"), "{e}");
    assert_eq!(h.status(&id), "stopped");

    // Stopped before it was ever started: start must not run the program.
    let mut b = Bundle::new();
    b.sh("echo ran > /marker");
    let id2 = unique_id("start-killed");
    ok(&create(&h, &b, &id2));
    ok(&husk(&h, &["kill", &id2, "KILL"]));
    h.wait_status(&id2, "stopped");
    let e = fails(&husk(&h, &["start", &id2]));
    assert!(e.contains("stopped"), "{e}");
    assert!(!b.rootfs().join("marker").exists());
    ok(&husk(&h, &["delete", &id]));
    ok(&husk(&h, &["delete", &id2]));
    assert_gone(&h, &id);
    assert_gone(&h, &id2);
}

#[test]
fn kill_of_a_stopped_container_fails() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.args(&["true"]);
    let id = unique_id("kill-stopped");
    assert_eq!(run_fg(&h, &b, &id, &["--keep"]).status.code(), Some(0));
    for args in [
        vec!["kill", &id],
        vec!["kill", &id, "KILL"],
        vec!["kill", "--all", &id, "KILL"],
    ] {
        let e = fails(&husk(&h, &args));
        assert!(e.contains("container not running"), "{args:?}: {e}");
    }
    assert_eq!(h.status(&id), "stopped");
    ok(&husk(&h, &["delete", &id]));
    assert_gone(&h, &id);
}

#[test]
fn delete_of_a_running_container_needs_force() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh(FOREVER);
    let id = unique_id("del-running");
    ok(&run_detached(&h, &b, &id));
    let init = Proc::of(h.pid(&id));
    let e = fails(&husk(&h, &["delete", &id]));
    assert!(
        e.contains(&format!(
            "cannot delete container {id} that is not stopped: running"
        )),
        "{e}"
    );
    // Refused means untouched.
    assert!(init.alive());
    assert_eq!(h.status(&id), "running");
    assert!(h.root.path().join(&id).exists());

    ok(&husk(&h, &["delete", "--force", &id]));
    // Gone as soon as delete returns, not some time later.
    assert!(!init.alive(), "delete --force left the init running");
    assert_gone(&h, &id);
}

#[test]
fn delete_force_leaves_no_process_of_the_container() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh("sleep 1000 & sleep 1000 & wait");
    let id = unique_id("del-force-kids");
    let (init, kids) = start_with_children(&h, &b, &id, 2);
    ok(&husk(&h, &["delete", "--force", &id]));
    assert!(!init.alive());
    wait_for("the sleeps to be gone", || kids.iter().all(|k| !k.alive()));
    assert_gone(&h, &id);
}

#[test]
fn delete_of_a_created_container_works_without_force() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh("echo ran > /marker");
    let id = unique_id("del-created");
    ok(&create(&h, &b, &id));
    let init = Proc::of(h.pid(&id));
    assert_eq!(h.status(&id), "created");
    ok(&husk(&h, &["delete", &id]));
    assert!(!init.alive(), "delete left the created init behind");
    assert_gone(&h, &id);
    // It never ran.
    std::thread::sleep(Duration::from_millis(100));
    assert!(!b.rootfs().join("marker").exists());
}

#[test]
fn duplicate_id_is_refused_and_the_first_container_is_unaffected() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh(&format!("echo first > /marker; {FOREVER}"));
    let id = unique_id("dup");
    ok(&create(&h, &b, &id));
    let st = h.state(&id);

    let mut b2 = Bundle::new();
    b2.sh("echo second > /marker");
    for cmd in ["create", "run"] {
        b2.write();
        let e = fails(&husk_out(
            &h,
            &[cmd, "--bundle", b2.arg(), &id],
            &out_file(&b2),
        ));
        assert!(e.contains("container with id exists"), "{cmd}: {e}");
    }
    assert_eq!(h.state(&id), st, "the first container changed");
    assert!(h.root.path().join(&id).join("state.json").exists());

    ok(&husk(&h, &["start", &id]));
    let marker = b.rootfs().join("marker");
    wait_for("the first container's program", || {
        std::fs::read_to_string(&marker).unwrap_or_default() == "first\n"
    });
    assert!(!b2.rootfs().join("marker").exists());
    assert_eq!(h.status(&id), "running");
    ok(&husk(&h, &["delete", "--force", &id]));
    assert_gone(&h, &id);
}

#[test]
fn concurrent_creates_of_one_id_make_one_container() {
    let h = Husk::new();
    let id = unique_id("race-create");
    let bundles: Vec<Bundle> = (0..5)
        .map(|i| {
            let mut b = Bundle::new();
            b.sh(&format!("echo {i} > /marker; {FOREVER}"));
            b.write();
            b
        })
        .collect();
    let outs: Vec<Output> = std::thread::scope(|s| {
        let ts: Vec<_> = bundles
            .iter()
            .map(|b| s.spawn(|| create(&h, b, &id)))
            .collect();
        ts.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let winners: Vec<usize> = (0..outs.len())
        .filter(|&i| outs[i].status.success())
        .collect();
    assert_eq!(winners.len(), 1, "{} creates succeeded", winners.len());
    for (i, o) in outs.iter().enumerate() {
        if i != winners[0] {
            let e = stderr(o);
            assert!(e.contains("container with id exists"), "{e}");
        }
    }
    let w = &bundles[winners[0]];
    let st = h.state(&id);
    assert_eq!(st["status"], "created");
    let bundle = std::fs::canonicalize(w.path()).unwrap();
    assert_eq!(st["bundle"], bundle.to_str().unwrap());
    ok(&husk(&h, &["start", &id]));
    let marker = w.rootfs().join("marker");
    wait_for("the winner's program", || marker.exists());
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        format!("{}\n", winners[0])
    );
    for (i, b) in bundles.iter().enumerate() {
        if i != winners[0] {
            assert!(!b.rootfs().join("marker").exists());
        }
    }
    ok(&husk(&h, &["delete", "--force", &id]));
    assert_gone(&h, &id);
}

#[test]
fn delete_of_an_unknown_container() {
    let h = Husk::new();
    let id = unique_id("del-unknown");
    let e = fails(&husk(&h, &["delete", &id]));
    assert!(e.contains("container does not exist"), "{e}");
    ok(&husk(&h, &["delete", "--force", &id]));
    ok(&husk(&h, &["delete", "-f", &id]));
    assert_gone(&h, &id);
    assert_eq!(std::fs::read_dir(h.root.path()).unwrap().count(), 0);
}

// ---------------------------------------------------------------------------
// list

#[test]
fn list_shows_every_container_with_its_status() {
    let h = Husk::new();
    // An empty --root lists nothing.
    let empty: Value = serde_json::from_str(&ok(&husk(&h, &["list", "--format", "json"]))).unwrap();
    assert_eq!(empty, json!([]));
    assert_eq!(ok(&husk(&h, &["list", "-q"])), "");
    let table = ok(&husk(&h, &["list"]));
    assert_eq!(table.lines().count(), 1, "{table}");
    assert!(table.starts_with("ID"), "{table}");

    let mut created = Bundle::new();
    created.sh(FOREVER);
    let c_id = unique_id("list-c");
    ok(&create(&h, &created, &c_id));
    let mut running = Bundle::new();
    running.sh(FOREVER);
    let r_id = unique_id("list-r");
    ok(&run_detached(&h, &running, &r_id));
    let mut stopped = Bundle::new();
    stopped.args(&["true"]);
    let s_id = unique_id("list-s");
    assert_eq!(
        run_fg(&h, &stopped, &s_id, &["--keep"]).status.code(),
        Some(0)
    );

    let want = [
        (&c_id, "created", &created),
        (&r_id, "running", &running),
        (&s_id, "stopped", &stopped),
    ];

    let table = ok(&husk(&h, &["list"]));
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(&header[..3], ["ID", "PID", "STATUS"], "{table}");
    assert_eq!(table.lines().count(), 4, "{table}");
    for (id, status, _) in &want {
        let row = table
            .lines()
            .find(|l| l.split_whitespace().next() == Some(id.as_str()))
            .unwrap_or_else(|| panic!("{id} missing from\n{table}"));
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cols[2], *status, "{row}");
    }

    let v: Value = serde_json::from_str(&ok(&husk(&h, &["list", "--format", "json"]))).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 3, "{v}");
    for (id, status, b) in &want {
        let e = arr
            .iter()
            .find(|e| e["id"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} missing from {v}"));
        assert_eq!(e["status"], *status, "{e}");
        let bundle = std::fs::canonicalize(b.path()).unwrap();
        assert_eq!(e["bundle"], bundle.to_str().unwrap(), "{e}");
        if *status == "stopped" {
            assert_eq!(e["pid"], 0, "{e}");
        } else {
            assert_eq!(e["pid"], h.state(id)["pid"], "{e}");
            assert!(e["pid"].as_i64().unwrap() > 0);
        }
    }

    let mut ids = vec![c_id.clone(), r_id.clone(), s_id.clone()];
    ids.sort();
    let q = ok(&husk(&h, &["list", "-q"]));
    assert_eq!(q.lines().collect::<Vec<_>>(), ids, "{q}");

    for id in &ids {
        ok(&husk(&h, &["delete", "--force", id]));
        assert_gone(&h, id);
    }
    assert_eq!(ok(&husk(&h, &["list", "-q"])), "");
}

// ---------------------------------------------------------------------------
// Logs

/// Every line of `text` is a JSON object with level, msg and an RFC 3339
/// time; returns them.
#[track_caller]
fn json_log_lines(text: &str) -> Vec<Value> {
    assert!(!text.trim().is_empty(), "empty log");
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}"));
            for k in ["level", "msg", "time"] {
                assert!(v[k].is_string(), "no {k} in {l}");
            }
            assert!(
                parse_rfc3339(v["time"].as_str().unwrap()).is_some(),
                "time is not RFC 3339: {l}"
            );
            v
        })
        .collect()
}

#[test]
fn json_log_file_records_the_error() {
    let h = Husk::new();
    let logdir = tempfile::tempdir().unwrap();
    let log = logdir.path().join("husk.log");
    let log_s = log.to_str().unwrap();

    let id = unique_id("log");
    let o = husk(&h, &["--log", log_s, "--log-format", "json", "state", &id]);
    fails(&o);
    let lines = json_log_lines(&std::fs::read_to_string(&log).unwrap());
    assert!(
        lines.iter().any(|l| l["level"] == "error"
            && l["msg"]
                .as_str()
                .unwrap()
                .contains("container does not exist")),
        "{lines:?}"
    );

    // A failing create, appended to the same file.
    let mut b = Bundle::new();
    b.set("/process/user/uid", json!("root"));
    b.write();
    let id2 = unique_id("log");
    let o = husk_out(
        &h,
        &[
            "--log",
            log_s,
            "--log-format",
            "json",
            "create",
            "--bundle",
            b.arg(),
            &id2,
        ],
        &out_file(&b),
    );
    fails(&o);
    let lines = json_log_lines(&std::fs::read_to_string(&log).unwrap());
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "error"
                && l["msg"].as_str().unwrap().contains("process.user.uid")),
        "{lines:?}"
    );
    // The first error is still there: the log is appended to.
    assert!(lines.iter().any(|l| {
        l["msg"]
            .as_str()
            .unwrap()
            .contains("container does not exist")
    }));
    assert!(!h.root.path().join(&id2).exists());
}

#[test]
fn json_log_format_without_a_file_writes_json_to_stderr() {
    let h = Husk::new();
    let id = unique_id("log-stderr");
    let o = husk(&h, &["--log-format", "json", "delete", &id]);
    let e = fails(&o);
    let lines = json_log_lines(&e);
    assert!(
        lines.iter().any(|l| l["level"] == "error"
            && l["msg"]
                .as_str()
                .unwrap()
                .contains("container does not exist")),
        "{e}"
    );
}

// ---------------------------------------------------------------------------
// Concurrency

#[test]
fn concurrent_state_and_delete_are_serialized() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh(FOREVER);
    let id = unique_id("race");
    ok(&run_detached(&h, &b, &id));
    let results = std::thread::scope(|s| {
        // list reads without the lock, and must never trip over a
        // container that is going away.
        let lister = s.spawn(|| {
            for _ in 0..15 {
                let o = husk(&h, &["list", "--format", "json"]);
                let text = ok(&o);
                let v: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("list printed bad JSON ({e}): {text:?}"));
                assert!(v.as_array().unwrap().len() <= 1, "{v}");
            }
        });
        let readers: Vec<_> = (0..10)
            .map(|_| {
                s.spawn(|| {
                    (0..15)
                        .map(|_| husk(&h, &["state", &id]))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(50));
        ok(&husk(&h, &["delete", "--force", &id]));
        lister.join().unwrap();
        readers
            .into_iter()
            .flat_map(|r| r.join().unwrap())
            .collect::<Vec<_>>()
    });
    let mut seen_ok = 0;
    let mut seen_gone = 0;
    for o in &results {
        if o.status.success() {
            let v: Value = serde_json::from_slice(&o.stdout)
                .unwrap_or_else(|e| panic!("state printed bad JSON ({e}): {:?}", stdout(o)));
            assert_eq!(v["id"], id.as_str());
            assert!(v["status"] == "running" || v["status"] == "stopped", "{v}");
            seen_ok += 1;
        } else {
            let e = stderr(o);
            assert!(
                e.contains("container does not exist"),
                "state failed with: {e}"
            );
            assert!(o.stdout.is_empty(), "{}", stdout(o));
            seen_gone += 1;
        }
    }
    assert_eq!(seen_ok + seen_gone, 150);
    assert_gone(&h, &id);
}

#[test]
fn concurrent_starts_run_the_program_once() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh(&format!("echo once >> /ran; {FOREVER}"));
    let id = unique_id("race-start");
    ok(&create(&h, &b, &id));
    let outs: Vec<Output> = std::thread::scope(|s| {
        let ts: Vec<_> = (0..6)
            .map(|_| s.spawn(|| husk(&h, &["start", &id])))
            .collect();
        ts.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let started = outs.iter().filter(|o| o.status.success()).count();
    assert_eq!(started, 1, "{started} starts succeeded");
    for o in outs.iter().filter(|o| !o.status.success()) {
        let e = stderr(o);
        assert!(
            e.contains("cannot start an already running container"),
            "{e}"
        );
    }
    let ran = b.rootfs().join("ran");
    wait_for("the program", || ran.exists());
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(std::fs::read_to_string(&ran).unwrap(), "once\n");
    assert_eq!(h.status(&id), "running");
    ok(&husk(&h, &["delete", "--force", &id]));
    assert_gone(&h, &id);
}

#[test]
fn concurrent_deletes_remove_the_container_once() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.sh(FOREVER);
    let id = unique_id("race-del");
    ok(&run_detached(&h, &b, &id));
    let init = Proc::of(h.pid(&id));
    let outs: Vec<Output> = std::thread::scope(|s| {
        let ts: Vec<_> = (0..6)
            .map(|_| s.spawn(|| husk(&h, &["delete", "--force", &id])))
            .collect();
        ts.into_iter().map(|t| t.join().unwrap()).collect()
    });
    // --force of a container that is gone succeeds, so all of them do.
    for o in &outs {
        ok(o);
    }
    assert!(!init.alive());
    assert_gone(&h, &id);
}
