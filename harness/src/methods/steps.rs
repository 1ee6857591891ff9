//! What the steps of every method share: sending one credential, checking
//! that refusals are comparable (the valid credential is served), and the
//! verdict for a credential served that must be refused.

use authbench_scenarios::case::Credential;

use super::{Method, Shared};
use crate::client::RawResponse;
use crate::methods::forge::Forged;
use crate::verdict::{Verdict, observe};

/// How long a flood of failed attempts may last (Basic's throttling, API
/// keys' flood).
pub(crate) const FLOOD_SECONDS: u64 = 10;

/// Sends `method`'s `credential` to its resource.
pub(crate) async fn send(
    shared: &Shared,
    method: Method,
    credential: &Credential,
) -> Result<(RawResponse, Forged), Verdict> {
    let (request, forged) =
        super::request_for(shared, method, credential, None, Default::default(), None)?;
    let response = shared.client.send(&request).await.map_err(|e| Verdict::unanswered("", &e))?;
    Ok((response, forged))
}

/// Comparative steps compare refusals: they mean something only when the
/// method's valid credential is served (else two identical 404s or 500s are
/// "the same answer") and every answer compared is a refusal, not a 5xx
/// (judging principle 3). Served answers are the step's own verdict.
pub(crate) async fn comparable(
    shared: &Shared,
    method: Method,
    answers: &[&RawResponse],
) -> Result<(), Verdict> {
    if let Some(r) = answers.iter().find(|r| r.status >= 500) {
        return Err(Verdict::server_error("refusals to compare", observe(r), r.status));
    }
    shared.control(method, None).await.map_err(|why| {
        Verdict::error(
            "refusals to compare",
            format!("{why}, so comparing refusals proves nothing"),
        )
        .because(crate::verdict::Cause::Shared("error:control".to_owned()))
    })
}

/// A credential that must be refused was served: a failure and a security
/// finding, whatever the keyword of the case's citation.
pub(crate) fn served(
    expected: impl Into<String>,
    observed: String,
    why: impl Into<String>,
) -> Verdict {
    Verdict::unmet(authbench_scenarios::Severity::Must, expected.into(), observed, why)
        .because(crate::verdict::Cause::Own(authbench_reports::FindingKind::Security))
}

pub(crate) fn challenge(r: &RawResponse) -> Vec<&str> {
    r.header_values("www-authenticate").collect()
}
