//! The wire encoder: one [`ServerSentEvent`] to the bytes of one event block.
//!
//! Field order follows Akka HTTP: every `data:` line, then `event:`, `id:`,
//! `retry:`, then the empty line that dispatches the event. No space follows
//! the colon, except when the value itself starts with a space: the receiver
//! strips exactly one leading space, so one is added to keep the value intact.

use bytes::{Bytes, BytesMut};

use crate::ServerSentEvent;

/// The encoding of [`ServerSentEvent::heartbeat`]: a comment and an empty line.
/// Receivers ignore comments and dispatch nothing for a block without data.
pub const HEARTBEAT_BYTES: &[u8] = b":\n\n";

impl ServerSentEvent {
    /// Encodes the event into a new buffer of exactly the right size.
    ///
    /// ```
    /// use sse_model::{EventType, ServerSentEvent};
    ///
    /// let event = ServerSentEvent::new("a\r\nb")
    ///     .with_event_type(EventType::from_static("tick"))
    ///     .with_id(1)
    ///     .with_retry(500);
    /// assert_eq!(
    ///     &event.encode()[..],
    ///     b"data:a\ndata:b\nevent:tick\nid:1\nretry:500\n\n"
    /// );
    /// ```
    pub fn encode(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(self.encoded_len());
        self.encode_into(&mut buf);
        buf.freeze()
    }

    /// Appends the encoded event to `dst`.
    ///
    /// Makes one pass over the data: it reserves what the event needs when its
    /// data is one line (the common case) and lets `dst` grow for the `data:`
    /// prefixes of further lines, rather than scanning the data twice to
    /// reserve the exact size.
    pub fn encode_into(&self, dst: &mut BytesMut) {
        if self.is_heartbeat() {
            dst.extend_from_slice(HEARTBEAT_BYTES);
            return;
        }
        let mut tail = Tail::default();
        let short_tail = put_tail(&mut tail, self);
        let tail_len = if short_tail {
            tail.len
        } else {
            self.len_after_data()
        };
        dst.reserve(field_len(b"data:", self.data().as_bytes()) + tail_len);
        // Each field's line feed is written with the next field's name: fewer,
        // larger appends.
        let data = self.data().as_bytes();
        match find_line_break(data) {
            // One line, nearly always: no line iterator.
            None => {
                put_field(dst, b"data:", data);
            }
            Some(end) => {
                put_field(dst, b"data:", &data[..end]);
                for line in DataLines::after_break(data, end) {
                    put_field(dst, b"\ndata:", line);
                }
            }
        }
        if short_tail {
            dst.extend_from_slice(tail.as_bytes());
        } else {
            put_tail(dst, self);
        }
    }

    /// The exact number of bytes [`encode_into`](Self::encode_into) appends.
    pub fn encoded_len(&self) -> usize {
        if self.is_heartbeat() {
            return HEARTBEAT_BYTES.len();
        }
        let data: usize = DataLines::new(self.data())
            .map(|line| field_len(b"data:", line))
            .sum();
        data + self.len_after_data()
    }

    /// The bytes after the `data:` lines: the `event:`, `id:` and `retry:`
    /// fields and the closing empty line.
    fn len_after_data(&self) -> usize {
        let event_type = self
            .event_type_value()
            .map_or(0, |t| field_len(b"event:", t.as_bytes()));
        let id = self
            .id_value()
            .map_or(0, |i| field_len(b"id:", i.as_bytes()));
        let retry = self
            .retry()
            .map_or(0, |r| b"retry:".len() + decimal_len(r) + 1);
        event_type + id + retry + 1
    }
}

fn needs_guard_space(value: &[u8]) -> bool {
    value.first() == Some(&b' ')
}

/// Where encoded bytes go: the output buffer, or the [`Tail`] on the stack,
/// which refuses what does not fit.
trait Sink {
    /// Appends `bytes`; `false` if they do not fit.
    fn push(&mut self, bytes: &[u8]) -> bool;
}

impl Sink for BytesMut {
    fn push(&mut self, bytes: &[u8]) -> bool {
        self.extend_from_slice(bytes);
        true
    }
}

/// Appends `name` (with the line feed that ends the previous field, if any)
/// and `value`; the caller ends the line.
fn put_field(sink: &mut impl Sink, name: &[u8], value: &[u8]) -> bool {
    sink.push(name) && (!needs_guard_space(value) || sink.push(b" ")) && sink.push(value)
}

/// Appends the fields after the data (`event:`, `id:`, `retry:`) and the
/// empty line; `false` if they do not fit.
fn put_tail(sink: &mut impl Sink, event: &ServerSentEvent) -> bool {
    if let Some(event_type) = event.event_type_value() {
        if !put_field(sink, b"\nevent:", event_type.as_bytes()) {
            return false;
        }
    }
    if let Some(id) = event.id_value() {
        if !put_field(sink, b"\nid:", id.as_bytes()) {
            return false;
        }
    }
    if let Some(retry) = event.retry() {
        let mut buffer = [0u8; 20];
        if !put_field(sink, b"\nretry:", crate::text::decimal(retry, &mut buffer)) {
            return false;
        }
    }
    sink.push(b"\n\n")
}

/// The fields after the data, assembled on the stack when they are short, as
/// they nearly always are: one append to the buffer instead of one per name
/// and value.
struct Tail {
    bytes: [u8; 80],
    len: usize,
}

impl Default for Tail {
    fn default() -> Self {
        Tail {
            bytes: [0; 80],
            len: 0,
        }
    }
}

impl Sink for Tail {
    fn push(&mut self, src: &[u8]) -> bool {
        let end = self.len + src.len();
        match self.bytes.get_mut(self.len..end) {
            Some(dst) => {
                dst.copy_from_slice(src);
                self.len = end;
                true
            }
            None => false,
        }
    }
}

impl Tail {
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

fn field_len(name: &[u8], value: &[u8]) -> usize {
    name.len() + usize::from(needs_guard_space(value)) + value.len() + 1
}

fn decimal_len(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |log| log as usize + 1)
}

/// The lines of a data payload, split at every CR, LF and CRLF, exactly as a
/// receiver will split them. Always yields at least one (possibly empty) line,
/// and a trailing line break yields a trailing empty line, so that the receiver
/// rebuilds the same text (with every line break as LF).
struct DataLines<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> DataLines<'a> {
    fn new(data: &'a str) -> Self {
        DataLines {
            rest: Some(data.as_bytes()),
        }
    }

    /// The lines after the first, whose line break is at `data[end]`.
    fn after_break(data: &'a [u8], end: usize) -> Self {
        DataLines {
            rest: Some(&data[line_start_after(data, end)..]),
        }
    }
}

/// Where the next line starts after the line break at `bytes[end]` (CRLF is
/// one break).
fn line_start_after(bytes: &[u8], end: usize) -> usize {
    if bytes[end] == b'\r' && bytes.get(end + 1) == Some(&b'\n') {
        end + 2
    } else {
        end + 1
    }
}

impl<'a> Iterator for DataLines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        match find_line_break(rest) {
            None => {
                self.rest = None;
                Some(rest)
            }
            Some(end) => {
                self.rest = Some(&rest[line_start_after(rest, end)..]);
                Some(&rest[..end])
            }
        }
    }
}

/// The index of the first CR or LF in `bytes`.
///
/// Checks 32 bytes at a time with a test that has no early exit, which the
/// compiler turns into vector compares (a plain `position` goes byte by
/// byte), then finds the byte within the block; what is left, eight bytes at
/// a time as one `u64` (the classic "has a zero byte" trick on the word
/// XORed with CR and with LF; it can flag bytes after a true match, never
/// before one, so the lowest flag is exact). `sse-model` keeps to its three
/// dependencies, so this is not `memchr`.
fn find_line_break(bytes: &[u8]) -> Option<usize> {
    const BLOCK: usize = 32;
    let is_break = |b: &u8| *b == b'\n' || *b == b'\r';
    let mut blocks = bytes.chunks_exact(BLOCK);
    let mut start = 0;
    for block in &mut blocks {
        let hits = block.iter().fold(0u8, |hits, &b| {
            hits | u8::from(b == b'\n') | u8::from(b == b'\r')
        });
        if hits != 0 {
            return block.iter().position(is_break).map(|i| start + i);
        }
        start += BLOCK;
    }
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    const LF: u64 = u64::from_le_bytes([b'\n'; 8]);
    const CR: u64 = u64::from_le_bytes([b'\r'; 8]);
    let zero_bytes = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let mut words = blocks.remainder().chunks_exact(8);
    for word in &mut words {
        let mut eight = [0; 8];
        eight.copy_from_slice(word);
        let word = u64::from_le_bytes(eight);
        let flags = zero_bytes(word ^ LF) | zero_bytes(word ^ CR);
        if flags != 0 {
            return Some(start + flags.trailing_zeros() as usize / 8);
        }
        start += 8;
    }
    words
        .remainder()
        .iter()
        .position(is_break)
        .map(|i| start + i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EventId, EventType};

    fn enc(e: &ServerSentEvent) -> String {
        let bytes = e.encode();
        assert_eq!(bytes.len(), e.encoded_len(), "encoded_len is exact");
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn wire_format_table() {
        let cases: Vec<(ServerSentEvent, &str)> = vec![
            (ServerSentEvent::new("x"), "data:x\n\n"),
            (ServerSentEvent::new(""), "data:\n\n"),
            (ServerSentEvent::new("a\nb"), "data:a\ndata:b\n\n"),
            (ServerSentEvent::new("a\rb"), "data:a\ndata:b\n\n"),
            (ServerSentEvent::new("a\r\nb"), "data:a\ndata:b\n\n"),
            (ServerSentEvent::new("a\n\rb"), "data:a\ndata:\ndata:b\n\n"),
            (ServerSentEvent::new("a\n"), "data:a\ndata:\n\n"),
            (ServerSentEvent::new("\n"), "data:\ndata:\n\n"),
            (ServerSentEvent::new("a\r"), "data:a\ndata:\n\n"),
            (ServerSentEvent::new(" lead"), "data:  lead\n\n"),
            (ServerSentEvent::new("a\n b"), "data:a\ndata:  b\n\n"),
            (ServerSentEvent::new("x: y"), "data:x: y\n\n"),
            (
                ServerSentEvent::new("\n\nevent: evil\nid: 1\n\ndata: x"),
                "data:\ndata:\ndata:event: evil\ndata:id: 1\ndata:\ndata:data: x\n\n",
            ),
            (
                ServerSentEvent::new("d").with_event_type(EventType::from_static(" t")),
                "data:d\nevent:  t\n\n",
            ),
            (
                ServerSentEvent::new("d").with_id(EventId::from_static("")),
                "data:d\nid:\n\n",
            ),
            (
                ServerSentEvent::new("d").with_retry(0),
                "data:d\nretry:0\n\n",
            ),
            (
                ServerSentEvent::new("d").with_retry(u64::MAX),
                "data:d\nretry:18446744073709551615\n\n",
            ),
            (
                ServerSentEvent::new("d")
                    .with_retry(10)
                    .with_id(3)
                    .with_event_type(EventType::from_static("e")),
                "data:d\nevent:e\nid:3\nretry:10\n\n",
            ),
            (ServerSentEvent::heartbeat(), ":\n\n"),
        ];
        for (event, wire) in cases {
            assert_eq!(enc(&event), wire, "{event:?}");
        }
    }

    #[test]
    fn fields_too_long_for_the_stack_tail_are_appended_one_by_one() {
        let event_type = "t".repeat(60);
        let id = format!(" {}", "9".repeat(40));
        let event = ServerSentEvent::new("a\r\nb")
            .with_event_type(EventType::try_from(event_type.as_str()).unwrap())
            .with_id(EventId::try_from(id.as_str()).unwrap())
            .with_retry(1500);
        assert_eq!(
            enc(&event),
            format!("data:a\ndata:b\nevent:{event_type}\nid: {id}\nretry:1500\n\n")
        );
    }

    #[test]
    fn decimal_lengths() {
        for n in [0, 9, 10, 99, 100, 12345, u64::MAX] {
            assert_eq!(decimal_len(n), n.to_string().len());
        }
    }

    #[test]
    fn line_breaks_are_found_in_every_position() {
        for len in [0, 1, 31, 32, 33, 64, 100] {
            let clean = vec![b'x'; len];
            assert_eq!(find_line_break(&clean), None, "len {len}");
            for at in 0..len {
                for byte in [b'\n', b'\r'] {
                    let mut bytes = clean.clone();
                    bytes[at] = byte;
                    if at + 1 < len {
                        bytes[len - 1] = b'\n';
                    }
                    assert_eq!(find_line_break(&bytes), Some(at), "len {len} at {at}");
                }
            }
        }
    }

    #[test]
    fn encode_into_appends() {
        let mut buf = BytesMut::from(&b"prefix|"[..]);
        ServerSentEvent::new("x").encode_into(&mut buf);
        assert_eq!(&buf[..], b"prefix|data:x\n\n");
    }
}
