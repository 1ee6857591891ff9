//! authbench: conformance and load testing for HTTP API authentication.
//!
//! The binary is a thin shell over [`commands::run`]; each command lives in its
//! own module under `commands/`.

// A step's early return is `Err(Verdict)`: a verdict is a few strings and its
// causes, and every one of them is made once per case, after a network round
// trip. Boxing it would change every step for nothing measurable.
#![allow(clippy::result_large_err)]

pub mod catalog;
pub mod cli;
pub mod client;
pub mod commands;
pub mod embedded;
pub(crate) mod engine;
pub(crate) mod measure;
pub mod methods;
pub mod openapi;
pub(crate) mod output;
pub mod profile;
pub(crate) mod verdict;
