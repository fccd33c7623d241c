//! Parsing a config mount's `options` into mount(2) flags, propagation
//! changes, recursive attributes for mount_setattr(2), and filesystem data.

use libc::c_ulong;

use crate::error::{Error, Result};

pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;
pub const MOUNT_ATTR_ATIME_MASK: u64 = 0x70;
pub const MOUNT_ATTR_NOATIME: u64 = 0x10;
pub const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
pub const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
pub const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x200000;
pub const MS_NOSYMFOLLOW: c_ulong = 256;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// Flags for the mount(2) call itself.
    pub flags: c_ulong,
    /// Propagation changes, applied in order after the mount.
    pub propagation: Vec<c_ulong>,
    /// Recursive attributes (`rro`, `rnosuid`, …) for mount_setattr.
    pub attr_set: u64,
    pub attr_clr: u64,
    /// Everything else is filesystem data (`mode=755`, `size=64k`, …).
    pub data: Vec<String>,
    /// runc's `tmpcopyup`: fill a new tmpfs with what was under it.
    pub tmpcopyup: bool,
}

impl MountOptions {
    pub fn is_bind(&self) -> bool {
        self.flags & libc::MS_BIND != 0
    }
    pub fn data_string(&self) -> String {
        self.data.join(",")
    }
    pub fn has_recursive_attrs(&self) -> bool {
        self.attr_set != 0 || self.attr_clr != 0
    }
}

#[derive(Clone, Copy)]
enum Opt {
    Set(c_ulong),
    Clear(c_ulong),
    Propagation(c_ulong),
    AttrSet(u64),
    AttrClear(u64),
    /// Atime is a field, not a bit: the kernel wants the whole mask cleared.
    AttrAtime(u64),
    Ignore,
}

const TABLE: &[(&str, Opt)] = &[
    ("defaults", Opt::Ignore),
    ("ro", Opt::Set(libc::MS_RDONLY)),
    ("rw", Opt::Clear(libc::MS_RDONLY)),
    ("nosuid", Opt::Set(libc::MS_NOSUID)),
    ("suid", Opt::Clear(libc::MS_NOSUID)),
    ("nodev", Opt::Set(libc::MS_NODEV)),
    ("dev", Opt::Clear(libc::MS_NODEV)),
    ("noexec", Opt::Set(libc::MS_NOEXEC)),
    ("exec", Opt::Clear(libc::MS_NOEXEC)),
    ("sync", Opt::Set(libc::MS_SYNCHRONOUS)),
    ("async", Opt::Clear(libc::MS_SYNCHRONOUS)),
    ("dirsync", Opt::Set(libc::MS_DIRSYNC)),
    ("remount", Opt::Set(libc::MS_REMOUNT)),
    ("mand", Opt::Set(libc::MS_MANDLOCK)),
    ("nomand", Opt::Clear(libc::MS_MANDLOCK)),
    ("atime", Opt::Clear(libc::MS_NOATIME)),
    ("noatime", Opt::Set(libc::MS_NOATIME)),
    ("diratime", Opt::Clear(libc::MS_NODIRATIME)),
    ("nodiratime", Opt::Set(libc::MS_NODIRATIME)),
    ("relatime", Opt::Set(libc::MS_RELATIME)),
    ("norelatime", Opt::Clear(libc::MS_RELATIME)),
    ("strictatime", Opt::Set(libc::MS_STRICTATIME)),
    ("nostrictatime", Opt::Clear(libc::MS_STRICTATIME)),
    ("lazytime", Opt::Set(libc::MS_LAZYTIME)),
    ("nolazytime", Opt::Clear(libc::MS_LAZYTIME)),
    ("silent", Opt::Set(libc::MS_SILENT)),
    ("loud", Opt::Clear(libc::MS_SILENT)),
    ("iversion", Opt::Set(libc::MS_I_VERSION)),
    ("noiversion", Opt::Clear(libc::MS_I_VERSION)),
    ("nosymfollow", Opt::Set(MS_NOSYMFOLLOW)),
    ("symfollow", Opt::Clear(MS_NOSYMFOLLOW)),
    ("bind", Opt::Set(libc::MS_BIND)),
    ("rbind", Opt::Set(libc::MS_BIND | libc::MS_REC)),
    ("private", Opt::Propagation(libc::MS_PRIVATE)),
    (
        "rprivate",
        Opt::Propagation(libc::MS_PRIVATE | libc::MS_REC),
    ),
    ("shared", Opt::Propagation(libc::MS_SHARED)),
    ("rshared", Opt::Propagation(libc::MS_SHARED | libc::MS_REC)),
    ("slave", Opt::Propagation(libc::MS_SLAVE)),
    ("rslave", Opt::Propagation(libc::MS_SLAVE | libc::MS_REC)),
    ("unbindable", Opt::Propagation(libc::MS_UNBINDABLE)),
    (
        "runbindable",
        Opt::Propagation(libc::MS_UNBINDABLE | libc::MS_REC),
    ),
    ("rro", Opt::AttrSet(MOUNT_ATTR_RDONLY)),
    ("rrw", Opt::AttrClear(MOUNT_ATTR_RDONLY)),
    ("rnosuid", Opt::AttrSet(MOUNT_ATTR_NOSUID)),
    ("rsuid", Opt::AttrClear(MOUNT_ATTR_NOSUID)),
    ("rnodev", Opt::AttrSet(MOUNT_ATTR_NODEV)),
    ("rdev", Opt::AttrClear(MOUNT_ATTR_NODEV)),
    ("rnoexec", Opt::AttrSet(MOUNT_ATTR_NOEXEC)),
    ("rexec", Opt::AttrClear(MOUNT_ATTR_NOEXEC)),
    ("rnodiratime", Opt::AttrSet(MOUNT_ATTR_NODIRATIME)),
    ("rdiratime", Opt::AttrClear(MOUNT_ATTR_NODIRATIME)),
    ("rnosymfollow", Opt::AttrSet(MOUNT_ATTR_NOSYMFOLLOW)),
    ("rsymfollow", Opt::AttrClear(MOUNT_ATTR_NOSYMFOLLOW)),
    ("rnoatime", Opt::AttrAtime(MOUNT_ATTR_NOATIME)),
    ("rstrictatime", Opt::AttrAtime(MOUNT_ATTR_STRICTATIME)),
    ("rrelatime", Opt::AttrAtime(0)),
    ("ratime", Opt::AttrAtime(0)),
    ("rnorelatime", Opt::AttrAtime(0)),
    ("rnostrictatime", Opt::AttrAtime(0)),
];

fn lookup(name: &str) -> Option<Opt> {
    TABLE.iter().find(|(n, _)| *n == name).map(|(_, o)| *o)
}

/// Every option name husk understands (for `husk features`).
pub fn known_names() -> Vec<&'static str> {
    TABLE.iter().map(|(n, _)| *n).collect()
}

/// Options husk knows and refuses, rather than passing them to the
/// filesystem as data where they would fail obscurely or do nothing.
const UNSUPPORTED: &[&str] = &["idmap", "ridmap"];

pub fn parse(options: &[String]) -> Result<MountOptions> {
    let mut o = MountOptions::default();
    for opt in options {
        // The kernel takes flags and data as C strings.
        if opt.contains('\0') {
            return Err(Error::msg(format!(
                "mount option {opt:?} contains a NUL byte"
            )));
        }
        if opt == "tmpcopyup" {
            o.tmpcopyup = true;
            continue;
        }
        if UNSUPPORTED.contains(&opt.as_str()) {
            return Err(Error::msg(format!(
                "mount option {opt:?} is not supported by husk yet"
            )));
        }
        match lookup(opt) {
            Some(Opt::Set(f)) => o.flags |= f,
            Some(Opt::Clear(f)) => o.flags &= !f,
            Some(Opt::Propagation(f)) => o.propagation.push(f),
            Some(Opt::AttrSet(a)) => {
                o.attr_set |= a;
                o.attr_clr &= !a;
            }
            Some(Opt::AttrClear(a)) => {
                o.attr_clr |= a;
                o.attr_set &= !a;
            }
            Some(Opt::AttrAtime(a)) => {
                o.attr_set = (o.attr_set & !MOUNT_ATTR_ATIME_MASK) | a;
                o.attr_clr |= MOUNT_ATTR_ATIME_MASK;
            }
            Some(Opt::Ignore) => {}
            None => o.data.push(opt.clone()),
        }
    }
    Ok(o)
}

/// Flags worth naming in logs and --explain ("ro,nosuid,nodev").
pub fn flag_names(flags: c_ulong) -> String {
    const NAMES: &[(c_ulong, &str)] = &[
        (libc::MS_RDONLY, "ro"),
        (libc::MS_NOSUID, "nosuid"),
        (libc::MS_NODEV, "nodev"),
        (libc::MS_NOEXEC, "noexec"),
        (libc::MS_BIND, "bind"),
        (libc::MS_REC, "rec"),
        (libc::MS_REMOUNT, "remount"),
        (libc::MS_NOATIME, "noatime"),
        (libc::MS_RELATIME, "relatime"),
        (libc::MS_STRICTATIME, "strictatime"),
        (libc::MS_PRIVATE, "private"),
        (libc::MS_SLAVE, "slave"),
        (libc::MS_SHARED, "shared"),
        (libc::MS_UNBINDABLE, "unbindable"),
        (libc::MS_MOVE, "move"),
    ];
    let v: Vec<&str> = NAMES
        .iter()
        .filter(|(f, _)| flags & f != 0)
        .map(|(_, n)| *n)
        .collect();
    if v.is_empty() {
        "0".into()
    } else {
        v.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(opts: &[&str]) -> MountOptions {
        parse(&opts.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn flags_and_data_are_separated() {
        let o = p(&["nosuid", "strictatime", "mode=755", "size=65536k"]);
        assert_eq!(o.flags, libc::MS_NOSUID | libc::MS_STRICTATIME);
        assert_eq!(o.data_string(), "mode=755,size=65536k");
    }

    #[test]
    fn later_options_override_earlier() {
        let o = p(&["ro", "rw"]);
        assert_eq!(o.flags & libc::MS_RDONLY, 0);
        let o = p(&["rro", "rrw"]);
        assert_eq!(o.attr_set & MOUNT_ATTR_RDONLY, 0);
        assert_ne!(o.attr_clr & MOUNT_ATTR_RDONLY, 0);
    }

    #[test]
    fn bind_and_rbind() {
        assert!(p(&["bind"]).is_bind());
        assert_eq!(p(&["bind"]).flags & libc::MS_REC, 0);
        assert_eq!(
            p(&["rbind", "ro"]).flags,
            libc::MS_BIND | libc::MS_REC | libc::MS_RDONLY
        );
    }

    #[test]
    fn propagation_kept_in_order() {
        let o = p(&["rprivate", "shared"]);
        assert_eq!(
            o.propagation,
            vec![libc::MS_PRIVATE | libc::MS_REC, libc::MS_SHARED]
        );
    }

    #[test]
    fn recursive_atime_clears_the_whole_field() {
        let o = p(&["rnoatime"]);
        assert_eq!(o.attr_set, MOUNT_ATTR_NOATIME);
        assert_eq!(o.attr_clr, MOUNT_ATTR_ATIME_MASK);
    }

    #[test]
    fn nul_bytes_are_refused() {
        let e = parse(&["size=1\0mode=0".to_string()]).unwrap_err();
        assert!(e.to_string().contains("NUL"), "{e}");
    }

    #[test]
    fn unsupported_options_are_named() {
        let e = parse(&["idmap".to_string()]).unwrap_err();
        assert!(e.to_string().contains("\"idmap\""));
    }
}
