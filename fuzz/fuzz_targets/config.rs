//! config.json bytes → parsed spec → checked plan.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    husk::fuzzing::config(data, husk::fuzzing::scratch_bundle());
});
