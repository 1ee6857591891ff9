//! The authbench conformance catalog and its parser.
//!
//! The catalog format (TOML cases under `scenarios/conformance/`), its parser and
//! its validator arrive with the conformance engine; this crate exists now so the
//! workspace has the layout of DESIGN.md from the start.
