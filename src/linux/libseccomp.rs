//! libseccomp.so.2, opened with dlopen the first time husk needs it.
//!
//! Why not link it: a linked library is mapped and relocated by ld.so at
//! every start, and most husk calls (`state`, `kill`, `delete`, `run` of a
//! config without `linux.seccomp`) never use it (issue #8). Linked, it
//! cost `husk run` of such a config about 90 KiB of peak RSS (median
//! 3,100 -> 3,008 KiB) and `husk state` about 0.1 ms (1.54 -> 1.42 ms).
//! Only a config with `linux.seccomp`, `husk exec` into a container that
//! has one, `husk features`, `husk --version` and the fuzz target open it.
//!
//! Only what husk calls is declared here, with the C prototypes of
//! <seccomp.h> (libseccomp 2.5). Functions return a negative errno on
//! failure; [`Filter`]'s methods turn that into an [`Error`] that names
//! the C function and the errno.
//!
//! When it is loaded matters: the container's init and `husk exec`'s
//! child build the filter after they have entered the container's mount
//! namespace (and the init after pivot_root), where `libseccomp.so.2`
//! resolves to the container's file. So only [`load`], called while husk
//! checks `linux.seccomp` (and before `husk exec` clones), opens the
//! library; [`loaded`], what the filter code uses, never does.

use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_void};
use std::ptr::NonNull;
use std::sync::OnceLock;

use nix::errno::Errno;

use crate::error::{Error, Result};

/// The soname: what the linker recorded when husk linked -lseccomp.
const SONAME: &CStr = c"libseccomp.so.2";

// Actions (SCMP_ACT_*, the kernel's SECCOMP_RET_* values).
pub const ACT_KILL_PROCESS: u32 = 0x8000_0000;
pub const ACT_KILL_THREAD: u32 = 0x0000_0000;
pub const ACT_TRAP: u32 = 0x0003_0000;
pub const ACT_NOTIFY: u32 = 0x7fc0_0000;
pub const ACT_LOG: u32 = 0x7ffc_0000;
pub const ACT_ALLOW: u32 = 0x7fff_0000;

/// SCMP_ACT_ERRNO(x): the low 16 bits carry the errno.
pub const fn act_errno(x: u16) -> u32 {
    0x0005_0000 | x as u32
}

/// SCMP_ACT_TRACE(x): the low 16 bits go to the tracer.
pub const fn act_trace(x: u16) -> u32 {
    0x7ff0_0000 | x as u32
}

/// enum scmp_compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub enum Compare {
    Ne = 1,
    Lt = 2,
    Le = 3,
    Eq = 4,
    Ge = 5,
    Gt = 6,
    MaskedEq = 7,
}

/// struct scmp_arg_cmp. For MaskedEq `datum_a` is the mask and `datum_b`
/// the value; for the others `datum_a` is the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct ArgCmp {
    pub arg: c_uint,
    pub op: Compare,
    pub datum_a: u64,
    pub datum_b: u64,
}

/// enum scmp_filter_attr: the SCMP_FLTATR_CTL_* ones husk sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub enum Attr {
    Nnp = 3,
    Tsync = 4,
    Log = 6,
    Ssb = 7,
    Waitkill = 10,
}

/// Architecture tokens (SCMP_ARCH_*, the kernel's AUDIT_ARCH_* values),
/// by the names OCI profiles use: every name the libseccomp crate husk
/// used before took, so the same profiles are accepted.
pub fn arch_token(name: &str) -> Option<u32> {
    Some(match name {
        "SCMP_ARCH_NATIVE" => 0,
        "SCMP_ARCH_X86" => 0x4000_0003,
        "SCMP_ARCH_X86_64" => 0xc000_003e,
        "SCMP_ARCH_X32" => 0x4000_003e,
        "SCMP_ARCH_ARM" => 0x4000_0028,
        "SCMP_ARCH_AARCH64" => 0xc000_00b7,
        "SCMP_ARCH_LOONGARCH64" => 0xc000_0102,
        "SCMP_ARCH_M68K" => 0x4,
        "SCMP_ARCH_MIPS" => 0x8,
        "SCMP_ARCH_MIPS64" => 0x8000_0008,
        "SCMP_ARCH_MIPS64N32" => 0xa000_0008,
        "SCMP_ARCH_MIPSEL" => 0x4000_0008,
        "SCMP_ARCH_MIPSEL64" => 0xc000_0008,
        "SCMP_ARCH_MIPSEL64N32" => 0xe000_0008,
        "SCMP_ARCH_PPC" => 0x14,
        "SCMP_ARCH_PPC64" => 0x8000_0015,
        "SCMP_ARCH_PPC64LE" => 0xc000_0015,
        "SCMP_ARCH_S390" => 0x16,
        "SCMP_ARCH_S390X" => 0x8000_0016,
        "SCMP_ARCH_PARISC" => 0xf,
        "SCMP_ARCH_PARISC64" => 0x8000_000f,
        "SCMP_ARCH_RISCV64" => 0xc000_00f3,
        "SCMP_ARCH_SHEB" => 0x2a,
        "SCMP_ARCH_SH" => 0x4000_002a,
        _ => return None,
    })
}

/// struct scmp_version.
#[repr(C)]
struct Version {
    major: c_uint,
    minor: c_uint,
    micro: c_uint,
}

type Ctx = *mut c_void;

/// The library's functions, looked up once.
pub struct Lib {
    seccomp_version: unsafe extern "C" fn() -> *const Version,
    seccomp_init: unsafe extern "C" fn(def_action: u32) -> Ctx,
    seccomp_release: unsafe extern "C" fn(ctx: Ctx),
    seccomp_arch_add: unsafe extern "C" fn(ctx: Ctx, arch_token: u32) -> c_int,
    seccomp_attr_set: unsafe extern "C" fn(ctx: Ctx, attr: Attr, value: u32) -> c_int,
    seccomp_syscall_resolve_name: unsafe extern "C" fn(name: *const c_char) -> c_int,
    seccomp_rule_add_array: unsafe extern "C" fn(
        ctx: Ctx,
        action: u32,
        syscall: c_int,
        arg_cnt: c_uint,
        arg_array: *const ArgCmp,
    ) -> c_int,
    seccomp_load: unsafe extern "C" fn(ctx: Ctx) -> c_int,
    /// Since libseccomp 2.5; a profile without NOTIFY does not need it.
    seccomp_notify_fd: Option<unsafe extern "C" fn(ctx: Ctx) -> c_int>,
}

static LIB: OnceLock<Result<Lib, String>> = OnceLock::new();

/// Open libseccomp.so.2 (once; later calls return the first answer).
/// The error says why, with dlerror's text.
pub fn load() -> Result<&'static Lib, &'static str> {
    LIB.get_or_init(|| open(SONAME)).as_ref().map_err(|e| &**e)
}

/// The library if [`load`] has opened it, without ever opening it: what
/// code that may run inside the container's root uses.
pub fn loaded() -> Option<&'static Lib> {
    LIB.get().and_then(|r| r.as_ref().ok())
}

fn dlerror() -> String {
    // SAFETY: dlerror returns NULL or a NUL-terminated string that stays
    // valid until the next dl* call on this thread; it is copied at once.
    let e = unsafe { libc::dlerror() };
    if e.is_null() {
        return "unknown dlerror".into();
    }
    // SAFETY: non-NULL, NUL-terminated (see above).
    unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned()
}

/// dlsym `name` as a function of type `F`.
///
/// # Safety
/// `F` must be an `unsafe extern "C" fn` whose signature is the C
/// prototype of `name`.
unsafe fn sym<F: Copy>(handle: *mut c_void, lib: &CStr, name: &CStr) -> Result<F, String> {
    const { assert!(size_of::<F>() == size_of::<*mut c_void>()) };
    // SAFETY: handle is a live dlopen handle; name is NUL-terminated.
    let p = unsafe { libc::dlsym(handle, name.as_ptr()) };
    if p.is_null() {
        return Err(format!(
            "{} has no {}: {}",
            lib.to_string_lossy(),
            name.to_string_lossy(),
            dlerror()
        ));
    }
    // SAFETY: p is the address of `name` in the library, and the caller
    // vouches that F is its prototype; F is pointer-sized (checked above).
    Ok(unsafe { std::mem::transmute_copy::<*mut c_void, F>(&p) })
}

fn open(lib: &CStr) -> Result<Lib, String> {
    // RTLD_NOW: resolve every symbol now, so nothing is looked up lazily
    // later, inside the container. RTLD_LOCAL: its symbols stay out of the
    // global namespace. The handle is never closed: husk is short-lived and
    // a filter may use the library until execve.
    // SAFETY: lib is NUL-terminated; dlopen runs libseccomp's constructors,
    // which only initialise its own state.
    let handle = unsafe { libc::dlopen(lib.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        return Err(format!(
            "cannot load {}: {}",
            lib.to_string_lossy(),
            dlerror()
        ));
    }
    // SAFETY (every sym call): each field's type is the function's C
    // prototype from <seccomp.h>.
    unsafe {
        Ok(Lib {
            seccomp_version: sym(handle, lib, c"seccomp_version")?,
            seccomp_init: sym(handle, lib, c"seccomp_init")?,
            seccomp_release: sym(handle, lib, c"seccomp_release")?,
            seccomp_arch_add: sym(handle, lib, c"seccomp_arch_add")?,
            seccomp_attr_set: sym(handle, lib, c"seccomp_attr_set")?,
            seccomp_syscall_resolve_name: sym(handle, lib, c"seccomp_syscall_resolve_name")?,
            seccomp_rule_add_array: sym(handle, lib, c"seccomp_rule_add_array")?,
            seccomp_load: sym(handle, lib, c"seccomp_load")?,
            seccomp_notify_fd: sym(handle, lib, c"seccomp_notify_fd").ok(),
        })
    }
}

/// A libseccomp return code: negative is `-errno`.
fn check(func: &str, rc: c_int) -> Result<c_int> {
    if rc < 0 {
        Err(Error::sys(func, Errno::from_raw(-rc)))
    } else {
        Ok(rc)
    }
}

impl Lib {
    /// (major, minor, micro).
    pub fn version(&self) -> Option<(u32, u32, u32)> {
        // SAFETY: seccomp_version takes nothing and returns NULL or a
        // pointer to a static struct.
        let v = unsafe { (self.seccomp_version)().as_ref() }?;
        Some((v.major, v.minor, v.micro))
    }

    /// The syscall number of `name` on this architecture, None if
    /// libseccomp does not know it. Numbers below -1 are libseccomp's
    /// pseudo-syscalls (e.g. socketcall multiplexing on x86) and are valid
    /// in rules.
    pub fn syscall(&self, name: &str) -> Option<c_int> {
        let name = CString::new(name).ok()?;
        // SAFETY: name is NUL-terminated and outlives the call.
        let nr = unsafe { (self.seccomp_syscall_resolve_name)(name.as_ptr()) };
        // __NR_SCMP_ERROR
        (nr != -1).then_some(nr)
    }
}

/// A filter being built (scmp_filter_ctx); released on drop.
pub struct Filter {
    lib: &'static Lib,
    ctx: NonNull<c_void>,
}

impl Filter {
    pub fn new(lib: &'static Lib, default_action: u32) -> Result<Filter> {
        // SAFETY: seccomp_init takes a plain integer and returns NULL or a
        // new context that we own.
        let ctx = unsafe { (lib.seccomp_init)(default_action) };
        let ctx = NonNull::new(ctx).ok_or_else(|| {
            Error::msg(format!(
                "seccomp_init({default_action:#x}) failed (an action this kernel or libseccomp does not know?)"
            ))
        })?;
        Ok(Filter { lib, ctx })
    }

    /// Add an architecture; one the filter already has is fine.
    pub fn add_arch(&mut self, token: u32) -> Result<()> {
        // SAFETY: ctx is a live context.
        let rc = unsafe { (self.lib.seccomp_arch_add)(self.ctx.as_ptr(), token) };
        if rc == -libc::EEXIST {
            return Ok(());
        }
        check("seccomp_arch_add", rc).map(drop)
    }

    pub fn set_attr(&mut self, attr: Attr, value: u32) -> Result<()> {
        // SAFETY: ctx is a live context; attr is a valid enum value.
        let rc = unsafe { (self.lib.seccomp_attr_set)(self.ctx.as_ptr(), attr, value) };
        check("seccomp_attr_set", rc).map(drop)
    }

    /// One rule; the conditions are ANDed (at most one per argument).
    pub fn add_rule(&mut self, action: u32, syscall: c_int, conds: &[ArgCmp]) -> Result<()> {
        let n = c_uint::try_from(conds.len())
            .map_err(|_| Error::msg("seccomp_rule_add_array: too many conditions"))?;
        // SAFETY: ctx is a live context; conds points to n initialised
        // scmp_arg_cmp structs that outlive the call (libseccomp copies them).
        let rc = unsafe {
            (self.lib.seccomp_rule_add_array)(self.ctx.as_ptr(), action, syscall, n, conds.as_ptr())
        };
        check("seccomp_rule_add_array", rc).map(drop)
    }

    /// Load the filter into the kernel for this process.
    pub fn load(&self) -> Result<()> {
        // SAFETY: ctx is a live context.
        let rc = unsafe { (self.lib.seccomp_load)(self.ctx.as_ptr()) };
        check("seccomp_load", rc).map(drop)
    }

    /// The listener fd of a loaded filter with NOTIFY rules. The caller
    /// owns it: libseccomp never closes it.
    pub fn notify_fd(&self) -> Result<c_int> {
        let f = self.lib.seccomp_notify_fd.ok_or_else(|| {
            Error::msg("seccomp_notify_fd: this libseccomp lacks it (NOTIFY needs 2.5 or later)")
        })?;
        // SAFETY: ctx is a live context.
        let rc = unsafe { f(self.ctx.as_ptr()) };
        check("seccomp_notify_fd", rc)
    }
}

impl Drop for Filter {
    fn drop(&mut self) {
        // SAFETY: ctx came from seccomp_init and is released only here.
        unsafe { (self.lib.seccomp_release)(self.ctx.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_match_seccomp_h() {
        // struct scmp_arg_cmp { unsigned int; enum; u64; u64; }
        assert_eq!(size_of::<ArgCmp>(), 24);
        assert_eq!(std::mem::offset_of!(ArgCmp, datum_a), 8);
        assert_eq!(size_of::<Compare>(), size_of::<c_int>());
        assert_eq!(size_of::<Attr>(), size_of::<c_int>());
        assert_eq!(act_errno(1), 0x0005_0001);
        assert_eq!(act_trace(0xffff), 0x7ff0_ffff);
    }

    #[test]
    fn a_missing_library_is_an_error_with_dlerror() {
        let Err(e) = open(c"libseccomp-husk-test-missing.so.2") else {
            panic!("opened a library that does not exist");
        };
        assert!(
            e.starts_with("cannot load libseccomp-husk-test-missing.so.2: ")
                && e.contains("No such file"),
            "{e}"
        );
    }

    #[test]
    fn a_library_without_the_functions_names_the_first_missing_one() {
        // libc is loaded already; it has no seccomp_version.
        let Err(e) = open(c"libc.so.6") else {
            panic!("libc passed for libseccomp");
        };
        assert!(e.starts_with("libc.so.6 has no seccomp_version: "), "{e}");
    }

    #[test]
    fn resolves_syscalls_and_builds_a_filter() {
        let lib = load().unwrap();
        assert!(loaded().is_some());
        assert!(lib.version().is_some_and(|v| v.0 == 2));
        let nr = lib.syscall("getpid").unwrap();
        assert_eq!(nr, libc::SYS_getpid as c_int);
        assert_eq!(lib.syscall("no_such_syscall_husk"), None);
        assert_eq!(lib.syscall("nul\0inside"), None);
        let mut f = Filter::new(lib, ACT_ALLOW).unwrap();
        f.add_arch(arch_token("SCMP_ARCH_X86").unwrap()).unwrap();
        // The native one is there already: EEXIST is not an error.
        f.add_arch(0).unwrap();
        let cmp = ArgCmp {
            arg: 0,
            op: Compare::Eq,
            datum_a: 8,
            datum_b: 0,
        };
        f.add_rule(act_errno(1), nr, &[cmp]).unwrap();
        // The default action again: libseccomp refuses it.
        let e = f.add_rule(ACT_ALLOW, nr, &[]).unwrap_err();
        assert!(e.to_string().starts_with("seccomp_rule_add_array: "), "{e}");
        assert!(e.errno().is_some(), "{e}");
    }
}
