//! The `EventLog` conformance suite (in `sse-test-support`) on Redis
//! Streams: each test starts its own `redis-server` (AOF, fsync always) on
//! a free port, so it may kill and restart it.

use std::time::Duration;

use sse_hub_nats::{NatsLog, NatsLogOptions};
use sse_test_support::brokers::Broker;
use sse_test_support::{broker_faults, log_conformance as suite};

async fn log_on(broker: &Broker, options: NatsLogOptions) -> NatsLog {
    let log = NatsLog::with_options(&broker.url(), options)
        .await
        .expect("a NATS URL");
    // The client connects in the background: wait for it, so that the
    // first operation does not find it still connecting.
    log.wait_until_connected(Duration::from_secs(10))
        .await
        .expect("connected to the test's nats-server");
    log
}

async fn log(broker: &Broker) -> NatsLog {
    log_on(broker, NatsLogOptions::default()).await
}

#[tokio::test]
async fn append_read_and_tail() {
    let broker = Broker::nats();
    suite::append_read_and_tail(&log(&broker).await, "t").await;
}

#[tokio::test]
async fn events_keep_their_fields() {
    let broker = Broker::nats();
    suite::events_keep_their_fields(&log(&broker).await, "t").await;
}

#[tokio::test]
async fn an_unknown_id_resyncs() {
    let broker = Broker::nats();
    suite::an_unknown_id_resyncs(&log(&broker).await, "t").await;
}

#[tokio::test]
async fn eviction_resyncs() {
    let broker = Broker::nats();
    let log = log_on(&broker, NatsLogOptions::default().with_max_events(5)).await;
    suite::eviction_resyncs(&log, "t", 20).await;
}

#[tokio::test]
async fn many_topics() {
    let broker = Broker::nats();
    suite::many_topics(&log(&broker).await, "topic").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seam_under_concurrent_appends() {
    let broker = Broker::nats();
    suite::the_seam_under_concurrent_appends(log(&broker).await, "t").await;
}

#[tokio::test]
async fn positions_grow() {
    let broker = Broker::nats();
    suite::positions_grow(&log(&broker).await, "t").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_fails_fast_and_loses_nothing() {
    let mut broker = Broker::nats();
    let log = log_on(
        &broker,
        NatsLogOptions::default().with_response_timeout(Duration::from_secs(1)),
    )
    .await;
    broker_faults::an_outage_fails_fast_and_loses_nothing(log, "t", &mut broker).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_without_its_data_resyncs() {
    let mut broker = Broker::nats();
    broker_faults::a_broker_without_its_data_resyncs(log(&broker).await, "t", &mut broker).await;
}

#[tokio::test]
async fn a_tail_behind_retention_counts_what_it_skipped() {
    let broker = Broker::nats();
    let log = log_on(&broker, NatsLogOptions::default().with_max_events(5)).await;
    suite::a_tail_behind_retention_counts_what_it_skipped(&log, "t", 2000).await;
}

/// A stream deleted behind the log's back (an operator, a lost replica)
/// while the connection stays up: the tail notices within its check, the
/// subscription ends, and a client resuming from before is resynced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_deleted_under_a_live_tail_ends_it() {
    use futures_util::StreamExt;
    use sse_hub::Hub;
    use sse_model::{LastEventId, ServerSentEvent};

    let broker = Broker::nats();
    let hub = Hub::with_log(log(&broker).await);
    let old = hub.publish("t", ServerSentEvent::new("a")).await.unwrap();
    let mut live = hub.subscribe("t", None).await.unwrap();

    let operator = async_nats::connect(broker.url()).await.unwrap();
    async_nats::jetstream::new(operator)
        .delete_stream("SSE_HUB_t")
        .await
        .expect("the operator deletes the stream");
    let ended = tokio::time::timeout(Duration::from_secs(15), async {
        while live.next().await.is_some() {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "the subscription on a deleted stream went on"
    );

    hub.publish("t", ServerSentEvent::new("b")).await.unwrap();
    let resume = LastEventId::new(old).unwrap();
    let mut resumed = hub.subscribe("t", Some(&resume)).await.unwrap();
    let first = resumed.next().await.unwrap();
    let text = String::from_utf8_lossy(first.as_bytes()).into_owned();
    assert!(text.contains("event:sse-hub-resync"), "{text}");
}
