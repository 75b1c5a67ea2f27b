//! Event assembly: interprets one line at a time as the WHATWG "interpreting
//! an event stream" algorithm says, collects the data buffer, and dispatches
//! an event on an empty line.

use std::borrow::Cow;

use sse_model::{EventId, EventType, ServerSentEvent};

use super::lines::utf8_prefix;
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
#[derive(Debug, Default)]
pub(super) struct EventBuilder {
    /// The data buffer: each `data` value followed by LF.
    data: String,
    /// The event type buffer.
    event_type: String,
    /// The type of the last event that had one: reused while the type does
    /// not change, so a long type (stored shared) is not allocated again for
    /// every event.
    last_type: Option<EventType>,
    /// The last event ID buffer: set by each accepted `id` line.
    id_buffer: String,
    /// The last event ID string: the buffer as of the last empty line (the
    /// spec's dispatch step 1), which is what a reconnecting client sends. A
    /// connection cut between an `id` line and its block's end must not move
    /// the resume point past an event that never arrived.
    last_event_id: String,
    /// The reconnection time in milliseconds; persists across events.
    retry: Option<u64>,
    /// Whether an `id` field of the current block was accepted.
    id_in_block: bool,
    /// The `retry` value of the current block, if it had a valid one.
    retry_in_block: Option<u64>,
    data_state: DataState,
}

impl EventBuilder {
    pub(super) fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    pub(super) fn set_last_event_id(&mut self, id: &str) {
        self.last_event_id.clear();
        self.last_event_id.push_str(id);
        self.id_buffer.clone_from(&self.last_event_id);
    }

    pub(super) fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// Interprets one complete line (without its line break).
    pub(super) fn line(
        &mut self,
        line: &[u8],
        settings: &ServerSentEventSettings,
    ) -> Result<Option<ServerSentEvent>, Error> {
        let (name, value) = match line {
            [] => return Ok(self.dispatch(settings)),
            [b':', ..] => return Ok(None),
            _ => split_field(line),
        };
        match name {
            b"data" => self.data(value, settings)?,
            b"event" => {
                self.event_type.clear();
                self.event_type.push_str(&decode_utf8(value));
            }
            b"id" if !value.contains(&0) => {
                self.id_buffer.clear();
                self.id_buffer.push_str(&decode_utf8(value));
                self.id_in_block = true;
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                let millis = value.iter().fold(0u64, |n, digit| {
                    n.saturating_mul(10).saturating_add(u64::from(digit - b'0'))
                });
                self.retry = Some(millis);
                self.retry_in_block = Some(millis);
            }
            _ => {}
        }
        Ok(None)
    }

    /// Forgets the block being read (at the end of a stream, where an
    /// unfinished event is discarded), including an `id` it set. The last
    /// event id and the reconnection time persist.
    pub(super) fn discard_block(&mut self) {
        self.id_buffer.clone_from(&self.last_event_id);
        self.data.clear();
        self.event_type.clear();
        self.id_in_block = false;
        self.retry_in_block = None;
        self.data_state = DataState::Collecting;
    }

    fn data(&mut self, value: &[u8], settings: &ServerSentEventSettings) -> Result<(), Error> {
        if self.data_state != DataState::Collecting {
            return Ok(());
        }
        let value = decode_utf8(value);
        let limit = settings.max_event_size();
        // The event's data is the data buffer without its last LF: with this
        // value it would be `self.data.len() + value.len()` bytes.
        if limit == 0 || self.data.len() + value.len() <= limit {
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

    fn dispatch(&mut self, settings: &ServerSentEventSettings) -> Option<ServerSentEvent> {
        // Reuses the string's capacity: no allocation per event.
        self.last_event_id.clone_from(&self.id_buffer);
        let id_in_block = std::mem::take(&mut self.id_in_block);
        let retry = self.retry_in_block.take();
        let dropped = std::mem::take(&mut self.data_state) == DataState::Dropped;
        if self.data.is_empty() || dropped {
            self.data.clear();
            self.event_type.clear();
            return None;
        }
        if self.data.len() == 1 && !settings.emit_empty_events() {
            // Only the LF that closes the one empty data line.
            self.data.clear();
            self.event_type.clear();
            return None;
        }
        let mut event = ServerSentEvent::new(self.take_data());
        if let Some(event_type) = self.take_event_type() {
            event = event.with_event_type(event_type);
        }
        if id_in_block {
            // Cannot fail: ids with NUL were never accepted, and lines never
            // hold CR or LF. Short ids are stored inline: no allocation.
            if let Ok(id) = EventId::try_from(self.id_buffer.as_str()) {
                event = event.with_id(id);
            }
        }
        if let Some(retry) = retry {
            event = event.with_retry(retry);
        }
        Some(event)
    }

    /// The event's data (the buffer without its last LF), leaving the buffer
    /// empty.
    fn take_data(&mut self) -> String {
        let len = self.data.len() - 1; // the LF that closes the last data line
        if self.data.capacity() > DATA_BUFFER_KEPT {
            let mut data = std::mem::take(&mut self.data);
            data.truncate(len);
            return data;
        }
        let data = String::from(&self.data[..len]);
        self.data.clear();
        data
    }

    /// The event's type, if the block set one, leaving the buffer empty.
    fn take_event_type(&mut self) -> Option<EventType> {
        if self.event_type.is_empty() {
            // An empty type means the default type.
            return None;
        }
        let same = matches!(&self.last_type, Some(last) if *last == *self.event_type);
        if !same {
            // Cannot fail: lines never hold CR or LF, and it is not empty.
            self.last_type = EventType::try_from(self.event_type.as_str()).ok();
        }
        self.event_type.clear();
        self.last_type.clone()
    }
}

/// Decodes UTF-8 with replacement characters, as the specification says.
///
/// Valid input (nearly all of it) is only checked: `str::from_utf8` checks
/// ASCII a word at a time, where `String::from_utf8_lossy` walks every byte.
fn decode_utf8(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Splits a field line at its first colon and removes one leading space from
/// the value. A line without a colon is a field with an empty value.
fn split_field(line: &[u8]) -> (&[u8], &[u8]) {
    // The colon nearly always ends a short name (`data:`, `id:`): a look at
    // the first bytes finds it for less than the setup of a `memchr` call.
    const NAME: usize = 8;
    let colon = match line.iter().take(NAME).position(|&b| b == b':') {
        Some(colon) => Some(colon),
        None if line.len() > NAME => memchr::memchr(b':', &line[NAME..]).map(|i| NAME + i),
        None => None,
    };
    match colon {
        None => (line, &[]),
        Some(colon) => {
            let value = &line[colon + 1..];
            (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
        }
    }
}
