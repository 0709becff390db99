//! Meta webhook bodies: the parser answers `Ok` or `Err` for any bytes and
//! never panics; whatever it routes has a non-empty asset id.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_fuzz::meta::webhook;

fuzz_target!(|data: &[u8]| {
    if let Ok(routed) = webhook::parse(data) {
        for r in routed {
            assert!(!r.route.id().is_empty(), "empty asset id in {:?}", r.route);
            let _ = r.items.len();
        }
    }
});
