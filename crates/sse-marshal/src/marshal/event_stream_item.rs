//! What an event stream may carry.

use bytes::{Bytes, BytesMut};
use sse_model::{EncodedEvent, ServerSentEvent};

use crate::BoxError;

/// An item of a stream that can be served as `text/event-stream`: an event,
/// an [`EncodedEvent`] (sent as it is, without copying), or a `Result` of
/// one, whose error aborts the response.
///
/// Aborting is the only honest way to report an error halfway through an
/// event stream: the client sees the connection fail and reconnects with its
/// last event id, instead of mistaking a partial stream for a complete one.
pub trait EventStreamItem: Sized {
    /// Appends the encoded item to `dst`, or returns the error that ends the
    /// response.
    fn write_to(self, dst: &mut BytesMut) -> Result<(), BoxError>;

    /// The item's bytes when it is already encoded, so the body can hand
    /// them to the connection as they are; the item itself otherwise.
    fn try_into_bytes(self) -> Result<Bytes, Self> {
        Err(self)
    }
}

impl EventStreamItem for ServerSentEvent {
    fn write_to(self, dst: &mut BytesMut) -> Result<(), BoxError> {
        self.encode_into(dst);
        Ok(())
    }
}

impl EventStreamItem for &ServerSentEvent {
    fn write_to(self, dst: &mut BytesMut) -> Result<(), BoxError> {
        self.encode_into(dst);
        Ok(())
    }
}

impl EventStreamItem for EncodedEvent {
    fn write_to(self, dst: &mut BytesMut) -> Result<(), BoxError> {
        dst.extend_from_slice(self.as_bytes());
        Ok(())
    }

    fn try_into_bytes(self) -> Result<Bytes, Self> {
        Ok(self.into_bytes())
    }
}

impl<T, E> EventStreamItem for Result<T, E>
where
    T: EventStreamItem,
    E: Into<BoxError>,
{
    fn write_to(self, dst: &mut BytesMut) -> Result<(), BoxError> {
        self.map_err(Into::into)?.write_to(dst)
    }

    fn try_into_bytes(self) -> Result<Bytes, Self> {
        match self {
            Ok(item) => item.try_into_bytes().map_err(Ok),
            Err(error) => Err(Err(error)),
        }
    }
}
