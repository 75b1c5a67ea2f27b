//! Replay: the retained events of a stream between two sequences, read with
//! a short-lived ordered consumer.

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use async_nats::jetstream::stream::Stream;
use futures_util::StreamExt;
use sse_hub::{Error, StoredEvent};

use crate::{message, NatsLog};

/// The events of `stream` from `start` to `last`, or nothing if some were
/// evicted while they were read. With `exact`, the first must be `start`
/// itself (a resuming reader's next event), else any retained one.
pub(crate) async fn range(
    log: &NatsLog,
    topic: &str,
    stream: &Stream,
    epoch: u64,
    start: u64,
    last: u64,
    exact: bool,
) -> Result<Option<Vec<StoredEvent>>, Error> {
    let config = pull::OrderedConfig {
        deliver_policy: DeliverPolicy::ByStartSequence {
            start_sequence: start,
        },
        ..Default::default()
    };
    let consumer = log.bounded(stream.create_consumer(config)).await?;
    let mut messages = log.bounded(consumer.messages()).await?;
    let expected_len =
        usize::try_from(last.saturating_sub(start).saturating_add(1)).unwrap_or(usize::MAX);
    let mut events = Vec::with_capacity(expected_len.min(10_000));
    let mut expected = start;
    loop {
        let timeout = log.options().response_timeout;
        let next = match tokio::time::timeout(timeout, messages.next()).await {
            Ok(Some(Ok(next))) => next,
            Ok(Some(Err(error))) => return Err(log.failed(error)),
            Ok(None) => return Err(Error::log("the replay consumer ended early")),
            Err(_elapsed) => {
                // Nothing comes: either the rest was evicted as it was
                // read (and nothing newer was appended), or the broker is
                // gone.
                return match log.open_stream(topic, false).await? {
                    Some((stream, _)) if stream.cached_info().state.first_sequence > expected => {
                        Ok(None)
                    }
                    _ => Err(Error::unavailable(format!(
                        "NATS sent no event of the replay within {timeout:?}"
                    ))),
                };
            }
        };
        let sequence = next.info().map_err(|e| log.failed(e))?.stream_sequence;
        if sequence > last {
            // Everything up to `last` was evicted as it was read.
            return Ok((!exact && events.is_empty()).then_some(events));
        }
        if sequence != expected && (exact || !events.is_empty()) {
            // A hole: evicted while read.
            return Ok(None);
        }
        events.push(message::stored_event(
            epoch,
            sequence,
            next.headers.as_ref(),
            &next.payload,
        ));
        if sequence == last {
            return Ok(Some(events));
        }
        expected = sequence + 1;
    }
}
