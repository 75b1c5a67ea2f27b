//! One subscriber's stream.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use std::time::Duration;

use futures_core::Stream;
use sse_marshal::{EventStreamExt, KeepAlive};
use sse_model::{EncodedEvent, EventType, ServerSentEvent};
use tokio_util::sync::WaitForCancellationFutureOwned;

use crate::hub::LagPolicy;
use crate::log::{LogRecord, LogStream};
use crate::metrics::Counters;

/// The type of the event that tells a subscriber to resynchronise: its
/// `Last-Event-ID` was evicted from the replay log (data `evicted`) or is
/// unknown (data `unknown`), so events may have been missed. The event's id
/// is the newest event's, so the client's position moves there.
pub const RESYNC_EVENT_TYPE: EventType = EventType::from_static("sse-hub-resync");

/// The type of the event that tells a subscriber it fell behind and some
/// events were skipped (under [`LagPolicy::Gap`]); its data is how many.
pub const GAP_EVENT_TYPE: EventType = EventType::from_static("sse-hub-gap");

/// A subscriber's stream of encoded events: retained events after its
/// `Last-Event-ID`, then live ones. Serve it as it is: it is a stream of
/// [`EncodedEvent`]s, so it completes a route, and every subscriber shares
/// the same bytes of each event.
///
/// With the hub's keep-alive set, a heartbeat goes out whenever the
/// subscription has been idle that long.
///
/// It ends when the hub shuts down (after the hub's final event, if one was
/// given), when it falls behind under [`LagPolicy::Disconnect`], or when the
/// log's stream ends.
#[must_use = "streams do nothing unless polled"]
pub struct Subscription {
    inner: Inner,
}

enum Inner {
    Plain(Records),
    KeepAlive(KeepAlive<Records, fn() -> EncodedEvent>),
}

/// The records of the log, as encoded events, under the hub's policies.
struct Records {
    records: LogStream,
    shutdown: Pin<Box<WaitForCancellationFutureOwned>>,
    final_event: Arc<Mutex<Option<EncodedEvent>>>,
    counters: Arc<Counters>,
    policy: LagPolicy,
    done: bool,
}

impl Subscription {
    pub(crate) fn new(
        records: LogStream,
        shutdown: WaitForCancellationFutureOwned,
        final_event: Arc<Mutex<Option<EncodedEvent>>>,
        counters: Arc<Counters>,
        policy: LagPolicy,
        keep_alive: Option<Duration>,
    ) -> Self {
        Counters::add(&counters.subscribers, 1);
        let records = Records {
            records,
            shutdown: Box::pin(shutdown),
            final_event,
            counters,
            policy,
            done: false,
        };
        let inner = match keep_alive {
            Some(interval) => {
                let heartbeat: fn() -> EncodedEvent = EncodedEvent::heartbeat;
                Inner::KeepAlive(records.keep_alive(interval, heartbeat))
            }
            None => Inner::Plain(records),
        };
        Subscription { inner }
    }
}

impl Stream for Subscription {
    type Item = EncodedEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<EncodedEvent>> {
        // Every part is Unpin: the log's stream and the timers are boxed.
        match &mut self.inner {
            Inner::Plain(records) => Pin::new(records).poll_next(cx),
            Inner::KeepAlive(records) => Pin::new(records).poll_next(cx),
        }
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keep_alive = matches!(self.inner, Inner::KeepAlive(_));
        f.debug_struct("Subscription")
            .field("keep_alive", &keep_alive)
            .finish_non_exhaustive()
    }
}

impl Records {
    fn sent(&self, event: EncodedEvent) -> Poll<Option<EncodedEvent>> {
        Counters::add(&self.counters.bytes_sent, event.len() as u64);
        Poll::Ready(Some(event))
    }
}

impl Drop for Records {
    fn drop(&mut self) {
        self.counters
            .subscribers
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Stream for Records {
    type Item = EncodedEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<EncodedEvent>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        if this.shutdown.as_mut().poll(cx).is_ready() {
            this.done = true;
            // Read now, not at subscription: the hub sets it just before it
            // cancels.
            let final_event = this
                .final_event
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            return match final_event {
                Some(event) => this.sent(event),
                None => Poll::Ready(None),
            };
        }
        match this.records.as_mut().poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(LogRecord::Event(event))) => this.sent(event),
            Poll::Ready(Some(LogRecord::Resync { reason, newest })) => {
                Counters::add(&this.counters.resyncs, 1);
                tracing::info!(reason = reason.as_str(), "subscriber must resynchronise");
                let mut event =
                    ServerSentEvent::new(reason.as_str()).with_event_type(RESYNC_EVENT_TYPE);
                if let Some(newest) = newest {
                    event = event.with_id(newest);
                }
                this.sent(EncodedEvent::new(&event))
            }
            Poll::Ready(Some(LogRecord::Lagged(skipped))) => match this.policy {
                LagPolicy::Disconnect => {
                    Counters::add(&this.counters.lagged_disconnects, 1);
                    tracing::info!(skipped, "disconnecting a subscriber that fell behind");
                    this.done = true;
                    Poll::Ready(None)
                }
                LagPolicy::Gap => {
                    Counters::add(&this.counters.gaps, 1);
                    tracing::info!(skipped, "a subscriber fell behind: sending a gap event");
                    let event =
                        ServerSentEvent::new(skipped.to_string()).with_event_type(GAP_EVENT_TYPE);
                    this.sent(EncodedEvent::new(&event))
                }
            },
        }
    }
}
