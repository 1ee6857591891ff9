//! The case format (DESIGN.md, "A conformance case"), as parsed from TOML.
//!
//! Single exchanges are data: a credential (minted and mutated by the forge), a
//! request, and the answer expected. Multi-exchange checks (same answer for two
//! requests, throttling, timing) are named Rust steps the data refers to.

use std::collections::BTreeMap;

use serde::Deserialize;

pub use crate::method::Method;

/// Policies a case may depend on (DESIGN.md, judging principle 4): the
/// profile field that declares each, and what it means. A case naming one
/// runs only when the profile declares it, and otherwise skips saying so.
pub const POLICIES: &[(&str, &str)] = &[
    ("basic.throttle_after", "[basic] throttle_after = N: failed logins for one user before 429"),
    (
        "api_key.throttle_after",
        "[api_key] throttle_after = N: invalid keys from one client before 429",
    ),
    (
        "api_key.allowlist",
        "[api_key.allowlist] allowed_source and refused_source: a key the target serves only from some addresses",
    ),
    (
        "jwt.max_lifetime_seconds",
        "[jwt] max_lifetime_seconds = N: the longest token lifetime the target accepts",
    ),
    (
        "jwt.access_token_profile",
        "[jwt] access_token_profile = \"rfc9068\": the tokens are JWT access tokens (RFC 9068)",
    ),
];

/// How binding a requirement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// An RFC MUST or an equally firm security requirement: failing is `fail`.
    Must,
    /// A SHOULD or a hardening recommendation: failing is `warn`.
    Should,
}

impl Severity {
    /// `must` or `should`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Must => "must",
            Severity::Should => "should",
        }
    }
}

/// One validated case, ready for the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Stable id `<method>::<kebab-name>`.
    pub id: String,
    /// The method prefix of the id.
    pub method: Method,
    /// What the case checks, in a sentence.
    pub title: String,
    /// The requirements cited (RFC sections, ASVS items, CWE ids).
    pub requirements: Vec<String>,
    /// `must` or `should`.
    pub severity: Severity,
    /// What the case sends and expects.
    pub body: CaseBody,
    /// Reference-server flaws this case must detect.
    pub flaws: Vec<String>,
    /// The root cause a failure of this case reports under, when several
    /// cases hunt the same one (the four spellings of `alg: none`); absent,
    /// a failure is a finding of its own.
    pub finding: Option<FindingSpec>,
    /// The declared policy the verdict depends on (a key of [`POLICIES`]).
    pub policy: Option<String>,
    /// Serving what this case sends is allowed by the RFCs and discouraged by
    /// best practice: a failure is a hardening finding, not a security one.
    pub hardening: bool,
    /// The threats the case counters (`threats.toml`), resolved.
    pub threats: Vec<ThreatSpec>,
    /// Cases sharing a lane run one after another, in catalog order (for state
    /// a target keeps, such as failed-login counters); others run concurrently.
    pub lane: Option<String>,
    /// The catalog file the case came from.
    pub file: String,
    /// Its line in that file.
    pub line: usize,
}

/// A `[[finding]]` table (`findings.toml`): the root cause shared by the
/// cases whose `finding = "<id>"` names it, whatever their method.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingSpec {
    /// Kebab-case, unique in the catalog.
    pub id: String,
    /// What a failure means, as observed: "unsigned tokens (`alg: none`) are accepted".
    pub title: String,
    /// What to change.
    #[serde(default)]
    pub remediation: Option<String>,
}

/// A `[[threat]]` table (`threats.toml`): what an attacker achieves when the
/// cases naming it fail, and the threat models that describe it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreatSpec {
    /// Kebab-case, unique in the catalog.
    pub id: String,
    /// What the attacker achieves: "tokens made without the issuer's key are accepted".
    pub title: String,
    /// The sections of threat models that describe it (RFC 6819, RFC 9700, OWASP).
    #[serde(default)]
    pub sources: Vec<String>,
}

/// A single exchange described as data, or a named Rust step.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseBody {
    /// One request, one judged answer.
    Exchange(Box<Exchange>),
    /// A multi-exchange step implemented in Rust, by the case id it is
    /// registered under (the case's own id for `step = true`).
    Step(String),
}

/// One request and the answer expected.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// Where and how to send it.
    pub request: RequestSpec,
    /// What credential to present.
    pub credential: Credential,
    /// The answer a conforming target gives.
    pub expect: Expect,
    /// Answers that are safe but not exact: outcome `warn`.
    pub tolerate: Tolerate,
}

/// Which of the profile's URLs a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UrlSelector {
    /// The method's protected resource (`url`).
    #[default]
    Url,
    /// A resource the valid credential lacks the scope for.
    InsufficientScopeUrl,
    /// The resource that checks revocation (`revocation_url`, else `url`).
    RevocationUrl,
    /// The unauthenticated baseline.
    BaselineUrl,
}

/// The request line and extra headers.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// Which URL of the profile.
    #[serde(default)]
    pub url: UrlSelector,
    /// HTTP method; GET when absent.
    #[serde(default)]
    pub method: Option<String>,
    /// Appended to the path, e.g. `/` or `?x=1`.
    #[serde(default)]
    pub path_suffix: Option<String>,
    /// Extra headers, sent after the credential's.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// JWT only: the resource (and key) of this algorithm, from `[[jwt.variants]]`
    /// when it is not the profile's main algorithm.
    #[serde(default)]
    pub algorithm: Option<String>,
}

/// The credential a request presents.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Credential {
    /// No credential at all.
    None,
    /// The method's valid credential, as the profile gives it.
    Valid,
    /// Raw header values, sent exactly (duplicates allowed, any bytes TOML can escape).
    Raw(RawCredential),
    /// HTTP Basic.
    Basic(BasicCredential),
    /// An API key.
    ApiKey(ApiKeyCredential),
    /// A JWT bearer token.
    Jwt(JwtCredential),
}

impl Credential {
    /// The credential kind's name, as written in the catalog.
    pub fn kind(&self) -> &'static str {
        match self {
            Credential::None => "none",
            Credential::Valid => "valid",
            Credential::Raw(_) => "raw",
            Credential::Basic(_) => "basic",
            Credential::ApiKey(_) => "api_key",
            Credential::Jwt(_) => "jwt",
        }
    }
}

/// `kind = "raw"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCredential {
    /// Header name; `Authorization` when absent.
    #[serde(default)]
    pub header: Option<String>,
    /// One value per header line.
    pub values: Vec<String>,
}

/// `kind = "basic"`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicCredential {
    /// The scheme as written; `Basic` when absent.
    #[serde(default)]
    pub scheme: Option<String>,
    /// The user-id: the profile's when absent, `$random` for a fresh unknown one.
    #[serde(default)]
    pub username: Option<String>,
    /// The password: the profile's when absent, `$random` for a wrong one.
    #[serde(default)]
    pub password: Option<String>,
    /// A change applied to the valid credential.
    #[serde(default)]
    pub mutation: Option<BasicMutation>,
}

/// Ways the forge spoils Basic credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BasicMutation {
    /// The password with its case inverted.
    PasswordCaseChanged,
    /// The password without its last character.
    PasswordTruncated,
    /// The password with a trailing space.
    PasswordTrailingSpace,
    /// `user` and `password` without the separating colon.
    NoColon,
    /// Credentials that are not base64.
    BadBase64,
    /// The scheme with no credentials after it.
    Empty,
    /// An 8 KiB credential.
    Oversized,
}

/// `kind = "api_key"`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyCredential {
    /// Which key: the profile's `valid` one (default), its `revoked` one, or a `random` well-formed one.
    #[serde(default)]
    pub key: KeySelector,
    /// A change applied to the key.
    #[serde(default)]
    pub mutation: Option<ApiKeyMutation>,
    /// Where the key goes.
    #[serde(default)]
    pub placement: Placement,
}

/// Which API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySelector {
    /// The profile's `key`.
    #[default]
    Valid,
    /// The profile's `revoked_key`.
    Revoked,
    /// A fresh key shaped like the valid one.
    Random,
}

/// Ways the forge spoils an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApiKeyMutation {
    /// The last character changed.
    LastCharFlipped,
    /// The last character removed.
    Truncated,
    /// One character appended.
    Suffixed,
    /// Letters' case inverted.
    CaseChanged,
    /// The first characters kept, the rest replaced: same public prefix.
    SamePrefix,
    /// A space inserted in the middle (surrounding whitespace is optional
    /// whitespace in HTTP and legitimately stripped, RFC 9110 §5.5).
    InnerWhitespace,
    /// Percent-encoded.
    UrlEncoded,
    /// A NUL byte appended.
    NulAppended,
    /// A 4 KiB key.
    Oversized,
}

/// Where an API key is placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// The profile's header (or scheme).
    #[default]
    Header,
    /// The profile's header, in upper case.
    HeaderUppercase,
    /// The header twice, same key.
    HeaderTwice,
    /// `?api_key=` only.
    Query,
    /// The header and `?api_key=` together.
    HeaderAndQuery,
}

/// `kind = "jwt"`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtCredential {
    /// The scheme as written; `Bearer` when absent.
    #[serde(default)]
    pub scheme: Option<String>,
    /// Header members set (or replaced) before signing.
    #[serde(default)]
    pub header: toml::Table,
    /// Claims set (or replaced) before signing. For `exp`, `nbf` and `iat` a
    /// string is a time relative to now: `-1h`, `+30s`, `now`, `-leeway-1s`.
    /// `$issuer` and `$audience` stand for the profile's values.
    #[serde(default)]
    pub claims: toml::Table,
    /// Claims removed before signing.
    #[serde(default)]
    pub remove: Vec<String>,
    /// A change applied while or after signing.
    #[serde(default)]
    pub mutation: Option<JwtMutation>,
}

/// Ways the forge spoils a JWT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JwtMutation {
    /// `alg: none`, no signature.
    AlgNone,
    /// `alg: None`.
    AlgNoneCapitalized,
    /// `alg: NONE`.
    AlgNoneUpper,
    /// `alg: nOnE`.
    AlgNoneMixed,
    /// The signature removed, the trailing dot kept.
    SignatureStripped,
    /// One bit of the signature flipped.
    SignatureFlipped,
    /// The signature's last four base64url characters dropped (three bytes).
    SignatureTruncated,
    /// The payload changed after signing.
    PayloadTampered,
    /// The header changed after signing (a member added), the signature kept.
    HeaderTampered,
    /// HS256 keyed with the RSA public key in PEM form.
    Hs256PublicPem,
    /// HS256 keyed with the RSA public key as a JWK (JSON text).
    Hs256PublicJwk,
    /// HS256 keyed with the empty string.
    Hs256EmptyKey,
    /// Signed with an attacker key that is embedded in the `jwk` header.
    EmbeddedJwk,
    /// Signed with an attacker key that `jku` points to.
    JkuElsewhere,
    /// Signed with an attacker key that `x5u` points to.
    X5uElsewhere,
    /// `kid` walking the file system to /dev/null, HS256 with an empty key.
    KidTraversal,
    /// `kid` carrying SQL injection, HS256 with the injected value as key.
    KidInjection,
    /// Only two segments.
    TwoSegments,
    /// A fourth segment.
    FourSegments,
    /// `=` padding on the segments.
    PaddedSegments,
    /// The standard base64 alphabet (`+`, `/`) instead of base64url.
    StandardBase64,
    /// A space inside the token.
    Whitespace,
    /// Over 16 KiB.
    Oversized,
    /// `exp` as a string of digits.
    ExpAsString,
    /// `sub` present twice in the payload JSON.
    DuplicateSub,
    /// `alg` present twice in the header JSON, `none` first.
    DuplicateAlg,
    /// Signed validly, but with another algorithm the profile gives a key for.
    OtherAlgorithm,
    /// Signed with an attacker key whose self-signed certificate is in `x5c`.
    SelfSignedX5c,
    /// The JWS JSON serialization instead of the compact one.
    JsonSerialization,
    /// Five segments shaped like a JWE (`alg: RSA-OAEP`, `enc: A256GCM`).
    JweShaped,
    /// An ECDSA signature with r = s = 0 (CVE-2022-21449, "psychic signatures").
    EcdsaZeroSignature,
}

/// The status codes a case accepts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum StatusSpec {
    /// Exactly this status.
    One(u16),
    /// Any of these.
    AnyOf(Vec<u16>),
}

impl StatusSpec {
    /// Whether any accepted status satisfies `f`.
    pub fn any(&self, f: impl Fn(u16) -> bool) -> bool {
        match self {
            StatusSpec::One(s) => f(*s),
            StatusSpec::AnyOf(list) => list.iter().any(|s| f(*s)),
        }
    }

    /// Whether `status` is accepted.
    pub fn matches(&self, status: u16) -> bool {
        match self {
            StatusSpec::One(s) => *s == status,
            StatusSpec::AnyOf(list) => list.contains(&status),
        }
    }

    /// The statuses as text, `401` or `400|401`.
    pub fn describe(&self) -> String {
        match self {
            StatusSpec::One(s) => s.to_string(),
            StatusSpec::AnyOf(list) => {
                list.iter().map(u16::to_string).collect::<Vec<_>>().join("|")
            }
        }
    }
}

/// What the answer must be.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The status.
    pub status: StatusSpec,
    /// A `WWW-Authenticate` challenge the answer must carry.
    #[serde(default)]
    pub www_authenticate: Option<ChallengeSpec>,
    /// Headers the answer must carry, with exact values.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The answer must not echo the credential sent.
    #[serde(default)]
    pub no_credential_echo: bool,
}

/// A required challenge. `scheme = "$scheme"` stands for the method's scheme.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeSpec {
    /// The auth scheme, compared case-insensitively.
    pub scheme: String,
    /// The `error` auth-param required.
    #[serde(default)]
    pub error: Option<String>,
    /// The challenge must carry no `error` auth-param (RFC 6750 §3.1).
    #[serde(default)]
    pub no_error: bool,
    /// Other auth-params required; `*` means present with any value.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

/// Answers that are safe but not exact.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tolerate {
    /// Statuses tolerated.
    #[serde(default)]
    pub status: Vec<u16>,
    /// Why they are safe though not exact; reports show it, and the loader
    /// refuses a tolerated status without one.
    #[serde(default)]
    pub reason: Option<String>,
}
