//! `EventStreamExt::keep_alive`: heartbeats for idle event streams.
//!
//! Every test runs on tokio's paused clock (`start_paused = true`): the clock
//! jumps straight to the next timer when the runtime is idle, so the times
//! below are exact and no test ever sleeps for real.

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use futures_util::{stream, FutureExt, Stream, StreamExt};
use http_body::Body as _;
use http_body_util::BodyExt;
use sse_marshal::{EventStreamExt, EventStreamMarshalling};
use sse_model::ServerSentEvent;
use tokio::sync::mpsc;
use tokio::time::{sleep, Instant};
use tokio_stream::wrappers::ReceiverStream;

const SECOND: Duration = Duration::from_secs(1);

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// Fails a test that would otherwise wait forever: on the paused clock the
/// runtime jumps to this deadline as soon as nothing else can happen.
async fn within<F: Future>(test: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(3_600), test)
        .await
        .expect("the test finishes within an hour of paused time")
}

/// Reads `n` items, each with the time it came at, counted from `start`.
async fn timed<S>(stream: &mut S, start: Instant, n: usize) -> Vec<(Duration, S::Item)>
where
    S: Stream + Unpin,
{
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let item = stream.next().await.expect("the stream goes on");
        out.push((start.elapsed(), item));
    }
    out
}

/// A stream that yields `event` after `delay`, then stays open forever.
fn once_after(
    delay: Duration,
    event: ServerSentEvent,
) -> impl Stream<Item = ServerSentEvent> + Send + 'static {
    stream::once(async move {
        sleep(delay).await;
        event
    })
    .chain(stream::pending())
}

fn beat() -> ServerSentEvent {
    ServerSentEvent::heartbeat()
}

#[tokio::test(start_paused = true)]
async fn idle_stream_gets_heartbeats_at_every_interval() {
    within(async {
        let start = Instant::now();
        let mut events = pin!(stream::pending::<ServerSentEvent>().keep_alive(SECOND, beat));

        let got = timed(&mut events, start, 4).await;
        assert_eq!(
            got,
            [
                (ms(1_000), beat()),
                (ms(2_000), beat()),
                (ms(3_000), beat()),
                (ms(4_000), beat()),
            ]
        );
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn nothing_comes_before_the_first_interval() {
    within(async {
        let mut events = pin!(stream::pending::<ServerSentEvent>().keep_alive(SECOND, beat));
        assert!(events.next().now_or_never().is_none(), "not at once");
        tokio::time::advance(ms(999)).await;
        assert!(events.next().now_or_never().is_none(), "not at 999 ms");
        tokio::time::advance(ms(1)).await;
        assert_eq!(events.next().now_or_never(), Some(Some(beat())), "at 1 s");
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn idle_time_counts_from_the_first_poll_not_from_construction() {
    within(async {
        let mut events = pin!(stream::pending::<ServerSentEvent>().keep_alive(SECOND, beat));
        sleep(ms(5_000)).await;

        let start = Instant::now();
        let got = timed(&mut events, start, 2).await;
        assert_eq!(got, [(ms(1_000), beat()), (ms(2_000), beat())]);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_real_event_resets_the_idle_timer() {
    within(async {
        let start = Instant::now();
        let event = ServerSentEvent::new("real").with_id(1);
        let mut events = pin!(once_after(ms(700), event.clone()).keep_alive(SECOND, beat));

        let got = timed(&mut events, start, 4).await;
        assert_eq!(
            got,
            [
                (ms(700), event),
                (ms(1_700), beat()), // not at 1.0 s
                (ms(2_700), beat()),
                (ms(3_700), beat()),
            ]
        );
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn events_through_a_channel_reset_the_timer_each_time() {
    within(async {
        let (tx, rx) = mpsc::channel::<ServerSentEvent>(4);
        let producer = tokio::spawn(async move {
            // Each delay counts from the previous event.
            for (delay, data) in [(300, "a"), (1_200, "b"), (2_800, "c")] {
                sleep(ms(delay)).await;
                tx.send(ServerSentEvent::new(data)).await.unwrap();
            }
            tx
        });
        let start = Instant::now();
        let mut events = pin!(ReceiverStream::new(rx).keep_alive(SECOND, beat));

        // Producer: a at 0.3 s, b at 0.3 + 1.2 = 1.5 s, c at 1.5 + 2.8 = 4.3 s.
        let got = timed(&mut events, start, 7).await;
        assert_eq!(
            got,
            [
                (ms(300), ServerSentEvent::new("a")),
                (ms(1_300), beat()),
                (ms(1_500), ServerSentEvent::new("b")),
                (ms(2_500), beat()),
                (ms(3_500), beat()),
                (ms(4_300), ServerSentEvent::new("c")),
                (ms(5_300), beat()),
            ]
        );
        let tx = producer.await.unwrap();
        drop(tx);
        assert_eq!(events.next().await, None, "the channel closing ends it");
        assert_eq!(start.elapsed(), ms(5_300), "and it ends at once");
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_busy_stream_gets_no_heartbeats() {
    within(async {
        let start = Instant::now();
        let busy = stream::unfold(1u64, |n| async move {
            sleep(ms(500)).await;
            Some((ServerSentEvent::new(n.to_string()), n + 1))
        })
        .take(10);
        let got: Vec<_> = busy
            .keep_alive(SECOND, beat)
            .map(|event| (start.elapsed(), event))
            .collect()
            .await;

        let expected: Vec<_> = (1..=10u64)
            .map(|n| (ms(500 * n), ServerSentEvent::new(n.to_string())))
            .collect();
        assert_eq!(got, expected);
        assert_eq!(start.elapsed(), ms(5_000), "ends with the inner stream");
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn events_just_under_the_interval_get_no_heartbeats() {
    within(async {
        let start = Instant::now();
        let busy = stream::unfold(1u64, |n| async move {
            sleep(ms(999)).await;
            Some((ServerSentEvent::new(n.to_string()), n + 1))
        })
        .take(5);
        let got: Vec<_> = busy
            .keep_alive(SECOND, beat)
            .map(|event| (start.elapsed(), event))
            .collect()
            .await;
        let expected: Vec<_> = (1..=5u64)
            .map(|n| (ms(999 * n), ServerSentEvent::new(n.to_string())))
            .collect();
        assert_eq!(got, expected);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn the_stream_ends_when_the_inner_stream_ends() {
    within(async {
        // Already finished: no heartbeat, no waiting.
        let start = Instant::now();
        let got: Vec<_> = stream::iter([ServerSentEvent::new("1"), ServerSentEvent::new("2")])
            .keep_alive(SECOND, beat)
            .collect()
            .await;
        assert_eq!(got, [ServerSentEvent::new("1"), ServerSentEvent::new("2")]);
        assert_eq!(start.elapsed(), Duration::ZERO);

        // Ends after an idle stretch: heartbeats until then, none after.
        let start = Instant::now();
        let late = stream::once(async {
            sleep(ms(2_500)).await;
            ServerSentEvent::new("last")
        });
        let got: Vec<_> = late
            .keep_alive(SECOND, beat)
            .map(|event| (start.elapsed(), event))
            .collect()
            .await;
        assert_eq!(
            got,
            [
                (ms(1_000), beat()),
                (ms(2_000), beat()),
                (ms(2_500), ServerSentEvent::new("last")),
            ]
        );
        assert_eq!(start.elapsed(), ms(2_500));
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn works_with_result_items() {
    within(async {
        let start = Instant::now();
        let inner = stream::once(async {
            sleep(ms(1_500)).await;
            Ok::<_, std::io::Error>(ServerSentEvent::new("ok"))
        })
        .chain(stream::once(async {
            sleep(ms(200)).await;
            Err(std::io::Error::other("broken"))
        }));
        let mut events = pin!(inner.keep_alive(SECOND, || Ok(ServerSentEvent::heartbeat())));

        let mut got = Vec::new();
        while let Some(item) = events.next().await {
            got.push((start.elapsed(), item.map_err(|e| e.to_string())));
        }
        assert_eq!(
            got,
            [
                (ms(1_000), Ok(beat())),
                (ms(1_500), Ok(ServerSentEvent::new("ok"))),
                (ms(1_700), Err("broken".to_owned())),
            ]
        );
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn the_heartbeat_factory_is_called_once_per_heartbeat() {
    within(async {
        let mut calls = 0u32;
        let mut events = pin!(stream::pending::<ServerSentEvent>().keep_alive(
            ms(250),
            move || {
                calls += 1;
                ServerSentEvent::new(calls.to_string())
                    .with_event_type(sse_model::EventType::from_static("ping"))
            }
        ));
        let start = Instant::now();
        let got = timed(&mut events, start, 3).await;
        let data: Vec<_> = got
            .iter()
            .map(|(at, event)| (*at, event.data().to_owned()))
            .collect();
        assert_eq!(
            data,
            [
                (ms(250), "1".to_owned()),
                (ms(500), "2".to_owned()),
                (ms(750), "3".to_owned()),
            ]
        );
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn marshalled_keep_alive_sends_heartbeat_frames_on_time() {
    within(async {
        let start = Instant::now();
        let events = once_after(ms(700), ServerSentEvent::new("tick")).keep_alive(SECOND, beat);
        let mut body = EventStreamMarshalling::response(events).into_body();

        let mut frames = Vec::new();
        for _ in 0..3 {
            let frame = body.frame().await.unwrap().unwrap().into_data().unwrap();
            frames.push((start.elapsed(), frame.to_vec()));
        }
        assert_eq!(
            frames,
            [
                (ms(700), b"data:tick\n\n".to_vec()),
                (ms(1_700), b":\n\n".to_vec()),
                (ms(2_700), b":\n\n".to_vec()),
            ]
        );
        assert!(!body.is_end_stream());
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn marshalled_result_stream_with_keep_alive() {
    within(async {
        let start = Instant::now();
        let events = stream::pending::<Result<ServerSentEvent, Infallible>>()
            .keep_alive(ms(1_500), || Ok(ServerSentEvent::heartbeat()));
        let mut body = EventStreamMarshalling::response(events).into_body();
        let frame = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!((start.elapsed(), &frame[..]), (ms(1_500), &b":\n\n"[..]));
    })
    .await;
}

#[test]
fn can_be_built_outside_a_runtime() {
    let events = stream::pending::<ServerSentEvent>().keep_alive(SECOND, beat);
    assert!(format!("{events:?}").contains("interval: 1s"));
    assert_eq!(events.size_hint(), (0, None));
    let iter = stream::iter([ServerSentEvent::new("a"), ServerSentEvent::new("b")]);
    assert_eq!(iter.keep_alive(SECOND, beat).size_hint(), (2, None));
}
