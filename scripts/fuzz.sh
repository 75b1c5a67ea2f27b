#!/usr/bin/env bash
# Fuzz with cargo-fuzz (libFuzzer): the event stream parser, the unmarshaller,
# the server's direct HTTP/1.1 head decision against hyper's (http1_head), and
# its response head writer and chunk size lines (response_head).
#
#   bash scripts/fuzz.sh [seconds] [target...]
#
# Runs each target (default: all four) for `seconds` (default 60), starting
# from the committed seeds in fuzz/corpus/<target>/. The seeds are copied to a
# temporary working corpus, so a run never adds files to the repository; a crash is
# written to fuzz/artifacts/<target>/ (git-ignored) and fails the script.
#
# cargo-fuzz needs nightly-only compiler flags (-Z sanitizer=address, ...). The
# machine has the stable toolchain only, so the build runs with RUSTC_BOOTSTRAP=1,
# which lets stable rustc accept them. cargo-fuzz itself is installed from crates.io
# into the default cargo bin directory when missing (about a minute).
#
# The invariants each target checks are described in fuzz/src/lib.rs; its unit tests
# replay the seeds on stable without libFuzzer:
#   cargo test --release --manifest-path fuzz/Cargo.toml
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_PER_TARGET="${1:-60}"
shift || true
TARGETS=("$@")
[[ ${#TARGETS[@]} -gt 0 ]] || TARGETS=(parser unmarshal http1_head response_head)
# Memory ceiling per fuzzing process; the targets hold kilobytes, so hitting it
# means memory grew without bound.
RSS_LIMIT_MB="${RSS_LIMIT_MB:-1024}"

log() { echo "fuzz: $*" >&2; }

[[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || { log "seconds must be a number"; exit 2; }

if ! cargo fuzz --version >/dev/null 2>&1; then
  log "installing cargo-fuzz (cargo install cargo-fuzz --locked)..."
  cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1
cd "$ROOT/fuzz"

WORK="$(mktemp -d -t sse-fuzz.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

for target in "${TARGETS[@]}"; do
  log "building $target..."
  cargo fuzz build -O "$target"
done

# Targets run side by side, one per core (each fuzzer is single-threaded), so
# the wall time is about seconds x targets / cores. Each one's output goes to
# a log, printed when it fails.
JOBS="${FUZZ_JOBS:-$(nproc)}"
run_target() {
  local target="$1" corpus="$WORK/$1"
  mkdir -p "$corpus" "$ROOT/fuzz/artifacts/$target"
  cp "$ROOT/fuzz/corpus/$target/"* "$corpus/"
  cargo fuzz run -O "$target" "$corpus" -- \
    -max_total_time="$SECONDS_PER_TARGET" \
    -rss_limit_mb="$RSS_LIMIT_MB" \
    -max_len=8192 \
    -timeout=10 \
    -print_final_stats=1 >"$WORK/$target.log" 2>&1
}

failed=()
pending=("${TARGETS[@]}")
while ((${#pending[@]} > 0)); do
  batch=("${pending[@]:0:$JOBS}")
  pending=("${pending[@]:$JOBS}")
  pids=()
  for target in "${batch[@]}"; do
    log "running $target for ${SECONDS_PER_TARGET}s (rss limit ${RSS_LIMIT_MB} MB)..."
    run_target "$target" &
    pids+=("$!")
  done
  for i in "${!batch[@]}"; do
    target="${batch[$i]}"
    if wait "${pids[$i]}"; then
      log "$target: $(grep -E 'stat::number_of_executed_units' "$WORK/$target.log" || true)"
    else
      tail -n 60 "$WORK/$target.log" >&2
      failed+=("$target")
    fi
  done
done
if ((${#failed[@]} > 0)); then
  log "FAILED: ${failed[*]} (artifacts in fuzz/artifacts/)"
  exit 1
fi
log "ok: ${TARGETS[*]} ran ${SECONDS_PER_TARGET}s each without a finding"
