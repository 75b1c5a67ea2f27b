#!/usr/bin/env bash
# The shared-log rows of BENCHMARKS.md: our server (sse-routing + an sse-hub
# topic) with its log in memory, on Redis Streams and on NATS JetStream, N
# streams on 127.0.0.1 fed at RATES events/s. The brokers are started here on
# free ports with their own data directories (Redis: AOF, fsync every second;
# JetStream: file storage) and stopped at the end; every run is bounded.
#
#   scripts/load-logs.sh                         # N=1000, rates 10 and 100, 2 rounds
#   REPEAT=3 NS="1000 5000" scripts/load-logs.sh
set -euo pipefail
cd "$(dirname "$0")/.."

NS=${NS:-"1000"}
RATES=${RATES:-"10 100"}
REPEAT=${REPEAT:-2}
WARMUP=${WARMUP:-3}
DURATION=${DURATION:-15}
LOGS=${LOGS:-"memory redis nats"}

bash scripts/setup-brokers.sh
ulimit -n 400000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
cargo build --release --example load
bin=target/release/examples/load

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
data=$(mktemp -d -t sse-load-logs.XXXXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$data"; }
trap cleanup EXIT

redis_port=$(free_port)
mkdir -p "$data/redis"
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$data/redis" --appendonly yes \
  --appendfsync everysec --save "" --protected-mode no >"$data/redis.log" 2>&1 &
pids+=($!)
nats_port=$(free_port)
nats-server -a 127.0.0.1 -p "$nats_port" -js -sd "$data/nats" >"$data/nats.log" 2>&1 &
pids+=($!)
sleep 1

url_of() {
  case $1 in
    memory) echo memory ;;
    redis) echo "redis://127.0.0.1:$redis_port" ;;
    nats) echo "nats://127.0.0.1:$nats_port" ;;
  esac
}

mkdir -p target/load
results="target/load/logs-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
for n in $NS; do
  for rate in $RATES; do
    for round in $(seq "$REPEAT"); do
      # Alternate the logs, so that a noisy moment hits all alike.
      for log in $LOGS; do
        echo "== log $log, N=$n, rate $rate, round $round" >&2
        timeout 240 "$bin" run --server ours --hub-log "$(url_of "$log")" --connections "$n" \
          --rate "$rate" --warmup "$WARMUP" --duration "$DURATION" \
          | tee -a target/load/log.txt | sed -n 's/^RESULT //p' >>"$results"
        sleep 2
      done
    done
  done
done

echo "results: $results" >&2
python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
def kind(r):
    return r["hub_log"].split("://")[0]
groups = {}
for r in rows:
    groups.setdefault((r["n"], r["rate"], kind(r)), []).append(r)
def med(rs, key):
    return statistics.median(r[key] for r in rs)
print(f"\n{len(rows)} runs; medians ({rows[0]['duration']} s windows)\n")
print("| N | events/s published | log | runs | delivered events/s | p50 ms | p99 ms | max ms | server CPU µs/event | server core share |")
print("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
order = {"memory": 0, "redis": 1, "nats": 2}
for (n, rate, log), rs in sorted(groups.items(), key=lambda g: (g[0][0], g[0][1], order.get(g[0][2], 9))):
    print(f"| {n} | {rate:g} | {log} | {len(rs)} | {med(rs,'events_per_sec'):.0f} "
          f"| {med(rs,'p50_ms'):.2f} | {med(rs,'p99_ms'):.2f} | {med(rs,'max_ms'):.2f} "
          f"| {med(rs,'cpu_us_per_event'):.2f} | {100*med(rs,'cpu_core_share'):.0f}% |")
PY
