//! state.json: what husk remembers about a container between invocations.
//! Written to a temp file and renamed, so a reader never sees half of it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::cgroups::manager::Cgroup;
use crate::error::{Error, Result};
use crate::hooks::Hooks;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub bundle: String,
    pub rootfs: String,
    pub created: String,
    pub owner: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Start time of the init (field 22 of /proc/<pid>/stat).
    pub init_start_time: u64,
    /// Whether the init is pid 1 of a pid namespace of its own; then killing
    /// it kills every process in the container.
    pub own_pid_ns: bool,
    /// The container's cgroup directories, for kill --all, pause, stats
    /// and delete.
    #[serde(default)]
    pub cgroup: Option<Cgroup>,
    /// poststart and poststop run after create has returned.
    #[serde(default)]
    pub hooks: Hooks,
    /// The config's process, the defaults for `husk exec`.
    #[serde(default)]
    pub process: Option<crate::spec::config::Process>,
    /// linux.personality, applied to exec'd processes too.
    #[serde(default)]
    pub personality: Option<u32>,
    /// linux.seccomp, loaded into exec'd processes too.
    #[serde(default)]
    pub seccomp: Option<crate::linux::seccomp::Seccomp>,
}

/// The JSON `husk state` prints: the runtime-spec state, as runc prints it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicState<'a> {
    pub oci_version: &'a str,
    pub id: &'a str,
    pub status: &'a str,
    pub pid: i32,
    pub bundle: &'a str,
    pub rootfs: &'a str,
    pub created: &'a str,
    pub owner: &'a str,
    pub annotations: &'a BTreeMap<String, String>,
}

impl State {
    pub fn public<'a>(&'a self, status: &'a str) -> PublicState<'a> {
        PublicState {
            oci_version: &self.oci_version,
            id: &self.id,
            status,
            // runc reports 0 once the process is gone.
            pid: if status == "stopped" { 0 } else { self.pid },
            bundle: &self.bundle,
            rootfs: &self.rootfs,
            created: &self.created,
            owner: &self.owner,
            annotations: &self.annotations,
        }
    }

    /// The state JSON a hook reads on stdin.
    pub fn hook_state(&self, status: &str) -> String {
        crate::hooks::state_json(
            &self.oci_version,
            &self.id,
            status,
            self.pid,
            &self.bundle,
            &self.annotations,
        )
    }

    /// poststart: after the process has started. A failure fails start, and
    /// the container is stopped (runtime-spec 1.3).
    pub fn run_poststart(&self) -> Result<()> {
        if self.hooks.poststart.is_empty() {
            return Ok(());
        }
        let r = crate::hooks::run_all(
            "poststart",
            &self.hooks.poststart,
            &self.hook_state("running"),
            &[],
        );
        if let Err(e) = r {
            let _ = crate::container::process::kill_and_wait(self);
            return Err(e);
        }
        Ok(())
    }

    /// What a seccomp listener receives with the notify fd, as runc sends
    /// it (its "containerProcessState").
    pub fn listener_message(&self, pid: i32) -> String {
        let metadata = self
            .seccomp
            .as_ref()
            .and_then(|s| s.listener_metadata.clone())
            .unwrap_or_default();
        let state: serde_json::Value =
            serde_json::from_str(&self.hook_state("creating")).unwrap_or_default();
        serde_json::json!({
            "ociVersion": self.oci_version,
            "fds": ["seccompFd"],
            "pid": pid,
            "metadata": metadata,
            "state": state,
        })
        .to_string()
    }

    /// Hand a seccomp listener fd to linux.seccomp.listenerPath.
    pub fn send_to_listener(&self, pid: i32, fd: &std::os::fd::OwnedFd) -> Result<()> {
        use std::os::fd::AsRawFd;
        let Some(path) = self.seccomp.as_ref().and_then(|s| s.listener_path.clone()) else {
            return Err(Error::msg("seccomp NOTIFY without a listenerPath"));
        };
        let sock = crate::linux::tty::connect(Path::new(&path))
            .map_err(|e| e.context("linux.seccomp.listenerPath"))?;
        crate::linux::tty::send_fd(
            sock.as_raw_fd(),
            self.listener_message(pid).as_bytes(),
            fd.as_raw_fd(),
        )
    }

    pub fn read(path: &Path) -> Result<State> {
        let text = std::fs::read(path)?;
        serde_json::from_slice(&text)
            .map_err(|e| Error::msg(format!("corrupt state file {}: {e}", path.display())))
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        let data = serde_json::to_vec(self).map_err(|e| Error::msg(e.to_string()))?;
        write_atomic(path, &data)
    }
}

/// Write then rename: readers (and a crash) see the old file or the new one.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let r = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        std::fs::rename(&tmp, path)
    })();
    r.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::from(e).context(format!("write {}", path.display()))
    })
}

/// RFC 3339 in UTC with nanoseconds, as Go's time.Time marshals.
pub fn now_rfc3339() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format_rfc3339(d.as_secs() as i64, d.subsec_nanos())
}

pub fn format_rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86400);
    let tod = secs.rem_euclid(86400);
    // Civil-from-days (Howard Hinnant's algorithm), proleptic Gregorian.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        tod / 3600,
        tod % 3600 / 60,
        tod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(format_rfc3339(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            format_rfc3339(951_782_400, 5),
            "2000-02-29T00:00:00.000000005Z"
        );
        assert_eq!(
            format_rfc3339(1_795_300_000, 0),
            "2026-11-21T22:26:40.000000000Z"
        );
    }

    #[test]
    fn stopped_reports_pid_zero() {
        let s = State {
            oci_version: "1.2.0".into(),
            id: "a".into(),
            pid: 42,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: "t".into(),
            owner: String::new(),
            annotations: BTreeMap::new(),
            init_start_time: 1,
            own_pid_ns: true,
            cgroup: None,
            hooks: Hooks::default(),
            process: None,
            personality: None,
            seccomp: None,
        };
        assert_eq!(s.public("stopped").pid, 0);
        assert_eq!(s.public("running").pid, 42);
        let j = serde_json::to_value(s.public("running")).unwrap();
        assert_eq!(j["ociVersion"], "1.2.0");
        assert_eq!(j["status"], "running");
    }
}
