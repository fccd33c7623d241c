//! Records the git commit husk is built from, for `husk --version`, and
//! links GCC's unwinder statically.

fn git(args: &[&str]) -> Option<String> {
    std::process::Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// std names libgcc_s for its unwinder (backtraces; with panic = "abort"
/// nothing unwinds). Linked dynamically it is one more library for the
/// loader to map and relocate on every call, and its constructor probes
/// the CPU with cpuid, which traps to the hypervisor in a VM: peak RSS of
/// `husk run` 3,060 -> 2,840 KiB (medians of 15). With libgcc_eh.a found
/// first, the linker's --as-needed drops libgcc_s, as gcc's -static-libgcc
/// does for C. Without it (no gcc on the build host) husk links libgcc_s
/// as before.
fn static_unwinder() {
    let out = std::process::Command::new("cc")
        .arg("-print-file-name=libgcc_eh.a")
        .output();
    let path = out
        .ok()
        .map(|o| std::path::PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    match path.filter(|p| p.is_absolute() && p.exists()) {
        Some(p) => {
            let dir = p.parent().expect("an absolute file path has a parent");
            println!("cargo:rustc-link-search=native={}", dir.display());
            println!("cargo:rustc-link-lib=static:-bundle=gcc_eh");
        }
        None => println!("cargo:warning=no libgcc_eh.a (cc -print-file-name): linking libgcc_s"),
    }
}

fn main() {
    static_unwinder();
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
