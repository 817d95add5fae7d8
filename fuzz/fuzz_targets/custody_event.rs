//! libFuzzer entry of the `custody_event` target (crates/comity-fuzz).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| comity_fuzz_libfuzzer::run("custody_event", data));
