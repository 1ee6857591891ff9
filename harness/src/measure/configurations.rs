//! The method configurations `overhead`, `load`, `compare` and the Locust
//! worker measure: each method's endpoint with a valid credential minted now.

use anyhow::Context;

use crate::client::keepalive::Endpoint;
use crate::methods::{Configuration, Method, Shared, spec};

/// The baseline and every configuration the profile allows, in registry
/// order, credentials minted now.
pub async fn configurations(
    shared: &Shared,
    resumption: bool,
) -> anyhow::Result<(Endpoint, Vec<Configuration>)> {
    let target = shared.forge.target();
    let tls = shared.client.load_config(None, resumption).map_err(anyhow::Error::msg)?;
    let baseline_url = target.baseline_url.as_ref().context(
        "the profile has no baseline_url: overhead compares each method with an unauthenticated endpoint of the same server",
    )?;
    let baseline = Endpoint::new(baseline_url, Vec::new(), &tls);
    let mut out = vec![Configuration { label: "baseline".into(), endpoint: baseline.clone() }];
    for method in Method::ALL {
        out.extend(spec(method).configurations(shared, &tls, resumption).await?);
    }
    Ok((baseline, out))
}
