//! Graph API emulation at `/sandbox/graph/{version}/…`: Meta's JSON shapes,
//! paging, error envelope and codes, bearer tokens checked on every call,
//! and injected faults applied before anything else.

mod messages;
pub(crate) mod oauth;
mod objects;
mod templates;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Map, Value, json};

use super::Sandbox;
use super::db::{self, Asset, Token};

pub use objects::{cdn_media, cdn_url, download_media};

/// A fresh Instagram-style mid for `asset`.
pub fn messages_random_mid(ig_id: &str) -> String {
    messages::random_instagram_mid(ig_id)
}

/// A Graph failure in Meta's envelope.
#[derive(Debug)]
pub struct GErr {
    pub status: u16,
    pub code: i64,
    pub subcode: Option<i64>,
    pub message: String,
    pub error_type: &'static str,
    /// WhatsApp-style `error_data.details`.
    pub details: Option<String>,
}

impl GErr {
    pub fn new(code: i64, message: impl Into<String>) -> GErr {
        GErr {
            status: 400,
            code,
            subcode: None,
            message: message.into(),
            error_type: "OAuthException",
            details: None,
        }
    }
    pub fn sub(code: i64, subcode: i64, message: impl Into<String>) -> GErr {
        GErr {
            subcode: Some(subcode),
            ..GErr::new(code, message)
        }
    }
    pub fn details(mut self, d: impl Into<String>) -> GErr {
        self.details = Some(d.into());
        self
    }
    pub fn status(mut self, s: u16) -> GErr {
        self.status = s;
        self
    }
    /// 100/33: Meta's answer for ids that do not exist *or* are not visible to
    /// the token; the sandbox never tells the two apart either.
    pub fn no_object(id: &str, method: &Method) -> GErr {
        let verb = match *method {
            Method::POST => "post",
            Method::DELETE => "delete",
            _ => "get",
        };
        GErr::sub(
            100,
            33,
            format!(
                "Unsupported {verb} request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."
            ),
        )
        .with_type("GraphMethodException")
    }
    pub fn with_type(mut self, t: &'static str) -> GErr {
        self.error_type = t;
        self
    }
    pub fn db(e: sqlx::Error) -> GErr {
        tracing::error!(error = %e, "sandbox database error");
        GErr::new(
            2,
            "An unexpected error has occurred. Please retry your request later.",
        )
        .status(500)
    }
}

impl From<sqlx::Error> for GErr {
    fn from(e: sqlx::Error) -> Self {
        GErr::db(e)
    }
}

impl IntoResponse for GErr {
    fn into_response(self) -> Response {
        let mut err = json!({
            "message": self.message,
            "type": self.error_type,
            "code": self.code,
            "fbtrace_id": fbtrace_id(),
        });
        if let Some(s) = self.subcode {
            err["error_subcode"] = json!(s);
        }
        if let Some(d) = self.details {
            err["error_data"] = json!({"messaging_product": "whatsapp", "details": d});
        }
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        (status, axum::Json(json!({"error": err}))).into_response()
    }
}

pub type GResult = Result<Value, GErr>;

fn fbtrace_id() -> String {
    app::crypto::random_base62(23)
}

/// One Graph request after parsing: path segments without the version,
/// query and body parameters merged (body wins), and the bearer token.
pub struct Req {
    pub method: Method,
    pub segs: Vec<String>,
    pub path: String,
    pub params: Map<String, Value>,
    pub token: Option<String>,
}

impl Req {
    /// A scalar parameter as text (numbers too: ids are often sent unquoted).
    pub fn str(&self, k: &str) -> Option<String> {
        match self.params.get(k)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
    /// An object/array parameter; form bodies carry them as JSON strings.
    pub fn obj(&self, k: &str) -> Option<Value> {
        match self.params.get(k)? {
            Value::String(s) => serde_json::from_str(s).ok(),
            Value::Null => None,
            v => Some(v.clone()),
        }
    }
    /// Requested `fields`, top-level names only (`a,b{c,d}` → `a`, `b`).
    pub fn fields(&self) -> Vec<String> {
        let raw = self.str("fields").unwrap_or_default();
        let mut out = Vec::new();
        let mut depth = 0;
        let mut cur = String::new();
        for c in raw.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => out.push(std::mem::take(&mut cur)),
                _ if depth == 0 => cur.push(c),
                _ => {}
            }
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        out.into_iter()
            .map(|f| f.trim().to_string())
            .filter(|f| !f.is_empty())
            .collect()
    }
}

pub async fn handle_root(
    State(sb): State<Sandbox>,
    method: Method,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(sb, method, String::new(), q, headers, body).await
}

pub async fn handle(
    State(sb): State<Sandbox>,
    method: Method,
    Path(path): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(sb, method, path, q, headers, body).await
}

async fn run(
    sb: Sandbox,
    method: Method,
    path: String,
    q: Option<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = match parse(method, &path, q.as_deref(), &headers, &body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = apply_faults(&sb, &req.path, false).await {
        return e.into_response();
    }
    // Uploads are multipart: they need the raw body (reference §6.1).
    if req.method == Method::POST && req.segs.len() == 2 && req.segs[1] == "media" {
        let phone = req.segs[0].clone();
        return match objects::upload(&sb, &req, &phone, &headers, body).await {
            Ok(v) => axum::Json(v).into_response(),
            Err(e) => e.into_response(),
        };
    }
    match dispatch(&sb, &req).await {
        Ok(v) => match apply_faults(&sb, &req.path, true).await {
            Ok(()) => axum::Json(v).into_response(),
            Err(e) => e.into_response(),
        },
        Err(e) => e.into_response(),
    }
}

fn is_version(s: &str) -> bool {
    s.strip_prefix('v').is_some_and(|r| {
        !r.is_empty()
            && r.split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    })
}

fn parse(
    method: Method,
    path: &str,
    q: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Req, GErr> {
    let mut segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    // Any `vNN.N` prefix is accepted, and unversioned paths too (like Meta).
    if segs.first().is_some_and(|s| is_version(s)) {
        segs.remove(0);
    }
    let mut params = Map::new();
    for (k, v) in url::form_urlencoded::parse(q.unwrap_or_default().as_bytes()) {
        params.insert(k.into_owned(), Value::String(v.into_owned()));
    }
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !body.is_empty() {
        if ctype.starts_with("application/json") {
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(m)) => params.extend(m),
                _ => {
                    return Err(GErr::new(100, "(#100) The request body is not valid JSON."));
                }
            }
        } else {
            for (k, v) in url::form_urlencoded::parse(body) {
                params.insert(k.into_owned(), Value::String(v.into_owned()));
            }
        }
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("OAuth "))
        })
        .map(|t| t.trim().to_string());
    let token = bearer.or_else(|| {
        params
            .get("access_token")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    Ok(Req {
        method,
        path: segs.join("/"),
        segs,
        params,
        token,
    })
}

/// `graph_error` faults answer instead of the endpoint; `latency` ones delay
/// it. With `after`, only latencies marked `"after": true` apply: the request
/// took effect and its answer is slow on the way back, so webhooks it causes
/// (a send's statuses) can arrive first, as they can from Meta.
async fn apply_faults(sb: &Sandbox, path: &str, after: bool) -> Result<(), GErr> {
    for f in db::active_faults(&sb.db).await? {
        let matches = f.path.as_deref().is_some_and(|p| path.contains(p));
        let phase = f.kind == "latency"
            && f.spec
                .get("after")
                .and_then(Value::as_bool)
                .unwrap_or(false);
        if !matches || !matches!(f.kind.as_str(), "graph_error" | "latency") || phase != after {
            continue;
        }
        if !db::consume_fault(&sb.db, &f.id).await? {
            continue;
        }
        if f.kind == "latency" {
            let ms = f.spec.get("ms").and_then(Value::as_u64).unwrap_or(0);
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            continue;
        }
        let code = f.spec.get("code").and_then(Value::as_i64).unwrap_or(1);
        let message = f
            .spec
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("(#{code}) Injected sandbox fault"));
        let mut e = GErr::new(code, message).status(
            f.spec
                .get("http_status")
                .and_then(Value::as_u64)
                .unwrap_or(400) as u16,
        );
        e.subcode = f.spec.get("subcode").and_then(Value::as_i64);
        return Err(e);
    }
    Ok(())
}

async fn dispatch(sb: &Sandbox, req: &Req) -> GResult {
    let segs: Vec<&str> = req.segs.iter().map(String::as_str).collect();
    let m = &req.method;
    match (m.clone(), segs.as_slice()) {
        (Method::GET | Method::POST, ["oauth", "access_token"]) => {
            oauth::access_token(sb, req).await
        }
        (Method::GET, ["access_token"]) => oauth::ig_exchange(sb, req).await,
        (Method::GET, ["refresh_access_token"]) => oauth::ig_refresh(sb, req).await,
        (Method::GET, ["debug_token"]) => oauth::debug_token(sb, req).await,
        (Method::GET, ["me", "accounts"]) => objects::me_accounts(sb, req).await,
        (Method::GET, ["me"]) => objects::me(sb, req).await,
        (Method::POST, ["me", "messages"]) => {
            let t = auth(sb, req).await?;
            let page = t.subject_id.clone().unwrap_or_default();
            messages::send(sb, req, &t, &page).await
        }
        (_, [id, "messages"]) if *m == Method::POST => {
            let t = auth(sb, req).await?;
            messages::send(sb, req, &t, id).await
        }
        (Method::GET, [id, "phone_numbers"]) => objects::phone_numbers(sb, req, id).await,
        (Method::POST, [id, "register"]) => objects::register(sb, req, id).await,
        (_, [id, "subscribed_apps"]) => objects::subscribed_apps(sb, req, id).await,
        (_, [id, "message_templates"]) => templates::collection(sb, req, id).await,
        (Method::GET, [id]) => objects::get(sb, req, id).await,
        (Method::POST, [id]) => objects::post(sb, req, id).await,
        (Method::DELETE, [id]) => objects::delete(sb, req, id).await,
        _ => Err(GErr::new(
            100,
            format!("Unknown path components: /{}", req.path),
        )),
    }
}

/// The token of the request, checked: present, known, not revoked, not expired.
/// The app token (`app_id|app_secret`) is accepted as kind `app`.
pub async fn auth(sb: &Sandbox, req: &Req) -> Result<Token, GErr> {
    let Some(value) = req.token.as_deref() else {
        return Err(GErr::new(
            2500,
            "An active access token must be used to query information about the current user.",
        ));
    };
    if value == format!("{}|{}", sb.app_id(), sb.app_secret()) {
        return Ok(Token {
            token: value.to_string(),
            kind: "app".into(),
            subject_id: Some(sb.app_id().to_string()),
            asset_ids: vec![],
            scopes: vec![],
            expires_at: None,
            revoked: false,
            created_at: 0,
            app_id: None,
        });
    }
    // A customer app's access token: its id and secret.
    if let Some((app_id, secret)) = value.split_once('|')
        && let Some(app) = db::app_by_id(&sb.db, app_id).await?
    {
        if !app::crypto::constant_time_eq(app.app_secret.as_bytes(), secret.as_bytes()) {
            return Err(GErr::new(190, "Invalid OAuth access token signature."));
        }
        return Ok(Token {
            token: value.to_string(),
            kind: "app".into(),
            subject_id: Some(app.app_id.clone()),
            asset_ids: vec![],
            scopes: vec![],
            expires_at: None,
            revoked: false,
            created_at: 0,
            app_id: Some(app.app_id),
        });
    }
    let Some(t) = db::token_by_value(&sb.db, value).await? else {
        return Err(GErr::new(
            190,
            "Invalid OAuth access token - Cannot parse access token",
        ));
    };
    if t.revoked {
        return Err(GErr::sub(
            190,
            460,
            "Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.",
        ));
    }
    if let Some(exp) = t.expires_at
        && exp <= sb.now()
    {
        return Err(GErr::sub(
            190,
            463,
            format!(
                "Error validating access token: Session has expired on {}.",
                app::clock::rfc3339(exp)
            ),
        ));
    }
    Ok(t)
}

/// True when the token was granted `asset` or the asset's parent (a number
/// under a granted WABA, an Instagram account under a granted Page).
pub fn grants(t: &Token, asset: &Asset) -> bool {
    t.asset_ids
        .iter()
        .any(|g| *g == asset.id || Some(g) == asset.parent_id.as_ref())
}

pub fn has_scope(t: &Token, scope: &str) -> bool {
    t.scopes.iter().any(|s| s == scope)
}

/// Looks `id` up and checks the token may see it; 100/33 otherwise.
pub async fn visible_asset(
    sb: &Sandbox,
    req: &Req,
    t: &Token,
    id: &str,
    kinds: &[&str],
) -> Result<Asset, GErr> {
    match db::asset_by_id(&sb.db, id).await? {
        Some(a) if kinds.contains(&a.kind.as_str()) && grants(t, &a) => Ok(a),
        _ => Err(GErr::no_object(id, &req.method)),
    }
}

pub fn missing_permission(scope: &str) -> GErr {
    GErr::new(
        200,
        format!("(#200) Requires {scope} permission to manage the object"),
    )
}

/// Meta's list envelope with cursor paging over an in-memory list.
pub fn paginate(sb: &Sandbox, req: &Req, items: Vec<Value>) -> Value {
    let limit = req
        .str("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(25)
        .clamp(1, 100);
    let decode = |c: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(c)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse::<usize>().ok())
    };
    let encode = |n: usize| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(n.to_string());
    let start = req
        .str("after")
        .and_then(|a| decode(&a))
        .map(|n| n + 1)
        .unwrap_or(0);
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(start).take(limit).collect();
    let mut out = json!({"data": page});
    if page_is_empty(&out) {
        return out;
    }
    let end = start + out["data"].as_array().map(Vec::len).unwrap_or(0) - 1;
    out["paging"] = json!({"cursors": {"before": encode(start), "after": encode(end)}});
    if end + 1 < total {
        let mut query: HashMap<&str, String> = HashMap::new();
        query.insert("limit", limit.to_string());
        query.insert("after", encode(end));
        if let Some(f) = req.str("fields") {
            query.insert("fields", f);
        }
        let qs = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query.iter())
            .finish();
        out["paging"]["next"] = json!(format!(
            "{}/{}/{}?{qs}",
            sb.config.meta_graph_url, sb.config.meta_api_version, req.path
        ));
    }
    out
}

fn page_is_empty(v: &Value) -> bool {
    v["data"].as_array().is_none_or(Vec::is_empty)
}

/// Random base64 for message ids (wamids, Instagram mids).
pub fn random_b64(bytes: usize) -> String {
    let raw: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    base64::engine::general_purpose::STANDARD.encode(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_fields() {
        assert!(
            is_version("v26.0") && is_version("v21.0") && !is_version("me") && !is_version("v")
        );
        let req = Req {
            method: Method::GET,
            segs: vec![],
            path: String::new(),
            params: serde_json::from_value(
                json!({"fields": "id,name,instagram_business_account{id,username}"}),
            )
            .unwrap(),
            token: None,
        };
        assert_eq!(
            req.fields(),
            vec!["id", "name", "instagram_business_account"]
        );
    }
}
