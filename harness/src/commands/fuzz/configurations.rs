//! What is fuzzed: each method the profile has, its valid credential as the
//! mutations' starting point, and its share of the candidates.

#[allow(clippy::wildcard_imports)]
use super::*;

pub(super) fn configurations(
    target: &crate::methods::Target,
    methods: &Option<Vec<Method>>,
    token_endpoint: Option<url::Url>,
) -> anyhow::Result<Vec<Configuration>> {
    let wanted = |m: Method| methods.as_ref().is_none_or(|list| list.contains(&m));
    let mut out = Vec::new();
    if let (Some(j), true) = (&target.jwt, wanted(Method::Jwt)) {
        let mut resources = vec![(j.algorithm, j.url.clone(), j.signing_key.clone())];
        resources.extend(j.variants.iter().cloned());
        let forge = crate::methods::jwt::forge::JwtForge::new(j.clone());
        let valid = forge.valid_token().ok();
        let claims_of = |token: &str| -> Vec<(String, Value)> {
            use base64::Engine as _;
            token
                .split('.')
                .nth(1)
                .and_then(|p| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).ok())
                .and_then(|b| serde_json::from_slice::<serde_json::Map<String, Value>>(&b).ok())
                .map(|m| m.into_iter().collect())
                .unwrap_or_default()
        };
        for (alg, url, key) in resources {
            let Some(key) = key else { continue };
            let name = crate::methods::jwt::forge::alg_name(alg);
            let signer =
                sign::Signer::new(&key).map_err(|e| anyhow::anyhow!("[jwt] {name}: {e}"))?;
            let mut header = vec![("alg".to_owned(), json!(name))];
            header.push(("typ".to_owned(), json!("at+jwt")));
            let mut claims = valid.as_deref().map(claims_of).unwrap_or_default();
            claims.retain(|(k, _)| !matches!(k.as_str(), "exp" | "nbf" | "iat"));
            if claims.is_empty() {
                claims = vec![
                    ("iss".into(), json!(j.issuer)),
                    ("aud".into(), json!(j.audience)),
                    ("sub".into(), json!("authbench")),
                ];
                if let Some(s) = &j.required_scope {
                    claims.push(("scope".into(), json!(s)));
                }
            }
            let asymmetric = key.public_pem.is_some();
            let public_jwk = if asymmetric {
                crate::methods::jwt::forge::public_jwk_text(&key.encoding, alg).ok()
            } else {
                None
            };
            let base = jwt::Base {
                header,
                claims,
                alg: name,
                issuer: j.issuer.clone(),
                audience: j.audience.clone(),
                scope: j.required_scope.clone(),
                leeway: j.leeway_seconds,
                public_pem: key.public_pem.clone(),
                public_jwk,
            };
            out.push(Configuration {
                label: format!("jwt-{}", name.to_ascii_lowercase()),
                method: Method::Jwt,
                url,
                weight: 0,
                subject: Subject::Jwt {
                    base: Arc::new(base),
                    signer: Arc::new(signer),
                    asymmetric,
                },
            });
        }
    }
    if let (Some(a), true) = (&target.api_key, wanted(Method::ApiKey)) {
        out.push(Configuration {
            label: Method::ApiKey.name().into(),
            method: Method::ApiKey,
            url: a.url.clone(),
            weight: 0,
            subject: Subject::ApiKey {
                header: a.header.clone().unwrap_or_else(|| "Authorization".into()),
                key: a.key.clone(),
                scheme: match &a.header {
                    None => Some(a.scheme.clone().unwrap_or_else(|| "Bearer".into())),
                    Some(_) => a.scheme.clone(),
                },
                revoked: a.revoked_key.clone(),
            },
        });
    }
    if let (Some(b), true) = (&target.basic, wanted(Method::Basic)) {
        out.push(Configuration {
            label: Method::Basic.name().into(),
            method: Method::Basic,
            url: b.cached_url.clone().unwrap_or_else(|| b.url.clone()),
            weight: 0,
            subject: Subject::Basic { user: b.username.clone(), password: b.password.clone() },
        });
    }
    if let (Some(o), true, Some(token_url)) =
        (&target.oauth2, wanted(Method::OAuth2), token_endpoint)
        && let Some(secret) = &o.client_secret
    {
        out.push(Configuration {
            label: "oauth2-token".into(),
            method: Method::OAuth2,
            url: token_url,
            weight: 0,
            subject: Subject::Token {
                client_id: o.client_id.clone(),
                secret: secret.clone(),
                scope: o.scope.clone(),
            },
        });
    }
    // JWT resources take most of the traffic: they are where parsers are
    // richest and cheapest to reach. Basic (argon2 behind a lockout), API keys
    // (throttled per client) and the token endpoint (a durable write per
    // token) get a few percent each.
    let jwts = out.iter().filter(|c| c.method == Method::Jwt).count().max(1) as u32;
    for c in &mut out {
        c.weight = match c.method {
            Method::Jwt => 900 / jwts,
            Method::ApiKey => 50,
            _ => 25,
        };
    }
    if out.is_empty() {
        bail!(
            "nothing to fuzz: the profile has none of the methods asked for (basic, api_key, jwt with a signing_key_file, oauth2 with a client_secret)"
        );
    }
    Ok(out)
}
