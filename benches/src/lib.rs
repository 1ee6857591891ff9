//! Criterion benchmarks of the reference servers' verification paths and of the
//! forge, beside their bare primitives, so the ratio shows wasted work.
//!
//! The benchmarks arrive with `authbench overhead`; this crate exists now so the
//! workspace has the layout of DESIGN.md from the start.
