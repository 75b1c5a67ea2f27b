//! The `EventLog` conformance suite (in `sse-test-support`) on Redis
//! Streams: each test starts its own `redis-server` (AOF, fsync always) on
//! a free port, so it may kill and restart it.

use std::time::Duration;

use sse_hub_redis::{RedisLog, RedisLogOptions};
use sse_test_support::brokers::Broker;
use sse_test_support::{broker_faults, log_conformance as suite};

fn log_on(broker: &Broker, options: RedisLogOptions) -> RedisLog {
    RedisLog::with_options(&broker.url(), options).expect("a Redis URL")
}

fn log(broker: &Broker) -> RedisLog {
    log_on(broker, RedisLogOptions::default())
}

#[tokio::test]
async fn append_read_and_tail() {
    let broker = Broker::redis();
    suite::append_read_and_tail(&log(&broker), "t").await;
}

#[tokio::test]
async fn events_keep_their_fields() {
    let broker = Broker::redis();
    suite::events_keep_their_fields(&log(&broker), "t").await;
}

#[tokio::test]
async fn an_unknown_id_resyncs() {
    let broker = Broker::redis();
    suite::an_unknown_id_resyncs(&log(&broker), "t").await;
}

#[tokio::test]
async fn eviction_resyncs() {
    let broker = Broker::redis();
    // `MAXLEN ~` trims whole nodes of 100 entries: a few hundred appends
    // are needed before anything goes.
    let log = log_on(&broker, RedisLogOptions::default().with_max_events(5));
    suite::eviction_resyncs(&log, "t", 400).await;
}

#[tokio::test]
async fn many_topics() {
    let broker = Broker::redis();
    suite::many_topics(&log(&broker), "topic").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seam_under_concurrent_appends() {
    let broker = Broker::redis();
    suite::the_seam_under_concurrent_appends(log(&broker), "t").await;
}

#[tokio::test]
async fn positions_grow() {
    let broker = Broker::redis();
    suite::positions_grow(&log(&broker), "t").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_fails_fast_and_loses_nothing() {
    let mut broker = Broker::redis();
    let log = log_on(
        &broker,
        RedisLogOptions::default().with_response_timeout(Duration::from_secs(1)),
    );
    broker_faults::an_outage_fails_fast_and_loses_nothing(log, "t", &mut broker).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_without_its_data_resyncs() {
    let mut broker = Broker::redis();
    broker_faults::a_broker_without_its_data_resyncs(log(&broker), "t", &mut broker).await;
}

#[tokio::test]
async fn a_tail_behind_retention_counts_what_it_skipped() {
    let broker = Broker::redis();
    let log = log_on(&broker, RedisLogOptions::default().with_max_events(5));
    suite::a_tail_behind_retention_counts_what_it_skipped(&log, "t", 400).await;
}
