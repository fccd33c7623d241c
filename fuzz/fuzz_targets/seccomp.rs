//! linux.seccomp JSON → validated profile → libseccomp filter (not loaded).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    husk::fuzzing::seccomp(data);
});
