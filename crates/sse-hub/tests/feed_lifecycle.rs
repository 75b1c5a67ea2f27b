//! The life of a topic's feed (its one tail of the log on this node): it
//! stops when its last subscriber leaves, even one whose start failed; a
//! subscriber that joins as the last one leaves is never left on a feed
//! that stopped; and starting one topic's feed never delays another topic.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use futures_util::StreamExt;
use sse_hub::{
    Error, EventLog, Hub, MemoryLog, Position, ReadFrom, Replay, TailRecord, TailStream,
};
use sse_model::{EventId, LastEventId, ServerSentEvent};

/// A memory log that counts its live tails, and can fail reads or never
/// answer `newest` for a topic named "stuck".
#[derive(Clone, Default)]
struct Observed {
    inner: MemoryLog,
    live_tails: Arc<AtomicUsize>,
    fail_reads: bool,
}

struct CountedTail {
    inner: TailStream,
    live: Arc<AtomicUsize>,
}

impl Stream for CountedTail {
    type Item = Result<TailRecord, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl Drop for CountedTail {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

impl EventLog for Observed {
    async fn append(&self, topic: &str, event: ServerSentEvent) -> Result<EventId, Error> {
        self.inner.append(topic, event).await
    }

    async fn read(&self, topic: &str, from: ReadFrom<'_>) -> Result<Replay, Error> {
        if self.fail_reads {
            return Err(Error::unavailable("the test's broker is down"));
        }
        self.inner.read(topic, from).await
    }

    async fn newest(&self, topic: &str) -> Result<Option<(Position, EventId)>, Error> {
        if topic == "stuck" {
            std::future::pending::<()>().await;
        }
        self.inner.newest(topic).await
    }

    async fn tail(&self, topic: &str, after: Option<Position>) -> Result<TailStream, Error> {
        let inner = self.inner.tail(topic, after).await?;
        self.live_tails.fetch_add(1, Ordering::SeqCst);
        Ok(Box::pin(CountedTail {
            inner,
            live: Arc::clone(&self.live_tails),
        }))
    }
}

/// Waits until `count` reads `want`.
async fn until(count: &AtomicUsize, want: usize, what: &str) {
    let waited = tokio::time::timeout(Duration::from_secs(5), async {
        while count.load(Ordering::SeqCst) != want {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "{what}: {} live tails, not {want}",
        count.load(Ordering::SeqCst)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_subscriber_leaving_stops_the_tail() {
    let log = Observed::default();
    let live = Arc::clone(&log.live_tails);
    let hub = Hub::with_log(log);
    let a = hub.subscribe("t", None).await.unwrap();
    let b = hub.subscribe("t", None).await.unwrap();
    assert_eq!(live.load(Ordering::SeqCst), 1, "one tail per topic");
    drop(a);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(live.load(Ordering::SeqCst), 1, "a subscriber is left");
    drop(b);
    until(&live, 0, "after the last subscriber left").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_whose_read_fails_leaves_no_tail_behind() {
    let log = Observed {
        fail_reads: true,
        ..Observed::default()
    };
    let live = Arc::clone(&log.live_tails);
    let hub = Hub::with_log(log);
    let resume = LastEventId::new(EventId::from(1u64)).unwrap();
    for _ in 0..3 {
        let error = hub.subscribe("t", Some(&resume)).await.unwrap_err();
        assert!(error.is_unavailable(), "{error}");
    }
    until(&live, 0, "after subscriptions that failed to start").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_joining_as_the_last_one_leaves_gets_events() {
    let log = Observed::default();
    let live = Arc::clone(&log.live_tails);
    let hub = Hub::with_log(log);
    for round in 0..300 {
        let leaving = hub.subscribe("t", None).await.unwrap();
        drop(leaving);
        // A page refresh: the new request comes as the old one goes.
        let mut joining = hub.subscribe("t", None).await.unwrap();
        hub.publish("t", ServerSentEvent::new(round.to_string()))
            .await
            .unwrap();
        let event = tokio::time::timeout(Duration::from_secs(5), joining.next())
            .await
            .unwrap_or_else(|_| panic!("round {round}: the subscriber is stranded"))
            .expect("an event");
        assert!(
            event
                .as_bytes()
                .starts_with(format!("data:{round}\n").as_bytes()),
            "round {round}"
        );
    }
    until(&live, 1, "one feed for the last subscriber").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_that_cannot_start_does_not_delay_other_topics() {
    let hub = Hub::with_log(Observed::default());
    let stuck = {
        let hub = hub.clone();
        tokio::spawn(async move { hub.subscribe("stuck", None).await.map(|_| ()) })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let other = tokio::time::timeout(Duration::from_secs(2), hub.subscribe("other", None)).await;
    assert!(
        other.is_ok_and(|s| s.is_ok()),
        "another topic waited for the stuck one"
    );
    stuck.abort();
}
