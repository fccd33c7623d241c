//! Shared helpers for the integration tests: a private bundle (config.json
//! plus its own copy of the busybox rootfs) and a husk with a private
//! --root. Each test uses its own, so tests run in parallel and leave
//! nothing behind.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use tempfile::TempDir;

pub const HUSK: &str = env!("CARGO_BIN_EXE_husk");

fn repo() -> PathBuf {
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
        let st = Command::new("cp")
            .arg("-a")
            .arg(base_rootfs())
            .arg(dir.path().join("rootfs"))
            .status()
            .unwrap();
        assert!(st.success(), "copy rootfs");
        let text = std::fs::read_to_string(repo().join("bundles/busybox/config.json")).unwrap();
        let mut config: Value = serde_json::from_str(&text).unwrap();
        config["root"] = json!({"path": "rootfs", "readonly": false});
        Bundle { dir, config }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
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
    pub fn state(&self, id: &str) -> Value {
        let o = self.cmd(&["state", id]);
        assert!(o.status.success(), "state {id}: {}", stderr(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    }

    pub fn status(&self, id: &str) -> String {
        self.state(id)["status"].as_str().unwrap().to_string()
    }

    /// Wait (up to 10 s) for the container to reach `status`.
    pub fn wait_status(&self, id: &str, status: &str) {
        for _ in 0..1000 {
            if self.status(id) == status {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("{id} never reached {status}");
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

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
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
