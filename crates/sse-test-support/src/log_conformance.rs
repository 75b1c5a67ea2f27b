//! One conformance suite for every `sse_hub::EventLog`: the in-memory log
//! and the shared ones (Redis Streams, NATS JetStream) must behave alike.
//!
//! Each case takes a log and a topic name of its own (a shared broker may
//! hold other tests' topics) and panics on a breach of the contract written
//! on `EventLog`.

use std::collections::HashSet;
use std::time::Duration;

use futures_util::StreamExt;
use sse_hub::{EventLog, Hub, LagPolicy, Position, ReadFrom, ResyncReason, TailRecord};
use sse_model::{EncodedEvent, EventId, EventType, LastEventId, ServerSentEvent};

/// The bound on anything that should be prompt, a broker's round trips
/// included.
const LIMIT: Duration = Duration::from_secs(10);

async fn within<F: std::future::Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(LIMIT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out after {LIMIT:?}: {what}"))
}

/// The `data` of an encoded event.
pub fn data_of(encoded: &EncodedEvent) -> String {
    let text = std::str::from_utf8(encoded.as_bytes()).expect("UTF-8");
    text.lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `id` of an encoded event.
pub fn id_of(encoded: &EncodedEvent) -> Option<String> {
    let text = std::str::from_utf8(encoded.as_bytes()).expect("UTF-8");
    text.lines()
        .find_map(|line| line.strip_prefix("id:"))
        .map(str::to_owned)
}

async fn append_all<L: EventLog>(log: &L, topic: &str, datas: &[&str]) -> Vec<EventId> {
    let mut ids = Vec::new();
    for data in datas {
        let id = within("append", log.append(topic, ServerSentEvent::new(*data)))
            .await
            .expect("append");
        ids.push(id);
    }
    ids
}

/// Appends, then reads from the oldest and after an id, then tails: order,
/// ids, positions, the newest, and the encoded bytes.
pub async fn append_read_and_tail<L: EventLog>(log: &L, topic: &str) {
    let ids = append_all(log, topic, &["one", "two", "three"]).await;
    let unique: HashSet<&EventId> = ids.iter().collect();
    assert_eq!(unique.len(), 3, "ids are unique: {ids:?}");

    let all = within("read", log.read(topic, ReadFrom::Oldest))
        .await
        .unwrap();
    assert!(all.resync.is_none());
    let datas: Vec<String> = all.events.iter().map(|e| data_of(&e.encoded)).collect();
    assert_eq!(datas, ["one", "two", "three"]);
    let stored_ids: Vec<&EventId> = all.events.iter().map(|e| &e.id).collect();
    assert_eq!(stored_ids, ids.iter().collect::<Vec<_>>());
    for event in &all.events {
        assert_eq!(
            id_of(&event.encoded).as_deref(),
            Some(event.id.as_str()),
            "the SSE id is the stored one"
        );
    }
    assert!(
        all.events.windows(2).all(|w| w[0].position < w[1].position),
        "positions grow"
    );
    let newest = all.newest.clone().expect("a newest event");
    assert_eq!(newest.1, ids[2]);
    assert_eq!(newest.0, all.events[2].position);
    let asked = within("newest", log.newest(topic)).await.unwrap();
    assert_eq!(asked.map(|(_, id)| id), Some(ids[2].clone()));

    let after = within(
        "read after",
        log.read(topic, ReadFrom::After(ids[0].as_str())),
    )
    .await
    .unwrap();
    let datas: Vec<String> = after.events.iter().map(|e| data_of(&e.encoded)).collect();
    assert_eq!(datas, ["two", "three"]);
    let at_end = within(
        "read after the newest",
        log.read(topic, ReadFrom::After(ids[2].as_str())),
    )
    .await
    .unwrap();
    assert!(
        at_end.events.is_empty() && at_end.resync.is_none(),
        "{at_end:?}"
    );

    // A tail after the first event yields the rest, then what comes next.
    let mut tail = within("tail", log.tail(topic, Some(all.events[0].position)))
        .await
        .unwrap();
    let later = append_all(log, topic, &["four"]).await;
    let mut tailed = Vec::new();
    while tailed.len() < 3 {
        match within("a tailed record", tail.next()).await {
            Some(Ok(TailRecord::Event(event))) => tailed.push((data_of(&event.encoded), event.id)),
            other => panic!("expected an event, got {other:?}"),
        }
    }
    assert_eq!(
        tailed,
        [
            ("two".to_owned(), ids[1].clone()),
            ("three".to_owned(), ids[2].clone()),
            ("four".to_owned(), later[0].clone())
        ]
    );
}

/// Fields and payloads that must come back byte for byte: line breaks of
/// every kind, a type, a reconnection time, a large event, Unicode.
pub async fn events_keep_their_fields<L: EventLog>(log: &L, topic: &str) {
    let large = "x".repeat(512 * 1024);
    let events = [
        ServerSentEvent::new("a\nb\r\nc\rd"),
        ServerSentEvent::new("typed")
            .with_event_type(EventType::from_static("note"))
            .with_retry(1500),
        ServerSentEvent::new(""),
        ServerSentEvent::new(large.clone()),
        ServerSentEvent::new("héllo ☃ 👋"),
    ];
    let mut ids = Vec::new();
    for event in events.iter().cloned() {
        ids.push(within("append", log.append(topic, event)).await.unwrap());
    }
    let all = within("read", log.read(topic, ReadFrom::Oldest))
        .await
        .unwrap();
    assert_eq!(all.events.len(), events.len());
    for ((stored, sent), id) in all.events.iter().zip(&events).zip(&ids) {
        let want = EncodedEvent::new(&sent.clone().with_id(id.clone()));
        assert_eq!(
            stored.encoded.as_bytes(),
            want.as_bytes(),
            "event {:?}",
            &sent.data()[..sent.data().len().min(40)]
        );
    }
}

/// An id the log never gave, or cannot read, is unknown: resync.
pub async fn an_unknown_id_resyncs<L: EventLog>(log: &L, topic: &str) {
    let ids = append_all(log, topic, &["a", "b"]).await;
    for foreign in ["nonsense", "999999999999999-0", "18446744073709551615", "7"] {
        let replay = within("read", log.read(topic, ReadFrom::After(foreign)))
            .await
            .unwrap();
        if replay.resync.is_none() {
            // An id of the log's own form may be valid here ("7" for a log
            // numbering from 1): then it must resume, not invent events.
            assert!(replay.events.len() <= 2, "{foreign}: {replay:?}");
            continue;
        }
        assert_eq!(replay.resync, Some(ResyncReason::Unknown), "{foreign}");
        assert!(replay.events.is_empty());
        assert_eq!(replay.newest.map(|(_, id)| id), Some(ids[1].clone()));
    }
    let empty = format!("{topic}-never-used");
    let replay = within("read", log.read(&empty, ReadFrom::After(ids[0].as_str())))
        .await
        .unwrap();
    assert_eq!(
        replay.resync,
        Some(ResyncReason::Unknown),
        "an id of another topic"
    );
}

/// After enough appends to evict (`appends` beyond the log's retention), a
/// read after an evicted id resyncs as evicted; a read after a retained id
/// resumes.
pub async fn eviction_resyncs<L: EventLog>(log: &L, topic: &str, appends: usize) {
    let datas: Vec<String> = (0..appends).map(|n| n.to_string()).collect();
    let refs: Vec<&str> = datas.iter().map(String::as_str).collect();
    let ids = append_all(log, topic, &refs).await;
    let all = within("read", log.read(topic, ReadFrom::Oldest))
        .await
        .unwrap();
    assert!(
        all.events.len() < appends,
        "{appends} appends evicted nothing ({} retained)",
        all.events.len()
    );
    let evicted = within("read", log.read(topic, ReadFrom::After(ids[0].as_str())))
        .await
        .unwrap();
    assert_eq!(evicted.resync, Some(ResyncReason::Evicted), "{evicted:?}");
    assert_eq!(
        evicted.newest.map(|(_, id)| id),
        Some(ids[appends - 1].clone())
    );
    let retained = all.events[0].id.clone();
    let resumed = within("read", log.read(topic, ReadFrom::After(retained.as_str())))
        .await
        .unwrap();
    assert!(resumed.resync.is_none());
    assert_eq!(resumed.events.len(), all.events.len() - 1);
    let counted = within("evicted", log.evicted(topic)).await.unwrap();
    assert!(counted > 0, "the evictions are counted");
}

/// Topics are independent: reads and tails see their own topic only.
pub async fn many_topics<L: EventLog>(log: &L, prefix: &str) {
    let topics: Vec<String> = (0..20).map(|n| format!("{prefix}-{n}")).collect();
    for round in 0..3 {
        for topic in &topics {
            let data = format!("{topic}/{round}");
            within("append", log.append(topic, ServerSentEvent::new(data)))
                .await
                .unwrap();
        }
    }
    for topic in &topics {
        let all = within("read", log.read(topic, ReadFrom::Oldest))
            .await
            .unwrap();
        let datas: Vec<String> = all.events.iter().map(|e| data_of(&e.encoded)).collect();
        let want: Vec<String> = (0..3).map(|round| format!("{topic}/{round}")).collect();
        assert_eq!(datas, want);
    }
}

/// The seam through a hub on this log, under concurrent appends: every
/// subscriber that joins with the id of an event gets exactly the events
/// after it, in order, whenever it joined.
pub async fn the_seam_under_concurrent_appends<L: EventLog>(log: L, topic: &str) {
    const EVENTS: usize = 300;
    const SUBSCRIBERS: usize = 12;
    let hub = Hub::with_log(log)
        .with_subscriber_queue(EVENTS * 2)
        .with_lag_policy(LagPolicy::Gap);
    let first = hub
        .publish(topic, ServerSentEvent::new("0"))
        .await
        .expect("publish");
    let (ids_tx, ids_rx) = tokio::sync::watch::channel(vec![first]);
    let publisher = {
        let hub = hub.clone();
        let topic = topic.to_owned();
        tokio::spawn(async move {
            for n in 1..EVENTS {
                let id = hub
                    .publish(&topic, ServerSentEvent::new(n.to_string()))
                    .await
                    .expect("publish");
                ids_tx.send_modify(|ids| ids.push(id));
                if n % 7 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    let mut readers = Vec::new();
    for k in 0..SUBSCRIBERS {
        let mut ids = ids_rx.clone();
        let hub = hub.clone();
        let topic = topic.to_owned();
        readers.push(tokio::spawn(async move {
            // Join when some events are out, at a spread of points.
            let wanted = 1 + k * (EVENTS - 2) / SUBSCRIBERS;
            let after =
                ids.wait_for(|ids| ids.len() > wanted).await.expect("ids")[wanted - 1].clone();
            let resume = LastEventId::new(after).expect("a valid id");
            let mut sub = hub
                .subscribe(&topic, Some(&resume))
                .await
                .expect("subscribe");
            let mut expected = wanted;
            while expected < EVENTS {
                let item = within("the next event", sub.next())
                    .await
                    .expect("the subscription goes on");
                assert_eq!(
                    data_of(&item),
                    expected.to_string(),
                    "subscriber {k} (after event {}) got a gap or a duplicate",
                    wanted - 1
                );
                expected += 1;
            }
        }));
    }
    within("the publisher", publisher).await.unwrap();
    for reader in readers {
        within("a reader", reader).await.unwrap();
    }
}

/// The numeric order of positions is the order of appends, across many.
pub async fn positions_grow<L: EventLog>(log: &L, topic: &str) {
    let datas: Vec<String> = (0..50).map(|n| n.to_string()).collect();
    let refs: Vec<&str> = datas.iter().map(String::as_str).collect();
    append_all(log, topic, &refs).await;
    let all = within("read", log.read(topic, ReadFrom::Oldest))
        .await
        .unwrap();
    let positions: Vec<Position> = all.events.iter().map(|e| e.position).collect();
    let mut sorted = positions.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(positions, sorted);
}

/// A tail that is not read while `appends` events (beyond the log's
/// retention) go in reports what was evicted before it could read it: the
/// events it yields and the counts it skips account for every append,
/// exactly and in order.
pub async fn a_tail_behind_retention_counts_what_it_skipped<L: EventLog>(
    log: &L,
    topic: &str,
    appends: usize,
) {
    append_all(log, topic, &["start"]).await;
    let mut tail = within("tail", log.tail(topic, None)).await.unwrap();
    match within("the first record", tail.next()).await {
        Some(Ok(TailRecord::Event(event))) => assert_eq!(data_of(&event.encoded), "start"),
        other => panic!("expected the first event, got {other:?}"),
    }
    let datas: Vec<String> = (0..appends).map(|n| n.to_string()).collect();
    let refs: Vec<&str> = datas.iter().map(String::as_str).collect();
    append_all(log, topic, &refs).await;
    // Every record accounts for the next appends: an event for one (the
    // very next), a skip for as many as it counts. A log may hand out what
    // it read ahead before the evictions, so skips and events interleave.
    let mut next = 0usize;
    let mut skipped = 0usize;
    while next < appends {
        match within("a tailed record", tail.next()).await {
            Some(Ok(TailRecord::Event(event))) => {
                assert_eq!(
                    data_of(&event.encoded),
                    refs[next],
                    "after {skipped} skipped"
                );
                next += 1;
            }
            Some(Ok(TailRecord::Skipped(n))) => {
                assert!(n > 0, "an empty skip");
                let n = usize::try_from(n).expect("a count");
                assert!(next + n < appends, "skipped past the newest event");
                next += n;
                skipped += n;
            }
            other => panic!("expected a record, got {other:?}"),
        }
    }
    assert!(
        skipped > 0,
        "{appends} appends evicted nothing before the tail read them"
    );
}
