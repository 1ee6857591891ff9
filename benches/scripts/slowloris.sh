#!/usr/bin/env bash
# The baseline's latency while 500 connections send their headers a byte a
# second (slowloris), against `authbench serve` in a release build; see
# slowloris.py. Usage: benches/scripts/slowloris.sh [authbench] [SLOW] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${1:-target/release/authbench}"
[ -x "$bin" ] || cargo build --release -p authbench
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin" serve --state "$work" --bind 127.0.0.1:0 > "$work/out" 2>/dev/null &
server=$!
for _ in $(seq 1 300); do
  grep -q '^ready' "$work/out" 2>/dev/null && break
  kill -0 "$server" || { echo "serve did not start" >&2; exit 1; }
  sleep 0.1
done
base=$(grep -o 'https://[0-9.:]*' "$work/out" | head -1)
python3 benches/scripts/slowloris.py "$base" "$work/pki/ca.pem" "${2:-500}" "${3:-3}"
