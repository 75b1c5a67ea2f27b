//! The tail of a topic: one ordered consumer per topic per node, from the
//! sequence after a position. Sequences have no holes, so a jump is an
//! exact count of what was evicted before the tail read it. The tail ends
//! when the connection drops (after a broker restart the stream may be a
//! new one whose sequences start over), when sequences go backwards, and
//! when a check every few seconds finds the stream gone or created again:
//! the ordered consumer would otherwise recreate itself on the new stream
//! silently, or wait forever on a stream that no longer exists.

use std::time::Duration;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use futures_util::{stream, StreamExt};
use sse_hub::{Error, Position, TailRecord, TailStream};
use tokio::sync::watch;

use crate::{message, NatsLog};

/// How often a tail checks that its stream is still the one it reads.
const CHECK_EVERY: Duration = Duration::from_secs(5);

/// Starts the tail of `topic` after `after` (from the start with `None`).
pub(crate) async fn start(
    log: &NatsLog,
    topic: &str,
    after: Option<Position>,
) -> Result<TailStream, Error> {
    let mut drops = log.inner.drops.subscribe();
    drops.borrow_and_update();
    let (stream, epoch) = log
        .open_stream(topic, true)
        .await?
        .ok_or_else(|| Error::log("the stream could not be created"))?;
    let after = after.map_or(0, |p| u64::try_from(p.0).unwrap_or(u64::MAX));
    let config = pull::OrderedConfig {
        deliver_policy: if after == 0 {
            DeliverPolicy::All
        } else {
            DeliverPolicy::ByStartSequence {
                start_sequence: after + 1,
            }
        },
        ..Default::default()
    };
    let consumer = log.bounded(stream.create_consumer(config)).await?;
    let messages = log.bounded(consumer.messages()).await?;
    let mut checks = tokio::time::interval(CHECK_EVERY);
    checks.reset();
    let tail = Tail {
        log: log.clone(),
        topic: topic.to_owned(),
        epoch,
        messages,
        drops,
        checks,
        expected: after + 1,
        pending: None,
    };
    Ok(Box::pin(stream::unfold(Some(tail), |tail| async move {
        let mut tail = tail?;
        match tail.next().await {
            Ok(record) => Some((Ok(record), Some(tail))),
            // The error ends the tail.
            Err(error) => Some((Err(error), None)),
        }
    })))
}

struct Tail {
    log: NatsLog,
    topic: String,
    epoch: u64,
    messages: pull::Ordered,
    drops: watch::Receiver<u64>,
    checks: tokio::time::Interval,
    /// The sequence of the next event.
    expected: u64,
    /// An event behind the skip that goes first.
    pending: Option<TailRecord>,
}

impl Tail {
    async fn next(&mut self) -> Result<TailRecord, Error> {
        if let Some(record) = self.pending.take() {
            return Ok(record);
        }
        loop {
            let next = tokio::select! {
                biased;
                _ = self.drops.changed() => {
                    return Err(Error::unavailable("the connection to NATS dropped"));
                }
                _ = self.checks.tick() => {
                    still_the_stream(&self.log, &self.topic, self.epoch).await?;
                    continue;
                }
                next = self.messages.next() => next,
            };
            let message = match next {
                Some(Ok(message)) => message,
                Some(Err(error)) => return Err(self.log.failed(error)),
                None => return Err(Error::log("the ordered consumer ended")),
            };
            let sequence = message
                .info()
                .map_err(|error| self.log.failed(error))?
                .stream_sequence;
            if sequence < self.expected {
                // Backwards: the consumer was recreated on a stream that
                // started over.
                return Err(Error::unavailable(format!(
                    "the stream went back from sequence {} to {sequence}: it was created again",
                    self.expected - 1
                )));
            }
            let event = TailRecord::Event(message::stored_event(
                self.epoch,
                sequence,
                message.headers.as_ref(),
                &message.payload,
            ));
            let skipped = sequence - self.expected;
            self.expected = sequence + 1;
            if skipped == 0 {
                return Ok(event);
            }
            self.pending = Some(event);
            return Ok(TailRecord::Skipped(skipped));
        }
    }
}

/// Fails unless the client is connected and `topic`'s stream is the one
/// created at `epoch` (a free function: a `&Tail` is not `Send`).
async fn still_the_stream(log: &NatsLog, topic: &str, epoch: u64) -> Result<(), Error> {
    match log.open_stream(topic, false).await? {
        Some((_, now)) if now == epoch => Ok(()),
        Some(_) => Err(Error::unavailable("the stream was created again")),
        None => Err(Error::unavailable("the stream is gone")),
    }
}
