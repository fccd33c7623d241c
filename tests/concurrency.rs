//! Many husk clients on one container at once, as engines and their users
//! run them: 8 clients, each a random series of `state`, `kill`, `pause`,
//! `resume`, `update`, `exec` and `delete` on the same running container.
//! No command may hang, `state` must always print whole, valid JSON (or
//! say the container does not exist), every failure must be one a user
//! can expect (the container is paused, stopped, gone), and afterwards
//! `delete --force` leaves nothing: no state, cgroup, mount or process,
//! including from an `exec` that raced with a `delete`. 20 rounds in a
//! row; HUSK_CONCURRENCY_ROUNDS and HUSK_CONCURRENCY_SEED change that.

#[path = "crash/case.rs"]
mod case;
mod common;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use case::*;
use serde_json::Value;

const CLIENTS: u64 = 8;
const OPS_PER_CLIENT: u32 = 8;

/// What a client may run, weighted by repetition.
const OPS: [&str; 14] = [
    "state",
    "state",
    "kill",
    "pause",
    "resume",
    "resume",
    "update",
    "update",
    "exec",
    "exec",
    "exec-detach",
    "delete",
    "kill-all",
    "delete-force",
];

/// The words of the failures a client can expect while others act on the
/// same container; anything else is a failure of the test.
const EXPECTED: [&str; 8] = [
    "container does not exist",
    "container not paused",
    "container already paused",
    "cannot exec in a paused container",
    "cannot exec in a stopped container",
    "not running",
    "is stopped",
    "cannot delete container",
];

fn args(op: &str, id: &str, n: u64) -> Vec<String> {
    let v: Vec<String> = match op {
        "state" => vec!["state".into(), id.into()],
        "kill" => vec!["kill".into(), id.into(), "TERM".into()],
        "kill-all" => vec!["kill".into(), "--all".into(), id.into(), "KILL".into()],
        "pause" => vec!["pause".into(), id.into()],
        "resume" => vec!["resume".into(), id.into()],
        "update" => vec![
            "update".into(),
            "--pids-limit".into(),
            (60 + n % 20).to_string(),
            id.into(),
        ],
        "exec" => vec!["exec".into(), id.into(), "true".into()],
        "exec-detach" => ["exec", "--detach", id, "sleep", "5"]
            .map(String::from)
            .to_vec(),
        "delete" => vec!["delete".into(), id.into()],
        "delete-force" => vec!["delete".into(), "--force".into(), id.into()],
        _ => unreachable!("{op}"),
    };
    v
}

#[derive(Default)]
struct Seen {
    /// (op, outcome) → count, outcome "ok" or the error's words.
    outcomes: BTreeMap<(String, String), u32>,
    wrong: Vec<String>,
}

/// The error message of a failed husk command, without its framing.
fn error_words(out: &str) -> String {
    out.lines()
        .find_map(|l| {
            l.split_once("msg=")
                .map(|(_, m)| m.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| out.trim().to_string())
}

fn client(c: &Case, rng: &mut Rng, seen: &Mutex<Seen>) {
    for _ in 0..OPS_PER_CLIENT {
        let op = OPS[rng.below(OPS.len() as u64) as usize];
        let a = args(op, &c.id, rng.next());
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let t = Instant::now();
        let r = c.husk(&a);
        let mut wrong = None;
        let outcome = match r.status {
            None => {
                wrong = Some(format!("{op} hung (killed after {:?})", t.elapsed()));
                "hung".to_string()
            }
            Some(s) if s.success() => {
                if op == "state" {
                    match serde_json::from_str::<Value>(&r.out) {
                        Ok(v) if v["id"] == c.id.as_str() && v["status"].is_string() => {}
                        _ => wrong = Some(format!("state printed {:?}", r.out)),
                    }
                }
                "ok".to_string()
            }
            // exec reports its process's end: killed by a kill --all or a
            // delete --force, 128+9.
            Some(s) if op == "exec" && s.code() == Some(137) && r.out.is_empty() => {
                "the process was killed (137)".to_string()
            }
            Some(s) => {
                let e = error_words(&r.out);
                if !EXPECTED.iter().any(|w| e.contains(w)) {
                    wrong = Some(format!("{op}: {s}: {}", r.out.trim()));
                }
                e
            }
        };
        let mut s = seen.lock().unwrap();
        *s.outcomes.entry((op.to_string(), outcome)).or_default() += 1;
        s.wrong.extend(wrong);
    }
}

#[test]
fn concurrent_clients_on_one_container() {
    let rounds: u32 = std::env::var("HUSK_CONCURRENCY_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let mut rng = Rng::seeded("HUSK_CONCURRENCY_SEED");
    let seed = rng.0;
    let c = Case::new("concurrent", limits_and_hooks_bundle);
    let seen = Mutex::new(Seen::default());
    let start = Instant::now();
    for round in 1..=rounds {
        c.create_ok();
        c.ok(&["start", &c.id]);
        let seeds: Vec<u64> = (0..CLIENTS).map(|_| rng.next()).collect();
        std::thread::scope(|s| {
            for &sd in &seeds {
                let (c, seen) = (&c, &seen);
                s.spawn(move || client(c, &mut Rng(sd | 1), seen));
            }
        });
        let mut wrong = c.recover(&format!("round {round}"));
        let mut s = seen.lock().unwrap();
        wrong.append(&mut s.wrong);
        if !wrong.is_empty() {
            panic!(
                "round {round} of {rounds} (HUSK_CONCURRENCY_SEED={seed}):\n{}",
                wrong.join("\n")
            );
        }
    }
    let s = seen.lock().unwrap();
    eprintln!(
        "concurrency figures (HUSK_CONCURRENCY_SEED={seed}): {rounds} rounds in a row of {CLIENTS} clients x {OPS_PER_CLIENT} commands on one container, {:.1} s; no hang, no torn state, nothing left after any round",
        start.elapsed().as_secs_f64()
    );
    for ((op, outcome), n) in &s.outcomes {
        eprintln!("  {op:<13} {n:>4}  {outcome}");
    }
}
