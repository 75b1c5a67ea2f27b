#!/usr/bin/env bash
# Set up the browser-test toolchain (idempotent; a no-op taking well under a second
# when everything is already in place).
#
#   1. Debian's `chromium` package -> /usr/bin/chromium (only if missing; needs root).
#   2. the npm packages pinned in tests/browser/package.json and package-lock.json
#      (`playwright-core` to drive Chromium, `eventsource` for the interop suite)
#      -> .tools/node/node_modules, via `npm ci`.
#
# No tool ever downloads a browser of its own: playwright-core has no install hook,
# PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 is set regardless, and the test script always
# launches the system /usr/bin/chromium.
#
# Usage: bash scripts/setup-browser.sh        (from anywhere; paths are repo-relative)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/tests/browser"   # committed package.json + package-lock.json
DEST="$ROOT/.tools/node"    # git-ignored install prefix
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

log() { echo "setup-browser: $*" >&2; }

# --- 1. Chromium from Debian ---------------------------------------------------------
if [[ -x "$CHROMIUM" ]]; then
  log "chromium present: $CHROMIUM"
else
  log "installing Debian package 'chromium' (apt-get update + install)..."
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  APT_LOG="$(mktemp -t setup-browser-apt.XXXXXX.log)"
  # Keep stderr short: apt's chatter goes to a log, shown only if apt fails.
  if ! { $SUDO apt-get update -qq && \
         $SUDO apt-get install -y -qq --no-install-recommends chromium; } >"$APT_LOG" 2>&1; then
    tail -n 30 "$APT_LOG" >&2; log "ERROR: apt-get failed (full log: $APT_LOG)"; exit 1
  fi
  rm -f "$APT_LOG"
  [[ -x "$CHROMIUM" ]] || { log "ERROR: $CHROMIUM still missing after install"; exit 1; }
fi
log "$("$CHROMIUM" --version 2>/dev/null || echo 'chromium --version failed')"

# --- 2. playwright-core into .tools/node ----------------------------------------------
command -v npm >/dev/null || { log "ERROR: npm not found (Node >= 20 required)"; exit 1; }
if [[ -f "$DEST/node_modules/playwright-core/package.json" ]] \
   && cmp -s "$SRC/package-lock.json" "$DEST/package-lock.json"; then
  log "playwright-core already installed in .tools/node (lockfile unchanged)"
else
  log "installing playwright-core into .tools/node (npm ci)..."
  mkdir -p "$DEST"
  cp "$SRC/package.json" "$SRC/package-lock.json" "$DEST/"
  # --ignore-scripts: nothing may run install hooks (e.g. a browser download).
  npm ci --prefix "$DEST" --ignore-scripts --no-audit --no-fund --loglevel=error >&2
fi
VERSION="$(node -p "require('$DEST/node_modules/playwright-core/package.json').version")"
log "ok: playwright-core $VERSION, chromium $CHROMIUM"
