#!/usr/bin/env bash
# Are `compare`'s figures stable across runs? Runs the full `authbench compare`
# (not --quick) twice in a row and, for every configuration, compares the two
# runs' added CPU per request and added p50: `within` when each run's
# estimate lies inside the other run's 95% interval, `overlap` when the two
# intervals overlap. Exit 1 when any pair does not even overlap. (`within`
# is printed but not required: two runs of the same truth with equal
# intervals land within each other's about 80% of the time, so over 26
# figures several misses are expected even from perfect intervals.) Prints
# both runs' figures and noise floors. Release build; about ten minutes.
#
#   benches/scripts/compare-twice.sh [OUT_DIR]      # default target/compare-twice
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-target/compare-twice}
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
cargo build --release -q -p authbench
for run in 1 2; do
  echo "== compare, run $run"
  # Exit 1 (a failed request or case) still leaves figures to compare.
  target/release/authbench compare --out "$OUT/run$run" >/dev/null 2>"$OUT.run$run.log" || true
  test -s "$OUT/run$run/compare.json" || { echo "run $run wrote no compare.json" >&2; cat "$OUT.run$run.log" >&2; exit 2; }
done
python3 - "$OUT/run1/compare.json" "$OUT/run2/compare.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
def fmt(v, i):
    if v is None:
        return "n/a"
    return f"{v:+.1f} [{i['low']:+.1f}, {i['high']:+.1f}]" if i else f"{v:+.1f} [no interval]"
def agree(v1, i1, v2, i2):
    if v1 is None or v2 is None or not i1 or not i2:
        return None
    if i2["low"] <= v1 <= i2["high"] and i1["low"] <= v2 <= i1["high"]:
        return "within"
    if i1["low"] <= i2["high"] and i2["low"] <= i1["high"]:
        return "overlap"
    return "NO"
for run, c in (("run 1", a), ("run 2", b)):
    n = c.get("noise_floor") or {}
    r = lambda v: "n/a" if v is None else f"{v:.1f}"
    print(f"{run}: noise floor CPU ±{r(n.get('cpu_us'))} µs, p50 ±{r(n.get('p50_us'))} µs, p99 ±{r(n.get('p99_us'))} µs")
bad = []
counts = {}
print(f"{'configuration':16} {'metric':8} {'run 1':>32} {'run 2':>32}  agree")
for r1 in a["rows"]:
    r2 = next((r for r in b["rows"] if r["configuration"] == r1["configuration"]), None)
    if r2 is None:
        bad.append((r1["configuration"], "missing in run 2"))
        continue
    for metric, key, ikey in (("CPU/req", "added_cpu_us_per_request", "added_cpu_interval"),
                              ("p50", "added_p50_us", "added_p50_interval")):
        v1, i1, v2, i2 = r1.get(key), r1.get(ikey), r2.get(key), r2.get(ikey)
        ok = agree(v1, i1, v2, i2)
        print(f"{r1['configuration']:16} {metric:8} {fmt(v1, i1):>32} {fmt(v2, i2):>32}  {ok or '-'}")
        counts[ok] = counts.get(ok, 0) + 1
        if ok == "NO":
            bad.append((r1["configuration"], metric))
print(", ".join(f"{k}: {v}" for k, v in counts.items() if k))
if bad:
    print("intervals apart:", ", ".join(f"{c} {m}" for c, m in bad))
    sys.exit(1)
print("every configuration's added CPU and added p50 agree across the two runs")
PY
