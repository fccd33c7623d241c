mod common;

// `husk spec` (the default and --rootless config.json, and that both run),
// `husk features` (a valid document, and every namespace and mount option
// it claims actually works in a container) and `husk --version`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

/// No husk command may take longer than this.
const TIMEOUT: Duration = Duration::from_secs(30);

/// `husk ARGS` with an empty pipe for stdin, stdout and stderr in files
/// (a container inherits them), and a timeout.
fn husk(h: &Husk, args: &[&str]) -> Output {
    h.timed(args, Stdin::Pipe(b""), Out::Temp, TIMEOUT)
}

/// A temp dir with `husk spec [extra]` run in it and the busybox rootfs
/// copied next to the config.
fn spec_bundle(h: &Husk, extra: &[&str]) -> tempfile::TempDir {
    require_root();
    let dir = tempfile::Builder::new()
        .prefix("husk-spec-")
        .tempdir()
        .unwrap();
    let mut args = vec!["spec", "--bundle", dir.path().to_str().unwrap()];
    args.extend_from_slice(extra);
    ok(&husk(h, &args));
    assert!(dir.path().join("config.json").is_file(), "no config.json");
    copy_rootfs(dir.path());
    dir
}

fn config_of(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("config.json")).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("config.json: {e}: {text}"))
}

/// `husk run` of the bundle in `dir` (its process is `sh`), feeding the
/// shell `script` on stdin.
fn run_sh(h: &Husk, dir: &Path, id: &str, script: &str) -> Output {
    h.timed(
        &["run", "--bundle", dir.to_str().unwrap(), id],
        Stdin::Pipe(script.as_bytes()),
        Out::Temp,
        TIMEOUT,
    )
}

// ---------------------------------------------------------------------------
// husk spec

#[test]
fn spec_writes_a_config_that_runs() {
    let h = Husk::new();
    let dir = spec_bundle(&h, &[]);
    let config = config_of(dir.path());
    assert_eq!(config["process"]["args"], json!(["sh"]));
    assert_eq!(config["root"]["path"], "rootfs");

    let id = unique_id("spec-run");
    let o = run_sh(&h, dir.path(), &id, "echo hi; exit 5\n");
    assert_eq!(
        o.status.code(),
        Some(5),
        "husk run: {:?}\nstdout: {}\nstderr: {}",
        o.status,
        stdout(&o),
        stderr(&o)
    );
    assert_eq!(stdout(&o), "hi\n", "stderr: {}", stderr(&o));
    assert!(!h.root.path().join(&id).exists(), "run left its state");
}

#[test]
fn spec_refuses_to_overwrite_config_json() {
    let h = Husk::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    ok(&husk(&h, &["spec", "--bundle", path]));
    let before = std::fs::read(dir.path().join("config.json")).unwrap();
    let e = fails(&husk(&h, &["spec", "--bundle", path]));
    assert!(e.contains("exists"), "{e}");
    let e = fails(&husk(&h, &["spec", "--rootless", "--bundle", path]));
    assert!(e.contains("exists"), "{e}");
    assert_eq!(
        std::fs::read(dir.path().join("config.json")).unwrap(),
        before,
        "config.json changed"
    );
}

#[test]
fn spec_rootless_maps_the_caller_and_runs() {
    let h = Husk::new();
    let dir = spec_bundle(&h, &["--rootless"]);
    let c = config_of(dir.path());
    let ns: Vec<&str> = c["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert!(ns.contains(&"user"), "no user namespace: {ns:?}");
    // SAFETY: getuid/getgid cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    assert_eq!(
        c["linux"]["uidMappings"],
        json!([{"containerID": 0, "hostID": uid, "size": 1}])
    );
    assert_eq!(
        c["linux"]["gidMappings"],
        json!([{"containerID": 0, "hostID": gid, "size": 1}])
    );
    let mounts = c["mounts"].as_array().unwrap();
    assert!(
        mounts.iter().all(|m| m["type"] != "cgroup"),
        "a cgroup mount in a rootless config: {mounts:?}"
    );
    // Otherwise the default config.
    let plain = tempfile::tempdir().unwrap();
    ok(&husk(
        &h,
        &["spec", "--bundle", plain.path().to_str().unwrap()],
    ));
    let plain = config_of(plain.path());
    assert_eq!(c["process"], plain["process"]);
    assert_eq!(c["root"], plain["root"]);

    let id = unique_id("spec-rootless");
    let o = run_sh(
        &h,
        dir.path(),
        &id,
        "cat /proc/self/uid_map; cat /proc/self/gid_map; readlink /proc/self/ns/user\n",
    );
    let out = ok(&o);
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[0], ["0", &uid.to_string(), "1"], "uid_map: {out}");
    assert_eq!(lines[1], ["0", &gid.to_string(), "1"], "gid_map: {out}");
    assert_ne!(lines[2].join(" "), host_ns("user"), "no new user namespace");
}

#[test]
fn busybox_bundle_config_is_what_spec_writes() {
    let h = Husk::new();
    let dir = tempfile::tempdir().unwrap();
    ok(&husk(
        &h,
        &["spec", "--bundle", dir.path().to_str().unwrap()],
    ));
    let written = config_of(dir.path());
    let busybox = config_of(&Path::new(env!("CARGO_MANIFEST_DIR")).join("bundles/busybox"));
    assert_eq!(busybox, written);
}

// ---------------------------------------------------------------------------
// husk features

fn features() -> Value {
    require_root();
    let o = Command::new(HUSK)
        .arg("features")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = ok(&o);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("features: {e}: {text}"))
}

/// JSON pointers of every null in `v`.
fn nulls(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Null => out.push(at),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| nulls(x, format!("{at}/{i}"), out)),
        Value::Object(o) => o
            .iter()
            .for_each(|(k, x)| nulls(x, format!("{at}/{k}"), out)),
        _ => {}
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| {
            s.as_str()
                .unwrap_or_else(|| panic!("not a string: {s}"))
                .to_string()
        })
        .collect()
}

#[test]
fn features_document() {
    let f = features();
    let mut n = Vec::new();
    nulls(&f, String::new(), &mut n);
    assert!(n.is_empty(), "nulls at {n:?}");
    assert_eq!(f["ociVersionMin"], "1.0.0");
    assert_eq!(f["ociVersionMax"], "1.3.0");
    let mut hooks = strings(&f["hooks"]);
    hooks.sort();
    assert_eq!(
        hooks,
        [
            "createContainer",
            "createRuntime",
            "poststart",
            "poststop",
            "prestart",
            "startContainer"
        ]
    );
    assert!(!strings(&f["linux"]["namespaces"]).is_empty());
    assert!(!strings(&f["mountOptions"]).is_empty());
}

/// The /proc/<pid>/ns/ file of a runtime-spec namespace type.
fn proc_name(spec_name: &str) -> Option<&'static str> {
    Some(match spec_name {
        "mount" => "mnt",
        "network" => "net",
        "pid" => "pid",
        "ipc" => "ipc",
        "uts" => "uts",
        "user" => "user",
        "cgroup" => "cgroup",
        "time" => "time",
        _ => return None,
    })
}

#[test]
fn every_namespace_in_features_works() {
    let list = strings(&features()["linux"]["namespaces"]);
    let h = Husk::new();
    let mut failures = Vec::new();
    for ns in &list {
        let Some(pn) = proc_name(ns) else {
            failures.push(format!("{ns}: not a runtime-spec namespace type"));
            continue;
        };
        let mut b = Bundle::new();
        b.add_namespace(ns, None);
        if ns == "user" {
            let map = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
            b.set("/linux/uidMappings", map.clone());
            b.set("/linux/gidMappings", map);
            // The mapped root must be able to reach the rootfs.
            std::fs::set_permissions(b.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        b.sh(&format!("readlink /proc/self/ns/{pn}"));
        let id = unique_id(&format!("ns-{ns}"));
        let o = h.run(&b, &id);
        if !o.status.success() {
            failures.push(format!(
                "{ns}: run failed ({:?}): {}",
                o.status.code(),
                stderr(&o).trim()
            ));
            continue;
        }
        let inside = stdout(&o).trim().to_string();
        let host = host_ns(pn);
        if !inside.starts_with(&format!("{pn}:[")) {
            failures.push(format!("{ns}: readlink printed {inside:?}"));
        } else if inside == host {
            failures.push(format!("{ns}: same {pn} namespace as the host ({host})"));
        }
    }
    assert!(
        failures.is_empty(),
        "namespaces listed by features that do not work:\n{}",
        failures.join("\n")
    );
}

/// What the mountinfo line of a mount made with `opt` must show.
enum Expect {
    /// Just that it is mounted.
    Mounted,
    /// The per-mount options have / lack these.
    Mnt(&'static [&'static str], &'static [&'static str]),
    /// The superblock options have / lack these.
    Super(&'static [&'static str], &'static [&'static str]),
    /// The optional fields have / lack fields starting with these.
    Optional(&'static [&'static str], &'static [&'static str]),
    /// A bind mount of a host directory: its marker file is visible.
    Bind,
}

fn expect(opt: &str) -> Expect {
    use Expect::*;
    match opt {
        "ro" | "rro" => Mnt(&["ro"], &["rw"]),
        "rw" | "rrw" => Mnt(&["rw"], &["ro"]),
        "nosuid" | "rnosuid" => Mnt(&["nosuid"], &[]),
        "suid" | "rsuid" => Mnt(&[], &["nosuid"]),
        "nodev" | "rnodev" => Mnt(&["nodev"], &[]),
        "dev" | "rdev" => Mnt(&[], &["nodev"]),
        "noexec" | "rnoexec" => Mnt(&["noexec"], &[]),
        "exec" | "rexec" => Mnt(&[], &["noexec"]),
        "noatime" | "rnoatime" => Mnt(&["noatime"], &["relatime"]),
        "strictatime" | "rstrictatime" => Mnt(&[], &["noatime", "relatime"]),
        "relatime" | "rrelatime" => Mnt(&["relatime"], &["noatime"]),
        "atime" | "ratime" => Mnt(&[], &["noatime"]),
        "nodiratime" | "rnodiratime" => Mnt(&["nodiratime"], &[]),
        "diratime" | "rdiratime" => Mnt(&[], &["nodiratime"]),
        "nosymfollow" | "rnosymfollow" => Mnt(&["nosymfollow"], &[]),
        "symfollow" | "rsymfollow" => Mnt(&[], &["nosymfollow"]),
        "sync" => Super(&["sync"], &[]),
        "async" => Super(&[], &["sync"]),
        "dirsync" => Super(&["dirsync"], &[]),
        "lazytime" => Super(&["lazytime"], &[]),
        "nolazytime" => Super(&[], &["lazytime"]),
        "mand" => Super(&["mand"], &[]),
        "nomand" => Super(&[], &["mand"]),
        "shared" | "rshared" => Optional(&["shared:"], &["unbindable"]),
        "unbindable" | "runbindable" => Optional(&["unbindable"], &["shared:"]),
        "private" | "rprivate" | "slave" | "rslave" => {
            Optional(&[], &["shared:", "master:", "unbindable"])
        }
        "bind" | "rbind" => Bind,
        _ => Mounted,
    }
}

/// Check `line` (the container's mountinfo line for the mount) against
/// what `opt` must do; an error message if it does not.
fn check_mountinfo(opt: &str, line: &str, marker: Option<&str>) -> Option<String> {
    let (left, right) = line.split_once(" - ")?;
    let lf: Vec<&str> = left.split(' ').collect();
    let mnt: Vec<&str> = lf.get(5)?.split(',').collect();
    let optional = &lf[6.min(lf.len())..];
    let sup: Vec<&str> = right.split(' ').nth(2)?.split(',').collect();
    let bad = |what: &str, have: &[&str], want: &[&str], lack: &[&str]| {
        let missing: Vec<&&str> = want.iter().filter(|w| !have.contains(w)).collect();
        let extra: Vec<&&str> = lack.iter().filter(|w| have.contains(w)).collect();
        (!missing.is_empty() || !extra.is_empty())
            .then(|| format!("{opt}: {what} {have:?} lack {missing:?} or have {extra:?}: {line}"))
    };
    match expect(opt) {
        Expect::Mounted => None,
        Expect::Mnt(want, lack) => bad("mount options", &mnt, want, lack),
        Expect::Super(want, lack) => bad("superblock options", &sup, want, lack),
        Expect::Optional(want, lack) => {
            let has = |p: &&str| optional.iter().any(|f| f.starts_with(p));
            let missing: Vec<&&str> = want.iter().filter(|p| !has(p)).collect();
            let extra: Vec<&&str> = lack.iter().filter(|p| has(p)).collect();
            (!missing.is_empty() || !extra.is_empty()).then(|| {
                format!(
                    "{opt}: optional fields {optional:?} lack {missing:?} or have {extra:?}: {line}"
                )
            })
        }
        Expect::Bind => (marker != Some("bind-marker"))
            .then(|| format!("{opt}: the bind source's file reads {marker:?}: {line}")),
    }
}

#[test]
fn every_mount_option_in_features_works() {
    let list = strings(&features()["mountOptions"]);
    let h = Husk::new();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("marker"), "bind-marker").unwrap();
    let mut failures = Vec::new();
    let mut passed = Vec::new();
    for (n, opt) in list.iter().enumerate() {
        let dest = format!("/mnt/opt-{n}");
        let mut b = Bundle::new();
        let bind = matches!(expect(opt), Expect::Bind);
        if bind {
            b.add_mount(json!({
                "destination": dest,
                "type": "bind",
                "source": src.path().to_str().unwrap(),
                "options": [opt],
            }));
        } else {
            b.add_mount(json!({
                "destination": dest,
                "type": "tmpfs",
                "source": "tmpfs",
                "options": [opt],
            }));
        }
        b.sh(&format!(
            "grep ' {dest} ' /proc/self/mountinfo; echo \"marker: $(cat {dest}/marker 2>/dev/null)\""
        ));
        let id = unique_id("mntopt");
        let o = h.run(&b, &id);
        if !o.status.success() {
            let e = stderr(&o);
            let named = e.contains(opt.as_str()) || e.contains(&dest);
            failures.push(format!(
                "{opt}: run failed ({:?}; error names the option or mount: {named}): {}",
                o.status.code(),
                e.trim()
            ));
            continue;
        }
        let out = stdout(&o);
        let lines: Vec<&str> = out
            .lines()
            .filter(|l| l.split(' ').nth(4) == Some(dest.as_str()))
            .collect();
        let marker = out
            .lines()
            .find_map(|l| l.strip_prefix("marker: "))
            .filter(|m| !m.is_empty());
        let Some(line) = lines.last() else {
            failures.push(format!("{opt}: {dest} not mounted in the container: {out}"));
            continue;
        };
        match check_mountinfo(opt, line, marker) {
            Some(f) => failures.push(f),
            None => passed.push(opt.clone()),
        }
    }
    eprintln!("mount options that work: {passed:?}");
    assert!(
        failures.is_empty(),
        "mount options listed by features that do not work:\n{}",
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------
// husk --version

#[test]
fn version_names_version_commit_spec_and_libseccomp() {
    require_root();
    let o = Command::new(HUSK)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = ok(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines
            .first()
            .is_some_and(|l| l.contains(env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
    let commit = lines.iter().find_map(|l| l.strip_prefix("commit:"));
    assert!(
        commit.is_some_and(|c| !c.trim().is_empty()),
        "no commit line: {out}"
    );
    assert!(lines.contains(&"spec: 1.2.0"), "{out}");
    assert!(lines.iter().any(|l| l.contains("libseccomp")), "{out}");
}
