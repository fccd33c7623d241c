//! One error type for the whole binary: a human-readable chain of context
//! ("step", "on what", "errno") built up as the error travels outwards.

use std::fmt;

use nix::errno::Errno;

#[derive(Debug)]
pub struct Error {
    msg: String,
    errno: Option<Errno>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn msg(msg: impl Into<String>) -> Self {
        Error {
            msg: msg.into(),
            errno: None,
        }
    }

    /// A failed system call: `what` names the call and its arguments.
    pub fn sys(what: impl fmt::Display, errno: Errno) -> Self {
        Error {
            msg: format!("{what}: {}", errno_text(errno)),
            errno: Some(errno),
        }
    }

    pub fn errno(&self) -> Option<Errno> {
        self.errno
    }

    /// Prefix more context, keeping the errno.
    pub fn context(self, c: impl fmt::Display) -> Self {
        Error {
            msg: format!("{c}: {}", self.msg),
            errno: self.errno,
        }
    }
}

/// "EPERM (Operation not permitted)": the symbolic name for people who grep
/// kernel sources, the description for everyone else.
pub fn errno_text(e: Errno) -> String {
    format!("{:?} ({})", e, e.desc())
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        match e.raw_os_error() {
            Some(n) => Error {
                msg: errno_text(Errno::from_raw(n)),
                errno: Some(Errno::from_raw(n)),
            },
            None => Error::msg(e.to_string()),
        }
    }
}

impl From<Errno> for Error {
    fn from(e: Errno) -> Self {
        Error {
            msg: errno_text(e),
            errno: Some(e),
        }
    }
}

pub trait Context<T> {
    fn context(self, c: impl fmt::Display) -> Result<T>;
    fn with_context<C: fmt::Display>(self, f: impl FnOnce() -> C) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context(self, c: impl fmt::Display) -> Result<T> {
        self.map_err(|e| e.into().context(c))
    }
    fn with_context<C: fmt::Display>(self, f: impl FnOnce() -> C) -> Result<T> {
        self.map_err(|e| e.into().context(f()))
    }
}

/// Early-return with a formatted message.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => { return Err($crate::error::Error::msg(format!($($arg)*))) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_chains_and_keeps_errno() {
        let r: Result<()> = Err(Errno::EPERM).context("mount proc on /proc");
        let e = r.unwrap_err().context("step mount-proc");
        assert_eq!(e.errno(), Some(Errno::EPERM));
        assert_eq!(
            e.to_string(),
            "step mount-proc: mount proc on /proc: EPERM (Operation not permitted)"
        );
    }
}
