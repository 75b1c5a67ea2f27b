//! Heap allocations per event of every parser and encoder of the other two
//! benchmarks, counted by a counting global allocator, with a check that
//! each parser found the events it should. Untimed: the counting allocator
//! lives in this binary only, so that it slows no timed benchmark.
//!
//! ```text
//! cargo bench --bench allocations                  # the tables, in seconds
//! cargo bench --bench allocations -- i-small/ours  # one parse, e.g. under
//! valgrind --tool=callgrind target/release/deps/allocations-* --bench i-small/ours
//! ```
//!
//! Writes `target/criterion/sse-meta/{parser,encoder}.json` for
//! `scripts/bench-report.py`.

#[path = "support/common.rs"]
mod common;
#[path = "support/counting.rs"]
mod counting;
#[path = "support/encoders.rs"]
mod encoders;
#[path = "support/parsers.rs"]
mod parsers;

use bytes::BytesMut;

use crate::encoders::{
    axum_broadcast, axum_build, limit_append, ours_broadcast, ours_build, sse_codec_build, Inputs,
    EVENTS,
};
use crate::parsers::{Corpus, PARSERS};

/// The untimed pass: checks every parser's output and counts allocations.
/// Writes `target/criterion/sse-meta/parser.json` for the report script.
fn parser_pass(corpora: &[Corpus], filter: &Option<String>) {
    let mut rows = Vec::new();
    println!("\nAllocation pass (untimed): heap allocations per event, and a check of what each parser found");
    for corpus in corpora {
        for (parser, parse) in PARSERS {
            let name = format!("parse/{}/{parser}", corpus.name);
            if !common::selected(filter, &name) {
                continue;
            }
            let (allocs, found) =
                counting::count_allocations(|| parse(&corpus.bytes, corpus.chunk));
            let per_event = allocs as f64 / corpus.expect.events as f64;
            let check = if found == corpus.expect {
                "ok".to_owned()
            } else {
                format!(
                    "WRONG: {} events, {} data bytes (expected {}, {})",
                    found.events, found.data_bytes, corpus.expect.events, corpus.expect.data_bytes
                )
            };
            println!("  {name:<40} {allocs:>10} allocations  {per_event:>10.3} per event  {check}");
            rows.push(format!(
                r#"{{"corpus":"{}","what":"{}","parser":"{parser}","bytes":{},"events":{},"allocations":{allocs},"check":"{check}"}}"#,
                corpus.name,
                corpus.what,
                corpus.bytes.len(),
                corpus.expect.events
            ));
        }
    }
    let _ = std::fs::write(
        common::meta_path("parser.json"),
        format!("[\n{}\n]\n", rows.join(",\n")),
    );
}

/// The untimed pass: allocations per event, bytes and frames per case.
fn encoder_pass(inputs: &Inputs, filter: &Option<String>) {
    println!("\nAllocation pass (untimed): heap allocations per event ({EVENTS} events)");
    let mut rows = Vec::new();
    let mut buf = BytesMut::with_capacity(4 << 20);
    let cases = [
        "encode/build/ours",
        "encode/build/axum",
        "encode/build/sse-codec",
        "encode/broadcast/ours",
        "encode/broadcast/axum",
        "encode/broadcast/limit-append",
    ];
    for name in cases {
        if !common::selected(filter, name) {
            continue;
        }
        // The input of the `build` cases is cloned outside the count, as
        // criterion's setup does it outside the timing.
        let records = inputs.records.clone();
        let (allocs, (bytes, frames)) = counting::count_allocations(|| match name {
            "encode/build/ours" => ours_build(records),
            "encode/build/axum" => axum_build(records),
            "encode/build/sse-codec" => sse_codec_build(records, &mut buf),
            "encode/broadcast/ours" => ours_broadcast(&inputs.shared_ours),
            "encode/broadcast/axum" => axum_broadcast(&inputs.shared_axum),
            _ => limit_append(&inputs.encoded, &mut buf),
        });
        let per_event = allocs as f64 / EVENTS as f64;
        println!(
            "  {name:<32} {allocs:>8} allocations  {per_event:>7.3} per event  {bytes:>8} bytes in {frames} frames"
        );
        rows.push(format!(
            r#"{{"case":"{name}","events":{EVENTS},"allocations":{allocs},"bytes":{bytes},"frames":{frames}}}"#
        ));
    }
    let _ = std::fs::write(
        common::meta_path("encoder.json"),
        format!("[\n{}\n]\n", rows.join(",\n")),
    );
}

fn main() {
    // Under `cargo test --benches` there is nothing to do.
    let Some(filter) = common::bench_run() else {
        return;
    };
    let corpora = parsers::corpora(|corpus| parsers::corpus_selected(&filter, corpus));
    parser_pass(&corpora, &filter);
    encoder_pass(&encoders::inputs(), &filter);
}
