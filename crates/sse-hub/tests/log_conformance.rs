//! The `EventLog` conformance suite (in `sse-test-support`) on the
//! in-memory log; the shared logs run the same suite on real brokers.

use sse_hub::{MemoryLog, MemoryLogOptions};
use sse_test_support::log_conformance as suite;

#[tokio::test]
async fn append_read_and_tail() {
    suite::append_read_and_tail(&MemoryLog::new(), "t").await;
}

#[tokio::test]
async fn events_keep_their_fields() {
    let log = MemoryLog::with_options(MemoryLogOptions::default().with_max_bytes(4 << 20));
    suite::events_keep_their_fields(&log, "t").await;
}

#[tokio::test]
async fn an_unknown_id_resyncs() {
    suite::an_unknown_id_resyncs(&MemoryLog::new(), "t").await;
}

#[tokio::test]
async fn eviction_resyncs() {
    let log = MemoryLog::with_options(MemoryLogOptions::default().with_max_events(5));
    suite::eviction_resyncs(&log, "t", 20).await;
}

#[tokio::test]
async fn many_topics() {
    suite::many_topics(&MemoryLog::new(), "topic").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seam_under_concurrent_appends() {
    suite::the_seam_under_concurrent_appends(MemoryLog::new(), "t").await;
}

#[tokio::test]
async fn positions_grow() {
    suite::positions_grow(&MemoryLog::new(), "t").await;
}

#[tokio::test]
async fn a_tail_behind_retention_counts_what_it_skipped() {
    let log = MemoryLog::with_options(MemoryLogOptions::default().with_max_events(5));
    suite::a_tail_behind_retention_counts_what_it_skipped(&log, "t", 1000).await;
}
