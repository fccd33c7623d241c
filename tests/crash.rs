//! Crash safety, by fault injection: husk is killed with SIGKILL at every
//! named step of create (stopped there by HUSK_STOP_AT, then killed, so
//! the kill lands deterministically), at random moments of create, start,
//! exec, update and delete, and while it runs a container. After each kill
//! `delete --force` must leave nothing: no state directory or FIFO under
//! --root, no cgroup in any hierarchy (every v1 controller and the v2
//! tree), no mount of the bundle on the host, no process of the bundle.
//! Then a create with the same ID and cgroupsPath must succeed at once.
//!
//! The tests print their figures (run with --nocapture, as the `crash`
//! stage of scripts/test.sh does). HUSK_CRASH_SEED=N repeats a random run;
//! HUSK_CRASH_KILLS=N sets how many random kills of create, start and
//! exec must land (default 300).

#[path = "crash/case.rs"]
mod case;
mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use case::*;
use common::*;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// One kill per named step of create.

/// The steps create goes through for this case, in order, as `NAME#N`
/// (its Nth time: `mount` is one step per mount), from a --debug log.
fn steps_of_create(c: &Case) -> Vec<String> {
    let log = c.b.path().join("steps.log");
    let mut args = vec!["--debug", "--log-format", "json", "--log", path(&log)];
    args.extend(c.create_args());
    c.ok(&args);
    c.ok(&["delete", "--force", &c.id]);
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut steps = Vec::new();
    for line in std::fs::read_to_string(&log).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let msg = v["msg"].as_str().unwrap_or("");
        if let Some(name) = msg
            .strip_prefix("step ")
            .and_then(|m| m.strip_suffix(" done"))
        {
            let n = seen.entry(name.to_string()).or_default();
            *n += 1;
            steps.push(format!("{name}#{n}"));
        }
    }
    assert!(steps.len() > 10, "too few steps in the log: {steps:?}");
    steps
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Stop create before `step`, kill it there, recover, re-create. The log
/// line "waits before step" says the process (husk or the init) stopped.
/// Counts in `made` the kills that left something to remove.
fn kill_at_step(c: &Case, step: &str, made: &mut u32) -> Vec<String> {
    let log = c.b.path().join("stop.log");
    let _ = std::fs::remove_file(&log);
    let mut args = vec!["--log-format", "json", "--log", path(&log)];
    args.extend(c.create_args());
    let out = c.b.path().join("killed.out");
    let mut child = c.spawn(&args, Some(("HUSK_STOP_AT", step)), Some(&out));
    let name = step.split('#').next().unwrap();
    let waits = format!("waits before step {name},");
    let mut ended = None;
    let stopped = poll(LIMIT, || {
        ended = child.try_wait().unwrap();
        ended.is_some() || std::fs::read_to_string(&log).is_ok_and(|l| l.contains(&waits))
    });
    if let Some(st) = ended {
        return vec![format!(
            "{step}: create ended ({st}) before it reached the step: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        )];
    }
    kill(&mut child);
    if !stopped {
        return vec![format!("{step}: never reached")];
    }
    let what = format!("killed before step {step}");
    if !c.leftovers().is_empty() {
        *made += 1;
    }
    let mut wrong = c.recover(&what);
    if wrong.is_empty() {
        wrong.extend(c.recreate(&what));
        wrong.extend(c.recover(&format!("{what}, re-created")));
    }
    wrong
}

fn kill_at_every_step(prefix: &str, bundle: fn() -> Bundle) {
    let c = Case::new(prefix, bundle);
    let steps = steps_of_create(&c);
    let start = Instant::now();
    let (mut wrong, mut made) = (Vec::new(), 0);
    for s in &steps {
        wrong.extend(kill_at_step(&c, s, &mut made));
    }
    eprintln!(
        "crash figures ({prefix}): {} steps, one kill before each; {made} kills left something for delete --force; {} leftovers or failures after it, {:.1} s",
        steps.len(),
        wrong.len(),
        start.elapsed().as_secs_f64()
    );
    eprintln!("  steps: {}", steps.join(" "));
    assert_none(&wrong);
}

fn userns_bundle() -> Bundle {
    let mut b = Bundle::new();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(b.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    b.add_namespace("user", None);
    let map = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    b.set("/linux/uidMappings", map.clone())
        .set("/linux/gidMappings", map)
        .set("/linux/resources/pids", json!({"limit": 64}))
        .args(&["sleep", "60"]);
    b
}

/// No namespaces at all: husk's mounts are made in the host's mount
/// namespace, and `delete --force` must find them from the record.
fn no_namespaces_bundle() -> Bundle {
    let mut b = Bundle::new();
    b.set("/linux/namespaces", json!([]))
        .remove("/linux/maskedPaths")
        .remove("/linux/readonlyPaths")
        .remove("/hostname")
        .set("/linux/resources/pids", json!({"limit": 64}))
        .args(&["sleep", "60"]);
    b
}

#[test]
fn crash_at_each_step_of_create_with_limits_and_hooks() {
    kill_at_every_step("crash-steps", limits_and_hooks_bundle);
}

#[test]
fn crash_at_each_step_of_create_in_a_user_namespace() {
    kill_at_every_step("crash-userns", userns_bundle);
}

#[test]
fn crash_at_each_step_of_create_without_namespaces() {
    kill_at_every_step("crash-nons", no_namespaces_bundle);
}

// ---------------------------------------------------------------------------
// Random kills.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Op {
    Create,
    Start,
    Exec,
    Update,
    Delete,
}

/// What is killed, weighted: create, start and exec three times as often
/// as update and delete.
const OPS: [Op; 11] = [
    Op::Create,
    Op::Create,
    Op::Create,
    Op::Start,
    Op::Start,
    Op::Start,
    Op::Exec,
    Op::Exec,
    Op::Exec,
    Op::Update,
    Op::Delete,
];

impl Op {
    /// Bring the container (created, when this is called) to the state the
    /// command needs; the command to kill.
    fn prepare(self, c: &Case) -> Vec<String> {
        let id = c.id.as_str();
        let v: Vec<&str> = match self {
            Op::Create => {
                c.ok(&["delete", "--force", id]);
                c.create_args().to_vec()
            }
            Op::Start => vec!["start", id],
            Op::Exec => {
                c.ok(&["start", id]);
                vec!["exec", "--detach", id, "sh", "-c", "sleep 30"]
            }
            Op::Update => {
                c.ok(&["start", id]);
                vec!["update", "--pids-limit", "80", "--memory", "48m", id]
            }
            Op::Delete => {
                c.ok(&["start", id]);
                vec!["delete", "--force", id]
            }
        };
        v.into_iter().map(String::from).collect()
    }
}

#[derive(Default)]
struct Tally {
    /// Kills that landed while the command ran, per command.
    landed: HashMap<Op, u32>,
    /// Commands that had finished before the kill.
    finished: HashMap<Op, u32>,
    recreated: u32,
    wrong: Vec<String>,
}

impl Tally {
    fn landed(&self, ops: &[Op]) -> u32 {
        ops.iter()
            .map(|o| self.landed.get(o).copied().unwrap_or(0))
            .sum()
    }
}

/// Kill a command at a random moment in a window that adapts to how long
/// it takes: shorter after a kill that came too late, longer after one
/// that landed, so that most kills land and they spread over the whole
/// run of the command.
fn random_kills(rng: &mut Rng, want: u32) -> Tally {
    let c = Case::new("crash-random", limits_and_hooks_bundle);
    c.create_ok();
    let mut window: HashMap<Op, u64> = HashMap::new();
    let mut t = Tally::default();
    let core = [Op::Create, Op::Start, Op::Exec];
    let mut i = 0u32;
    while t.landed(&core) < want && t.wrong.len() < 20 {
        i += 1;
        let op = OPS[rng.below(OPS.len() as u64) as usize];
        let args = op.prepare(&c);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let w = window.entry(op).or_insert(20_000);
        let delay = Duration::from_micros(rng.below(*w));
        let mut child = c.spawn(&args, None, None);
        std::thread::sleep(delay);
        let ran = child.try_wait().unwrap().is_none();
        kill(&mut child);
        if ran {
            *w = (*w * 21 / 20).min(2_000_000);
            *t.landed.entry(op).or_default() += 1;
        } else {
            *w = (*w * 4 / 5).max(500);
            *t.finished.entry(op).or_default() += 1;
        }
        let what = format!("kill {i}: {op:?} after {} µs", delay.as_micros());
        let wrong = c.recover(&what);
        let fine = wrong.is_empty();
        t.wrong.extend(wrong);
        match c.recreate(&what) {
            None if fine => t.recreated += 1,
            None => {}
            Some(e) => t.wrong.push(e),
        }
    }
    t
}

#[test]
fn crash_at_random_moments_of_create_start_exec_update_delete() {
    let mut rng = Rng::seeded("HUSK_CRASH_SEED");
    let seed = rng.0;
    let want = std::env::var("HUSK_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let start = Instant::now();
    let t = random_kills(&mut rng, want);
    let n = |m: &HashMap<Op, u32>, o: Op| m.get(&o).copied().unwrap_or(0);
    let all = [Op::Create, Op::Start, Op::Exec, Op::Update, Op::Delete];
    eprintln!(
        "crash figures (random, HUSK_CRASH_SEED={seed}): {} kills landed while husk ran ({} of create, start and exec), in {:.1} s",
        t.landed(&all),
        t.landed(&all[..3]),
        start.elapsed().as_secs_f64()
    );
    for o in all {
        eprintln!(
            "  {o:?}: {} killed while running, {} had finished",
            n(&t.landed, o),
            n(&t.finished, o)
        );
    }
    eprintln!(
        "  re-created at once after {} of them; leftovers or failures: {}",
        t.recreated,
        t.wrong.len()
    );
    assert_none(&t.wrong);
}

// ---------------------------------------------------------------------------
// The init killed while create waits for it; husk run killed, and its
// parent.

#[test]
fn crash_of_the_init_while_create_waits_fails_create_and_leaves_nothing() {
    let c = Case::new("crash-init", limits_and_hooks_bundle);
    let mut seen = Vec::new();
    for step in ["mount#2", "pivot-root", "set-capabilities"] {
        let log = c.b.path().join("stop.log");
        let _ = std::fs::remove_file(&log);
        let mut args = vec!["--log-format", "json", "--log", path(&log)];
        args.extend(c.create_args());
        let mut child = c.spawn(&args, Some(("HUSK_STOP_AT", step)), None);
        assert!(
            poll(LIMIT, || std::fs::read_to_string(&log)
                .is_ok_and(|l| l.contains("waits before step"))),
            "the init never stopped before {step}"
        );
        let inits = children_of(child.id() as i32);
        assert_eq!(inits.len(), 1, "one init under create: {inits:?}");
        // SAFETY: a signal to the init of this test's container.
        unsafe { libc::kill(inits[0], libc::SIGKILL) };
        let st = wait(&mut child, LIMIT).expect("create hung after its init was killed");
        // With --log, the error goes to the log, as in runc.
        let out = std::fs::read_to_string(&log).unwrap();
        assert!(!st.success(), "create succeeded without its init: {out}");
        assert!(
            out.contains(r#""level":"error""#) && out.contains("container init exited"),
            "{out}"
        );
        // Nothing to delete: create removed all it made.
        assert_none(&c.leftovers());
        c.create_ok();
        c.ok(&["delete", "--force", &c.id]);
        seen.push(format!("{step}: create failed ({st})"));
    }
    eprintln!("crash figures (init killed while create waits): {seen:?}; leftovers: 0");
}

/// The container's status, or None while it does not exist.
fn status(c: &Case) -> Option<String> {
    let r = c.husk(&["state", &c.id]);
    let v: Value = serde_json::from_str(&r.out).ok()?;
    Some(v["status"].as_str()?.to_string())
}

#[test]
fn crash_of_husk_run_or_its_parent_leaves_the_container_running() {
    let c = Case::new("crash-run", limits_and_hooks_bundle);
    for victim in ["husk run", "the parent of husk run"] {
        // sh -c 'husk run … & wait': the shell is husk run's parent.
        let husk = format!(
            "{HUSK} --root {} run --bundle {} {}",
            c.h.root.path().display(),
            c.b.arg(),
            c.id
        );
        let out = std::fs::File::create(c.b.path().join("run.out")).unwrap();
        let mut sh = spawn(
            Command::new("sh")
                .arg("-c")
                .arg(format!("{husk} & wait"))
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out),
        );
        assert!(
            poll(LIMIT, || status(&c).as_deref() == Some("running")),
            "the container never ran"
        );
        let run = children_of(sh.id() as i32);
        assert_eq!(run.len(), 1, "husk run under the shell: {run:?}");
        if victim == "husk run" {
            // SAFETY: a signal to the husk run this test started.
            unsafe { libc::kill(run[0], libc::SIGKILL) };
            wait(&mut sh, LIMIT).expect("the shell exits");
        } else {
            kill(&mut sh);
        }
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(
            status(&c).as_deref(),
            Some("running"),
            "after a kill of {victim}, the container runs on, as in runc"
        );
        assert_none(&c.recover(&format!("after a kill of {victim}")));
        // An orphaned husk run sees its container end, and exits.
        assert!(
            poll(LIMIT, || !Path::new(&format!("/proc/{}", run[0])).exists()),
            "husk run outlived its container"
        );
        eprintln!("crash figures (kill of {victim}): the container ran on; delete --force left 0");
    }
}
