//! One subscriber's stream.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use std::time::Duration;

use std::collections::VecDeque;

use futures_core::Stream;
use sse_marshal::{EventStreamExt, KeepAlive};
use sse_model::{EncodedEvent, EventType, ServerSentEvent};
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use tokio_util::sync::WaitForCancellationFutureOwned;

use crate::feed::{Counts, FeedItem, Joined, Leave};
use crate::hub::LagPolicy;
use crate::log::{Position, Replay};
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
/// log's tail fails (the broker went away): its client reconnects and
/// resumes.
#[must_use = "streams do nothing unless polled"]
pub struct Subscription {
    inner: Inner,
}

enum Inner {
    Plain(Records),
    KeepAlive(KeepAlive<Records, fn() -> EncodedEvent>),
}

/// What a subscription starts from.
pub(crate) struct Start {
    /// The read of the log, if the subscriber asked for one.
    pub(crate) replay: Option<Replay>,
    /// This subscriber's place in the topic's feed.
    pub(crate) joined: Joined,
}

/// The events of the log, as encoded events, under the hub's policies.
struct Records {
    /// The read of the log, then nothing.
    replayed: VecDeque<EncodedEvent>,
    live: BroadcastStream<FeedItem>,
    /// Live events at or before this were in the read.
    seam: Option<Position>,
    /// The feed's counts at the last event this subscriber got.
    counts: Counts,
    /// An event held back while a gap event goes first.
    held: Option<EncodedEvent>,
    shutdown: Pin<Box<WaitForCancellationFutureOwned>>,
    final_event: Arc<Mutex<Option<EncodedEvent>>>,
    counters: Arc<Counters>,
    policy: LagPolicy,
    done: bool,
    /// Declared after `live`, so dropped after it: the feed counts its
    /// receivers without this one when told.
    _leave: Leave,
}

impl Subscription {
    pub(crate) fn new(
        start: Start,
        shutdown: WaitForCancellationFutureOwned,
        final_event: Arc<Mutex<Option<EncodedEvent>>>,
        counters: Arc<Counters>,
        policy: LagPolicy,
        keep_alive: Option<Duration>,
    ) -> Self {
        Counters::add(&counters.subscribers, 1);
        let mut replayed = VecDeque::new();
        let mut seam = None;
        if let Some(replay) = start.replay {
            seam = replay.newest.as_ref().map(|(position, _)| *position);
            if let Some(reason) = replay.resync {
                Counters::add(&counters.resyncs, 1);
                tracing::info!(reason = reason.as_str(), "subscriber must resynchronise");
                let mut event =
                    ServerSentEvent::new(reason.as_str()).with_event_type(RESYNC_EVENT_TYPE);
                if let Some((_, newest)) = replay.newest {
                    event = event.with_id(newest);
                }
                replayed.push_back(EncodedEvent::new(&event));
            }
            replayed.extend(replay.events.into_iter().map(|stored| stored.encoded));
        }
        let records = Records {
            replayed,
            live: BroadcastStream::new(start.joined.receiver),
            seam,
            counts: start.joined.counts,
            held: None,
            shutdown: Box::pin(shutdown),
            final_event,
            counters,
            policy,
            done: false,
            _leave: start.joined.leave,
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
        // Every part is Unpin: the streams and the timers are boxed.
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

    /// The subscriber missed `skipped` events: the lag policy decides.
    fn missed(&mut self, skipped: u64) -> Poll<Option<EncodedEvent>> {
        match self.policy {
            LagPolicy::Disconnect => {
                Counters::add(&self.counters.lagged_disconnects, 1);
                tracing::info!(skipped, "disconnecting a subscriber that fell behind");
                self.done = true;
                Poll::Ready(None)
            }
            LagPolicy::Gap => {
                Counters::add(&self.counters.gaps, 1);
                tracing::info!(skipped, "a subscriber fell behind: sending a gap event");
                let event =
                    ServerSentEvent::new(skipped.to_string()).with_event_type(GAP_EVENT_TYPE);
                self.sent(EncodedEvent::new(&event))
            }
        }
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
        if let Some(event) = this.replayed.pop_front() {
            return this.sent(event);
        }
        if let Some(event) = this.held.take() {
            return this.sent(event);
        }
        loop {
            match Pin::new(&mut this.live).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    this.done = true;
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Ok(FeedItem::Event { event, count }))) => {
                    let missed = this.counts.missed_before(count);
                    this.counts = count;
                    // The read covered this one (or it came before the
                    // subscriber's id): no duplicate at the seam. Whatever
                    // was missed before it came earlier still, so was
                    // covered too: events the feed queued while the
                    // subscriber was sent its read.
                    if this.seam.is_some_and(|seam| event.position <= seam) {
                        continue;
                    }
                    if missed > 0 {
                        this.held = Some(event.encoded.clone());
                        return this.missed(missed);
                    }
                    return this.sent(event.encoded.clone());
                }
                // Counted exactly at the next event: see above.
                Poll::Ready(Some(Err(BroadcastStreamRecvError::Lagged(_)))) => {}
                Poll::Ready(Some(Ok(FeedItem::Failed(why)))) => {
                    tracing::warn!(%why, "ending a subscription: the log failed");
                    this.done = true;
                    return Poll::Ready(None);
                }
            }
        }
    }
}
