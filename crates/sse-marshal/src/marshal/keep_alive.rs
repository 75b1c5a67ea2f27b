//! Heartbeats for idle event streams.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

/// Stream adapters for event streams.
pub trait EventStreamExt: Stream + Sized {
    /// Injects `make()` whenever the stream has been idle for `interval`, like
    /// Akka's `.keepAlive(1.second, () => ServerSentEvent.heartbeat)`.
    ///
    /// The idle time counts from the first poll and restarts with every real
    /// item, so a busy stream carries no heartbeats. The stream ends when the
    /// inner stream ends. Polling needs a tokio runtime with the time driver.
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_util::stream;
    /// use sse_marshal::EventStreamExt;
    /// use sse_model::ServerSentEvent;
    ///
    /// let events = stream::pending::<ServerSentEvent>()
    ///     .keep_alive(Duration::from_secs(1), ServerSentEvent::heartbeat);
    /// # let _ = events;
    /// ```
    fn keep_alive<F>(self, interval: Duration, make: F) -> KeepAlive<Self, F>
    where
        F: FnMut() -> Self::Item,
    {
        KeepAlive {
            stream: self,
            timer: None,
            last_activity: None,
            interval,
            make,
        }
    }
}

impl<S: Stream> EventStreamExt for S {}

pin_project! {
    /// The stream returned by [`EventStreamExt::keep_alive`].
    #[must_use = "streams do nothing unless polled"]
    pub struct KeepAlive<S, F> {
        #[pin]
        stream: S,
        // Created on first poll, so the adapter can be built outside a runtime.
        timer: Option<Pin<Box<Sleep>>>,
        // When the stream last yielded an item or a heartbeat. The timer is
        // not reset per item (a timer-wheel update per event); when it fires
        // before the real deadline it is re-armed instead.
        last_activity: Option<Instant>,
        interval: Duration,
        make: F,
    }
}

impl<S, F> fmt::Debug for KeepAlive<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeepAlive")
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl<S, F> Stream for KeepAlive<S, F>
where
    S: Stream,
    F: FnMut() -> S::Item,
{
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let interval = *this.interval;
        let last_activity = this.last_activity.get_or_insert_with(Instant::now);
        match this.stream.poll_next(cx) {
            Poll::Ready(Some(item)) => {
                *last_activity = Instant::now();
                return Poll::Ready(Some(item));
            }
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => {}
        }
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(*last_activity + interval)));
        loop {
            if timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            // Items may have come since the timer was armed: re-arm it for the
            // real deadline, which is at most one reset per interval.
            let deadline = *last_activity + interval;
            if Instant::now() >= deadline {
                break;
            }
            timer.as_mut().reset(deadline);
        }
        *last_activity = Instant::now();
        Poll::Ready(Some((this.make)()))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // Heartbeats may come on top of the inner stream's items.
        (self.stream.size_hint().0, None)
    }
}
