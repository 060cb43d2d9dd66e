#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kinseal_fuzz::account_content(data));
