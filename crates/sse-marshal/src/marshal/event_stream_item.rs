//! What an event stream may carry.

use bytes::BytesMut;
use sse_model::ServerSentEvent;

use crate::BoxError;

/// An item of a stream that can be served as `text/event-stream`: an event,
/// or a `Result` of one, whose error aborts the response.
///
/// Aborting is the only honest way to report an error halfway through an
/// event stream: the client sees the connection fail and reconnects with its
/// last event id, instead of mistaking a partial stream for a complete one.
pub trait EventStreamItem {
    /// Appends the encoded item to `dst`, or returns the error that ends the
    /// response.
    fn write_to(self, dst: &mut BytesMut) -> Result<(), BoxError>;
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

impl<T, E> EventStreamItem for Result<T, E>
where
    T: EventStreamItem,
    E: Into<BoxError>,
{
    fn write_to(self, dst: &mut BytesMut) -> Result<(), BoxError> {
        self.map_err(Into::into)?.write_to(dst)
    }
}
