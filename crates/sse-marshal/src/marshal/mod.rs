//! Server side: values and event streams become HTTP responses.

mod event_stream;
mod event_stream_body;
mod event_stream_item;
mod keep_alive;
mod marshalling;
mod response_body;
mod to_response;

pub use event_stream::EventStream;
pub use event_stream_body::EventStreamBody;
pub use event_stream_item::EventStreamItem;
pub use keep_alive::{EventStreamExt, KeepAlive};
pub use marshalling::EventStreamMarshalling;
pub use response_body::ResponseBody;
pub use to_response::{Html, ResultMarker, ToResponse};
