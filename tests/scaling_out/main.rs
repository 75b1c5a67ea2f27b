//! Many servers, one stream: chat processes sharing a Redis Streams or NATS
//! JetStream log are one room. Every test runs on both logs, each with a
//! broker of its own (started on a free port, killed and restarted by the
//! test) and real chat processes over real sockets.

mod cluster;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use cluster::{collect, next_event, reconnecting_client, take_texts, text_of, Cluster, Kind};
use sse_test_support::balancer::Balancer;

/// Runs a test body on each shared log.
macro_rules! on_each_log {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis() {
                super::$test(Kind::Redis).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn nats() {
                super::$test(Kind::Nats).await;
            }
        }
    )*};
}

on_each_log!(
    posts_reach_every_node_in_one_order_exactly_once,
    a_client_cut_from_one_node_resumes_on_another,
    a_broker_outage_answers_503_and_loses_nothing,
    a_broker_that_lost_its_data_makes_clients_resync,
);

/// Three nodes, 70 pages on each, a poster on each posting 700 messages at
/// once: every page gets all 2100, in the same order (the log's), each
/// exactly once, and each poster's messages in the order it posted them.
async fn posts_reach_every_node_in_one_order_exactly_once(kind: Kind) {
    const NODES: usize = 3;
    const PAGES_PER_NODE: usize = 70;
    const POSTS_PER_NODE: usize = 700;
    const TOTAL: usize = NODES * POSTS_PER_NODE;
    let cluster = std::sync::Arc::new(Cluster::start(kind, NODES).await);

    let mut pages = Vec::new();
    for node in 0..NODES {
        for _ in 0..PAGES_PER_NODE {
            // Subscribed once the head has arrived: nothing posted later
            // can be missed.
            let events = cluster.page(node).await;
            pages.push(tokio::spawn(collect(events, TOTAL)));
        }
    }
    let posters: Vec<_> = (0..NODES)
        .map(|node| {
            let cluster = std::sync::Arc::clone(&cluster);
            tokio::spawn(async move {
                for n in 0..POSTS_PER_NODE {
                    let (status, body) = cluster
                        .post(node, &format!("node{node}"), &n.to_string())
                        .await;
                    assert_eq!(status, 201, "post {n} on node {node}: {body}");
                }
            })
        })
        .collect();
    for poster in posters {
        poster.await.expect("a poster");
    }
    let mut seen = Vec::new();
    for page in pages {
        seen.push(page.await.expect("a page"));
    }
    let order = &seen[0];
    let unique: HashSet<&String> = order.iter().collect();
    assert_eq!(unique.len(), TOTAL, "every message exactly once");
    for node in 0..NODES {
        let prefix = format!("node{node}: ");
        let own: Vec<&str> = order
            .iter()
            .filter_map(|text| text.strip_prefix(&prefix))
            .collect();
        let posted: Vec<String> = (0..POSTS_PER_NODE).map(|n| n.to_string()).collect();
        assert_eq!(
            own, posted,
            "node {node}'s messages in the order it posted them"
        );
    }
    for (page, texts) in seen.iter().enumerate() {
        assert!(texts == order, "page {page} saw another order than page 0");
    }
}

/// A client behind a load balancer is on node A when A dies; the balancer
/// sends its reconnection to node B, where it resumes with its
/// `Last-Event-ID` and gets exactly the messages it missed (posted on B
/// while it was away), then live ones, each once.
async fn a_client_cut_from_one_node_resumes_on_another(kind: Kind) {
    let mut cluster = Cluster::start(kind, 2).await;
    let balancer = Balancer::start(vec![cluster.addr(0), cluster.addr(1)]).await;
    // It waits 300 ms before reconnecting: time for the posts it misses.
    let mut client = reconnecting_client(balancer.addr(), Duration::from_millis(300));
    let mut expected = Vec::new();
    for n in 1..=10 {
        let (status, body) = cluster.post(0, "a", &n.to_string()).await;
        assert_eq!(status, 201, "{body}");
        expected.push(format!("a: {n}"));
    }
    assert_eq!(take_texts(&mut client, 10).await, expected);

    balancer.route_to(1);
    cluster.kill(0).await;
    let mut missed = Vec::new();
    for n in 11..=20 {
        let (status, body) = cluster.post(1, "b", &n.to_string()).await;
        assert_eq!(status, 201, "{body}");
        missed.push(format!("b: {n}"));
    }
    assert_eq!(
        take_texts(&mut client, 10).await,
        missed,
        "exactly what it missed"
    );
    for n in 21..=22 {
        let (status, body) = cluster.post(1, "b", &n.to_string()).await;
        assert_eq!(status, 201, "{body}");
        let live = next_event(&mut client).await;
        assert_eq!(
            text_of(&live),
            format!("b: {n}"),
            "live, with no repeat before it"
        );
    }
    assert_eq!(balancer.accepted(), 2, "one connection to each node");
}

/// The broker dies under two nodes: posting answers 503 at once, the nodes
/// keep serving, and once the broker is back (with its data) a connected
/// client and a new page get everything acknowledged before the outage
/// and after it, nothing twice, no resync.
async fn a_broker_outage_answers_503_and_loses_nothing(kind: Kind) {
    let mut cluster = Cluster::start(kind, 2).await;
    let mut client = reconnecting_client(cluster.addr(1), Duration::from_millis(100));
    let mut acknowledged = Vec::new();
    for n in 1..=5 {
        let (status, body) = cluster.post(0, "m", &n.to_string()).await;
        assert_eq!(status, 201, "{body}");
        acknowledged.push(format!("m: {n}"));
    }
    assert_eq!(take_texts(&mut client, 5).await, acknowledged);

    cluster.broker.kill();
    let started = Instant::now();
    let (status, body) = cluster.post(0, "m", "lost").await;
    assert_eq!(status, 503, "posting with the broker down: {body}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "503 fast, not after a hang"
    );
    assert_eq!(cluster.status_of(0, "/").await, 200, "node A still serves");
    assert_eq!(cluster.status_of(1, "/").await, 200, "node B still serves");

    cluster.broker.restart();
    cluster.post_when_back(0, "m", "6").await;
    acknowledged.push("m: 6".to_owned());
    // A failed post is "not known to be stored": it may show up, once.
    let after = take_until(&mut client, "m: 6").await;
    let after: Vec<String> = after.into_iter().filter(|t| t != "m: lost").collect();
    assert_eq!(
        after,
        ["m: 6"],
        "the connected client: no gap, no repeat, no resync"
    );

    let mut page = cluster.page(1).await;
    let history = take_until(&mut page, "m: 6").await;
    let history: Vec<String> = history.into_iter().filter(|t| t != "m: lost").collect();
    assert_eq!(
        history, acknowledged,
        "a new page gets every acknowledged message"
    );
}

/// The broker comes back without its data: a client resuming with an id
/// from before gets a resync first, never the new messages as if nothing
/// was lost.
async fn a_broker_that_lost_its_data_makes_clients_resync(kind: Kind) {
    let mut cluster = Cluster::start(kind, 1).await;
    let mut client = reconnecting_client(cluster.addr(0), Duration::from_millis(100));
    for n in 1..=3 {
        let (status, body) = cluster.post(0, "m", &n.to_string()).await;
        assert_eq!(status, 201, "{body}");
    }
    assert_eq!(take_texts(&mut client, 3).await, ["m: 1", "m: 2", "m: 3"]);

    cluster.broker.restart_empty();
    cluster.post_when_back(0, "m", "after the loss").await;
    let first = text_of(&next_event(&mut client).await);
    assert_eq!(
        first,
        format!("<{}>", cluster::RESYNC),
        "a resync, not a silent gap"
    );
}

/// The messages of `events` up to and including `last`.
async fn take_until(events: &mut sse_marshal::EventSource, last: &str) -> Vec<String> {
    let mut texts = Vec::new();
    while texts.last().map(String::as_str) != Some(last) {
        texts.push(text_of(&next_event(events).await));
        assert!(
            texts.len() < 10_000,
            "{last:?} never came: {:?}",
            &texts[..20]
        );
    }
    texts
}
