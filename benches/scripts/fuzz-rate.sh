#!/usr/bin/env bash
# `authbench fuzz` against the embedded reference servers: no findings over
# 100,000 candidates, at no less than 5,000 requests per second. Release
# build; about 20 seconds after it. Exit 1 otherwise.
#
#   benches/scripts/fuzz-rate.sh [SEED]        # default seed 1; MIN_RATE=5000
set -euo pipefail
cd "$(dirname "$0")/../.."
SEED=${1:-1}
MIN_RATE=${MIN_RATE:-5000}
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
cargo build --release -q -p authbench
err=$(mktemp)
out=$(mktemp)
trap 'rm -f "$err" "$out"' EXIT
status=0
target/release/authbench fuzz --seed "$SEED" --iterations 100000 --duration 600 \
  --format markdown >"$out" 2>"$err" || status=$?
grep -E "^\| fail" "$out" || true
grep -E "candidates in|seed" "$err"
rate=$(sed -n 's/.* candidates in .* s, \([0-9]*\) req\/s/\1/p' "$err" | tail -1)
if [ "$status" -ne 0 ]; then
  echo "fuzz-rate: findings (exit $status); rerun with --out DIR for the reproducers"
  exit 1
fi
if [ -z "$rate" ] || [ "$rate" -lt "$MIN_RATE" ]; then
  echo "fuzz-rate: ${rate:-?} req/s is below $MIN_RATE"
  exit 1
fi
echo "fuzz-rate: no findings in 100000 candidates at $rate req/s (bound $MIN_RATE)"
