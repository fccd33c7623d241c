//! The differential harness: every case of the corpus in
//! `tests/compat/configs/<source>/<case>/` runs under runc (the oracle) and
//! under husk, and what the container observes must be the same.
//!
//! ```sh
//! cargo test --test compat                          # every case (as root)
//! HUSK_COMPAT_FILTER=handmade/ cargo test --test compat   # cases whose "source/case" contains it
//! HUSK_COMPAT_JOBS=1 ...                            # cases at a time (default 3)
//! HUSK_COMPAT_KEEP=1 ...                            # keep each run's directory (bundle, config.json, output)
//! HUSK_COMPAT_TIMEOUT=5 ...                         # seconds before a run counts as a hang (default 30)
//! ```
//!
//! It is not part of the plain `cargo test` (`test = false` in Cargo.toml):
//! it runs runc, and its cases are meant to fail until husk matches.
//!
//! ## Adding a case
//!
//! Make `tests/compat/configs/<source>/<case>/case.json` (the format is in
//! `tests/compat/README.md`), with a `config.json` beside it or a `generate`
//! command, and run the harness with `HUSK_COMPAT_FILTER=<source>/<case>`.
//! Derive from `runc spec` with `generate` + `patch` rather than copying the
//! whole config; prepare the root filesystem with `rootfs_setup`.
//!
//! ## What a run is
//!
//! For each runtime the harness builds a private run directory
//! (`/tmp/husk-compat-<id>-XXXX`: `bundle/` with a `cp -a` copy of the busybox
//! rootfs and the normalised `config.json`, `root/` for `--root`, `binds/` for
//! recreated bind sources), runs `RUNTIME --root root run --bundle bundle
//! <id>` with stdin /dev/null and stdout/stderr in files, with a 30 s limit,
//! then `delete --force`, then checks that nothing is left behind (state,
//! cgroups, host mounts, processes) and cleans up. The process is
//! `tests/compat/probe.sh` (copied to `/.husk-probe.sh`), which prints
//! `key: value` lines; [`normalise_output`] removes what differs between two
//! runs of the same runtime (namespace inodes, peer group numbers, the run
//! directory, the id, the cgroup path).
//!
//! ## Reading a failure
//!
//! ```text
//! FAIL runc-spec/default: probe output differs (2 lines)
//!     - status.CapInh: 00000000200004a0      <- runc saw this line, husk did not
//!     + status.CapInh: 0000000000000000      <- husk saw this line, runc did not
//! ```
//!
//! Other reasons: `exit status: runc 0, husk 1` (then husk's stderr is
//! shown), `hang (husk)` (killed after 30 s), `husk left behind: ...` (a
//! state directory, a cgroup directory, a host mount or a process after
//! `delete --force`), `husk did not refuse` / `husk's error does not say
//! ...` for `expect: refuse` cases. Lines starting with `runc:` are for the
//! record (what runc did, what runc left behind). Rerun one case with
//! `HUSK_COMPAT_FILTER` and `HUSK_COMPAT_KEEP=1` to look at its bundles.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long one `run` may take before it counts as a hang (seconds;
/// HUSK_COMPAT_TIMEOUT overrides).
const RUN_TIMEOUT: u64 = 30;
/// How long `delete --force` may take.
const DELETE_TIMEOUT: Duration = Duration::from_secs(10);
/// Where the probe is in every rootfs copy (no config mounts over it).
const PROBE: &str = "/.husk-probe.sh";
/// At most this many differing lines are printed per case.
const MAX_DIFF: usize = 80;
/// The case.json fields this harness knows (others are reported, not fatal).
const FIELDS: &[&str] = &[
    "from",
    "generate",
    "patch",
    "file_sources",
    "args",
    "expect",
    "refusal",
    "why",
    "rootfs_setup",
    "differs",
];

fn main() {
    if let Err(e) = self_test() {
        println!("FAIL self-test: {e}");
        std::process::exit(1);
    }
    println!("PASS self-test (patch, config and output normalisation, diff)");
    common::require_root();

    let Some(runc) = find_runc() else {
        println!("FAIL runc: not found (PATH, /usr/sbin/runc); it is the oracle, install it");
        std::process::exit(1);
    };
    let host = Arc::new(Host::new(runc));
    let filter = std::env::var("HUSK_COMPAT_FILTER").unwrap_or_default();
    let cases: Vec<Case> = load_cases()
        .into_iter()
        .filter(|c| c.label().contains(&filter))
        .collect();
    if cases.is_empty() {
        println!("FAIL no cases under tests/compat/configs match {filter:?}");
        std::process::exit(1);
    }
    let jobs: usize = std::env::var("HUSK_COMPAT_JOBS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
        .max(1);

    let queue = Arc::new(Mutex::new(cases));
    let results = Arc::new(Mutex::new(Vec::<(String, String, bool)>::new()));
    let threads: Vec<_> = (0..jobs)
        .map(|_| {
            let (queue, results, host) = (queue.clone(), results.clone(), host.clone());
            std::thread::spawn(move || {
                loop {
                    let Some(case) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    let verdict = run_case(&host, &case);
                    let mut r = results.lock().unwrap();
                    // Printed under the lock: one case's lines stay together.
                    print_verdict(&case.label(), &verdict);
                    r.push((case.source.clone(), case.label(), verdict.pass));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a case thread panicked");
    }

    let results = results.lock().unwrap();
    let mut per_source: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (source, _, pass) in results.iter() {
        let e = per_source.entry(source).or_default();
        if *pass { e.0 += 1 } else { e.1 += 1 }
    }
    println!("\nSummary (husk against {}):", host.runc.display());
    for (source, (p, f)) in &per_source {
        println!("  {source:<12} {p:>3} pass {f:>3} fail");
    }
    let fails = results.iter().filter(|r| !r.2).count();
    println!(
        "  total        {:>3} pass {fails:>3} fail ({} cases)",
        results.len() - fails,
        results.len()
    );
    let mut failed: Vec<&str> = results
        .iter()
        .filter(|r| !r.2)
        .map(|r| r.1.as_str())
        .collect();
    failed.sort();
    if !failed.is_empty() {
        println!("  failed: {}", failed.join(" "));
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------
// The corpus.

struct Case {
    source: String,
    name: String,
    dir: PathBuf,
    meta: Value,
}

impl Case {
    fn label(&self) -> String {
        format!("{}/{}", self.source, self.name)
    }
    fn str(&self, key: &str) -> Option<&str> {
        self.meta.get(key).and_then(Value::as_str)
    }
    fn keep_args(&self) -> bool {
        self.str("args") == Some("keep")
    }
    fn list(&self, key: &str) -> Vec<String> {
        self.meta
            .get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Every `configs/*/*/case.json`, sorted (the queue pops from the end, so
/// reversed: cases start in name order). An unreadable case.json is a case
/// whose `meta` is the error string, failed by [`run_case`].
fn load_cases() -> Vec<Case> {
    let root = common::repo().join("tests/compat/configs");
    let mut cases = Vec::new();
    for src in sorted_dirs(&root) {
        for dir in sorted_dirs(&src) {
            let file = dir.join("case.json");
            if !file.exists() {
                continue;
            }
            let meta = std::fs::read_to_string(&file)
                .map_err(|e| e.to_string())
                .and_then(|t| serde_json::from_str::<Value>(&t).map_err(|e| e.to_string()))
                .unwrap_or_else(|e| Value::String(format!("{}: {e}", file.display())));
            cases.push(Case {
                source: name_of(&src),
                name: name_of(&dir),
                dir,
                meta,
            });
        }
    }
    cases.reverse();
    cases
}

fn sorted_dirs(p: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn name_of(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// The case's config before normalisation: config.json or `generate`'s
/// output, with `patch` applied.
fn base_config(case: &Case) -> Result<Value, String> {
    let mut config = match case.meta.get("generate") {
        Some(Value::Array(cmd)) => {
            let cmd: Vec<&str> = cmd.iter().filter_map(Value::as_str).collect();
            let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
            let o = Command::new(cmd[0])
                .args(&cmd[1..])
                .current_dir(tmp.path())
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("generate {cmd:?}: {e}"))?;
            if !o.status.success() {
                return Err(format!(
                    "generate {cmd:?}: {}",
                    String::from_utf8_lossy(&o.stderr)
                ));
            }
            read_json(&tmp.path().join("config.json"))?
        }
        Some(other) => return Err(format!("generate must be a list of strings, not {other}")),
        None => read_json(&case.dir.join("config.json"))?,
    };
    if let Some(ops) = case.meta.get("patch") {
        let ops = ops.as_array().ok_or("patch must be a list")?;
        apply_patch(&mut config, ops).map_err(|e| format!("patch: {e}"))?;
    }
    Ok(config)
}

fn read_json(p: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))
}

// ---------------------------------------------------------------------------
// JSON Patch (RFC 6902): add, replace, remove; "-" appends to an array.

fn apply_patch(doc: &mut Value, ops: &[Value]) -> Result<(), String> {
    for (i, op) in ops.iter().enumerate() {
        let kind = op["op"].as_str().ok_or(format!("[{i}]: no op"))?;
        let path = op["path"].as_str().ok_or(format!("[{i}]: no path"))?;
        let value = || op.get("value").cloned().ok_or(format!("[{i}]: no value"));
        let r = match kind {
            "add" => patch_add(doc, path, value()?),
            "replace" => patch_replace(doc, path, value()?),
            "remove" => patch_remove(doc, path),
            other => Err(format!("unsupported op {other:?}")),
        };
        r.map_err(|e| format!("[{i}] {kind} {path}: {e}"))?;
    }
    Ok(())
}

/// A JSON pointer's parent pointer and its last token, unescaped.
fn split_pointer(path: &str) -> Result<(String, String), String> {
    let (parent, last) = path.rsplit_once('/').ok_or("not a JSON pointer")?;
    Ok((
        parent.to_string(),
        last.replace("~1", "/").replace("~0", "~"),
    ))
}

fn parent_of<'a>(doc: &'a mut Value, parent: &str) -> Result<&'a mut Value, String> {
    doc.pointer_mut(parent)
        .ok_or(format!("{parent:?} does not exist"))
}

fn index(token: &str, len: usize) -> Result<usize, String> {
    match token.parse::<usize>() {
        Ok(i) if i < len => Ok(i),
        _ => Err(format!("bad array index {token:?} (length {len})")),
    }
}

fn patch_add(doc: &mut Value, path: &str, v: Value) -> Result<(), String> {
    if path.is_empty() {
        *doc = v;
        return Ok(());
    }
    let (parent, key) = split_pointer(path)?;
    match parent_of(doc, &parent)? {
        Value::Object(o) => {
            o.insert(key, v);
        }
        Value::Array(a) if key == "-" => a.push(v),
        Value::Array(a) => {
            let i = index(&key, a.len() + 1)?;
            a.insert(i, v);
        }
        _ => return Err("the parent is not an object or array".into()),
    }
    Ok(())
}

fn patch_replace(doc: &mut Value, path: &str, v: Value) -> Result<(), String> {
    let target = doc.pointer_mut(path).ok_or("does not exist")?;
    *target = v;
    Ok(())
}

fn patch_remove(doc: &mut Value, path: &str) -> Result<(), String> {
    let (parent, key) = split_pointer(path)?;
    match parent_of(doc, &parent)? {
        Value::Object(o) => o.remove(&key).map(drop).ok_or("does not exist".into()),
        Value::Array(a) => {
            let i = index(&key, a.len())?;
            a.remove(i);
            Ok(())
        }
        _ => Err("the parent is not an object or array".into()),
    }
}

// ---------------------------------------------------------------------------
// The host: what runs are compared against.

struct Host {
    runc: PathBuf,
    /// This process's namespace links, by name ("net" -> "net:[4026531833]").
    ns: HashMap<String, String>,
    /// Every cgroup hierarchy under /sys/fs/cgroup, with our own cgroup.
    hiers: Vec<common::Hier>,
}

impl Host {
    fn new(runc: PathBuf) -> Host {
        let mut ns = HashMap::new();
        for e in std::fs::read_dir("/proc/self/ns").unwrap().flatten() {
            if let Ok(t) = std::fs::read_link(e.path()) {
                ns.insert(name_of(&e.path()), t.to_string_lossy().into_owned());
            }
        }
        Host {
            runc,
            ns,
            hiers: common::hierarchies(),
        }
    }
}

fn find_runc() -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|d| d.join("runc"))
        .find(|p| p.is_file())
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Runtime {
    Runc,
    Husk,
}

impl Runtime {
    fn name(self) -> &'static str {
        match self {
            Runtime::Runc => "runc",
            Runtime::Husk => "husk",
        }
    }
}

// ---------------------------------------------------------------------------
// One run of a case under one runtime.

/// A run's private names: the container id is also the cgroup's name and
/// part of the run directory's.
struct Ctx {
    id: String,
    dir: PathBuf,
}

impl Ctx {
    fn bundle(&self) -> PathBuf {
        self.dir.join("bundle")
    }
    fn rootfs(&self) -> PathBuf {
        self.dir.join("bundle/rootfs")
    }
    fn state_root(&self) -> PathBuf {
        self.dir.join("root")
    }
}

#[derive(Default)]
struct Run {
    /// None: it hung and was killed.
    status: Option<i32>,
    /// stdout through [`normalise_output`].
    norm: Vec<String>,
    stderr: String,
    /// What was left behind after `delete --force` (already cleaned up).
    left: Vec<String>,
}

fn unique_id(rt: Runtime) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "hc-{}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        rt.name()
    )
}

fn run_once(host: &Host, case: &Case, base: &Value, rt: Runtime) -> Result<Run, String> {
    let id = unique_id(rt);
    let tmp = tempfile::Builder::new()
        .prefix(&format!("husk-compat-{id}-"))
        .tempdir()
        .map_err(|e| e.to_string())?;
    let ctx = Ctx {
        id,
        dir: tmp.path().to_path_buf(),
    };
    let r = run_in(host, case, base, rt, &ctx);
    let clean = cleanup(host, &ctx);
    if std::env::var_os("HUSK_COMPAT_KEEP").is_some() || !clean {
        // A mount we could not remove: deleting the directory could reach
        // through it into the host.
        let kept = tmp.keep();
        eprintln!("{}: kept {}", case.label(), kept.display());
    }
    r
}

fn run_in(host: &Host, case: &Case, base: &Value, rt: Runtime, ctx: &Ctx) -> Result<Run, String> {
    std::fs::create_dir_all(ctx.bundle()).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(ctx.state_root()).map_err(|e| e.to_string())?;
    sh(&format!(
        "cp -a '{}' '{}'",
        common::base_rootfs().display(),
        ctx.rootfs().display()
    ))?;
    for cmd in case.list("rootfs_setup") {
        let o = Command::new("sh")
            .args(["-euc", &cmd])
            .current_dir(ctx.rootfs())
            .output()
            .map_err(|e| e.to_string())?;
        if !o.status.success() {
            return Err(format!(
                "rootfs_setup {cmd:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            ));
        }
    }
    let probe = ctx.rootfs().join(PROBE.trim_start_matches('/'));
    std::fs::copy(common::repo().join("tests/compat/probe.sh"), &probe)
        .map_err(|e| format!("copy the probe: {e}"))?;
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o644))
        .map_err(|e| e.to_string())?;

    let mut config = base.clone();
    normalise_config(&mut config, case, ctx)?;
    std::fs::write(
        ctx.bundle().join("config.json"),
        serde_json::to_vec_pretty(&config).unwrap(),
    )
    .map_err(|e| e.to_string())?;

    // runc without a mount namespace makes every mount of its caller's
    // rslave (and leaves its own mounts there): it runs fenced in a mount
    // namespace of its own, so the host is never changed. husk touches
    // only what it mounts, and is checked in the harness's own namespace.
    let fence = rt == Runtime::Runc && !has_mount_ns(&config);
    let (status, stdout, stderr) = runtime(
        host,
        rt,
        ctx,
        &["run", "--bundle", ctx.bundle().to_str().unwrap(), &ctx.id],
        run_timeout(),
        fence,
    )?;
    let _ = runtime(
        host,
        rt,
        ctx,
        &["delete", "--force", &ctx.id],
        DELETE_TIMEOUT,
        fence,
    );
    let mut norm = normalise_output(host, ctx, &stdout);
    if fence {
        // The fence's namespace is the one runc's container shares.
        for l in norm.iter_mut().filter(|l| *l == "ns.mnt: new") {
            *l = "ns.mnt: host".into();
        }
    }
    Ok(Run {
        status,
        norm,
        stderr,
        left: leftovers(host, ctx),
    })
}

fn sh(script: &str) -> Result<(), String> {
    let o = Command::new("sh")
        .args(["-c", script])
        .output()
        .map_err(|e| e.to_string())?;
    if o.status.success() {
        Ok(())
    } else {
        Err(format!("{script}: {}", String::from_utf8_lossy(&o.stderr)))
    }
}

/// Run the runtime with the run's --root; (exit status or None if it was
/// killed after `timeout`, stdout, stderr). A hung `run` is followed by
/// `delete --force`.
fn runtime(
    host: &Host,
    rt: Runtime,
    ctx: &Ctx,
    args: &[&str],
    timeout: Duration,
    fence: bool,
) -> Result<(Option<i32>, String, String), String> {
    let bin = match rt {
        Runtime::Runc => host.runc.clone(),
        Runtime::Husk => PathBuf::from(common::HUSK),
    };
    let mut c = if fence {
        let mut c = Command::new("unshare");
        c.args(["--mount", "--propagation", "slave", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    c.arg("--root").arg(ctx.state_root()).args(args);
    // Files, not pipes: a container left running would hold a pipe open.
    let out = ctx.dir.join(format!("{}.stdout", args[0]));
    let err = ctx.dir.join(format!("{}.stderr", args[0]));
    let f = |p: &Path| File::create(p).map_err(|e| e.to_string());
    c.stdin(Stdio::null()).stdout(f(&out)?).stderr(f(&err)?);
    let mut child = c.spawn().map_err(|e| format!("spawn {c:?}: {e}"))?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(code(s));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            if args[0] == "run" {
                let _ = runtime(
                    host,
                    rt,
                    ctx,
                    &["delete", "--force", &ctx.id],
                    DELETE_TIMEOUT,
                    fence,
                );
            }
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    Ok((status, read(&out), read(&err)))
}

/// Whether the (normalised) config asks for a mount namespace.
fn has_mount_ns(config: &Value) -> bool {
    config["linux"]["namespaces"]
        .as_array()
        .is_some_and(|l| l.iter().any(|n| n["type"] == "mount"))
}

/// The shell's convention: the exit code, or 128 + the signal.
fn code(s: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0))
}

// ---------------------------------------------------------------------------
// Normalising the config (documented in tests/compat/README.md).

fn normalise_config(c: &mut Value, case: &Case, ctx: &Ctx) -> Result<(), String> {
    if !c.is_object() {
        return Err("config.json is not an object".into());
    }
    // root.path: the private rootfs copy (root.readonly is kept).
    match c.get_mut("root") {
        Some(Value::Object(r)) => {
            r.insert("path".into(), json!("rootfs"));
        }
        _ => c["root"] = json!({"path": "rootfs"}),
    }
    // The process: the probe, without a terminal.
    let sysctls: Vec<String> = c
        .pointer("/linux/sysctl")
        .and_then(Value::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    if let Some(Value::Object(p)) = c.get_mut("process") {
        if !case.keep_args() {
            let mut args = vec!["/bin/sh".to_string(), PROBE.to_string()];
            args.extend(sysctls);
            p.insert("args".into(), json!(args));
        }
        p.insert("terminal".into(), json!(false));
        // rlimits above our own hard limit: lowered to it (no CAP_SYS_RESOURCE).
        if let Some(Value::Array(rl)) = p.get_mut("rlimits") {
            for r in rl.iter_mut() {
                clamp_rlimit(r);
            }
        }
    }
    // LSM labels for an LSM this host does not have: both runtimes can only
    // fail on them.
    if !apparmor_enabled()
        && let Some(Value::Object(p)) = c.get_mut("process")
    {
        p.remove("apparmorProfile");
    }
    if !selinux_enabled() {
        if let Some(Value::Object(p)) = c.get_mut("process") {
            p.remove("selinuxLabel");
        }
        if let Some(Value::Object(l)) = c.get_mut("linux") {
            l.remove("mountLabel");
        }
    }
    // Hooks call the capturing engine's binaries.
    c.as_object_mut().unwrap().remove("hooks");
    if !c.get("linux").is_some_and(Value::is_object) {
        c["linux"] = json!({});
    }
    let linux = c["linux"].as_object_mut().unwrap();
    // Namespace paths name the capturing engine's processes: new ones.
    if let Some(Value::Array(ns)) = linux.get_mut("namespaces") {
        for n in ns.iter_mut().filter_map(Value::as_object_mut) {
            n.remove("path");
        }
    }
    // A unique cgroup below our own (relative), removed afterwards.
    linux.insert("cgroupsPath".into(), json!(ctx.id));
    // Bind sources that do not exist here: empty ones in the run directory.
    let files = case.list("file_sources");
    if let Some(Value::Array(mounts)) = c.get_mut("mounts") {
        for m in mounts.iter_mut() {
            let is_bind = m["type"] == "bind"
                || m["options"]
                    .as_array()
                    .is_some_and(|o| o.iter().any(|x| x == "bind" || x == "rbind"));
            let Some(src) = m["source"].as_str().map(String::from) else {
                continue;
            };
            if !is_bind || !src.starts_with('/') || Path::new(&src).exists() {
                continue;
            }
            let new = ctx.dir.join("binds").join(src.trim_start_matches('/'));
            let made = if files.contains(&src) {
                std::fs::create_dir_all(new.parent().unwrap())
                    .and_then(|_| File::create(&new).map(drop))
            } else {
                std::fs::create_dir_all(&new)
            };
            made.map_err(|e| format!("make bind source {}: {e}", new.display()))?;
            m["source"] = json!(new);
        }
    }
    Ok(())
}

fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.starts_with('Y'))
}

fn selinux_enabled() -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .is_ok_and(|m| m.lines().any(|l| l.contains(" - selinuxfs ")))
}

fn clamp_rlimit(r: &mut Value) {
    let Some(res) = r["type"].as_str().and_then(rlimit_resource) else {
        return;
    };
    let mut ours = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct we pass.
    if unsafe { libc::getrlimit(res, &mut ours) } != 0 || ours.rlim_max == libc::RLIM_INFINITY {
        return;
    }
    let max = ours.rlim_max;
    if r["hard"].as_u64().is_some_and(|h| h > max) {
        r["hard"] = json!(max);
        if r["soft"].as_u64().is_some_and(|s| s > max) {
            r["soft"] = json!(max);
        }
    }
}

fn rlimit_resource(name: &str) -> Option<libc::__rlimit_resource_t> {
    Some(match name {
        "RLIMIT_AS" => libc::RLIMIT_AS,
        "RLIMIT_CORE" => libc::RLIMIT_CORE,
        "RLIMIT_CPU" => libc::RLIMIT_CPU,
        "RLIMIT_DATA" => libc::RLIMIT_DATA,
        "RLIMIT_FSIZE" => libc::RLIMIT_FSIZE,
        "RLIMIT_LOCKS" => libc::RLIMIT_LOCKS,
        "RLIMIT_MEMLOCK" => libc::RLIMIT_MEMLOCK,
        "RLIMIT_MSGQUEUE" => libc::RLIMIT_MSGQUEUE,
        "RLIMIT_NICE" => libc::RLIMIT_NICE,
        "RLIMIT_NOFILE" => libc::RLIMIT_NOFILE,
        "RLIMIT_NPROC" => libc::RLIMIT_NPROC,
        "RLIMIT_RSS" => libc::RLIMIT_RSS,
        "RLIMIT_RTPRIO" => libc::RLIMIT_RTPRIO,
        "RLIMIT_RTTIME" => libc::RLIMIT_RTTIME,
        "RLIMIT_SIGPENDING" => libc::RLIMIT_SIGPENDING,
        "RLIMIT_STACK" => libc::RLIMIT_STACK,
        _ => return None,
    })
}

// ---------------------------------------------------------------------------
// Normalising what the probe printed.

fn normalise_output(host: &Host, ctx: &Ctx, raw: &str) -> Vec<String> {
    // Longest first: the run directory contains the id, and a cgroup path
    // below our own contains both our path and the id.
    let mut subst: Vec<(String, String)> = vec![(ctx.dir.display().to_string(), "<run>".into())];
    for h in &host.hiers {
        if h.own != "/" {
            subst.push((format!("{}/{}", h.own, ctx.id), "<cgroup>".into()));
        }
    }
    subst.push((format!("/{}", ctx.id), "<cgroup>".into()));
    subst.push((ctx.id.clone(), "<id>".into()));
    let mut out: Vec<String> = raw
        .lines()
        .map(|line| {
            let line = match line.split_once(": ") {
                Some((k, v)) if k.starts_with("ns.") => {
                    let own = host.ns.get(&k[3..]);
                    let v = if v.starts_with('<') {
                        v
                    } else if own.map(String::as_str) == Some(v) {
                        "host"
                    } else {
                        "new"
                    };
                    format!("{k}: {v}")
                }
                Some(("mountinfo", v)) => norm_mount(v),
                Some(("limits", v)) => format!(
                    "limits: {}",
                    v.split_whitespace().collect::<Vec<_>>().join(" ")
                ),
                _ => line.to_string(),
            };
            subst.iter().fold(line, |l, (from, to)| l.replace(from, to))
        })
        .collect();
    // Sets whose order means nothing: sorted in place.
    for key in UNORDERED {
        let prefix = format!("{key}: ");
        let idx: Vec<usize> = (0..out.len())
            .filter(|&i| out[i].starts_with(&prefix))
            .collect();
        let mut lines: Vec<String> = idx.iter().map(|&i| out[i].clone()).collect();
        lines.sort();
        for (i, l) in idx.into_iter().zip(lines) {
            out[i] = l;
        }
    }
    out
}

/// Probe keys whose lines are a set: the v1 device allow list prints its
/// rules in the order they were written, which is no part of what they mean.
const UNORDERED: &[&str] = &["cg.devices/devices.list"];

/// A /proc/self/mountinfo line without what differs between two identical
/// runs: the mount and parent ids, the device numbers, and the peer group
/// numbers of the propagation tags ("shared:12" -> "shared").
fn norm_mount(line: &str) -> String {
    let Some((l, r)) = line.split_once(" - ") else {
        return format!("mount: {line}");
    };
    let f: Vec<&str> = l.split(' ').collect();
    if f.len() < 6 {
        return format!("mount: {line}");
    }
    let tags: Vec<&str> = f[6..]
        .iter()
        .map(|t| t.split(':').next().unwrap())
        .collect();
    let tags = if tags.is_empty() {
        "private".to_string()
    } else {
        tags.join(",")
    };
    let mut rf = r.splitn(3, ' ');
    let (fstype, source, sopts) = (
        rf.next().unwrap_or(""),
        rf.next().unwrap_or(""),
        rf.next().unwrap_or(""),
    );
    format!(
        "mount: {} {fstype} {source} root={} {} {sopts} {tags}",
        f[4], f[3], f[5]
    )
}

// ---------------------------------------------------------------------------
// What a run left behind, and cleaning up.

/// Everything of the run still on the host after `delete --force`.
fn leftovers(host: &Host, ctx: &Ctx) -> Vec<String> {
    let mut left = Vec::new();
    if let Ok(rd) = std::fs::read_dir(ctx.state_root()) {
        for e in rd.flatten() {
            left.push(format!("state {}", e.path().display()));
        }
    }
    for d in cgroup_dirs(host, ctx) {
        left.push(format!("cgroup {}", d.display()));
    }
    for m in mounts_under(&ctx.dir) {
        left.push(format!("mount {m}"));
    }
    for (pid, cmd) in processes(ctx) {
        left.push(format!("process {pid} {cmd}"));
    }
    left
}

fn cgroup_dirs(host: &Host, ctx: &Ctx) -> Vec<PathBuf> {
    host.hiers
        .iter()
        .map(|h| h.dir(&ctx.id))
        .filter(|d| d.exists())
        .collect()
}

/// Host mount points under `dir`, in mountinfo order.
fn mounts_under(dir: &Path) -> Vec<String> {
    let prefix = format!("{}/", dir.display());
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|mp| mp.starts_with(&prefix))
        .map(String::from)
        .collect()
}

/// Processes whose root is the run's rootfs, or whose command line names
/// the run directory (a runtime, or an init not yet exec'd).
fn processes(ctx: &Ctx) -> Vec<(i32, String)> {
    let root = std::fs::metadata(ctx.rootfs()).ok();
    let needle = ctx.dir.display().to_string();
    let me = std::process::id() as i32;
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let cmd = String::from_utf8_lossy(
            &std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default(),
        )
        .replace('\0', " ");
        let by_root = match (&root, std::fs::metadata(format!("/proc/{pid}/root"))) {
            (Some(r), Ok(m)) => r.dev() == m.dev() && r.ino() == m.ino(),
            _ => false,
        };
        if by_root || cmd.contains(&needle) {
            found.push((pid, cmd.trim().to_string()));
        }
    }
    found
}

/// Remove what the run left: its processes (killed by pid), the container
/// (`delete --force` again), host mounts under the run directory (detached,
/// deepest first), its cgroup directories. False if a mount remains.
fn cleanup(host: &Host, ctx: &Ctx) -> bool {
    for _ in 0..50 {
        let procs = processes(ctx);
        if procs.is_empty() {
            break;
        }
        for (pid, _) in procs {
            // SAFETY: kill(2) of a process of this run (found just above).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for m in mounts_under(&ctx.dir).iter().rev() {
        let c = std::ffi::CString::new(m.as_str()).unwrap();
        // SAFETY: a path string; MNT_DETACH of a mount under our own run dir.
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
    for d in cgroup_dirs(host, ctx) {
        rmdir_cgroup(&d);
    }
    mounts_under(&ctx.dir).is_empty()
}

/// rmdir a cgroup and its children (deepest first), killing what is in it.
fn rmdir_cgroup(d: &Path) {
    for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            rmdir_cgroup(&e.path());
        }
    }
    for _ in 0..50 {
        if std::fs::remove_dir(d).is_ok() || !d.exists() {
            return;
        }
        let procs = std::fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default();
        for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            // SAFETY: a process in this run's own cgroup.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------
// Comparing.

struct Verdict {
    pass: bool,
    why: String,
    /// Indented detail lines (the difference, stderr, notes for the record).
    detail: Vec<String>,
}

fn run_case(host: &Host, case: &Case) -> Verdict {
    let fail = |why: String| Verdict {
        pass: false,
        why,
        detail: vec![],
    };
    if let Value::String(e) = &case.meta {
        return fail(format!("case.json: {e}"));
    }
    let mut notes = Vec::new();
    if let Some(o) = case.meta.as_object() {
        for k in o.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
            notes.push(format!("note: unknown case.json field {k:?}"));
        }
    }
    if case.str("from").is_none() {
        return fail("case.json: no \"from\"".into());
    }
    let expect = case.str("expect").unwrap_or("match");
    if !matches!(expect, "match" | "refuse") {
        return fail(format!("case.json: expect {expect:?} (match or refuse)"));
    }
    if expect == "refuse" && (case.str("why").is_none() || case.str("refusal").is_none()) {
        return fail("case.json: expect refuse needs \"why\" and \"refusal\"".into());
    }
    let base = match base_config(case) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let mut runs = Vec::new();
    for rt in [Runtime::Runc, Runtime::Husk] {
        let id_hint = rt.name();
        match run_once(host, case, &base, rt) {
            Ok(r) => runs.push(r),
            Err(e) => return fail(format!("harness ({id_hint}): {e}")),
        }
    }
    let (runc, husk) = (&runs[0], &runs[1]);
    let mut v = compare(case, expect, runc, husk);
    if !runc.left.is_empty() {
        v.detail.push(format!(
            "runc: left behind (cleaned up): {}",
            runc.left.join("; ")
        ));
    }
    if !husk.left.is_empty() {
        if v.pass {
            v.pass = false;
            v.why = "husk left behind".into();
        }
        v.detail
            .push(format!("husk left behind: {}", husk.left.join("; ")));
    }
    v.detail.extend(notes);
    v
}

fn status_str(s: Option<i32>) -> String {
    s.map_or(
        format!("hang (killed after {} s)", run_timeout().as_secs()),
        |c| c.to_string(),
    )
}

fn run_timeout() -> Duration {
    let secs = std::env::var("HUSK_COMPAT_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(RUN_TIMEOUT);
    Duration::from_secs(secs)
}

/// The last few lines of a runtime's stderr, for the record.
fn tail(name: &str, s: &str) -> Vec<String> {
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(4)..]
        .iter()
        .map(|l| format!("{name} stderr: {l}"))
        .collect()
}

fn compare(case: &Case, expect: &str, runc: &Run, husk: &Run) -> Verdict {
    let mut detail = Vec::new();
    if expect == "refuse" {
        let want = case.str("refusal").unwrap();
        detail.push(format!(
            "runc (for the record): exit {}",
            status_str(runc.status)
        ));
        detail.extend(tail("runc", &runc.stderr));
        let why = match husk.status {
            None => Some("hang (husk)".to_string()),
            Some(0) => Some("husk did not refuse (exit 0)".to_string()),
            Some(_) if !husk.stderr.contains(want) => {
                Some(format!("husk's error does not say {want:?}"))
            }
            Some(_) => None,
        };
        if why.is_some() {
            detail.extend(tail("husk", &husk.stderr));
        }
        return Verdict {
            pass: why.is_none(),
            why: why.unwrap_or_default(),
            detail,
        };
    }
    let mut why = Vec::new();
    let (a, b) = match deliberate(case, &runc.norm, &husk.norm) {
        Ok(ab) => ab,
        Err(e) => {
            why.push(e);
            (runc.norm.clone(), husk.norm.clone())
        }
    };
    let (a, b) = (&a, &b);
    let diff = line_diff(a, b);
    if runc.status.is_none() || husk.status.is_none() {
        why.push(format!(
            "hang ({})",
            [("runc", runc), ("husk", husk)]
                .iter()
                .filter(|(_, r)| r.status.is_none())
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    } else if runc.status != husk.status {
        why.push(format!(
            "exit status: runc {}, husk {}",
            status_str(runc.status),
            status_str(husk.status)
        ));
    }
    if !diff.is_empty() {
        why.push(format!("probe output differs ({} lines)", diff.len()));
    }
    // A side that printed nothing: say so instead of listing the other.
    let diff = match (a.is_empty(), b.is_empty()) {
        (true, false) => vec![format!("(runc printed nothing, husk {} lines)", b.len())],
        (false, true) => vec![format!("(husk printed nothing, runc {} lines)", a.len())],
        _ if diff.len() > MAX_DIFF => {
            let mut d = diff[..MAX_DIFF].to_vec();
            d.push(format!("... {} more", diff.len() - MAX_DIFF));
            d
        }
        _ => diff,
    };
    if why.is_empty() {
        if runc.status != Some(0) {
            detail.push(format!("both failed with exit {}", status_str(runc.status)));
            detail.extend(tail("runc", &runc.stderr));
            detail.extend(tail("husk", &husk.stderr));
        }
        return Verdict {
            pass: true,
            why: String::new(),
            detail,
        };
    }
    detail.extend(diff);
    detail.extend(tail("runc", &runc.stderr));
    detail.extend(tail("husk", &husk.stderr));
    Verdict {
        pass: false,
        why: why.join("; "),
        detail,
    }
}

/// The lines only in `a` ("- ") or only in `b` ("+ "), in order, by the
/// longest common subsequence.
/// `differs`: {"why": ..., "runc": [lines], "husk": [lines]}, a documented
/// place where husk deliberately does not do what runc 1.1.5 does. Each
/// listed line must be in that side's output (so the entry goes stale
/// loudly) and is then left out of the comparison.
fn deliberate(
    case: &Case,
    a: &[String],
    b: &[String],
) -> Result<(Vec<String>, Vec<String>), String> {
    let Some(d) = case.meta.get("differs") else {
        return Ok((a.to_vec(), b.to_vec()));
    };
    if d.get("why").and_then(Value::as_str).is_none() {
        return Err("case.json: differs needs a \"why\"".into());
    }
    let drop = |side: &str, lines: &[String]| -> Result<Vec<String>, String> {
        let want: Vec<&str> = d
            .get(side)
            .and_then(Value::as_array)
            .map(|l| l.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for w in &want {
            if !lines.iter().any(|l| l == w) {
                return Err(format!(
                    "differs.{side}: {w:?} is no longer in {side}'s output"
                ));
            }
        }
        Ok(lines
            .iter()
            .filter(|l| !want.contains(&l.as_str()))
            .cloned()
            .collect())
    };
    Ok((drop("runc", a)?, drop("husk", b)?))
}

fn line_diff(a: &[String], b: &[String]) -> Vec<String> {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j == m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(('-', &a[i]));
            i += 1;
        } else {
            out.push(('+', &b[j]));
            j += 1;
        }
    }
    // A line on both sides, in a different place: the order differs.
    let moved = |c: char, l: &String| out.iter().any(|(c2, l2)| *c2 != c && *l2 == l);
    out.iter()
        .map(|(c, l)| {
            let note = if moved(*c, l) { "   (moved)" } else { "" };
            format!("{c} {l}{note}")
        })
        .collect()
}

fn print_verdict(label: &str, v: &Verdict) {
    if v.pass {
        println!("PASS {label}");
    } else {
        println!("FAIL {label}: {}", v.why);
    }
    for d in &v.detail {
        println!("    {d}");
    }
}

// ---------------------------------------------------------------------------
// Self-test: the harness's own functions (harness = false has no #[test]).

fn self_test() -> Result<(), String> {
    fn check(what: &str, ok: bool) -> Result<(), String> {
        if ok { Ok(()) } else { Err(what.to_string()) }
    }
    // Patch.
    let mut d = json!({"a": {"b": 1}, "l": [1, 2], "k~/": 0});
    apply_patch(
        &mut d,
        &[
            json!({"op": "add", "path": "/l/-", "value": 3}),
            json!({"op": "add", "path": "/l/0", "value": 0}),
            json!({"op": "replace", "path": "/a/b", "value": 2}),
            json!({"op": "add", "path": "/a/c", "value": {"x": true}}),
            json!({"op": "remove", "path": "/k~0~1"}),
            json!({"op": "remove", "path": "/l/1"}),
        ],
    )?;
    check(
        "patch: add/replace/remove",
        d == json!({"a": {"b": 2, "c": {"x": true}}, "l": [0, 2, 3]}),
    )?;
    for bad in [
        json!({"op": "replace", "path": "/nope", "value": 1}),
        json!({"op": "remove", "path": "/l/9"}),
        json!({"op": "add", "path": "/x/y", "value": 1}),
        json!({"op": "move", "path": "/a", "from": "/l"}),
    ] {
        check(
            &format!("patch: {bad} must fail"),
            apply_patch(&mut d, &[bad.clone()]).is_err(),
        )?;
    }

    // Config normalisation.
    let case = Case {
        source: "t".into(),
        name: "t".into(),
        dir: PathBuf::new(),
        meta: json!({"from": "t", "file_sources": ["/nonexistent-husk/f"]}),
    };
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let ctx = Ctx {
        id: "hc-1-2-runc".into(),
        dir: tmp.path().to_path_buf(),
    };
    let mut c = json!({
        "root": {"path": "/var/lib/x/merged", "readonly": true},
        "process": {"args": ["nginx"], "terminal": true,
                    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": u64::MAX - 1, "soft": u64::MAX - 1},
                                {"type": "RLIMIT_CORE", "hard": 1, "soft": 1}]},
        "hooks": {"prestart": [{"path": "/usr/bin/x"}]},
        "annotations": {"k": "v"},
        "mounts": [{"destination": "/etc/hostname", "type": "bind", "source": "/nonexistent-husk/f", "options": ["rbind"]},
                   {"destination": "/d", "type": "none", "source": "/nonexistent-husk/d", "options": ["bind"]},
                   {"destination": "/proc", "type": "proc", "source": "proc"}],
        "linux": {"namespaces": [{"type": "network", "path": "/proc/1/ns/net"}, {"type": "mount"}],
                  "sysctl": {"net.ipv4.ip_forward": "1"}, "cgroupsPath": "/docker/abc"}
    });
    normalise_config(&mut c, &case, &ctx)?;
    check(
        "root",
        c["root"] == json!({"path": "rootfs", "readonly": true}),
    )?;
    check(
        "args",
        c["process"]["args"] == json!(["/bin/sh", PROBE, "net.ipv4.ip_forward"]),
    )?;
    check("terminal", c["process"]["terminal"] == json!(false))?;
    check("hooks", c.get("hooks").is_none())?;
    check("annotations kept", c["annotations"] == json!({"k": "v"}))?;
    check(
        "ns path",
        c["linux"]["namespaces"][0] == json!({"type": "network"}),
    )?;
    check(
        "cgroupsPath",
        c["linux"]["cgroupsPath"] == json!("hc-1-2-runc"),
    )?;
    let nofile = c["process"]["rlimits"][0]["hard"].as_u64().unwrap();
    check(
        "rlimit clamped",
        nofile < u64::MAX - 1 && c["process"]["rlimits"][0]["soft"] == nofile,
    )?;
    check(
        "rlimit kept",
        c["process"]["rlimits"][1]["hard"] == json!(1),
    )?;
    let f = tmp.path().join("binds/nonexistent-husk/f");
    let dd = tmp.path().join("binds/nonexistent-husk/d");
    check(
        "bind file",
        c["mounts"][0]["source"] == json!(f) && f.is_file(),
    )?;
    check(
        "bind dir",
        c["mounts"][1]["source"] == json!(dd) && dd.is_dir(),
    )?;
    check("proc kept", c["mounts"][2]["source"] == json!("proc"))?;

    // Output normalisation.
    let host = Host {
        runc: PathBuf::new(),
        ns: HashMap::from([("net".to_string(), "net:[1]".to_string())]),
        hiers: vec![],
    };
    let raw = format!(
        "ns.net: net:[1]\nns.pid: pid:[2]\nns.time: <missing>\n\
         mountinfo: 36 35 98:0 {d}/bundle/rootfs / ro,relatime shared:4 master:1 - ext4 /dev/vda rw\n\
         cgroup: 4:memory:/hc-1-2-runc\nlimits: Max open files  1024  1024  files\n\
         cg.devices/devices.list: c 5:0 rwm\ncg.devices/devices.list: c 1:3 rwm\n",
        d = tmp.path().display()
    );
    let norm = normalise_output(&host, &ctx, &raw);
    let want = [
        "ns.net: host",
        "ns.pid: new",
        "ns.time: <missing>",
        "mount: / ext4 /dev/vda root=<run>/bundle/rootfs ro,relatime rw shared,master",
        "cgroup: 4:memory:<cgroup>",
        "limits: Max open files 1024 1024 files",
        "cg.devices/devices.list: c 1:3 rwm",
        "cg.devices/devices.list: c 5:0 rwm",
    ];
    check(&format!("output: {norm:?}"), norm == want)?;

    // Diff.
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let d = line_diff(&s(&["a", "b", "c", "d"]), &s(&["a", "x", "c", "d", "e"]));
    check(&format!("diff: {d:?}"), d == s(&["- b", "+ x", "+ e"]))?;
    check("no diff", line_diff(&s(&["a"]), &s(&["a"])).is_empty())?;
    let d = line_diff(&s(&["a", "b", "c"]), &s(&["b", "c", "a"]));
    check(
        &format!("moved: {d:?}"),
        d == s(&["- a   (moved)", "+ a   (moved)"]),
    )?;
    Ok(())
}
