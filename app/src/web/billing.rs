//! Billing's HTTP pages outside the Portal: the sandbox provider's checkout and
//! customer portal (plain HTML forms, no JavaScript needed) and Stripe's
//! webhook endpoint.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::config::BillingProviderKind;
use crate::domain::billing::Tier;
use crate::error::AppError;
use crate::hosted::esc;
use crate::services::billing::{self, format_amount, sandbox, sandbox_price_cents};
use crate::state::AppState;
use crate::store;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/billing/sandbox/checkout/{session}",
            get(checkout_page).post(checkout_post),
        )
        .route(
            "/billing/sandbox/portal/{session}",
            get(portal_page).post(portal_post),
        )
        .route("/webhooks/stripe", post(stripe_webhook))
}

// ---- Stripe ---------------------------------------------------------------

async fn stripe_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let sig = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    match billing::stripe::receive(&state, sig, &body).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => {
            if e.status().is_server_error() {
                tracing::error!(error = %e, "Stripe webhook failed; Stripe will retry");
            } else {
                tracing::warn!(code = e.code(), detail = %e.public_detail(), "Stripe webhook refused");
            }
            e.into_response()
        }
    }
}

// ---- sandbox pages --------------------------------------------------------

fn frame(title: &str, inner: &str, status: StatusCode) -> Response {
    let html = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin"><link rel="icon" href="data:,"><title>{title} · Switchboard sandbox billing</title><style>
*{{box-sizing:border-box}}
body{{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f6f7f9;margin:0;color:#111827}}
main{{max-width:520px;margin:40px auto;background:#fff;border:1px solid #e5e7eb;border-radius:12px;padding:24px}}
@media (max-width:560px){{main{{margin:0;border-radius:0;border-left:0;border-right:0;min-height:100vh}}}}
h1{{font-size:22px;margin:8px 0 4px}} h2{{font-size:16px;margin:0 0 6px}} p{{line-height:1.5;margin:8px 0}}
.muted{{color:#6b7280;font-size:14px}}
.tag{{display:inline-block;background:#fef3c7;color:#92400e;border-radius:999px;padding:2px 10px;font-size:12px;font-weight:600}}
fieldset{{border:0;padding:0;margin:16px 0}} legend{{font-weight:600;margin-bottom:6px}}
.option{{display:flex;gap:10px;align-items:flex-start;padding:12px;border:1px solid #e5e7eb;border-radius:8px;margin:8px 0;cursor:pointer}}
.option:has(input:checked){{border-color:#2563eb;background:#eff6ff}}
.field{{margin:12px 0}} .field label{{display:block;font-weight:600;margin-bottom:4px}}
input[type=number]{{width:120px;padding:8px 10px;border:1px solid #d1d5db;border-radius:6px;font-size:15px}}
.actions{{display:flex;gap:8px;justify-content:flex-end;flex-wrap:wrap;margin-top:18px}}
button{{border:0;border-radius:6px;padding:9px 18px;font-size:15px;font-weight:600;cursor:pointer}}
button:focus-visible,input:focus-visible,a:focus-visible{{outline:3px solid #2563eb;outline-offset:2px}}
.primary{{background:#2563eb;color:#fff}} .secondary{{background:#e5e7eb;color:#111827}} .danger{{background:#fee2e2;color:#991b1b}}
.alert{{border-radius:8px;padding:10px 12px;font-size:14px;margin:12px 0}}
.alert.error{{background:#fef2f2;border:1px solid #fecaca;color:#991b1b}} .alert.ok{{background:#ecfdf5;border:1px solid #a7f3d0;color:#065f46}}
.sub{{border:1px solid #e5e7eb;border-radius:8px;padding:14px;margin:12px 0}}
.row{{display:flex;gap:8px;align-items:flex-end;flex-wrap:wrap}}
a{{color:#2563eb}}
</style></head><body><main><span class="tag">Sandbox billing · nothing is charged</span>{inner}</main></body></html>"#,
        title = esc(title)
    );
    let mut res = (status, Html(html)).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    res
}

fn dead_end(e: &AppError) -> Response {
    let status = e.status();
    frame(
        "Billing",
        &format!(
            "<h1>This page cannot continue</h1><p>{}</p><p><a href=\"/billing\">Back to Billing</a></p>",
            esc(&e.public_detail())
        ),
        status,
    )
}

fn not_sandbox() -> Response {
    dead_end(&AppError::not_found(
        "the sandbox billing provider is switched off on this installation; the page",
    ))
}

fn form_fields(body: &[u8]) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

async fn checkout_view(
    state: &AppState,
    session: &store::billing::Session,
    tier: Tier,
    quantity: &str,
    alert: Option<&str>,
    status: StatusCode,
) -> Response {
    let account = store::accounts::account(&state.db, &session.account_id)
        .await
        .ok()
        .flatten()
        .map(|a| a.name)
        .unwrap_or_default();
    let options: String = Tier::ALL
        .iter()
        .map(|t| {
            format!(
                "<label class=\"option\"><input type=\"radio\" name=\"tier\" value=\"{v}\"{checked}> <span><strong>{label}</strong> · {price} per license / 30 days<br><span class=\"muted\">{features}</span></span></label>",
                v = t.as_str(),
                checked = if *t == tier { " checked" } else { "" },
                label = t.label(),
                price = format_amount(sandbox_price_cents(*t), "usd"),
                features = esc(&capitalized(t.features())),
            )
        })
        .collect();
    let alert = alert
        .map(|a| {
            format!(
                "<div class=\"alert error\" role=\"alert\" id=\"checkout-error\">{}</div>",
                esc(a)
            )
        })
        .unwrap_or_default();
    let inner = format!(
        "<h1>Subscribe to Switchboard</h1><p class=\"muted\">For the account <strong>{account}</strong>. This is the sandbox: <em>Pay</em> succeeds and <em>Decline</em> fails, without any card.</p>{alert}\
         <form method=\"post\"><fieldset><legend>Tier</legend>{options}</fieldset>\
         <div class=\"field\"><label for=\"quantity\">Licenses</label><input id=\"quantity\" type=\"number\" name=\"quantity\" min=\"1\" max=\"1000\" required value=\"{q}\">\
         <p class=\"muted\">Each license holds one WhatsApp number, one Instagram account and one Facebook Page.</p></div>\
         <div class=\"actions\"><button type=\"submit\" name=\"action\" value=\"decline\" class=\"secondary\" id=\"decline\">Decline</button>\
         <button type=\"submit\" name=\"action\" value=\"pay\" class=\"primary\" id=\"pay\">Pay</button></div></form>\
         <p class=\"muted\"><a href=\"/billing?checkout=canceled\">Cancel and go back to Billing</a></p>",
        account = esc(&account),
        q = esc(quantity),
    );
    frame("Checkout", &inner, status)
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

async fn checkout_page(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    if state.config.billing_provider != BillingProviderKind::Sandbox {
        return not_sandbox();
    }
    match sandbox::open_session(&state, &id, "checkout").await {
        Ok(s) => {
            let tier = s.tier.as_deref().and_then(Tier::parse).unwrap_or(Tier::Pro);
            let q = s.quantity.unwrap_or(1).to_string();
            checkout_view(&state, &s, tier, &q, None, StatusCode::OK).await
        }
        Err(e) => dead_end(&e),
    }
}

async fn checkout_post(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if state.config.billing_provider != BillingProviderKind::Sandbox {
        return not_sandbox();
    }
    let f = form_fields(&body);
    let session = match sandbox::open_session(&state, &id, "checkout").await {
        Ok(s) => s,
        Err(e) => return dead_end(&e),
    };
    let tier_raw = f.get("tier").cloned().unwrap_or_default();
    let quantity = f.get("quantity").cloned().unwrap_or_default();
    let shown_tier = Tier::parse(&tier_raw)
        .or_else(|| session.tier.as_deref().and_then(Tier::parse))
        .unwrap_or(Tier::Pro);
    match f.get("action").map(String::as_str) {
        Some("decline") => {
            tracing::info!(account = %session.account_id, "sandbox checkout declined");
            checkout_view(
                &state,
                &session,
                shown_tier,
                &quantity,
                Some("Payment declined: the sandbox declined the card, as you asked. No license was created and nothing was charged. Choose Pay to try again."),
                StatusCode::PAYMENT_REQUIRED,
            )
            .await
        }
        Some("pay") => match sandbox::pay(&state, &id, &tier_raw, &quantity).await {
            Ok(_) => Redirect::to("/billing?checkout=success").into_response(),
            Err(e @ AppError::Client { status: 400, .. }) => {
                checkout_view(
                    &state,
                    &session,
                    shown_tier,
                    &quantity,
                    Some(&e.public_detail()),
                    StatusCode::BAD_REQUEST,
                )
                .await
            }
            Err(e) => dead_end(&e),
        },
        _ => {
            checkout_view(
                &state,
                &session,
                shown_tier,
                &quantity,
                Some("Choose Pay or Decline."),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

#[derive(serde::Deserialize)]
struct PortalQuery {
    #[serde(default)]
    done: Option<String>,
}

async fn portal_view(
    state: &AppState,
    session: &store::billing::Session,
    ok: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let subs = match sandbox::portal_subscriptions(state, &session.account_id).await {
        Ok(s) => s,
        Err(e) => return dead_end(&e),
    };
    let mut inner = String::from(
        "<h1>Manage your subscription</h1><p class=\"muted\">Change the number of licenses, or cancel at the end of the period (the licenses stay active until then).</p>",
    );
    if let Some(m) = ok {
        inner.push_str(&format!(
            "<div class=\"alert ok\" role=\"status\" id=\"portal-done\">{}</div>",
            esc(m)
        ));
    }
    if let Some(m) = error {
        inner.push_str(&format!(
            "<div class=\"alert error\" role=\"alert\" id=\"portal-error\">{}</div>",
            esc(m)
        ));
    }
    if subs.is_empty() {
        inner.push_str(
            "<p>The account has no running paid subscription. Subscribe from the Billing page.</p>",
        );
    }
    for l in &subs {
        let tier = Tier::parse(&l.tier).unwrap_or(Tier::Starter);
        let date = &crate::clock::rfc3339(l.expires_at)[..10];
        let renews = if l.auto_renew {
            format!("Renews on {date}.")
        } else {
            format!("Canceled: ends on {date} and does not renew.")
        };
        let toggle = if l.auto_renew {
            "<button type=\"submit\" name=\"action\" value=\"cancel\" class=\"danger\">Cancel at period end</button>"
        } else {
            "<button type=\"submit\" name=\"action\" value=\"resume\" class=\"secondary\">Keep renewing</button>"
        };
        inner.push_str(&format!(
            "<section class=\"sub\" data-license=\"{id}\"><h2>{label} × {q}</h2><p class=\"muted\">{price} per license / 30 days. {renews}</p>\
             <form method=\"post\" class=\"row\"><input type=\"hidden\" name=\"license\" value=\"{id}\">\
             <div class=\"field\"><label for=\"q-{id}\">Licenses</label><input id=\"q-{id}\" type=\"number\" name=\"quantity\" min=\"1\" max=\"1000\" value=\"{q}\"></div>\
             <div class=\"field\"><button type=\"submit\" name=\"action\" value=\"quantity\" class=\"primary\">Update quantity</button></div></form>\
             <form method=\"post\"><input type=\"hidden\" name=\"license\" value=\"{id}\">{toggle}</form></section>",
            id = esc(&l.id),
            label = tier.label(),
            q = l.quantity,
            price = format_amount(sandbox_price_cents(tier), "usd"),
        ));
    }
    inner.push_str("<p><a href=\"/billing\">Back to Billing</a></p>");
    frame("Manage subscription", &inner, status)
}

async fn portal_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<PortalQuery>,
) -> Response {
    if state.config.billing_provider != BillingProviderKind::Sandbox {
        return not_sandbox();
    }
    let session = match sandbox::open_session(&state, &id, "portal").await {
        Ok(s) => s,
        Err(e) => return dead_end(&e),
    };
    let ok = match q.done.as_deref() {
        Some("quantity") => Some("The number of licenses was changed."),
        Some("cancel") => Some("The subscription ends at the end of the period."),
        Some("resume") => Some("The subscription renews again."),
        _ => None,
    };
    portal_view(&state, &session, ok, None, StatusCode::OK).await
}

async fn portal_post(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if state.config.billing_provider != BillingProviderKind::Sandbox {
        return not_sandbox();
    }
    let session = match sandbox::open_session(&state, &id, "portal").await {
        Ok(s) => s,
        Err(e) => return dead_end(&e),
    };
    let f = form_fields(&body);
    let license = f.get("license").cloned().unwrap_or_default();
    let action = f.get("action").cloned().unwrap_or_default();
    let account = session.account_id.clone();
    let result = match action.as_str() {
        "quantity" => {
            let q = f.get("quantity").cloned().unwrap_or_default();
            billing::change_quantity(&state, &account, &license, &q)
                .await
                .map(|_| ())
        }
        "cancel" => billing::set_cancel(&state, &account, &license, true)
            .await
            .map(|_| ()),
        "resume" => billing::set_cancel(&state, &account, &license, false)
            .await
            .map(|_| ()),
        _ => Err(AppError::validation(
            "action: must be quantity, cancel or resume",
        )),
    };
    match result {
        Ok(()) => {
            Redirect::to(&format!("/billing/sandbox/portal/{id}?done={action}")).into_response()
        }
        Err(e @ AppError::Client { .. }) => {
            let status = e.status();
            portal_view(&state, &session, None, Some(&e.public_detail()), status).await
        }
        Err(e) => dead_end(&e),
    }
}
