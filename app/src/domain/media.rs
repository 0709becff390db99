//! Media rules without I/O (SPEC §4.4, §5.1; reference §6.3, §10.4, §11.5):
//! the kinds, what MIME types and sizes Meta accepts for each, how a channel
//! wants media in its events, and the shape of an upload's answer.

use serde::{Deserialize, Serialize};

/// `image|video|audio|document|sticker`, the media message types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Image,
    Video,
    Audio,
    Document,
    Sticker,
}

impl MediaKind {
    pub const ALL: [MediaKind; 5] = [
        MediaKind::Image,
        MediaKind::Video,
        MediaKind::Audio,
        MediaKind::Document,
        MediaKind::Sticker,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
            MediaKind::Document => "document",
            MediaKind::Sticker => "sticker",
        }
    }

    pub fn parse(s: &str) -> Option<MediaKind> {
        MediaKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The attachment type on Messenger and Instagram, which call documents
    /// `file` and have no stickers (a sticker goes as an image).
    pub fn messenger_type(self) -> &'static str {
        match self {
            MediaKind::Document => "file",
            MediaKind::Sticker => "image",
            other => other.as_str(),
        }
    }

    /// WhatsApp's largest file of this kind, in bytes (reference §6.3; the
    /// static sticker limit, since an upload cannot tell animated ones apart).
    pub fn max_bytes(self) -> u64 {
        match self {
            MediaKind::Image => 5 * MB,
            MediaKind::Video | MediaKind::Audio => 16 * MB,
            MediaKind::Document => 100 * MB,
            MediaKind::Sticker => 500 * 1024,
        }
    }

    /// The MIME types WhatsApp accepts for this kind; documents take any
    /// common type, which [`MediaKind::accepts`] decides.
    pub fn mime_types(self) -> &'static [&'static str] {
        match self {
            MediaKind::Image => &["image/jpeg", "image/png"],
            MediaKind::Video => &["video/mp4", "video/3gpp"],
            MediaKind::Audio => &[
                "audio/aac",
                "audio/amr",
                "audio/mpeg",
                "audio/mp4",
                "audio/ogg",
            ],
            MediaKind::Sticker => &["image/webp"],
            MediaKind::Document => DOCUMENT_TYPES,
        }
    }

    /// True when Meta takes `mime` (parameters such as `; codecs=opus`
    /// ignored) for this kind.
    pub fn accepts(self, mime: &str) -> bool {
        let base = base_mime(mime);
        self.mime_types().contains(&base.as_str())
    }

    /// The kind a MIME type is most naturally sent as.
    pub fn for_mime(mime: &str) -> MediaKind {
        let base = base_mime(mime);
        [
            MediaKind::Image,
            MediaKind::Sticker,
            MediaKind::Video,
            MediaKind::Audio,
        ]
        .into_iter()
        .find(|k| k.accepts(&base))
        .unwrap_or(MediaKind::Document)
    }
}

pub const MB: u64 = 1024 * 1024;

/// The largest file `POST /api/v1/media` takes at all (a WhatsApp document).
pub const MAX_UPLOAD_BYTES: u64 = 100 * MB;

/// `base64` media mode inlines files up to this size; larger ones get a link.
pub const MAX_INLINE_BYTES: u64 = 5 * MB;

/// The document types accepted for upload: PDF, Office and OpenDocument
/// formats, plain text and CSV, as Meta lists "any common type".
pub const DOCUMENT_TYPES: &[&str] = &[
    "application/pdf",
    "text/plain",
    "text/csv",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/zip",
];

/// `audio/ogg; codecs=opus` → `audio/ogg`, lowercased.
pub fn base_mime(mime: &str) -> String {
    mime.split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The essence of a MIME type (`type/subtype`, lowercased, parameters
/// dropped) when it is well-formed: both parts RFC 6838 restricted names.
/// `None` for anything else. Only essences are stored and sent back in a
/// `Content-Type`, so a stored type can carry neither a `charset` a browser
/// would honour nor text smuggled into parameters.
pub fn essence(mime: &str) -> Option<String> {
    let base = base_mime(mime);
    let (kind, sub) = base.split_once('/')?;
    let name = |s: &str| {
        (1..=63).contains(&s.len())
            && s.as_bytes()[0].is_ascii_alphanumeric()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    (name(kind) && name(sub)).then_some(base)
}

/// [`essence`], or `application/octet-stream` when the type is malformed.
pub fn essence_or_binary(mime: &str) -> String {
    essence(mime).unwrap_or_else(|| "application/octet-stream".into())
}

/// The largest inbound file of `kind` (the event's `type`) on a channel of
/// `channel_type` that is downloaded; a larger one is refused while streaming.
/// WhatsApp: its per-type limits (the animated sticker limit, the larger of
/// the two). Messenger and Instagram: 8 MB images, 25 MB anything else.
pub fn inbound_max_bytes(channel_type: &str, kind: &str) -> u64 {
    if channel_type == "whatsapp" {
        return MediaKind::parse(kind).map_or(MAX_UPLOAD_BYTES, MediaKind::max_bytes);
    }
    match kind {
        "image" | "sticker" => 8 * MB,
        _ => 25 * MB,
    }
}

/// Every MIME type any kind accepts (an upload must be one of them).
pub fn uploadable(mime: &str) -> bool {
    MediaKind::ALL.iter().any(|k| k.accepts(mime))
}

/// How a channel's events carry received media (SPEC §4.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaMode {
    /// `media.url`, a signed link that expires (24 h by default).
    #[default]
    Link,
    /// `media.base64` up to 5 MB (larger files fall back to the link).
    Base64,
    /// Both.
    Both,
}

impl MediaMode {
    pub const ALL: [MediaMode; 3] = [MediaMode::Link, MediaMode::Base64, MediaMode::Both];

    pub fn as_str(self) -> &'static str {
        match self {
            MediaMode::Link => "link",
            MediaMode::Base64 => "base64",
            MediaMode::Both => "both",
        }
    }

    pub fn parse(s: &str) -> Option<MediaMode> {
        MediaMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s.trim().to_ascii_lowercase())
    }

    pub fn label(self) -> &'static str {
        match self {
            MediaMode::Link => "Link (signed URL, default)",
            MediaMode::Base64 => "Inline base64 (up to 5 MB, link above)",
            MediaMode::Both => "Link and inline base64",
        }
    }

    /// Whether `size` bytes go inline, and whether the link stays in.
    pub fn carries(self, size: u64) -> (bool, bool) {
        let inline = self != MediaMode::Link && size <= MAX_INLINE_BYTES;
        (inline, self != MediaMode::Base64 || !inline)
    }
}

/// The answer of `POST /api/v1/media`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UploadedMedia {
    /// Switchboard's media id (UUID): `media.media_id` of a send.
    pub id: String,
    pub mime_type: String,
    /// Bytes.
    pub size: u64,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
}

/// Human size, `1.2 MB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KB", "MB", "GB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_types() {
        assert!(MediaKind::Audio.accepts("audio/ogg; codecs=opus"));
        assert!(MediaKind::Image.accepts("IMAGE/PNG"));
        assert!(!MediaKind::Image.accepts("image/webp"));
        assert!(MediaKind::Document.accepts("application/pdf"));
        assert!(!MediaKind::Document.accepts("application/x-msdownload"));
        assert_eq!(MediaKind::for_mime("image/webp"), MediaKind::Sticker);
        assert_eq!(MediaKind::for_mime("text/plain"), MediaKind::Document);
        assert!(uploadable("video/3gpp") && !uploadable("image/gif"));
        assert_eq!(MediaKind::Image.max_bytes(), 5 * MB);
        assert_eq!(MediaKind::parse("sticker"), Some(MediaKind::Sticker));
        assert_eq!(MediaKind::parse("file"), None);
    }

    #[test]
    fn essences() {
        assert_eq!(
            essence("Image/PNG; x=<script>").as_deref(),
            Some("image/png")
        );
        assert_eq!(
            essence("text/html;charset=utf-8").as_deref(),
            Some("text/html")
        );
        assert_eq!(
            essence("application/vnd.ms-excel").as_deref(),
            Some("application/vnd.ms-excel")
        );
        for bad in [
            "",
            "image",
            "image/",
            "/png",
            "image/png/x",
            "ima ge/png",
            "image/<b>",
        ] {
            assert_eq!(essence(bad), None, "{bad}");
        }
        assert_eq!(essence_or_binary("x"), "application/octet-stream");
    }

    #[test]
    fn inbound_caps() {
        assert_eq!(inbound_max_bytes("whatsapp", "image"), 5 * MB);
        assert_eq!(inbound_max_bytes("whatsapp", "sticker"), 500 * 1024);
        assert_eq!(inbound_max_bytes("whatsapp", "document"), 100 * MB);
        assert_eq!(inbound_max_bytes("facebook", "image"), 8 * MB);
        assert_eq!(inbound_max_bytes("instagram", "video"), 25 * MB);
    }

    #[test]
    fn modes() {
        assert_eq!(MediaMode::parse(" Both "), Some(MediaMode::Both));
        assert_eq!(MediaMode::parse("inline"), None);
        assert_eq!(MediaMode::Link.carries(10), (false, true));
        assert_eq!(MediaMode::Base64.carries(10), (true, false));
        assert_eq!(MediaMode::Base64.carries(6 * MB), (false, true));
        assert_eq!(MediaMode::Both.carries(10), (true, true));
    }

    #[test]
    fn sizes() {
        assert_eq!(human_size(12), "12 bytes");
        assert_eq!(human_size(1536), "1.5 KB");
        assert_eq!(human_size(5 * MB), "5.0 MB");
    }
}
