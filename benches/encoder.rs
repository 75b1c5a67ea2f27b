//! Encoder / marshalling benchmark: events to response body frames through
//! our `ToResponse` path, against axum 0.8's `Sse` body and sse-codec's
//! encoder, with the limit of appending the same bytes into one `BytesMut`.
//!
//! ```text
//! cargo bench --bench encoder
//! python3 scripts/bench-report.py
//! ```
//!
//! The cases are described in `support/encoders.rs`; the allocation counts
//! come from `allocations.rs`.

#[path = "support/encoders.rs"]
mod encoders;

use std::hint::black_box;
use std::time::Duration;

use bytes::BytesMut;
use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, Throughput};

use crate::encoders::{
    axum_broadcast, axum_build, limit_append, ours_broadcast, ours_build, sse_codec_build, Inputs,
    EVENTS,
};

/// A group of `EVENTS` events per iteration, measured alike in both cases.
fn measured<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .throughput(Throughput::Elements(EVENTS as u64))
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group
}

fn benches(c: &mut Criterion, inputs: &Inputs) {
    let mut group = measured(c, "encode/build");
    group.bench_function("ours", |b| {
        b.iter_batched(|| inputs.records.clone(), ours_build, BatchSize::LargeInput)
    });
    group.bench_function("axum", |b| {
        b.iter_batched(|| inputs.records.clone(), axum_build, BatchSize::LargeInput)
    });
    let mut buf = BytesMut::with_capacity(4 << 20);
    group.bench_function("sse-codec", |b| {
        b.iter_batched(
            || inputs.records.clone(),
            |records| sse_codec_build(records, &mut buf),
            BatchSize::LargeInput,
        )
    });
    group.finish();

    let mut group = measured(c, "encode/broadcast");
    group.bench_function("ours", |b| b.iter(|| ours_broadcast(&inputs.shared_ours)));
    group.bench_function("axum", |b| b.iter(|| axum_broadcast(&inputs.shared_axum)));
    let mut buf = BytesMut::with_capacity(4 << 20);
    group.bench_function("limit-append", |b| {
        b.iter(|| limit_append(black_box(&inputs.encoded), &mut buf))
    });
    group.finish();
}

#[path = "support/common.rs"]
mod common;

fn main() {
    // Benchmarks are not tests: under `cargo test --benches` (no `--bench`
    // argument), do nothing.
    if common::bench_run().is_none() {
        return;
    }
    let inputs = encoders::inputs();
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion, &inputs);
    criterion.final_summary();
}
