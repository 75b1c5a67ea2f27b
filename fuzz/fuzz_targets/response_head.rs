#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sse_fuzz::http1::check_response_head(data));
