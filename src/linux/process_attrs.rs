//! Per-process attributes: scheduler, I/O priority, personality and the
//! OOM score. Each is one syscall or one /proc write.

use nix::errno::Errno;

use crate::bail;
use crate::error::{Error, Result};
use crate::spec::config;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduler {
    pub policy_name: String,
    pub policy: u32,
    pub flags: u64,
    pub nice: i32,
    pub priority: u32,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
}

impl Scheduler {
    pub fn from_spec(s: &config::Scheduler) -> Result<Scheduler> {
        let policy = match s.policy.as_str() {
            "SCHED_OTHER" => 0,
            "SCHED_FIFO" => 1,
            "SCHED_RR" => 2,
            "SCHED_BATCH" => 3,
            "SCHED_ISO" => 4,
            "SCHED_IDLE" => 5,
            "SCHED_DEADLINE" => 6,
            p => bail!("process.scheduler.policy: unknown policy {p:?}"),
        };
        let mut flags = 0u64;
        for f in &s.flags {
            flags |= match f.as_str() {
                "SCHED_FLAG_RESET_ON_FORK" => 0x01,
                "SCHED_FLAG_RECLAIM" => 0x02,
                "SCHED_FLAG_DL_OVERRUN" => 0x04,
                "SCHED_FLAG_KEEP_POLICY" => 0x08,
                "SCHED_FLAG_KEEP_PARAMS" => 0x10,
                "SCHED_FLAG_UTIL_CLAMP_MIN" => 0x20,
                "SCHED_FLAG_UTIL_CLAMP_MAX" => 0x40,
                _ => bail!("process.scheduler.flags: unknown flag {f:?}"),
            };
        }
        if !(-20..=19).contains(&s.nice) {
            bail!("process.scheduler.nice: {} is outside -20..19", s.nice);
        }
        if s.priority < 0 {
            bail!("process.scheduler.priority: {} is negative", s.priority);
        }
        if (policy == 1 || policy == 2) && s.priority == 0 {
            bail!(
                "process.scheduler.priority: {} needs a priority of 1..99",
                s.policy
            );
        }
        Ok(Scheduler {
            policy_name: s.policy.clone(),
            policy,
            flags,
            nice: s.nice,
            priority: s.priority as u32,
            runtime: s.runtime,
            deadline: s.deadline,
            period: s.period,
        })
    }

    pub fn apply(&self) -> Result<()> {
        #[repr(C)]
        struct SchedAttr {
            size: u32,
            policy: u32,
            flags: u64,
            nice: i32,
            priority: u32,
            runtime: u64,
            deadline: u64,
            period: u64,
        }
        let attr = SchedAttr {
            size: std::mem::size_of::<SchedAttr>() as u32,
            policy: self.policy,
            flags: self.flags,
            nice: self.nice,
            priority: self.priority,
            runtime: self.runtime,
            deadline: self.deadline,
            period: self.period,
        };
        // SAFETY: attr is a SCHED_ATTR_SIZE_VER0 struct with its size set;
        // pid 0 is the calling thread.
        let r = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) };
        if r < 0 {
            return Err(Error::sys(
                format!(
                    "sched_setattr(policy={}, nice={}, priority={})",
                    self.policy_name, self.nice, self.priority
                ),
                Errno::last(),
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoPriority {
    pub class_name: String,
    pub class: i32,
    pub priority: i32,
}

impl IoPriority {
    pub fn from_spec(p: &config::IoPriority) -> Result<IoPriority> {
        let class = match p.class.as_str() {
            "IOPRIO_CLASS_RT" => 1,
            "IOPRIO_CLASS_BE" => 2,
            "IOPRIO_CLASS_IDLE" => 3,
            c => bail!("process.ioPriority.class: unknown class {c:?}"),
        };
        if !(0..=7).contains(&p.priority) {
            bail!(
                "process.ioPriority.priority: {} is outside 0..7",
                p.priority
            );
        }
        Ok(IoPriority {
            class_name: p.class.clone(),
            class,
            priority: p.priority,
        })
    }

    pub fn apply(&self) -> Result<()> {
        const IOPRIO_WHO_PROCESS: i32 = 1;
        const IOPRIO_CLASS_SHIFT: i32 = 13;
        let value = (self.class << IOPRIO_CLASS_SHIFT) | self.priority;
        // SAFETY: integer-only syscall on the calling process.
        let r = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) };
        if r < 0 {
            return Err(Error::sys(
                format!("ioprio_set({}, {})", self.class_name, self.priority),
                Errno::last(),
            ));
        }
        Ok(())
    }
}

pub fn personality_from_spec(p: &config::Personality) -> Result<u32> {
    let domain = match p.domain.as_str() {
        "LINUX" => 0x0000,
        "LINUX32" => 0x0008,
        d => bail!("linux.personality.domain: unknown domain {d:?} (LINUX or LINUX32)"),
    };
    if let Some(f) = p.flags.first() {
        bail!("linux.personality.flags: unknown flag {f:?}");
    }
    Ok(domain)
}

pub fn set_personality(persona: u32) -> Result<()> {
    // SAFETY: integer-only syscall.
    let r = unsafe { libc::personality(persona as libc::c_ulong) };
    if r < 0 {
        return Err(Error::sys(
            format!("personality({persona:#x})"),
            Errno::last(),
        ));
    }
    Ok(())
}

/// Written through the host's /proc before pivot_root. Lowering the score
/// below what the process inherited needs CAP_SYS_RESOURCE.
pub fn set_oom_score_adj(v: i32) -> Result<()> {
    std::fs::write("/proc/self/oom_score_adj", v.to_string()).map_err(|e| {
        let hint = if e.raw_os_error() == Some(libc::EACCES) {
            " (lowering it needs CAP_SYS_RESOURCE)"
        } else {
            ""
        };
        Error::from(e).context(format!("write {v} to /proc/self/oom_score_adj{hint}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduler_validation() {
        let mk = |policy: &str, prio: i32| config::Scheduler {
            policy: policy.into(),
            nice: 0,
            priority: prio,
            flags: vec![],
            runtime: 0,
            deadline: 0,
            period: 0,
        };
        assert_eq!(
            Scheduler::from_spec(&mk("SCHED_BATCH", 0)).unwrap().policy,
            3
        );
        assert!(Scheduler::from_spec(&mk("SCHED_FIFO", 0)).is_err());
        assert!(Scheduler::from_spec(&mk("SCHED_WHATEVER", 0)).is_err());
    }

    #[test]
    fn io_priority_validation() {
        let p = |c: &str, n| config::IoPriority {
            class: c.into(),
            priority: n,
        };
        assert_eq!(
            IoPriority::from_spec(&p("IOPRIO_CLASS_IDLE", 0))
                .unwrap()
                .class,
            3
        );
        assert!(IoPriority::from_spec(&p("IOPRIO_CLASS_BE", 8)).is_err());
    }
}
