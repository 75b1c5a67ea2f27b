//! The storage behind the replay log: a trait, so the embedded in-memory log
//! can be swapped for a shared log service when one server is not enough.

use std::future::Future;
use std::pin::Pin;

use futures_core::Stream;
use sse_model::{EncodedEvent, EventId, ServerSentEvent};

use crate::Error;

/// The records a log's stream yields.
pub type LogStream = Pin<Box<dyn Stream<Item = LogRecord> + Send>>;

/// An append-only, per-topic log of events, ordered by append.
///
/// It is the hub's storage: [`append`](Self::append) stores an event and
/// returns the id it is stored under; [`read_after`](Self::read_after) is a
/// stream of every event after an id, which goes on with new events as they
/// are appended. Ids are strings, ordered by the log: only the log can say
/// what comes after an id. The seam between stored and new events is the
/// log's to get right: no event may be missed or repeated there. That is
/// what lets a shared log service (one that many servers append to and read
/// from) replace [`MemoryLog`](crate::MemoryLog) without the hub changing.
pub trait EventLog: Send + Sync + 'static {
    /// Appends `event` to `topic` and returns its id: the event's own id if
    /// it has one (refused with [`Error::is_duplicate_id`] if an event still
    /// in the log has it), else one the log assigns, greater in the log's
    /// order than every id before it.
    fn append(
        &self,
        topic: &str,
        event: ServerSentEvent,
    ) -> impl Future<Output = Result<EventId, Error>> + Send;

    /// Every event of `topic` after the one with id `after`, then new events
    /// as they are appended. With `after` of `None`, only new events. When
    /// `after` is not in the log any more (or never was), the stream starts
    /// with [`LogRecord::Resync`] and goes on with new events.
    fn read_after(
        &self,
        topic: &str,
        after: Option<&str>,
    ) -> impl Future<Output = Result<LogStream, Error>> + Send;

    /// Every retained event of `topic`, oldest first, then new events as they
    /// are appended: for a client that starts without a position and wants
    /// the history (a chat page that was just opened).
    fn read_all(&self, topic: &str) -> impl Future<Output = Result<LogStream, Error>> + Send;

    /// The number of events evicted from `topic` so far, for metrics.
    fn evicted(&self, topic: &str) -> u64 {
        let _ = topic;
        0
    }
}

/// One record of a [`LogStream`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum LogRecord {
    /// An event, encoded once and shared by every reader.
    Event(EncodedEvent),
    /// The reader's position cannot be honoured: it must resynchronise.
    Resync {
        /// Why.
        reason: ResyncReason,
        /// The id of the newest event in the log when this was decided, if
        /// any: the position the reader is at from now on.
        newest: Option<EventId>,
    },
    /// The reader fell behind and this many events were skipped.
    Lagged(u64),
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
