//! Where the out-of-band listener ([`crate::client::callback`]) listens for
//! a target, and the profile's `[callback]` section that says so.
//!
//! A target on loopback reaches a listener on the same loopback address, so
//! nothing needs configuring for the reference servers, a local dev server or
//! nginx in front of one. A remote target (or one in a container with its own
//! network) can only reach the listener through an address the user names:
//! `[callback] listen` and `url`. Without one, the cases that watch for
//! fetches skip, and the `jku`/`x5u` cases fall back to a name that never
//! resolves (and say so).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;
use url::{Host, Url};

use super::Target;
use crate::client::callback::Callback;
#[allow(clippy::wildcard_imports)]
use crate::profile::*;

/// `[callback]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCallback {
    listen: Spanned<String>,
    url: Option<Spanned<String>>,
}

/// `[callback]`, checked: where to listen and what the target is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackTarget {
    /// The socket address to bind (`0.0.0.0:8099`, `192.0.2.10:0`).
    pub listen: SocketAddr,
    /// The origin the target fetches from, when not the bound address.
    pub url: Option<Url>,
}

pub(crate) fn parse_callback(
    ctx: &Ctx<'_>,
    raw: RawCallback,
) -> Result<CallbackTarget, ProfileError> {
    let listen: SocketAddr = raw.listen.get_ref().parse().map_err(|_| {
        ctx.err(
            raw.listen.span().start,
            "callback.listen",
            format!(
                "`{}` is not a socket address; write an IP address and a port, such as \"0.0.0.0:8099\"",
                raw.listen.get_ref()
            ),
        )
    })?;
    let url = match &raw.url {
        Some(value) => {
            let url = Url::parse(value.get_ref()).ok().filter(|u| {
                u.scheme() == "http" && u.host_str().is_some() && matches!(u.path(), "" | "/")
            });
            Some(url.ok_or_else(|| {
                ctx.err(
                    value.span().start,
                    "callback.url",
                    format!(
                        "`{}` must be an http origin the target can reach, such as \"http://203.0.113.7:8099\"",
                        value.get_ref()
                    ),
                )
            })?)
        }
        None => None,
    };
    if url.is_none() && (listen.ip().is_unspecified() || listen.port() == 0) {
        return Err(ctx.err(
            raw.listen.span().start,
            "callback.listen",
            "listening on every address or on port 0 needs `url`: the origin the target reaches the listener at",
        ));
    }
    Ok(CallbackTarget { listen, url })
}

/// The loopback address `url` names, if it names one.
fn loopback(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        Host::Ipv4(ip) if ip.is_loopback() => Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        Host::Ipv6(ip) if ip.is_loopback() => Some(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        Host::Domain(d) if d.eq_ignore_ascii_case("localhost") => {
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
        }
        _ => None,
    }
}

/// Where to listen for `target`, and the origin to advertise: the profile's
/// `[callback]`, else the loopback address of a target on loopback, else
/// nowhere (`None`).
pub fn plan(target: &Target) -> Option<(SocketAddr, Option<Url>)> {
    if let Some(c) = &target.callback {
        return Some((c.listen, c.url.clone()));
    }
    let url = target.jwt.as_ref().map_or(&target.base_url, |j| &j.url);
    loopback(url).map(|ip| (SocketAddr::new(ip, 0), None))
}

/// Starts the listener [`plan`] chooses; `Ok(None)` when there is nowhere the
/// target could reach.
pub async fn start(target: &Target) -> anyhow::Result<Option<Arc<Callback>>> {
    let Some((listen, url)) = plan(target) else { return Ok(None) };
    match Callback::start(listen, url.as_ref()).await {
        Ok(callback) => Ok(Some(Arc::new(callback))),
        // The user asked for this address: say what is wrong with it.
        Err(e) if target.callback.is_some() => Err(anyhow::anyhow!(
            "{}: callback.listen: cannot listen on {listen}: {e}; pick a free port or an address of this machine",
            target.file.display()
        )),
        // Chosen for them (loopback without IPv6, say): run without it,
        // and the cases that need it skip and say why.
        Err(e) => {
            tracing::warn!(error = %e, %listen, "no out-of-band listener: the fetch cases will skip");
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn parse(extra: &str) -> Result<Target, ProfileError> {
        let text = format!("version = 1\nbase_url = \"http://127.0.0.1:8443\"\n{extra}");
        Target::parse(Path::new("target.toml"), &text, Path::new("/nonexistent"))
    }

    #[test]
    fn a_loopback_target_gets_a_loopback_listener_without_configuration() {
        let t = parse("").unwrap();
        assert_eq!(plan(&t), Some(("127.0.0.1:0".parse().unwrap(), None)));
        let t = parse("").map(|mut t| {
            t.base_url = Url::parse("http://[::1]:8443").unwrap();
            t
        });
        assert_eq!(plan(&t.unwrap()), Some(("[::1]:0".parse().unwrap(), None)));
        let mut t = parse("").unwrap();
        t.base_url = Url::parse("https://api.example.test").unwrap();
        assert_eq!(plan(&t), None, "a remote target cannot reach our loopback");
    }

    #[test]
    fn callback_section_is_checked_and_used() {
        let t = parse("[callback]\nlisten = \"0.0.0.0:8099\"\nurl = \"http://203.0.113.7:8099\"\n")
            .unwrap();
        let (listen, url) = plan(&t).unwrap();
        assert_eq!(listen, "0.0.0.0:8099".parse().unwrap());
        assert_eq!(url.unwrap().as_str(), "http://203.0.113.7:8099/");
        let e = parse("[callback]\nlisten = \"0.0.0.0:8099\"\n").unwrap_err();
        assert!(
            e.location.ends_with("callback.listen") && e.message.contains("needs `url`"),
            "{e}"
        );
        let e = parse("[callback]\nlisten = \"my-host:8099\"\n").unwrap_err();
        assert!(e.location.ends_with("callback.listen"), "{e}");
        let e = parse("[callback]\nlisten = \"192.0.2.1:8099\"\nurl = \"https://x.test/cb\"\n")
            .unwrap_err();
        assert!(e.location.ends_with("callback.url"), "{e}");
        assert!(parse("[callback]\nlisten = \"192.0.2.1:8099\"\n").is_ok());
    }
}
