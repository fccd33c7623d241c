//! record.json: what a create is about to make outside its own process,
//! written before it makes it.
//!
//! A husk can be killed at any moment: a shim OOM-killed, a CI job
//! cancelled. state.json only exists once create has finished, so a create
//! killed before that would leave cgroups that nothing remembers. So create
//! writes this record first (atomically, next to state.json) and acts
//! second, and `delete --force` of a container without state.json undoes
//! what the record lists. Each entry is safe to undo whether or not the
//! thing it names was made yet.
//!
//! What is recorded, and why that is enough:
//! - the cgroup, as planned (before the first mkdir) and then as made:
//!   only directories that did not exist before are husk's to remove, and
//!   only the leaf husk made is husk's to empty;
//! - the init's PID and start time, when no cgroup of husk's own holds it
//!   (rootless without a delegated cgroup, or a leaf that already
//!   existed). Otherwise the cgroup finds every process, the init included.
//!
//! The state directory holds the rest (the lock, exec.fifo, the host
//! mounts' record of linux/host_mounts.rs), and goes last.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::process;
use super::state::write_atomic;
use crate::cgroups::manager::Cgroup;
use crate::error::{Error, Result};
use crate::linux::proc;
use crate::spawn::clone::pidfd_open;

pub const RECORD_FILE: &str = "record.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<Cgroup>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<InitRef>,
}

/// A process, named so that a recycled PID is never mistaken for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitRef {
    pub pid: i32,
    pub start_time: u64,
}

impl Record {
    /// The record in `dir`, or an empty one if create never wrote it.
    pub fn read(dir: &Path) -> Result<Record> {
        let path = dir.join(RECORD_FILE);
        match std::fs::read(&path) {
            Ok(text) => serde_json::from_slice(&text)
                .map_err(|e| Error::msg(format!("corrupt record {}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Record::default()),
            Err(e) => Err(Error::from(e).context(format!("read {}", path.display()))),
        }
    }

    pub fn write(&self, dir: &Path) -> Result<()> {
        let data = serde_json::to_vec(self).map_err(|e| Error::msg(e.to_string()))?;
        write_atomic(&dir.join(RECORD_FILE), &data)
            .map_err(|e| e.context("record what create is about to make"))
    }

    /// Undo what a create that never finished made: kill its init and
    /// remove the cgroup directories it made. Each part is tried even when
    /// an earlier one fails; the error names every part that failed.
    pub fn undo(&self) -> Result<()> {
        let mut failed = Vec::new();
        if let Some(init) = self.init
            && let Err(e) = kill_init(init)
        {
            failed.push(e.to_string());
        }
        if let Some(cg) = &self.cgroup
            && let Err(e) = cg.made_by_husk().destroy()
        {
            failed.push(e.to_string());
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(Error::msg(format!(
                "remove what an unfinished create made: {}",
                failed.join("; ")
            )))
        }
    }
}

fn kill_init(init: InitRef) -> Result<()> {
    let Ok(fd) = pidfd_open(init.pid) else {
        return Ok(());
    };
    // The pidfd pins the PID: if the start time matches now, it is ours.
    match proc::stat(init.pid) {
        Some(s) if s.start_time == init.start_time && s.state != 'Z' => {}
        _ => return Ok(()),
    }
    let _ = process::pidfd_signal(&fd, libc::SIGKILL);
    if !process::wait_exit(&fd, Duration::from_secs(10)) {
        return Err(Error::msg(format!(
            "the container init (pid {}) did not exit within 10s of SIGKILL",
            init.pid
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::manager::Dir;
    use std::path::PathBuf;

    #[test]
    fn round_trips_and_a_missing_record_is_empty() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(Record::read(d.path()).unwrap(), Record::default());
        let r = Record {
            cgroup: Some(Cgroup {
                dirs: vec![Dir {
                    path: PathBuf::from("/sys/fs/cgroup/pids/a/b"),
                    v2: false,
                    controllers: vec!["pids".into()],
                    created: vec!["/sys/fs/cgroup/pids/a/b".into()],
                }],
                unified_mode: false,
                systemd: Some(crate::cgroups::systemd::Unit {
                    name: "husk-c1.scope".into(),
                    slice: "system.slice".into(),
                    started: true,
                }),
            }),
            init: Some(InitRef {
                pid: 7,
                start_time: 9,
            }),
        };
        r.write(d.path()).unwrap();
        assert_eq!(Record::read(d.path()).unwrap(), r);
        std::fs::write(d.path().join(RECORD_FILE), "{").unwrap();
        let e = Record::read(d.path()).unwrap_err().to_string();
        assert!(e.starts_with("corrupt record"), "{e}");
    }

    #[test]
    fn undo_of_an_empty_record_does_nothing() {
        Record::default().undo().unwrap();
        // A PID that is not the recorded process (start time differs).
        let me = std::process::id() as i32;
        let r = Record {
            cgroup: None,
            init: Some(InitRef {
                pid: me,
                start_time: u64::MAX,
            }),
        };
        r.undo().unwrap();
    }
}
