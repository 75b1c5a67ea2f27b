//! The hub: named topics, publishing, subscribing, shutting down.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sse_model::{EncodedEvent, EventId, LastEventId, ServerSentEvent};
use tokio_util::sync::CancellationToken;

use crate::feed::Feeds;
use crate::log::ReadFrom;
use crate::metrics::{Counters, TopicMetrics};
use crate::subscription::{Start, Subscription};
use crate::{Error, EventLog, MemoryLog};

/// What happens to a subscriber that falls further behind than its queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LagPolicy {
    /// End its stream. Its client reconnects with its last event id and
    /// gets what it missed from the replay log (the default).
    #[default]
    Disconnect,
    /// Send it a [gap event](crate::GAP_EVENT_TYPE) saying how many events
    /// it missed, and go on with the events still queued for it.
    Gap,
}

/// A broadcast hub with a bounded replay log, over an [`EventLog`]
/// ([`MemoryLog`] by default; a shared log lets several servers be one
/// hub). Cheap to clone: clones share the topics.
///
/// Publishers [`publish`](Self::publish) to a named topic; the log assigns
/// the event an id (the in-memory log may keep the publisher's).
/// Subscribers [`subscribe`](Self::subscribe) with the `Last-Event-ID` their
/// client sent, and get every retained event after it, then live events,
/// with no gap and no duplicate. A subscriber whose id is no longer (or
/// never was) in the log gets a [resync event](crate::RESYNC_EVENT_TYPE)
/// instead of silently missing events.
///
/// The hub does the fan-out: one tail of the log per topic on this node,
/// started with its first subscriber and stopped with its last, feeds every
/// local subscriber through a bounded queue, so a shared log is read once
/// per node, each event is encoded once per node, and a slow subscriber
/// lags alone ([`LagPolicy`]).
///
/// ```
/// use futures_util::StreamExt;
/// use sse_hub::Hub;
/// use sse_model::{LastEventId, ServerSentEvent};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let hub = Hub::new();
/// let first = hub.publish("chat", ServerSentEvent::new("hello")).await?;
/// hub.publish("chat", ServerSentEvent::new("world")).await?;
///
/// // A client that saw "hello" reconnects and gets "world".
/// let resume = LastEventId::new(first).unwrap();
/// let mut events = hub.subscribe("chat", Some(&resume)).await?;
/// let next = events.next().await.unwrap();
/// assert!(std::str::from_utf8(next.as_bytes()).unwrap().starts_with("data:world\nid:"));
/// # Ok::<(), sse_hub::Error>(())
/// # }).unwrap();
/// ```
pub struct Hub<L = MemoryLog> {
    inner: Arc<Inner<L>>,
}

struct Inner<L> {
    log: Arc<L>,
    feeds: Feeds,
    /// `true` for [`LagPolicy::Gap`].
    policy: AtomicBool,
    subscriber_queue: AtomicUsize,
    counters: Mutex<HashMap<String, Arc<Counters>>>,
    shutdown: CancellationToken,
    /// Set by `shutdown` before it cancels, read by each subscription when
    /// the cancellation reaches it.
    final_event: Arc<Mutex<Option<EncodedEvent>>>,
    keep_alive: Mutex<Option<Duration>>,
}

impl<L> Clone for Hub<L> {
    fn clone(&self) -> Self {
        Hub {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl Hub<MemoryLog> {
    /// A hub over a [`MemoryLog`] with default bounds.
    pub fn new() -> Self {
        Hub::with_log(MemoryLog::new())
    }
}

impl Default for Hub<MemoryLog> {
    fn default() -> Self {
        Hub::new()
    }
}

/// The future of [`Hub::subscriber`]'s function.
pub type SubscribeFuture =
    Pin<Box<dyn Future<Output = Result<Subscription, Error>> + Send + 'static>>;

impl<L: EventLog> Hub<L> {
    /// A hub over `log`.
    pub fn with_log(log: L) -> Self {
        Hub {
            inner: Arc::new(Inner {
                log: Arc::new(log),
                feeds: Feeds::default(),
                policy: AtomicBool::new(false),
                subscriber_queue: AtomicUsize::new(256),
                counters: Mutex::default(),
                shutdown: CancellationToken::new(),
                final_event: Arc::default(),
                keep_alive: Mutex::default(),
            }),
        }
    }

    /// Chooses what happens to subscribers that fall behind (from the next
    /// subscription on).
    #[must_use]
    pub fn with_lag_policy(self, policy: LagPolicy) -> Self {
        self.inner
            .policy
            .store(policy == LagPolicy::Gap, Ordering::Relaxed);
        self
    }

    /// How many events a subscriber may fall behind the newest before it
    /// lags (default 256, at least 1; from the next topic feed on). The
    /// queue is shared: it costs one pointer per event and topic, not per
    /// subscriber.
    #[must_use]
    pub fn with_subscriber_queue(self, events: usize) -> Self {
        self.inner
            .subscriber_queue
            .store(events.max(1), Ordering::Relaxed);
        self
    }

    /// Sends subscribers a heartbeat after this much idle time (from the
    /// next subscription on), to keep proxies and clients' idle timers from
    /// closing quiet streams. Off by default.
    #[must_use]
    pub fn with_keep_alive(self, interval: Duration) -> Self {
        *self
            .inner
            .keep_alive
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(interval);
        self
    }

    fn lag_policy(&self) -> LagPolicy {
        if self.inner.policy.load(Ordering::Relaxed) {
            LagPolicy::Gap
        } else {
            LagPolicy::Disconnect
        }
    }

    /// The log behind the hub.
    pub fn log(&self) -> &L {
        &self.inner.log
    }

    fn counters(&self, topic: &str) -> Arc<Counters> {
        let mut counters = self
            .inner
            .counters
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(counters.entry(topic.to_owned()).or_default())
    }

    /// Publishes `event` to `topic` and returns its id.
    ///
    /// The event keeps its id if it has one (which must be unique among the
    /// retained events of the topic; events are ordered by publishing, not
    /// by id); otherwise the log assigns one. Publishing never waits for
    /// subscribers.
    pub async fn publish(&self, topic: &str, event: ServerSentEvent) -> Result<EventId, Error> {
        if self.inner.shutdown.is_cancelled() {
            return Err(Error::closed());
        }
        let id = self.inner.log.append(topic, event).await?;
        Counters::add(&self.counters(topic).published, 1);
        Ok(id)
    }

    /// Subscribes to `topic`, resuming after `last_event_id` if given (pass
    /// what the client sent: `RequestContext::last_event_id()` in
    /// `sse-routing`); without one, the subscription starts with the next
    /// event published.
    pub async fn subscribe(
        &self,
        topic: &str,
        last_event_id: Option<&LastEventId>,
    ) -> Result<Subscription, Error> {
        self.start(topic, last_event_id, false).await
    }

    /// Like [`subscribe`](Self::subscribe), but a subscriber without a
    /// `Last-Event-ID` first gets every retained event: the history, for a
    /// page that was just opened or refreshed.
    pub async fn subscribe_with_history(
        &self,
        topic: &str,
        last_event_id: Option<&LastEventId>,
    ) -> Result<Subscription, Error> {
        self.start(topic, last_event_id, true).await
    }

    async fn start(
        &self,
        topic: &str,
        last_event_id: Option<&LastEventId>,
        history: bool,
    ) -> Result<Subscription, Error> {
        if self.inner.shutdown.is_cancelled() {
            return Err(Error::closed());
        }
        let log = &self.inner.log;
        // Into the feed first, then the read: every event is in one or the
        // other, and the subscription drops the feed's copies of the read's.
        let queue = self.inner.subscriber_queue.load(Ordering::Relaxed);
        // If the read fails, `joined` drops and the feed learns it left.
        let joined = self.inner.feeds.join(log, topic, queue).await?;
        let replay = match last_event_id {
            Some(id) => Some(log.read(topic, ReadFrom::After(id.as_str())).await?),
            None if history => Some(log.read(topic, ReadFrom::Oldest).await?),
            None => None,
        };
        let start = Start { replay, joined };
        Ok(Subscription::new(
            start,
            self.inner.shutdown.clone().cancelled_owned(),
            Arc::clone(&self.inner.final_event),
            self.counters(topic),
            self.lag_policy(),
            *self
                .inner
                .keep_alive
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        ))
    }

    /// A function that subscribes to `topic`: serving a topic with
    /// `sse-routing` is then one line.
    ///
    /// ```
    /// use sse_hub::Hub;
    /// use sse_routing::path;
    ///
    /// let hub = Hub::new();
    /// let chat = hub.subscriber("chat");
    /// let route = path("events").get().handle(move |request| chat(request.last_event_id()));
    /// # let _ = route;
    /// ```
    pub fn subscriber(
        &self,
        topic: impl Into<String>,
    ) -> impl Fn(Option<LastEventId>) -> SubscribeFuture + Clone + Send + Sync + 'static {
        self.subscriber_fn(topic.into(), false)
    }

    /// Like [`subscriber`](Self::subscriber), with
    /// [`subscribe_with_history`](Self::subscribe_with_history).
    pub fn subscriber_with_history(
        &self,
        topic: impl Into<String>,
    ) -> impl Fn(Option<LastEventId>) -> SubscribeFuture + Clone + Send + Sync + 'static {
        self.subscriber_fn(topic.into(), true)
    }

    fn subscriber_fn(
        &self,
        topic: String,
        history: bool,
    ) -> impl Fn(Option<LastEventId>) -> SubscribeFuture + Clone + Send + Sync + 'static {
        let hub = self.clone();
        let topic: Arc<str> = Arc::from(topic);
        move |last_event_id| {
            let hub = hub.clone();
            let topic = Arc::clone(&topic);
            Box::pin(async move { hub.start(&topic, last_event_id.as_ref(), history).await })
        }
    }

    /// Shuts the hub down: every subscription ends, after `final_event` if
    /// one is given (for example an event telling clients to reconnect to
    /// another server), and publishing or subscribing fails from now on.
    pub fn shutdown(&self, final_event: Option<ServerSentEvent>) {
        if let Some(event) = final_event {
            *self
                .inner
                .final_event
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(EncodedEvent::new(&event));
        }
        tracing::info!("hub shutting down");
        self.inner.shutdown.cancel();
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shut_down(&self) -> bool {
        self.inner.shutdown.is_cancelled()
    }

    /// The metrics of `topic` (all zero for a topic never used); the
    /// evictions are the log's, which a shared log may have to be asked.
    pub async fn metrics(&self, topic: &str) -> Result<TopicMetrics, Error> {
        let evicted = self.inner.log.evicted(topic).await?;
        let counters = self
            .inner
            .counters
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Ok(match counters.get(topic) {
            Some(counters) => counters.snapshot(evicted),
            None => Counters::default().snapshot(evicted),
        })
    }

    /// The names of the topics published or subscribed to so far.
    pub fn topics(&self) -> Vec<String> {
        let counters = self
            .inner
            .counters
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        counters.keys().cloned().collect()
    }
}

impl<L> fmt::Debug for Hub<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("gap_policy", &self.inner.policy.load(Ordering::Relaxed))
            .field("shut_down", &self.inner.shutdown.is_cancelled())
            .finish_non_exhaustive()
    }
}
