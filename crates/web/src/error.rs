//! What goes wrong in a page or an action, and how it becomes a status.
//!
//! A handler returns `WebError`; its response carries only a marker, and the session middleware
//! (which knows the user and the language) renders the page that says what to do.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kizuna_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("not found")]
    NotFound,
    /// Signed in, but the role does not allow this.
    #[error("forbidden")]
    Forbidden,
    /// The form's CSRF token is missing or stale.
    #[error("stale form")]
    StaleForm,
    /// Input the user can fix; the message is shown as is.
    #[error("{0}")]
    Invalid(String),
    /// Logged with its cause; the user sees a generic page.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Put in a response's extensions by [`WebError`]; the middleware renders the page for it.
#[derive(Debug, Clone)]
pub struct ErrorMarker {
    pub kind: ErrorKind,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    Forbidden,
    StaleForm,
    Invalid,
    Internal,
}

impl ErrorKind {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Forbidden | ErrorKind::StaleForm => StatusCode::FORBIDDEN,
            ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => WebError::NotFound,
            StoreError::Invalid(v) => WebError::Invalid(v.to_string()),
            StoreError::Conflict { message, .. } => WebError::Invalid(message),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (kind, message) = match self {
            WebError::NotFound => (ErrorKind::NotFound, None),
            WebError::Forbidden => (ErrorKind::Forbidden, None),
            WebError::StaleForm => (ErrorKind::StaleForm, None),
            WebError::Invalid(m) => (ErrorKind::Invalid, Some(m)),
            WebError::Internal(cause) => {
                tracing::error!(%cause, "web request failed");
                (ErrorKind::Internal, None)
            }
        };
        let mut resp = kind.status().into_response();
        resp.extensions_mut().insert(ErrorMarker { kind, message });
        resp
    }
}

pub type WebResult<T> = Result<T, WebError>;
