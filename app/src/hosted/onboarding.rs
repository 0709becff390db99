//! `/signup/{id}`: the hosted page of an onboarding link (SPEC §6), its
//! *Continue* (`POST /signup/{id}/start`) into the same connect flow as the
//! setup pages, the link's QR code, the account's logo, and the Portal's logo
//! upload (a plain multipart form). Every decision is in
//! [`crate::services::onboarding`].

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tower_sessions::Session;

use super::esc;
use crate::domain::ChannelType;
use crate::domain::onboarding::LOGO_MAX_BYTES;
use crate::error::AppError;
use crate::services::onboarding::{self, Hosted, Page};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signup/{id}", get(show))
        .route("/signup/{id}/start", post(start))
        .route("/signup/{id}/qr.svg", get(qr))
        .route("/accounts/{id}/logo", get(logo))
        .route(
            "/onboarding/logo",
            post(upload_logo).layer(DefaultBodyLimit::max(LOGO_MAX_BYTES + 64 * 1024)),
        )
}

/// The account's name and logo path, shown on top of the onboarding pages.
struct Brand<'a> {
    account_name: &'a str,
    logo_path: Option<&'a str>,
}

fn brand_of(h: &Hosted) -> Brand<'_> {
    Brand {
        account_name: &h.account_name,
        logo_path: h.logo_path.as_deref(),
    }
}

/// The page frame of the onboarding pages: the account's brand on top.
fn frame(title: &str, brand: Option<Brand<'_>>, inner: &str, status: StatusCode) -> Response {
    let brand = brand
        .map(|h| {
            let mark = match h.logo_path {
                Some(p) => format!(
                    r#"<img class="logo" src="{}" alt="{} logo" width="48" height="48">"#,
                    esc(p),
                    esc(h.account_name)
                ),
                None => format!(
                    r#"<span class="logo mono" aria-hidden="true">{}</span>"#,
                    esc(&initial(h.account_name))
                ),
            };
            format!(
                r#"<header class="brand">{mark}<span class="account" id="account-name">{}</span></header>"#,
                esc(h.account_name)
            )
        })
        .unwrap_or_default();
    let html = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin"><meta name="robots" content="noindex"><link rel="icon" href="data:,"><title>{title}</title><style>
*{{box-sizing:border-box}}
body{{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f6f7f9;margin:0;color:#111827}}
main{{max-width:520px;margin:48px auto;background:#fff;border:1px solid #e5e7eb;border-radius:12px;padding:28px}}
@media (max-width:560px){{main{{margin:0;border-radius:0;border-left:0;border-right:0;min-height:100vh;padding:20px}}}}
.brand{{display:flex;align-items:center;gap:12px;padding-bottom:16px;margin-bottom:20px;border-bottom:1px solid #f1f5f9}}
.logo{{width:48px;height:48px;border-radius:10px;object-fit:contain;flex:none;background:#fff;border:1px solid #e5e7eb}}
.mono{{display:inline-flex;align-items:center;justify-content:center;background:#eff6ff;color:#1d4ed8;font-weight:700;font-size:20px;border-color:#dbeafe}}
.account{{font-weight:600;font-size:16px;overflow-wrap:anywhere}}
h1{{font-size:22px;line-height:1.3;margin:0 0 8px}} h2{{font-size:15px;margin:20px 0 6px}}
p,li{{line-height:1.55}} .muted{{color:#6b7280;font-size:14px}} .lead{{font-size:16px}}
ul.grants{{padding-left:20px;margin:6px 0}} ul.grants li{{margin:6px 0}}
.link-name{{display:inline-block;background:#f1f5f9;border-radius:6px;padding:1px 8px;font-weight:600;overflow-wrap:anywhere}}
.actions{{display:flex;gap:8px;justify-content:flex-end;flex-wrap:wrap;margin-top:20px}}
button{{border:0;border-radius:8px;padding:11px 20px;font-size:16px;font-weight:600;cursor:pointer}}
@media (max-width:560px){{.actions button{{width:100%}}}}
button:focus-visible,a:focus-visible{{outline:3px solid #2563eb;outline-offset:2px}}
.primary{{background:#2563eb;color:#fff}} .primary:hover{{background:#1d4ed8}}
.alert{{border-radius:8px;padding:10px 12px;font-size:14px;margin:12px 0;overflow-wrap:anywhere}}
.alert.error{{background:#fef2f2;border:1px solid #fecaca;color:#991b1b}} .alert.ok{{background:#ecfdf5;border:1px solid #a7f3d0;color:#065f46}}
footer{{margin-top:24px;color:#9ca3af;font-size:12px;text-align:center}}
</style></head><body><main>{brand}{inner}<footer>Secured by Switchboard</footer></main></body></html>"#,
        title = esc(title)
    );
    let mut res = (status, Html(html)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn initial(name: &str) -> String {
    name.chars()
        .find(|c| c.is_alphanumeric())
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_else(|| "?".into())
}

/// What the end user is asked to share, in their words.
fn asset(t: ChannelType) -> &'static str {
    match t {
        ChannelType::Whatsapp => "WhatsApp Business phone number",
        ChannelType::Instagram => "Instagram professional account",
        ChannelType::Facebook => "Facebook Page",
    }
}

fn channel_type(h: &Hosted) -> ChannelType {
    ChannelType::parse(&h.link.channel_type).unwrap_or(ChannelType::Whatsapp)
}

fn continue_form(id: &str, label: &str) -> String {
    format!(
        r#"<form method="post" action="/signup/{}/start"><div class="actions"><button class="primary" id="continue" type="submit">{}</button></div></form>"#,
        esc(id),
        esc(label)
    )
}

fn render_page(p: Page) -> Response {
    match p {
        Page::Missing => frame(
            "Link not valid",
            None,
            "<h1>This link is not valid</h1><p>Check that you opened the whole link, or ask the business that sent it for a new one.</p>",
            StatusCode::NOT_FOUND,
        ),
        Page::Expired(h) => frame(
            "Link expired",
            Some(brand_of(&h)),
            &format!(
                "<h1 id=\"link-state\">This link has expired</h1><p>The link <span class=\"link-name\">{}</span> can no longer be used. Ask {} for a new one.</p>",
                esc(&h.link.name),
                esc(&h.account_name)
            ),
            StatusCode::GONE,
        ),
        Page::Completed(h) => {
            let what = h
                .link
                .phone_number
                .as_deref()
                .map(|n| format!("The number +{n}"))
                .unwrap_or_else(|| format!("Your {}", asset(channel_type(&h))));
            frame(
                "Already completed",
                Some(brand_of(&h)),
                &format!(
                    "<h1 id=\"link-state\">Connected: this link is already completed</h1><div class=\"alert ok\">{} is connected to {}.</div><p class=\"muted\">The link <span class=\"link-name\">{}</span> cannot be used again. You can close this window.</p>",
                    esc(&what),
                    esc(&h.account_name),
                    esc(&h.link.name)
                ),
                StatusCode::OK,
            )
        }
        Page::Busy(h) => frame(
            "Connecting",
            Some(brand_of(&h)),
            "<h1 id=\"link-state\">This link is being completed</h1><p>Someone is connecting with this link in another window right now. Refresh this page in a moment to see the result.</p>",
            StatusCode::CONFLICT,
        ),
        Page::Unavailable(h) => frame(
            "Link not available",
            Some(brand_of(&h)),
            &format!(
                "<h1 id=\"link-state\">This link is not available right now</h1><p>Please contact {} about it.</p>",
                esc(&h.account_name)
            ),
            StatusCode::PAYMENT_REQUIRED,
        ),
        Page::Open(h) => {
            let t = channel_type(&h);
            let a = asset(t);
            let who = esc(&h.account_name);
            let extra = match t {
                ChannelType::Instagram => {
                    " Meta asks for the Facebook Page your Instagram account is linked to; only that account is connected."
                }
                _ => "",
            };
            let inner = format!(
                r#"<h1>Connect your {a}</h1>
<p class="lead">{who} asks you to connect your {a} for <span class="link-name" id="link-name">{name}</span>.</p>
<h2>What you grant</h2>
<ul class="grants">
<li>You log in with Facebook and choose which {a} to share with {who}; nothing else in your Meta account is shared.{extra}</li>
<li>Messages people send to it will be relayed to {who}, and {who} can reply from it.</li>
<li>You can remove the access at any time in your Meta Business settings.</li>
</ul>
{form}
<p class="muted">This link can be used once and works until {until}.</p>"#,
                name = esc(&h.link.name),
                form = continue_form(&h.link.id, "Continue with Facebook"),
                until = esc(&crate::clock::rfc3339(h.link.expires_at)[..10]),
            );
            frame(
                &format!("Connect to {}", h.account_name),
                Some(brand_of(&h)),
                &inner,
                StatusCode::OK,
            )
        }
    }
}

/// The end of a link's flow without a `redirect_url` when it failed (the
/// setup pages' renderer hands it over): the reason and *Try again*.
pub fn failed_page(
    link_id: &str,
    message: &str,
    account_name: &str,
    logo_path: Option<&str>,
) -> Response {
    frame(
        "Not connected",
        (!account_name.is_empty()).then_some(Brand {
            account_name,
            logo_path,
        }),
        &format!(
            "<h1 id=\"link-state\">Connecting did not work</h1><div class=\"alert error\" id=\"link-error\">{}</div><p>Nothing was connected. You can try again.</p>{}",
            esc(message),
            continue_form(link_id, "Try again")
        ),
        StatusCode::OK,
    )
}

fn internal(e: &AppError) -> Response {
    tracing::error!(error = %e, "onboarding page failed");
    frame(
        "Something went wrong",
        None,
        "<h1>Something went wrong</h1><p>Please try again in a moment.</p>",
        e.status(),
    )
}

async fn show(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match onboarding::page(&state, &id).await {
        Ok(p) => render_page(p),
        Err(e) => internal(&e),
    }
}

async fn start(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match onboarding::begin(&state, &id).await {
        Ok(Ok(step)) => super::setup::render(&state, Ok(step)),
        Ok(Err(p)) => render_page(p),
        Err(e) => internal(&e),
    }
}

async fn qr(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match onboarding::qr_for(&state, &id).await {
        Ok(Some(svg)) => (
            [
                (header::CONTENT_TYPE, "image/svg+xml"),
                (header::CACHE_CONTROL, "private, max-age=3600"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            svg,
        )
            .into_response(),
        Ok(None) => AppError::not_found("onboarding link").into_response(),
        Err(e) => e.into_response(),
    }
}

async fn logo(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match onboarding::logo(&state, &id).await {
        Ok(Some((mime, bytes, sha))) => {
            let mut res = bytes.into_response();
            let h = res.headers_mut();
            // A tenant's upload, served like every user-supplied body.
            crate::web::media::inert_headers(h, &mime, None);
            if let Ok(v) = HeaderValue::from_str(&format!("\"{sha}\"")) {
                h.insert(header::ETAG, v);
            }
            // The URL carries the logo's version, so a new logo is a new URL.
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            );
            res
        }
        Ok(None) => AppError::not_found("logo").into_response(),
        Err(e) => e.into_response(),
    }
}

/// The Portal's logo form (`multipart/form-data`, field `logo`): works without
/// JavaScript and answers with a redirect back to the Onboarding Links page,
/// `?logo=saved` or `?logo=<error code>`.
async fn upload_logo(
    State(state): State<AppState>,
    session: Session,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let back = |outcome: &str| {
        Redirect::to(&format!("/onboarding?logo={outcome}#branding")).into_response()
    };
    let me = match crate::web::session::me_from(&state, &session).await {
        Ok(Some(me)) => me,
        Ok(None) => return Redirect::to("/login").into_response(),
        Err(e) => return internal(&e),
    };
    let Ok(mut multipart) = multipart else {
        return back("invalid");
    };
    let mut file: Option<(Option<String>, Vec<u8>)> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("logo") => {
                let declared = field.content_type().map(str::to_string);
                match field.bytes().await {
                    Ok(b) => file = Some((declared, b.to_vec())),
                    Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                        return back("too_large");
                    }
                    Err(_) => return back("invalid"),
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return back("too_large"),
            Err(_) => return back("invalid"),
        }
    }
    let Some((declared, bytes)) = file else {
        return back("empty");
    };
    match onboarding::set_logo(&state, &me, declared.as_deref(), &bytes).await {
        Ok(()) => back("saved"),
        Err(e) => back(match e.code() {
            "forbidden_role" => "forbidden",
            "payload_too_large" => "too_large",
            "unsupported_media_type" => "bad_type",
            "validation_error" => "empty",
            _ => "failed",
        }),
    }
}
