//! Redis stream entries: their ids as positions, their fields as events,
//! and the replies that carry them.

use redis::Value;
use sse_hub::{Error, Position, StoredEvent};
use sse_model::{EncodedEvent, EventId, EventType, ServerSentEvent};

/// A Redis entry id, `MS-SEQ`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct EntryId {
    pub(crate) ms: u64,
    pub(crate) seq: u64,
}

impl EntryId {
    pub(crate) const ZERO: EntryId = EntryId { ms: 0, seq: 0 };

    /// Parses `MS-SEQ` strictly: digits, one dash, digits.
    pub(crate) fn parse(text: &str) -> Option<EntryId> {
        let (ms, seq) = text.split_once('-')?;
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms) || !digits(seq) {
            return None;
        }
        Some(EntryId {
            ms: ms.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }

    pub(crate) fn position(self) -> Position {
        Position((u128::from(self.ms) << 64) | u128::from(self.seq))
    }

    pub(crate) fn from_position(position: Position) -> EntryId {
        EntryId {
            ms: (position.0 >> 64) as u64,
            seq: position.0 as u64,
        }
    }

    pub(crate) fn event_id(self) -> EventId {
        // Digits and a dash: always a valid id.
        EventId::new(self.to_string()).unwrap_or_else(|_| EventId::from(0u64))
    }
}

impl std::fmt::Display for EntryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// The fields an event is stored as: its data, its type and its
/// reconnection time if it has them. Its id is the entry's.
pub(crate) fn fields(event: &ServerSentEvent) -> Vec<(&'static str, Vec<u8>)> {
    let mut fields = vec![("d", event.data().as_bytes().to_vec())];
    if let Some(event_type) = event.event_type() {
        fields.push(("t", event_type.as_bytes().to_vec()));
    }
    if let Some(retry) = event.retry() {
        fields.push(("r", retry.to_string().into_bytes()));
    }
    fields
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(text) => Some(text.clone()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        Value::Int(n) => Some(n.to_string()),
        _ => None,
    }
}

fn malformed(what: &str) -> Error {
    Error::log(format!("Redis answered something that is not {what}"))
}

/// One entry of an `XRANGE` / `XREAD` reply, as a stored event (encoded
/// here, once for the node that reads it).
pub(crate) fn stored_event(entry: &Value) -> Result<StoredEvent, Error> {
    let Value::Array(parts) = entry else {
        return Err(malformed("a stream entry"));
    };
    let [id, fields] = parts.as_slice() else {
        return Err(malformed("a stream entry"));
    };
    let id = text(id)
        .and_then(|id| EntryId::parse(&id))
        .ok_or_else(|| malformed("an entry id"))?;
    let pairs: Vec<(String, Vec<u8>)> = match fields {
        Value::Array(items) => items
            .chunks(2)
            .filter_map(|pair| match pair {
                [name, Value::BulkString(value)] => Some((text(name)?, value.clone())),
                _ => None,
            })
            .collect(),
        Value::Map(items) => items
            .iter()
            .filter_map(|(name, value)| match value {
                Value::BulkString(value) => Some((text(name)?, value.clone())),
                _ => None,
            })
            .collect(),
        _ => return Err(malformed("stream entry fields")),
    };
    let mut data = None;
    let mut event_type = None;
    let mut retry = None;
    for (name, value) in pairs {
        match name.as_str() {
            "d" => data = Some(String::from_utf8_lossy(&value).into_owned()),
            "t" => event_type = EventType::try_from(String::from_utf8_lossy(&value).as_ref()).ok(),
            "r" => {
                retry = std::str::from_utf8(&value)
                    .ok()
                    .and_then(|r| r.parse().ok())
            }
            _ => {}
        }
    }
    let mut event =
        ServerSentEvent::new(data.ok_or_else(|| malformed("an event (no data field)"))?);
    if let Some(event_type) = event_type {
        event = event.with_event_type(event_type);
    }
    if let Some(retry) = retry {
        event = event.with_retry(retry);
    }
    let event_id = id.event_id();
    Ok(StoredEvent {
        position: id.position(),
        encoded: EncodedEvent::new(&event.with_id(event_id.clone())),
        id: event_id,
    })
}

/// The entries of an `XRANGE` reply.
pub(crate) fn range(reply: &Value) -> Result<Vec<StoredEvent>, Error> {
    match reply {
        Value::Array(entries) => entries.iter().map(stored_event).collect(),
        Value::Nil => Ok(Vec::new()),
        _ => Err(malformed("a list of entries")),
    }
}

/// A transaction that reads up to `count` entries of the stream `key` from
/// `start` to `end` (`XRANGE` bounds) together with the stream's counters,
/// so that the two agree.
pub(crate) fn page_with_info(key: &str, start: &str, end: &str, count: usize) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    pipe.atomic().ignore_errors();
    pipe.cmd("XRANGE")
        .arg(key)
        .arg(start)
        .arg(end)
        .arg("COUNT")
        .arg(count);
    pipe.cmd("XINFO").arg("STREAM").arg(key);
    pipe
}

/// The answer to [`page_with_info`]: the entries, and the counters unless
/// the stream does not exist.
pub(crate) fn parse_page_with_info(
    replies: &[Value],
) -> Result<(Vec<StoredEvent>, Option<StreamInfo>), Error> {
    let [page, info] = replies else {
        return Err(Error::log(format!(
            "Redis answered {} replies to a transaction of 2",
            replies.len()
        )));
    };
    let page = match page {
        Value::ServerError(error) => return Err(Error::log(error.clone())),
        page => range(page)?,
    };
    let info = match info {
        // No such key: the topic has no stream (yet, or any more).
        Value::ServerError(_) => None,
        info => Some(self::info(info)?),
    };
    Ok((page, info))
}

/// What `XINFO STREAM` says of a stream.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct StreamInfo {
    pub(crate) last_generated: Option<EntryId>,
    /// The oldest retained entry.
    pub(crate) first: Option<EntryId>,
    pub(crate) entries_added: u64,
    pub(crate) length: u64,
}

impl StreamInfo {
    /// Whether entries were ever trimmed (we never delete any other way).
    pub(crate) fn trimmed(&self) -> bool {
        self.entries_added > self.length
    }

    /// Whether nothing at or before `cursor` is retained: the head of the
    /// stream is past it.
    pub(crate) fn head_is_past(&self, cursor: EntryId) -> bool {
        self.first.map_or(true, |first| first > cursor)
    }
}

/// Parses an `XINFO STREAM` reply.
pub(crate) fn info(reply: &Value) -> Result<StreamInfo, Error> {
    let pairs: Vec<(String, &Value)> = match reply {
        Value::Array(items) => items
            .chunks(2)
            .filter_map(|pair| match pair {
                [name, value] => Some((text(name)?, value)),
                _ => None,
            })
            .collect(),
        Value::Map(items) => items
            .iter()
            .filter_map(|(name, value)| Some((text(name)?, value)))
            .collect(),
        _ => return Err(malformed("stream information")),
    };
    if !pairs.iter().any(|(name, _)| name == "entries-added") {
        // Redis before 7.0: without the counter, evictions cannot be told
        // from ids that were never given, nor counted.
        return Err(Error::log(
            "this Redis does not count stream entries (XINFO STREAM has no entries-added): \
             sse-hub-redis needs Redis 7.0 or later",
        ));
    }
    let mut info = StreamInfo::default();
    let id = |value: &Value| {
        text(value)
            .and_then(|t| EntryId::parse(&t))
            .filter(|id| *id != EntryId::ZERO)
    };
    for (name, value) in pairs {
        match name.as_str() {
            "last-generated-id" => info.last_generated = id(value),
            "first-entry" => {
                if let Value::Array(entry) = value {
                    info.first = entry
                        .first()
                        .and_then(text)
                        .and_then(|t| EntryId::parse(&t));
                }
            }
            "entries-added" => {
                info.entries_added = text(value).and_then(|n| n.parse().ok()).unwrap_or(0)
            }
            "length" => info.length = text(value).and_then(|n| n.parse().ok()).unwrap_or(0),
            _ => {}
        }
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_parse_strictly_and_order_as_positions() {
        let a = EntryId::parse("1700000000000-0").unwrap();
        let b = EntryId::parse("1700000000000-1").unwrap();
        let c = EntryId::parse("1700000000001-0").unwrap();
        assert!(a.position() < b.position() && b.position() < c.position());
        assert_eq!(EntryId::from_position(b.position()), b);
        assert_eq!(b.to_string(), "1700000000000-1");
        for bad in [
            "",
            "7",
            "-1",
            "1-",
            "1-2-3",
            "a-1",
            "1 -2",
            "99999999999999999999999-0",
        ] {
            assert_eq!(EntryId::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn an_entry_becomes_the_event_with_the_entry_id() {
        let entry = Value::Array(vec![
            Value::BulkString(b"5-2".to_vec()),
            Value::Array(vec![
                Value::BulkString(b"d".to_vec()),
                Value::BulkString(b"a\nb".to_vec()),
                Value::BulkString(b"t".to_vec()),
                Value::BulkString(b"note".to_vec()),
                Value::BulkString(b"r".to_vec()),
                Value::BulkString(b"250".to_vec()),
            ]),
        ]);
        let stored = stored_event(&entry).unwrap();
        assert_eq!(stored.id.as_str(), "5-2");
        assert_eq!(
            stored.encoded.as_bytes(),
            b"data:a\ndata:b\nevent:note\nid:5-2\nretry:250\n\n"
        );
        let event = ServerSentEvent::new("x").with_event_type(EventType::from_static("e"));
        let names: Vec<&str> = fields(&event).iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["d", "t"]);
    }

    #[test]
    fn stream_information_without_the_counters_of_redis_7_is_refused() {
        let text = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let old = Value::Array(vec![
            text("length"),
            Value::Int(3),
            text("last-generated-id"),
            text("5-0"),
        ]);
        let error = info(&old).unwrap_err();
        assert!(error.to_string().contains("Redis 7.0"), "{error}");
        let new = Value::Array(vec![
            text("length"),
            Value::Int(3),
            text("last-generated-id"),
            text("5-0"),
            text("entries-added"),
            Value::Int(9),
        ]);
        let parsed = info(&new).unwrap();
        assert_eq!((parsed.length, parsed.entries_added), (3, 9));
        assert!(parsed.trimmed());
    }
}
