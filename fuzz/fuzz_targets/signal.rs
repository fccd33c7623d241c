//! A signal as `husk kill` takes it. The argument reaches husk as an
//! OsString made String, so input that is not UTF-8 is not tried.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        husk::fuzzing::signal(s);
    }
});
