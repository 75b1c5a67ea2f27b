//! The streaming body of an event stream response.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use http_body::{Body, Frame};
use pin_project_lite::pin_project;

use super::EventStreamItem;
use crate::BoxError;

/// Events that are already waiting are written into one frame, up to about
/// this many bytes, so a burst costs one write instead of one per event.
const COALESCE_LIMIT: usize = 32 * 1024;

pin_project! {
    /// A body that encodes the events of a stream as they come, and hands each
    /// batch of ready events to the connection as one frame.
    ///
    /// A frame is produced as soon as the stream has nothing more ready, so
    /// every event is flushed without delay. The encode buffer is reused from
    /// frame to frame. Items that are already encoded
    /// ([`EncodedEvent`](sse_model::EncodedEvent)) become frames of their own,
    /// sharing their bytes: nothing is copied per client.
    pub struct EventStreamBody<S> {
        #[pin]
        events: S,
        buf: BytesMut,
        // An encoded item that waits for the buffered events before it.
        encoded: Option<Bytes>,
        error: Option<BoxError>,
        done: bool,
    }
}

impl<S> EventStreamBody<S> {
    /// Wraps a stream of events.
    pub fn new(events: S) -> Self {
        EventStreamBody {
            events,
            buf: BytesMut::new(),
            encoded: None,
            error: None,
            done: false,
        }
    }
}

impl<S> fmt::Debug for EventStreamBody<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStreamBody")
            .field("buffered", &self.buf.len())
            .field("done", &self.done)
            .finish()
    }
}

impl<S> Body for EventStreamBody<S>
where
    S: Stream,
    S::Item: EventStreamItem,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        if let Some(bytes) = this.encoded.take() {
            return Poll::Ready(Some(Ok(Frame::data(bytes))));
        }
        if let Some(error) = this.error.take() {
            return Poll::Ready(Some(Err(error)));
        }
        while !*this.done && this.buf.len() < COALESCE_LIMIT {
            let polled = this.events.as_mut().poll_next(cx);
            match polled {
                Poll::Ready(Some(item)) => {
                    let item = match item.try_into_bytes() {
                        Ok(bytes) if this.buf.is_empty() => {
                            return Poll::Ready(Some(Ok(Frame::data(bytes))));
                        }
                        Ok(bytes) => {
                            // Send what is buffered first, then these bytes.
                            *this.encoded = Some(bytes);
                            break;
                        }
                        Err(item) => item,
                    };
                    if let Err(error) = item.write_to(this.buf) {
                        *this.done = true;
                        if this.buf.is_empty() {
                            return Poll::Ready(Some(Err(error)));
                        }
                        // Deliver the events before the error first.
                        *this.error = Some(error);
                    }
                }
                Poll::Ready(None) => *this.done = true,
                Poll::Pending if this.buf.is_empty() => return Poll::Pending,
                Poll::Pending => break,
            }
        }
        if this.buf.is_empty() {
            debug_assert!(*this.done);
            return Poll::Ready(None);
        }
        let frame = this.buf.split().freeze();
        Poll::Ready(Some(Ok(Frame::data(frame))))
    }

    fn is_end_stream(&self) -> bool {
        self.done && self.buf.is_empty() && self.encoded.is_none() && self.error.is_none()
    }
}
