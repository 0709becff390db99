//! The shape of API keys (SPEC §1): `sb_live_` or `sb_test_` + 32 base62 characters.

pub const KEY_BODY_LEN: usize = 32;
pub const KEY_NAME_MAX_LEN: usize = 80;

/// Which prefix keys of an installation carry: test keys in sandbox mode, live keys otherwise.
pub fn key_prefix(sandbox: bool) -> &'static str {
    if sandbox { "sb_test_" } else { "sb_live_" }
}

/// True when `key` has the shape of a Switchboard key. Used to answer quickly
/// and uniformly before any database look-up.
pub fn looks_like_key(key: &str) -> bool {
    let body = key
        .strip_prefix("sb_live_")
        .or_else(|| key.strip_prefix("sb_test_"));
    matches!(body, Some(b) if b.len() == KEY_BODY_LEN && b.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// What the Portal shows for a stored key: its prefix and last four characters.
pub fn masked_key(prefix: &str, last4: &str) -> String {
    format!("{prefix}…{last4}")
}

pub fn validate_key_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("key name is required".into());
    }
    if name.chars().count() > KEY_NAME_MAX_LEN {
        return Err(format!(
            "key name must be at most {KEY_NAME_MAX_LEN} characters"
        ));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_shape() {
        assert!(looks_like_key(&format!("sb_live_{}", "a".repeat(32))));
        assert!(looks_like_key(&format!("sb_test_{}", "Z9".repeat(16))));
        assert!(!looks_like_key(&format!("sb_live_{}", "a".repeat(31))));
        assert!(!looks_like_key(&format!("sb_prod_{}", "a".repeat(32))));
        assert!(!looks_like_key(&format!("sb_live_{}-", "a".repeat(31))));
    }

    #[test]
    fn masking_and_names() {
        assert_eq!(masked_key("sb_test_", "abcd"), "sb_test_…abcd");
        assert!(validate_key_name(" ").is_err());
        assert_eq!(validate_key_name(" ci ").unwrap(), "ci");
    }
}
