//! The authbench conformance catalog: cases as data (TOML, one file per method
//! under `scenarios/conformance/`), parsed and validated here, embedded in the
//! binary, and replaceable with `--catalog DIR`.

pub mod case;
mod legacy;
pub mod load;
pub mod method;

pub use case::{Case, CaseBody, Severity};
pub use load::{Catalog, CatalogError, Known};
pub use method::Method;

/// The built-in catalog files, by name.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("scenarios/conformance/basic.toml", include_str!("../conformance/basic.toml")),
    ("scenarios/conformance/api_key.toml", include_str!("../conformance/api_key.toml")),
    ("scenarios/conformance/jwt.toml", include_str!("../conformance/jwt.toml")),
    ("scenarios/conformance/oauth2.toml", include_str!("../conformance/oauth2.toml")),
    ("scenarios/conformance/mtls.toml", include_str!("../conformance/mtls.toml")),
    ("scenarios/conformance/layered.toml", include_str!("../conformance/layered.toml")),
    ("scenarios/conformance/cross_cutting.toml", include_str!("../conformance/cross_cutting.toml")),
    ("scenarios/conformance/findings.toml", include_str!("../conformance/findings.toml")),
];
