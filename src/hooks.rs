//! OCI hooks: programs run at fixed points of the lifecycle, each given the
//! container state as JSON on stdin, killed when its timeout passes.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use nix::errno::Errno;
use serde::{Deserialize, Serialize};

use crate::bail;
use crate::container::process::wait_exit;
use crate::error::{Error, Result};
use crate::spawn::clone::pidfd_open;
use crate::spec::config::nullable;

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Hooks {
    #[serde(default, deserialize_with = "nullable")]
    pub prestart: Vec<Hook>,
    #[serde(default, deserialize_with = "nullable")]
    pub create_runtime: Vec<Hook>,
    #[serde(default, deserialize_with = "nullable")]
    pub create_container: Vec<Hook>,
    #[serde(default, deserialize_with = "nullable")]
    pub start_container: Vec<Hook>,
    #[serde(default, deserialize_with = "nullable")]
    pub poststart: Vec<Hook>,
    #[serde(default, deserialize_with = "nullable")]
    pub poststop: Vec<Hook>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct Hook {
    pub path: String,
    #[serde(default, deserialize_with = "nullable")]
    pub args: Vec<String>,
    /// None (absent or null): the hook inherits husk's environment, as a
    /// Go exec.Cmd with a nil Env does in runc. `[]` is an empty one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    pub timeout: Option<i64>,
}

impl Hooks {
    pub fn validate(&self) -> Result<()> {
        for (kind, list) in self.all() {
            for (i, h) in list.iter().enumerate() {
                if !h.path.starts_with('/') {
                    bail!(
                        "hooks.{kind}[{i}].path: {:?} is not an absolute path",
                        h.path
                    );
                }
                if h.timeout.is_some_and(|t| t <= 0) {
                    bail!("hooks.{kind}[{i}].timeout: must be a positive number of seconds");
                }
                // execve takes C strings: a NUL byte would fail the hook
                // only when it runs, after the container exists.
                let strings = std::iter::once(("path", 0, &h.path))
                    .chain(h.args.iter().enumerate().map(|(j, a)| ("args", j, a)))
                    .chain(
                        h.env
                            .iter()
                            .flatten()
                            .enumerate()
                            .map(|(j, e)| ("env", j, e)),
                    );
                for (field, j, v) in strings {
                    if v.contains('\0') {
                        let at = if field == "path" {
                            String::new()
                        } else {
                            format!("[{j}]")
                        };
                        bail!("hooks.{kind}[{i}].{field}{at}: {v:?} contains a NUL byte");
                    }
                }
            }
        }
        Ok(())
    }

    fn all(&self) -> [(&'static str, &Vec<Hook>); 6] {
        [
            ("prestart", &self.prestart),
            ("createRuntime", &self.create_runtime),
            ("createContainer", &self.create_container),
            ("startContainer", &self.start_container),
            ("poststart", &self.poststart),
            ("poststop", &self.poststop),
        ]
    }

    /// Whether create needs a stop before pivot_root for hooks.
    pub fn any_at_create(&self) -> bool {
        !self.prestart.is_empty()
            || !self.create_runtime.is_empty()
            || !self.create_container.is_empty()
    }
}

/// The state a hook reads on stdin (runtime-spec "state").
pub fn state_json(
    oci_version: &str,
    id: &str,
    status: &str,
    pid: i32,
    bundle: &str,
    annotations: &std::collections::BTreeMap<String, String>,
) -> String {
    serde_json::json!({
        "ociVersion": oci_version,
        "id": id,
        "status": status,
        "pid": pid,
        "bundle": bundle,
        "annotations": annotations,
    })
    .to_string()
}

fn cstrings(v: &[String]) -> Result<Vec<CString>> {
    v.iter()
        .map(|s| {
            CString::new(s.as_str()).map_err(|_| Error::msg(format!("{s:?} contains a NUL byte")))
        })
        .collect()
}

/// husk's own environment, for a hook whose config sets none.
fn inherited_env() -> Vec<CString> {
    use std::os::unix::ffi::OsStrExt;
    std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).ok()
        })
        .collect()
}

/// Run one hook to completion. `kind` and `index` name it in errors.
/// `restore`: namespace fds the hook process enters before its exec.
pub fn run_one(kind: &str, index: usize, h: &Hook, state: &str, restore: &[i32]) -> Result<()> {
    let name = format!("hooks.{kind}[{index}] ({})", h.path);
    let path = CString::new(h.path.as_str())
        .map_err(|_| Error::msg(format!("{name}: path has a NUL byte")))?;
    let mut args = cstrings(&h.args)?;
    if args.is_empty() {
        args.push(path.clone());
    }
    let env = match &h.env {
        Some(env) => cstrings(env)?,
        None => inherited_env(),
    };
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());

    let mut p = [0; 2];
    // SAFETY: p has room for two fds.
    if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(Error::sys(format!("{name}: pipe2"), Errno::last()));
    }
    // SAFETY: fresh fds from pipe2.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) };
    // SAFETY: husk is single-threaded, so the child may run until execve;
    // it only calls async-signal-safe functions on prepared data.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Error::sys(format!("{name}: fork"), Errno::last()));
    }
    if pid == 0 {
        // SAFETY: in the child: make the pipe stdin, reset the mask husk
        // run may have blocked, exec. _exit on any failure.
        unsafe {
            libc::dup2(r.as_raw_fd(), 0);
            for fd in restore {
                libc::setns(*fd, 0);
            }
            crate::linux::signal::reset_for_exec();
            libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr());
            libc::_exit(127);
        }
    }
    drop(r);
    let pidfd = pidfd_open(pid)?;
    // The hook may not read its stdin at all; a short write is fine.
    // SAFETY: w is open; state is a valid buffer.
    unsafe { libc::write(w.as_raw_fd(), state.as_ptr().cast(), state.len()) };
    drop(w);
    let timeout = h.timeout.map_or(Duration::from_secs(3600 * 24 * 365), |t| {
        Duration::from_secs(t as u64)
    });
    let exited = wait_exit(&pidfd, timeout);
    if !exited {
        // SAFETY: our own child.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    let mut status = 0;
    // SAFETY: reaping our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    if !exited {
        bail!(
            "{name}: timed out after {}s and was killed",
            h.timeout.unwrap_or(0)
        );
    }
    if libc::WIFSIGNALED(status) {
        bail!("{name}: killed by signal {}", libc::WTERMSIG(status));
    }
    match libc::WEXITSTATUS(status) {
        0 => Ok(()),
        127 => bail!("{name}: could not be executed (exit 127: missing or not executable?)"),
        c => bail!("{name}: exited with status {c}"),
    }
}

/// Run a list in order; the first failure stops it.
pub fn run_all(kind: &str, list: &[Hook], state: &str, restore: &[i32]) -> Result<()> {
    for (i, h) in list.iter().enumerate() {
        run_one(kind, i, h, state, restore)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(path: &str, args: &[&str], timeout: Option<i64>) -> Hook {
        Hook {
            path: path.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: None,
            timeout,
        }
    }

    #[test]
    fn success_failure_timeout() {
        run_one(
            "t",
            0,
            &hook("/bin/sh", &["sh", "-c", "read x; test -n \"$x\""], None),
            "{}\n",
            &[],
        )
        .unwrap();
        let e = run_one(
            "t",
            0,
            &hook("/bin/sh", &["sh", "-c", "exit 3"], None),
            "",
            &[],
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "hooks.t[0] (/bin/sh): exited with status 3");
        let e = run_one(
            "t",
            1,
            &hook("/bin/sh", &["sh", "-c", "sleep 5"], Some(1)),
            "",
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("timed out after 1s"), "{e}");
        let e = run_one("t", 0, &hook("/nonexistent", &[], None), "", &[]).unwrap_err();
        assert!(e.to_string().contains("could not be executed"), "{e}");
    }

    #[test]
    fn validation() {
        let h: Hooks = serde_json::from_str(r#"{"prestart":[{"path":"bin/x"}]}"#).unwrap();
        assert!(
            h.validate()
                .unwrap_err()
                .to_string()
                .contains("hooks.prestart[0].path")
        );
        let h: Hooks =
            serde_json::from_str(r#"{"poststop":[{"path":"/bin/x","args":["x","a\u0000b"]}]}"#)
                .unwrap();
        let e = h.validate().unwrap_err().to_string();
        assert!(
            e.starts_with("hooks.poststop[0].args[1]:") && e.contains("NUL"),
            "{e}"
        );
    }
}
