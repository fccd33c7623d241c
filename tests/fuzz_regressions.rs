//! Every input kept in fuzz/regressions/<target>/ goes through the parser
//! its fuzz target drives (husk::fuzzing), so a bug the fuzzer once found
//! stays fixed without cargo-fuzz or nightly.
//!
//! A file's extension says what the parser must answer: `.accept` or
//! `.reject`; any other name only has to come back without a panic.
//! mount_options inputs hold one option a line, as the fuzz target reads
//! them.

use std::path::{Path, PathBuf};

const TARGETS: [&str; 4] = ["config", "mount_options", "signal", "seccomp"];

fn regressions() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions")
}

/// The parser's answer for one input of `target`.
fn run(target: &str, bytes: &[u8]) -> bool {
    match target {
        "config" => husk::fuzzing::config(bytes, husk::fuzzing::scratch_bundle()),
        "mount_options" => husk::fuzzing::mount_options(&husk::fuzzing::lines(bytes)),
        // The fuzz target skips input that is not UTF-8; so do we.
        "signal" => std::str::from_utf8(bytes).is_ok_and(husk::fuzzing::signal),
        "seccomp" => husk::fuzzing::seccomp(bytes),
        _ => unreachable!("{target}"),
    }
}

fn check_target(target: &str) {
    let dir = regressions().join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: no inputs", dir.display());
    let mut failures = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(f).unwrap();
        let want = match f.extension().and_then(|e| e.to_str()) {
            Some("accept") => Some(true),
            Some("reject") => Some(false),
            _ => None,
        };
        match std::panic::catch_unwind(|| run(target, &bytes)) {
            Err(_) => failures.push(format!("{target}/{name}: panicked")),
            Ok(got) if want.is_some_and(|w| w != got) => failures.push(format!(
                "{target}/{name}: {} but should be {}",
                if got { "accepted" } else { "rejected" },
                if got { "rejected" } else { "accepted" },
            )),
            Ok(_) => {}
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn config_inputs() {
    check_target("config");
}

#[test]
fn mount_options_inputs() {
    check_target("mount_options");
}

#[test]
fn signal_inputs() {
    check_target("signal");
}

#[test]
fn seccomp_inputs() {
    check_target("seccomp");
}

/// A directory for a target that does not exist would never be read.
#[test]
fn every_directory_is_a_target() {
    for e in std::fs::read_dir(regressions()).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            TARGETS.contains(&name.as_str()),
            "fuzz/regressions/{name} is not a fuzz target ({TARGETS:?})"
        );
    }
}
