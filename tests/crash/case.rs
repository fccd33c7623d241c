//! The harness the crash and concurrency tests share: a container ID, a
//! bundle and a cgroupsPath used again and again; husk commands that can
//! be killed; what is left of the container on the host; a reaper.
//!
//! The reaper: a process that `husk exec` started lives on when that husk
//! is killed, and is reparented to the nearest subreaper. When the
//! container's init dies, the kernel waits for every process of its pid
//! namespace to be reaped before the init counts as exited, so a slow
//! reaper makes every `delete` wait (this host's PID 1 reaps orphans
//! only now and then, up to 2 s late). This test process is the
//! subreaper instead, and reaps at once every child it did not spawn
//! itself. So that it never takes a child from `Child::wait`, every spawn
//! goes through [`spawn`], or runs inside [`quiet`].
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use super::common::*;
use serde_json::json;

/// How long a husk command that is not meant to be killed may take.
pub const LIMIT: Duration = Duration::from_secs(30);

/// The children this process spawned (theirs to wait for).
static SPAWNED: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

fn start_reaper() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: integer-only prctl.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        std::thread::spawn(|| {
            let me = std::process::id() as i32;
            loop {
                std::thread::sleep(Duration::from_millis(2));
                let mine = SPAWNED.lock().unwrap_or_else(|e| e.into_inner());
                for pid in children_of(me) {
                    if !mine.contains(&pid) {
                        // SAFETY: reaps an orphan if it has exited; the
                        // status is not needed.
                        unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
                    }
                }
            }
        });
    });
}

/// Spawn `c` as a child this process will wait for itself.
pub fn spawn(c: &mut Command) -> Child {
    start_reaper();
    let mut mine = SPAWNED.lock().unwrap_or_else(|e| e.into_inner());
    let child = c.spawn().unwrap_or_else(|e| panic!("spawn {c:?}: {e}"));
    mine.insert(child.id() as i32);
    child
}

/// Wait up to `within` for `child`; None (after a SIGKILL) if it hung.
pub fn wait(child: &mut Child, within: Duration) -> Option<ExitStatus> {
    let st = wait_or_kill(child, within);
    forget(child);
    st
}

/// SIGKILL `child` and reap it.
pub fn kill(child: &mut Child) {
    // SAFETY: a signal to a child this process spawned and has not reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    forget(child);
}

fn forget(child: &Child) {
    SPAWNED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&(child.id() as i32));
}

/// Run `f` (which may spawn through std, as the shared helpers do) while
/// the reaper waits.
pub fn quiet<T>(f: impl FnOnce() -> T) -> T {
    start_reaper();
    let _mine = SPAWNED.lock().unwrap_or_else(|e| e.into_inner());
    f()
}

/// Processes whose parent is `pid`.
pub fn children_of(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in rd.flatten() {
        let text = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
        out.extend(
            text.split_whitespace()
                .filter_map(|s| s.parse::<i32>().ok()),
        );
    }
    out
}

/// A husk command's end: its exit status (None if it hung and was
/// killed) and its stdout and stderr, together.
pub struct Ran {
    pub status: Option<ExitStatus>,
    pub out: String,
}

impl Ran {
    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
}

/// One container ID, bundle and cgroupsPath, killed and re-created again
/// and again.
pub struct Case {
    pub h: Husk,
    pub b: Bundle,
    pub id: String,
    /// The relative cgroupsPath, two levels ("<unique>/ctr") so that husk
    /// makes a parent as well as the leaf.
    pub cgroup: String,
}

impl Case {
    /// `bundle` makes the bundle (it copies a rootfs: see [`quiet`]).
    pub fn new(prefix: &str, bundle: impl FnOnce() -> Bundle) -> Case {
        let id = unique_id(prefix);
        let cgroup = format!("{id}/ctr");
        let mut c = Case {
            h: Husk::new(),
            b: quiet(bundle),
            id,
            cgroup,
        };
        c.b.set("/linux/cgroupsPath", json!(c.cgroup));
        c.b.write();
        c
    }

    /// `husk ARGS` with stdout and stderr in one file: `out` in the
    /// bundle, or a fresh temporary file.
    pub fn spawn(&self, args: &[&str], env: Option<(&str, &str)>, out: Option<&Path>) -> Child {
        let mut c = self.h.command();
        c.args(args);
        if let Some((k, v)) = env {
            c.env(k, v);
        }
        let file = match out {
            Some(p) => std::fs::File::create(p).unwrap(),
            None => tempfile::tempfile().unwrap(),
        };
        c.stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        spawn(&mut c)
    }

    /// `husk ARGS`, waited for up to LIMIT.
    pub fn husk(&self, args: &[&str]) -> Ran {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let mut child = self.spawn(args, None, Some(tmp.path()));
        let status = wait(&mut child, LIMIT);
        Ran {
            status,
            out: std::fs::read_to_string(tmp.path()).unwrap_or_default(),
        }
    }

    /// `husk ARGS`; fails the test unless it succeeds.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.husk(args);
        assert!(r.ok(), "husk {args:?}: {:?}: {}", r.status, r.out);
        r.out
    }

    /// `create --bundle B ID`.
    pub fn create_args(&self) -> [&str; 4] {
        ["create", "--bundle", self.b.arg(), &self.id]
    }

    /// Everything of this container that is still on the host: state
    /// (the directory, its FIFO and lock) under --root, its cgroup and
    /// cgroup parent in every hierarchy, mounts of its bundle, processes
    /// of its bundle.
    pub fn leftovers(&self) -> Vec<String> {
        let mut left = Vec::new();
        for e in std::fs::read_dir(self.h.root.path()).unwrap().flatten() {
            left.push(format!("state: {}", e.path().display()));
        }
        for d in self.cgroup_dirs() {
            if d.exists() {
                left.push(format!("cgroup: {}", d.display()));
            }
        }
        for m in host_mounts_mentioning(self.b.arg()) {
            left.push(format!("mount: {m}"));
        }
        for (pid, cmd) in bundle_processes(&self.b) {
            left.push(format!("process: {pid} {cmd}"));
        }
        left
    }

    /// The leaf and its parent, in every hierarchy, deepest first.
    fn cgroup_dirs(&self) -> Vec<PathBuf> {
        let parent = self.cgroup.split('/').next().unwrap();
        hierarchies()
            .iter()
            .flat_map(|hi| [hi.dir(&self.cgroup), hi.dir(parent)])
            .collect()
    }

    /// After a kill: `delete --force` succeeds and leaves nothing. Returns
    /// what was wrong, so that a random run can report all of it.
    pub fn recover(&self, what: &str) -> Vec<String> {
        let mut wrong = Vec::new();
        let r = self.husk(&["delete", "--force", &self.id]);
        if !r.ok() {
            wrong.push(format!(
                "{what}: delete --force failed ({:?}): {}",
                r.status, r.out
            ));
            // Once more: a delete must be repeatable.
            self.husk(&["delete", "--force", &self.id]);
        }
        wrong.extend(
            self.leftovers()
                .into_iter()
                .map(|l| format!("{what}: left after delete --force: {l}")),
        );
        if !wrong.is_empty() {
            self.scrub();
        }
        wrong
    }

    /// Create with the same ID and cgroupsPath: must succeed at once.
    pub fn recreate(&self, what: &str) -> Option<String> {
        let r = self.husk(&self.create_args());
        (!r.ok()).then(|| format!("{what}: re-create failed ({:?}): {}", r.status, r.out))
    }

    #[track_caller]
    pub fn create_ok(&self) {
        if let Some(e) = self.recreate("create") {
            panic!("{e}");
        }
    }

    /// Remove by hand what husk left, so one failure does not cascade.
    pub fn scrub(&self) {
        for (pid, _) in bundle_processes(&self.b) {
            // SAFETY: a signal to a process of this test's bundle.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(100));
        quiet(|| {
            Command::new("umount")
                .arg("-R")
                .arg("-l")
                .arg(self.b.rootfs())
                .stderr(Stdio::null())
                .status()
        })
        .ok();
        for d in self.cgroup_dirs() {
            let _ = std::fs::remove_dir(d);
        }
        let _ = std::fs::remove_dir_all(self.h.root.path().join(&self.id));
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        self.husk(&["delete", "--force", &self.id]);
        self.scrub();
    }
}

/// Poll `cond` every 2 ms for up to `within`.
pub fn poll(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[track_caller]
pub fn assert_none(wrong: &[String]) {
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// xorshift64*: reproducible from a printed seed.
pub struct Rng(pub u64);

impl Rng {
    /// From `var` if set, else from the clock.
    pub fn seeded(var: &str) -> Rng {
        let seed = std::env::var(var)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The busybox bundle with limits in every controller husk writes here,
/// and hooks husk runs (createRuntime in husk, createContainer in the
/// container's namespaces).
pub fn limits_and_hooks_bundle() -> Bundle {
    let mut b = Bundle::new();
    b.args(&["sleep", "60"])
        .set("/linux/resources/pids", json!({"limit": 64}))
        .set("/linux/resources/memory", json!({"limit": 64 << 20}))
        .set("/linux/resources/cpu", json!({"shares": 512}))
        .set(
            "/hooks",
            json!({
                "createRuntime": [{"path": "/bin/true"}],
                "createContainer": [{"path": "/bin/true"}],
            }),
        );
    b
}
