//! SQL of the sandbox's own tables. Nothing here touches product tables.

use app::store::Db;
use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

pub type DbResult<T> = Result<T, sqlx::Error>;

fn json_col(r: &AnyRow, col: &str) -> DbResult<Value> {
    let text: String = r.try_get(col)?;
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn list_col(r: &AnyRow, col: &str) -> DbResult<Vec<String>> {
    let text: String = r.try_get(col)?;
    Ok(serde_json::from_str(&text).unwrap_or_default())
}

// ---- assets ----------------------------------------------------------------

/// A business, WABA, phone number, Page or Instagram account.
#[derive(Clone, Debug)]
pub struct Asset {
    pub id: String,
    /// `business`, `waba`, `phone`, `page`, `instagram`.
    pub kind: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub data: Value,
    pub created_at: i64,
}

impl Asset {
    pub fn str(&self, key: &str) -> String {
        self.data
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }
    /// Digits of a phone's display number, the webhook `display_phone_number`.
    pub fn digits(&self) -> String {
        self.str("display_phone_number")
            .chars()
            .filter(|c| c.is_ascii_digit())
            .collect()
    }
}

fn asset(r: &AnyRow) -> DbResult<Asset> {
    Ok(Asset {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        parent_id: r.try_get("parent_id")?,
        name: r.try_get("name")?,
        data: json_col(r, "data")?,
        created_at: r.try_get("created_at")?,
    })
}

const ASSET_COLS: &str = "id, kind, parent_id, name, data, created_at";

pub async fn insert_asset(db: &Db, a: &Asset) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO sandbox_assets (id, kind, parent_id, name, data, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&a.id)
    .bind(&a.kind)
    .bind(&a.parent_id)
    .bind(&a.name)
    .bind(a.data.to_string())
    .bind(a.created_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn asset_by_id(db: &Db, id: &str) -> DbResult<Option<Asset>> {
    sqlx::query(&format!(
        "SELECT {ASSET_COLS} FROM sandbox_assets WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .as_ref()
    .map(asset)
    .transpose()
}

pub async fn assets_of_kind(db: &Db, kind: &str) -> DbResult<Vec<Asset>> {
    sqlx::query(&format!(
        "SELECT {ASSET_COLS} FROM sandbox_assets WHERE kind = $1 ORDER BY created_at, id"
    ))
    .bind(kind)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(asset)
    .collect()
}

pub async fn children(db: &Db, parent_id: &str, kind: &str) -> DbResult<Vec<Asset>> {
    sqlx::query(&format!(
        "SELECT {ASSET_COLS} FROM sandbox_assets WHERE parent_id = $1 AND kind = $2 ORDER BY created_at, id"
    ))
    .bind(parent_id)
    .bind(kind)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(asset)
    .collect()
}

pub async fn update_asset_data(db: &Db, id: &str, data: &Value) -> DbResult<()> {
    sqlx::query("UPDATE sandbox_assets SET data = $1 WHERE id = $2")
        .bind(data.to_string())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn count_assets(db: &Db) -> DbResult<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM sandbox_assets")
        .fetch_one(&db.pool)
        .await
}

// ---- tokens and codes ------------------------------------------------------

#[derive(Clone, Debug)]
pub struct Token {
    pub token: String,
    /// `system_user`, `user_short`, `user_long`, `page`.
    pub kind: String,
    /// The Page a Page token acts as.
    pub subject_id: Option<String>,
    pub asset_ids: Vec<String>,
    pub scopes: Vec<String>,
    pub expires_at: Option<i64>,
    pub revoked: bool,
    pub created_at: i64,
    /// The customer app the token belongs to; `None`: the installation's own app.
    pub app_id: Option<String>,
}

fn token(r: &AnyRow) -> DbResult<Token> {
    Ok(Token {
        token: r.try_get("token")?,
        kind: r.try_get("kind")?,
        subject_id: r.try_get("subject_id")?,
        asset_ids: list_col(r, "asset_ids")?,
        scopes: list_col(r, "scopes")?,
        expires_at: r.try_get("expires_at")?,
        revoked: r.try_get::<i64, _>("revoked")? != 0,
        created_at: r.try_get("created_at")?,
        app_id: r.try_get("app_id")?,
    })
}

pub async fn insert_token(db: &Db, t: &Token) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO sandbox_tokens (token, kind, subject_id, asset_ids, scopes, expires_at, revoked, created_at, app_id) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)",
    )
    .bind(&t.token)
    .bind(&t.kind)
    .bind(&t.subject_id)
    .bind(serde_json::to_string(&t.asset_ids).unwrap_or_default())
    .bind(serde_json::to_string(&t.scopes).unwrap_or_default())
    .bind(t.expires_at)
    .bind(t.created_at)
    .bind(&t.app_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn token_by_value(db: &Db, value: &str) -> DbResult<Option<Token>> {
    sqlx::query(
        "SELECT token, kind, subject_id, asset_ids, scopes, expires_at, revoked, created_at, app_id \
         FROM sandbox_tokens WHERE token = $1",
    )
    .bind(value)
    .fetch_optional(&db.pool)
    .await?
    .as_ref()
    .map(token)
    .transpose()
}

/// Kills every token granted on `asset_id` (asset ids are stored as a JSON array).
pub async fn revoke_tokens_for(db: &Db, asset_id: &str) -> DbResult<u64> {
    let pattern = format!("%\"{asset_id}\"%");
    Ok(
        sqlx::query("UPDATE sandbox_tokens SET revoked = 1 WHERE asset_ids LIKE $1")
            .bind(pattern)
            .execute(&db.pool)
            .await?
            .rows_affected(),
    )
}

pub struct Code {
    pub code: String,
    pub redirect_uri: String,
    pub login_kind: String,
    pub asset_ids: Vec<String>,
    pub scopes: Vec<String>,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

pub async fn insert_code(db: &Db, c: &Code, now: i64) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO sandbox_codes (code, redirect_uri, login_kind, asset_ids, scopes, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&c.code)
    .bind(&c.redirect_uri)
    .bind(&c.login_kind)
    .bind(serde_json::to_string(&c.asset_ids).unwrap_or_default())
    .bind(serde_json::to_string(&c.scopes).unwrap_or_default())
    .bind(c.expires_at)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn code_by_value(db: &Db, value: &str) -> DbResult<Option<Code>> {
    let row = sqlx::query(
        "SELECT code, redirect_uri, login_kind, asset_ids, scopes, expires_at, used_at FROM sandbox_codes WHERE code = $1",
    )
    .bind(value)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok(Code {
            code: r.try_get("code")?,
            redirect_uri: r.try_get("redirect_uri")?,
            login_kind: r.try_get("login_kind")?,
            asset_ids: list_col(&r, "asset_ids")?,
            scopes: list_col(&r, "scopes")?,
            expires_at: r.try_get("expires_at")?,
            used_at: r.try_get("used_at")?,
        })
    })
    .transpose()
}

/// Marks a code used; false when another exchange got there first.
pub async fn use_code(db: &Db, value: &str, now: i64) -> DbResult<bool> {
    Ok(
        sqlx::query("UPDATE sandbox_codes SET used_at = $1 WHERE code = $2 AND used_at IS NULL")
            .bind(now)
            .bind(value)
            .execute(&db.pool)
            .await?
            .rows_affected()
            == 1,
    )
}

// ---- subscriptions -----------------------------------------------------------

#[derive(Clone, Debug)]
pub struct Subscription {
    pub asset_id: String,
    pub app_id: String,
    pub fields: Vec<String>,
    pub override_callback_uri: Option<String>,
}

/// One statement, so that racing subscribes of one asset (Meta answers them
/// all) cannot collide on the primary key.
pub async fn upsert_subscription(db: &Db, s: &Subscription, now: i64) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO sandbox_subscriptions (asset_id, app_id, fields, override_callback_uri, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (asset_id, app_id) DO UPDATE SET \
         fields = excluded.fields, override_callback_uri = excluded.override_callback_uri, \
         created_at = excluded.created_at",
    )
    .bind(&s.asset_id)
    .bind(&s.app_id)
    .bind(serde_json::to_string(&s.fields).unwrap_or_default())
    .bind(&s.override_callback_uri)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn subscriptions_of(db: &Db, asset_id: &str) -> DbResult<Vec<Subscription>> {
    sqlx::query(
        "SELECT asset_id, app_id, fields, override_callback_uri FROM sandbox_subscriptions WHERE asset_id = $1 ORDER BY app_id",
    )
    .bind(asset_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        Ok(Subscription {
            asset_id: r.try_get("asset_id")?,
            app_id: r.try_get("app_id")?,
            fields: list_col(r, "fields")?,
            override_callback_uri: r.try_get("override_callback_uri")?,
        })
    })
    .collect()
}

pub async fn delete_subscription(db: &Db, asset_id: &str, app_id: &str) -> DbResult<()> {
    sqlx::query("DELETE FROM sandbox_subscriptions WHERE asset_id = $1 AND app_id = $2")
        .bind(asset_id)
        .bind(app_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

// ---- end users and messages ----------------------------------------------------

pub struct User {
    pub asset_id: String,
    pub user_id: String,
    pub name: Option<String>,
    pub last_inbound_at: i64,
}

/// Records that `user_id` wrote to `asset_id` now (opens the 24-hour window).
pub async fn touch_user(
    db: &Db,
    asset_id: &str,
    user_id: &str,
    name: Option<&str>,
    now: i64,
) -> DbResult<()> {
    let updated = sqlx::query(
        "UPDATE sandbox_users SET last_inbound_at = $1, name = COALESCE($2, name) WHERE asset_id = $3 AND user_id = $4",
    )
    .bind(now)
    .bind(name)
    .bind(asset_id)
    .bind(user_id)
    .execute(&db.pool)
    .await?
    .rows_affected();
    if updated == 0 {
        sqlx::query(
            "INSERT INTO sandbox_users (asset_id, user_id, name, last_inbound_at, created_at) VALUES ($1, $2, $3, $4, $4) \
             ON CONFLICT (asset_id, user_id) DO UPDATE SET last_inbound_at = $4",
        )
        .bind(asset_id)
        .bind(user_id)
        .bind(name)
        .bind(now)
        .execute(&db.pool)
        .await?;
    }
    Ok(())
}

fn user(r: &AnyRow) -> DbResult<User> {
    Ok(User {
        asset_id: r.try_get("asset_id")?,
        user_id: r.try_get("user_id")?,
        name: r.try_get("name")?,
        last_inbound_at: r.try_get("last_inbound_at")?,
    })
}

pub async fn user_of(db: &Db, asset_id: &str, user_id: &str) -> DbResult<Option<User>> {
    sqlx::query("SELECT asset_id, user_id, name, last_inbound_at FROM sandbox_users WHERE asset_id = $1 AND user_id = $2")
        .bind(asset_id)
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?
        .as_ref()
        .map(user)
        .transpose()
}

/// Every asset a user id wrote to (ids are scoped per asset, but may repeat).
pub async fn users_by_id(db: &Db, user_id: &str) -> DbResult<Vec<User>> {
    sqlx::query(
        "SELECT asset_id, user_id, name, last_inbound_at FROM sandbox_users WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(user)
    .collect()
}

#[derive(Clone, Debug)]
pub struct Message {
    pub id: String,
    pub asset_id: String,
    /// `in` (end user → business) or `out`.
    pub direction: String,
    pub peer: String,
    pub msg_type: String,
    pub body: Value,
    pub status: String,
    pub created_at: i64,
}

fn message(r: &AnyRow) -> DbResult<Message> {
    Ok(Message {
        id: r.try_get("id")?,
        asset_id: r.try_get("asset_id")?,
        direction: r.try_get("direction")?,
        peer: r.try_get("peer")?,
        msg_type: r.try_get("msg_type")?,
        body: json_col(r, "body")?,
        status: r.try_get("status")?,
        created_at: r.try_get("created_at")?,
    })
}

const MSG_COLS: &str = "id, asset_id, direction, peer, msg_type, body, status, created_at";

pub async fn insert_message(db: &Db, m: &Message) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO sandbox_messages (id, asset_id, direction, peer, msg_type, body, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(&m.id)
    .bind(&m.asset_id)
    .bind(&m.direction)
    .bind(&m.peer)
    .bind(&m.msg_type)
    .bind(m.body.to_string())
    .bind(&m.status)
    .bind(m.created_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn message_by_id(db: &Db, id: &str) -> DbResult<Option<Message>> {
    sqlx::query(&format!(
        "SELECT {MSG_COLS} FROM sandbox_messages WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .as_ref()
    .map(message)
    .transpose()
}

pub async fn set_message_status(db: &Db, id: &str, status: &str, now: i64) -> DbResult<()> {
    sqlx::query("UPDATE sandbox_messages SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(status)
        .bind(now)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// What the business sent, newest last; both filters optional.
pub async fn outbox(db: &Db, asset_id: Option<&str>, to: Option<&str>) -> DbResult<Vec<Message>> {
    sqlx::query(&format!(
        "SELECT {MSG_COLS} FROM sandbox_messages WHERE direction = 'out' \
         AND ($1 = '' OR asset_id = $1) AND ($2 = '' OR peer = $2) ORDER BY created_at, id"
    ))
    .bind(asset_id.unwrap_or_default())
    .bind(to.unwrap_or_default())
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(message)
    .collect()
}

// ---- templates -------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct Template {
    pub id: String,
    pub waba_id: String,
    pub name: String,
    pub language: String,
    pub category: String,
    pub status: String,
    pub parameter_format: String,
    pub components: Value,
    pub rejected_reason: Option<String>,
    pub created_at: i64,
}

fn template(r: &AnyRow) -> DbResult<Template> {
    Ok(Template {
        id: r.try_get("id")?,
        waba_id: r.try_get("waba_id")?,
        name: r.try_get("name")?,
        language: r.try_get("language")?,
        category: r.try_get("category")?,
        status: r.try_get("status")?,
        parameter_format: r.try_get("parameter_format")?,
        components: json_col(r, "components")?,
        rejected_reason: r.try_get("rejected_reason")?,
        created_at: r.try_get("created_at")?,
    })
}

const TPL_COLS: &str = "id, waba_id, name, language, category, status, parameter_format, components, rejected_reason, created_at";

pub async fn insert_template(db: &Db, t: &Template) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO sandbox_templates (id, waba_id, name, language, category, status, parameter_format, components, rejected_reason, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&t.id)
    .bind(&t.waba_id)
    .bind(&t.name)
    .bind(&t.language)
    .bind(&t.category)
    .bind(&t.status)
    .bind(&t.parameter_format)
    .bind(t.components.to_string())
    .bind(&t.rejected_reason)
    .bind(t.created_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn template_by_id(db: &Db, id: &str) -> DbResult<Option<Template>> {
    sqlx::query(&format!(
        "SELECT {TPL_COLS} FROM sandbox_templates WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .as_ref()
    .map(template)
    .transpose()
}

pub async fn templates_of(db: &Db, waba_id: &str) -> DbResult<Vec<Template>> {
    sqlx::query(&format!(
        "SELECT {TPL_COLS} FROM sandbox_templates WHERE waba_id = $1 ORDER BY created_at, id"
    ))
    .bind(waba_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(template)
    .collect()
}

pub async fn update_template(db: &Db, t: &Template) -> DbResult<()> {
    sqlx::query(
        "UPDATE sandbox_templates SET category = $1, status = $2, components = $3, rejected_reason = $4 WHERE id = $5",
    )
    .bind(&t.category)
    .bind(&t.status)
    .bind(t.components.to_string())
    .bind(&t.rejected_reason)
    .bind(&t.id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn delete_template(db: &Db, id: &str) -> DbResult<()> {
    sqlx::query("DELETE FROM sandbox_templates WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

// ---- media -------------------------------------------------------------------------

pub struct Media {
    pub id: String,
    pub asset_id: String,
    pub mime_type: String,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
    pub size: i64,
    pub content: Vec<u8>,
}

pub async fn insert_media(db: &Db, m: &Media, now: i64) -> DbResult<()> {
    use base64::Engine;
    sqlx::query(
        "INSERT INTO sandbox_media (id, asset_id, mime_type, sha256, size, content, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&m.id)
    .bind(&m.asset_id)
    .bind(&m.mime_type)
    .bind(&m.sha256)
    .bind(m.size)
    .bind(base64::engine::general_purpose::STANDARD.encode(&m.content))
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn media_by_id(db: &Db, id: &str) -> DbResult<Option<Media>> {
    use base64::Engine;
    let row = sqlx::query(
        "SELECT id, asset_id, mime_type, sha256, size, content FROM sandbox_media WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        let content: String = r.try_get("content")?;
        Ok(Media {
            id: r.try_get("id")?,
            asset_id: r.try_get("asset_id")?,
            mime_type: r.try_get("mime_type")?,
            sha256: r.try_get("sha256")?,
            size: r.try_get("size")?,
            content: base64::engine::general_purpose::STANDARD
                .decode(content)
                .unwrap_or_default(),
        })
    })
    .transpose()
}

// ---- faults ------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct Fault {
    pub id: String,
    pub kind: String,
    pub path: Option<String>,
    pub remaining: i64,
    pub spec: Value,
}

fn fault(r: &AnyRow) -> DbResult<Fault> {
    Ok(Fault {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        path: r.try_get("path")?,
        remaining: r.try_get("remaining")?,
        spec: json_col(r, "spec")?,
    })
}

pub async fn insert_fault(db: &Db, f: &Fault, now: i64) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO sandbox_faults (id, kind, path, remaining, spec, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&f.id)
    .bind(&f.kind)
    .bind(&f.path)
    .bind(f.remaining)
    .bind(f.spec.to_string())
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn active_faults(db: &Db) -> DbResult<Vec<Fault>> {
    sqlx::query("SELECT id, kind, path, remaining, spec FROM sandbox_faults WHERE remaining > 0 ORDER BY created_at, id")
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(fault)
        .collect()
}

/// Uses up one occurrence; false when another request took the last one.
pub async fn consume_fault(db: &Db, id: &str) -> DbResult<bool> {
    Ok(sqlx::query(
        "UPDATE sandbox_faults SET remaining = remaining - 1 WHERE id = $1 AND remaining > 0",
    )
    .bind(id)
    .execute(&db.pool)
    .await?
    .rows_affected()
        == 1)
}

pub async fn delete_faults_of_kind(db: &Db, kind: &str) -> DbResult<()> {
    sqlx::query("DELETE FROM sandbox_faults WHERE kind = $1")
        .bind(kind)
        .execute(&db.pool)
        .await?;
    Ok(())
}

// ---- webhooks ----------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub body: String,
    /// `pending`, `delivered`, `failed`, `dropped`, `not_subscribed`.
    pub status: String,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
    /// The customer app whose secret signs it; `None`: the installation's own app.
    pub app_id: Option<String>,
}

fn webhook(r: &AnyRow) -> DbResult<Webhook> {
    Ok(Webhook {
        id: r.try_get("id")?,
        url: r.try_get("url")?,
        body: r.try_get("body")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        last_status_code: r.try_get("last_status_code")?,
        last_error: r.try_get("last_error")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        created_at: r.try_get("created_at")?,
        app_id: r.try_get("app_id")?,
    })
}

const HOOK_COLS: &str = "id, url, body, status, attempts, last_status_code, last_error, \
                         next_attempt_at, created_at, app_id";

pub async fn insert_webhook(db: &Db, w: &Webhook) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO sandbox_webhooks (id, url, body, status, attempts, last_status_code, last_error, next_attempt_at, created_at, app_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&w.id)
    .bind(&w.url)
    .bind(&w.body)
    .bind(&w.status)
    .bind(w.attempts)
    .bind(w.last_status_code)
    .bind(&w.last_error)
    .bind(w.next_attempt_at)
    .bind(w.created_at)
    .bind(&w.app_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn record_attempt(db: &Db, w: &Webhook) -> DbResult<()> {
    sqlx::query(
        "UPDATE sandbox_webhooks SET status = $1, attempts = $2, last_status_code = $3, last_error = $4, next_attempt_at = $5 WHERE id = $6",
    )
    .bind(&w.status)
    .bind(w.attempts)
    .bind(w.last_status_code)
    .bind(&w.last_error)
    .bind(w.next_attempt_at)
    .bind(&w.id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn due_webhooks(db: &Db, now: i64) -> DbResult<Vec<Webhook>> {
    sqlx::query(&format!(
        "SELECT {HOOK_COLS} FROM sandbox_webhooks WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT 20"
    ))
    .bind(now)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(webhook)
    .collect()
}

/// Takes a due webhook for `lease_until`; false when another worker has it.
pub async fn claim_webhook(db: &Db, id: &str, seen_next: i64, lease_until: i64) -> DbResult<bool> {
    Ok(sqlx::query(
        "UPDATE sandbox_webhooks SET next_attempt_at = $1 WHERE id = $2 AND status = 'pending' AND next_attempt_at = $3",
    )
    .bind(lease_until)
    .bind(id)
    .bind(seen_next)
    .execute(&db.pool)
    .await?
    .rows_affected()
        == 1)
}

pub async fn recent_webhooks(db: &Db, limit: i64) -> DbResult<Vec<Webhook>> {
    sqlx::query(&format!(
        "SELECT {HOOK_COLS} FROM sandbox_webhooks ORDER BY created_at DESC, id DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(webhook)
    .collect()
}

/// `POST /sandbox/api/reset`: forget everything the sandbox knows.
pub async fn wipe(db: &Db) -> DbResult<()> {
    for table in [
        "sandbox_webhooks",
        "sandbox_apps",
        "sandbox_faults",
        "sandbox_media",
        "sandbox_templates",
        "sandbox_messages",
        "sandbox_users",
        "sandbox_subscriptions",
        "sandbox_codes",
        "sandbox_tokens",
        "sandbox_assets",
    ] {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&db.pool)
            .await?;
    }
    Ok(())
}

/// The conversation between an asset and one end user, both directions, oldest first.
pub async fn thread(db: &Db, asset_id: &str, peer: &str) -> DbResult<Vec<Message>> {
    sqlx::query(&format!(
        "SELECT {MSG_COLS} FROM sandbox_messages WHERE asset_id = $1 AND peer = $2 ORDER BY created_at, id"
    ))
    .bind(asset_id)
    .bind(peer)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(message)
    .collect()
}

// ---- customers' own apps ----------------------------------------------------

#[derive(Clone, Debug)]
pub struct App {
    pub app_id: String,
    pub app_secret: String,
    pub name: String,
    pub callback_url: String,
}

pub async fn insert_app(db: &Db, a: &App, now: i64) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO sandbox_apps (app_id, app_secret, name, callback_url, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&a.app_id)
    .bind(&a.app_secret)
    .bind(&a.name)
    .bind(&a.callback_url)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn app_by_id(db: &Db, app_id: &str) -> DbResult<Option<App>> {
    sqlx::query("SELECT app_id, app_secret, name, callback_url FROM sandbox_apps WHERE app_id = $1")
        .bind(app_id)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| {
            Ok(App {
                app_id: r.try_get("app_id")?,
                app_secret: r.try_get("app_secret")?,
                name: r.try_get("name")?,
                callback_url: r.try_get("callback_url")?,
            })
        })
        .transpose()
}
