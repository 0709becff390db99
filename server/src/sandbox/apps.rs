//! Customers' own Meta apps (`POST /sandbox/api/apps`): Meta hosts many apps,
//! each with its own id, secret and webhook callback. A customer who connects
//! a number by hand (SPEC §3.4) uses such an app, never the installation's
//! own; the sandbox plays that case with a second app and a system-user token
//! issued for it. Its webhooks are signed with its own secret and sent to its
//! callback, by default this installation's `/webhooks/meta/apps/{app_id}`.

use app::error::AppError;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Sandbox;
use super::db::{self, App, Token};
use super::graph::oauth::new_token_value;

/// What a system user of a WhatsApp app is usually granted.
const SCOPES: [&str; 3] = [
    "whatsapp_business_management",
    "whatsapp_business_messaging",
    "business_management",
];

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NewApp {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    callback_url: Option<String>,
    /// WABAs (and their numbers) the system user may use; every seeded WABA when omitted.
    #[serde(default)]
    waba_ids: Option<Vec<String>>,
}

fn invalid(detail: impl Into<String>) -> AppError {
    AppError::validation(detail)
}

/// A Meta-looking app id: 15 digits, never the installation's own.
fn new_app_id(sb: &Sandbox) -> String {
    loop {
        let id = format!("9{:014}", rand::random::<u64>() % 100_000_000_000_000);
        if id != sb.app_id() {
            return id;
        }
    }
}

/// `POST /sandbox/api/apps {"name"?, "callback_url"?, "waba_ids"?}` →
/// `{app_id, app_secret, access_token, callback_url}`.
pub async fn create(State(sb): State<Sandbox>, body: Bytes) -> Result<Response, AppError> {
    let input: NewApp = if body.iter().all(u8::is_ascii_whitespace) {
        NewApp::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| invalid(format!("invalid body: {e}")))?
    };
    let name = input
        .name
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "Customer App".to_string());
    if name.chars().count() > 100 {
        return Err(invalid("name is longer than 100 characters"));
    }
    let app_id = new_app_id(&sb);
    let callback_url = match input.callback_url {
        Some(u) => {
            let parsed = url::Url::parse(&u)
                .map_err(|_| invalid("callback_url must be an absolute http(s) URL"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(invalid("callback_url must be an absolute http(s) URL"));
            }
            u
        }
        None => format!("{}/webhooks/meta/apps/{app_id}", sb.config.base()),
    };
    let wabas = match input.waba_ids {
        Some(ids) => {
            let mut found = Vec::new();
            for id in ids {
                match db::asset_by_id(&sb.db, &id).await? {
                    Some(a) if a.kind == "waba" => found.push(a),
                    _ => return Err(invalid(format!("waba_ids: {id} is not a sandbox WABA"))),
                }
            }
            found
        }
        None => db::assets_of_kind(&sb.db, "waba").await?,
    };
    let mut asset_ids = Vec::new();
    for w in &wabas {
        asset_ids.push(w.id.clone());
        for p in db::children(&sb.db, &w.id, "phone").await? {
            asset_ids.push(p.id);
        }
    }
    let app = App {
        app_id: app_id.clone(),
        app_secret: app::crypto::random_hex(16),
        name,
        callback_url: callback_url.clone(),
    };
    let now = sb.now();
    db::insert_app(&sb.db, &app, now).await?;
    let token = Token {
        token: new_token_value(),
        kind: "system_user".into(),
        subject_id: None,
        asset_ids,
        scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
        expires_at: None,
        revoked: false,
        created_at: now,
        app_id: Some(app_id.clone()),
    };
    db::insert_token(&sb.db, &token).await?;
    let out: Value = json!({
        "app_id": app_id,
        "name": app.name,
        "app_secret": app.app_secret,
        "access_token": token.token,
        "callback_url": callback_url,
        "waba_ids": wabas.iter().map(|w| w.id.clone()).collect::<Vec<_>>(),
    });
    Ok((StatusCode::CREATED, Json(out)).into_response())
}
