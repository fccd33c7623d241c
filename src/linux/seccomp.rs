//! linux.seccomp: an OCI seccomp profile compiled with libseccomp and
//! loaded into the process. libseccomp, not a pure-Rust filter builder,
//! because OCI profiles need per-rule actions, several architectures,
//! argument comparisons and NOTIFY with a listener fd.

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use serde::{Deserialize, Serialize};

use crate::bail;
use crate::error::{Error, Result};
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

/// `errno_field` names the errnoRet field that goes with `field`'s action.
pub fn action(name: &str, errno_ret: Option<u32>, field: &str) -> Result<ScmpAction> {
    let errno = errno_ret.unwrap_or(DEFAULT_ERRNO);
    // The filter keeps 16 bits of errnoRet: a larger number would quietly
    // become another one.
    let errno_field = || match field.strip_suffix(".action") {
        Some(rule) => format!("{rule}.errnoRet"),
        None => "linux.seccomp.defaultErrnoRet".to_string(),
    };
    Ok(match name {
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => ScmpAction::KillThread,
        "SCMP_ACT_KILL_PROCESS" => ScmpAction::KillProcess,
        "SCMP_ACT_TRAP" => ScmpAction::Trap,
        "SCMP_ACT_ERRNO" if errno > MAX_ERRNO => {
            bail!(
                "{}: {errno} is not an errno (0..{MAX_ERRNO})",
                errno_field()
            )
        }
        "SCMP_ACT_ERRNO" => ScmpAction::Errno(errno as i32),
        "SCMP_ACT_TRACE" => ScmpAction::Trace(u16::try_from(errno).map_err(|_| {
            Error::msg(format!(
                "{}: {errno} does not fit SCMP_ACT_TRACE's 16 bits",
                errno_field()
            ))
        })?),
        "SCMP_ACT_ALLOW" => ScmpAction::Allow,
        "SCMP_ACT_LOG" => ScmpAction::Log,
        "SCMP_ACT_NOTIFY" => ScmpAction::Notify,
        a => bail!("{field}: unknown seccomp action {a:?}"),
    })
}

pub fn compare(a: &ArgRule, field: &str) -> Result<ScmpArgCompare> {
    // Checked before the op: SCMP_CMP_MASKED_EQ returns early below.
    if a.index > 5 {
        bail!(
            "{field}.index: {} is not a syscall argument (0..5)",
            a.index
        );
    }
    let op = match a.op.as_str() {
        "SCMP_CMP_NE" => ScmpCompareOp::NotEqual,
        "SCMP_CMP_LT" => ScmpCompareOp::Less,
        "SCMP_CMP_LE" => ScmpCompareOp::LessOrEqual,
        "SCMP_CMP_EQ" => ScmpCompareOp::Equal,
        "SCMP_CMP_GE" => ScmpCompareOp::GreaterEqual,
        "SCMP_CMP_GT" => ScmpCompareOp::Greater,
        // OCI puts the mask in `value` and the expected value in `valueTwo`.
        "SCMP_CMP_MASKED_EQ" => {
            return Ok(ScmpArgCompare::new(
                a.index,
                ScmpCompareOp::MaskedEqual(a.value),
                a.value_two,
            ));
        }
        o => bail!("{field}.op: unknown comparison {o:?}"),
    };
    Ok(ScmpArgCompare::new(a.index, op, a.value))
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
    pub fn validate(&self) -> Result<()> {
        action(
            &self.default_action,
            self.default_errno_ret,
            "linux.seccomp.defaultAction",
        )?;
        for a in &self.architectures {
            a.parse::<ScmpArch>().map_err(|_| {
                Error::msg(format!(
                    "linux.seccomp.architectures: unknown architecture {a:?}"
                ))
            })?;
        }
        for f in &self.flags {
            if !FLAGS.contains(&f.as_str()) {
                bail!("linux.seccomp.flags: unknown flag {f:?}");
            }
            if !supported_flags().contains(&f.as_str()) {
                bail!(
                    "linux.seccomp.flags: {f} needs libseccomp 2.6 (this is {})",
                    libseccomp_version()
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

    /// Compile the profile into a libseccomp filter.
    pub fn build(&self) -> Result<ScmpFilterContext> {
        let err = |what: &str, e: libseccomp::error::SeccompError| {
            Error::msg(format!("seccomp: {what}: {e}"))
        };
        let default = action(
            &self.default_action,
            self.default_errno_ret,
            "linux.seccomp.defaultAction",
        )?;
        let mut ctx = ScmpFilterContext::new(default).map_err(|e| err("seccomp_init", e))?;
        // husk sets no_new_privs itself, when the config asks for it.
        ctx.set_ctl_nnp(false)
            .map_err(|e| err("disable NNP control", e))?;
        for a in &self.architectures {
            let arch: ScmpArch = a.parse().map_err(|e| err(a, e))?;
            ctx.add_arch(arch)
                .map_err(|e| err(&format!("add architecture {a}"), e))?;
        }
        for f in &self.flags {
            match f.as_str() {
                "SECCOMP_FILTER_FLAG_TSYNC" => ctx.set_ctl_tsync(true).map(drop),
                "SECCOMP_FILTER_FLAG_LOG" => ctx.set_ctl_log(true).map(drop),
                "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => ctx.set_ctl_ssb(true).map(drop),
                "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" => ctx.set_ctl_waitkill(true).map(drop),
                _ => Ok(()),
            }
            .map_err(|e| {
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
            let conds: Vec<ScmpArgCompare> = s
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
            let groups: Vec<Vec<ScmpArgCompare>> = if indexes.len() == conds.len() {
                vec![conds]
            } else {
                conds.into_iter().map(|c| vec![c]).collect()
            };
            for name in &s.names {
                // Names the running kernel and libseccomp do not know are
                // skipped, as runc does: profiles list syscalls for many
                // kernels at once.
                let Ok(sc) = ScmpSyscall::from_name(name) else {
                    tracing::debug!("seccomp: skipping unknown syscall {name}");
                    continue;
                };
                for g in &groups {
                    let r = if g.is_empty() {
                        ctx.add_rule(act, sc)
                    } else {
                        ctx.add_rule_conditional(act, sc, g)
                    };
                    r.map_err(|e| err(&format!("{field}: add rule for {name}"), e))?;
                }
            }
        }
        Ok(ctx)
    }
}

/// The flags this libseccomp can set (WAIT_KILLABLE_RECV needs 2.6).
pub fn supported_flags() -> Vec<&'static str> {
    let v = libseccomp::ScmpVersion::current().ok();
    let new_enough = v.is_some_and(|v| (v.major, v.minor) >= (2, 6));
    FLAGS
        .iter()
        .copied()
        .filter(|f| *f != "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" || new_enough)
        .collect()
}

pub fn libseccomp_version() -> String {
    libseccomp::ScmpVersion::current()
        .map(|v| format!("{}.{}.{}", v.major, v.minor, v.micro))
        .unwrap_or_else(|_| "unknown".into())
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
        p.build().unwrap();
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
}
