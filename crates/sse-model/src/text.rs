//! How an event type or id is stored: short values inline, long ones shared.
//!
//! A type and an id are made once per event by the parser, and cloned once
//! per subscriber when an event is broadcast, so their storage decides
//! whether every event costs extra heap allocations. Values of up to
//! [`INLINE`] bytes (every decimal `u64`, nearly every event type) are kept
//! in place; longer ones in an `Arc<str>`, which clones share; literals are
//! borrowed.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The longest value kept inline: what fits beside the tag in 24 bytes, the
/// size of a `String`.
const INLINE: usize = 22;

#[derive(Clone)]
pub(crate) enum Text {
    Static(&'static str),
    /// `bytes[..len]` is a copy of a whole `str`, so always valid UTF-8.
    Inline {
        len: u8,
        bytes: [u8; INLINE],
    },
    Shared(Arc<str>),
}

impl Text {
    pub(crate) const fn from_static(value: &'static str) -> Self {
        Text::Static(value)
    }

    pub(crate) fn from_str(value: &str) -> Self {
        if value.len() > INLINE {
            return Text::Shared(Arc::from(value));
        }
        let mut bytes = [0; INLINE];
        bytes[..value.len()].copy_from_slice(value.as_bytes());
        Text::Inline {
            len: value.len() as u8,
            bytes,
        }
    }

    /// The decimal digits of `n`, without allocating (at most 20 digits).
    ///
    /// Up to 16 digits are put together in a register, two at a time, and
    /// stored at once. Copied into place piece by piece, they made the next
    /// move of the value (into an event, a parser's state) wait for those
    /// narrow stores to complete: that store-forwarding stall cost more than
    /// the formatting itself.
    #[inline]
    pub(crate) fn from_u64(n: u64) -> Self {
        let mut bytes = [0; INLINE];
        if n < 10_000_000_000_000_000 {
            let (mut digits, mut len, mut rest) = (0u128, 0u8, n);
            while rest >= 10 {
                let pair = (rest % 100) as usize * 2;
                rest /= 100;
                let pair = u16::from_le_bytes([PAIRS[pair], PAIRS[pair + 1]]);
                digits = digits << 16 | u128::from(pair);
                len += 2;
            }
            if rest > 0 || len == 0 {
                digits = digits << 8 | u128::from(b'0' + rest as u8);
                len += 1;
            }
            bytes[..16].copy_from_slice(&digits.to_le_bytes());
            return Text::Inline { len, bytes };
        }
        let mut buffer = [0u8; 20];
        let digits = decimal(n, &mut buffer);
        bytes[..digits.len()].copy_from_slice(digits);
        Text::Inline {
            len: digits.len() as u8,
            bytes,
        }
    }

    /// The bytes, without the UTF-8 check that [`as_str`](Self::as_str)
    /// makes of inline values: what the encoder uses.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Text::Static(s) => s.as_bytes(),
            Text::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Text::Shared(s) => s.as_bytes(),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            Text::Static(s) => s,
            // Safe code cannot skip this check (the workspace forbids
            // `unsafe`); it costs a few nanoseconds for at most 22 bytes.
            Text::Inline { len, bytes } => std::str::from_utf8(&bytes[..usize::from(*len)])
                .expect("inline text is a copy of a whole str"),
            Text::Shared(s) => s,
        }
    }
}

/// The two decimal digits of every number below 100, in order.
const PAIRS: [u8; 200] = {
    let mut pairs = [0; 200];
    let mut i = 0;
    while i < 100 {
        pairs[2 * i] = b'0' + (i / 10) as u8;
        pairs[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    pairs
};

/// Writes the decimal digits of `n` at the end of `buffer` and returns them:
/// the one formatter of ids and `retry:` values, which never allocates. Two
/// digits per division, from a table.
#[inline]
pub(crate) fn decimal(mut n: u64, buffer: &mut [u8; 20]) -> &[u8] {
    let mut start = buffer.len();
    while n >= 10 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        start -= 2;
        buffer[start..start + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if n > 0 || start == buffer.len() {
        start -= 1;
        buffer[start] = b'0' + n as u8;
    }
    &buffer[start..]
}

// Equality, order and hash are those of the text, whatever the storage.

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Text {}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    /// Byte order is `str` order.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl Hash for Text {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every digit count, with the numbers around each power of ten.
    fn number_cases() -> Vec<u64> {
        let mut cases: Vec<u64> = (0..=1_000).collect();
        for p in 0..20 {
            let power = 10u64.pow(p);
            cases.extend([power - 1, power, power + 1, power / 7 * 3]);
        }
        cases.extend([u64::MAX, u64::MAX - 1, 1_700_000_000_007]);
        cases
    }

    #[test]
    fn decimal_matches_to_string() {
        let mut buffer = [0; 20];
        for n in number_cases() {
            assert_eq!(decimal(n, &mut buffer), n.to_string().as_bytes(), "{n}");
        }
    }

    #[test]
    fn storage_does_not_change_the_text() {
        let long = "a type that is longer than twenty-two bytes";
        for value in ["", "tick", "exactly-twenty-two-by", "é€😀", long] {
            let texts = [Text::from_str(value), Text::Shared(Arc::from(value))];
            for text in &texts {
                assert_eq!(text.as_str(), value);
                assert_eq!(text, &texts[0]);
            }
        }
        assert!(matches!(Text::from_str(long), Text::Shared(_)));
        assert!(matches!(
            Text::from_str("x".repeat(22).as_str()),
            Text::Inline { .. }
        ));
    }

    #[test]
    fn numbers_are_inline() {
        for n in number_cases() {
            let text = Text::from_u64(n);
            assert!(matches!(text, Text::Inline { .. }));
            assert_eq!(text.as_str(), n.to_string());
        }
    }

    #[test]
    fn order_is_str_order() {
        let words = [
            "",
            "a",
            "ab",
            "b",
            "é",
            "a type that is longer than twenty-two bytes",
        ];
        for x in words {
            for y in words {
                assert_eq!(Text::from_str(x).cmp(&Text::from_str(y)), x.cmp(y));
            }
        }
    }

    #[test]
    fn fits_in_a_string() {
        assert_eq!(std::mem::size_of::<Text>(), std::mem::size_of::<String>());
        assert_eq!(
            std::mem::size_of::<Option<Text>>(),
            std::mem::size_of::<String>()
        );
    }
}
