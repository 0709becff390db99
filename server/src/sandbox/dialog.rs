//! `/sandbox/dialog/oauth`: the consent page of Facebook Login for Business
//! and WhatsApp Embedded Signup, as plain HTML forms (no JavaScript). It
//! redirects like Meta: `code`+`state`, or
//! `error=access_denied&error_reason=user_denied&error_description=…&state=`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::Sandbox;
use super::db::{self, Asset};

/// Dialog codes live 10 minutes (Embedded Signup's are shorter at Meta; the
/// sandbox is lenient so people can step through the flow slowly).
const CODE_TTL_MS: i64 = 10 * 60_000;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Which assets the dialog offers: from the configuration id, else the scopes.
fn login_kind(sb: &Sandbox, p: &HashMap<String, String>) -> &'static str {
    let config_id = p.get("config_id").map(String::as_str);
    let c = &sb.config;
    if config_id.is_some() && config_id == c.meta_config_id_whatsapp.as_deref() {
        return "whatsapp";
    }
    if config_id.is_some() && config_id == c.meta_config_id_instagram.as_deref() {
        return "instagram";
    }
    if config_id.is_some() && config_id == c.meta_config_id_facebook.as_deref() {
        return "facebook";
    }
    match p.get("login_kind").map(String::as_str) {
        Some("whatsapp") => return "whatsapp",
        Some("instagram") => return "instagram",
        Some("facebook") => return "facebook",
        _ => {}
    }
    let scope = p.get("scope").map(String::as_str).unwrap_or_default();
    if scope.contains("whatsapp") {
        "whatsapp"
    } else if scope.contains("instagram") {
        "instagram"
    } else {
        "facebook"
    }
}

fn scopes(kind: &str) -> Vec<String> {
    let list: &[&str] = match kind {
        "whatsapp" => &[
            "whatsapp_business_management",
            "whatsapp_business_messaging",
            "business_management",
            "public_profile",
        ],
        "instagram" => &[
            "instagram_basic",
            "instagram_manage_messages",
            "pages_manage_metadata",
            "pages_show_list",
            "pages_read_engagement",
            "pages_messaging",
            "business_management",
            "public_profile",
        ],
        _ => &[
            "pages_messaging",
            "pages_manage_metadata",
            "pages_show_list",
            "pages_read_engagement",
            "business_management",
            "public_profile",
        ],
    };
    list.iter().map(|s| s.to_string()).collect()
}

/// Embedded Signup's business-app onboarding (`featureType` in `extras`).
fn coexistence(p: &HashMap<String, String>) -> bool {
    p.get("extras")
        .and_then(|e| serde_json::from_str::<serde_json::Value>(e).ok())
        .and_then(|v| v["featureType"].as_str().map(str::to_string))
        .is_some_and(|f| f == "whatsapp_business_app_onboarding")
}

/// Embedded Signup v2 and v3 (and their public previews) were retired in
/// October 2026: v4 takes its version from the Login configuration and
/// `extras` carries neither `sessionInfoVersion` (v2) nor a `version` of
/// v2/v3. Like Meta, the dialog then refuses to start.
fn retired_extras(p: &HashMap<String, String>) -> Option<String> {
    let extras: serde_json::Value = serde_json::from_str(p.get("extras")?).ok()?;
    if let Some(v) = extras.get("sessionInfoVersion") {
        let v = v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string());
        return Some(format!("sessionInfoVersion {v}"));
    }
    let version = extras.get("version")?.as_str()?;
    (version.starts_with("v2") || version.starts_with("v3")).then(|| format!("version {version}"))
}

/// Meta's refusal of a retired Embedded Signup launch.
fn retired_message(what: &str) -> String {
    format!(
        "Embedded Signup could not start: this integration asks for a retired Embedded Signup version ({what} in extras). \
         Versions v2 and v3 were deprecated on October 15, 2026. Launch Embedded Signup v4: select the products in a new \
         Facebook Login for Business configuration and leave extras empty (or only set featureType)."
    )
}

/// Classic Facebook Login (no `config_id`) grants exactly the `scope` list asked for.
fn requested_scopes(p: &HashMap<String, String>) -> Option<Vec<String>> {
    if p.get("config_id").is_some_and(|c| !c.is_empty()) {
        return None;
    }
    let raw = p.get("scope").filter(|s| !s.is_empty())?;
    let mut list: Vec<String> = raw
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if !list.iter().any(|s| s == "public_profile") {
        list.push("public_profile".into());
    }
    Some(list)
}

/// Checks the parts Meta checks before showing anything.
fn validate(sb: &Sandbox, p: &HashMap<String, String>) -> Result<url::Url, String> {
    if p.get("client_id").map(String::as_str) != Some(sb.app_id()) {
        return Err("Invalid App ID: the client_id does not belong to the sandbox app.".into());
    }
    let raw = p.get("redirect_uri").cloned().unwrap_or_default();
    match url::Url::parse(&raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {
            if issued_here(sb, &u) {
                Ok(u)
            } else {
                Err(format!(
                    "URL blocked: this redirect failed because the redirect URI is not one of the app's valid OAuth redirect URIs ({}).",
                    callback(sb)
                ))
            }
        }
        _ => Err("URL blocked: redirect_uri must be an absolute http(s) URL.".into()),
    }
    .and_then(|u| match retired_extras(p) {
        Some(what) => Err(retired_message(&what)),
        None => Ok(u),
    })
}

/// The sandbox app's one valid OAuth redirect URI: this installation's own
/// callback, the only one the product ever sends to the dialog.
fn callback(sb: &Sandbox) -> String {
    app::services::connect::callback_url(&sb.product)
}

/// Like a Meta app's "Valid OAuth Redirect URIs": the dialog hands a code
/// only to a URI this installation issued, so a link to the dialog crafted
/// elsewhere cannot send a signed-in user's consent (and its code) to a
/// foreign site. The query may carry extra parameters, as at Meta.
fn issued_here(sb: &Sandbox, to: &url::Url) -> bool {
    let Ok(issued) = url::Url::parse(&callback(sb)) else {
        return false;
    };
    to.origin() == issued.origin()
        && to.path() == issued.path()
        && to.fragment().is_none()
        && to.username().is_empty()
        && to.password().is_none()
}

fn page(title: &str, inner: &str, status: StatusCode) -> Response {
    let html = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><link rel="icon" href="data:,"><style>
body{{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f0f2f5;margin:0;color:#1c1e21}}
.card{{max-width:460px;margin:48px auto;background:#fff;border-radius:8px;box-shadow:0 2px 8px rgba(0,0,0,.12);padding:24px}}
h1{{font-size:20px;margin:0 0 4px}} .muted{{color:#65676b;font-size:14px}} .badge{{display:inline-block;background:#e7f3ff;color:#1877f2;border-radius:4px;padding:2px 6px;font-size:12px;font-weight:600}}
fieldset{{border:1px solid #dddfe2;border-radius:6px;margin:16px 0;padding:8px 12px}} legend{{font-weight:600;font-size:14px}}
label{{display:flex;gap:8px;align-items:center;padding:6px 0;font-size:15px}} .sub{{color:#65676b;font-size:13px}}
.actions{{display:flex;gap:8px;justify-content:flex-end;margin-top:16px}}
button{{border:0;border-radius:6px;padding:8px 16px;font-size:15px;font-weight:600;cursor:pointer}}
button:focus{{outline:3px solid #1877f2;outline-offset:2px}} .primary{{background:#1877f2;color:#fff}} .secondary{{background:#e4e6eb;color:#050505}}
.error{{background:#ffebe9;color:#b42318;border-radius:6px;padding:8px 12px;font-size:14px}}
.notice{{background:#eef4ff;color:#1d3b8b;border-radius:6px;padding:8px 12px;font-size:14px}}
</style></head><body><main class="card">{inner}</main></body></html>"#
    );
    (status, Html(html)).into_response()
}

async fn offered(
    sb: &Sandbox,
    kind: &str,
) -> Result<Vec<(String, Vec<(Asset, String)>)>, sqlx::Error> {
    let mut groups = Vec::new();
    match kind {
        "whatsapp" => {
            for waba in db::assets_of_kind(&sb.db, "waba").await? {
                let phones = db::children(&sb.db, &waba.id, "phone").await?;
                if phones.is_empty() {
                    // Embedded Signup v4 can finish with no phone number:
                    // the account alone is shared.
                    let sub = format!(
                        "No phone number yet · share the WhatsApp Business Account {} only",
                        waba.id
                    );
                    let name = format!("{} (no phone number)", waba.name);
                    groups.push((
                        format!("WhatsApp Business Account: {}", waba.name),
                        vec![(Asset { name, ..waba }, sub)],
                    ));
                    continue;
                }
                let items = phones
                    .into_iter()
                    .map(|p| {
                        let sub = format!(
                            "{} · WhatsApp Business Account {}",
                            p.str("display_phone_number"),
                            waba.id
                        );
                        (p, sub)
                    })
                    .collect();
                groups.push((format!("WhatsApp Business Account: {}", waba.name), items));
            }
        }
        "instagram" => {
            let mut items = Vec::new();
            for ig in db::assets_of_kind(&sb.db, "instagram").await? {
                let page_name = match &ig.parent_id {
                    Some(p) => db::asset_by_id(&sb.db, p)
                        .await?
                        .map(|a| a.name)
                        .unwrap_or_default(),
                    None => String::new(),
                };
                let sub = format!("@{} · linked to the Page {}", ig.str("username"), page_name);
                items.push((ig, sub));
            }
            groups.push(("Instagram accounts".to_string(), items));
        }
        _ => {
            let items = db::assets_of_kind(&sb.db, "page")
                .await?
                .into_iter()
                .map(|p| {
                    let sub = format!("Page {} · {}", p.id, p.str("category"));
                    (p, sub)
                })
                .collect();
            groups.push(("Facebook Pages".to_string(), items));
        }
    }
    Ok(groups)
}

async fn render(sb: &Sandbox, p: &HashMap<String, String>, error: Option<&str>) -> Response {
    if let Err(e) = validate(sb, p) {
        return page(
            "Error",
            &format!(
                "<h1>Something went wrong</h1><p class=\"error\">{}</p>",
                esc(&e)
            ),
            StatusCode::BAD_REQUEST,
        );
    }
    let kind = login_kind(sb, p);
    let groups = match offered(sb, kind).await {
        Ok(g) => g,
        Err(e) => {
            tracing::error!(error = %e, "sandbox dialog: loading assets failed");
            return page(
                "Error",
                "<h1>Something went wrong</h1>",
                StatusCode::INTERNAL_SERVER_ERROR,
            );
        }
    };
    let (title, intro) = match kind {
        "whatsapp" => (
            "Connect WhatsApp Business",
            "Choose the WhatsApp Business Account and phone number to share. The app will be able to send and receive messages for them.",
        ),
        "instagram" => (
            "Connect Instagram",
            "Choose the Instagram professional accounts to share. The app will be able to manage their messages.",
        ),
        _ => (
            "Connect Facebook Pages",
            "Choose the Pages to share. The app will be able to manage their messages.",
        ),
    };
    let mut body = format!(
        "<p class=\"muted\"><span class=\"badge\">Sandbox</span> Meta for Business</p><h1>{title}</h1>\
         <p class=\"muted\">Sandbox Business · Switchboard Sandbox App</p><p>{intro}</p>"
    );
    if kind == "whatsapp" && coexistence(p) {
        body.push_str(
            "<p class=\"notice\">Numbers already used in the WhatsApp Business app can be shared too. \
             The app keeps working on the phone; messages typed there reach this app as echoes.</p>",
        );
    }
    if let Some(e) = error {
        body.push_str(&format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)));
    }
    body.push_str("<form method=\"post\" action=\"\">");
    for key in [
        "client_id",
        "redirect_uri",
        "state",
        "config_id",
        "response_type",
        "scope",
        "extras",
    ] {
        if let Some(v) = p.get(key) {
            body.push_str(&format!(
                "<input type=\"hidden\" name=\"{key}\" value=\"{}\">",
                esc(v)
            ));
        }
    }
    body.push_str(&format!(
        "<input type=\"hidden\" name=\"login_kind\" value=\"{kind}\">"
    ));
    for (legend, items) in &groups {
        body.push_str(&format!("<fieldset><legend>{}</legend>", esc(legend)));
        if items.is_empty() {
            body.push_str("<p class=\"sub\">Nothing to share yet.</p>");
        }
        for (a, sub) in items {
            body.push_str(&format!(
                "<label><input type=\"checkbox\" name=\"asset\" value=\"{id}\" checked> <span>{name}<br><span class=\"sub\">{sub}</span></span></label>",
                id = esc(&a.id),
                name = esc(&a.name),
                sub = esc(sub)
            ));
        }
        body.push_str("</fieldset>");
    }
    body.push_str(
        "<div class=\"actions\"><button class=\"secondary\" type=\"submit\" name=\"action\" value=\"cancel\">Cancel</button>\
         <button class=\"primary\" type=\"submit\" name=\"action\" value=\"continue\">Continue</button></div></form>",
    );
    page(title, &body, StatusCode::OK)
}

pub async fn show(State(sb): State<Sandbox>, Query(p): Query<HashMap<String, String>>) -> Response {
    render(&sb, &p, None).await
}

/// `redirect_uri` with `pairs` added to whatever query it already has.
fn redirect(mut to: url::Url, pairs: &[(&str, &str)]) -> Response {
    {
        let mut q = to.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
}

pub async fn submit(State(sb): State<Sandbox>, body: Bytes) -> Response {
    let mut p: HashMap<String, String> = HashMap::new();
    let mut chosen: Vec<String> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(&body) {
        if k == "asset" {
            chosen.push(v.into_owned());
        } else {
            p.insert(k.into_owned(), v.into_owned());
        }
    }
    let to = match validate(&sb, &p) {
        Ok(u) => u,
        Err(_) => return render(&sb, &p, None).await,
    };
    let state = p.get("state").cloned().unwrap_or_default();
    if p.get("action").map(String::as_str) != Some("continue") {
        return redirect(
            to,
            &[
                ("error", "access_denied"),
                ("error_code", "200"),
                ("error_description", "Permissions error"),
                ("error_reason", "user_denied"),
                ("state", &state),
            ],
        );
    }
    let kind = login_kind(&sb, &p);
    match grant(&sb, kind, &chosen).await {
        Ok(ids) if ids.is_empty() => {
            render(&sb, &p, Some("Select at least one asset to continue.")).await
        }
        Ok(ids) => {
            let code = db::Code {
                code: format!("AQ{}", app::crypto::random_base62(48)),
                redirect_uri: p.get("redirect_uri").cloned().unwrap_or_default(),
                login_kind: kind.to_string(),
                asset_ids: ids,
                scopes: requested_scopes(&p).unwrap_or_else(|| scopes(kind)),
                expires_at: sb.now() + CODE_TTL_MS,
                used_at: None,
            };
            if let Err(e) = db::insert_code(&sb.db, &code, sb.now()).await {
                tracing::error!(error = %e, "sandbox dialog: storing the code failed");
                return page(
                    "Error",
                    "<h1>Something went wrong</h1>",
                    StatusCode::INTERNAL_SERVER_ERROR,
                );
            }
            redirect(to, &[("code", &code.code), ("state", &state)])
        }
        Err(e) => {
            tracing::error!(error = %e, "sandbox dialog: granting failed");
            page(
                "Error",
                "<h1>Something went wrong</h1>",
                StatusCode::INTERNAL_SERVER_ERROR,
            )
        }
    }
}

/// The asset ids a grant covers: chosen numbers with their WABAs (Embedded
/// Signup), Pages, or Instagram accounts with their linked Pages.
async fn grant(sb: &Sandbox, kind: &str, chosen: &[String]) -> Result<Vec<String>, sqlx::Error> {
    let want = match kind {
        "whatsapp" => "phone",
        "instagram" => "instagram",
        _ => "page",
    };
    let mut ids: Vec<String> = Vec::new();
    for id in chosen {
        let Some(a) = db::asset_by_id(&sb.db, id).await? else {
            continue;
        };
        // A WhatsApp grant may be a WABA alone (shared without a number).
        if a.kind != want && !(kind == "whatsapp" && a.kind == "waba") {
            continue;
        }
        // A number brings its WABA, an Instagram account its Page; a WABA
        // shared alone brings nothing more.
        if a.kind == want
            && let Some(parent) = &a.parent_id
            && !ids.contains(parent)
        {
            ids.push(parent.clone());
        }
        if !ids.contains(&a.id) {
            ids.push(a.id);
        }
    }
    Ok(ids)
}
