//! The `ToResponse` typeclass: values that become an HTTP response.

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Response, StatusCode};

use super::ResponseBody;

/// A value that can become an HTTP response: the Rust shape of Akka's
/// `ToResponseMarshaller`. Conversion cannot fail.
///
/// The type parameter `M` is a marker that only selects an implementation; it
/// lets a blanket implementation for event streams (marker
/// [`EventStreamMarshalling`](crate::EventStreamMarshalling)) live beside the
/// plain ones (marker `()`), so a route can `complete` with a stream of events
/// or a string alike, without a wrapper. Callers never name it.
///
/// ```
/// use futures_util::stream;
/// use http::StatusCode;
/// use sse_marshal::ToResponse;
/// use sse_model::ServerSentEvent;
///
/// let events = stream::iter([ServerSentEvent::new("hi")]);
/// let response = events.to_response();
/// assert_eq!(response.headers()["content-type"], "text/event-stream");
///
/// let not_found = (StatusCode::NOT_FOUND, "no such stream").to_response();
/// assert_eq!(not_found.status(), StatusCode::NOT_FOUND);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be turned into an HTTP response",
    label = "not a response, a status, text, or a stream of events",
    note = "a `Stream` of `ServerSentEvent` (or of `Result<ServerSentEvent, E>`) becomes an event stream through `EventStreamMarshalling`; it must be `Send + 'static`"
)]
pub trait ToResponse<M = ()> {
    /// Builds the response.
    fn to_response(self) -> Response<ResponseBody>;
}

impl ToResponse for Response<ResponseBody> {
    fn to_response(self) -> Response<ResponseBody> {
        self
    }
}

impl ToResponse for StatusCode {
    /// An empty response with this status.
    fn to_response(self) -> Response<ResponseBody> {
        let mut response = Response::new(ResponseBody::empty());
        *response.status_mut() = self;
        response
    }
}

fn text(body: impl Into<Bytes>) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::full(body));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

impl ToResponse for &'static str {
    /// `200 OK` with a `text/plain` body.
    fn to_response(self) -> Response<ResponseBody> {
        text(self)
    }
}

impl ToResponse for String {
    /// `200 OK` with a `text/plain` body.
    fn to_response(self) -> Response<ResponseBody> {
        text(self)
    }
}

impl<M, T> ToResponse<(StatusCode, M)> for (StatusCode, T)
where
    T: ToResponse<M>,
{
    /// The inner response with its status replaced.
    fn to_response(self) -> Response<ResponseBody> {
        let mut response = self.1.to_response();
        *response.status_mut() = self.0;
        response
    }
}

/// An HTML page: `200 OK` with `Content-Type: text/html; charset=utf-8`.
///
/// ```
/// use sse_marshal::{Html, ToResponse};
///
/// let response = Html("<h1>Hi</h1>").to_response();
/// assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Html<T>(pub T);

impl<T: Into<Bytes>> ToResponse for Html<T> {
    fn to_response(self) -> Response<ResponseBody> {
        let mut response = Response::new(ResponseBody::full(self.0));
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        response
    }
}

/// Selects the [`ToResponse`] implementation of `Result`; never named by
/// callers.
#[doc(hidden)]
#[derive(Debug)]
pub enum ResultMarker {}

impl<T, E, M> ToResponse<(ResultMarker, M)> for Result<T, E>
where
    T: ToResponse<M>,
    E: ToResponse,
{
    /// The response of the value, or of the error.
    fn to_response(self) -> Response<ResponseBody> {
        match self {
            Ok(value) => value.to_response(),
            Err(error) => error.to_response(),
        }
    }
}
