//! The coverage tables (`docs/coverage/`) and the threats stay in step with
//! the catalog: every case id a table names exists, OAuch's list is mapped
//! entry for entry, every case names a threat, and the rendered tables and
//! the README's summary are what the data says. Run with
//! `AUTHBENCH_UPDATE_GOLDEN=1` to rewrite the rendered files after changing
//! the data.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    source: Source,
    item: Vec<Item>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    name: String,
    url: String,
    /// What counts as applicable, in a sentence.
    scope: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Item {
    id: String,
    title: String,
    status: String,
    #[serde(default)]
    cases: Vec<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    threat: Option<String>,
    #[serde(default)]
    keyword: Option<String>,
    #[serde(default)]
    observer: Option<String>,
}

const STATUSES: [&str; 4] = ["covered", "partial", "missing", "not-applicable"];
const CATEGORIES: [&str; 7] = [
    "oidc-only",
    "implicit",
    "browser",
    "not-black-box",
    "other-role",
    "informational",
    "out-of-scope",
];

/// The tables, in the order the summary lists them.
const TABLES: [&str; 5] = ["oauch", "rfc9700", "jwt_tool", "wycheproof", "x509-limbo"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn load(name: &str) -> Table {
    let path = root().join("docs/coverage").join(format!("{name}.toml"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    covered: usize,
    partial: usize,
    missing: usize,
    not_applicable: usize,
}

impl Counts {
    fn of(table: &Table) -> Counts {
        let mut c = Counts::default();
        for i in &table.item {
            match i.status.as_str() {
                "covered" => c.covered += 1,
                "partial" => c.partial += 1,
                "missing" => c.missing += 1,
                _ => c.not_applicable += 1,
            }
        }
        c
    }
    fn applicable(&self) -> usize {
        self.covered + self.partial + self.missing
    }
    fn percent(&self) -> String {
        match self.applicable() {
            0 => "—".to_owned(),
            n => format!("{:.0} %", 100.0 * self.covered as f64 / n as f64),
        }
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn summary(tables: &[(&str, Table)]) -> String {
    let mut out = String::from(
        "| Source | Entries | Covered | Partly | Missing | Not applicable | Covered of applicable |\n|---|---|---|---|---|---|---|\n",
    );
    for (name, t) in tables {
        let c = Counts::of(t);
        let _ = writeln!(
            out,
            "| [{}](docs/coverage/{name}.md) | {} | {} | {} | {} | {} | {} |",
            t.source.name,
            t.item.len(),
            c.covered,
            c.partial,
            c.missing,
            c.not_applicable,
            c.percent()
        );
    }
    out
}

fn render(name: &str, t: &Table) -> String {
    let c = Counts::of(t);
    let mut out = format!(
        "# Coverage: {}\n\n<!-- Generated from {}.toml by harness/tests/coverage.rs; edit the TOML. -->\n\nSource: <{}>. {}\n\n",
        t.source.name, name, t.source.url, t.source.scope
    );
    let _ = writeln!(
        out,
        "{} entries: {} covered, {} partly, {} missing, {} not applicable — {} of the applicable ones covered.\n",
        t.item.len(),
        c.covered,
        c.partial,
        c.missing,
        c.not_applicable,
        c.percent()
    );
    out.push_str("| Entry | What it checks | Status | authbench cases | Why not, or what is left |\n|---|---|---|---|---|\n");
    for i in &t.item {
        let status = match (i.status.as_str(), &i.category) {
            ("not-applicable", Some(cat)) => format!("not applicable ({cat})"),
            (s, _) => s.to_owned(),
        };
        let mut what = cell(&i.title);
        if let Some(k) = &i.keyword {
            what = format!("{what} ({k}, {})", i.observer.as_deref().unwrap_or("?"));
        }
        if let Some(th) = &i.threat {
            what = format!("{what}; threat: {}", cell(th));
        }
        let cases: Vec<String> = i.cases.iter().map(|c| format!("`{c}`")).collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} |",
            cell(&i.id),
            what,
            status,
            cases.join(", "),
            cell(i.reason.as_deref().unwrap_or(""))
        );
    }
    out
}

fn check_golden(path: &Path, expected: &str) {
    if std::env::var_os("AUTHBENCH_UPDATE_GOLDEN").is_some() {
        std::fs::write(path, expected).unwrap();
        return;
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        actual == expected,
        "{} is not what its data renders to; run the test with AUTHBENCH_UPDATE_GOLDEN=1 and commit the result",
        path.display()
    );
}

fn catalog_ids() -> BTreeSet<String> {
    authbench::catalog::load_catalog(None).unwrap().cases.into_iter().map(|c| c.id).collect()
}

#[test]
fn the_coverage_tables_name_only_cases_that_exist_and_are_rendered() {
    let ids = catalog_ids();
    let tables: Vec<(&str, Table)> = TABLES.iter().map(|n| (*n, load(n))).collect();
    for (name, t) in &tables {
        let mut seen = BTreeSet::new();
        for i in &t.item {
            let at = format!("docs/coverage/{name}.toml `{}`", i.id);
            assert!(seen.insert(i.id.clone()), "{at}: listed twice");
            assert!(STATUSES.contains(&i.status.as_str()), "{at}: status `{}`", i.status);
            assert!(!i.title.trim().is_empty(), "{at}: no title");
            for c in &i.cases {
                assert!(ids.contains(c), "{at}: no case `{c}` in the catalog");
            }
            match i.status.as_str() {
                "covered" => assert!(!i.cases.is_empty(), "{at}: covered by no case"),
                "partial" => assert!(
                    !i.cases.is_empty() && i.reason.is_some(),
                    "{at}: partly covered needs its cases and what is left"
                ),
                "missing" => assert!(i.reason.is_some(), "{at}: missing needs a reason"),
                _ => assert!(
                    i.reason.is_some()
                        && i.category.as_deref().is_some_and(|c| CATEGORIES.contains(&c)),
                    "{at}: not applicable needs a reason and a category of {CATEGORIES:?}"
                ),
            }
        }
        check_golden(&root().join("docs/coverage").join(format!("{name}.md")), &render(name, t));
    }
    // Issue 20's bar, kept: at least 90 % of OAuch's applicable tests covered.
    let oauch = Counts::of(&tables[0].1);
    assert!(
        oauch.covered * 10 >= oauch.applicable() * 9,
        "OAuch coverage fell under 90 %: {} of {} applicable",
        oauch.covered,
        oauch.applicable()
    );
    let summary = summary(&tables);
    check_golden(
        &root().join("docs/coverage/README.md"),
        &format!(
            "# Coverage\n\nWhat the best checkers in each lane check, mapped to authbench's cases. \
             Generated by harness/tests/coverage.rs from the TOML beside this file.\n\n{summary}"
        ),
    );
    let readme_path = root().join("README.md");
    let mut readme = std::fs::read_to_string(&readme_path).unwrap();
    if std::env::var_os("AUTHBENCH_UPDATE_GOLDEN").is_some()
        && let (Some(a), Some(b)) =
            (readme.find("<!-- coverage:begin -->\n"), readme.find("<!-- coverage:end -->"))
    {
        readme.replace_range(a + "<!-- coverage:begin -->\n".len()..b, &summary);
        std::fs::write(&readme_path, &readme).unwrap();
    }
    let block = readme
        .split("<!-- coverage:begin -->\n")
        .nth(1)
        .and_then(|rest| rest.split("<!-- coverage:end -->").next())
        .expect("README.md has a <!-- coverage:begin --> … <!-- coverage:end --> block");
    assert_eq!(
        block, summary,
        "README.md's coverage summary is stale; copy docs/coverage/README.md's table"
    );
}

#[test]
fn oauch_is_mapped_test_for_test() {
    let ids = |text: &str| -> Vec<String> {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect()
    };
    // The repository's own copy, so a fresh clone tests on its own; where the
    // brief's reference folder is beside it (CI), the copy must match it.
    let copy = root().join("docs/coverage/oauch-tests.txt");
    let expected = ids(&std::fs::read_to_string(&copy).unwrap());
    if let Ok(shared) = std::fs::read_to_string(root().join("../shared/reference/oauch-tests.txt"))
    {
        assert_eq!(ids(&shared), expected, "{} differs from ../shared/reference", copy.display());
    }
    let table = load("oauch");
    let mapped: Vec<String> = table.item.iter().map(|i| i.id.clone()).collect();
    assert_eq!(mapped, expected, "docs/coverage/oauch.toml lists OAuch's tests in its order");
}

#[test]
fn every_case_names_a_threat_and_every_threat_is_countered() {
    let catalog = authbench::catalog::load_catalog(None).unwrap();
    let unnamed: Vec<&str> =
        catalog.cases.iter().filter(|c| c.threats.is_empty()).map(|c| c.id.as_str()).collect();
    assert!(unnamed.is_empty(), "cases naming no threat: {unnamed:?}");
    let threats = authbench_scenarios::embedded_threats();
    assert!(threats.len() >= 20, "threats.toml read: {}", threats.len());
    for t in threats {
        assert!(
            catalog.cases.iter().any(|c| c.threats.iter().any(|x| x.id == t.id))
                // Countered by the checks an OpenAPI document's identities make.
                || t.id == "object-level-access",
            "no case counters `{}`",
            t.id
        );
        assert!(!t.sources.is_empty(), "`{}` cites no threat model", t.id);
    }
}

/// The case count the README states is the catalog's.
#[test]
fn the_readme_counts_the_catalog() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let stated: usize = readme
        .split("(`authbench conform`, ")
        .nth(1)
        .and_then(|rest| rest.split(" cases").next())
        .and_then(|n| n.parse().ok())
        .expect("README.md states the case count as (`authbench conform`, N cases");
    let cases = authbench::catalog::load_catalog(None).unwrap().cases.len();
    assert_eq!(stated, cases, "README.md says {stated} cases; the catalog has {cases}");
}
