//! process.rlimits, applied with prlimit(2).

use nix::errno::Errno;

use crate::error::{Error, Result};

const RESOURCES: &[(&str, libc::__rlimit_resource_t)] = &[
    ("RLIMIT_CPU", libc::RLIMIT_CPU),
    ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE),
    ("RLIMIT_DATA", libc::RLIMIT_DATA),
    ("RLIMIT_STACK", libc::RLIMIT_STACK),
    ("RLIMIT_CORE", libc::RLIMIT_CORE),
    ("RLIMIT_RSS", libc::RLIMIT_RSS),
    ("RLIMIT_NPROC", libc::RLIMIT_NPROC),
    ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE),
    ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK),
    ("RLIMIT_AS", libc::RLIMIT_AS),
    ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS),
    ("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING),
    ("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE),
    ("RLIMIT_NICE", libc::RLIMIT_NICE),
    ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO),
    ("RLIMIT_RTTIME", libc::RLIMIT_RTTIME),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rlimit {
    pub name: String,
    pub resource: libc::__rlimit_resource_t,
    pub soft: u64,
    pub hard: u64,
}

pub fn resolve(name: &str, soft: u64, hard: u64) -> Result<Rlimit> {
    let resource = RESOURCES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, r)| *r)
        .ok_or_else(|| Error::msg(format!("process.rlimits: unknown rlimit type {name:?}")))?;
    if soft > hard {
        return Err(Error::msg(format!(
            "process.rlimits: {name}: soft limit {soft} is above hard limit {hard}"
        )));
    }
    Ok(Rlimit {
        name: name.to_string(),
        resource,
        soft,
        hard,
    })
}

pub fn apply(l: &Rlimit) -> Result<()> {
    let lim = libc::rlimit {
        rlim_cur: l.soft,
        rlim_max: l.hard,
    };
    // SAFETY: lim is a valid rlimit; the old-value pointer may be null.
    let r = unsafe { libc::prlimit(0, l.resource, &lim, std::ptr::null_mut()) };
    if r < 0 {
        let e = Errno::last();
        let hint = if e == Errno::EPERM {
            " (raising a hard limit needs CAP_SYS_RESOURCE)"
        } else {
            ""
        };
        return Err(Error::sys(
            format!(
                "setrlimit({}, soft={}, hard={}){hint}",
                l.name, l.soft, l.hard
            ),
            e,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown() {
        assert_eq!(
            resolve("RLIMIT_NOFILE", 10, 20).unwrap().resource,
            libc::RLIMIT_NOFILE
        );
        assert!(resolve("RLIMIT_FOO", 1, 1).is_err());
        assert!(resolve("RLIMIT_NOFILE", 30, 20).is_err());
    }
}
