//! CVE-2019-5736: a container whose program is a script starting with
//! `#!/proc/self/exe` makes the kernel run, as that script's interpreter,
//! whatever binary execs it. If that is husk, the container ends up with a
//! process running husk's own binary, and can open it through
//! /proc/<pid>/exe and overwrite it on the host.
//!
//! So husk never execs the container's program itself. It execs a tiny
//! "demilitarized zone" program from a sealed memfd, which execs the
//! program: a `#!/proc/self/exe` can then only reach that sealed copy,
//! which nobody can write. The stub is 170 bytes of machine code, so this
//! costs one small execve, not a copy of husk (measured: copying husk into
//! a memfd and re-executing it added about 4 ms to every `husk run` here).
//!
//! The stub: execve(argv[1], &argv[2], envp), and exit(127) if that fails.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::errno::Errno;

use crate::error::{Error, Result};

#[cfg(target_arch = "x86_64")]
const CODE: &[u8] = &[
    0x48, 0x8b, 0x7c, 0x24, 0x10, // mov rdi, [rsp+16]        ; argv[1]: the program
    0x48, 0x8d, 0x74, 0x24, 0x18, // lea rsi, [rsp+24]        ; &argv[2]: its argv
    0x48, 0x8b, 0x04, 0x24, // mov rax, [rsp]                 ; argc
    0x48, 0x8d, 0x54, 0xc4, 0x10, // lea rdx, [rsp+rax*8+16] ; envp
    0xb8, 0x3b, 0x00, 0x00, 0x00, // mov eax, 59              ; execve
    0x0f, 0x05, // syscall
    0xbf, 0x7f, 0x00, 0x00, 0x00, // mov edi, 127
    0xb8, 0x3c, 0x00, 0x00, 0x00, // mov eax, 60              ; exit
    0x0f, 0x05, // syscall
];

/// A minimal static ELF64 executable around CODE: one header, one
/// loadable segment, entry right after the headers.
#[cfg(target_arch = "x86_64")]
pub fn image() -> Vec<u8> {
    const BASE: u64 = 0x40_0000;
    const HDRS: u64 = 64 + 56;
    let total = HDRS + CODE.len() as u64;
    let mut e = Vec::with_capacity(total as usize);
    // ELF header.
    e.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]); // 64-bit, LE, v1, SysV
    e.extend_from_slice(&[0; 8]);
    e.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    e.extend_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    e.extend_from_slice(&1u32.to_le_bytes()); // EV_CURRENT
    e.extend_from_slice(&(BASE + HDRS).to_le_bytes()); // entry
    e.extend_from_slice(&64u64.to_le_bytes()); // program headers at 64
    e.extend_from_slice(&0u64.to_le_bytes()); // no section headers
    e.extend_from_slice(&0u32.to_le_bytes()); // flags
    e.extend_from_slice(&64u16.to_le_bytes()); // ELF header size
    e.extend_from_slice(&56u16.to_le_bytes()); // program header size
    e.extend_from_slice(&1u16.to_le_bytes()); // one program header
    e.extend_from_slice(&[0; 6]); // no section headers
    // Program header: PT_LOAD, R+X, the whole file at BASE.
    e.extend_from_slice(&1u32.to_le_bytes());
    e.extend_from_slice(&5u32.to_le_bytes());
    e.extend_from_slice(&0u64.to_le_bytes()); // offset
    e.extend_from_slice(&BASE.to_le_bytes()); // vaddr
    e.extend_from_slice(&BASE.to_le_bytes()); // paddr
    e.extend_from_slice(&total.to_le_bytes()); // filesz
    e.extend_from_slice(&total.to_le_bytes()); // memsz
    e.extend_from_slice(&0x1000u64.to_le_bytes()); // align
    e.extend_from_slice(CODE);
    e
}

#[cfg(not(target_arch = "x86_64"))]
pub fn image() -> Vec<u8> {
    Vec::new()
}

const SEALS: libc::c_int =
    libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// The sealed stub, or None where husk has no stub for this architecture
/// (then the program is exec'd directly, without this protection).
pub fn create() -> Result<Option<OwnedFd>> {
    let img = image();
    if img.is_empty() {
        return Ok(None);
    }
    // SAFETY: literal name; flags as documented.
    let fd = unsafe {
        libc::memfd_create(
            c"husk-dmz".as_ptr(),
            libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
        )
    };
    if fd < 0 {
        return Err(Error::sys("memfd_create(husk-dmz)", Errno::last()));
    }
    // SAFETY: fresh fd.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: img is a valid buffer; a memfd takes it in one write.
    let n = unsafe { libc::write(fd.as_raw_fd(), img.as_ptr().cast(), img.len()) };
    if n != img.len() as isize {
        return Err(Error::sys("write husk-dmz", Errno::last()));
    }
    // SAFETY: fchmod and F_ADD_SEALS on our own memfd.
    unsafe { libc::fchmod(fd.as_raw_fd(), 0o555) };
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, SEALS) } < 0 {
        return Err(Error::sys("seal husk-dmz", Errno::last()));
    }
    Ok(Some(fd))
}

/// Exec `path` with `args` and `env` through the stub; returns only on
/// failure (of the stub's own exec: the program's is reported by exit 127).
pub fn exec(dmz: &OwnedFd, path: &str, args: &[String], env: &[String]) -> Error {
    let mut all = vec!["husk-dmz".to_string(), path.to_string()];
    all.extend_from_slice(args);
    let cs = |v: &[String]| -> Option<Vec<CString>> {
        v.iter().map(|s| CString::new(s.as_str()).ok()).collect()
    };
    let (Some(a), Some(e)) = (cs(&all), cs(env)) else {
        return Error::msg("an argument or environment entry contains a NUL byte");
    };
    let mut ap: Vec<*const libc::c_char> = a.iter().map(|s| s.as_ptr()).collect();
    ap.push(std::ptr::null());
    let mut ep: Vec<*const libc::c_char> = e.iter().map(|s| s.as_ptr()).collect();
    ep.push(std::ptr::null());
    // execve through /proc/self/fd first: a seccomp profile that lets the
    // container run at all allows execve, not necessarily execveat.
    let via_proc = CString::new(format!("/proc/self/fd/{}", dmz.as_raw_fd())).expect("digits");
    // SAFETY: the path names our sealed memfd; the arrays are
    // NULL-terminated and point at live CStrings.
    unsafe { libc::execve(via_proc.as_ptr(), ap.as_ptr(), ep.as_ptr()) };
    // No /proc in the container: by fd.
    // SAFETY: as above, with the fd itself.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            dmz.as_raw_fd(),
            c"".as_ptr(),
            ap.as_ptr(),
            ep.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    Error::sys("execveat(husk-dmz)", Errno::last())
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_stub_execs_its_first_argument() {
        use std::os::fd::AsRawFd;
        // The sealed memfd itself, as husk uses it: no writable fd exists,
        // so no other test's fork can make the exec fail with ETXTBSY.
        let fd = super::create().unwrap().expect("x86_64 has a stub");
        let p = format!("/proc/self/fd/{}", fd.as_raw_fd());
        let out = std::process::Command::new(&p)
            .args(["/bin/sh", "sh", "-c", "echo via-dmz $FOO; exit 3"])
            .env("FOO", "bar")
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "via-dmz bar\n");
        assert_eq!(out.status.code(), Some(3));
        let out = std::process::Command::new(&p)
            .args(["/nonexistent", "x"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(127));
    }
}
