//! No loss, no repetition: a server that keeps the N events it sends and
//! serves from `Last-Event-ID + 1` is cut off K times at pseudo-random byte
//! offsets (a reset, or a close in the middle of the body); the client must
//! deliver all N events, exactly once, in order.
//!
//! The offsets come from a seeded xorshift generator. The seed is printed; a
//! failure reproduces with `SSE_NO_LOSS_SEED=<seed> cargo test -p sse-connector
//! --test no_loss -- --nocapture`. Without the variable every run draws a new
//! seed, so the runs explore new cut points.
//!
//! The test runs on the paused clock: the server's `retry: 10` waits take no
//! real time, and no other timer is pending (see `support/mod.rs`).

mod support;

use std::time::Duration;

use sse_connector::{EventSourceConnector, ReconnectOptions};
use support::{drain, ms, replay_expected, replay_server, watchdog, Recorder};

const N: usize = 1000;
const K: usize = 20;

fn seed() -> u64 {
    match std::env::var("SSE_NO_LOSS_SEED") {
        Ok(seed) => seed.trim().parse().expect("SSE_NO_LOSS_SEED is a u64"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    }
}

#[tokio::test(start_paused = true)]
async fn no_loss_n1000_k20() {
    let _guard = watchdog("no_loss_n1000_k20", Duration::from_secs(60));
    let seed = seed();
    println!("no-loss: N = {N} events, K = {K} cuts, seed = {seed} (SSE_NO_LOSS_SEED={seed} to reproduce)");
    let real_start = std::time::Instant::now();
    let (server, stats) = replay_server(N, K, seed).await;
    let recorder = Recorder::default();
    let mut events = EventSourceConnector::new(server.uri("/events"))
        .unwrap()
        .with_reconnect(
            ReconnectOptions::default()
                .with_initial_delay(ms(10))
                .with_max_attempts(Some(5)),
        )
        .with_observer(recorder.observer())
        .connect();
    let (events, error) = drain(&mut events).await;
    let stats = stats.lock().unwrap().clone();
    let failures = recorder.failures();
    let context = format!(
        "seed {seed}; cuts (offset, reset?) {:?}; resumed from {:?}; failures {failures:?}",
        stats.cuts, stats.resumed_from
    );
    assert!(error.is_none(), "the stream failed: {error:?}; {context}");

    // All N, exactly once, in order, whole.
    let ids: Vec<u64> = events
        .iter()
        .map(|e| {
            e.id()
                .unwrap_or_else(|| panic!("an event without id: {e:?}; {context}"))
                .parse()
                .unwrap()
        })
        .collect();
    let want: Vec<u64> = (1..=N as u64).collect();
    if ids != want {
        let first_bad = ids
            .iter()
            .zip(&want)
            .position(|(got, want)| got != want)
            .unwrap_or(ids.len().min(want.len()));
        panic!(
            "got {} events, want {N}; first difference at position {first_bad}: {:?} vs {:?}; {context}",
            ids.len(),
            ids.get(first_bad),
            want.get(first_bad)
        );
    }
    for (event, n) in events.iter().zip(1..) {
        let (event_type, data) = replay_expected(n);
        assert_eq!(event.event_type(), event_type, "event {n}; {context}");
        assert_eq!(event.data(), data, "event {n}; {context}");
    }

    // The server cut K connections, then served the rest, then said 204.
    assert_eq!(stats.cuts.len(), K, "{context}");
    assert_eq!(stats.resumed_from.len(), K + 2, "{context}");
    assert_eq!(
        stats.resumed_from.last().unwrap().as_deref(),
        Some(N.to_string().as_str()),
        "{context}"
    );
    for request in server.requests() {
        request.assert_client_headers();
    }
    // Each resumption was exactly after the last event the client had whole:
    // the server never sent an event in full twice. (On loopback a reset
    // loses no byte the client was sent, so nothing needed sending again.)
    assert_eq!(
        stats.events_sent, N,
        "events sent in full, resends included; {context}"
    );
    let resets = stats.cuts.iter().filter(|(_, reset)| *reset).count();
    println!(
        "no-loss: {N} events delivered exactly once in order over {} connections \
         ({resets} resets, {} closes mid-stream; the server sent {} events in full, \
         {} again after a cut); resumed from {:?}; {:?} of real time",
        stats.resumed_from.len(),
        K - resets,
        stats.events_sent,
        stats.events_sent - N,
        stats
            .resumed_from
            .iter()
            .map(|id| id.as_deref().unwrap_or("-"))
            .collect::<Vec<_>>(),
        real_start.elapsed()
    );
}
