//! channels: one Meta asset bound to one account. `access_token` and
//! `webhook_secret` hold ciphertext; the services encrypt and decrypt.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use super::{Db, flag};

#[derive(Clone, Debug)]
pub struct Channel {
    pub id: String,
    pub account_id: String,
    pub channel_type: String,
    pub asset_id: String,
    pub name: String,
    pub is_active: bool,
    pub phone_number: Option<String>,
    pub waba_id: Option<String>,
    pub ig_username: Option<String>,
    pub page_id: Option<String>,
    pub access_token: String,
    pub token_expires_at: Option<i64>,
    /// `meta_apps.id` for manual connections, `None` for Switchboard's own app.
    pub meta_app_ref: Option<String>,
    pub quality_rating: Option<String>,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
    /// JSON array of event names.
    pub webhook_events: String,
    pub health: Option<String>,
    pub health_checked_at: Option<i64>,
    pub connected_at: i64,
    pub created_at: i64,
    /// `standard` or `extended` (SPEC §4.3).
    pub retry_policy: String,
    pub last_event_at: Option<i64>,
    /// `link`, `base64` or `both` (SPEC §4.4).
    pub media_mode: String,
    /// Events also carry Meta's own item as `raw` (SPEC §13).
    pub include_raw: bool,
    /// `ok`, `restricted`, `disabled` or `flagged`, from Meta's account
    /// signals (SPEC §13).
    pub account_status: String,
}

/// What a channel is made of when it is connected; everything else starts
/// at its default. The one list of those defaults: a new column gets its
/// starting value here.
pub struct NewChannel {
    pub id: String,
    pub account_id: String,
    pub channel_type: String,
    pub asset_id: String,
    pub name: String,
    /// Ciphertext of the access token.
    pub access_token: String,
    pub connected_at: i64,
}

impl Channel {
    /// An active channel with no webhook, no events, standard retries,
    /// media as links and no raw items.
    pub fn connected(n: NewChannel) -> Channel {
        Channel {
            id: n.id,
            account_id: n.account_id,
            channel_type: n.channel_type,
            asset_id: n.asset_id,
            name: n.name,
            is_active: true,
            phone_number: None,
            waba_id: None,
            ig_username: None,
            page_id: None,
            access_token: n.access_token,
            token_expires_at: None,
            meta_app_ref: None,
            quality_rating: None,
            webhook_url: None,
            webhook_secret: None,
            webhook_events: "[]".into(),
            health: None,
            health_checked_at: None,
            connected_at: n.connected_at,
            created_at: n.connected_at,
            retry_policy: "standard".into(),
            last_event_at: None,
            media_mode: "link".into(),
            include_raw: false,
            account_status: "ok".into(),
        }
    }
}

const COLUMNS: &str = "id, account_id, channel_type, asset_id, name, is_active, phone_number, \
    waba_id, ig_username, page_id, access_token, token_expires_at, meta_app_ref, quality_rating, \
    webhook_url, webhook_secret, webhook_events, health, health_checked_at, connected_at, created_at, \
    retry_policy, last_event_at, media_mode, include_raw, account_status";

fn row(r: &AnyRow) -> Result<Channel, sqlx::Error> {
    Ok(Channel {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        channel_type: r.try_get("channel_type")?,
        asset_id: r.try_get("asset_id")?,
        name: r.try_get("name")?,
        is_active: r.try_get::<i64, _>("is_active")? != 0,
        phone_number: r.try_get("phone_number")?,
        waba_id: r.try_get("waba_id")?,
        ig_username: r.try_get("ig_username")?,
        page_id: r.try_get("page_id")?,
        access_token: r.try_get("access_token")?,
        token_expires_at: r.try_get("token_expires_at")?,
        meta_app_ref: r.try_get("meta_app_ref")?,
        quality_rating: r.try_get("quality_rating")?,
        webhook_url: r.try_get("webhook_url")?,
        webhook_secret: r.try_get("webhook_secret")?,
        webhook_events: r.try_get("webhook_events")?,
        health: r.try_get("health")?,
        health_checked_at: r.try_get("health_checked_at")?,
        connected_at: r.try_get("connected_at")?,
        created_at: r.try_get("created_at")?,
        retry_policy: r.try_get("retry_policy")?,
        last_event_at: r.try_get("last_event_at")?,
        media_mode: r.try_get("media_mode")?,
        include_raw: r.try_get::<i64, _>("include_raw")? != 0,
        account_status: r.try_get("account_status")?,
    })
}

/// Inside the transaction that took the slot (services::channels::connect);
/// anything else writing a channel row takes no slot.
pub async fn insert(tx: &mut sqlx::AnyConnection, c: &Channel) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO channels ({COLUMNS}, deactivated_at, updated_at) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, NULL, $21)"
    ))
    .bind(&c.id)
    .bind(&c.account_id)
    .bind(&c.channel_type)
    .bind(&c.asset_id)
    .bind(&c.name)
    .bind(flag(c.is_active))
    .bind(&c.phone_number)
    .bind(&c.waba_id)
    .bind(&c.ig_username)
    .bind(&c.page_id)
    .bind(&c.access_token)
    .bind(c.token_expires_at)
    .bind(&c.meta_app_ref)
    .bind(&c.quality_rating)
    .bind(&c.webhook_url)
    .bind(&c.webhook_secret)
    .bind(&c.webhook_events)
    .bind(&c.health)
    .bind(c.health_checked_at)
    .bind(c.connected_at)
    .bind(c.created_at)
    .bind(&c.retry_policy)
    .bind(c.last_event_at)
    .bind(&c.media_mode)
    .bind(flag(c.include_raw))
    .bind(&c.account_status)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The account's channel `id`; another account's id is as absent as an unknown one.
pub async fn get(db: &Db, account_id: &str, id: &str) -> Result<Option<Channel>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM channels WHERE id = $1 AND account_id = $2"
    ))
    .bind(id)
    .bind(account_id)
    .fetch_optional(&db.pool)
    .await?
    .as_ref()
    .map(row)
    .transpose()
}

/// Channel `id` whatever its account: for workers holding an id they stored
/// themselves, never for a customer's request.
pub async fn by_id(db: &Db, id: &str) -> Result<Option<Channel>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM channels WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .as_ref()
        .map(row)
        .transpose()
}

pub async fn list(db: &Db, account_id: &str) -> Result<Vec<Channel>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM channels WHERE account_id = $1 ORDER BY created_at, id"
    ))
    .bind(account_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(row)
    .collect()
}

/// The account's channel for an asset, active or not.
pub async fn for_asset<'e, E: Executor<'e, Database = Any>>(
    e: E,
    account_id: &str,
    channel_type: &str,
    asset_id: &str,
) -> Result<Option<Channel>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM channels WHERE account_id = $1 AND channel_type = $2 AND asset_id = $3"
    ))
    .bind(account_id)
    .bind(channel_type)
    .bind(asset_id)
    .fetch_optional(e)
    .await?
    .as_ref()
    .map(row)
    .transpose()
}

/// The account that holds an asset actively, if any.
pub async fn active_holder<'e, E: Executor<'e, Database = Any>>(
    e: E,
    channel_type: &str,
    asset_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT account_id FROM channels WHERE channel_type = $1 AND asset_id = $2 AND is_active = 1",
    )
    .bind(channel_type)
    .bind(asset_id)
    .fetch_optional(e)
    .await
}

/// Active channels of one type in the account: the slots in use. Counted
/// under the account lock ([`super::locks::account`]) when a slot is taken.
pub async fn count_active<'e, E: Executor<'e, Database = Any>>(
    e: E,
    account_id: &str,
    channel_type: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM channels WHERE account_id = $1 AND channel_type = $2 AND is_active = 1",
    )
    .bind(account_id)
    .bind(channel_type)
    .fetch_one(e)
    .await
}

/// Active channels other than `except_id` whose Meta subscription lives on
/// `waba_id` (WhatsApp) or on the Page `page_id` (Facebook and Instagram).
pub async fn others_on_subscription(
    db: &Db,
    except_id: &str,
    waba_id: Option<&str>,
    page_id: Option<&str>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM channels WHERE is_active = 1 AND id <> $1 \
         AND ((channel_type = 'whatsapp' AND waba_id = $2) \
           OR (channel_type IN ('facebook', 'instagram') AND page_id = $3))",
    )
    .bind(except_id)
    .bind(waba_id)
    .bind(page_id)
    .fetch_one(&db.pool)
    .await
}

/// Fresh Meta facts on (re)connect: token, names, ids. Webhook settings and
/// history stay as they are.
pub async fn refresh_connection(
    tx: &mut sqlx::AnyConnection,
    c: &Channel,
    reactivate: bool,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let sql = if reactivate {
        "UPDATE channels SET name = $1, phone_number = $2, waba_id = $3, ig_username = $4, page_id = $5, \
         access_token = $6, token_expires_at = $7, meta_app_ref = $8, quality_rating = $9, \
         is_active = 1, deactivated_at = NULL, connected_at = $10, health = NULL, health_checked_at = NULL, \
         updated_at = $10 WHERE id = $11 AND is_active = 0"
    } else {
        "UPDATE channels SET name = $1, phone_number = $2, waba_id = $3, ig_username = $4, page_id = $5, \
         access_token = $6, token_expires_at = $7, meta_app_ref = $8, quality_rating = $9, \
         updated_at = $10 WHERE id = $11 AND is_active = 1"
    };
    Ok(sqlx::query(sql)
        .bind(&c.name)
        .bind(&c.phone_number)
        .bind(&c.waba_id)
        .bind(&c.ig_username)
        .bind(&c.page_id)
        .bind(&c.access_token)
        .bind(c.token_expires_at)
        .bind(&c.meta_app_ref)
        .bind(&c.quality_rating)
        .bind(now)
        .bind(&c.id)
        .execute(&mut *tx)
        .await?
        .rows_affected())
}

pub async fn deactivate(db: &Db, id: &str, now: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE channels SET is_active = 0, deactivated_at = $1, updated_at = $1 WHERE id = $2 AND is_active = 1",
    )
    .bind(now)
    .bind(id)
    .execute(&db.pool)
    .await?
    .rows_affected())
}

/// Writes url, secret (ciphertext; `None` keeps the stored one) and events.
pub async fn update_webhook(
    db: &Db,
    id: &str,
    url: Option<&str>,
    secret: Option<&str>,
    events_json: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE channels SET webhook_url = $1, webhook_secret = COALESCE($2, webhook_secret), \
         webhook_events = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(url)
    .bind(secret)
    .bind(events_json)
    .bind(now)
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn set_health(
    db: &Db,
    id: &str,
    health_json: &str,
    quality_rating: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE channels SET health = $1, health_checked_at = $2, \
         quality_rating = COALESCE($3, quality_rating) WHERE id = $4",
    )
    .bind(health_json)
    .bind(now)
    .bind(quality_rating)
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The active channel holding an asset (webhook routing).
pub async fn active_by_asset(
    db: &Db,
    channel_type: &str,
    asset_id: &str,
) -> Result<Option<Channel>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM channels WHERE channel_type = $1 AND asset_id = $2 AND is_active = 1"
    ))
    .bind(channel_type)
    .bind(asset_id)
    .fetch_optional(&db.pool)
    .await?
    .as_ref()
    .map(row)
    .transpose()
}

/// Active WhatsApp channels on a WABA (account-level WhatsApp webhooks).
pub async fn active_on_waba(db: &Db, waba_id: &str) -> Result<Vec<Channel>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM channels WHERE channel_type = 'whatsapp' AND waba_id = $1 \
         AND is_active = 1 ORDER BY created_at"
    ))
    .bind(waba_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(row).collect()
}

/// Remembers when the channel last received something from Meta.
pub async fn touch_last_event(
    tx: &mut sqlx::AnyConnection,
    id: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE channels SET last_event_at = $1 WHERE id = $2 AND (last_event_at IS NULL OR last_event_at < $1)")
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// What Meta's account signals say (SPEC §13), inside the webhook ingest's
/// transaction; `None` leaves a field as it is.
pub async fn set_signals(
    tx: &mut sqlx::AnyConnection,
    id: &str,
    account_status: Option<&str>,
    quality_rating: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE channels SET account_status = COALESCE($1, account_status), \
         quality_rating = COALESCE($2, quality_rating), updated_at = $3 WHERE id = $4",
    )
    .bind(account_status)
    .bind(quality_rating)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Whether the channel's events carry Meta's own item (SPEC §13).
pub async fn set_include_raw(db: &Db, id: &str, on: bool, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE channels SET include_raw = $1, updated_at = $2 WHERE id = $3")
        .bind(flag(on))
        .bind(now)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// How long the channel's deliveries are retried: `standard` or `extended`
/// (SPEC §4.3, §13).
pub async fn set_retry_policy(
    db: &Db,
    id: &str,
    policy: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE channels SET retry_policy = $1, updated_at = $2 WHERE id = $3")
        .bind(policy)
        .bind(now)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// How the channel's events carry media (SPEC §4.4).
pub async fn set_media_mode(db: &Db, id: &str, mode: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE channels SET media_mode = $1, updated_at = $2 WHERE id = $3")
        .bind(mode)
        .bind(now)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}
