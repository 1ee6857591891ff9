#!/usr/bin/env bash
# Each method's server-side verification path against its bare primitive:
# runs the criterion benches (release), then checks the bound — a path costs
# at most its primitive plus the larger of 2 µs and 30% of it. Exits 1 when a
# path is over. Takes about four minutes on 2 cores.
#
#   benches/scripts/bound.sh [criterion filter]
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
cargo bench -p authbench-benches --bench verify -- --warm-up-time 2 --measurement-time 4 "$@"
cargo run --release -q -p authbench-benches --bin check-bound
