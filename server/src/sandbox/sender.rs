//! Sends webhooks to the product like Meta: signed over the exact bytes with
//! the app secret, only for assets our app is subscribed to, retried with
//! backoff when the receiver does not answer 2xx. Also drives the automatic
//! status progression of outbound messages.

use std::time::Duration;

use app::meta::signature::{meta_json_bytes, sign};
use serde_json::{Value, json};

use super::Sandbox;
use super::db::{self, Asset, Webhook};
use super::payloads;

/// Retry delays after each failed attempt: Meta stretches WhatsApp retries
/// over 7 days; this compresses the idea into a day.
const BACKOFF_MS: [i64; 8] = [
    1_000, 5_000, 30_000, 120_000, 600_000, 3_600_000, 21_600_000, 86_400_000,
];

/// Outcome of handing one webhook to the sender.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Sent {
    pub webhook_id: String,
    pub status: String,
    pub status_code: Option<i64>,
}

/// The apps installed on the asset whose installation decides whether Meta
/// sends a webhook: a number's WABA, a Page, an Instagram account (or its
/// Page, for the Facebook Login variant). The installation's own app first.
async fn subscriptions_for(
    sb: &Sandbox,
    asset: &Asset,
) -> Result<Vec<db::Subscription>, sqlx::Error> {
    let mut candidates = vec![asset.id.clone()];
    if let Some(p) = &asset.parent_id
        && matches!(asset.kind.as_str(), "phone" | "instagram")
    {
        if asset.kind == "phone" {
            candidates = vec![p.clone()];
        } else {
            candidates.push(p.clone());
        }
    }
    let mut found: Vec<db::Subscription> = Vec::new();
    for id in candidates {
        for s in db::subscriptions_of(&sb.db, &id).await? {
            if !found.iter().any(|f| f.app_id == s.app_id) {
                found.push(s);
            }
        }
    }
    found.sort_by_key(|s| s.app_id != sb.app_id());
    Ok(found)
}

/// Where and as whom a subscribed app gets its webhooks: the installation's
/// own app at the configured target, a customer app at its callback URL.
/// `None` for an app the sandbox no longer knows (after a reset).
async fn destination(
    sb: &Sandbox,
    sub: &db::Subscription,
) -> Result<Option<(String, Option<String>)>, sqlx::Error> {
    if sub.app_id == sb.app_id() {
        let url = sub
            .override_callback_uri
            .clone()
            .unwrap_or_else(|| sb.config.sandbox_webhook_target());
        return Ok(Some((url, None)));
    }
    Ok(db::app_by_id(&sb.db, &sub.app_id).await?.map(|a| {
        let url = sub.override_callback_uri.clone().unwrap_or(a.callback_url);
        (url, Some(a.app_id))
    }))
}

/// Queues `body` for every app subscribed to `asset` and makes the first
/// attempts now; returns the outcome of the first (the installation's own
/// app when it is subscribed).
pub async fn emit(sb: &Sandbox, asset: &Asset, body: &Value) -> Result<Sent, sqlx::Error> {
    let now = sb.now();
    let raw = String::from_utf8(meta_json_bytes(body)).unwrap_or_default();
    let mut first: Option<Sent> = None;
    for sub in subscriptions_for(sb, asset).await? {
        let Some((url, app_id)) = destination(sb, &sub).await? else {
            continue;
        };
        let hook = Webhook {
            id: app::crypto::random_hex(12),
            url,
            body: raw.clone(),
            status: "pending".into(),
            attempts: 0,
            last_status_code: None,
            last_error: None,
            next_attempt_at: Some(now),
            created_at: now,
            app_id,
        };
        let s = send_new(sb, hook).await?;
        first.get_or_insert(s);
    }
    if let Some(s) = first {
        return Ok(s);
    }
    // Meta sends nothing for assets no app is installed on.
    let hook = Webhook {
        id: app::crypto::random_hex(12),
        url: sb.config.sandbox_webhook_target(),
        body: raw,
        status: "not_subscribed".into(),
        attempts: 0,
        last_status_code: None,
        last_error: Some("the app is not subscribed to this asset (subscribed_apps)".into()),
        next_attempt_at: None,
        created_at: now,
        app_id: None,
    };
    db::insert_webhook(&sb.db, &hook).await?;
    Ok(sent(&hook))
}

/// The first attempt of one webhook, with the drop and duplicate faults.
async fn send_new(sb: &Sandbox, mut hook: Webhook) -> Result<Sent, sqlx::Error> {
    if take_drop_fault(sb).await? {
        hook.status = "dropped".into();
        hook.next_attempt_at = None;
        hook.last_error = Some("dropped by an injected fault".into());
        db::insert_webhook(&sb.db, &hook).await?;
        return Ok(sent(&hook));
    }
    db::insert_webhook(&sb.db, &hook).await?;
    attempt(sb, &mut hook).await?;
    if switch_on(sb, "duplicate_webhooks").await? {
        let mut copy = Webhook {
            id: app::crypto::random_hex(12),
            attempts: 0,
            status: "pending".into(),
            next_attempt_at: Some(sb.now()),
            ..hook.clone()
        };
        db::insert_webhook(&sb.db, &copy).await?;
        attempt(sb, &mut copy).await?;
    }
    Ok(sent(&hook))
}

fn sent(h: &Webhook) -> Sent {
    Sent {
        webhook_id: h.id.clone(),
        status: h.status.clone(),
        status_code: h.last_status_code,
    }
}

async fn take_drop_fault(sb: &Sandbox) -> Result<bool, sqlx::Error> {
    for f in db::active_faults(&sb.db).await? {
        if f.kind == "drop_webhooks" && db::consume_fault(&sb.db, &f.id).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// True while a switch-type fault (`duplicate_webhooks`, `reorder_statuses`) is on.
pub async fn switch_on(sb: &Sandbox, kind: &str) -> Result<bool, sqlx::Error> {
    Ok(db::active_faults(&sb.db)
        .await?
        .iter()
        .any(|f| f.kind == kind))
}

/// One POST; records the outcome and the next retry time.
async fn attempt(sb: &Sandbox, hook: &mut Webhook) -> Result<(), sqlx::Error> {
    let secret = match &hook.app_id {
        Some(id) => db::app_by_id(&sb.db, id)
            .await?
            .map(|a| a.app_secret)
            .unwrap_or_default(),
        None => sb.app_secret().to_string(),
    };
    let signature = sign(&secret, hook.body.as_bytes());
    let res = sb
        .http
        .post(&hook.url)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .header("user-agent", "facebookexternalua")
        .body(hook.body.clone())
        .send()
        .await;
    hook.attempts += 1;
    match res {
        Ok(r) if r.status().is_success() => {
            hook.status = "delivered".into();
            hook.last_status_code = Some(r.status().as_u16() as i64);
            hook.last_error = None;
            hook.next_attempt_at = None;
        }
        other => {
            match other {
                Ok(r) => {
                    hook.last_status_code = Some(r.status().as_u16() as i64);
                    hook.last_error = Some(format!("HTTP {}", r.status().as_u16()));
                }
                Err(e) => {
                    hook.last_status_code = None;
                    hook.last_error = Some(e.to_string());
                }
            }
            match BACKOFF_MS.get(hook.attempts as usize - 1) {
                Some(delay) => {
                    hook.status = "pending".into();
                    hook.next_attempt_at = Some(sb.now() + delay);
                }
                None => {
                    hook.status = "failed".into();
                    hook.next_attempt_at = None;
                }
            }
        }
    }
    db::record_attempt(&sb.db, hook).await
}

/// Retries due webhooks; a claim (lease) keeps two processes from sending the same one.
pub async fn retry_loop(sb: Sandbox) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        let now = sb.now();
        let due = match db::due_webhooks(&sb.db, now).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "sandbox webhook retry: query failed");
                continue;
            }
        };
        for mut hook in due {
            let seen = hook.next_attempt_at.unwrap_or(now);
            match db::claim_webhook(&sb.db, &hook.id, seen, now + 30_000).await {
                Ok(true) => {
                    if let Err(e) = attempt(&sb, &mut hook).await {
                        tracing::warn!(error = %e, "sandbox webhook retry: recording failed");
                    }
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "sandbox webhook retry: claim failed"),
            }
        }
    }
}

/// Emits a WhatsApp status for an outbound message and records it.
pub async fn whatsapp_status(
    sb: &Sandbox,
    msg_id: &str,
    status: &str,
    error_code: Option<i64>,
) -> Result<Option<Sent>, sqlx::Error> {
    let Some(msg) = db::message_by_id(&sb.db, msg_id).await? else {
        return Ok(None);
    };
    let Some(phone) = db::asset_by_id(&sb.db, &msg.asset_id).await? else {
        return Ok(None);
    };
    db::set_message_status(&sb.db, &msg.id, status, sb.now()).await?;
    let body = payloads::wa_status(&phone, &msg, status, sb.now() / 1000, error_code);
    Ok(Some(emit(sb, &phone, &body).await?))
}

/// `sent` then `delivered` after the configured delays (`delivered` first
/// while the `reorder_statuses` fault is on). `read` only on demand.
pub fn progress_whatsapp(sb: Sandbox, msg_id: String) {
    tokio::spawn(async move {
        let first = Duration::from_millis(sb.config.sandbox_sent_delay_ms as u64);
        let second = Duration::from_millis(sb.config.sandbox_delivered_delay_ms as u64);
        let reorder = switch_on(&sb, "reorder_statuses").await.unwrap_or(false);
        let order = if reorder {
            ["delivered", "sent"]
        } else {
            ["sent", "delivered"]
        };
        tokio::time::sleep(first).await;
        if let Err(e) = step(&sb, &msg_id, order[0]).await {
            tracing::warn!(error = %e, "sandbox status progression failed");
        }
        tokio::time::sleep(second).await;
        if let Err(e) = step(&sb, &msg_id, order[1]).await {
            tracing::warn!(error = %e, "sandbox status progression failed");
        }
    });
}

/// A status is skipped when the message already failed or was read.
async fn step(sb: &Sandbox, msg_id: &str, status: &str) -> Result<(), sqlx::Error> {
    let Some(msg) = db::message_by_id(&sb.db, msg_id).await? else {
        return Ok(());
    };
    if matches!(msg.status.as_str(), "failed" | "read") {
        return Ok(());
    }
    if msg.status == "delivered" && status == "sent" {
        // Reordered: emit the late `sent` but keep the stored status.
        let Some(phone) = db::asset_by_id(&sb.db, &msg.asset_id).await? else {
            return Ok(());
        };
        let body = payloads::wa_status(&phone, &msg, status, sb.now() / 1000, None);
        emit(sb, &phone, &body).await?;
        return Ok(());
    }
    whatsapp_status(sb, msg_id, status, None).await.map(|_| ())
}

/// Messenger: a delivery watermark after the delivered delay, and an echo of
/// the Page's message when the app subscribed to `message_echoes`.
/// Instagram sends echoes inside `messages`; it has no delivery event.
pub fn progress_messenger(sb: Sandbox, msg_id: String) {
    tokio::spawn(async move {
        if let Err(e) = messenger_followups(&sb, &msg_id).await {
            tracing::warn!(error = %e, "sandbox messenger follow-up failed");
        }
    });
}

async fn messenger_followups(sb: &Sandbox, msg_id: &str) -> Result<(), sqlx::Error> {
    let Some(msg) = db::message_by_id(&sb.db, msg_id).await? else {
        return Ok(());
    };
    let Some(asset) = db::asset_by_id(&sb.db, &msg.asset_id).await? else {
        return Ok(());
    };
    let wants_echo = match subscriptions_for(sb, &asset).await?.first() {
        Some(s) => asset.kind == "instagram" || s.fields.iter().any(|f| f == "message_echoes"),
        None => false,
    };
    if wants_echo {
        let mut message = json!({"mid": msg.id, "is_echo": true});
        if asset.kind == "page" {
            message["app_id"] = json!(sb.app_id().parse::<i64>().unwrap_or(0));
            if let Some(m) = msg.body.get("metadata") {
                message["metadata"] = m.clone();
            }
        }
        if let Some(t) = msg.body.get("text") {
            message["text"] = t.clone();
        }
        let item = payloads::from_business(&asset, &msg.peer, msg.created_at, message);
        emit(
            sb,
            &asset,
            &payloads::messaging(&asset, msg.created_at, item),
        )
        .await?;
    }
    if asset.kind == "page" {
        tokio::time::sleep(Duration::from_millis(
            sb.config.sandbox_delivered_delay_ms as u64,
        ))
        .await;
        messenger_watermark(sb, &msg.id, "delivered").await?;
    }
    Ok(())
}

/// Messenger `delivery`/`read` watermarks, Instagram `read {mid}`.
pub async fn messenger_watermark(
    sb: &Sandbox,
    msg_id: &str,
    status: &str,
) -> Result<Option<Sent>, sqlx::Error> {
    let Some(msg) = db::message_by_id(&sb.db, msg_id).await? else {
        return Ok(None);
    };
    let Some(asset) = db::asset_by_id(&sb.db, &msg.asset_id).await? else {
        return Ok(None);
    };
    let now = sb.now();
    let (key, content) = match (asset.kind.as_str(), status) {
        ("page", "delivered") => (
            "delivery",
            json!({"mids": [msg.id], "watermark": msg.created_at}),
        ),
        ("page", "read") => ("read", json!({"watermark": msg.created_at})),
        ("instagram", "read") => ("read", json!({"mid": msg.id})),
        _ => return Ok(None),
    };
    db::set_message_status(&sb.db, &msg.id, status, now).await?;
    let item = payloads::from_user(&asset, &msg.peer, now, key, content);
    Ok(Some(
        emit(sb, &asset, &payloads::messaging(&asset, now, item)).await?,
    ))
}
