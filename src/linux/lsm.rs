//! AppArmor and SELinux: is the host running them, and label the container's
//! process at its execve.
//!
//! Both take the label the same way: the task writes it to its own
//! `attr/exec` file in procfs, and the kernel applies it at the task's next
//! execve (and forgets it there). No capability is needed to write one's
//! own exec attribute; the LSM's policy decides whether the change is
//! allowed (an unconfined task may move to any loaded AppArmor profile).
//!
//! Why `/proc/thread-self` and not `/proc/self`: LSM attributes belong to a
//! task (a thread), and the kernel lets a task write only its own
//! (proc_pid_attr_write: `current != task` is EACCES). `/proc/self` is the
//! thread-group leader, which is the writer only while husk has one
//! thread; thread-self is right whichever thread writes.
//!
//! Why the file is opened early and written late: the write must come after
//! everything husk still runs itself, yet husk must reach the host's procfs.
//! After pivot_root (or setns into a running container's mount namespace),
//! /proc is the container's, which may be missing, or replaced by something
//! that is not procfs: a write there could silently label nothing. So the
//! init (and the `husk exec` child) opens the attr file while /proc is still
//! the host's, and [`ExecLabels::apply`] writes through that fd, from the
//! same task and before any execve (the kernel checks that the writer is the
//! task the file belongs to, and newer kernels also that it still has the
//! opener's memory, which an execve in between would replace).

use std::fs::File;
use std::io::Write;
use std::path::Path;

use nix::errno::Errno;

use crate::error::{Error, Result};

/// Where the host says whether AppArmor is on.
pub const APPARMOR_ENABLED: &str = "/sys/module/apparmor/parameters/enabled";

/// AppArmor's own attr directory (kernels with LSM stacking, 5.1+); older
/// ones only have the shared `attr/exec`.
const APPARMOR_EXEC: &str = "/proc/thread-self/attr/apparmor/exec";
const SHARED_EXEC: &str = "/proc/thread-self/attr/exec";

/// Filesystems that get `context="<mountLabel>"`. Each mount of these makes
/// a new superblock, so SELinux can take the context from the mount. Not:
/// - bind mounts: no new superblock, and mount(2) ignores the data of a bind;
/// - mqueue: a new IPC namespace already made its superblock (a kernel
///   mount), so the mount reuses it and SELinux refuses a second, different
///   context for it ("Same superblock, different security settings": EINVAL);
/// - sysfs and cgroup: one superblock per network or cgroup namespace, shared
///   with the host's mounts: the same EINVAL;
/// - proc: labelled per file by policy (genfscon), not by mount options.
const TAKES_CONTEXT: &[&str] = &["tmpfs", "devpts", "ramfs"];

/// Why the host has no AppArmor, or None if it has it. AppArmor built in
/// but not enabled at boot shows "N"; not built in: no file at all.
pub fn apparmor_missing() -> Option<String> {
    let enabled = std::fs::read_to_string(APPARMOR_ENABLED).ok();
    if let Some(why) = apparmor_verdict(enabled.as_deref()) {
        return Some(why);
    }
    let attr = Path::new(APPARMOR_EXEC).exists() || Path::new(SHARED_EXEC).exists();
    (!attr).then(|| {
        format!("{APPARMOR_ENABLED} is Y, but neither {APPARMOR_EXEC} nor {SHARED_EXEC} exists")
    })
}

fn apparmor_verdict(enabled: Option<&str>) -> Option<String> {
    match enabled.map(str::trim) {
        None => Some(format!("{APPARMOR_ENABLED} is absent")),
        Some("Y") => None,
        Some(v) => Some(format!("{APPARMOR_ENABLED} is {v:?}, not \"Y\"")),
    }
}

/// Why the host has no SELinux, or None if it has it: selinuxfs must be
/// mounted (found in mountinfo, wherever it is) and its `enforce` readable.
pub fn selinux_missing() -> Option<String> {
    let info = match std::fs::read_to_string("/proc/self/mountinfo") {
        Ok(s) => s,
        Err(e) => return Some(format!("/proc/self/mountinfo is unreadable: {e}")),
    };
    let Some(mnt) = selinuxfs_mount(&info) else {
        return Some("no selinuxfs in /proc/self/mountinfo".into());
    };
    let enforce = format!("{mnt}/enforce");
    match std::fs::read_to_string(&enforce) {
        Ok(_) => None,
        Err(e) => Some(format!("{enforce} is unreadable: {e}")),
    }
}

/// The mount point of the first selinuxfs in a mountinfo text.
fn selinuxfs_mount(mountinfo: &str) -> Option<String> {
    mountinfo.lines().find_map(|line| {
        // "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS"
        let (left, right) = line.split_once(" - ")?;
        if right.split(' ').next()? != "selinuxfs" {
            return None;
        }
        left.split(' ').nth(4).map(unescape_mountinfo)
    })
}

/// mountinfo writes space, tab, newline and backslash as \ooo octal.
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], oct) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Check a label's text: these go to the kernel as one write (or one mount
/// option), so a NUL or a newline would cut or smuggle them.
pub fn check_label(field: &str, v: &str) -> Result<()> {
    if v.contains(['\0', '\n']) {
        return Err(Error::msg(format!(
            "{field}: {v:?} contains a NUL or a newline"
        )));
    }
    Ok(())
}

/// Check a mount label for use inside `context="..."`: SELinux labels hold
/// commas (MCS categories such as s0:c1,c2), which is why the value is
/// quoted; the quotes themselves cannot be escaped, so a label may not
/// contain one.
pub fn check_mount_label(v: &str) -> Result<()> {
    check_label("linux.mountLabel", v)?;
    if v.contains('"') {
        return Err(Error::msg(format!(
            "linux.mountLabel: {v:?} contains a double quote, which cannot be passed in a mount's context=\"...\" option"
        )));
    }
    Ok(())
}

/// A mount's data with the mount label added, where the filesystem takes
/// one (see TAKES_CONTEXT) and the config did not give a context itself.
/// SELinux parses the options before the filesystem does and honours the
/// quotes, so the commas of the label do not split it.
pub fn mount_data(data: &str, fstype: &str, label: Option<&str>) -> String {
    let Some(label) = label else {
        return data.to_string();
    };
    if !TAKES_CONTEXT.contains(&fstype) || data.split(',').any(|o| o.starts_with("context=")) {
        return data.to_string();
    }
    let ctx = format!("context=\"{label}\"");
    if data.is_empty() {
        ctx
    } else {
        format!("{data},{ctx}")
    }
}

/// One exec label to write: the open attr file, its path and what to write.
#[derive(Debug)]
struct ExecAttr {
    field: &'static str,
    file: File,
    path: &'static str,
    text: String,
}

/// The process's exec labels, opened (see the module notes) and not yet
/// written.
#[derive(Debug, Default)]
pub struct ExecLabels {
    attrs: Vec<ExecAttr>,
}

impl ExecLabels {
    /// Open the attr files the labels go to. `apparmor` and `selinux` are
    /// the process's apparmorProfile and selinuxLabel (None: unset).
    pub fn open(apparmor: Option<&str>, selinux: Option<&str>) -> Result<ExecLabels> {
        let mut attrs = Vec::new();
        if let Some(profile) = apparmor {
            let path = if Path::new(APPARMOR_EXEC).exists() {
                APPARMOR_EXEC
            } else {
                SHARED_EXEC
            };
            // AppArmor's command for "change to this profile at exec".
            attrs.push(ExecAttr {
                field: "process.apparmorProfile",
                file: open_attr(path)?,
                path,
                text: format!("exec {profile}"),
            });
        }
        if let Some(label) = selinux {
            // SELinux takes the bare context (setexeccon).
            attrs.push(ExecAttr {
                field: "process.selinuxLabel",
                file: open_attr(SHARED_EXEC)?,
                path: SHARED_EXEC,
                text: label.to_string(),
            });
        }
        Ok(ExecLabels { attrs })
    }

    pub fn is_empty(&self) -> bool {
        self.attrs.is_empty()
    }

    /// The fields and values apply() writes, for the step's description
    /// (the error adds the file and the exact text).
    pub fn describe(&self) -> String {
        self.attrs
            .iter()
            .map(|a| format!("{} {:?}", a.field, a.text.trim_start_matches("exec ")))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Write the labels: they take effect at this task's next execve. An
    /// unknown AppArmor profile is ENOENT, a bad label EINVAL.
    pub fn apply(&self) -> Result<()> {
        for a in &self.attrs {
            // One write: the kernel takes the whole buffer as the command.
            (&a.file).write_all(a.text.as_bytes()).map_err(|e| {
                let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
                let hint = match (a.field, errno) {
                    ("process.apparmorProfile", Errno::ENOENT) => " (no such profile is loaded)",
                    (_, Errno::EINVAL) => " (the LSM refused the value)",
                    _ => "",
                };
                Error::sys(format!("write {:?} to {}{hint}", a.text, a.path), errno)
            })?;
        }
        Ok(())
    }
}

fn open_attr(path: &'static str) -> Result<File> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| {
            let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
            Error::sys(format!("open {path} for writing"), errno)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apparmor_verdicts() {
        assert!(apparmor_verdict(Some("Y\n")).is_none());
        let absent = apparmor_verdict(None).unwrap();
        assert_eq!(absent, format!("{APPARMOR_ENABLED} is absent"));
        assert!(apparmor_verdict(Some("N\n")).unwrap().contains("is \"N\""));
    }

    #[test]
    fn finds_selinuxfs_anywhere() {
        let info = "\
22 1 0:21 / /proc rw,nosuid - proc proc rw
23 22 0:22 / /sys rw,nosuid shared:7 - sysfs sysfs rw
40 23 0:20 / /sys/fs/selinux rw,relatime shared:3 - selinuxfs selinuxfs rw
";
        assert_eq!(selinuxfs_mount(info).as_deref(), Some("/sys/fs/selinux"));
        let moved = "41 1 0:20 / /my\\040selinux rw - selinuxfs none rw\n";
        assert_eq!(selinuxfs_mount(moved).as_deref(), Some("/my selinux"));
        // A mount whose source happens to be called selinuxfs is not one.
        let other = "42 1 0:30 / /x rw - tmpfs selinuxfs rw\n";
        assert_eq!(selinuxfs_mount(other), None);
        assert_eq!(selinuxfs_mount(""), None);
    }

    #[test]
    fn unescapes_octal_only_when_complete() {
        assert_eq!(unescape_mountinfo("a\\011b\\134c"), "a\tb\\c");
        assert_eq!(unescape_mountinfo("tail\\04"), "tail\\04");
    }

    #[test]
    fn context_option_is_quoted_and_only_where_it_applies() {
        let l = Some("system_u:object_r:container_file_t:s0:c1,c2");
        assert_eq!(
            mount_data("mode=755", "tmpfs", l),
            "mode=755,context=\"system_u:object_r:container_file_t:s0:c1,c2\""
        );
        assert_eq!(
            mount_data("", "devpts", Some("a:b:c:s0")),
            "context=\"a:b:c:s0\""
        );
        for fs in ["mqueue", "proc", "sysfs", "cgroup", "cgroup2", "bind"] {
            assert_eq!(mount_data("x=1", fs, l), "x=1", "{fs}");
        }
        assert_eq!(mount_data("mode=755", "tmpfs", None), "mode=755");
        // A context the config gives itself wins.
        assert_eq!(
            mount_data("context=\"u:r:t:s0\"", "tmpfs", l),
            "context=\"u:r:t:s0\""
        );
    }

    #[test]
    fn labels_that_cannot_be_passed_are_refused() {
        assert!(check_mount_label("u:r:t:s0:c1,c2").is_ok());
        let e = check_mount_label("u:r:\"t").unwrap_err().to_string();
        assert!(
            e.contains("linux.mountLabel") && e.contains("double quote"),
            "{e}"
        );
        assert!(check_label("process.selinuxLabel", "a\nb").is_err());
        assert!(check_label("process.apparmorProfile", "a\0b").is_err());
    }
}
