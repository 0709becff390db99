//! The signatures on every customer webhook (SPEC §4.3), in one place:
//! `X-Webhook-Signature: sha256=<hex HMAC-SHA256(secret, body)>` and the
//! Standard Webhooks set (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256(secret, "{id}.{ts}.{body}")>`).
//! The HMAC key is the secret's UTF-8 bytes in both schemes, so a Standard
//! Webhooks library verifies with `whsec_` + base64(secret).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str) -> HmacSha256 {
    HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length")
}

/// `sha256=<hex>` over the raw body.
pub fn hex_signature(secret: &str, body: &[u8]) -> String {
    let mut m = mac(secret);
    m.update(body);
    format!("sha256={}", hex::encode(m.finalize().into_bytes()))
}

/// `v1,<base64>` over `{id}.{timestamp}.{body}` (Standard Webhooks).
pub fn standard_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut m = mac(secret);
    m.update(id.as_bytes());
    m.update(b".");
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    format!("v1,{}", B64.encode(m.finalize().into_bytes()))
}

/// The secret in the form Standard Webhooks libraries take: `whsec_` + base64.
pub fn standard_secret(secret: &str) -> String {
    format!("whsec_{}", B64.encode(secret.as_bytes()))
}

/// Every header of one attempt, in order; signature headers only with a secret.
pub fn headers(
    secret: Option<&str>,
    event_id: &str,
    event: &str,
    attempt: i64,
    timestamp_s: i64,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let mut h = vec![
        ("content-type", "application/json".to_string()),
        ("user-agent", format!("Switchboard/{}", crate::VERSION)),
        ("webhook-id", event_id.to_string()),
        ("webhook-timestamp", timestamp_s.to_string()),
        ("x-webhook-event", event.to_string()),
        ("x-webhook-attempt", attempt.to_string()),
    ];
    if let Some(s) = secret {
        h.push(("x-webhook-signature", hex_signature(s, body)));
        h.push((
            "webhook-signature",
            standard_signature(s, event_id, timestamp_s, body),
        ));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "test-secret-0123456789abcdef";
    const ID: &str = "evt_0190a1b2-c3d4-7e5f-8a9b-0123456789ab";
    const TS: i64 = 1_768_473_000;
    const BODY: &[u8] = br#"{"event":"message.received"}"#;

    /// Computed independently with the `standardwebhooks` Python package
    /// (`Webhook("whsec_dGVz…").sign(ID, 2026-01-15T10:30:00Z, BODY)`).
    #[test]
    fn standard_webhooks_vector() {
        assert_eq!(
            standard_secret(SECRET),
            "whsec_dGVzdC1zZWNyZXQtMDEyMzQ1Njc4OWFiY2RlZg=="
        );
        assert_eq!(
            standard_signature(SECRET, ID, TS, BODY),
            "v1,HOkZEKqEyotxpiyeGPrrLqa3MJ79NF/0Cw9HZJEjOm4="
        );
    }

    #[test]
    fn hex_vector() {
        assert_eq!(
            hex_signature(SECRET, BODY),
            "sha256=407f35f3400983d9947a3e3615e942ee27383fc869b408db4837e8896c9f9d97"
        );
    }

    #[test]
    fn signature_headers_only_with_a_secret() {
        let with = headers(Some(SECRET), ID, "message.received", 2, TS, BODY);
        let names: Vec<&str> = with.iter().map(|(n, _)| *n).collect();
        assert!(names.contains(&"x-webhook-signature"));
        assert!(names.contains(&"webhook-signature"));
        let attempt = with
            .iter()
            .find(|(n, _)| *n == "x-webhook-attempt")
            .unwrap();
        assert_eq!(attempt.1, "2");
        let without = headers(None, ID, "message.received", 1, TS, BODY);
        assert!(without.iter().all(|(n, _)| !n.contains("signature")));
        assert!(without.iter().any(|(n, v)| *n == "webhook-id" && v == ID));
        assert!(
            without
                .iter()
                .any(|(n, v)| *n == "user-agent" && v.starts_with("Switchboard/"))
        );
    }

    #[test]
    fn a_changed_body_changes_both_signatures() {
        assert_ne!(hex_signature(SECRET, BODY), hex_signature(SECRET, b"{}"));
        assert_ne!(
            standard_signature(SECRET, ID, TS, BODY),
            standard_signature(SECRET, ID, TS + 1, BODY)
        );
    }
}
