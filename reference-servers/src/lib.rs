//! The authbench reference servers: HTTP Basic, API keys, JWT bearer tokens,
//! an OAuth 2.0 authorization and resource server, mutual TLS and a layered
//! resource (certificate, key and token together), each implemented exactly
//! as its RFCs say, beside an unauthenticated baseline, over HTTPS, with all
//! state in one SQLite database. They are authbench's zero-setup default target, its yardstick for
//! comparisons, and — with [`flaws`] switched on — the proof that each
//! conformance case detects what it claims.
//!
//! ```no_run
//! # async fn demo() -> Result<(), authbench_servers::ServeError> {
//! let config = authbench_servers::ServeConfig::new("state".into(), "127.0.0.1:0".parse().unwrap());
//! let servers = authbench_servers::start(config).await?;
//! println!("profile at {}", servers.profile_path.display());
//! servers.shutdown().await;
//! # Ok(()) }
//! ```

pub mod admin;
pub mod api_key;
pub mod app;
pub mod basic;
mod fetch;
pub mod files;
pub mod flaws;
pub mod guard;
pub mod jwt;
pub mod layered;
mod listen;
pub mod metrics;
pub mod mtls;
pub mod oauth;
pub mod openapi;
pub mod orders;
pub mod pki;
pub mod profile;
pub mod respond;
pub mod seed;
pub mod server;
pub mod sniff;
pub mod store;

pub use flaws::{Flaw, Flaws};
pub use server::{RunningServers, ServeConfig, ServeError, start};
