//! Webhook bodies shaped exactly like Meta's (reference §4, §10.3, §11.4 and
//! the fixture appendix): WhatsApp `changes[].value`, Messenger/Instagram
//! `messaging[]`, statuses, watermarks and template status updates.

use serde_json::{Map, Value, json};

use super::db::{Asset, Message, Template};

/// Business number metadata of a WhatsApp `value`.
fn wa_value(phone: &Asset) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("messaging_product".into(), json!("whatsapp"));
    m.insert(
        "metadata".into(),
        json!({"display_phone_number": phone.digits(), "phone_number_id": phone.id}),
    );
    m
}

pub fn wa_envelope(waba_id: &str, field: &str, value: Value, entry_time: Option<i64>) -> Value {
    let mut entry = json!({"id": waba_id, "changes": [{"field": field, "value": value}]});
    if let Some(t) = entry_time {
        entry["time"] = json!(t);
    }
    json!({"object": "whatsapp_business_account", "entry": [entry]})
}

/// An inbound message from `from` (with profile `name`) to `phone`.
pub fn wa_message(phone: &Asset, from: &str, name: &str, message: Value) -> Value {
    let mut v = wa_value(phone);
    v.insert(
        "contacts".into(),
        json!([{"profile": {"name": name}, "wa_id": from}]),
    );
    v.insert("messages".into(), json!([message]));
    wa_envelope(
        phone.parent_id.as_deref().unwrap_or_default(),
        "messages",
        Value::Object(v),
        None,
    )
}

/// A coexistence echo: the business wrote from the WhatsApp Business app.
pub fn wa_echo(phone: &Asset, to: &str, id: &str, ts: &str, text: &str) -> Value {
    let mut v = wa_value(phone);
    v.insert(
        "message_echoes".into(),
        json!([{"from": phone.digits(), "to": to, "id": id, "timestamp": ts, "type": "text", "text": {"body": text}}]),
    );
    wa_envelope(
        phone.parent_id.as_deref().unwrap_or_default(),
        "smb_message_echoes",
        Value::Object(v),
        None,
    )
}

fn error_title(code: i64) -> &'static str {
    match code {
        131047 => "Re-engagement message",
        131026 => "Message undeliverable",
        131049 => "This message was not delivered to maintain healthy ecosystem engagement.",
        131050 => {
            "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business."
        }
        130472 => "User's number is part of an experiment",
        131000 => "Something went wrong",
        _ => "Message failed to send",
    }
}

fn error_details(code: i64) -> &'static str {
    match code {
        131047 => {
            "Message failed to send because more than 24 hours have passed since the customer last replied to this number."
        }
        131026 => "Message Undeliverable.",
        _ => "The message could not be delivered.",
    }
}

/// A `statuses[]` notification for an outbound WhatsApp message. Like Meta,
/// `sent` carries the conversation expiry, `delivered` the conversation and
/// pricing, `read` neither, `failed` the errors.
pub fn wa_status(
    phone: &Asset,
    msg: &Message,
    status: &str,
    ts_secs: i64,
    error_code: Option<i64>,
) -> Value {
    let conversation_id = &app::crypto::sha256_hex(&format!("{}:{}", phone.id, msg.peer))[..32];
    let mut s = json!({
        "id": msg.id,
        "status": status,
        "timestamp": ts_secs.to_string(),
        "recipient_id": msg.peer,
    });
    let category = if msg.msg_type == "template" {
        "utility"
    } else {
        "service"
    };
    let pricing = json!({"billable": category != "service", "pricing_model": "PMP", "category": category,
        "type": if category == "service" { "free_customer_service" } else { "regular" }});
    match status {
        "sent" => {
            s["conversation"] = json!({"id": conversation_id, "origin": {"type": category},
                "expiration_timestamp": (ts_secs + 86_400).to_string()});
            s["pricing"] = pricing;
        }
        "delivered" => {
            s["conversation"] = json!({"id": conversation_id, "origin": {"type": category}});
            s["pricing"] = pricing;
        }
        "failed" => {
            let code = error_code.unwrap_or(131000);
            s["errors"] = json!([{"code": code, "title": error_title(code), "message": error_title(code),
                "error_data": {"details": error_details(code)},
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]);
        }
        _ => {}
    }
    let mut v = wa_value(phone);
    v.insert("statuses".into(), json!([s]));
    wa_envelope(
        phone.parent_id.as_deref().unwrap_or_default(),
        "messages",
        Value::Object(v),
        None,
    )
}

/// `message_template_status_update` (note: the template id is a number here).
pub fn template_status(tpl: &Template, event: &str, reason: Option<&str>, now_secs: i64) -> Value {
    let mut value = json!({
        "event": event,
        "message_template_id": tpl.id.parse::<i64>().unwrap_or(0),
        "message_template_name": tpl.name,
        "message_template_language": tpl.language,
        "reason": reason.map(|_| "INVALID_FORMAT").unwrap_or("NONE"),
        "message_template_category": tpl.category,
    });
    if let Some(r) = reason {
        value["rejection_info"] =
            json!({"reason": r, "recommendation": "Edit the template and submit it again."});
    }
    wa_envelope(
        &tpl.waba_id,
        "message_template_status_update",
        value,
        Some(now_secs),
    )
}

/// `{"object": "page"|"instagram", "entry": [{"id", "time", "messaging": [item]}]}`.
pub fn messaging(asset: &Asset, time_ms: i64, item: Value) -> Value {
    let object = if asset.kind == "instagram" {
        "instagram"
    } else {
        "page"
    };
    json!({"object": object, "entry": [{"id": asset.id, "time": time_ms + 123, "messaging": [item]}]})
}

/// A `messaging[]` item from the end user to the asset.
pub fn from_user(asset: &Asset, user: &str, ts_ms: i64, key: &str, content: Value) -> Value {
    let mut item =
        json!({"sender": {"id": user}, "recipient": {"id": asset.id}, "timestamp": ts_ms});
    item[key] = content;
    item
}

/// A `messaging[]` item sent by the asset itself (echo): sender and recipient swapped.
pub fn from_business(asset: &Asset, user: &str, ts_ms: i64, message: Value) -> Value {
    json!({"sender": {"id": asset.id}, "recipient": {"id": user}, "timestamp": ts_ms, "message": message})
}
