//! Named steps. Each kernel-facing stage of create is one call to [`step`]:
//! a `tracing` span with a stable name (for logs, timings and --explain)
//! and an error that says which step failed.
//!
//! `HUSK_STOP_AT=NAME` (or `NAME#N`, its Nth occurrence) makes the process
//! that reaches that step wait just before it, until it gets SIGCONT: husk
//! itself for its own steps, the container's init for the init's. A
//! learner can then look at the half-made container (its cgroup, mounts,
//! namespaces) and `kill -CONT` it to go on; the crash-safety tests kill
//! husk there, deterministically, at every step in turn. It logs a warning
//! ("waits before step NAME") as it starts to wait.

use std::fmt::Display;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::Result;

/// Run `f` as the step `name`. `what` says what it acts on, for a reader:
/// the syscall and its key arguments ("pivot_root(/b/rootfs)").
pub fn step<T>(name: &'static str, what: impl Display, f: impl FnOnce() -> Result<T>) -> Result<T> {
    stop_if_asked(name);
    let span = tracing::debug_span!("step", step = name, what = %what);
    let _enter = span.enter();
    f().map_err(|e| e.context(format_args!("step {name:?} ({what})")))
}

static STOP_AT: OnceLock<Option<(String, u32)>> = OnceLock::new();
static SEEN: AtomicU32 = AtomicU32::new(0);

/// Parse `NAME` or `NAME#N` (N from 1).
fn parse_stop_at(v: &str) -> Option<(String, u32)> {
    match v.rsplit_once('#') {
        Some((name, n)) => Some((name.to_string(), n.parse().ok().filter(|n| *n > 0)?)),
        None if !v.is_empty() => Some((v.to_string(), 1)),
        None => None,
    }
}

/// Stop here if HUSK_STOP_AT names this step. The variable is read once
/// (husk's first step, before any clone, so the init has the copy too);
/// later it costs a load and a compare.
pub fn stop_if_asked(name: &str) {
    let at = STOP_AT.get_or_init(|| {
        std::env::var("HUSK_STOP_AT")
            .ok()
            .and_then(|v| parse_stop_at(&v))
    });
    let Some((want, nth)) = at else {
        return;
    };
    if want != name || SEEN.fetch_add(1, Ordering::Relaxed) + 1 != *nth {
        return;
    }
    let pid = std::process::id();
    let whose = if pid == 1 {
        " in the container's pid namespace"
    } else {
        ""
    };
    tracing::warn!(
        "pid {pid}{whose} waits before step {name}, as HUSK_STOP_AT asks; `kill -CONT` it to go on"
    );
    wait_for_sigcont();
}

/// Not SIGSTOP: the init of a pid namespace ignores every signal it has no
/// handler for, its own SIGSTOP and the host's SIGCONT included. A blocked
/// signal is never ignored (the kernel's sig_ignored()), so block SIGCONT
/// and wait for it.
fn wait_for_sigcont() {
    // SAFETY: sigset_t is plain data, initialised by sigemptyset; the
    // calls only read and write these two sets.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCONT);
        libc::sigprocmask(libc::SIG_BLOCK, &set, &mut old);
        while libc::sigwaitinfo(&set, std::ptr::null_mut()) < 0 {}
        libc::sigprocmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_at_syntax() {
        assert_eq!(parse_stop_at("mount"), Some(("mount".into(), 1)));
        assert_eq!(parse_stop_at("mount#3"), Some(("mount".into(), 3)));
        assert_eq!(parse_stop_at("mount#0"), None);
        assert_eq!(parse_stop_at("mount#x"), None);
        assert_eq!(parse_stop_at(""), None);
    }
}
