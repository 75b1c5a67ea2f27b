//! Fan-out: one tail of the log per topic on this node, broadcast to the
//! node's subscribers of that topic. A shared log is read once per node,
//! not once per subscriber, and each event is encoded once per node.
//!
//! A feed starts with its topic's first subscriber and stops when its last
//! one leaves or its tail fails. Both happen under the topic's own lock,
//! which a subscriber also holds while it joins: a subscriber never joins a
//! feed that is stopping, and starting one topic's feed (round trips to a
//! broker) never delays another topic's subscribers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError};

use futures_util::StreamExt;
use tokio::sync::{broadcast, Notify};

use crate::log::{EventLog, StoredEvent, TailRecord, TailStream};
use crate::Error;

/// What a feed hands its subscribers.
#[derive(Debug, Clone)]
pub(crate) enum FeedItem {
    Event {
        event: Arc<StoredEvent>,
        /// How many events the feed has handed out, this one included,
        /// and how many the log evicted before the tail read them: with
        /// these a subscriber counts exactly what it missed, whether its
        /// own queue overflowed or the feed fell behind.
        count: Counts,
    },
    /// The tail failed (the broker went away): the feed is over.
    Failed(Arc<str>),
}

/// A feed's running counts; see [`FeedItem::Event`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) sent: u64,
    pub(crate) skipped: u64,
}

impl Counts {
    /// The events between `self` (the last one a subscriber had) and
    /// `next` that it never got.
    pub(crate) fn missed_before(self, next: Counts) -> u64 {
        next.sent.saturating_sub(self.sent + 1) + next.skipped.saturating_sub(self.skipped)
    }
}

/// The running tail of one topic.
#[derive(Debug)]
pub(crate) struct Feed {
    sender: broadcast::Sender<FeedItem>,
    /// Rung when a subscriber leaves: the tail stops once none is left.
    left: Notify,
    /// The counts of the latest event sent, for subscribers that join.
    sent: AtomicU64,
    skipped: AtomicU64,
}

impl Feed {
    /// A receiver of the feed, and the counts it starts after.
    fn subscribe(self: &Arc<Self>) -> Joined {
        // Subscribed first: an event counted after this read is in the
        // receiver (unless it overflows, which the counts then show).
        let receiver = self.sender.subscribe();
        let counts = Counts {
            sent: self.sent.load(Ordering::SeqCst),
            skipped: self.skipped.load(Ordering::SeqCst),
        };
        Joined {
            receiver,
            counts,
            leave: Leave(Arc::clone(self)),
        }
    }
}

/// A subscriber's place in a feed. Its fields drop in order: the receiver
/// first, then [`Leave`] tells the feed, which then counts its receivers
/// without this one, whether the subscription ran or its start failed.
#[derive(Debug)]
pub(crate) struct Joined {
    pub(crate) receiver: broadcast::Receiver<FeedItem>,
    /// The feed's counts when the receiver joined.
    pub(crate) counts: Counts,
    pub(crate) leave: Leave,
}

/// Tells the feed a subscriber left, when dropped: keep it after the
/// receiver in any struct that holds both.
#[derive(Debug)]
pub(crate) struct Leave(Arc<Feed>);

impl Drop for Leave {
    fn drop(&mut self) {
        self.0.left.notify_one();
    }
}

/// The feed of one topic, if it runs, behind the topic's own lock.
#[derive(Debug, Default)]
struct Topic {
    feed: tokio::sync::Mutex<Option<Arc<Feed>>>,
}

/// The feeds of a hub, by topic.
#[derive(Debug, Default)]
pub(crate) struct Feeds {
    topics: Arc<std::sync::Mutex<HashMap<String, Arc<Topic>>>>,
}

impl Feeds {
    /// Joins the running feed of `topic`, started if needed: every event
    /// the tail yields from now on reaches the returned receiver.
    pub(crate) async fn join<L: EventLog>(
        &self,
        log: &Arc<L>,
        topic: &str,
        queue: usize,
    ) -> Result<Joined, Error> {
        let slot = Arc::clone(
            self.topics
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(topic.to_owned())
                .or_default(),
        );
        let mut current = slot.feed.lock().await;
        if let Some(feed) = current.as_ref() {
            return Ok(feed.subscribe());
        }
        // The tail starts after the newest event now: a subscriber's read,
        // which comes after this, covers everything up to its own newest.
        let started = async {
            let start = log.newest(topic).await?.map(|(position, _)| position);
            log.tail(topic, start).await
        };
        let tail = match started.await {
            Ok(tail) => tail,
            Err(error) => {
                drop(current);
                forget_if_unused(&self.topics, topic, &slot);
                return Err(error);
            }
        };
        let (sender, _) = broadcast::channel(queue);
        let feed = Arc::new(Feed {
            sender,
            left: Notify::new(),
            sent: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
        });
        let joined = feed.subscribe();
        *current = Some(Arc::clone(&feed));
        drop(current);
        tokio::spawn(run(
            feed,
            tail,
            Arc::clone(&slot),
            Arc::clone(&self.topics),
            topic.to_owned(),
        ));
        Ok(joined)
    }
}

/// Drops the topic's entry if its feed is stopped and nobody is joining
/// (the map and the caller hold the only references).
fn forget_if_unused(
    topics: &std::sync::Mutex<HashMap<String, Arc<Topic>>>,
    name: &str,
    slot: &Arc<Topic>,
) {
    let mut topics = topics.lock().unwrap_or_else(PoisonError::into_inner);
    let stopped = slot.feed.try_lock().is_ok_and(|feed| feed.is_none());
    if stopped
        && Arc::strong_count(slot) <= 2
        && topics.get(name).is_some_and(|s| Arc::ptr_eq(s, slot))
    {
        topics.remove(name);
    }
}

/// The feed's task: the tail's records to the subscribers, until the last
/// one leaves or the tail fails.
async fn run(
    feed: Arc<Feed>,
    mut tail: TailStream,
    slot: Arc<Topic>,
    topics: Arc<std::sync::Mutex<HashMap<String, Arc<Topic>>>>,
    name: String,
) {
    loop {
        let record = tokio::select! {
            record = tail.next() => record,
            () = feed.left.notified() => {
                if feed.sender.receiver_count() > 0 {
                    continue;
                }
                // Counted again under the topic's lock, which joins hold:
                // no subscriber can join a feed that is stopping.
                let mut current = slot.feed.lock().await;
                if feed.sender.receiver_count() > 0 {
                    continue;
                }
                *current = None;
                break;
            }
        };
        let item = match record {
            Some(Ok(TailRecord::Event(event))) => {
                // Counted before it is sent: see `Feed::subscribe`.
                let count = Counts {
                    sent: feed.sent.fetch_add(1, Ordering::SeqCst) + 1,
                    skipped: feed.skipped.load(Ordering::SeqCst),
                };
                FeedItem::Event {
                    event: Arc::new(event),
                    count,
                }
            }
            Some(Ok(TailRecord::Skipped(n))) => {
                tracing::info!(topic = %name, skipped = n, "the feed fell behind the log");
                feed.skipped.fetch_add(n, Ordering::SeqCst);
                continue;
            }
            Some(Err(error)) => {
                tracing::warn!(topic = %name, %error, "the log's tail failed");
                stop_failed(&feed, &slot, error.to_string()).await;
                break;
            }
            None => {
                stop_failed(&feed, &slot, "the log's tail ended".to_owned()).await;
                break;
            }
        };
        // No subscriber now is fine: the next one reads the log.
        let _ = feed.sender.send(item);
    }
    tracing::debug!(topic = %name, "the topic's tail stopped");
    forget_if_unused(&topics, &name, &slot);
}

/// Ends a feed whose tail failed: no one joins it from now on, and every
/// subscriber gets the failure.
async fn stop_failed(feed: &Arc<Feed>, slot: &Topic, why: String) {
    let mut current = slot.feed.lock().await;
    if current.as_ref().is_some_and(|f| Arc::ptr_eq(f, feed)) {
        *current = None;
    }
    let _ = feed.sender.send(FeedItem::Failed(Arc::from(why)));
}
