//! libFuzzer entry of the `workflow_draft` target (crates/comity-fuzz).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| comity_fuzz_libfuzzer::run("workflow_draft", data));
