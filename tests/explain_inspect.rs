mod common;

// `--explain` (the narration of each isolation step, as text, JSON lines or
// an SVG timeline) and `husk inspect` (the host's view of a running
// container), each checked against what the kernel says: /proc/<pid>/status,
// /proc/<pid>/ns/*, the cgroup files, `husk state`.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

/// No command may take longer than this.
const TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------
// Helpers.

/// Run `c` with stdout into `out` and stderr next to it (files, not pipes:
/// a container started in the background inherits husk's stdio and would
/// hold a pipe open), stdin empty, with a time limit.
fn run_cmd(c: Command, out: &Path) -> Output {
    run_timed(c, Stdin::Null, Out::Beside(out), TIMEOUT)
}

/// husk with `args`; its output goes to files in the bundle directory,
/// named after `tag`.
fn husk(h: &Husk, b: &Bundle, tag: &str, args: &[&str]) -> Output {
    let mut c = h.command();
    c.args(args);
    run_cmd(c, &b.path().join(format!("{tag}.out")))
}

/// `husk run [extra...] --bundle B ID` in the foreground.
fn run(h: &Husk, b: &Bundle, id: &str, extra: &[&str]) -> Output {
    b.write();
    let mut args = vec!["run"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--bundle", b.arg(), id]);
    husk(h, b, id, &args)
}

/// The bundle every --explain test runs: `echo hi`.
fn echo_bundle() -> Bundle {
    let mut b = Bundle::new();
    b.args(&["echo", "hi"]);
    b
}

/// Parse every line of `text` as one JSON object.
#[track_caller]
fn json_lines(text: &str) -> Vec<Value> {
    assert!(!text.trim().is_empty(), "no JSON lines at all");
    text.lines()
        .map(|l| {
            serde_json::from_str::<Value>(l)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}\nall: {text}"))
        })
        .collect()
}

/// Check the fields of one --explain=json record; returns its step name.
#[track_caller]
fn check_record(r: &Value) -> String {
    for k in ["step", "call", "why"] {
        assert!(r[k].is_string(), "{k} is a string: {r}");
    }
    for k in ["start_us", "duration_us"] {
        assert!(r[k].is_u64(), "{k} is a number of µs: {r}");
    }
    let p = r["process"].as_str().unwrap_or_default();
    assert!(p == "husk" || p == "init", "process is husk or init: {r}");
    let step = r["step"].as_str().unwrap().to_string();
    assert!(!step.is_empty(), "{r}");
    step
}

fn steps_of(records: &[Value]) -> BTreeSet<String> {
    records.iter().map(check_record).collect()
}

/// The narration lines of --explain (text): "[  1234 µs] husk clone  clone3(...)".
/// Returns (process, step, call) per step.
fn text_steps(text: &str) -> Vec<(String, String, String)> {
    text.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix('[')?;
            let (at, rest) = rest.split_once(" µs] ")?;
            at.trim().parse::<u64>().ok()?;
            let mut w = rest.split_whitespace();
            let who = w.next()?.to_string();
            let step = w.next()?.to_string();
            let call = w.collect::<Vec<_>>().join(" ");
            Some((who, step, call))
        })
        .collect()
}

/// The capability names, by bit number (include/uapi/linux/capability.h).
const CAP_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The names of the bits set in a /proc/<pid>/status capability mask.
fn decode_caps(hex: &str) -> Vec<String> {
    let mask = u64::from_str_radix(hex.trim(), 16).unwrap();
    (0..64)
        .filter(|b| mask & (1u64 << b) != 0)
        .map(|b| {
            CAP_NAMES
                .get(b)
                .map(|s| s.to_string())
                .unwrap_or_else(|| format!("CAP_{b}"))
        })
        .collect()
}

fn proc_status_field(pid: i32, key: &str) -> String {
    status_field(&proc_status(pid), key)
}

/// The /proc/<pid>/ns file of a runtime-spec namespace type.
fn ns_file(typ: &str) -> &'static str {
    match typ {
        "pid" => "pid",
        "network" => "net",
        "mount" => "mnt",
        "ipc" => "ipc",
        "uts" => "uts",
        "user" => "user",
        "cgroup" => "cgroup",
        "time" => "time",
        other => panic!("unknown namespace type {other}"),
    }
}

// ---------------------------------------------------------------------------
// --explain (text).

#[test]
fn explain_narrates_on_stderr_and_leaves_stdout_alone() {
    let h = Husk::new();
    let b = echo_bundle();

    let plain = run(&h, &b, &unique_id("plain"), &[]);
    assert_eq!(ok(&plain), "hi\n");
    assert_eq!(stderr(&plain), "", "plain run says nothing on stderr");

    let o = run(&h, &b, &unique_id("explain"), &["--explain"]);
    assert_eq!(ok(&o), "hi\n", "stdout is the container's alone");
    let text = stderr(&o);
    assert!(text.contains("µs"), "{text}");
    let steps = text_steps(&text);
    let names: BTreeSet<&str> = steps.iter().map(|(_, s, _)| s.as_str()).collect();
    for s in ["clone", "pivot-root", "drop-bounding-caps", "mount"] {
        assert!(names.contains(s), "step {s} is narrated: {text}");
    }
    for (who, step, call) in &steps {
        assert!(who == "husk" || who == "init", "{who} {step}");
        match step.as_str() {
            "clone" => {
                assert_eq!(who, "husk");
                assert!(call.starts_with("clone3(") && call.contains("CLONE_NEWPID"));
            }
            "pivot-root" => {
                assert_eq!(who, "init");
                assert!(call.starts_with("pivot_root("), "{call}");
            }
            "drop-bounding-caps" => {
                let n = call
                    .strip_prefix("drop ")
                    .and_then(|r| r.split_once(" capabilities"))
                    .and_then(|(n, _)| n.parse::<u32>().ok());
                assert!(n.is_some_and(|n| n > 0), "\"drop N capabilities\": {call}");
            }
            _ => {}
        }
    }
    // Every other line is the step's sentence, indented, with its time.
    for l in text.lines().filter(|l| !l.starts_with('[')) {
        assert!(l.starts_with("    ") && l.ends_with(" µs)"), "{l:?}");
    }

    // One narration per step: as many as --explain=json records.
    let j = run(&h, &b, &unique_id("explain-json"), &["--explain=json"]);
    assert_eq!(ok(&j), "hi\n");
    let records = json_lines(&stderr(&j));
    assert_eq!(
        steps.len(),
        records.len(),
        "text:\n{text}\njson:\n{}",
        stderr(&j)
    );
    let json_names: Vec<String> = records.iter().map(check_record).collect();
    let text_names: Vec<String> = steps.iter().map(|(_, s, _)| s.clone()).collect();
    assert_eq!(
        text_names.iter().collect::<BTreeSet<_>>(),
        json_names.iter().collect::<BTreeSet<_>>()
    );
}

#[test]
fn explain_with_a_terminal_goes_to_stderr_not_the_pty() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.args(&["echo", "hi-from-the-tty"])
        .set("/process/terminal", json!(true));
    b.write();
    let id = unique_id("explain-tty");
    let err = b.path().join("husk.stderr");
    // script(1) gives husk a real terminal; husk's stderr goes to a file,
    // its stdout (the relayed pty) to script's.
    let cmd = format!(
        "{} --root {} run --explain --bundle {} {id} 2>{}",
        HUSK,
        h.root.path().display(),
        b.path().display(),
        err.display()
    );
    let mut c = Command::new("script");
    c.args(["-qec", &cmd, "/dev/null"]);
    let o = run_cmd(c, &b.path().join("script.out"));
    let pty = stdout(&o);
    assert!(o.status.success(), "{pty}\n{}", stderr(&o));
    assert!(pty.contains("hi-from-the-tty"), "{pty}");
    for word in ["µs", "clone", "pivot", "init "] {
        assert!(!pty.contains(word), "{word:?} on the terminal: {pty}");
    }
    let text = std::fs::read_to_string(&err).unwrap();
    let names: BTreeSet<String> = text_steps(&text).into_iter().map(|(_, s, _)| s).collect();
    for s in ["clone", "pivot-root", "open-terminal", "attach-terminal"] {
        assert!(names.contains(s), "{s} narrated on stderr: {text}");
    }
}

// ---------------------------------------------------------------------------
// --explain=json.

#[test]
fn explain_json_is_one_object_per_line() {
    let h = Husk::new();
    let b = echo_bundle();
    let o = run(&h, &b, &unique_id("json"), &["--explain=json"]);
    assert_eq!(ok(&o), "hi\n");
    let records = json_lines(&stderr(&o));
    let steps = steps_of(&records);
    assert!(
        steps.contains("clone") && steps.contains("pivot-root"),
        "{steps:?}"
    );
    for r in &records {
        assert!(
            !r["why"].as_str().unwrap().is_empty(),
            "every step says why: {r}"
        );
    }
    // husk's own steps run one after another: their starts increase.
    let husk_starts: Vec<u64> = records
        .iter()
        .filter(|r| r["process"] == "husk")
        .map(|r| r["start_us"].as_u64().unwrap())
        .collect();
    assert!(husk_starts.len() >= 2, "{records:?}");
    assert!(
        husk_starts.windows(2).all(|w| w[0] < w[1]),
        "husk's start_us increase: {husk_starts:?}"
    );
    let find = |s: &str| records.iter().find(|r| r["step"] == s).unwrap();
    assert_eq!(find("clone")["process"], "husk");
    assert_eq!(find("pivot-root")["process"], "init");
    assert!(
        find("pivot-root")["start_us"].as_u64() > find("clone")["start_us"].as_u64(),
        "the init pivots after it was cloned"
    );
}

#[test]
fn create_explain_json_then_start() {
    let h = Husk::new();
    let b = echo_bundle();
    b.write();
    let id = unique_id("create-json");
    let o = husk(
        &h,
        &b,
        &id,
        &["create", "--explain=json", "--bundle", b.arg(), &id],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let records = json_lines(&stderr(&o));
    let steps = steps_of(&records);
    assert!(
        steps.contains("clone") && steps.contains("pivot-root"),
        "{steps:?}"
    );
    assert!(
        records.iter().any(|r| r["process"] == "init"),
        "the init narrates too: {records:?}"
    );
    assert_eq!(h.status(&id), "created");

    ok(&h.cmd(&["start", &id]));
    h.wait_status(&id, "stopped");
    // The container wrote to create's stdout; the narration (by now with
    // the init's wait for start) stays JSON on create's stderr.
    let out = b.path().join(format!("{id}.out"));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "hi\n");
    let err = std::fs::read_to_string(out.with_extension("stderr")).unwrap();
    let after = json_lines(&err);
    assert!(after.len() >= records.len());
    steps_of(&after);
    ok(&h.cmd(&["delete", &id]));
}

// ---------------------------------------------------------------------------
// --explain=svg FILE.

#[test]
fn explain_svg_draws_one_bar_per_step() {
    let h = Husk::new();
    let b = echo_bundle();
    let svg = b.path().join("timeline.svg");
    let o = run(
        &h,
        &b,
        &unique_id("svg"),
        &["--explain=svg", svg.to_str().unwrap()],
    );
    assert_eq!(ok(&o), "hi\n");
    assert_eq!(stderr(&o), "", "the timeline goes to the file only");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg "), "{text}");
    assert!(text.trim_end().ends_with("</svg>"), "{text}");
    assert!(text.contains("pivot-root"), "{text}");
    let rects = text.matches("<rect").count();
    assert_eq!(rects, text.matches("<title>").count(), "{text}");

    // The same run as JSON records exactly as many steps.
    let j = run(&h, &b, &unique_id("svg-json"), &["--explain=json"]);
    ok(&j);
    let records = json_lines(&stderr(&j));
    assert_eq!(rects, records.len(), "one <rect per step:\n{text}");
    for r in &records {
        let step = r["step"].as_str().unwrap();
        assert!(text.contains(&format!(">{step}</text>")), "{step}: {text}");
    }
}

#[test]
fn explain_with_an_unknown_mode_fails_clearly() {
    let h = Husk::new();
    let b = echo_bundle();
    for cmd in ["run", "create"] {
        b.write();
        let id = unique_id("nonsense");
        let o = husk(
            &h,
            &b,
            &id,
            &[cmd, "--explain=nonsense", "--bundle", b.arg(), &id],
        );
        let e = fails(&o);
        assert!(
            e.contains("--explain=nonsense") && e.contains("--explain=json"),
            "{cmd}: the error names the bad mode and the good ones: {e}"
        );
        assert_eq!(stdout(&o), "", "{cmd}: nothing ran");
        let st = fails(&h.cmd(&["state", &id]));
        assert!(st.contains("container does not exist"), "{st}");
    }
}

// ---------------------------------------------------------------------------
// husk inspect.

/// A running `sleep` with a pids limit and two more capabilities than the
/// busybox bundle's three.
fn sleeper() -> Bundle {
    let mut b = Bundle::new();
    b.args(&["sleep", "60"])
        .set("/linux/resources/pids/limit", json!(10));
    for set in ["bounding", "effective", "permitted"] {
        let caps = b.config["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap();
        caps.push(json!("CAP_CHOWN"));
        caps.push(json!("CAP_NET_RAW"));
    }
    b
}

const OWN: [&str; 6] = ["pid", "mount", "network", "ipc", "uts", "cgroup"];

#[test]
fn inspect_table_shows_the_hosts_view() {
    let h = Husk::new();
    let b = sleeper();
    let id = unique_id("inspect-table");
    let pid = h.run_detached(&b, &id);
    let t = ok(&h.cmd(&["inspect", &id]));

    assert!(t.starts_with(&format!("container {id}  (running)")), "{t}");
    assert!(
        t.contains(&format!("host PID {pid}  =  PID 1 inside")),
        "the host PID is husk state's: {t}"
    );
    for typ in OWN {
        let line = t
            .lines()
            .find(|l| l.split_whitespace().next() == Some(typ))
            .unwrap_or_else(|| panic!("no {typ} line: {t}"));
        assert!(line.trim_end().ends_with(" own"), "{line}");
        assert!(line.contains(&proc_ns(pid, ns_file(typ))), "{line}");
    }
    let user = t
        .lines()
        .find(|l| l.split_whitespace().next() == Some("user"))
        .unwrap();
    assert!(user.ends_with("shared with the host"), "{user}");
    let caps = t
        .lines()
        .find(|l| l.trim_start().starts_with("capabilities effective"))
        .unwrap_or_else(|| panic!("{t}"));
    for c in [
        "CAP_CHOWN",
        "CAP_KILL",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_RAW",
        "CAP_AUDIT_WRITE",
    ] {
        assert!(caps.contains(c), "{c}: {caps}");
    }
    assert!(caps.contains("effective 5 of the host's"), "{caps}");
    assert!(t.contains("seccomp      disabled"), "{t}");
    assert!(t.contains("no_new_privs true"), "{t}");
    let mounts = t
        .lines()
        .find(|l| l.trim_start().starts_with("mounts"))
        .unwrap();
    let nums: Vec<usize> = mounts
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(nums.len(), 2, "{mounts}");
    assert!(nums[0] > 0 && nums[1] > 0, "{mounts}");
    assert!(mounts.contains("in the container") && mounts.contains("on the host"));
    assert!(t.contains("limit 10"), "pids limit: {t}");
    ok(&h.cmd(&["delete", "--force", &id]));
}

#[test]
fn inspect_json_matches_the_kernel() {
    let h = Husk::new();
    let b = sleeper();
    let id = unique_id("inspect-json");
    let pid = h.run_detached(&b, &id);
    let v = h.inspect_json(&id);

    assert_eq!(v["id"], id.as_str());
    assert_eq!(v["status"], "running");
    assert_eq!(v["pid"]["host"], h.state(&id)["pid"]);
    assert_eq!(v["pid"]["host"], pid);
    assert_eq!(v["pid"]["container"], 1);

    let nss = v["namespaces"].as_array().unwrap();
    let pid_s = pid.to_string();
    for n in nss {
        let typ = n["type"].as_str().unwrap();
        let file = ns_file(typ);
        assert_eq!(n["container"], proc_ns(&pid_s, file).as_str(), "{n}");
        assert_eq!(n["host"], proc_ns("self", file).as_str(), "{n}");
        assert_eq!(n["isolated"], n["container"] != n["host"], "{n}");
        let want = OWN.contains(&typ);
        assert_eq!(n["isolated"], want, "{typ}: {n}");
    }
    for typ in OWN {
        assert!(nss.iter().any(|n| n["type"] == typ), "{typ} listed: {v}");
    }

    let eff: Vec<String> = v["capabilities"]["effective"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(eff, decode_caps(&proc_status_field(pid, "CapEff")));
    assert_eq!(
        eff,
        [
            "CAP_CHOWN",
            "CAP_KILL",
            "CAP_NET_BIND_SERVICE",
            "CAP_NET_RAW",
            "CAP_AUDIT_WRITE"
        ]
    );
    for (k, field) in [
        ("permitted", "CapPrm"),
        ("bounding", "CapBnd"),
        ("inheritable", "CapInh"),
        ("ambient", "CapAmb"),
    ] {
        let got: Vec<String> = v["capabilities"][k]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, decode_caps(&proc_status_field(pid, field)), "{k}");
    }

    assert_eq!(v["seccomp"], "disabled");
    assert_eq!(v["noNewPrivs"], true);
    let uid = proc_status_field(pid, "Uid");
    assert_eq!(
        v["user"]["uid"],
        uid.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .as_str()
    );

    let paths = v["cgroup"]["paths"].as_array().unwrap();
    assert!(!paths.is_empty(), "{v}");
    for p in paths {
        let p = Path::new(p.as_str().unwrap());
        assert!(p.is_dir(), "{} exists on the host", p.display());
        assert!(p.ends_with(&id), "{}", p.display());
        let procs = std::fs::read_to_string(p.join("cgroup.procs")).unwrap();
        assert!(
            procs.lines().any(|l| l.trim() == pid_s),
            "{pid} in {}: {procs}",
            p.display()
        );
    }
    assert_eq!(v["cgroup"]["pids"]["limit"], 10, "{v}");
    assert_eq!(v["cgroup"]["pids"]["current"], 1, "{v}");

    let mountinfo = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap();
    assert_eq!(v["mounts"]["container"], mountinfo.lines().count());
    assert!(v["mounts"]["host"].as_u64().unwrap() > 0);

    ok(&h.cmd(&["delete", "--force", &id]));
    // Its cgroups went with it.
    for p in paths {
        assert!(!Path::new(p.as_str().unwrap()).exists(), "{p} left behind");
    }
}

#[test]
fn inspect_reports_a_seccomp_filter() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.args(&["sleep", "60"])
        .set("/linux/seccomp", mkdir_seccomp("SCMP_ACT_ERRNO"));
    let id = unique_id("inspect-sc");
    let pid = h.run_detached(&b, &id);
    assert_eq!(proc_status_field(pid, "Seccomp"), "2");
    let v = h.inspect_json(&id);
    assert_eq!(v["seccomp"], "filter", "{v}");
    let t = ok(&h.cmd(&["inspect", &id]));
    assert!(t.contains("seccomp      filter"), "{t}");
    ok(&h.cmd(&["delete", "--force", &id]));
}

#[test]
fn inspect_shows_the_user_namespace_maps() {
    let h = Husk::new();
    let mut b = Bundle::new();
    // Root in the user namespace is uid 100000 on the host: it must be
    // able to reach the bundle.
    std::fs::set_permissions(b.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let map = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    b.args(&["sleep", "60"])
        .add_namespace("user", None)
        .set("/linux/uidMappings", map.clone())
        .set("/linux/gidMappings", map);
    let id = unique_id("inspect-userns");
    h.run_detached(&b, &id);
    let v = h.inspect_json(&id);
    assert_eq!(v["uidMap"], json!(["0 100000 65536"]), "{v}");
    assert_eq!(v["gidMap"], json!(["0 100000 65536"]), "{v}");
    assert_eq!(v["user"]["uid"], "100000 100000 100000 100000", "{v}");
    let user = v["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["type"] == "user")
        .unwrap();
    assert_eq!(user["isolated"], true, "{v}");
    let t = ok(&h.cmd(&["inspect", &id]));
    assert!(t.contains("uid_map      0 100000 65536"), "{t}");
    ok(&h.cmd(&["delete", "--force", &id]));
}

#[test]
fn inspect_refuses_stopped_and_unknown_containers() {
    let h = Husk::new();
    let mut b = Bundle::new();
    b.args(&["true"]);
    let id = unique_id("inspect-stopped");
    let o = run(&h, &b, &id, &["--keep"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(h.status(&id), "stopped");
    for format in ["table", "json"] {
        let e = fails(&h.cmd(&["inspect", "--format", format, &id]));
        assert!(e.contains("container not running"), "{e}");
    }
    ok(&h.cmd(&["delete", &id]));

    let e = fails(&h.cmd(&["inspect", &unique_id("no-such")]));
    assert!(e.contains("container does not exist"), "{e}");
}
