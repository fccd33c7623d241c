//! Signal names as `kill` accepts them: "TERM", "SIGTERM", "15".

use nix::sys::signal::Signal;

use crate::error::{Error, Result};

/// What every process husk starts for a container (or a hook) needs before
/// its exec: the empty signal mask (husk run blocks the signals it
/// forwards) and SIGPIPE back to default (Rust's runtime ignores it, and an
/// ignored signal survives execve). Async-signal-safe: fine after fork.
pub fn reset_for_exec() {
    // SAFETY: an empty, initialised set and plain signal calls.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

pub fn parse(s: &str) -> Result<i32> {
    let bad = || Error::msg(format!("invalid signal {s:?}"));
    if s.is_empty() {
        return Err(bad());
    }
    if let Ok(n) = s.parse::<i32>() {
        // Real-time signals are valid numbers without a fixed name.
        if (1..=libc::SIGRTMAX()).contains(&n) {
            return Ok(n);
        }
        return Err(bad());
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    name.parse::<Signal>()
        .map(|sig| sig as i32)
        .map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_prefixes() {
        assert_eq!(parse("9").unwrap(), 9);
        assert_eq!(parse("KILL").unwrap(), 9);
        assert_eq!(parse("SIGKILL").unwrap(), 9);
        assert_eq!(parse("term").unwrap(), 15);
        assert_eq!(parse("SIGUSR1").unwrap(), libc::SIGUSR1);
    }

    #[test]
    fn bad_signals() {
        for s in ["", "0", "-1", "999", "SIGFOO", "KILLME"] {
            assert!(parse(s).is_err(), "{s} should be rejected");
        }
        assert_eq!(
            parse("FOO").unwrap_err().to_string(),
            "invalid signal \"FOO\""
        );
    }
}
