//! The event itself.

use std::time::Duration;

use crate::{EventId, EventType};

/// One server-sent event: data, and optionally a type, an id and a
/// reconnection time.
///
/// Build one with [`ServerSentEvent::new`] and the `with_*` methods. The type
/// and id are validated values ([`EventType`], [`EventId`]), so an event can
/// always be encoded and no field can smuggle a line break onto the wire; the
/// data may contain any text, line breaks included (the encoder splits it into
/// `data:` lines).
///
/// ```
/// use sse_model::{EventType, ServerSentEvent};
///
/// let event = ServerSentEvent::new("line one\nline two")
///     .with_event_type(EventType::from_static("update"))
///     .with_id(7)
///     .with_retry(3_000);
///
/// assert_eq!(event.data(), "line one\nline two");
/// assert_eq!(event.event_type(), Some("update"));
/// assert_eq!(event.id(), Some("7"));
/// assert_eq!(event.retry(), Some(3_000));
/// ```
///
/// # Its id, and the last event id in effect
///
/// [`id`](Self::id) is the event's own `id:` field, as Akka HTTP models it.
/// A browser's `MessageEvent.lastEventId` is something else: the last event
/// id in effect when the event was dispatched, which an event without an
/// `id:` of its own inherits from the blocks before it. A parsed event
/// carries both; [`last_event_id`](Self::last_event_id) is the browser's.
/// Equality and hashing look at the event's own fields only.
///
/// ```
/// use sse_model::{EventId, ServerSentEvent};
///
/// let parsed = ServerSentEvent::new("second").with_last_event_id(EventId::from_static("abc"));
/// assert_eq!(parsed.id(), None); // no `id:` of its own
/// assert_eq!(parsed.last_event_id(), Some("abc")); // what a browser shows
/// assert_eq!(parsed, ServerSentEvent::new("second"));
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct ServerSentEvent {
    data: String,
    event_type: Option<EventType>,
    /// The last event id in effect: the event's own, or, when
    /// `id_inherited`, the one before it.
    id: Option<EventId>,
    retry: Option<u64>,
    heartbeat: bool,
    id_inherited: bool,
}

impl PartialEq for ServerSentEvent {
    fn eq(&self, other: &Self) -> bool {
        self.data == other.data
            && self.event_type == other.event_type
            && self.id_value() == other.id_value()
            && self.retry == other.retry
            && self.heartbeat == other.heartbeat
    }
}

impl Eq for ServerSentEvent {}

impl std::hash::Hash for ServerSentEvent {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.data.hash(state);
        self.event_type.hash(state);
        self.id_value().hash(state);
        self.retry.hash(state);
        self.heartbeat.hash(state);
    }
}

impl ServerSentEvent {
    /// An event of type `message` carrying `data`.
    ///
    /// Empty data is allowed: a browser dispatches it as a message whose data
    /// is the empty string. To keep a connection alive without dispatching
    /// anything, use [`ServerSentEvent::heartbeat`].
    pub fn new(data: impl Into<String>) -> Self {
        ServerSentEvent {
            data: data.into(),
            ..ServerSentEvent::default()
        }
    }

    /// An event from all its fields at once, as a parser has them: the same
    /// event as `new(data)` followed by the `with_*` calls for the fields
    /// that are `Some`, built in one step.
    ///
    /// ```
    /// use sse_model::{EventId, EventType, ServerSentEvent};
    ///
    /// let event = ServerSentEvent::from_fields(
    ///     String::from("hello"),
    ///     Some(EventType::from_static("greeting")),
    ///     Some(EventId::from(7u64)),
    ///     None,
    /// );
    /// let built = ServerSentEvent::new("hello")
    ///     .with_event_type(EventType::from_static("greeting"))
    ///     .with_id(7);
    /// assert_eq!(event, built);
    /// ```
    #[inline]
    pub fn from_fields(
        data: String,
        event_type: Option<EventType>,
        id: Option<EventId>,
        retry: Option<u64>,
    ) -> Self {
        ServerSentEvent {
            data,
            event_type,
            id,
            retry,
            heartbeat: false,
            id_inherited: false,
        }
    }

    /// A keep-alive that carries nothing and that clients do not dispatch.
    ///
    /// It is encoded as the comment `:\n\n`, which keeps proxies and idle
    /// timers from closing the connection. This is the one deliberate
    /// difference from Akka HTTP, whose heartbeat is an event with empty data
    /// (`data:\n\n`): browsers deliver that to `onmessage` as an empty
    /// message, which a heartbeat should never be.
    ///
    /// Any `with_*` method turns a heartbeat into an ordinary event with empty
    /// data.
    ///
    /// ```
    /// use sse_model::ServerSentEvent;
    ///
    /// let beat = ServerSentEvent::heartbeat();
    /// assert!(beat.is_heartbeat());
    /// assert_eq!(&beat.encode()[..], b":\n\n");
    /// ```
    pub fn heartbeat() -> Self {
        ServerSentEvent {
            heartbeat: true,
            ..ServerSentEvent::default()
        }
    }

    /// Sets the event type (the `event:` field).
    pub fn with_event_type(mut self, event_type: impl Into<EventType>) -> Self {
        self.event_type = Some(event_type.into());
        self.heartbeat = false;
        self
    }

    /// Sets the event id (the `id:` field). Numbers convert directly:
    /// `with_id(7)`.
    pub fn with_id(mut self, id: impl Into<EventId>) -> Self {
        self.id = Some(id.into());
        self.id_inherited = false;
        self.heartbeat = false;
        self
    }

    /// Records the last event id in effect for an event without an `id:` of
    /// its own, as a parser knows it: [`last_event_id`](Self::last_event_id)
    /// returns it, [`id`](Self::id) stays `None`, and it is never encoded.
    /// An event with an id of its own keeps that one.
    pub fn with_last_event_id(mut self, id: EventId) -> Self {
        if self.id.is_none() || self.id_inherited {
            self.id = Some(id);
            self.id_inherited = true;
        }
        self
    }

    /// Sets the reconnection time in milliseconds (the `retry:` field).
    #[inline]
    pub fn with_retry(mut self, millis: u64) -> Self {
        self.retry = Some(millis);
        self.heartbeat = false;
        self
    }

    /// Replaces the data.
    pub fn with_data(mut self, data: impl Into<String>) -> Self {
        self.data = data.into();
        self.heartbeat = false;
        self
    }

    /// The data; lines are separated by LF once an event has been parsed.
    pub fn data(&self) -> &str {
        &self.data
    }

    /// Takes the data out of the event without copying it.
    pub fn into_data(self) -> String {
        self.data
    }

    /// The event type, if set. Receivers treat an unset type as `"message"`.
    pub fn event_type(&self) -> Option<&str> {
        self.event_type.as_ref().map(EventType::as_str)
    }

    /// The event's own id (its `id:` field), if it has one.
    pub fn id(&self) -> Option<&str> {
        self.id_value().map(EventId::as_str)
    }

    /// The last event id in effect when the event was dispatched: its own,
    /// or the one it inherited from an earlier block (a browser's
    /// `MessageEvent.lastEventId`, where `None` is `""`).
    pub fn last_event_id(&self) -> Option<&str> {
        self.id.as_ref().map(EventId::as_str)
    }

    /// The reconnection time in milliseconds, if set.
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// The reconnection time as a [`Duration`], if set.
    pub fn retry_duration(&self) -> Option<Duration> {
        self.retry.map(Duration::from_millis)
    }

    /// Whether this is a [heartbeat](ServerSentEvent::heartbeat).
    pub fn is_heartbeat(&self) -> bool {
        self.heartbeat
    }

    /// The validated event type, if set.
    pub fn event_type_value(&self) -> Option<&EventType> {
        self.event_type.as_ref()
    }

    /// The event's own validated id, if it has one.
    pub fn id_value(&self) -> Option<&EventId> {
        if self.id_inherited {
            return None;
        }
        self.id.as_ref()
    }
}

impl From<String> for ServerSentEvent {
    fn from(data: String) -> Self {
        ServerSentEvent::new(data)
    }
}

impl From<&str> for ServerSentEvent {
    fn from(data: &str) -> Self {
        ServerSentEvent::new(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_set_fields() {
        let e = ServerSentEvent::new("d")
            .with_event_type(EventType::from_static("t"))
            .with_id(EventId::from_static("i"))
            .with_retry(5);
        assert_eq!(
            (e.data(), e.event_type(), e.id(), e.retry()),
            ("d", Some("t"), Some("i"), Some(5))
        );
        assert_eq!(e.retry_duration(), Some(Duration::from_millis(5)));
        assert!(!e.is_heartbeat());
    }

    #[test]
    fn an_inherited_id_is_the_last_event_id_but_not_the_events_own() {
        let abc = EventId::from_static("abc");
        let inherited = ServerSentEvent::new("x").with_last_event_id(abc.clone());
        assert_eq!(
            (inherited.id(), inherited.last_event_id()),
            (None, Some("abc"))
        );
        assert_eq!(&inherited.encode()[..], b"data:x\n\n");
        assert_eq!(inherited, ServerSentEvent::new("x"));
        let own = ServerSentEvent::new("x")
            .with_id(1)
            .with_last_event_id(abc.clone());
        assert_eq!((own.id(), own.last_event_id()), (Some("1"), Some("1")));
        let replaced = inherited.with_id(2);
        assert_eq!(
            (replaced.id(), replaced.last_event_id()),
            (Some("2"), Some("2"))
        );
        assert_ne!(replaced, ServerSentEvent::new("x"));
    }

    #[test]
    fn heartbeat_is_not_an_empty_event() {
        assert_ne!(ServerSentEvent::heartbeat(), ServerSentEvent::new(""));
        let e = ServerSentEvent::heartbeat().with_id(1);
        assert!(!e.is_heartbeat());
        assert_eq!(e.data(), "");
    }
}
