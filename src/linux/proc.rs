//! Reading /proc/<pid>/stat: whether a PID is still the process we started.
//! And /proc/self/mountinfo, read once per process.

use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

static MOUNTINFO: Mutex<Option<Arc<str>>> = Mutex::new(None);

/// /proc/self/mountinfo, read on first use and kept: husk looks up the
/// host's cgroup mounts when it makes the cgroup, again for device rules,
/// and again in the init (a fork, which inherits the copy) when it mounts
/// the container's /sys/fs/cgroup. The init's mount namespace is a copy of
/// husk's, and its own mounts all lie under the rootfs, so the copy stays
/// true for /sys/fs/cgroup; an init that joins another mount namespace
/// calls [`forget_mountinfo`]. Re-reading cost ~0.1 ms per call here.
pub fn mountinfo() -> Result<Arc<str>> {
    let mut cached = MOUNTINFO.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(t) = &*cached {
        return Ok(t.clone());
    }
    let text: Arc<str> = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| Error::from(e).context("read /proc/self/mountinfo"))?
        .into();
    *cached = Some(text.clone());
    Ok(text)
}

/// The mounts changed (another mount namespace was joined): read anew.
pub fn forget_mountinfo() {
    *MOUNTINFO.lock().unwrap_or_else(|p| p.into_inner()) = None;
}

/// The name the init gives itself (PR_SET_NAME) until it execs the
/// container's process, which renames it. It tells "created" from
/// "running" even when a `husk start` was killed after it released the
/// init and before it removed exec.fifo. runc's init calls itself
/// "runc:[2:INIT]" for the same reason.
pub const INIT_COMM: &str = "husk:init";

/// What /proc/<pid>/stat says about a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    pub state: char,
    /// Whether the comm (field 2) is [`INIT_COMM`]: the init has not
    /// exec'd the container's process yet.
    pub is_husk_init: bool,
    /// Field 22, in clock ticks since boot. With the PID it identifies a
    /// process for good: a reused PID gets a later start time.
    pub start_time: u64,
}

pub fn stat(pid: i32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

pub fn parse_stat(text: &str) -> Option<ProcStat> {
    // comm (field 2) may hold spaces and parentheses; it ends at the last ')'.
    let close = text.rfind(')')?;
    let comm = text.get(text.find('(')? + 1..close)?;
    let rest = &text[close + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); field 22 is index 19 here.
    Some(ProcStat {
        state: fields.first()?.chars().next()?,
        is_husk_init: comm == INIT_COMM,
        start_time: fields.get(19)?.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_odd_comm() {
        let s = "42 (a) b) c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 10";
        assert_eq!(
            parse_stat(s),
            Some(ProcStat {
                state: 'S',
                is_husk_init: false,
                start_time: 123456
            })
        );
        let s = "42 (husk:init) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 7 1000 10";
        assert!(parse_stat(s).unwrap().is_husk_init);
    }

    #[test]
    fn self_is_alive() {
        let me = stat(std::process::id() as i32).unwrap();
        assert_ne!(me.state, 'Z');
        assert!(me.start_time > 0);
    }
}
