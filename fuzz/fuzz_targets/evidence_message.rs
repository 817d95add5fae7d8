//! libFuzzer entry of the `evidence_message` target (crates/comity-fuzz).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| comity_fuzz_libfuzzer::run("evidence_message", data));
