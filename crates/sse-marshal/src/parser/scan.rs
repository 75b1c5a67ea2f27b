//! Finding line breaks (CR or LF) in the input buffer.
//!
//! Most lines of an event stream are short (`id: 42`, `event: tick`, the
//! empty line), and small reads leave a few new bytes at a time to search:
//! for those, calling `memchr2` costs more in its setup and dispatch than in
//! the search. So the first 16 bytes are searched inline, as two words with
//! word-at-a-time arithmetic, fewer than 16 bytes byte by byte, and only a
//! longer stretch without a line break goes to `memchr2`. Every byte is
//! searched once.

/// The bytes searched inline, as two words, before `memchr2` takes over.
const INLINE_SEARCH: usize = 16;

const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
const LF: u64 = 0x0A0A_0A0A_0A0A_0A0A;
const CR: u64 = 0x0D0D_0D0D_0D0D_0D0D;

/// The high bit of each byte of `word` that is CR or LF, and no other bit
/// (the shorter `(x - 0x01..) & !x` test can also mark bytes after a match).
#[inline(always)]
fn breaks(word: u64) -> u64 {
    let lf = word ^ LF;
    let cr = word ^ CR;
    // The high bit of `(b & 0x7F) + 0x7F | b` is set unless `b` is zero.
    let lf_nonzero = ((lf & LOW7) + LOW7) | lf;
    let cr_nonzero = ((cr & LOW7) + LOW7) | cr;
    !((lf_nonzero & cr_nonzero) | LOW7)
}

/// The little-endian word of `bytes[at..at + 8]`.
#[inline(always)]
fn word(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// The index of the byte a non-zero [`breaks`] mask marks first.
#[inline(always)]
fn first(mask: u64) -> usize {
    (mask.trailing_zeros() / 8) as usize
}

/// The index in `bytes` of the first CR or LF at or after `from`.
#[inline(always)]
pub(super) fn find_line_break(bytes: &[u8], from: usize) -> Option<usize> {
    if from + INLINE_SEARCH > bytes.len() {
        return find_in_tail(bytes, from);
    }
    // Most lines are short: look at two words before calling `memchr2`.
    let mask = breaks(word(bytes, from));
    if mask != 0 {
        return Some(from + first(mask));
    }
    let mask = breaks(word(bytes, from + 8));
    if mask != 0 {
        return Some(from + 8 + first(mask));
    }
    let rest = from + INLINE_SEARCH;
    memchr::memchr2(b'\n', b'\r', &bytes[rest..]).map(|i| rest + i)
}

/// [`find_line_break`] for the last `bytes.len() - at < 16` bytes: byte
/// by byte. These are usually the bytes of the latest small read, just
/// copied into the buffer: a word load across them would wait for the
/// copy's narrower stores to complete (a store-forwarding stall costs more
/// than the loop), where byte loads are served from them at once.
#[inline(always)]
fn find_in_tail(bytes: &[u8], at: usize) -> Option<usize> {
    let tail = bytes.get(at..)?;
    // Nearly every byte is above CR: one comparison rules it out.
    tail.iter()
        .position(|&b| b <= b'\r' && (b == b'\n' || b == b'\r'))
        .map(|i| at + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(bytes: &[u8], from: usize) -> Option<usize> {
        (from..bytes.len()).find(|&i| bytes[i] == b'\n' || bytes[i] == b'\r')
    }

    #[test]
    fn a_start_past_the_end_finds_nothing() {
        assert_eq!(find_line_break(b"ab\n", 3), None);
        assert_eq!(find_line_break(b"ab\n", 5), None);
        assert_eq!(find_line_break(&[b'\n'; 40], 41), None);
    }

    #[test]
    fn the_mask_is_exact_for_every_byte() {
        for b in 0..=255u8 {
            for other in [0u8, b'\n', b'\r', 0x0B, 0x8A, 0xFF, b'a'] {
                let word = u64::from_le_bytes([other, b, other, b, b, other, other, b]);
                let mask = breaks(word);
                for (i, byte) in word.to_le_bytes().iter().enumerate() {
                    let marked = mask >> (8 * i) & 0xFF;
                    let want = if *byte == b'\n' || *byte == b'\r' {
                        0x80
                    } else {
                        0
                    };
                    assert_eq!(marked, want, "byte {byte:#x} at {i} of {word:#x}");
                }
            }
        }
    }

    #[test]
    fn finds_the_first_break_at_every_length_position_and_start() {
        for len in 0..300 {
            let clean: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            for from in (0..=len).filter(|f| *f < 40 || len - f < 40) {
                assert_eq!(find_line_break(&clean, from), None, "len {len} from {from}");
            }
            for at in 0..len {
                for byte in [b'\n', b'\r'] {
                    let mut bytes = clean.clone();
                    bytes[at] = byte;
                    if len - at > 3 {
                        bytes[len - 2] = b'\n';
                    }
                    // Breaks before `from` (the previous line's) must not count.
                    for from in [0, 1, 7, 8, 9, 15, 16, 17, at.saturating_sub(1), at, at + 1] {
                        if from > len {
                            continue;
                        }
                        assert_eq!(
                            find_line_break(&bytes, from),
                            naive(&bytes, from),
                            "len {len} at {at} from {from}"
                        );
                    }
                }
            }
        }
    }
}
