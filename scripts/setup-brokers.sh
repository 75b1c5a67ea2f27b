#!/usr/bin/env bash
# Installs the brokers the shared-log tests start for themselves: Debian's
# redis-server and nats-server (JetStream). Idempotent: a no-op taking well
# under a second when both are present. The tests start their own servers on
# free ports with their own data directories; nothing is left running.
#
# Usage: bash scripts/setup-brokers.sh
set -euo pipefail

log() { echo "setup-brokers: $*" >&2; }

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v nats-server >/dev/null || missing+=(nats-server)
if ((${#missing[@]} == 0)); then
  log "present: $(redis-server --version | cut -d' ' -f1-3), $(nats-server --version)"
  exit 0
fi

log "installing Debian packages: ${missing[*]} (apt-get update + install)..."
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
APT_LOG="$(mktemp -t setup-brokers-apt.XXXXXX.log)"
if ! { $SUDO apt-get update -qq && \
       $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$APT_LOG" 2>&1; then
  tail -n 30 "$APT_LOG" >&2; log "ERROR: apt-get failed (full log: $APT_LOG)"; exit 1
fi
rm -f "$APT_LOG"
# The packages start system services; the tests do not use them.
for service in redis-server nats-server; do
  $SUDO systemctl stop "$service" >/dev/null 2>&1 || $SUDO service "$service" stop >/dev/null 2>&1 || true
done
command -v redis-server >/dev/null && command -v nats-server >/dev/null || {
  log "ERROR: a broker is still missing after the install"; exit 1; }
log "installed: $(redis-server --version | cut -d' ' -f1-3), $(nats-server --version)"
