//! The OpenAPI matrix: one row per operation checked, one column per kind of
//! check, each cell the worst outcome of that kind's checks there — so a
//! reader sees at once which operations were covered, which refused what,
//! and which were skipped, and why.

use crate::model::{Outcome, Results};

/// The columns: a key, and a header.
pub const COLUMNS: [&str; 10] = [
    "control",
    "no credentials",
    "invalid",
    "other scheme",
    "key elsewhere",
    "AND / OR",
    "scope",
    "path variants",
    "identities",
    "public",
];

/// The column of a check's name (the case id's last part).
pub fn column_of(check: &str) -> usize {
    match check {
        "control" => 0,
        "no-credentials" => 1,
        "public" => 9,
        c if c.starts_with("invalid-") => 2,
        c if c.starts_with("scheme-confusion-") => 3,
        c if c.ends_with("-without-credentials") => 7,
        c if c.ends_with("-in-header") || c.ends_with("-in-query") || c.ends_with("-in-cookie") => {
            4
        }
        c if c.ends_with("-alone") || c.starts_with("alternative-") => 5,
        c if c.starts_with("objects-of-") || c.starts_with("function-of-") => 8,
        _ => 6,
    }
}

/// One operation's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// `METHOD /path` and, when it has one, its id.
    pub operation: String,
    /// The worst outcome per column; `None` where no check of the kind applies.
    pub cells: Vec<Option<Outcome>>,
    /// Why checks were skipped, each reason once.
    pub skipped: Vec<String>,
}

fn rank(o: Outcome) -> u8 {
    match o {
        Outcome::Fail => 4,
        Outcome::Error => 3,
        Outcome::Warn => 2,
        Outcome::Pass => 1,
        Outcome::Skip => 0,
    }
}

/// A cell as a short mark.
pub fn mark(cell: Option<Outcome>) -> &'static str {
    match cell {
        None => "",
        Some(Outcome::Pass) => "pass",
        Some(Outcome::Fail) => "FAIL",
        Some(Outcome::Warn) => "warn",
        Some(Outcome::Error) => "error",
        Some(Outcome::Skip) => "skip",
    }
}

/// The rows of `results`' OpenAPI checks, in the order operations first appear.
pub fn rows(results: &Results) -> Vec<Row> {
    let mut rows: Vec<(String, Row)> = Vec::new();
    for c in &results.cases {
        let Some(op) = &c.operation else { continue };
        let Some((_, check)) = c.id.rsplit_once("::") else { continue };
        let key = format!("{} {}", op.method, op.path);
        let at = match rows.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                let name = if op.id == key { key.clone() } else { format!("{key} ({})", op.id) };
                rows.push((
                    key,
                    Row { operation: name, cells: vec![None; COLUMNS.len()], skipped: Vec::new() },
                ));
                rows.len() - 1
            }
        };
        let row = &mut rows[at].1;
        let cell = &mut row.cells[column_of(check)];
        if cell.is_none_or(|o| rank(c.outcome) > rank(o)) {
            *cell = Some(c.outcome);
        }
        if c.outcome == Outcome::Skip
            && let Some(reason) = &c.reason
            && !row.skipped.contains(reason)
        {
            row.skipped.push(reason.clone());
        }
    }
    rows.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_fall_into_their_columns() {
        assert_eq!(column_of("control"), 0);
        assert_eq!(column_of("invalid-jwt"), 2);
        assert_eq!(column_of("apiKey-in-query"), 4);
        assert_eq!(column_of("jwt-alone"), 5);
        assert_eq!(column_of("alternative-2"), 5);
        assert_eq!(column_of("oauth2-without-read"), 6);
        assert_eq!(column_of("head-without-credentials"), 7);
        assert_eq!(column_of("objects-of-bob"), 8);
        assert_eq!(column_of("function-of-carol"), 8);
        assert_eq!(column_of("public"), 9);
    }
}
