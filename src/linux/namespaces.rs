//! Namespace kinds and the two ways into one: a new one at clone/unshare
//! time, or an existing one joined with setns(2) on a file from /proc.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

use nix::errno::Errno;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NsKind {
    User,
    Mount,
    Pid,
    Network,
    Ipc,
    Uts,
    Cgroup,
    Time,
}

impl NsKind {
    pub const ALL: [NsKind; 8] = [
        NsKind::User,
        NsKind::Mount,
        NsKind::Pid,
        NsKind::Network,
        NsKind::Ipc,
        NsKind::Uts,
        NsKind::Cgroup,
        NsKind::Time,
    ];

    /// The name config.json uses.
    pub fn from_spec(name: &str) -> Option<NsKind> {
        Some(match name {
            "user" => NsKind::User,
            "mount" => NsKind::Mount,
            "pid" => NsKind::Pid,
            "network" => NsKind::Network,
            "ipc" => NsKind::Ipc,
            "uts" => NsKind::Uts,
            "cgroup" => NsKind::Cgroup,
            "time" => NsKind::Time,
            _ => return None,
        })
    }

    pub fn spec_name(self) -> &'static str {
        match self {
            NsKind::User => "user",
            NsKind::Mount => "mount",
            NsKind::Pid => "pid",
            NsKind::Network => "network",
            NsKind::Ipc => "ipc",
            NsKind::Uts => "uts",
            NsKind::Cgroup => "cgroup",
            NsKind::Time => "time",
        }
    }

    /// The file name under /proc/<pid>/ns/.
    pub fn proc_file(self) -> &'static str {
        match self {
            NsKind::User => "user",
            NsKind::Mount => "mnt",
            NsKind::Pid => "pid",
            NsKind::Network => "net",
            NsKind::Ipc => "ipc",
            NsKind::Uts => "uts",
            NsKind::Cgroup => "cgroup",
            NsKind::Time => "time",
        }
    }

    pub fn clone_flag(self) -> u64 {
        (match self {
            NsKind::User => libc::CLONE_NEWUSER,
            NsKind::Mount => libc::CLONE_NEWNS,
            NsKind::Pid => libc::CLONE_NEWPID,
            NsKind::Network => libc::CLONE_NEWNET,
            NsKind::Ipc => libc::CLONE_NEWIPC,
            NsKind::Uts => libc::CLONE_NEWUTS,
            NsKind::Cgroup => libc::CLONE_NEWCGROUP,
            NsKind::Time => CLONE_NEWTIME,
        }) as u64
    }
}

/// Not in every libc version; the value is fixed by the kernel ABI.
pub const CLONE_NEWTIME: libc::c_int = 0x80;

/// "CLONE_NEWPID|CLONE_NEWNS|…" for logs and --explain.
pub fn flag_names(flags: u64) -> String {
    let names: Vec<&str> = NsKind::ALL
        .iter()
        .filter(|k| flags & k.clone_flag() != 0)
        .map(|k| match k {
            NsKind::User => "CLONE_NEWUSER",
            NsKind::Mount => "CLONE_NEWNS",
            NsKind::Pid => "CLONE_NEWPID",
            NsKind::Network => "CLONE_NEWNET",
            NsKind::Ipc => "CLONE_NEWIPC",
            NsKind::Uts => "CLONE_NEWUTS",
            NsKind::Cgroup => "CLONE_NEWCGROUP",
            NsKind::Time => "CLONE_NEWTIME",
        })
        .collect();
    if names.is_empty() {
        "0".into()
    } else {
        names.join("|")
    }
}

/// Open a namespace file for a later setns; fails early, naming the path.
pub fn open_ns(kind: NsKind, path: &Path) -> Result<File> {
    File::open(path).map_err(|e| {
        Error::from(e).context(format!(
            "open {} namespace {}",
            kind.spec_name(),
            path.display()
        ))
    })
}

pub fn setns(kind: NsKind, file: &File, path: &Path) -> Result<()> {
    // SAFETY: setns only reads the fd; the flag makes the kernel check that
    // the file really is a namespace of the kind the config claims.
    let r = unsafe { libc::setns(file.as_raw_fd(), kind.clone_flag() as libc::c_int) };
    if r < 0 {
        return Err(Error::sys(
            format!(
                "setns({}, {})",
                path.display(),
                flag_names(kind.clone_flag())
            ),
            Errno::last(),
        ));
    }
    Ok(())
}

pub fn unshare(flags: u64) -> Result<()> {
    if flags == 0 {
        return Ok(());
    }
    // SAFETY: plain syscall on flags.
    let r = unsafe { libc::unshare(flags as libc::c_int) };
    if r < 0 {
        return Err(Error::sys(
            format!("unshare({})", flag_names(flags)),
            Errno::last(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in NsKind::ALL {
            assert_eq!(NsKind::from_spec(k.spec_name()), Some(k));
        }
        assert_eq!(NsKind::from_spec("net"), None);
    }

    #[test]
    fn flag_names_lists_each() {
        let f = NsKind::Pid.clone_flag() | NsKind::Mount.clone_flag();
        assert_eq!(flag_names(f), "CLONE_NEWNS|CLONE_NEWPID");
    }
}
