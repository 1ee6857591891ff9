//! What the performance commands share: the target under load (a profile,
//! or the reference servers as a child process whose CPU is read from
//! `/proc`), the method configurations with credentials minted, the load
//! generator and server CPU accounting. `overhead`, `load`, `worker`,
//! `compare` and `fuzz` build on it.

pub mod configurations;
pub mod cpu;
pub mod generator;
pub mod machine;
pub mod wire;

use std::path::Path;
use std::sync::Arc;

use anyhow::bail;

use crate::client::HttpClient;
use crate::embedded::{ChildServer, start_child_server};
use crate::methods::Shared;
use crate::methods::Target;
use crate::methods::forge::Forge;

pub use crate::methods::Configuration;
pub use configurations::configurations;

/// The target a load command runs against: the profile given, or the
/// reference servers as a child process (stopped when this is dropped).
pub struct LoadTarget {
    /// The reference servers, when no profile was given.
    _child: Option<ChildServer>,
    /// The target, the forge and the client.
    pub shared: Arc<Shared>,
    /// Where server CPU time comes from.
    pub cpu: cpu::CpuSource,
    /// Where the generator and the server run.
    pub placement: machine::Placement,
}

/// Loads `target` (or starts the reference servers) and checks that every
/// URL it names answers.
pub async fn load_target(target: Option<&Path>) -> anyhow::Result<LoadTarget> {
    let placement = machine::placement(target.is_none());
    let child = match target {
        Some(_) => None,
        None => Some(start_child_server(|c| machine::spawn_on(c, placement.server()))?),
    };
    let profile: &Path = match (target, &child) {
        (Some(p), _) => p,
        (None, Some(c)) => &c.profile,
        (None, None) => unreachable!("a child server runs whenever --target is absent"),
    };
    let target = Target::load(profile)?;
    let client = HttpClient::new(target.ca_pem.as_deref(), crate::client::REQUEST_TIMEOUT)
        .map_err(|e| anyhow::anyhow!("{}: ca_file: {e}", profile.display()))?;
    for url in crate::methods::urls(&target).into_iter().chain(target.baseline_url.as_ref()) {
        if let Err(e) = client.probe(url).await {
            bail!(
                "target unreachable: {url}: {e}; is it running, and is base_url right in {}?",
                profile.display()
            );
        }
    }
    let cpu = match (&child, &target.metrics_url) {
        (Some(c), _) => cpu::CpuSource::Proc(c.child.id()),
        (None, Some(url)) => cpu::CpuSource::Metrics { url: url.clone(), client: client.clone() },
        (None, None) => cpu::CpuSource::None,
    };
    let shared = Arc::new(Shared::new(Forge::new(Arc::new(target)), client));
    Ok(LoadTarget { _child: child, shared, cpu, placement })
}
