#!/usr/bin/env bash
# authbench's generator against wrk, side by side on the same endpoint with the
# same connection count: `authbench overhead --max` must reach at least 100% of
# wrk's request rate against the reference servers' baseline (HTTPS,
# keep-alive). Alternates the two tools ROUNDS times; each round's ratio
# (authbench over wrk, measured seconds apart) cancels the machine's slower
# drift, and the verdict is the median of those ratios, which one noisy round
# cannot move (on a shared 2-core machine single rounds ranged 75–118%).
# Prints the means too. Exit 1 when the median is below 100%.
#
#   benches/scripts/load-tools.sh            # CONNECTIONS=32 DURATION=3 ROUNDS=10
set -euo pipefail
cd "$(dirname "$0")/../.."

CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-3}
ROUNDS=${ROUNDS:-10}
THREADS=$(nproc)

command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install wrk" >&2; exit 2; }
cargo build --release -q -p authbench
BIN=target/release/authbench

state=$(mktemp -d)
log=$(mktemp)
"$BIN" serve --state "$state" --bind 127.0.0.1:0 >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$state" "$log"' EXIT
for _ in $(seq 1 600); do grep -q '^ready' "$log" && break; sleep 0.1; done
grep -q '^ready' "$log" || { echo "the reference servers did not start" >&2; cat "$log" >&2; exit 2; }
base=$(awk '/^ready/ {print $2}' "$log")
url="$base/baseline"

wrk_rates=()
ab_rates=()
for round in $(seq 1 "$ROUNDS"); do
  rate=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "$url" | awk '/^Requests\/sec:/ {print $2}')
  wrk_rates+=("$rate")
  rate=$("$BIN" overhead --target "$state/target.toml" --methods baseline --max \
      --connections "$CONNECTIONS" --duration "$DURATION" --rounds 1 --warmup 0.5 --format json \
      2>/dev/null | python3 -c 'import json,sys; r=json.load(sys.stdin)["rows"][0]; print((r["baseline"]["rate"]+r["authenticated"]["rate"])/2)')
  ab_rates+=("$rate")
  echo "round $round: wrk ${wrk_rates[-1]} req/s, authbench ${ab_rates[-1]} req/s"
done

python3 - "${wrk_rates[*]}" "${ab_rates[*]}" "$CONNECTIONS" <<'PY'
import sys
wrk = [float(x) for x in sys.argv[1].split()]
ab = [float(x) for x in sys.argv[2].split()]
w, a = sum(wrk) / len(wrk), sum(ab) / len(ab)
ratio = a / w
per_round = sorted(x / y for x, y in zip(ab, wrk))
median = per_round[len(per_round) // 2] if len(per_round) % 2 else sum(per_round[len(per_round) // 2 - 1:len(per_round) // 2 + 1]) / 2
print(f"{sys.argv[3]} connections: wrk {w:.0f} req/s, authbench {a:.0f} req/s: {ratio:.1%} of wrk "
      f"(per-round ratios {', '.join(f'{r:.1%}' for r in per_round)}; median {median:.1%})")
sys.exit(0 if median >= 1.0 else 1)
PY
