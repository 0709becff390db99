//! The Portal's session: who is signed in, in which account. Used by server functions.

use leptos::prelude::*;
use tower_sessions::Session;

use crate::domain::Me;
use crate::error::AppError;
use crate::services;
use crate::state::AppState;

const USER_ID: &str = "user_id";
const ACCOUNT_ID: &str = "account_id";

/// The application state provided to every render and server function. A resource
/// that re-runs after its request finished has no context any more; it gets an
/// error instead of a panic.
pub fn state() -> Result<AppState, ServerFnError> {
    use_context::<AppState>()
        .ok_or_else(|| ServerFnError::ServerError("the request has ended".into()))
}

pub async fn session() -> Result<Session, ServerFnError> {
    Ok(leptos_axum::extract::<Session>().await?)
}

fn session_err(e: tower_sessions::session::Error) -> ServerFnError {
    AppError::Internal(format!("session store: {e}")).into()
}

/// Starts a signed-in session. The id is rotated so that an id planted before
/// log-in is worthless afterwards (session fixation).
pub async fn sign_in(user_id: &str, account_id: &str) -> Result<(), ServerFnError> {
    let s = session().await?;
    s.cycle_id().await.map_err(session_err)?;
    s.insert(USER_ID, user_id).await.map_err(session_err)?;
    s.insert(ACCOUNT_ID, account_id)
        .await
        .map_err(session_err)?;
    Ok(())
}

pub async fn sign_out() -> Result<(), ServerFnError> {
    session().await?.flush().await.map_err(session_err)
}

/// The signed-in person, or `None`.
pub async fn current() -> Result<Option<Me>, ServerFnError> {
    let s = session().await?;
    let user_id: Option<String> = s.get(USER_ID).await.map_err(session_err)?;
    let account_id: Option<String> = s.get(ACCOUNT_ID).await.map_err(session_err)?;
    let (Some(user_id), Some(account_id)) = (user_id, account_id) else {
        return Ok(None);
    };
    Ok(services::accounts::me(&state()?, &user_id, &account_id).await?)
}

/// The signed-in person for a plain axum handler (outside a Leptos render or
/// server function), e.g. a multipart form post.
pub async fn me_from(state: &AppState, s: &Session) -> Result<Option<Me>, AppError> {
    let ids = async {
        let user_id: Option<String> = s.get(USER_ID).await?;
        let account_id: Option<String> = s.get(ACCOUNT_ID).await?;
        Ok::<_, tower_sessions::session::Error>((user_id, account_id))
    };
    match ids.await {
        Ok((Some(user_id), Some(account_id))) => {
            services::accounts::me(state, &user_id, &account_id).await
        }
        Ok(_) => Ok(None),
        Err(e) => Err(AppError::Internal(format!("session store: {e}"))),
    }
}

/// The signed-in person, or an error telling them to log in.
pub async fn require() -> Result<Me, ServerFnError> {
    match current().await? {
        Some(me) => Ok(me),
        None => Err(AppError::unauthorized(
            "not_logged_in",
            "your session has ended; log in again",
        ))
        .rpc(),
    }
}

/// Converts a service result for a server function and gives the HTTP response
/// the error's real status (401, 403, 429 …) instead of a generic 500.
pub trait Rpc<T> {
    fn rpc(self) -> Result<T, ServerFnError>;
}

impl<T> Rpc<T> for Result<T, AppError> {
    fn rpc(self) -> Result<T, ServerFnError> {
        self.map_err(|e| {
            if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
                res.set_status(e.status());
                if let AppError::Client {
                    retry_after: Some(s),
                    ..
                } = &e
                {
                    res.insert_header(
                        axum::http::header::RETRY_AFTER,
                        axum::http::HeaderValue::from(*s),
                    );
                }
            }
            ServerFnError::ServerError(e.public_detail())
        })
    }
}

/// The caller's IP for throttles: the TCP peer, or the client a trusted
/// reverse proxy names in `X-Forwarded-For` (see `web::client_ip`).
pub async fn client_ip() -> String {
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;
    let Ok(ConnectInfo(addr)) = leptos_axum::extract::<ConnectInfo<SocketAddr>>().await else {
        return "unknown".into();
    };
    let headers = leptos_axum::extract::<axum::http::HeaderMap>()
        .await
        .unwrap_or_default();
    let Ok(state) = state() else {
        return addr.ip().to_string();
    };
    client_ip_of(&state, addr.ip(), &headers)
}

/// [`client_ip`] for plain axum handlers.
pub fn client_ip_of(
    state: &AppState,
    peer: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
) -> String {
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    state
        .config
        .trusted_proxies
        .client_ip(peer, forwarded)
        .to_string()
}

/// Server functions decode their arguments before any code of ours runs, and
/// the framework answers a missing or malformed argument with a 500. This
/// layer (on every `/rpc/*` response) turns those into what they are: a 400
/// in the server functions' error encoding, with a sentence for the form.
pub async fn bad_arguments_are_400(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::StatusCode;
    let is_rpc = req.uri().path().starts_with("/rpc/");
    let res = next.run(req).await;
    if !is_rpc || res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    // Error bodies are one short line; anything larger is not an argument error.
    let bytes = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(b) => b,
        Err(_) => {
            use axum::response::IntoResponse;
            return AppError::Internal("reading a server function error".into()).into_response();
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    let decode_error = ["Args|", "MissingArg|", "Deserialization|"]
        .iter()
        .find_map(|kind| text.strip_prefix(kind));
    let Some(why) = decode_error else {
        return axum::response::Response::from_parts(parts, axum::body::Body::from(bytes));
    };
    parts.status = StatusCode::BAD_REQUEST;
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let detail = format!(
        "the form is incomplete or a field is malformed ({})",
        why.chars().take(200).collect::<String>()
    );
    axum::response::Response::from_parts(
        parts,
        axum::body::Body::from(format!("ServerError|{detail}")),
    )
}
