//! Shared helpers for the integration tests: a private bundle (config.json
//! plus its own copy of the busybox rootfs) and a husk with a private
//! --root. Each test uses its own, so tests run in parallel and leave
//! nothing behind. Also: running commands with a time limit, polling, and
//! reading what the host says about processes, namespaces and cgroups.
#![allow(dead_code)]

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

pub const HUSK: &str = env!("CARGO_BIN_EXE_husk");

/// The repository (the crate's directory).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The busybox rootfs scripts/mkrootfs.sh makes; made here if missing.
pub fn base_rootfs() -> PathBuf {
    let p = std::env::var_os("HUSK_TEST_ROOTFS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("bundles/busybox/rootfs"));
    if !p.join("bin/busybox").exists() {
        let st = Command::new(repo().join("scripts/mkrootfs.sh"))
            .status()
            .expect("run scripts/mkrootfs.sh");
        assert!(st.success(), "scripts/mkrootfs.sh failed");
    }
    p
}

/// A private copy of the busybox rootfs at `dir`/rootfs.
pub fn copy_rootfs(dir: &Path) {
    let st = Command::new("cp")
        .arg("-a")
        .arg(base_rootfs())
        .arg(dir.join("rootfs"))
        .status()
        .unwrap();
    assert!(st.success(), "copy rootfs");
}

pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "integration tests must run as root (scripts/test.sh does)"
    );
}

/// A unique container ID for this test process.
pub fn unique_id(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

pub struct Bundle {
    pub dir: TempDir,
    pub config: Value,
}

impl Bundle {
    /// The busybox bundle's config with a private, writable rootfs copy.
    pub fn new() -> Bundle {
        require_root();
        let dir = tempfile::Builder::new()
            .prefix("husk-bundle-")
            .tempdir()
            .unwrap();
        copy_rootfs(dir.path());
        let text = std::fs::read_to_string(repo().join("bundles/busybox/config.json")).unwrap();
        let mut config: Value = serde_json::from_str(&text).unwrap();
        config["root"] = json!({"path": "rootfs", "readonly": false});
        Bundle { dir, config }
    }

    /// As [`Bundle::new`], with the image's own /dev, which an attacker
    /// controls, as the container's /dev: bind-mounted onto itself in place
    /// of the /dev tmpfs (and what is mounted under it). As in runc, a bind
    /// mount is the one /dev the runtime makes no device nodes in.
    pub fn with_image_dev() -> Bundle {
        let mut b = Bundle::new();
        std::fs::create_dir_all(b.rootfs().join("dev")).unwrap();
        let mut mounts: Vec<Value> = b.config["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| !m["destination"].as_str().unwrap_or("").starts_with("/dev"))
            .cloned()
            .collect();
        mounts.push(json!({"destination": "/dev", "type": "bind",
            "source": b.rootfs().join("dev"), "options": ["rbind"]}));
        b.set("/mounts", json!(mounts));
        b
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    /// The bundle directory as a command-line argument.
    pub fn arg(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }

    /// Run `script` with the container's sh.
    pub fn sh(&mut self, script: &str) -> &mut Self {
        self.config["process"]["args"] = json!(["sh", "-c", script]);
        self
    }

    pub fn args(&mut self, args: &[&str]) -> &mut Self {
        self.config["process"]["args"] = json!(args);
        self
    }

    /// Set a value by JSON pointer ("/linux/sysctl"), making parents.
    pub fn set(&mut self, pointer: &str, v: Value) -> &mut Self {
        let mut cur = &mut self.config;
        let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
        for (i, p) in parts.iter().enumerate() {
            let last = i == parts.len() - 1;
            if let Ok(idx) = p.parse::<usize>()
                && cur.is_array()
            {
                if last {
                    cur[idx] = v;
                    return self;
                }
                cur = &mut cur[idx];
                continue;
            }
            if !cur.is_object() {
                *cur = json!({});
            }
            let obj = cur.as_object_mut().unwrap();
            if last {
                obj.insert(p.to_string(), v);
                return self;
            }
            cur = obj.entry(p.to_string()).or_insert(json!({}));
        }
        self
    }

    pub fn remove(&mut self, pointer: &str) -> &mut Self {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let target = if parent.is_empty() {
            Some(&mut self.config)
        } else {
            self.config.pointer_mut(parent)
        };
        if let Some(Value::Object(o)) = target {
            o.remove(key);
        }
        self
    }

    pub fn add_namespace(&mut self, typ: &str, path: Option<&str>) -> &mut Self {
        let ns = self.config["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != typ);
        match path {
            Some(p) => ns.push(json!({"type": typ, "path": p})),
            None => ns.push(json!({"type": typ})),
        }
        self
    }

    pub fn remove_namespace(&mut self, typ: &str) -> &mut Self {
        self.config["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != typ);
        self
    }

    pub fn add_mount(&mut self, m: Value) -> &mut Self {
        self.config["mounts"].as_array_mut().unwrap().push(m);
        self
    }

    pub fn write(&self) {
        std::fs::write(
            self.dir.path().join("config.json"),
            serde_json::to_vec_pretty(&self.config).unwrap(),
        )
        .unwrap();
    }
}

/// husk with a private --root; deletes whatever is left on drop.
pub struct Husk {
    pub root: TempDir,
}

impl Husk {
    pub fn new() -> Husk {
        require_root();
        Husk {
            root: tempfile::Builder::new()
                .prefix("husk-root-")
                .tempdir()
                .unwrap(),
        }
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(HUSK);
        c.arg("--root").arg(self.root.path());
        c
    }

    /// Run husk with these arguments through [`run_timed`].
    pub fn timed(&self, args: &[&str], stdin: Stdin, out: Out, timeout: Duration) -> Output {
        let mut c = self.command();
        c.args(args);
        run_timed(c, stdin, out, timeout)
    }

    /// `husk run --detach` of the bundle (writing its config first), its
    /// output in the bundle's detached.log (a pipe would stay open as long
    /// as the container runs); returns the init's host pid once the
    /// container is running.
    #[track_caller]
    pub fn run_detached(&self, b: &Bundle, id: &str) -> i32 {
        b.write();
        let log = b.path().join("detached.log");
        let o = self.timed(
            &["run", "--detach", "--bundle", b.arg(), id],
            Stdin::Null,
            Out::Beside(&log),
            TIMEOUT,
        );
        assert!(
            o.status.success(),
            "run --detach {id} failed: {}{}",
            stdout(&o),
            stderr(&o)
        );
        self.wait_status(id, "running");
        let pid = self.pid(id);
        assert!(pid > 0, "init pid {pid}");
        pid
    }

    /// `husk inspect --format json` of a container, parsed.
    #[track_caller]
    pub fn inspect_json(&self, id: &str) -> Value {
        let out = ok(&self.cmd(&["inspect", "--format", "json", id]));
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("inspect {id}: {e}: {out}"))
    }

    /// Run husk with these arguments; stdin is empty.
    pub fn cmd(&self, args: &[&str]) -> Output {
        self.command()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("spawn husk")
    }

    /// `husk run` of the bundle (writing its config first).
    pub fn run(&self, b: &Bundle, id: &str) -> Output {
        b.write();
        self.cmd(&["run", "--bundle", b.path().to_str().unwrap(), id])
    }

    pub fn create(&self, b: &Bundle, id: &str) -> Output {
        b.write();
        self.cmd(&["create", "--bundle", b.path().to_str().unwrap(), id])
    }

    /// `husk state` parsed; panics if it fails.
    #[track_caller]
    pub fn state(&self, id: &str) -> Value {
        let o = self.timed(&["state", id], Stdin::Null, Out::Temp, TIMEOUT);
        assert!(o.status.success(), "state {id}: {}", stderr(&o));
        let text = stdout(&o);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("state {id}: {e}: {text:?}"))
    }

    #[track_caller]
    pub fn status(&self, id: &str) -> String {
        self.state(id)["status"].as_str().unwrap().to_string()
    }

    /// The container init's host pid, from `husk state`.
    #[track_caller]
    pub fn pid(&self, id: &str) -> i32 {
        self.state(id)["pid"].as_i64().unwrap() as i32
    }

    /// Wait (up to 15 s) for the container to reach `status`.
    #[track_caller]
    pub fn wait_status(&self, id: &str, status: &str) {
        wait_for(&format!("{id} to be {status}"), || {
            self.status(id) == status
        });
    }
}

impl Drop for Husk {
    fn drop(&mut self) {
        if let Ok(rd) = std::fs::read_dir(self.root.path()) {
            for e in rd.flatten() {
                let id = e.file_name().to_string_lossy().into_owned();
                let _ = self.cmd(&["delete", "--force", &id]);
            }
        }
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// husk's stderr, each runc-style log line (`time="…" level=error
/// msg="…"`) shown as `error: MESSAGE` with the message unquoted, so that
/// tests match on what husk said. [`raw_stderr`] keeps the framing.
pub fn stderr(o: &Output) -> String {
    let raw = raw_stderr(o);
    let mut out = String::new();
    for l in raw.split_inclusive('\n') {
        let nl = l.ends_with('\n');
        match parse_log_line(l.trim_end_matches('\n')) {
            Some((level, msg)) => {
                out.push_str(&format!("{level}: {msg}"));
                if nl {
                    out.push('\n');
                }
            }
            None => out.push_str(l),
        }
    }
    out
}

pub fn raw_stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// (level, msg) of a logrus text line; None for any other line.
pub fn parse_log_line(l: &str) -> Option<(String, String)> {
    let rest = l.strip_prefix("time=\"")?;
    let (_, rest) = rest.split_once("\" level=")?;
    let (level, rest) = rest.split_once(" msg=")?;
    let msg = if let Some(q) = rest.strip_prefix('"') {
        go_unquote(q)?.0
    } else {
        rest.split(' ').next().unwrap_or("").to_string()
    };
    Some((level.to_string(), msg))
}

/// The inside of a Go %q string up to its closing quote, unescaped, and
/// what follows it.
fn go_unquote(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut it = s.char_indices();
    while let Some((i, c)) = it.next() {
        match c {
            '"' => return Some((out, &s[i + 1..])),
            '\\' => {
                let (_, e) = it.next()?;
                let hex = |it: &mut std::str::CharIndices, n: usize| -> Option<char> {
                    let h: String = (0..n).filter_map(|_| it.next().map(|(_, c)| c)).collect();
                    char::from_u32(u32::from_str_radix(&h, 16).ok()?)
                };
                out.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    'a' => '\x07',
                    'b' => '\x08',
                    'f' => '\x0c',
                    'v' => '\x0b',
                    'x' => hex(&mut it, 2)?,
                    'u' => hex(&mut it, 4)?,
                    'U' => hex(&mut it, 8)?,
                    other => other,
                });
            }
            c => out.push(c),
        }
    }
    None
}

/// Assert success and return stdout.
#[track_caller]
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "husk failed ({:?})\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

/// Assert failure and return stderr.
#[track_caller]
pub fn fails(o: &Output) -> String {
    assert!(
        !o.status.success(),
        "husk should have failed\nstdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
    stderr(o)
}

/// `husk state ID` says the container does not exist, and --root has
/// nothing for it.
#[track_caller]
pub fn assert_no_container(h: &Husk, id: &str) {
    let e = fails(&h.timed(&["state", id], Stdin::Null, Out::Temp, TIMEOUT));
    assert!(e.contains("container does not exist"), "state {id}: {e}");
    let dir = h.root.path().join(id);
    assert!(!dir.exists(), "{} is still there", dir.display());
}

/// Nothing of a failed create or run of bundle `b` remains: no state
/// directory, no state, no mount of the bundle on the host.
#[track_caller]
pub fn assert_no_state_or_mounts(h: &Husk, b: &Bundle, id: &str) {
    assert_no_container(h, id);
    let left = host_mounts_mentioning(b.arg());
    assert!(left.is_empty(), "mounts left behind: {left:?}");
}

/// `husk run` of the bundle fails with an error that names every one of
/// `words`, and leaves nothing behind; returns the error.
#[track_caller]
pub fn run_refused(h: &Husk, b: &Bundle, id: &str, words: &[&str]) -> String {
    let err = fails(&h.run(b, id));
    for w in words {
        assert!(err.contains(w), "the error does not mention {w:?}: {err}");
    }
    assert_no_state_or_mounts(h, b, id);
    err
}

/// Processes that belong to this bundle: a husk (or an init not yet
/// exec'd, which still has husk's command line) naming the bundle, or a
/// process whose root directory is the bundle's rootfs. (/proc/PID/root
/// reads as "/" for a pivoted process, so the root is compared by inode.)
pub fn bundle_processes(b: &Bundle) -> Vec<(i32, String)> {
    let needle = b.arg().as_bytes();
    let root = std::fs::metadata(b.rootfs()).ok();
    let me = std::process::id() as i32;
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let by_cmdline = cmdline.windows(needle.len()).any(|w| w == needle);
        let by_root = match (&root, std::fs::metadata(format!("/proc/{pid}/root"))) {
            (Some(r), Ok(m)) => r.dev() == m.dev() && r.ino() == m.ino(),
            _ => false,
        };
        if by_cmdline || by_root {
            let cmd = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            found.push((pid, cmd));
        }
    }
    found
}

/// Mounts visible to the host whose source or target mentions `needle`:
/// a failed or finished container must leave none.
pub fn host_mounts_mentioning(needle: &str) -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(needle))
        .map(String::from)
        .collect()
}

// ---------------------------------------------------------------------------
// Running commands with a time limit.

/// The time limit for a husk command the shared helpers run.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Where a command run by [`run_timed`] reads its stdin from.
pub enum Stdin<'a> {
    /// /dev/null.
    Null,
    /// A file holding these bytes.
    File(&'a [u8]),
    /// A pipe these bytes are written to and then closed (the command may
    /// exit without reading all of them).
    Pipe(&'a [u8]),
}

/// Where a command run by [`run_timed`] writes its stdout and stderr.
pub enum Out<'a> {
    /// Both into temp files.
    Temp,
    /// stdout appended to this file (the returned stdout is what this run
    /// appended), stderr into a temp file.
    Append(&'a Path),
    /// stdout into this file (created afresh), stderr into the same path
    /// with the extension "stderr"; both stay for the test to read later.
    Beside(&'a Path),
}

/// Wait up to `within` for `child` to exit; None, after killing it, if it
/// did not.
pub fn wait_or_kill(child: &mut Child, within: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Wait for `child`, killing it and failing the test if it is not done
/// within `timeout`; `what` names it in the failure.
pub fn wait_child(child: &mut Child, what: &str, timeout: Duration) -> ExitStatus {
    wait_or_kill(child, timeout)
        .unwrap_or_else(|| panic!("{what} did not finish within {timeout:?}"))
}

/// Run `c` with stdin from `stdin` and stdout and stderr in files as `out`
/// says, failing the test if it does not finish within `timeout`. Files,
/// not pipes: a container inherits husk's stdio, and a pipe it held would
/// keep `Command::output` waiting until the container exits.
pub fn run_timed(mut c: Command, stdin: Stdin, out: Out, timeout: Duration) -> Output {
    let tmp = tempfile::tempdir().unwrap();
    let (out_path, err_path) = match out {
        Out::Temp => (tmp.path().join("stdout"), tmp.path().join("stderr")),
        Out::Append(p) => (p.to_path_buf(), tmp.path().join("stderr")),
        Out::Beside(p) => (p.to_path_buf(), p.with_extension("stderr")),
    };
    let out_file = match out {
        Out::Append(_) => File::options().create(true).append(true).open(&out_path),
        _ => File::create(&out_path),
    }
    .unwrap();
    let skip = out_file.metadata().unwrap().len() as usize;
    let mut pipe = None;
    match stdin {
        Stdin::Null => {
            c.stdin(Stdio::null());
        }
        Stdin::File(bytes) => {
            let in_path = tmp.path().join("stdin");
            std::fs::write(&in_path, bytes).unwrap();
            c.stdin(File::open(&in_path).unwrap());
        }
        Stdin::Pipe(bytes) => {
            c.stdin(Stdio::piped());
            pipe = Some(bytes);
        }
    }
    c.stdout(out_file).stderr(File::create(&err_path).unwrap());
    let mut child = c.spawn().unwrap_or_else(|e| panic!("spawn {c:?}: {e}"));
    if let Some(bytes) = pipe {
        let mut w = child.stdin.take().unwrap();
        // The container may exit without reading all of it.
        let _ = w.write_all(bytes);
    }
    let status = wait_child(&mut child, &format!("{c:?}"), timeout);
    let all = std::fs::read(&out_path).unwrap();
    Output {
        status,
        stdout: all.get(skip..).unwrap_or_default().to_vec(),
        stderr: std::fs::read(&err_path).unwrap(),
    }
}

/// Poll `cond` every 10 ms for up to `within`; fail the test if it never
/// holds.
#[track_caller]
pub fn wait_within(what: &str, within: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("timed out waiting for {what}");
}

/// Poll `cond` for up to 15 s.
#[track_caller]
pub fn wait_for(what: &str, cond: impl FnMut() -> bool) {
    wait_within(what, Duration::from_secs(15), cond);
}

// ---------------------------------------------------------------------------
// Reading what a container or the host says.

/// "key=value" lines (of the container's output), as they are.
pub fn kv(out: &str) -> HashMap<String, String> {
    out.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// "key=value" lines, keys and values trimmed.
pub fn kv_trimmed(out: &str) -> HashMap<String, String> {
    out.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// The value of `key` among [`kv`] or [`kv_trimmed`] pairs.
pub fn value<'a>(pairs: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    pairs.get(key).map(String::as_str)
}

/// A seccomp profile that allows every system call but mkdir(2) and
/// mkdirat(2), which get `action`.
pub fn mkdir_seccomp(action: &str) -> Value {
    json!({"defaultAction": "SCMP_ACT_ALLOW",
           "syscalls": [{"names": ["mkdir", "mkdirat"], "action": action}]})
}

/// The file's text, trimmed; fails the test if it cannot be read.
#[track_caller]
pub fn read_trim(p: impl AsRef<Path>) -> String {
    let p = p.as_ref();
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
        .trim()
        .to_string()
}

/// The pids in a cgroup.procs (or tasks) file.
#[track_caller]
pub fn pids_in(p: impl AsRef<Path>) -> BTreeSet<i32> {
    read_trim(p)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// The "Key:\tvalue" line of a /proc/<pid>/status text.
pub fn status_field(status: &str, key: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in\n{status}"))
        .trim()
        .to_string()
}

/// /proc/<pid>/status of a host process.
pub fn proc_status(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/status: {e}"))
}

/// The host's namespace link ("net:[4026531833]") of `kind`, as this test
/// process sees it.
pub fn host_ns(kind: &str) -> String {
    proc_ns("self", kind)
}

/// The namespace link of `kind` of process `pid` ("self" for this one).
pub fn proc_ns(pid: impl std::fmt::Display, kind: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/ns/{kind}: {e}"))
        .to_string_lossy()
        .into_owned()
}

// ---------------------------------------------------------------------------
// Host processes.

/// A process, identified by PID and start time so a reused PID is not
/// mistaken for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Proc {
    pub pid: i32,
    pub start: u64,
}

/// (state, start time) from /proc/<pid>/stat.
pub fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some((f.first()?.chars().next()?, f.get(19)?.parse().ok()?))
}

impl Proc {
    /// The process `pid`, if there is one.
    pub fn find(pid: i32) -> Option<Proc> {
        proc_stat(pid).map(|(_, start)| Proc { pid, start })
    }

    /// The process `pid`; fails the test if there is none.
    #[track_caller]
    pub fn of(pid: i32) -> Proc {
        Proc::find(pid).unwrap_or_else(|| panic!("no process {pid}"))
    }

    /// Alive: same process, and neither a zombie nor dead.
    pub fn alive(&self) -> bool {
        matches!(proc_stat(self.pid), Some((s, t)) if t == self.start && s != 'Z' && s != 'X')
    }
}

/// Every descendant of `pid` on the host, read from .../task/*/children.
pub fn descendants(pid: i32) -> Vec<Proc> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for t in rd.flatten() {
            let text = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
            for c in text
                .split_whitespace()
                .filter_map(|s| s.parse::<i32>().ok())
            {
                if let Some(child) = Proc::find(c) {
                    out.push(child);
                    todo.push(c);
                }
            }
        }
    }
    out
}

/// Kills (by PID and start time) whatever of its processes is still alive
/// when dropped, so a husk bug does not leave the test's processes running.
pub struct ProcGuard(pub Vec<Proc>);

impl Drop for ProcGuard {
    fn drop(&mut self) {
        for p in self.0.iter().filter(|p| p.alive()) {
            // SAFETY: kill(2) of a process this test caused to exist, checked
            // by its start time.
            unsafe { libc::kill(p.pid, libc::SIGKILL) };
        }
    }
}

// ---------------------------------------------------------------------------
// Host cgroups.

/// Directories named `name` in any cgroup hierarchy on the host (a few
/// levels deep: husk puts a container's cgroup under its own).
pub fn cgroup_dirs_named(name: &str) -> Vec<PathBuf> {
    let mut mounts = Vec::new();
    for l in std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
    {
        let f: Vec<&str> = l.split_whitespace().collect();
        let Some(dash) = f.iter().position(|x| *x == "-") else {
            continue;
        };
        if matches!(f.get(dash + 1), Some(&"cgroup") | Some(&"cgroup2")) {
            mounts.push(PathBuf::from(f[4]));
        }
    }
    let mut found = Vec::new();
    let mut todo: Vec<(PathBuf, usize)> = mounts.into_iter().map(|m| (m, 0)).collect();
    while let Some((dir, depth)) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            if !e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                continue;
            }
            if e.file_name().to_str() == Some(name) {
                found.push(e.path());
            }
            if depth < 5 {
                todo.push((e.path(), depth + 1));
            }
        }
    }
    found
}

/// A cgroup hierarchy mounted at /sys/fs/cgroup/<name>, found
/// independently of husk.
#[derive(Debug, Clone)]
pub struct Hier {
    /// The directory name under /sys/fs/cgroup ("memory", "systemd",
    /// "unified").
    pub name: String,
    pub mount: PathBuf,
    pub v2: bool,
    /// The controller field of this hierarchy's /proc/self/cgroup line
    /// ("memory", "name=systemd", "" for v2).
    pub key: String,
    /// This test process's own cgroup in it ("/" or "/a/b").
    pub own: String,
}

impl Hier {
    /// Host directory of a container cgroup at `rel` (relative path).
    pub fn dir(&self, rel: &str) -> PathBuf {
        PathBuf::from(format!(
            "{}{}/{}",
            self.mount.display(),
            self.own.trim_end_matches('/'),
            rel
        ))
    }
}

/// Every cgroup hierarchy mounted at /sys/fs/cgroup/<name>, with this test
/// process's own cgroup in it.
pub fn hierarchies() -> Vec<Hier> {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let cg = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let mut out = Vec::new();
    for line in mi.lines() {
        let Some((l, r)) = line.split_once(" - ") else {
            continue;
        };
        let Some(mp) = l.split(' ').nth(4) else {
            continue;
        };
        let Some(name) = mp.strip_prefix("/sys/fs/cgroup/") else {
            continue;
        };
        if name.contains('/') {
            continue;
        }
        let mut rf = r.split(' ');
        let fstype = rf.next().unwrap_or("");
        let _source = rf.next();
        let opts: Vec<&str> = rf.next().unwrap_or("").split(',').collect();
        let v2 = match fstype {
            "cgroup2" => true,
            "cgroup" => false,
            _ => continue,
        };
        let found = cg.lines().find_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, ctrl, path) = (f.next()?, f.next()?, f.next()?);
            let matches = if v2 {
                ctrl.is_empty()
            } else {
                !ctrl.is_empty() && ctrl.split(',').all(|c| opts.contains(&c))
            };
            matches.then(|| (ctrl.to_string(), path.to_string()))
        });
        let (key, own) = found.unwrap_or_else(|| panic!("no /proc/self/cgroup line for {mp}"));
        out.push(Hier {
            name: name.to_string(),
            mount: PathBuf::from(mp),
            v2,
            key,
            own,
        });
    }
    out
}

// ---------------------------------------------------------------------------
// Unix sockets.

/// Receive one message on `conn` into `buf`, with the one fd it carries
/// (SCM_RIGHTS), as a --console-socket or a seccomp listenerPath gets it;
/// returns the message's length and the fd.
pub fn recv_with_fd(conn: &UnixStream, buf: &mut [u8]) -> (usize, OwnedFd) {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut ctl = [0u64; 4];
    // SAFETY: plain data; the pointers below stay valid for the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&ctl);
    // SAFETY: msg points at live buffers.
    let n = unsafe { libc::recvmsg(conn.as_raw_fd(), &mut msg, 0) };
    assert!(n > 0, "recvmsg: {}", std::io::Error::last_os_error());
    // SAFETY: the kernel wrote the control header we read.
    let c = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    assert!(!c.is_null(), "no fd was passed");
    // SAFETY: checked non-null; an SCM_RIGHTS message carries an fd.
    let (ty, fd) = unsafe {
        (
            (*c).cmsg_type,
            std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const i32),
        )
    };
    assert_eq!(ty, libc::SCM_RIGHTS);
    // SAFETY: the fd is new in our table.
    (n as usize, unsafe { OwnedFd::from_raw_fd(fd) })
}
