//! Graph nodes and edges other than messages and templates: `me/accounts`,
//! single objects (Page, WABA, number, Instagram account, template, media,
//! end-user profiles), phone numbers, registration, `subscribed_apps`, media.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::super::Sandbox;
use super::super::db::{self, Asset, Token};
use super::{
    GErr, GResult, Req, auth, grants, has_scope, missing_permission, paginate, visible_asset,
};

/// Media download URLs stay valid for 5 minutes, like Meta's.
const MEDIA_URL_TTL_MS: i64 = 5 * 60_000;
/// Messenger/Instagram attachment links (CDN) work for an hour.
pub const CDN_URL_TTL_MS: i64 = 60 * 60_000;

fn link_hash(sb: &Sandbox, id: &str, exp: i64) -> String {
    app::crypto::sha256_hex(&format!("{id}:{exp}:{}", sb.app_secret()))[..16].to_string()
}

/// An attachment's CDN link: no token needed, expires like Meta's.
pub fn cdn_url(sb: &Sandbox, media_id: &str) -> String {
    let exp = sb.now() + CDN_URL_TTL_MS;
    format!(
        "{}/sandbox/cdn/{media_id}?ext={exp}&hash={}",
        sb.config.base(),
        link_hash(sb, media_id, exp)
    )
}

pub async fn me(sb: &Sandbox, req: &Req) -> GResult {
    let t = auth(sb, req).await?;
    match t.kind.as_str() {
        "page" => {
            let id = t.subject_id.clone().unwrap_or_default();
            let name = db::asset_by_id(&sb.db, &id)
                .await?
                .map(|a| a.name)
                .unwrap_or_default();
            Ok(json!({"id": id, "name": name}))
        }
        "app" => Ok(json!({"id": sb.app_id(), "name": "Switchboard Sandbox App"})),
        _ => Ok(json!({"id": "3100000000000001", "name": "Sandbox Admin"})),
    }
}

/// Pages granted to a user token, each with a Page token. Page tokens derived
/// from long-lived or business tokens never expire; from short-lived ones they
/// expire with their parent (Meta's rule).
pub async fn me_accounts(sb: &Sandbox, req: &Req) -> GResult {
    let t = auth(sb, req).await?;
    if t.kind == "page" || t.kind == "app" {
        return Err(GErr::new(
            100,
            "(#100) Tried accessing nonexisting field (accounts) on node type (Page)",
        ));
    }
    if !has_scope(&t, "pages_show_list") {
        return Ok(paginate(sb, req, vec![]));
    }
    let mut items = Vec::new();
    for page in db::assets_of_kind(&sb.db, "page").await? {
        if !t.asset_ids.contains(&page.id) {
            continue;
        }
        let ig = db::children(&sb.db, &page.id, "instagram").await?;
        let mut granted = vec![page.id.clone()];
        granted.extend(
            ig.iter()
                .filter(|i| t.asset_ids.contains(&i.id))
                .map(|i| i.id.clone()),
        );
        let ttl = match t.kind.as_str() {
            "user_short" => t.expires_at.map(|e| (e - sb.now()).max(1)),
            _ => None,
        };
        let page_token = super::oauth::issue(
            sb,
            "page",
            Some(page.id.clone()),
            granted,
            t.scopes.clone(),
            ttl,
        )
        .await?;
        let mut item = json!({
            "id": page.id,
            "name": page.name,
            "access_token": page_token.token,
            "category": page.str("category"),
            "tasks": ["ANALYZE", "ADVERTISE", "MESSAGING", "MODERATE", "CREATE_CONTENT", "MANAGE"],
        });
        if let Some(i) = ig.first() {
            item["instagram_business_account"] = json!({"id": i.id, "username": i.str("username")});
        }
        items.push(item);
    }
    Ok(paginate(sb, req, items))
}

fn phone_json(p: &Asset) -> Value {
    let registered = p
        .data
        .get("registered")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    json!({
        "id": p.id,
        "display_phone_number": p.str("display_phone_number"),
        "verified_name": p.str("verified_name"),
        "quality_rating": p.str("quality_rating"),
        "code_verification_status": p.str("code_verification_status"),
        "name_status": p.str("name_status"),
        "status": if registered { "CONNECTED" } else { "PENDING" },
        "platform_type": if registered { "CLOUD_API" } else { "NOT_APPLICABLE" },
        "throughput": {"level": if registered { "STANDARD" } else { "NOT_APPLICABLE" }},
        "messaging_limit_tier": p.str("messaging_limit_tier"),
        "is_official_business_account": false,
        "is_pin_enabled": p.data.get("pin").is_some_and(|v| !v.is_null()),
        // Coexistence: the number is also used in the WhatsApp Business app.
        "is_on_biz_app": p.data.get("on_biz_app").and_then(Value::as_bool).unwrap_or(false),
        "account_mode": "LIVE",
    })
}

/// Keeps only the requested `fields` (plus `id`), as Meta does.
fn select(req: &Req, v: Value) -> Value {
    let fields = req.fields();
    if fields.is_empty() {
        return v;
    }
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| k == "id" || fields.iter().any(|f| f == k))
                .collect(),
        ),
        other => other,
    }
}

pub async fn phone_numbers(sb: &Sandbox, req: &Req, waba_id: &str) -> GResult {
    let t = auth(sb, req).await?;
    let waba = visible_asset(sb, req, &t, waba_id, &["waba"]).await?;
    if !has_scope(&t, "whatsapp_business_management") {
        return Err(missing_permission("whatsapp_business_management"));
    }
    let items = db::children(&sb.db, &waba.id, "phone")
        .await?
        .iter()
        .map(|p| select(req, phone_json(p)))
        .collect();
    Ok(paginate(sb, req, items))
}

/// `POST {phone}/register {"messaging_product":"whatsapp","pin":"123456"}`.
pub async fn register(sb: &Sandbox, req: &Req, phone_id: &str) -> GResult {
    let t = auth(sb, req).await?;
    let phone = visible_asset(sb, req, &t, phone_id, &["phone"]).await?;
    if !has_scope(&t, "whatsapp_business_management") {
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
    let pin = req.str("pin").unwrap_or_default();
    if pin.len() != 6 || !pin.chars().all(|c| c.is_ascii_digit()) {
        return Err(
            GErr::new(100, "(#100) Param pin must be 6 characters long.")
                .details("The two-step verification PIN must be exactly 6 digits."),
        );
    }
    let mut data = phone.data.clone();
    if let Some(existing) = data.get("pin").and_then(Value::as_str)
        && existing != pin
    {
        return Err(
            GErr::new(133005, "(#133005) Two step verification PIN Mismatch").details(
                "The PIN does not match the two-step verification PIN set for this number.",
            ),
        );
    }
    data["pin"] = json!(pin);
    data["registered"] = json!(true);
    db::update_asset_data(&sb.db, &phone.id, &data).await?;
    Ok(json!({"success": true}))
}

/// `GET|POST|DELETE {waba|page|ig}/subscribed_apps`: installs our app so the
/// sandbox sends this asset's webhooks.
pub async fn subscribed_apps(sb: &Sandbox, req: &Req, asset_id: &str) -> GResult {
    let t = auth(sb, req).await?;
    let asset = visible_asset(sb, req, &t, asset_id, &["waba", "page", "instagram"]).await?;
    let needed = match asset.kind.as_str() {
        "waba" => "whatsapp_business_management",
        _ => "pages_manage_metadata",
    };
    if !has_scope(&t, needed) {
        return Err(missing_permission(needed));
    }
    match req.method {
        Method::GET => {
            let subs = db::subscriptions_of(&sb.db, &asset.id).await?;
            let data: Vec<Value> = subs
                .iter()
                .map(|s| {
                    if asset.kind == "waba" {
                        let mut v = json!({"whatsapp_business_api_data": {
                            "id": s.app_id, "name": "Switchboard Sandbox App",
                            "link": format!("https://www.facebook.com/games/?app_id={}", s.app_id)}});
                        if let Some(u) = &s.override_callback_uri {
                            v["override_callback_uri"] = json!(u);
                        }
                        v
                    } else {
                        json!({"id": s.app_id, "name": "Switchboard Sandbox App", "link": sb.config.base(),
                               "category": "Business", "subscribed_fields": s.fields})
                    }
                })
                .collect();
            Ok(json!({"data": data}))
        }
        Method::POST => {
            // Pages and Instagram accounts need the fields; WABAs take none.
            let fields: Vec<String> = req
                .str("subscribed_fields")
                .map(|f| {
                    f.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            if asset.kind != "waba" && fields.is_empty() {
                return Err(GErr::new(
                    100,
                    "(#100) The parameter subscribed_fields is required.",
                ));
            }
            if asset.kind != "waba" && t.kind != "page" {
                return Err(GErr::new(
                    210,
                    "(#210) A page access token is required to request this resource.",
                ));
            }
            let override_uri = req.str("override_callback_uri");
            if override_uri.is_some() && req.str("verify_token").is_none() {
                return Err(GErr::new(
                    100,
                    "(#100) verify_token is required with override_callback_uri",
                ));
            }
            db::upsert_subscription(
                &sb.db,
                &db::Subscription {
                    asset_id: asset.id.clone(),
                    app_id: sb.app_of(&t).to_string(),
                    fields,
                    override_callback_uri: override_uri,
                },
                sb.now(),
            )
            .await?;
            Ok(json!({"success": true}))
        }
        Method::DELETE => {
            db::delete_subscription(&sb.db, &asset.id, sb.app_of(&t)).await?;
            Ok(json!({"success": true}))
        }
        _ => Err(GErr::new(100, "Unsupported method")),
    }
}

/// `GET {id}`: whichever object the id names, as far as the token may see it.
pub async fn get(sb: &Sandbox, req: &Req, id: &str) -> GResult {
    let t = auth(sb, req).await?;
    if let Some(a) = db::asset_by_id(&sb.db, id).await?
        && grants(&t, &a)
    {
        return Ok(select(req, asset_json(sb, &a).await?));
    }
    if let Some(tpl) = db::template_by_id(&sb.db, id).await?
        && let Some(waba) = db::asset_by_id(&sb.db, &tpl.waba_id).await?
        && grants(&t, &waba)
    {
        return Ok(select(req, super::templates::template_json(&tpl)));
    }
    if let Some(m) = db::media_by_id(&sb.db, id).await?
        && let Some(owner) = db::asset_by_id(&sb.db, &m.asset_id).await?
        && grants(&t, &owner)
    {
        let exp = sb.now() + MEDIA_URL_TTL_MS;
        let sig = link_hash(sb, &m.id, exp);
        return Ok(json!({
            "messaging_product": "whatsapp",
            "url": format!("{}/sandbox/media/{}?ext={exp}&hash={sig}", sb.config.base(), m.id),
            "mime_type": m.mime_type,
            "sha256": m.sha256,
            "file_size": m.size,
            "id": m.id,
        }));
    }
    for u in db::users_by_id(&sb.db, id).await? {
        if let Some(owner) = db::asset_by_id(&sb.db, &u.asset_id).await?
            && grants(&t, &owner)
        {
            return Ok(select(req, profile_json(&owner, &u)));
        }
    }
    Err(GErr::no_object(id, &req.method))
}

async fn asset_json(sb: &Sandbox, a: &Asset) -> Result<Value, GErr> {
    Ok(match a.kind.as_str() {
        "phone" => phone_json(a),
        "waba" => json!({"id": a.id, "name": a.name, "currency": a.str("currency"),
            "timezone_id": a.str("timezone_id"),
            "message_template_namespace": format!("sandbox_{}", a.id)}),
        "page" => {
            let mut v = json!({"id": a.id, "name": a.name, "category": a.str("category")});
            if let Some(ig) = db::children(&sb.db, &a.id, "instagram").await?.first() {
                v["instagram_business_account"] =
                    json!({"id": ig.id, "username": ig.str("username"), "name": ig.name});
            }
            v
        }
        "instagram" => json!({"id": a.id, "username": a.str("username"), "name": a.name}),
        _ => json!({"id": a.id, "name": a.name}),
    })
}

/// Profiles exist only for users who wrote to the asset (Meta's rule).
fn profile_json(owner: &Asset, u: &db::User) -> Value {
    let name = u.name.clone().unwrap_or_else(|| "Sandbox User".into());
    let pic = format!("https://sandbox.invalid/profile/{}.jpg", u.user_id);
    if owner.kind == "instagram" {
        let username = name.to_lowercase().replace(' ', ".");
        json!({"id": u.user_id, "name": name, "username": username, "profile_pic": pic,
               "follower_count": 42, "is_user_follow_business": true,
               "is_business_follow_user": false, "is_verified_user": false})
    } else {
        let (first, last) = name.split_once(' ').unwrap_or((name.as_str(), ""));
        json!({"id": u.user_id, "first_name": first, "last_name": last, "profile_pic": pic})
    }
}

/// `POST {template_id}` edits a template; `POST {phone}` sets the PIN.
pub async fn post(sb: &Sandbox, req: &Req, id: &str) -> GResult {
    let t = auth(sb, req).await?;
    if db::template_by_id(&sb.db, id).await?.is_some() {
        return super::templates::edit(sb, req, &t, id).await;
    }
    let phone = visible_asset(sb, req, &t, id, &["phone"]).await?;
    let Some(pin) = req.str("pin") else {
        return Err(GErr::new(100, "(#100) Nothing to update"));
    };
    if pin.len() != 6 || !pin.chars().all(|c| c.is_ascii_digit()) {
        return Err(GErr::new(
            100,
            "(#100) Param pin must be 6 characters long.",
        ));
    }
    let mut data = phone.data.clone();
    data["pin"] = json!(pin);
    db::update_asset_data(&sb.db, &phone.id, &data).await?;
    Ok(json!({"success": true}))
}

/// `DELETE {media_id}`.
pub async fn delete(sb: &Sandbox, req: &Req, id: &str) -> GResult {
    let t: Token = auth(sb, req).await?;
    if let Some(m) = db::media_by_id(&sb.db, id).await?
        && let Some(owner) = db::asset_by_id(&sb.db, &m.asset_id).await?
        && grants(&t, &owner)
    {
        sqlx::query("DELETE FROM sandbox_media WHERE id = $1")
            .bind(id)
            .execute(&sb.db.pool)
            .await?;
        return Ok(json!({"success": true}));
    }
    Err(GErr::no_object(id, &req.method))
}

/// `GET /sandbox/media/{id}?ext&hash` with the same bearer token, like Meta's CDN.
pub async fn download_media(
    State(sb): State<Sandbox>,
    Path(media_id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let req = Req {
        method: Method::GET,
        segs: vec![],
        path: String::new(),
        params: Default::default(),
        token,
    };
    let result: Result<Response, GErr> = async {
        // `graph_error` faults whose path matches `media/{id}` break downloads too.
        super::apply_faults(&sb, &format!("media/{media_id}"), false).await?;
        let t = auth(&sb, &req).await?;
        let exp: i64 = q.get("ext").and_then(|e| e.parse().ok()).unwrap_or(0);
        let want = link_hash(&sb, &media_id, exp);
        if exp < sb.now() || q.get("hash") != Some(&want) {
            return Err(GErr::new(100, "URL signature expired").status(404));
        }
        let Some(m) = db::media_by_id(&sb.db, &media_id).await? else {
            return Err(GErr::no_object(&media_id, &Method::GET).status(404));
        };
        match db::asset_by_id(&sb.db, &m.asset_id).await? {
            Some(owner) if grants(&t, &owner) => {}
            _ => return Err(GErr::no_object(&media_id, &Method::GET).status(404)),
        }
        Ok(crate::sandbox::files::serve(&m.mime_type, m.content))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /sandbox/cdn/{id}?ext&hash`: a Messenger/Instagram attachment, no
/// token, 404 once the link expired. Faults on `cdn/{id}` apply.
pub async fn cdn_media(
    State(sb): State<Sandbox>,
    Path(media_id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let result: Result<Response, GErr> = async {
        super::apply_faults(&sb, &format!("cdn/{media_id}"), false).await?;
        let exp: i64 = q.get("ext").and_then(|e| e.parse().ok()).unwrap_or(0);
        if exp < sb.now() || q.get("hash") != Some(&link_hash(&sb, &media_id, exp)) {
            return Err(GErr::new(100, "URL signature expired").status(403));
        }
        let Some(m) = db::media_by_id(&sb.db, &media_id).await? else {
            return Err(GErr::no_object(&media_id, &Method::GET).status(404));
        };
        Ok(crate::sandbox::files::serve(&m.mime_type, m.content))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// WhatsApp's limits on uploads (reference §6.3), by MIME type.
fn upload_limit(mime: &str) -> Option<usize> {
    let base = mime.split(';').next().unwrap_or_default().trim();
    let mb = 1024 * 1024;
    Some(match base {
        "image/jpeg" | "image/png" => 5 * mb,
        "image/webp" => 500 * 1024,
        "video/mp4" | "video/3gpp" => 16 * mb,
        "audio/aac" | "audio/amr" | "audio/mpeg" | "audio/mp4" | "audio/ogg" => 16 * mb,
        b if b.starts_with("application/") || b.starts_with("text/") => 100 * mb,
        _ => return None,
    })
}

/// `POST {phone_number_id}/media` (multipart: `messaging_product`, `type`,
/// `file`) → `{"id"}`; the file is then usable in sends and `GET {id}`.
pub async fn upload(
    sb: &Sandbox,
    req: &Req,
    phone_id: &str,
    headers: &HeaderMap,
    body: axum::body::Bytes,
) -> GResult {
    use axum::extract::FromRequest;
    let t = auth(sb, req).await?;
    let phone = visible_asset(sb, req, &t, phone_id, &["phone"]).await?;
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or(axum::http::HeaderValue::from_static("text/plain"));
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .header(header::CONTENT_TYPE, ctype)
        .body(axum::body::Body::from(body))
        .map_err(|e| GErr::new(100, format!("(#100) {e}")))?;
    let mut form = axum::extract::Multipart::from_request(request, &())
        .await
        .map_err(|_| GErr::new(100, "(#100) The upload must be multipart/form-data"))?;
    let (mut product, mut kind, mut file) = (None, None, None);
    while let Ok(Some(field)) = form.next_field().await {
        match field.name().unwrap_or_default().to_string().as_str() {
            "messaging_product" => product = field.text().await.ok(),
            "type" => kind = field.text().await.ok(),
            "file" => {
                let part_type = field.content_type().map(str::to_string);
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|_| GErr::new(100, "(#100) The file could not be read"))?;
                file = Some((bytes, part_type));
            }
            _ => {}
        }
    }
    if product.as_deref() != Some("whatsapp") {
        return Err(GErr::new(
            100,
            "(#100) The parameter messaging_product is required.",
        ));
    }
    let Some((bytes, part_type)) = file else {
        return Err(GErr::new(100, "(#100) The parameter file is required."));
    };
    let mime = kind
        .or(part_type)
        .ok_or_else(|| GErr::new(100, "(#100) The parameter type is required."))?;
    let Some(limit) = upload_limit(&mime) else {
        return Err(GErr::new(131053, "(#131053) Media upload error")
            .details(format!("Unsupported media type {mime}.")));
    };
    if bytes.len() > limit || bytes.is_empty() {
        return Err(
            GErr::new(131053, "(#131053) Media upload error").details(format!(
                "The file is {} bytes; the limit for {mime} is {limit}.",
                bytes.len()
            )),
        );
    }
    let m = db::Media {
        id: super::super::seed::numeric_id(),
        asset_id: phone.id.clone(),
        mime_type: mime,
        sha256: app::services::media::sha256_hex(&bytes),
        size: bytes.len() as i64,
        content: bytes.to_vec(),
    };
    db::insert_media(&sb.db, &m, sb.now()).await?;
    Ok(json!({"id": m.id}))
}
