//! The storage behind the replay log: a trait that the in-memory log and
//! shared logs (Redis Streams, NATS JetStream) implement alike.
//!
//! Storage only: a log appends, reads what it retains, and tails what is
//! appended. Fan-out is the hub's: one tail per topic per node feeds every
//! local subscriber, and each event is encoded once per node.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use futures_core::Stream;
use sse_model::{EncodedEvent, EventId, ServerSentEvent};

use crate::Error;

/// Where a record stands in its topic's log: the log's order, as one number
/// (an in-memory sequence number, a JetStream sequence, a Redis entry id's
/// milliseconds and sequence). Greater is later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position(pub u128);

/// A record of a log: an event as every reader gets it.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// Where it stands.
    pub position: Position,
    /// Its id: what a client resumes from (`Last-Event-ID`).
    pub id: EventId,
    /// The event with its id, encoded once.
    pub encoded: EncodedEvent,
}

/// Where a read starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadFrom<'a> {
    /// The oldest retained event: the whole history.
    Oldest,
    /// The event after the one with this id (a client's `Last-Event-ID`).
    After(&'a str),
}

/// What a read finds: the retained events after its start, up to the
/// newest one when it was made.
#[derive(Debug, Clone, Default)]
pub struct Replay {
    /// The events, oldest first.
    pub events: Vec<StoredEvent>,
    /// Set when the start cannot be honoured: the reader must
    /// resynchronise, and `events` is empty.
    pub resync: Option<ResyncReason>,
    /// The newest event when the read was made, if the topic has one: live
    /// events at or before it are covered by this read (or were before the
    /// reader's id), later ones are not.
    pub newest: Option<(Position, EventId)>,
}

/// One record of a tail.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TailRecord {
    /// The next event appended.
    Event(StoredEvent),
    /// This many events were evicted before the tail could read them.
    Skipped(u64),
}

/// A tail: every event appended after a position, in order, as long as the
/// log lasts. An error (the broker went away) ends it.
pub type TailStream = Pin<Box<dyn Stream<Item = Result<TailRecord, Error>> + Send>>;

/// An append-only, per-topic log of events: the hub's storage.
///
/// # The contract
///
/// - **Order.** Records of a topic are totally ordered by [`Position`], the
///   order of appending. Ids are the log's to give and to read back: a log
///   knows the position of an id it gave.
/// - **Ids.** [`append`](Self::append) returns the stored event's id. The
///   in-memory log keeps an id the publisher chose (unique among retained
///   events); a shared log assigns every id itself (the Redis entry id, the
///   JetStream sequence) and refuses a publisher's, since checking one for
///   uniqueness would need a read before every write. The SSE `id:` a client
///   sees is always the stored one.
/// - **Replay and tail meet without a gap or a duplicate.** A
///   [`read`](Self::read) returns the retained events after its start up to
///   the newest when it was made ([`Replay::newest`]); a
///   [`tail`](Self::tail) after any position at or before that newest one
///   yields every later event. The hub subscribes to its tail before it
///   reads and drops tail events at or before the read's newest.
/// - **Resync.** A read after an id that is no longer retained answers
///   [`ResyncReason::Evicted`] (resuming right after the oldest evicted
///   event loses nothing and is not a resync); after an id the log never gave
///   or cannot read (another log's, from before its data was lost),
///   [`ResyncReason::Unknown`].
/// - **Errors.** Every operation can fail (a broker that is down); a tail
///   ends with its error. Nothing hangs: a log that cannot reach its broker
///   fails fast. A failed append is "not known to be stored": a broker may
///   have stored it before the answer was lost; a successful one is stored
///   durably as far as the log's storage is.
pub trait EventLog: Send + Sync + 'static {
    /// Appends `event` to `topic`; returns the id it is stored under.
    fn append(
        &self,
        topic: &str,
        event: ServerSentEvent,
    ) -> impl Future<Output = Result<EventId, Error>> + Send;

    /// The retained events of `topic` from `from`, up to the newest.
    fn read(
        &self,
        topic: &str,
        from: ReadFrom<'_>,
    ) -> impl Future<Output = Result<Replay, Error>> + Send;

    /// The newest event of `topic`, if it has one.
    fn newest(
        &self,
        topic: &str,
    ) -> impl Future<Output = Result<Option<(Position, EventId)>, Error>> + Send;

    /// Every event of `topic` appended after `after` (from the start with
    /// `None`), in order, then each new one as it is appended.
    fn tail(
        &self,
        topic: &str,
        after: Option<Position>,
    ) -> impl Future<Output = Result<TailStream, Error>> + Send;

    /// The number of events evicted from `topic` so far, as far as the log
    /// knows, for metrics.
    fn evicted(&self, topic: &str) -> impl Future<Output = Result<u64, Error>> + Send {
        let _ = topic;
        async { Ok(0) }
    }
}

/// Why a reader must resynchronise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResyncReason {
    /// The events after the reader's id were evicted from the log.
    Evicted,
    /// The log does not know the reader's id (another server's, or from
    /// before a restart).
    Unknown,
}

impl ResyncReason {
    /// The reason as the data of the resync event: `evicted` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            ResyncReason::Evicted => "evicted",
            ResyncReason::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
