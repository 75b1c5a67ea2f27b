//! `EventSource`: the stream of events read from a response.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http_body::Body;
use sse_model::ServerSentEvent;

use super::EventReader;
use crate::{BoxError, Error, EventStreamParser};

/// A stream of server-sent events: what unmarshalling a `text/event-stream`
/// response yields, and what the reconnecting client yields too.
///
/// It yields `Ok` events until the source ends; an error (a failing body, an
/// oversized event under [`OversizePolicy::Fail`](crate::OversizePolicy)) is
/// yielded once and ends the stream.
pub struct EventSource {
    inner: Pin<Box<dyn Stream<Item = Result<ServerSentEvent, Error>> + Send>>,
}

impl EventSource {
    /// Wraps any stream of events, for sources other than one response body
    /// (a reconnecting client, a test fixture).
    pub fn new<S>(events: S) -> Self
    where
        S: Stream<Item = Result<ServerSentEvent, Error>> + Send + 'static,
    {
        EventSource {
            inner: Box::pin(events),
        }
    }

    /// Parses the events of a body with `parser`; the body's content type is
    /// not checked.
    pub fn from_body<B>(body: B, parser: EventStreamParser) -> Self
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        EventSource::new(EventReader::new(body, parser))
    }
}

impl fmt::Debug for EventSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSource").finish_non_exhaustive()
    }
}

impl Stream for EventSource {
    type Item = Result<ServerSentEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}
