//! An event encoded once, for sending to many clients.

use std::fmt;

use bytes::Bytes;

use crate::ServerSentEvent;

/// The wire bytes of one event, encoded once and cheap to clone (cloning
/// shares the bytes), for broadcasting the same event to many clients
/// without encoding or copying it per client.
///
/// It can only be made from a [`ServerSentEvent`], so its bytes are always
/// one well-formed event block.
///
/// ```
/// use sse_model::{EncodedEvent, ServerSentEvent};
///
/// let encoded = EncodedEvent::new(&ServerSentEvent::new("hi").with_id(1));
/// let copy = encoded.clone(); // no copy of the bytes
/// assert_eq!(copy.as_bytes(), b"data:hi\nid:1\n\n");
/// assert_eq!(copy.as_bytes().as_ptr(), encoded.as_bytes().as_ptr());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EncodedEvent {
    bytes: Bytes,
}

impl EncodedEvent {
    /// Encodes `event`.
    pub fn new(event: &ServerSentEvent) -> Self {
        EncodedEvent {
            bytes: event.encode(),
        }
    }

    /// The encoded [heartbeat](ServerSentEvent::heartbeat), `:\n\n`, from
    /// static memory: no allocation.
    pub fn heartbeat() -> Self {
        EncodedEvent {
            bytes: Bytes::from_static(crate::HEARTBEAT_BYTES),
        }
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The encoded bytes, shared.
    pub fn to_bytes(&self) -> Bytes {
        self.bytes.clone()
    }

    /// Takes the bytes out.
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }

    /// The number of bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always `false`: an encoded event has at least its closing empty line.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl From<&ServerSentEvent> for EncodedEvent {
    fn from(event: &ServerSentEvent) -> Self {
        EncodedEvent::new(event)
    }
}

impl From<ServerSentEvent> for EncodedEvent {
    fn from(event: ServerSentEvent) -> Self {
        EncodedEvent::new(&event)
    }
}

impl fmt::Debug for EncodedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EncodedEvent").field(&self.bytes).finish()
    }
}
