//! Token endpoints: code exchange, long-lived exchange, app tokens,
//! Instagram exchange/refresh and `debug_token`.

use app::clock::{DAY_MS, HOUR_MS};
use serde_json::{Value, json};

use super::super::Sandbox;
use super::super::db::{self, Token};
use super::{GErr, GResult, Req, auth};

/// Long-lived user tokens and Instagram tokens live 60 days (Meta's figure).
pub const LONG_LIVED_MS: i64 = 60 * DAY_MS;
/// Short-lived user tokens from the dialog: about 2 hours.
pub const SHORT_LIVED_MS: i64 = 2 * HOUR_MS;

/// Sandbox tokens look like Meta's (`EAA…`) so log masking treats them alike.
pub fn new_token_value() -> String {
    format!("EAAS{}", app::crypto::random_base62(60))
}

pub async fn issue(
    sb: &Sandbox,
    kind: &str,
    subject: Option<String>,
    asset_ids: Vec<String>,
    scopes: Vec<String>,
    ttl_ms: Option<i64>,
) -> Result<Token, GErr> {
    let now = sb.now();
    let t = Token {
        token: new_token_value(),
        kind: kind.to_string(),
        subject_id: subject,
        asset_ids,
        scopes,
        expires_at: ttl_ms.map(|ttl| now + ttl),
        revoked: false,
        created_at: now,
        app_id: None,
    };
    db::insert_token(&sb.db, &t).await?;
    Ok(t)
}

pub fn token_json(sb: &Sandbox, t: &Token) -> Value {
    let mut v = json!({"access_token": t.token, "token_type": "bearer"});
    if let Some(exp) = t.expires_at {
        v["expires_in"] = json!(((exp - sb.now()) / 1000).max(0));
    }
    v
}

fn check_client(sb: &Sandbox, req: &Req) -> Result<(), GErr> {
    if req.str("client_id").as_deref() != Some(sb.app_id()) {
        return Err(GErr::new(
            101,
            "Error validating application. Invalid application ID.",
        ));
    }
    if req.str("client_secret").as_deref() != Some(sb.app_secret()) {
        return Err(GErr::new(100, "Error validating client secret."));
    }
    Ok(())
}

/// `GET|POST oauth/access_token` with a dialog `code`, `grant_type=fb_exchange_token`
/// or `grant_type=client_credentials`.
pub async fn access_token(sb: &Sandbox, req: &Req) -> GResult {
    check_client(sb, req)?;
    match req.str("grant_type").as_deref() {
        Some("client_credentials") => {
            return Ok(
                json!({"access_token": format!("{}|{}", sb.app_id(), sb.app_secret()), "token_type": "bearer"}),
            );
        }
        Some("fb_exchange_token") => {
            let Some(short) = req.str("fb_exchange_token") else {
                return Err(GErr::new(100, "Missing fb_exchange_token parameter"));
            };
            let probe = Req {
                method: req.method.clone(),
                segs: vec![],
                path: String::new(),
                params: Default::default(),
                token: Some(short),
            };
            let t = auth(sb, &probe).await?;
            if !t.kind.starts_with("user") {
                return Err(GErr::new(
                    100,
                    "fb_exchange_token must be a user access token",
                ));
            }
            let long = issue(
                sb,
                "user_long",
                None,
                t.asset_ids,
                t.scopes,
                Some(LONG_LIVED_MS),
            )
            .await?;
            return Ok(token_json(sb, &long));
        }
        _ => {}
    }
    let Some(code_value) = req.str("code") else {
        return Err(GErr::new(100, "Missing authorization code"));
    };
    let now = sb.now();
    let Some(code) = db::code_by_value(&sb.db, &code_value).await? else {
        return Err(GErr::sub(100, 36009, "Invalid verification code format."));
    };
    if code.used_at.is_some() {
        return Err(GErr::sub(
            100,
            36009,
            "This authorization code has been used.",
        ));
    }
    if code.expires_at <= now {
        return Err(GErr::sub(
            100,
            36007,
            "This authorization code has expired.",
        ));
    }
    // Meta wants the dialog's redirect_uri byte for byte when one is sent.
    if let Some(r) = req.params.get("redirect_uri").and_then(Value::as_str)
        && !r.is_empty()
        && r != code.redirect_uri
    {
        return Err(GErr::sub(
            100,
            36008,
            "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request",
        ));
    }
    if !db::use_code(&sb.db, &code.code, now).await? {
        return Err(GErr::sub(
            100,
            36009,
            "This authorization code has been used.",
        ));
    }
    // Embedded Signup hands out a business system-user token that never
    // expires; Facebook Login a short-lived user token.
    let t = if code.login_kind == "whatsapp" {
        issue(sb, "system_user", None, code.asset_ids, code.scopes, None).await?
    } else {
        issue(
            sb,
            "user_short",
            None,
            code.asset_ids,
            code.scopes,
            Some(SHORT_LIVED_MS),
        )
        .await?
    };
    Ok(token_json(sb, &t))
}

/// Instagram `access_token?grant_type=ig_exchange_token`.
pub async fn ig_exchange(sb: &Sandbox, req: &Req) -> GResult {
    if req.str("client_secret").as_deref() != Some(sb.app_secret()) {
        return Err(GErr::new(100, "Error validating client secret."));
    }
    if req.str("grant_type").as_deref() != Some("ig_exchange_token") {
        return Err(GErr::new(100, "Unsupported grant_type"));
    }
    let t = auth(sb, req).await?;
    let long = issue(
        sb,
        "user_long",
        t.subject_id,
        t.asset_ids,
        t.scopes,
        Some(LONG_LIVED_MS),
    )
    .await?;
    Ok(token_json(sb, &long))
}

/// Instagram `refresh_access_token?grant_type=ig_refresh_token`: a valid
/// long-lived token gets a new 60 days.
pub async fn ig_refresh(sb: &Sandbox, req: &Req) -> GResult {
    if req.str("grant_type").as_deref() != Some("ig_refresh_token") {
        return Err(GErr::new(100, "Unsupported grant_type"));
    }
    let t = auth(sb, req).await?;
    if t.expires_at.is_none() || t.kind == "app" {
        return Err(GErr::new(
            100,
            "This token cannot be refreshed: it does not expire.",
        ));
    }
    let fresh = issue(
        sb,
        &t.kind,
        t.subject_id,
        t.asset_ids,
        t.scopes,
        Some(LONG_LIVED_MS),
    )
    .await?;
    Ok(token_json(sb, &fresh))
}

fn token_type(kind: &str) -> &'static str {
    match kind {
        "system_user" => "SYSTEM_USER",
        "page" => "PAGE",
        "app" => "APP",
        _ => "USER",
    }
}

/// `debug_token?input_token=`: validity, expiry and granular scopes.
pub async fn debug_token(sb: &Sandbox, req: &Req) -> GResult {
    let caller = auth(sb, req).await?;
    let Some(input) = req.str("input_token") else {
        return Err(GErr::new(100, "The parameter input_token is required"));
    };
    // Apps inspect any of their tokens; a user token may inspect itself.
    if caller.kind != "app" && caller.token != input {
        return Err(GErr::new(
            100,
            "(#100) You must provide an app access token, or a user access token that is an owner or developer of the app",
        ));
    }
    let probe = Req {
        method: req.method.clone(),
        segs: vec![],
        path: String::new(),
        params: Default::default(),
        token: Some(input.clone()),
    };
    let stored = db::token_by_value(&sb.db, &input).await?;
    // An app inspects only tokens issued for it.
    if caller.kind == "app"
        && let Some(t) = &stored
        && t.app_id != caller.app_id
    {
        return Err(GErr::new(
            100,
            "(#100) You must provide an app access token, or a user access token that is an owner or developer of the app",
        ));
    }
    let checked = auth(sb, &probe).await;
    // The app the token was issued for: the installation's own, or a
    // customer app created with `POST /sandbox/api/apps`.
    let own = stored.as_ref().and_then(|t| t.app_id.clone());
    let app = match &own {
        Some(id) => db::app_by_id(&sb.db, id).await?,
        None => None,
    };
    let mut data = match &app {
        Some(a) => json!({"app_id": a.app_id, "application": a.name}),
        None => json!({"app_id": sb.app_id(), "application": "Switchboard Sandbox App"}),
    };
    match (stored, checked) {
        (Some(t), Ok(_)) => {
            data["type"] = json!(token_type(&t.kind));
            data["is_valid"] = json!(true);
            data["issued_at"] = json!(t.created_at / 1000);
            data["expires_at"] = json!(t.expires_at.map(|e| e / 1000).unwrap_or(0));
            data["data_access_expires_at"] = json!(if t.kind.starts_with("user") {
                (t.created_at + 90 * DAY_MS) / 1000
            } else {
                0
            });
            data["scopes"] = json!(t.scopes);
            data["granular_scopes"] = json!(granular(sb, &t).await?);
            data["user_id"] = json!("3100000000000001");
            if let Some(p) = &t.subject_id {
                data["profile_id"] = json!(p);
            }
        }
        (stored, Err(e)) => {
            data["type"] = json!(
                stored
                    .as_ref()
                    .map(|t| token_type(&t.kind))
                    .unwrap_or("USER")
            );
            data["is_valid"] = json!(false);
            data["expires_at"] = json!(
                stored
                    .and_then(|t| t.expires_at)
                    .map(|x| x / 1000)
                    .unwrap_or(0)
            );
            data["scopes"] = json!([]);
            let mut err = json!({"code": e.code, "message": e.message});
            if let Some(s) = e.subcode {
                err["subcode"] = json!(s);
            }
            data["error"] = err;
        }
        (None, Ok(_)) => {
            data["type"] = json!("APP");
            data["is_valid"] = json!(true);
            data["expires_at"] = json!(0);
            data["scopes"] = json!([]);
        }
    }
    Ok(json!({"data": data}))
}

/// Which granted asset ids each permission covers, like Meta's `granular_scopes`.
async fn granular(sb: &Sandbox, t: &Token) -> Result<Vec<Value>, GErr> {
    let mut by_kind: std::collections::HashMap<String, Vec<String>> = Default::default();
    for id in &t.asset_ids {
        if let Some(a) = db::asset_by_id(&sb.db, id).await? {
            by_kind.entry(a.kind).or_default().push(a.id);
        }
    }
    let ids = |k: &str| by_kind.get(k).cloned().unwrap_or_default();
    Ok(t.scopes
        .iter()
        .map(|s| {
            let targets = match s.as_str() {
                "whatsapp_business_management" | "whatsapp_business_messaging" => ids("waba"),
                "pages_messaging"
                | "pages_manage_metadata"
                | "pages_show_list"
                | "pages_read_engagement" => ids("page"),
                "instagram_basic" | "instagram_manage_messages" => ids("instagram"),
                "business_management" => vec![super::super::seed::BUSINESS_ID.to_string()],
                _ => vec![],
            };
            if targets.is_empty() {
                json!({"scope": s})
            } else {
                json!({"scope": s, "target_ids": targets})
            }
        })
        .collect())
}
