//! DPoP (RFC 9449): bound tokens, proofs checked at the resource and the
//! token endpoint.

#[allow(clippy::wildcard_imports)]
use super::*;

pub(super) async fn dpop_call(
    s: &Session<'_>,
    scheme: &str,
    token: &str,
    proof: Option<String>,
) -> Result<RawResponse, Verdict> {
    let mut request = RawRequest::get(s.t.resource_url.clone())
        .header("Authorization", format!("{scheme} {token}"));
    if let Some(p) = proof {
        request = request.header("DPoP", p);
    }
    Ok(s.send(&request).await?)
}

pub(super) async fn dpop_bound(s: &Session<'_>, sev: Severity) -> Outcome {
    let key = DpopKey::generate()?;
    let tokens = dpop_tokens(s, &key).await?;
    let expected = "token_type DPoP, and the resource accepts it with a fresh proof (RFC 9449)";
    if !tokens.token_type.eq_ignore_ascii_case("dpop") {
        return unmet(
            sev,
            expected,
            format!("token_type {}", tokens.token_type),
            "the token is not DPoP-bound",
        );
    }
    let proof = key.proof("GET", &s.t.resource_url, Some(&tokens.access_token), None, None);
    let r = dpop_call(s, "DPoP", &tokens.access_token, Some(proof)).await?;
    if r.status == 200 {
        pass(expected, format!("token_type {}, resource 200", tokens.token_type))
    } else {
        unmet(sev, expected, observe(&r), "the resource refused a valid proof")
    }
}

#[derive(Clone, Copy)]
pub(super) enum DpopMisuse {
    AsBearer,
    NoProof,
    OtherKey,
    Replayed,
    Proof(ProofFlaw),
}

pub(super) async fn dpop_misuse(s: &Session<'_>, sev: Severity, misuse: DpopMisuse) -> Outcome {
    let key = DpopKey::generate()?;
    let tokens = dpop_tokens(s, &key).await?;
    let token = tokens.access_token.as_str();
    let url = &s.t.resource_url;
    let (expected, r) = match misuse {
        DpopMisuse::AsBearer => (
            "401: a DPoP-bound token sent as Bearer (RFC 9449 §7.2)",
            dpop_call(s, "Bearer", token, None).await?,
        ),
        DpopMisuse::NoProof => {
            ("401: a DPoP-bound token without a proof", dpop_call(s, "DPoP", token, None).await?)
        }
        DpopMisuse::OtherKey => {
            let other = DpopKey::generate()?;
            let proof = other.proof("GET", url, Some(token), None, None);
            (
                "401: a proof by another key (RFC 9449 §7.1)",
                dpop_call(s, "DPoP", token, Some(proof)).await?,
            )
        }
        DpopMisuse::Replayed => {
            let proof = key.proof("GET", url, Some(token), None, None);
            let first = dpop_call(s, "DPoP", token, Some(proof.clone())).await?;
            if first.status != 200 {
                return Err(Verdict::error("a fresh proof accepted", observe(&first)));
            }
            (
                "401: a proof replayed (RFC 9449 §11.1)",
                dpop_call(s, "DPoP", token, Some(proof)).await?,
            )
        }
        DpopMisuse::Proof(flaw) => {
            let other = DpopKey::generate()?;
            let proof = key.proof("GET", url, Some(token), Some(flaw), Some(&other));
            (
                "401: a spoiled DPoP proof (RFC 9449 §4.3)",
                dpop_call(s, "DPoP", token, Some(proof)).await?,
            )
        }
    };
    match r.status {
        401 => pass(expected, observe(&r)),
        st if (200..300).contains(&st) => unmet(sev, expected, observe(&r), "accepted"),
        st if st >= 500 => unmet(sev, expected, observe(&r), "a server error"),
        _ => form("form:refusal-status", expected, observe(&r), "refused, but not with 401"),
    }
}

pub(super) async fn dpop_bad_proof_at_token(
    s: &Session<'_>,
    sev: Severity,
    flaw: ProofFlaw,
) -> Outcome {
    if !s.meta.supports_dpop() {
        return Err(Verdict::skip("the authorization server does not advertise DPoP"));
    }
    let key = DpopKey::generate()?;
    let url = s.meta.token_endpoint.clone();
    let proof = key.proof("POST", &url, None, Some(flaw), None);
    let r = s
        .token_with(
            &url,
            &[("grant_type", "client_credentials")],
            &s.client_auth(),
            &[("DPoP", proof)],
            None,
        )
        .await?;
    judge_error(
        sev,
        "400 invalid_dpop_proof at the token endpoint (RFC 9449 §5)",
        &r,
        &["invalid_dpop_proof"],
    )
}

// ---------------------------------------------------------------- plumbing
