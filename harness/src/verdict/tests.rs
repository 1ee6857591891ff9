//! Unit tests of the parent module.

use super::*;

#[test]
fn challenges_are_parsed_with_params_and_several_schemes() {
    let c = parse_challenges(
        r#"Bearer realm="api", error="invalid_token", error_description="The \"token\" expired""#,
    );
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].scheme, "Bearer");
    assert_eq!(c[0].param("error"), Some("invalid_token"));
    assert_eq!(c[0].param("error_description"), Some(r#"The "token" expired"#));
    let c = parse_challenges(r#"Basic realm="x", charset="UTF-8", Bearer realm="y""#);
    assert_eq!(c.iter().map(|c| c.scheme.as_str()).collect::<Vec<_>>(), ["Basic", "Bearer"]);
    assert_eq!(c[0].param("charset"), Some("UTF-8"));
    let c = parse_challenges("Negotiate abc==, ApiKey");
    assert_eq!(c.iter().map(|c| c.scheme.as_str()).collect::<Vec<_>>(), ["Negotiate", "ApiKey"]);
}

fn answer(status: u16, challenge: Option<&str>) -> RawResponse {
    RawResponse {
        status,
        headers: challenge
            .map(|c| vec![("www-authenticate".to_owned(), c.to_owned())])
            .unwrap_or_default(),
        body: Vec::new(),
        elapsed: std::time::Duration::ZERO,
    }
}

fn expect(text: &str) -> (Expect, Tolerate) {
    #[derive(serde::Deserialize)]
    struct Spec {
        expect: Expect,
        #[serde(default)]
        tolerate: Tolerate,
    }
    let spec: Spec = toml::from_str(text).unwrap();
    (spec.expect, spec.tolerate)
}

fn verdict(spec: &str, response: RawResponse) -> Verdict {
    let (e, t) = expect(spec);
    judge(Severity::Should, &e, &t, "Bearer", &response, &[])
}

const REFUSAL: &str = r#"expect = { status = 401, www_authenticate = { scheme = "Bearer", error = "invalid_token" } }
tolerate = { status = [400], reason = "refused all the same" }"#;

#[test]
fn a_served_bad_credential_fails_whatever_the_keyword() {
    let v = verdict(REFUSAL, answer(200, None));
    assert_eq!(v.outcome, Outcome::Fail);
    assert_eq!(v.parts, Some(Parts { outcome: Outcome::Fail, form: Outcome::Skip }));
    assert_eq!(v.causes, [Cause::Own(FindingKind::Security)]);
}

#[test]
fn a_refusal_in_the_wrong_form_is_a_form_finding_not_a_failure() {
    let bare = verdict(REFUSAL, answer(401, None));
    assert_eq!(bare.outcome, Outcome::Warn);
    assert_eq!(bare.parts, Some(Parts { outcome: Outcome::Pass, form: Outcome::Warn }));
    assert_eq!(bare.causes, [Cause::Shared("form:no-challenge".into())]);
    let code = verdict(REFUSAL, answer(401, Some("Bearer error=\"invalid_request\"")));
    assert_eq!(code.causes, [Cause::Shared("form:error-code".into())]);
    let tolerated = verdict(REFUSAL, answer(400, None));
    assert_eq!(tolerated.causes, [Cause::Shared("form:status-400".into())]);
    assert!(tolerated.reason.unwrap().contains("refused all the same"));
    let other = verdict(REFUSAL, answer(404, None));
    assert_eq!(
        (other.outcome, other.causes),
        (Outcome::Warn, vec![Cause::Shared("form:status-404".into())])
    );
    let exact = verdict(REFUSAL, answer(401, Some("Bearer realm=\"a\", error=\"invalid_token\"")));
    assert_eq!(exact.outcome, Outcome::Pass);
}

#[test]
fn server_errors_are_never_refusals() {
    let v = verdict(REFUSAL, answer(503, None));
    assert_eq!(v.outcome, Outcome::Error);
    assert_eq!(v.causes, [Cause::Shared("error:server-error".into())]);
    // Unless the case names it: 501 for a method the resource lacks.
    let not_served = verdict("expect = { status = [401, 405, 501] }", answer(501, None));
    assert_eq!(not_served.outcome, Outcome::Pass);
}

#[test]
fn a_refused_valid_credential_is_a_function_finding() {
    let v = verdict("expect = { status = 200 }", answer(401, Some("Bearer")));
    assert_eq!(v.outcome, Outcome::Warn, "a should case");
    assert_eq!(v.causes, [Cause::Own(FindingKind::Function)]);
    // A case naming both a 2xx and refusals judges form only.
    let either = "expect = { status = [200, 401, 431] }";
    assert_eq!(verdict(either, answer(401, None)).outcome, Outcome::Pass);
    assert_eq!(verdict(either, answer(200, None)).outcome, Outcome::Pass);
    assert_eq!(verdict(either, answer(500, None)).outcome, Outcome::Error);
}

#[test]
fn secrets_are_redacted_to_a_prefix() {
    let text = redact("got sk_live_abcdefgh and more", &["sk_live_abcdefgh".to_owned()]);
    assert_eq!(text, "got sk_l… and more");
}
