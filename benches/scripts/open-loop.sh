#!/usr/bin/env bash
# The open-loop generator keeps its schedule: at 50% of the baseline's capacity
# (found by `overhead --sweep` in the same run), fewer than 0.1% of sends may
# be released more than 1 ms after their intended time, on either side of the
# comparison. Exit 1 otherwise. Release build; about a minute.
#
#   benches/scripts/open-loop.sh [METHOD]      # default api_key; DURATION=5
set -euo pipefail
cd "$(dirname "$0")/../.."
METHOD=${1:-api_key}
DURATION=${DURATION:-5}
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
cargo build --release -q -p authbench
out=$(mktemp)
trap 'rm -f "$out"' EXIT
target/release/authbench overhead --methods "$METHOD" --sweep --duration "$DURATION" \
  --rounds 1 --format json >"$out"
python3 - "$out" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
capacity = report["baseline_capacity"]
rows = [r for r in report["rows"] if isinstance(r["load"], dict)]
# The sweep's rates are 25%, 50% and 75% of capacity.
half = min(rows, key=lambda r: abs(r["load"]["rate"] - capacity / 2))
worst = 0.0
for side in ("baseline", "authenticated"):
    m = half[side]
    share = m["late"] / m["intended"] if m["intended"] else 1.0
    worst = max(worst, share)
    print(f"{side}: {m['late']} of {m['intended']} sends late by >1 ms ({share:.3%}), "
          f"{m['dropped']} dropped, p99 {m['p99_us']} us")
print(f"capacity {capacity:.0f} req/s; at {half['load']['rate']:.0f} req/s (50%) worst late share {worst:.3%}")
sys.exit(0 if worst < 0.001 and all(half[s]["dropped"] == 0 for s in ("baseline", "authenticated")) else 1)
PY
