//! libFuzzer entry of the `hash_list` target (crates/comity-fuzz).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| comity_fuzz_libfuzzer::run("hash_list", data));
