//! `EventSource`: the stream of events read from a response.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use http_body::Body;
use sse_model::ServerSentEvent;
use tokio_util::codec::Decoder;

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
        EventSource::new(BodyEvents {
            body: Box::pin(body),
            parser,
            buf: BytesMut::new(),
            state: State::Reading,
        })
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Reading,
    /// The body ended: drain what the parser still has.
    Draining,
    Done,
}

/// Events parsed from the frames of a body.
struct BodyEvents<B> {
    body: Pin<Box<B>>,
    parser: EventStreamParser,
    buf: BytesMut,
    state: State,
}

impl<B> BodyEvents<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    fn fail(&mut self, error: Error) -> Poll<Option<Result<ServerSentEvent, Error>>> {
        self.state = State::Done;
        self.buf = BytesMut::new();
        Poll::Ready(Some(Err(error)))
    }
}

impl<B> Stream for BodyEvents<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Item = Result<ServerSentEvent, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // Every field is Unpin (the body is boxed), so the pin can be dropped.
        let this = self.get_mut();
        loop {
            let decoded = match this.state {
                State::Done => return Poll::Ready(None),
                State::Reading => this.parser.decode(&mut this.buf),
                State::Draining => this.parser.decode_eof(&mut this.buf),
            };
            match decoded {
                Ok(Some(event)) => return Poll::Ready(Some(Ok(event))),
                Ok(None) if this.state == State::Draining => {
                    this.state = State::Done;
                    return Poll::Ready(None);
                }
                Ok(None) => {}
                Err(error) => return this.fail(error),
            }
            match this.body.as_mut().poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => this.state = State::Draining,
                Poll::Ready(Some(Err(error))) => return this.fail(Error::body(error.into())),
                Poll::Ready(Some(Ok(frame))) => {
                    // Trailers carry no events and are ignored.
                    if let Ok(data) = frame.into_data() {
                        this.buf.extend_from_slice(&data);
                    }
                }
            }
        }
    }
}
