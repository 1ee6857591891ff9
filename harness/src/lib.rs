//! authbench: conformance and load testing for HTTP API authentication.
//!
//! The binary is a thin shell over [`cli::run`]; each command lives in its own
//! module.

pub mod cli;
pub mod serve;
