//! Unit tests of the parent module.

use super::*;

const KNOWN: Known<'static> = Known { flaws: &["jwt-skip-exp"], steps: &["basic::same-answer"] };

fn error(text: &str) -> CatalogError {
    parse("cases.toml", text, KNOWN).unwrap_err()
}

const GOOD: &str = r#"
[[case]]
id = "jwt::exp-in-past"
title = "An expired JWT is rejected"
requirements = ["RFC 7519 §4.1.4"]
severity = "must"
credential = { kind = "jwt", claims = { exp = "-1h" } }
expect = { status = 401, www_authenticate = { scheme = "Bearer", error = "invalid_token" } }
tolerate = { status = [400, 403], reason = "refused, without the exact status" }
flaws = ["jwt-skip-exp"]
"#;

#[test]
fn the_design_example_parses() {
    let cases = parse("cases.toml", GOOD, KNOWN).unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].id, "jwt::exp-in-past");
    assert_eq!(cases[0].line, 3);
    assert_eq!(cases[0].flaws, ["jwt-skip-exp"]);
}

#[test]
fn unknown_fields_name_their_line() {
    let e = error(&GOOD.replace("severity = \"must\"", "severity = \"must\"\ncolour = 1"));
    assert_eq!(e.line, 7, "{e}");
    assert!(e.message.contains("colour"), "{e}");
}

#[test]
fn unknown_flaws_mutations_kinds_and_steps_are_errors() {
    let e = error(&GOOD.replace("\"jwt-skip-exp\"]", "\"jwt-skip-everything\"]"));
    assert_eq!((e.line, e.field.as_str()), (10, "flaws: "));
    assert!(e.message.contains("--list-flaws"));
    let e = error(&GOOD.replace("claims = { exp = \"-1h\" }", "mutation = \"alg-maybe\""));
    assert!(e.message.contains("alg-maybe"), "{e}");
    assert_eq!(e.line, 7);
    let e = error(&GOOD.replace("kind = \"jwt\"", "kind = \"smoke-signal\""));
    assert!(e.message.contains("smoke-signal"), "{e}");
    let e = error(&GOOD.replace("kind = \"jwt\", claims = { exp = \"-1h\" }", "kind = \"basic\""));
    assert!(e.message.contains("cannot be used in a `jwt` case"), "{e}");
    let step = "[[case]]\nid = \"basic::x\"\ntitle = \"t\"\nrequirements = []\nseverity = \"must\"\nstep = \"nope\"\n";
    let e = error(step);
    assert_eq!((e.line, e.field.as_str()), (6, "step: "));
    assert!(e.message.contains("basic::same-answer"), "{e}");
    // `true` is the step registered under the case's own id; a string names another case's.
    let own = step.replace("step = \"nope\"", "step = true");
    assert_eq!(error(&own).line, 6, "basic::x has no step of its own");
    let same = own.replace("basic::x", "basic::same-answer");
    let cases = Catalog::from_sources([("t.toml", same.as_str())], KNOWN).unwrap().cases;
    assert_eq!(cases[0].body, CaseBody::Step("basic::same-answer".to_owned()));
    // An old step name still reads as the step it named.
    let old = step.replace("\"nope\"", "\"basic-same-answer\"");
    let known =
        Known { flaws: &[], steps: &["basic::unknown-user-same-answer", "oauth2::code-flow"] };
    let cases = Catalog::from_sources([("t.toml", old.as_str())], known).unwrap().cases;
    assert_eq!(cases[0].body, CaseBody::Step("basic::unknown-user-same-answer".to_owned()));
    let old = step.replace("\"nope\"", "\"oauth2-code-flow\"");
    let cases = Catalog::from_sources([("t.toml", old.as_str())], known).unwrap().cases;
    assert_eq!(cases[0].body, CaseBody::Step("oauth2::code-flow".to_owned()));
    let other = step.replace("\"nope\"", "\"basic::same-answer\"");
    let cases = Catalog::from_sources([("t.toml", other.as_str())], KNOWN).unwrap().cases;
    assert_eq!(cases[0].body, CaseBody::Step("basic::same-answer".to_owned()));
}

#[test]
fn a_tolerated_status_without_a_reason_is_an_error() {
    let e = error(&GOOD.replace(", reason = \"refused, without the exact status\"", ""));
    assert_eq!((e.line, e.field.as_str()), (3, "tolerate.reason: "), "{e}");
    let e =
        error(&GOOD.replace("reason = \"refused, without the exact status\"", "reason = \" \""));
    assert_eq!(e.field, "tolerate.reason: ", "{e}");
    let cases = parse("cases.toml", GOOD, KNOWN).unwrap();
    let CaseBody::Exchange(exchange) = &cases[0].body else { panic!("an exchange") };
    assert_eq!(exchange.tolerate.reason.as_deref(), Some("refused, without the exact status"));
}

#[test]
fn duplicate_ids_are_refused_across_files() {
    let e = Catalog::from_sources([("a.toml", GOOD), ("b.toml", GOOD)], KNOWN).unwrap_err();
    assert_eq!(e.file, "b.toml");
    assert!(e.message.contains("a.toml:3"), "{e}");
}

#[test]
fn templates_expand_under_each_method_prefix() {
    let text = r#"
[[case]]
id = "*::no-credentials"
title = "t"
requirements = []
severity = "must"
credential = { kind = "none" }
expect = { status = 401 }
"#;
    let ids: Vec<String> =
        parse("x.toml", text, KNOWN).unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(ids, ["basic::no-credentials", "api_key::no-credentials", "jwt::no-credentials"]);
    let e = error(&text.replace("*::no-credentials", "smtp::no-credentials"));
    assert_eq!(e.field, "id: ");
}

#[test]
fn a_catalog_directory_is_read_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mine.toml"), GOOD).unwrap();
    assert_eq!(Catalog::from_dir(dir.path(), KNOWN).unwrap().cases.len(), 1);
    let empty = tempfile::tempdir().unwrap();
    assert!(Catalog::from_dir(empty.path(), KNOWN).unwrap_err().message.contains("no *.toml"));
}
