//! libFuzzer entry of the `law_question` target (crates/comity-fuzz).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| comity_fuzz_libfuzzer::run("law_question", data));
