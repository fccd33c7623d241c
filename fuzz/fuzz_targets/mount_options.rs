//! A mount's options list: the input is the options one per line, so the
//! seeds stay readable (an option with a newline in it is just more data).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    husk::fuzzing::mount_options(&husk::fuzzing::lines(data));
});
