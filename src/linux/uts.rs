//! Hostname, domain name, sysctls and the session keyring: small pieces of
//! per-namespace identity.

use nix::errno::Errno;

use crate::error::{Error, Result};

pub fn set_hostname(name: &str) -> Result<()> {
    // SAFETY: pointer and length describe name's bytes.
    if unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) } < 0 {
        return Err(Error::sys(format!("sethostname({name:?})"), Errno::last()));
    }
    Ok(())
}

pub fn set_domainname(name: &str) -> Result<()> {
    // SAFETY: pointer and length describe name's bytes.
    if unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) } < 0 {
        return Err(Error::sys(
            format!("setdomainname({name:?})"),
            Errno::last(),
        ));
    }
    Ok(())
}

pub fn sysctl_path(key: &str) -> String {
    format!("/proc/sys/{}", key.replace('.', "/"))
}

/// Written through the container's own /proc, so it lands in its namespaces.
pub fn set_sysctl(key: &str, value: &str) -> Result<()> {
    let path = sysctl_path(key);
    std::fs::write(&path, value)
        .map_err(|e| Error::from(e).context(format!("sysctl {key}: write {value:?} to {path}")))
}

/// A fresh session keyring, so the container cannot read the host's keys.
pub fn join_session_keyring(name: &str) -> Result<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    let c = std::ffi::CString::new(name).map_err(|_| Error::msg("keyring name has a NUL byte"))?;
    // SAFETY: NUL-terminated name.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, c.as_ptr()) };
    if r < 0 {
        let e = Errno::last();
        // Kernels without keys support: nothing to isolate.
        if e == Errno::ENOSYS {
            return Ok(());
        }
        return Err(Error::sys(
            format!("keyctl(JOIN_SESSION_KEYRING, {name:?})"),
            e,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn sysctl_paths() {
        assert_eq!(
            super::sysctl_path("net.ipv4.ip_forward"),
            "/proc/sys/net/ipv4/ip_forward"
        );
    }
}
