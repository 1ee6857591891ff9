//! authbench: conformance and load testing for HTTP API authentication.
//!
//! The binary is a thin shell over [`cli::run`]; each command lives in its own
//! module.

// A step's early return is `Err(Verdict)`: a verdict is a few strings and its
// causes, and every one of them is made once per case, after a network round
// trip. Boxing it would change every step for nothing measurable.
#![allow(clippy::result_large_err)]

pub mod advise;
pub mod cases;
pub mod cli;
pub mod client;
pub mod compare;
pub mod conform;
pub mod engine;
pub mod forge;
pub mod fuzz;
pub mod layered;
pub mod load;
pub mod mtls;
pub mod oauth;
pub mod overhead;
pub mod report;
pub mod serve;
pub mod target;
pub mod worker;
