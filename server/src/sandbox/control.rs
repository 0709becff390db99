//! The sandbox control API (SPEC §11): plays the end user (inbound messages),
//! drives statuses, shows what the business sent, injects faults, reviews
//! templates, revokes tokens and resets. Errors use the product's
//! `{detail, code}` shape; only the Graph emulation speaks Meta's envelope.

use app::error::AppError;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Sandbox;
use super::db::{self, Asset, Fault, Message};
use super::graph::random_b64;
use super::payloads;
use super::seed;
use super::sender;
use super::tenant;

type Res = Result<Response, AppError>;

pub(super) fn parse_body(body: &[u8]) -> Result<Value, AppError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(AppError::client(
            422,
            "validation_error",
            "the body must be a JSON object",
        )),
        Err(e) => Err(AppError::bad_request(
            "invalid_json",
            format!("the body is not valid JSON: {e}"),
        )),
    }
}

fn text(v: &Value, k: &str) -> Option<String> {
    match v.get(k)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn required(v: &Value, k: &str) -> Result<String, AppError> {
    text(v, k).ok_or_else(|| AppError::validation(format!("{k} is required")))
}

async fn asset_or_404(sb: &Sandbox, id: &str) -> Result<Asset, AppError> {
    db::asset_by_id(&sb.db, id)
        .await?
        .ok_or_else(|| AppError::not_found(&format!("sandbox asset {id}")))
}

/// `POST /sandbox/api/inbound`: the end user sends something to an asset.
pub async fn inbound(State(sb): State<Sandbox>, body: Bytes) -> Res {
    let req = parse_body(&body)?;
    let asset = asset_or_404(&sb, &required(&req, "asset_id")?).await?;
    let from = required(&req, "from")?;
    let kind = required(&req, "type")?;
    let name = text(&req, "from_name");
    let now = sb.now();
    let (id, payload) = match asset.kind.as_str() {
        "phone" => whatsapp_inbound(&sb, &asset, &from, name.as_deref(), &kind, &req, now).await?,
        "page" | "instagram" => messaging_inbound(&sb, &asset, &from, &kind, &req, now).await?,
        other => {
            return Err(AppError::validation(format!(
                "asset_id names a {other}; inbound messages go to a phone number, Page or Instagram account"
            )));
        }
    };
    // The phone page shows the file the user sent.
    let mut stored = req.clone();
    if let Some(file) = media_id_in(&payload, &kind) {
        stored["_media_id"] = json!(file);
    }
    // Echoes and deletions are not the user writing: they do not open the window.
    if !matches!(kind.as_str(), "echo" | "deleted") {
        db::touch_user(&sb.db, &asset.id, &from, name.as_deref(), now).await?;
    }
    db::insert_message(
        &sb.db,
        &Message {
            id: id.clone(),
            asset_id: asset.id.clone(),
            direction: if kind == "echo" {
                "out".into()
            } else {
                "in".into()
            },
            peer: from.clone(),
            msg_type: kind.clone(),
            body: stored,
            status: "received".into(),
            created_at: now,
        },
    )
    .await?;
    let sent = sender::emit(&sb, &asset, &payload).await?;
    Ok(Json(json!({"meta_message_id": id, "webhook": sent})).into_response())
}

/// The sandbox file of an inbound media webhook: the WhatsApp media id, or
/// the id in a Messenger/Instagram attachment's CDN link.
fn media_id_in(payload: &Value, kind: &str) -> Option<String> {
    if let Some(id) = payload
        .pointer(&format!("/entry/0/changes/0/value/messages/0/{kind}/id"))
        .and_then(Value::as_str)
    {
        return Some(id.to_string());
    }
    let url = payload
        .pointer("/entry/0/messaging/0/message/attachments/0/payload/url")
        .and_then(Value::as_str)?;
    let rest = url.split("/sandbox/cdn/").nth(1)?;
    Some(rest.split('?').next()?.to_string())
}

fn context_of(phone: &Asset, req: &Value) -> Option<Value> {
    text(req, "reply_to").map(|r| json!({"from": phone.digits(), "id": r}))
}

/// A small real file of `mime` for inbound media (see [`super::files`]),
/// stored so `GET /{media-id}`, the download and the CDN link work.
async fn fake_media(
    sb: &Sandbox,
    asset: &Asset,
    mime: &str,
    now: i64,
) -> Result<db::Media, AppError> {
    let content = super::files::sample(mime);
    let m = db::Media {
        id: seed::numeric_id(),
        asset_id: asset.id.clone(),
        mime_type: mime.to_string(),
        sha256: app::services::media::sha256_hex(&content),
        size: content.len() as i64,
        content,
    };
    db::insert_media(&sb.db, &m, now).await?;
    Ok(m)
}

/// Webhooks carry the digest in base64, the media node in hex (reference §6.2).
fn b64_of_hex(hex: &str) -> String {
    use base64::Engine;
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// What Messenger and Instagram users' files usually are.
fn messaging_mime(kind: &str) -> &'static str {
    match kind {
        "video" => "video/mp4",
        "audio" => "audio/mpeg",
        "document" | "file" => "application/pdf",
        "sticker" => "image/png",
        _ => "image/jpeg",
    }
}

fn default_mime(kind: &str) -> &'static str {
    match kind {
        "image" => "image/jpeg",
        "video" => "video/mp4",
        "audio" => "audio/ogg; codecs=opus",
        "document" => "application/pdf",
        _ => "image/webp",
    }
}

/// The user completes a WhatsApp Flow: Meta's `interactive.nfm_reply`, with
/// the answers as a JSON *string* in `response_json` that includes the
/// `flow_token` (SPEC §13). Without a `flow_token`, the latest Flow the
/// business sent this user is the one answered: its token, and (like Meta)
/// a `context` pointing at that message unless `reply_to` names another.
async fn flow_reply(
    sb: &Sandbox,
    phone: &Asset,
    from: &str,
    req: &Value,
    m: &mut Value,
) -> Result<Value, AppError> {
    let f = req.get("flow_reply").cloned().unwrap_or_else(|| json!({}));
    let mut response = match f.get("response") {
        None | Some(Value::Null) => json!({}),
        Some(Value::Object(o)) => Value::Object(o.clone()),
        Some(_) => {
            return Err(AppError::validation(
                "flow_reply.response must be an object (the Flow's answers)",
            ));
        }
    };
    let mut token = text(&f, "flow_token");
    if token.is_none() {
        let last_flow = db::thread(&sb.db, &phone.id, from)
            .await?
            .into_iter()
            .rev()
            .find(|x| {
                x.direction == "out"
                    && x.body.pointer("/interactive/type").and_then(Value::as_str) == Some("flow")
            });
        if let Some(sent) = last_flow {
            token = sent
                .body
                .pointer("/interactive/action/parameters/flow_token")
                .and_then(Value::as_str)
                .map(str::to_string);
            if m.get("context").is_none() {
                m["context"] = json!({"from": phone.digits(), "id": sent.id});
            }
        }
    }
    if let Some(t) = token {
        response["flow_token"] = json!(t);
    }
    Ok(json!({"type": "nfm_reply", "nfm_reply": {
        "name": text(&f, "name").unwrap_or_else(|| "flow".into()),
        "body": "Sent",
        "response_json": response.to_string(),
    }}))
}

#[allow(clippy::too_many_arguments)]
async fn whatsapp_inbound(
    sb: &Sandbox,
    phone: &Asset,
    from: &str,
    name: Option<&str>,
    kind: &str,
    req: &Value,
    now: i64,
) -> Result<(String, Value), AppError> {
    let id = format!("wamid.{}", random_b64(30));
    let ts = (now / 1000).to_string();
    if kind == "echo" {
        let body = text(req, "text").unwrap_or_else(|| "Answered from the phone app".into());
        return Ok((id.clone(), payloads::wa_echo(phone, from, &id, &ts, &body)));
    }
    let mut m = json!({"from": from, "id": id, "timestamp": ts, "type": kind});
    if let Some(c) = context_of(phone, req) {
        m["context"] = c;
    }
    let obj = |k: &str| req.get(k).cloned().unwrap_or(Value::Null);
    match kind {
        "text" => m["text"] = json!({"body": required(req, "text")?}),
        "image" | "video" | "audio" | "document" | "sticker" => {
            let spec = obj("media");
            let mime = spec
                .get("mime_type")
                .and_then(Value::as_str)
                .unwrap_or(default_mime(kind))
                .to_string();
            let media = fake_media(sb, phone, &mime, now).await?;
            let mut o =
                json!({"mime_type": mime, "sha256": b64_of_hex(&media.sha256), "id": media.id});
            if let Some(c) = spec.get("caption").and_then(Value::as_str) {
                o["caption"] = json!(c);
            }
            match kind {
                "document" => {
                    o["filename"] = json!(
                        spec.get("filename")
                            .and_then(Value::as_str)
                            .unwrap_or("document.pdf")
                    );
                }
                "audio" => {
                    o["voice"] = json!(spec.get("voice").and_then(Value::as_bool).unwrap_or(false))
                }
                "sticker" => o["animated"] = json!(false),
                _ => {}
            }
            m[kind] = o;
        }
        "location" => {
            let l = obj("location");
            let lat = l.get("latitude").and_then(Value::as_f64);
            let lon = l.get("longitude").and_then(Value::as_f64);
            let (Some(lat), Some(lon)) = (lat, lon) else {
                return Err(AppError::validation(
                    "location.latitude and location.longitude are required",
                ));
            };
            let mut o = json!({"latitude": lat, "longitude": lon});
            for k in ["name", "address", "url"] {
                if let Some(v) = l.get(k).and_then(Value::as_str) {
                    o[k] = json!(v);
                }
            }
            m["location"] = o;
        }
        "contacts" => {
            let c = obj("contacts");
            m["contacts"] = if c.is_array() {
                c
            } else {
                json!([{"name": {"formatted_name": "Bo Contact", "first_name": "Bo", "last_name": "Contact"},
                        "phones": [{"phone": "+1 202-555-0150", "wa_id": "12025550150", "type": "CELL"}],
                        "emails": [{"email": "bo@example.com", "type": "WORK"}]}])
            };
        }
        "interactive" => {
            let i = obj("interactive");
            let reply_kind = match i.get("kind").and_then(Value::as_str) {
                Some("list") => "list_reply",
                Some("button") | None => "button_reply",
                Some(other) => {
                    return Err(AppError::validation(format!(
                        "interactive.kind `{other}` is not button or list"
                    )));
                }
            };
            let mut r = json!({"id": required(&i, "id")?, "title": required(&i, "title")?});
            if let Some(d) = i.get("description").and_then(Value::as_str) {
                r["description"] = json!(d);
            }
            m["interactive"] = json!({"type": reply_kind, reply_kind: r});
        }
        "button" => {
            let b = obj("button");
            m["button"] =
                json!({"payload": required(&b, "payload")?, "text": required(&b, "text")?});
        }
        "reaction" => {
            let r = obj("reaction");
            let emoji = r.get("emoji").and_then(Value::as_str).unwrap_or("");
            m["reaction"] = json!({"message_id": required(&r, "message_id")?, "emoji": emoji});
        }
        "order" => {
            let o = obj("order");
            m["order"] = if o.is_object() {
                o
            } else {
                json!({"catalog_id": "1500000000000009", "text": "Sandbox order",
                       "product_items": [{"product_retailer_id": "SKU-1", "quantity": 1, "item_price": 9.99, "currency": "USD"}]})
            };
        }
        "flow_reply" => {
            m["type"] = json!("interactive");
            let answer = flow_reply(sb, phone, from, req, &mut m).await?;
            m["interactive"] = answer;
        }
        "unsupported" => {
            let t = text(req, "unsupported_type").unwrap_or_else(|| "poll".into());
            m["errors"] = json!([{"code": 131051, "title": "Message type unknown", "message": "Message type unknown",
                "error_data": {"details": "Message type is currently not supported."}}]);
            m["unsupported"] = json!({"type": t});
        }
        other => {
            return Err(AppError::validation(format!(
                "type `{other}` is not a WhatsApp inbound type"
            )));
        }
    }
    let display = name.unwrap_or("Sandbox User");
    Ok((id, payloads::wa_message(phone, from, display, m)))
}

async fn messaging_inbound(
    sb: &Sandbox,
    asset: &Asset,
    from: &str,
    kind: &str,
    req: &Value,
    now: i64,
) -> Result<(String, Value), AppError> {
    let instagram = asset.kind == "instagram";
    let mid = if instagram {
        super::graph::messages_random_mid(&asset.id)
    } else {
        format!("m_{}", app::crypto::random_base62(36))
    };
    let obj = |k: &str| req.get(k).cloned().unwrap_or(Value::Null);
    let mut message = json!({"mid": mid});
    let reply_to = text(req, "reply_to");
    let item = match kind {
        "text" => {
            message["text"] = json!(required(req, "text")?);
            if let Some(r) = reply_to {
                message["reply_to"] = json!({"mid": r});
            }
            payloads::from_user(asset, from, now, "message", message)
        }
        "image" | "video" | "audio" | "document" | "file" | "sticker" => {
            let t = match kind {
                "document" => "file",
                "sticker" => "image",
                k => k,
            };
            // A real file behind an expiring CDN link, like Meta's attachments.
            let mime = obj("media")
                .get("mime_type")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| messaging_mime(kind).to_string());
            let media = fake_media(sb, asset, &mime, now).await?;
            let url = super::graph::cdn_url(sb, &media.id);
            message["attachments"] = json!([{"type": t, "payload": {"url": url}}]);
            payloads::from_user(asset, from, now, "message", message)
        }
        "story_mention" if instagram => {
            let url = text(&obj("story"), "url").unwrap_or_else(|| "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=17900000000000001&signature=SANDBOX".into());
            message["attachments"] = json!([{"type": "story_mention", "payload": {"url": url}}]);
            payloads::from_user(asset, from, now, "message", message)
        }
        "story_reply" if instagram => {
            let story = obj("story");
            let url = text(&story, "url").unwrap_or_else(|| "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=17900000000000002&signature=SANDBOX".into());
            let sid = text(&story, "id").unwrap_or_else(|| "17900000000000002".into());
            message["text"] = json!(text(req, "text").unwrap_or_else(|| "Nice story!".into()));
            message["reply_to"] = json!({"story": {"url": url, "id": sid}});
            payloads::from_user(asset, from, now, "message", message)
        }
        "share" if instagram => {
            let url = text(&obj("share"), "url")
                .unwrap_or_else(|| "https://www.instagram.com/p/SANDBOX/".into());
            message["attachments"] = json!([{"type": "share", "payload": {"url": url}}]);
            payloads::from_user(asset, from, now, "message", message)
        }
        "deleted" if instagram => {
            let original = text(req, "message_id").or(reply_to).ok_or_else(|| {
                AppError::validation("message_id (the unsent message) is required")
            })?;
            return Ok((
                original.clone(),
                payloads::messaging(
                    asset,
                    now,
                    payloads::from_user(
                        asset,
                        from,
                        now,
                        "message",
                        json!({"mid": original, "is_deleted": true}),
                    ),
                ),
            ));
        }
        "unsupported" if instagram => {
            message["is_unsupported"] = json!(true);
            payloads::from_user(asset, from, now, "message", message)
        }
        "postback" => {
            let p = obj("postback");
            let content = json!({"mid": mid, "title": required(&p, "title")?, "payload": required(&p, "payload")?});
            payloads::from_user(asset, from, now, "postback", content)
        }
        "reaction" => {
            let r = obj("reaction");
            let target = required(&r, "message_id")?;
            let content = match r
                .get("emoji")
                .and_then(Value::as_str)
                .filter(|e| !e.is_empty())
            {
                Some(e) => {
                    json!({"mid": target, "action": "react", "reaction": "love", "emoji": e})
                }
                None => json!({"mid": target, "action": "unreact"}),
            };
            payloads::from_user(asset, from, now, "reaction", content)
        }
        "echo" => {
            message["text"] =
                json!(text(req, "text").unwrap_or_else(|| "Sent from the inbox".into()));
            message["is_echo"] = json!(true);
            if !instagram {
                // The Page inbox (Meta Business Suite) is another app.
                message["app_id"] = json!(263902037430900_i64);
            }
            payloads::from_business(asset, from, now, message)
        }
        other => {
            let what = if instagram { "Instagram" } else { "Messenger" };
            return Err(AppError::validation(format!(
                "type `{other}` is not a {what} inbound type"
            )));
        }
    };
    Ok((mid, payloads::messaging(asset, now, item)))
}

/// `POST /sandbox/api/status {"meta_message_id","status","error_code"?}`.
pub async fn status(State(sb): State<Sandbox>, body: Bytes) -> Res {
    let req = parse_body(&body)?;
    let id = required(&req, "meta_message_id")?;
    let status = required(&req, "status")?;
    if !matches!(status.as_str(), "sent" | "delivered" | "read" | "failed") {
        return Err(AppError::validation(
            "status must be one of sent, delivered, read, failed",
        ));
    }
    let msg = db::message_by_id(&sb.db, &id)
        .await?
        .filter(|m| m.direction == "out")
        .ok_or_else(|| AppError::not_found(&format!("outbound message {id}")))?;
    let asset = asset_or_404(&sb, &msg.asset_id).await?;
    let sent = if asset.kind == "phone" {
        let code = req.get("error_code").and_then(Value::as_i64);
        if status == "failed" && code.is_none() {
            return Err(AppError::validation(
                "error_code is required with status failed",
            ));
        }
        sender::whatsapp_status(&sb, &id, &status, code).await?
    } else {
        match sender::messenger_watermark(&sb, &id, &status).await? {
            Some(s) => Some(s),
            None => {
                return Err(AppError::validation(format!(
                    "a {} message has no `{status}` event at Meta",
                    if asset.kind == "page" {
                        "Messenger"
                    } else {
                        "Instagram"
                    }
                )));
            }
        }
    };
    Ok(Json(json!({"meta_message_id": id, "status": status, "webhook": sent})).into_response())
}

#[derive(serde::Deserialize)]
pub struct OutboxQuery {
    asset_id: Option<String>,
    to: Option<String>,
}

/// `GET /sandbox/api/outbox?asset_id=&to=`: what the business sent; with
/// an API key, only to the account's own assets ([`tenant`]).
pub async fn outbox(
    State(sb): State<Sandbox>,
    headers: HeaderMap,
    Query(q): Query<OutboxQuery>,
) -> Res {
    let viewer = tenant::viewer(&sb, &headers).await?;
    let rows = db::outbox(&sb.db, q.asset_id.as_deref(), q.to.as_deref()).await?;
    let messages: Vec<Value> = rows
        .iter()
        .filter(|m| tenant::sees(&viewer, &m.asset_id))
        .map(|m| {
            let mut v = json!({"meta_message_id": m.id, "asset_id": m.asset_id, "to": m.peer,
                "type": m.msg_type, "status": m.status, "sent_at": app::clock::rfc3339(m.created_at)});
            for k in ["text", "template", "media", "reaction", "interactive"] {
                if let Some(x) = m.body.get(k) {
                    v[k] = x.clone();
                }
            }
            v
        })
        .collect();
    Ok(Json(json!({"messages": messages})).into_response())
}

fn fault_json(f: &Fault) -> Value {
    let mut v = f.spec.clone();
    v["id"] = json!(f.id);
    v["remaining"] = json!(f.remaining);
    v
}

async fn fault_list(sb: &Sandbox) -> Result<Value, AppError> {
    Ok(
        json!({"faults": db::active_faults(&sb.db).await?.iter().map(fault_json).collect::<Vec<_>>()}),
    )
}

/// `POST /sandbox/api/faults`: one fault per call (SPEC §11 shapes).
pub async fn add_fault(State(sb): State<Sandbox>, body: Bytes) -> Res {
    let req = parse_body(&body)?;
    let kind = required(&req, "kind")?;
    let count = |d: i64| req.get("count").and_then(Value::as_i64).unwrap_or(d);
    let (path, remaining) = match kind.as_str() {
        "graph_error" => {
            for k in ["http_status", "code"] {
                if req.get(k).and_then(Value::as_i64).is_none() {
                    return Err(AppError::validation(format!(
                        "{k} is required for graph_error"
                    )));
                }
            }
            (Some(required(&req, "path")?), count(1))
        }
        "latency" => {
            if req.get("ms").and_then(Value::as_i64).is_none() {
                return Err(AppError::validation("ms is required for latency"));
            }
            (Some(required(&req, "path")?), count(1))
        }
        "drop_webhooks" => (None, count(1)),
        "duplicate_webhooks" | "reorder_statuses" => {
            db::delete_faults_of_kind(&sb.db, &kind).await?;
            let on = req.get("enabled").and_then(Value::as_bool).unwrap_or(true);
            (None, if on { i64::MAX / 2 } else { 0 })
        }
        other => {
            return Err(AppError::validation(format!(
                "kind `{other}` is not a known fault"
            )));
        }
    };
    if remaining < 1 && !matches!(kind.as_str(), "duplicate_webhooks" | "reorder_statuses") {
        return Err(AppError::validation("count must be at least 1"));
    }
    if remaining > 0 {
        let f = Fault {
            id: app::crypto::random_hex(8),
            kind,
            path,
            remaining,
            spec: req,
        };
        db::insert_fault(&sb.db, &f, sb.now()).await?;
    }
    Ok(Json(fault_list(&sb).await?).into_response())
}

pub async fn list_faults(State(sb): State<Sandbox>) -> Res {
    Ok(Json(fault_list(&sb).await?).into_response())
}

pub async fn clear_faults(State(sb): State<Sandbox>) -> Res {
    sqlx::query("DELETE FROM sandbox_faults")
        .execute(&sb.db.pool)
        .await?;
    Ok(Json(json!({"faults": []})).into_response())
}

/// `POST /sandbox/api/templates/{id}/review {"status","reason"?}` and Meta's webhook.
pub async fn review_template(
    State(sb): State<Sandbox>,
    Path(id): Path<String>,
    body: Bytes,
) -> Res {
    let req = parse_body(&body)?;
    let status = required(&req, "status")?.to_uppercase();
    if !matches!(status.as_str(), "APPROVED" | "REJECTED" | "PAUSED") {
        return Err(AppError::validation(
            "status must be one of APPROVED, REJECTED, PAUSED",
        ));
    }
    let mut tpl = db::template_by_id(&sb.db, &id)
        .await?
        .ok_or_else(|| AppError::not_found(&format!("template {id}")))?;
    let reason = text(&req, "reason");
    tpl.status = status.clone();
    tpl.rejected_reason = (status == "REJECTED").then(|| "INVALID_FORMAT".to_string());
    db::update_template(&sb.db, &tpl).await?;
    let waba = asset_or_404(&sb, &tpl.waba_id).await?;
    let body = payloads::template_status(
        &tpl,
        &status,
        reason.as_deref().filter(|_| status == "REJECTED"),
        sb.now() / 1000,
    );
    let sent = sender::emit(&sb, &waba, &body).await?;
    Ok(Json(json!({"template_id": tpl.id, "status": status, "webhook": sent})).into_response())
}

/// Meta's `account_update` events the sandbox plays (the WABA's standing).
const WABA_EVENTS: &[&str] = &[
    "ACCOUNT_RESTRICTION",
    "DISABLED_UPDATE",
    "ACCOUNT_VIOLATION",
    "ACCOUNT_DELETED",
    "PARTNER_APP_INSTALLED",
    "PARTNER_APP_UNINSTALLED",
];
/// Meta's `phone_number_quality_update` events (one number).
const PHONE_EVENTS: &[&str] = &["FLAGGED", "UNFLAGGED", "UPGRADE", "DOWNGRADE", "ONBOARDING"];

/// `POST /sandbox/api/account-update {"asset_id", "event", ...}`: Meta's
/// account signal webhook. A WABA gets `account_update`, a phone number
/// `phone_number_quality_update` (sent on its WABA, naming the number by its
/// display number). Any other key of the body goes into Meta's `value` as
/// given (e.g. `restriction_info`, `ban_info`, `current_limit`); the usual
/// ones get Meta's defaults. A number's `FLAGGED` / `UNFLAGGED` also moves its
/// Graph `quality_rating` (`RED` / `GREEN`).
pub async fn account_update(State(sb): State<Sandbox>, body: Bytes) -> Res {
    let req = parse_body(&body)?;
    let mut asset = asset_or_404(&sb, &required(&req, "asset_id")?).await?;
    let event = required(&req, "event")?.to_uppercase();
    let (field, allowed) = match asset.kind.as_str() {
        "waba" => ("account_update", WABA_EVENTS),
        "phone" => ("phone_number_quality_update", PHONE_EVENTS),
        other => {
            return Err(AppError::validation(format!(
                "asset_id must be a WABA or a phone number, not a {other}"
            )));
        }
    };
    if !allowed.contains(&event.as_str()) {
        return Err(AppError::validation(format!(
            "event must be one of {} for a {}",
            allowed.join(", "),
            asset.kind
        )));
    }
    let mut value = req.as_object().cloned().unwrap_or_default();
    value.remove("asset_id");
    value.insert("event".into(), json!(event));
    let waba = if asset.kind == "phone" {
        value.insert("display_phone_number".into(), json!(asset.digits()));
        value
            .entry("current_limit")
            .or_insert_with(|| json!("TIER_1K"));
        let rating = match event.as_str() {
            "FLAGGED" => Some("RED"),
            "UNFLAGGED" => Some("GREEN"),
            _ => None,
        };
        if let (Some(r), Value::Object(data)) = (rating, &mut asset.data) {
            data.insert("quality_rating".into(), json!(r));
            db::update_asset_data(&sb.db, &asset.id, &asset.data).await?;
        }
        asset_or_404(&sb, asset.parent_id.as_deref().unwrap_or_default()).await?
    } else {
        match event.as_str() {
            "ACCOUNT_RESTRICTION" => {
                let until = sb.now() / 1000 + 7 * 24 * 3600;
                value.entry("restriction_info").or_insert_with(|| {
                    json!([{"restriction_type": "RESTRICTED_ADD_PHONE_NUMBER_ACTION", "expiration": until}])
                });
            }
            "DISABLED_UPDATE" => {
                value.entry("ban_info").or_insert_with(|| {
                    json!({"waba_ban_state": "DISABLE", "waba_ban_date": app::clock::rfc3339(sb.now()).get(..10).unwrap_or_default()})
                });
            }
            _ => {}
        }
        value
            .entry("waba_info")
            .or_insert_with(|| json!({"waba_id": asset.id}));
        asset.clone()
    };
    let body = payloads::wa_envelope(&waba.id, field, Value::Object(value), Some(sb.now() / 1000));
    let sent = sender::emit(&sb, &waba, &body).await?;
    Ok(
        Json(json!({"asset_id": asset.id, "field": field, "event": event, "webhook": sent}))
            .into_response(),
    )
}

/// `POST /sandbox/api/revoke {"asset_id"}`: every token on the asset dies with 190.
pub async fn revoke(State(sb): State<Sandbox>, body: Bytes) -> Res {
    let req = parse_body(&body)?;
    let asset = asset_or_404(&sb, &required(&req, "asset_id")?).await?;
    let mut revoked = db::revoke_tokens_for(&sb.db, &asset.id).await?;
    // A number's tokens are usually granted on its WABA.
    if let Some(p) = &asset.parent_id
        && asset.kind == "phone"
    {
        revoked += db::revoke_tokens_for(&sb.db, p).await?;
    }
    Ok(Json(json!({"asset_id": asset.id, "revoked_tokens": revoked})).into_response())
}

/// `POST /sandbox/api/reset`: wipe everything and seed again.
pub async fn reset(State(sb): State<Sandbox>) -> Res {
    db::wipe(&sb.db).await?;
    seed::ensure(&sb.db, sb.now()).await?;
    Ok(Json(json!({"reset": true})).into_response())
}

/// `GET /sandbox/api/assets`: every asset; with an API key, the account's
/// channels' assets and their WABAs.
pub async fn list_assets(State(sb): State<Sandbox>, headers: HeaderMap) -> Res {
    let viewer = tenant::viewer(&sb, &headers).await?;
    let mut all = Vec::new();
    for kind in ["business", "waba", "phone", "page", "instagram"] {
        all.extend(
            db::assets_of_kind(&sb.db, kind)
                .await?
                .iter()
                .filter(|a| viewer.as_ref().is_none_or(|s| s.sees_asset(&a.id)))
                .map(seed::describe),
        );
    }
    Ok(Json(json!({"assets": all})).into_response())
}

/// `POST /sandbox/api/assets {"kind": "whatsapp"|"page"|"instagram", …}` → 201.
pub async fn add_assets(State(sb): State<Sandbox>, body: Bytes) -> Res {
    let req = parse_body(&body)?;
    let created = seed::add(&sb.db, &req, sb.now())
        .await
        .map_err(AppError::validation)?;
    let assets: Vec<Value> = created.iter().map(seed::describe).collect();
    Ok((
        axum::http::StatusCode::CREATED,
        Json(json!({"assets": assets})),
    )
        .into_response())
}

/// How many webhooks `GET /sandbox/api/webhooks` lists, and how far back it
/// looks for them when it shows one account's only.
const WEBHOOKS_SHOWN: usize = 100;
const WEBHOOKS_SCANNED: i64 = 2_000;

/// `GET /sandbox/api/webhooks`: the newest webhooks and their delivery state;
/// with an API key, only those about the account's assets.
pub async fn list_webhooks(State(sb): State<Sandbox>, headers: HeaderMap) -> Res {
    let viewer = tenant::viewer(&sb, &headers).await?;
    let scanned = match viewer {
        None => WEBHOOKS_SHOWN as i64,
        Some(_) => WEBHOOKS_SCANNED,
    };
    let hooks = db::recent_webhooks(&sb.db, scanned).await?;
    let list: Vec<Value> = hooks
        .iter()
        .map(|h| {
            (
                h,
                serde_json::from_str::<Value>(&h.body).unwrap_or(Value::Null),
            )
        })
        .filter(|(_, body)| viewer.as_ref().is_none_or(|s| s.sees_webhook(body)))
        .take(WEBHOOKS_SHOWN)
        .map(|(h, body)| {
            json!({"id": h.id, "url": h.url, "status": h.status, "attempts": h.attempts,
                "last_status_code": h.last_status_code, "last_error": h.last_error,
                "next_attempt_at": h.next_attempt_at.map(app::clock::rfc3339),
                "created_at": app::clock::rfc3339(h.created_at),
                "body": body})
        })
        .collect();
    Ok(Json(json!({"webhooks": list})).into_response())
}
