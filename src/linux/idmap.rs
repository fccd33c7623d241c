//! Writing a user namespace's uid_map and gid_map. Done by the parent: the
//! child cannot map host IDs it does not own.
//!
//! As root husk writes the files itself. An unprivileged husk may write
//! only one line mapping its own id (and, for gid_map, only after denying
//! setgroups); any other mapping goes through the setuid helpers
//! newuidmap/newgidmap, which check it against /etc/subuid and /etc/subgid.

use crate::error::{Error, Result};
use crate::linux::identity;
use crate::spec::config::IdMapping;

pub fn format(maps: &[IdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id, m.host_id, m.size))
        .collect()
}

/// Who writes one map: husk itself, or the named setuid helper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    Direct,
    Helper(&'static str),
}

/// The kernel lets an unprivileged process write exactly one line, mapping
/// its own effective id (user_namespaces(7)).
fn writer(maps: &[IdMapping], privileged: bool, own: u32, helper: &'static str) -> Writer {
    match maps {
        _ if privileged => Writer::Direct,
        [m] if m.host_id == own && m.size == 1 => Writer::Direct,
        _ => Writer::Helper(helper),
    }
}

fn writers(uid: &[IdMapping], gid: &[IdMapping]) -> (Writer, Writer) {
    let privileged = !identity::rootless();
    (
        writer(uid, privileged, identity::euid(), "newuidmap"),
        writer(gid, privileged, identity::egid(), "newgidmap"),
    )
}

/// For --explain: what the hand-over step will do.
pub fn describe(uid: &[IdMapping], gid: &[IdMapping]) -> String {
    let (wu, wg) = writers(uid, gid);
    let one = |w: Writer, maps: &[IdMapping], file: &str| match w {
        Writer::Direct => format!("write {:?} to {file}", format(maps).trim_end()),
        Writer::Helper(h) => format!("{h} {}", helper_args(maps).join(" ")),
    };
    let deny = if identity::rootless() && wg == Writer::Direct {
        "write deny to setgroups, "
    } else {
        ""
    };
    format!(
        "{}, {deny}{}",
        one(wu, uid, "uid_map"),
        one(wg, gid, "gid_map")
    )
}

/// Map the ids of the user namespace of `pid`, each map the way the caller
/// is allowed to.
pub fn write_maps(pid: i32, uid: &[IdMapping], gid: &[IdMapping]) -> Result<()> {
    let (wu, wg) = writers(uid, gid);
    match wu {
        Writer::Direct => write(pid, "uid_map", uid)?,
        Writer::Helper(h) => run_helper(h, pid, uid, "linux.uidMappings")?,
    }
    match wg {
        Writer::Direct => {
            if identity::rootless() {
                // Without CAP_SETGID on the host, the kernel takes a gid_map
                // only once setgroups is denied for good: otherwise the
                // process could drop a supplementary group that is there to
                // deny it access (CVE-2014-8989).
                let path = format!("/proc/{pid}/setgroups");
                std::fs::write(&path, "deny")
                    .map_err(|e| Error::from(e).context(format!("write \"deny\" to {path}")))?;
            }
            write(pid, "gid_map", gid)
        }
        Writer::Helper(h) => run_helper(h, pid, gid, "linux.gidMappings"),
    }
}

pub fn write(pid: i32, file: &str, maps: &[IdMapping]) -> Result<()> {
    let path = format!("/proc/{pid}/{file}");
    let text = format(maps);
    std::fs::write(&path, &text)
        .map_err(|e| Error::from(e).context(format!("write {:?} to {path}", text.trim_end())))
}

fn helper_args(maps: &[IdMapping]) -> Vec<String> {
    maps.iter()
        .flat_map(|m| [m.container_id, m.host_id, m.size])
        .map(|n| n.to_string())
        .collect()
}

fn run_helper(helper: &str, pid: i32, maps: &[IdMapping], field: &str) -> Result<()> {
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    let Ok(bin) = crate::linux::exec::find(helper, &path) else {
        return Err(Error::msg(format!(
            "{field} {:?}: mapping ids other than your own needs {helper} (Debian package uidmap), and it is not in PATH ({path})",
            format(maps).trim_end(),
        )));
    };
    let args = helper_args(maps);
    let shown = format!("{bin} {pid} {}", args.join(" "));
    let out = std::process::Command::new(&bin)
        .arg(pid.to_string())
        .args(&args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::from(e).context(format!("{field}: run {shown}")))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        return Err(Error::msg(format!(
            "{field}: {shown} failed ({}): {}",
            out.status,
            said.trim()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(c: u32, h: u32, s: u32) -> IdMapping {
        IdMapping {
            container_id: c,
            host_id: h,
            size: s,
        }
    }

    #[test]
    fn lines() {
        let maps = [m(0, 1000, 1), m(1, 100000, 65536)];
        assert_eq!(format(&maps), "0 1000 1\n1 100000 65536\n");
        assert_eq!(
            helper_args(&maps),
            ["0", "1000", "1", "1", "100000", "65536"]
        );
    }

    #[test]
    fn only_ones_own_single_id_is_written_directly() {
        assert_eq!(writer(&[m(0, 1000, 1)], false, 1000, "h"), Writer::Direct);
        assert_eq!(
            writer(&[m(0, 1001, 1)], false, 1000, "h"),
            Writer::Helper("h")
        );
        assert_eq!(
            writer(&[m(0, 1000, 2)], false, 1000, "h"),
            Writer::Helper("h")
        );
        let two = [m(0, 1000, 1), m(1, 100000, 65536)];
        assert_eq!(writer(&two, false, 1000, "h"), Writer::Helper("h"));
        assert_eq!(writer(&two, true, 0, "h"), Writer::Direct);
    }
}
