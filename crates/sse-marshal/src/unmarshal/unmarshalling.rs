//! `EventStreamUnmarshalling`: a response becomes a stream of events.

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::Response;
use http_body::Body;

use super::{EventSource, FromEntity};
use crate::{BoxError, Error, EventStreamParser, ServerSentEventSettings};

/// Reads a `text/event-stream` response as an [`EventSource`]: the Rust
/// counterpart of Akka's `EventStreamUnmarshalling`, carrying the parser
/// settings.
///
/// [`Unmarshal::new(response).to::<EventSource>()`](crate::Unmarshal) uses the
/// default settings; build one of these to choose others.
///
/// ```
/// use bytes::Bytes;
/// use http_body_util::Full;
/// use sse_marshal::{EventStreamUnmarshalling, ServerSentEventSettings};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let unmarshalling = EventStreamUnmarshalling::new(
///     ServerSentEventSettings::default().with_max_event_size(1 << 20),
/// );
/// let response = http::Response::builder()
///     .header("content-type", "application/json")
///     .body(Full::new(Bytes::from_static(b"{}")))
///     .unwrap();
/// let error = unmarshalling.unmarshal(response).unwrap_err();
/// assert!(error.is_content_type());
/// # });
/// ```
#[derive(Debug, Clone, Default)]
pub struct EventStreamUnmarshalling {
    settings: ServerSentEventSettings,
}

impl EventStreamUnmarshalling {
    /// Unmarshalling with these parser settings.
    pub fn new(settings: ServerSentEventSettings) -> Self {
        EventStreamUnmarshalling { settings }
    }

    /// The parser settings in effect.
    pub fn settings(&self) -> &ServerSentEventSettings {
        &self.settings
    }

    /// Checks the response and reads its body as events.
    ///
    /// A `204 No Content` is an event stream that is over: the result ends at
    /// once, as the specification tells clients to stop there. Any other
    /// status outside 2xx is an [`is_status`](Error::is_status) error, and a
    /// content type other than `text/event-stream` an
    /// [`is_content_type`](Error::is_content_type) error.
    pub fn unmarshal<B>(&self, response: Response<B>) -> Result<EventSource, Error>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        match Self::classify(&response)? {
            ResponseKind::NoContent => Ok(EventSource::new(EmptyEvents)),
            ResponseKind::EventStream => Ok(self.from_body(response.into_body())),
        }
    }

    /// What a response is, as the start of an event stream: the checks of
    /// [`unmarshal`](Self::unmarshal), for clients that read the body
    /// themselves (such as a reconnecting one, which retries some of the
    /// errors: a `5xx` is an [`is_status`](Error::is_status) error with its
    /// [`status_code`](Error::status_code)).
    ///
    /// ```
    /// use sse_marshal::{EventStreamUnmarshalling, ResponseKind};
    ///
    /// let response = http::Response::builder().status(204).body(()).unwrap();
    /// assert_eq!(EventStreamUnmarshalling::classify(&response)?, ResponseKind::NoContent);
    /// let response = http::Response::builder().status(503).body(()).unwrap();
    /// let error = EventStreamUnmarshalling::classify(&response).unwrap_err();
    /// assert_eq!(error.status_code(), Some(http::StatusCode::SERVICE_UNAVAILABLE));
    /// # Ok::<(), sse_marshal::Error>(())
    /// ```
    pub fn classify<B>(response: &Response<B>) -> Result<ResponseKind, Error> {
        let status = response.status();
        if status == http::StatusCode::NO_CONTENT {
            return Ok(ResponseKind::NoContent);
        }
        if !status.is_success() {
            return Err(Error::status(status));
        }
        match response.headers().get(CONTENT_TYPE) {
            Some(value) if sse_model::is_event_stream(value) => Ok(ResponseKind::EventStream),
            other => {
                let found = other.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
                Err(Error::content_type(found))
            }
        }
    }

    /// Reads a body as events, without any header check.
    pub fn from_body<B>(&self, body: B) -> EventSource
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        EventSource::from_body(
            body,
            EventStreamParser::with_settings(self.settings.clone()),
        )
    }
}

/// What a response is, for [`EventStreamUnmarshalling::classify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseKind {
    /// A `2xx` `text/event-stream` response: read its body.
    EventStream,
    /// `204 No Content`: the server wants no (more) event stream; a client
    /// stops here for good.
    NoContent,
}

/// The events of a finished stream: none.
struct EmptyEvents;

impl futures_core::Stream for EmptyEvents {
    type Item = Result<sse_model::ServerSentEvent, Error>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Ready(None)
    }
}

impl<B> FromEntity<Response<B>> for EventSource
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Error = Error;

    /// Unmarshals with [`EventStreamUnmarshalling::default`].
    async fn from_entity(response: Response<B>) -> Result<Self, Error> {
        EventStreamUnmarshalling::default().unmarshal(response)
    }
}
