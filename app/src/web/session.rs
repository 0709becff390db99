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

/// The caller's IP for log-in throttling.
pub async fn client_ip() -> String {
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;
    match leptos_axum::extract::<ConnectInfo<SocketAddr>>().await {
        Ok(ConnectInfo(addr)) => addr.ip().to_string(),
        Err(_) => "unknown".into(),
    }
}
