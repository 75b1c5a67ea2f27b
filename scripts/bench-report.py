#!/usr/bin/env python3
"""The tables of BENCHMARKS.md from criterion's results.

    cargo bench                                  # results in target/criterion
    python3 scripts/bench-report.py              # tables of that run
    python3 scripts/bench-report.py DIR...       # medians over several runs

Each DIR is a copy of target/criterion taken after one `cargo bench`. For each
benchmark the table shows the median over the runs of criterion's median
time, and the spread of those medians (max - min, as a share of the median):
how noisy the machine was. Allocation counts come from the untimed pass the
bench binaries write to target/criterion/sse-meta/.
"""

import glob
import json
import os
import statistics
import sys

COMPETITORS = ["eventsource-stream", "sse-codec", "async-sse"]


def load_runs(dirs):
    runs = []
    for d in dirs:
        results = {}
        for path in glob.glob(os.path.join(d, "**", "new", "benchmark.json"), recursive=True):
            bench = json.load(open(path))
            estimates = json.load(open(os.path.join(os.path.dirname(path), "estimates.json")))
            results[bench["full_id"]] = (estimates["median"]["point_estimate"], bench.get("throughput") or {})
        meta = {}
        for name in ("parser", "encoder"):
            path = os.path.join(d, "sse-meta", name + ".json")
            if os.path.exists(path):
                meta[name] = json.load(open(path))
        runs.append((results, meta))
    return runs


def median_ns(runs, full_id):
    values = [r[full_id][0] for r, _ in runs if full_id in r]
    if not values:
        return None, None
    m = statistics.median(values)
    return m, (max(values) - min(values)) / m


def fmt_time(ns):
    if ns >= 1e9:
        return f"{ns / 1e9:.2f} s"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns / 1e3:.1f} µs"


def fmt_rate(x):
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= scale:
            return f"{x / scale:.2f} {unit}"
    return f"{x:.0f}"


def parser_tables(runs):
    meta = next((m["parser"] for _, m in reversed(runs) if "parser" in m), [])
    corpora = {}
    for row in meta:
        corpora.setdefault(row["corpus"], {"what": row["what"], "bytes": row["bytes"], "events": row["events"], "rows": {}})
        corpora[row["corpus"]]["rows"][row["parser"]] = row
    summary = []
    for corpus, info in corpora.items():
        print(f"\n#### {info['what']}\n")
        print(f"{info['bytes'] / 1e6:.1f} MB, {info['events']} events.\n")
        print("| parser | median time | MiB/s | events/s | allocations / event | spread of runs | ours is … faster |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        ours, _ = median_ns(runs, f"parse/{corpus}/ours")
        names = ["ours"] + COMPETITORS + ["limit-memchr-newlines", "limit-memcpy", "limit-reads"]
        best = None
        for name in names:
            ns, spread = median_ns(runs, f"parse/{corpus}/{name}")
            if ns is None:
                continue
            mibs = info["bytes"] / (ns / 1e9) / (1 << 20)
            eps = info["events"] / (ns / 1e9)
            row = info["rows"].get(name)
            allocs = "—"
            if row:
                allocs = f"{row['allocations'] / info['events']:.3f}"
                if row["check"] != "ok":
                    allocs += " (wrong output)"
            if name.startswith("limit"):
                # A limit is no parser: how far ours is from it.
                ratio = f"(ours takes {ours / ns:.0f}× its time)" if ours else ""
                eps_text = "—"
            else:
                ratio = f"{ns / ours:.1f}×" if ours and name != "ours" else ""
                eps_text = fmt_rate(eps)
            label = f"**{name}**" if name == "ours" else name
            print(f"| {label} | {fmt_time(ns)} | {mibs:,.0f} | {eps_text} | {allocs} | {spread:.0%} | {ratio} |")
            if name in COMPETITORS and (best is None or ns < best[1]):
                best = (name, ns)
        if ours and best:
            summary.append((corpus, best[0], best[1] / ours))
    if summary:
        print("\nOurs against the fastest other parser, per corpus:\n")
        for corpus, name, ratio in summary:
            print(f"- {corpus}: {ratio:.2f}× {name}")


def encoder_tables(runs):
    meta = next((m["encoder"] for _, m in reversed(runs) if "encoder" in m), [])
    allocs = {row["case"]: row for row in meta}
    for group in ("encode/build", "encode/broadcast"):
        print(f"\n#### {group}\n")
        print("| encoder | median time (10 000 events) | events/s | allocations / event | frames | spread of runs | ours is … faster |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        ours, _ = median_ns(runs, f"{group}/ours")
        for name in ("ours", "axum", "sse-codec", "limit-append"):
            ns, spread = median_ns(runs, f"{group}/{name}")
            if ns is None:
                continue
            row = allocs.get(f"{group}/{name}")
            events = row["events"] if row else 10_000
            per_event = f"{row['allocations'] / events:.3f}" if row else "—"
            frames = row["frames"] if row else "—"
            if name.startswith("limit"):
                ratio = f"(ours takes {ours / ns:.0f}× its time)" if ours else ""
            else:
                ratio = f"{ns / ours:.1f}×" if ours and name != "ours" else ""
            label = f"**{name}**" if name == "ours" else name
            print(f"| {label} | {fmt_time(ns)} | {fmt_rate(events / (ns / 1e9))} | {per_event} | {frames} | {spread:.0%} | {ratio} |")


def main():
    dirs = sys.argv[1:] or sorted(glob.glob("target/criterion-runs/run-*")) or ["target/criterion"]
    runs = load_runs(dirs)
    print(f"Medians over {len(runs)} run(s): {', '.join(dirs)}")
    print("\n### Parser")
    parser_tables(runs)
    print("\n### Encoder")
    encoder_tables(runs)


if __name__ == "__main__":
    main()
