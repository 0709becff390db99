//! The one error type of the service layer, mapped once to HTTP (`{detail, code}`)
//! and once to `ServerFnError` for the Portal.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::domain::ErrorBody;

#[derive(Debug)]
pub enum AppError {
    /// A rule broken by the caller: the status, a stable code and a sentence for humans.
    Client {
        status: u16,
        code: &'static str,
        detail: String,
        /// Seconds for `Retry-After` on 429 responses.
        retry_after: Option<u64>,
    },
    Db(sqlx::Error),
    Internal(String),
}

/// `Display` is what a caller may read (server functions show it as is); the
/// internal cause of a 5xx is logged where the error is made, never shown.
impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.public_detail())
    }
}

impl std::error::Error for AppError {}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error");
        AppError::Db(e)
    }
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn client(status: u16, code: &'static str, detail: impl Into<String>) -> AppError {
        AppError::Client {
            status,
            code,
            detail: detail.into(),
            retry_after: None,
        }
    }
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> AppError {
        AppError::client(400, code, detail)
    }
    /// A value that breaks a rule of a named field.
    pub fn validation(detail: impl Into<String>) -> AppError {
        AppError::client(400, "validation_error", detail)
    }
    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> AppError {
        AppError::client(401, code, detail)
    }
    pub fn forbidden_role(detail: impl Into<String>) -> AppError {
        AppError::client(403, "forbidden_role", detail)
    }
    pub fn not_found(what: &str) -> AppError {
        AppError::client(404, "not_found", format!("{what} not found"))
    }
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> AppError {
        AppError::client(409, code, detail)
    }
    pub fn rate_limited(detail: impl Into<String>, retry_after: u64) -> AppError {
        AppError::Client {
            status: 429,
            code: "rate_limited",
            detail: detail.into(),
            retry_after: Some(retry_after),
        }
    }
    pub fn unavailable(detail: impl Into<String>) -> AppError {
        AppError::client(503, "not_ready", detail)
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Client { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST)
            }
            AppError::Db(e) if is_unavailable(e) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Client { code, .. } => code,
            AppError::Db(e) if is_unavailable(e) => "not_ready",
            _ => "internal_error",
        }
    }

    /// What the caller may read: never a stack trace or a SQL message.
    pub fn public_detail(&self) -> String {
        match self {
            AppError::Client { detail, .. } => detail.clone(),
            AppError::Db(e) if is_unavailable(e) => {
                "the database is not reachable right now; try again shortly".into()
            }
            _ => "internal error; the server log has the details".into(),
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            detail: self.public_detail(),
            code: self.code().to_string(),
        }
    }
}

fn is_unavailable(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
    )
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            AppError::Internal(cause) => tracing::error!(error = %cause, "request failed"),
            AppError::Db(e) => tracing::error!(error = %e, "request failed: database"),
            AppError::Client { .. } => {}
        }
        let mut res = (status, axum::Json(self.body())).into_response();
        if let AppError::Client {
            retry_after: Some(s),
            ..
        } = &self
        {
            res.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(*s),
            );
        }
        res
    }
}
