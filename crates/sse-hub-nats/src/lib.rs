//! A shared replay log for [`sse_hub`] on NATS JetStream: many servers, one
//! stream per topic, so a client whose connection drops can resume on any
//! node with its `Last-Event-ID`, and an event published on one node
//! reaches the subscribers of all of them.
//!
//! ```no_run
//! use sse_hub::Hub;
//! use sse_hub_nats::NatsLog;
//!
//! # async fn run() -> Result<(), sse_hub::Error> {
//! let hub = Hub::with_log(NatsLog::connect("nats://127.0.0.1:4222").await?);
//! let id = hub.publish("chat", sse_model::ServerSentEvent::new("hello")).await?;
//! assert!(id.as_str().contains(':')); // EPOCH:SEQUENCE
//! # Ok(())
//! # }
//! ```
//!
//! # How it maps
//!
//! - **One stream per topic** (`SSE_HUB_<topic>`, subject
//!   `sse-hub.<topic>`, the topic escaped to the characters names allow).
//!   A stream per topic, rather than one stream with a subject per topic,
//!   because JetStream's limits (count, bytes, age) are per stream: each
//!   topic keeps its own history, one busy topic cannot evict another's,
//!   and a topic's sequences have no holes, which makes eviction exact: a
//!   client's id is either retained, right before the oldest retained
//!   event (nothing lost), or evicted.
//! - **Ids** are stream sequences, prefixed with the stream's creation time
//!   in milliseconds: `EPOCH:SEQUENCE`. A broker that lost its data starts
//!   its sequences over; the epoch tells its ids from the old ones, so a
//!   client resuming from before the loss is resynchronised instead of
//!   being handed unrelated events under the old numbers. An event that
//!   carries its own id is refused ([`sse_hub::Error::is_publisher_id`]).
//! - **The event**: the data is the payload (at most the server's
//!   `max_payload`, 1 MiB by default), the type and reconnection time are
//!   headers.
//! - **Replay** reads from a sequence with a short-lived ordered consumer,
//!   up to the newest sequence when the read began; **the tail** is one
//!   ordered consumer per topic per node. It ends when the connection
//!   drops, when sequences go backwards, and when its check (every 5 s)
//!   finds the stream deleted or created again while the connection stayed
//!   up (an operator, a lost replica): the consumer would otherwise follow
//!   the new stream silently, or wait for ever on a stream that is gone.
//! - **The broker**: the client reconnects with backoff (50 ms doubling to
//!   2 s). While it is not connected, every operation fails at once with
//!   [`sse_hub::Error::is_unavailable`], and every tail ends when the
//!   connection drops: the hub ends its subscriptions and their clients
//!   resume, on this node or another, when the broker is back. A publish
//!   that timed out may still have been stored (JetStream acknowledges
//!   after storing): failure means "not known to be stored".

mod message;
mod names;
mod replay;
mod tail;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::connection::State;
use async_nats::jetstream::{self, stream};
use sse_hub::{Error, EventLog, Position, ReadFrom, Replay, ResyncReason, TailStream};
use sse_model::{EventId, ServerSentEvent};
use tokio::sync::watch;

/// The bounds and timings of a [`NatsLog`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct NatsLogOptions {
    max_events: u64,
    max_bytes: Option<u64>,
    max_age: Option<Duration>,
    memory_storage: bool,
    replicas: usize,
    stream_prefix: String,
    subject_prefix: String,
    response_timeout: Duration,
}

impl Default for NatsLogOptions {
    /// 10 000 events per topic, no byte or age limit, file storage, one
    /// replica, streams `SSE_HUB_<topic>` on subjects `sse-hub.<topic>`,
    /// 2 s to answer a request.
    fn default() -> Self {
        NatsLogOptions {
            max_events: 10_000,
            max_bytes: None,
            max_age: None,
            memory_storage: false,
            replicas: 1,
            stream_prefix: "SSE_HUB_".to_owned(),
            subject_prefix: "sse-hub.".to_owned(),
            response_timeout: Duration::from_secs(2),
        }
    }
}

impl NatsLogOptions {
    /// How many events a topic retains (at least 1).
    pub fn with_max_events(mut self, events: u64) -> Self {
        self.max_events = events.max(1);
        self
    }

    /// How many bytes a topic retains, if there is a limit.
    pub fn with_max_bytes(mut self, bytes: Option<u64>) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// How long an event is retained, if there is a limit.
    pub fn with_max_age(mut self, age: Option<Duration>) -> Self {
        self.max_age = age;
        self
    }

    /// Keeps the streams in the servers' memory instead of in files: faster,
    /// and lost when a server restarts.
    pub fn with_memory_storage(mut self, memory: bool) -> Self {
        self.memory_storage = memory;
        self
    }

    /// How many servers of a JetStream cluster keep each stream (1 to 5).
    pub fn with_replicas(mut self, replicas: usize) -> Self {
        self.replicas = replicas.clamp(1, 5);
        self
    }

    /// The prefixes of stream names and subjects.
    pub fn with_prefixes(
        mut self,
        stream_prefix: impl Into<String>,
        subject_prefix: impl Into<String>,
    ) -> Self {
        self.stream_prefix = stream_prefix.into();
        self.subject_prefix = subject_prefix.into();
        self
    }

    /// How long a request may take before it fails (the broker is then
    /// treated as unavailable).
    pub fn with_response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }
}

/// The NATS JetStream [`EventLog`]; see the crate documentation. Cheap to
/// clone: clones share the connection.
#[derive(Clone)]
pub struct NatsLog {
    inner: Arc<Inner>,
}

struct Inner {
    client: async_nats::Client,
    jetstream: jetstream::Context,
    options: NatsLogOptions,
    /// Counts the connection's drops: a tail ends at the next one, and the
    /// epochs learnt before it are forgotten.
    drops: Arc<watch::Sender<u64>>,
    /// The epoch of each topic's stream, with the drop count it was learnt
    /// under.
    epochs: Mutex<HashMap<String, (u64, u64)>>,
}

impl NatsLog {
    /// A log on the NATS server at `url` (`nats://host:port`; with
    /// JetStream enabled), with default options. Returns at once: the
    /// client connects in the background, and again whenever the connection
    /// is lost.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::with_options(url, NatsLogOptions::default()).await
    }

    /// A log on the NATS server at `url` with `options`.
    pub async fn with_options(url: &str, options: NatsLogOptions) -> Result<Self, Error> {
        let drops = Arc::new(watch::Sender::new(0u64));
        let on_event = Arc::clone(&drops);
        let client = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connection_timeout(options.response_timeout)
            .request_timeout(Some(options.response_timeout))
            .reconnect_delay_callback(|attempts| {
                let doublings = u32::try_from(attempts.min(6)).unwrap_or(6);
                Duration::from_millis(50 * 2u64.pow(doublings)).min(Duration::from_secs(2))
            })
            .event_callback(move |event| {
                if matches!(event, async_nats::Event::Disconnected) {
                    on_event.send_modify(|drops| *drops += 1);
                }
                async {}
            })
            .connect(url)
            .await
            .map_err(Error::log)?;
        let mut jetstream = jetstream::new(client.clone());
        jetstream.set_timeout(options.response_timeout);
        Ok(NatsLog {
            inner: Arc::new(Inner {
                client,
                jetstream,
                options,
                drops,
                epochs: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Waits until the client is connected, for at most `limit`: for a
    /// server that should not take traffic before its log is reachable.
    pub async fn wait_until_connected(&self, limit: Duration) -> Result<(), Error> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match self.connected() {
                Ok(()) => return Ok(()),
                Err(error) if tokio::time::Instant::now() >= deadline => return Err(error),
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    /// The options in effect.
    pub fn options(&self) -> &NatsLogOptions {
        &self.inner.options
    }

    fn stream_name(&self, topic: &str) -> String {
        format!(
            "{}{}",
            self.inner.options.stream_prefix,
            names::escape(topic)
        )
    }

    fn subject(&self, topic: &str) -> String {
        format!(
            "{}{}",
            self.inner.options.subject_prefix,
            names::escape(topic)
        )
    }

    fn stream_config(&self, topic: &str) -> stream::Config {
        let options = &self.inner.options;
        let limit = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        stream::Config {
            name: self.stream_name(topic),
            subjects: vec![self.subject(topic)],
            max_messages: limit(options.max_events),
            max_bytes: options.max_bytes.map_or(-1, limit),
            max_age: options.max_age.unwrap_or_default(),
            storage: if options.memory_storage {
                stream::StorageType::Memory
            } else {
                stream::StorageType::File
            },
            num_replicas: options.replicas,
            discard: stream::DiscardPolicy::Old,
            ..Default::default()
        }
    }

    /// Fails at once while the client is not connected.
    fn connected(&self) -> Result<(), Error> {
        match self.inner.client.connection_state() {
            State::Connected => Ok(()),
            state => Err(Error::unavailable(format!(
                "not connected to NATS ({state:?}); reconnecting"
            ))),
        }
    }

    /// An error of the client: the broker is unavailable if the connection
    /// is not up, else the log failed.
    fn failed(&self, error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
        match self.connected() {
            Ok(()) => Error::log(error),
            Err(_) => Error::unavailable(error),
        }
    }

    /// Awaits a request within the response timeout.
    async fn bounded<T, E>(&self, request: impl Future<Output = Result<T, E>>) -> Result<T, Error>
    where
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let timeout = self.inner.options.response_timeout;
        match tokio::time::timeout(timeout, request).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(self.failed(error)),
            Err(_elapsed) => Err(Error::unavailable(format!(
                "NATS did not answer within {timeout:?}"
            ))),
        }
    }

    /// The stream of `topic`: created if `create`, else nothing if it does
    /// not exist. Learns its epoch.
    async fn open_stream(
        &self,
        topic: &str,
        create: bool,
    ) -> Result<Option<(stream::Stream, u64)>, Error> {
        self.connected()?;
        let drops = *self.inner.drops.borrow();
        let stream = if create {
            self.bounded(
                self.inner
                    .jetstream
                    .get_or_create_stream(self.stream_config(topic)),
            )
            .await?
        } else {
            let name = self.stream_name(topic);
            match tokio::time::timeout(
                self.inner.options.response_timeout,
                self.inner.jetstream.get_stream(&name),
            )
            .await
            {
                Ok(Ok(stream)) => stream,
                Ok(Err(error)) if is_not_found(&error) => return Ok(None),
                Ok(Err(error)) => return Err(self.failed(error)),
                Err(_elapsed) => {
                    return Err(Error::unavailable(format!(
                        "NATS did not answer within {:?}",
                        self.inner.options.response_timeout
                    )))
                }
            }
        };
        let epoch = epoch_of(stream.cached_info());
        self.inner
            .epochs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(topic.to_owned(), (drops, epoch));
        Ok(Some((stream, epoch)))
    }

    /// The epoch of `topic`'s stream, creating the stream if need be.
    async fn epoch(&self, topic: &str) -> Result<u64, Error> {
        let drops = *self.inner.drops.borrow();
        let known = self
            .inner
            .epochs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(topic)
            .copied();
        match known {
            Some((learnt, epoch)) if learnt == drops => Ok(epoch),
            _ => Ok(self.open_stream(topic, true).await?.map_or(0, |(_, e)| e)),
        }
    }

    fn forget_epoch(&self, topic: &str) {
        self.inner
            .epochs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(topic);
    }

    /// Publishes `event` on `topic`'s subject; its stream sequence.
    async fn publish(&self, topic: &str, event: &ServerSentEvent) -> Result<u64, PublishFailure> {
        let (headers, payload) = message::to_message(event);
        let publish = async {
            self.inner
                .jetstream
                .publish_with_headers(self.subject(topic), headers, payload)
                .await?
                .await
        };
        let timeout = self.inner.options.response_timeout;
        match tokio::time::timeout(timeout, publish).await {
            Ok(Ok(ack)) => Ok(ack.sequence),
            Ok(Err(error))
                if error.kind() == jetstream::context::PublishErrorKind::StreamNotFound =>
            {
                Err(PublishFailure::NoStream)
            }
            Ok(Err(error))
                if error.kind() == jetstream::context::PublishErrorKind::MaxPayloadExceeded =>
            {
                Err(PublishFailure::Failed(Error::log(format!(
                    "{error}: the event is larger than the NATS server's max_payload"
                ))))
            }
            Ok(Err(error)) => Err(PublishFailure::Failed(self.failed(error))),
            Err(_elapsed) => Err(PublishFailure::Failed(Error::unavailable(format!(
                "NATS did not acknowledge within {timeout:?}"
            )))),
        }
    }
}

enum PublishFailure {
    /// No stream takes the subject (it was deleted, or the broker lost it).
    NoStream,
    Failed(Error),
}

/// Whether a stream lookup failed because the stream does not exist.
fn is_not_found(error: &jetstream::context::GetStreamError) -> bool {
    matches!(
        error.kind(),
        jetstream::context::GetStreamErrorKind::JetStream(error)
            if error.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
    )
}

/// When a stream was created, in milliseconds since 1970: what tells its
/// ids from those of an earlier stream of the same name.
fn epoch_of(info: &stream::Info) -> u64 {
    u64::try_from(info.created.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

impl EventLog for NatsLog {
    async fn append(&self, topic: &str, event: ServerSentEvent) -> Result<EventId, Error> {
        if let Some(id) = event.id() {
            return Err(Error::publisher_id(id));
        }
        self.connected()?;
        let mut epoch = self.epoch(topic).await?;
        let sequence = match self.publish(topic, &event).await {
            Ok(sequence) => sequence,
            Err(PublishFailure::NoStream) => {
                // Lost since it was learnt: create it again, under a new
                // epoch.
                self.forget_epoch(topic);
                epoch = self.epoch(topic).await?;
                match self.publish(topic, &event).await {
                    Ok(sequence) => sequence,
                    Err(PublishFailure::NoStream) => {
                        return Err(Error::log(format!(
                            "no JetStream stream takes {}",
                            self.subject(topic)
                        )))
                    }
                    Err(PublishFailure::Failed(error)) => return Err(error),
                }
            }
            Err(PublishFailure::Failed(error)) => return Err(error),
        };
        Ok(names::event_id(epoch, sequence))
    }

    async fn read(&self, topic: &str, from: ReadFrom<'_>) -> Result<Replay, Error> {
        let Some((stream, epoch)) = self.open_stream(topic, false).await? else {
            // No stream: nothing retained, and no id is known.
            return Ok(match from {
                ReadFrom::After(_) => Replay {
                    resync: Some(ResyncReason::Unknown),
                    ..Replay::default()
                },
                ReadFrom::Oldest => Replay::default(),
            });
        };
        let state = &stream.cached_info().state;
        let (first, last) = (state.first_sequence, state.last_sequence);
        let newest = (last > 0).then(|| (Position(u128::from(last)), names::event_id(epoch, last)));
        let resync = |reason| Replay {
            events: Vec::new(),
            resync: Some(reason),
            newest: newest.clone(),
        };
        let start = match from {
            ReadFrom::Oldest => first,
            ReadFrom::After(id) => match names::parse_event_id(id) {
                // Of this stream, given, and nothing after it evicted.
                Some((of, sequence)) if of == epoch && sequence <= last => {
                    if sequence + 1 < first {
                        return Ok(resync(ResyncReason::Evicted));
                    }
                    sequence + 1
                }
                // Not this stream's (another log's, or from before the
                // broker lost its data), or never given.
                _ => return Ok(resync(ResyncReason::Unknown)),
            },
        };
        if start > last || state.messages == 0 {
            return Ok(Replay {
                events: Vec::new(),
                resync: None,
                newest,
            });
        }
        let exact = matches!(from, ReadFrom::After(_));
        match replay::range(self, topic, &stream, epoch, start, last, exact).await? {
            Some(events) => Ok(Replay {
                events,
                resync: None,
                newest,
            }),
            // Evicted while it was read.
            None => Ok(resync(ResyncReason::Evicted)),
        }
    }

    async fn newest(&self, topic: &str) -> Result<Option<(Position, EventId)>, Error> {
        Ok(self
            .open_stream(topic, false)
            .await?
            .and_then(|(stream, epoch)| {
                let last = stream.cached_info().state.last_sequence;
                (last > 0).then(|| (Position(u128::from(last)), names::event_id(epoch, last)))
            }))
    }

    async fn tail(&self, topic: &str, after: Option<Position>) -> Result<TailStream, Error> {
        tail::start(self, topic, after).await
    }

    async fn evicted(&self, topic: &str) -> Result<u64, Error> {
        // Sequences have no holes: all before the oldest retained went.
        Ok(self
            .open_stream(topic, false)
            .await?
            .map_or(0, |(stream, _)| {
                stream.cached_info().state.first_sequence.saturating_sub(1)
            }))
    }
}

impl fmt::Debug for NatsLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsLog")
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}
