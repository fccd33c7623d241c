//! Device access control on cgroup v2: an eBPF program of type
//! BPF_PROG_TYPE_CGROUP_DEVICE, generated from linux.resources.devices and
//! attached to the container's cgroup. v2 has no devices.allow file; the
//! kernel runs this program on every open/mknod of a device node instead.
//!
//! Since 5.11 the program's memory is charged to the memory cgroup, so no
//! RLIMIT_MEMLOCK raise is needed (and without CAP_SYS_RESOURCE it would
//! fail anyway).

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;

use super::resources::DeviceRule;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Insn {
    code: u8,
    regs: u8,
    off: i16,
    imm: i32,
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | dst,
        off,
        imm,
    }
}

// Opcodes (class | op | source), from linux/bpf_common.h.
const LDX_MEM_W: u8 = 0x61;
const ALU64_MOV_X: u8 = 0xbf;
const ALU64_MOV_K: u8 = 0xb7;
const ALU64_AND_K: u8 = 0x57;
const ALU64_RSH_K: u8 = 0x77;
const JMP_JNE_K: u8 = 0x55;
const JMP_EXIT: u8 = 0x95;

// struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
// access_type = (access << 16) | type.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;

/// A rule as the program tests it; None is a wildcard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub allow: bool,
    pub typ: Option<i32>,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: i32,
}

fn access_bits(a: &str) -> i32 {
    a.chars().fold(0, |acc, c| {
        acc | match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            _ => 0,
        }
    })
}

/// Replay the OCI list the way cgroup v1 would: a rule matching every
/// device resets the default and forgets earlier rules; the rest are
/// exceptions where the last match wins. Returns (default allow, rules).
pub fn normalize(list: &[DeviceRule]) -> (bool, Vec<Rule>) {
    let mut default_allow = true;
    let mut rules = Vec::new();
    for d in list {
        let typ = match d.typ.as_deref() {
            Some("c") => Some(DEV_CHAR),
            Some("b") => Some(DEV_BLOCK),
            _ => None,
        };
        let major = d.major.filter(|m| *m >= 0).map(|m| m as u32);
        let minor = d.minor.filter(|m| *m >= 0).map(|m| m as u32);
        let access = access_bits(d.access.as_deref().unwrap_or("rwm"));
        if typ.is_none() && major.is_none() && minor.is_none() && access == 7 {
            default_allow = d.allow;
            rules.clear();
            continue;
        }
        rules.push(Rule {
            allow: d.allow,
            typ,
            major,
            minor,
            access,
        });
    }
    (default_allow, rules)
}

/// The program: r2 = type, r3 = access, r4 = major, r5 = minor; then one
/// block per rule, last rule first, each jumping to the next block on a
/// mismatch and returning its verdict on a match.
pub fn program(default_allow: bool, rules: &[Rule]) -> Vec<Insn> {
    let mut p = vec![
        insn(LDX_MEM_W, 2, 1, 0, 0),
        insn(ALU64_MOV_X, 3, 2, 0, 0),
        insn(ALU64_AND_K, 2, 0, 0, 0xffff),
        insn(ALU64_RSH_K, 3, 0, 0, 16),
        insn(LDX_MEM_W, 4, 1, 4, 0),
        insn(LDX_MEM_W, 5, 1, 8, 0),
    ];
    for r in rules.iter().rev() {
        let mut block = Vec::new();
        // Each test is a "jump if not equal" to the end of this block; the
        // offsets are patched once the block's length is known.
        if let Some(t) = r.typ {
            block.push(insn(JMP_JNE_K, 2, 0, 0, t));
        }
        if r.access != 7 {
            // Match only if the requested bits are all in the rule's.
            block.push(insn(ALU64_MOV_X, 6, 3, 0, 0));
            block.push(insn(ALU64_AND_K, 6, 0, 0, !r.access & 7));
            block.push(insn(JMP_JNE_K, 6, 0, 0, 0));
        }
        if let Some(m) = r.major {
            block.push(insn(JMP_JNE_K, 4, 0, 0, m as i32));
        }
        if let Some(m) = r.minor {
            block.push(insn(JMP_JNE_K, 5, 0, 0, m as i32));
        }
        block.push(insn(ALU64_MOV_K, 0, 0, 0, i32::from(r.allow)));
        block.push(insn(JMP_EXIT, 0, 0, 0, 0));
        let len = block.len();
        for (i, ins) in block.iter_mut().enumerate() {
            if ins.code == JMP_JNE_K {
                ins.off = (len - i - 1) as i16;
            }
        }
        p.extend(block);
    }
    p.push(insn(ALU64_MOV_K, 0, 0, 0, i32::from(default_allow)));
    p.push(insn(JMP_EXIT, 0, 0, 0, 0));
    p
}

fn bpf(cmd: i32, attr: &mut [u64; 18]) -> Result<i64, Errno> {
    // SAFETY: attr is a zeroed bpf_attr-sized buffer with the fields the
    // command reads filled in; the kernel checks the unused tail is zero.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr.as_mut_ptr(),
            std::mem::size_of_val(attr),
        )
    };
    if r < 0 { Err(Errno::last()) } else { Ok(r) }
}

const BPF_PROG_LOAD: i32 = 5;
const BPF_PROG_ATTACH: i32 = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u64 = 15;
const BPF_CGROUP_DEVICE: u64 = 6;
const BPF_F_ALLOW_MULTI: u64 = 2;

pub fn load(prog: &[Insn]) -> Result<OwnedFd> {
    let license = c"GPL";
    let mut log = vec![0u8; 65536];
    let mut attr = [0u64; 18];
    // prog_type (u32) | insn_cnt (u32)
    attr[0] = BPF_PROG_TYPE_CGROUP_DEVICE | ((prog.len() as u64) << 32);
    attr[1] = prog.as_ptr() as u64;
    attr[2] = license.as_ptr() as u64;
    // log_level (u32) | log_size (u32)
    attr[3] = 1 | ((log.len() as u64) << 32);
    attr[4] = log.as_mut_ptr() as u64;
    match bpf(BPF_PROG_LOAD, &mut attr) {
        // SAFETY: the kernel returned a fresh program fd.
        Ok(fd) => Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) }),
        Err(e) => {
            let end = log.iter().position(|b| *b == 0).unwrap_or(0);
            let text = String::from_utf8_lossy(&log[..end]);
            Err(Error::sys(
                format!(
                    "bpf(BPF_PROG_LOAD, device filter, {} insns){}",
                    prog.len(),
                    if text.is_empty() {
                        String::new()
                    } else {
                        format!(" verifier: {text}")
                    }
                ),
                e,
            ))
        }
    }
}

/// Load the filter for `rules` and attach it to the cgroup at `dir`.
pub fn attach_device_filter(dir: &Path, rules: &[DeviceRule]) -> Result<()> {
    let (default_allow, rules) = normalize(rules);
    let prog = load(&program(default_allow, &rules))?;
    let c = CString::new(dir.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::msg("cgroup path has a NUL byte"))?;
    // SAFETY: NUL-terminated path.
    let cg = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if cg < 0 {
        return Err(Error::sys(format!("open {}", dir.display()), Errno::last()));
    }
    // SAFETY: fresh fd.
    let cg = unsafe { OwnedFd::from_raw_fd(cg) };
    let mut attr = [0u64; 18];
    // target_fd (u32) | attach_bpf_fd (u32), attach_type (u32) | attach_flags (u32)
    attr[0] = cg.as_raw_fd() as u64 | ((prog.as_raw_fd() as u64) << 32);
    attr[1] = BPF_CGROUP_DEVICE | (BPF_F_ALLOW_MULTI << 32);
    bpf(BPF_PROG_ATTACH, &mut attr).map_err(|e| {
        Error::sys(
            format!("bpf(BPF_PROG_ATTACH, device filter, {})", dir.display()),
            e,
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        allow: bool,
        typ: Option<&str>,
        major: Option<i64>,
        minor: Option<i64>,
        access: &str,
    ) -> DeviceRule {
        DeviceRule {
            allow,
            typ: typ.map(String::from),
            major,
            minor,
            access: Some(access.into()),
        }
    }

    /// Run the generated program the way the kernel would, for tests.
    fn eval(p: &[Insn], typ: i32, access: i32, major: u32, minor: u32) -> u64 {
        let ctx = [
            ((access as u32) << 16 | typ as u32) as u64,
            major as u64,
            minor as u64,
        ];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = p[pc];
            let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            match i.code {
                LDX_MEM_W => r[dst] = ctx[(i.off / 4) as usize],
                ALU64_MOV_X => r[dst] = r[src],
                ALU64_MOV_K => r[dst] = i.imm as u64,
                ALU64_AND_K => r[dst] &= i.imm as u32 as u64,
                ALU64_RSH_K => r[dst] >>= i.imm,
                JMP_JNE_K => {
                    if r[dst] != i.imm as u32 as u64 {
                        pc += i.off as usize;
                    }
                }
                JMP_EXIT => return r[0],
                _ => panic!("unknown opcode"),
            }
            pc += 1;
        }
    }

    #[test]
    fn deny_all_then_allow_null() {
        let list = [
            rule(false, None, None, None, "rwm"),
            rule(true, Some("c"), Some(1), Some(3), "rw"),
        ];
        let (def, rules) = normalize(&list);
        assert!(!def);
        let p = program(def, &rules);
        assert_eq!(eval(&p, DEV_CHAR, ACC_READ | ACC_WRITE, 1, 3), 1);
        assert_eq!(eval(&p, DEV_CHAR, ACC_MKNOD, 1, 3), 0, "mknod not granted");
        assert_eq!(eval(&p, DEV_CHAR, ACC_READ, 1, 5), 0);
        assert_eq!(eval(&p, DEV_BLOCK, ACC_READ, 1, 3), 0);
    }

    #[test]
    fn last_rule_wins() {
        let list = [
            rule(true, Some("c"), None, None, "rwm"),
            rule(false, Some("c"), Some(10), Some(200), "rwm"),
        ];
        let (def, rules) = normalize(&list);
        assert!(def);
        let p = program(def, &rules);
        assert_eq!(eval(&p, DEV_CHAR, ACC_READ, 10, 200), 0);
        assert_eq!(eval(&p, DEV_CHAR, ACC_READ, 10, 201), 1);
    }

    #[test]
    fn wildcard_resets() {
        let list = [
            rule(true, Some("c"), Some(1), Some(3), "rwm"),
            rule(true, None, None, None, "rwm"),
        ];
        let (def, rules) = normalize(&list);
        assert!(def && rules.is_empty());
    }
}
