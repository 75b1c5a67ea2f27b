//! A shared replay log for [`sse_hub`] on Redis Streams: many servers, one
//! stream per topic, so a client whose connection drops can resume on any
//! node with its `Last-Event-ID`, and an event published on one node
//! reaches the subscribers of all of them.
//!
//! ```no_run
//! use sse_hub::Hub;
//! use sse_hub_redis::RedisLog;
//!
//! # async fn run() -> Result<(), sse_hub::Error> {
//! let hub = Hub::with_log(RedisLog::connect("redis://127.0.0.1:6379")?);
//! let id = hub.publish("chat", sse_model::ServerSentEvent::new("hello")).await?;
//! assert!(id.as_str().contains('-')); // a Redis entry id: the SSE id
//! # Ok(())
//! # }
//! ```
//!
//! Needs Redis 7.0 or later (`XINFO STREAM`'s `entries-added`, which lets
//! the log count evictions and tell them from ids it never gave); an older
//! server is refused with an error that says so.
//!
//! # How it maps
//!
//! - One stream key per topic (`sse-hub:<topic>` by default). An event is an
//!   entry with fields `d` (data), `t` (type) and `r` (retry); the entry id
//!   Redis assigns (`MS-SEQ`) is the event's SSE id, so any node can resume
//!   any client. An event that carries its own id is refused
//!   ([`sse_hub::Error::is_publisher_id`]).
//! - Retention: `XADD … MAXLEN ~ N` (approximate: Redis trims whole nodes,
//!   so a topic may hold somewhat more than `N`), and, with an age limit, an
//!   `XTRIM … MINID ~` after each append. Redis cannot trim by bytes.
//! - Replay is `XRANGE`, bounded above by the newest id when the read
//!   began, so it meets the tail with no overlap the hub cannot drop.
//!   Resync: an id older than the oldest retained entry of a stream that
//!   was trimmed is evicted; any other id that is not retained (one the
//!   stream never generated, or generated before it lost its data) is
//!   unknown. Redis does not record which entry was trimmed last, so a
//!   client whose id was exactly that one is resynced too, where the
//!   in-memory log would resume it: a needless resync, never a gap.
//! - The tail is one blocking `XREAD` loop per topic per node, on a
//!   connection of its own.
//! - The broker: commands go through a connection manager that reconnects
//!   with backoff; every command is bounded by a response timeout, so while
//!   Redis is down publishing fails fast with
//!   [`sse_hub::Error::is_unavailable`] and tails end (their subscribers'
//!   clients reconnect and resume when it is back).

mod entry;
mod tail;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, Value};
use sse_hub::{Error, EventLog, Position, ReadFrom, Replay, ResyncReason, StoredEvent, TailStream};
use sse_model::{EventId, ServerSentEvent};

use crate::entry::{EntryId, StreamInfo};

/// The bounds and timings of a [`RedisLog`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct RedisLogOptions {
    max_events: usize,
    max_age: Option<Duration>,
    key_prefix: String,
    response_timeout: Duration,
    block: Duration,
}

impl Default for RedisLogOptions {
    /// About 10 000 events per topic, no age limit, keys `sse-hub:<topic>`,
    /// 2 s to answer a command, tails blocking 5 s per `XREAD`.
    fn default() -> Self {
        RedisLogOptions {
            max_events: 10_000,
            max_age: None,
            key_prefix: "sse-hub:".to_owned(),
            response_timeout: Duration::from_secs(2),
            block: Duration::from_secs(5),
        }
    }
}

impl RedisLogOptions {
    /// About how many events a topic retains (`MAXLEN ~`; at least 1).
    pub fn with_max_events(mut self, events: usize) -> Self {
        self.max_events = events.max(1);
        self
    }

    /// How long an event is retained (`MINID ~`), if there is a limit.
    pub fn with_max_age(mut self, age: Option<Duration>) -> Self {
        self.max_age = age;
        self
    }

    /// The prefix of the topics' stream keys.
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// How long a command may take before it fails (the broker is then
    /// treated as unavailable).
    pub fn with_response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }
}

/// The Redis Streams [`EventLog`]; see the crate documentation. Cheap to
/// clone: clones share the connection.
#[derive(Clone)]
pub struct RedisLog {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    manager: ConnectionManager,
    options: RedisLogOptions,
}

impl RedisLog {
    /// A log on the Redis at `url` (`redis://host:port[/db]`), with default
    /// options. It connects when first used, and again whenever the
    /// connection is lost.
    pub fn connect(url: &str) -> Result<Self, Error> {
        Self::with_options(url, RedisLogOptions::default())
    }

    /// A log on the Redis at `url` with `options`.
    pub fn with_options(url: &str, options: RedisLogOptions) -> Result<Self, Error> {
        let client = redis::Client::open(url).map_err(Error::log)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(options.response_timeout))
            .set_connection_timeout(Some(options.response_timeout))
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_secs(2));
        let manager =
            ConnectionManager::new_lazy_with_config(client.clone(), config).map_err(Error::log)?;
        Ok(RedisLog {
            inner: Arc::new(Inner {
                client,
                manager,
                options,
            }),
        })
    }

    /// The options in effect.
    pub fn options(&self) -> &RedisLogOptions {
        &self.inner.options
    }

    fn key(&self, topic: &str) -> String {
        format!("{}{topic}", self.inner.options.key_prefix)
    }

    /// Runs one command, within the response timeout.
    async fn query(&self, command: &Cmd) -> Result<Value, Error> {
        let mut connection = self.inner.manager.clone();
        self.bounded(command.query_async(&mut connection)).await
    }

    /// Reads a page of `topic` from `start` to `end` with its counters.
    async fn page(
        &self,
        topic: &str,
        start: &str,
        end: &str,
    ) -> Result<(Vec<StoredEvent>, Option<StreamInfo>), Error> {
        let pipe = entry::page_with_info(&self.key(topic), start, end, PAGE);
        let mut connection = self.inner.manager.clone();
        let replies: Vec<Value> = self.bounded(pipe.query_async(&mut connection)).await?;
        entry::parse_page_with_info(&replies)
    }

    /// Awaits a reply within the response timeout.
    async fn bounded<T>(
        &self,
        reply: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, Error> {
        let timeout = self.inner.options.response_timeout;
        match tokio::time::timeout(timeout, reply).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(redis_error(error)),
            Err(_elapsed) => Err(Error::unavailable(format!(
                "Redis did not answer within {timeout:?}"
            ))),
        }
    }

    /// `XINFO STREAM`, or nothing for a stream that does not exist.
    async fn info(&self, topic: &str) -> Result<Option<StreamInfo>, Error> {
        let mut command = redis::cmd("XINFO");
        command.arg("STREAM").arg(self.key(topic));
        match self.query(&command).await {
            Ok(reply) => entry::info(&reply).map(Some),
            Err(error) if error.is_log() && error.to_string().contains("no such key") => Ok(None),
            Err(error) => Err(error),
        }
    }
}

/// How many entries a read takes per round trip.
const PAGE: usize = 1000;

/// A Redis error as the hub's: unavailable when the broker cannot be
/// reached.
pub(crate) fn redis_error(error: redis::RedisError) -> Error {
    if is_unreachable(&error) {
        Error::unavailable(error)
    } else {
        Error::log(error)
    }
}

/// Whether a Redis error means the broker cannot be reached.
fn is_unreachable(error: &redis::RedisError) -> bool {
    use redis::{ErrorKind, ServerErrorKind};
    error.is_io_error()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_timeout()
        || error.is_cluster_error()
        // Redis is up but cannot serve yet: still loading its data after a
        // restart, or failing over.
        || matches!(
            error.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::ReadOnly
            )
        )
}

impl EventLog for RedisLog {
    async fn append(&self, topic: &str, event: ServerSentEvent) -> Result<EventId, Error> {
        if let Some(id) = event.id() {
            return Err(Error::publisher_id(id));
        }
        let options = &self.inner.options;
        let mut command = redis::cmd("XADD");
        command
            .arg(self.key(topic))
            .arg("MAXLEN")
            .arg("~")
            .arg(options.max_events)
            .arg("*");
        for (name, value) in entry::fields(&event) {
            command.arg(name).arg(value);
        }
        // The age trim goes in the same transaction: an append either
        // happens with it or fails whole, never "stored, but answered
        // with an error".
        let mut pipe = redis::pipe();
        pipe.atomic().add_command(command);
        if let Some(age) = options.max_age {
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default();
            let oldest_ms = now.saturating_sub(age).as_millis();
            pipe.cmd("XTRIM")
                .arg(self.key(topic))
                .arg("MINID")
                .arg("~")
                .arg(oldest_ms.to_string())
                .ignore();
        }
        let mut connection = self.inner.manager.clone();
        let replies: Vec<Value> = self.bounded(pipe.query_async(&mut connection)).await?;
        let reply = replies.first().unwrap_or(&Value::Nil);
        let id = match reply {
            Value::BulkString(bytes) => std::str::from_utf8(bytes).ok().and_then(EntryId::parse),
            Value::SimpleString(text) => EntryId::parse(text),
            _ => None,
        }
        .ok_or_else(|| Error::log(format!("XADD answered {reply:?}, not an entry id")))?;
        Ok(id.event_id())
    }

    async fn read(&self, topic: &str, from: ReadFrom<'_>) -> Result<Replay, Error> {
        let resync = |reason, newest| Replay {
            events: Vec::new(),
            resync: Some(reason),
            newest,
        };
        let after = match from {
            ReadFrom::Oldest => None,
            ReadFrom::After(id) => Some(EntryId::parse(id)),
        };
        // The first page starts at the reader's id itself, to see whether
        // it is still retained.
        let start = match after {
            Some(Some(id)) => id.to_string(),
            _ => "-".to_owned(),
        };
        let (mut events, info) = self.page(topic, &start, "+").await?;
        let mut full = events.len() == PAGE;
        let Some(info) = info else {
            // No stream: nothing retained, and no id is known.
            return Ok(match after {
                Some(_) => resync(ResyncReason::Unknown, None),
                None => Replay::default(),
            });
        };
        let newest = info.last_generated.map(|id| (id.position(), id.event_id()));
        let last = info.last_generated.unwrap_or(EntryId::ZERO);
        if let Some(after) = after {
            let Some(after) = after.filter(|id| *id <= last) else {
                // Not an entry id, or one from the future: another
                // stream's, or from before this one lost its data.
                return Ok(resync(ResyncReason::Unknown, newest));
            };
            let retained = events
                .first()
                .is_some_and(|first| first.position == after.position());
            if retained {
                events.remove(0);
            } else if info.trimmed() && info.head_is_past(after) {
                // Trimmed. (Redis cannot say whether it was the newest
                // trimmed entry, after which nothing is lost: a resync that
                // a finer log would spare, never a gap.)
                return Ok(resync(ResyncReason::Evicted, newest));
            } else {
                // Neither retained nor trimmed: an id this stream never
                // gave, or gave before it lost its data.
                return Ok(resync(ResyncReason::Unknown, newest));
            }
        }
        while full {
            let Some(cursor) = events.last().map(|e| EntryId::from_position(e.position)) else {
                break;
            };
            let (page, info) = self
                .page(topic, &format!("({cursor}"), &last.to_string())
                .await?;
            match info {
                Some(info) if !info.head_is_past(cursor) => {}
                // Trimmed under the reader's feet: what it read so far is
                // no longer followed by what is retained.
                Some(_) => return Ok(resync(ResyncReason::Evicted, newest)),
                None => return Ok(resync(ResyncReason::Unknown, newest)),
            }
            full = page.len() == PAGE;
            events.extend(page);
        }
        events.retain(|event| event.position <= last.position());
        Ok(Replay {
            events,
            resync: None,
            newest,
        })
    }

    async fn newest(&self, topic: &str) -> Result<Option<(Position, EventId)>, Error> {
        Ok(self
            .info(topic)
            .await?
            .and_then(|info| info.last_generated)
            .map(|id| (id.position(), id.event_id())))
    }

    async fn tail(&self, topic: &str, after: Option<Position>) -> Result<TailStream, Error> {
        tail::start(self.clone(), topic, after).await
    }

    async fn evicted(&self, topic: &str) -> Result<u64, Error> {
        Ok(self
            .info(topic)
            .await?
            .map_or(0, |info| info.entries_added.saturating_sub(info.length)))
    }
}

impl fmt::Debug for RedisLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLog")
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}
