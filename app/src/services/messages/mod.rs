//! Sending (SPEC §5.1): the one send path behind `POST /api/v1/messages/send`,
//! the Portal's *Send test message* and — through [`send_outgoing`] — the
//! template sender.
//!
//! A send is checked (channel, license, content, recipient, 24-hour window),
//! stored as a `queued` row holding the request as ciphertext and claimed for
//! its first attempt (so an `Idempotency-Key` is taken before Meta is called
//! and a crash mid-call leaves work the queue picks up), then sent:
//! - Meta accepts → `sent`, Meta's id stored, request cleared; on WhatsApp a
//!   `message.sent` event (Meta's own `sent` status later counts as late).
//! - throughput limits, 5xx, timeouts → stays `queued` for the [`queue`]
//!   worker, the caller gets `status: "queued"`.
//! - anything else → the row is removed and the caller gets the error (the
//!   key is free again: only accepted sends are remembered).

pub mod queue;
pub mod read;
pub mod rules;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::ChannelType;
use crate::domain::billing::Tier;
use crate::domain::events::{MessageStatus, MetaErrorRef};
use crate::domain::media::MediaKind;
use crate::error::{AppError, AppResult};
use crate::meta::types::{
    FlowMessage, MediaSource, PageContent, PageMessage, WaContent, WaMessage, WaRecipient,
};
use crate::meta::{ErrorClass, MetaError};
use crate::services::{channels, fanout, licenses};
use crate::state::AppState;
use crate::store;
use crate::store::channels::Channel;

/// The 24-hour customer service window (reference §4.3, §10.5, §11.5).
pub const WINDOW_MS: i64 = 24 * crate::clock::HOUR_MS;
/// Idempotency keys are remembered this long.
pub const IDEMPOTENCY_MS: i64 = 24 * crate::clock::HOUR_MS;
/// How long the first attempt holds its claim; Meta calls time out after 30 s.
pub const FIRST_ATTEMPT_LEASE_MS: i64 = 60_000;

/// The body of `POST /api/v1/messages/send`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// The channel to send from (16 hex).
    pub channel_id: String,
    /// WhatsApp: phone digits without `+`, or a BSUID (`US.…`); Instagram:
    /// IGSID; Facebook: PSID.
    pub recipient: String,
    /// `text` (default), `reaction`, `interactive` or `flow` (WhatsApp).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    /// WhatsApp: `{message_id, emoji}`; `emoji: ""` removes the reaction.
    #[serde(default)]
    pub reaction: Option<ReactionRequest>,
    /// WhatsApp: Meta's `interactive` object (`button`, `list`, `cta_url`).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub interactive: Option<Value>,
    /// `image|video|audio|document|sticker`: `{"link"|"media_id", "caption"?,
    /// "filename"?}` (`media_id` from `POST /api/v1/media`); `pro` tier.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub media: Option<Value>,
    /// Quote a message: a Switchboard message id (UUID) or Meta's id.
    #[serde(default)]
    pub reply_to: Option<String>,
    /// WhatsApp `type: "flow"`: a WhatsApp Flow behind a button.
    #[serde(default)]
    pub flow: Option<FlowRequest>,
}

/// `flow` of a Flow send (WhatsApp only). Becomes Meta's interactive `flow`
/// message: `flow_message_version` "3", `flow_action` `navigate` to
/// `screen` (with `data`), or `data_exchange` without a screen.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowRequest {
    /// The Flow's id in WhatsApp Manager.
    pub flow_id: String,
    /// Button text: 1–20 characters, no emoji (Meta's limit).
    pub cta: String,
    /// Message text above the button: 1–1024 characters.
    pub body: String,
    /// Comes back in the answer's `flow_reply.flow_token`; Meta's default
    /// is "unused".
    #[serde(default)]
    pub flow_token: Option<String>,
    /// First screen to open (`navigate`); omitted: the Flow's endpoint
    /// chooses (`data_exchange`).
    #[serde(default)]
    pub screen: Option<String>,
    /// Input data for `screen`: a non-empty object.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
    /// Send the Flow's draft instead of the published version.
    #[serde(default)]
    pub draft: Option<bool>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReactionRequest {
    /// A Switchboard message id (UUID) or Meta's id (`wamid.…`).
    pub message_id: String,
    pub emoji: String,
}

/// The answer of a send (also replayed for a repeated `Idempotency-Key`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct SendResult {
    pub success: bool,
    /// Switchboard's id (UUID v7); every status event carries it.
    pub message_id: String,
    /// `sent` or `queued`.
    pub status: String,
    /// Meta's id once Meta accepted the message.
    pub meta_message_id: Option<String>,
    /// True when this is the stored answer to an earlier request with the
    /// same `Idempotency-Key` (sent as the `Idempotent-Replayed` header).
    #[serde(skip)]
    pub replayed: bool,
}

/// What goes to Meta, in Switchboard's words; stored encrypted while queued.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Payload {
    Text {
        text: String,
    },
    /// WhatsApp; `message_id` is Meta's id.
    Reaction {
        message_id: String,
        emoji: String,
    },
    /// WhatsApp; Meta's `interactive` object, checked by [`rules::check_interactive`].
    Interactive {
        interactive: Value,
    },
    /// WhatsApp Flow, checked by [`rules::check_flow`].
    Flow {
        flow: FlowMessage,
    },
    /// WhatsApp; `components` built by the templates service. Exempt from
    /// the 24-hour window.
    Template {
        name: String,
        language: String,
        components: Vec<Value>,
    },
    /// Image, video, audio, document or sticker (SPEC §5.1): by a public
    /// link, or by Meta's media id (WhatsApp, uploaded from our copy).
    Media {
        kind: MediaKind,
        #[serde(default)]
        link: Option<String>,
        #[serde(default)]
        meta_media_id: Option<String>,
        #[serde(default)]
        caption: Option<String>,
        #[serde(default)]
        filename: Option<String>,
    },
}

/// `media` of a media send.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MediaRequest {
    #[serde(default)]
    link: Option<String>,
    #[serde(default)]
    media_id: Option<String>,
    #[serde(default)]
    caption: Option<String>,
    #[serde(default)]
    filename: Option<String>,
}

impl Payload {
    /// `messages.kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Payload::Text { .. } => "text",
            Payload::Reaction { .. } => "reaction",
            Payload::Interactive { .. } => "interactive",
            Payload::Flow { .. } => "flow",
            Payload::Template { .. } => "template",
            Payload::Media { kind, .. } => kind.as_str(),
        }
    }
}

/// One message for one recipient, ready to send.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Outgoing {
    pub recipient: String,
    /// Meta's id of the quoted message.
    #[serde(default)]
    pub reply_to: Option<String>,
    pub payload: Payload,
}

/// An `Idempotency-Key` and the hash of the request it came with.
#[derive(Clone, Debug)]
pub struct Idempotency {
    pub key: String,
    pub request_hash: String,
}

impl Idempotency {
    /// Checks the key (1–255 visible ASCII characters) and hashes `request`,
    /// which must serialise the same way for the same request.
    pub fn new(key: &str, request: &impl Serialize) -> AppResult<Idempotency> {
        let key = key.trim();
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(AppError::validation(
                "Idempotency-Key: 1 to 255 visible ASCII characters (a UUID is a good choice)",
            ));
        }
        let canonical = serde_json::to_string(request).unwrap_or_default();
        Ok(Idempotency {
            key: key.to_string(),
            request_hash: crate::crypto::sha256_hex(&canonical),
        })
    }
}

// ---- the doors ------------------------------------------------------------------

/// `POST /api/v1/messages/send` and the Portal's test box.
pub async fn send(
    state: &AppState,
    account_id: &str,
    req: &SendRequest,
    idempotency_key: Option<&str>,
) -> AppResult<SendResult> {
    let mut normalised = req.clone();
    if normalised.kind.as_deref() == Some("text") {
        normalised.kind = None;
    }
    let idem = idempotency_key
        .map(|k| Idempotency::new(k, &normalised))
        .transpose()?;
    if let Some(r) = replay(state, account_id, idem.as_ref()).await? {
        return Ok(r);
    }
    let ch = usable_channel(state, account_id, &req.channel_id).await?;
    let t = channels::channel_type(&ch);
    let payload = build(state, &ch, t, req).await?;
    rules::check_recipient(t, &req.recipient)?;
    let reply_to = match &req.reply_to {
        Some(r) => Some(meta_id_of(state, &ch, r, "reply_to").await?),
        None => None,
    };
    let out = Outgoing {
        recipient: req.recipient.clone(),
        reply_to,
        payload,
    };
    dispatch(state, &ch, out, idem).await
}

/// The send path for other senders (the template sender builds
/// [`Payload::Template`] and calls this): idempotency, channel, license,
/// recipient format and — except for templates — the 24-hour window, then
/// the attempt with queueing on throughput limits. `idem` comes from
/// [`Idempotency::new`] over the sender's own request body.
pub async fn send_outgoing(
    state: &AppState,
    account_id: &str,
    channel_id: &str,
    out: Outgoing,
    idem: Option<Idempotency>,
) -> AppResult<SendResult> {
    if let Some(r) = replay(state, account_id, idem.as_ref()).await? {
        return Ok(r);
    }
    let ch = usable_channel(state, account_id, channel_id).await?;
    let t = channels::channel_type(&ch);
    rules::check_recipient(t, &out.recipient)?;
    prepare(t, &out)?;
    dispatch(state, &ch, out, idem).await
}

/// A sent message's status for the Portal's live view.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StatusView {
    pub message_id: String,
    pub status: String,
    pub meta_message_id: Option<String>,
    pub error: Option<String>,
}

pub async fn status(state: &AppState, account_id: &str, id: &str) -> AppResult<StatusView> {
    let m = store::messages::get(&state.db, account_id, id)
        .await?
        .ok_or_else(|| AppError::not_found("message"))?;
    Ok(StatusView {
        message_id: m.id,
        status: m.status,
        meta_message_id: m.meta_message_id,
        error: m.error,
    })
}

// ---- checks -----------------------------------------------------------------------

/// The account's channel, active, with a license behind it.
async fn usable_channel(
    state: &AppState,
    account_id: &str,
    channel_id: &str,
) -> AppResult<Channel> {
    let ch = channels::load(state, account_id, channel_id).await?;
    if !ch.is_active {
        return Err(AppError::bad_request(
            "channel_inactive",
            "the channel is inactive (deactivated, or Meta rejected its token); connect it again to send",
        ));
    }
    // The channel's own license, not just one somewhere in the account.
    licenses::require_channel_license(state, account_id, &ch.id).await?;
    Ok(ch)
}

/// The payload a request asks for, checked for the channel's type.
async fn build(
    state: &AppState,
    ch: &Channel,
    t: ChannelType,
    req: &SendRequest,
) -> AppResult<Payload> {
    let kind = req.kind.as_deref().unwrap_or("text");
    let whatsapp_only = |what: &str| -> AppResult<()> {
        if t == ChannelType::Whatsapp {
            Ok(())
        } else {
            Err(AppError::bad_request(
                "not_supported",
                format!(
                    "{what} messages are WhatsApp only; {} channels send text",
                    t.label()
                ),
            ))
        }
    };
    let unused = |field: &str, present: bool| -> AppResult<()> {
        if present {
            Err(AppError::validation(format!(
                "{field}: not used by type `{kind}`"
            )))
        } else {
            Ok(())
        }
    };
    if kind != "flow" {
        unused("flow", req.flow.is_some())?;
    }
    match kind {
        "text" => {
            unused("reaction", req.reaction.is_some())?;
            unused("interactive", req.interactive.is_some())?;
            unused("media", req.media.is_some())?;
            let text = req
                .text
                .as_deref()
                .ok_or_else(|| AppError::validation("text: required for type `text`"))?;
            rules::check_text(t, text)?;
            Ok(Payload::Text {
                text: text.to_string(),
            })
        }
        "reaction" => {
            whatsapp_only("Reaction")?;
            unused("text", req.text.is_some())?;
            unused("interactive", req.interactive.is_some())?;
            unused("reply_to", req.reply_to.is_some())?;
            let r = req.reaction.as_ref().ok_or_else(|| {
                AppError::validation("reaction: required: {\"message_id\": …, \"emoji\": …}")
            })?;
            rules::check_emoji(&r.emoji)?;
            let message_id = meta_id_of(state, ch, &r.message_id, "reaction.message_id").await?;
            Ok(Payload::Reaction {
                message_id,
                emoji: r.emoji.clone(),
            })
        }
        "interactive" => {
            whatsapp_only("Interactive")?;
            unused("text", req.text.is_some())?;
            unused("reaction", req.reaction.is_some())?;
            let v = req.interactive.as_ref().ok_or_else(|| {
                AppError::validation("interactive: required for type `interactive`")
            })?;
            rules::check_interactive(v)?;
            Ok(Payload::Interactive {
                interactive: v.clone(),
            })
        }
        "flow" => {
            whatsapp_only("Flow")?;
            unused("text", req.text.is_some())?;
            unused("reaction", req.reaction.is_some())?;
            unused("interactive", req.interactive.is_some())?;
            unused("media", req.media.is_some())?;
            let f = req.flow.as_ref().ok_or_else(|| {
                AppError::validation(
                    "flow: required for type `flow`: {\"flow_id\": …, \"cta\": …, \"body\": …}",
                )
            })?;
            let flow = FlowMessage {
                flow_id: f.flow_id.clone(),
                cta: f.cta.clone(),
                body: f.body.clone(),
                flow_token: f.flow_token.clone(),
                screen: f.screen.clone(),
                data: f.data.clone(),
                draft: f.draft.unwrap_or(false),
            };
            rules::check_flow(&flow)?;
            Ok(Payload::Flow { flow })
        }
        "image" | "video" | "audio" | "document" | "sticker" => {
            let kind = MediaKind::parse(kind).unwrap_or(MediaKind::Image);
            licenses::require_channel_tier(state, &ch.account_id, &ch.id, Tier::Pro).await?;
            unused("text", req.text.is_some())?;
            unused("reaction", req.reaction.is_some())?;
            unused("interactive", req.interactive.is_some())?;
            media_payload(state, ch, t, kind, req.media.as_ref()).await
        }
        "template" => Err(AppError::validation(
            "type: templates are sent with POST /api/v1/messages/send-template",
        )),
        other => Err(AppError::validation(format!(
            "type: unknown message type `{other}`; use text, reaction, interactive or flow"
        ))),
    }
}

/// The checked [`Payload::Media`] of a media send (SPEC §5.1; reference
/// §5.2, §10.4, §11.5).
async fn media_payload(
    state: &AppState,
    ch: &Channel,
    t: ChannelType,
    kind: MediaKind,
    media: Option<&Value>,
) -> AppResult<Payload> {
    let k = kind.as_str();
    let raw = media.ok_or_else(|| {
        AppError::validation(format!(
            "media: required for type `{k}`: {{\"link\": \"https://…\"}} or {{\"media_id\": \"…\"}}"
        ))
    })?;
    let m: MediaRequest = serde_json::from_value(raw.clone())
        .map_err(|e| AppError::validation(format!("media: {e}")))?;
    let caption = m.caption.filter(|c| !c.trim().is_empty());
    let filename = m.filename.filter(|f| !f.trim().is_empty());
    if t == ChannelType::Whatsapp {
        if caption.is_some() && matches!(kind, MediaKind::Audio | MediaKind::Sticker) {
            return Err(AppError::validation(format!(
                "media.caption: WhatsApp {k} messages carry no caption"
            )));
        }
        if let Some(c) = &caption
            && c.chars().count() > 1024
        {
            return Err(AppError::bad_request(
                "text_too_long",
                format!(
                    "media.caption is {} characters; WhatsApp allows at most 1024",
                    c.chars().count()
                ),
            ));
        }
    } else {
        if kind == MediaKind::Sticker {
            return Err(AppError::bad_request(
                "not_supported",
                format!("{} does not take stickers; send an image", t.label()),
            ));
        }
        if caption.is_some() {
            return Err(AppError::validation(format!(
                "media.caption: {} attachments carry no caption; send the text as its own message",
                t.label()
            )));
        }
    }
    if filename.is_some() && kind != MediaKind::Document {
        return Err(AppError::validation(
            "media.filename: only documents carry a file name",
        ));
    }
    let (link, meta_media_id) = match (m.link, m.media_id) {
        (Some(l), None) => {
            let l = l.trim().to_string();
            let ok = url::Url::parse(&l)
                .is_ok_and(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some());
            if !ok || l.len() > 2048 {
                return Err(AppError::validation(
                    "media.link: an absolute http(s) URL Meta can fetch",
                ));
            }
            (Some(l), None)
        }
        (None, Some(id)) if rules::is_switchboard_id(id.trim()) => {
            match crate::services::media::for_send(state, ch, &id, kind).await? {
                crate::services::media::ForSend::MetaId(i) => (None, Some(i)),
                crate::services::media::ForSend::Link(l) => (Some(l), None),
            }
        }
        // Meta's own media id (uploaded elsewhere), passed through on WhatsApp.
        (None, Some(id))
            if t == ChannelType::Whatsapp
                && !id.trim().is_empty()
                && id.trim().bytes().all(|b| b.is_ascii_digit()) =>
        {
            (None, Some(id.trim().to_string()))
        }
        (None, Some(_)) => {
            return Err(AppError::validation(
                "media.media_id: the id POST /api/v1/media returned",
            ));
        }
        _ => {
            return Err(AppError::validation(
                "media: give exactly one of link and media_id",
            ));
        }
    };
    Ok(Payload::Media {
        kind,
        link,
        meta_media_id,
        caption,
        filename,
    })
}

/// Meta's id for a message named by the customer: a Switchboard id (UUID) of
/// a message sent on this channel, or Meta's own id, passed through.
async fn meta_id_of(state: &AppState, ch: &Channel, id: &str, field: &str) -> AppResult<String> {
    let id = id.trim();
    if id.is_empty() || id.len() > 512 {
        return Err(AppError::validation(format!(
            "{field}: a message id (Switchboard UUID or Meta id)"
        )));
    }
    if !rules::is_switchboard_id(id) {
        return Ok(id.to_string());
    }
    let m = store::messages::get(&state.db, &ch.account_id, id)
        .await?
        .filter(|m| m.channel_id == ch.id)
        .ok_or_else(|| {
            AppError::validation(format!("{field}: no message {id} was sent on this channel"))
        })?;
    m.meta_message_id.ok_or_else(|| {
        AppError::validation(format!(
            "{field}: message {id} has no Meta id yet (it is {}); try again once it is sent",
            m.status
        ))
    })
}

/// Free-form messages need the recipient to have written within 24 hours.
async fn check_window(state: &AppState, ch: &Channel, out: &Outgoing) -> AppResult<()> {
    if matches!(out.payload, Payload::Template { .. }) {
        return Ok(());
    }
    let last = store::contacts::last_inbound_at(&state.db, &ch.id, &out.recipient).await?;
    if last.is_some_and(|at| at > state.now() - WINDOW_MS) {
        return Ok(());
    }
    let why = if last.is_some() {
        "the recipient last wrote to this channel more than 24 hours ago"
    } else {
        "the recipient has not written to this channel yet"
    };
    let detail = match channels::channel_type(ch) {
        ChannelType::Whatsapp => format!(
            "{why}: outside WhatsApp's 24-hour window only approved templates can be sent; \
             use POST /api/v1/messages/send-template"
        ),
        t => format!(
            "{why}: {} only allows replies within 24 hours of the person's last message",
            t.label()
        ),
    };
    Err(AppError::bad_request("outside_window", detail))
}

/// Answers a repeated `Idempotency-Key`: the first result for the same body,
/// 409 for another body or while the first request is still running.
async fn replay(
    state: &AppState,
    account_id: &str,
    idem: Option<&Idempotency>,
) -> AppResult<Option<SendResult>> {
    let Some(idem) = idem else {
        return Ok(None);
    };
    let now = state.now();
    store::messages::expire_idempotency_key(&state.db, account_id, &idem.key, now - IDEMPOTENCY_MS)
        .await?;
    let Some(k) = store::messages::by_idempotency_key(&state.db, account_id, &idem.key).await?
    else {
        return Ok(None);
    };
    replay_of(&k, idem, now).map(Some)
}

fn replay_of(k: &store::messages::Keyed, idem: &Idempotency, now: i64) -> AppResult<SendResult> {
    if k.request_hash.as_deref() != Some(idem.request_hash.as_str()) {
        return Err(AppError::conflict(
            "idempotency_conflict",
            "this Idempotency-Key was already used with a different request body; use a new key",
        ));
    }
    if k.status == "queued" && k.attempts == 0 && k.lease_until.is_some_and(|l| l > now) {
        return Err(AppError::conflict(
            "idempotency_conflict",
            "a request with this Idempotency-Key is still being sent; retry in a few seconds",
        ));
    }
    // The first answer was `sent` exactly when Meta took it on the first attempt.
    let sent_at_once = k.attempts == 1 && k.meta_message_id.is_some();
    Ok(SendResult {
        success: true,
        message_id: k.id.clone(),
        status: if sent_at_once { "sent" } else { "queued" }.into(),
        meta_message_id: if sent_at_once {
            k.meta_message_id.clone()
        } else {
            None
        },
        replayed: true,
    })
}

// ---- sending ----------------------------------------------------------------------

/// The Graph call for one outgoing message.
pub(crate) enum Prepared {
    Whatsapp(WaMessage),
    Messenger(PageMessage),
    Instagram(PageMessage),
}

pub(crate) fn prepare(t: ChannelType, out: &Outgoing) -> AppResult<Prepared> {
    if t == ChannelType::Whatsapp {
        let content = match &out.payload {
            Payload::Text { text } => WaContent::Text {
                body: text.clone(),
                preview_url: text.contains("https://") || text.contains("http://"),
            },
            Payload::Reaction { message_id, emoji } => WaContent::Reaction {
                message_id: message_id.clone(),
                emoji: emoji.clone(),
            },
            Payload::Interactive { interactive } => WaContent::Interactive(interactive.clone()),
            Payload::Flow { flow } => WaContent::Flow(flow.clone()),
            Payload::Template {
                name,
                language,
                components,
            } => WaContent::Template {
                name: name.clone(),
                language: language.clone(),
                components: components.clone(),
            },
            Payload::Media {
                kind,
                link,
                meta_media_id,
                caption,
                filename,
            } => WaContent::Media {
                kind: *kind,
                source: match (meta_media_id, link) {
                    (Some(id), _) => MediaSource::Id(id.clone()),
                    (None, l) => MediaSource::Link(l.clone().unwrap_or_default()),
                },
                caption: caption.clone(),
                filename: filename.clone(),
            },
        };
        return Ok(Prepared::Whatsapp(WaMessage {
            to: WaRecipient::parse(&out.recipient),
            reply_to: out.reply_to.clone(),
            content,
            biz_opaque_callback_data: None,
        }));
    }
    let mut m = match &out.payload {
        Payload::Text { text } => PageMessage::text(&out.recipient, text),
        // Messenger/Instagram attachments go by URL (reference §10.4, §11.5).
        Payload::Media {
            kind,
            link: Some(url),
            ..
        } => {
            let mut m = PageMessage::text(&out.recipient, "");
            m.content = PageContent::Attachment {
                kind: *kind,
                url: url.clone(),
            };
            m
        }
        other => {
            return Err(AppError::bad_request(
                "not_supported",
                format!(
                    "{} messages are WhatsApp only; {} channels send text and media",
                    other.kind(),
                    t.label()
                ),
            ));
        }
    };
    m.reply_to = out.reply_to.clone();
    Ok(if t == ChannelType::Instagram {
        Prepared::Instagram(m)
    } else {
        Prepared::Messenger(m)
    })
}

/// Calls Meta; `Ok` carries Meta's message id.
pub(crate) async fn call_meta(
    state: &AppState,
    ch: &Channel,
    p: &Prepared,
) -> AppResult<Result<Option<String>, MetaError>> {
    let token = channels::token(state, ch)?;
    let res = match p {
        Prepared::Whatsapp(m) => state
            .meta
            .send_whatsapp(&ch.asset_id, &token, m)
            .await
            .map(|r| Some(r.message_id().to_string())),
        Prepared::Messenger(m) => state
            .meta
            .send_page_message(&ch.asset_id, &token, m)
            .await
            .map(|r| r.message_id),
        Prepared::Instagram(m) => state
            .meta
            .send_instagram_message(&ch.asset_id, &token, m)
            .await
            .map(|r| r.message_id),
    };
    if let Err(e) = &res {
        let code = e
            .graph()
            .map(|g| g.code.to_string())
            .unwrap_or_else(|| "transport".into());
        state.metrics.incr("meta_api_errors_total", &code);
    }
    Ok(res.map(|id| id.filter(|s| !s.is_empty())))
}

/// Stores, attempts once and answers.
async fn dispatch(
    state: &AppState,
    ch: &Channel,
    out: Outgoing,
    idem: Option<Idempotency>,
) -> AppResult<SendResult> {
    let t = channels::channel_type(ch);
    let prepared = prepare(t, &out)?;
    check_window(state, ch, &out).await?;
    let now = state.now();
    let id = super::new_id();
    let lease = now + FIRST_ATTEMPT_LEASE_MS;
    let raw = serde_json::to_vec(&out).map_err(|e| AppError::Internal(e.to_string()))?;
    let row = store::messages::NewSend {
        id: id.clone(),
        account_id: ch.account_id.clone(),
        channel_id: ch.id.clone(),
        recipient: out.recipient.clone(),
        kind: out.payload.kind().to_string(),
        request: state.cipher.encrypt(&raw),
        idempotency_key: idem.as_ref().map(|i| i.key.clone()),
        request_hash: idem.as_ref().map(|i| i.request_hash.clone()),
        lease_until: lease,
        created_at: now,
    };
    if !store::messages::insert_send(&state.db, &row).await? {
        // Another request with the same key got there first.
        if let Some(i) = &idem
            && let Some(k) =
                store::messages::by_idempotency_key(&state.db, &ch.account_id, &i.key).await?
        {
            return replay_of(&k, i, now);
        }
        return Err(AppError::Internal(format!(
            "message {id} could not be stored"
        )));
    }
    let answer = call_meta(state, ch, &prepared).await?;
    let now = state.now();
    match answer {
        Ok(meta_id) => {
            sent(
                state,
                ch,
                &id,
                &out.recipient,
                lease,
                meta_id.as_deref(),
                1,
                now,
            )
            .await?;
            Ok(SendResult {
                success: true,
                message_id: id,
                status: MessageStatus::Sent.as_str().into(),
                meta_message_id: meta_id,
                replayed: false,
            })
        }
        Err(e) if matches!(e.class(), ErrorClass::Throughput | ErrorClass::Transient) => {
            let next = now + queue::backoff_ms(1);
            store::messages::reschedule(&state.db, &id, lease, 1, next, &e.to_string(), now)
                .await?;
            tracing::info!(message = %id, error = %e, "Meta is busy; send queued");
            Ok(SendResult {
                success: true,
                message_id: id,
                status: MessageStatus::Queued.as_str().into(),
                meta_message_id: None,
                replayed: false,
            })
        }
        Err(e) => {
            store::messages::delete_unsent(&state.db, &id, lease).await?;
            Err(refused(state, ch, &e).await)
        }
    }
}

/// Marks a send `sent` and, on WhatsApp, records `message.sent` in the same
/// transaction (dedupe key as the ingest builds it, so Meta's own `sent`
/// status is then a late duplicate), then the statuses Meta reported before
/// this moment (parked by the ingest).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn sent(
    state: &AppState,
    ch: &Channel,
    id: &str,
    recipient: &str,
    lease: i64,
    meta_id: Option<&str>,
    attempts: i64,
    now: i64,
) -> AppResult<bool> {
    // Before the transaction: reading the licenses may renew one (a write).
    let held = unlicensed(state, ch).await?;
    let mut tx = state.db.begin().await?;
    if !store::messages::mark_sent(&mut tx, id, lease, meta_id, attempts, now).await? {
        return Ok(false);
    }
    let mut wake = false;
    if channels::channel_type(ch) == ChannelType::Whatsapp {
        let data = status_data(id, MessageStatus::Sent, recipient, meta_id, None, &[]);
        wake = record_status(state, &mut tx, ch, id, MessageStatus::Sent, data, held, now).await?;
        if let Some(meta_id) = meta_id {
            wake |= super::inbound::apply_early_statuses(state, &mut tx, ch, meta_id, !held, now)
                .await?;
        }
    }
    tx.commit().await?;
    if wake {
        state.relay_wake.notify_one();
    }
    Ok(true)
}

/// True when the channel holds no license: its status events are stored held.
pub(crate) async fn unlicensed(state: &AppState, ch: &Channel) -> AppResult<bool> {
    licenses::held(state, &ch.account_id, Some(&ch.id)).await
}

/// `data` of a status event, as the ingest builds it (SPEC §4.2).
pub(crate) fn status_data(
    id: &str,
    status: MessageStatus,
    recipient: &str,
    meta_id: Option<&str>,
    error: Option<&str>,
    errors: &[MetaErrorRef],
) -> Value {
    let mut data = json!({
        "message_id": id,
        "status": status.as_str(),
        "recipient": recipient,
        "meta_message_id": meta_id,
        // Meta's pricing comes with its status webhooks (SPEC §13); a status
        // Switchboard reports from the send itself has none yet.
        "pricing": null,
        "conversation": null,
    });
    if status == MessageStatus::Failed {
        data["error"] = json!(error);
        data["errors"] = json!(errors);
    }
    data
}

/// Stores a status event of a send, delivered when the customer enabled it
/// (held without a license). Returns true when a delivery is due now.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn record_status(
    state: &AppState,
    tx: &mut sqlx::AnyConnection,
    ch: &Channel,
    id: &str,
    status: MessageStatus,
    data: Value,
    held: bool,
    now: i64,
) -> AppResult<bool> {
    let event = status.event();
    let targets: Vec<_> = if fanout::channel_wants(ch, event) {
        fanout::channel_target(ch).into_iter().collect()
    } else {
        vec![]
    };
    let event_id = fanout::new_event_id();
    let mut body = fanout::channel_body(&event_id, event, &ch.id, &ch.channel_type, now, data);
    if ch.include_raw {
        // Not from a Meta webhook: no item of Meta's to pass through (SPEC §13).
        body["raw"] = Value::Null;
    }
    let stored = fanout::record(
        tx,
        &state.cipher,
        now,
        &event_id,
        &fanout::NewEvent {
            account_id: ch.account_id.clone(),
            channel_id: Some(ch.id.clone()),
            event: event.to_string(),
            dedupe_key: Some(format!("st:{id}:{}", status.as_str())),
            inbound_payload_id: None,
            occurred_at: now,
        },
        &body,
        &targets,
        held,
    )
    .await?;
    Ok(stored.is_some() && !targets.is_empty() && !held)
}

/// Meta's error ids as the status events carry them.
pub(crate) fn error_refs(e: &MetaError) -> Vec<MetaErrorRef> {
    e.graph()
        .map(|g| {
            vec![MetaErrorRef {
                code: g.code,
                title: g.message.clone(),
            }]
        })
        .unwrap_or_default()
}

/// Is Meta's refusal about the recipient (not on WhatsApp, unknown PSID…)?
fn recipient_problem(e: &MetaError) -> bool {
    e.graph().is_some_and(|g| {
        matches!(
            (g.code, g.error_subcode),
            (131026 | 131021 | 131030 | 130472 | 551, _)
                | (100, Some(2018001 | 2534014))
                | (10, Some(2018108))
        )
    })
}

/// Turns a refusal of the first attempt into the caller's error. A dead
/// token deactivates the channel (`channel.disconnected`, mail) first.
async fn refused(state: &AppState, ch: &Channel, e: &MetaError) -> AppError {
    match e.class() {
        ErrorClass::TokenDead => {
            if let Err(err) = channels::token_died(state, ch, &e.to_string()).await {
                tracing::error!(channel = %ch.id, error = %err, "deactivating a channel with a dead token failed");
            }
            AppError::bad_request(
                "channel_inactive",
                format!(
                    "Meta rejected the channel's access token ({e}); the channel is now inactive. \
                     Connect it again to send."
                ),
            )
        }
        ErrorClass::OutsideWindow => AppError::bad_request(
            "outside_window",
            format!(
                "Meta refused the message: the 24-hour window is closed ({e}){}",
                if channels::channel_type(ch) == ChannelType::Whatsapp {
                    "; use POST /api/v1/messages/send-template"
                } else {
                    ""
                }
            ),
        ),
        _ if recipient_problem(e) => AppError::bad_request(
            "invalid_recipient",
            format!("Meta refused the recipient: {e}"),
        ),
        _ => AppError::client(502, "meta_error", format!("Meta refused the message: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyed(
        hash: &str,
        status: &str,
        attempts: i64,
        meta: Option<&str>,
    ) -> store::messages::Keyed {
        store::messages::Keyed {
            id: "m1".into(),
            request_hash: Some(hash.into()),
            status: status.into(),
            meta_message_id: meta.map(Into::into),
            attempts,
            next_attempt_at: None,
            lease_until: None,
            created_at: 0,
        }
    }

    #[test]
    fn replays_say_what_the_first_answer_said() {
        let idem = Idempotency::new("k-1", &json!({"a": 1})).unwrap();
        let h = idem.request_hash.clone();
        let r = replay_of(&keyed(&h, "delivered", 1, Some("wamid.x")), &idem, 0).unwrap();
        assert_eq!(
            (r.status.as_str(), r.meta_message_id.as_deref()),
            ("sent", Some("wamid.x"))
        );
        assert!(r.replayed);
        // Queued first, sent by the worker later: the first answer was `queued`.
        let r = replay_of(&keyed(&h, "sent", 3, Some("wamid.y")), &idem, 0).unwrap();
        assert_eq!((r.status.as_str(), r.meta_message_id), ("queued", None));
        let e = replay_of(&keyed("other", "sent", 1, Some("w")), &idem, 0).unwrap_err();
        assert_eq!(
            (e.status().as_u16(), e.code()),
            (409, "idempotency_conflict")
        );
        let mut running = keyed(&h, "queued", 0, None);
        running.lease_until = Some(10);
        assert_eq!(
            replay_of(&running, &idem, 5).unwrap_err().code(),
            "idempotency_conflict"
        );
    }

    #[test]
    fn keys_are_checked_and_hashes_are_canonical() {
        assert!(Idempotency::new("", &1).is_err());
        assert!(Idempotency::new("has space", &1).is_err());
        assert!(Idempotency::new(&"k".repeat(256), &1).is_err());
        let a = Idempotency::new("k", &json!({"b": 1, "a": 2})).unwrap();
        let b = Idempotency::new("k", &json!({"a": 2, "b": 1})).unwrap();
        assert_eq!(a.request_hash, b.request_hash);
    }

    #[test]
    fn payloads_become_meta_bodies() {
        let out = Outgoing {
            recipient: "15550100001".into(),
            reply_to: Some("wamid.q".into()),
            payload: Payload::Text { text: "hi".into() },
        };
        let Prepared::Whatsapp(m) = prepare(ChannelType::Whatsapp, &out).unwrap() else {
            panic!("whatsapp")
        };
        let b = m.to_body();
        assert_eq!(b["to"], "15550100001");
        assert_eq!(b["context"]["message_id"], "wamid.q");
        assert_eq!(b["text"]["body"], "hi");
        let Prepared::Messenger(m) = prepare(ChannelType::Facebook, &out).unwrap() else {
            panic!("messenger")
        };
        let b = m.to_body();
        assert_eq!(b["recipient"]["id"], "15550100001");
        assert_eq!(b["message"]["reply_to"]["mid"], "wamid.q");
        let react = Outgoing {
            payload: Payload::Reaction {
                message_id: "m".into(),
                emoji: "👍".into(),
            },
            ..out.clone()
        };
        assert_eq!(
            prepare(ChannelType::Instagram, &react)
                .err()
                .map(|e| e.code()),
            Some("not_supported")
        );
        // The stored form round-trips.
        let raw = serde_json::to_string(&react).unwrap();
        assert_eq!(serde_json::from_str::<Outgoing>(&raw).unwrap(), react);
    }
}
