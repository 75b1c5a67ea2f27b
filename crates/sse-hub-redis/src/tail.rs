//! The tail of a topic: one loop per topic per node, on a connection of its
//! own, that reads what is appended after a cursor.
//!
//! Each step reads a page after the cursor together with `XINFO STREAM`, in
//! one transaction, so the two agree. That is what lets the tail count what
//! it missed: Redis trims from the head, so once the oldest retained entry
//! is past the cursor, the entries appended after the cursor that are not
//! retained were evicted unread, and the stream's counters (`entries-added`,
//! `length`) say how many, given how many the tail has accounted for. When a page finds nothing new the
//! tail waits in a blocking `XREAD` and then reads again; the blocking read
//! is only a wake-up.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::stream;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Value};
use sse_hub::{Error, Position, StoredEvent, TailRecord, TailStream};

use crate::entry::{self, EntryId, StreamInfo};
use crate::{redis_error, RedisLog};

/// How many entries one step reads.
const PAGE: usize = 100;

struct Tail {
    connection: MultiplexedConnection,
    key: String,
    block: Duration,
    timeout: Duration,
    cursor: EntryId,
    /// How many entries were ever appended at or before the cursor, once
    /// known: what the counters are compared with to count evictions.
    accounted: Option<u64>,
    ready: VecDeque<TailRecord>,
}

/// Starts the tail of `topic` after `after` (from the start with `None`).
pub(crate) async fn start(
    log: RedisLog,
    topic: &str,
    after: Option<Position>,
) -> Result<TailStream, Error> {
    let options = log.options();
    // A blocking read holds the connection for `block`: the answer is due
    // only after that.
    let timeout = options.block + options.response_timeout;
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(options.response_timeout))
        .set_response_timeout(Some(timeout));
    let connecting = log
        .inner
        .client
        .get_multiplexed_async_connection_with_config(&config);
    let connection = match tokio::time::timeout(options.response_timeout, connecting).await {
        Ok(Ok(connection)) => connection,
        Ok(Err(error)) => return Err(redis_error(error)),
        Err(_elapsed) => {
            return Err(Error::unavailable(format!(
                "could not connect to Redis within {:?}",
                options.response_timeout
            )))
        }
    };
    let tail = Tail {
        connection,
        key: log.key(topic),
        block: options.block,
        timeout,
        cursor: after.map_or(EntryId::ZERO, EntryId::from_position),
        accounted: after.is_none().then_some(0),
        ready: VecDeque::new(),
    };
    Ok(Box::pin(stream::unfold(Some(tail), |tail| async move {
        let mut tail = tail?;
        if tail.ready.is_empty() {
            if let Err(error) = tail.fill().await {
                // The error ends the tail.
                return Some((Err(error), None));
            }
        }
        let record = tail.ready.pop_front()?;
        Some((Ok(record), Some(tail)))
    })))
}

impl Tail {
    /// Reads until there is something to yield.
    async fn fill(&mut self) -> Result<(), Error> {
        loop {
            let (page, info) = self.step().await?;
            let Some(info) = info else {
                // No stream yet: wait for its first entry.
                self.wait().await?;
                continue;
            };
            self.account(&page, info)?;
            if let Some(last) = page.last() {
                self.cursor = EntryId::from_position(last.position);
            }
            self.ready.extend(page.into_iter().map(TailRecord::Event));
            if !self.ready.is_empty() {
                return Ok(());
            }
            self.wait().await?;
        }
    }

    /// Counts the entries of `page` and any evicted before it; records a
    /// skip for the latter.
    fn account(&mut self, page: &[StoredEvent], info: StreamInfo) -> Result<(), Error> {
        if info.last_generated.unwrap_or(EntryId::ZERO) < self.cursor
            || self.accounted.is_some_and(|n| n > info.entries_added)
        {
            return Err(Error::unavailable(
                "the Redis stream lost its history (the broker restarted without its data, \
                 or the key was deleted)",
            ));
        }
        let page_len = page.len() as u64;
        if info.trimmed() && info.head_is_past(self.cursor) {
            // Nothing at or before the cursor is retained: of the entries
            // appended after it, those not retained were evicted unread.
            let skipped = match self.accounted {
                Some(accounted) => info
                    .entries_added
                    .saturating_sub(accounted)
                    .saturating_sub(info.length),
                // Started behind, before the tail knew its count: the head
                // passing its start means at least one.
                None => 1,
            };
            if skipped > 0 {
                self.ready.push_back(TailRecord::Skipped(skipped));
            }
            self.accounted = Some(info.entries_added - info.length + page_len);
        } else {
            self.accounted = self.accounted.map(|n| n + page_len);
        }
        if page.len() < PAGE {
            // The page holds everything after the cursor: the tail has now
            // seen (or counted) every entry ever appended.
            self.accounted = Some(info.entries_added);
        }
        Ok(())
    }

    /// A page after the cursor and the stream's counters, read together.
    async fn step(&mut self) -> Result<(Vec<StoredEvent>, Option<StreamInfo>), Error> {
        let pipe = entry::page_with_info(&self.key, &format!("({}", self.cursor), "+", PAGE);
        let mut connection = self.connection.clone();
        let replies: Vec<Value> = self.run(pipe.query_async(&mut connection)).await?;
        entry::parse_page_with_info(&replies)
    }

    /// Waits for an entry after the cursor, or for the blocking read to
    /// time out.
    async fn wait(&mut self) -> Result<(), Error> {
        let mut command = redis::cmd("XREAD");
        command
            .arg("COUNT")
            .arg(1)
            .arg("BLOCK")
            .arg(self.block.as_millis().max(1) as u64)
            .arg("STREAMS")
            .arg(&self.key)
            .arg(self.cursor.to_string());
        let mut connection = self.connection.clone();
        let _woken: Value = self.run(command.query_async(&mut connection)).await?;
        Ok(())
    }

    async fn run<T>(
        &self,
        query: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, Error> {
        match tokio::time::timeout(self.timeout, query).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(redis_error(error)),
            Err(_elapsed) => Err(Error::unavailable(format!(
                "Redis did not answer within {:?}",
                self.timeout
            ))),
        }
    }
}
