//! Event ids: the value an `id` line gives its block, and the last event ID
//! string that a dispatched block leaves behind.
//!
//! Most streams number their events. A numeric id is parsed once and its
//! [`EventId`] built from the number (no UTF-8 check, no copy of text); the
//! last event ID string keeps the number and makes its text only when it is
//! asked for, so a numbered event costs one `EventId` (the event's), not
//! two.

use std::sync::OnceLock;

use sse_model::EventId;

use super::values::{canonical_decimal, decode_utf8};

/// The last event ID buffer as an `id` line of the current block set it.
#[derive(Debug)]
pub(super) struct BlockId {
    pub(super) id: EventId,
    /// `id` is the decimal digits of this number.
    pub(super) number: Option<u64>,
}

impl BlockId {
    /// The id an `id` line with this value sets, if it is accepted: a value
    /// with NUL is ignored.
    #[inline(always)]
    pub(super) fn parse(value: &[u8]) -> Option<BlockId> {
        if let Some(n) = canonical_decimal(value) {
            return Some(BlockId {
                id: EventId::from(n),
                number: Some(n),
            });
        }
        // `EventId` refuses exactly NUL, CR and LF, and lines never hold CR
        // or LF: its check is the NUL check. Short ids are stored inline: no
        // allocation.
        let id = EventId::try_from(&*decode_utf8(value)).ok()?;
        Some(BlockId { id, number: None })
    }

    pub(super) fn text(id: &EventId) -> BlockId {
        BlockId {
            id: id.clone(),
            number: None,
        }
    }
}

/// The last event ID string.
#[derive(Debug)]
pub(super) struct LastEventId {
    value: Value,
    /// The text of a `Value::Number`, made when it is first asked for.
    text: OnceLock<EventId>,
}

#[derive(Debug)]
enum Value {
    Number(u64),
    Text(EventId),
}

impl Default for LastEventId {
    fn default() -> Self {
        LastEventId {
            value: Value::Text(EventId::from_static("")),
            text: OnceLock::new(),
        }
    }
}

impl LastEventId {
    pub(super) fn as_str(&self) -> &str {
        match &self.value {
            Value::Text(id) => id.as_str(),
            Value::Number(n) => self.text.get_or_init(|| EventId::from(*n)).as_str(),
        }
    }

    /// The id for an event without one of its own: `None` while the string
    /// is empty.
    #[inline]
    pub(super) fn inherited(&self) -> Option<EventId> {
        match &self.value {
            Value::Text(id) if id.is_empty() => None,
            Value::Text(id) => Some(id.clone()),
            Value::Number(n) => Some(self.text.get_or_init(|| EventId::from(*n)).clone()),
        }
    }

    /// Becomes `id`, whose digits are `number` if it has one.
    #[inline(always)]
    pub(super) fn set(&mut self, id: &EventId, number: Option<u64>) {
        self.value = match number {
            Some(n) => {
                self.text = OnceLock::new();
                Value::Number(n)
            }
            None => Value::Text(id.clone()),
        };
    }
}
