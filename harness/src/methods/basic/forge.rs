//! Basic credentials (RFC 7617) and their mutations.

use authbench_scenarios::case::{BasicCredential, BasicMutation};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::methods::basic::BasicTarget;
use crate::methods::forge::{ALNUM, Forged, random_string, swap_case};

/// `scheme base64(user:password)`.
pub fn header_value(scheme: &str, username: &str, password: &str) -> String {
    format!("{scheme} {}", STANDARD.encode(format!("{username}:{password}")))
}

fn pick(value: &Option<String>, default: &str) -> String {
    match value.as_deref() {
        None => default.to_owned(),
        Some("$random") => format!("authbench-{}", random_string(ALNUM, 16)),
        Some(v) => v.to_owned(),
    }
}

/// Forges the Basic credential `spec` describes.
pub fn forge(target: &BasicTarget, spec: &BasicCredential) -> Forged {
    let scheme = spec.scheme.clone().unwrap_or_else(|| "Basic".to_owned());
    let username = pick(&spec.username, &target.username);
    let mut password = pick(&spec.password, &target.password);
    let value = match spec.mutation {
        None => header_value(&scheme, &username, &password),
        Some(BasicMutation::PasswordCaseChanged) => {
            let swapped = swap_case(&password);
            password = if swapped == password { format!("{password}X") } else { swapped };
            header_value(&scheme, &username, &password)
        }
        Some(BasicMutation::PasswordTruncated) => {
            password.pop();
            header_value(&scheme, &username, &password)
        }
        Some(BasicMutation::PasswordTrailingSpace) => {
            password.push(' ');
            header_value(&scheme, &username, &password)
        }
        Some(BasicMutation::NoColon) => {
            format!("{scheme} {}", STANDARD.encode(format!("{username}{password}")))
        }
        Some(BasicMutation::BadBase64) => format!("{scheme} !!not*base64~~"),
        Some(BasicMutation::Empty) => scheme.clone(),
        Some(BasicMutation::Oversized) => header_value(&scheme, &username, &"A".repeat(6 * 1024)),
    };
    Forged {
        headers: vec![("Authorization".to_owned(), value.into_bytes())],
        query: None,
        secrets: vec![password],
    }
}
