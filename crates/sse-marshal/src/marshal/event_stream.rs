//! `EventStream`: an event stream as a response type of its own.

use futures_core::Stream;
use http::Response;

use super::{EventStreamItem, EventStreamMarshalling, ResponseBody, ToResponse};

/// A stream of events as a response value, for code that takes responses by
/// type rather than through [`ToResponse`]: with feature `axum`, a handler
/// returns it as it is (it is axum's `IntoResponse`). The response is
/// [`EventStreamMarshalling`]'s.
///
/// In an axum handler, `events.to_response()` works too, without the
/// feature: its `http::Response` is already an axum response.
///
/// ```
/// use futures_util::stream;
/// use sse_marshal::{EventStream, ToResponse};
/// use sse_model::ServerSentEvent;
///
/// let response = EventStream(stream::iter([ServerSentEvent::new("hi")])).to_response();
/// assert_eq!(response.headers()["content-type"], "text/event-stream");
/// ```
#[derive(Debug, Clone)]
#[must_use = "a response does nothing until it is returned"]
pub struct EventStream<S>(pub S);

impl<S> ToResponse for EventStream<S>
where
    S: Stream + Send + 'static,
    S::Item: EventStreamItem,
{
    fn to_response(self) -> Response<ResponseBody> {
        EventStreamMarshalling::response(self.0)
    }
}

#[cfg(feature = "axum")]
impl<S> axum_core::response::IntoResponse for EventStream<S>
where
    S: Stream + Send + 'static,
    S::Item: EventStreamItem,
{
    fn into_response(self) -> axum_core::response::Response {
        EventStreamMarshalling::response(self.0).map(axum_core::body::Body::new)
    }
}
