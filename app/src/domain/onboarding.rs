//! Onboarding links (SPEC §6): the JSON of a link, shared by the REST API and
//! the Portal.

use serde::{Deserialize, Serialize};

use super::ChannelType;

/// An onboarding link. `status` is `pending`, `completed` or `expired` (a
/// pending link past `expires_at`). The asset fields are filled when the link
/// completes; `webhook_secret` is present once, in the answer to create.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OnboardingLinkView {
    /// UUID.
    pub id: String,
    pub name: String,
    pub status: String,
    pub external_id: Option<String>,
    pub channel_type: ChannelType,
    pub redirect_url: Option<String>,
    /// The page to send the end user to: `{base URL}/signup/{id}`.
    pub hosted_url: String,
    pub channel_id: Option<String>,
    pub phone_number_id: Option<String>,
    pub phone_number: Option<String>,
    pub waba_id: Option<String>,
    pub is_phone_registered: Option<bool>,
    pub webhook_url: Option<String>,
    /// `null` when the link sets no webhook settings.
    pub webhook_events: Option<Vec<String>>,
    pub created_at: String,
    pub completed_at: Option<String>,
    pub expires_at: String,
    /// Present once: in the answer to create, when the link has a webhook URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
}

/// `GET /api/v1/onboarding-links?page=&limit=`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OnboardingLinkList {
    pub onboarding_links: Vec<OnboardingLinkView>,
    pub total: i64,
    pub page: i64,
    pub limit: i64,
}

/// The account's branding on hosted pages, for the Portal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BrandingView {
    pub account_name: String,
    /// Where the logo is served, with a version parameter; `None` without one.
    pub logo_url: Option<String>,
    pub can_manage: bool,
}

/// Largest logo accepted, in bytes.
pub const LOGO_MAX_BYTES: usize = 256 * 1024;
/// Image types accepted for logos (SVG is refused: it can carry scripts).
pub const LOGO_TYPES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

/// The image type of `bytes` by its magic number, when it is one of [`LOGO_TYPES`].
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]) {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_recognised_by_their_bytes() {
        assert_eq!(
            sniff_image(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0]),
            Some("image/png")
        );
        assert_eq!(sniff_image(&[0xff, 0xd8, 0xff, 0xe0]), Some("image/jpeg"));
        assert_eq!(sniff_image(b"GIF89a...."), Some("image/gif"));
        assert_eq!(sniff_image(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(
            sniff_image(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
            None
        );
        assert_eq!(sniff_image(b""), None);
    }
}
