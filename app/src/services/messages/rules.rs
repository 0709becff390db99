//! The checks of SPEC §5.1 that need no database: text length as Meta counts
//! it, recipient formats, WhatsApp interactive limits (reference §5.2, §5.5).
//! Each failure is a 400 with its own `code` and a detail naming the field.

use serde_json::Value;

use crate::domain::ChannelType;
use crate::error::{AppError, AppResult};

pub const WHATSAPP_TEXT_MAX: usize = 4096;
pub const FACEBOOK_TEXT_MAX: usize = 2000;
/// Instagram counts UTF-8 **bytes** (reference §11.5).
pub const INSTAGRAM_TEXT_MAX_BYTES: usize = 1000;

/// The length of `text` the way Meta measures it for `t`, with the limit and
/// its unit: characters (Unicode scalar values) on WhatsApp and Messenger,
/// UTF-8 bytes on Instagram.
pub fn text_length(t: ChannelType, text: &str) -> (usize, usize, &'static str) {
    match t {
        ChannelType::Whatsapp => (text.chars().count(), WHATSAPP_TEXT_MAX, "characters"),
        ChannelType::Facebook => (text.chars().count(), FACEBOOK_TEXT_MAX, "characters"),
        ChannelType::Instagram => (text.len(), INSTAGRAM_TEXT_MAX_BYTES, "bytes (UTF-8)"),
    }
}

pub fn check_text(t: ChannelType, text: &str) -> AppResult<()> {
    if text.trim().is_empty() {
        return Err(AppError::validation("text: must not be empty"));
    }
    let (len, max, unit) = text_length(t, text);
    if len > max {
        return Err(AppError::bad_request(
            "text_too_long",
            format!(
                "text is {len} {unit}; {} allows at most {max} {unit}",
                t.label()
            ),
        ));
    }
    Ok(())
}

/// A WhatsApp business-scoped user id such as `US.13491208655302741918`.
pub fn is_bsuid(r: &str) -> bool {
    match r.split_once('.') {
        Some((cc, rest)) => {
            cc.len() == 2
                && cc.bytes().all(|b| b.is_ascii_uppercase())
                && (1..=64).contains(&rest.len())
                && rest.bytes().all(|b| b.is_ascii_alphanumeric())
        }
        None => false,
    }
}

fn digits(r: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_digit())
}

/// WhatsApp: 7–15 digits without `+` (E.164 digits, what `data.from` shows)
/// or a BSUID; Instagram/Messenger: the IGSID/PSID, digits only.
pub fn check_recipient(t: ChannelType, r: &str) -> AppResult<()> {
    let ok = match t {
        ChannelType::Whatsapp => digits(r, 7, 15) || is_bsuid(r),
        ChannelType::Instagram | ChannelType::Facebook => digits(r, 5, 32),
    };
    if ok {
        return Ok(());
    }
    let want = match t {
        ChannelType::Whatsapp if r.starts_with('+') => {
            "a WhatsApp recipient is the phone number as digits only, without the leading + \
             (e.g. 15550100001), or a business-scoped user id such as US.1349…"
        }
        ChannelType::Whatsapp => {
            "a WhatsApp recipient is 7 to 15 digits without + or spaces (e.g. 15550100001), \
             or a business-scoped user id such as US.1349…"
        }
        ChannelType::Instagram => {
            "an Instagram recipient is the IGSID (digits) from a message.received event"
        }
        ChannelType::Facebook => {
            "a Messenger recipient is the PSID (digits) from a message.received event"
        }
    };
    Err(AppError::bad_request(
        "invalid_recipient",
        format!("recipient `{}`: {want}", crate::domain::shown(r)),
    ))
}

/// A reaction emoji: one emoji (sequences included), or `""` to remove.
pub fn check_emoji(e: &str) -> AppResult<()> {
    if e.chars().count() > 10
        || e.chars()
            .any(|c| c.is_whitespace() || c.is_ascii_alphanumeric())
    {
        return Err(AppError::validation(
            "reaction.emoji: one emoji, or \"\" to remove the reaction",
        ));
    }
    Ok(())
}

/// True for a Switchboard message id (a UUID), as opposed to Meta's ids.
pub fn is_switchboard_id(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::parse_str(s).is_ok()
}

// ---- WhatsApp interactive (reference §5.2, §5.5) ----------------------------

fn field_err(path: &str, what: &str) -> AppError {
    AppError::validation(format!("interactive.{path}: {what}"))
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// A required string of 1..=`max` characters at `v[key]`.
fn text_field<'a>(v: &'a Value, key: &str, path: &str, max: usize) -> AppResult<&'a str> {
    let s = str_at(v, key).ok_or_else(|| field_err(path, "required (a string)"))?;
    check_len(s, path, max)?;
    Ok(s)
}

fn check_len(s: &str, path: &str, max: usize) -> AppResult<()> {
    if s.trim().is_empty() {
        return Err(field_err(path, "must not be empty"));
    }
    let n = s.chars().count();
    if n > max {
        return Err(field_err(
            path,
            &format!("at most {max} characters (got {n})"),
        ));
    }
    Ok(())
}

/// Optional `{ "text": … }` objects (footer) of at most `max` characters.
fn optional_text_object(v: &Value, key: &str, max: usize) -> AppResult<()> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(()),
        Some(o) => text_field(o, "text", &format!("{key}.text"), max).map(|_| ()),
    }
}

fn check_header(v: &Value) -> AppResult<()> {
    match v.get("header") {
        None | Some(Value::Null) => Ok(()),
        Some(h) => match str_at(h, "type") {
            Some("text") => text_field(h, "text", "header.text", 60).map(|_| ()),
            Some("image" | "video" | "document") => Err(AppError::bad_request(
                "not_supported",
                "interactive.header: media headers are not supported yet; use a text header",
            )),
            _ => Err(field_err("header.type", "must be \"text\"")),
        },
    }
}

fn unique_id(seen: &mut Vec<String>, id: &str, path: &str, max: usize) -> AppResult<()> {
    check_len(id, path, max)?;
    if seen.iter().any(|s| s == id) {
        return Err(field_err(
            path,
            &format!("`{id}` is used twice; ids must be unique"),
        ));
    }
    seen.push(id.to_string());
    Ok(())
}

/// Validates Meta's `interactive` object for the kinds Switchboard sends:
/// `button` (1–3 reply buttons), `list` (≤10 sections, ≤10 rows in total)
/// and `cta_url`. Returns the kind.
pub fn check_interactive(v: &Value) -> AppResult<&'static str> {
    if !v.is_object() {
        return Err(AppError::validation(
            "interactive: an object like {\"type\":\"button\",\"body\":{\"text\":…},\"action\":{…}}",
        ));
    }
    let kind = match str_at(v, "type") {
        Some("button") => "button",
        Some("list") => "list",
        Some("cta_url") => "cta_url",
        Some(other) => {
            return Err(AppError::bad_request(
                "not_supported",
                if other == "flow" {
                    "interactive.type `flow` is sent as `type: \"flow\"` with a `flow` object"
                        .to_string()
                } else {
                    format!(
                        "interactive.type `{other}` is not supported; use button, list or cta_url"
                    )
                },
            ));
        }
        None => return Err(field_err("type", "required: button, list or cta_url")),
    };
    let body = v
        .get("body")
        .ok_or_else(|| field_err("body", "required: {\"text\": …}"))?;
    text_field(body, "text", "body.text", 1024)?;
    check_header(v)?;
    optional_text_object(v, "footer", 60)?;
    let action = v
        .get("action")
        .filter(|a| a.is_object())
        .ok_or_else(|| field_err("action", "required (an object)"))?;
    match kind {
        "button" => {
            let buttons = action
                .get("buttons")
                .and_then(Value::as_array)
                .ok_or_else(|| field_err("action.buttons", "required (1 to 3 buttons)"))?;
            if buttons.is_empty() || buttons.len() > 3 {
                return Err(field_err(
                    "action.buttons",
                    &format!("1 to 3 buttons (got {})", buttons.len()),
                ));
            }
            let mut ids = Vec::new();
            for (i, b) in buttons.iter().enumerate() {
                let path = format!("action.buttons[{i}]");
                if str_at(b, "type").is_some_and(|t| t != "reply") {
                    return Err(field_err(&format!("{path}.type"), "must be \"reply\""));
                }
                let reply = b.get("reply").ok_or_else(|| {
                    field_err(
                        &format!("{path}.reply"),
                        "required: {\"id\": …, \"title\": …}",
                    )
                })?;
                let id = str_at(reply, "id")
                    .ok_or_else(|| field_err(&format!("{path}.reply.id"), "required"))?;
                unique_id(&mut ids, id, &format!("{path}.reply.id"), 256)?;
                text_field(reply, "title", &format!("{path}.reply.title"), 20)?;
            }
        }
        "list" => {
            text_field(action, "button", "action.button", 20)?;
            let sections = action
                .get("sections")
                .and_then(Value::as_array)
                .ok_or_else(|| field_err("action.sections", "required (1 to 10 sections)"))?;
            if sections.is_empty() || sections.len() > 10 {
                return Err(field_err(
                    "action.sections",
                    &format!("1 to 10 sections (got {})", sections.len()),
                ));
            }
            // Counted before any row is read: the id check below compares
            // each row with the ones before it.
            let total: usize = sections
                .iter()
                .filter_map(|s| s.get("rows").and_then(Value::as_array))
                .map(Vec::len)
                .sum();
            if total > 10 {
                return Err(field_err(
                    "action.sections",
                    &format!("at most 10 rows in total (got {total})"),
                ));
            }
            let mut ids = Vec::new();
            for (i, s) in sections.iter().enumerate() {
                let path = format!("action.sections[{i}]");
                match str_at(s, "title") {
                    Some(t) => check_len(t, &format!("{path}.title"), 24)?,
                    None if sections.len() > 1 => {
                        return Err(field_err(
                            &format!("{path}.title"),
                            "required when there is more than one section",
                        ));
                    }
                    None => {}
                }
                let rows = s
                    .get("rows")
                    .and_then(Value::as_array)
                    .filter(|r| !r.is_empty())
                    .ok_or_else(|| field_err(&format!("{path}.rows"), "at least one row"))?;
                for (j, r) in rows.iter().enumerate() {
                    let rp = format!("{path}.rows[{j}]");
                    let id = str_at(r, "id")
                        .ok_or_else(|| field_err(&format!("{rp}.id"), "required"))?;
                    unique_id(&mut ids, id, &format!("{rp}.id"), 200)?;
                    text_field(r, "title", &format!("{rp}.title"), 24)?;
                    if let Some(d) = r.get("description").filter(|d| !d.is_null()) {
                        let d = d
                            .as_str()
                            .ok_or_else(|| field_err(&format!("{rp}.description"), "a string"))?;
                        if d.chars().count() > 72 {
                            return Err(field_err(
                                &format!("{rp}.description"),
                                "at most 72 characters",
                            ));
                        }
                    }
                }
            }
            if ids.len() > 10 {
                return Err(field_err(
                    "action.sections",
                    &format!("at most 10 rows in total (got {})", ids.len()),
                ));
            }
        }
        _ => {
            let p = action
                .get("parameters")
                .ok_or_else(|| field_err("action.parameters", "required: {display_text, url}"))?;
            text_field(p, "display_text", "action.parameters.display_text", 20)?;
            let url = text_field(p, "url", "action.parameters.url", 2000)?;
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(field_err("action.parameters.url", "an http(s) URL"));
            }
        }
    }
    Ok(kind)
}

// ---- WhatsApp Flows (Meta's "Sending a Flow") --------------------------------

/// Meta's limit on the Flow button text; emoji are refused there too.
pub const FLOW_CTA_MAX: usize = 20;

fn flow_err(path: &str, what: &str) -> AppError {
    AppError::validation(format!("flow.{path}: {what}"))
}

/// Pictographs and symbols Meta counts as emoji in a `flow_cta`.
fn is_emoji(c: char) -> bool {
    matches!(u32::from(c), 0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0xFE0F | 0x200D)
}

/// A Flow send as Meta accepts it: `flow_id`, `cta` (1–20 characters, no
/// emoji), `body` (1–1024), non-empty `flow_token`/`screen` when given, and
/// `data` a non-empty object that needs a `screen` to go to.
pub fn check_flow(f: &crate::meta::types::FlowMessage) -> AppResult<()> {
    let required = |v: &str, path: &str, max: usize| -> AppResult<()> {
        if v.trim().is_empty() {
            return Err(flow_err(path, "required (a non-empty string)"));
        }
        let n = v.chars().count();
        if n > max {
            return Err(flow_err(
                path,
                &format!("at most {max} characters (got {n})"),
            ));
        }
        Ok(())
    };
    required(&f.flow_id, "flow_id", 64)?;
    required(&f.cta, "cta", FLOW_CTA_MAX)?;
    if f.cta.chars().any(is_emoji) {
        return Err(flow_err("cta", "emoji are not allowed (Meta refuses them)"));
    }
    required(&f.body, "body", 1024)?;
    if let Some(t) = &f.flow_token {
        required(t, "flow_token", 1024)?;
    }
    if let Some(s) = &f.screen {
        required(s, "screen", 256)?;
    }
    if let Some(d) = &f.data {
        if d.as_object().is_none_or(|o| o.is_empty()) {
            return Err(flow_err("data", "a non-empty object"));
        }
        if f.screen.is_none() {
            return Err(flow_err(
                "data",
                "needs `screen`: the data goes to that screen",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code(r: AppResult<impl std::fmt::Debug>) -> &'static str {
        r.err().map(|e| e.code()).unwrap_or("ok")
    }

    #[test]
    fn lengths_as_meta_counts() {
        let emoji = "😀".repeat(300); // 300 characters, 1200 bytes
        assert_eq!(code(check_text(ChannelType::Whatsapp, &emoji)), "ok");
        assert_eq!(code(check_text(ChannelType::Facebook, &emoji)), "ok");
        assert_eq!(
            code(check_text(ChannelType::Instagram, &emoji)),
            "text_too_long"
        );
        assert_eq!(
            code(check_text(ChannelType::Whatsapp, &"a".repeat(4096))),
            "ok"
        );
        assert_eq!(
            code(check_text(ChannelType::Whatsapp, &"a".repeat(4097))),
            "text_too_long"
        );
        assert_eq!(
            code(check_text(ChannelType::Facebook, &"é".repeat(2001))),
            "text_too_long"
        );
        assert_eq!(
            code(check_text(ChannelType::Instagram, &"a".repeat(1000))),
            "ok"
        );
        assert_eq!(
            code(check_text(ChannelType::Whatsapp, "  ")),
            "validation_error"
        );
    }

    #[test]
    fn recipients() {
        use ChannelType::*;
        for (t, r, ok) in [
            (Whatsapp, "15550100001", true),
            (Whatsapp, "1234567", true),
            (Whatsapp, "123456", false),
            (Whatsapp, "1234567890123456", false),
            (Whatsapp, "+15550100001", false),
            (Whatsapp, "1555 0100 001", false),
            (Whatsapp, "US.13491208655302741918", true),
            (Whatsapp, "us.1349", false),
            (Whatsapp, "USA.1349", false),
            (Instagram, "6400000000000001", true),
            (Instagram, "ana.customer", false),
            (Facebook, "7100000000000001", true),
            (Facebook, "", false),
        ] {
            assert_eq!(check_recipient(t, r).is_ok(), ok, "{t:?} {r}");
            if !ok {
                assert_eq!(code(check_recipient(t, r)), "invalid_recipient");
            }
        }
        assert!(
            check_recipient(Whatsapp, "+15550100001")
                .unwrap_err()
                .public_detail()
                .contains("without the leading +")
        );
    }

    #[test]
    fn ids_and_emoji() {
        assert!(is_switchboard_id("01890a5d-ac96-774b-bcce-b302099a8057"));
        assert!(!is_switchboard_id("wamid.HBgLMTU1NTAxMDAwMDEVAgASGBQzQTk="));
        assert!(check_emoji("👍").is_ok());
        assert!(check_emoji("👨‍👩‍👧‍👦").is_ok());
        assert!(check_emoji("").is_ok());
        assert!(check_emoji("ok").is_err());
    }

    fn buttons(n: usize) -> Value {
        let b: Vec<Value> = (0..n)
            .map(|i| json!({"type": "reply", "reply": {"id": format!("b{i}"), "title": format!("B{i}")}}))
            .collect();
        json!({"type": "button", "body": {"text": "Pick one"}, "action": {"buttons": b}})
    }

    #[test]
    fn reply_buttons() {
        assert_eq!(check_interactive(&buttons(3)).unwrap(), "button");
        let e = check_interactive(&buttons(4)).unwrap_err();
        assert_eq!(e.code(), "validation_error");
        assert!(e.public_detail().contains("action.buttons"));
        assert!(check_interactive(&buttons(0)).is_err());
        let mut long = buttons(1);
        long["action"]["buttons"][0]["reply"]["title"] = json!("x".repeat(21));
        assert!(
            check_interactive(&long)
                .unwrap_err()
                .public_detail()
                .contains("buttons[0].reply.title")
        );
        let mut dup = buttons(2);
        dup["action"]["buttons"][1]["reply"]["id"] = json!("b0");
        assert!(
            check_interactive(&dup)
                .unwrap_err()
                .public_detail()
                .contains("unique")
        );
        let mut no_body = buttons(1);
        no_body.as_object_mut().unwrap().remove("body");
        assert!(check_interactive(&no_body).is_err());
        let mut header = buttons(1);
        header["header"] = json!({"type": "text", "text": "x".repeat(61)});
        assert!(check_interactive(&header).is_err());
        header["header"] = json!({"type": "image", "image": {"link": "https://x"}});
        assert_eq!(
            check_interactive(&header).unwrap_err().code(),
            "not_supported"
        );
    }

    #[test]
    fn lists() {
        let row = |id: &str| json!({"id": id, "title": "Slot", "description": "Morning"});
        let list = json!({"type": "list", "body": {"text": "Pick a time"},
            "action": {"button": "Show", "sections": [
                {"title": "Morning", "rows": [row("a"), row("b")]},
                {"title": "Afternoon", "rows": [row("c")]}]}});
        assert_eq!(check_interactive(&list).unwrap(), "list");
        let mut untitled = list.clone();
        untitled["action"]["sections"][1]
            .as_object_mut()
            .unwrap()
            .remove("title");
        assert!(
            check_interactive(&untitled)
                .unwrap_err()
                .public_detail()
                .contains("sections[1].title")
        );
        let rows: Vec<Value> = (0..11).map(|i| row(&format!("r{i}"))).collect();
        let too_many = json!({"type": "list", "body": {"text": "x"},
            "action": {"button": "Show", "sections": [{"rows": rows}]}});
        assert!(
            check_interactive(&too_many)
                .unwrap_err()
                .public_detail()
                .contains("at most 10 rows")
        );
        assert_eq!(
            check_interactive(&json!({"type": "flow", "body": {"text": "x"}, "action": {}}))
                .unwrap_err()
                .code(),
            "not_supported"
        );
    }

    #[test]
    fn flows() {
        let ok = crate::meta::types::FlowMessage {
            flow_id: "1500000000000042".into(),
            cta: "Book now".into(),
            body: "Pick a slot".into(),
            flow_token: None,
            screen: Some("BOOKING".into()),
            data: Some(json!({"day": "mon"})),
            draft: false,
        };
        assert!(check_flow(&ok).is_ok());
        let bad = |f: crate::meta::types::FlowMessage| check_flow(&f).unwrap_err().public_detail();
        let long = "x".repeat(FLOW_CTA_MAX + 1);
        assert!(
            bad(crate::meta::types::FlowMessage {
                cta: long,
                ..ok.clone()
            })
            .contains("flow.cta")
        );
        assert!(
            bad(crate::meta::types::FlowMessage {
                cta: "Go \u{1f680}".into(),
                ..ok.clone()
            })
            .contains("emoji")
        );
        assert!(
            bad(crate::meta::types::FlowMessage {
                flow_id: " ".into(),
                ..ok.clone()
            })
            .contains("flow.flow_id")
        );
        assert!(
            bad(crate::meta::types::FlowMessage {
                body: String::new(),
                ..ok.clone()
            })
            .contains("flow.body")
        );
        assert!(
            bad(crate::meta::types::FlowMessage {
                data: Some(json!({})),
                ..ok.clone()
            })
            .contains("non-empty object")
        );
        assert!(
            bad(crate::meta::types::FlowMessage {
                screen: None,
                ..ok.clone()
            })
            .contains("needs `screen`")
        );
        // Exactly 20 characters is Meta's limit, not over it.
        assert!(
            check_flow(&crate::meta::types::FlowMessage {
                cta: "x".repeat(FLOW_CTA_MAX),
                data: None,
                screen: None,
                ..ok
            })
            .is_ok()
        );
    }
}
