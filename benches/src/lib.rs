//! Criterion benchmarks of the reference servers' verification paths beside
//! their bare primitives, so the ratio shows wasted work (`benches/verify.rs`;
//! run `cargo bench -p authbench-benches --bench verify`). The bound held: a
//! path costs at most its primitive plus the larger of 2 µs and 30% of it.
//! `benches/forge.rs` times the forge's minting and mutations (an RS256
//! token costs ~1.8 ms: jsonwebtoken parses the key on every signature).
//! `scripts/load-tools.sh` compares `authbench overhead` with wrk.
