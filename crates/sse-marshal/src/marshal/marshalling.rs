//! `EventStreamMarshalling`: a stream of events becomes a streaming response.

use futures_core::Stream;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::Response;

use super::{EventStreamBody, EventStreamItem, ResponseBody, ToResponse};

/// Serves a [`Stream`] of events as a `text/event-stream` response: the Rust
/// counterpart of Akka's `EventStreamMarshalling`.
///
/// The response is `200 OK` with `Content-Type: text/event-stream` and
/// `Cache-Control: no-cache`; its body writes each event as soon as the
/// stream yields it (events that are already waiting share one frame). A
/// stream of `Result<ServerSentEvent, E>` is served too: an `Err` aborts the
/// response, so the client notices and reconnects.
///
/// Any such stream implements [`ToResponse`] through this marker, so it can be
/// handed to a route as it is. Add heartbeats with
/// [`EventStreamExt::keep_alive`](crate::EventStreamExt::keep_alive).
///
/// ```
/// use futures_util::stream;
/// use http_body_util::BodyExt;
/// use sse_marshal::EventStreamMarshalling;
/// use sse_model::ServerSentEvent;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let events = stream::iter(vec![ServerSentEvent::new("1"), ServerSentEvent::new("2")]);
/// let response = EventStreamMarshalling::response(events);
/// assert_eq!(response.headers()["cache-control"], "no-cache");
///
/// let body = response.into_body().collect().await.unwrap().to_bytes();
/// assert_eq!(&body[..], b"data:1\n\ndata:2\n\n");
/// # });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct EventStreamMarshalling;

impl EventStreamMarshalling {
    /// The streaming response for `events`.
    pub fn response<S>(events: S) -> Response<ResponseBody>
    where
        S: Stream + Send + 'static,
        S::Item: EventStreamItem,
    {
        let mut response = Response::new(ResponseBody::new(EventStreamBody::new(events)));
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        response
    }
}

impl<S> ToResponse<EventStreamMarshalling> for S
where
    S: Stream + Send + 'static,
    S::Item: EventStreamItem,
{
    fn to_response(self) -> Response<ResponseBody> {
        EventStreamMarshalling::response(self)
    }
}
