//! Names written before the one spelling, still read so that files written
//! for them keep working; never written.

use crate::method::Method;

/// Steps named before they were found from case ids, whose name is not
/// `<method>-<case name>`: still read, so that catalogs written for them work.
const RENAMED_STEPS: &[(&str, &str)] = &[
    ("basic-colon-and-utf8", "basic::colon-and-utf8-password"),
    ("basic-same-answer", "basic::unknown-user-same-answer"),
    ("basic-throttle", "basic::throttled-after-failures"),
    ("api-key-same-answer", "api_key::same-answer-for-every-bad-key"),
    ("api-key-timing", "api_key::near-and-far-misses-take-equal-time"),
    ("api-key-entropy", "api_key::key-entropy"),
    ("api-key-flood", "api_key::invalid-key-flood-throttled"),
];

/// The step id an old step name (`oauth2-code-flow`: the method's flaw
/// prefix, a hyphen, the case's name) stands for, among `known`.
pub(crate) fn step(name: &str, known: &[&str]) -> Option<String> {
    if name.contains("::") {
        return None;
    }
    if let Some((_, id)) = RENAMED_STEPS.iter().find(|(old, _)| *old == name) {
        return Some((*id).to_owned());
    }
    known
        .iter()
        .find(|id| {
            id.split_once("::").is_some_and(|(m, n)| {
                Method::from_name(m).is_some_and(|m| name == format!("{}-{n}", m.flaw_prefix()))
            })
        })
        .map(|id| (*id).to_owned())
}
