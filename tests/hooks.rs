mod common;

// OCI hooks (runtime-spec v1.2, poststart failure as in 1.3) as husk runs
// them: all six kinds, at their points of the lifecycle, in the right
// namespaces, with the state on stdin; args and env; timeouts; what a
// failing hook of each kind does; bad hook paths.
//
// Hooks are shell scripts that log their call into a temp directory. Those
// that run after pivot_root (startContainer) resolve their path inside the
// container: the same script is copied into the bundle's rootfs and the
// log directory is bind-mounted at /hooklog.

use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

/// No husk command may take longer than this.
const TIMEOUT: Duration = Duration::from_secs(30);

const PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Where the log directory appears inside the container.
const IN_CONTAINER_LOG: &str = "/hooklog";

const KINDS: [&str; 6] = [
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// Logs one call: `hook.sh NAME DIR`. Writes DIR/NAME.state (stdin),
/// DIR/NAME.mnt and DIR/NAME.net (its namespaces) and appends
/// "SEQ NAME TIME" to DIR/log. Runs under the host's sh and busybox's.
const LOG_HOOK: &str = r#"#!/bin/sh
name=$1
dir=$2
cat > "$dir/$name.state"
readlink /proc/self/ns/mnt > "$dir/$name.mnt"
readlink /proc/self/ns/net > "$dir/$name.net"
n=$(cat "$dir/log" 2>/dev/null | wc -l)
echo "$((n + 1)) $name $(date +%s)" >> "$dir/log"
"#;

/// A failing hook: `fail.sh NAME DIR [CGROUP-DIR]`. Saves its stdin to
/// DIR/NAME.fail.state, touches DIR/NAME.cg if CGROUP-DIR exists (so a
/// test knows the cgroup was there while the hook ran), and, for
/// poststart, first waits for the container's DIR/ran marker.
const FAIL_HOOK: &str = r#"#!/bin/sh
name=$1
dir=$2
cat > "$dir/$name.fail.state"
if [ -n "$3" ] && [ -d "$3" ]; then touch "$dir/$name.cg"; fi
if [ "$name" = poststart ]; then
    i=0
    while [ ! -e "$dir/ran" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
fi
echo "hook $name fails on purpose" >&2
exit 1
"#;

// ---------------------------------------------------------------------------
// Running husk.

/// Run `c` with stdout and stderr in files (a container inherits husk's
/// stdio; a pipe it holds would keep `output()` waiting) and a timeout.
fn run_cmd(c: Command) -> Output {
    run_timed(c, Stdin::Null, Out::Temp, TIMEOUT)
}

fn husk(h: &Husk, args: &[&str]) -> Output {
    h.timed(args, Stdin::Null, Out::Temp, TIMEOUT)
}

fn create(h: &Husk, b: &Bundle, id: &str) -> Output {
    b.write();
    husk(h, &["create", "--bundle", b.path().to_str().unwrap(), id])
}

fn run(h: &Husk, b: &Bundle, id: &str) -> Output {
    b.write();
    husk(h, &["run", "--bundle", b.path().to_str().unwrap(), id])
}

/// Poll `cond` for up to 10 s.
#[track_caller]
fn wait_for(what: &str, cond: impl FnMut() -> bool) {
    wait_within(what, Duration::from_secs(10), cond);
}

// ---------------------------------------------------------------------------
// Hook set-up.

fn write_exec(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A temp dir with the hook scripts (bin/) and the log directory (log/),
/// the same scripts in the bundle's rootfs (for startContainer) and the
/// log directory bind-mounted at /hooklog.
struct Hooks {
    tmp: tempfile::TempDir,
}

impl Hooks {
    fn new(b: &mut Bundle) -> Hooks {
        let tmp = tempfile::Builder::new()
            .prefix("husk-hooks-")
            .tempdir()
            .unwrap();
        std::fs::create_dir(tmp.path().join("bin")).unwrap();
        std::fs::create_dir(tmp.path().join("log")).unwrap();
        write_exec(&tmp.path().join("bin/hook.sh"), LOG_HOOK);
        write_exec(&tmp.path().join("bin/fail.sh"), FAIL_HOOK);
        write_exec(&b.rootfs().join("hook.sh"), LOG_HOOK);
        write_exec(&b.rootfs().join("fail.sh"), FAIL_HOOK);
        let hk = Hooks { tmp };
        b.add_mount(json!({
            "destination": IN_CONTAINER_LOG,
            "type": "bind",
            "source": hk.log().to_str().unwrap(),
            "options": ["rbind", "rw"],
        }));
        hk
    }

    /// The log directory on the host.
    fn log(&self) -> PathBuf {
        self.tmp.path().join("log")
    }

    fn script(&self, name: &str) -> String {
        self.tmp
            .path()
            .join("bin")
            .join(name)
            .to_str()
            .unwrap()
            .to_string()
    }

    /// A hook running `script` (hook.sh or fail.sh) for `kind`: the host's
    /// copy, or the container's for startContainer.
    fn hook(&self, script: &str, kind: &str, extra: &[&str]) -> Value {
        let (path, dir) = if kind == "startContainer" {
            (format!("/{script}"), IN_CONTAINER_LOG.to_string())
        } else {
            (
                self.script(script),
                self.log().to_str().unwrap().to_string(),
            )
        };
        let mut args = vec![path.clone(), kind.to_string(), dir];
        args.extend(extra.iter().map(|s| s.to_string()));
        json!({"path": path, "args": args, "env": [PATH_ENV]})
    }

    fn log_hook(&self, kind: &str) -> Value {
        self.hook("hook.sh", kind, &[])
    }

    /// The names in the call log, in order.
    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.log().join("log"))
            .unwrap_or_default()
            .lines()
            .map(|l| l.split(' ').nth(1).unwrap_or("").to_string())
            .collect()
    }

    fn read(&self, file: &str) -> String {
        let p = self.log().join(file);
        std::fs::read_to_string(&p)
            .unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
            .trim()
            .to_string()
    }

    fn exists(&self, file: &str) -> bool {
        self.log().join(file).exists()
    }

    fn state(&self, file: &str) -> Value {
        let text = self.read(file);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}: {text:?}"))
    }
}

/// A logging hook at index 0 of every kind.
fn log_all(b: &mut Bundle, hk: &Hooks) {
    for k in KINDS {
        b.set(&format!("/hooks/{k}"), json!([hk.log_hook(k)]));
    }
}

/// Append a hook to the list of `kind`.
fn push_hook(b: &mut Bundle, kind: &str, h: Value) {
    if !b.config["hooks"][kind].is_array() {
        b.set(&format!("/hooks/{kind}"), json!([]));
    }
    b.config["hooks"][kind].as_array_mut().unwrap().push(h);
}

// ---------------------------------------------------------------------------
// Cgroups: where husk puts a container without linux.cgroupsPath (this
// test process's own cgroup + the ID, in every hierarchy).

fn cgroup_dirs(id: &str) -> Vec<PathBuf> {
    hierarchies().iter().map(|h| h.dir(id)).collect()
}

/// The container's directory in the v1 pids hierarchy.
fn pids_cgroup_dir(id: &str) -> PathBuf {
    cgroup_dirs(id)
        .into_iter()
        .find(|d| d.starts_with("/sys/fs/cgroup/pids"))
        .expect("a v1 pids hierarchy at /sys/fs/cgroup/pids")
}

/// Whether `pid` is a live (non-zombie) process.
fn alive(pid: i64) -> bool {
    matches!(proc_stat(pid as i32), Some((s, _)) if s != 'Z' && s != 'X')
}

/// Nothing of container `id` left: no state, no state directory, no
/// cgroup directory, no init, no mount of the bundle on the host.
#[track_caller]
fn assert_nothing_left(h: &Husk, b: &Bundle, id: &str, init_pid: Option<i64>) {
    assert_no_container(h, id);
    let left: Vec<PathBuf> = cgroup_dirs(id).into_iter().filter(|d| d.exists()).collect();
    assert!(left.is_empty(), "cgroup directories left: {left:?}");
    if let Some(pid) = init_pid {
        assert!(pid > 0, "pid {pid}");
        assert!(!alive(pid), "the container init {pid} is still alive");
    }
    let m = host_mounts_mentioning(b.path().to_str().unwrap());
    assert!(m.is_empty(), "mounts left: {m:?}");
}

// ---------------------------------------------------------------------------
// All six kinds.

/// The container: records its namespaces, says it ran, and waits (up to
/// 10 s) for the test to touch /hooklog/go.
const WAITING_CONTAINER: &str = "readlink /proc/self/ns/mnt > /hooklog/container.mnt; \
     readlink /proc/self/ns/net > /hooklog/container.net; \
     touch /hooklog/ran; \
     i=0; while [ ! -e /hooklog/go ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i + 1)); done";

fn six_kinds_bundle() -> (Bundle, Hooks, Value) {
    let mut b = Bundle::new();
    let hk = Hooks::new(&mut b);
    log_all(&mut b, &hk);
    let annotations = json!({"org.example.hooks": "six", "org.example.words": "two words"});
    b.set("/annotations", annotations.clone());
    b.sh(WAITING_CONTAINER);
    (b, hk, annotations)
}

/// Check the log of a container that went through its whole lifecycle.
/// `pid`: its init's host pid as `husk state` gave it; `mnt`/`net`: its
/// namespaces as read on the host while it ran.
fn check_six(hk: &Hooks, b: &Bundle, id: &str, pid: i64, mnt: &str, net: &str, ann: &Value) {
    assert_eq!(hk.calls(), KINDS, "hook order");
    // What the container itself saw is what the host saw of it.
    assert_eq!(hk.read("container.mnt"), mnt);
    assert_eq!(hk.read("container.net"), net);
    let (host_mnt, host_net) = (host_ns("mnt"), host_ns("net"));
    assert_ne!(mnt, host_mnt, "the container has no mount namespace");
    assert_ne!(net, host_net, "the container has no network namespace");
    for k in ["prestart", "createRuntime", "poststart", "poststop"] {
        assert_eq!(hk.read(&format!("{k}.mnt")), host_mnt, "{k}: mount ns");
        assert_eq!(hk.read(&format!("{k}.net")), host_net, "{k}: net ns");
    }
    for k in ["createContainer", "startContainer"] {
        assert_eq!(hk.read(&format!("{k}.mnt")), mnt, "{k}: mount ns");
        assert_eq!(hk.read(&format!("{k}.net")), net, "{k}: net ns");
    }
    let bundle = std::fs::canonicalize(b.path()).unwrap();
    for (k, status) in [
        ("prestart", "creating"),
        ("createRuntime", "creating"),
        ("createContainer", "creating"),
        ("startContainer", "created"),
        ("poststart", "running"),
        ("poststop", "stopped"),
    ] {
        let s = hk.state(&format!("{k}.state"));
        assert_eq!(s["ociVersion"], b.config["ociVersion"], "{k}: {s}");
        assert_eq!(s["id"], id, "{k}: {s}");
        assert_eq!(s["status"], status, "{k}: {s}");
        assert_eq!(s["pid"].as_i64(), Some(pid), "{k}: {s}");
        assert_eq!(s["bundle"], bundle.to_str().unwrap(), "{k}: {s}");
        assert_eq!(s["annotations"], *ann, "{k}: {s}");
    }
}

#[test]
fn all_six_kinds_with_create_start_delete() {
    let (b, hk, ann) = six_kinds_bundle();
    let h = Husk::new();
    let id = unique_id("hooks-six-csd");

    ok(&create(&h, &b, &id));
    assert_eq!(
        hk.calls(),
        ["prestart", "createRuntime", "createContainer"],
        "after create"
    );
    let st = h.state(&id);
    assert_eq!(st["status"], "created");
    let pid = st["pid"].as_i64().unwrap();
    assert!(pid > 0, "{st}");
    let (mnt, net) = (proc_ns(pid, "mnt"), proc_ns(pid, "net"));

    ok(&husk(&h, &["start", &id]));
    // poststart has run by the time start returns.
    assert_eq!(hk.calls(), &KINDS[..5], "after start");
    wait_for("the container to run", || hk.exists("container.mnt"));
    assert_eq!(proc_ns(pid, "mnt"), mnt);
    std::fs::write(hk.log().join("go"), "").unwrap();
    h.wait_status(&id, "stopped");
    assert_eq!(hk.calls(), &KINDS[..5], "poststop before delete");

    ok(&husk(&h, &["delete", &id]));
    assert!(!h.root.path().join(&id).exists());
    check_six(&hk, &b, &id, pid, &mnt, &net, &ann);
}

#[test]
fn all_six_kinds_with_run() {
    let (b, hk, ann) = six_kinds_bundle();
    let h = Husk::new();
    let id = unique_id("hooks-six-run");
    b.write();
    let tmp = tempfile::tempdir().unwrap();
    let mut child = h
        .command()
        .args(["run", "--bundle", b.path().to_str().unwrap(), &id])
        .stdin(Stdio::null())
        .stdout(File::create(tmp.path().join("stdout")).unwrap())
        .stderr(File::create(tmp.path().join("stderr")).unwrap())
        .spawn()
        .unwrap();
    let stderr_of = || std::fs::read_to_string(tmp.path().join("stderr")).unwrap();
    wait_for("the container to run", || {
        hk.exists("container.mnt") || child.try_wait().unwrap().is_some()
    });
    assert!(
        hk.exists("container.mnt"),
        "husk run ended early: {}",
        stderr_of()
    );
    // Blocks on the container's lock until run has done poststart.
    let st = h.state(&id);
    assert_eq!(st["status"], "running");
    let pid = st["pid"].as_i64().unwrap();
    assert!(pid > 0, "{st}");
    let (mnt, net) = (proc_ns(pid, "mnt"), proc_ns(pid, "net"));
    assert_eq!(hk.calls(), &KINDS[..5], "while running");

    std::fs::write(hk.log().join("go"), "").unwrap();
    let status = wait_child(&mut child, "husk run", TIMEOUT);
    assert!(status.success(), "husk run: {status:?}: {}", stderr_of());
    assert!(!h.root.path().join(&id).exists(), "run left its state");
    check_six(&hk, &b, &id, pid, &mnt, &net, &ann);
}

// ---------------------------------------------------------------------------
// Args and env.

/// Run by /bin/sh with argv[0] "/argv0-KIND/sh" (busybox, the container's
/// sh, picks its applet by the base name). Records "$0" and its arguments, the hook process's argv[0] (from
/// /proc/self/cmdline, opened by the shell itself: createContainer runs in
/// the container's pid namespace but still sees the host's /proc, so $$
/// would name another process) and its environment into $HOOK_DIR/$HOOK_NAME.*.
const ARGS_SCRIPT: &str = r#"cat > /dev/null
printf '%s\n' "$0" "$@" > "$HOOK_DIR/$HOOK_NAME.args"
exec 3< /proc/self/cmdline
tr '\0' '\n' <&3 > "$HOOK_DIR/$HOOK_NAME.cmdline"
env > "$HOOK_DIR/$HOOK_NAME.env"
"#;

#[test]
fn hook_args_and_env_reach_the_hook() {
    let mut b = Bundle::new();
    let hk = Hooks::new(&mut b);
    let no_args = hk.tmp.path().join("bin/noargs.sh");
    write_exec(
        &no_args,
        "#!/bin/sh\nprintf '%s\\n' \"$0\" \"$#\" > \"$HOOK_DIR/noargs\"\n",
    );
    for k in KINDS {
        let dir = if k == "startContainer" {
            IN_CONTAINER_LOG.to_string()
        } else {
            hk.log().to_str().unwrap().to_string()
        };
        let mut list = vec![json!({
            "path": "/bin/sh",
            "args": [format!("/argv0-{k}/sh"), "-c", ARGS_SCRIPT, format!("name-{k}"), "first arg", "second"],
            "env": [PATH_ENV, "HOOK_A=1", "HOOK_B=two words", format!("HOOK_DIR={dir}"), format!("HOOK_NAME={k}")],
        })];
        if k == "prestart" {
            // No args: argv is just the path.
            list.push(json!({
                "path": no_args.to_str().unwrap(),
                "env": [PATH_ENV, format!("HOOK_DIR={dir}")],
            }));
        }
        b.set(&format!("/hooks/{k}"), json!(list));
    }
    b.args(&["true"]);
    b.write();
    let h = Husk::new();
    let id = unique_id("hooks-args");
    let mut c = h.command();
    c.args(["run", "--bundle", b.path().to_str().unwrap(), &id])
        .env("HUSK_TEST_LEAK", "leaked");
    ok(&run_cmd(c));

    for k in KINDS {
        let args: Vec<String> = hk
            .read(&format!("{k}.args"))
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(
            args,
            [format!("name-{k}").as_str(), "first arg", "second"],
            "{k}"
        );
        let argv: Vec<String> = hk
            .read(&format!("{k}.cmdline"))
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(
            argv.first().map(String::as_str),
            Some(format!("/argv0-{k}/sh").as_str()),
            "{k}: argv {argv:?}"
        );
        assert_eq!(
            argv.get(1).map(String::as_str),
            Some("-c"),
            "{k}: argv {argv:?}"
        );
        let env = hk.read(&format!("{k}.env"));
        let env: Vec<&str> = env.lines().collect();
        for want in ["HOOK_A=1", "HOOK_B=two words", PATH_ENV] {
            assert!(env.contains(&want), "{k}: {want} not in {env:?}");
        }
        assert!(
            !env.iter().any(|e| e.starts_with("HUSK_TEST_LEAK=")),
            "{k}: husk's own environment leaked into the hook: {env:?}"
        );
    }
    let noargs = hk.read("noargs");
    assert_eq!(
        noargs.lines().collect::<Vec<_>>(),
        [no_args.to_str().unwrap(), "0"],
        "a hook without args gets argv = [path]"
    );
}

/// A hook without `env` inherits the runtime's environment, as in runc
/// (Go's exec.Cmd with a nil Env); `"env": []` is an empty one.
#[test]
fn hook_without_env_inherits_the_runtimes_environment() {
    let mut b = Bundle::new();
    let hk = Hooks::new(&mut b);
    let log = |n: &str| hk.log().join(n).to_str().unwrap().to_string();
    let dump = "env > \"$1\"";
    b.set(
        "/hooks/prestart",
        json!([
            {"path": "/bin/sh", "args": ["sh", "-c", dump, "sh", log("unset.env")]},
            {"path": "/bin/sh", "args": ["sh", "-c", dump, "sh", log("empty.env")], "env": []},
        ]),
    );
    b.args(&["true"]);
    b.write();
    let h = Husk::new();
    let mut c = h.command();
    c.args(["run", "--bundle", b.arg(), &unique_id("hook-env")])
        .env("HUSK_TEST_INHERITED", "yes");
    ok(&run_cmd(c));
    let unset = hk.read("unset.env");
    assert!(
        unset.lines().any(|l| l == "HUSK_TEST_INHERITED=yes"),
        "no env: the hook gets husk's environment: {unset}"
    );
    let empty = hk.read("empty.env");
    assert!(
        !empty.contains("HUSK_TEST_INHERITED"),
        "env []: an empty environment: {empty}"
    );
}

// ---------------------------------------------------------------------------
// Timeout.

#[test]
fn create_runtime_timeout_kills_the_hook_and_fails_create() {
    let mut b = Bundle::new();
    let hk = Hooks::new(&mut b);
    let id = unique_id("hooks-timeout");
    let cg = pids_cgroup_dir(&id);
    let sleeper = hk.tmp.path().join("bin/sleeper.sh");
    write_exec(
        &sleeper,
        "#!/bin/sh\ncat > \"$1/state\"\necho $$ > \"$1/hook.pid\"\n\
         if [ -d \"$2\" ]; then touch \"$1/cg\"; fi\nexec sleep 30\n",
    );
    b.set(
        "/hooks/createRuntime",
        json!([{
            "path": sleeper.to_str().unwrap(),
            "args": ["sleeper.sh", hk.log().to_str().unwrap(), cg.to_str().unwrap()],
            "env": [PATH_ENV],
            "timeout": 1,
        }]),
    );
    b.set(
        "/hooks/createContainer",
        json!([hk.log_hook("createContainer")]),
    );
    b.args(&["true"]);
    let h = Husk::new();
    let t0 = Instant::now();
    let e = fails(&create(&h, &b, &id));
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(10), "create took {took:?}");
    assert!(
        took >= Duration::from_millis(900),
        "create took {took:?}: did it wait for the timeout?"
    );
    assert!(e.contains("timed out"), "{e}");
    assert!(e.contains("hooks.createRuntime[0]"), "{e}");

    let hook_pid: i64 = hk.read("hook.pid").parse().unwrap();
    assert!(
        !alive(hook_pid),
        "the timed-out hook {hook_pid} is still running"
    );
    let state = hk.state("state");
    assert!(
        hk.exists("cg"),
        "the container's cgroup {} was not there while the hook ran",
        cg.display()
    );
    assert!(
        hk.calls().is_empty(),
        "createContainer ran after the timeout"
    );
    assert_nothing_left(&h, &b, &id, state["pid"].as_i64());
}

// ---------------------------------------------------------------------------
// Failures.

/// A logging hook at [0] of every kind, and a failing hook at [1] of
/// `kind`; a container that touches /hooklog/ran.
fn failing_bundle(kind: &str, id: &str, container: &str) -> (Bundle, Hooks) {
    let mut b = Bundle::new();
    let hk = Hooks::new(&mut b);
    log_all(&mut b, &hk);
    let cg = pids_cgroup_dir(id);
    let cg = if kind == "startContainer" {
        String::new()
    } else {
        cg.to_str().unwrap().to_string()
    };
    push_hook(&mut b, kind, hk.hook("fail.sh", kind, &[cg.as_str()]));
    b.sh(container);
    (b, hk)
}

fn create_hook_failure(kind: &str) {
    let id = unique_id(&format!("hooks-fail-{}", kind.to_lowercase()));
    let (b, hk) = failing_bundle(kind, &id, "touch /hooklog/ran");
    let h = Husk::new();
    let e = fails(&create(&h, &b, &id));
    assert!(e.contains(&format!("hooks.{kind}[1]")), "{e}");
    let upto = KINDS.iter().position(|k| *k == kind).unwrap() + 1;
    assert_eq!(hk.calls(), &KINDS[..upto], "hooks that ran");
    assert!(
        hk.exists(&format!("{kind}.cg")),
        "the cgroup was not there while {kind} ran"
    );
    assert!(!hk.exists("ran"), "the container process ran");
    let st = hk.state(&format!("{kind}.fail.state"));
    assert_eq!(st["status"], "creating");
    assert_nothing_left(&h, &b, &id, st["pid"].as_i64());
    let left: Vec<_> = std::fs::read_dir(h.root.path())
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left under --root: {left:?}");
}

#[test]
fn failing_prestart_fails_create_and_leaves_nothing() {
    create_hook_failure("prestart");
}

#[test]
fn failing_create_runtime_fails_create_and_leaves_nothing() {
    create_hook_failure("createRuntime");
}

#[test]
fn failing_create_container_fails_create_and_leaves_nothing() {
    create_hook_failure("createContainer");
}

#[test]
fn failing_start_container_fails_start_and_the_process_never_runs() {
    let id = unique_id("hooks-fail-startcontainer");
    let (b, hk) = failing_bundle("startContainer", &id, "touch /hooklog/ran");
    let h = Husk::new();
    ok(&create(&h, &b, &id));
    let e = fails(&husk(&h, &["start", &id]));
    assert!(e.contains("hooks.startContainer[1]"), "{e}");
    h.wait_status(&id, "stopped");
    assert!(!hk.exists("ran"), "the container process ran");
    assert_eq!(hk.calls(), &KINDS[..4], "hooks that ran");
    assert_eq!(hk.state("startContainer.fail.state")["status"], "created");
    ok(&husk(&h, &["delete", &id]));
    assert_eq!(
        hk.calls(),
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststop"
        ],
        "delete runs poststop"
    );
    assert_nothing_left(&h, &b, &id, None);
}

#[test]
fn failing_poststart_fails_start_and_stops_the_container() {
    let id = unique_id("hooks-fail-poststart");
    let (b, hk) = failing_bundle("poststart", &id, "touch /hooklog/ran; sleep 30");
    let h = Husk::new();
    ok(&create(&h, &b, &id));
    let pid = h.state(&id)["pid"].as_i64().unwrap();
    let t0 = Instant::now();
    let e = fails(&husk(&h, &["start", &id]));
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "start waited for the container"
    );
    assert!(e.contains("hooks.poststart[1]"), "{e}");
    assert!(hk.exists("ran"), "the container process never ran");
    // Stopped by the time start has returned.
    assert_eq!(h.status(&id), "stopped");
    assert!(!alive(pid), "init {pid} still alive");
    assert_eq!(hk.state("poststart.fail.state")["status"], "running");
    assert_eq!(hk.calls(), &KINDS[..5], "hooks that ran");
    ok(&husk(&h, &["delete", &id]));
    assert_eq!(hk.calls(), KINDS, "delete runs poststop");
    assert_nothing_left(&h, &b, &id, Some(pid));
}

#[test]
fn failing_poststart_fails_run_and_removes_the_container() {
    let id = unique_id("hooks-fail-poststart-run");
    let (b, hk) = failing_bundle("poststart", &id, "touch /hooklog/ran; sleep 30");
    let h = Husk::new();
    let t0 = Instant::now();
    let e = fails(&run(&h, &b, &id));
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "run waited for the container"
    );
    assert!(e.contains("hooks.poststart[1]"), "{e}");
    assert!(hk.exists("ran"), "the container process never ran");
    let pid = hk.state("poststart.fail.state")["pid"].as_i64();
    assert_nothing_left(&h, &b, &id, pid);
}

#[test]
fn failing_poststop_does_not_fail_delete_and_is_logged() {
    let id = unique_id("hooks-fail-poststop");
    let (b, hk) = failing_bundle("poststop", &id, "touch /hooklog/ran");
    let h = Husk::new();
    ok(&create(&h, &b, &id));
    ok(&husk(&h, &["start", &id]));
    h.wait_status(&id, "stopped");
    let log = hk.tmp.path().join("husk.log");
    ok(&husk(&h, &["--log", log.to_str().unwrap(), "delete", &id]));
    assert!(
        hk.exists("poststop.fail.state"),
        "the failing poststop hook never ran"
    );
    assert_eq!(hk.state("poststop.fail.state")["status"], "stopped");
    assert_eq!(hk.calls(), KINDS);
    assert!(!h.root.path().join(&id).exists(), "state dir left");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let line = text.lines().find(|l| l.contains("hooks.poststop[1]"));
    assert!(line.is_some(), "no log line about the hook in {text:?}");
    let line = line.unwrap().to_lowercase();
    assert!(line.contains("warn"), "not a warning: {line}");
    assert_nothing_left(&h, &b, &id, None);
}

/// runtime-spec: "If any poststop hook fails, the runtime MUST log a
/// warning, but the remaining hooks and lifecycle continue as if the hook
/// had succeeded."
#[test]
fn failing_poststop_does_not_stop_the_remaining_poststop_hooks() {
    let id = unique_id("hooks-fail-poststop-rest");
    let (mut b, hk) = failing_bundle("poststop", &id, "true");
    let after = hk.hook("hook.sh", "poststopAfter", &[]);
    push_hook(&mut b, "poststop", after);
    let h = Husk::new();
    ok(&run(&h, &b, &id));
    assert!(
        hk.exists("poststop.fail.state"),
        "the failing poststop hook never ran"
    );
    assert_eq!(
        hk.calls().last().map(String::as_str),
        Some("poststopAfter"),
        "poststop[2] did not run after poststop[1] failed: {:?}",
        hk.calls()
    );
}

// ---------------------------------------------------------------------------
// Bad paths.

#[test]
fn relative_hook_path_is_rejected_at_create() {
    for kind in KINDS {
        let mut b = Bundle::new();
        let hk = Hooks::new(&mut b);
        log_all(&mut b, &hk);
        push_hook(&mut b, kind, json!({"path": "bin/true", "args": ["true"]}));
        b.args(&["true"]);
        let h = Husk::new();
        let id = unique_id("hooks-relative");
        let e = fails(&create(&h, &b, &id));
        assert!(e.contains(&format!("hooks.{kind}[1].path")), "{kind}: {e}");
        assert!(hk.calls().is_empty(), "{kind}: hooks ran: {:?}", hk.calls());
        assert_nothing_left(&h, &b, &id, None);
    }
}

#[test]
fn missing_hook_path_fails_create_naming_it() {
    for kind in ["prestart", "createRuntime", "createContainer"] {
        let mut b = Bundle::new();
        let id = unique_id("hooks-missing");
        let missing = format!("/nonexistent-husk-hook/{id}");
        b.set(
            &format!("/hooks/{kind}"),
            json!([{"path": missing, "env": [PATH_ENV]}]),
        );
        b.args(&["true"]);
        let h = Husk::new();
        let e = fails(&create(&h, &b, &id));
        assert!(e.contains(&format!("hooks.{kind}[0]")), "{kind}: {e}");
        assert!(e.contains(&missing), "{kind}: {e}");
        assert_nothing_left(&h, &b, &id, None);
    }
}

#[test]
fn missing_start_container_hook_fails_start_naming_it() {
    let mut b = Bundle::new();
    let hk = Hooks::new(&mut b);
    b.set(
        "/hooks/startContainer",
        json!([{"path": "/no-such-hook", "env": [PATH_ENV]}]),
    );
    b.sh("touch /hooklog/ran");
    let h = Husk::new();
    let id = unique_id("hooks-missing-start");
    ok(&create(&h, &b, &id));
    let e = fails(&husk(&h, &["start", &id]));
    assert!(e.contains("hooks.startContainer[0]"), "{e}");
    assert!(e.contains("/no-such-hook"), "{e}");
    h.wait_status(&id, "stopped");
    assert!(!hk.exists("ran"), "the container process ran");
    ok(&husk(&h, &["delete", &id]));
    assert_nothing_left(&h, &b, &id, None);
}
