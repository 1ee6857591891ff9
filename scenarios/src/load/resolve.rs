//! Resolving a case's `finding` and `threats` references against the
//! `[[finding]]` and `[[threat]]` tables, within a file or across a catalog.

use super::CatalogError;
use crate::case::{Case, FindingSpec, ThreatSpec};

/// A table and where it was written: the definition, its file and line.
pub(super) type Defined<T> = (T, String, usize);

/// The tables one file defines.
#[derive(Debug, Default)]
pub(super) struct Definitions {
    pub findings: Vec<Defined<FindingSpec>>,
    pub threats: Vec<Defined<ThreatSpec>>,
}

impl Definitions {
    /// Adds `other`'s tables, refusing an id defined twice.
    pub fn merge(&mut self, other: Definitions) -> Result<(), CatalogError> {
        for d in other.findings {
            refuse_twice(&self.findings, &d, |f| &f.id, "finding.id: ")?;
            self.findings.push(d);
        }
        for d in other.threats {
            refuse_twice(&self.threats, &d, |t| &t.id, "threat.id: ")?;
            self.threats.push(d);
        }
        Ok(())
    }

    /// Replaces each case's `finding` and `threats` references with their definitions.
    pub fn resolve(&self, cases: &mut [Case]) -> Result<(), CatalogError> {
        for case in cases.iter_mut() {
            let missing = |field: &str, message: String| CatalogError {
                file: case.file.clone(),
                line: case.line,
                field: field.to_owned(),
                message,
            };
            if let Some(reference) = &case.finding {
                match self.findings.iter().find(|(d, _, _)| d.id == reference.id) {
                    Some((definition, _, _)) => case.finding = Some(definition.clone()),
                    None => {
                        return Err(missing(
                            "finding: ",
                            format!(
                                "no [[finding]] `{}`; define it (id, title, remediation) in findings.toml",
                                reference.id
                            ),
                        ));
                    }
                }
            }
            for threat in case.threats.iter_mut() {
                match self.threats.iter().find(|(d, _, _)| d.id == threat.id) {
                    Some((definition, _, _)) => *threat = definition.clone(),
                    None => {
                        return Err(missing(
                            "threats: ",
                            format!(
                                "no [[threat]] `{}`; define it (id, title, sources) in threats.toml",
                                threat.id
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

fn refuse_twice<T>(
    known: &[Defined<T>],
    new: &Defined<T>,
    id: impl Fn(&T) -> &String,
    field: &str,
) -> Result<(), CatalogError> {
    match known.iter().find(|(o, _, _)| id(o) == id(&new.0)) {
        Some((_, file, line)) => Err(CatalogError {
            file: new.1.clone(),
            line: new.2,
            field: field.to_owned(),
            message: format!("`{}` is already defined at {file}:{line}", id(&new.0)),
        }),
        None => Ok(()),
    }
}
