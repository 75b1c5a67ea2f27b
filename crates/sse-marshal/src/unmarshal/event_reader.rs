//! `EventReader`: the events of one response body, read with a parser that
//! is lent to it and can be taken back.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use http_body::Body;
use sse_model::ServerSentEvent;
use tokio::time::Instant;
use tokio_util::codec::Decoder;

use crate::{BoxError, Error, EventStreamParser};

/// Reads the events of one body: its frames go through the parser, and the
/// events come out as a `Stream`. When the body ends, what the parser still
/// holds is drained by the end-of-stream rule (an unfinished block is
/// discarded).
///
/// It is the body read loop of both [`EventSource`](crate::EventSource) and
/// a reconnecting client, which gives the same parser to the reader of every
/// connection in turn ([`into_parser`](Self::into_parser)), so that the last
/// event id and the reconnection time carry over.
///
/// It yields `Ok` events until the body ends; a failing body
/// ([`Error::is_body`]) or an oversized event under
/// [`OversizePolicy::Fail`](crate::OversizePolicy) is yielded once and ends
/// it.
pub struct EventReader<B> {
    body: Pin<Box<B>>,
    parser: EventStreamParser,
    buf: BytesMut,
    state: State,
    last_data_at: Option<Instant>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Reading,
    /// The body ended: drain what the parser still has.
    Draining,
    Done,
}

impl<B> EventReader<B> {
    /// Reads `body` with `parser`.
    pub fn new(body: B, parser: EventStreamParser) -> Self {
        EventReader {
            body: Box::pin(body),
            parser,
            buf: BytesMut::new(),
            state: State::Reading,
            last_data_at: None,
        }
    }

    /// The parser: its last event id and reconnection time so far.
    pub fn parser(&self) -> &EventStreamParser {
        &self.parser
    }

    /// Ends the reading and gives the parser back.
    pub fn into_parser(self) -> EventStreamParser {
        self.parser
    }

    /// When the last bytes of the body arrived, comments and heartbeats
    /// included; `None` before the first. What an idle timeout watches.
    pub fn last_data_at(&self) -> Option<Instant> {
        self.last_data_at
    }

    /// Whether the body has ended and every event has been yielded.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    fn fail(&mut self, error: Error) -> Poll<Option<Result<ServerSentEvent, Error>>> {
        self.state = State::Done;
        self.buf = BytesMut::new();
        Poll::Ready(Some(Err(error)))
    }
}

impl<B> fmt::Debug for EventReader<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventReader")
            .field("state", &self.state)
            .field("buffered", &self.buf.len())
            .finish_non_exhaustive()
    }
}

impl<B> Stream for EventReader<B>
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
                        if !data.is_empty() {
                            this.last_data_at = Some(Instant::now());
                            this.buf.extend_from_slice(&data);
                        }
                    }
                }
            }
        }
    }
}
