//! Events as JetStream messages: the data is the payload, the type and the
//! reconnection time are headers, and the id is the stream's.

use async_nats::HeaderMap;
use bytes::Bytes;
use sse_hub::{Position, StoredEvent};
use sse_model::{EncodedEvent, EventType, ServerSentEvent};

use crate::names;

const TYPE_HEADER: &str = "Sse-Event";
const RETRY_HEADER: &str = "Sse-Retry";

/// The payload and headers `event` is published as.
pub(crate) fn to_message(event: &ServerSentEvent) -> (HeaderMap, Bytes) {
    let mut headers = HeaderMap::new();
    if let Some(event_type) = event.event_type() {
        // An event type has no line breaks: a valid header value.
        headers.insert(TYPE_HEADER, event_type);
    }
    if let Some(retry) = event.retry() {
        headers.insert(RETRY_HEADER, retry.to_string().as_str());
    }
    (headers, Bytes::copy_from_slice(event.data().as_bytes()))
}

/// The stored event of a message at `sequence` of a stream created at
/// `epoch`, encoded once.
pub(crate) fn stored_event(
    epoch: u64,
    sequence: u64,
    headers: Option<&HeaderMap>,
    payload: &[u8],
) -> StoredEvent {
    let header = |name: &str| headers.and_then(|h| h.get(name)).map(|v| v.as_str());
    let mut event = ServerSentEvent::new(String::from_utf8_lossy(payload).into_owned());
    if let Some(event_type) = header(TYPE_HEADER).and_then(|t| EventType::try_from(t).ok()) {
        event = event.with_event_type(event_type);
    }
    if let Some(retry) = header(RETRY_HEADER).and_then(|r| r.parse().ok()) {
        event = event.with_retry(retry);
    }
    let id = names::event_id(epoch, sequence);
    StoredEvent {
        position: Position(u128::from(sequence)),
        encoded: EncodedEvent::new(&event.with_id(id.clone())),
        id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_survives_the_round_trip() {
        let event = ServerSentEvent::new("a\nb")
            .with_event_type(EventType::from_static("note"))
            .with_retry(250);
        let (headers, payload) = to_message(&event);
        let stored = stored_event(7, 3, Some(&headers), &payload);
        assert_eq!(stored.id.as_str(), "7:3");
        assert_eq!(stored.position, Position(3));
        assert_eq!(
            stored.encoded.as_bytes(),
            b"data:a\ndata:b\nevent:note\nid:7:3\nretry:250\n\n"
        );
    }
}
