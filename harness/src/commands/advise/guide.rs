//! What the guide authbench measures (`../shared/reference/guide.md`, its
//! decision tree) answers for each branch, in our own words, and how
//! authbench's measured view relates to it. `advise` prints the guide's
//! answer first; where authbench says something else, it says so and why,
//! with the rows that measure both.

use serde::Serialize;

/// How authbench's recommendation relates to the guide's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Relation {
    /// The same answer.
    Agrees,
    /// The same method, with more said about how (or a narrower choice).
    Refines,
    /// A different method.
    Departs,
}

impl Relation {
    /// The word printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Agrees => "agrees",
            Relation::Refines => "refines",
            Relation::Departs => "departs",
        }
    }
}

/// The guide's answer for one branch.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Guide {
    /// The guide's situation.
    pub situation: &'static str,
    /// The guide's answer.
    pub answer: &'static str,
    /// The `compare` configurations that measure the guide's answer.
    pub configurations: &'static [&'static str],
    /// How authbench's recommendation relates to it.
    pub relation: Relation,
    /// What authbench adds or changes, and the evidence (empty when it agrees).
    pub difference: &'static str,
}

/// The guide's answer for the branch `id` (every branch has one; a test checks).
pub fn for_branch(id: &str) -> Option<Guide> {
    GUIDE.iter().find(|(branch, _)| *branch == id).map(|(_, g)| *g)
}

const GUIDE: &[(&str, Guide)] = &[
    (
        "internal-tool",
        Guide {
            situation: "an internal tool, or development only",
            answer: "keep it simple: HTTP Basic or API keys",
            configurations: &["basic", "api_key"],
            relation: Relation::Refines,
            difference: "For staff users authbench keeps Basic and adds what makes it safe to keep: argon2id-hashed passwords, with a cache of verified credentials so the hash is paid once, not per request (compare the basic and basic-cached rows: milliseconds against microseconds of CPU). API keys suit a tool other programs call; people already have a password.",
        },
    ),
    (
        "public-api-own-data",
        Guide {
            situation: "a public API where developers reach their own data",
            answer: "API keys",
            configurations: &["api_key"],
            relation: Relation::Agrees,
            difference: "",
        },
    ),
    (
        "public-api-user-data",
        Guide {
            situation: "a public API where developers reach their users' data",
            answer: "OAuth 2.0, the user authorizing each application",
            configurations: &["oauth2-jwt", "oauth2-opaque"],
            relation: Relation::Refines,
            difference: "authbench names the flow and its defences: the authorization code with PKCE, exact redirect URIs, short-lived access tokens and rotated refresh tokens (RFC 9700), and measures the choice between JWT and opaque access tokens: local verification against revocation at once.",
        },
    ),
    (
        "mobile-spa",
        Guide {
            situation: "a mobile or single-page app whose users log in",
            answer: "OAuth 2.0 with PKCE, then JWT bearer tokens",
            configurations: &["oauth2-jwt"],
            relation: Relation::Refines,
            difference: "authbench adds sender-constrained tokens (DPoP): a bearer token taken from a device or a browser works anywhere until it expires, a DPoP-bound one only with the key the app holds. The cost is measured beside the plain JWT row (oauth2-dpop against oauth2-jwt: a signature per request on the client, a verification and a replay check on the server); where that cost does not fit, the guide's bearer tokens with a short lifetime are the fallback.",
        },
    ),
    (
        "internal-services",
        Guide {
            situation: "microservices on an internal, trusted network",
            answer: "JWT bearer tokens or API keys",
            configurations: &["jwt-es256", "api_key"],
            relation: Relation::Refines,
            difference: "authbench picks JWT where the user's identity must travel from service to service (an API key names only the calling service), signed with an asymmetric key so a service that verifies cannot mint: compare the jwt-hs256, jwt-es256 and jwt-eddsa rows for what that costs.",
        },
    ),
    (
        "zero-trust-services",
        Guide {
            situation: "microservices under zero trust or high security",
            answer: "mTLS, with a JWT for the user where there is one",
            configurations: &["mtls", "layered"],
            relation: Relation::Agrees,
            difference: "",
        },
    ),
    (
        "partners",
        Guide {
            situation: "a partner integration with a fixed set of known partners",
            answer: "API keys with an address allowlist",
            configurations: &["api_key"],
            relation: Relation::Departs,
            difference: "authbench prefers mTLS with a certificate per partner. An allowlist stops a leaked key from working elsewhere, but not from inside the partner's network or from a shared cloud address range, and the key still travels with every request; a certificate's private key never travels. Measured: on kept-alive connections mTLS adds about what an API key adds (the mtls and api_key rows); a handshake per request is its real cost (the mtls-handshake row). Where a partner cannot present certificates, the guide's answer holds, and authbench checks it: keys scoped per partner application, served from the partner's addresses and refused from any other (api_key::allowlisted-key-refused-from-other-source), whatever address a request claims in X-Forwarded-For (api_key::allowlist-ignores-forwarded-for), with a refusal that does not tell a leaked key's holder the key is valid (api_key::allowlist-refusal-reveals-nothing), and each use in the key's usage report (api_key::key-usage-recorded).",
        },
    ),
    (
        "partners-user-data",
        Guide {
            situation: "partners reaching user data",
            answer: "OAuth 2.0",
            configurations: &["oauth2-jwt"],
            relation: Relation::Refines,
            difference: "authbench keeps OAuth 2.0 for the user and layers the partner's identity under it: mTLS for the partner's service and an API key for its application, with the user's token bound to that application (client_id/azp), so a token issued to one partner is refused from another. The layered row measures the three checks together.",
        },
    ),
];
