#!/usr/bin/env bash
# The load test of BENCHMARKS.md: our server (sse-routing + an sse-hub topic)
# and an axum `Sse` server in turn, N concurrent streams on 127.0.0.1 fed at a
# fixed rate, for N = 1000 and 10000 (and MAX=... if set). Every run is
# bounded in time and stops by itself; the tool raises its own open-file limit.
#
#   scripts/load.sh                          # 2 x (ours, axum) x N in 1000 10000
#   REPEAT=3 MAX=19900 scripts/load.sh       # medians of 3, plus N = 19900 (the
#                                            # open-file limit here is 20000)
#   NS="1000" DURATION=5 scripts/load.sh     # a quick look
set -euo pipefail
cd "$(dirname "$0")/.."

NS=${NS:-"1000 10000"}
if [[ -n "${MAX:-}" ]]; then NS="$NS $MAX"; fi
REPEAT=${REPEAT:-2}
RATE=${RATE:-10}
WARMUP=${WARMUP:-3}
DURATION=${DURATION:-15}

# The tool raises the limit itself (setrlimit); this covers the shell's children too.
ulimit -n 400000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

cargo build --release --example load
bin=target/release/examples/load
mkdir -p target/load
results="target/load/results-$(date -u +%Y%m%dT%H%M%SZ).jsonl"

for n in $NS; do
  for round in $(seq "$REPEAT"); do
    # Alternate the servers, so that a noisy moment hits both alike.
    for server in ours axum; do
      echo "== $server, N=$n, round $round" >&2
      timeout 240 "$bin" run --server "$server" --connections "$n" --rate "$RATE" \
        --warmup "$WARMUP" --duration "$DURATION" \
        | tee -a target/load/log.txt | sed -n 's/^RESULT //p' >>"$results"
      sleep 2 # let the sockets of the last run close
    done
  done
done

echo "results: $results" >&2
python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
groups = {}
for r in rows:
    groups.setdefault((r["n"], r["server"]), []).append(r)
def med(rs, key):
    return statistics.median(r[key] for r in rs)
print(f"\n{len(rows)} runs; medians per server and N (rate {rows[0]['rate']} events/s per stream, {rows[0]['duration']} s windows)\n")
print("| N | server | runs | connected | delivered events/s | p50 ms | p99 ms | max ms | server CPU µs/event | server KiB/connection |")
print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for (n, server), rs in sorted(groups.items()):
    print(f"| {n} | {server} | {len(rs)} | {min(r['connected'] for r in rs)} | {med(rs,'events_per_sec'):.0f} "
          f"| {med(rs,'p50_ms'):.1f} | {med(rs,'p99_ms'):.1f} | {med(rs,'max_ms'):.1f} "
          f"| {med(rs,'cpu_us_per_event'):.2f} | {med(rs,'kib_per_connection'):.1f} |")
print()
for n in sorted({n for n, _ in groups}):
    ours, axum = groups.get((n, "ours")), groups.get((n, "axum"))
    if ours and axum and med(axum,'p99_ms') and med(axum,'kib_per_connection') and med(axum,'cpu_us_per_event'):
        print(f"N={n}: p99 ours/axum = {med(ours,'p99_ms')/med(axum,'p99_ms'):.2f}, "
              f"memory per connection ours/axum = {med(ours,'kib_per_connection')/med(axum,'kib_per_connection'):.2f}, "
              f"CPU per event ours/axum = {med(ours,'cpu_us_per_event')/med(axum,'cpu_us_per_event'):.2f}")
PY
