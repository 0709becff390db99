//! Redirect URI patterns and candidates: parsing and matching never panic,
//! an exact pattern always matches its own text, and a pattern never
//! matches a URI carrying a fragment or credentials.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_fuzz::domain::redirect::RedirectPattern;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (pattern, candidate) = text.split_once('\n').unwrap_or((&text, &text));
    for loopback in [false, true] {
        let Ok(p) = RedirectPattern::parse(pattern, loopback) else {
            continue;
        };
        let _ = p.matches(candidate);
        if !p.as_str().contains('*') {
            assert!(p.matches(p.as_str()), "{pattern:?} does not match itself");
        }
        if p.matches(candidate) {
            assert!(
                !url_has_creds_or_fragment(candidate),
                "{pattern:?} matched {candidate:?}"
            );
        }
    }
});

fn url_has_creds_or_fragment(s: &str) -> bool {
    match url::Url::parse(s.trim()) {
        Ok(u) => u.fragment().is_some() || !u.username().is_empty() || u.password().is_some(),
        Err(_) => false,
    }
}
