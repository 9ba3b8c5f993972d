//! Extractors whose rejections are problem documents.

use axum::{
    extract::{FromRequest, FromRequestParts, Query, Request},
    http::{StatusCode, header, request::Parts},
};
use serde::de::DeserializeOwned;

use super::{AppState, problem::ApiError};

/// `Json` with problem-document rejections.
#[derive(Debug)]
pub(crate) struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ));
        }
        let bytes =
            axum::body::Bytes::from_request(request, state).await.map_err(body_rejection)?;
        parse_json(&bytes).map(Self)
    }
}

/// A body that could not be read: too large, or cut off.
pub(crate) fn body_rejection(rejection: axum::extract::rejection::BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is larger than this service accepts",
        )
    } else {
        ApiError::bad_request("invalid_body", rejection.body_text())
    }
}

/// Reads a JSON body the same way on every route: text that is not JSON is
/// `400 invalid_json`; JSON of the wrong shape is `422 invalid_body`, its
/// detail naming the field (`intents[3].intent.amount: …`) when there is one.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let not_json = |error: serde_json::Error| {
        ApiError::bad_request("invalid_json", format!("the body is not JSON: {error}"))
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize(&mut deserializer) {
        Ok(value) => deserializer.end().map(|()| value).map_err(not_json),
        Err(error) => {
            // A typed read stops at the first field of the wrong shape: the
            // whole text is checked for syntax only then, so broken JSON
            // further on is still called broken, and a good body is read once.
            if let Err(syntax) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                return Err(not_json(syntax));
            }
            let detail = match error.path().to_string().as_str() {
                "." | "?" | "" => error.inner().to_string(),
                path => format!("{path}: {}", error.inner()),
            };
            Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", detail))
        }
    }
}

/// `Query` with problem-document rejections.
#[derive(Debug)]
pub(crate) struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Self(v))
            .map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))
    }
}

/// The signed-in session of a request (`Authorization: Bearer <token>`),
/// checked against the store so logout takes effect at once.
#[derive(Debug, Clone)]
pub(crate) struct AuthSession {
    pub account: String,
    pub session_id: String,
    pub expires_at: i64,
}

impl FromRequestParts<AppState> for AuthSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // The rate limiter has already checked this request's token against
        // the store; one read per request is enough.
        if let Some(Checked(outcome)) = parts.extensions.get::<Checked>() {
            return outcome.clone();
        }
        let token = bearer_token(parts).ok_or_else(|| {
            ApiError::unauthorized("missing_token", "send `Authorization: Bearer <session token>`")
        })?;
        state.authenticate(token).await
    }
}

/// The outcome of checking a request's bearer token, kept in its extensions.
#[derive(Debug, Clone)]
pub(crate) struct Checked(pub(crate) Result<AuthSession, ApiError>);

pub(crate) fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}
