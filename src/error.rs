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

    /// Append what happened next ("…; the old values were set back"),
    /// keeping the errno.
    pub fn note(self, n: impl fmt::Display) -> Self {
        Error {
            msg: format!("{}; {n}", self.msg),
            errno: self.errno,
        }
    }

    /// Prefix more context, keeping the errno.
    pub fn context(self, c: impl fmt::Display) -> Self {
        Error {
            msg: format!("{c}: {}", self.msg),
            errno: self.errno,
        }
    }
}

/// "operation not permitted (EPERM)": the description as Go (and so runc)
/// prints it, first, because callers match on those words (docker maps "no
/// such file or directory" to exit code 127 and "permission denied" to
/// 126; podman and containerd do the same); then the symbolic name, for
/// people who grep kernel sources.
pub fn errno_text(e: Errno) -> String {
    format!("{} ({e:?})", go_strerror(e))
}

/// strerror as Go's syscall package spells it: the C library's text (Go's
/// table is glibc's) with its first letter in lower case ("No such file or
/// directory" → "no such file or directory"), acronyms ("RFS specific
/// error") left alone.
pub fn go_strerror(e: Errno) -> String {
    let d = c_strerror(e).unwrap_or_else(|| e.desc().to_string());
    let mut c = d.chars();
    match (c.next(), c.next()) {
        (Some(first), Some(second))
            if first.is_ascii_uppercase() && !second.is_ascii_uppercase() =>
        {
            format!("{}{}", first.to_ascii_lowercase(), &d[1..])
        }
        _ => d,
    }
}

/// The C library's description of `e` ("Numerical result out of range";
/// nix's own table has the kernel header's "Math result not
/// representable", which is not what Go or runc print). husk never calls
/// setlocale, so the text is the untranslated English one and glibc reads
/// no message catalogue for it.
fn c_strerror(e: Errno) -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: buf is writable for buf.len() bytes; the XSI strerror_r
    // (libc's binding on glibc) writes a NUL-terminated string into it and
    // returns 0, or an error number.
    let rc = unsafe { libc::strerror_r(e as i32, buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let s = std::ffi::CStr::from_bytes_until_nul(&buf)
        .ok()?
        .to_str()
        .ok()?;
    (!s.is_empty() && !s.starts_with("Unknown error")).then(|| s.to_string())
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
            "step mount-proc: mount proc on /proc: operation not permitted (EPERM)"
        );
    }

    #[test]
    fn errno_words_are_gos() {
        assert_eq!(
            errno_text(Errno::ENOENT),
            "no such file or directory (ENOENT)"
        );
        assert_eq!(errno_text(Errno::EACCES), "permission denied (EACCES)");
        assert_eq!(errno_text(Errno::EBUSY), "device or resource busy (EBUSY)");
        assert_eq!(
            errno_text(Errno::ENOSPC),
            "no space left on device (ENOSPC)"
        );
        // Where nix's table (the kernel header's comments) and Go differ,
        // Go's words.
        assert_eq!(
            errno_text(Errno::ERANGE),
            "numerical result out of range (ERANGE)"
        );
        assert_eq!(
            errno_text(Errno::EAGAIN),
            "resource temporarily unavailable (EAGAIN)"
        );
        assert_eq!(errno_text(Errno::EIO), "input/output error (EIO)");
        assert_eq!(errno_text(Errno::ENOMEM), "cannot allocate memory (ENOMEM)");
        assert_eq!(errno_text(Errno::EBADF), "bad file descriptor (EBADF)");
    }
}
