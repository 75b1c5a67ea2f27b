//! The tail of a topic: one ordered consumer per topic per node, from the
//! sequence after a position. Sequences have no holes, so a jump is an
//! exact count of what was evicted before the tail read it. The tail ends
//! when the connection drops: after a broker restart the stream may be a
//! new one whose sequences start over.

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use futures_util::{stream, StreamExt};
use sse_hub::{Error, Position, TailRecord, TailStream};

use crate::{message, NatsLog};

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
    let log = log.clone();
    let state = (messages, drops, after + 1, None::<TailRecord>);
    Ok(Box::pin(stream::unfold(Some(state), move |state| {
        let log = log.clone();
        async move {
            let (mut messages, mut drops, mut expected, pending) = state?;
            if let Some(record) = pending {
                return Some((Ok(record), Some((messages, drops, expected, None))));
            }
            loop {
                let next = tokio::select! {
                    biased;
                    _ = drops.changed() => {
                        let error = Error::unavailable("the connection to NATS dropped");
                        return Some((Err(error), None));
                    }
                    next = messages.next() => next,
                };
                let message = match next {
                    Some(Ok(message)) => message,
                    Some(Err(error)) => return Some((Err(log.failed(error)), None)),
                    None => return None,
                };
                let sequence = match message.info() {
                    Ok(info) => info.stream_sequence,
                    Err(error) => return Some((Err(log.failed(error)), None)),
                };
                if sequence < expected {
                    continue; // A redelivery after the consumer was recreated.
                }
                let event = TailRecord::Event(message::stored_event(
                    epoch,
                    sequence,
                    message.headers.as_ref(),
                    &message.payload,
                ));
                let skipped = sequence - expected;
                expected = sequence + 1;
                return Some(if skipped > 0 {
                    let state = (messages, drops, expected, Some(event));
                    (Ok(TailRecord::Skipped(skipped)), Some(state))
                } else {
                    (Ok(event), Some((messages, drops, expected, None)))
                });
            }
        }
    })))
}
