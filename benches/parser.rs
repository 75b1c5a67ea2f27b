//! Parser benchmark: our `EventStreamParser` against the parsers users would
//! pick instead (eventsource-stream, sse-codec, async-sse), and two limits
//! (counting newlines with memchr, and memcpy) over the same bytes.
//!
//! ```text
//! cargo bench --bench parser                       # everything, a few minutes
//! cargo bench --bench parser -- i-small            # one corpus
//! python3 scripts/bench-report.py                  # the tables of BENCHMARKS.md
//! ```
//!
//! The corpora and how each parser is driven are in `support/parsers.rs`;
//! the allocation counts come from `allocations.rs` (a counting allocator
//! would slow the allocation-heavy parsers down here).

#[path = "support/common.rs"]
mod common;
#[path = "support/parsers.rs"]
mod parsers;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput};

use crate::parsers::{Corpus, LIMITS, PARSERS};

fn benches(c: &mut Criterion, corpora: &[Corpus]) {
    for corpus in corpora {
        let mut group = c.benchmark_group(format!("parse/{}", corpus.name));
        group
            .throughput(Throughput::Bytes(corpus.bytes.len() as u64))
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        for (parser, parse) in PARSERS {
            group.bench_function(*parser, |b| {
                b.iter(|| parse(black_box(&corpus.bytes), corpus.chunk))
            });
        }
        group.bench_function(LIMITS[0], |b| {
            b.iter(|| memchr::memchr_iter(b'\n', black_box(&corpus.bytes)).count())
        });
        let mut copy = vec![0u8; corpus.bytes.len()];
        group.bench_function(LIMITS[1], |b| {
            b.iter(|| {
                copy.copy_from_slice(black_box(&corpus.bytes));
                black_box(&copy);
            })
        });
        // What every parser here pays before it parses: each read copied
        // into a buffer (then emptied, as if all of it had been parsed).
        group.bench_function(LIMITS[2], |b| {
            let mut buf = bytes::BytesMut::new();
            b.iter(|| {
                for read in black_box(&corpus.bytes).chunks(corpus.chunk) {
                    buf.extend_from_slice(read);
                    black_box(&buf);
                    buf.clear();
                }
            })
        });
        group.finish();
    }
}

fn main() {
    // Benchmarks are not tests: under `cargo test --benches` (no `--bench`
    // argument), do nothing rather than parse 200 MB in a debug build.
    let Some(filter) = common::bench_run() else {
        return;
    };
    // Only the corpora criterion will run are generated.
    let corpora = parsers::corpora(|corpus| parsers::corpus_selected(&filter, corpus));
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion, &corpora);
    criterion.final_summary();
}
