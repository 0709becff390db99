//! Meta webhook bodies → routed items (SPEC §4.2, §10): the one place that
//! knows the shapes of WhatsApp `changes[].value`, Messenger and Instagram
//! `messaging[]`. Pure: bytes in, plain data out; the ingest service does
//! the look-ups and writes.
//!
//! Meta adds fields and types without notice, so nothing here is strict:
//! unknown objects, fields and event kinds are skipped (the raw payload is
//! stored anyway), unknown message types become `unsupported`, and a fact
//! that lacks the id it would be deduplicated on is dropped rather than
//! given a key that could collide with another fact.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::clock::rfc3339;
use crate::domain::events::{Billing, Item, MessageStatus, MetaErrorRef, Route, Routed};

pub const MESSAGE_RECEIVED: &str = "message.received";
pub const MESSAGE_ECHO: &str = "message.echo";

/// Every fact of a Meta webhook body, grouped by the channel it belongs to:
/// one [`Routed`] per WhatsApp change and per Messenger/Instagram entry of a
/// kind this parser knows. `items` may be empty (an Instagram unsend, a
/// change holding only value-level errors) so the route still names its
/// asset. `Err` only when the body is not a JSON object.
pub fn parse(body: &[u8]) -> Result<Vec<Routed>, String> {
    let root: Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(root) = root else {
        return Err("the payload is not a JSON object".into());
    };
    let entries = list(root.get("entry"));
    let mut out = Vec::new();
    match root.get("object").and_then(Value::as_str) {
        Some("whatsapp_business_account") => {
            for (i, entry) in entries.iter().enumerate() {
                whatsapp_entry(i, entry, &mut out);
            }
        }
        Some("page") => {
            for (i, entry) in entries.iter().enumerate() {
                messaging_entry(Platform::Messenger, i, entry, &mut out);
            }
        }
        Some("instagram") => {
            for (i, entry) in entries.iter().enumerate() {
                messaging_entry(Platform::Instagram, i, entry, &mut out);
            }
        }
        _ => {}
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Small readers: Meta is loose about strings vs numbers and about units.

fn list(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// An id or label as a string: Meta sends most ids as strings but some as
/// numbers (template ids, echo app ids). Empty strings count as absent.
fn string(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A time in unix milliseconds. WhatsApp sends seconds (as strings),
/// Messenger and Instagram milliseconds (as numbers); anything below 10^11
/// is taken as seconds (10^11 s is far in the future, 10^11 ms is 1973).
/// Seconds too far below zero to fit in milliseconds count as absent.
fn millis(v: Option<&Value>) -> Option<i64> {
    let n = match v? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))?,
        Value::String(s) => s.trim().parse::<i64>().ok()?,
        _ => return None,
    };
    if n < 100_000_000_000 {
        n.checked_mul(1000)
    } else {
        Some(n)
    }
}

/// WhatsApp numbers are digits only; anything else in a sender field is a
/// business-scoped user id (`US.1349…`).
fn is_phone(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

// ---------------------------------------------------------------------------
// The customer `data` object of a message (SPEC §10).

/// The type of a message and its type-specific keys.
struct Content {
    kind: String,
    fields: Vec<(&'static str, Value)>,
}

impl Content {
    fn one(kind: &str, key: &'static str, value: Value) -> Content {
        Content {
            kind: kind.to_string(),
            fields: vec![(key, value)],
        }
    }

    fn unsupported(what: &str) -> Content {
        Content::one("unsupported", "unsupported_type", json!(what))
    }

    /// `type` = the key, e.g. `text`, `location`.
    fn keyed(key: &'static str, value: Value) -> Content {
        Content::one(key, key, value)
    }
}

/// The keys every message `data` has, whatever its type.
struct Common {
    message_id: Option<String>,
    from: String,
    from_name: Option<String>,
    from_user_id: Option<String>,
    from_username: Option<String>,
    occurred_at: i64,
    context: Value,
}

impl Common {
    fn data(&self, content: Content) -> Value {
        let mut m = Map::new();
        m.insert("message_id".into(), json!(self.message_id));
        m.insert("from".into(), json!(self.from));
        m.insert("from_name".into(), json!(self.from_name));
        m.insert("from_user_id".into(), json!(self.from_user_id));
        m.insert("from_username".into(), json!(self.from_username));
        m.insert("type".into(), json!(content.kind));
        m.insert("timestamp".into(), json!(rfc3339(self.occurred_at)));
        m.insert("context".into(), self.context.clone());
        for (k, v) in content.fields {
            m.insert(k.into(), v);
        }
        Value::Object(m)
    }
}

/// `media` of image/video/audio/document/sticker. `url` (and `base64`) are
/// Switchboard's own copy, filled by the media service; `source_url` is
/// where Meta offers the file when the webhook says so (Messenger and
/// Instagram attachments), which is what that service fetches when there is
/// no WhatsApp media id.
#[derive(Default)]
struct Media {
    id: Option<String>,
    mime_type: Option<String>,
    sha256: Option<String>,
    size: Option<i64>,
    caption: Option<String>,
    filename: Option<String>,
    source_url: Option<String>,
}

impl Media {
    fn json(self) -> Value {
        json!({
            "id": self.id,
            "mime_type": self.mime_type,
            "sha256": self.sha256,
            "size": self.size,
            "caption": self.caption,
            "filename": self.filename,
            "url": null,
            "source_url": self.source_url,
        })
    }
}

/// `reply_to` is Meta's id of the quoted message; `reply_to_message_id`,
/// Switchboard's id of it when it was sent through Switchboard, is filled by
/// the ingest service, which can look it up.
fn context(reply_to: Option<String>, forwarded: bool) -> Value {
    json!({"reply_to": reply_to, "reply_to_message_id": null, "forwarded": forwarded})
}

// ---------------------------------------------------------------------------
// WhatsApp

fn whatsapp_entry(e: usize, entry: &Value, out: &mut Vec<Routed>) {
    let waba = string(entry.get("id"));
    let entry_time = millis(entry.get("time"));
    for (c, change) in list(entry.get("changes")).iter().enumerate() {
        let value = change.get("value").unwrap_or(&Value::Null);
        let raw = Some(format!("/entry/{e}/changes/{c}/value"));
        let phone = || string(value.pointer("/metadata/phone_number_id"));
        match change.get("field").and_then(Value::as_str) {
            Some("messages") => {
                let Some(phone) = phone() else { continue };
                let profiles = Profiles::new(list(value.get("contacts")));
                let mut items: Vec<Item> = list(value.get("messages"))
                    .iter()
                    .filter_map(|m| wa_message(m, &profiles))
                    .collect();
                items.extend(list(value.get("statuses")).iter().filter_map(wa_status));
                out.push(Routed {
                    route: Route::Phone(phone),
                    items,
                    raw,
                });
            }
            // Coexistence: the business answered from the WhatsApp Business
            // app on the phone. Outbound, so never `message.received`.
            Some("smb_message_echoes") => {
                let Some(phone) = phone() else { continue };
                let items = list(value.get("message_echoes"))
                    .iter()
                    .filter_map(wa_echo)
                    .collect();
                out.push(Routed {
                    route: Route::Phone(phone),
                    items,
                    raw,
                });
            }
            Some("message_template_status_update") => {
                let Some(waba) = waba.clone() else { continue };
                let items = template_status(value, entry_time).into_iter().collect();
                out.push(Routed {
                    route: Route::Waba(waba),
                    items,
                    raw,
                });
            }
            // Account signals (SPEC §13): the WABA's standing, or one
            // number's quality, named by its display number.
            Some(field @ ("account_update" | "phone_number_quality_update")) => {
                let Some(waba) = waba.clone() else { continue };
                let items = account_signal(field, value, entry_time)
                    .into_iter()
                    .collect();
                out.push(Routed {
                    route: Route::Waba(waba),
                    items,
                    raw,
                });
            }
            _ => {}
        }
    }
}

/// The `contacts[]` of one change, indexed once: a change may carry
/// thousands of messages and profiles, and each message then finds its
/// sender in constant time instead of scanning every profile.
struct Profiles<'a> {
    contacts: &'a [Value],
    /// First position of each `wa_id` and `user_id`.
    by_wa_id: HashMap<String, usize>,
    by_user_id: HashMap<String, usize>,
}

impl<'a> Profiles<'a> {
    fn new(contacts: &'a [Value]) -> Profiles<'a> {
        let mut by_wa_id = HashMap::new();
        let mut by_user_id = HashMap::new();
        for (i, c) in contacts.iter().enumerate() {
            if let Some(w) = string(c.get("wa_id")) {
                by_wa_id.entry(w).or_insert(i);
            }
            if let Some(u) = string(c.get("user_id")) {
                by_user_id.entry(u).or_insert(i);
            }
        }
        Profiles {
            contacts,
            by_wa_id,
            by_user_id,
        }
    }

    /// The sender's profile: the first matched by phone or BSUID; a single
    /// profile is the sender's even when Meta left the ids out of it.
    fn of(&self, from: Option<&str>, from_user_id: Option<&str>) -> Option<&'a Value> {
        let first = [
            from.and_then(|f| self.by_wa_id.get(f)),
            from.and_then(|f| self.by_user_id.get(f)),
            from_user_id.and_then(|u| self.by_user_id.get(u)),
        ]
        .into_iter()
        .flatten()
        .min();
        match first {
            Some(i) => self.contacts.get(*i),
            None if self.contacts.len() == 1 => self.contacts.first(),
            None => None,
        }
    }
}

fn wa_context(m: &Value) -> Value {
    match m.get("context") {
        Some(Value::Object(c)) => {
            let forwarded = [c.get("forwarded"), c.get("frequently_forwarded")]
                .into_iter()
                .any(|f| f.and_then(Value::as_bool) == Some(true));
            context(string(c.get("id")), forwarded)
        }
        _ => Value::Null,
    }
}

fn wa_message(m: &Value, profiles: &Profiles) -> Option<Item> {
    let wamid = string(m.get("id"))?;
    let raw_from = string(m.get("from"));
    let from_user_id = string(m.get("from_user_id"));
    let profile = profiles.of(raw_from.as_deref(), from_user_id.as_deref());
    let profile_str = |k: &str| profile.and_then(|p| string(p.pointer(k)));
    let phone = raw_from
        .clone()
        .filter(|f| is_phone(f))
        .or_else(|| profile_str("/wa_id").filter(|w| is_phone(w)));
    let bsuid = from_user_id
        .or_else(|| profile_str("/user_id"))
        .or_else(|| raw_from.filter(|f| !is_phone(f)));
    let from = phone.or_else(|| bsuid.clone())?;
    let name = profile_str("/profile/name");
    let common = Common {
        message_id: Some(wamid.clone()),
        from: from.clone(),
        from_name: name.clone(),
        from_user_id: bsuid,
        from_username: profile_str("/profile/username"),
        occurred_at: millis(m.get("timestamp")).unwrap_or(0),
        context: wa_context(m),
    };
    Some(Item::Message {
        event: MESSAGE_RECEIVED,
        dedupe_key: format!("wa:msg:{wamid}"),
        occurred_at: common.occurred_at,
        contact: from,
        contact_name: name,
        data: common.data(wa_content(m)),
    })
}

/// A coexistence echo: `from` is the business number, `to` the end user,
/// who is also the item's contact.
fn wa_echo(m: &Value) -> Option<Item> {
    let wamid = string(m.get("id"))?;
    let to = string(m.get("to")).or_else(|| string(m.get("to_user_id")))?;
    let from = string(m.get("from")).unwrap_or_default();
    let common = Common {
        message_id: Some(wamid.clone()),
        from,
        from_name: None,
        from_user_id: None,
        from_username: None,
        occurred_at: millis(m.get("timestamp")).unwrap_or(0),
        context: wa_context(m),
    };
    let mut data = common.data(wa_content(m));
    data["to"] = json!(to);
    Some(Item::Message {
        event: MESSAGE_ECHO,
        dedupe_key: format!("wa:echo:{wamid}"),
        occurred_at: common.occurred_at,
        contact: to,
        contact_name: None,
        data,
    })
}

fn wa_content(m: &Value) -> Content {
    let kind = m.get("type").and_then(Value::as_str).unwrap_or("unknown");
    let body = m.get(kind).unwrap_or(&Value::Null);
    let s = |p: &str| string(body.pointer(p));
    match kind {
        "text" => Content::keyed(
            "text",
            json!(body.get("body").and_then(Value::as_str).unwrap_or("")),
        ),
        "image" | "video" | "audio" | "document" | "sticker" => Content::one(
            kind,
            "media",
            Media {
                id: s("/id"),
                mime_type: s("/mime_type"),
                sha256: s("/sha256"),
                size: body.get("file_size").and_then(Value::as_i64),
                caption: s("/caption"),
                filename: s("/filename"),
                source_url: s("/url"),
            }
            .json(),
        ),
        "location" => Content::keyed(
            "location",
            json!({
                "latitude": body.get("latitude"),
                "longitude": body.get("longitude"),
                "name": s("/name"),
                "address": s("/address"),
            }),
        ),
        "contacts" => Content::keyed(
            "contacts",
            if body.is_array() {
                body.clone()
            } else {
                json!([])
            },
        ),
        "interactive" => {
            let reply = match body.get("type").and_then(Value::as_str) {
                Some("button_reply") => Some(("button", body.get("button_reply"))),
                Some("list_reply") => Some(("list", body.get("list_reply"))),
                _ => None,
            };
            match reply {
                Some((reply_kind, r)) => Content::keyed(
                    "interactive",
                    json!({
                        "kind": reply_kind,
                        "id": string(r.and_then(|r| r.get("id"))),
                        "title": string(r.and_then(|r| r.get("title"))),
                    }),
                ),
                None if body.get("type").and_then(Value::as_str) == Some("nfm_reply") => {
                    flow_reply(body.get("nfm_reply").unwrap_or(&Value::Null))
                }
                // Newer kinds.
                None => Content::unsupported(
                    body.get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("interactive"),
                ),
            }
        }
        "button" => Content::keyed(
            "button",
            json!({"text": s("/text"), "payload": s("/payload")}),
        ),
        // An empty or missing emoji is a removed reaction.
        "reaction" => Content::keyed(
            "reaction",
            json!({"message_id": s("/message_id"), "emoji": s("/emoji")}),
        ),
        // Meta's own "unsupported" names what it was (poll, view-once, …)
        // in newer payloads.
        "unsupported" => Content::unsupported(
            body.get("type")
                .and_then(Value::as_str)
                .unwrap_or("unknown"),
        ),
        // order, system, edit, revoke, request_welcome and whatever comes next.
        other => Content::unsupported(other),
    }
}

/// A WhatsApp Flow answer (`interactive.nfm_reply`, SPEC §13). Meta sends
/// the answers as a JSON *string* (`response_json`) that includes the
/// `flow_token` when the flow was sent with one: `response` is that string
/// parsed, or the string itself when it is not JSON (never dropped).
fn flow_reply(nfm: &Value) -> Content {
    let raw = nfm.get("response_json");
    let response = match raw {
        Some(Value::String(s)) => serde_json::from_str::<Value>(s).unwrap_or_else(|_| json!(s)),
        // Already an object (some relays re-encode it): kept as it came.
        Some(v) => v.clone(),
        None => Value::Null,
    };
    let flow_token = response.get("flow_token").and_then(|t| string(Some(t)));
    Content::keyed(
        "flow_reply",
        json!({
            "name": string(nfm.get("name")),
            "flow_token": flow_token,
            "response": response,
        }),
    )
}

/// `pricing` and `conversation` of a status as Meta sent them, renamed to
/// Switchboard's words (`pricing_model` → `model`, `origin.type` → `origin`).
fn wa_billing(s: &Value) -> Billing {
    let pricing = match s.get("pricing") {
        Some(Value::Object(p)) => json!({
            "billable": p.get("billable").and_then(Value::as_bool),
            "category": string(p.get("category")),
            "model": string(p.get("pricing_model")),
            "type": string(p.get("type")),
        }),
        _ => Value::Null,
    };
    let conversation = match s.get("conversation") {
        Some(Value::Object(c)) => json!({
            "id": string(c.get("id")),
            "origin": string(c.get("origin").and_then(|o| o.get("type"))),
        }),
        _ => Value::Null,
    };
    Billing {
        pricing,
        conversation,
    }
}

fn wa_status(s: &Value) -> Option<Item> {
    let meta_message_id = string(s.get("id"))?;
    // `played` and anything newer has no place in the status ladder.
    let status = match s.get("status").and_then(Value::as_str)? {
        "sent" => MessageStatus::Sent,
        "delivered" => MessageStatus::Delivered,
        "read" => MessageStatus::Read,
        "failed" => MessageStatus::Failed,
        _ => return None,
    };
    let errors = if status == MessageStatus::Failed {
        list(s.get("errors"))
            .iter()
            .filter_map(|e| {
                let code = e
                    .get("code")
                    .and_then(|c| c.as_i64().or_else(|| c.as_str()?.parse().ok()))?;
                let title = string(e.get("title"))
                    .or_else(|| string(e.get("message")))
                    .unwrap_or_default();
                Some(MetaErrorRef { code, title })
            })
            .collect()
    } else {
        Vec::new()
    };
    Some(Item::Status {
        meta_message_id,
        status,
        recipient: string(s.get("recipient_id"))
            .or_else(|| string(s.get("recipient_user_id")))
            .unwrap_or_default(),
        occurred_at: millis(s.get("timestamp")).unwrap_or(0),
        errors,
        billing: wa_billing(s),
    })
}

/// `message_template_status_update`: the time is the entry's (seconds);
/// the template id arrives as a number and leaves as a string.
fn template_status(value: &Value, entry_time: Option<i64>) -> Option<Item> {
    let template_id = string(value.get("message_template_id"))?;
    let event = string(value.get("event"))?;
    let occurred_at = entry_time.unwrap_or(0);
    Some(Item::TemplateStatus {
        dedupe_key: format!("tpl:{template_id}:{event}:{}", occurred_at / 1000),
        occurred_at,
        data: json!({
            "template_id": template_id,
            "template_name": string(value.get("message_template_name")),
            "language": string(value.get("message_template_language")),
            "status": event,
            "reason": string(value.get("reason")),
        }),
    })
}

/// `account_update` / `phone_number_quality_update` → [`Item::AccountUpdate`].
/// What the channel's `account_status` and `quality_rating` become is read
/// from Meta's event here, the one place that knows its values:
/// - `ACCOUNT_RESTRICTION`: `restricted` while `restriction_info` lists
///   something, `ok` when it is empty;
/// - `DISABLED_UPDATE`: `ban_info.waba_ban_state` `DISABLE` → `disabled`,
///   `SCHEDULE_FOR_DISABLE` → `flagged`, `REINSTATE` → `ok`;
/// - `FLAGGED` (a number's quality fell to low): `flagged`, quality `RED`;
///   `UNFLAGGED`: `ok`, quality `UNKNOWN` (Meta does not say which of
///   medium or high; the next health check reads it);
/// - anything else (tier changes, partner installs …) changes neither.
fn account_signal(field: &str, value: &Value, entry_time: Option<i64>) -> Option<Item> {
    let event = string(value.get("event"))?;
    let phone_number = if field == "phone_number_quality_update" {
        let digits: String = string(value.get("display_phone_number"))?
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        if digits.is_empty() {
            return None;
        }
        Some(digits)
    } else {
        None
    };
    let (account_status, quality_rating) = match event.as_str() {
        "ACCOUNT_RESTRICTION" => {
            let restricted = !list(value.get("restriction_info")).is_empty();
            (Some(if restricted { "restricted" } else { "ok" }), None)
        }
        "DISABLED_UPDATE" => {
            let state = value
                .pointer("/ban_info/waba_ban_state")
                .and_then(Value::as_str);
            match state {
                Some("DISABLE") => (Some("disabled"), None),
                Some("SCHEDULE_FOR_DISABLE") => (Some("flagged"), None),
                Some("REINSTATE") => (Some("ok"), None),
                _ => (None, None),
            }
        }
        "FLAGGED" if phone_number.is_some() => (Some("flagged"), Some("RED")),
        "UNFLAGGED" if phone_number.is_some() => (Some("ok"), Some("UNKNOWN")),
        _ => (None, None),
    };
    Some(Item::AccountUpdate {
        phone_number,
        event,
        occurred_at: entry_time.unwrap_or(0),
        account_status: account_status.map(str::to_string),
        quality_rating: quality_rating.map(str::to_string),
        details: value.clone(),
    })
}

// ---------------------------------------------------------------------------
// Messenger and Instagram: the same `messaging[]` items under two objects.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Platform {
    Messenger,
    Instagram,
}

impl Platform {
    /// Dedupe key prefix.
    fn prefix(self) -> &'static str {
        match self {
            Platform::Messenger => "fb",
            Platform::Instagram => "ig",
        }
    }

    fn route(self, id: String) -> Route {
        match self {
            Platform::Messenger => Route::Page(id),
            Platform::Instagram => Route::Instagram(id),
        }
    }
}

/// One [`Routed`] per `messaging[]` item, so each knows the item it came
/// from; an entry without items still names its asset.
fn messaging_entry(p: Platform, e: usize, entry: &Value, out: &mut Vec<Routed>) {
    let Some(asset) = string(entry.get("id")) else {
        return;
    };
    let entry_time = millis(entry.get("time"));
    let before = out.len();
    // `standby` carries the same items while another app (the Page inbox)
    // owns the thread; the user wrote them all the same.
    for key in ["messaging", "standby"] {
        for (k, ev) in list(entry.get(key)).iter().enumerate() {
            let mut items = Vec::new();
            messaging_event(p, &asset, ev, entry_time, &mut items);
            out.push(Routed {
                route: p.route(asset.clone()),
                items,
                raw: Some(format!("/entry/{e}/{key}/{k}")),
            });
        }
    }
    if out.len() == before {
        out.push(Routed {
            route: p.route(asset),
            items: Vec::new(),
            raw: None,
        });
    }
}

/// `data` keys shared by Messenger and Instagram: no names, no BSUIDs, but
/// the same keys as WhatsApp so customers see one shape.
fn plain_common(message_id: Option<String>, from: &str, occurred_at: i64, ctx: Value) -> Common {
    Common {
        message_id,
        from: from.to_string(),
        from_name: None,
        from_user_id: None,
        from_username: None,
        occurred_at,
        context: ctx,
    }
}

fn messaging_event(
    p: Platform,
    asset: &str,
    ev: &Value,
    entry_time: Option<i64>,
    items: &mut Vec<Item>,
) {
    let Some(sender) = string(ev.pointer("/sender/id")) else {
        return;
    };
    let recipient = string(ev.pointer("/recipient/id")).unwrap_or_default();
    let ts = millis(ev.get("timestamp")).or(entry_time).unwrap_or(0);
    let prefix = p.prefix();

    if let Some(m) = ev.get("message") {
        messaging_message(p, m, &sender, &recipient, ts, items);
    } else if let Some(r) = ev.get("reaction") {
        let Some(target) = string(r.get("mid")) else {
            return;
        };
        let emoji = if r.get("action").and_then(Value::as_str) == Some("unreact") {
            None
        } else {
            string(r.get("emoji")).or_else(|| {
                r.get("reaction")
                    .and_then(Value::as_str)
                    .and_then(reaction_emoji)
                    .map(str::to_string)
            })
        };
        // A reaction has no id of its own. Sender and time keep a reaction
        // that is removed and made again from looking like a retry.
        let dedupe_key = format!(
            "{prefix}:react:{target}:{sender}:{}:{ts}",
            emoji.as_deref().unwrap_or("removed")
        );
        // Only the user's reactions are reported today; should the business
        // ever react, that is outbound like an echo.
        let by_business = sender == asset;
        let contact = if by_business { &recipient } else { &sender };
        let mut data = plain_common(None, &sender, ts, Value::Null).data(Content::keyed(
            "reaction",
            json!({"message_id": target, "emoji": emoji}),
        ));
        if by_business {
            data["to"] = json!(recipient);
        }
        items.push(Item::Message {
            event: if by_business {
                MESSAGE_ECHO
            } else {
                MESSAGE_RECEIVED
            },
            dedupe_key,
            occurred_at: ts,
            contact: contact.clone(),
            contact_name: None,
            data,
        });
    } else if let Some(pb) = ev.get("postback") {
        let mid = string(pb.get("mid"));
        let dedupe_key = match &mid {
            Some(mid) => format!("{prefix}:postback:{mid}"),
            None => format!("{prefix}:postback:{sender}:{ts}"),
        };
        let data = plain_common(mid, &sender, ts, Value::Null).data(Content::keyed(
            "postback",
            json!({"title": string(pb.get("title")), "payload": string(pb.get("payload"))}),
        ));
        items.push(Item::Message {
            event: MESSAGE_RECEIVED,
            dedupe_key,
            occurred_at: ts,
            contact: sender,
            contact_name: None,
            data,
        });
    } else if let Some(d) = ev.get("delivery") {
        items.push(Item::Watermark {
            status: MessageStatus::Delivered,
            recipient: sender,
            watermark: millis(d.get("watermark")).unwrap_or(ts),
            mids: list(d.get("mids"))
                .iter()
                .filter_map(|m| string(Some(m)))
                .collect(),
            occurred_at: ts,
        });
    } else if let Some(r) = ev.get("read").or_else(|| ev.get("messaging_seen")) {
        // Messenger reads carry a watermark; Instagram names the one message
        // seen, which implies everything sent before the read.
        items.push(Item::Watermark {
            status: MessageStatus::Read,
            recipient: sender,
            watermark: millis(r.get("watermark")).unwrap_or(ts),
            mids: string(r.get("mid")).into_iter().collect(),
            occurred_at: ts,
        });
    } else if let Some(e) = ev.get("message_edit") {
        // An edit reuses the original mid; its own key keeps it apart.
        let Some(mid) = string(e.get("mid")) else {
            return;
        };
        let n = string(e.get("num_edit")).unwrap_or_else(|| ts.to_string());
        let data = plain_common(Some(mid.clone()), &sender, ts, Value::Null)
            .data(Content::unsupported("message_edit"));
        items.push(Item::Message {
            event: MESSAGE_RECEIVED,
            dedupe_key: format!("{prefix}:edit:{mid}:{n}"),
            occurred_at: ts,
            contact: sender,
            contact_name: None,
            data,
        });
    }
    // referral, optin, handover and policy items are not messages.
}

fn messaging_message(
    p: Platform,
    m: &Value,
    sender: &str,
    recipient: &str,
    ts: i64,
    items: &mut Vec<Item>,
) {
    // An unsend (`is_deleted`) repeats the mid of a message already relayed.
    // It is not a new message, SPEC §4.2 has no event for it, and under the
    // original's key it would be dropped as a duplicate anyway, while a key
    // of its own would relay it as a second message. The raw payload keeps
    // the fact.
    if m.get("is_deleted").and_then(Value::as_bool) == Some(true) {
        return;
    }
    let prefix = p.prefix();
    let echo = m.get("is_echo").and_then(Value::as_bool) == Some(true);
    // Echoes are sent by the business: the end user is the recipient.
    let user = if echo { recipient } else { sender };
    if user.is_empty() {
        return;
    }
    let mid = string(m.get("mid"));
    let base_key = match (&mid, echo) {
        (Some(mid), false) => format!("{prefix}:mid:{mid}"),
        (Some(mid), true) => format!("{prefix}:echo:{mid}"),
        (None, _) => format!("{prefix}:msg:{sender}:{ts}"),
    };
    let ctx = match string(m.pointer("/reply_to/mid")) {
        Some(r) => context(Some(r), false),
        None => Value::Null,
    };
    for (i, content) in messaging_contents(m).into_iter().enumerate() {
        let mut data = plain_common(mid.clone(), sender, ts, ctx.clone()).data(content);
        if echo {
            data["to"] = json!(recipient);
        }
        // Several attachments share one mid; each is its own item.
        let dedupe_key = if i == 0 {
            base_key.clone()
        } else {
            format!("{base_key}:{i}")
        };
        items.push(Item::Message {
            event: if echo { MESSAGE_ECHO } else { MESSAGE_RECEIVED },
            dedupe_key,
            occurred_at: ts,
            contact: user.to_string(),
            contact_name: None,
            data,
        });
    }
}

fn messaging_contents(m: &Value) -> Vec<Content> {
    if m.get("is_unsupported").and_then(Value::as_bool) == Some(true) {
        return vec![Content::unsupported("unknown")];
    }
    let text = m.get("text").and_then(Value::as_str).map(str::to_string);
    if let Some(story) = m.pointer("/reply_to/story") {
        return vec![Content {
            kind: "story_reply".into(),
            fields: vec![
                (
                    "story",
                    json!({"id": string(story.get("id")), "url": string(story.get("url"))}),
                ),
                ("text", json!(text)),
            ],
        }];
    }
    let attachments = list(m.get("attachments"));
    if !attachments.is_empty() {
        // Text sent along with media is its caption.
        return attachments
            .iter()
            .enumerate()
            .map(|(i, a)| attachment(a, if i == 0 { text.clone() } else { None }))
            .collect();
    }
    // A quick reply is a tapped button: the same shape as WhatsApp's.
    if let Some(payload) = string(m.pointer("/quick_reply/payload")) {
        return vec![Content::keyed(
            "button",
            json!({"text": text, "payload": payload}),
        )];
    }
    match text {
        Some(t) => vec![Content::keyed("text", json!(t))],
        None => vec![Content::unsupported("unknown")],
    }
}

fn attachment(a: &Value, caption: Option<String>) -> Content {
    let kind = a.get("type").and_then(Value::as_str).unwrap_or("unknown");
    let payload = a.get("payload").unwrap_or(&Value::Null);
    let url = string(payload.get("url"));
    let media = |kind: &str, caption: Option<String>| {
        Content::one(
            kind,
            "media",
            Media {
                id: string(payload.get("attachment_id")).or_else(|| string(a.get("id"))),
                caption,
                source_url: url.clone(),
                ..Media::default()
            }
            .json(),
        )
    };
    match kind {
        // Messenger stickers arrive as images with a sticker id.
        "image" if payload.get("sticker_id").is_some() => media("sticker", None),
        "image" | "video" | "audio" | "sticker" => media(kind, caption),
        "file" => media("document", caption),
        "story_mention" => Content::one(
            "story_mention",
            "story",
            json!({"id": string(payload.get("id")), "url": url}),
        ),
        // Shared posts, reels and links (Messenger `fallback`).
        "share" | "ig_reel" | "reel" | "ig_post" | "fallback" => {
            Content::one("share", "share", json!({"url": url}))
        }
        "location" => Content::keyed(
            "location",
            json!({
                "latitude": payload.pointer("/coordinates/lat"),
                "longitude": payload.pointer("/coordinates/long"),
                "name": string(a.get("title")).or_else(|| string(payload.get("title"))),
                "address": null,
            }),
        ),
        other => Content::unsupported(other),
    }
}

/// Messenger names its fixed reactions; the emoji usually comes along, but
/// not always.
fn reaction_emoji(name: &str) -> Option<&'static str> {
    Some(match name {
        "smile" => "\u{1f606}",
        "angry" => "\u{1f620}",
        "sad" => "\u{1f622}",
        "wow" => "\u{1f62e}",
        "love" => "\u{2764}",
        "like" => "\u{1f44d}",
        "dislike" => "\u{1f44e}",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = include_str!("../../../server/tests/fixtures/meta_webhooks.json");

    /// The outbound message that statuses, reactions and replies point at.
    const OUT: &str = "wamid.GAsxMjAyNTU1MDEwMRUCABIYFDNFQjAwMDAwMDAwMDAwMDAwMTAwAA==";
    const PHONE_ID: &str = "110000000000001";
    const PAGE: &str = "150000000000001";
    const PSID: &str = "7100000000000001";
    const IG: &str = "17841400000000001";
    const IGSID: &str = "6400000000000001";

    fn fixture_value(key: &str) -> Value {
        let all: Value = serde_json::from_str(FIXTURES).unwrap();
        all.get(key)
            .cloned()
            .unwrap_or_else(|| panic!("no fixture {key}"))
    }

    fn parse_value(v: &Value) -> Vec<Routed> {
        parse(&serde_json::to_vec(v).unwrap()).unwrap()
    }

    fn fixture(key: &str) -> Vec<Routed> {
        parse_value(&fixture_value(key))
    }

    /// A WhatsApp `messages` change around one `messages[]` item (the
    /// `msg.*` fixtures are items without an envelope).
    fn wa_envelope(contacts: Value, message: Value) -> Value {
        json!({"object": "whatsapp_business_account", "entry": [{"id": "100000000000001", "changes": [
            {"field": "messages", "value": {"messaging_product": "whatsapp",
              "metadata": {"display_phone_number": "12025550100", "phone_number_id": PHONE_ID},
              "contacts": contacts, "messages": [message]}}]}]})
    }

    fn ana() -> Value {
        json!([{"profile": {"name": "Ana Customer"}, "wa_id": "12025550101"}])
    }

    fn messaging_envelope(object: &str, asset: &str, item: Value) -> Value {
        json!({"object": object, "entry": [{"id": asset, "time": 1_790_000_000_123_i64, "messaging": [item]}]})
    }

    #[derive(Debug)]
    struct Msg {
        route: Route,
        event: &'static str,
        key: String,
        at: i64,
        contact: String,
        name: Option<String>,
        data: Value,
    }

    fn messages(routed: &[Routed]) -> Vec<Msg> {
        routed
            .iter()
            .flat_map(|r| r.items.iter().map(move |i| (r.route.clone(), i)))
            .filter_map(|(route, item)| match item {
                Item::Message {
                    event,
                    dedupe_key,
                    occurred_at,
                    contact,
                    contact_name,
                    data,
                } => Some(Msg {
                    route,
                    event,
                    key: dedupe_key.clone(),
                    at: *occurred_at,
                    contact: contact.clone(),
                    name: contact_name.clone(),
                    data: data.clone(),
                }),
                _ => None,
            })
            .collect()
    }

    fn single(routed: &[Routed]) -> Msg {
        assert_eq!(routed.len(), 1, "{routed:?}");
        assert_eq!(routed[0].items.len(), 1, "{routed:?}");
        messages(routed).pop().expect("a message item")
    }

    fn single_item(routed: &[Routed]) -> (Route, Item) {
        assert_eq!(routed.len(), 1, "{routed:?}");
        assert_eq!(routed[0].items.len(), 1, "{routed:?}");
        (routed[0].route.clone(), routed[0].items[0].clone())
    }

    #[test]
    fn a_change_with_thousands_of_senders_finds_each_profile_once() {
        // Each message finds its sender through an index; scanning every
        // profile per message made a 10 MB body cost minutes.
        let n = 20_000;
        let contacts: Vec<Value> = (0..n)
            .map(|i| json!({"wa_id": format!("1202555{i:05}"), "profile": {"name": format!("P{i}")}}))
            .collect();
        let msgs: Vec<Value> = (0..n)
            .map(|i| {
                json!({"from": format!("1202555{i:05}"), "id": format!("wamid.{i}"),
                "timestamp": "1790000000", "type": "text", "text": {"body": "hi"}})
            })
            .collect();
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
            {"field": "messages", "value": {"metadata": {"phone_number_id": PHONE_ID},
             "contacts": contacts, "messages": msgs}}]}]});
        let all = messages(&parse(body.to_string().as_bytes()).unwrap());
        assert_eq!(all.len(), n);
        assert_eq!(
            all[n - 1].name.as_deref(),
            Some(format!("P{}", n - 1).as_str())
        );
        // The first profile that matches wins, by phone or by BSUID.
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
            {"field": "messages", "value": {"metadata": {"phone_number_id": PHONE_ID},
             "contacts": [{"user_id": "US.1", "profile": {"name": "First"}},
                          {"wa_id": "12025550101", "user_id": "US.1", "profile": {"name": "Second"}}],
             "messages": [{"from": "12025550101", "from_user_id": "US.1", "id": "wamid.x",
                           "timestamp": "1790000000", "type": "text", "text": {"body": "hi"}}]}}]}]});
        let m = single(&parse(body.to_string().as_bytes()).unwrap());
        assert_eq!(m.name.as_deref(), Some("First"));
    }

    /// Asserts the parts of a WhatsApp inbound item every fixture shares.
    fn wa_received(key: &str, wamid: &str, contact: &str, name: &str, at: i64) -> Msg {
        let m = single(&fixture(key));
        assert_eq!(m.route, Route::Phone(PHONE_ID.into()));
        assert_eq!(m.event, MESSAGE_RECEIVED);
        assert_eq!(m.key, format!("wa:msg:{wamid}"));
        assert_eq!(m.at, at);
        assert_eq!(m.contact, contact);
        assert_eq!(m.name.as_deref(), Some(name));
        m
    }

    // --- Appendix A, WhatsApp -------------------------------------------

    #[test]
    fn a01_text() {
        let id = "wamid.GAsxMjAyNTU1MDEwMRUCABIYFDNFQjAwMDAwMDAwMDAwMDAwMjAxAA==";
        let m = wa_received("A.1", id, "12025550101", "Ana Customer", 1_790_000_000_000);
        assert_eq!(
            m.data,
            json!({"message_id": id, "from": "12025550101", "from_name": "Ana Customer",
                "from_user_id": null, "from_username": null, "type": "text",
                "timestamp": "2026-09-21T14:13:20Z", "context": null,
                "text": "Hello, is my order ready?"})
        );
    }

    #[test]
    fn a02_image_with_caption() {
        let id = "wamid.GAsxMjAyNTU1MDEwMRUCABIYFDNFQjAwMDAwMDAwMDAwMDAwMjAyAA==";
        let m = wa_received("A.2", id, "12025550101", "Ana Customer", 1_790_000_010_000);
        assert_eq!(
            m.data,
            json!({"message_id": id, "from": "12025550101", "from_name": "Ana Customer",
                "from_user_id": null, "from_username": null, "type": "image",
                "timestamp": "2026-09-21T14:13:30Z", "context": null,
                "media": {"id": "1200000000000001", "mime_type": "image/jpeg",
                    "sha256": "ZmFrZS1pbWFnZS1zaGEyNTY=", "size": null,
                    "caption": "Photo of the damaged box", "filename": null, "url": null,
                    "source_url": null}})
        );
    }

    #[test]
    fn a03_reaction() {
        let id = "wamid.GAsxMjAyNTU1MDEwMRUCABIYFDNFQjAwMDAwMDAwMDAwMDAwMjAzAA==";
        let m = wa_received("A.3", id, "12025550101", "Ana Customer", 1_790_000_020_000);
        assert_eq!(
            m.data,
            json!({"message_id": id, "from": "12025550101", "from_name": "Ana Customer",
                "from_user_id": null, "from_username": null, "type": "reaction",
                "timestamp": "2026-09-21T14:13:40Z", "context": null,
                "reaction": {"message_id": OUT, "emoji": "\u{2764}\u{fe0f}"}})
        );
    }

    #[test]
    fn a04_template_button() {
        let id = "wamid.GAsxMjAyNTU1MDEwMRUCABIYFDNFQjAwMDAwMDAwMDAwMDAwMjA0AA==";
        let m = wa_received("A.4", id, "12025550101", "Ana Customer", 1_790_000_030_000);
        assert_eq!(
            m.data,
            json!({"message_id": id, "from": "12025550101", "from_name": "Ana Customer",
                "from_user_id": null, "from_username": null, "type": "button",
                "timestamp": "2026-09-21T14:13:50Z",
                "context": {"reply_to": OUT, "reply_to_message_id": null, "forwarded": false},
                "button": {"text": "Confirm", "payload": "CONFIRM_DELIVERY"}})
        );
    }

    #[test]
    fn a05_interactive_button_reply() {
        let id = "wamid.GAsxMjAyNTU1MDEwMRUCABIYFDNFQjAwMDAwMDAwMDAwMDAwMjA1AA==";
        let m = wa_received("A.5", id, "12025550101", "Ana Customer", 1_790_000_040_000);
        assert_eq!(
            m.data,
            json!({"message_id": id, "from": "12025550101", "from_name": "Ana Customer",
                "from_user_id": null, "from_username": null, "type": "interactive",
                "timestamp": "2026-09-21T14:14:00Z",
                "context": {"reply_to": OUT, "reply_to_message_id": null, "forwarded": false},
                "interactive": {"kind": "button", "id": "confirm_yes", "title": "Yes"}})
        );
    }

    #[test]
    fn a06_interactive_list_reply() {
        let id = "wamid.GAsxMjAyNTU1MDEwMRUCABIYFDNFQjAwMDAwMDAwMDAwMDAwMjA2AA==";
        let m = wa_received("A.6", id, "12025550101", "Ana Customer", 1_790_000_050_000);
        assert_eq!(
            m.data,
            json!({"message_id": id, "from": "12025550101", "from_name": "Ana Customer",
                "from_user_id": null, "from_username": null, "type": "interactive",
                "timestamp": "2026-09-21T14:14:10Z",
                "context": {"reply_to": OUT, "reply_to_message_id": null, "forwarded": false},
                "interactive": {"kind": "list", "id": "slot_0900", "title": "09:00"}})
        );
    }

    #[test]
    fn a07_location() {
        let id = "wamid.GAsxMjAyNTU1MDEwMhUCABIYFDNFQjAwMDAwMDAwMDAwMDAwMjA3AA==";
        let m = wa_received("A.7", id, "12025550102", "Ben Buyer", 1_790_000_060_000);
        assert_eq!(
            m.data,
            json!({"message_id": id, "from": "12025550102", "from_name": "Ben Buyer",
                "from_user_id": null, "from_username": null, "type": "location",
                "timestamp": "2026-09-21T14:14:20Z", "context": null,
                "location": {"latitude": 38.8977, "longitude": -77.0365,
                    "name": "Example Store", "address": "1 Example Ave, Washington, DC"}})
        );
    }

    #[test]
    fn a08_contacts() {
        let id = "wamid.GAsxMjAyNTU1MDEwMhUCABIYFDNFQjAwMDAwMDAwMDAwMDAwMjA4AA==";
        let m = wa_received("A.8", id, "12025550102", "Ben Buyer", 1_790_000_070_000);
        assert_eq!(
            m.data,
            json!({"message_id": id, "from": "12025550102", "from_name": "Ben Buyer",
                "from_user_id": null, "from_username": null, "type": "contacts",
                "timestamp": "2026-09-21T14:14:30Z", "context": null,
                "contacts": [{"name": {"formatted_name": "Bo Contact", "first_name": "Bo",
                    "last_name": "Contact"},
                    "phones": [{"phone": "+1 202-555-0150", "wa_id": "12025550150", "type": "CELL"}],
                    "emails": [{"email": "bo@example.com", "type": "WORK"}]}]})
        );
    }

    #[test]
    fn a09_unsupported() {
        let id = "wamid.GAsxMjAyNTU1MDEwMxUCABIYFDNFQjAwMDAwMDAwMDAwMDAwMjA5AA==";
        let m = wa_received("A.9", id, "12025550103", "Cy Client", 1_790_000_080_000);
        assert_eq!(
            m.data,
            json!({"message_id": id, "from": "12025550103", "from_name": "Cy Client",
                "from_user_id": null, "from_username": null, "type": "unsupported",
                "timestamp": "2026-09-21T14:14:40Z", "context": null,
                "unsupported_type": "poll"})
        );
    }

    fn wa_status_of(key: &str) -> Item {
        let (route, item) = single_item(&fixture(key));
        assert_eq!(route, Route::Phone(PHONE_ID.into()));
        item
    }

    #[test]
    fn a10_to_a12_statuses() {
        // As Meta prints them under per-message pricing: `sent` and
        // `delivered` carry pricing and conversation, `read` neither.
        let free = Billing {
            pricing: json!({"billable": false, "category": "service", "model": "PMP",
                "type": "free_customer_service"}),
            conversation: json!({"id": "8f1e0b5c2a3d4e5f60718293a4b5c6d7", "origin": "service"}),
        };
        for (key, status, at, billing) in [
            ("A.10", MessageStatus::Sent, 1_790_000_100_000, free.clone()),
            (
                "A.11",
                MessageStatus::Delivered,
                1_790_000_102_000,
                free.clone(),
            ),
            (
                "A.12",
                MessageStatus::Read,
                1_790_000_160_000,
                Billing::default(),
            ),
        ] {
            assert_eq!(
                wa_status_of(key),
                Item::Status {
                    meta_message_id: OUT.into(),
                    status,
                    recipient: "12025550101".into(),
                    occurred_at: at,
                    errors: vec![],
                    billing: billing.clone(),
                },
                "{key}"
            );
        }
    }

    #[test]
    fn a13_status_failed_carries_errors() {
        assert_eq!(
            wa_status_of("A.13"),
            Item::Status {
                meta_message_id: "wamid.GAsxMjAyNTU1MDEwNBUCABIYFDNFQjAwMDAwMDAwMDAwMDAwMTAxAA=="
                    .into(),
                status: MessageStatus::Failed,
                recipient: "12025550104".into(),
                occurred_at: 1_790_000_200_000,
                errors: vec![MetaErrorRef {
                    code: 131047,
                    title: "Re-engagement message".into(),
                }],
                billing: Billing::default(),
            }
        );
    }

    #[test]
    fn a14_batch_yields_one_item_per_message() {
        let routed = fixture("A.14");
        assert_eq!(routed.len(), 1);
        let ms = messages(&routed);
        assert_eq!(ms.len(), 2);
        assert_ne!(ms[0].key, ms[1].key);
        let first = "wamid.GAsxMjAyNTU1MDEwMRUCABIYFDNFQjAwMDAwMDAwMDAwMDAwMjBBAA==";
        let second = "wamid.GAsxMjAyNTU1MDEwNRUCABIYFDNFQjAwMDAwMDAwMDAwMDAwMjBCAA==";
        assert_eq!(ms[0].key, format!("wa:msg:{first}"));
        assert_eq!(ms[1].key, format!("wa:msg:{second}"));
        assert_eq!(
            (ms[0].contact.as_str(), ms[0].name.as_deref()),
            ("12025550101", Some("Ana Customer"))
        );
        assert_eq!(
            (ms[1].contact.as_str(), ms[1].name.as_deref()),
            ("12025550105", Some("Dee Demo"))
        );
        assert_eq!(
            ms[0].data,
            json!({"message_id": first, "from": "12025550101", "from_name": "Ana Customer",
                "from_user_id": null, "from_username": null, "type": "text",
                "timestamp": "2026-09-21T14:18:20Z", "context": null, "text": "First message"})
        );
        assert_eq!(
            ms[1].data,
            json!({"message_id": second, "from": "12025550105", "from_name": "Dee Demo",
                "from_user_id": null, "from_username": null, "type": "text",
                "timestamp": "2026-09-21T14:18:21Z", "context": null,
                "text": "Second message, other customer"})
        );
    }

    // --- Appendix A, Messenger ------------------------------------------

    fn fb(key: &str) -> Msg {
        let m = single(&fixture(key));
        assert_eq!(m.route, Route::Page(PAGE.into()));
        assert_eq!(m.name, None);
        m
    }

    #[test]
    fn a15_messenger_text() {
        let mid = "m_FakeMid0101AbCdEfGhIjKlMnOpQrStUvWx";
        let m = fb("A.15");
        assert_eq!(m.event, MESSAGE_RECEIVED);
        assert_eq!(m.key, format!("fb:mid:{mid}"));
        assert_eq!((m.at, m.contact.as_str()), (1_790_000_400_000, PSID));
        assert_eq!(
            m.data,
            json!({"message_id": mid, "from": PSID, "from_name": null, "from_user_id": null,
                "from_username": null, "type": "text", "timestamp": "2026-09-21T14:20:00Z",
                "context": null, "text": "Do you ship to Canada?"})
        );
    }

    #[test]
    fn a16_messenger_image_keeps_the_cdn_url_as_source() {
        let mid = "m_FakeMid0102AbCdEfGhIjKlMnOpQrStUvWx";
        let m = fb("A.16");
        assert_eq!(m.event, MESSAGE_RECEIVED);
        assert_eq!(m.key, format!("fb:mid:{mid}"));
        assert_eq!((m.at, m.contact.as_str()), (1_790_000_410_000, PSID));
        assert_eq!(
            m.data,
            json!({"message_id": mid, "from": PSID, "from_name": null, "from_user_id": null,
                "from_username": null, "type": "image", "timestamp": "2026-09-21T14:20:10Z",
                "context": null,
                "media": {"id": null, "mime_type": null, "sha256": null, "size": null,
                    "caption": null, "filename": null, "url": null,
                    "source_url": "https://scontent.example.invalid/v/t1.15752-9/fake_image.jpg"}})
        );
    }

    #[test]
    fn a17_messenger_echo() {
        let mid = "m_FakeMid0103AbCdEfGhIjKlMnOpQrStUvWx";
        let m = fb("A.17");
        assert_eq!(m.event, MESSAGE_ECHO);
        assert_eq!(m.key, format!("fb:echo:{mid}"));
        assert_eq!((m.at, m.contact.as_str()), (1_790_000_420_000, PSID));
        assert_eq!(
            m.data,
            json!({"message_id": mid, "from": PAGE, "to": PSID, "from_name": null,
                "from_user_id": null, "from_username": null, "type": "text",
                "timestamp": "2026-09-21T14:20:20Z", "context": null,
                "text": "Yes, we ship to Canada."})
        );
    }

    #[test]
    fn a18_messenger_delivery() {
        let (route, item) = single_item(&fixture("A.18"));
        assert_eq!(route, Route::Page(PAGE.into()));
        assert_eq!(
            item,
            Item::Watermark {
                status: MessageStatus::Delivered,
                recipient: PSID.into(),
                watermark: 1_790_000_420_000,
                mids: vec!["m_FakeMid0103AbCdEfGhIjKlMnOpQrStUvWx".into()],
                occurred_at: 1_790_000_425_000,
            }
        );
    }

    #[test]
    fn a19_messenger_read() {
        let (route, item) = single_item(&fixture("A.19"));
        assert_eq!(route, Route::Page(PAGE.into()));
        assert_eq!(
            item,
            Item::Watermark {
                status: MessageStatus::Read,
                recipient: PSID.into(),
                watermark: 1_790_000_420_000,
                mids: vec![],
                occurred_at: 1_790_000_430_000,
            }
        );
    }

    #[test]
    fn a20_messenger_reaction() {
        let target = "m_FakeMid0103AbCdEfGhIjKlMnOpQrStUvWx";
        let m = fb("A.20");
        assert_eq!(m.event, MESSAGE_RECEIVED);
        assert_eq!(
            m.key,
            format!("fb:react:{target}:{PSID}:\u{2764}:1790000440000")
        );
        assert_eq!((m.at, m.contact.as_str()), (1_790_000_440_000, PSID));
        assert_eq!(
            m.data,
            json!({"message_id": null, "from": PSID, "from_name": null, "from_user_id": null,
                "from_username": null, "type": "reaction", "timestamp": "2026-09-21T14:20:40Z",
                "context": null, "reaction": {"message_id": target, "emoji": "\u{2764}"}})
        );
    }

    #[test]
    fn a21_messenger_postback() {
        let mid = "m_FakeMid0104AbCdEfGhIjKlMnOpQrStUvWx";
        let m = fb("A.21");
        assert_eq!(m.event, MESSAGE_RECEIVED);
        assert_eq!(m.key, format!("fb:postback:{mid}"));
        assert_eq!((m.at, m.contact.as_str()), (1_790_000_450_000, PSID));
        assert_eq!(
            m.data,
            json!({"message_id": mid, "from": PSID, "from_name": null, "from_user_id": null,
                "from_username": null, "type": "postback", "timestamp": "2026-09-21T14:20:50Z",
                "context": null, "postback": {"title": "Get Started", "payload": "GET_STARTED"}})
        );
    }

    // --- Appendix A, Instagram ------------------------------------------

    fn ig(key: &str) -> Msg {
        let m = single(&fixture(key));
        assert_eq!(m.route, Route::Instagram(IG.into()));
        assert_eq!(m.name, None);
        m
    }

    const IG_MID1: &str = "aWdfaXRlbToxOklHTWVzc2FnZToxNzg0MTQwMDAwMDAwMDAwMTpGQUtFMDAwMQ==";
    const IG_MID4: &str = "aWdfaXRlbToxOklHTWVzc2FnZToxNzg0MTQwMDAwMDAwMDAwMTpGQUtFMDAwNA==";

    #[test]
    fn a22_instagram_text() {
        let m = ig("A.22");
        assert_eq!(m.event, MESSAGE_RECEIVED);
        assert_eq!(m.key, format!("ig:mid:{IG_MID1}"));
        assert_eq!((m.at, m.contact.as_str()), (1_790_000_500_000, IGSID));
        assert_eq!(
            m.data,
            json!({"message_id": IG_MID1, "from": IGSID, "from_name": null, "from_user_id": null,
                "from_username": null, "type": "text", "timestamp": "2026-09-21T14:21:40Z",
                "context": null, "text": "Is this still available?"})
        );
    }

    #[test]
    fn a23_instagram_story_mention() {
        let mid = "aWdfaXRlbToxOklHTWVzc2FnZToxNzg0MTQwMDAwMDAwMDAwMTpGQUtFMDAwMg==";
        let m = ig("A.23");
        assert_eq!(m.event, MESSAGE_RECEIVED);
        assert_eq!(m.key, format!("ig:mid:{mid}"));
        assert_eq!((m.at, m.contact.as_str()), (1_790_000_510_000, IGSID));
        assert_eq!(
            m.data,
            json!({"message_id": mid, "from": IGSID, "from_name": null, "from_user_id": null,
                "from_username": null, "type": "story_mention",
                "timestamp": "2026-09-21T14:21:50Z", "context": null,
                "story": {"id": null,
                    "url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=17900000000000001&signature=FAKE"}})
        );
    }

    #[test]
    fn a24_instagram_story_reply_keeps_its_text() {
        let mid = "aWdfaXRlbToxOklHTWVzc2FnZToxNzg0MTQwMDAwMDAwMDAwMTpGQUtFMDAwMw==";
        let m = ig("A.24");
        assert_eq!(m.event, MESSAGE_RECEIVED);
        assert_eq!(m.key, format!("ig:mid:{mid}"));
        assert_eq!((m.at, m.contact.as_str()), (1_790_000_520_000, IGSID));
        assert_eq!(
            m.data,
            json!({"message_id": mid, "from": IGSID, "from_name": null, "from_user_id": null,
                "from_username": null, "type": "story_reply",
                "timestamp": "2026-09-21T14:22:00Z", "context": null,
                "story": {"id": "17900000000000002",
                    "url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=17900000000000002&signature=FAKE"},
                "text": "Love this colour!"})
        );
    }

    #[test]
    fn a25_instagram_echo() {
        let m = ig("A.25");
        assert_eq!(m.event, MESSAGE_ECHO);
        assert_eq!(m.key, format!("ig:echo:{IG_MID4}"));
        assert_eq!((m.at, m.contact.as_str()), (1_790_000_530_000, IGSID));
        assert_eq!(
            m.data,
            json!({"message_id": IG_MID4, "from": IG, "to": IGSID, "from_name": null,
                "from_user_id": null, "from_username": null, "type": "text",
                "timestamp": "2026-09-21T14:22:10Z", "context": null,
                "text": "Yes, it is. Want me to reserve it?"})
        );
    }

    #[test]
    fn a26_instagram_read_names_its_message() {
        let (route, item) = single_item(&fixture("A.26"));
        assert_eq!(route, Route::Instagram(IG.into()));
        assert_eq!(
            item,
            Item::Watermark {
                status: MessageStatus::Read,
                recipient: IGSID.into(),
                watermark: 1_790_000_540_000,
                mids: vec![IG_MID4.into()],
                occurred_at: 1_790_000_540_000,
            }
        );
    }

    #[test]
    fn a27_instagram_unsend_is_no_item_but_keeps_its_route() {
        let routed = fixture("A.27");
        assert_eq!(
            routed,
            vec![Routed {
                route: Route::Instagram(IG.into()),
                items: vec![],
                raw: Some("/entry/0/messaging/0".into()),
            }]
        );
    }

    #[test]
    fn a28_instagram_reaction() {
        let m = ig("A.28");
        assert_eq!(m.event, MESSAGE_RECEIVED);
        assert_eq!(
            m.key,
            format!("ig:react:{IG_MID4}:{IGSID}:\u{2764}\u{fe0f}:1790000560000")
        );
        assert_eq!((m.at, m.contact.as_str()), (1_790_000_560_000, IGSID));
        assert_eq!(
            m.data,
            json!({"message_id": null, "from": IGSID, "from_name": null, "from_user_id": null,
                "from_username": null, "type": "reaction", "timestamp": "2026-09-21T14:22:40Z",
                "context": null, "reaction": {"message_id": IG_MID4, "emoji": "\u{2764}\u{fe0f}"}})
        );
    }

    // --- Properties over the whole fixture set --------------------------

    fn appendix_keys() -> Vec<String> {
        (1..=28).map(|n| format!("A.{n}")).collect()
    }

    fn dedupe_keys(routed: &[Routed]) -> Vec<String> {
        routed
            .iter()
            .flat_map(|r| &r.items)
            .filter_map(|i| match i {
                Item::Message { dedupe_key, .. } | Item::TemplateStatus { dedupe_key, .. } => {
                    Some(dedupe_key.clone())
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn parsing_twice_gives_the_same_items_and_keys() {
        for key in appendix_keys()
            .into_iter()
            .chain(["wa.message_template_status_update".into()])
            .chain(["wa.smb_message_echoes".into()])
        {
            let body = serde_json::to_vec(&fixture_value(&key)).unwrap();
            let a = parse(&body).unwrap();
            let b = parse(&body).unwrap();
            assert_eq!(a, b, "{key}");
            assert_eq!(dedupe_keys(&a), dedupe_keys(&b), "{key}");
        }
    }

    #[test]
    fn different_facts_never_share_a_key() {
        let mut all: Vec<String> = appendix_keys()
            .iter()
            .chain(&[
                "wa.message_template_status_update".to_string(),
                "wa.smb_message_echoes".to_string(),
            ])
            .flat_map(|k| dedupe_keys(&fixture(k)))
            .collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
    }

    #[test]
    fn echoes_are_never_received() {
        for key in ["A.17", "A.25", "wa.smb_message_echoes"] {
            let ms = messages(&fixture(key));
            assert_eq!(ms.len(), 1, "{key}");
            assert!(ms.iter().all(|m| m.event == MESSAGE_ECHO), "{key}");
        }
        // And nothing else in the appendix is an echo.
        for key in appendix_keys() {
            for m in messages(&fixture(&key)) {
                let expected = if ["A.17", "A.25"].contains(&key.as_str()) {
                    MESSAGE_ECHO
                } else {
                    MESSAGE_RECEIVED
                };
                assert_eq!(m.event, expected, "{key}");
            }
        }
    }

    #[test]
    fn every_message_has_exactly_the_common_keys_and_one_type_key() {
        let common = [
            "message_id",
            "from",
            "from_name",
            "from_user_id",
            "from_username",
            "type",
            "timestamp",
            "context",
        ];
        for key in appendix_keys() {
            for m in messages(&fixture(&key)) {
                let obj = m.data.as_object().unwrap();
                for c in common {
                    assert!(obj.contains_key(c), "{key} lacks {c}");
                }
                let mut extra: Vec<&str> = obj
                    .keys()
                    .map(String::as_str)
                    .filter(|k| !common.contains(k) && *k != "to")
                    .collect();
                extra.sort();
                let expected: Vec<&str> = match m.data["type"].as_str().unwrap() {
                    "image" | "video" | "audio" | "document" | "sticker" => vec!["media"],
                    "story_mention" => vec!["story"],
                    "story_reply" => vec!["story", "text"],
                    "unsupported" => vec!["unsupported_type"],
                    t => vec![t],
                };
                assert_eq!(extra, expected, "{key}");
            }
        }
    }

    // --- Malformed and unknown ------------------------------------------

    #[test]
    fn malformed_json_is_an_error() {
        assert!(parse(b"{\"object\": \"page\", \"entry\": [").is_err());
        assert!(parse(b"").is_err());
        assert!(parse(b"not json").is_err());
        assert!(parse(b"[1, 2]").is_err());
    }

    #[test]
    fn unknown_objects_and_fields_are_skipped() {
        assert_eq!(
            parse(br#"{"object": "user", "entry": [{"id": "1", "changes": []}]}"#).unwrap(),
            vec![]
        );
        assert_eq!(parse(br#"{"object": "page"}"#).unwrap(), vec![]);
        assert_eq!(parse(br#"{"entry": []}"#).unwrap(), vec![]);
        let name = json!({"object": "whatsapp_business_account", "entry": [{"id": "100000000000001",
            "time": 1790002000, "changes": [{"field": "phone_number_name_update", "value": {
            "display_phone_number": "12025550100", "decision": "APPROVED"}}]}]});
        assert_eq!(parse_value(&name), vec![]);
        // A Messenger item kind that is not a message.
        let optin = messaging_envelope(
            "page",
            PAGE,
            json!({"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": 1_790_000_000_000_i64,
                "optin": {"ref": "x"}}),
        );
        assert_eq!(
            parse_value(&optin),
            vec![Routed {
                route: Route::Page(PAGE.into()),
                items: vec![],
                raw: Some("/entry/0/messaging/0".into()),
            }]
        );
    }

    // --- WhatsApp details -----------------------------------------------

    #[test]
    fn bsuid_only_sender_is_from_and_from_user_id() {
        let bsuid = "US.13491208655302741918";
        let id = "wamid.BSUID0001";
        let payload = wa_envelope(
            json!([{"profile": {"name": "Ana", "username": "ana.c"}, "user_id": bsuid}]),
            json!({"from_user_id": bsuid, "id": id, "timestamp": "1790000000", "type": "text",
                "text": {"body": "hi"}}),
        );
        let m = single(&parse_value(&payload));
        assert_eq!(m.contact, bsuid);
        assert_eq!(m.name.as_deref(), Some("Ana"));
        assert_eq!(
            m.data,
            json!({"message_id": id, "from": bsuid, "from_name": "Ana", "from_user_id": bsuid,
                "from_username": "ana.c", "type": "text", "timestamp": "2026-09-21T14:13:20Z",
                "context": null, "text": "hi"})
        );

        // Some payloads put the BSUID in `from` itself.
        let payload = wa_envelope(
            json!([{"profile": {"name": "Ana"}, "user_id": bsuid}]),
            json!({"from": bsuid, "id": id, "timestamp": "1790000000", "type": "text",
                "text": {"body": "hi"}}),
        );
        let m = single(&parse_value(&payload));
        assert_eq!(m.data["from"], bsuid);
        assert_eq!(m.data["from_user_id"], bsuid);
        assert_eq!(m.data["from_username"], Value::Null);
    }

    #[test]
    fn phone_wins_over_bsuid_when_both_are_sent() {
        let bsuid = "US.13491208655302741918";
        let payload = wa_envelope(
            json!([{"profile": {"name": "Ana", "username": "ana.c"}, "wa_id": "12025550101",
                "user_id": bsuid}]),
            json!({"from": "12025550101", "from_user_id": bsuid, "id": "wamid.X",
                "timestamp": "1790000000", "type": "text", "text": {"body": "hi"}}),
        );
        let m = single(&parse_value(&payload));
        assert_eq!(m.contact, "12025550101");
        assert_eq!(m.data["from"], "12025550101");
        assert_eq!(m.data["from_user_id"], bsuid);
        assert_eq!(m.data["from_username"], "ana.c");
    }

    fn wa_msg_data(fixture_key: &str) -> Value {
        let payload = wa_envelope(ana(), fixture_value(fixture_key));
        single(&parse_value(&payload)).data
    }

    #[test]
    fn whatsapp_media_kinds() {
        let d = wa_msg_data("msg.document");
        assert_eq!(d["type"], "document");
        assert_eq!(
            d["media"],
            json!({"id": "1200000000000002", "mime_type": "application/pdf",
                "sha256": "ZmFrZS1zaGEyNTYtZm9yLWEtcGRm", "size": null, "caption": "Invoice",
                "filename": "invoice-0042.pdf", "url": null, "source_url": null})
        );
        let d = wa_msg_data("msg.audio");
        assert_eq!(d["type"], "audio");
        assert_eq!(
            d["media"],
            json!({"id": "1200000000000003", "mime_type": "audio/ogg; codecs=opus",
                "sha256": "ZmFrZS1hdWRpbw==", "size": null, "caption": null, "filename": null,
                "url": null, "source_url": null})
        );
        assert_eq!(wa_msg_data("msg.video")["media"]["caption"], "Unboxing");
        let d = wa_msg_data("msg.sticker");
        assert_eq!(d["type"], "sticker");
        assert_eq!(d["media"]["mime_type"], "image/webp");
        assert_eq!(d.as_object().unwrap().len(), 9);
    }

    #[test]
    fn whatsapp_removed_reaction_has_null_emoji() {
        let d = wa_msg_data("msg.reaction_removed");
        assert_eq!(
            d["reaction"],
            json!({"message_id": "wamid.GAsxMjAyNTU1MDEwMRUCABIYFDNFQjAwMDAwMDAwMDAwMDAwMDEwAA==",
                "emoji": null})
        );
        let mut missing = fixture_value("msg.reaction_removed");
        missing["reaction"].as_object_mut().unwrap().remove("emoji");
        let m = single(&parse_value(&wa_envelope(ana(), missing)));
        assert_eq!(m.data["reaction"]["emoji"], Value::Null);
    }

    #[test]
    fn whatsapp_types_outside_the_contract_are_unsupported() {
        for (key, kind) in [
            ("msg.order", "order"),
            ("msg.system", "system"),
            ("msg.edit", "edit"),
            ("msg.revoke", "revoke"),
            ("msg.unsupported", "poll"),
        ] {
            let d = wa_msg_data(key);
            assert_eq!(d["type"], "unsupported", "{key}");
            assert_eq!(d["unsupported_type"], kind, "{key}");
            assert_eq!(d.as_object().unwrap().len(), 9, "{key}");
        }
        // An unsupported message without Meta's detail still says so.
        let mut bare = fixture_value("msg.unsupported");
        bare.as_object_mut().unwrap().remove("unsupported");
        let m = single(&parse_value(&wa_envelope(ana(), bare)));
        assert_eq!(m.data["unsupported_type"], "unknown");
    }

    #[test]
    fn whatsapp_forwarded_context() {
        for flag in ["forwarded", "frequently_forwarded"] {
            let mut msg = fixture_value("msg.image");
            msg["context"] = json!({flag: true});
            let m = single(&parse_value(&wa_envelope(ana(), msg)));
            assert_eq!(
                m.data["context"],
                json!({"reply_to": null, "reply_to_message_id": null, "forwarded": true}),
                "{flag}"
            );
        }
        assert_eq!(
            wa_msg_data("msg.text")["context"],
            json!({"reply_to": "wamid.GAsxMjAyNTU1MDEwMRUCABIYFDNFQjAwMDAwMDAwMDAwMDAwMDEwAA==", "reply_to_message_id": null,
                "forwarded": false})
        );
    }

    #[test]
    fn whatsapp_messages_and_statuses_in_one_change_and_several_entries() {
        let status =
            fixture_value("A.11")["entry"][0]["changes"][0]["value"]["statuses"][0].clone();
        let mut payload = fixture_value("A.1");
        payload["entry"][0]["changes"][0]["value"]["statuses"] = json!([status]);
        let second_entry = fixture_value("A.7")["entry"][0].clone();
        payload["entry"].as_array_mut().unwrap().push(second_entry);
        let routed = parse_value(&payload);
        assert_eq!(routed.len(), 2);
        assert_eq!(routed[0].items.len(), 2);
        assert!(matches!(routed[0].items[0], Item::Message { .. }));
        assert!(matches!(
            routed[0].items[1],
            Item::Status {
                status: MessageStatus::Delivered,
                ..
            }
        ));
        assert_eq!(routed[1].items.len(), 1);
    }

    #[test]
    fn whatsapp_status_kinds_outside_the_ladder_are_skipped() {
        let mut payload = fixture_value("A.12");
        payload["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] = json!("played");
        assert_eq!(
            parse_value(&payload),
            vec![Routed {
                route: Route::Phone(PHONE_ID.into()),
                items: vec![],
                raw: Some("/entry/0/changes/0/value".into()),
            }]
        );
    }

    #[test]
    fn template_status_update() {
        let (route, item) = single_item(&fixture("wa.message_template_status_update"));
        assert_eq!(route, Route::Waba("100000000000001".into()));
        assert_eq!(
            item,
            Item::TemplateStatus {
                dedupe_key: "tpl:1300000000000001:REJECTED:1790001000".into(),
                occurred_at: 1_790_001_000_000,
                data: json!({"template_id": "1300000000000001", "template_name": "spring_sale",
                    "language": "en_US", "status": "REJECTED", "reason": "INVALID_FORMAT"}),
            }
        );
    }

    #[test]
    fn coexistence_echo() {
        let id = "wamid.GAsxMjAyNTU1MDEwMRUCABIYFDNFQjAwMDAwMDAwMDAwMDAwMDE4AA==";
        let m = single(&fixture("wa.smb_message_echoes"));
        assert_eq!(m.route, Route::Phone(PHONE_ID.into()));
        assert_eq!(m.event, MESSAGE_ECHO);
        assert_eq!(m.key, format!("wa:echo:{id}"));
        assert_eq!(m.contact, "12025550101");
        assert_eq!(m.name, None);
        assert_eq!(m.at, 1_790_004_000_000);
        assert_eq!(
            m.data,
            json!({"message_id": id, "from": "12025550100", "to": "12025550101",
                "from_name": null, "from_user_id": null, "from_username": null, "type": "text",
                "timestamp": "2026-09-21T15:20:00Z", "context": null,
                "text": "Answered from the phone app"})
        );
    }

    // --- Messenger / Instagram details ----------------------------------

    fn fb_message(message: Value) -> Vec<Msg> {
        messages(&parse_value(&messaging_envelope(
            "page",
            PAGE,
            json!({"sender": {"id": PSID}, "recipient": {"id": PAGE},
                "timestamp": 1_790_000_000_000_i64, "message": message}),
        )))
    }

    #[test]
    fn messenger_several_attachments_are_several_items() {
        let ms = fb_message(json!({"mid": "m_multi", "attachments": [
            {"type": "image", "payload": {"url": "https://cdn.example.invalid/1.jpg"}},
            {"type": "file", "payload": {"url": "https://cdn.example.invalid/2.pdf"}},
            {"type": "image", "payload": {"url": "https://cdn.example.invalid/s.png", "sticker_id": 369239263222822_i64}}]}));
        assert_eq!(ms.len(), 3);
        let keys: Vec<&str> = ms.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(
            keys,
            ["fb:mid:m_multi", "fb:mid:m_multi:1", "fb:mid:m_multi:2"]
        );
        let types: Vec<&str> = ms
            .iter()
            .map(|m| m.data["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["image", "document", "sticker"]);
        assert_eq!(
            ms[1].data["media"]["source_url"],
            "https://cdn.example.invalid/2.pdf"
        );
    }

    #[test]
    fn messenger_quick_reply_reply_to_and_other_attachments() {
        let m = fb_message(
            json!({"mid": "m_q", "text": "Red", "quick_reply": {"payload": "PICK_RED"},
            "reply_to": {"mid": "m_prev"}}),
        )
        .pop()
        .unwrap();
        assert_eq!(m.data["type"], "button");
        assert_eq!(
            m.data["button"],
            json!({"text": "Red", "payload": "PICK_RED"})
        );
        assert_eq!(
            m.data["context"],
            json!({"reply_to": "m_prev", "reply_to_message_id": null, "forwarded": false})
        );

        let m = fb_message(json!({"mid": "m_f", "attachments": [{"type": "fallback",
            "payload": {"url": "https://example.com/a", "title": "A page"}}]}))
        .pop()
        .unwrap();
        assert_eq!(m.data["type"], "share");
        assert_eq!(m.data["share"], json!({"url": "https://example.com/a"}));

        let m = fb_message(
            json!({"mid": "m_l", "attachments": [{"type": "location", "title": "Pin",
            "payload": {"coordinates": {"lat": 1.5, "long": 2.5}}}]}),
        )
        .pop()
        .unwrap();
        assert_eq!(
            m.data["location"],
            json!({"latitude": 1.5, "longitude": 2.5, "name": "Pin", "address": null})
        );

        let m =
            fb_message(json!({"mid": "m_t", "attachments": [{"type": "template", "payload": {}}]}))
                .pop()
                .unwrap();
        assert_eq!(m.data["type"], "unsupported");
        assert_eq!(m.data["unsupported_type"], "template");
    }

    #[test]
    fn messenger_standby_items_are_read_too() {
        let mut payload = fixture_value("A.15");
        let item = payload["entry"][0]["messaging"].take();
        payload["entry"][0]["standby"] = item;
        assert_eq!(
            single(&parse_value(&payload)).data["text"],
            "Do you ship to Canada?"
        );
    }

    #[test]
    fn removed_and_repeated_reactions_have_their_own_keys() {
        let react = |action: &str, emoji: Option<&str>, ts: i64| {
            let mut r = json!({"mid": "m_target", "action": action});
            if let Some(e) = emoji {
                r["emoji"] = json!(e);
                r["reaction"] = json!("love");
            }
            single(&parse_value(&messaging_envelope(
                "instagram",
                IG,
                json!({"sender": {"id": IGSID}, "recipient": {"id": IG}, "timestamp": ts,
                    "reaction": r}),
            )))
        };
        let first = react("react", Some("\u{2764}"), 1_790_000_000_000);
        let removed = react("unreact", None, 1_790_000_001_000);
        let again = react("react", Some("\u{2764}"), 1_790_000_002_000);
        assert_eq!(removed.data["reaction"]["emoji"], Value::Null);
        assert_eq!(
            removed.key,
            format!("ig:react:m_target:{IGSID}:removed:1790000001000")
        );
        assert_ne!(first.key, again.key);
        assert_ne!(first.key, removed.key);
    }

    #[test]
    fn instagram_unsupported_and_edits() {
        let m = single(&parse_value(&messaging_envelope(
            "instagram",
            IG,
            json!({"sender": {"id": IGSID}, "recipient": {"id": IG}, "timestamp": 1_790_000_000_000_i64,
                "message": {"mid": "ig_u", "is_unsupported": true}}),
        )));
        assert_eq!(m.data["type"], "unsupported");
        assert_eq!(m.data["unsupported_type"], "unknown");
        assert_eq!(m.key, "ig:mid:ig_u");

        let m = single(&parse_value(&messaging_envelope(
            "instagram",
            IG,
            json!({"sender": {"id": IGSID}, "recipient": {"id": IG}, "timestamp": 1_790_000_000_000_i64,
                "message_edit": {"mid": "ig_u", "text": "fixed", "num_edit": 1}}),
        )));
        assert_eq!(m.key, "ig:edit:ig_u:1");
        assert_eq!(m.data["unsupported_type"], "message_edit");
    }

    // --- What the built-in sandbox sends (server/src/sandbox/payloads.rs,
    // control.rs, sender.rs), copied by hand: the sandbox lives in the server
    // crate, out of this crate's reach. Keep them in step.

    #[test]
    fn sandbox_whatsapp_inbound_types() {
        let user = "15550100101";
        let msg = |kind: &str, body: Value| {
            let mut m = json!({"from": user, "id": format!("wamid.SANDBOX{kind}"),
                "timestamp": "1790000000", "type": kind});
            if let Value::Object(b) = body {
                for (k, v) in b {
                    m[k] = v;
                }
            }
            json!({"object": "whatsapp_business_account", "entry": [{"id": "200000000000001",
                "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550100001", "phone_number_id": "300000000000001"},
                "contacts": [{"profile": {"name": "Sandbox User"}, "wa_id": user}],
                "messages": [m]}}]}]})
        };
        let cases = [
            (
                "text",
                json!({"text": {"body": "hi"}, "context": {"from": "15550100001", "id": "wamid.PREV"}}),
                "text",
                "text",
            ),
            (
                "image",
                json!({"image": {"mime_type": "image/jpeg", "sha256": "q80=", "id": "900001", "caption": "c"}}),
                "image",
                "media",
            ),
            (
                "video",
                json!({"video": {"mime_type": "video/mp4", "sha256": "q80=", "id": "900002"}}),
                "video",
                "media",
            ),
            (
                "audio",
                json!({"audio": {"mime_type": "audio/ogg; codecs=opus", "sha256": "q80=", "id": "900003", "voice": false}}),
                "audio",
                "media",
            ),
            (
                "document",
                json!({"document": {"mime_type": "application/pdf", "sha256": "q80=", "id": "900004", "filename": "document.pdf"}}),
                "document",
                "media",
            ),
            (
                "sticker",
                json!({"sticker": {"mime_type": "image/webp", "sha256": "q80=", "id": "900005", "animated": false}}),
                "sticker",
                "media",
            ),
            (
                "location",
                json!({"location": {"latitude": 1.0, "longitude": 2.0}}),
                "location",
                "location",
            ),
            (
                "contacts",
                json!({"contacts": [{"name": {"formatted_name": "Bo Contact"}}]}),
                "contacts",
                "contacts",
            ),
            (
                "interactive",
                json!({"interactive": {"type": "list_reply", "list_reply": {"id": "a", "title": "A", "description": "d"}}}),
                "interactive",
                "interactive",
            ),
            (
                "button",
                json!({"button": {"payload": "P", "text": "T"}}),
                "button",
                "button",
            ),
            (
                "reaction",
                json!({"reaction": {"message_id": "wamid.PREV", "emoji": ""}}),
                "reaction",
                "reaction",
            ),
            (
                "order",
                json!({"order": {"catalog_id": "1", "text": "x", "product_items": []}}),
                "unsupported",
                "unsupported_type",
            ),
            (
                "unsupported",
                json!({"errors": [{"code": 131051}], "unsupported": {"type": "view_once"}}),
                "unsupported",
                "unsupported_type",
            ),
        ];
        for (kind, body, data_type, key) in cases {
            let m = single(&parse_value(&msg(kind, body)));
            assert_eq!(m.route, Route::Phone("300000000000001".into()), "{kind}");
            assert_eq!(m.event, MESSAGE_RECEIVED, "{kind}");
            assert_eq!(m.key, format!("wa:msg:wamid.SANDBOX{kind}"), "{kind}");
            assert_eq!(m.contact, user, "{kind}");
            assert_eq!(m.name.as_deref(), Some("Sandbox User"), "{kind}");
            assert_eq!(m.data["type"], data_type, "{kind}");
            assert!(!m.data[key].is_null(), "{kind}");
        }
        let d = single(&parse_value(&msg(
            "text",
            json!({"text": {"body": "hi"},
            "context": {"from": "15550100001", "id": "wamid.PREV"}}),
        )))
        .data;
        assert_eq!(
            d["context"],
            json!({"reply_to": "wamid.PREV", "reply_to_message_id": null, "forwarded": false})
        );
        let d = single(&parse_value(&msg(
            "unsupported",
            json!({"unsupported": {"type": "view_once"}}),
        )))
        .data;
        assert_eq!(d["unsupported_type"], "view_once");
    }

    #[test]
    fn sandbox_whatsapp_echo_statuses_and_template_review() {
        let echo = json!({"object": "whatsapp_business_account", "entry": [{"id": "200000000000001",
            "changes": [{"field": "smb_message_echoes", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100001", "phone_number_id": "300000000000001"},
            "message_echoes": [{"from": "15550100001", "to": "15550100101", "id": "wamid.E",
                "timestamp": "1790000000", "type": "text", "text": {"body": "Answered from the phone app"}}]}}]}]});
        let m = single(&parse_value(&echo));
        assert_eq!(m.event, MESSAGE_ECHO);
        assert_eq!(m.contact, "15550100101");

        let failed = json!({"object": "whatsapp_business_account", "entry": [{"id": "200000000000001",
            "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100001", "phone_number_id": "300000000000001"},
            "statuses": [{"id": "wamid.OUT", "status": "failed", "timestamp": "1790000000",
                "recipient_id": "15550100101", "errors": [{"code": 131026,
                "title": "Message undeliverable", "message": "Message undeliverable",
                "error_data": {"details": "Message Undeliverable."}}]}]}}]}]});
        let (_, item) = single_item(&parse_value(&failed));
        assert_eq!(
            item,
            Item::Status {
                meta_message_id: "wamid.OUT".into(),
                status: MessageStatus::Failed,
                recipient: "15550100101".into(),
                occurred_at: 1_790_000_000_000,
                errors: vec![MetaErrorRef {
                    code: 131026,
                    title: "Message undeliverable".into()
                }],
                billing: Billing::default(),
            }
        );

        let review = json!({"object": "whatsapp_business_account", "entry": [{"id": "200000000000001",
            "time": 1790001000, "changes": [{"field": "message_template_status_update", "value": {
            "event": "APPROVED", "message_template_id": 1300000000000002_i64,
            "message_template_name": "order_update", "message_template_language": "en",
            "reason": "NONE", "message_template_category": "UTILITY"}}]}]});
        let (route, item) = single_item(&parse_value(&review));
        assert_eq!(route, Route::Waba("200000000000001".into()));
        let Item::TemplateStatus { data, .. } = item else {
            panic!("{item:?}")
        };
        assert_eq!(data["status"], "APPROVED");
        assert_eq!(data["reason"], "NONE");
        assert_eq!(data["template_id"], "1300000000000002");
    }

    #[test]
    fn sandbox_messenger_and_instagram_types() {
        let page = "160000000000001";
        let user = "7200000000000001";
        let from_user = |object: &str, asset: &str, key: &str, content: Value| {
            let mut item = json!({"sender": {"id": user}, "recipient": {"id": asset},
                "timestamp": 1_790_000_000_000_i64});
            item[key] = content;
            messaging_envelope(object, asset, item)
        };
        let url = "http://localhost:3000/sandbox/cdn/0a1b2c3d.bin";
        let cases = [
            (
                "page",
                "message",
                json!({"mid": "m_1", "text": "hi", "reply_to": {"mid": "m_0"}}),
                "text",
            ),
            (
                "page",
                "message",
                json!({"mid": "m_2", "attachments": [{"type": "image", "payload": {"url": url}}]}),
                "image",
            ),
            (
                "page",
                "message",
                json!({"mid": "m_3", "attachments": [{"type": "file", "payload": {"url": url}}]}),
                "document",
            ),
            (
                "page",
                "message",
                json!({"mid": "m_4", "attachments": [{"type": "audio", "payload": {"url": url}}]}),
                "audio",
            ),
            (
                "page",
                "postback",
                json!({"mid": "m_5", "title": "Go", "payload": "GO"}),
                "postback",
            ),
            (
                "page",
                "reaction",
                json!({"mid": "m_0", "action": "react", "reaction": "love", "emoji": "\u{2764}"}),
                "reaction",
            ),
            (
                "page",
                "reaction",
                json!({"mid": "m_0", "action": "unreact"}),
                "reaction",
            ),
            (
                "instagram",
                "message",
                json!({"mid": "ig_1", "attachments": [{"type": "story_mention", "payload": {"url": url}}]}),
                "story_mention",
            ),
            (
                "instagram",
                "message",
                json!({"mid": "ig_2", "text": "Nice story!", "reply_to": {"story": {"url": url, "id": "17900000000000002"}}}),
                "story_reply",
            ),
            (
                "instagram",
                "message",
                json!({"mid": "ig_3", "attachments": [{"type": "share", "payload": {"url": "https://www.instagram.com/p/SANDBOX/"}}]}),
                "share",
            ),
            (
                "instagram",
                "message",
                json!({"mid": "ig_4", "is_unsupported": true}),
                "unsupported",
            ),
            (
                "instagram",
                "message",
                json!({"mid": "ig_5", "attachments": [{"type": "video", "payload": {"url": url}}]}),
                "video",
            ),
        ];
        for (object, key, content, data_type) in cases {
            let asset = if object == "page" { page } else { IG };
            let m = single(&parse_value(&from_user(
                object,
                asset,
                key,
                content.clone(),
            )));
            assert_eq!(m.event, MESSAGE_RECEIVED, "{content}");
            assert_eq!(m.contact, user, "{content}");
            assert_eq!(m.data["type"], data_type, "{content}");
            assert_eq!(m.data["from"], user, "{content}");
        }

        // A Messenger "sticker" from the sandbox is a plain image attachment
        // without `sticker_id`, so it arrives as an image.
        let sticker = from_user(
            "page",
            page,
            "message",
            json!({"mid": "m_6", "attachments": [{"type": "image", "payload": {"url": url}}]}),
        );
        assert_eq!(single(&parse_value(&sticker)).data["type"], "image");

        // Unsend: no item.
        let deleted = from_user(
            "instagram",
            IG,
            "message",
            json!({"mid": "ig_1", "is_deleted": true}),
        );
        assert_eq!(parse_value(&deleted)[0].items, vec![]);

        // Echoes, from the control API (Page inbox app id) and after a send.
        for (object, asset, message) in [
            (
                "page",
                page,
                json!({"mid": "m_7", "text": "Sent from the inbox", "is_echo": true, "app_id": 263902037430900_i64}),
            ),
            (
                "page",
                page,
                json!({"mid": "m_8", "is_echo": true, "app_id": 900000000000001_i64, "metadata": "x", "text": "hello"}),
            ),
            (
                "instagram",
                IG,
                json!({"mid": "ig_6", "text": "Sent from the inbox", "is_echo": true}),
            ),
        ] {
            let payload = messaging_envelope(
                object,
                asset,
                json!({"sender": {"id": asset}, "recipient": {"id": user},
                    "timestamp": 1_790_000_000_000_i64, "message": message}),
            );
            let m = single(&parse_value(&payload));
            assert_eq!(m.event, MESSAGE_ECHO);
            assert_eq!(m.contact, user);
            assert_eq!(m.data["from"], asset);
            assert_eq!(m.data["to"], user);
        }

        // Watermarks.
        let (_, item) = single_item(&parse_value(&from_user(
            "page",
            page,
            "delivery",
            json!({"mids": ["m_9"], "watermark": 1_789_999_999_000_i64}),
        )));
        assert_eq!(
            item,
            Item::Watermark {
                status: MessageStatus::Delivered,
                recipient: user.into(),
                watermark: 1_789_999_999_000,
                mids: vec!["m_9".into()],
                occurred_at: 1_790_000_000_000,
            }
        );
        let (_, item) = single_item(&parse_value(&from_user(
            "instagram",
            IG,
            "read",
            json!({"mid": "ig_6"}),
        )));
        assert_eq!(
            item,
            Item::Watermark {
                status: MessageStatus::Read,
                recipient: user.into(),
                watermark: 1_790_000_000_000,
                mids: vec!["ig_6".into()],
                occurred_at: 1_790_000_000_000,
            }
        );
    }

    #[test]
    fn times_in_seconds_or_milliseconds() {
        assert_eq!(millis(Some(&json!("1790000000"))), Some(1_790_000_000_000));
        assert_eq!(millis(Some(&json!(1_790_000_000))), Some(1_790_000_000_000));
        assert_eq!(
            millis(Some(&json!(1_790_000_000_123_i64))),
            Some(1_790_000_000_123)
        );
        assert_eq!(millis(Some(&json!("soon"))), None);
        assert_eq!(millis(None), None);
    }

    /// Found by the `meta_webhook` fuzz target: a large negative time
    /// overflowed the seconds-to-milliseconds multiplication (a panic with
    /// overflow checks, a wrapped timestamp without them).
    #[test]
    fn times_that_overflow_milliseconds_are_absent() {
        assert_eq!(millis(Some(&json!(-79_000_055_007_720_000_i64))), None);
        assert_eq!(millis(Some(&json!(i64::MIN))), None);
        assert_eq!(millis(Some(&json!("-9223372036854775807"))), None);
        // Beyond i64: read as a float, saturated to i64::MIN.
        assert_eq!(millis(Some(&json!(-7.9e19))), None);
        assert_eq!(millis(Some(&json!(-5))), Some(-5000));
        let body = br#"{"object":"instagram","entry":[{"id":"0","time":-79000055007720000}]}"#;
        let routed = vec![Routed {
            route: Route::Instagram("0".into()),
            items: vec![],
            raw: None,
        }];
        assert_eq!(parse(body), Ok(routed));
    }
    // --- Flows, pricing and raw pointers (SPEC §13) -------------------------

    #[test]
    fn flow_answers_become_flow_reply_with_the_parsed_response() {
        let d = wa_msg_data("msg.interactive.nfm_reply");
        assert_eq!(d["type"], "flow_reply");
        assert_eq!(
            d["flow_reply"],
            json!({"name": "flow", "flow_token": "tok-1",
                "response": {"flow_token": "tok-1", "rating": "5"}})
        );
        assert_eq!(d.as_object().unwrap().len(), 9);
        // A response that is not JSON is kept as the string Meta sent.
        let mut odd = fixture_value("msg.interactive.nfm_reply");
        odd["interactive"]["nfm_reply"]["response_json"] = json!("rating=5");
        let m = single(&parse_value(&wa_envelope(ana(), odd)));
        assert_eq!(
            m.data["flow_reply"],
            json!({"name": "flow", "flow_token": null, "response": "rating=5"})
        );
    }

    #[test]
    fn status_billing_keeps_what_meta_sent() {
        let mut payload = fixture_value("A.10");
        let st = &mut payload["entry"][0]["changes"][0]["value"]["statuses"][0];
        // Conversation-based pricing (before July 2025): no `type`.
        st["pricing"] = json!({"billable": true, "pricing_model": "CBP", "category": "marketing"});
        st.as_object_mut().unwrap().remove("conversation");
        let (_, item) = single_item(&parse_value(&payload));
        let Item::Status { billing, .. } = item else {
            panic!("a status")
        };
        assert_eq!(
            billing,
            Billing {
                pricing: json!({"billable": true, "category": "marketing", "model": "CBP", "type": null}),
                conversation: Value::Null,
            }
        );
    }

    #[test]
    fn each_routed_names_the_meta_item_it_came_from() {
        let body = json!({"object": "whatsapp_business_account", "entry": [
            {"id": "1", "changes": [{"field": "messages", "value": {"metadata": {"phone_number_id": "a"}}}]},
            {"id": "2", "changes": [{"field": "other"},
                {"field": "messages", "value": {"metadata": {"phone_number_id": "b"}}}]}]});
        let raws: Vec<_> = parse_value(&body).into_iter().map(|r| r.raw).collect();
        assert_eq!(
            raws,
            vec![
                Some("/entry/0/changes/0/value".to_string()),
                Some("/entry/1/changes/1/value".to_string())
            ]
        );
        // Messenger: one per `messaging` item, then `standby`.
        let item = |mid: &str| {
            json!({"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": 1_790_000_000_000_i64,
                "message": {"mid": mid, "text": "hi"}})
        };
        let body = json!({"object": "page", "entry": [{"id": PAGE, "time": 1,
            "messaging": [item("m_1"), item("m_2")], "standby": [item("m_3")]}]});
        let routed = parse_value(&body);
        let raws: Vec<_> = routed.iter().map(|r| r.raw.clone().unwrap()).collect();
        assert_eq!(
            raws,
            [
                "/entry/0/messaging/0",
                "/entry/0/messaging/1",
                "/entry/0/standby/0"
            ]
        );
        assert!(routed.iter().all(|r| r.items.len() == 1));
        // The pointer finds the item in the body.
        assert_eq!(body.pointer(&raws[1]).unwrap()["message"]["mid"], "m_2");
    }

    fn signal(field: &str, value: Value) -> (Route, Item) {
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "100000000000001",
            "time": 1790001000, "changes": [{"field": field, "value": value}]}]});
        single_item(&parse(body.to_string().as_bytes()).unwrap())
    }

    fn status_of(item: &Item) -> (Option<&str>, Option<&str>, Option<&str>) {
        match item {
            Item::AccountUpdate {
                phone_number,
                account_status,
                quality_rating,
                ..
            } => (
                phone_number.as_deref(),
                account_status.as_deref(),
                quality_rating.as_deref(),
            ),
            other => panic!("not an account update: {other:?}"),
        }
    }

    #[test]
    fn account_signals_say_what_the_channel_becomes() {
        let waba = Route::Waba("100000000000001".into());
        for (value, expected) in [
            (
                json!({"event": "ACCOUNT_RESTRICTION", "restriction_info": [{"restriction_type": "RESTRICTED_ADD_PHONE_NUMBER_ACTION"}]}),
                Some("restricted"),
            ),
            (
                json!({"event": "ACCOUNT_RESTRICTION", "restriction_info": []}),
                Some("ok"),
            ),
            (
                json!({"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "DISABLE"}}),
                Some("disabled"),
            ),
            (
                json!({"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "SCHEDULE_FOR_DISABLE"}}),
                Some("flagged"),
            ),
            (
                json!({"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "REINSTATE"}}),
                Some("ok"),
            ),
            (json!({"event": "PARTNER_APP_INSTALLED"}), None),
            // A WABA-level `FLAGGED` is no number's quality.
            (json!({"event": "FLAGGED"}), None),
        ] {
            let (route, item) = signal("account_update", value.clone());
            assert_eq!(route, waba);
            assert_eq!(status_of(&item), (None, expected, None), "{value}");
        }
        for (event, expected) in [
            ("FLAGGED", (Some("flagged"), Some("RED"))),
            ("UNFLAGGED", (Some("ok"), Some("UNKNOWN"))),
            ("DOWNGRADE", (None, None)),
        ] {
            let (route, item) = signal(
                "phone_number_quality_update",
                json!({"display_phone_number": "+1 202-555-0100", "event": event, "current_limit": "TIER_250"}),
            );
            assert_eq!(route, waba);
            assert_eq!(
                status_of(&item),
                (Some("12025550100"), expected.0, expected.1),
                "{event}"
            );
        }
        // Without an event, or a quality update without its number: nothing.
        for (field, value) in [
            ("account_update", json!({"waba_info": {}})),
            ("phone_number_quality_update", json!({"event": "FLAGGED"})),
        ] {
            let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1",
                "changes": [{"field": field, "value": value}]}]});
            let routed = parse(body.to_string().as_bytes()).unwrap();
            assert!(routed.iter().all(|r| r.items.is_empty()), "{field}");
        }
    }
}
