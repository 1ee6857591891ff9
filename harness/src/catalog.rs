//! The catalog as commands use it: loaded (embedded or from `--catalog`) and
//! checked against the flaws and steps that exist, then narrowed by
//! `--methods` and `--cases`.

use std::path::Path;

use anyhow::bail;
use authbench_scenarios::{Case, Catalog, Known, Method};
use authbench_servers::Flaw;

/// The flaw names, for catalog validation.
pub fn flaw_names() -> Vec<&'static str> {
    Flaw::ALL.iter().map(|f| f.name()).collect()
}

/// Loads the embedded catalog, or `dir`'s.
pub fn load_catalog(dir: Option<&Path>) -> anyhow::Result<Catalog> {
    let flaws = flaw_names();
    let steps = crate::methods::step_ids();
    let steps: Vec<&str> = steps.iter().map(String::as_str).collect();
    let known = Known { flaws: &flaws, steps: &steps };
    let catalog = match dir {
        Some(dir) => Catalog::from_dir(dir, known),
        None => Catalog::embedded(known),
    };
    // The error names file, line and field already.
    catalog.map_err(|e| anyhow::anyhow!("catalog: {e}"))
}

pub use crate::profile::glob_match;

/// Parses `--methods a,b` against the known method names.
pub fn parse_methods(list: Option<&str>) -> anyhow::Result<Option<Vec<Method>>> {
    let Some(list) = list else { return Ok(None) };
    let mut methods = Vec::new();
    for m in list.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        match Method::from_name(m) {
            Some(m) => methods.push(m),
            None => bail!(
                "--methods: unknown method `{m}`; use a comma-separated list of {}",
                Method::names()
            ),
        }
    }
    Ok(Some(methods))
}

/// The catalog's cases `--methods` and `--cases` name, perhaps none.
pub fn filter(catalog: Catalog, methods: Option<&[Method]>, glob: Option<&str>) -> Vec<Case> {
    catalog
        .cases
        .into_iter()
        .filter(|c| methods.is_none_or(|m| m.contains(&c.method)))
        .filter(|c| glob.is_none_or(|g| glob_match(g, &c.id)))
        .collect()
}

/// Selects the cases `--methods` and `--cases` name; an error when none.
pub fn select(
    catalog: Catalog,
    methods: Option<&[Method]>,
    glob: Option<&str>,
) -> anyhow::Result<Vec<Case>> {
    let cases = filter(catalog, methods, glob);
    if cases.is_empty() {
        bail!("--cases/--methods select no case; `authbench cases` lists them");
    }
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_a_shell() {
        assert!(glob_match("jwt::*", "jwt::alg-none"));
        assert!(glob_match("*alg-none*", "jwt::alg-none-mixed"));
        assert!(glob_match("basic::?rong-password", "basic::wrong-password"));
        assert!(!glob_match("jwt::*", "basic::wrong-password"));
        assert!(glob_match("*", ""));
    }
}
