//! The encoder as a codec, the counterpart of the parser.

use bytes::BytesMut;
use sse_model::ServerSentEvent;
use tokio_util::codec::Encoder;

use crate::Error;

/// Encodes [`ServerSentEvent`]s onto a byte buffer, for `FramedWrite` and
/// friends. Encoding never fails.
///
/// ```
/// use bytes::BytesMut;
/// use sse_marshal::EventStreamEncoder;
/// use sse_model::ServerSentEvent;
/// use tokio_util::codec::Encoder;
///
/// let mut buf = BytesMut::new();
/// let mut encoder = EventStreamEncoder::new();
/// encoder.encode(ServerSentEvent::new("a\nb"), &mut buf)?;
/// encoder.encode(ServerSentEvent::heartbeat(), &mut buf)?;
/// assert_eq!(&buf[..], b"data:a\ndata:b\n\n:\n\n");
/// # Ok::<(), sse_marshal::Error>(())
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct EventStreamEncoder {
    _private: (),
}

impl EventStreamEncoder {
    /// A new encoder.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Encoder<ServerSentEvent> for EventStreamEncoder {
    type Error = Error;

    fn encode(&mut self, event: ServerSentEvent, dst: &mut BytesMut) -> Result<(), Error> {
        event.encode_into(dst);
        Ok(())
    }
}

impl Encoder<&ServerSentEvent> for EventStreamEncoder {
    type Error = Error;

    fn encode(&mut self, event: &ServerSentEvent, dst: &mut BytesMut) -> Result<(), Error> {
        event.encode_into(dst);
        Ok(())
    }
}
