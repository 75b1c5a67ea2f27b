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

/// An encoded item up to this size is copied into a frame shared with the
/// events ready around it (one write instead of several); a larger one is
/// always a frame of its own, never copied.
const COPY_LIMIT: usize = 4 * 1024;

pin_project! {
    /// A body that encodes the events of a stream as they come, and hands each
    /// batch of ready events to the connection as one frame.
    ///
    /// A frame is produced as soon as the stream has nothing more ready, so
    /// every event is flushed without delay. The encode buffer is reused from
    /// frame to frame. An item that is already encoded
    /// ([`EncodedEvent`](sse_model::EncodedEvent)) and has nothing ready
    /// around it, which is how a broadcast reaches a subscriber that keeps
    /// up, becomes a frame of its own that shares its bytes: nothing is
    /// copied per client. A subscriber that has fallen behind gets its
    /// backlog in as few frames (and writes) as possible instead.
    pub struct EventStreamBody<S> {
        #[pin]
        events: S,
        buf: BytesMut,
        // An encoded item that goes out before the buffered events: alone,
        // shared, if nothing follows it soon enough.
        front: Option<Bytes>,
        // A large encoded item that waits for the buffered events before it.
        back: Option<Bytes>,
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
            front: None,
            back: None,
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
        if this.buf.is_empty() {
            if let Some(bytes) = this.back.take() {
                return Poll::Ready(Some(Ok(Frame::data(bytes))));
            }
            if let Some(error) = this.error.take() {
                return Poll::Ready(Some(Err(error)));
            }
        }
        while !*this.done && this.back.is_none() && this.buf.len() < COALESCE_LIMIT {
            let item = match this.events.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => item,
                Poll::Ready(None) => {
                    *this.done = true;
                    break;
                }
                Poll::Pending => break,
            };
            // More is ready after an item held at the front: a batch. A
            // small front item joins it (the buffer is empty while an item is
            // held); a large one goes out first, alone.
            let mut alone = None;
            if let Some(front) = this.front.take() {
                if front.len() <= COPY_LIMIT {
                    this.buf.extend_from_slice(&front);
                } else {
                    alone = Some(front);
                }
            }
            match item.try_into_bytes() {
                Ok(bytes) if this.buf.is_empty() && alone.is_none() => {
                    // Perhaps alone: see whether more is ready.
                    *this.front = Some(bytes);
                }
                Ok(bytes) if bytes.len() > COPY_LIMIT => *this.back = Some(bytes),
                Ok(bytes) => this.buf.extend_from_slice(&bytes),
                Err(item) => {
                    if let Err(error) = item.write_to(this.buf) {
                        *this.done = true;
                        *this.error = Some(error);
                    }
                }
            }
            if let Some(front) = alone {
                return Poll::Ready(Some(Ok(Frame::data(front))));
            }
        }
        if let Some(front) = this.front.take() {
            return Poll::Ready(Some(Ok(Frame::data(front))));
        }
        if !this.buf.is_empty() {
            let frame = this.buf.split().freeze();
            return Poll::Ready(Some(Ok(Frame::data(frame))));
        }
        if let Some(bytes) = this.back.take() {
            return Poll::Ready(Some(Ok(Frame::data(bytes))));
        }
        if let Some(error) = this.error.take() {
            return Poll::Ready(Some(Err(error)));
        }
        if *this.done {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
            && self.buf.is_empty()
            && self.front.is_none()
            && self.back.is_none()
            && self.error.is_none()
    }
}
