//! The authbench conformance catalog: cases as data (TOML, one file per method
//! under `scenarios/conformance/`), parsed and validated here, embedded in the
//! binary, and replaceable with `--catalog DIR`.

pub mod case;
mod legacy;
pub mod load;
pub mod method;

pub use case::{Case, CaseBody, Severity, ThreatSpec};
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
    ("scenarios/conformance/transport.toml", include_str!("../conformance/transport.toml")),
    ("scenarios/conformance/findings.toml", include_str!("../conformance/findings.toml")),
    ("scenarios/conformance/threats.toml", include_str!("../conformance/threats.toml")),
];

/// The embedded catalog's threats (`threats.toml`), in file order: for cases
/// made at run time (an OpenAPI document's) to name threats as the catalog's do.
pub fn embedded_threats() -> &'static [ThreatSpec] {
    #[derive(serde::Deserialize)]
    struct File {
        threat: Vec<ThreatSpec>,
    }
    static THREATS: std::sync::OnceLock<Vec<ThreatSpec>> = std::sync::OnceLock::new();
    THREATS.get_or_init(|| {
        // The file is checked by the catalog's own loading (tests load it),
        // so a parse failure here cannot ship; none would leave cases unnamed.
        toml::from_str::<File>(include_str!("../conformance/threats.toml"))
            .map(|f| f.threat)
            .unwrap_or_default()
    })
}
