//! The embedded, in-memory replay log.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use sse_model::{EncodedEvent, EventId, ServerSentEvent};
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::log::{
    EventLog, Position, ReadFrom, Replay, ResyncReason, StoredEvent, TailRecord, TailStream,
};
use crate::Error;

/// Bounds of the [`MemoryLog`]: how much each topic retains.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct MemoryLogOptions {
    max_events: usize,
    max_bytes: usize,
    max_age: Option<Duration>,
}

impl Default for MemoryLogOptions {
    /// 1000 events or 1 MiB per topic, no age limit.
    fn default() -> Self {
        MemoryLogOptions {
            max_events: 1000,
            max_bytes: 1 << 20,
            max_age: None,
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
}

/// The in-memory [`EventLog`]: the hub's default storage, for one server.
///
/// Each topic keeps its newest events, bounded by count, bytes and age, and
/// assigns ids of the form `EPOCH-SEQ`: `SEQ` counts up from 1, and `EPOCH`
/// is drawn at random when the topic is created, so an id from before a
/// restart is recognised as unknown instead of being mistaken for a new
/// event with the same number. Ids given by publishers are kept as they are
/// (they must be unique among the retained events); their order is the order
/// of publishing. Positions are the sequence numbers.
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
    state: Mutex<TopicState>,
    /// Every append, for the tails (one per topic per node: the hub's).
    live: broadcast::Sender<Entry>,
    evicted: AtomicU64,
}

/// How far a tail may fall behind the appends and still be handed them;
/// further behind, it catches up from the retained events, and misses only
/// what was evicted meanwhile. A tail is the hub's one reader per topic,
/// which forwards at once. The queue is allocated whole, per topic.
const TAIL_QUEUE: usize = 256;

#[derive(Default)]
struct TopicState {
    entries: VecDeque<Entry>,
    bytes: usize,
    next_seq: u64,
    /// The newest event ever appended, retained or not.
    newest: Option<(u64, EventId)>,
    /// Publisher-given ids of retained events, by sequence number.
    publisher_ids: HashMap<EventId, u64>,
}

#[derive(Clone)]
struct Entry {
    seq: u64,
    id: EventId,
    encoded: EncodedEvent,
    at: Instant,
    publisher_id: bool,
}

impl Entry {
    fn stored(&self) -> StoredEvent {
        StoredEvent {
            position: Position(u128::from(self.seq)),
            id: self.id.clone(),
            encoded: self.encoded.clone(),
        }
    }
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
        let log = Arc::new(TopicLog {
            epoch: format!("{:x}", fastrand::u32(0x1000_0000..)),
            state: Mutex::new(TopicState {
                next_seq: 1,
                ..TopicState::default()
            }),
            live: broadcast::channel(TAIL_QUEUE).0,
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
        let entry = Entry {
            seq,
            encoded: EncodedEvent::new(&event),
            id: id.clone(),
            at: Instant::now(),
            publisher_id,
        };
        state.next_seq += 1;
        state.newest = Some((seq, id.clone()));
        if publisher_id {
            state.publisher_ids.insert(id.clone(), seq);
        }
        state.bytes += entry.encoded.len();
        // Sent under the lock: a tail either subscribed before this send
        // (and receives it live) or after it (and finds it retained).
        let _no_tail = self.live.send(entry.clone());
        state.entries.push_back(entry);
        self.evict(&mut state, options);
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

    fn newest(state: &TopicState) -> Option<(Position, EventId)> {
        let (seq, id) = state.newest.as_ref()?;
        Some((Position(u128::from(*seq)), id.clone()))
    }

    fn read(&self, options: &MemoryLogOptions, from: ReadFrom<'_>) -> Replay {
        let mut state = lock(&self.state);
        self.evict(&mut state, options);
        let newest = Self::newest(&state);
        let after = match from {
            ReadFrom::Oldest => 0,
            ReadFrom::After(id) => match self.position(&state, id) {
                Ok(seq) => seq,
                Err(reason) => {
                    return Replay {
                        events: Vec::new(),
                        resync: Some(reason),
                        newest,
                    }
                }
            },
        };
        Replay {
            events: Self::after(&state, after).map(Entry::stored).collect(),
            resync: None,
            newest,
        }
    }

    /// The retained entries after sequence number `seq`. Retained sequence
    /// numbers are contiguous: no scan of what the reader has seen.
    fn after(state: &TopicState, seq: u64) -> impl Iterator<Item = &Entry> {
        let oldest = state.entries.front().map_or(state.next_seq, |e| e.seq);
        let skip = usize::try_from((seq + 1).saturating_sub(oldest))
            .unwrap_or(usize::MAX)
            .min(state.entries.len());
        state.entries.range(skip..)
    }
}

/// A tail of one topic: appends as they are made, and the retained events
/// when it falls behind.
struct MemoryTail {
    log: Arc<TopicLog>,
    /// The sequence number of the last event handed out.
    cursor: u64,
    receiver: broadcast::Receiver<Entry>,
    backlog: VecDeque<Entry>,
    skipped: u64,
}

impl MemoryTail {
    fn new(log: Arc<TopicLog>, cursor: u64) -> Self {
        // Subscribed under the lock, then caught up: every later append is
        // in the receiver, every earlier one retained or counted skipped.
        let state = lock(&log.state);
        let receiver = log.live.subscribe();
        let mut tail = MemoryTail {
            log: Arc::clone(&log),
            cursor,
            receiver,
            backlog: VecDeque::new(),
            skipped: 0,
        };
        tail.catch_up(&state);
        drop(state);
        tail
    }

    /// Queues the retained events after the cursor; what was evicted before
    /// it could be read is counted skipped.
    fn catch_up(&mut self, state: &TopicState) {
        let from = self.backlog.back().map_or(self.cursor, |e| e.seq);
        let oldest = state.entries.front().map_or(state.next_seq, |e| e.seq);
        if oldest > from + 1 {
            self.skipped += oldest - from - 1;
        }
        self.backlog.extend(TopicLog::after(state, from).cloned());
    }

    async fn next(&mut self) -> Option<Result<TailRecord, Error>> {
        loop {
            if self.skipped > 0 {
                let skipped = std::mem::take(&mut self.skipped);
                if let Some(last) = self.backlog.front().map(|e| e.seq - 1) {
                    self.cursor = last;
                }
                return Some(Ok(TailRecord::Skipped(skipped)));
            }
            if let Some(entry) = self.backlog.pop_front() {
                self.cursor = entry.seq;
                return Some(Ok(TailRecord::Event(entry.stored())));
            }
            match self.receiver.recv().await {
                Ok(entry) if entry.seq <= self.cursor => {}
                Ok(entry) if entry.seq == self.cursor + 1 => {
                    self.cursor = entry.seq;
                    return Some(Ok(TailRecord::Event(entry.stored())));
                }
                // Fell behind the queue: catch up from the retained events.
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                    let log = Arc::clone(&self.log);
                    let state = lock(&log.state);
                    self.catch_up(&state);
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

impl EventLog for MemoryLog {
    async fn append(&self, topic: &str, event: ServerSentEvent) -> Result<EventId, Error> {
        self.topic(topic).append(&self.inner.options, event)
    }

    async fn read(&self, topic: &str, from: ReadFrom<'_>) -> Result<Replay, Error> {
        Ok(self.topic(topic).read(&self.inner.options, from))
    }

    async fn newest(&self, topic: &str) -> Result<Option<(Position, EventId)>, Error> {
        Ok(TopicLog::newest(&lock(&self.topic(topic).state)))
    }

    async fn tail(&self, topic: &str, after: Option<Position>) -> Result<TailStream, Error> {
        let cursor = after.map_or(0, |p| u64::try_from(p.0).unwrap_or(u64::MAX));
        let tail = MemoryTail::new(self.topic(topic), cursor);
        Ok(Box::pin(futures_util::stream::unfold(
            tail,
            |mut tail| async move {
                let record = tail.next().await?;
                Some((record, tail))
            },
        )))
    }

    async fn evicted(&self, topic: &str) -> Result<u64, Error> {
        Ok(self
            .existing(topic)
            .map_or(0, |t| t.evicted.load(Ordering::Relaxed)))
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
