//! Validated field values: an event type and an event id can never carry a
//! line break onto the wire, because values that would are never built.

use std::fmt;

use crate::text::Text;
use crate::Error;

/// Why a byte string is not a valid single-line field value, if it is not.
const fn line_break_or_nul(bytes: &[u8], refuse_nul: bool) -> Option<&'static str> {
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => return Some("contains a line feed (LF)"),
            b'\r' => return Some("contains a carriage return (CR)"),
            0 if refuse_nul => return Some("contains a NUL character"),
            _ => {}
        }
        i += 1;
    }
    None
}

const fn event_type_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        // `event:` with an empty value resets the type to "message" on the
        // receiving side, so an empty type could not survive a round trip.
        return Some("is empty (leave the type unset for \"message\")");
    }
    line_break_or_nul(s.as_bytes(), false)
}

const fn event_id_problem(s: &str) -> Option<&'static str> {
    // A receiver ignores an `id` field that contains NUL, so such an id would
    // silently never reach the client: refuse it here instead.
    line_break_or_nul(s.as_bytes(), true)
}

/// The type of an event: the `event:` field, `"message"` when unset.
///
/// Never empty and never contains CR or LF, so it always encodes as exactly one
/// `event:` line.
///
/// ```
/// use sse_model::EventType;
///
/// const TICK: EventType = EventType::from_static("tick");
/// assert_eq!(TICK.as_str(), "tick");
///
/// let user_input = String::from("chat\nevent: admin");
/// assert!(EventType::new(user_input).unwrap_err().is_invalid_event_type());
/// ```
// Short types are stored inline and long ones shared (see `text.rs`), so
// building and cloning a type costs no allocation per event.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventType(Text);

impl EventType {
    /// Validates `value` as an event type: refuses an empty value and one with
    /// CR or LF.
    pub fn new(value: impl Into<String>) -> Result<Self, Error> {
        Self::from_text(&value.into())
    }

    /// Like [`new`](Self::new), from borrowed text: what `TryFrom<&str>`
    /// and `FromStr` do, without building a `String` first.
    fn from_text(value: &str) -> Result<Self, Error> {
        match event_type_problem(value) {
            None => Ok(EventType(Text::from_str(value))),
            Some(problem) => Err(Error::event_type(problem)),
        }
    }

    /// An event type from a literal, checked at compile time in a `const`.
    ///
    /// # Panics
    ///
    /// If `value` is empty or contains CR or LF. Meant for literals; use
    /// [`EventType::new`] for anything that comes from outside the program.
    pub const fn from_static(value: &'static str) -> Self {
        if let Some(problem) = event_type_problem(value) {
            panic!("{}", problem);
        }
        EventType(Text::from_static(value))
    }

    /// The type as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The type's bytes, for the encoder (no UTF-8 check).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// The id of an event: the `id:` field, which a client echoes back in the
/// `Last-Event-ID` header when it reconnects.
///
/// Never contains CR, LF or NUL (a receiver ignores ids with NUL). It may be
/// empty: an empty `id:` line tells the client to forget its last event id.
///
/// ```
/// use sse_model::EventId;
///
/// let id = EventId::from(42u64);
/// assert_eq!(id.as_str(), "42");
/// assert!(EventId::new("a\rb").unwrap_err().is_invalid_event_id());
/// ```
// Stored like `EventType`: every numeric id is inline, so `with_id(n)` and
// a parsed `id: 42` allocate nothing.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId(Text);

impl EventId {
    /// Validates `value` as an event id: refuses CR, LF and NUL.
    pub fn new(value: impl Into<String>) -> Result<Self, Error> {
        Self::from_text(&value.into())
    }

    /// Like [`new`](Self::new), from borrowed text: what `TryFrom<&str>`
    /// and `FromStr` do, without building a `String` first.
    fn from_text(value: &str) -> Result<Self, Error> {
        match event_id_problem(value) {
            None => Ok(EventId(Text::from_str(value))),
            Some(problem) => Err(Error::event_id(problem)),
        }
    }

    /// An event id from a literal, checked at compile time in a `const`.
    ///
    /// # Panics
    ///
    /// If `value` contains CR, LF or NUL. Meant for literals; use
    /// [`EventId::new`] for anything that comes from outside the program.
    pub const fn from_static(value: &'static str) -> Self {
        if let Some(problem) = event_id_problem(value) {
            panic!("{}", problem);
        }
        EventId(Text::from_static(value))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The id's bytes, for the encoder (no UTF-8 check).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Whether this is the empty id (which resets the client's last event id).
    pub fn is_empty(&self) -> bool {
        self.0.as_bytes().is_empty()
    }
}

impl From<u64> for EventId {
    /// Decimal digits never need validation, and never allocate.
    #[inline]
    fn from(n: u64) -> Self {
        EventId(Text::from_u64(n))
    }
}

macro_rules! text_value_impls {
    ($ty:ident) => {
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.as_str(), f)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        // Compared as bytes: equal bytes are equal text.
        impl PartialEq<str> for $ty {
            fn eq(&self, other: &str) -> bool {
                self.as_bytes() == other.as_bytes()
            }
        }

        impl PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                self.as_bytes() == other.as_bytes()
            }
        }

        impl TryFrom<String> for $ty {
            type Error = Error;
            fn try_from(value: String) -> Result<Self, Error> {
                $ty::new(value)
            }
        }

        impl TryFrom<&str> for $ty {
            type Error = Error;
            fn try_from(value: &str) -> Result<Self, Error> {
                $ty::from_text(value)
            }
        }

        impl std::str::FromStr for $ty {
            type Err = Error;
            fn from_str(value: &str) -> Result<Self, Error> {
                $ty::from_text(value)
            }
        }
    };
}

text_value_impls!(EventType);
text_value_impls!(EventId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_type_refuses_line_breaks_and_empty() {
        for bad in ["", "a\nb", "a\rb", "\r\n", "tick\n"] {
            let err = EventType::new(bad).unwrap_err();
            assert!(err.is_invalid_event_type(), "{bad:?}");
        }
        assert_eq!(EventType::new("a b:c\0").unwrap().as_str(), "a b:c\0");
    }

    #[test]
    fn event_id_refuses_line_breaks_and_nul() {
        for bad in ["a\nb", "a\rb", "a\0b", "\0"] {
            assert!(
                EventId::new(bad).unwrap_err().is_invalid_event_id(),
                "{bad:?}"
            );
        }
        assert!(EventId::new("").unwrap().is_empty());
        assert_eq!(EventId::new(" 7 ").unwrap(), " 7 ");
    }

    #[test]
    fn static_constructors_are_const() {
        const T: EventType = EventType::from_static("tick");
        const I: EventId = EventId::from_static("");
        assert_eq!(T, "tick");
        assert!(I.is_empty());
    }

    #[test]
    #[should_panic(expected = "line feed")]
    fn from_static_panics_on_line_feed() {
        let _ = EventType::from_static("a\nb");
    }

    #[test]
    fn numeric_ids() {
        assert_eq!(EventId::from(0u64), "0");
        assert_eq!(EventId::from(u64::MAX).as_str(), "18446744073709551615");
    }
}
