//! Whether a connection served by hyper has a request in flight, so that
//! one with none can be closed after the idle timeout: hyper closes an idle
//! HTTP/1.1 connection with its head timer, but neither an HTTP/2 connection
//! without streams nor a connection that never sent its first byte.

use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::sync::Notify;

/// The requests in flight on one connection.
#[derive(Debug, Default)]
pub(crate) struct Activity {
    in_flight: AtomicUsize,
    /// Every request starts and ends with a notification.
    changed: Notify,
}

impl Activity {
    /// Counts a request as in flight until the guard is dropped (with its
    /// response body).
    pub(crate) fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_waiters();
        InFlight(Arc::clone(self))
    }

    /// Completes once no request has been in flight for `first` (before
    /// the first request) or `then` (after one). A `None` wait never ends.
    pub(crate) async fn idle(&self, first: Option<Duration>, then: Option<Duration>) {
        let mut wait = first;
        loop {
            let changed = self.changed.notified();
            let mut changed = pin!(changed);
            // Registered before the count is read: a change in between is
            // not missed.
            changed.as_mut().enable();
            if self.in_flight.load(Ordering::SeqCst) > 0 {
                changed.await;
                wait = then;
                continue;
            }
            let Some(timeout) = wait else {
                changed.await;
                wait = then;
                continue;
            };
            tokio::select! {
                () = tokio::time::sleep(timeout) => return,
                () = changed => wait = then,
            }
        }
    }
}

/// A request in flight; see [`Activity::begin`].
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.0.changed.notify_waiters();
    }
}

pin_project! {
    /// A response body that keeps its request in flight until it is done
    /// with (sent or dropped).
    #[derive(Debug)]
    pub(crate) struct Tracked<B> {
        #[pin]
        body: B,
        in_flight: InFlight,
    }
}

impl<B> Tracked<B> {
    pub(crate) fn new(body: B, in_flight: InFlight) -> Self {
        Tracked { body, in_flight }
    }
}

impl<B: Body> Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        self.project().body.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;
    use std::future::Future;

    fn is_pending<F: Future>(future: Pin<&mut F>) -> bool {
        future.now_or_never().is_none()
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[tokio::test(start_paused = true)]
    async fn idle_counts_from_the_last_request_and_never_during_one() {
        let activity = Arc::new(Activity::default());
        let start = tokio::time::Instant::now();
        activity.idle(Some(SECOND), Some(3 * SECOND)).await;
        assert_eq!(start.elapsed(), SECOND, "before the first request");

        let request = activity.begin();
        let idle = activity.idle(Some(SECOND), Some(3 * SECOND));
        let mut idle = pin!(idle);
        assert!(is_pending(idle.as_mut()));
        tokio::time::sleep(10 * SECOND).await;
        assert!(is_pending(idle.as_mut()), "a request is in flight");
        drop(request);
        let ended = tokio::time::Instant::now();
        idle.await;
        assert_eq!(ended.elapsed(), 3 * SECOND, "after a request");
    }

    #[tokio::test(start_paused = true)]
    async fn no_timeout_is_never_idle() {
        let activity = Arc::new(Activity::default());
        let idle = activity.idle(None, None);
        let mut idle = pin!(idle);
        assert!(is_pending(idle.as_mut()));
        tokio::time::sleep(3600 * SECOND).await;
        assert!(is_pending(idle.as_mut()));
    }
}
