//! The harness's layout, checked from its source: data flows one way through
//! its top-level modules, method folders build only on the methods they
//! declare, no method name is matched as a string outside the registry, and
//! no source file outgrows a screenful of screens (ARCHITECTURE.md, "Layout").

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The top-level modules, lowest first: each may use only those before it.
/// This is the run's data flow read backwards (commands → output → engine →
/// catalog → methods → profile/verdict → client).
const LAYERS: &[&str] = &[
    "cli", "client", "verdict", "profile", "openapi", "methods", "catalog", "engine", "output",
    "embedded", "measure", "commands",
];

/// Which method folders a method folder builds on.
const METHOD_DEPENDENCIES: &[(&str, &[&str])] = &[
    ("basic", &[]),
    ("api_key", &[]),
    ("jwt", &[]),
    ("oauth2", &["jwt"]),
    ("mtls", &["oauth2"]),
    ("layered", &["api_key", "jwt", "mtls"]),
    // Its checks present every other section's credentials.
    ("openapi", &["basic", "api_key", "jwt", "oauth2", "mtls", "layered"]),
];

/// Files that may be longer: data tables.
const LONG_DATA_FILES: &[&str] = &[];

const MAX_LINES: usize = 600;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `path`'s code without comments and without its unit tests.
fn code(path: &Path) -> String {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// The harness's source files, by path relative to `harness/src`.
fn harness_sources() -> BTreeMap<String, String> {
    let src = root().join("harness/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
            (rel, code(&p))
        })
        .collect()
}

/// The names `crate::<name>` in `code`.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let path: Vec<String> = rest
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .next()
            .unwrap()
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        out.push(path);
    }
    out
}

fn top_module(rel: &str) -> &str {
    let first = rel.split('/').next().unwrap();
    first.strip_suffix(".rs").unwrap_or(first)
}

#[test]
fn data_flows_one_way_through_the_top_level_modules() {
    let mut problems = Vec::new();
    for (rel, code) in harness_sources() {
        let from = top_module(&rel);
        if from == "lib" || from == "main" {
            continue;
        }
        problems.extend(layer_violations(from, &code).into_iter().map(|p| format!("{rel}: {p}")));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn method_folders_build_only_on_the_methods_they_declare() {
    let mut problems = Vec::new();
    let folders: Vec<&str> = METHOD_DEPENDENCIES.iter().map(|(m, _)| *m).collect();
    for (rel, code) in harness_sources() {
        let parts: Vec<&str> = rel.split('/').collect();
        if parts[0] != "methods" || parts.len() < 3 {
            continue;
        }
        let from = parts[1];
        let allowed = METHOD_DEPENDENCIES.iter().find(|(m, _)| *m == from).map(|(_, d)| *d);
        let Some(allowed) = allowed else {
            problems.push(format!("{rel}: method folder `{from}` is not in METHOD_DEPENDENCIES"));
            continue;
        };
        let mut used: Vec<String> = crate_paths(&code)
            .into_iter()
            .filter(|p| p.len() > 1 && p[0] == "methods")
            .map(|p| p[1].clone())
            .collect();
        // `super::<folder>` from a folder's mod.rs reaches a sibling folder.
        if parts.len() == 3 {
            for folder in &folders {
                if code.contains(&format!("super::{folder}::")) {
                    used.push((*folder).to_owned());
                }
            }
        }
        for to in used {
            if to != from && folders.contains(&to.as_str()) && !allowed.contains(&to.as_str()) {
                problems.push(format!("{rel}: `{from}` uses method `{to}` it does not declare"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Whether `line` compares or matches something with a method's name
/// written as a string (`"jwt" =>`, `== "api_key"`, `.starts_with("mtls")`).
fn matches_a_method_name(line: &str) -> bool {
    let names = ["basic", "api_key", "api-key", "jwt", "oauth2", "mtls", "layered", "openapi"];
    names.iter().any(|name| {
        let quoted = format!("\"{name}\"");
        line.match_indices(&quoted).any(|(i, _)| {
            let before = line[..i].trim_end();
            let after = line[i + quoted.len()..].trim_start();
            after.starts_with("=>")
                || (after.starts_with('|') && !after.starts_with("||"))
                || after.starts_with("==")
                || after.starts_with("!=")
                || before.ends_with("==")
                || before.ends_with("!=")
                || before.ends_with("contains(")
                || before.ends_with("starts_with(")
                || before.ends_with("strip_prefix(")
        })
    })
}

/// The uses of `crate::` modules in `code` of module `from` that go to a
/// later layer, or to a module the layers do not name.
fn layer_violations(from: &str, code: &str) -> Vec<String> {
    let Some(rank) = LAYERS.iter().position(|l| *l == from) else {
        return vec![format!("module `{from}` is not in LAYERS")];
    };
    let mut out = Vec::new();
    for path in crate_paths(code) {
        let to = path[0].as_str();
        if to == from {
            continue;
        }
        match LAYERS.iter().position(|l| *l == to) {
            Some(r) if r < rank => {}
            Some(_) => out.push(format!("`{from}` uses `{to}`, a later layer")),
            None => out.push(format!("uses `crate::{to}`, not in LAYERS")),
        }
    }
    out
}

#[test]
fn no_method_name_is_matched_as_a_string_outside_the_registry() {
    let registry = ["scenarios/src/method.rs", "harness/src/methods/mod.rs"];
    let mut problems = Vec::new();
    for krate in ["harness", "reference-servers", "scenarios", "reports"] {
        let mut files = Vec::new();
        rust_files(&root().join(krate).join("src"), &mut files);
        for path in files {
            let rel = path.strip_prefix(root()).unwrap().to_string_lossy().into_owned();
            if registry.contains(&rel.as_str()) {
                continue;
            }
            for (n, line) in code(&path).lines().enumerate() {
                if matches_a_method_name(line) {
                    problems.push(format!("{rel}:{}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(problems.is_empty(), "match on the registry instead:\n{}", problems.join("\n"));
}

#[test]
fn no_source_file_is_longer_than_600_lines() {
    let mut problems = Vec::new();
    for krate in ["harness", "reference-servers", "scenarios", "reports", "benches"] {
        for dir in ["src", "tests", "benches"] {
            let mut files = Vec::new();
            let path = root().join(krate).join(dir);
            if path.is_dir() {
                rust_files(&path, &mut files);
            }
            for path in files {
                let rel = path.strip_prefix(root()).unwrap().to_string_lossy().into_owned();
                let lines = std::fs::read_to_string(&path).unwrap().lines().count();
                if lines > MAX_LINES && !LONG_DATA_FILES.contains(&rel.as_str()) {
                    problems.push(format!("{rel}: {lines} lines"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "split these by what they hold:\n{}", problems.join("\n"));
}

/// The checks above find what they are for: a later layer, an unknown
/// module and a string match on a method's name are each caught in a sample,
/// and their look-alikes are not.
#[test]
fn the_checks_catch_what_they_look_for() {
    assert_eq!(layer_violations("methods", "use crate::engine::run;").len(), 1);
    assert_eq!(layer_violations("methods", "crate::verdict::Verdict").len(), 0);
    assert_eq!(layer_violations("methods", "crate::nowhere::X").len(), 1);
    assert_eq!(layer_violations("nowhere", "").len(), 1);
    for caught in [
        r#""jwt" => 1,"#,
        r#"if m == "api_key" {"#,
        r#""mtls" | "mtls-users" => x,"#,
        r#"name.starts_with("oauth2")"#,
        r#"x != "layered""#,
    ] {
        assert!(matches_a_method_name(caught), "{caught}");
    }
    for fine in [r#"label: "basic".into(),"#, r#"let s = "jwt-es256";"#, r#"a || "jwt".len() > 0"#]
    {
        assert!(!matches_a_method_name(fine), "{fine}");
    }
}
