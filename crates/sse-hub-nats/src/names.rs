//! How topics and events are named on JetStream: a stream and a subject per
//! topic, and event ids that say which incarnation of a stream gave them.

use std::fmt::Write;

use sse_model::EventId;

/// A topic as a name JetStream accepts in both a stream name and a subject
/// token: letters, digits and `-` stay; every other byte (`_` included)
/// becomes `_XX`. Injective, so two topics never share a stream.
pub(crate) fn escape(topic: &str) -> String {
    let mut name = String::with_capacity(topic.len());
    for byte in topic.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' {
            name.push(char::from(byte));
        } else {
            let _ = write!(name, "_{byte:02X}");
        }
    }
    if name.is_empty() {
        // The empty topic: a token of its own that no escape produces.
        name.push('_');
    }
    name
}

/// The id of the event at `sequence` of a stream created at `epoch`
/// (milliseconds since 1970): `EPOCH:SEQUENCE`. The epoch is what tells a
/// stream's ids from those of a stream of the same name that was lost and
/// created again, whose sequences start over.
pub(crate) fn event_id(epoch: u64, sequence: u64) -> EventId {
    // Digits and a colon: always a valid id.
    EventId::new(format!("{epoch}:{sequence}")).unwrap_or_else(|_| EventId::from(sequence))
}

/// Parses an id made by [`event_id`] into its epoch and sequence.
pub(crate) fn parse_event_id(id: &str) -> Option<(u64, u64)> {
    let (epoch, sequence) = id.split_once(':')?;
    let number = |s: &str| {
        (!s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    Some((number(epoch)?, number(sequence)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_escape_injectively_into_name_tokens() {
        assert_eq!(escape("chat"), "chat");
        assert_eq!(escape("room-1"), "room-1");
        assert_eq!(escape("a.b c"), "a_2Eb_20c");
        assert_eq!(escape("a_2E"), "a_5F2E");
        assert_eq!(escape("ü"), "_C3_BC");
        assert_eq!(escape(""), "_");
        assert_ne!(escape("a.b"), escape("a_2Eb"));
        for topic in ["*", ">", "a/b", "x\ty", "$JS"] {
            let name = escape(topic);
            assert!(name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        }
    }

    #[test]
    fn ids_carry_the_epoch_and_the_sequence() {
        let id = event_id(1_796_000_000_000, 42);
        assert_eq!(id.as_str(), "1796000000000:42");
        assert_eq!(parse_event_id(id.as_str()), Some((1_796_000_000_000, 42)));
        for bad in [
            "",
            "42",
            ":1",
            "1:",
            "1:2:3",
            "a:1",
            "1-2",
            "1:99999999999999999999999",
        ] {
            assert_eq!(parse_event_id(bad), None, "{bad:?}");
        }
    }
}
