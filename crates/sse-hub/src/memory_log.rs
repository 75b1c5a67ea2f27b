//! The embedded, in-memory replay log.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::StreamExt;
use sse_model::{EncodedEvent, EventId, ServerSentEvent};
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;

use crate::log::{EventLog, LogRecord, LogStream, ResyncReason};
use crate::Error;

/// Bounds of the [`MemoryLog`]: how much each topic retains, and how far
/// each subscriber may fall behind.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct MemoryLogOptions {
    max_events: usize,
    max_bytes: usize,
    max_age: Option<Duration>,
    subscriber_queue: usize,
}

impl Default for MemoryLogOptions {
    /// 1000 events or 1 MiB per topic, no age limit, 256 events of lag per
    /// subscriber.
    fn default() -> Self {
        MemoryLogOptions {
            max_events: 1000,
            max_bytes: 1 << 20,
            max_age: None,
            subscriber_queue: 256,
        }
    }
}

impl MemoryLogOptions {
    /// The most events a topic retains (at least 1).
    pub fn with_max_events(mut self, events: usize) -> Self {
        self.max_events = events.max(1);
        self
    }

    /// The most encoded bytes a topic retains. The newest event is always
    /// retained, whatever its size.
    pub fn with_max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// How long an event is retained, if there is a limit.
    pub fn with_max_age(mut self, age: Option<Duration>) -> Self {
        self.max_age = age;
        self
    }

    /// How many events a subscriber may fall behind the newest before it
    /// lags (at least 1). The queue is shared: it costs one pointer per event
    /// and topic, not per subscriber.
    pub fn with_subscriber_queue(mut self, events: usize) -> Self {
        self.subscriber_queue = events.max(1);
        self
    }
}

/// The in-memory [`EventLog`]: the hub's default storage.
///
/// Each topic keeps its newest events, bounded by count, bytes and age, and
/// assigns ids of the form `EPOCH-SEQ`: `SEQ` counts up from 1, and `EPOCH`
/// is drawn at random when the topic is created, so an id from before a
/// restart is recognised as unknown instead of being mistaken for a new
/// event with the same number. Ids given by publishers are kept as they are
/// (they must be unique among the retained events); their order is the order
/// of publishing.
///
/// Appending and subscribing take the same per-topic lock, so a subscriber
/// gets the retained events after its id and then every new event, with no
/// gap and no duplicate at the seam. Live events reach subscribers through
/// one bounded broadcast queue per topic: a subscriber that falls more than
/// the queue behind gets [`LogRecord::Lagged`], and publishing never waits
/// for anyone.
#[derive(Clone, Default)]
pub struct MemoryLog {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    options: MemoryLogOptions,
    topics: Mutex<HashMap<String, Arc<TopicLog>>>,
}

struct TopicLog {
    epoch: String,
    sender: broadcast::Sender<Arc<Entry>>,
    state: Mutex<TopicState>,
    evicted: AtomicU64,
}

#[derive(Default)]
struct TopicState {
    entries: VecDeque<Arc<Entry>>,
    bytes: usize,
    next_seq: u64,
    /// Publisher-given ids of retained events, by sequence number.
    publisher_ids: HashMap<EventId, u64>,
}

/// Where a reader starts.
#[derive(Clone, Copy)]
enum From<'a> {
    /// With the next appended event.
    Now,
    /// With the oldest retained event.
    Oldest,
    /// After the event with this id.
    After(&'a str),
}

struct Entry {
    seq: u64,
    id: EventId,
    encoded: EncodedEvent,
    at: Instant,
    publisher_id: bool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The state stays consistent at every await-free step, so a panic in
    // another thread leaves nothing half-done.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryLog {
    /// A log with default bounds.
    pub fn new() -> Self {
        Self::default()
    }

    /// A log with these bounds.
    pub fn with_options(options: MemoryLogOptions) -> Self {
        MemoryLog {
            inner: Arc::new(Inner {
                options,
                topics: Mutex::default(),
            }),
        }
    }

    /// The bounds in effect.
    pub fn options(&self) -> &MemoryLogOptions {
        &self.inner.options
    }

    /// The number of events `topic` retains now.
    pub fn retained(&self, topic: &str) -> usize {
        self.existing(topic)
            .map_or(0, |t| lock(&t.state).entries.len())
    }

    /// The encoded bytes `topic` retains now.
    pub fn retained_bytes(&self, topic: &str) -> usize {
        self.existing(topic).map_or(0, |t| lock(&t.state).bytes)
    }

    /// The names of the topics that have been used.
    pub fn topics(&self) -> Vec<String> {
        lock(&self.inner.topics).keys().cloned().collect()
    }

    fn existing(&self, topic: &str) -> Option<Arc<TopicLog>> {
        lock(&self.inner.topics).get(topic).cloned()
    }

    fn topic(&self, topic: &str) -> Arc<TopicLog> {
        let mut topics = lock(&self.inner.topics);
        if let Some(log) = topics.get(topic) {
            return Arc::clone(log);
        }
        let (sender, _) = broadcast::channel(self.inner.options.subscriber_queue);
        let log = Arc::new(TopicLog {
            epoch: format!("{:x}", fastrand::u32(0x1000_0000..)),
            sender,
            state: Mutex::new(TopicState {
                next_seq: 1,
                ..TopicState::default()
            }),
            evicted: AtomicU64::new(0),
        });
        topics.insert(topic.to_owned(), Arc::clone(&log));
        log
    }
}

impl TopicLog {
    fn append(&self, options: &MemoryLogOptions, event: ServerSentEvent) -> Result<EventId, Error> {
        let mut state = lock(&self.state);
        let seq = state.next_seq;
        let (event, id, publisher_id) = match event.id_value() {
            Some(id) => {
                // Ids of the form this log assigns are reserved: one could
                // shadow an assigned id, retained or yet to come, and send a
                // resuming client to the wrong place.
                if state.publisher_ids.contains_key(id) || self.assigned_seq(id.as_str()).is_some()
                {
                    return Err(Error::duplicate_id(id.as_str()));
                }
                let id = id.clone();
                (event, id, true)
            }
            None => {
                let id = EventId::new(format!("{}-{seq}", self.epoch))
                    .map_err(|_| Error::log("assigned an invalid id"))?;
                (event.with_id(id.clone()), id, false)
            }
        };
        let entry = Arc::new(Entry {
            seq,
            encoded: EncodedEvent::new(&event),
            id: id.clone(),
            at: Instant::now(),
            publisher_id,
        });
        state.next_seq += 1;
        if publisher_id {
            state.publisher_ids.insert(id.clone(), seq);
        }
        state.bytes += entry.encoded.len();
        state.entries.push_back(Arc::clone(&entry));
        self.evict(&mut state, options);
        // Sent under the lock: a subscriber is either before this send (and
        // receives it live) or after it (and finds it in the log).
        let _no_subscribers = self.sender.send(entry);
        Ok(id)
    }

    fn evict(&self, state: &mut TopicState, options: &MemoryLogOptions) {
        let now = Instant::now();
        let mut evicted = 0;
        while let Some(oldest) = state.entries.front() {
            let too_many = state.entries.len() > options.max_events;
            let too_big = state.bytes > options.max_bytes && state.entries.len() > 1;
            let too_old = options
                .max_age
                .is_some_and(|age| now.duration_since(oldest.at) > age);
            if !(too_many || too_big || too_old) {
                break;
            }
            if let Some(oldest) = state.entries.pop_front() {
                state.bytes -= oldest.encoded.len();
                if oldest.publisher_id {
                    state.publisher_ids.remove(&oldest.id);
                }
                evicted += 1;
            }
        }
        if evicted > 0 {
            self.evicted.fetch_add(evicted, Ordering::Relaxed);
            tracing::debug!(evicted, "evicted events from the replay log");
        }
    }

    /// The sequence number in an id of the form this topic assigns,
    /// `EPOCH-SEQ`.
    fn assigned_seq(&self, id: &str) -> Option<u64> {
        let digits = id.strip_prefix(self.epoch.as_str())?.strip_prefix('-')?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    }

    /// Where the event with `id` stands: its sequence number, or why the
    /// reader must resynchronise.
    fn position(&self, state: &TopicState, id: &str) -> Result<u64, ResyncReason> {
        let oldest = state.entries.front().map_or(state.next_seq, |e| e.seq);
        if let Ok(event_id) = EventId::new(id) {
            if let Some(&seq) = state.publisher_ids.get(&event_id) {
                return Ok(seq);
            }
        }
        let seq = self
            .assigned_seq(id)
            .filter(|&seq| seq < state.next_seq)
            .ok_or(ResyncReason::Unknown)?;
        // Resuming right after the oldest evicted event loses nothing.
        if seq + 1 < oldest {
            return Err(ResyncReason::Evicted);
        }
        Ok(seq)
    }

    fn read(&self, options: &MemoryLogOptions, from: From<'_>) -> LogStream {
        let mut state = lock(&self.state);
        self.evict(&mut state, options);
        let receiver = self.sender.subscribe();
        let (first, replay): (Vec<LogRecord>, u64) = match from {
            From::Now => (Vec::new(), state.next_seq - 1),
            From::Oldest => {
                let all = state
                    .entries
                    .iter()
                    .map(|e| LogRecord::Event(e.encoded.clone()))
                    .collect();
                (all, state.next_seq - 1)
            }
            From::After(id) => match self.position(&state, id) {
                Ok(seq) => {
                    // Retained sequence numbers are contiguous: start right
                    // after `seq` without scanning what the reader has seen.
                    let oldest = state.entries.front().map_or(state.next_seq, |e| e.seq);
                    let skip = usize::try_from((seq + 1).saturating_sub(oldest))
                        .unwrap_or(usize::MAX)
                        .min(state.entries.len());
                    let replay = state
                        .entries
                        .range(skip..)
                        .map(|e| LogRecord::Event(e.encoded.clone()))
                        .collect();
                    (replay, state.next_seq - 1)
                }
                Err(reason) => {
                    let newest = state.entries.back().map(|e| e.id.clone());
                    (
                        vec![LogRecord::Resync { reason, newest }],
                        state.next_seq - 1,
                    )
                }
            },
        };
        drop(state);
        let live = BroadcastStream::new(receiver).filter_map(move |received| {
            let record = match received {
                // The lock makes the seam exact; the sequence check keeps
                // it so even if that ever changed.
                Ok(entry) if entry.seq <= replay => None,
                Ok(entry) => Some(LogRecord::Event(entry.encoded.clone())),
                Err(BroadcastStreamRecvError::Lagged(skipped)) => Some(LogRecord::Lagged(skipped)),
            };
            std::future::ready(record)
        });
        Box::pin(futures_util::stream::iter(first).chain(live))
    }
}

impl EventLog for MemoryLog {
    async fn append(&self, topic: &str, event: ServerSentEvent) -> Result<EventId, Error> {
        self.topic(topic).append(&self.inner.options, event)
    }

    async fn read_after(&self, topic: &str, after: Option<&str>) -> Result<LogStream, Error> {
        let from = after.map_or(From::Now, From::After);
        Ok(self.topic(topic).read(&self.inner.options, from))
    }

    async fn read_all(&self, topic: &str) -> Result<LogStream, Error> {
        Ok(self.topic(topic).read(&self.inner.options, From::Oldest))
    }

    fn evicted(&self, topic: &str) -> u64 {
        self.existing(topic)
            .map_or(0, |t| t.evicted.load(Ordering::Relaxed))
    }
}

impl fmt::Debug for MemoryLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryLog")
            .field("options", &self.inner.options)
            .field("topics", &lock(&self.inner.topics).len())
            .finish()
    }
}
