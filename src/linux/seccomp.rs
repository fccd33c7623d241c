//! linux.seccomp: an OCI seccomp profile compiled with libseccomp and
//! loaded into the process. libseccomp, not a pure-Rust filter builder,
//! because OCI profiles need per-rule actions, several architectures,
//! argument comparisons and NOTIFY with a listener fd.
//!
//! libseccomp is opened with dlopen (see linux/libseccomp.rs), by
//! [`Seccomp::validate`], which create runs in husk before it clones, and
//! by `husk exec` before it clones; [`Seccomp::build`] only uses a library
//! already open, since it runs inside the container's root.

use serde::{Deserialize, Serialize};

use crate::bail;
use crate::error::{Error, Result};
use crate::linux::libseccomp::{self as lib, ArgCmp, Compare, Filter};
use crate::spec::config::nullable;

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Seccomp {
    pub default_action: String,
    pub default_errno_ret: Option<u32>,
    #[serde(default, deserialize_with = "nullable")]
    pub architectures: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub flags: Vec<String>,
    pub listener_path: Option<String>,
    pub listener_metadata: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub syscalls: Vec<SyscallRule>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SyscallRule {
    #[serde(default, deserialize_with = "nullable")]
    pub names: Vec<String>,
    pub action: String,
    pub errno_ret: Option<u32>,
    #[serde(default, deserialize_with = "nullable")]
    pub args: Vec<ArgRule>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ArgRule {
    pub index: u32,
    pub value: u64,
    #[serde(default)]
    pub value_two: u64,
    pub op: String,
}

/// EPERM: what runc returns for SCMP_ACT_ERRNO without an errnoRet.
const DEFAULT_ERRNO: u32 = libc::EPERM as u32;

/// The largest errnoRet libseccomp takes: it refuses the kernel's
/// MAX_ERRNO (4095) and above (the kernel would clamp those anyway).
const MAX_ERRNO: u32 = 4094;

/// An action's SCMP_ACT_* value. `field` names the action's field, for
/// the errnoRet field that goes with it.
pub fn action(name: &str, errno_ret: Option<u32>, field: &str) -> Result<u32> {
    let errno = errno_ret.unwrap_or(DEFAULT_ERRNO);
    // The filter keeps 16 bits of errnoRet: a larger number would quietly
    // become another one.
    let errno_field = || match field.strip_suffix(".action") {
        Some(rule) => format!("{rule}.errnoRet"),
        None => "linux.seccomp.defaultErrnoRet".to_string(),
    };
    Ok(match name {
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => lib::ACT_KILL_THREAD,
        "SCMP_ACT_KILL_PROCESS" => lib::ACT_KILL_PROCESS,
        "SCMP_ACT_TRAP" => lib::ACT_TRAP,
        "SCMP_ACT_ERRNO" if errno > MAX_ERRNO => {
            bail!(
                "{}: {errno} is not an errno (0..{MAX_ERRNO})",
                errno_field()
            )
        }
        // Fits: at most MAX_ERRNO.
        "SCMP_ACT_ERRNO" => lib::act_errno(errno as u16),
        "SCMP_ACT_TRACE" => lib::act_trace(u16::try_from(errno).map_err(|_| {
            Error::msg(format!(
                "{}: {errno} does not fit SCMP_ACT_TRACE's 16 bits",
                errno_field()
            ))
        })?),
        "SCMP_ACT_ALLOW" => lib::ACT_ALLOW,
        "SCMP_ACT_LOG" => lib::ACT_LOG,
        "SCMP_ACT_NOTIFY" => lib::ACT_NOTIFY,
        a => bail!("{field}: unknown seccomp action {a:?}"),
    })
}

pub fn compare(a: &ArgRule, field: &str) -> Result<ArgCmp> {
    // Checked before the op: SCMP_CMP_MASKED_EQ returns early below.
    if a.index > 5 {
        bail!(
            "{field}.index: {} is not a syscall argument (0..5)",
            a.index
        );
    }
    let op = match a.op.as_str() {
        "SCMP_CMP_NE" => Compare::Ne,
        "SCMP_CMP_LT" => Compare::Lt,
        "SCMP_CMP_LE" => Compare::Le,
        "SCMP_CMP_EQ" => Compare::Eq,
        "SCMP_CMP_GE" => Compare::Ge,
        "SCMP_CMP_GT" => Compare::Gt,
        // OCI puts the mask in `value` and the expected value in
        // `valueTwo`; libseccomp wants the mask first too.
        "SCMP_CMP_MASKED_EQ" => {
            return Ok(ArgCmp {
                arg: a.index,
                op: Compare::MaskedEq,
                datum_a: a.value,
                datum_b: a.value_two,
            });
        }
        o => bail!("{field}.op: unknown comparison {o:?}"),
    };
    Ok(ArgCmp {
        arg: a.index,
        op,
        datum_a: a.value,
        datum_b: 0,
    })
}

/// Open libseccomp.so.2 for a config with `linux.seccomp`, in husk, before
/// it clones: see linux/libseccomp.rs for why not later.
pub fn load_library() -> Result<&'static lib::Lib> {
    lib::load().map_err(|e| Error::msg(format!("linux.seccomp: {e}")))
}

pub const FLAGS: [&str; 4] = [
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

pub const ACTIONS: [&str; 9] = [
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
];

pub const OPERATORS: [&str; 7] = [
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
];

pub const ARCHES: [&str; 11] = [
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_LOONGARCH64",
];

impl Seccomp {
    /// Whether any rule (or the default) hands syscalls to a listener.
    pub fn uses_notify(&self) -> bool {
        self.default_action == "SCMP_ACT_NOTIFY"
            || self.syscalls.iter().any(|s| s.action == "SCMP_ACT_NOTIFY")
    }

    /// Check everything without building a filter: names, ops, flags.
    /// Opens libseccomp first, so that a host without it fails here, before
    /// any kernel object is made, and so that the library is open before
    /// husk clones the container's init.
    pub fn validate(&self) -> Result<()> {
        let lib = load_library()?;
        action(
            &self.default_action,
            self.default_errno_ret,
            "linux.seccomp.defaultAction",
        )?;
        // libseccomp filters only the architectures it was built for (2.5
        // has no LoongArch): try each on a scratch filter here, so that one
        // it lacks fails now, before any namespace or cgroup exists, and
        // not in the container's init.
        if !self.architectures.is_empty() {
            let mut scratch = lib::Filter::new(lib, lib::ACT_ALLOW)?;
            for a in &self.architectures {
                try_arch(lib, &mut scratch, a)?;
            }
        }
        for f in &self.flags {
            if !FLAGS.contains(&f.as_str()) {
                bail!("linux.seccomp.flags: unknown flag {f:?}");
            }
            if !flags_of(lib).contains(&f.as_str()) {
                bail!(
                    "linux.seccomp.flags: {f} needs libseccomp 2.6 (this is {})",
                    version_of(lib)
                );
            }
        }
        for (i, s) in self.syscalls.iter().enumerate() {
            action(
                &s.action,
                s.errno_ret,
                &format!("linux.seccomp.syscalls[{i}].action"),
            )?;
            for (j, a) in s.args.iter().enumerate() {
                compare(a, &format!("linux.seccomp.syscalls[{i}].args[{j}]"))?;
            }
        }
        if self.uses_notify() && self.listener_path.as_deref().is_none_or(str::is_empty) {
            bail!("linux.seccomp: SCMP_ACT_NOTIFY needs a listenerPath");
        }
        Ok(())
    }

    /// Compile the profile into a libseccomp filter. Never opens the
    /// library: this runs in the container's init after pivot_root (and in
    /// `husk exec`'s child inside the container's mount namespace), where
    /// `libseccomp.so.2` would be the container's file. [`validate`] (or
    /// [`load_library`]) must have opened it, before the clone.
    ///
    /// [`validate`]: Seccomp::validate
    pub fn build(&self) -> Result<Filter> {
        self.build_with(lib::loaded())
    }

    fn build_with(&self, lib: Option<&'static lib::Lib>) -> Result<Filter> {
        let lib = lib.ok_or_else(|| {
            Error::msg(
                "seccomp: libseccomp.so.2 was not opened before husk cloned; \
                 it is never opened inside the container, where the path is the container's",
            )
        })?;
        let err = |what: &str, e: Error| e.context(format!("seccomp: {what}"));
        let default = action(
            &self.default_action,
            self.default_errno_ret,
            "linux.seccomp.defaultAction",
        )?;
        let mut ctx = Filter::new(lib, default).map_err(|e| e.context("seccomp"))?;
        // husk sets no_new_privs itself, when the config asks for it.
        ctx.set_attr(lib::Attr::Nnp, 0)
            .map_err(|e| err("disable NNP control", e))?;
        for a in &self.architectures {
            let token = lib::arch_token(a)
                .ok_or_else(|| Error::msg(format!("seccomp: unknown architecture {a}")))?;
            ctx.add_arch(token)
                .map_err(|e| err(&format!("add architecture {a}"), e))?;
        }
        for f in &self.flags {
            let attr = match f.as_str() {
                "SECCOMP_FILTER_FLAG_TSYNC" => lib::Attr::Tsync,
                "SECCOMP_FILTER_FLAG_LOG" => lib::Attr::Log,
                "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => lib::Attr::Ssb,
                "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" => lib::Attr::Waitkill,
                _ => continue,
            };
            ctx.set_attr(attr, 1).map_err(|e| {
                err(
                    &format!("set flag {f} (this kernel or libseccomp may lack it)"),
                    e,
                )
            })?;
        }
        for (i, s) in self.syscalls.iter().enumerate() {
            let field = format!("linux.seccomp.syscalls[{i}]");
            let act = action(&s.action, s.errno_ret, &format!("{field}.action"))?;
            // libseccomp refuses a rule whose action is the default; it
            // would change nothing anyway.
            if act == default {
                continue;
            }
            let conds: Vec<ArgCmp> = s
                .args
                .iter()
                .enumerate()
                .map(|(j, a)| compare(a, &format!("{field}.args[{j}]")))
                .collect::<Result<_>>()?;
            let mut indexes: Vec<u32> = s.args.iter().map(|a| a.index).collect();
            indexes.sort_unstable();
            indexes.dedup();
            // Two conditions on one argument cannot share a rule (it would
            // mean AND); as runc does, they become one rule each (OR).
            let groups: Vec<&[ArgCmp]> = if indexes.len() == conds.len() {
                vec![conds.as_slice()]
            } else {
                conds.iter().map(std::slice::from_ref).collect()
            };
            for name in &s.names {
                // Names the running kernel and libseccomp do not know are
                // skipped, as runc does: profiles list syscalls for many
                // kernels at once.
                let Some(nr) = lib.syscall(name) else {
                    tracing::debug!("seccomp: skipping unknown syscall {name}");
                    continue;
                };
                for g in &groups {
                    ctx.add_rule(act, nr, g)
                        .map_err(|e| err(&format!("{field}: add rule for {name}"), e))?;
                }
            }
        }
        Ok(ctx)
    }
}

/// The flags this libseccomp can set (WAIT_KILLABLE_RECV needs 2.6). None
/// when the library cannot be opened: then no profile can be loaded.
/// The architectures of [`ARCHES`] this libseccomp can filter (2.5 has no
/// LoongArch), tried on a scratch filter; none without the library.
pub fn supported_archs() -> Vec<&'static str> {
    let Ok(lib) = lib::load() else {
        return vec![];
    };
    let Ok(mut scratch) = lib::Filter::new(lib, lib::ACT_ALLOW) else {
        return vec![];
    };
    ARCHES
        .iter()
        .copied()
        .filter(|a| try_arch(lib, &mut scratch, a).is_ok())
        .collect()
}

/// Add architecture `a` to `scratch`: can this libseccomp filter it next
/// to the host's own? The error names the field and why not.
fn try_arch(lib: &'static lib::Lib, scratch: &mut lib::Filter, a: &str) -> Result<()> {
    let Some(token) = lib::arch_token(a) else {
        bail!("linux.seccomp.architectures: unknown architecture {a:?}");
    };
    scratch.add_arch(token).map_err(|e| {
        // EDOM: libseccomp keeps one byte order per filter, the host's
        // (big-endian s390x or mips next to x86_64).
        let why = if e.errno() == Some(nix::errno::Errno::EDOM) {
            "its byte order is not this host's, and one filter cannot mix them".to_string()
        } else {
            format!("libseccomp {} cannot filter it", version_of(lib))
        };
        e.context(format!("linux.seccomp.architectures: {a}: {why}"))
    })
}

pub fn supported_flags() -> Vec<&'static str> {
    lib::load().map(flags_of).unwrap_or_default()
}

fn flags_of(lib: &lib::Lib) -> Vec<&'static str> {
    let new_enough = lib.version().is_some_and(|(a, b, _)| (a, b) >= (2, 6));
    FLAGS
        .iter()
        .copied()
        .filter(|f| *f != "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" || new_enough)
        .collect()
}

fn version_of(lib: &lib::Lib) -> String {
    lib.version()
        .map(|(a, b, c)| format!("{a}.{b}.{c}"))
        .unwrap_or_else(|| "unknown".into())
}

/// "2.5.4", or why there is none: for `husk --version` and `features`.
pub fn libseccomp_version() -> String {
    match lib::load() {
        Ok(l) => version_of(l),
        Err(e) => format!("unavailable ({e})"),
    }
}

/// Why libseccomp cannot be opened, if it cannot.
pub fn load_error() -> Option<&'static str> {
    lib::load().err()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(json: &str) -> Seccomp {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn builds_a_typical_profile() {
        let p = profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],
                "syscalls":[{"names":["mkdir","mkdirat","no_such_syscall_husk"],"action":"SCMP_ACT_ERRNO","errnoRet":1},
                            {"names":["personality"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
                            {"names":["clone"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":2080505856,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}]},
                            {"names":["getpid"],"action":"SCMP_ACT_ALLOW"}]}"#,
        );
        p.validate().unwrap();
        p.build().unwrap();
    }

    #[test]
    fn repeated_argument_index_becomes_separate_rules() {
        let p = profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["personality"],"action":"SCMP_ACT_ERRNO",
                "args":[{"index":0,"value":0,"op":"SCMP_CMP_EQ"},{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]}]}"#,
        );
        p.validate().unwrap();
        p.build().unwrap();
    }

    /// The filter is built inside the container: it must never be the
    /// one to open the library (see linux/libseccomp.rs).
    #[test]
    fn build_refuses_a_library_not_opened_before() {
        let p = profile(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#);
        let Err(e) = p.build_with(None) else {
            panic!("built without an open library");
        };
        assert!(
            e.to_string()
                .contains("libseccomp.so.2 was not opened before husk cloned"),
            "{e}"
        );
    }

    #[test]
    fn errno_ret_must_fit() {
        let e = profile(r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":4096}"#)
            .validate()
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("linux.seccomp.defaultErrnoRet: 4096"),
            "{e}"
        );
        let e = profile(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_TRACE","errnoRet":65536}]}"#)
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("syscalls[0].errnoRet: 65536"), "{e}");
        let e = profile(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":6,"value":1,"op":"SCMP_CMP_MASKED_EQ"}]}]}"#)
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("args[0].index: 6"), "{e}");
    }

    #[test]
    fn validation_names_the_field() {
        let e = profile(r#"{"defaultAction":"SCMP_ACT_NOPE"}"#)
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("linux.seccomp.defaultAction"), "{e}");
        let e = profile(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["x"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_SIDEWAYS"}]}]}"#)
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("syscalls[0].args[0].op"), "{e}");
        let e = profile(r#"{"defaultAction":"SCMP_ACT_NOTIFY"}"#)
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("listenerPath"), "{e}");
        let e = profile(r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_VAX"]}"#)
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("architectures"), "{e}");
    }

    /// Every architecture husk names is either one this libseccomp can
    /// filter (and then the profile builds) or refused by validation,
    /// naming it: never accepted up front and refused in the init.
    #[test]
    fn validation_refuses_the_architectures_this_libseccomp_lacks() {
        let mut refused = Vec::new();
        for a in ARCHES {
            let p = profile(&format!(
                r#"{{"defaultAction":"SCMP_ACT_ALLOW","architectures":["{a}"]}}"#
            ));
            match p.validate() {
                Ok(()) => {
                    p.build().unwrap();
                }
                Err(e) => {
                    let e = e.to_string();
                    assert!(
                        e.contains(a)
                            && (e.contains("cannot filter it") || e.contains("byte order")),
                        "{e}"
                    );
                    refused.push(a);
                }
            }
        }
        // `husk features` lists exactly the ones validation accepts.
        let listed = supported_archs();
        for a in ARCHES {
            assert_eq!(listed.contains(&a), !refused.contains(&a), "{a}");
        }
        #[cfg(target_arch = "x86_64")]
        for a in ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"] {
            assert!(listed.contains(&a), "{a} refused on x86_64");
        }
    }
}
