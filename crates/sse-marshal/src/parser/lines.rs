//! Line splitting: finds lines in the input buffer without ever scanning a
//! byte twice, strips the stream's leading BOM, treats CR, LF and CRLF alike
//! (also when the CR and the LF arrive in different chunks), and enforces the
//! line limit on the unterminated tail as it grows.

use bytes::{Buf, BytesMut};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Where the line reader stands.
#[derive(Debug, Default)]
pub(super) struct LineReader {
    /// The stream's start has been checked for a byte order mark.
    bom_checked: bool,
    /// The last line ended with CR, so an LF that follows belongs to it.
    skip_lf: bool,
    /// Bytes at the head of the buffer already interpreted, removed from it
    /// at once by [`flush`](Self::flush): one `advance` per call of the
    /// decoder rather than one per line.
    consumed: usize,
    /// Bytes after `consumed` already searched for a line break.
    scanned: usize,
    /// Inside an oversized line: drop bytes up to the next line break.
    discarding: bool,
}

/// One step of the line reader.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// `buf[start..start + len]` is a complete line; call
    /// [`LineReader::consume`] with `len` once it has been interpreted.
    Line { start: usize, len: usize },
    /// The line at the head of the buffer exceeds the limit (it may still be
    /// unterminated); the buffer has been flushed, so the line starts at
    /// index 0. Call [`LineReader::drop_oversized`] after handling it.
    Oversized,
    /// Nothing more can be done until more bytes arrive; the buffer has been
    /// flushed.
    NeedMore,
}

impl LineReader {
    /// Finds the next line in `buf`; `limit` is the line limit (`0`: none).
    pub(super) fn next(&mut self, buf: &mut BytesMut, limit: usize) -> Step {
        if self.discarding {
            self.flush(buf);
            if !self.discard(buf) {
                return Step::NeedMore;
            }
        }
        if !self.bom_checked {
            let rest = &buf[self.consumed..];
            if rest.len() < BOM.len() && BOM.starts_with(rest) {
                self.flush(buf);
                return Step::NeedMore;
            }
            if rest.starts_with(BOM) {
                self.consumed += BOM.len();
            }
            self.bom_checked = true;
        }
        if self.skip_lf {
            match buf.get(self.consumed) {
                None => {
                    self.flush(buf);
                    return Step::NeedMore;
                }
                Some(b'\n') => self.consumed += 1,
                Some(_) => {}
            }
            self.skip_lf = false;
        }
        let start = self.consumed;
        match find_line_break(&buf[start + self.scanned..]) {
            Some(offset) => {
                let len = self.scanned + offset;
                if limit != 0 && len > limit {
                    self.flush(buf);
                    Step::Oversized
                } else {
                    Step::Line { start, len }
                }
            }
            None => {
                self.flush(buf);
                self.scanned = buf.len();
                if limit != 0 && buf.len() > limit {
                    Step::Oversized
                } else {
                    Step::NeedMore
                }
            }
        }
    }

    /// Marks the line of `len` bytes (as returned in [`Step::Line`]) and its
    /// line break as consumed.
    pub(super) fn consume(&mut self, buf: &BytesMut, len: usize) {
        let end = self.consumed + len;
        self.skip_lf = buf[end] == b'\r';
        self.consumed = end + 1;
        self.scanned = 0;
    }

    /// Removes the consumed bytes from the buffer. The decoder calls it
    /// before it returns, so that the caller's buffer holds only what is left.
    pub(super) fn flush(&mut self, buf: &mut BytesMut) {
        // `advance(0)` is not free, and small reads often consume nothing.
        if self.consumed > 0 {
            buf.advance(std::mem::take(&mut self.consumed));
        }
    }

    /// Drops the oversized line at the head of the buffer, as much of it as
    /// has arrived; the rest is dropped as it arrives.
    pub(super) fn drop_oversized(&mut self, buf: &mut BytesMut) {
        self.scanned = 0;
        self.discarding = true;
        self.discard(buf);
    }

    /// Drops bytes up to and including the next line break, from a flushed
    /// buffer. Returns whether the line break was found.
    fn discard(&mut self, buf: &mut BytesMut) -> bool {
        match find_line_break(buf) {
            Some(end) => {
                self.discarding = false;
                self.consume(buf, end);
                self.flush(buf);
                true
            }
            None => {
                buf.clear();
                false
            }
        }
    }

    /// Forgets everything about the current stream: the next bytes are the
    /// start of a new one (which may begin with a BOM again). Nothing is
    /// pending then: the decoder flushes before it returns.
    pub(super) fn reset(&mut self) {
        *self = LineReader::default();
    }
}

/// The index of the first CR or LF in `bytes`.
///
/// Small reads leave little to search at a time: below a few bytes a plain
/// loop is cheaper than setting up `memchr2`. (Scanning the head of longer
/// input this way first costs more on long lines than it saves on short
/// ones.)
fn find_line_break(bytes: &[u8]) -> Option<usize> {
    const SHORT: usize = 16;
    if bytes.len() < SHORT {
        return bytes.iter().position(|&b| b == b'\n' || b == b'\r');
    }
    memchr::memchr2(b'\n', b'\r', bytes)
}

/// The longest prefix of `bytes` of at most `max` bytes that does not end in
/// the middle of a UTF-8 sequence.
pub(super) fn utf8_prefix(bytes: &[u8], max: usize) -> &[u8] {
    if bytes.len() <= max {
        return bytes;
    }
    let mut cut = max;
    // A cut before a continuation byte splits a character: step back to its
    // first byte (at most three steps for well-formed UTF-8).
    while cut > 0 && max - cut < 3 && (bytes[cut] & 0xC0) == 0x80 {
        cut -= 1;
    }
    if (bytes[cut] & 0xC0) == 0x80 {
        // Not well-formed UTF-8 anyway: any cut is as good as another.
        cut = max;
    }
    &bytes[..cut]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_are_found_before_and_after_the_short_scan() {
        for len in [0, 1, 15, 16, 17, 40, 100] {
            let clean = vec![b'x'; len];
            assert_eq!(find_line_break(&clean), None, "len {len}");
            for at in 0..len {
                for byte in [b'\n', b'\r'] {
                    let mut bytes = clean.clone();
                    bytes[at] = byte;
                    bytes[len - 1] = b'\n';
                    assert_eq!(find_line_break(&bytes), Some(at), "len {len} at {at}");
                }
            }
        }
    }

    #[test]
    fn utf8_prefix_never_splits_a_character() {
        let s = "aé€😀".as_bytes(); // 1 + 2 + 3 + 4 bytes
        let expect = [0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10];
        for (max, want) in expect.iter().enumerate() {
            assert_eq!(utf8_prefix(s, max).len(), *want, "max {max}");
        }
        assert_eq!(utf8_prefix(b"\x80\x80\x80\x80\x80", 2), b"\x80\x80");
    }
}
