//! Event assembly: interprets one line at a time as the WHATWG "interpreting
//! an event stream" algorithm says, collects the data buffer, and dispatches
//! an event on an empty line.
//!
//! Lines are interpreted where they lie in the input buffer, which holds
//! every line of the block being read until the parser flushes it (see
//! `mod.rs`). That makes the common event cheap:
//! - the value of a block's first data line is not copied into the data
//!   buffer but remembered as a range of the input; if no other data line
//!   follows, dispatch checks its UTF-8 once and copies it once, into a
//!   `String` of exactly its size. A second data line, or a flush of the
//!   input, first moves it into the data buffer ([`EventBuilder::materialize`]);
//! - an `event` value equal to the previous one (compared as bytes) reuses
//!   that event's [`EventType`];
//! - an `id` value becomes an [`EventId`] at once (see `last_id.rs`).

use std::ops::Range;

use sse_model::{EventId, EventType, ServerSentEvent};

use super::last_id::{BlockId, LastEventId};
use super::lines::utf8_prefix;
use super::values::{decode_owned, decode_utf8, same_bytes, split_field, value_start};
use crate::settings::{OversizePolicy, Oversized, OversizedKind};
use crate::{Error, ServerSentEventSettings};

/// What happens to the data of the block being read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum DataState {
    /// Collecting data lines.
    #[default]
    Collecting,
    /// The data reached the limit and was truncated: further data lines of
    /// this block are ignored, the event is still dispatched.
    Truncated,
    /// The event exceeded the limit and is dropped when its block ends.
    Dropped,
}

/// A data buffer of at most this capacity is copied out into the event and
/// kept for the next one; a larger one is handed to the event. Small events
/// then cost one allocation of exactly their size (instead of the buffer's
/// growth, event after event), while a parser between events holds at most
/// this much: clients keep many parsers open. It covers events up to the
/// default limit of 8192 bytes.
const DATA_BUFFER_KEPT: usize = 16 * 1024;

/// The parser's interpretation state: the spec's buffers.
#[derive(Debug)]
pub(super) struct EventBuilder {
    /// The data buffer: each `data` value followed by LF; empty while the
    /// block's only data line is `first_data`.
    data: String,
    /// The value of the block's first data line, as a range of the input
    /// buffer, while it is the block's only one: the data buffer is then
    /// that value (decoded) followed by LF. Only valid until the input is
    /// flushed: see [`materialize`](Self::materialize).
    first_data: Option<Range<usize>>,
    /// The type of the last `event` line with a value, and that value's
    /// bytes: a block with the same value reuses it.
    last_type: Option<EventType>,
    last_type_bytes: Vec<u8>,
    /// Whether the event type buffer holds a value, which is then
    /// `last_type`: it is cloned into the event on dispatch.
    type_in_block: bool,
    /// The last event ID buffer, when an `id` line of this block set it;
    /// otherwise the buffer equals `last_event_id`.
    id_in_block: Option<BlockId>,
    /// The last event ID string: the buffer as of the last empty line (the
    /// spec's dispatch step 1), which is what a reconnecting client sends. A
    /// connection cut between an `id` line and its block's end must not move
    /// the resume point past an event that never arrived.
    last_event_id: LastEventId,
    /// The data buffer size of the last event too large for the kept buffer
    /// (see [`DATA_BUFFER_KEPT`]), or zero: a new buffer starts with this
    /// capacity, as the events of a stream tend to be alike. Growing one
    /// from nothing to 64 KiB would take ten allocations and copies.
    large_data: usize,
    /// The reconnection time in milliseconds; persists across events.
    retry: Option<u64>,
    /// The `retry` value of the current block, if it had a valid one.
    retry_in_block: Option<u64>,
    data_state: DataState,
}

impl Default for EventBuilder {
    fn default() -> Self {
        EventBuilder {
            data: String::new(),
            first_data: None,
            last_type: None,
            last_type_bytes: Vec::new(),
            type_in_block: false,
            id_in_block: None,
            last_event_id: LastEventId::default(),
            large_data: 0,
            retry: None,
            retry_in_block: None,
            data_state: DataState::Collecting,
        }
    }
}

impl EventBuilder {
    pub(super) fn last_event_id(&self) -> &str {
        self.last_event_id.as_str()
    }

    pub(super) fn set_last_event_id(&mut self, id: &EventId) {
        self.last_event_id.set(id, None);
        let id = BlockId::text(id);
        // The last event ID buffer follows, also where a line of the current
        // block had set it.
        if self.id_in_block.is_some() {
            self.id_in_block = Some(id);
        }
    }

    pub(super) fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// Interprets the complete, non-empty line `input[start..end]` (without
    /// its line break); an empty line is [`dispatch`](Self::dispatch).
    /// `input` must keep the line's bytes until the next
    /// [`materialize`](Self::materialize), which the parser calls before it
    /// flushes them.
    #[inline(always)]
    pub(super) fn line(
        &mut self,
        input: &[u8],
        start: usize,
        end: usize,
        settings: &ServerSentEventSettings,
    ) -> Result<(), Error> {
        let line = &input[start..end];
        // The usual fields by their first byte, without splitting the line.
        match line.first() {
            Some(b'd') if line.starts_with(b"data:") => {
                self.data(input, value_start(line, start, 5), end, settings)
            }
            Some(b'i') if line.starts_with(b"id:") => {
                self.id(&input[value_start(line, start, 3)..end]);
                Ok(())
            }
            Some(b'e') if line.starts_with(b"event:") => {
                self.event_type(&input[value_start(line, start, 6)..end]);
                Ok(())
            }
            Some(b':') => {
                if let Some(comments) = settings.comments() {
                    comments.call(&decode_utf8(&line[1..]));
                }
                Ok(())
            }
            _ => self.field(input, start, end, settings),
        }
    }

    /// Any other field line: split at the first colon.
    #[inline(never)]
    fn field(
        &mut self,
        input: &[u8],
        start: usize,
        end: usize,
        settings: &ServerSentEventSettings,
    ) -> Result<(), Error> {
        let (name, value_at) = split_field(&input[start..end]);
        let value = &input[start + value_at..end];
        match name {
            b"data" => self.data(input, start + value_at, end, settings)?,
            b"event" => self.event_type(value),
            b"id" => self.id(value),
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                let millis = value.iter().fold(0u64, |n, digit| {
                    n.saturating_mul(10).saturating_add(u64::from(digit - b'0'))
                });
                self.retry = Some(millis);
                self.retry_in_block = Some(millis);
            }
            _ => {}
        }
        Ok(())
    }

    fn event_type(&mut self, value: &[u8]) {
        if value.is_empty() {
            // An empty type means the default type.
            self.type_in_block = false;
            return;
        }
        if self.last_type.is_none() || !same_bytes(&self.last_type_bytes, value) {
            self.new_event_type(value);
        }
        self.type_in_block = true;
    }

    #[inline(never)]
    fn new_event_type(&mut self, value: &[u8]) {
        // Cannot fail: lines never hold CR or LF, and it is not empty.
        self.last_type = EventType::try_from(&*decode_utf8(value)).ok();
        self.last_type_bytes.clear();
        self.last_type_bytes.extend_from_slice(value);
    }

    #[inline(never)]
    fn id(&mut self, value: &[u8]) {
        if let Some(id) = BlockId::parse(value) {
            self.id_in_block = Some(id);
        }
    }

    /// A data line whose value is `input[start..end]`.
    #[inline]
    fn data(
        &mut self,
        input: &[u8],
        start: usize,
        end: usize,
        settings: &ServerSentEventSettings,
    ) -> Result<(), Error> {
        if self.data_state != DataState::Collecting {
            return Ok(());
        }
        if self.first_data.is_none() && self.data.is_empty() {
            // UTF-8 decoding at most triples the length (each replaced
            // sequence of one to three bytes becomes the three of U+FFFD): a
            // value that fits three times cannot exceed the limit, so its
            // decoding can wait for dispatch.
            let limit = settings.max_event_size();
            if limit == 0 || end - start <= limit / 3 {
                self.first_data = Some(start..end);
                return Ok(());
            }
        }
        self.materialize(input);
        self.push_data(&input[start..end], settings)
    }

    /// Whether a data value is still in the input: call
    /// [`materialize`](Self::materialize) before flushing it.
    #[inline]
    pub(super) fn refers_to_input(&self) -> bool {
        self.first_data.is_some()
    }

    /// Moves a first data value still in the input into the data buffer:
    /// before a second data line, and before the input is flushed.
    #[inline(never)]
    pub(super) fn materialize(&mut self, input: &[u8]) {
        if let Some(range) = self.first_data.take() {
            self.start_buffer();
            self.data.push_str(&decode_utf8(&input[range]));
            self.data.push('\n');
        }
    }

    /// Appends a data value to the data buffer, within the event limit.
    #[inline(never)]
    fn push_data(&mut self, value: &[u8], settings: &ServerSentEventSettings) -> Result<(), Error> {
        let value = decode_utf8(value);
        let limit = settings.max_event_size();
        // The event's data is the data buffer without its last LF: with this
        // value it would be `self.data.len() + value.len()` bytes.
        if limit == 0 || self.data.len() + value.len() <= limit {
            self.start_buffer();
            self.data.push_str(&value);
            self.data.push('\n');
            return Ok(());
        }
        // What the event had collected, at most `limit` bytes.
        let collected = self.data.strip_suffix('\n').unwrap_or(&self.data);
        let oversized = || Oversized::new(OversizedKind::Event, limit, collected.as_bytes());
        match settings.oversized_event() {
            OversizePolicy::Truncate => {
                // Keep the first `limit` bytes of the event's data; the
                // buffer also holds the LF that closes the last line.
                if self.data.len() <= limit {
                    let room = limit - self.data.len();
                    let kept = utf8_prefix(value.as_bytes(), room).len();
                    self.data.push_str(&value[..kept]);
                    self.data.push('\n');
                }
                self.data_state = DataState::Truncated;
                return Ok(());
            }
            OversizePolicy::Fail => {
                self.drop_event();
                return Err(Error::event_too_large(limit));
            }
            OversizePolicy::Skip => {
                tracing::warn!(limit, "dropping an event whose data exceeds max_event_size");
            }
            OversizePolicy::Callback(callback) => callback.call(oversized()),
        }
        self.drop_event();
        Ok(())
    }

    fn drop_event(&mut self) {
        self.data = String::new();
        self.data_state = DataState::Dropped;
    }

    /// Forgets the block being read (at the end of a stream, where an
    /// unfinished event is discarded), including an `id` it set. The last
    /// event id and the reconnection time persist.
    pub(super) fn discard_block(&mut self) {
        self.id_in_block = None;
        self.first_data = None;
        self.clear_data();
        self.type_in_block = false;
        self.retry_in_block = None;
        self.data_state = DataState::Collecting;
    }

    /// Gives a data buffer that has no memory yet the size of the last large
    /// event, if there was one. That size was within the event limit, and
    /// the parser held it a moment ago.
    #[inline]
    fn start_buffer(&mut self) {
        if self.data.capacity() == 0 && self.large_data != 0 {
            self.data.reserve(self.large_data);
        }
    }

    /// Empties the data buffer, keeping at most [`DATA_BUFFER_KEPT`].
    fn clear_data(&mut self) {
        if self.data.capacity() > DATA_BUFFER_KEPT {
            self.data = String::new();
        } else {
            self.data.clear();
        }
    }

    /// The empty line: dispatches the block's event, if it has one.
    #[inline(never)]
    pub(super) fn dispatch(
        &mut self,
        input: &[u8],
        settings: &ServerSentEventSettings,
    ) -> Option<ServerSentEvent> {
        let id = self.id_in_block.take().map(|BlockId { id, number }| {
            self.last_event_id.set(&id, number);
            id
        });
        let retry = self.retry_in_block.take();
        let typed = std::mem::take(&mut self.type_in_block);
        let dropped = std::mem::take(&mut self.data_state) == DataState::Dropped;
        let data = match self.first_data.take() {
            // Only data line: its value, decoded and copied once.
            Some(range) if !dropped => {
                if range.is_empty() && !settings.emit_empty_events() {
                    return None;
                }
                decode_owned(&input[range])
            }
            _ => {
                // Only the LF that closes the one empty data line, if that.
                if self.data.is_empty()
                    || dropped
                    || (self.data.len() == 1 && !settings.emit_empty_events())
                {
                    self.clear_data();
                    return None;
                }
                self.take_data()
            }
        };
        let event_type = if typed { self.last_type.clone() } else { None };
        let own_id = id.is_some();
        let event = ServerSentEvent::from_fields(data, event_type, id, retry);
        if own_id {
            return Some(event);
        }
        // The last event id in effect, as a browser's `lastEventId`.
        Some(match self.last_event_id.inherited() {
            Some(last) => event.with_last_event_id(last),
            None => event,
        })
    }

    /// The event's data (the buffer without its last LF), leaving the buffer
    /// empty.
    fn take_data(&mut self) -> String {
        let len = self.data.len() - 1; // the LF that closes the last data line
        if len > DATA_BUFFER_KEPT {
            // A large event takes the buffer, which the next one starts at
            // this size.
            self.large_data = self.data.len();
            let mut data = std::mem::take(&mut self.data);
            data.truncate(len);
            if data.capacity() - len > len / 8 {
                // Started for a larger event than this one.
                data.shrink_to_fit();
            }
            return data;
        }
        self.large_data = 0;
        let data = String::from(&self.data[..len]);
        self.clear_data();
        data
    }
}
