//! When and how soon to reconnect: the retry policy as a plain value.

use std::time::Duration;

/// How the client reconnects, as a plain value (tower's style of policy).
///
/// After a stream ends or fails, the client waits the server's latest
/// `retry:` time if it sent one, else [`initial_delay`](Self::with_initial_delay).
/// Failures in a row (no healthy connection in between) double the wait each
/// time, up to [`max_delay`](Self::with_max_delay), with random jitter so
/// that many clients do not come back in lockstep. A healthy connection (one
/// that delivered data) resets the count.
///
/// ```
/// use std::time::Duration;
/// use sse_connector::ReconnectOptions;
///
/// let options = ReconnectOptions::default()
///     .with_initial_delay(Duration::from_millis(500))
///     .with_max_delay(Duration::from_secs(60))
///     .with_max_attempts(Some(10));
/// assert_eq!(options.delay(Duration::from_millis(500), 1, 0.5), Duration::from_millis(500));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct ReconnectOptions {
    initial_delay: Duration,
    min_backoff: Duration,
    max_delay: Duration,
    max_attempts: Option<u32>,
    retry_server_errors: bool,
    jitter: f64,
}

impl Default for ReconnectOptions {
    /// 3 s first delay (what browsers use), backoff from at least 100 ms,
    /// 30 s cap, unlimited attempts, 5xx answers retried, jitter of up to
    /// half the delay.
    fn default() -> Self {
        ReconnectOptions {
            initial_delay: Duration::from_secs(3),
            min_backoff: Duration::from_millis(100),
            max_delay: Duration::from_secs(30),
            max_attempts: None,
            retry_server_errors: true,
            jitter: 0.5,
        }
    }
}

impl ReconnectOptions {
    /// The wait before reconnecting when the server sent no `retry:`.
    pub fn with_initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// The smallest base that backoff doubles from, so that failures in a
    /// row still slow down after a server asked for `retry: 0`. The first
    /// reconnection still waits exactly what the server asked.
    pub fn with_min_backoff(mut self, delay: Duration) -> Self {
        self.min_backoff = delay;
        self
    }

    /// The longest wait between attempts, whatever the backoff says.
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// How many reconnection attempts in a row may fail before the stream
    /// ends with the last error; `None` (the default) never gives up.
    pub fn with_max_attempts(mut self, attempts: Option<u32>) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Whether a `5xx` answer is retried (the default) or ends the stream. A
    /// `Retry-After` header on it is honoured. `4xx` answers never are.
    pub fn with_retry_server_errors(mut self, retry: bool) -> Self {
        self.retry_server_errors = retry;
        self
    }

    /// The share of a backed-off delay that is random, from `0.0` (none) to
    /// `1.0` (anything from zero to the delay). Default `0.5`.
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter.clamp(0.0, 1.0);
        self
    }

    /// The delay when the server sent no `retry:`.
    pub fn initial_delay(&self) -> Duration {
        self.initial_delay
    }

    /// The smallest base of backoff.
    pub fn min_backoff(&self) -> Duration {
        self.min_backoff
    }

    /// The cap on every delay.
    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// The limit on failed attempts in a row, if any.
    pub fn max_attempts(&self) -> Option<u32> {
        self.max_attempts
    }

    /// Whether `5xx` answers are retried.
    pub fn retry_server_errors(&self) -> bool {
        self.retry_server_errors
    }

    /// The wait before attempt number `failures` in a row (1 for the first
    /// reconnection), from `base` (the server's `retry:` or the initial
    /// delay), given a random `unit` in `[0, 1)`.
    ///
    /// The first reconnection waits exactly `base`, as the specification
    /// asks; later ones back off exponentially from at least
    /// [`min_backoff`](Self::with_min_backoff), with jitter, up to the cap.
    pub fn delay(&self, base: Duration, failures: u32, unit: f64) -> Duration {
        if failures <= 1 {
            return base.min(self.max_delay);
        }
        let base = base.max(self.min_backoff).min(self.max_delay);
        let factor = 2u32.saturating_pow(failures - 1);
        let backed_off = base.saturating_mul(factor).min(self.max_delay);
        let random_part = backed_off.mul_f64(self.jitter * unit.clamp(0.0, 1.0));
        backed_off - random_part
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn first_reconnect_waits_exactly_the_base() {
        let o = ReconnectOptions::default();
        assert_eq!(o.delay(100 * MS, 0, 0.9), 100 * MS);
        assert_eq!(o.delay(100 * MS, 1, 0.9), 100 * MS);
        assert_eq!(o.delay(Duration::ZERO, 1, 0.9), Duration::ZERO);
    }

    #[test]
    fn retry_zero_still_backs_off_from_the_floor() {
        let o = ReconnectOptions::default().with_jitter(0.0);
        assert_eq!(o.delay(Duration::ZERO, 1, 0.5), Duration::ZERO);
        assert_eq!(o.delay(Duration::ZERO, 2, 0.5), 200 * MS);
        assert_eq!(o.delay(Duration::ZERO, 3, 0.5), 400 * MS);
        let floorless = o.with_min_backoff(Duration::ZERO);
        assert_eq!(floorless.delay(Duration::ZERO, 5, 0.5), Duration::ZERO);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let o = ReconnectOptions::default()
            .with_jitter(0.0)
            .with_max_delay(Duration::from_secs(1));
        let delays: Vec<_> = (1..=6).map(|n| o.delay(100 * MS, n, 0.5)).collect();
        assert_eq!(
            delays,
            [100 * MS, 200 * MS, 400 * MS, 800 * MS, 1000 * MS, 1000 * MS]
        );
        assert_eq!(o.delay(100 * MS, u32::MAX, 0.5), 1000 * MS);
        assert_eq!(
            o.delay(Duration::from_secs(5), 1, 0.5),
            1000 * MS,
            "retry: is capped too"
        );
    }

    #[test]
    fn jitter_stays_within_its_share() {
        let o = ReconnectOptions::default().with_jitter(0.5);
        assert_eq!(o.delay(100 * MS, 2, 0.0), 200 * MS);
        assert_eq!(o.delay(100 * MS, 2, 0.5), 150 * MS);
        let nearly_one = o.delay(100 * MS, 2, 0.999_999);
        assert!(
            nearly_one > 100 * MS && nearly_one < 101 * MS,
            "{nearly_one:?}"
        );
        for unit in [0.0, 0.1, 0.3, 0.7, 0.99] {
            let d = o.delay(100 * MS, 3, unit);
            assert!(d > 200 * MS && d <= 400 * MS, "{unit}: {d:?}");
        }
    }
}
