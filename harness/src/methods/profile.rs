//! The target profile (DESIGN.md, "Target profile"): its common fields and
//! each method's section (`<method>/profile.rs`), parsed with care, so that a
//! missing file, a misspelt field, a bad URL or a key file that is not a key is
//! one clear error naming the file, line and field.

use std::path::{Path, PathBuf};

use authbench_scenarios::Method;
use rustls_pki_types::pem::PemObject;
use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::api_key::profile::{ApiKeyTarget, RawApiKey, parse_api_key};
use super::basic::profile::{BasicTarget, RawBasic};
use super::callback::{CallbackTarget, RawCallback, parse_callback};
use super::jwt::profile::{JwtTarget, RawJwt, parse_jwt};
use super::layered::profile::{LayeredTarget, RawLayered, parse_layered};
use super::mtls::profile::{MtlsTarget, RawMtls, parse_mtls};
use super::oauth2::profile::{OAuth2Target, RawOAuth2, parse_oauth2};
use super::openapi::profile::{OpenApiTarget, RawOpenApi, parse_openapi};
#[allow(clippy::wildcard_imports)]
use crate::profile::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProfile {
    version: Spanned<u32>,
    name: Option<String>,
    base_url: Spanned<String>,
    ca_file: Option<Spanned<String>>,
    baseline_url: Option<Spanned<String>>,
    metrics_url: Option<Spanned<String>>,
    basic: Option<RawBasic>,
    api_key: Option<RawApiKey>,
    jwt: Option<RawJwt>,
    oauth2: Option<RawOAuth2>,
    mtls: Option<RawMtls>,
    layered: Option<RawLayered>,
    openapi: Option<RawOpenApi>,
    callback: Option<RawCallback>,
    reference: Option<RawReference>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReference {
    admin_url: Option<String>,
    admin_token_file: Option<String>,
    #[serde(default)]
    flaws: Vec<String>,
}

/// A parsed, checked target profile.
#[derive(Debug, Clone)]
pub struct Target {
    /// Name for reports.
    pub name: String,
    /// The profile file, if any.
    pub file: PathBuf,
    /// Where relative URLs resolve.
    pub base_url: Url,
    /// Trust anchor for the target's certificate (PEM), if the profile names one.
    pub ca_pem: Option<Vec<u8>>,
    /// The unauthenticated baseline.
    pub baseline_url: Option<Url>,
    /// Prometheus metrics with `process_cpu_seconds_total`, for server CPU.
    pub metrics_url: Option<Url>,
    /// `[basic]`.
    pub basic: Option<BasicTarget>,
    /// `[api_key]`.
    pub api_key: Option<ApiKeyTarget>,
    /// `[jwt]`.
    pub jwt: Option<JwtTarget>,
    /// `[oauth2]`.
    pub oauth2: Option<OAuth2Target>,
    /// `[mtls]`.
    pub mtls: Option<MtlsTarget>,
    /// `[layered]`.
    pub layered: Option<LayeredTarget>,
    /// `[openapi]`.
    pub openapi: Option<OpenApiTarget>,
    /// `[callback]`: where the out-of-band listener listens, when not on loopback.
    pub callback: Option<CallbackTarget>,
    /// Flaws the reference servers run with (`[reference] flaws`).
    pub flaws: Vec<String>,
    /// The reference servers' admin API and its token file, when the target is them.
    pub admin: Option<(String, PathBuf)>,
}

impl Target {
    /// Reads and checks the profile at `path`.
    pub fn load(path: &Path) -> Result<Target, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|e| ProfileError {
            file: path.display().to_string(),
            location: String::new(),
            message: match e.kind() {
                std::io::ErrorKind::NotFound => {
                    "no such target profile; pass --target FILE, or omit it to test the embedded reference servers".to_owned()
                }
                _ => format!("cannot read the target profile: {e}"),
            },
        })?;
        let dir = path.parent().map(Path::to_owned).unwrap_or_default();
        Target::parse(path, &text, &dir)
    }

    /// Parses profile `text` read from `file`; relative paths resolve against `dir`.
    pub fn parse(file: &Path, text: &str, dir: &Path) -> Result<Target, ProfileError> {
        let ctx = Ctx { file, text, dir };
        let raw: RawProfile = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            ctx.err(offset, "", e.message().trim().to_owned())
        })?;
        if *raw.version.get_ref() != 1 {
            return Err(ctx.err(
                raw.version.span().start,
                "version",
                "this authbench reads profile version 1",
            ));
        }
        let base = Url::parse(raw.base_url.get_ref()).map_err(|e| {
            ctx.err(
                raw.base_url.span().start,
                "base_url",
                format!("`{}` is not a URL: {e}", raw.base_url.get_ref()),
            )
        })?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(ctx.err(
                raw.base_url.span().start,
                "base_url",
                "must be an http or https URL with a host",
            ));
        }
        let ca_pem = match &raw.ca_file {
            Some(ca) => {
                let pem = ctx.read(ca, "ca_file")?;
                let certs: Vec<_> =
                    rustls_pki_types::CertificateDer::pem_slice_iter(&pem).collect();
                if certs.is_empty() || certs.iter().any(Result::is_err) {
                    return Err(ctx.err(
                        ca.span().start,
                        "ca_file",
                        format!("{} holds no PEM certificate", dir.join(ca.get_ref()).display()),
                    ));
                }
                Some(pem)
            }
            None => None,
        };
        let oauth2 = raw.oauth2.map(|o| parse_oauth2(&ctx, &base, o)).transpose()?;
        let mtls = raw
            .mtls
            .map(|m| {
                let url = ctx.section_url(&base, &m.url, Method::Mtls.name())?;
                parse_mtls(&ctx, &base, m, Method::Mtls.name(), url)
            })
            .transpose()?;
        let layered = raw.layered.map(|l| parse_layered(&ctx, &base, l)).transpose()?;
        let basic = raw
            .basic
            .map(|b| {
                Ok::<_, ProfileError>(BasicTarget {
                    url: ctx.url(&base, &b.url, "basic.url")?,
                    cached_url: ctx.opt_url(&base, &b.cached_url, "basic.cached_url")?,
                    username: b.username,
                    password: b.password,
                    throttle_after: throttle(&ctx, b.throttle_after, "basic.throttle_after")?,
                })
            })
            .transpose()?;
        let api_key = raw
            .api_key
            .map(|a| {
                let url = ctx.section_url(&base, &a.url, Method::ApiKey.name())?;
                parse_api_key(&ctx, &base, a, Method::ApiKey.name(), url)
            })
            .transpose()?;
        let jwt = raw
            .jwt
            .map(|j| {
                let url = ctx.section_url(&base, &j.url, Method::Jwt.name())?;
                parse_jwt(&ctx, &base, j, Method::Jwt.name(), url)
            })
            .transpose()?;
        let present = |m: Method| match m {
            Method::Basic => basic.is_some(),
            Method::ApiKey => api_key.is_some(),
            Method::Jwt => jwt.is_some(),
            Method::OAuth2 => oauth2.is_some(),
            Method::Mtls => mtls.is_some(),
            Method::Layered => layered.is_some(),
            Method::OpenApi => false,
        };
        let openapi = raw.openapi.map(|o| parse_openapi(&ctx, o, &present)).transpose()?;
        let callback = raw.callback.map(|c| parse_callback(&ctx, c)).transpose()?;
        Ok(Target {
            name: raw.name.unwrap_or_else(|| base.host_str().unwrap_or("target").to_owned()),
            file: file.to_owned(),
            base_url: base.clone(),
            ca_pem,
            baseline_url: ctx.opt_url(&base, &raw.baseline_url, "baseline_url")?,
            metrics_url: ctx.opt_url(&base, &raw.metrics_url, "metrics_url")?,
            basic,
            api_key,
            jwt,
            oauth2,
            mtls,
            layered,
            openapi,
            callback,
            admin: raw
                .reference
                .as_ref()
                .and_then(|r| Some((r.admin_url.clone()?, dir.join(r.admin_token_file.as_ref()?)))),
            flaws: raw.reference.map(|r| r.flaws).unwrap_or_default(),
        })
    }

    /// Whether the profile declares `policy` (a key of
    /// `authbench_scenarios::case::POLICIES`).
    pub fn declares(&self, policy: &str) -> bool {
        match policy {
            "basic.throttle_after" => {
                self.basic.as_ref().is_some_and(|b| b.throttle_after.is_some())
            }
            "api_key.throttle_after" => {
                self.api_key.as_ref().is_some_and(|a| a.throttle_after.is_some())
            }
            "jwt.max_lifetime_seconds" => {
                self.jwt.as_ref().is_some_and(|j| j.max_lifetime_seconds.is_some())
            }
            "jwt.access_token_profile" => self.jwt.as_ref().is_some_and(|j| j.rfc9068),
            "api_key.allowlist" => self.api_key.as_ref().is_some_and(|a| a.allowlist.is_some()),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Target, ProfileError> {
        Target::parse(Path::new("target.toml"), text, Path::new("/nonexistent"))
    }

    const MINIMAL: &str = "version = 1\nbase_url = \"https://api.example.test\"\n[basic]\nurl = \"/r\"\nusername = \"a\"\npassword = \"p\"\n";

    #[test]
    fn a_minimal_profile_resolves_relative_urls() {
        let t = parse(MINIMAL).unwrap();
        assert_eq!(t.basic.unwrap().url.as_str(), "https://api.example.test/r");
        assert_eq!(t.name, "api.example.test");
    }

    #[test]
    fn mistakes_name_file_line_and_field() {
        let e = parse(&MINIMAL.replace("username", "user_name")).unwrap_err();
        assert!(e.to_string().starts_with("target.toml:5: "), "{e}");
        assert!(e.message.contains("user_name"), "{e}");
        let e = parse(&MINIMAL.replace("https://api.example.test", "not a url")).unwrap_err();
        assert_eq!(e.location, ":2: base_url");
        let e = parse(&MINIMAL.replace("\"/r\"", "\"ftp://x/r\"")).unwrap_err();
        assert_eq!(e.location, ":4: basic.url");
        let e = parse(&format!(
            "{MINIMAL}[jwt]\nurl=\"/j\"\nissuer=\"i\"\naudience=\"a\"\nalgorithm=\"XS999\"\n"
        ))
        .unwrap_err();
        assert!(e.location.ends_with("jwt.algorithm") && e.message.contains("XS999"), "{e}");
        let e =
            parse(&MINIMAL.replace("version = 1\n", "version = 1\nca_file = \"missing.pem\"\n"))
                .unwrap_err();
        assert!(e.message.contains("cannot read"), "{e}");
        let e = parse(&MINIMAL.replace("version = 1", "version = 7")).unwrap_err();
        assert_eq!(e.location, ":1: version");
    }

    const JWT: &str = "[jwt]\nurl = \"/j\"\nissuer = \"i\"\naudience = \"a\"\nalgorithm = \"RS256\"\ntoken = \"t.t.t\"\n";

    #[test]
    fn declared_policies_are_read_and_every_policy_is_known() {
        let t = parse(&format!("{MINIMAL}{JWT}")).unwrap();
        for (policy, _) in authbench_scenarios::case::POLICIES {
            assert!(!t.declares(policy), "{policy} declared by a profile that says nothing");
        }
        let all = format!(
            "{}throttle_after = 5\n[api_key]\nurl = \"/k\"\nkey = \"k\"\nthrottle_after = 100\n[api_key.allowlist]\nallowed_source = \"127.0.0.2\"\nrefused_source = \"127.0.0.3\"\n{JWT}max_lifetime_seconds = 3600\naccess_token_profile = \"rfc9068\"\n",
            MINIMAL
        );
        let t = parse(&all).unwrap();
        for (policy, _) in authbench_scenarios::case::POLICIES {
            assert!(t.declares(policy), "{policy} is not read from the profile");
        }
        let e = parse(&all.replace("\"rfc9068\"", "\"rfc9999\"")).unwrap_err();
        assert!(e.location.ends_with("jwt.access_token_profile"), "{e}");
        let e = parse(&all.replace("throttle_after = 5", "throttle_after = 0")).unwrap_err();
        assert!(e.location.ends_with("basic.throttle_after"), "{e}");
        let e = parse(&all.replace("\"127.0.0.3\"", "\"localhost\"")).unwrap_err();
        assert!(e.location.ends_with("api_key.allowlist.refused_source"), "{e}");
        let e = parse(&all.replace("\"127.0.0.3\"", "\"127.0.0.2\"")).unwrap_err();
        assert!(e.message.contains("two different addresses"), "{e}");
    }

    #[test]
    fn leeway_and_header_values_are_checked() {
        for bad in ["-5", "86400"] {
            let e = parse(&format!("{MINIMAL}{JWT}leeway_seconds = {bad}\n")).unwrap_err();
            assert!(e.location.ends_with("jwt.leeway_seconds") && e.message.contains(bad), "{e}");
        }
        let t = parse(&format!("{MINIMAL}{JWT}leeway_seconds = 30\n")).unwrap();
        assert_eq!(t.jwt.unwrap().leeway_seconds, 30);
        let key = |header: &str, key: &str| {
            parse(&format!(
                "{MINIMAL}[api_key]\nurl = \"/k\"\nheader = \"{header}\"\nkey = \"{key}\"\n"
            ))
        };
        let e = key("X-Key\\r\\nEvil: 1", "k").unwrap_err();
        assert!(e.location.ends_with("api_key.header"), "{e}");
        let e = key("X-Key", "k\\nEvil: 1").unwrap_err();
        assert!(e.location.ends_with("api_key.key"), "{e}");
        let e = parse(&format!("{MINIMAL}{}", JWT.replace("t.t.t", "t.t\\r\\nX: 1"))).unwrap_err();
        assert!(e.location.ends_with("jwt.token"), "{e}");
        assert!(key("X-Key", "sk_ok").is_ok());
    }

    #[test]
    fn a_subject_names_the_user_of_minted_tokens() {
        let t = parse(&format!("{MINIMAL}{JWT}subject = \"bob\"\n")).unwrap();
        let jwt = t.jwt.unwrap();
        assert_eq!(jwt.subject.as_deref(), Some("bob"));
        // The forge's tokens carry it.
        let forge = crate::methods::jwt::forge::JwtForge::new(jwt);
        let claims = forge.claims_template();
        assert_eq!(claims.get("sub").and_then(|v| v.as_str()), Some("bob"));
        let e = parse(&format!("{MINIMAL}{JWT}subject = \" \"\n")).unwrap_err();
        assert!(e.location.ends_with("jwt.subject"), "{e}");
        let t = parse(&format!("{MINIMAL}{JWT}")).unwrap();
        assert_eq!(t.jwt.unwrap().subject, None);
    }

    #[test]
    fn a_key_file_that_is_not_a_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key.pem"), "hello").unwrap();
        let text = format!(
            "{MINIMAL}[jwt]\nurl=\"/j\"\nissuer=\"i\"\naudience=\"a\"\nalgorithm=\"RS256\"\nsigning_key_file=\"key.pem\"\n"
        );
        let e = Target::parse(Path::new("t.toml"), &text, dir.path()).unwrap_err();
        assert!(
            e.location.ends_with("jwt.signing_key_file")
                && e.message.contains("not an RSA private key"),
            "{e}"
        );
    }

    #[test]
    fn a_client_key_that_is_not_pem_is_reported_as_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["client".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(dir.path().join("c.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("c.key"), key.serialize_der()).unwrap();
        let text = format!(
            "{MINIMAL}[mtls]\nurl = \"https://api.example.test:8444/r\"\nclient_cert_file = \"c.pem\"\nclient_key_file = \"c.key\"\n"
        );
        let e = Target::parse(Path::new("t.toml"), &text, dir.path()).unwrap_err();
        assert!(e.location.ends_with("mtls.client_key_file"), "{e}");
        std::fs::write(dir.path().join("c.key"), key.serialize_pem()).unwrap();
        let t = Target::parse(Path::new("t.toml"), &text, dir.path()).unwrap();
        assert!(t.mtls.unwrap().identities.is_none());
    }

    #[test]
    fn oauth2_and_mtls_sections_are_checked() {
        let oauth = format!(
            "{MINIMAL}[oauth2]\nissuer = \"https://as.example.test\"\nresource_url = \"/r\"\nclient_id = \"c\"\nclient_secret = \"s\"\nredirect_uri = \"https://client.test/cb\"\nlogin = {{ username = \"u\", password = \"p\" }}\n"
        );
        let t = parse(&oauth).unwrap();
        let o = t.oauth2.unwrap();
        assert_eq!(o.resource_url.as_str(), "https://api.example.test/r");
        assert_eq!(
            o.login.unwrap(),
            [("password".into(), "p".into()), ("username".into(), "u".into())]
        );
        let e = parse(&oauth.replace("https://client.test/cb", "/cb")).unwrap_err();
        assert!(e.location.ends_with("oauth2.redirect_uri"), "{e}");
        let e = parse(&oauth.replace("client_id", "client")).unwrap_err();
        assert!(e.message.contains("client"), "{e}");

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("c.pem"), "not a certificate").unwrap();
        std::fs::write(dir.path().join("c.key"), "not a key").unwrap();
        let mtls = format!(
            "{MINIMAL}[mtls]\nurl = \"https://api.example.test:8444/r\"\nclient_cert_file = \"c.pem\"\nclient_key_file = \"c.key\"\n"
        );
        let e = Target::parse(Path::new("t.toml"), &mtls, dir.path()).unwrap_err();
        assert!(e.location.ends_with("mtls.client_cert_file"), "{e}");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert =
            rcgen::CertificateParams::new(vec!["c".into()]).unwrap().self_signed(&key).unwrap();
        std::fs::write(dir.path().join("c.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("c.key"), key.serialize_pem()).unwrap();
        let t = Target::parse(Path::new("t.toml"), &mtls, dir.path()).unwrap();
        assert!(t.mtls.unwrap().client_ca.is_none());
        let half = format!("{mtls}client_ca_cert_file = \"c.pem\"\n");
        let e = Target::parse(Path::new("t.toml"), &half, dir.path()).unwrap_err();
        assert!(e.message.contains("give both"), "{e}");
    }

    #[test]
    fn the_layered_section_reuses_the_three_sections_fields() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert =
            rcgen::CertificateParams::new(vec!["c".into()]).unwrap().self_signed(&key).unwrap();
        std::fs::write(dir.path().join("c.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("c.key"), key.serialize_pem()).unwrap();
        let layered = format!(
            "{MINIMAL}[layered]\nurl = \"https://api.example.test:8444/l\"\napplication = \"app\"\n\
             [layered.mtls]\nclient_cert_file = \"c.pem\"\nclient_key_file = \"c.key\"\n\
             [layered.api_key]\nkey = \"sk_live_x\"\n\
             [layered.jwt]\nissuer = \"i\"\naudience = \"a\"\nalgorithm = \"RS256\"\n\
             [layered.other]\napplication = \"other\"\nclient_cert_file = \"c.pem\"\nclient_key_file = \"c.key\"\nkey = \"sk_live_y\"\n"
        );
        let parse_in = |text: &str| Target::parse(Path::new("t.toml"), text, dir.path());
        let t = parse_in(&layered).unwrap();
        let sections =
            [t.basic.is_some(), t.api_key.is_some(), t.jwt.is_some(), t.oauth2.is_some()];
        assert_eq!(
            (sections, t.mtls.is_some(), t.layered.is_some()),
            ([true, false, false, false], false, true)
        );
        let l = t.layered.unwrap();
        assert_eq!(l.url.as_str(), "https://api.example.test:8444/l");
        assert_eq!((l.mtls.url.as_str(), l.jwt.url.as_str()), (l.url.as_str(), l.url.as_str()));
        assert_eq!(l.api_key.header.as_deref(), Some("X-API-Key"));
        assert_eq!(l.other.unwrap().application.as_deref(), Some("other"));
        // One URL: a sub-table's own is refused, naming it.
        let e = parse_in(&layered.replace("[layered.jwt]\n", "[layered.jwt]\nurl = \"/j\"\n"))
            .unwrap_err();
        assert!(e.location.ends_with("layered.jwt.url") && e.message.contains("one URL"), "{e}");
        // The token takes Authorization: the key cannot.
        let e =
            parse_in(&layered.replace("key = \"sk_live_x\"", "key = \"k\"\nscheme = \"ApiKey\""))
                .unwrap_err();
        assert!(e.location.ends_with("layered.api_key.scheme"), "{e}");
        // Fields are checked as their own section's, with the layered name.
        let e =
            parse_in(&layered.replace("algorithm = \"RS256\"", "algorithm = \"XS1\"")).unwrap_err();
        assert!(e.location.ends_with("layered.jwt.algorithm"), "{e}");
        let e = parse_in(&layered.replacen(
            "client_cert_file = \"c.pem\"",
            "client_cert_file = \"no.pem\"",
            1,
        ))
        .unwrap_err();
        assert!(e.location.ends_with("layered.mtls.client_cert_file"), "{e}");
        // A top-level section still needs its url, and says so at its line.
        let e = parse(&format!("{MINIMAL}[api_key]\nkey = \"k\"\n")).unwrap_err();
        assert_eq!(e.location, ":7: api_key", "{e}");
        assert!(e.message.contains("missing field `url`"), "{e}");
    }

    #[test]
    fn a_missing_profile_says_what_to_do() {
        let e = Target::load(Path::new("/nonexistent/target.toml")).unwrap_err();
        assert!(e.message.contains("--target"), "{e}");
    }

    #[test]
    fn openapi_mistakes_name_their_field() {
        let with = |section: &str| parse(&format!("{MINIMAL}[openapi]\n{section}"));
        let t = with("spec = \"api.yaml\"\nschemes = { b = \"basic\", admin = \"none\" }\nparameters = { id = 7 }\n").unwrap();
        let o = t.openapi.unwrap();
        assert_eq!(o.parameters["id"], "7");
        assert_eq!(o.operations, ["*"]);
        let e = with("spec = \"a.yaml\"\nschemes = { k = \"api_key\" }\n").unwrap_err();
        assert!(
            e.location.ends_with("openapi.schemes.k") && e.message.contains("[api_key]"),
            "{e}"
        );
        let e = with("spec = \"a.yaml\"\nschemes = { k = \"kerberos\" }\n").unwrap_err();
        assert!(e.message.contains("not a section"), "{e}");
        let e = with("spec = \"http://api.example.test/openapi.json\"\n").unwrap_err();
        assert!(e.message.contains("https"), "{e}");
        assert!(with("spec = \"http://127.0.0.1:8000/openapi.json\"\n").is_ok());
        let e = with("spec = \"a.yaml\"\n[[openapi.identities]]\nname = \"bob\"\napi_key = \"k\"\ntoken = \"t\"\n")
            .unwrap_err();
        assert!(e.message.contains("exactly one credential"), "{e}");
        let e =
            with("spec = \"a.yaml\"\n[[openapi.identities]]\nname = \"b b\"\napi_key = \"k\"\n")
                .unwrap_err();
        assert!(e.message.contains("letters, digits"), "{e}");
        let e = with("spec = \"a.yaml\"\nunknown = 1\n").unwrap_err();
        assert!(e.message.contains("unknown"), "{e}");
    }
}
