//! `/setup/start`, `/setup/callback`, `/setup/pick`: the browser side of
//! [`crate::services::connect`].

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{esc, page};
use crate::error::AppResult;
use crate::services::connect::{self, CallbackParams, SETUP_COOKIE, SETUP_TTL_MS, Step};
use crate::state::AppState;

#[derive(serde::Deserialize)]
pub struct StartParams {
    #[serde(default)]
    session: String,
}

fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == SETUP_COOKIE)
        .map(|(_, v)| v.to_string())
}

pub(crate) fn render(state: &AppState, step: AppResult<Step>) -> Response {
    match step {
        Ok(Step::Redirect { to, set_cookie }) => {
            let mut res = (StatusCode::FOUND, [(header::LOCATION, to)]).into_response();
            if let Some(id) = set_cookie {
                let secure = if state.config.secure_cookies() {
                    "; Secure"
                } else {
                    ""
                };
                let v = format!(
                    "{SETUP_COOKIE}={id}; Path=/setup; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
                    SETUP_TTL_MS / 1000
                );
                if let Ok(v) = header::HeaderValue::from_str(&v) {
                    res.headers_mut().insert(header::SET_COOKIE, v);
                }
            }
            res.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            res
        }
        Ok(Step::Pick {
            session_id,
            channel_type,
            candidates,
        }) => {
            let mut body = format!(
                "<h1>Choose the {} to connect</h1><p class=\"muted\">You shared several. Pick one; you can connect the others later.</p>\
                 <form method=\"post\" action=\"/setup/pick\"><input type=\"hidden\" name=\"session\" value=\"{}\">",
                esc(pick_noun(channel_type)),
                esc(&session_id)
            );
            for (i, c) in candidates.iter().enumerate() {
                body.push_str(&format!(
                    "<label><input type=\"radio\" name=\"asset\" value=\"{}\"{}> <span><strong>{}</strong><br><span class=\"muted\">{}</span></span></label>",
                    esc(&c.asset_id),
                    if i == 0 { " checked" } else { "" },
                    esc(&c.name),
                    esc(&c.detail)
                ));
            }
            body.push_str(
                "<div class=\"actions\"><button class=\"secondary\" type=\"submit\" name=\"action\" value=\"cancel\">Cancel</button>\
                 <button class=\"primary\" type=\"submit\" name=\"action\" value=\"connect\">Connect</button></div></form>",
            );
            page("Choose what to connect", &body, StatusCode::OK)
        }
        Ok(Step::LinkFailed {
            link_id,
            message,
            account_name,
            logo_path,
        }) => {
            super::onboarding::failed_page(&link_id, &message, &account_name, logo_path.as_deref())
        }
        Ok(Step::Dead(message)) => page(
            "Setup link not valid",
            &format!(
                "<h1>This setup cannot continue</h1><p>{}</p><p class=\"muted\">Go back to the app that sent you here and start again.</p>",
                esc(&message)
            ),
            StatusCode::BAD_REQUEST,
        ),
        Err(e) => {
            tracing::error!(error = %e, "setup step failed");
            page(
                "Something went wrong",
                "<h1>Something went wrong</h1><p>Please go back and start again.</p>",
                e.status(),
            )
        }
    }
}

pub async fn start(State(state): State<AppState>, Query(p): Query<StartParams>) -> Response {
    let step = connect::start(&state, &p.session).await;
    render(&state, step)
}

pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<CallbackParams>,
) -> Response {
    let step = connect::callback(&state, &p, cookie(&headers).as_deref()).await;
    render(&state, step)
}

pub async fn pick(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let mut session = String::new();
    let mut asset = None;
    let mut action = String::new();
    for (k, v) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "session" => session = v.into_owned(),
            "asset" => asset = Some(v.into_owned()),
            "action" => action = v.into_owned(),
            _ => {}
        }
    }
    let chosen = if action == "cancel" { None } else { asset };
    let step = connect::pick(
        &state,
        &session,
        chosen.as_deref(),
        cookie(&headers).as_deref(),
    )
    .await;
    render(&state, step)
}

/// What the user picks between, in words they recognise.
fn pick_noun(t: crate::domain::ChannelType) -> &'static str {
    match t {
        crate::domain::ChannelType::Whatsapp => "WhatsApp number",
        crate::domain::ChannelType::Instagram => "Instagram account",
        crate::domain::ChannelType::Facebook => "Facebook Page",
    }
}
