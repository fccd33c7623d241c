//! Records the git commit husk is built from, for `husk --version`.

fn git(args: &[&str]) -> Option<String> {
    std::process::Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=HUSK_COMMIT={commit}");
    // Ask git where HEAD and the refs live: in a worktree .git is a file,
    // and a path that does not exist would rebuild husk every time.
    if let Some(head) = git(&["rev-parse", "--path-format=absolute", "--git-path", "HEAD"]) {
        println!("cargo:rerun-if-changed={head}");
    }
    if let Some(refs) = git(&[
        "rev-parse",
        "--path-format=absolute",
        "--git-path",
        "refs/heads",
    ]) {
        println!("cargo:rerun-if-changed={refs}");
    }
}
