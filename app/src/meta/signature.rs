//! `X-Hub-Signature-256`: lowercase hex HMAC-SHA256 of the raw request bytes,
//! keyed with the Meta app secret. The sandbox signs with it and the product
//! verifies with it, so both sides share exactly one implementation.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// `sha256=<hex>` over `raw` exactly as sent; never over re-serialised JSON,
/// because Meta escapes non-ASCII as `\uXXXX` and a re-serialiser would not.
pub fn sign(app_secret: &str, raw: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(app_secret.as_bytes()).expect("HMAC takes any key");
    mac.update(raw);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// True when `header` is a valid `sha256=<hex>` signature of `raw`. The MAC
/// comparison is constant time (`verify_slice`), so an attacker cannot learn
/// the expected value byte by byte from response timings.
pub fn verify(app_secret: &str, raw: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac = HmacSha256::new_from_slice(app_secret.as_bytes()).expect("HMAC takes any key");
    mac.update(raw);
    mac.verify_slice(&expected).is_ok()
}

/// Serialises JSON the way Meta puts it on the wire: minified, with every
/// non-ASCII character written as a lowercase `\uXXXX` escape (surrogate pairs
/// above U+FFFF). Outside strings serde_json emits ASCII only, so escaping each
/// non-ASCII char of its output keeps the document valid.
pub fn meta_json_bytes(value: &serde_json::Value) -> Vec<u8> {
    let text = serde_json::to_string(value).expect("a Value always serialises");
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{:04x}", unit));
            }
        }
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Test vectors from the Meta reference (§3.3), secret `test_app_secret`.
    #[test]
    fn matches_reference_vectors() {
        assert_eq!(
            sign(
                "test_app_secret",
                br#"{"object":"whatsapp_business_account","entry":[]}"#
            ),
            "sha256=dec6a680679a968e7e0319355b23599cbfc54502c0784668e9618baa0c633756"
        );
        let escaped = br#"{"text":"\u00e4\u00f6\u00e5"}"#;
        assert_eq!(escaped.len(), 29);
        assert_eq!(
            sign("test_app_secret", escaped),
            "sha256=02331cadf5416e9e5dc4ecf73b5c9b7aa6577a90b90fbb6bad6e9a35d8a8f6a9"
        );
        assert_eq!(
            sign("test_app_secret", "{\"text\":\"äöå\"}".as_bytes()),
            "sha256=1156bb8871b0fb6c41be587675ee25663758799081f9aa28d1ecccad94158e9d"
        );
    }

    #[test]
    fn verify_accepts_only_the_exact_bytes() {
        let body = br#"{"object":"page","entry":[]}"#;
        let sig = sign("s3cret", body);
        assert!(verify("s3cret", body, &sig));
        assert!(!verify("other", body, &sig));
        let mut changed = body.to_vec();
        changed[3] ^= 1;
        assert!(!verify("s3cret", &changed, &sig));
        assert!(!verify("s3cret", body, sig.trim_start_matches("sha256=")));
        assert!(!verify("s3cret", body, "sha256=zz"));
        assert!(!verify("s3cret", body, ""));
    }

    #[test]
    fn meta_serialisation_escapes_non_ascii() {
        let v = serde_json::json!({"text": "äöå"});
        let bytes = meta_json_bytes(&v);
        assert_eq!(bytes, br#"{"text":"\u00e4\u00f6\u00e5"}"#.to_vec());
        assert_eq!(
            sign("test_app_secret", &bytes),
            "sha256=02331cadf5416e9e5dc4ecf73b5c9b7aa6577a90b90fbb6bad6e9a35d8a8f6a9"
        );
        let emoji = meta_json_bytes(&serde_json::json!({"e": "\u{1F44D}"}));
        assert_eq!(emoji, br#"{"e":"\ud83d\udc4d"}"#.to_vec());
        let back: serde_json::Value = serde_json::from_slice(&emoji).unwrap();
        assert_eq!(back["e"], "\u{1F44D}");
    }
}
