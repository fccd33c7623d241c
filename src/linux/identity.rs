//! Switching to the container user while keeping the capabilities the
//! config grants.

use nix::errno::Errno;

use crate::error::{Error, Result};

/// The effective uid husk runs as.
pub fn euid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

/// The effective gid husk runs as.
pub fn egid() -> u32 {
    // SAFETY: getegid cannot fail.
    unsafe { libc::getegid() }
}

/// Rootless: husk is not root, so it holds no capabilities on the host and
/// everything privileged happens inside the container's user namespace.
pub fn rootless() -> bool {
    euid() != 0
}

/// setgroups, setresgid, setresuid. PR_SET_KEEPCAPS keeps the permitted set
/// across the uid change so capset can grant it again afterwards.
pub fn switch_user(uid: u32, gid: u32, groups: &[u32]) -> Result<()> {
    // SAFETY: integer-only prctl.
    if unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) } < 0 {
        return Err(Error::sys("prctl(PR_SET_KEEPCAPS, 1)", Errno::last()));
    }
    // SAFETY: groups is a valid slice of gid_t for its length.
    if unsafe { libc::setgroups(groups.len(), groups.as_ptr()) } < 0 {
        let e = Errno::last();
        // A user namespace whose gid_map an unprivileged husk wrote itself
        // has setgroups denied for good (see idmap.rs): the process keeps
        // the groups it was born with, which show as the overflow gid.
        let denied = e == Errno::EPERM
            && std::fs::read_to_string("/proc/self/setgroups").is_ok_and(|s| s.trim() == "deny");
        if !denied {
            return Err(Error::sys(format!("setgroups({groups:?})"), e));
        }
        if !groups.is_empty() {
            return Err(Error::sys(
                format!(
                    "process.user.additionalGids {groups:?}: setgroups is denied in this user namespace, because an unprivileged husk maps a single gid only with setgroups denied; give linux.gidMappings a range from /etc/subgid (mapped by newgidmap) to use additional groups"
                ),
                e,
            ));
        }
    }
    // Raw syscalls, not libc's wrappers: glibc broadcasts set*id to all
    // threads with signals, which we neither need nor want here.
    // SAFETY: integer-only syscalls.
    if unsafe { libc::syscall(libc::SYS_setresgid, gid, gid, gid) } < 0 {
        return Err(Error::sys(format!("setresgid({gid})"), Errno::last()));
    }
    // SAFETY: as above.
    if unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) } < 0 {
        return Err(Error::sys(format!("setresuid({uid})"), Errno::last()));
    }
    // SAFETY: integer-only prctl.
    if unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0) } < 0 {
        return Err(Error::sys("prctl(PR_SET_KEEPCAPS, 0)", Errno::last()));
    }
    Ok(())
}

pub fn set_no_new_privs() -> Result<()> {
    // SAFETY: integer-only prctl.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } < 0 {
        return Err(Error::sys("prctl(PR_SET_NO_NEW_PRIVS, 1)", Errno::last()));
    }
    Ok(())
}

/// HOME from the container's /etc/passwd when the config did not set it.
pub fn home_for(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|t| home_from_passwd(&t, uid))
        .unwrap_or_else(|| "/".to_string())
}

pub fn home_from_passwd(text: &str, uid: u32) -> Option<String> {
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 6 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[5].to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_home() {
        let t = "root:x:0:0:root:/root:/bin/sh\ndemo:x:1000:1000::/home/demo:/bin/sh\n";
        assert_eq!(home_from_passwd(t, 1000).as_deref(), Some("/home/demo"));
        assert_eq!(home_from_passwd(t, 5), None);
    }
}
