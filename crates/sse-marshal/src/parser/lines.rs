//! Line splitting: finds lines in the input buffer without ever scanning a
//! byte twice, strips the stream's leading BOM, treats CR, LF and CRLF alike
//! (also when the CR and the LF arrive in different chunks), and enforces the
//! line limit on the unterminated tail as it grows.
//!
//! The reader never removes bytes from the buffer by itself, except while it
//! drops an oversized line: the parser calls [`LineReader::flush`] once the
//! lines it interpreted no longer need to stay in the buffer (the event
//! builder may still refer to a data value there).

use bytes::{Buf, BytesMut};

use super::scan::find_line_break;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The stream's start has not been checked for a byte order mark yet.
const CHECK_BOM: u8 = 1;
/// The last line ended with a CR at the end of the buffer: an LF that
/// follows belongs to it.
const SKIP_LF: u8 = 2;
/// Inside an oversized line: drop bytes up to the next line break.
const DISCARDING: u8 = 4;

/// Where the line reader stands.
#[derive(Debug)]
pub(super) struct LineReader {
    /// What to do before the next search ([`CHECK_BOM`], [`SKIP_LF`],
    /// [`DISCARDING`]): zero in the steady state, so a line costs one test.
    pending: u8,
    /// Bytes at the head of the buffer already interpreted, removed from it
    /// at once by [`flush`](Self::flush).
    consumed: usize,
    /// Bytes after `consumed` already searched for a line break.
    scanned: usize,
}

impl Default for LineReader {
    fn default() -> Self {
        LineReader {
            pending: CHECK_BOM,
            consumed: 0,
            scanned: 0,
        }
    }
}

/// What [`LineReader::quick_search`] found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Quick {
    /// No line break: the decoder has nothing to do.
    NeedMore,
    /// The first line ends at this index.
    LineBreak(usize),
    /// Go through [`LineReader::next`].
    Other,
}

/// One step of the line reader.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// `buf[start..start + len]` is a complete line; call
    /// [`LineReader::consume`] with `len` once it has been interpreted.
    Line { start: usize, len: usize },
    /// The line after the consumed bytes exceeds the limit (it may still be
    /// unterminated). Flush the buffer, so that the line starts at index 0,
    /// handle it, and call [`LineReader::drop_oversized`].
    Oversized,
    /// Nothing more can be done until more bytes arrive: flush the buffer.
    NeedMore,
}

impl LineReader {
    /// Finds the next line in `buf`; `limit` is the line limit (`0`: none).
    #[inline]
    pub(super) fn next(&mut self, buf: &mut BytesMut, limit: usize) -> Step {
        if self.pending != 0 {
            if let Some(step) = self.prepare(buf) {
                return step;
            }
        }
        let start = self.consumed;
        let limit = if limit == 0 { usize::MAX } else { limit };
        match find_line_break(buf, start + self.scanned) {
            Some(end) => {
                let len = end - start;
                if len > limit {
                    Step::Oversized
                } else {
                    Step::Line { start, len }
                }
            }
            None => {
                self.scanned = buf.len() - start;
                if self.scanned > limit {
                    Step::Oversized
                } else {
                    Step::NeedMore
                }
            }
        }
    }

    /// The decoder's first look at `buf`, made before anything else: where
    /// the first line break after the bytes already searched is, if nothing
    /// else is pending. What a small read without a line break costs: a
    /// search of its bytes.
    #[inline]
    pub(super) fn quick_search(&mut self, buf: &[u8], limit: usize) -> Quick {
        // Between two calls of the decoder, the buffer has been flushed.
        if self.pending != 0 || self.consumed != 0 {
            return Quick::Other;
        }
        match find_line_break(buf, self.scanned) {
            Some(end) => Quick::LineBreak(end),
            None => {
                self.scanned = buf.len();
                if limit != 0 && buf.len() > limit {
                    Quick::Other // oversized
                } else {
                    Quick::NeedMore
                }
            }
        }
    }

    /// [`next`](Self::next) when [`quick_search`](Self::quick_search) found
    /// the line break at `end`.
    #[inline]
    pub(super) fn line_ending_at(&self, end: usize, limit: usize) -> Step {
        let start = self.consumed;
        let len = end - start;
        if limit != 0 && len > limit {
            Step::Oversized
        } else {
            Step::Line { start, len }
        }
    }

    /// Handles the BOM, a pending LF and a line being dropped. `Some` when
    /// the caller has to stop there.
    #[cold]
    #[inline(never)]
    fn prepare(&mut self, buf: &mut BytesMut) -> Option<Step> {
        if self.pending & DISCARDING != 0 {
            // Nothing refers to the buffer while a line is dropped: the
            // parser interprets no line in the meantime.
            self.flush(buf);
            if !self.discard(buf) {
                return Some(Step::NeedMore);
            }
        }
        if self.pending & CHECK_BOM != 0 {
            let rest = &buf[self.consumed..];
            if rest.len() < BOM.len() && BOM.starts_with(rest) {
                return Some(Step::NeedMore);
            }
            if rest.starts_with(BOM) {
                self.consumed += BOM.len();
            }
            self.pending &= !CHECK_BOM;
        }
        if self.pending & SKIP_LF != 0 {
            match buf.get(self.consumed) {
                None => return Some(Step::NeedMore),
                Some(b'\n') => self.consumed += 1,
                Some(_) => {}
            }
            self.pending &= !SKIP_LF;
        }
        None
    }

    /// Marks the line of `len` bytes (as returned in [`Step::Line`]) and its
    /// line break as consumed.
    #[inline]
    pub(super) fn consume(&mut self, buf: &[u8], len: usize) {
        let end = self.consumed + len;
        self.scanned = 0;
        self.consumed = end + 1;
        if buf[end] == b'\r' {
            // An LF right after the CR belongs to it; at the end of the
            // buffer, the next byte decides.
            match buf.get(end + 1) {
                Some(b'\n') => self.consumed += 1,
                Some(_) => {}
                None => self.pending |= SKIP_LF,
            }
        }
    }

    /// Removes the consumed bytes from the buffer. The decoder calls it
    /// before it returns, so that the caller's buffer holds only what is left.
    #[inline]
    pub(super) fn flush(&mut self, buf: &mut BytesMut) {
        // `advance(0)` is not free, and small reads often consume nothing.
        if self.consumed > 0 {
            buf.advance(std::mem::take(&mut self.consumed));
        }
    }

    /// Drops the oversized line at the head of the (flushed) buffer, as much
    /// of it as has arrived; the rest is dropped as it arrives.
    pub(super) fn drop_oversized(&mut self, buf: &mut BytesMut) {
        self.pending |= DISCARDING;
        self.discard(buf);
    }

    /// Drops bytes up to and including the next line break, from a flushed
    /// buffer whose first `scanned` bytes hold none. Returns whether the line
    /// break was found.
    fn discard(&mut self, buf: &mut BytesMut) -> bool {
        match find_line_break(buf, std::mem::take(&mut self.scanned)) {
            Some(end) => {
                self.pending &= !DISCARDING;
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
    fn utf8_prefix_never_splits_a_character() {
        let s = "aé€😀".as_bytes(); // 1 + 2 + 3 + 4 bytes
        let expect = [0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10];
        for (max, want) in expect.iter().enumerate() {
            assert_eq!(utf8_prefix(s, max).len(), *want, "max {max}");
        }
        assert_eq!(utf8_prefix(b"\x80\x80\x80\x80\x80", 2), b"\x80\x80");
    }
}
