//! Send APIs: `{phone_number_id}/messages` (WhatsApp Cloud API) and
//! `{page_id|ig_id}/messages` (Messenger / Instagram), with Meta's checks:
//! registration, 24-hour window, length limits, template approval.

use app::clock::{DAY_MS, HOUR_MS};
use serde_json::{Value, json};

use super::super::Sandbox;
use super::super::db::{self, Asset, Message, Token};
use super::super::sender;
use super::templates::body_placeholders;
use super::{GErr, GResult, Req, has_scope, missing_permission, random_b64, visible_asset};

const WINDOW_MS: i64 = 24 * HOUR_MS;
const HUMAN_AGENT_MS: i64 = 7 * DAY_MS;
const MEDIA_TYPES: [&str; 5] = ["image", "video", "audio", "document", "sticker"];

pub async fn send(sb: &Sandbox, req: &Req, t: &Token, id: &str) -> GResult {
    let asset = visible_asset(sb, req, t, id, &["phone", "page", "instagram"]).await?;
    if asset.kind == "phone" {
        whatsapp(sb, req, t, &asset).await
    } else {
        messenger(sb, req, t, &asset).await
    }
}

fn digits(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_digit()).collect()
}

fn wa_details(e: GErr, d: &str) -> GErr {
    e.details(d)
}

/// Test hooks from the reference's emulator checklist: customer numbers with
/// these endings fail the way Meta would, so every error class is reachable.
fn magic_recipient(to: &str) -> Option<GErr> {
    let tail = to.get(to.len().saturating_sub(4)..)?;
    Some(match tail {
        "0196" => GErr::new(130429, "(#130429) Rate limit hit")
            .details("Cloud API message throughput has been reached."),
        "0197" => GErr::new(131056, "(#131056) (Business Account, Consumer Account) pair rate limit hit")
            .details("Too many messages sent from the sender phone number to the same recipient phone number in a short period of time."),
        "0199" => GErr::new(131026, "(#131026) Message Undeliverable")
            .details("Unable to deliver message."),
        _ => return None,
    })
}

async fn whatsapp(sb: &Sandbox, req: &Req, t: &Token, phone: &Asset) -> GResult {
    if !has_scope(t, "whatsapp_business_messaging") {
        return Err(GErr::new(
            10,
            "(#10) Application does not have permission for this action",
        ));
    }
    if req.str("messaging_product").as_deref() != Some("whatsapp") {
        return Err(GErr::new(
            100,
            "(#100) The parameter messaging_product is required.",
        ));
    }
    if !phone
        .data
        .get("registered")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        return Err(wa_details(
            GErr::new(133010, "(#133010) Account not registered"),
            "The phone number is not registered on Cloud API. Register it with POST /{phone-number-id}/register.",
        ));
    }
    if req.str("status").as_deref() == Some("read") {
        let mid = req.str("message_id").unwrap_or_default();
        return match db::message_by_id(&sb.db, &mid).await? {
            Some(m) if m.asset_id == phone.id && m.direction == "in" => {
                db::set_message_status(&sb.db, &m.id, "read", sb.now()).await?;
                Ok(json!({"success": true}))
            }
            _ => Err(GErr::new(100, "(#100) Invalid parameter")
                .details("message_id is not a message received by this number.")),
        };
    }
    let to_raw = req
        .str("to")
        .or_else(|| req.str("recipient"))
        .unwrap_or_default();
    if to_raw.is_empty() {
        return Err(GErr::new(100, "(#100) The parameter to is required."));
    }
    // BSUIDs (`US.123…`) are kept as they are; numbers are compared as digits.
    let to = if to_raw.contains('.') {
        to_raw.clone()
    } else {
        digits(&to_raw)
    };
    let kind = req.str("type").unwrap_or_else(|| "text".into());
    let object = req.obj(&kind);
    let mut stored = json!({"type": kind});
    let mut template_send = false;
    match kind.as_str() {
        "text" => {
            let body = object
                .as_ref()
                .and_then(|o| o.get("body"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            if body.is_empty() {
                return Err(GErr::new(
                    100,
                    "(#100) The parameter text['body'] is required.",
                ));
            }
            if body.chars().count() > 4096 {
                return Err(GErr::new(
                    100,
                    "(#100) Param text['body'] must be at most 4096 characters long.",
                )
                .details("Text messages are limited to 4096 characters."));
            }
            stored["text"] = json!(body);
        }
        k if MEDIA_TYPES.contains(&k) => {
            let mut o = object.unwrap_or(Value::Null);
            let id = o.get("id").and_then(Value::as_str).map(str::to_string);
            let link = o.get("link").and_then(Value::as_str);
            match (id, link) {
                (Some(id), None) => {
                    let Some(m) = db::media_by_id(&sb.db, &id).await? else {
                        return Err(GErr::new(131053, "(#131053) Media upload error")
                            .details(format!("Media id {id} was not found.")));
                    };
                    // The outbox shows what the uploaded file was.
                    o["mime_type"] = json!(m.mime_type);
                    o["sha256"] = json!(m.sha256);
                    o["file_size"] = json!(m.size);
                }
                (None, Some(l)) if l.starts_with("https://") || l.starts_with("http://") => {}
                _ => {
                    return Err(GErr::new(100, "(#100) Invalid parameter")
                        .details(format!("{k} needs exactly one of id or link.")));
                }
            }
            stored["media"] = o;
        }
        "reaction" => {
            let o = object.unwrap_or(Value::Null);
            if o.get("message_id").and_then(Value::as_str).is_none() {
                return Err(GErr::new(
                    100,
                    "(#100) The parameter reaction['message_id'] is required.",
                ));
            }
            stored["reaction"] = o;
        }
        "template" => {
            template_send = true;
            let o = object.unwrap_or(Value::Null);
            check_template(sb, phone, &o).await?;
            stored["template"] = o;
        }
        "interactive" | "location" | "contacts" => {
            let Some(o) = object else {
                return Err(GErr::new(
                    100,
                    format!("(#100) The parameter {kind} is required."),
                ));
            };
            if kind == "interactive" && o.get("type").and_then(Value::as_str) == Some("flow") {
                check_flow(&o)?;
            }
            stored[kind.as_str()] = o;
        }
        other => {
            return Err(GErr::new(131051, "(#131051) Unsupported message type")
                .details(format!("Message type {other} is not supported.")));
        }
    }
    if let Some(e) = magic_recipient(&to) {
        return Err(e);
    }
    if !template_send {
        let open = db::user_of(&sb.db, &phone.id, &to)
            .await?
            .is_some_and(|u| u.last_inbound_at > sb.now() - WINDOW_MS);
        if !open {
            return Err(GErr::new(131047, "(#131047) Re-engagement message").details(
                "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
            ));
        }
    }
    if let Some(ctx) = req.obj("context") {
        stored["reply_to"] = ctx.get("message_id").cloned().unwrap_or(Value::Null);
    }
    let now = sb.now();
    let msg = Message {
        id: format!("wamid.{}", random_b64(30)),
        asset_id: phone.id.clone(),
        direction: "out".into(),
        peer: to.clone(),
        msg_type: kind.clone(),
        body: stored,
        status: "accepted".into(),
        created_at: now,
    };
    db::insert_message(&sb.db, &msg).await?;
    sender::progress_whatsapp(sb.clone(), msg.id.clone());
    let mut message_ref = json!({"id": msg.id});
    if template_send {
        message_ref["message_status"] = json!("accepted");
    }
    let wa_id = if to.contains('.') {
        Value::Null
    } else {
        json!(to)
    };
    Ok(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": to_raw, "wa_id": wa_id}],
        "messages": [message_ref],
    }))
}

fn missing(what: &str) -> GErr {
    GErr::new(131008, "(#131008) Required parameter is missing")
        .details(format!("The parameter {what} is required."))
}

fn invalid(details: impl Into<String>) -> GErr {
    GErr::new(131009, "(#131009) Parameter value is not valid").details(details)
}

/// An interactive `flow` message as Meta checks it ("Sending a Flow"):
/// `body.text`, `action.name` "flow", `flow_message_version` "3", a
/// `flow_id` (or `flow_name`), a `flow_cta` of 1–20 characters without
/// emoji, `flow_action_payload.screen` for `navigate` and no payload for
/// `data_exchange`; `data`, when sent, a non-empty object. The sandbox
/// knows no Flows of its own: any numeric id is taken as published.
fn check_flow(o: &Value) -> Result<(), GErr> {
    let s = |p: &str| o.pointer(p).and_then(Value::as_str);
    if s("/body/text").is_none_or(str::is_empty) {
        return Err(missing("interactive['body']['text']"));
    }
    if s("/action/name") != Some("flow") {
        return Err(invalid("interactive['action']['name'] must be flow."));
    }
    let p = "/action/parameters";
    match s(&format!("{p}/flow_message_version")) {
        Some("3") => {}
        None => return Err(missing("flow_message_version")),
        Some(v) => {
            return Err(invalid(format!(
                "flow_message_version {v} is not supported; use 3."
            )));
        }
    }
    match (s(&format!("{p}/flow_id")), s(&format!("{p}/flow_name"))) {
        (Some(id), _) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {}
        (Some(id), _) => return Err(invalid(format!("Flow with id {id} does not exist."))),
        (None, Some(n)) if !n.is_empty() => {}
        _ => return Err(missing("flow_id")),
    }
    let cta = s(&format!("{p}/flow_cta")).unwrap_or_default();
    if cta.is_empty() {
        return Err(missing("flow_cta"));
    }
    let emoji = cta
        .chars()
        .any(|c| matches!(u32::from(c), 0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0xFE0F));
    if cta.chars().count() > 20 || emoji {
        return Err(invalid(
            "flow_cta must be at most 20 characters and must not contain emoji.",
        ));
    }
    let payload = o.pointer(&format!("{p}/flow_action_payload"));
    match s(&format!("{p}/flow_action")).unwrap_or("navigate") {
        "navigate" => {
            let Some(payload) = payload else {
                return Err(missing("flow_action_payload"));
            };
            if payload
                .get("screen")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(missing("flow_action_payload['screen']"));
            }
            if let Some(d) = payload.get("data")
                && d.as_object().is_none_or(|m| m.is_empty())
            {
                return Err(invalid(
                    "flow_action_payload['data'] must be a non-empty object.",
                ));
            }
        }
        "data_exchange" if payload.is_some() => {
            return Err(invalid(
                "flow_action_payload must be omitted when flow_action is data_exchange.",
            ));
        }
        "data_exchange" => {}
        other => {
            return Err(invalid(format!(
                "flow_action {other} is not one of navigate, data_exchange."
            )));
        }
    }
    if let Some(mode) = s(&format!("{p}/mode"))
        && !matches!(mode, "draft" | "published")
    {
        return Err(invalid(format!(
            "mode {mode} is not one of draft, published."
        )));
    }
    Ok(())
}

/// Only APPROVED templates in the requested language are sendable, with the
/// right number (and, when NAMED, names) of body parameters.
async fn check_template(sb: &Sandbox, phone: &Asset, o: &Value) -> Result<(), GErr> {
    let name = o.get("name").and_then(Value::as_str).unwrap_or_default();
    let lang = o
        .pointer("/language/code")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let waba = phone.parent_id.clone().unwrap_or_default();
    let found = db::templates_of(&sb.db, &waba)
        .await?
        .into_iter()
        .find(|t| t.name == name && t.language == lang && t.status == "APPROVED");
    let Some(tpl) = found else {
        return Err(GErr::new(
            132001,
            "(#132001) Template name does not exist in the translation",
        )
        .details(format!("template name ({name}) does not exist in {lang}")));
    };
    let params: Vec<Value> = o
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| {
            c.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("body"))
        })
        .flat_map(|c| {
            c.get("parameters")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let expected = body_placeholders(&tpl);
    if params.len() != expected.len() {
        return Err(GErr::new(132000, "(#132000) Number of parameters does not match the expected number of params")
            .details(format!("body: number of localizable_params ({}) does not match the expected number of params ({})", params.len(), expected.len())));
    }
    if tpl.parameter_format == "NAMED" {
        let all_named = params.iter().all(|p| {
            p.get("parameter_name")
                .and_then(Value::as_str)
                .is_some_and(|n| expected.iter().any(|e| e == n))
        });
        if !all_named {
            return Err(GErr::new(
                132012,
                "(#132012) Parameter format does not match format in the created template",
            )
            .details("This template uses named parameters: give each one its parameter_name."));
        }
    }
    Ok(())
}

/// Messenger (Page) and Instagram Send API.
async fn messenger(sb: &Sandbox, req: &Req, t: &Token, asset: &Asset) -> GResult {
    let instagram = asset.kind == "instagram";
    if t.kind != "page" {
        return Err(GErr::new(
            210,
            "(#210) A page access token is required to request this resource.",
        ));
    }
    let scope = if instagram {
        "instagram_manage_messages"
    } else {
        "pages_messaging"
    };
    if !has_scope(t, scope) {
        return Err(missing_permission(scope));
    }
    let recipient = req
        .obj("recipient")
        .and_then(|r| {
            r.get("id").and_then(|v| {
                v.as_str()
                    .map(str::to_string)
                    .or_else(|| v.as_i64().map(|n| n.to_string()))
            })
        })
        .unwrap_or_default();
    if recipient.is_empty() {
        return Err(GErr::new(100, "(#100) param recipient must be non-empty."));
    }
    let Some(user) = db::user_of(&sb.db, &asset.id, &recipient).await? else {
        return Err(if instagram {
            GErr::sub(100, 2534014, "(#100) No matching user found")
        } else {
            GErr::sub(100, 2018001, "(#100) No matching user found")
        });
    };
    let now = sb.now();
    let human_agent = req.str("tag").as_deref() == Some("HUMAN_AGENT");
    let window = if human_agent {
        HUMAN_AGENT_MS
    } else {
        WINDOW_MS
    };
    if user.last_inbound_at <= now - window {
        return Err(if instagram {
            GErr::sub(
                10,
                2534022,
                "(#10) This message is sent outside of allowed window.",
            )
        } else {
            GErr::sub(
                10,
                2018278,
                "(#10) This message is sent outside of allowed window.",
            )
        });
    }
    if let Some(action) = req.str("sender_action") {
        return match action.as_str() {
            "typing_on" | "typing_off" | "mark_seen" | "react" | "unreact" => {
                Ok(json!({"recipient_id": recipient}))
            }
            _ => Err(GErr::new(100, "(#100) Invalid sender_action")),
        };
    }
    let Some(message) = req.obj("message") else {
        return Err(GErr::new(
            100,
            "(#100) Must send either message or sender_action",
        ));
    };
    let mut stored = json!({});
    let msg_type;
    if let Some(text) = message.get("text").and_then(Value::as_str) {
        // Instagram counts bytes, Messenger characters (reference §10.4, §11.5).
        let (len, limit) = if instagram {
            (text.len(), 1000)
        } else {
            (text.chars().count(), 2000)
        };
        if len > limit {
            return Err(GErr::new(
                100,
                format!(
                    "(#100) Length of param message[text] must be less than or equal to {limit}"
                ),
            ));
        }
        msg_type = "text".to_string();
        stored["text"] = json!(text);
    } else if let Some(att) = message.get("attachment") {
        msg_type = att
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("file")
            .to_string();
        stored["media"] = att.get("payload").cloned().unwrap_or(Value::Null);
    } else {
        return Err(GErr::new(
            100,
            "(#100) Message cannot be empty, must provide valid attachment or text",
        ));
    }
    stored["type"] = json!(msg_type);
    if let Some(m) = message.get("metadata") {
        stored["metadata"] = m.clone();
    }
    let mid = if instagram {
        random_instagram_mid(&asset.id)
    } else {
        format!("m_{}", app::crypto::random_base62(40))
    };
    let msg = Message {
        id: mid.clone(),
        asset_id: asset.id.clone(),
        direction: "out".into(),
        peer: recipient.clone(),
        msg_type,
        body: stored,
        status: "sent".into(),
        created_at: now,
    };
    db::insert_message(&sb.db, &msg).await?;
    sender::progress_messenger(sb.clone(), msg.id.clone());
    Ok(json!({"recipient_id": recipient, "message_id": mid}))
}

/// Instagram mids are base64 of an `ig_item` reference.
pub fn random_instagram_mid(ig_id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!(
        "ig_item:1:IGMessage:{ig_id}:{}",
        app::crypto::random_base62(12)
    ))
}
