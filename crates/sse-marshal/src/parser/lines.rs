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
    /// Bytes at the head of the buffer already searched for a line break.
    scanned: usize,
    /// Inside an oversized line: drop bytes up to the next line break.
    discarding: bool,
}

/// One step of the line reader.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// `buf[..len]` is a complete line; call [`LineReader::consume`] with
    /// `len` once it has been interpreted.
    Line { len: usize },
    /// The line at the head of the buffer exceeds the limit (it may still be
    /// unterminated); call [`LineReader::drop_oversized`] after handling it.
    Oversized,
    /// Nothing more can be done until more bytes arrive.
    NeedMore,
}

impl LineReader {
    /// Finds the next line in `buf`; `limit` is the line limit (`0`: none).
    pub(super) fn next(&mut self, buf: &mut BytesMut, limit: usize) -> Step {
        if self.discarding && !self.discard(buf) {
            return Step::NeedMore;
        }
        if !self.bom_checked {
            if buf.len() < BOM.len() && BOM.starts_with(buf) {
                return Step::NeedMore;
            }
            if buf.starts_with(BOM) {
                buf.advance(BOM.len());
            }
            self.bom_checked = true;
        }
        if self.skip_lf {
            match buf.first() {
                None => return Step::NeedMore,
                Some(b'\n') => buf.advance(1),
                Some(_) => {}
            }
            self.skip_lf = false;
        }
        match memchr::memchr2(b'\n', b'\r', &buf[self.scanned..]) {
            Some(offset) => {
                let len = self.scanned + offset;
                if limit != 0 && len > limit {
                    Step::Oversized
                } else {
                    Step::Line { len }
                }
            }
            None => {
                self.scanned = buf.len();
                if limit != 0 && buf.len() > limit {
                    Step::Oversized
                } else {
                    Step::NeedMore
                }
            }
        }
    }

    /// Removes the line of `len` bytes (as returned in [`Step::Line`]) and its
    /// line break from the buffer.
    pub(super) fn consume(&mut self, buf: &mut BytesMut, len: usize) {
        self.skip_lf = buf[len] == b'\r';
        buf.advance(len + 1);
        self.scanned = 0;
    }

    /// Drops the oversized line at the head of the buffer, as much of it as
    /// has arrived; the rest is dropped as it arrives.
    pub(super) fn drop_oversized(&mut self, buf: &mut BytesMut) {
        self.scanned = 0;
        self.discarding = true;
        self.discard(buf);
    }

    /// Drops bytes up to and including the next line break. Returns whether
    /// the line break was found.
    fn discard(&mut self, buf: &mut BytesMut) -> bool {
        match memchr::memchr2(b'\n', b'\r', buf) {
            Some(end) => {
                self.discarding = false;
                self.consume(buf, end);
                true
            }
            None => {
                buf.clear();
                false
            }
        }
    }

    /// Forgets everything about the current stream: the next bytes are the
    /// start of a new one (which may begin with a BOM again).
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
