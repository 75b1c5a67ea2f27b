//! What the bench binaries share: which benchmarks a run selects, the events'
//! JSON data, and where the allocation counts go for `scripts/bench-report.py`.

// Each bench binary that includes this module uses a part of it.
#![allow(dead_code)]

use std::path::PathBuf;

/// Criterion options that take a value (so the value is not a filter).
const VALUED_FLAGS: &[&str] = &[
    "--measurement-time",
    "--warm-up-time",
    "--sample-size",
    "--save-baseline",
    "--baseline",
    "--baseline-lenient",
    "--load-baseline",
    "--output-format",
    "--color",
    "--nresamples",
    "--noise-threshold",
    "--confidence-level",
    "--significance-level",
    "--profile-time",
    "--plotting-backend",
    "--format",
];

/// ~100 bytes of JSON, different for every event: the data of the parser's
/// small events and of the encoder's events.
pub(crate) fn json(n: u64) -> String {
    format!(
        r#"{{"seq":{n},"symbol":"ACME","price":{}.{:02},"size":{},"side":"buy","venue":"XNAS","ts":{}}}"#,
        100 + n % 900,
        n % 100,
        1 + n % 5000,
        1_700_000_000_000 + n * 7
    )
}

/// `Some(filter)` when this is a benchmark run (`cargo bench`), not
/// `cargo test --benches` or `--list`; the filter is criterion's first free
/// argument, if one is given (a benchmark runs if its name contains it).
pub(crate) fn bench_run() -> Option<Option<String>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") || args.iter().any(|a| a == "--list") {
        return None;
    }
    let mut free = None;
    let mut skip_value = false;
    for arg in args {
        if std::mem::take(&mut skip_value) {
            continue;
        }
        if VALUED_FLAGS.contains(&arg.as_str()) {
            skip_value = true;
        } else if !arg.starts_with('-') && free.is_none() {
            free = Some(arg);
        }
    }
    Some(free)
}

/// Whether a benchmark named `name` passes the filter.
pub(crate) fn selected(filter: &Option<String>, name: &str) -> bool {
    filter.as_deref().is_none_or(|f| name.contains(f))
}

/// `target/criterion/sse-meta/<file>`, next to criterion's own results, for
/// `scripts/bench-report.py`.
pub(crate) fn meta_path(file: &str) -> PathBuf {
    // The bench binary is target/<profile>/deps/<name>-<hash>.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            let exe = std::env::current_exe().ok()?;
            Some(exe.parent()?.parent()?.parent()?.to_path_buf())
        })
        .unwrap_or_else(|| PathBuf::from("target"));
    let dir = target.join("criterion").join("sse-meta");
    let _ = std::fs::create_dir_all(&dir);
    dir.join(file)
}
