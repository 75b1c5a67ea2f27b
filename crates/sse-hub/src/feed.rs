//! Fan-out: one tail of the log per topic on this node, broadcast to the
//! node's subscribers of that topic. A shared log is read once per node,
//! not once per subscriber, and each event is encoded once per node.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use futures_util::StreamExt;
use tokio::sync::{broadcast, Mutex, Notify};

use crate::log::{EventLog, StoredEvent, TailRecord};
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
    stopped: AtomicBool,
    /// The counts of the latest event sent, for subscribers that join.
    sent: AtomicU64,
    skipped: AtomicU64,
}

impl Feed {
    /// A receiver of the feed, and the counts it starts after.
    pub(crate) fn subscribe(&self) -> (broadcast::Receiver<FeedItem>, Counts) {
        // Subscribed first: an event counted after this read is in the
        // receiver (unless it overflows, which the counts then show).
        let receiver = self.sender.subscribe();
        let counts = Counts {
            sent: self.sent.load(Ordering::SeqCst),
            skipped: self.skipped.load(Ordering::SeqCst),
        };
        (receiver, counts)
    }

    /// A subscriber left.
    pub(crate) fn leave(&self) {
        self.left.notify_one();
    }
}

/// The feeds of a hub, by topic.
#[derive(Debug, Default)]
pub(crate) struct Feeds {
    /// An async lock: starting a feed asks the log where its tail starts.
    feeds: Mutex<HashMap<String, Arc<Feed>>>,
}

impl Feeds {
    /// The running feed of `topic`, started if needed, with a receiver
    /// subscribed to it before this returns: every event the tail yields
    /// from now on reaches the receiver.
    pub(crate) async fn join<L: EventLog>(
        &self,
        log: &Arc<L>,
        topic: &str,
        queue: usize,
    ) -> Result<(Arc<Feed>, broadcast::Receiver<FeedItem>, Counts), Error> {
        let mut feeds = self.feeds.lock().await;
        if let Some(feed) = feeds.get(topic) {
            if !feed.stopped.load(Ordering::SeqCst) {
                let (receiver, counts) = feed.subscribe();
                return Ok((Arc::clone(feed), receiver, counts));
            }
        }
        // The tail starts after the newest event now: a subscriber's read,
        // which comes after this, covers everything up to its own newest.
        let start = log.newest(topic).await?.map(|(position, _)| position);
        let mut tail = log.tail(topic, start).await?;
        let (sender, receiver) = broadcast::channel(queue);
        let feed = Arc::new(Feed {
            sender,
            left: Notify::new(),
            stopped: AtomicBool::new(false),
            sent: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
        });
        feeds.insert(topic.to_owned(), Arc::clone(&feed));
        let running = Arc::clone(&feed);
        let name = topic.to_owned();
        tokio::spawn(async move {
            loop {
                let record = tokio::select! {
                    record = tail.next() => record,
                    () = running.left.notified() => {
                        if running.sender.receiver_count() == 0 {
                            break;
                        }
                        continue;
                    }
                };
                let item = match record {
                    Some(Ok(TailRecord::Event(event))) => {
                        // Counted before it is sent: see `Feed::subscribe`.
                        let count = Counts {
                            sent: running.sent.fetch_add(1, Ordering::SeqCst) + 1,
                            skipped: running.skipped.load(Ordering::SeqCst),
                        };
                        FeedItem::Event {
                            event: Arc::new(event),
                            count,
                        }
                    }
                    Some(Ok(TailRecord::Skipped(n))) => {
                        tracing::info!(topic = %name, skipped = n, "the feed fell behind the log");
                        running.skipped.fetch_add(n, Ordering::SeqCst);
                        continue;
                    }
                    Some(Err(error)) => {
                        tracing::warn!(topic = %name, %error, "the log's tail failed");
                        let _ = running
                            .sender
                            .send(FeedItem::Failed(Arc::from(error.to_string())));
                        break;
                    }
                    None => {
                        let _ = running
                            .sender
                            .send(FeedItem::Failed(Arc::from("the log's tail ended")));
                        break;
                    }
                };
                // No subscriber now is fine: the next one reads the log.
                let _ = running.sender.send(item);
            }
            running.stopped.store(true, Ordering::SeqCst);
            tracing::debug!(topic = %name, "the topic's tail stopped");
        });
        Ok((feed, receiver, Counts::default()))
    }
}
