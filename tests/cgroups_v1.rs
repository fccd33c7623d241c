mod common;

// husk's cgroup layer on a HYBRID host: v1 controllers at
// /sys/fs/cgroup/<controller>, cgroup2 at /sys/fs/cgroup/unified. Each test
// reads values back from the host (at <mount> + <this process's own cgroup>
// + <container path>) and, where it can, from inside the container (whose
// cgroup namespace makes its own cgroup the root of every hierarchy).
//
// Only relative cgroup paths (or none) are used, so nothing ever leaves the
// test process's own cgroup subtree; a guard removes whatever a failing test
// (or a husk bug) leaves behind.

use std::collections::BTreeSet;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

/// No husk command may take longer than this.
const TIMEOUT: Duration = Duration::from_secs(60);

const MIB: i64 = 1 << 20;

// ---------------------------------------------------------------------------
// Running husk.

/// `husk ARGS` with a time limit; stdin an empty file.
fn husk(h: &Husk, args: &[&str]) -> Output {
    husk_stdin(h, args, "")
}

fn husk_stdin(h: &Husk, args: &[&str], input: &str) -> Output {
    h.timed(args, Stdin::File(input.as_bytes()), Out::Temp, TIMEOUT)
}

/// Where the container's stdout goes.
fn out_file(b: &Bundle) -> PathBuf {
    b.path().join("container-stdout")
}

fn out_text(b: &Bundle) -> String {
    std::fs::read_to_string(out_file(b)).unwrap_or_default()
}

/// `husk ARGS`, the container's (inherited) stdout appended to
/// [`out_file`].
fn husk_out(h: &Husk, b: &Bundle, args: &[&str]) -> Output {
    b.write();
    h.timed(args, Stdin::File(b""), Out::Append(&out_file(b)), TIMEOUT)
}

fn create(h: &Husk, b: &Bundle, id: &str) -> Output {
    husk_out(h, b, &["create", "--bundle", b.arg(), id])
}

/// `husk run` in the foreground, with `extra` flags (e.g. --keep).
fn run_fg(h: &Husk, b: &Bundle, id: &str, extra: &[&str]) -> Output {
    let mut args = vec!["run"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--bundle", b.arg(), id]);
    husk_out(h, b, &args)
}

/// create + start: the container runs in the background.
fn start_bg(h: &Husk, b: &Bundle, id: &str) {
    ok(&create(h, b, id));
    ok(&husk(h, &["start", id]));
}

/// Start the created container and wait for it to stop; returns its
/// output.
#[track_caller]
fn start_to_the_end(h: &Husk, b: &Bundle, id: &str) -> String {
    ok(&husk(h, &["start", id]));
    h.wait_status(id, "stopped");
    out_text(b)
}

/// Wait until the container's stdout has a line equal to `line`.
#[track_caller]
fn wait_line(b: &Bundle, line: &str) {
    wait_for(&format!("container output line {line:?}"), || {
        out_text(b).lines().any(|l| l.trim() == line)
    });
}

// ---------------------------------------------------------------------------
// The host's hierarchies, found independently of husk.

fn hier(name: &str) -> Hier {
    hierarchies()
        .into_iter()
        .find(|h| h.name == name)
        .unwrap_or_else(|| panic!("no cgroup hierarchy mounted at /sys/fs/cgroup/{name}"))
}

/// Host directory of the container cgroup at `rel` in hierarchy `name`.
fn host_dir(name: &str, rel: &str) -> PathBuf {
    hier(name).dir(rel)
}

/// These tests are about a hybrid host; elsewhere they say so and pass.
fn hybrid_host() -> bool {
    let h = hierarchies();
    let ok = h.iter().any(|h| h.name == "memory" && !h.v2)
        && h.iter().any(|h| h.name == "unified" && h.v2);
    if !ok {
        eprintln!("note: not a hybrid cgroup host (v1 memory + /sys/fs/cgroup/unified); skipped");
    }
    ok
}

/// On a hybrid host: a container ID with the prefix, a guard for its
/// cgroup, husk and a bundle, in the order they must be dropped in reverse
/// (husk's own delete --force before the guard). Elsewhere None: the test
/// says so and passes.
fn hybrid_test(prefix: &str) -> Option<(String, CgGuard, Husk, Bundle)> {
    if !hybrid_host() {
        return None;
    }
    let id = unique_id(prefix);
    let g = CgGuard::new(&[&id]);
    Some((id, g, Husk::new(), Bundle::new()))
}

/// As [`hybrid_test`], with a relative cgroupsPath two levels deep,
/// `husk-test-<unique>/<leaf>`, and its top directory (both guarded too)
/// instead of a bundle.
fn nested_test(prefix: &str, leaf: &str) -> Option<(String, String, String, CgGuard, Husk)> {
    if !hybrid_host() {
        return None;
    }
    let id = unique_id(prefix);
    let top = format!("husk-test-{}", unique_id(prefix));
    let rel = format!("{top}/{leaf}");
    let g = CgGuard::new(&[&rel, &top, &id]);
    Some((id, top, rel, g, Husk::new()))
}

/// Every cgroup directory of `rel` is gone, in every hierarchy.
#[track_caller]
fn assert_no_cgroup(rel: &str) {
    let left: Vec<String> = hierarchies()
        .iter()
        .map(|h| h.dir(rel))
        .filter(|d| d.exists())
        .map(|d| d.display().to_string())
        .collect();
    assert!(left.is_empty(), "cgroup directories left behind: {left:?}");
}

/// Removes the test's cgroup directories (deepest first, as listed) if a
/// failure left them, killing what is still inside them. Declare it BEFORE
/// the Husk, so husk's own delete --force runs first.
struct CgGuard {
    rels: Vec<String>,
}

impl CgGuard {
    fn new(rels: &[&str]) -> CgGuard {
        CgGuard {
            rels: rels.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl Drop for CgGuard {
    fn drop(&mut self) {
        let hs = hierarchies();
        for rel in &self.rels {
            for h in &hs {
                let d = h.dir(rel);
                if !d.exists() {
                    continue;
                }
                eprintln!("cleanup: removing leftover {}", d.display());
                if h.name == "freezer" {
                    let _ = std::fs::write(d.join("freezer.state"), "THAWED");
                }
                let deadline = Instant::now() + Duration::from_secs(5);
                loop {
                    if let Ok(t) = std::fs::read_to_string(d.join("cgroup.procs")) {
                        for pid in t.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                            // SAFETY: kill(2) of a process in a cgroup this
                            // test made.
                            unsafe { libc::kill(pid, libc::SIGKILL) };
                        }
                    }
                    if std::fs::remove_dir(&d).is_ok() || Instant::now() > deadline {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }
}

/// Let the container print each of `want`'s `(file under /sys/fs/cgroup,
/// value)` as "file=value" (followed by `extra`'s output), create it (its
/// resources already in `b`), and compare each file with the host's at
/// `rel`.
#[track_caller]
fn create_checking_host(
    h: &Husk,
    b: &mut Bundle,
    id: &str,
    rel: &str,
    want: &[(&str, String)],
    extra: &str,
) {
    let mut script = String::new();
    for (f, _) in want {
        script.push_str(&format!("echo \"{f}=$(cat /sys/fs/cgroup/{f})\"; "));
    }
    script.push_str(extra);
    b.sh(&script);
    ok(&create(h, b, id));
    for (f, v) in want {
        let (ctrl, file) = f.split_once('/').unwrap();
        let p = host_dir(ctrl, rel).join(file);
        assert_eq!(read_trim(&p), *v, "host {}", p.display());
    }
}

/// Start the container made by [`create_checking_host`], let it run to
/// the end and compare what it printed of each file; returns its output.
#[track_caller]
fn start_checking_inside(h: &Husk, b: &Bundle, id: &str, want: &[(&str, String)]) -> String {
    let out = start_to_the_end(h, b, id);
    let got = kv_trimmed(&out);
    for (f, v) in want {
        assert_eq!(
            value(&got, f),
            Some(v.as_str()),
            "inside /sys/fs/cgroup/{f}; output:\n{out}"
        );
    }
    out
}

/// [`create_checking_host`] and [`start_checking_inside`], then delete the
/// container and check that no cgroup directory is left. Returns the
/// container's output.
#[track_caller]
fn check_files(
    h: &Husk,
    b: &mut Bundle,
    id: &str,
    rel: &str,
    want: &[(&str, String)],
    extra: &str,
) -> String {
    create_checking_host(h, b, id, rel, want, extra);
    let out = start_checking_inside(h, b, id, want);
    ok(&husk(h, &["delete", id]));
    assert_no_cgroup(rel);
    assert_no_container(h, id);
    out
}

/// As [`check_files`], but the files are checked from the host only: a
/// hybrid host's cgroup2 (where hugetlb lives here) is not mounted inside
/// the container, as in runc.
#[track_caller]
fn check_host_files(h: &Husk, b: &mut Bundle, id: &str, want: &[(&str, String)]) {
    create_checking_host(h, b, id, id, want, "");
    start_to_the_end(h, b, id);
    ok(&husk(h, &["delete", id]));
    assert_no_cgroup(id);
    assert_no_container(h, id);
}

fn oom_kill_count(oom_control: &str) -> Option<u64> {
    oom_control
        .lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|v| v.trim().parse().ok())
}

/// Pid 1 is `tail`, which keeps everything `head` feeds it in memory.
const ALLOCATE: &str = "mkfifo /fifo && { head -c 200000000 /dev/zero > /fifo & exec tail /fifo; }";

fn has_memsw() -> bool {
    host_dir("memory", "")
        .join("memory.memsw.limit_in_bytes")
        .exists()
}

// ---------------------------------------------------------------------------
// Paths.

#[test]
fn default_path_is_own_cgroup_plus_id_in_every_hierarchy() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-default") else {
        return;
    };
    b.sh("cat /proc/self/cgroup");
    ok(&create(&h, &b, &id));
    let pid = h.pid(&id);
    let proc_cg = read_trim(format!("/proc/{pid}/cgroup"));
    let hs = hierarchies();
    let names: BTreeSet<&str> = hs.iter().map(|h| h.name.as_str()).collect();
    for want in [
        "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "unified",
    ] {
        assert!(names.contains(want), "no {want} hierarchy in {names:?}");
    }
    for hr in &hs {
        let dir = hr.dir(&id);
        assert!(dir.is_dir(), "{} was not made", dir.display());
        assert!(
            pids_in(dir.join("cgroup.procs")).contains(&pid),
            "init {pid} is not in {}",
            dir.display()
        );
        let want = format!("{}/{id}", hr.own.trim_end_matches('/'));
        let line = proc_cg
            .lines()
            .find(|l| l.split(':').nth(1) == Some(hr.key.as_str()))
            .unwrap_or_else(|| panic!("no {:?} line in /proc/{pid}/cgroup:\n{proc_cg}", hr.key));
        assert!(
            line.ends_with(&format!(":{want}")),
            "/proc/{pid}/cgroup for {}: {line}, want {want}",
            hr.name
        );
    }
    let out = start_to_the_end(&h, &b, &id);
    let host_lines = read_trim("/proc/self/cgroup").lines().count();
    assert_eq!(out.lines().count(), host_lines, "inside:\n{out}");
    for l in out.lines() {
        assert!(l.ends_with(":/"), "inside /proc/self/cgroup: {l}\n{out}");
    }
    ok(&husk(&h, &["delete", &id]));
    assert_no_cgroup(&id);
}

#[test]
fn relative_cgroups_path_lands_under_own_cgroup() {
    let Some((id, top, rel, _g, h)) = nested_test("cg-rel", "inner") else {
        return;
    };
    let mut b = Bundle::new();
    b.set("/linux/cgroupsPath", json!(rel));
    b.sh("cat /proc/self/cgroup; echo procs; cat /sys/fs/cgroup/pids/cgroup.procs");
    ok(&create(&h, &b, &id));
    let pid = h.pid(&id);
    for hr in hierarchies() {
        let dir = hr.dir(&rel);
        assert!(
            pids_in(dir.join("cgroup.procs")).contains(&pid),
            "init {pid} is not in {}",
            dir.display()
        );
        assert!(
            !hr.dir(&id).exists(),
            "{} exists though cgroupsPath was given",
            hr.dir(&id).display()
        );
    }
    let out = start_to_the_end(&h, &b, &id);
    let (cg, procs) = out.split_once("procs\n").expect("container output");
    assert!(!cg.is_empty());
    for l in cg.lines() {
        assert!(l.ends_with(":/"), "inside /proc/self/cgroup: {l}\n{out}");
    }
    assert!(
        procs.lines().any(|l| l.trim() == "1"),
        "the container's pid 1 is not in its own root cgroup:\n{out}"
    );
    ok(&husk(&h, &["delete", &id]));
    assert_no_cgroup(&rel);
    assert_no_cgroup(&top);
}

// ---------------------------------------------------------------------------
// memory

#[test]
fn memory_limits_reach_their_v1_files() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-mem") else {
        return;
    };
    let mut mem = json!({
        "limit": 64 * MIB,
        "reservation": 32 * MIB,
        "swappiness": 10,
        "disableOOMKiller": true,
    });
    let mut want = vec![
        ("memory/memory.limit_in_bytes", (64 * MIB).to_string()),
        ("memory/memory.soft_limit_in_bytes", (32 * MIB).to_string()),
        ("memory/memory.swappiness", "10".to_string()),
    ];
    if has_memsw() {
        mem["swap"] = json!(128 * MIB);
        want.push((
            "memory/memory.memsw.limit_in_bytes",
            (128 * MIB).to_string(),
        ));
    } else {
        eprintln!("note: no memory.memsw.limit_in_bytes on this host; swap not checked");
    }
    b.set("/linux/resources/memory", mem);
    let extra = "grep oom_kill_disable /sys/fs/cgroup/memory/memory.oom_control";
    create_checking_host(&h, &mut b, &id, &id, &want, extra);
    let oc = read_trim(host_dir("memory", &id).join("memory.oom_control"));
    assert!(
        oc.lines().any(|l| l.trim() == "oom_kill_disable 1"),
        "host memory.oom_control:\n{oc}"
    );
    let out = start_checking_inside(&h, &b, &id, &want);
    assert!(
        out.lines().any(|l| l.trim() == "oom_kill_disable 1"),
        "inside memory.oom_control:\n{out}"
    );
    ok(&husk(&h, &["delete", &id]));
    assert_no_cgroup(&id);
}

/// How many logrus-style warning lines (`time=… level=warning msg="…"`)
/// about memory.kernel / kernelTCP husk wrote.
fn kernel_memory_warnings(o: &Output) -> usize {
    raw_stderr(o)
        .lines()
        .filter_map(parse_log_line)
        .filter(|(level, msg)| {
            level == "warning" && msg.contains("memory.kernel and kernelTCP are ignored")
        })
        .count()
}

/// runc 1.1 ignores the deprecated kernel memory limits with one warning
/// ("Kernel memory settings are ignored and will be removed"): at create
/// whenever they are given, at update when one is not 0 (docker always
/// sends `"kernel": 0`). So does husk, and it writes no memory.kmem file.
#[test]
fn kernel_memory_is_ignored_with_a_warning_at_create_and_update() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-kmem") else {
        return;
    };
    let kmem = |id: &str| read_trim(host_dir("memory", id).join("memory.kmem.limit_in_bytes"));
    let kmem_tcp =
        |id: &str| read_trim(host_dir("memory", id).join("memory.kmem.tcp.limit_in_bytes"));
    b.set(
        "/linux/resources/memory",
        json!({"limit": 256 * MIB, "kernel": 64 * MIB, "kernelTCP": 32 * MIB}),
    );
    b.sh(COUNTER);
    let o = create(&h, &b, &id);
    ok(&o);
    assert_eq!(kernel_memory_warnings(&o), 1, "{}", raw_stderr(&o));
    let (k0, t0) = (kmem(&id), kmem_tcp(&id));
    assert_ne!(
        k0,
        (64 * MIB).to_string(),
        "memory.kmem.limit_in_bytes was written"
    );
    assert_ne!(
        t0,
        (32 * MIB).to_string(),
        "memory.kmem.tcp.limit_in_bytes was written"
    );
    assert_eq!(
        read_trim(host_dir("memory", &id).join("memory.limit_in_bytes")),
        (256 * MIB).to_string()
    );
    ok(&husk(&h, &["start", &id]));

    // `docker update --memory 128m`: kernel 0, no warning (as runc).
    let o = husk_stdin(
        &h,
        &["update", "-r", "-", &id],
        &format!(
            r#"{{"memory":{{"limit":{},"reservation":0,"kernel":0}}}}"#,
            128 * MIB
        ),
    );
    ok(&o);
    assert_eq!(kernel_memory_warnings(&o), 0, "{}", raw_stderr(&o));
    // A kernel limit that is not 0: one warning, nothing written.
    let o = husk_stdin(
        &h,
        &["update", "-r", "-", &id],
        &format!(
            r#"{{"memory":{{"kernel":{},"kernelTCP":{}}}}}"#,
            16 * MIB,
            8 * MIB
        ),
    );
    ok(&o);
    assert_eq!(kernel_memory_warnings(&o), 1, "{}", raw_stderr(&o));
    assert_eq!((kmem(&id), kmem_tcp(&id)), (k0, t0));
    assert_eq!(
        read_trim(host_dir("memory", &id).join("memory.limit_in_bytes")),
        (128 * MIB).to_string()
    );
    ok(&husk(&h, &["delete", "--force", &id]));
    assert_no_cgroup(&id);
}

#[test]
fn allocation_past_the_limit_is_oom_killed_and_run_exits_137() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-oom") else {
        return;
    };
    let mut mem = json!({"limit": 32 * MIB});
    if has_memsw() {
        mem["swap"] = json!(32 * MIB);
    }
    b.set("/linux/resources/memory", mem);
    b.sh(ALLOCATE);
    let o = run_fg(&h, &b, &id, &["--keep"]);
    assert_eq!(
        o.status.code(),
        Some(137),
        "run should exit 128+SIGKILL\nstderr: {}",
        stderr(&o)
    );
    assert_eq!(h.status(&id), "stopped");
    let oc = read_trim(host_dir("memory", &id).join("memory.oom_control"));
    if let Some(n) = oom_kill_count(&oc) {
        assert!(n >= 1, "no OOM kill counted in memory.oom_control:\n{oc}");
    }
    assert_eq!(
        read_trim(host_dir("memory", &id).join("memory.limit_in_bytes")),
        (32 * MIB).to_string()
    );
    ok(&husk(&h, &["delete", &id]));
    assert_no_cgroup(&id);
    assert_no_container(&h, &id);
}

// ---------------------------------------------------------------------------
// cpu, cpuset

#[test]
fn cpu_shares_quota_period_burst_reach_their_v1_files() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-cpu") else {
        return;
    };
    let mut cpu = json!({"shares": 512, "quota": 50000, "period": 100000});
    let mut want = vec![
        ("cpu/cpu.shares", "512".to_string()),
        ("cpu/cpu.cfs_quota_us", "50000".to_string()),
        ("cpu/cpu.cfs_period_us", "100000".to_string()),
    ];
    if host_dir("cpu", "").join("cpu.cfs_burst_us").exists() {
        cpu["burst"] = json!(20000);
        want.push(("cpu/cpu.cfs_burst_us", "20000".to_string()));
    } else {
        eprintln!("note: no cpu.cfs_burst_us on this host; burst not checked");
    }
    b.set("/linux/resources/cpu", cpu);
    check_files(&h, &mut b, &id, &id, &want, "");
}

#[test]
fn cpu_realtime_is_applied_or_refused_naming_the_file() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-rt") else {
        return;
    };
    b.set(
        "/linux/resources/cpu",
        json!({"realtimeRuntime": 10000, "realtimePeriod": 1000000}),
    );
    let want = [
        ("cpu/cpu.rt_runtime_us", "10000".to_string()),
        ("cpu/cpu.rt_period_us", "1000000".to_string()),
    ];
    b.sh("true");
    let o = create(&h, &b, &id);
    if o.status.success() {
        eprintln!("note: this kernel accepts a realtime budget; checking the values");
        ok(&husk(&h, &["delete", &id]));
        assert_no_cgroup(&id);
        check_files(&h, &mut b, &id, &id, &want, "");
    } else {
        let e = stderr(&o);
        assert!(
            e.contains("cpu.rt_runtime_us") || e.contains("cpu.rt_period_us"),
            "the error does not name the realtime file: {e}"
        );
        assert_no_container(&h, &id);
        assert_no_cgroup(&id);
    }
}

#[test]
fn cpu_realtime_beyond_the_parents_budget_fails_naming_the_file() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-rtbig") else {
        return;
    };
    let parent: i64 = read_trim(host_dir("cpu", "").join("cpu.rt_runtime_us"))
        .parse()
        .unwrap();
    let period: i64 = read_trim(host_dir("cpu", "").join("cpu.rt_period_us"))
        .parse()
        .unwrap();
    // More than the parent has, but not more than the period: only the
    // kernel's group budget check can refuse it.
    let want = if parent < 0 { period } else { parent + 1 }.min(period);
    assert!(
        parent < 0 || want > parent,
        "the parent's budget ({parent}/{period}) leaves no room for this test"
    );
    b.set(
        "/linux/resources/cpu",
        json!({"realtimeRuntime": want, "realtimePeriod": period}),
    );
    b.sh("true");
    let o = create(&h, &b, &id);
    if parent < 0 {
        // An unlimited parent: nothing to exceed.
        ok(&o);
        return;
    }
    let e = fails(&o);
    assert!(
        e.contains("cpu.rt_runtime_us"),
        "the error does not name cpu.rt_runtime_us: {e}"
    );
    assert_no_container(&h, &id);
    assert_no_cgroup(&id);
}

#[test]
fn cpuset_cpus_and_mems_confine_the_container() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-cpuset") else {
        return;
    };
    b.set("/linux/resources/cpu", json!({"cpus": "0", "mems": "0"}));
    let want = [
        ("cpuset/cpuset.cpus", "0".to_string()),
        ("cpuset/cpuset.mems", "0".to_string()),
    ];
    let out = check_files(
        &h,
        &mut b,
        &id,
        &id,
        &want,
        "grep Cpus_allowed_list /proc/self/status",
    );
    let line = out
        .lines()
        .find(|l| l.starts_with("Cpus_allowed_list:"))
        .unwrap_or_else(|| panic!("no Cpus_allowed_list in:\n{out}"));
    assert_eq!(line.split_once(':').unwrap().1.trim(), "0", "{line}");
}

// ---------------------------------------------------------------------------
// pids

#[test]
fn pids_limit_stops_a_fork_loop() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-pids") else {
        return;
    };
    b.set("/linux/resources/pids", json!({"limit": 10}));
    // A child shell forks 30 sleeps (it may die when fork fails); pid 1
    // then reads the counters with builtins only (no fork needed).
    b.sh(concat!(
        "sh -c 'i=0; while [ $i -lt 30 ]; do sleep 1000 & i=$((i+1)); done' 2>/dev/null; ",
        "read c < /sys/fs/cgroup/pids/pids.current; echo current=$c; ",
        "read m < /sys/fs/cgroup/pids/pids.max; echo max=$m; ",
        "echo done; exec sleep 1000"
    ));
    start_bg(&h, &b, &id);
    wait_line(&b, "done");
    let dir = host_dir("pids", &id);
    assert_eq!(read_trim(dir.join("pids.max")), "10");
    let cur: u64 = read_trim(dir.join("pids.current")).parse().unwrap();
    assert!(cur <= 10, "host pids.current {cur} > 10");
    let procs = pids_in(dir.join("cgroup.procs"));
    assert!(
        procs.len() <= 10 && procs.len() >= 2,
        "host cgroup.procs: {procs:?}"
    );
    if dir.join("pids.events").exists() {
        let ev = read_trim(dir.join("pids.events"));
        let max: u64 = ev
            .lines()
            .find_map(|l| l.strip_prefix("max "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        assert!(max >= 1, "no fork was refused (pids.events: {ev})");
    }
    let out = out_text(&b);
    let got = kv_trimmed(&out);
    assert_eq!(value(&got, "max"), Some("10"), "{out}");
    let inside: u64 = got["current"].parse().unwrap();
    assert!(
        (2..=10).contains(&inside),
        "inside pids.current {inside}\n{out}"
    );
    ok(&husk(&h, &["delete", "--force", &id]));
    assert_no_cgroup(&id);
    assert_no_container(&h, &id);
}

// ---------------------------------------------------------------------------
// blkio

/// major:minor of the device holding /.
fn root_dev() -> (u32, u32) {
    let dev = std::fs::metadata("/").unwrap().dev();
    (libc::major(dev), libc::minor(dev))
}

#[test]
fn blkio_throttle_read_bps_for_the_root_device() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-blkio") else {
        return;
    };
    let (ma, mi) = root_dev();
    b.set(
        "/linux/resources/blockIO",
        json!({"throttleReadBpsDevice": [{"major": ma, "minor": mi, "rate": 1048576}]}),
    );
    let want = [(
        "blkio/blkio.throttle.read_bps_device",
        format!("{ma}:{mi} 1048576"),
    )];
    check_files(&h, &mut b, &id, &id, &want, "");
}

#[test]
fn blkio_weight_is_applied_or_refused_naming_the_file() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-bweight") else {
        return;
    };
    b.set("/linux/resources/blockIO", json!({"weight": 500}));
    // BFQ shows its weight only in non-root cgroups: look in a fresh one.
    let probe = host_dir("blkio", &format!("{id}-probe"));
    std::fs::create_dir(&probe).unwrap();
    let file = ["blkio.weight", "blkio.bfq.weight"]
        .into_iter()
        .find(|f| probe.join(f).exists());
    std::fs::remove_dir(&probe).unwrap();
    let Some(file) = file else {
        eprintln!(
            "note: neither blkio.weight nor blkio.bfq.weight exists on this host: the weight cannot be checked; only that husk refuses it clearly"
        );
        b.sh("true");
        let e = fails(&create(&h, &b, &id));
        assert!(
            e.contains("blkio.weight") || e.contains("blkio.bfq.weight"),
            "the error does not name the weight file: {e}"
        );
        assert_no_container(&h, &id);
        assert_no_cgroup(&id);
        return;
    };
    b.sh(&format!("cat /sys/fs/cgroup/blkio/{file}"));
    ok(&create(&h, &b, &id));
    // blkio.bfq.weight reads "default 500".
    let host = read_trim(host_dir("blkio", &id).join(file));
    assert_eq!(host.split_whitespace().last(), Some("500"), "host {file}");
    let out = start_to_the_end(&h, &b, &id);
    assert_eq!(out.split_whitespace().last(), Some("500"), "inside {out}");
    ok(&husk(&h, &["delete", &id]));
    assert_no_cgroup(&id);
}

// ---------------------------------------------------------------------------
// devices

fn device_rules() -> Value {
    let mut rules = vec![json!({"allow": false, "access": "rwm"})];
    for (ma, mi) in [(1, 3), (1, 5), (1, 8), (1, 9), (5, 0), (1, 7)] {
        rules.push(json!({"allow": true, "type": "c", "major": ma, "minor": mi, "access": "rwm"}));
    }
    rules.push(json!({"allow": true, "type": "c", "major": 136, "access": "rwm"}));
    rules.push(json!({"allow": true, "type": "c", "major": 5, "minor": 2, "access": "rwm"}));
    Value::Array(rules)
}

/// The configured rules plus the defaults husk appends after them, as
/// runc does (mknod of anything, /dev/net/tun).
const ALLOWED: &[&str] = &[
    "c 1:3 rwm",
    "c 1:5 rwm",
    "c 1:8 rwm",
    "c 1:9 rwm",
    "c 5:0 rwm",
    "c 1:7 rwm",
    "c 136:* rwm",
    "c 5:2 rwm",
    "c *:* m",
    "b *:* m",
    "c 10:200 rwm",
];

#[track_caller]
fn assert_devices_list(list: &str, where_: &str) {
    let got: BTreeSet<&str> = list.lines().map(str::trim).collect();
    let want: BTreeSet<&str> = ALLOWED.iter().copied().collect();
    assert_eq!(got, want, "{where_} devices.list:\n{list}");
}

#[test]
fn device_rules_allow_only_the_listed_devices() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-dev") else {
        return;
    };
    b.set("/linux/resources/devices", device_rules());
    b.sh(concat!(
        "echo x > /dev/null && echo null=ok; ",
        "head -c 4 /dev/zero | wc -c | sed 's/^/zero=/'; ",
        "echo list; cat /sys/fs/cgroup/devices/devices.list"
    ));
    ok(&create(&h, &b, &id));
    assert_devices_list(
        &read_trim(host_dir("devices", &id).join("devices.list")),
        "host",
    );
    let out = start_to_the_end(&h, &b, &id);
    let got = kv_trimmed(&out);
    assert_eq!(value(&got, "null"), Some("ok"), "{out}");
    assert_eq!(value(&got, "zero"), Some("4"), "{out}");
    let list = out.split_once("list\n").expect("output").1;
    assert_devices_list(list, "inside");
    ok(&husk(&h, &["delete", &id]));
    assert_no_cgroup(&id);
}

#[test]
fn device_node_in_linux_devices_but_not_allowed_is_eperm() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-fuse") else {
        return;
    };
    b.set("/linux/resources/devices", device_rules());
    b.set(
        "/linux/devices",
        json!([{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0}]),
    );
    b.sh(concat!(
        "echo x > /dev/null && echo null=ok; ",
        "ls -l /dev/fuse; cat /dev/fuse 2>&1; echo fuse-rc=$?"
    ));
    let o = create(&h, &b, &id);
    ok(&o);
    assert_devices_list(
        &read_trim(host_dir("devices", &id).join("devices.list")),
        "host",
    );
    let out = start_to_the_end(&h, &b, &id);
    let got = kv_trimmed(&out);
    assert_eq!(value(&got, "null"), Some("ok"), "{out}");
    assert!(
        out.contains("Operation not permitted"),
        "cat /dev/fuse did not fail with EPERM:\n{out}"
    );
    assert_ne!(value(&got, "fuse-rc"), Some("0"), "{out}");
    ok(&husk(&h, &["delete", &id]));
    assert_no_cgroup(&id);
}

// ---------------------------------------------------------------------------
// hugetlb and the unified map on the v2 hierarchy

#[test]
fn hugetlb_limit_goes_to_the_unified_hierarchy() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-huge") else {
        return;
    };
    let hs = hierarchies();
    assert!(
        !hs.iter().any(|h| h.name == "hugetlb"),
        "this test expects no v1 hugetlb hierarchy"
    );
    let ctrl = read_trim(hier("unified").mount.join("cgroup.controllers"));
    assert!(
        ctrl.split_whitespace().any(|c| c == "hugetlb"),
        "hugetlb is not on the v2 hierarchy: {ctrl}"
    );
    b.set(
        "/linux/resources/hugepageLimits",
        json!([{"pageSize": "2MB", "limit": 4 * 2 * MIB}]),
    );
    let want = [("unified/hugetlb.2MB.max", (8 * MIB).to_string())];
    check_host_files(&h, &mut b, &id, &want);
}

#[test]
fn unified_hugetlb_key_lands_in_the_v2_hierarchy() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-unif") else {
        return;
    };
    b.set(
        "/linux/resources/unified",
        json!({"hugetlb.2MB.max": (4 * MIB).to_string()}),
    );
    let want = [("unified/hugetlb.2MB.max", (4 * MIB).to_string())];
    check_host_files(&h, &mut b, &id, &want);
}

#[test]
fn unified_memory_key_fails_clearly_on_a_hybrid_host() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-unifmem") else {
        return;
    };
    b.set("/linux/resources/unified", json!({"memory.high": "1"}));
    b.sh("true");
    let e = fails(&create(&h, &b, &id));
    assert!(
        e.contains("memory.high"),
        "the error does not name the unified key memory.high: {e}"
    );
    assert!(
        e.contains("v2"),
        "the error does not say memory is missing from the cgroup v2 hierarchy: {e}"
    );
    assert_no_container(&h, &id);
    assert_no_cgroup(&id);
}

// ---------------------------------------------------------------------------
// Controllers this host does not have

#[track_caller]
fn check_unavailable(res: Value, controller: &str) {
    let id = unique_id(&format!("cg-{}", controller.replace('_', "")));
    let _g = CgGuard::new(&[&id]);
    let h = Husk::new();
    assert!(
        !hierarchies().iter().any(|h| h.name.contains(controller)),
        "this test expects no {controller} hierarchy"
    );
    let mut b = Bundle::new();
    b.set("/linux/resources/network", res);
    b.sh("true");
    let e = fails(&create(&h, &b, &id));
    assert!(
        e.contains(&format!("the {controller} controller is not available")),
        "{e}"
    );
    assert_no_container(&h, &id);
    assert!(
        std::fs::read_dir(h.root.path()).unwrap().next().is_none(),
        "--root is not empty"
    );
    assert_no_cgroup(&id);
}

#[test]
fn net_cls_on_a_host_without_it_fails_and_leaves_nothing() {
    if !hybrid_host() {
        return;
    }
    check_unavailable(json!({"classID": 1048577}), "net_cls");
}

#[test]
fn net_prio_on_a_host_without_it_fails_and_leaves_nothing() {
    if !hybrid_host() {
        return;
    }
    check_unavailable(
        json!({"priorities": [{"name": "lo", "priority": 5}]}),
        "net_prio",
    );
}

// ---------------------------------------------------------------------------
// pause / resume

const COUNTER: &str = "i=0; while :; do i=$((i+1)); echo $i; sleep 0.05; done";

#[test]
fn pause_freezes_and_resume_thaws_and_delete_force_removes_a_paused_container() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-pause") else {
        return;
    };
    b.sh(COUNTER);
    start_bg(&h, &b, &id);
    wait_line(&b, "3");
    let pid = h.pid(&id);
    let init = Proc::of(pid);
    let fz = host_dir("freezer", &id).join("freezer.state");
    assert_eq!(read_trim(&fz), "THAWED");

    ok(&husk(&h, &["pause", &id]));
    assert_eq!(read_trim(&fz), "FROZEN");
    assert_eq!(h.status(&id), "paused");
    let n = out_text(&b).len();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(out_text(&b).len(), n, "a paused container kept writing");

    ok(&husk(&h, &["resume", &id]));
    assert_eq!(read_trim(&fz), "THAWED");
    assert_eq!(h.status(&id), "running");
    wait_for("output after resume", || out_text(&b).len() > n);

    ok(&husk(&h, &["pause", &id]));
    assert_eq!(h.status(&id), "paused");
    ok(&husk(&h, &["delete", "--force", &id]));
    wait_for("the paused init to die", || !init.alive());
    assert_no_container(&h, &id);
    assert_no_cgroup(&id);
}

#[test]
fn pause_and_resume_refuse_the_wrong_status() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-pausest") else {
        return;
    };
    b.sh(COUNTER);
    start_bg(&h, &b, &id);
    let e = fails(&husk(&h, &["resume", &id]));
    assert!(e.contains("container not paused"), "{e}");
    assert_eq!(
        read_trim(host_dir("freezer", &id).join("freezer.state")),
        "THAWED"
    );
    ok(&husk(&h, &["kill", &id, "KILL"]));
    h.wait_status(&id, "stopped");
    let e = fails(&husk(&h, &["pause", &id]));
    assert!(e.contains("container not running"), "{e}");
    ok(&husk(&h, &["delete", &id]));
    assert_no_cgroup(&id);
}

// ---------------------------------------------------------------------------
// update

#[test]
fn update_changes_the_host_files_and_what_the_container_sees() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-upd") else {
        return;
    };
    b.set(
        "/linux/resources",
        json!({"memory": {"limit": 256 * MIB}, "pids": {"limit": 100}, "cpu": {"shares": 1024}}),
    );
    b.sh(concat!(
        "while :; do read a < /sys/fs/cgroup/pids/pids.max; ",
        "read m < /sys/fs/cgroup/memory/memory.limit_in_bytes; ",
        "read s < /sys/fs/cgroup/cpu/cpu.shares; ",
        "echo \"v $a $m $s\"; sleep 0.1; done"
    ));
    start_bg(&h, &b, &id);
    wait_line(&b, &format!("v 100 {} 1024", 256 * MIB));

    ok(&husk(
        &h,
        &[
            "update",
            "--memory",
            "128m",
            "--pids-limit",
            "50",
            "--cpu-shares",
            "256",
            &id,
        ],
    ));
    assert_eq!(
        read_trim(host_dir("memory", &id).join("memory.limit_in_bytes")),
        (128 * MIB).to_string()
    );
    assert_eq!(read_trim(host_dir("pids", &id).join("pids.max")), "50");
    assert_eq!(read_trim(host_dir("cpu", &id).join("cpu.shares")), "256");
    wait_line(&b, &format!("v 50 {} 256", 128 * MIB));

    ok(&husk_stdin(
        &h,
        &["update", "-r", "-", &id],
        r#"{"pids":{"limit":7}}"#,
    ));
    assert_eq!(read_trim(host_dir("pids", &id).join("pids.max")), "7");
    assert_eq!(
        read_trim(host_dir("memory", &id).join("memory.limit_in_bytes")),
        (128 * MIB).to_string(),
        "update -r with only pids changed the memory limit"
    );
    wait_line(&b, &format!("v 7 {} 256", 128 * MIB));

    ok(&husk(&h, &["delete", "--force", &id]));
    assert_no_cgroup(&id);
}

#[test]
fn update_rejects_bad_values_and_unknown_containers() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-updbad") else {
        return;
    };
    b.set("/linux/resources/memory", json!({"limit": 256 * MIB}));
    b.sh(COUNTER);
    start_bg(&h, &b, &id);
    let e = fails(&husk(&h, &["update", "--memory", "lots", &id]));
    assert!(
        e.contains("--memory"),
        "the error does not name --memory: {e}"
    );
    assert_eq!(
        read_trim(host_dir("memory", &id).join("memory.limit_in_bytes")),
        (256 * MIB).to_string()
    );
    let e = fails(&husk(
        &h,
        &["update", "--pids-limit", "5", &unique_id("cg-nosuch")],
    ));
    assert!(e.contains("container does not exist"), "{e}");
    ok(&husk(&h, &["delete", "--force", &id]));
    assert_no_cgroup(&id);
}

/// The cgroup files `docker update --pids-limit 50` could touch, as
/// (hierarchy, file) pairs.
const DOCKER_UPDATE_FILES: &[(&str, &str)] = &[
    ("memory", "memory.limit_in_bytes"),
    ("memory", "memory.soft_limit_in_bytes"),
    ("memory", "memory.memsw.limit_in_bytes"),
    ("memory", "memory.kmem.limit_in_bytes"),
    ("cpu", "cpu.shares"),
    ("cpu", "cpu.cfs_quota_us"),
    ("cpu", "cpu.cfs_period_us"),
    ("cpuset", "cpuset.cpus"),
    ("cpuset", "cpuset.mems"),
    ("pids", "pids.max"),
];

fn host_values(id: &str, files: &[(&str, &str)]) -> Vec<(String, String)> {
    files
        .iter()
        .map(|(c, f)| {
            let p = host_dir(c, id).join(f);
            let v = if p.exists() {
                read_trim(&p)
            } else {
                "(none)".into()
            };
            (format!("{c}/{f}"), v)
        })
        .collect()
}

/// docker sends every resource field, 0 for those it does not change (the
/// JSON below is what `docker update --pids-limit 50` gave runc). As with
/// runc 1.1.5, only pids.max changes; husk used to write "0" to
/// memory.limit_in_bytes and fail with EBUSY.
#[test]
fn update_as_docker_sends_it_changes_only_what_is_not_zero() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-updzero") else {
        return;
    };
    let mut mem = json!({"limit": 256 * MIB, "reservation": 128 * MIB});
    if has_memsw() {
        mem["swap"] = json!(512 * MIB);
    }
    b.set(
        "/linux/resources",
        json!({
            "memory": mem,
            "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
            "pids": {"limit": 100},
        }),
    );
    b.sh(COUNTER);
    start_bg(&h, &b, &id);
    let before = host_values(&id, DOCKER_UPDATE_FILES);
    ok(&husk_stdin(
        &h,
        &["update", "--resources", "-", &id],
        r#"{"memory":{"limit":0,"reservation":0,"kernel":0},"cpu":{"shares":0,"quota":0,"period":0},"pids":{"limit":50},"blockIO":{"weight":0}}"#,
    ));
    let after = host_values(&id, DOCKER_UPDATE_FILES);
    for (b4, af) in before.iter().zip(&after) {
        if b4.0 == "pids/pids.max" {
            assert_eq!((b4.1.as_str(), af.1.as_str()), ("100", "50"));
        } else {
            assert_eq!(b4, af, "docker's zeros changed {}", b4.0);
        }
    }
    // "" for the cpuset lists leaves them too, and 0 for pids.
    ok(&husk_stdin(
        &h,
        &["update", "-r", "-", &id],
        r#"{"cpu":{"cpus":"","mems":""},"pids":{"limit":0}}"#,
    ));
    assert_eq!(host_values(&id, DOCKER_UPDATE_FILES), after);
    ok(&husk(&h, &["delete", "--force", &id]));
    assert_no_cgroup(&id);
}

/// An update whose second write fails (cpuset.cpus 99: ERANGE) sets the
/// memory limit it wrote first back, says so, and writes nothing after
/// the failure; runc 1.1.5 leaves the same files as they were.
#[test]
fn update_that_fails_part_way_sets_back_what_it_wrote() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-updback") else {
        return;
    };
    b.set(
        "/linux/resources",
        json!({"memory": {"limit": 256 * MIB}, "pids": {"limit": 100}}),
    );
    b.sh(COUNTER);
    start_bg(&h, &b, &id);
    let files = [
        ("memory", "memory.limit_in_bytes"),
        ("cpuset", "cpuset.cpus"),
        ("pids", "pids.max"),
    ];
    let before = host_values(&id, &files);
    let e = fails(&husk_stdin(
        &h,
        &["update", "-r", "-", &id],
        &format!(
            r#"{{"memory":{{"limit":{}}},"cpu":{{"cpus":"99"}},"pids":{{"limit":60}}}}"#,
            128 * MIB
        ),
    ));
    assert!(
        e.contains("cpuset.cpus")
            && e.contains("\"99\"")
            && e.contains("(ERANGE)")
            && e.contains("the values written before it were set back"),
        "{e}"
    );
    assert_eq!(host_values(&id, &files), before);
    ok(&husk(&h, &["delete", "--force", &id]));
    assert_no_cgroup(&id);
}

// ---------------------------------------------------------------------------
// ps, events

#[test]
fn ps_lists_exactly_the_cgroups_processes() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-ps") else {
        return;
    };
    b.sh("sleep 1000 & sleep 1000 & echo ready; exec sleep 1000");
    start_bg(&h, &b, &id);
    wait_line(&b, "ready");
    let procs_file = host_dir("pids", &id).join("cgroup.procs");
    wait_for("three processes in the cgroup", || {
        pids_in(&procs_file).len() == 3
    });
    let want = pids_in(&procs_file);
    assert!(want.contains(&h.pid(&id)));

    let out = ok(&husk(&h, &["ps", "--format", "json", &id]));
    let got: Vec<i32> = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    let got: BTreeSet<i32> = got.into_iter().collect();
    assert_eq!(got, want, "ps --format json vs cgroup.procs");

    let table = ok(&husk(&h, &["ps", &id]));
    let mut lines = table.lines();
    let header = lines.next().expect("ps table header");
    let col = header
        .split_whitespace()
        .position(|c| c == "PID")
        .unwrap_or_else(|| panic!("no PID column: {header}"));
    let rows: BTreeSet<i32> = lines
        .map(|l| {
            l.split_whitespace()
                .nth(col)
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| panic!("bad row {l:?}"))
        })
        .collect();
    assert_eq!(rows, want, "ps table:\n{table}");
    ok(&husk(&h, &["delete", "--force", &id]));
    assert_no_cgroup(&id);
}

#[test]
fn events_stats_prints_one_stats_line() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-stats") else {
        return;
    };
    b.set("/linux/resources/pids", json!({"limit": 100}));
    b.sh(concat!(
        "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; ",
        "x=$(head -c 1000000 /dev/urandom | md5sum); echo ready; exec sleep 1000"
    ));
    start_bg(&h, &b, &id);
    wait_line(&b, "ready");
    let out = ok(&husk(&h, &["events", "--stats", &id]));
    let lines: Vec<&str> = out.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "events --stats:\n{out}");
    let v: Value = serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["type"], "stats", "{v}");
    assert_eq!(v["id"], id.as_str(), "{v}");
    let d = &v["data"];
    assert!(
        d["memory"]["usage"]["usage"].as_u64().unwrap_or(0) > 0,
        "memory usage: {d}"
    );
    let cur = d["pids"]["current"].as_u64().unwrap_or(0);
    assert!(cur >= 1, "pids.current: {d}");
    assert_eq!(d["pids"]["limit"].as_u64(), Some(100), "pids.limit: {d}");
    assert!(
        d["cpu"]["usage"]["total"].as_u64().unwrap_or(0) > 0,
        "cpu usage: {d}"
    );
    ok(&husk(&h, &["delete", "--force", &id]));
    assert_no_cgroup(&id);
}

#[test]
fn events_reports_an_oom_kill() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-evoom") else {
        return;
    };
    let mut mem = json!({"limit": 32 * MIB});
    if has_memsw() {
        mem["swap"] = json!(32 * MIB);
    }
    b.set("/linux/resources/memory", mem);
    b.sh(ALLOCATE);
    ok(&create(&h, &b, &id));

    let tmp = tempfile::tempdir().unwrap();
    let ev_out = tmp.path().join("events");
    let mut ev = h
        .command()
        .args(["events", "--interval", "200ms", &id])
        .stdin(Stdio::null())
        .stdout(File::create(&ev_out).unwrap())
        .stderr(File::create(tmp.path().join("events-err")).unwrap())
        .spawn()
        .unwrap();
    // The first stats line means events has its OOM baseline.
    wait_for("the first events line", || {
        std::fs::read_to_string(&ev_out).is_ok_and(|t| t.contains("\"stats\""))
    });
    ok(&husk(&h, &["start", &id]));
    let st = wait_or_kill(&mut ev, Duration::from_secs(30));
    let text = std::fs::read_to_string(&ev_out).unwrap();
    let err = std::fs::read_to_string(tmp.path().join("events-err")).unwrap();
    assert_eq!(h.status(&id), "stopped");
    let oc = read_trim(host_dir("memory", &id).join("memory.oom_control"));
    let oom = text.lines().any(|l| {
        serde_json::from_str::<Value>(l).is_ok_and(|v| v["type"] == "oom" && v["id"] == id.as_str())
    });
    assert!(
        oom,
        "no oom event (events exit {st:?}, memory.oom_control:\n{oc})\nstdout:\n{text}\nstderr:\n{err}"
    );
    assert!(
        st.is_some(),
        "events did not exit after the container stopped"
    );
    ok(&husk(&h, &["delete", &id]));
    assert_no_cgroup(&id);
}

// ---------------------------------------------------------------------------
// kill --all, delete --force: processes are found through the cgroup

/// Start a container whose pid 1 and background sleeps all stay up; return
/// them once the cgroup holds `n` processes.
fn start_sleepers(h: &Husk, b: &mut Bundle, id: &str, n: usize) -> Vec<Proc> {
    b.sh("sleep 1000 & sleep 1000 & (sleep 1000 &); echo ready; exec sleep 1000");
    start_bg(h, b, id);
    wait_line(b, "ready");
    let procs = host_dir("pids", id).join("cgroup.procs");
    wait_for(&format!("{n} processes in the cgroup"), || {
        pids_in(&procs).len() == n
    });
    pids_in(&procs).into_iter().filter_map(Proc::find).collect()
}

#[test]
fn kill_all_sigkill_kills_every_process_in_the_cgroup() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-killall") else {
        return;
    };
    let procs = start_sleepers(&h, &mut b, &id, 4);
    let _pg = ProcGuard(procs.clone());
    ok(&husk(&h, &["kill", "--all", &id, "KILL"]));
    wait_for("every container process to die", || {
        procs.iter().all(|p| !p.alive())
    });
    h.wait_status(&id, "stopped");
    ok(&husk(&h, &["delete", &id]));
    assert_no_cgroup(&id);
}

#[test]
fn kill_all_without_pid_namespace_kills_the_background_children() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-killall-nopidns") else {
        return;
    };
    b.remove_namespace("pid");
    let procs = start_sleepers(&h, &mut b, &id, 4);
    let _pg = ProcGuard(procs.clone());
    ok(&husk(&h, &["kill", "--all", &id, "KILL"]));
    wait_for("every container process to die", || {
        procs.iter().all(|p| !p.alive())
    });
    ok(&husk(&h, &["delete", &id]));
    assert_no_cgroup(&id);
}

#[test]
fn delete_force_without_pid_namespace_kills_the_background_children() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-del-nopidns") else {
        return;
    };
    b.remove_namespace("pid");
    let procs = start_sleepers(&h, &mut b, &id, 4);
    let _pg = ProcGuard(procs.clone());
    ok(&husk(&h, &["delete", "--force", &id]));
    let alive: Vec<&Proc> = procs.iter().filter(|p| p.alive()).collect();
    assert!(
        alive.is_empty(),
        "delete --force left container processes alive: {alive:?}"
    );
    assert_no_container(&h, &id);
    assert_no_cgroup(&id);
}

// ---------------------------------------------------------------------------
// Teardown

#[test]
fn run_removes_every_cgroup_directory_it_made() {
    let Some((id, top, rel, _g, h)) = nested_test("cg-runtd", "run") else {
        return;
    };
    let mut b = Bundle::new();
    b.set("/linux/cgroupsPath", json!(rel));
    b.set(
        "/linux/resources",
        json!({"memory": {"limit": 64 * MIB}, "pids": {"limit": 20}, "cpu": {"shares": 512, "cpus": "0"}}),
    );
    b.sh("cat /sys/fs/cgroup/pids/pids.max");
    let o = run_fg(&h, &b, &id, &[]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_eq!(out_text(&b).trim(), "20");
    assert_no_container(&h, &id);
    assert_no_cgroup(&rel);
    assert_no_cgroup(&top);
}

/// An init that fails at its first mount, with limits set, must have its
/// own error reported (not a socket error from a peer that went away with
/// a message unread), and the cgroup husk made must go.
#[test]
fn init_failing_at_its_first_mount_reports_its_own_error() {
    let Some((id, _g, h, mut b)) = hybrid_test("cg-earlyfail") else {
        return;
    };
    b.set(
        "/linux/resources",
        json!({"memory": {"limit": 64 * MIB}, "pids": {"limit": 20}}),
    );
    let mut mounts = b.config["mounts"].as_array().unwrap().clone();
    mounts.insert(
        0,
        json!({"destination": "/mnt", "type": "husk-no-such-fs", "source": "none"}),
    );
    b.set("/mounts", json!(mounts));
    b.sh("true");
    for _ in 0..5 {
        let e = fails(&create(&h, &b, &id));
        assert!(
            e.contains("husk-no-such-fs") && e.contains("ENODEV"),
            "not the init's own error: {e}"
        );
        assert!(!e.contains("cgroup.procs"), "{e}");
        assert_no_container(&h, &id);
        assert_no_cgroup(&id);
    }
}

/// A v1 cpuset directory on the way that has no CPUs or memory nodes,
/// whoever made it, gets its parent's, top down, as runc's
/// cpusetEnsureParent does (runc 1.1.5, cgroupsPath `top/mid/leaf` with
/// `top` at cpus 1, `mid` empty: `mid` becomes 1). Without that nobody
/// could join it (ENOSPC). husk leaves the directories it did not make.
#[test]
fn empty_cpusets_on_the_path_get_their_parents_cpus_and_mems() {
    let Some((id, top, mid, _g, h)) = nested_test("cg-cpusetfill", "m") else {
        return;
    };
    let leaf = format!("{mid}/c");
    let _leaf_guard = CgGuard::new(&[&leaf]);
    let root = host_dir("cpuset", "");
    let root_cpus = read_trim(root.join("cpuset.cpus"));
    let first_cpu: String = root_cpus.split([',', '-']).next().unwrap().to_string();
    // Made by the test: `top` with one CPU, `mid` empty.
    let (top_dir, mid_dir) = (host_dir("cpuset", &top), host_dir("cpuset", &mid));
    std::fs::create_dir_all(&mid_dir).unwrap();
    std::fs::write(top_dir.join("cpuset.cpus"), &first_cpu).unwrap();
    std::fs::write(
        top_dir.join("cpuset.mems"),
        read_trim(root.join("cpuset.mems")),
    )
    .unwrap();
    assert_eq!(read_trim(mid_dir.join("cpuset.cpus")), "");
    assert_eq!(read_trim(mid_dir.join("cpuset.mems")), "");
    let mut b = Bundle::new();
    b.set("/linux/cgroupsPath", json!(leaf));
    b.sh("grep Cpus_allowed_list /proc/self/status");
    ok(&run_fg(&h, &b, &id, &[]));
    let out = out_text(&b);
    assert_eq!(
        out.split_whitespace().last(),
        Some(first_cpu.as_str()),
        "{out}"
    );
    assert_eq!(read_trim(top_dir.join("cpuset.cpus")), first_cpu);
    assert_eq!(read_trim(mid_dir.join("cpuset.cpus")), first_cpu);
    assert_eq!(
        read_trim(mid_dir.join("cpuset.mems")),
        read_trim(top_dir.join("cpuset.mems"))
    );
    assert!(mid_dir.is_dir(), "husk removed a cgroup it did not make");
    assert_no_cgroup(&leaf);
    assert_no_container(&h, &id);
}

/// Runs `f` with the calling thread at SCHED_FIFO 1 (so the processes it
/// spawns are real-time too), and back at SCHED_OTHER after, even on a
/// panic.
fn as_realtime<T>(f: impl FnOnce() -> T) -> T {
    struct Back;
    impl Drop for Back {
        fn drop(&mut self) {
            let p = libc::sched_param { sched_priority: 0 };
            // SAFETY: pid 0 is the calling thread; p is a valid param.
            unsafe { libc::sched_setscheduler(0, libc::SCHED_OTHER, &p) };
        }
    }
    let p = libc::sched_param { sched_priority: 1 };
    // SAFETY: as above.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &p) };
    assert_eq!(
        rc,
        0,
        "sched_setscheduler(SCHED_FIFO): {}",
        std::io::Error::last_os_error()
    );
    let _back = Back;
    f()
}

/// The init moves itself into its v1 cgroups (`join-cgroups`). A cgroup it
/// cannot join fails that step by name, and husk removes everything it
/// made. Here the init is real-time (husk runs at SCHED_FIFO) and the
/// container's new v1 cpu cgroup has no real-time budget
/// (cpu.rt_runtime_us 0), so the kernel refuses it (EINVAL). (An empty
/// cpuset no longer does this: husk fills it, as runc does.)
#[test]
fn init_that_cannot_join_its_cgroup_fails_naming_the_step() {
    let Some((id, top, rel, _g, h)) = nested_test("cg-nojoin", "c") else {
        return;
    };
    if !host_dir("cpu", "").join("cpu.rt_runtime_us").exists() {
        eprintln!("note: no cpu.rt_runtime_us (no CONFIG_RT_GROUP_SCHED); skipped");
        return;
    }
    let mut b = Bundle::new();
    b.set("/linux/cgroupsPath", json!(rel));
    b.sh("true");
    let o = as_realtime(|| run_fg(&h, &b, &id, &[]));
    let e = fails(&o);
    let tasks = host_dir("cpu", &rel).join("tasks");
    assert!(
        e.contains("join-cgroups")
            && e.contains(&format!("{}", tasks.display()))
            && e.contains("invalid argument (EINVAL)"),
        "{e}"
    );
    assert_no_container(&h, &id);
    assert_no_cgroup(&rel);
    assert_no_cgroup(&top);
}

#[test]
fn failed_create_after_valid_resources_leaves_no_cgroup() {
    let Some((id, top, rel, _g, h)) = nested_test("cg-failcreate", "c") else {
        return;
    };
    for cgpath in [None, Some(rel.as_str())] {
        let mut b = Bundle::new();
        if let Some(p) = cgpath {
            b.set("/linux/cgroupsPath", json!(p));
        }
        b.set(
            "/linux/resources",
            json!({"memory": {"limit": 64 * MIB}, "pids": {"limit": 20}, "cpu": {"shares": 512}}),
        );
        b.add_mount(json!({
            "destination": "/mnt/x",
            "type": "bind",
            "source": format!("/nonexistent-husk-test/{id}"),
            "options": ["rbind"],
        }));
        b.sh("true");
        let e = fails(&create(&h, &b, &id));
        assert!(e.contains("nonexistent-husk-test"), "{e}");
        assert_no_container(&h, &id);
        assert_no_cgroup(&id);
        assert_no_cgroup(&rel);
        assert_no_cgroup(&top);
    }
}
