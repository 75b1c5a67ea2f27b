//! Client side: HTTP responses become streams of events.

mod event_reader;
mod event_source;
mod from_entity;
mod unmarshalling;

pub use event_reader::EventReader;
pub use event_source::EventSource;
pub use from_entity::{FromEntity, Unmarshal};
pub use unmarshalling::{EventStreamUnmarshalling, ResponseKind};
