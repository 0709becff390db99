//! Whose traffic the sandbox's read endpoints show (`/sandbox/api/outbox`,
//! `webhooks`, `assets`, `/sandbox/phone/thread`).
//!
//! Sandbox mode is single-tenant by design: without a key these endpoints
//! answer for the whole sandbox, as the phone page and test scripts expect.
//! Called with an account's API key (`X-API-Key` or `Authorization: Bearer`),
//! they show only the assets of that account's active channels, so a script
//! of one account on a shared demo installation does not list another's
//! messages. A key that is not valid is refused (401), never ignored.

use std::collections::HashSet;

use app::error::AppError;
use axum::http::HeaderMap;
use serde_json::Value;

use super::Sandbox;

/// What one account may see: its channels' assets and their WABAs.
#[derive(Debug, Default)]
pub struct Scope {
    assets: HashSet<String>,
    wabas: HashSet<String>,
}

/// `None`: no key was presented, everything is shown.
pub type Viewer = Option<Scope>;

/// The caller of a read endpoint, from its key (if any).
pub async fn viewer(sb: &Sandbox, headers: &HeaderMap) -> Result<Viewer, AppError> {
    let Some(key) = app::api::auth::presented_key(headers) else {
        return Ok(None);
    };
    let ctx = app::services::keys::authenticate(&sb.product, &key).await?;
    let mut scope = Scope::default();
    for c in app::store::channels::list(&sb.db, &ctx.account_id).await? {
        if !c.is_active {
            continue;
        }
        scope.assets.insert(c.asset_id);
        if let Some(w) = c.waba_id {
            scope.wabas.insert(w);
        }
    }
    Ok(Some(scope))
}

impl Scope {
    /// A phone number, Page or Instagram account of one of the channels, or
    /// the WABA of one of its numbers.
    pub fn sees_asset(&self, id: &str) -> bool {
        self.assets.contains(id) || self.wabas.contains(id)
    }

    /// A channel's own asset (phone number, Page, Instagram account).
    pub fn sees_channel_asset(&self, id: &str) -> bool {
        self.assets.contains(id)
    }

    /// A webhook is shown when every entry is about one of the account's
    /// assets: a number (`metadata.phone_number_id`), a Page or Instagram
    /// account (`entry.id`), or, for WABA-wide news such as template
    /// reviews, a WABA one of its numbers belongs to.
    pub fn sees_webhook(&self, body: &Value) -> bool {
        let Some(entries) = body.get("entry").and_then(Value::as_array) else {
            return false;
        };
        let whatsapp =
            body.get("object").and_then(Value::as_str) == Some("whatsapp_business_account");
        !entries.is_empty()
            && entries.iter().all(|e| {
                let id = e.get("id").and_then(Value::as_str).unwrap_or_default();
                if !whatsapp {
                    return self.assets.contains(id);
                }
                let changes = e.get("changes").and_then(Value::as_array);
                changes.is_some_and(|cs| {
                    cs.iter().all(|c| {
                        match c
                            .pointer("/value/metadata/phone_number_id")
                            .and_then(Value::as_str)
                        {
                            Some(phone) => self.assets.contains(phone),
                            None => self.wabas.contains(id),
                        }
                    })
                })
            })
    }
}

/// `true` when the viewer may see `asset_id`'s traffic.
pub fn sees(viewer: &Viewer, asset_id: &str) -> bool {
    viewer
        .as_ref()
        .is_none_or(|s| s.sees_channel_asset(asset_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope() -> Scope {
        Scope {
            assets: ["110000000000001".to_string(), "200000000000001".to_string()].into(),
            wabas: ["100000000000001".to_string()].into(),
        }
    }

    #[test]
    fn webhooks_by_asset() {
        let s = scope();
        let mine = json!({"object": "whatsapp_business_account", "entry": [{"id": "100000000000001",
            "changes": [{"field": "messages", "value": {"metadata": {"phone_number_id": "110000000000001"}}}]}]});
        let sibling = json!({"object": "whatsapp_business_account", "entry": [{"id": "100000000000001",
            "changes": [{"field": "messages", "value": {"metadata": {"phone_number_id": "110000000000002"}}}]}]});
        let waba_news = json!({"object": "whatsapp_business_account", "entry": [{"id": "100000000000001",
            "changes": [{"field": "message_template_status_update", "value": {"event": "APPROVED"}}]}]});
        let page = json!({"object": "page", "entry": [{"id": "200000000000001", "messaging": []}]});
        let other_page =
            json!({"object": "page", "entry": [{"id": "200000000000002", "messaging": []}]});
        assert!(s.sees_webhook(&mine));
        assert!(!s.sees_webhook(&sibling));
        assert!(s.sees_webhook(&waba_news));
        assert!(s.sees_webhook(&page));
        assert!(!s.sees_webhook(&other_page));
        assert!(!s.sees_webhook(&json!({"entry": []})));
        assert!(sees(&None, "anything") && !sees(&Some(s), "110000000000002"));
    }
}
