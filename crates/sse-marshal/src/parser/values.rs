//! Field values: where a value starts, UTF-8 decoding as the specification
//! says, and the small comparisons and conversions the event builder makes
//! on every event.

use std::borrow::Cow;

/// Where the value of `line` (which starts at `start` in the input) begins,
/// after its field name and colon (`name_len` bytes) and one leading space.
#[inline(always)]
pub(super) fn value_start(line: &[u8], start: usize, name_len: usize) -> usize {
    start + name_len + usize::from(line.get(name_len) == Some(&b' '))
}

/// Splits a field line at its first colon: the field name, and where its
/// value starts, after one leading space. A line without a colon is a field
/// with an empty value.
pub(super) fn split_field(line: &[u8]) -> (&[u8], usize) {
    match memchr::memchr(b':', line) {
        None => (line, line.len()),
        Some(colon) => (&line[..colon], value_start(line, 0, colon + 1)),
    }
}

/// `a == b`, compared inline for up to 16 bytes (event types are short)
/// rather than with a call to `bcmp`.
#[inline(always)]
pub(super) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    fn word4(bytes: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
    }
    fn word8(bytes: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
    }
    let len = a.len();
    if len != b.len() {
        return false;
    }
    match len {
        // Two words that overlap in the middle cover every byte.
        4..=8 => word4(a, 0) == word4(b, 0) && word4(a, len - 4) == word4(b, len - 4),
        9..=16 => word8(a, 0) == word8(b, 0) && word8(a, len - 8) == word8(b, len - 8),
        _ => a == b,
    }
}

/// The number whose decimal digits `value` is, if it has at most 19 digits
/// (which always fit a `u64`) and no leading zero: formatting the number
/// gives `value` back.
#[inline(always)]
pub(super) fn canonical_decimal(value: &[u8]) -> Option<u64> {
    match value {
        [] | [b'0', _, ..] => return None,
        _ if value.len() > 19 => return None,
        _ => {}
    }
    let mut n = 0u64;
    for &byte in value {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        n = n * 10 + u64::from(digit);
    }
    Some(n)
}

/// Values at least this long are checked with SIMD (`simdutf8`), shorter
/// ones by `str::from_utf8`, which costs less to start.
const SIMD_CHECK: usize = 128;

/// Whether `bytes` is valid UTF-8, as the `str` it is.
#[inline]
fn check_utf8(bytes: &[u8]) -> Option<&str> {
    if bytes.len() < SIMD_CHECK {
        std::str::from_utf8(bytes).ok()
    } else {
        simdutf8::basic::from_utf8(bytes).ok()
    }
}

/// Decodes UTF-8 with replacement characters, as the specification says.
///
/// Valid input (nearly all of it) is only checked; invalid input goes
/// through `String::from_utf8_lossy`, which walks every byte.
#[inline]
pub(super) fn decode_utf8(bytes: &[u8]) -> Cow<'_, str> {
    match check_utf8(bytes) {
        Some(text) => Cow::Borrowed(text),
        None => String::from_utf8_lossy(bytes),
    }
}

/// [`decode_utf8`] into a `String` of exactly the decoded size.
///
/// A short value is copied first and checked in the copy, which starts at
/// the allocation's (aligned) start: `str::from_utf8` checks aligned words
/// only, and goes byte by byte up to the first word boundary.
#[inline]
pub(super) fn decode_owned(bytes: &[u8]) -> String {
    if bytes.len() < SIMD_CHECK {
        return match String::from_utf8(bytes.to_vec()) {
            Ok(text) => text,
            Err(_) => String::from_utf8_lossy(bytes).into_owned(),
        };
    }
    decode_utf8(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_is_slice_equality() {
        let text = b"abcdefghijklmnopqrstuvwxyz";
        for len in 0..=text.len() {
            let a = &text[..len];
            assert!(same_bytes(a, a), "len {len}");
            for at in 0..len {
                let mut b = a.to_vec();
                b[at] ^= 0x20;
                assert!(!same_bytes(a, &b), "len {len} at {at}");
            }
            if len > 0 {
                assert!(!same_bytes(a, &a[..len - 1]), "len {len}");
            }
            if 0 < len && len < text.len() {
                assert!(!same_bytes(a, &text[1..=len]), "len {len}");
            }
        }
    }

    #[test]
    fn canonical_decimal_round_trips() {
        for n in [0u64, 7, 10, 42, 999, 1_000_000, 1_234_567_890_123_456_789] {
            assert_eq!(canonical_decimal(n.to_string().as_bytes()), Some(n));
        }
        let max19 = "9".repeat(19);
        assert_eq!(
            canonical_decimal(max19.as_bytes()),
            Some(9_999_999_999_999_999_999)
        );
        for refused in [
            "",
            "00",
            "01",
            "-1",
            "+1",
            "1a",
            " 1",
            "1 ",
            "1.0",
            "\u{661}",
            "10000000000000000000",
            "18446744073709551615",
            "99999999999999999999",
        ] {
            assert_eq!(canonical_decimal(refused.as_bytes()), None, "{refused:?}");
        }
    }

    #[test]
    fn decoding_is_lossy_utf8_on_both_sides_of_the_simd_length() {
        for len in [0, 1, 7, SIMD_CHECK - 1, SIMD_CHECK, SIMD_CHECK + 1, 1000] {
            let valid: Vec<u8> = "aé€😀".bytes().cycle().take(len).collect();
            let mut cases = vec![valid.clone()];
            for at in [0, len / 2, len.saturating_sub(1)] {
                for bad in [&b"\xff"[..], b"\xe2\x82", b"\xed\xa0\x80"] {
                    let mut bytes = valid.clone();
                    bytes.splice(at.min(len)..at.min(len), bad.iter().copied());
                    cases.push(bytes);
                }
            }
            for bytes in cases {
                let want = String::from_utf8_lossy(&bytes);
                assert_eq!(decode_utf8(&bytes), want, "len {len}: {bytes:?}");
                assert_eq!(decode_owned(&bytes), want, "len {len}: {bytes:?}");
            }
        }
    }

    #[test]
    fn split_field_strips_one_space() {
        assert_eq!(split_field(b"data: x"), (&b"data"[..], 6));
        assert_eq!(split_field(b"data:  x"), (&b"data"[..], 6));
        assert_eq!(split_field(b"data:x"), (&b"data"[..], 5));
        assert_eq!(split_field(b"data"), (&b"data"[..], 4));
        assert_eq!(split_field(b"a:b:c"), (&b"a"[..], 2));
    }
}
