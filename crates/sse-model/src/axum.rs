//! `LastEventId` as an axum extractor (feature `axum`).

use std::convert::Infallible;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use http::StatusCode;

use crate::LastEventId;

/// `Option<LastEventId>` in a handler: the id a reconnecting client resumes
/// from, or `None` for a new client. A malformed header is `None` too (the
/// stream starts afresh), as `sse-routing`'s `RequestContext::last_event_id`
/// reads it.
///
/// ```
/// use axum_core::response::IntoResponse;
/// use sse_model::LastEventId;
///
/// async fn events(last: Option<LastEventId>) -> impl IntoResponse {
///     match last {
///         Some(id) => format!("resuming after {id}"),
///         None => "from the start".to_owned(),
///     }
/// }
/// # let _ = events;
/// ```
impl<S: Send + Sync> OptionalFromRequestParts<S> for LastEventId {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<LastEventId>, Infallible> {
        Ok(LastEventId::from_headers(&parts.headers).ok().flatten())
    }
}

/// `LastEventId` in a handler: a request without a valid header is refused
/// with `400 Bad Request` (use `Option<LastEventId>` to serve new clients
/// too).
impl<S: Send + Sync> FromRequestParts<S> for LastEventId {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match LastEventId::from_headers(&parts.headers) {
            Ok(Some(id)) => Ok(id),
            Ok(None) => Err((StatusCode::BAD_REQUEST, "no Last-Event-ID header")),
            Err(_) => Err((StatusCode::BAD_REQUEST, "an invalid Last-Event-ID header")),
        }
    }
}
