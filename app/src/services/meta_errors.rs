//! Meta failures as the SPEC's errors: a dead token is `meta_token_invalid`
//! (the customer must reconnect), everything else `meta_error` (502) with
//! Meta's code and message in `detail`. The two errors people meet when
//! connecting by hand get a sentence on how to fix them.

use crate::error::AppError;
use crate::meta::{ErrorClass, MetaError};

/// `doing` says what Switchboard was trying, e.g. "listing the WABA's phone numbers".
pub fn to_app_error(e: &MetaError, doing: &str) -> AppError {
    let hint = e.graph().and_then(|g| hint(g.code, g.error_subcode));
    let mut detail = format!("Meta refused {doing}: {e}");
    if let Some(h) = hint {
        detail.push_str(". ");
        detail.push_str(h);
    }
    match e.class() {
        ErrorClass::TokenDead => AppError::bad_request("meta_token_invalid", detail),
        _ => AppError::client(502, "meta_error", detail),
    }
}

/// The fix for the usual connection errors (reference §12.2).
pub fn hint(code: i64, subcode: Option<i64>) -> Option<&'static str> {
    match (code, subcode) {
        (100, Some(33)) => Some(
            "The id does not exist or the token cannot see it: check the id and give the system user \
             of your app access to this asset (Business Settings → System users → Assign assets)",
        ),
        (190, _) => Some(
            "The access token is invalid or expired: create a new (permanent) system-user token with \
             whatsapp_business_management and whatsapp_business_messaging and try again",
        ),
        (200..=299, _) | (10, None) => Some(
            "The token lacks a permission: it needs whatsapp_business_management and whatsapp_business_messaging",
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::GraphError;

    #[test]
    fn dead_tokens_and_missing_objects_are_explained() {
        let g = GraphError::parse(
            400,
            br#"{"error":{"message":"Invalid OAuth access token","code":190}}"#,
        )
        .unwrap();
        let e = to_app_error(&MetaError::Graph(Box::new(g)), "reading the WABA");
        assert_eq!(e.code(), "meta_token_invalid");
        assert!(e.public_detail().contains("190"));
        let g = GraphError::parse(
            400,
            br#"{"error":{"message":"Unsupported get request","code":100,"error_subcode":33}}"#,
        )
        .unwrap();
        let e = to_app_error(&MetaError::Graph(Box::new(g)), "reading the WABA");
        assert_eq!(e.code(), "meta_error");
        assert_eq!(e.status().as_u16(), 502);
        assert!(e.public_detail().contains("Assign assets"));
    }
}
