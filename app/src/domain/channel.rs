//! Channel types, their webhook events and the webhook-secret rules (SPEC §3,
//! §3.1). Plain data shared by the server and the Portal.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ChannelType {
    Whatsapp,
    Instagram,
    Facebook,
}

impl ChannelType {
    pub const ALL: [ChannelType; 3] = [
        ChannelType::Whatsapp,
        ChannelType::Instagram,
        ChannelType::Facebook,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelType::Whatsapp => "whatsapp",
            ChannelType::Instagram => "instagram",
            ChannelType::Facebook => "facebook",
        }
    }

    pub fn parse(raw: &str) -> Option<ChannelType> {
        ChannelType::ALL.into_iter().find(|t| t.as_str() == raw)
    }

    pub fn label(self) -> &'static str {
        match self {
            ChannelType::Whatsapp => "WhatsApp",
            ChannelType::Instagram => "Instagram",
            ChannelType::Facebook => "Facebook Messenger",
        }
    }

    /// The customer-facing events this type can emit: `message.sent` exists
    /// only on WhatsApp, because only there does Meta report it.
    pub fn events(self) -> &'static [&'static str] {
        match self {
            ChannelType::Whatsapp => &[
                "message.received",
                "message.sent",
                "message.delivered",
                "message.read",
                "message.failed",
                "message.echo",
            ],
            ChannelType::Instagram | ChannelType::Facebook => &[
                "message.received",
                "message.delivered",
                "message.read",
                "message.failed",
                "message.echo",
            ],
        }
    }
}

/// Checks a list of event names for `t`, returning it deduplicated in the given
/// order; the error names the first event that does not exist for the type.
pub fn validate_events(t: ChannelType, events: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for e in events {
        if !t.events().contains(&e.as_str()) {
            return Err(format!(
                "webhook_events: `{e}` is not an event of {} channels (allowed: {})",
                t.as_str(),
                t.events().join(", ")
            ));
        }
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    Ok(out)
}

/// Shortest custom secret anywhere.
pub const SECRET_MIN_LEN: usize = 16;
/// Longest custom secret through the API and onboarding links.
pub const SECRET_MAX_LEN_API: usize = 256;
/// Longest custom secret typed into the Portal.
pub const SECRET_MAX_LEN_PORTAL: usize = 64;

/// A custom webhook secret: `min..=max` printable ASCII characters without spaces,
/// so it survives copy-paste into any HMAC library.
pub fn validate_secret(secret: &str, max_len: usize) -> Result<(), String> {
    let n = secret.chars().count();
    if n < SECRET_MIN_LEN || n > max_len {
        return Err(format!(
            "webhook_secret must be {SECRET_MIN_LEN} to {max_len} characters long, got {n}"
        ));
    }
    if !secret.chars().all(|c| c.is_ascii_graphic()) {
        return Err(
            "webhook_secret may only contain printable ASCII characters without spaces".into(),
        );
    }
    Ok(())
}

/// `subscription` block of a channel (SPEC §7).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SubscriptionView {
    /// `active`, `expired`, `canceled` or `none`.
    pub status: String,
    /// `trial`, `stripe`, `enterprise` or null.
    pub source: Option<String>,
    /// `starter`, `pro` or null.
    pub tier: Option<String>,
    pub expires_at: Option<String>,
    pub auto_renew: bool,
}

/// A channel as `GET /api/v1/channels/{id}` shows it. The secret is never here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChannelView {
    /// 16 lowercase hex characters.
    pub id: String,
    pub channel_type: ChannelType,
    pub name: String,
    pub is_active: bool,
    /// WhatsApp: Meta's phone number id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_id: Option<String>,
    /// WhatsApp: digits, no `+`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waba_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ig_account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ig_username: Option<String>,
    /// Facebook: the Page; Instagram: the linked Page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_id: Option<String>,
    /// `platform` (connected through Switchboard's Meta app) or `manual` (own app).
    pub connection: String,
    pub webhook_url: Option<String>,
    pub has_webhook_secret: bool,
    pub webhook_events: Vec<String>,
    pub connected_at: String,
    /// Null for tokens that do not expire.
    pub token_expires_at: Option<String>,
    /// WhatsApp only: `GREEN`, `YELLOW`, `RED`, `UNKNOWN`; null elsewhere.
    /// Kept current by Meta's `phone_number_quality_update` webhooks.
    pub quality_rating: Option<String>,
    /// WhatsApp only: `ok`, `restricted`, `disabled` or `flagged`, from
    /// Meta's `account_update` and `phone_number_quality_update` webhooks
    /// (see `channel.account_update`); null elsewhere.
    #[serde(default)]
    pub account_status: Option<String>,
    pub subscription: SubscriptionView,
    /// When Meta last sent something for this channel; null before the first.
    #[serde(default)]
    pub last_event_at: Option<String>,
    /// How `message.received` carries media: `link` (default), `base64`, `both`.
    #[serde(default = "default_media_mode")]
    pub media_mode: String,
    /// Every event of the channel also carries `raw`: Meta's own item (the
    /// WhatsApp `change.value` or the Messenger/Instagram `messaging` item).
    #[serde(default)]
    pub include_raw: bool,
    /// How long deliveries of the channel's events are retried: `standard`
    /// (default) or `extended`, as for event endpoints.
    #[serde(default = "default_retry_policy")]
    pub retry_policy: String,
}

fn default_media_mode() -> String {
    "link".into()
}

fn default_retry_policy() -> String {
    "standard".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_round_trip() {
        for t in ChannelType::ALL {
            assert_eq!(ChannelType::parse(t.as_str()), Some(t));
        }
        assert_eq!(ChannelType::parse("telegram"), None);
    }

    #[test]
    fn events_are_limited_to_the_type() {
        let ok = validate_events(
            ChannelType::Whatsapp,
            &[
                "message.sent".into(),
                "message.received".into(),
                "message.sent".into(),
            ],
        )
        .unwrap();
        assert_eq!(ok, vec!["message.sent", "message.received"]);
        let err = validate_events(ChannelType::Facebook, &["message.sent".into()]).unwrap_err();
        assert!(err.contains("message.sent"));
        assert!(
            validate_events(ChannelType::Instagram, &[])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn secret_lengths() {
        assert!(validate_secret(&"a".repeat(15), SECRET_MAX_LEN_API).is_err());
        assert!(validate_secret(&"a".repeat(16), SECRET_MAX_LEN_API).is_ok());
        assert!(validate_secret(&"a".repeat(256), SECRET_MAX_LEN_API).is_ok());
        assert!(validate_secret(&"a".repeat(257), SECRET_MAX_LEN_API).is_err());
        assert!(validate_secret(&"a".repeat(65), SECRET_MAX_LEN_PORTAL).is_err());
        assert!(validate_secret("sixteen chars ok", SECRET_MAX_LEN_API).is_err());
    }
}

/// One allowed redirect URI pattern of an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RedirectView {
    pub id: String,
    pub uri_pattern: String,
    pub created_at: String,
}
