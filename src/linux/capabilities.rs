//! Capability names and the five sets, applied with capset(2) and prctl(2).
//! Sets are plain u64 bitmasks: bit N is capability N.

use nix::errno::Errno;

use crate::error::{Error, Result};

pub const NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Parse a list of names into a mask. Names are matched without case and
/// with or without the CAP_ prefix, as runc does.
pub fn parse_set(field: &str, names: &[String]) -> Result<u64> {
    let mut mask = 0u64;
    for n in names {
        let up = n.to_ascii_uppercase();
        let full = if up.starts_with("CAP_") {
            up
        } else {
            format!("CAP_{up}")
        };
        match NAMES.iter().position(|c| *c == full) {
            Some(i) => mask |= 1 << i,
            None => {
                return Err(Error::msg(format!("{field}: unknown capability {n:?}")));
            }
        }
    }
    Ok(mask)
}

pub fn names(mask: u64) -> Vec<&'static str> {
    (0..NAMES.len())
        .filter(|i| mask & (1 << i) != 0)
        .map(|i| NAMES[i])
        .collect()
}

/// The highest capability this kernel knows; newer names in a config are
/// dropped with a warning, as runc does, rather than failing on old kernels.
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

pub fn kernel_mask() -> u64 {
    let last = last_cap().min(63);
    if last == 63 {
        u64::MAX
    } else {
        (1u64 << (last + 1)) - 1
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapSets {
    pub bounding: u64,
    pub effective: u64,
    pub inheritable: u64,
    pub permitted: u64,
    pub ambient: u64,
}

/// Remove from the bounding set every capability not in `keep`. Needs
/// CAP_SETPCAP, so it runs before the user switch drops it.
pub fn drop_bounding(keep: u64) -> Result<u32> {
    let mut dropped = 0;
    for cap in 0..=last_cap() {
        if keep & (1 << cap) != 0 {
            continue;
        }
        // SAFETY: prctl with integer arguments only.
        let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
        if r < 0 {
            return Err(Error::sys(
                format!(
                    "prctl(PR_CAPBSET_DROP, {})",
                    NAMES.get(cap as usize).unwrap_or(&"?")
                ),
                Errno::last(),
            ));
        }
        dropped += 1;
    }
    Ok(dropped)
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Set effective, permitted and inheritable at once with capset(2).
pub fn set_eip(effective: u64, permitted: u64, inheritable: u64) -> Result<()> {
    let hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [
        CapData {
            effective: effective as u32,
            permitted: permitted as u32,
            inheritable: inheritable as u32,
        },
        CapData {
            effective: (effective >> 32) as u32,
            permitted: (permitted >> 32) as u32,
            inheritable: (inheritable >> 32) as u32,
        },
    ];
    // SAFETY: version 3 takes a header and an array of two data words, which
    // is exactly what we pass; the kernel only reads them.
    let r = unsafe { libc::syscall(libc::SYS_capset, &hdr as *const CapHeader, data.as_ptr()) };
    if r < 0 {
        return Err(Error::sys(
            format!(
                "capset(effective={effective:#x}, permitted={permitted:#x}, inheritable={inheritable:#x})"
            ),
            Errno::last(),
        ));
    }
    Ok(())
}

/// Make the effective set the whole permitted set. After setresuid to a
/// non-zero uid the kernel empties the effective set (PR_SET_KEEPCAPS keeps
/// only the permitted one), and a seccomp filter without no_new_privs needs
/// CAP_SYS_ADMIN effective; set_eip then sets the final sets.
pub fn raise_effective() -> Result<()> {
    let hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: version 3 takes a header and two data words, which the
    // kernel fills.
    let r = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &hdr as *const CapHeader,
            data.as_mut_ptr(),
        )
    };
    if r < 0 {
        return Err(Error::sys("capget", Errno::last()));
    }
    let get = |f: fn(&CapData) -> u32| u64::from(f(&data[0])) | (u64::from(f(&data[1])) << 32);
    let permitted = get(|d| d.permitted);
    if get(|d| d.effective) == permitted {
        return Ok(());
    }
    set_eip(permitted, permitted, get(|d| d.inheritable))
}

/// Raise the ambient set; each cap must already be permitted and inheritable.
/// Reads nothing (not even cap_last_cap): it may run under the container's
/// seccomp filter, and `mask` holds only capabilities the kernel knows.
pub fn raise_ambient(mask: u64) -> Result<()> {
    for cap in 0..64u32 {
        if mask & (1 << cap) == 0 {
            continue;
        }
        // SAFETY: prctl with integer arguments only.
        let r = unsafe {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                cap as libc::c_ulong,
                0,
                0,
            )
        };
        if r < 0 {
            return Err(Error::sys(
                format!(
                    "prctl(PR_CAP_AMBIENT_RAISE, {})",
                    NAMES.get(cap as usize).unwrap_or(&"an unnamed capability")
                ),
                Errno::last(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_runc_spellings() {
        let m = parse_set("x", &["CAP_KILL".into(), "net_raw".into(), "Chown".into()]).unwrap();
        assert_eq!(m, (1 << 5) | (1 << 13) | 1);
        assert_eq!(names(m), vec!["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"]);
    }

    #[test]
    fn parse_names_the_field_and_cap() {
        let e = parse_set("process.capabilities.bounding", &["CAP_FLY".into()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "process.capabilities.bounding: unknown capability \"CAP_FLY\""
        );
    }
}
