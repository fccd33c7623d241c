//! The runtime-spec lifecycle: which operation is allowed in which status.
//! The error texts are runc's, because containerd and podman match on them.

use std::fmt;

use crate::bail;
use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub fn check_start(s: Status) -> Result<()> {
    match s {
        Status::Created => Ok(()),
        Status::Stopped => bail!("cannot start a container that has stopped"),
        Status::Running => bail!("cannot start an already running container"),
        Status::Paused => bail!("cannot start a paused container"),
    }
}

pub fn check_kill(s: Status) -> Result<()> {
    match s {
        Status::Created | Status::Running | Status::Paused => Ok(()),
        _ => bail!("container not running"),
    }
}

pub fn check_pause(s: Status) -> Result<()> {
    match s {
        Status::Running => Ok(()),
        Status::Paused => bail!("container already paused"),
        _ => bail!("container not running"),
    }
}

pub fn check_resume(s: Status) -> Result<()> {
    match s {
        Status::Paused => Ok(()),
        _ => bail!("container not paused"),
    }
}

/// What delete must do first, if anything.
#[derive(Debug, PartialEq, Eq)]
pub enum DeleteAction {
    /// Already stopped: only the leftovers go.
    Remove,
    /// Kill the process first (created, or anything with --force).
    KillThenRemove,
}

pub fn check_delete(id: &str, s: Status, force: bool) -> Result<DeleteAction> {
    match (s, force) {
        (Status::Stopped, _) => Ok(DeleteAction::Remove),
        // runc deletes a created container without --force: nothing ran yet.
        (Status::Created, _) | (_, true) => Ok(DeleteAction::KillThenRemove),
        (s, false) => bail!("cannot delete container {id} that is not stopped: {s}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    #[test]
    fn start_only_created() {
        assert!(check_start(Created).is_ok());
        for s in [Running, Paused, Stopped] {
            assert!(check_start(s).is_err());
        }
        assert_eq!(
            check_start(Running).unwrap_err().to_string(),
            "cannot start an already running container"
        );
    }

    #[test]
    fn kill_only_live() {
        for s in [Created, Running, Paused] {
            assert!(check_kill(s).is_ok());
        }
        assert_eq!(
            check_kill(Stopped).unwrap_err().to_string(),
            "container not running"
        );
    }

    #[test]
    fn pause_resume_rules() {
        assert!(check_pause(Running).is_ok());
        assert_eq!(
            check_pause(Stopped).unwrap_err().to_string(),
            "container not running"
        );
        assert!(check_pause(Created).is_err());
        assert!(check_resume(Paused).is_ok());
        assert_eq!(
            check_resume(Running).unwrap_err().to_string(),
            "container not paused"
        );
        assert_eq!(
            check_delete("x", Paused, false).unwrap_err().to_string(),
            "cannot delete container x that is not stopped: paused"
        );
    }

    #[test]
    fn delete_rules() {
        assert_eq!(
            check_delete("x", Stopped, false).unwrap(),
            DeleteAction::Remove
        );
        assert_eq!(
            check_delete("x", Created, false).unwrap(),
            DeleteAction::KillThenRemove
        );
        assert_eq!(
            check_delete("x", Running, true).unwrap(),
            DeleteAction::KillThenRemove
        );
        assert_eq!(
            check_delete("x", Running, false).unwrap_err().to_string(),
            "cannot delete container x that is not stopped: running"
        );
    }
}
