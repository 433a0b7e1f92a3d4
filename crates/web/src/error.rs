//! API failures and how they reach the client: a status and a JSON body
//! shaped like Django REST framework's.

use axum::http::StatusCode;

use crate::json;

/// Why a request failed.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// 404 with `{"detail": ...}`.
    NotFound(String),
    /// 403 with `{"detail": ...}`.
    Forbidden(String),
    /// 400 with field errors `{"field": ["message"]}`.
    Field(Vec<(String, String)>),
    /// 400 with a body already written (nested field errors).
    RawBadRequest(String),
    /// 403 with a body already written (a bulk write's per-item list).
    RawForbidden(String),
    /// 400 with `{"detail": "..."}` (malformed bodies).
    BadRequest(String),
    /// 405 for this method.
    MethodNotAllowed(String),
    /// 409 with `{"detail": ...}`.
    Conflict(String),
    /// 406: the Accept header names nothing we render.
    NotAcceptable,
    /// 415 for this content type.
    UnsupportedMediaType(String),
    /// 404 page for routes that do not exist (Django's HTML page upstream).
    NoRoute,
    /// 413: the body is over the limit (bytes).
    TooLarge(usize),
    /// 414: the path and query are over the limit (bytes).
    UriTooLong(usize),
    /// 500; the cause is logged, not shown.
    Internal(String),
    /// 429 after too many failed logins: the seconds to wait (also sent
    /// as `Retry-After`).
    Throttled(u64),
}

/// Common 403 bodies.
pub const NOT_AUTHENTICATED: &str = "Authentication credentials were not provided.";
/// The requester lacks the right.
pub const NO_PERMISSION: &str = "You do not have permission to perform this action.";

impl ApiError {
    /// One field error.
    pub fn field(name: &str, message: impl Into<String>) -> ApiError {
        ApiError::Field(vec![(name.to_string(), message.into())])
    }

    /// The `No X matches the given query.` 404.
    pub fn no_match(model: &str) -> ApiError {
        ApiError::NotFound(no_match_detail(model))
    }

    /// Status and body.
    pub fn parts(&self) -> (StatusCode, String) {
        let detail = |s: &str| {
            let mut out = String::from("{\"detail\":");
            json::escape(&mut out, s);
            out.push('}');
            out
        };
        match self {
            ApiError::NotFound(d) => (StatusCode::NOT_FOUND, detail(d)),
            ApiError::Forbidden(d) => (StatusCode::FORBIDDEN, detail(d)),
            ApiError::BadRequest(d) => (StatusCode::BAD_REQUEST, detail(d)),
            ApiError::Conflict(d) => (StatusCode::CONFLICT, detail(d)),
            ApiError::RawBadRequest(body) => (StatusCode::BAD_REQUEST, body.clone()),
            ApiError::RawForbidden(body) => (StatusCode::FORBIDDEN, body.clone()),
            ApiError::MethodNotAllowed(m) => (
                StatusCode::METHOD_NOT_ALLOWED,
                detail(&format!("Method \"{m}\" not allowed.")),
            ),
            ApiError::UnsupportedMediaType(t) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                detail(&format!("Unsupported media type \"{t}\" in request.")),
            ),
            ApiError::Field(fields) => {
                let mut out = String::from("{");
                for (i, (name, msg)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    json::escape(&mut out, name);
                    out.push_str(":[");
                    json::escape(&mut out, msg);
                    out.push(']');
                }
                out.push('}');
                (StatusCode::BAD_REQUEST, out)
            }
            ApiError::NoRoute => (StatusCode::NOT_FOUND, detail("Not found.")),
            ApiError::TooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                detail(&format!(
                    "Request body too large: the limit is {limit} bytes."
                )),
            ),
            ApiError::UriTooLong(limit) => (
                StatusCode::URI_TOO_LONG,
                detail(&format!(
                    "Request URI too long: path and query may hold at most {limit} bytes."
                )),
            ),
            ApiError::NotAcceptable => (
                StatusCode::NOT_ACCEPTABLE,
                detail("Could not satisfy the request Accept header."),
            ),
            ApiError::Throttled(secs) => (
                StatusCode::TOO_MANY_REQUESTS,
                detail(&format!(
                    "Request was throttled. Expected available in {secs} seconds."
                )),
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                detail("A server error occurred."),
            ),
        }
    }
}

/// Django's 404 text for a model (`get_object_or_404`).
pub(crate) fn no_match_detail(model: &str) -> String {
    format!("No {model} matches the given query.")
}

/// A store failure is the server's: logged, and a 500 without its text.
/// What the client did wrong comes back as a
/// [`Refused`](patchtrack_store::Refused) instead, worded in
/// [`crate::refusal`], so no store text reaches a client.
impl From<patchtrack_store::StoreError> for ApiError {
    fn from(e: patchtrack_store::StoreError) -> Self {
        tracing::error!(error = %e, "store failure");
        ApiError::Internal(e.to_string())
    }
}
