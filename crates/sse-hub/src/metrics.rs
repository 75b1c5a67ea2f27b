//! Counters a production user needs, per topic.

use std::sync::atomic::{AtomicU64, Ordering};

/// The counters of one topic, updated as the hub works.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) subscribers: AtomicU64,
    pub(crate) published: AtomicU64,
    pub(crate) bytes_sent: AtomicU64,
    pub(crate) lagged_disconnects: AtomicU64,
    pub(crate) gaps: AtomicU64,
    pub(crate) resyncs: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, evicted: u64) -> TopicMetrics {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        TopicMetrics {
            subscribers: get(&self.subscribers),
            published: get(&self.published),
            bytes_sent: get(&self.bytes_sent),
            evicted,
            lagged_disconnects: get(&self.lagged_disconnects),
            gaps: get(&self.gaps),
            resyncs: get(&self.resyncs),
        }
    }
}

/// A snapshot of one topic's metrics. Counters only grow; `subscribers` is
/// the number connected now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TopicMetrics {
    /// Subscribers connected now.
    pub subscribers: u64,
    /// Events published.
    pub published: u64,
    /// Bytes handed to subscribers' connections.
    pub bytes_sent: u64,
    /// Events evicted from the replay log.
    pub evicted: u64,
    /// Subscribers disconnected because they fell behind.
    pub lagged_disconnects: u64,
    /// Gap events sent to subscribers that fell behind.
    pub gaps: u64,
    /// Resync events sent to subscribers whose id was evicted or unknown.
    pub resyncs: u64,
}
