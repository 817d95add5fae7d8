//! libFuzzer entry of the `workflow_actions` target (crates/comity-fuzz).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| comity_fuzz_libfuzzer::run("workflow_actions", data));
