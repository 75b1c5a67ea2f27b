//! The part of the `EventLog` conformance suite that only a shared log has:
//! its broker goes away, and comes back with its data or without it.
//!
//! What must hold: while the broker is down, publishing fails fast with an
//! "unavailable" error and live subscriptions end (their clients reconnect
//! and resume), nothing hangs; everything acknowledged before the outage is
//! there after it; a broker that lost its data makes resuming clients
//! resynchronise, never miss events silently.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sse_hub::{EventLog, Hub, ReadFrom};
use sse_model::{EventId, LastEventId, ServerSentEvent};

use crate::brokers::Broker;
use crate::log_conformance::data_of;

/// How long a broker may take to come back and be reconnected to.
const COMEBACK: Duration = Duration::from_secs(20);

/// How fast "fails fast" is: a response timeout of a few seconds at most.
const FAST: Duration = Duration::from_secs(5);

async fn within<F: std::future::Future>(limit: Duration, what: &str, future: F) -> F::Output {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("timed out after {limit:?}: {what}"))
}

/// Publishes until the log has reconnected to its broker.
async fn publish_when_back<L: EventLog>(hub: &Hub<L>, topic: &str, data: &str) -> EventId {
    let deadline = Instant::now() + COMEBACK;
    loop {
        match hub.publish(topic, ServerSentEvent::new(data)).await {
            Ok(id) => return id,
            Err(error) if Instant::now() < deadline => {
                assert!(error.is_unavailable(), "while reconnecting: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("the broker is back, but publishing still fails: {error}"),
        }
    }
}

/// The broker is killed under a live subscription and comes back with its
/// data: the subscription ends, publishing fails fast, and afterwards
/// everything acknowledged before the kill is there and a client resumes
/// from its last id with exactly what it missed.
pub async fn an_outage_fails_fast_and_loses_nothing<L: EventLog>(
    log: L,
    topic: &str,
    broker: &mut Broker,
) {
    let hub = Hub::with_log(log);
    let mut live = hub.subscribe(topic, None).await.expect("subscribe");
    let a = hub
        .publish(topic, ServerSentEvent::new("a"))
        .await
        .expect("publish a");
    let b = hub
        .publish(topic, ServerSentEvent::new("b"))
        .await
        .expect("publish b");
    for want in ["a", "b"] {
        let event = within(FAST, "a live event", live.next()).await;
        assert_eq!(event.as_ref().map(data_of).as_deref(), Some(want));
    }

    broker.kill();
    let started = Instant::now();
    let error = within(FAST, "publishing while the broker is down", async {
        hub.publish(topic, ServerSentEvent::new("lost")).await
    })
    .await
    .expect_err("publishing with no broker fails");
    assert!(error.is_unavailable(), "a clear error: {error}");
    assert!(started.elapsed() < FAST);
    // The live subscription ends (whatever it still had queued first).
    within(COMEBACK, "the subscription to end", async {
        while live.next().await.is_some() {}
    })
    .await;

    broker.restart();
    let c = publish_when_back(&hub, topic, "c").await;
    let all = within(FAST, "read", hub.log().read(topic, ReadFrom::Oldest))
        .await
        .expect("read after the restart");
    let kept: Vec<(String, EventId)> = all
        .events
        .iter()
        .map(|e| (data_of(&e.encoded), e.id.clone()))
        .collect();
    // A failed publish is "not known to be stored": a client may have sent
    // it just as the broker died and again once it was back. At most once.
    let failed = kept.iter().filter(|(data, _)| data == "lost").count();
    assert!(failed <= 1, "a failed publish stored twice: {kept:?}");
    let acknowledged: Vec<_> = kept
        .into_iter()
        .filter(|(data, _)| data != "lost")
        .collect();
    assert_eq!(
        acknowledged,
        [
            ("a".to_owned(), a),
            ("b".to_owned(), b.clone()),
            ("c".to_owned(), c)
        ],
        "what was acknowledged survives, in order"
    );

    let resume = LastEventId::new(b).expect("an id");
    let mut resumed = hub.subscribe(topic, Some(&resume)).await.expect("resume");
    let mut event = within(FAST, "the missed event", resumed.next()).await;
    if failed == 1 {
        assert_eq!(event.as_ref().map(data_of).as_deref(), Some("lost"));
        event = within(FAST, "the missed event", resumed.next()).await;
    }
    assert_eq!(event.as_ref().map(data_of).as_deref(), Some("c"));
    hub.publish(topic, ServerSentEvent::new("d"))
        .await
        .expect("publish d");
    let event = within(FAST, "a live event after the restart", resumed.next()).await;
    assert_eq!(event.as_ref().map(data_of).as_deref(), Some("d"));
}

/// The broker comes back without its data: a client resuming with an id
/// from before gets a resync, not the new events as if nothing was lost.
pub async fn a_broker_without_its_data_resyncs<L: EventLog>(
    log: L,
    topic: &str,
    broker: &mut Broker,
) {
    let hub = Hub::with_log(log);
    let mut ids = Vec::new();
    for data in ["a", "b", "c"] {
        ids.push(
            hub.publish(topic, ServerSentEvent::new(data))
                .await
                .expect("publish"),
        );
    }
    broker.restart_empty();
    publish_when_back(&hub, topic, "after the loss").await;
    for (n, id) in ids.iter().enumerate() {
        let replay = within(
            FAST,
            "read",
            hub.log().read(topic, ReadFrom::After(id.as_str())),
        )
        .await
        .expect("read");
        assert!(
            replay.resync.is_some(),
            "resuming after event {n} of a lost history must resync: {replay:?}"
        );
    }
    let resume = LastEventId::new(ids[1].clone()).expect("an id");
    let mut resumed = hub.subscribe(topic, Some(&resume)).await.expect("resume");
    let first = within(FAST, "the resync event", resumed.next())
        .await
        .expect("an event");
    let text = String::from_utf8_lossy(first.as_bytes()).into_owned();
    assert!(
        text.contains(&format!("event:{}", sse_hub::RESYNC_EVENT_TYPE.as_str())),
        "{text}"
    );
}
