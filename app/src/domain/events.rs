//! Events (SPEC §4.2, §6): their names and what the Meta payload parser hands
//! to the ingest service. Plain data, no I/O.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Names of the events that belong to an account rather than a channel; they
/// go to the account's event endpoints.
pub const ACCOUNT_EVENTS: [&str; 7] = [
    "channel.connected",
    "channel.disconnected",
    "channel.token_expiring",
    "template.status_updated",
    "delivery.exhausted",
    "phone_number.connected",
    "channel.account_update",
];

/// Outbound message statuses in the order Meta moves through them. `failed`
/// is terminal and ranks above everything so nothing follows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    Queued,
    Sent,
    Delivered,
    Read,
    Failed,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Queued => "queued",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Read => "read",
            MessageStatus::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<MessageStatus> {
        [
            MessageStatus::Queued,
            MessageStatus::Sent,
            MessageStatus::Delivered,
            MessageStatus::Read,
            MessageStatus::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }

    /// Stored in `messages.status_rank`: a status only replaces a lower rank.
    pub fn rank(self) -> i64 {
        match self {
            MessageStatus::Queued => 0,
            MessageStatus::Sent => 1,
            MessageStatus::Delivered => 2,
            MessageStatus::Read => 3,
            MessageStatus::Failed => 4,
        }
    }

    /// The customer event for this status (`message.read`, …).
    pub fn event(self) -> &'static str {
        match self {
            MessageStatus::Queued => "message.queued",
            MessageStatus::Sent => "message.sent",
            MessageStatus::Delivered => "message.delivered",
            MessageStatus::Read => "message.read",
            MessageStatus::Failed => "message.failed",
        }
    }
}

/// Which channel a part of a Meta payload belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// WhatsApp `metadata.phone_number_id`.
    Phone(String),
    /// Messenger entry id.
    Page(String),
    /// Instagram entry id (the professional account).
    Instagram(String),
    /// WhatsApp account-level fields (template status updates) by WABA id.
    Waba(String),
}

impl Route {
    /// `(channel_type, asset_id)` of the channel this route names, `None` for
    /// WABA-level routes, which belong to every channel on that WABA.
    pub fn asset(&self) -> Option<(&'static str, &str)> {
        match self {
            Route::Phone(id) => Some(("whatsapp", id)),
            Route::Page(id) => Some(("facebook", id)),
            Route::Instagram(id) => Some(("instagram", id)),
            Route::Waba(_) => None,
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Route::Phone(id) | Route::Page(id) | Route::Instagram(id) | Route::Waba(id) => id,
        }
    }
}

/// One fact Meta reported, before any database look-up.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// An end user's message (`message.received`) or a business echo
    /// (`message.echo`). `data` is the customer `data` object of SPEC §4.2
    /// complete except `media.url`/`media.base64`, which the media service
    /// fills later.
    Message {
        event: &'static str,
        /// Unique per channel: built from Meta's message id (or mid).
        dedupe_key: String,
        /// Meta's time of the message, unix milliseconds.
        occurred_at: i64,
        /// The end user (sender of a received message, recipient of an echo).
        contact: String,
        contact_name: Option<String>,
        data: Value,
    },
    /// A WhatsApp status for one outbound message.
    Status {
        meta_message_id: String,
        status: MessageStatus,
        recipient: String,
        occurred_at: i64,
        /// `[{code, title}]` for `failed`, empty otherwise.
        errors: Vec<MetaErrorRef>,
        /// What Meta said the message costs, when it said so.
        billing: Billing,
    },
    /// A Messenger/Instagram delivery or read: every outbound message to
    /// `recipient` sent at or before `watermark` (ms) is covered, plus the
    /// listed `mids` (Messenger delivery lists them; Instagram read names one).
    Watermark {
        status: MessageStatus,
        recipient: String,
        watermark: i64,
        mids: Vec<String>,
        occurred_at: i64,
    },
    /// WhatsApp `message_template_status_update` (account event
    /// `template.status_updated`); `data` is the customer `data` object.
    TemplateStatus {
        dedupe_key: String,
        occurred_at: i64,
        data: Value,
    },
    /// WhatsApp `account_update` (the whole WABA) or
    /// `phone_number_quality_update` (one number of it): account event
    /// `channel.account_update` per channel concerned, and the channel's
    /// `account_status` / `quality_rating` when Meta's event says what they
    /// became (SPEC §13).
    AccountUpdate {
        /// Digits of the number concerned; `None`: every number of the WABA.
        phone_number: Option<String>,
        /// Meta's `event`, e.g. `ACCOUNT_RESTRICTION`, `FLAGGED`.
        event: String,
        occurred_at: i64,
        /// `ok`, `restricted`, `disabled` or `flagged`; `None`: unchanged.
        account_status: Option<String>,
        /// `GREEN`, `YELLOW`, `RED`, `UNKNOWN`; `None`: unchanged.
        quality_rating: Option<String>,
        /// Meta's `value` as it came.
        details: Value,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaErrorRef {
    pub code: i64,
    pub title: String,
}

/// The `pricing` and `conversation` of a WhatsApp status as customers see
/// them (SPEC §13): `pricing` = `{billable, category, model, type}`,
/// `conversation` = `{id, origin}`, each `Null` when Meta sent none.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Billing {
    #[serde(default)]
    pub pricing: Value,
    #[serde(default)]
    pub conversation: Value,
}

/// The items of one WhatsApp change or one Messenger/Instagram `messaging`
/// item, with where they go.
#[derive(Clone, Debug, PartialEq)]
pub struct Routed {
    pub route: Route,
    pub items: Vec<Item>,
    /// JSON pointer into the webhook body to the Meta item these items came
    /// from (`/entry/0/changes/0/value`, `/entry/0/messaging/2`), for
    /// channels that want it raw (`include_raw`). Only the pointer is kept
    /// here: the value is looked up for those channels alone.
    pub raw: Option<String>,
}
