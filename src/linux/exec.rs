//! Finding process.args[0] on the container's PATH and exec'ing it.

use std::ffi::CString;

use nix::errno::Errno;

use crate::error::{Error, Result};

pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub fn path_from_env(env: &[String]) -> &str {
    env.iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH)
}

fn executable(path: &str) -> bool {
    let Ok(c) = CString::new(path) else {
        return false;
    };
    // SAFETY: NUL-terminated path.
    if unsafe { libc::access(c.as_ptr(), libc::X_OK) } != 0 {
        return false;
    }
    std::fs::metadata(path)
        .map(|m| m.is_file())
        .unwrap_or(false)
}

/// Look the program up the way a shell would, checked as the container user.
/// The errors read as runc's (Go's exec.LookPath): callers such as docker
/// pick the exit code (127, 126) from their words.
pub fn find(arg0: &str, path_var: &str) -> Result<String> {
    if arg0.contains('/') {
        return check_path(arg0).map(|()| arg0.to_string());
    }
    for dir in path_var.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let cand = format!("{}/{arg0}", dir.trim_end_matches('/'));
        if executable(&cand) {
            return Ok(cand);
        }
    }
    Err(Error::msg(format!(
        "exec: {arg0:?}: executable file not found in $PATH ({path_var})"
    )))
}

/// A program given by path: `exec: "X": stat X: no such file or directory
/// (ENOENT)` when it cannot be stat'ed; `exec: "X": permission denied
/// (EACCES)` for a directory (execve's answer too) or a file the container
/// user may not execute.
fn check_path(path: &str) -> Result<()> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::from(e).context(format!("exec: {path:?}: stat {path}")))?;
    if meta.is_dir() {
        return Err(Error::sys(format!("exec: {path:?}"), Errno::EACCES));
    }
    let c = CString::new(path)
        .map_err(|_| Error::msg(format!("exec: {path:?}: the path contains a NUL byte")))?;
    // SAFETY: NUL-terminated path.
    if unsafe { libc::access(c.as_ptr(), libc::X_OK) } != 0 {
        return Err(Error::sys(format!("exec: {path:?}"), Errno::last()));
    }
    Ok(())
}

fn cstrings(v: &[String]) -> Result<Vec<CString>> {
    v.iter()
        .map(|s| {
            CString::new(s.as_str()).map_err(|_| Error::msg(format!("{s:?} contains a NUL byte")))
        })
        .collect()
}

/// What execve would say about the file's format, checked up front: the
/// program is exec'd through a stub (see dmz.rs) that cannot report errors
/// back, so husk refuses what the kernel would refuse (ENOEXEC) here.
pub fn check_format(path: &str) -> Result<()> {
    use std::io::Read;
    let mut head = [0u8; 4];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| Error::from(e).context(format!("exec: {path:?}: open")))?;
    let h = &head[..n];
    if h.starts_with(b"\x7fELF") || h.starts_with(b"#!") {
        return Ok(());
    }
    Err(Error::sys(
        format!("exec: {path:?}: neither an ELF binary nor a #! script"),
        Errno::ENOEXEC,
    ))
}

/// execve; returns only on failure.
pub fn exec(path: &str, args: &[String], env: &[String]) -> Error {
    let run = || -> Result<Errno> {
        let p = CString::new(path).map_err(|_| Error::msg("path has a NUL byte"))?;
        let a = cstrings(args)?;
        let e = cstrings(env)?;
        let mut ap: Vec<*const libc::c_char> = a.iter().map(|s| s.as_ptr()).collect();
        ap.push(std::ptr::null());
        let mut ep: Vec<*const libc::c_char> = e.iter().map(|s| s.as_ptr()).collect();
        ep.push(std::ptr::null());
        // SAFETY: all arrays are NULL-terminated and point at live CStrings.
        unsafe { libc::execve(p.as_ptr(), ap.as_ptr(), ep.as_ptr()) };
        Ok(Errno::last())
    };
    match run() {
        Ok(errno) => Error::sys(format!("execve({path})"), errno),
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_lookup() {
        assert_eq!(path_from_env(&["A=1".into(), "PATH=/x:/y".into()]), "/x:/y");
        assert_eq!(path_from_env(&[]), DEFAULT_PATH);
        assert_eq!(find("sh", "/nonexistent:/bin").unwrap(), "/bin/sh");
        let e = find("no-such-binary-husk", "/bin").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("exec: \"no-such-binary-husk\": executable file not found in $PATH"),
            "{e}"
        );
    }

    #[test]
    fn lookup_errors_read_as_runcs() {
        let e = find("/no/such/program", "/bin").unwrap_err();
        assert_eq!(
            e.to_string(),
            "exec: \"/no/such/program\": stat /no/such/program: no such file or directory (ENOENT)"
        );
        // A directory: execve says EACCES, and so does husk (no stale errno).
        let e = find("/etc", "/bin").unwrap_err();
        assert_eq!(e.to_string(), "exec: \"/etc\": permission denied (EACCES)");
        assert_eq!(e.errno(), Some(Errno::EACCES));
    }
}
