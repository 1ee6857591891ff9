//! Is the HMAC secret one an attacker would try first? jwt_tool cracks HS256
//! tokens against a list of common secrets and signs with them; tutorials,
//! framework examples and `SECRET || "secret"` fallbacks put the same few
//! dozen strings into production. Three checks, cheapest first:
//! - the profile's HMAC keys (HS256, HS384, HS512), if it gives them:
//!   shorter than the hash, which RFC 7518 §3.2 forbids, or on the list;
//! - the profile's HS256 token, if it gives one: the list tried offline
//!   against its signature (no request sent);
//! - every resource that could accept HS256: a token of its own claims
//!   MACed with each listed secret, sent; any served is a forgery anyone can
//!   make (a fallback secret the profile's key does not reveal).
//!
//! A secret found is never printed in full.

use authbench_scenarios::Case;
use jsonwebtoken::Algorithm;

use super::forge::{JwtForge, alg_name, hmac_sign};
use super::probe::BearerProbe;
use crate::methods::Shared;
use crate::verdict::{Verdict, is_served, observe};

/// Secrets found in tutorials, framework defaults, sample configurations and
/// fallbacks, written for authbench (the facts are common knowledge; the list
/// is ours). The empty secret has its own case (`jwt::hs256-empty-key`).
pub const WELL_KNOWN: &[&str] = &[
    "secret",
    "Secret",
    "SECRET",
    "secret123",
    "secretkey",
    "secret-key",
    "secret_key",
    "SECRET_KEY",
    "your-256-bit-secret",
    "your-secret",
    "your-secret-key",
    "your_secret_key",
    "your_jwt_secret",
    "yoursecret",
    "mysecret",
    "my-secret",
    "my_secret",
    "mysecretkey",
    "my-secret-key",
    "my_secret_key",
    "jwt",
    "jwt-secret",
    "jwt_secret",
    "JWT_SECRET",
    "jwtsecret",
    "jwtSecret",
    "jwt-key",
    "jwtkey",
    "token",
    "tokensecret",
    "key",
    "private",
    "privatekey",
    "password",
    "Password",
    "password123",
    "passw0rd",
    "changeme",
    "change-me",
    "changeit",
    "default",
    "admin",
    "root",
    "test",
    "testing",
    "dev",
    "development",
    "example",
    "sample",
    "demo",
    "supersecret",
    "super-secret",
    "super_secret",
    "supersecretkey",
    "topsecret",
    "notsosecret",
    "shhhhh",
    "shhhhhhared-secret",
    "keyboard cat",
    "s3cr3t",
    "123456",
    "12345678",
    "qwerty",
    "abc123",
    "hello",
    "api",
    "apikey",
    "app-secret",
    "appsecret",
    "auth",
    "authsecret",
];

/// The secret shown as its first and last character and its length.
fn hint(secret: &str) -> String {
    let mut chars = secret.chars();
    let first = chars.next().unwrap_or('?');
    let last = chars.next_back().unwrap_or(first);
    format!(
        "`{first}…{last}` ({} characters, on authbench's list of well-known secrets)",
        secret.chars().count()
    )
}

/// The listed secret that MACs `token`, if one does.
pub fn crack(token: &str) -> Option<&'static str> {
    let (input, _) = token.rsplit_once('.')?;
    let (header, claims) = input.split_once('.')?;
    let text = |segment: &str| {
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, segment)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
    };
    let (header, claims) = (text(header)?, text(claims)?);
    // Re-encoding must give back the same input, or the MAC is over other bytes.
    WELL_KNOWN.iter().copied().find(|s| {
        let candidate = hmac_sign(&header, &claims, s.as_bytes());
        candidate.len() == token.len() && candidate == token
    })
}

/// The resources to try: the HS256 one if the profile has it, and the main one.
fn resources(shared: &Shared) -> Vec<(Option<&'static str>, &JwtForge)> {
    let mut out: Vec<(Option<&'static str>, &JwtForge)> = Vec::new();
    if let Ok(main) = shared.forge.jwt_forge(None) {
        out.push((None, main));
    }
    if let Ok(hs) = shared.forge.jwt_forge(Some("HS256"))
        && !out.iter().any(|(_, f)| f.url() == hs.url())
    {
        out.push((Some("HS256"), hs));
    }
    out
}

pub(super) async fn hmac_secret_not_well_known(shared: &Shared, case: &Case) -> Verdict {
    let expected = format!(
        "no HS256 token MACed with any of {} well-known secrets is accepted, and each HMAC key is at least as long as its hash (RFC 7518 §3.2)",
        WELL_KNOWN.len()
    );
    let Some(jwt) = shared.forge.target().jwt.as_ref() else {
        return Verdict::skip("the target profile has no [jwt] section");
    };
    let keys = jwt.signing_key.iter().chain(jwt.variants.iter().filter_map(|(_, _, k)| k.as_ref()));
    for key in keys {
        // RFC 7518 §3.2: at least the hash's size.
        let (name, least) = match key.algorithm {
            Algorithm::HS256 => ("HS256", 32),
            Algorithm::HS384 => ("HS384", 48),
            Algorithm::HS512 => ("HS512", 64),
            _ => continue,
        };
        // The key file's bytes, a final line break aside (editors add one).
        let mut secret = key.material.as_slice();
        while let [rest @ .., b'\n' | b'\r'] = secret {
            secret = rest;
        }
        if let Some(known) = WELL_KNOWN.iter().find(|s| s.as_bytes() == secret) {
            return Verdict::unmet(
                case.severity,
                expected,
                format!("the profile's {name} key is {}", hint(known)),
                "the HMAC secret is a well-known string: anyone can mint tokens",
            );
        }
        if secret.len() < least {
            return Verdict::unmet(
                case.severity,
                expected,
                format!("the profile's {name} key is {} bytes, under {least}", secret.len()),
                format!(
                    "the {name} secret is shorter than the hash, as RFC 7518 §3.2 forbids: it can be guessed offline from any token"
                ),
            );
        }
    }
    if jwt.algorithm == Algorithm::HS256
        && let Some(secret) = jwt.token.as_deref().and_then(crack)
    {
        return Verdict::unmet(
            case.severity,
            expected,
            format!("the profile's token verifies with {}", hint(secret)),
            "the HS256 secret is a well-known string: anyone can mint tokens",
        );
    }
    let mut tried = 0;
    for (alg, forge) in resources(shared) {
        let probe = match BearerProbe::new(shared, alg, &expected).await {
            Ok(p) => p,
            Err(v) => return v,
        };
        for secret in WELL_KNOWN {
            let r = match probe.send(shared, &forge.hs256_with(secret.as_bytes()), &expected).await
            {
                Ok(r) => r,
                Err(v) => return v,
            };
            if is_served(r.status) {
                return Verdict::unmet(
                    case.severity,
                    expected,
                    format!(
                        "a token MACed with {} was served at {}: {}",
                        hint(secret),
                        forge.url(),
                        observe(&r)
                    ),
                    "the resource accepts HS256 tokens keyed with a well-known secret (a default or fallback secret): anyone can mint tokens",
                );
            }
            if r.status >= 500 {
                return Verdict::server_error(expected, observe(&r), r.status);
            }
            tried += 1;
        }
    }
    if tried == 0 {
        return Verdict::skip("no JWT resource with a valid token to model the probes on");
    }
    let algs: Vec<&str> =
        resources(shared).iter().map(|(a, f)| a.unwrap_or(alg_name(f.algorithm()))).collect();
    Verdict::pass(
        expected,
        format!(
            "{tried} tokens MACed with well-known secrets refused (resources: {})",
            algs.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_of_a_listed_secret_is_cracked_and_others_are_not() {
        let header = r#"{"alg":"HS256","typ":"JWT"}"#;
        let claims = r#"{"sub":"alice","iat":1700000000}"#;
        let weak = hmac_sign(header, claims, b"your-256-bit-secret");
        assert_eq!(crack(&weak), Some("your-256-bit-secret"));
        let strong = hmac_sign(header, claims, b"Vq3x9LrT0bWkYp7zN2sHcFjQ8mUeA5dG");
        assert_eq!(crack(&strong), None);
        assert_eq!(crack("not-a-token"), None);
    }

    /// The profile's own HS256 key is judged before any request is sent.
    async fn judge_key(secret: &[u8]) -> Verdict {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hs.secret"), secret).unwrap();
        let text = "version = 1\nbase_url = \"http://127.0.0.1:9\"\n[jwt]\nurl = \"/j\"\nissuer = \"i\"\naudience = \"a\"\nalgorithm = \"HS256\"\nsigning_key_file = \"hs.secret\"\n";
        let target =
            crate::methods::Target::parse(&dir.path().join("t.toml"), text, dir.path()).unwrap();
        let client =
            crate::client::HttpClient::new(None, std::time::Duration::from_millis(200)).unwrap();
        let shared =
            Shared::new(crate::methods::forge::Forge::new(std::sync::Arc::new(target)), client);
        let catalog = crate::catalog::load_catalog(None).unwrap();
        let case = catalog.cases.iter().find(|c| c.id == "jwt::hmac-secret-not-well-known");
        hmac_secret_not_well_known(&shared, case.unwrap()).await
    }

    #[tokio::test]
    async fn a_listed_or_short_profile_key_fails_without_showing_it() {
        let listed = judge_key(b"changeme\n").await;
        assert_eq!(listed.outcome, authbench_reports::Outcome::Fail);
        assert!(listed.observed.contains("`c…e` (8 characters"), "{}", listed.observed);
        assert!(!listed.observed.contains("changeme"), "{}", listed.observed);
        let short = judge_key(b"Vq3x9LrT0bWkYp7z").await;
        assert_eq!(short.outcome, authbench_reports::Outcome::Fail);
        assert!(short.observed.contains("16 bytes, under 32"), "{}", short.observed);
        // A strong key passes on to the requests: with nothing listening, the
        // positive control fails and the verdict is an error, never a pass.
        let strong = judge_key(b"Vq3x9LrT0bWkYp7zN2sHcFjQ8mUeA5dG").await;
        assert_eq!(strong.outcome, authbench_reports::Outcome::Error, "{strong:?}");
    }

    #[test]
    fn hints_never_show_the_whole_secret() {
        let h = hint("secret");
        assert!(h.starts_with("`s…t` (6 characters"), "{h}");
        assert!(!h.contains("secret`"));
        assert!(WELL_KNOWN.iter().all(|s| !s.is_empty()), "the empty secret has its own case");
        let mut sorted = WELL_KNOWN.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), WELL_KNOWN.len(), "no secret listed twice");
    }
}
