//! The encoder benchmark's inputs and the encoders under test, shared by
//! the timed benchmark (`encoder.rs`) and the allocation count
//! (`allocations.rs`).
//!
//! Two cases, each 10 000 small events (`event: tick`, a numeric id, ~100
//! bytes of JSON):
//!
//! - `build`: the application has its values (a sequence number and a JSON
//!   string) and each library builds and encodes its own event from them, as
//!   a handler does for one client;
//! - `broadcast`: the event was built once and every subscriber's stream
//!   takes a clone of it (our `EncodedEvent`, axum's `Event`), as with a
//!   broadcast channel.
//!
//! The frames are polled from the response body until it ends, and dropped.

// Each bench binary that includes this module uses a part of it.
#![allow(dead_code)]

use std::convert::Infallible;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::{Bytes, BytesMut};
use futures_util::{stream, StreamExt};
use http_body::Body;
use sse_marshal::ToResponse;
use sse_model::{EncodedEvent, EventType, ServerSentEvent};

use crate::common::json;

pub(crate) const EVENTS: usize = 10_000;
pub(crate) const TICK: EventType = EventType::from_static("tick");

/// What the application holds before it builds an event.
#[derive(Clone)]
pub(crate) struct Record {
    pub(crate) seq: u64,
    pub(crate) json: String,
}

pub(crate) fn records() -> Vec<Record> {
    (0..EVENTS as u64)
        .map(|seq| Record {
            seq,
            json: json(seq),
        })
        .collect()
}

/// Polls a body that never waits to its end; returns the bytes and frames.
pub(crate) fn drain_body<B: Body<Data = Bytes>>(body: B) -> (usize, usize)
where
    B::Error: std::fmt::Debug,
{
    let mut body = pin!(body);
    let mut cx = Context::from_waker(Waker::noop());
    let (mut bytes, mut frames) = (0, 0);
    loop {
        match body.as_mut().poll_frame(&mut cx) {
            Poll::Ready(Some(frame)) => {
                let frame = frame.expect("no body error");
                if let Some(data) = frame.data_ref() {
                    bytes += data.len();
                    frames += 1;
                }
                black_box(frame);
            }
            Poll::Ready(None) => return (bytes, frames),
            Poll::Pending => unreachable!("in-memory events never wait"),
        }
    }
}

pub(crate) fn ours_build(records: Vec<Record>) -> (usize, usize) {
    let events = stream::iter(records).map(|r| {
        ServerSentEvent::new(r.json)
            .with_event_type(TICK)
            .with_id(r.seq)
    });
    drain_body(events.to_response().into_body())
}

pub(crate) fn axum_build(records: Vec<Record>) -> (usize, usize) {
    use axum::response::sse::{Event, Sse};
    use axum::response::IntoResponse;
    let events = stream::iter(records).map(|r| {
        Ok::<_, Infallible>(
            Event::default()
                .event("tick")
                .id(r.seq.to_string())
                .data(r.json),
        )
    });
    drain_body(Sse::new(events).into_response().into_body())
}

pub(crate) fn sse_codec_build(records: Vec<Record>, buf: &mut BytesMut) -> (usize, usize) {
    use futures_codec::Encoder as _;
    let mut codec = sse_codec::SSECodec::default();
    buf.clear();
    for r in records {
        let event = sse_codec::Event::Message {
            id: Some(r.seq.to_string()),
            event: "tick".to_owned(),
            data: r.json,
        };
        codec.encode(event, buf).expect("encodes");
    }
    (buf.len(), 1)
}

/// Each subscriber's stream clones the shared events one by one (a stream
/// given to a response must own what it yields, hence the `Arc`).
pub(crate) fn ours_broadcast(shared: &Arc<[EncodedEvent]>) -> (usize, usize) {
    let shared = Arc::clone(shared);
    let events = stream::iter((0..shared.len()).map(move |i| shared[i].clone()));
    drain_body(events.to_response().into_body())
}

pub(crate) fn axum_broadcast(shared: &Arc<[axum::response::sse::Event]>) -> (usize, usize) {
    use axum::response::sse::Sse;
    use axum::response::IntoResponse;
    let shared = Arc::clone(shared);
    let events =
        stream::iter((0..shared.len()).map(move |i| Ok::<_, Infallible>(shared[i].clone())));
    drain_body(Sse::new(events).into_response().into_body())
}

/// The limit: the same bytes, appended into one buffer.
pub(crate) fn limit_append(encoded: &[Bytes], buf: &mut BytesMut) -> (usize, usize) {
    buf.clear();
    for bytes in encoded {
        buf.extend_from_slice(bytes);
    }
    (buf.len(), 1)
}

pub(crate) struct Inputs {
    pub(crate) records: Vec<Record>,
    pub(crate) shared_ours: Arc<[EncodedEvent]>,
    pub(crate) shared_axum: Arc<[axum::response::sse::Event]>,
    pub(crate) encoded: Vec<Bytes>,
}

pub(crate) fn inputs() -> Inputs {
    let records = records();
    let shared_ours = records
        .iter()
        .map(|r| {
            EncodedEvent::new(
                &ServerSentEvent::new(r.json.clone())
                    .with_event_type(TICK)
                    .with_id(r.seq),
            )
        })
        .collect::<Arc<[_]>>();
    let shared_axum = records
        .iter()
        .map(|r| {
            axum::response::sse::Event::default()
                .event("tick")
                .id(r.seq.to_string())
                .data(&r.json)
        })
        .collect();
    let encoded = shared_ours.iter().map(EncodedEvent::to_bytes).collect();
    Inputs {
        records,
        shared_ours,
        shared_axum,
        encoded,
    }
}
