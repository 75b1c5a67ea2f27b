#!/usr/bin/env bash
# Our server against clients we did not write. Runs the scripted scenario of
# examples/interop_server.rs (named events, multi-line data with LF, CR and CRLF, ids,
# retry: 300, a comment, heartbeats, the server ending the stream, resumption with
# Last-Event-ID, 204 at the end) with three real clients, one after the other:
#
#   chromium         headless Debian Chromium's own EventSource, driven by npm
#                    playwright-core (tests/interop/chromium.mjs)
#   npm-eventsource  the npm `eventsource` package on Node (tests/interop/npm_eventsource.mjs)
#   python           PyPI httpx-sse on httpx in a virtual environment; httpx-sse does not
#                    reconnect, so the script does it as an EventSource would
#                    (tests/interop/python_client.py)
#
# Each client prints the events it received as JSON; tests/interop/check.py compares
# them with tests/interop/expected.json (a readable diff on mismatch) and checks what
# the server saw (/report: Last-Event-ID of every connection, reconnection delay within
# 250..2000 ms of retry: 300, stopped after the 204). Exit status 0 only if all pass.
#
# Installs what it needs, idempotently: Chromium + playwright-core + eventsource through
# scripts/setup-browser.sh (into .tools/node; never a downloaded browser), and the pinned,
# hash-checked tests/interop/requirements.txt into the virtual environment .tools/venv.
#
# Usage: bash scripts/interop.sh
# Env:   INTEROP_CLIENTS="chromium npm-eventsource python"  (a subset to run)
#        INTEROP_SERVER_BIN=path   (use this server binary instead of `cargo build`)
#        INTEROP_BREAK=wrong-id|no-retry|drop-event|no-204  (the server misbehaves on
#                                  purpose: every client must then FAIL)
# Everything is bounded in time, listens on 127.0.0.1 only, and the server and any
# client still running are stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
CLIENTS="${INTEROP_CLIENTS:-chromium npm-eventsource python}"
CLIENT_TIMEOUT_MS=15000   # per client: the scenario itself takes about one second
VENV="$ROOT/.tools/venv"
REQUIREMENTS="$ROOT/tests/interop/requirements.txt"

log() { echo "interop: $*" >&2; }
has_client() { [[ " $CLIENTS " == *" $1 "* ]]; }

WORK="$(mktemp -d -t sse-interop.XXXXXX)"
SERVER_PID=""
CHILD_PID=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  [[ -n "$CHILD_PID" ]] && kill -TERM "$CHILD_PID" 2>/dev/null
  [[ -n "$SERVER_PID" ]] && kill -TERM "$SERVER_PID" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# bounded SECONDS CMD...: runs CMD with a time limit, in the background so that a signal
# to this script is handled at once (and cleanup stops CMD).
bounded() {
  local seconds=$1 rc=0
  shift
  timeout -k 5 "$seconds" "$@" &
  CHILD_PID=$!
  wait "$CHILD_PID" || rc=$?
  CHILD_PID=""
  [[ $rc -eq 124 || $rc -eq 137 ]] && log "timed out after ${seconds}s: $*"
  return "$rc"
}

t0=$SECONDS

# --- 1. tools --------------------------------------------------------------------------
if has_client chromium || has_client npm-eventsource; then
  bounded 900 bash scripts/setup-browser.sh
fi
if has_client python; then
  if [[ -x "$VENV/bin/python" ]] && cmp -s "$REQUIREMENTS" "$VENV/requirements.txt" \
     && "$VENV/bin/python" -c 'import httpx_sse' 2>/dev/null; then
    log "python venv up to date: .tools/venv"
  else
    log "creating .tools/venv and installing tests/interop/requirements.txt (pinned, hashed)..."
    rm -rf "$VENV"
    bounded 120 python3 -m venv "$VENV"
    bounded 300 "$VENV/bin/pip" install --quiet --require-hashes --only-binary :all: \
      --timeout 60 -r "$REQUIREMENTS" >&2
    cp "$REQUIREMENTS" "$VENV/requirements.txt"
  fi
fi

# --- 2. the server ---------------------------------------------------------------------
if [[ -n "${INTEROP_SERVER_BIN:-}" ]]; then
  SERVER_BIN="$INTEROP_SERVER_BIN"
else
  log "cargo build --example interop_server"
  bounded 900 cargo build --quiet --example interop_server \
    --message-format=json-render-diagnostics >"$WORK/build.json"
  SERVER_BIN="$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "interop_server" and m.get("executable"):
        print(m["executable"])' "$WORK/build.json")"
fi
[[ -x "$SERVER_BIN" ]] || { log "ERROR: no server binary (${SERVER_BIN:-none})"; exit 1; }

# Port 0: an ephemeral port on 127.0.0.1. The server also exits by itself if this
# script dies without cleaning up, and after 5 minutes in any case.
"$SERVER_BIN" 0 --exit-with-parent --lifetime 300 >"$WORK/server.out" 2>"$WORK/server.log" &
SERVER_PID=$!
BASE=""
for _ in $(seq 100); do
  BASE="$(sed -n '1s/^listening \(http:\/\/127\.0\.0\.1:[0-9]*\/\)$/\1/p' "$WORK/server.out")"
  [[ -n "$BASE" ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
if [[ -z "$BASE" ]]; then
  log "ERROR: the interop server did not start"; cat "$WORK/server.log" >&2; exit 1
fi
log "server: $BASE${INTEROP_BREAK:+ (INTEROP_BREAK=$INTEROP_BREAK)}"

# --- 3. the clients --------------------------------------------------------------------
client_command() {
  case $1 in
    chromium) echo node tests/interop/chromium.mjs ;;
    npm-eventsource) echo node tests/interop/npm_eventsource.mjs ;;
    python) echo "$VENV/bin/python" tests/interop/python_client.py ;;
    *) return 1 ;;
  esac
}

failed=()
passed=()
results=()
for client in $CLIENTS; do
  cmd="$(client_command "$client")" || { log "ERROR: unknown client $client"; failed+=("$client"); continue; }
  key="$client-$$"   # the server keeps one scenario state per key
  started=$SECONDS
  rc=0
  # shellcheck disable=SC2086  # $cmd is a command line of fixed words
  bounded $((CLIENT_TIMEOUT_MS / 1000 + 40)) $cmd "$BASE" "$key" --timeout-ms "$CLIENT_TIMEOUT_MS" \
    >"$WORK/$client.json" 2>"$WORK/$client.err" || rc=$?
  if [[ $rc -ne 0 ]]; then
    results+=("FAIL $client: the client exited with status $rc")
    results+=("$(sed 's/^/  stderr: /' "$WORK/$client.err")")
    failed+=("$client")
    continue
  fi
  verdict=0
  out="$(bounded 30 python3 tests/interop/check.py tests/interop/expected.json \
    "$WORK/$client.json" "${BASE}report?client=$key")" || verdict=$?
  results+=("$(sed "1s/\$/  [$((SECONDS - started))s]/" <<<"$out")")
  if [[ $verdict -eq 0 ]]; then passed+=("$client"); else
    failed+=("$client")
    [[ -s "$WORK/$client.err" ]] && results+=("$(sed 's/^/  stderr: /' "$WORK/$client.err")")
  fi
done

# --- 4. verdict ------------------------------------------------------------------------
echo
printf '%s\n' "${results[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo
  echo "server log:"
  sed 's/^/  /' "$WORK/server.log"
fi
echo
echo "interop: ${#passed[@]} passed, ${#failed[@]} failed (${failed[*]:-none}) in $((SECONDS - t0))s"
[[ ${#failed[@]} -eq 0 ]]
