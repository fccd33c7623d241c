//! Rootless containers: husk run by an unprivileged user (made here,
//! "husk-rootless", with /etc/subuid and /etc/subgid ranges), asserting what
//! the container sees from inside and what is left on the host.

mod common;

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use common::*;
use serde_json::{Value, json};
use tempfile::TempDir;

const USER: &str = "husk-rootless";

struct User {
    uid: u32,
    gid: u32,
    /// The first of the user's /etc/subuid (and subgid) ids, and how many.
    sub_start: u32,
    sub_count: u32,
    /// A copy of husk the user can reach whatever the checkout's modes.
    bin: PathBuf,
    _bin_dir: TempDir,
}

fn id_of(flag: &str) -> u32 {
    let o = Command::new("id").args([flag, USER]).output().unwrap();
    assert!(o.status.success(), "id {flag} {USER}: {}", stderr(&o));
    stdout(&o).trim().parse().unwrap()
}

fn subids(file: &str) -> Option<(u32, u32)> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() == 3 && f[0] == USER).then(|| (f[1].parse().unwrap(), f[2].parse().unwrap()))
    })
}

/// The test user, made once: useradd gives it subordinate ids on Debian;
/// elsewhere they are added by hand.
fn user() -> &'static User {
    static U: OnceLock<User> = OnceLock::new();
    U.get_or_init(|| {
        require_root();
        assert!(
            Path::new("/usr/bin/newuidmap").exists(),
            "newuidmap is missing: install Debian's uidmap package (scripts/test.sh does)"
        );
        if !Command::new("id")
            .arg(USER)
            .output()
            .unwrap()
            .status
            .success()
        {
            let o = Command::new("useradd")
                .args(["--create-home", "--user-group", "--shell", "/bin/sh", USER])
                .output()
                .unwrap();
            // A parallel test binary may have made it meanwhile.
            assert!(
                o.status.success() || stderr(&o).contains("already exists"),
                "useradd {USER}: {}",
                stderr(&o)
            );
        }
        if subids("/etc/subuid").is_none() || subids("/etc/subgid").is_none() {
            let o = Command::new("usermod")
                .args([
                    "--add-subuids",
                    "400000-465535",
                    "--add-subgids",
                    "400000-465535",
                    USER,
                ])
                .output()
                .unwrap();
            assert!(o.status.success(), "usermod: {}", stderr(&o));
        }
        let (sub_start, sub_count) = subids("/etc/subuid").unwrap();
        assert_eq!(
            subids("/etc/subgid"),
            Some((sub_start, sub_count)),
            "the tests expect the same subuid and subgid ranges"
        );
        let bin_dir = tempfile::Builder::new()
            .prefix("husk-rootless-bin-")
            .tempdir()
            .unwrap();
        let bin = bin_dir.path().join("husk");
        std::fs::copy(HUSK, &bin).unwrap();
        chmod(bin_dir.path(), 0o755);
        chmod(&bin, 0o755);
        User {
            uid: id_of("-u"),
            gid: id_of("-g"),
            sub_start,
            sub_count,
            bin,
            _bin_dir: bin_dir,
        }
    })
}

fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown_r(p: &Path, u: &User) {
    let o = Command::new("chown")
        .arg("-R")
        .arg(format!("{}:{}", u.uid, u.gid))
        .arg(p)
        .output()
        .unwrap();
    assert!(o.status.success(), "chown: {}", stderr(&o));
}

/// husk as the test user, with its own XDG_RUNTIME_DIR (so the default
/// --root is XDG_RUNTIME_DIR/husk); deletes what is left on drop.
struct Rootless {
    user: &'static User,
    xdg: TempDir,
}

impl Rootless {
    fn new() -> Rootless {
        let user = user();
        let xdg = tempfile::Builder::new()
            .prefix("husk-xdg-")
            .tempdir()
            .unwrap();
        chown_r(xdg.path(), user);
        Rootless { user, xdg }
    }

    fn state_root(&self) -> PathBuf {
        self.xdg.path().join("husk")
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.user.bin);
        c.uid(self.user.uid)
            .gid(self.user.gid)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("HOME", "/")
            .env("XDG_RUNTIME_DIR", self.xdg.path())
            .current_dir("/")
            .stdin(Stdio::null());
        c
    }

    /// Output into files, not pipes: a created container's init holds
    /// husk's stdout until it starts.
    fn cmd(&self, args: &[&str]) -> Output {
        let mut c = self.command();
        c.args(args);
        run_timed(c, Stdin::Null, Out::Temp, TIMEOUT)
    }

    fn run(&self, b: &Bundle, id: &str) -> Output {
        b.write();
        self.cmd(&["run", "--bundle", b.arg(), id])
    }

    fn state(&self, id: &str) -> Value {
        serde_json::from_str(&ok(&self.cmd(&["state", id]))).unwrap()
    }

    /// `run --detach`, then wait for "running"; returns the init's pid.
    fn run_detached(&self, b: &Bundle, id: &str) -> i32 {
        b.write();
        let log = b.path().join("detached.log");
        let o = run_timed(
            {
                let mut c = self.command();
                c.args(["run", "--detach", "--bundle", b.arg(), id]);
                c
            },
            Stdin::Null,
            Out::Beside(&log),
            TIMEOUT,
        );
        assert!(o.status.success(), "run --detach {id}: {}", stderr(&o));
        wait_for("running", || self.state(id)["status"] == "running");
        self.state(id)["pid"].as_i64().unwrap() as i32
    }
}

impl Drop for Rootless {
    fn drop(&mut self) {
        let out = self.cmd(&["list", "-q"]);
        for id in stdout(&out).lines() {
            let _ = self.cmd(&["delete", "--force", id]);
        }
    }
}

/// A bundle with the config `husk spec --rootless` writes for the user
/// (its process replaced by the test's), owned by the user.
fn bundle(r: &Rootless) -> Bundle {
    let mut b = Bundle::new();
    let spec_dir = tempfile::tempdir().unwrap();
    chown_r(spec_dir.path(), r.user);
    ok(&r.cmd(&[
        "spec",
        "--rootless",
        "--bundle",
        spec_dir.path().to_str().unwrap(),
    ]));
    let text = std::fs::read_to_string(spec_dir.path().join("config.json")).unwrap();
    b.config = serde_json::from_str(&text).unwrap();
    b.config["root"]["readonly"] = json!(false);
    chown_r(b.path(), r.user);
    b
}

fn sub_mapping(u: &User) -> Value {
    json!([
        {"containerID": 0, "hostID": u.uid, "size": 1},
        {"containerID": 1, "hostID": u.sub_start, "size": u.sub_count}
    ])
}

fn sub_gid_mapping(u: &User) -> Value {
    json!([
        {"containerID": 0, "hostID": u.gid, "size": 1},
        {"containerID": 1, "hostID": u.sub_start, "size": u.sub_count}
    ])
}

/// No state directory and no process left for `id`.
fn assert_nothing_left(r: &Rootless, id: &str) {
    assert!(
        !r.state_root().join(id).exists(),
        "state directory of {id} left behind"
    );
    assert_eq!(
        stdout(&r.cmd(&["list", "-q"])).trim(),
        "",
        "containers left"
    );
    let mine: Vec<i32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| {
            std::fs::metadata(format!("/proc/{p}")).is_ok_and(|m| m.uid() == r.user.uid)
                && std::fs::read_to_string(format!("/proc/{p}/environ"))
                    .is_ok_and(|e| e.contains(&r.xdg.path().to_string_lossy().to_string()))
        })
        .collect();
    assert!(mine.is_empty(), "processes of this test left: {mine:?}");
}

#[test]
fn rootless_spec_maps_the_calling_user() {
    let r = Rootless::new();
    let b = bundle(&r);
    let u = r.user;
    assert_eq!(
        b.config["linux"]["uidMappings"],
        json!([{"containerID": 0, "hostID": u.uid, "size": 1}])
    );
    assert_eq!(
        b.config["linux"]["gidMappings"],
        json!([{"containerID": 0, "hostID": u.gid, "size": 1}])
    );
    let ns = b.config["linux"]["namespaces"].as_array().unwrap();
    assert!(ns.iter().any(|n| n["type"] == "user"), "{ns:?}");
}

#[test]
fn rootless_single_mapping_makes_the_caller_root_inside() {
    let r = Rootless::new();
    let mut b = bundle(&r);
    b.sh(
        "echo uid_map=$(cat /proc/self/uid_map); echo gid_map=$(cat /proc/self/gid_map); \
         echo setgroups=$(cat /proc/self/setgroups); echo id=$(id -u):$(id -g); \
         touch /owned; stat -c owner=%u:%g /owned",
    );
    let out = ok(&r.run(&b, &unique_id("rl-map")));
    let v = kv(&out);
    let u = r.user;
    let one = |id: u32| format!("0 {id} 1");
    assert_eq!(
        v["uid_map"]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        one(u.uid),
        "{out}"
    );
    assert_eq!(
        v["gid_map"]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        one(u.gid),
        "{out}"
    );
    // Written directly by an unprivileged process: setgroups must be denied.
    assert_eq!(v["setgroups"], "deny", "{out}");
    assert_eq!(v["id"], "0:0", "{out}");
    assert_eq!(v["owner"], "0:0", "{out}");
    // On the host, root-in-the-container's file is the user's.
    let m = std::fs::metadata(b.rootfs().join("owned")).unwrap();
    assert_eq!((m.uid(), m.gid()), (u.uid, u.gid));
}

#[test]
fn rootless_subuid_ranges_go_through_newuidmap() {
    let r = Rootless::new();
    let u = r.user;
    let mut b = bundle(&r);
    b.set("/linux/uidMappings", sub_mapping(u));
    b.set("/linux/gidMappings", sub_gid_mapping(u));
    b.set(
        "/process/user",
        json!({"uid": 1000, "gid": 1000, "additionalGids": [1001]}),
    );
    b.sh(
        "echo uid_lines=$(wc -l < /proc/self/uid_map); echo id=$(id -u):$(id -g); \
         echo groups=$(id -G); touch /tmp/byuser; stat -c owner=%u:%g /tmp/byuser",
    );
    std::fs::create_dir_all(b.rootfs().join("tmp")).unwrap();
    chmod(&b.rootfs().join("tmp"), 0o1777);
    let out = ok(&r.run(&b, &unique_id("rl-sub")));
    let v = kv(&out);
    assert_eq!(v["uid_lines"], "2", "{out}");
    assert_eq!(v["id"], "1000:1000", "{out}");
    assert!(v["groups"].split(' ').any(|g| g == "1001"), "{out}");
    assert_eq!(v["owner"], "1000:1000", "{out}");
    // uid 1000 inside is subuid start + 999 outside.
    let m = std::fs::metadata(b.rootfs().join("tmp/byuser")).unwrap();
    assert_eq!(m.uid(), u.sub_start + 999);
    assert_eq!(m.gid(), u.sub_start + 999);
}

#[test]
fn rootless_exit_code_is_the_containers() {
    let r = Rootless::new();
    let mut b = bundle(&r);
    b.sh("exit 7");
    assert_eq!(r.run(&b, &unique_id("rl-exit")).status.code(), Some(7));
    // Killed by a signal: 128+N. (A pid 1 cannot be killed from inside its
    // own pid namespace, so the victim is an exec'd process.)
    b.args(&["sleep", "100"]);
    let id = unique_id("rl-sig");
    r.run_detached(&b, &id);
    let o = r.cmd(&["exec", &id, "sh", "-c", "kill -9 $$"]);
    assert_eq!(o.status.code(), Some(137), "{}", stderr(&o));
    ok(&r.cmd(&["delete", "--force", &id]));
    assert_nothing_left(&r, &id);
}

#[test]
fn rootless_read_only_root() {
    let r = Rootless::new();
    let mut b = bundle(&r);
    b.config["root"]["readonly"] = json!(true);
    b.sh("touch /x 2>/dev/null && echo wrote=yes || echo wrote=no; \
         awk '$5 == \"/\" {print \"opts=\" $6}' /proc/self/mountinfo");
    let out = ok(&r.run(&b, &unique_id("rl-ro")));
    let v = kv(&out);
    assert_eq!(v["wrote"], "no", "{out}");
    assert!(v["opts"].split(',').any(|o| o == "ro"), "{out}");
    assert!(!b.rootfs().join("x").exists());
}

#[test]
fn rootless_gets_its_own_proc_sys_dev_and_hostname() {
    let r = Rootless::new();
    let mut b = bundle(&r);
    b.sh("echo host=$(hostname); echo pid1=$(cat /proc/1/comm); \
         echo sys=$(ls /sys/kernel >/dev/null && echo yes); \
         echo null=$(stat -c %t:%T /dev/null); echo hi > /dev/null && echo write_null=ok; \
         echo zero=$(head -c 4 /dev/zero | od -An -tx1 | tr -d ' '); \
         echo mounts=$(awk '{print $5}' /proc/self/mountinfo | tr '\\n' ' ')");
    let out = ok(&r.run(&b, &unique_id("rl-view")));
    let v = kv(&out);
    assert_eq!(v["host"], "husk", "{out}");
    assert_eq!(v["pid1"], "sh", "{out}");
    assert_eq!(v["sys"], "yes", "{out}");
    // The host's own device node, bound in: mknod is not allowed here.
    assert_eq!(v["null"], "1:3", "{out}");
    assert_eq!(v["write_null"], "ok", "{out}");
    assert_eq!(v["zero"], "00000000", "{out}");
    for m in [
        "/proc",
        "/sys",
        "/dev",
        "/dev/pts",
        "/dev/shm",
        "/dev/mqueue",
    ] {
        assert!(v["mounts"].split(' ').any(|x| x == m), "{m} missing: {out}");
    }
}

#[test]
fn rootless_state_lives_under_xdg_runtime_dir() {
    let r = Rootless::new();
    let mut b = bundle(&r);
    b.args(&["sleep", "100"]);
    let id = unique_id("rl-state");
    b.write();
    ok(&r.cmd(&["create", "--bundle", b.arg(), &id]));
    let dir = r.state_root().join(&id);
    let m = std::fs::metadata(dir.join("state.json")).unwrap();
    assert_eq!(m.uid(), r.user.uid, "state.json is the user's");
    assert_eq!(r.state(&id)["status"], "created");
    let list: Value = serde_json::from_str(&ok(&r.cmd(&["list", "-f", "json"]))).unwrap();
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["owner"], USER, "{list}");
    ok(&r.cmd(&["start", &id]));
    assert_eq!(r.state(&id)["status"], "running");
    kill_and_delete(&r, &id, &["kill", &id, "KILL"]);
}

/// Kill (with these arguments), wait for "stopped", delete, and check
/// nothing is left.
fn kill_and_delete(r: &Rootless, id: &str, kill: &[&str]) {
    ok(&r.cmd(kill));
    wait_for("stopped", || r.state(id)["status"] == "stopped");
    ok(&r.cmd(&["delete", id]));
    assert_nothing_left(r, id);
}

#[test]
fn rootless_kill_all_and_delete_without_a_cgroup() {
    let r = Rootless::new();
    let mut b = bundle(&r);
    b.args(&["sleep", "100"]);
    let id = unique_id("rl-kill");
    let init = r.run_detached(&b, &id);
    // A second process, from exec: kill --all must find it with no cgroup.
    let o = r.cmd(&["exec", "--detach", &id, "sleep", "99"]);
    ok(&o);
    let ps: Vec<i32> = serde_json::from_str(&ok(&r.cmd(&["ps", "-f", "json", &id]))).unwrap();
    assert_eq!(ps.len(), 2, "ps without a cgroup: {ps:?}");
    assert!(ps.contains(&init));
    kill_and_delete(&r, &id, &["kill", "--all", &id, "KILL"]);
    for p in &ps {
        wait_for("the processes to go", || {
            !Path::new(&format!("/proc/{p}")).exists()
        });
    }
}

#[test]
fn rootless_exec_enters_the_container() {
    let r = Rootless::new();
    let mut b = bundle(&r);
    b.args(&["sleep", "100"]);
    let id = unique_id("rl-exec");
    let init = r.run_detached(&b, &id);
    let out = ok(&r.cmd(&[
        "exec",
        &id,
        "sh",
        "-c",
        "echo host=$(hostname); echo id=$(id -u); echo user_ns=$(readlink /proc/self/ns/user)",
    ]));
    let v = kv(&out);
    assert_eq!(v["host"], "husk", "{out}");
    assert_eq!(v["id"], "0", "{out}");
    assert_eq!(v["user_ns"], proc_ns(init, "user"), "{out}");
    ok(&r.cmd(&["delete", "--force", &id]));
    assert_nothing_left(&r, &id);
}

#[test]
fn rootless_limits_without_a_delegated_cgroup_are_refused() {
    let r = Rootless::new();
    let mut b = bundle(&r);
    b.set("/linux/resources", json!({"pids": {"limit": 20}}));
    let id = unique_id("rl-limits");
    let e = fails(&r.run(&b, &id));
    for w in [
        "linux.resources (pids)",
        "no cgroup subtree is delegated",
        "husk.cgroups=optional",
        "--cgroups-optional",
    ] {
        assert!(e.contains(w), "{w:?} not in: {e}");
    }
    assert_nothing_left(&r, &id);
}

#[test]
fn rootless_limits_may_be_dropped_when_the_config_says_so() {
    let r = Rootless::new();
    let mut b = bundle(&r);
    b.set("/linux/resources", json!({"pids": {"limit": 20}}));
    b.set("/annotations", json!({"husk.cgroups": "optional"}));
    b.sh("echo ran");
    let o = r.run(&b, &unique_id("rl-opt"));
    assert_eq!(ok(&o).trim(), "ran");
    assert!(
        stderr(&o).contains("not applied"),
        "a dropped limit is never silent: {}",
        stderr(&o)
    );
    // The same with the flag instead of the annotation.
    b.remove("/annotations");
    b.write();
    let id = unique_id("rl-flag");
    let o = r.cmd(&["run", "--cgroups-optional", "--bundle", b.arg(), &id]);
    assert_eq!(ok(&o).trim(), "ran");
    // A container without a cgroup cannot be paused, and says why.
    b.set("/annotations", json!({"husk.cgroups": "optional"}));
    b.args(&["sleep", "100"]);
    let id = unique_id("rl-pause");
    r.run_detached(&b, &id);
    let e = fails(&r.cmd(&["pause", &id]));
    assert!(e.contains("no cgroup delegated"), "{e}");
}

#[test]
fn rootless_mapping_the_user_may_not_have_is_refused() {
    let r = Rootless::new();
    let mut b = bundle(&r);
    // Host root is nobody's to map.
    b.set(
        "/linux/uidMappings",
        json!([{"containerID": 0, "hostID": 0, "size": 1}]),
    );
    let id = unique_id("rl-deny");
    let e = fails(&r.run(&b, &id));
    assert!(e.contains("linux.uidMappings"), "{e}");
    assert!(e.contains("newuidmap"), "{e}");
    assert_nothing_left(&r, &id);
}

#[test]
fn rootless_missing_newuidmap_is_refused() {
    let r = Rootless::new();
    let mut b = bundle(&r);
    b.set("/linux/uidMappings", sub_mapping(r.user));
    b.write();
    let id = unique_id("rl-nohelper");
    let mut c = r.command();
    c.env("PATH", "/nonexistent")
        .args(["run", "--bundle", b.arg(), &id]);
    let o = run_timed(c, Stdin::Null, Out::Temp, TIMEOUT);
    let e = fails(&o);
    assert!(
        e.contains("needs newuidmap (Debian package uidmap), and it is not in PATH (/nonexistent)"),
        "{e}"
    );
    assert_nothing_left(&r, &id);
}

#[test]
fn rootless_root_dir_the_user_cannot_write_is_refused() {
    let r = Rootless::new();
    let b = bundle(&r);
    b.write();
    // A root-owned directory: not writable by the user.
    let theirs = tempfile::tempdir().unwrap();
    let root = theirs.path().join("state");
    let run_in = |root: &Path| {
        fails(&r.cmd(&[
            "--root",
            root.to_str().unwrap(),
            "run",
            "--bundle",
            b.arg(),
            "x",
        ]))
    };
    let e = run_in(&root);
    assert!(e.contains("create root directory"), "{e}");
    assert!(e.contains("EACCES"), "{e}");
    // Writable by the user but someone else's: refused too, since whoever
    // owns it could rewrite the state husk acts on.
    chmod(theirs.path(), 0o1777);
    std::fs::create_dir(&root).unwrap();
    chmod(&root, 0o777);
    let e = run_in(&root);
    assert!(e.contains("belongs to uid 0, not to you"), "{e}");
    assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0);
}

#[test]
fn rootless_without_a_user_namespace_is_refused() {
    let r = Rootless::new();
    let mut b = bundle(&r);
    b.remove_namespace("user");
    b.remove("/linux/uidMappings");
    b.remove("/linux/gidMappings");
    let id = unique_id("rl-nouserns");
    let e = fails(&r.run(&b, &id));
    assert!(e.contains("needs a user namespace"), "{e}");
    assert!(e.contains("husk spec --rootless"), "{e}");
    assert_nothing_left(&r, &id);
}
