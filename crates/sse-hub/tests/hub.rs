//! Behaviour of the hub through its public API: the seam between replayed
//! and live events, eviction and resync, slow-subscriber isolation,
//! shutdown, many topics, keep-alive, and shared encoded bytes.
//!
//! Randomised tests draw from a seeded xorshift generator; the seed is
//! printed, and `HUB_TEST_SEED=<seed>` reproduces a run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use sse_hub::{
    Hub, LagPolicy, MemoryLog, MemoryLogOptions, Subscription, GAP_EVENT_TYPE, RESYNC_EVENT_TYPE,
};
use sse_model::{EncodedEvent, EventId, EventType, LastEventId, ServerSentEvent};
use tokio::sync::watch;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// One event block parsed back from an [`EncodedEvent`]'s bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Parsed {
    data: String,
    event: Option<String>,
    id: Option<String>,
}

/// A tiny parser for the hub's own output: `data:` lines, then `event:`,
/// `id:`, one empty line. Comments (heartbeats) give `None`.
fn parse(encoded: &EncodedEvent) -> Option<Parsed> {
    let text = std::str::from_utf8(encoded.as_bytes()).expect("UTF-8");
    assert!(text.ends_with("\n\n"), "not one whole block: {text:?}");
    let mut data: Option<String> = None;
    let mut event = None;
    let mut id = None;
    for line in text[..text.len() - 2].split('\n') {
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        match field {
            "data" => match &mut data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => data = Some(value.to_owned()),
            },
            "event" => event = Some(value.to_owned()),
            "id" => id = Some(value.to_owned()),
            other => panic!("unexpected field {other:?} in {text:?}"),
        }
    }
    data.map(|data| Parsed { data, event, id })
}

fn parsed(encoded: &EncodedEvent) -> Parsed {
    parse(encoded).unwrap_or_else(|| panic!("a comment, not an event: {encoded:?}"))
}

/// The data of a plain event as a number.
fn number(p: &Parsed) -> u64 {
    assert_eq!(p.event, None, "not a plain event: {p:?}");
    p.data
        .parse()
        .unwrap_or_else(|_| panic!("data is not a number: {p:?}"))
}

fn last_id(id: &EventId) -> LastEventId {
    LastEventId::new(id.clone()).expect("a non-empty id")
}

fn last_id_str(id: &str) -> LastEventId {
    last_id(&EventId::new(id).expect("a valid id"))
}

fn memory_hub(options: MemoryLogOptions) -> Hub {
    Hub::with_log(MemoryLog::with_options(options))
}

/// Publishes `range` as numbered events, taking a turn now and then as a
/// server's publishers do (each request is a task): a publisher that never
/// yields could outrun the topic's feed by more than the log retains.
async fn publish_numbers(hub: &Hub, topic: &str, range: std::ops::Range<u64>) -> Vec<EventId> {
    let mut ids = Vec::new();
    for n in range {
        ids.push(
            hub.publish(topic, ServerSentEvent::new(n.to_string()))
                .await
                .expect("publish"),
        );
        if n % 32 == 31 {
            tokio::task::yield_now().await;
        }
    }
    ids
}

/// Polls once for the next item, outside tokio's cooperative budget (which
/// would otherwise make a long run of ready items look pending).
fn poll_once(sub: &mut Subscription) -> Option<Option<EncodedEvent>> {
    tokio::task::unconstrained(sub.next()).now_or_never()
}

/// Lets the topic's feed (a task of its own) forward what the log has:
/// live events reach subscribers through it, not inside `publish`.
async fn settle() {
    for _ in 0..16 {
        tokio::task::yield_now().await;
    }
}

/// The next item, which must be ready once the feed has settled (on a
/// multi-threaded runtime the feed may need a few more turns).
async fn ready(sub: &mut Subscription) -> Option<EncodedEvent> {
    for _ in 0..1000 {
        settle().await;
        if let Some(item) = poll_once(sub) {
            return item;
        }
    }
    panic!("the subscription has no item ready")
}

/// Asserts that nothing is ready once the feed has settled (the
/// subscription waits for events).
async fn assert_pending(sub: &mut Subscription, context: &str) {
    settle().await;
    if let Some(item) = poll_once(sub) {
        panic!("{context}: expected nothing ready, got {item:?}");
    }
}

/// Everything ready once the feed has settled, until the subscription
/// would wait.
async fn drain_ready(sub: &mut Subscription) -> Vec<Parsed> {
    settle().await;
    let mut out = Vec::new();
    while let Some(Some(item)) = poll_once(sub) {
        out.push(parsed(&item));
    }
    out
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn seed(test: &str) -> u64 {
    let seed = match std::env::var("HUB_TEST_SEED") {
        Ok(s) => s.trim().parse().expect("HUB_TEST_SEED is a u64"),
        Err(_) => {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        }
    };
    println!("{test}: seed = {seed} (HUB_TEST_SEED={seed} to reproduce)");
    seed
}

/// The `EPOCH` part of an assigned `EPOCH-SEQ` id.
fn epoch_of(id: &EventId) -> String {
    id.as_str()
        .rsplit_once('-')
        .expect("an EPOCH-SEQ id")
        .0
        .to_owned()
}

// ---------------------------------------------------------------------------
// The seam
// ---------------------------------------------------------------------------

const SEAM_SUBSCRIPTIONS: u64 = 200;
const SEAM_CLAIMERS: usize = 4;

/// Shared state of a seam run.
struct Seam {
    hub: Hub,
    /// How many events the run publishes.
    events: u64,
    /// The ids published so far, in order (`ids[n]` is the id of data `n`).
    ids: Mutex<Vec<EventId>>,
    published: watch::Sender<u64>,
    subscribed: watch::Sender<u64>,
    next_claim: AtomicU64,
    rng: Mutex<XorShift>,
    epoch: OnceLock<String>,
}

impl Seam {
    fn new(hub: Hub, events: u64, seed: u64) -> Arc<Self> {
        Arc::new(Seam {
            hub,
            events,
            ids: Mutex::new(Vec::with_capacity(events as usize)),
            published: watch::Sender::new(0),
            subscribed: watch::Sender::new(0),
            next_claim: AtomicU64::new(0),
            rng: Mutex::new(XorShift(seed)),
            epoch: OnceLock::new(),
        })
    }

    fn rand(&self, n: u64) -> u64 {
        self.rng.lock().unwrap().below(n)
    }

    /// Publishes `0..events` as fast as it can, only making sure the
    /// subscriptions are spread over the whole run (the hub itself never
    /// waits for anyone).
    async fn publish_all(self: Arc<Self>) {
        let mut subscribed = self.subscribed.subscribe();
        for n in 0..self.events {
            let due = (n * SEAM_SUBSCRIPTIONS / self.events).saturating_sub(2);
            if *subscribed.borrow() < due {
                subscribed.wait_for(|&s| s >= due).await.unwrap();
            }
            let id = self
                .hub
                .publish("seam", ServerSentEvent::new(n.to_string()))
                .await
                .expect("publish");
            if n == 0 {
                let _ = self.epoch.set(epoch_of(&id));
            }
            self.ids.lock().unwrap().push(id);
            self.published.send_replace(n + 1);
        }
    }

    /// Claims subscription slots; each waits for a random point of the run,
    /// subscribes with the id of a random already-published event, and hands
    /// the subscription to a reader task.
    async fn claim<F, Fut>(self: Arc<Self>, read: F) -> Vec<tokio::task::JoinHandle<u64>>
    where
        F: Fn(Arc<Self>, u64, Subscription) -> Fut + Send,
        Fut: std::future::Future<Output = u64> + Send + 'static,
    {
        let mut readers = Vec::new();
        let mut published = self.published.subscribe();
        loop {
            let j = self.next_claim.fetch_add(1, Ordering::Relaxed);
            if j >= SEAM_SUBSCRIPTIONS {
                return readers;
            }
            let stride = self.events / SEAM_SUBSCRIPTIONS;
            let target = (j * stride + self.rand(stride)).max(1);
            published.wait_for(|&p| p >= target).await.unwrap();
            let available = self.ids.lock().unwrap().len() as u64;
            // Half the time the newest event (the tightest seam), else any.
            let k = if self.rand(2) == 0 {
                available - 1
            } else {
                self.rand(available)
            };
            let id = self.ids.lock().unwrap()[k as usize].clone();
            let sub = self
                .hub
                .subscribe("seam", Some(&last_id(&id)))
                .await
                .expect("subscribe");
            self.subscribed.send_modify(|s| *s += 1);
            readers.push(tokio::spawn(read(Arc::clone(&self), k, sub)));
        }
    }

    /// Checks one received event: it must be data `expected`, with the id
    /// the log assigned to it (compared as bytes: this runs millions of
    /// times; the parser explains a mismatch).
    fn check(&self, item: &EncodedEvent, expected: u64, context: &str) {
        let epoch = self.epoch.get().expect("the first event is published");
        let want = format!("data:{expected}\nid:{epoch}-{}\n\n", expected + 1);
        if item.as_bytes() == want.as_bytes() {
            return;
        }
        let p = parsed(item);
        assert_ne!(
            p.event.as_deref(),
            Some(RESYNC_EVENT_TYPE.as_str()),
            "{context}: unexpected resync {p:?}"
        );
        let got = number(&p);
        assert_eq!(
            got,
            expected,
            "{context}: {}",
            if got > expected {
                "a gap"
            } else {
                "a duplicate"
            }
        );
        panic!("{context}: wrong id or bytes: got {item:?}, want {want:?}");
    }
}

async fn run_seam<F, Fut>(name: &str, hub: Hub, events: u64, read: F) -> (Arc<Seam>, u64)
where
    F: Fn(Arc<Seam>, u64, Subscription) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = u64> + Send + 'static,
{
    let seed = seed(name);
    let seam = Seam::new(hub, events, seed);
    let started = std::time::Instant::now();
    let publisher = tokio::spawn(Arc::clone(&seam).publish_all());
    let claimers: Vec<_> = (0..SEAM_CLAIMERS)
        .map(|_| tokio::spawn(Arc::clone(&seam).claim(read.clone())))
        .collect();
    let all = async {
        publisher.await.unwrap();
        let mut resubscriptions = 0;
        let mut readers = 0;
        for claimer in claimers {
            for reader in claimer.await.unwrap() {
                resubscriptions += reader.await.unwrap();
                readers += 1;
            }
        }
        assert_eq!(readers, SEAM_SUBSCRIPTIONS);
        resubscriptions
    };
    let resubscriptions = tokio::time::timeout(Duration::from_secs(60), all)
        .await
        .unwrap_or_else(|_| panic!("{name} (seed {seed}) did not finish in time"));
    println!(
        "{name}: {events} events, {SEAM_SUBSCRIPTIONS} subscriptions, \
         {resubscriptions} resubscriptions after lag, {:?}",
        started.elapsed()
    );
    (seam, resubscriptions)
}

/// A queue larger than the run: every subscriber must see exactly the events
/// after its id, from the replay log and then live, with no gap and no
/// duplicate at the seam, whenever it subscribed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seam_no_gap_no_duplicate_at_full_speed() {
    const EVENTS: u64 = 20_000;
    let hub = memory_hub(
        MemoryLogOptions::default()
            .with_max_events(EVENTS as usize)
            .with_max_bytes(usize::MAX),
    )
    .with_subscriber_queue(EVENTS as usize);
    let read = |seam: Arc<Seam>, k: u64, mut sub: Subscription| async move {
        for expected in k + 1..EVENTS {
            let context = format!("subscribed after {k}, expecting {expected}");
            let item = sub
                .next()
                .await
                .unwrap_or_else(|| panic!("{context}: the subscription ended"));
            seam.check(&item, expected, &context);
        }
        assert_pending(&mut sub, &format!("subscribed after {k}, after the last")).await;
        0
    };
    let (seam, _) = run_seam(
        "seam_no_gap_no_duplicate_at_full_speed",
        hub.clone(),
        EVENTS,
        read,
    )
    .await;
    let m = hub.metrics("seam").await.unwrap();
    assert_eq!(m.published, EVENTS);
    assert_eq!(m.resyncs, 0);
    assert_eq!(m.lagged_disconnects, 0);
    assert_eq!(m.evicted, 0);
    drop(seam);
}

/// A tiny queue: subscribers that fall behind are disconnected and resume
/// from the last id they saw, as a reconnecting client does. Across all the
/// disconnections they still see every event once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seam_resume_after_lag_disconnect_is_seamless() {
    const EVENTS: u64 = 10_000;
    const QUEUE: u64 = 16;
    let hub = memory_hub(
        MemoryLogOptions::default()
            .with_max_events(EVENTS as usize)
            .with_max_bytes(usize::MAX),
    )
    .with_subscriber_queue(QUEUE as usize)
    .with_lag_policy(LagPolicy::Disconnect);
    let read = |seam: Arc<Seam>, k: u64, mut sub: Subscription| async move {
        let mut published = seam.published.subscribe();
        let mut resubscriptions = 0;
        let mut stalled_once = false;
        let mut expected = k + 1;
        while expected < EVENTS {
            // Now and then (and surely once, early) stop reading until the
            // publisher is well past the queue: the next read lags.
            let now = *published.borrow();
            let stall = !stalled_once || seam.rand(400) == 0;
            if stall && now + 4 * QUEUE < EVENTS {
                stalled_once = true;
                published
                    .wait_for(|&p| p >= now + 2 * QUEUE + 2)
                    .await
                    .unwrap();
            }
            let context = format!("subscribed after {k}, expecting {expected}");
            match sub.next().await {
                Some(item) => {
                    seam.check(&item, expected, &context);
                    expected += 1;
                }
                None => {
                    // Disconnected for lagging: resume after the last seen,
                    // whose id is known from its number (the publisher may
                    // not have recorded it yet: the event can reach a
                    // subscriber before `publish` returns).
                    resubscriptions += 1;
                    let epoch = seam.epoch.get().expect("the first event is published");
                    let last = EventId::new(format!("{epoch}-{expected}")).unwrap();
                    sub = seam
                        .hub
                        .subscribe("seam", Some(&last_id(&last)))
                        .await
                        .expect("resubscribe");
                }
            }
        }
        assert_pending(&mut sub, &format!("subscribed after {k}, after the last")).await;
        resubscriptions
    };
    let (_seam, resubscriptions) = run_seam(
        "seam_resume_after_lag_disconnect_is_seamless",
        hub.clone(),
        EVENTS,
        read,
    )
    .await;
    let m = hub.metrics("seam").await.unwrap();
    assert!(
        resubscriptions > 0,
        "the test meant to force lag but no subscriber lagged"
    );
    assert_eq!(
        m.lagged_disconnects, resubscriptions,
        "every end of stream was a lag disconnection"
    );
    assert_eq!(m.resyncs, 0);
    assert_eq!(m.published, EVENTS);
}

// ---------------------------------------------------------------------------
// Eviction and resync
// ---------------------------------------------------------------------------

#[tokio::test]
async fn eviction_by_count_and_resync() {
    let hub = memory_hub(MemoryLogOptions::default().with_max_events(10));
    let ids = publish_numbers(&hub, "t", 0..30).await;
    assert_eq!(hub.log().retained("t"), 10);
    assert_eq!(hub.metrics("t").await.unwrap().evicted, 20);
    let newest = ids[29].as_str();

    // The id of event 5 is long gone: resync, positioned at the newest.
    let mut sub = hub.subscribe("t", Some(&last_id(&ids[5]))).await.unwrap();
    let first = parsed(&ready(&mut sub).await.unwrap());
    assert_eq!(first.event.as_deref(), Some(RESYNC_EVENT_TYPE.as_str()));
    assert_eq!(first.data, "evicted");
    assert_eq!(first.id.as_deref(), Some(newest));
    assert_pending(&mut sub, "after the resync event").await;
    assert_eq!(hub.metrics("t").await.unwrap().resyncs, 1);
    // ... and then goes on with live events.
    let live = hub.publish("t", ServerSentEvent::new("30")).await.unwrap();
    let next = parsed(&ready(&mut sub).await.unwrap());
    assert_eq!(
        (number(&next), next.id.as_deref()),
        (30, Some(live.as_str()))
    );

    // Event 18's successor (19) is evicted too.
    let mut sub = hub.subscribe("t", Some(&last_id(&ids[18]))).await.unwrap();
    let first = parsed(&ready(&mut sub).await.unwrap());
    assert_eq!(first.event.as_deref(), Some(RESYNC_EVENT_TYPE.as_str()));
    assert_eq!(first.data, "evicted");
    assert_eq!(first.id.as_deref(), Some(live.as_str()));
}

#[tokio::test]
async fn resume_right_before_the_oldest_retained_loses_nothing() {
    let hub = memory_hub(MemoryLogOptions::default().with_max_events(10));
    let ids = publish_numbers(&hub, "t", 0..30).await;
    // Retained: 20..30. Event 19 is evicted, but a client that saw it has
    // missed nothing.
    let mut sub = hub.subscribe("t", Some(&last_id(&ids[19]))).await.unwrap();
    let got: Vec<u64> = drain_ready(&mut sub).await.iter().map(number).collect();
    assert_eq!(got, (20..30).collect::<Vec<_>>());
    assert_pending(&mut sub, "after the replay").await;
    assert_eq!(hub.metrics("t").await.unwrap().resyncs, 0);

    // From the oldest retained: the 9 after it.
    let mut sub = hub.subscribe("t", Some(&last_id(&ids[20]))).await.unwrap();
    let got: Vec<u64> = drain_ready(&mut sub).await.iter().map(number).collect();
    assert_eq!(got, (21..30).collect::<Vec<_>>());

    // From the newest: nothing to replay, then live.
    let mut sub = hub.subscribe("t", Some(&last_id(&ids[29]))).await.unwrap();
    assert_pending(&mut sub, "resumed from the newest").await;
    hub.publish("t", ServerSentEvent::new("30")).await.unwrap();
    assert_eq!(number(&parsed(&ready(&mut sub).await.unwrap())), 30);

    // Without an id: only live events.
    let mut sub = hub.subscribe("t", None).await.unwrap();
    assert_pending(&mut sub, "no id").await;
    hub.publish("t", ServerSentEvent::new("31")).await.unwrap();
    assert_eq!(number(&parsed(&ready(&mut sub).await.unwrap())), 31);
    assert_eq!(hub.metrics("t").await.unwrap().resyncs, 0);
}

#[tokio::test]
async fn unknown_ids_resync_as_unknown() {
    let hub = memory_hub(MemoryLogOptions::default().with_max_events(10));
    let ids = publish_numbers(&hub, "t", 0..30).await;
    let newest = ids[29].as_str();
    let epoch = epoch_of(&ids[0]);
    let other_epoch = format!("{:x}", u32::from_str_radix(&epoch, 16).unwrap() ^ 1);
    let unknown = [
        "nope".to_owned(),
        // The same sequence number under another epoch (another server, or
        // before a restart).
        format!("{other_epoch}-25"),
        // A sequence number this topic has not reached.
        format!("{epoch}-999"),
        format!("{epoch}-x"),
    ];
    for (n, id) in unknown.iter().enumerate() {
        let mut sub = hub.subscribe("t", Some(&last_id_str(id))).await.unwrap();
        let first = parsed(&ready(&mut sub).await.unwrap());
        assert_eq!(
            first.event.as_deref(),
            Some(RESYNC_EVENT_TYPE.as_str()),
            "{id}"
        );
        assert_eq!(first.data, "unknown", "{id}");
        assert_eq!(first.id.as_deref(), Some(newest), "{id}");
        assert_pending(&mut sub, id).await;
        assert_eq!(hub.metrics("t").await.unwrap().resyncs, n as u64 + 1);
    }

    // An id given to a topic nobody published to: unknown, and no id to
    // move to.
    let mut sub = hub
        .subscribe("empty", Some(&last_id_str("nope")))
        .await
        .unwrap();
    let first = parsed(&ready(&mut sub).await.unwrap());
    assert_eq!(first.event.as_deref(), Some(RESYNC_EVENT_TYPE.as_str()));
    assert_eq!((first.data.as_str(), first.id), ("unknown", None));
}

fn digits(n: u64) -> usize {
    n.to_string().len()
}

#[tokio::test]
async fn eviction_by_bytes() {
    const MAX_BYTES: usize = 1000;
    let hub = memory_hub(
        MemoryLogOptions::default()
            .with_max_events(1_000_000)
            .with_max_bytes(MAX_BYTES),
    );
    let payload = "x".repeat(100);
    let mut ids = Vec::new();
    let mut sizes = Vec::new();
    for _ in 0..100 {
        let id = hub
            .publish("t", ServerSentEvent::new(payload.clone()))
            .await
            .unwrap();
        sizes.push(format!("data:{payload}\nid:{id}\n\n", id = id.as_str()).len());
        ids.push(id);
        assert!(
            hub.log().retained_bytes("t") <= MAX_BYTES,
            "retained {} bytes",
            hub.log().retained_bytes("t")
        );
    }
    // The newest events that fit in MAX_BYTES, and no more.
    let mut fit = 0;
    let mut bytes = 0;
    for size in sizes.iter().rev() {
        if bytes + size > MAX_BYTES {
            break;
        }
        bytes += size;
        fit += 1;
    }
    assert_eq!(hub.log().retained("t"), fit);
    assert_eq!(hub.log().retained_bytes("t"), bytes);
    assert_eq!(hub.metrics("t").await.unwrap().evicted, 100 - fit as u64);
    assert_eq!(
        sizes[99],
        5 + 100 + 1 + 3 + epoch_of(&ids[0]).len() + 1 + digits(100) + 2
    );

    // Resuming right before the oldest retained event gets them all.
    let oldest = 100 - fit;
    let mut sub = hub
        .subscribe("t", Some(&last_id(&ids[oldest - 1])))
        .await
        .unwrap();
    let got = drain_ready(&mut sub).await;
    assert_eq!(got.len(), fit);
    assert_eq!(got[0].id.as_deref(), Some(ids[oldest].as_str()));
    // One further back: evicted.
    let mut sub = hub
        .subscribe("t", Some(&last_id(&ids[oldest - 2])))
        .await
        .unwrap();
    assert_eq!(parsed(&ready(&mut sub).await.unwrap()).data, "evicted");

    // An event larger than the whole budget is still retained, alone.
    let big = hub
        .publish("t", ServerSentEvent::new("y".repeat(5000)))
        .await
        .unwrap();
    assert_eq!(hub.log().retained("t"), 1);
    assert!(hub.log().retained_bytes("t") > 5000);
    let mut sub = hub.subscribe("t", Some(&last_id(&ids[99]))).await.unwrap();
    let got = drain_ready(&mut sub).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id.as_deref(), Some(big.as_str()));
    hub.publish("t", ServerSentEvent::new("z")).await.unwrap();
    assert_eq!(hub.log().retained("t"), 1, "the big one made room");
}

#[tokio::test(start_paused = true)]
async fn eviction_by_age() {
    let hub = memory_hub(MemoryLogOptions::default().with_max_age(Some(Duration::from_secs(10))));
    let a = publish_numbers(&hub, "t", 0..5).await;
    tokio::time::advance(Duration::from_secs(6)).await;
    let b = publish_numbers(&hub, "t", 5..10).await;
    tokio::time::advance(Duration::from_secs(4)).await;
    // Exactly 10 s old: still retained.
    publish_numbers(&hub, "t", 10..11).await;
    assert_eq!(hub.log().retained("t"), 11);
    assert_eq!(hub.metrics("t").await.unwrap().evicted, 0);
    tokio::time::advance(Duration::from_secs(1)).await;
    let d = publish_numbers(&hub, "t", 11..12).await;
    assert_eq!(hub.log().retained("t"), 7, "the first five are 11 s old");
    assert_eq!(hub.metrics("t").await.unwrap().evicted, 5);

    // Right after the last evicted event: nothing lost.
    let mut sub = hub.subscribe("t", Some(&last_id(&a[4]))).await.unwrap();
    let got: Vec<u64> = drain_ready(&mut sub).await.iter().map(number).collect();
    assert_eq!(got, (5..12).collect::<Vec<_>>());
    // Further back: resync to the newest.
    let mut sub = hub.subscribe("t", Some(&last_id(&a[3]))).await.unwrap();
    let first = parsed(&ready(&mut sub).await.unwrap());
    assert_eq!(first.event.as_deref(), Some(RESYNC_EVENT_TYPE.as_str()));
    assert_eq!(first.data, "evicted");
    assert_eq!(first.id.as_deref(), Some(d[0].as_str()));

    // Everything ages out; subscribing evicts too, without a publish.
    tokio::time::advance(Duration::from_secs(60)).await;
    let mut sub = hub.subscribe("t", Some(&last_id(&d[0]))).await.unwrap();
    assert_eq!(hub.log().retained("t"), 0);
    assert_eq!(hub.log().retained_bytes("t"), 0);
    assert_eq!(hub.metrics("t").await.unwrap().evicted, 12);
    assert_pending(&mut sub, "resumed from the newest, all aged out").await;
    let mut sub = hub.subscribe("t", Some(&last_id(&b[0]))).await.unwrap();
    let first = parsed(&ready(&mut sub).await.unwrap());
    assert_eq!(first.event.as_deref(), Some(RESYNC_EVENT_TYPE.as_str()));
    assert_eq!(first.data, "evicted");
    // The position moves to the newest event, though it aged out: resuming
    // from there loses nothing.
    assert_eq!(first.id.as_deref(), Some(d[0].as_str()));
}

#[tokio::test]
async fn publisher_ids_are_kept_and_unique() {
    let hub = memory_hub(MemoryLogOptions::default().with_max_events(4));
    let id = |s: &str| EventId::new(s).unwrap();
    let a = hub
        .publish("t", ServerSentEvent::new("A").with_id(id("a")))
        .await
        .unwrap();
    assert_eq!(a.as_str(), "a");
    let dup = hub
        .publish("t", ServerSentEvent::new("A again").with_id(id("a")))
        .await
        .unwrap_err();
    assert!(dup.is_duplicate_id(), "{dup:?}");
    assert!(!dup.is_closed() && !dup.is_log());
    let b = hub
        .publish("t", ServerSentEvent::new("B").with_id(id("b")))
        .await
        .unwrap();
    let assigned = hub.publish("t", ServerSentEvent::new("C")).await.unwrap();
    assert_ne!(assigned.as_str(), "");
    let z = hub
        .publish("t", ServerSentEvent::new("Z").with_id(id("0")))
        .await
        .unwrap();
    assert_eq!((b.as_str(), z.as_str()), ("b", "0"));
    assert_eq!(
        hub.metrics("t").await.unwrap().published,
        4,
        "the refused one is not counted"
    );

    // Resuming from a publisher id: the events published after it, in
    // publishing order (not id order), ids verbatim.
    let mut sub = hub.subscribe("t", Some(&last_id(&a))).await.unwrap();
    let got = drain_ready(&mut sub).await;
    let got: Vec<(&str, Option<&str>)> = got
        .iter()
        .map(|p| (p.data.as_str(), p.id.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("B", Some("b")),
            ("C", Some(assigned.as_str())),
            ("Z", Some("0"))
        ]
    );
    let mut sub = hub.subscribe("t", Some(&last_id(&assigned))).await.unwrap();
    let got = drain_ready(&mut sub).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id.as_deref(), Some("0"));

    // "a" is evicted: it may be used again, and resuming from the old one
    // is a resync (the log cannot tell it from an id it never had).
    hub.publish("t", ServerSentEvent::new("E")).await.unwrap();
    assert_eq!(hub.log().retained("t"), 4);
    let mut sub = hub.subscribe("t", Some(&last_id(&a))).await.unwrap();
    let first = parsed(&ready(&mut sub).await.unwrap());
    assert_eq!(first.event.as_deref(), Some(RESYNC_EVENT_TYPE.as_str()));
    println!(
        "resuming from an evicted publisher id: resync {:?}",
        first.data
    );
    let again = hub
        .publish("t", ServerSentEvent::new("A2").with_id(id("a")))
        .await
        .unwrap();
    assert_eq!(again.as_str(), "a");
    // "b" is evicted now; resuming from "0" gets E and A2.
    let mut sub = hub.subscribe("t", Some(&last_id(&z))).await.unwrap();
    let got: Vec<String> = drain_ready(&mut sub)
        .await
        .into_iter()
        .map(|p| p.data)
        .collect();
    assert_eq!(got, ["E", "A2"]);
}

/// The contract of `EventLog::append`: an id is refused if *an event still
/// in the log* has it, whether the publisher or the log chose it.
#[tokio::test]
async fn publisher_id_equal_to_a_retained_assigned_id_is_refused() {
    let hub = Hub::new();
    let assigned = hub
        .publish("t", ServerSentEvent::new("first"))
        .await
        .unwrap();
    let result = hub
        .publish(
            "t",
            ServerSentEvent::new("impostor").with_id(assigned.clone()),
        )
        .await;
    match result {
        Err(e) => assert!(e.is_duplicate_id(), "{e:?}"),
        Ok(id) => {
            // Show what a client resuming from that id would get.
            let mut sub = hub.subscribe("t", Some(&last_id(&assigned))).await.unwrap();
            let after: Vec<Parsed> = drain_ready(&mut sub).await;
            panic!(
                "publishing with the id {:?} of a retained event was accepted (returned {:?}); \
                 two retained events now share it, and resuming from it replays {after:?}",
                assigned.as_str(),
                id.as_str()
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Slow subscribers
// ---------------------------------------------------------------------------

const ISOLATION_EVENTS: u64 = 5_000;
const ISOLATION_READERS: usize = 10;
const ISOLATION_QUEUE: usize = 64;
const ISOLATION_MAX_EVENTS: usize = 1_000;
const ISOLATION_MAX_BYTES: usize = 16 * 1024;

/// One stalled subscriber (never polled) while ten others read everything:
/// the others get every event in order and never lag, the publisher never
/// waits, and the log stays within its bounds. Then the stalled one is
/// polled: it is disconnected, having received at most a queue's worth.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stalled_subscriber_does_not_affect_others_disconnect() {
    let options = MemoryLogOptions::default()
        .with_max_events(ISOLATION_MAX_EVENTS)
        .with_max_bytes(ISOLATION_MAX_BYTES);
    let hub = memory_hub(options)
        .with_subscriber_queue(ISOLATION_QUEUE)
        .with_lag_policy(LagPolicy::Disconnect);
    let mut stalled = hub.subscribe("t", None).await.unwrap();

    let progress: Arc<Vec<AtomicU64>> =
        Arc::new((0..ISOLATION_READERS).map(|_| AtomicU64::new(0)).collect());
    let mut readers = Vec::new();
    for r in 0..ISOLATION_READERS {
        let mut sub = hub.subscribe("t", None).await.unwrap();
        let progress = Arc::clone(&progress);
        readers.push(tokio::spawn(async move {
            for expected in 0..ISOLATION_EVENTS {
                let item = sub
                    .next()
                    .await
                    .unwrap_or_else(|| panic!("reader {r} ended at {expected}"));
                assert_eq!(number(&parsed(&item)), expected, "reader {r}");
                progress[r].store(expected + 1, Ordering::Release);
            }
            assert_pending(&mut sub, "after the last event").await;
        }));
    }
    assert_eq!(
        hub.metrics("t").await.unwrap().subscribers,
        ISOLATION_READERS as u64 + 1
    );

    // The publisher paces itself on the *active* readers only (so that they
    // never lag); the stalled subscriber is never waited for.
    let publisher = {
        let hub = hub.clone();
        let progress = Arc::clone(&progress);
        tokio::spawn(async move {
            let mut max_retained_bytes = 0;
            for n in 0..ISOLATION_EVENTS {
                loop {
                    let slowest = progress
                        .iter()
                        .map(|p| p.load(Ordering::Acquire))
                        .min()
                        .unwrap();
                    if n - slowest < ISOLATION_QUEUE as u64 / 2 {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
                hub.publish("t", ServerSentEvent::new(n.to_string()))
                    .await
                    .unwrap();
                max_retained_bytes = max_retained_bytes.max(hub.log().retained_bytes("t"));
                assert!(hub.log().retained("t") <= ISOLATION_MAX_EVENTS);
            }
            max_retained_bytes
        })
    };
    let started = std::time::Instant::now();
    let max_retained_bytes = tokio::time::timeout(Duration::from_secs(30), publisher)
        .await
        .expect("publishing never waits for the stalled subscriber")
        .unwrap();
    for reader in readers {
        tokio::time::timeout(Duration::from_secs(30), reader)
            .await
            .expect("readers finish")
            .unwrap();
    }
    println!(
        "isolation: {ISOLATION_EVENTS} events to {ISOLATION_READERS} readers in {:?}, \
         max retained bytes {max_retained_bytes}",
        started.elapsed()
    );
    let one_event = format!(
        "data:{}\nid:xxxxxxxx-{}\n\n",
        ISOLATION_EVENTS, ISOLATION_EVENTS
    )
    .len();
    assert!(
        max_retained_bytes <= ISOLATION_MAX_BYTES + one_event,
        "{max_retained_bytes}"
    );
    assert!(hub.log().retained("t") <= ISOLATION_MAX_EVENTS);
    let m = hub.metrics("t").await.unwrap();
    assert_eq!(m.lagged_disconnects, 0, "no active reader lagged");
    assert_eq!(m.published, ISOLATION_EVENTS);

    // Now the stalled one: at most a queue's worth, then the end.
    let mut got = 0;
    while let Some(item) = ready(&mut stalled).await {
        got += 1;
        assert!(parse(&item).is_some());
        assert!(
            got <= ISOLATION_QUEUE,
            "the stalled subscriber got {got} events"
        );
    }
    let m = hub.metrics("t").await.unwrap();
    assert_eq!(m.lagged_disconnects, 1);
    assert_eq!(m.gaps, 0);
    drop(stalled);
    assert_eq!(hub.metrics("t").await.unwrap().subscribers, 0);
}

/// The same under the gap policy: the stalled subscriber gets a gap event
/// with the number of events it missed, then the newest the queue still
/// holds, in order, up to the last one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_subscriber_gets_a_gap_event() {
    let options = MemoryLogOptions::default()
        .with_max_events(ISOLATION_MAX_EVENTS)
        .with_max_bytes(ISOLATION_MAX_BYTES);
    let hub = memory_hub(options)
        .with_subscriber_queue(ISOLATION_QUEUE)
        .with_lag_policy(LagPolicy::Gap);
    let mut stalled = hub.subscribe("t", None).await.unwrap();
    let mut reader = hub.subscribe("t", None).await.unwrap();
    let reading = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some(item) = reader.next().await {
            let p = parsed(&item);
            if p.event.is_some() {
                // This reader may lag too under load: count its gaps.
                got.push(u64::MAX);
                continue;
            }
            let n = number(&p);
            got.push(n);
            if n + 1 == ISOLATION_EVENTS {
                break;
            }
        }
        got
    });
    publish_numbers(&hub, "t", 0..ISOLATION_EVENTS).await;
    let read = tokio::time::timeout(Duration::from_secs(30), reading)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.last(), Some(&(ISOLATION_EVENTS - 1)));

    let first = parsed(&ready(&mut stalled).await.unwrap());
    assert_eq!(first.event.as_deref(), Some(GAP_EVENT_TYPE.as_str()));
    assert_eq!(
        first.id, None,
        "a gap event does not move the client's position"
    );
    let skipped: u64 = first.data.parse().unwrap();
    let rest: Vec<u64> = drain_ready(&mut stalled).await.iter().map(number).collect();
    assert!(
        !rest.is_empty() && rest.len() <= ISOLATION_QUEUE,
        "{}",
        rest.len()
    );
    assert_eq!(
        skipped + rest.len() as u64,
        ISOLATION_EVENTS,
        "skipped {skipped}"
    );
    let from = ISOLATION_EVENTS - rest.len() as u64;
    assert_eq!(rest, (from..ISOLATION_EVENTS).collect::<Vec<_>>());
    // Still subscribed: the next event arrives live.
    hub.publish("t", ServerSentEvent::new(ISOLATION_EVENTS.to_string()))
        .await
        .unwrap();
    assert_eq!(
        number(&parsed(&ready(&mut stalled).await.unwrap())),
        ISOLATION_EVENTS
    );
    let m = hub.metrics("t").await.unwrap();
    assert!(m.gaps >= 1);
    assert_eq!(m.lagged_disconnects, 0);
    assert!(hub.log().retained("t") <= ISOLATION_MAX_EVENTS);
    assert!(hub.log().retained_bytes("t") <= ISOLATION_MAX_BYTES);
}

// ---------------------------------------------------------------------------
// Shutdown
// ---------------------------------------------------------------------------

#[tokio::test]
async fn shutdown_with_a_final_event() {
    let hub = Hub::new();
    let mut a = hub.subscribe("t", None).await.unwrap();
    let mut b = hub.subscribe("t", None).await.unwrap();
    hub.publish("t", ServerSentEvent::new("0")).await.unwrap();
    assert_eq!(number(&parsed(&ready(&mut a).await.unwrap())), 0);
    assert_eq!(number(&parsed(&ready(&mut b).await.unwrap())), 0);
    // One subscriber is waiting when the hub shuts down.
    let waiting = tokio::spawn(async move {
        let mut items = Vec::new();
        while let Some(item) = b.next().await {
            items.push(parsed(&item));
        }
        items
    });
    tokio::task::yield_now().await;

    let goodbye = EventType::from_static("goodbye");
    hub.shutdown(Some(
        ServerSentEvent::new("reconnect elsewhere").with_event_type(goodbye),
    ));
    assert!(hub.is_shut_down());

    let expected = Parsed {
        data: "reconnect elsewhere".into(),
        event: Some("goodbye".into()),
        id: None,
    };
    let got_a: Vec<Parsed> = {
        let mut items = Vec::new();
        while let Some(item) = ready(&mut a).await {
            items.push(parsed(&item));
        }
        items
    };
    let got_b = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the waiting subscriber ends")
        .unwrap();
    assert_eq!(
        got_a,
        std::slice::from_ref(&expected),
        "a polled subscriber"
    );
    assert_eq!(got_b, [expected], "a waiting subscriber");

    let e = hub
        .publish("t", ServerSentEvent::new("late"))
        .await
        .unwrap_err();
    assert!(e.is_closed(), "{e:?}");
    let e = hub.subscribe("t", None).await.unwrap_err();
    assert!(e.is_closed(), "{e:?}");
    let e = hub.subscriber("t")(None).await.unwrap_err();
    assert!(e.is_closed(), "{e:?}");
}

#[tokio::test]
async fn shutdown_without_a_final_event() {
    let hub = Hub::new();
    let mut subs = Vec::new();
    for topic in ["a", "b", "c"] {
        subs.push(hub.subscribe(topic, None).await.unwrap());
    }
    let waiting = tokio::spawn({
        let mut sub = hub.subscribe("a", None).await.unwrap();
        async move { sub.next().await }
    });
    tokio::task::yield_now().await;
    hub.shutdown(None);
    for sub in &mut subs {
        assert!(ready(sub).await.is_none(), "ends cleanly, without an event");
        assert!(ready(sub).await.is_none(), "and stays ended");
    }
    let item = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the waiting subscriber ends")
        .unwrap();
    assert!(item.is_none());
    // Shutting down twice is harmless.
    hub.shutdown(None);
    assert!(hub
        .publish("a", ServerSentEvent::new("x"))
        .await
        .unwrap_err()
        .is_closed());
    assert!(hub.subscribe("a", None).await.unwrap_err().is_closed());
}

// ---------------------------------------------------------------------------
// Many topics, metrics
// ---------------------------------------------------------------------------

#[tokio::test]
async fn many_topics_are_independent() {
    const TOPICS: usize = 1_000;
    let hub = Hub::new();
    let names: Vec<String> = (0..TOPICS).map(|t| format!("topic-{t}")).collect();
    let mut subs = Vec::new();
    for name in &names {
        subs.push(hub.subscribe(name, None).await.unwrap());
    }
    for name in &names {
        hub.publish(name, ServerSentEvent::new(name.clone()))
            .await
            .unwrap();
    }
    let mut sizes = Vec::new();
    for (name, sub) in names.iter().zip(&mut subs) {
        let item = ready(sub).await.unwrap();
        sizes.push(item.len() as u64);
        let p = parsed(&item);
        assert_eq!(&p.data, name);
        assert_pending(sub, name).await;
    }

    let mut topics = hub.topics();
    topics.sort();
    let mut want = names.clone();
    want.sort();
    assert_eq!(topics, want);
    let mut log_topics = hub.log().topics();
    log_topics.sort();
    assert_eq!(log_topics, want);

    for (name, size) in names.iter().zip(&sizes) {
        let m = hub.metrics(name).await.unwrap();
        assert_eq!(
            (m.published, m.subscribers, m.bytes_sent, m.evicted),
            (1, 1, *size, 0),
            "{name}"
        );
    }

    // Subscriber counts go up and back down as subscriptions drop.
    let extra: Vec<Subscription> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(hub.subscribe("topic-7", None).await.unwrap());
        }
        v
    };
    assert_eq!(hub.metrics("topic-7").await.unwrap().subscribers, 4);
    assert_eq!(hub.metrics("topic-8").await.unwrap().subscribers, 1);
    drop(extra);
    assert_eq!(hub.metrics("topic-7").await.unwrap().subscribers, 1);
    drop(subs);
    for name in &names {
        assert_eq!(hub.metrics(name).await.unwrap().subscribers, 0, "{name}");
    }
    // bytes_sent counts per subscriber delivery.
    let mut a = hub.subscribe("topic-0", None).await.unwrap();
    let mut b = hub.subscribe("topic-0", None).await.unwrap();
    hub.publish("topic-0", ServerSentEvent::new("again"))
        .await
        .unwrap();
    let sa = ready(&mut a).await.unwrap().len() as u64;
    let sb = ready(&mut b).await.unwrap().len() as u64;
    assert_eq!(
        hub.metrics("topic-0").await.unwrap().bytes_sent,
        sizes[0] + sa + sb
    );
    assert_eq!(hub.metrics("topic-0").await.unwrap().published, 2);
}

/// `topics()` lists the topics "published or subscribed to so far": merely
/// looking at a topic's metrics must not create it (or a monitoring probe
/// with arbitrary names would grow the hub without bound).
#[tokio::test]
async fn metrics_of_an_unused_topic_do_not_create_it() {
    let hub = Hub::new();
    hub.publish("used", ServerSentEvent::new("x"))
        .await
        .unwrap();
    let m = hub.metrics("never-used").await.unwrap();
    assert_eq!((m.published, m.subscribers), (0, 0));
    assert_eq!(hub.topics(), ["used"]);
}

// ---------------------------------------------------------------------------
// Keep-alive
// ---------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn keep_alive_sends_heartbeats_when_idle() {
    let hub = Hub::new().with_keep_alive(Duration::from_secs(1));
    let mut sub = hub.subscribe("t", None).await.unwrap();
    let start = tokio::time::Instant::now();
    let item = sub.next().await.unwrap();
    assert_eq!(item.as_bytes(), b":\n\n");
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    let item = sub.next().await.unwrap();
    assert_eq!(item.as_bytes(), b":\n\n");
    assert_eq!(start.elapsed(), Duration::from_secs(2));

    // An event resets the idle time.
    tokio::time::advance(Duration::from_millis(500)).await;
    hub.publish("t", ServerSentEvent::new("0")).await.unwrap();
    assert_eq!(number(&parsed(&sub.next().await.unwrap())), 0);
    let at_event = tokio::time::Instant::now();
    let item = sub.next().await.unwrap();
    assert_eq!(item.as_bytes(), b":\n\n");
    assert_eq!(at_event.elapsed(), Duration::from_secs(1));

    // Without keep-alive, an idle subscription stays silent.
    let quiet = Hub::new();
    let mut sub = quiet.subscribe("t", None).await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_secs(3600), sub.next())
            .await
            .is_err(),
        "no heartbeat by default"
    );
}

// ---------------------------------------------------------------------------
// Shared bytes
// ---------------------------------------------------------------------------

#[tokio::test]
async fn subscribers_share_the_encoded_bytes() {
    let hub = Hub::new();
    let mut a = hub.subscribe("t", None).await.unwrap();
    let mut b = hub.subscribe("t", None).await.unwrap();
    let id = hub
        .publish("t", ServerSentEvent::new("shared"))
        .await
        .unwrap();
    let ea = ready(&mut a).await.unwrap();
    let eb = ready(&mut b).await.unwrap();
    assert_eq!(ea, eb);
    assert_eq!(ea.as_bytes().as_ptr(), eb.as_bytes().as_ptr(), "live");
    assert_eq!(
        ea.as_bytes(),
        format!("data:shared\nid:{}\n\n", id.as_str()).as_bytes()
    );
    // The replayed copy is the same allocation too.
    hub.publish("t", ServerSentEvent::new("next"))
        .await
        .unwrap();
    let mut c = hub.subscribe("t", Some(&last_id(&id))).await.unwrap();
    let ec = ready(&mut c).await.unwrap();
    let ea2 = ready(&mut a).await.unwrap();
    assert_eq!(ec.as_bytes().as_ptr(), ea2.as_bytes().as_ptr(), "replayed");
    let eb2 = ready(&mut b).await.unwrap();
    assert_eq!(
        eb2.as_bytes().as_ptr(),
        ea2.as_bytes().as_ptr(),
        "live again"
    );
}
