//! Deliberate misconfigurations the reference servers can be started with.
//!
//! Each flaw is one mistake a real deployment could make. The correct servers must
//! pass every conformance case; with a flaw switched on, the cases that name it must
//! fail. That matrix is how authbench proves each case detects what it claims.

mod descriptions;

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// One deliberate misconfiguration of a reference server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Flaw {
    /// Basic: 401 answers carry no `WWW-Authenticate` challenge.
    BasicNoChallenge,
    /// Basic: an unknown user gets a different, faster answer than a wrong password.
    BasicUserEnumeration,
    /// Every method: answers lose their `WWW-Authenticate` challenge, as behind
    /// an error handler that writes its own bare 401 (a form flaw only).
    NoChallenge,
    /// API keys: a revoked key is still accepted.
    ApiKeyAcceptRevoked,
    /// API keys: a key in the query string is accepted.
    ApiKeyAcceptQuery,
    /// API keys: a key is looked up and accepted by its public prefix alone.
    ApiKeyPrefixMatch,
    /// API keys: invalid keys are counted against the client's X-Forwarded-For.
    ApiKeyTrustForwardedFor,
    /// API keys: a key's source-address allowlist is not checked.
    ApiKeyIgnoreAllowlist,
    /// API keys: a valid key from a refused address gets 403 saying so.
    ApiKeyAllowlistRevealsKey,
    /// API keys: the allowlist is checked against the client's X-Forwarded-For.
    ApiKeyAllowlistTrustsForwardedFor,
    /// API keys: uses of a key are not recorded in its usage.
    ApiKeyUsageUntracked,
    /// JWT: `alg: none` (any casing) is accepted without a signature.
    JwtAcceptAlgNone,
    /// JWT: `exp` is neither required nor checked.
    JwtSkipExp,
    /// JWT: `aud` is neither required nor checked.
    JwtSkipAud,
    /// JWT: an HS256 token is verified with the RSA public key (PEM text) as the HMAC secret.
    JwtKeyConfusion,
    /// JWT: the signature is not verified at all.
    JwtSkipSignature,
    /// JWT: ES256 signatures whose r and s are 0 modulo n verify.
    JwtEcdsaPsychic,
    /// JWT: a token's `jku` or `x5u` (on loopback) is fetched and its key trusted.
    JwtFollowJku,
    /// JWT: the HS256 resource also accepts tokens MACed with a well-known default secret.
    JwtDefaultHmacSecret,
    /// JWT: the key is looked up with a shell command built from `kid` (simulated).
    JwtKidCommand,
    /// JWT: two published EC keys share one kid.
    JwtJwksDuplicateKid,
    /// JWT: the published key set carries a 1024-bit RSA key.
    JwtJwksWeakKey,
    /// JWT: the published ES256 key is labelled P-384.
    JwtJwksMalformedKey,
    /// JWT: the published key set holds the HS256 secret.
    JwtJwksPrivateMembers,
    /// OAuth: an authorization code can be redeemed more than once.
    OauthAllowCodeReuse,
    /// OAuth: authorization requests without PKCE are accepted.
    OauthPkceOptional,
    /// OAuth: `code_challenge_method=plain` is accepted.
    OauthAcceptPlainPkce,
    /// OAuth: a redirect URI matches when it starts with a registered one.
    OauthRedirectPrefixMatch,
    /// OAuth: refresh tokens are not rotated and their reuse goes unnoticed.
    OauthNoRefreshRotation,
    /// OAuth: the revocation endpoint answers 200 and revokes nothing.
    OauthRevocationIgnored,
    /// OAuth: the resource server accepts tokens issued for other audiences.
    OauthRsSkipAudience,
    /// OAuth: DPoP proofs are not checked for replay.
    OauthDpopSkipReplayCheck,
    /// mTLS: the CRL is not checked; revoked certificates work.
    MtlsSkipCrl,
    /// mTLS: any certificate, from any CA or self-signed, is accepted (and none is required).
    MtlsAcceptAnyCa,
    /// mTLS: certificates without the clientAuth extended key usage are accepted.
    MtlsIgnoreEku,
    /// mTLS: expired and not yet valid certificates are accepted.
    MtlsIgnoreExpiry,
    /// mTLS: a forwarded-certificate header on the direct listener is trusted.
    MtlsTrustForwardedHeader,
    /// mTLS: certificate-bound OAuth tokens are accepted over any certificate, or none.
    MtlsSkipTokenBinding,
    /// Layered: the certificate, key and token are each checked, but not that they belong together.
    LayeredSkipBinding,
    /// Layered: any one valid layer is enough.
    LayeredAnyOneLayer,
    /// Layered: a refusal reports every layer's verdict, the passed ones too.
    LayeredVerboseRefusal,
    /// OpenAPI: one operation (an order) forgot its check and serves anyone.
    OpenapiUnprotectedOperation,
    /// OpenAPI: one operation (an order) checks the token but not its scope.
    OpenapiScopeNotEnforced,
    /// OpenAPI: an operation requiring an API key AND a token takes either.
    OpenapiAndAsOr,
    /// OpenAPI: an order is served to any valid token, its owner's or not.
    OpenapiOtherUsersObject,
    /// OAuth: the token endpoint refuses parameters it does not know.
    OauthStrictTokenParameters,
    /// OAuth: any response_type but `token` is served as `code`.
    OauthAnyResponseType,
    /// OAuth: the client credentials grant issues refresh tokens.
    OauthClientCredentialsRefresh,
    /// OAuth: access tokens live a day.
    OauthLongLivedTokens,
    /// OAuth: the login and consent pages can be framed.
    OauthFramablePages,
    /// OAuth: the login and consent pages set no referrer policy.
    OauthNoReferrerPolicy,
    /// OAuth: opaque access tokens carry 48 bits.
    OauthShortOpaqueTokens,
    /// OAuth: the S256 challenge itself passes as the verifier.
    OauthPkceChallengeAsVerifier,
    /// OAuth: a confidential client redeems codes with its client_id alone.
    OauthCodeExchangeWithoutAuth,
    /// OAuth: pushed requests are accepted without client authentication.
    OauthParWithoutClientAuth,
    /// OAuth: any client can use another's request_uri.
    OauthParAnyClient,
    /// OAuth: a request_uri can be used again.
    OauthParReusableRequestUri,
    /// OAuth: request_uri values carry 36 bits.
    OauthParShortRequestUri,
    /// OAuth: a `request_uri` naming an http URL (on loopback) is fetched.
    OauthFetchRequestUri,
    /// OAuth: a client assertion's `jku`/`x5u` (on loopback) is fetched.
    OauthAssertionFollowJku,
    /// OAuth: a request_uri outlives its expires_in.
    OauthParRequestUriNeverExpires,
    /// OAuth: the metadata requires PAR and the AS does not enforce it.
    OauthParRequiredNotEnforced,
    /// OAuth: client assertions are read without verifying their signature.
    OauthClientAssertionUnverified,
    /// OAuth: client assertions' claims (exp, nbf, aud, iss, sub, iat, jti) are not checked.
    OauthClientAssertionClaimsUnchecked,
    /// OAuth: a client assertion can be used again.
    OauthClientAssertionReplay,
    /// OAuth: anyone can revoke any token.
    OauthRevocationAnyClient,
    /// OAuth: the main client's secret is short and guessable.
    OauthWeakClientSecret,
    /// OAuth: the resource server reads JWT access tokens without verifying them.
    OauthRsSkipSignature,
    /// OAuth: DPoP proofs at the token endpoint are not verified.
    OauthDpopTokenEndpointLax,
    /// OAuth: request objects are read without verifying their signature.
    OauthJarUnverified,
    /// OAuth: query parameters override the request object's.
    OauthJarMergesQuery,
    /// OAuth: the request object's client_id is not compared with the request's.
    OauthJarClientIdUnchecked,
    /// OAuth: the metadata requires signed request objects and the AS does not.
    OauthJarRequiredNotEnforced,
    /// OAuth: the resource takes a token from the query string, and its answer is cacheable.
    OauthRsAcceptQuery,
    /// OAuth: the metadata is built from the client's X-Forwarded-Host.
    OauthTrustForwardedHost,
    /// OAuth: an unknown client's redirect_uri gets the error redirect.
    OauthUnknownClientRedirects,
    /// OAuth: the authorization endpoint answers CORS requests.
    OauthAuthorizeCors,
    /// OAuth: erroneous authorization requests are redirected before the user signs in.
    OauthErrorsBeforeLogin,
    /// OAuth: a public client's code is redeemed without client_id.
    OauthPublicClientIdOptional,
    /// OAuth: "Not you?" redirects to any return_to URL.
    OauthOpenRedirect,
    /// OAuth: the login's submission is redirected with 307 (the browser re-posts the password).
    OauthLogin307,
    /// OAuth: the login's submission is redirected with 302, not 303.
    OauthLogin302,
    /// OAuth: a native app's loopback redirect URI must carry its registered port.
    OauthLoopbackExactPort,
    /// OAuth: a registered https redirect URI also matches its http form.
    OauthRedirectSchemeLax,
    /// OAuth: a refresh issues tokens for any resource it names.
    OauthRefreshAnyResource,
    /// OAuth: refresh tokens count only by their first 40 characters.
    OauthRefreshTruncated,
    /// OAuth: a user's access tokens name the client as their sub.
    OauthSubIsClient,
    /// Transport: a ClientHello offering only TLS 1.0/1.1 gets a ServerHello.
    TlsLegacyVersions,
    /// Transport: a ClientHello offering only forbidden suites gets a ServerHello.
    TlsWeakCiphers,
    /// Transport: plain HTTP is served on the HTTPS ports too.
    TlsPlainHttp,
}

impl Flaw {
    /// Every flaw, in the order `--list-flaws` prints them.
    pub const ALL: &'static [Flaw] = &[
        Flaw::BasicNoChallenge,
        Flaw::BasicUserEnumeration,
        Flaw::NoChallenge,
        Flaw::ApiKeyAcceptRevoked,
        Flaw::ApiKeyAcceptQuery,
        Flaw::ApiKeyPrefixMatch,
        Flaw::ApiKeyTrustForwardedFor,
        Flaw::ApiKeyIgnoreAllowlist,
        Flaw::ApiKeyAllowlistRevealsKey,
        Flaw::ApiKeyAllowlistTrustsForwardedFor,
        Flaw::ApiKeyUsageUntracked,
        Flaw::JwtAcceptAlgNone,
        Flaw::JwtSkipExp,
        Flaw::JwtSkipAud,
        Flaw::JwtKeyConfusion,
        Flaw::JwtSkipSignature,
        Flaw::JwtEcdsaPsychic,
        Flaw::JwtFollowJku,
        Flaw::JwtDefaultHmacSecret,
        Flaw::JwtKidCommand,
        Flaw::JwtJwksDuplicateKid,
        Flaw::JwtJwksWeakKey,
        Flaw::JwtJwksMalformedKey,
        Flaw::JwtJwksPrivateMembers,
        Flaw::OauthAllowCodeReuse,
        Flaw::OauthPkceOptional,
        Flaw::OauthAcceptPlainPkce,
        Flaw::OauthRedirectPrefixMatch,
        Flaw::OauthNoRefreshRotation,
        Flaw::OauthRevocationIgnored,
        Flaw::OauthRsSkipAudience,
        Flaw::OauthDpopSkipReplayCheck,
        Flaw::MtlsSkipCrl,
        Flaw::MtlsAcceptAnyCa,
        Flaw::MtlsIgnoreEku,
        Flaw::MtlsIgnoreExpiry,
        Flaw::MtlsTrustForwardedHeader,
        Flaw::MtlsSkipTokenBinding,
        Flaw::LayeredSkipBinding,
        Flaw::LayeredAnyOneLayer,
        Flaw::LayeredVerboseRefusal,
        Flaw::OpenapiUnprotectedOperation,
        Flaw::OpenapiScopeNotEnforced,
        Flaw::OpenapiAndAsOr,
        Flaw::OpenapiOtherUsersObject,
        Flaw::OauthStrictTokenParameters,
        Flaw::OauthAnyResponseType,
        Flaw::OauthClientCredentialsRefresh,
        Flaw::OauthLongLivedTokens,
        Flaw::OauthFramablePages,
        Flaw::OauthNoReferrerPolicy,
        Flaw::OauthShortOpaqueTokens,
        Flaw::OauthPkceChallengeAsVerifier,
        Flaw::OauthCodeExchangeWithoutAuth,
        Flaw::OauthParWithoutClientAuth,
        Flaw::OauthParAnyClient,
        Flaw::OauthParReusableRequestUri,
        Flaw::OauthParShortRequestUri,
        Flaw::OauthFetchRequestUri,
        Flaw::OauthAssertionFollowJku,
        Flaw::OauthParRequestUriNeverExpires,
        Flaw::OauthParRequiredNotEnforced,
        Flaw::OauthClientAssertionUnverified,
        Flaw::OauthClientAssertionClaimsUnchecked,
        Flaw::OauthClientAssertionReplay,
        Flaw::OauthRevocationAnyClient,
        Flaw::OauthWeakClientSecret,
        Flaw::OauthRsSkipSignature,
        Flaw::OauthDpopTokenEndpointLax,
        Flaw::OauthJarUnverified,
        Flaw::OauthJarMergesQuery,
        Flaw::OauthJarClientIdUnchecked,
        Flaw::OauthJarRequiredNotEnforced,
        Flaw::OauthRsAcceptQuery,
        Flaw::OauthTrustForwardedHost,
        Flaw::OauthUnknownClientRedirects,
        Flaw::OauthAuthorizeCors,
        Flaw::OauthErrorsBeforeLogin,
        Flaw::OauthPublicClientIdOptional,
        Flaw::OauthOpenRedirect,
        Flaw::OauthLogin307,
        Flaw::OauthLogin302,
        Flaw::OauthLoopbackExactPort,
        Flaw::OauthRedirectSchemeLax,
        Flaw::OauthRefreshAnyResource,
        Flaw::OauthRefreshTruncated,
        Flaw::OauthSubIsClient,
        Flaw::TlsLegacyVersions,
        Flaw::TlsWeakCiphers,
        Flaw::TlsPlainHttp,
    ];

    /// The flaw's stable name, as given to `serve --flaw`.
    pub fn name(self) -> &'static str {
        match self {
            Flaw::BasicNoChallenge => "basic-no-challenge",
            Flaw::BasicUserEnumeration => "basic-user-enumeration",
            Flaw::NoChallenge => "no-challenge",
            Flaw::ApiKeyAcceptRevoked => "api-key-accept-revoked",
            Flaw::ApiKeyAcceptQuery => "api-key-accept-query",
            Flaw::ApiKeyPrefixMatch => "api-key-prefix-match",
            Flaw::ApiKeyTrustForwardedFor => "api-key-trust-forwarded-for",
            Flaw::ApiKeyIgnoreAllowlist => "api-key-ignore-allowlist",
            Flaw::ApiKeyAllowlistRevealsKey => "api-key-allowlist-reveals-key",
            Flaw::ApiKeyAllowlistTrustsForwardedFor => "api-key-allowlist-trusts-forwarded-for",
            Flaw::ApiKeyUsageUntracked => "api-key-usage-untracked",
            Flaw::JwtAcceptAlgNone => "jwt-accept-alg-none",
            Flaw::JwtSkipExp => "jwt-skip-exp",
            Flaw::JwtSkipAud => "jwt-skip-aud",
            Flaw::JwtKeyConfusion => "jwt-key-confusion",
            Flaw::JwtSkipSignature => "jwt-skip-signature",
            Flaw::JwtEcdsaPsychic => "jwt-ecdsa-psychic",
            Flaw::JwtFollowJku => "jwt-follow-jku",
            Flaw::JwtDefaultHmacSecret => "jwt-default-hmac-secret",
            Flaw::JwtKidCommand => "jwt-kid-command",
            Flaw::JwtJwksDuplicateKid => "jwt-jwks-duplicate-kid",
            Flaw::JwtJwksWeakKey => "jwt-jwks-weak-key",
            Flaw::JwtJwksMalformedKey => "jwt-jwks-malformed-key",
            Flaw::JwtJwksPrivateMembers => "jwt-jwks-private-members",
            Flaw::OauthAllowCodeReuse => "oauth-allow-code-reuse",
            Flaw::OauthPkceOptional => "oauth-pkce-optional",
            Flaw::OauthAcceptPlainPkce => "oauth-accept-plain-pkce",
            Flaw::OauthRedirectPrefixMatch => "oauth-redirect-prefix-match",
            Flaw::OauthNoRefreshRotation => "oauth-no-refresh-rotation",
            Flaw::OauthRevocationIgnored => "oauth-revocation-ignored",
            Flaw::OauthRsSkipAudience => "oauth-rs-skip-audience",
            Flaw::OauthDpopSkipReplayCheck => "oauth-dpop-skip-replay-check",
            Flaw::MtlsSkipCrl => "mtls-skip-crl",
            Flaw::MtlsAcceptAnyCa => "mtls-accept-any-ca",
            Flaw::MtlsIgnoreEku => "mtls-ignore-eku",
            Flaw::MtlsIgnoreExpiry => "mtls-ignore-expiry",
            Flaw::MtlsTrustForwardedHeader => "mtls-trust-forwarded-header",
            Flaw::MtlsSkipTokenBinding => "mtls-skip-token-binding",
            Flaw::LayeredSkipBinding => "layered-skip-binding",
            Flaw::LayeredAnyOneLayer => "layered-any-one-layer",
            Flaw::LayeredVerboseRefusal => "layered-verbose-refusal",
            Flaw::OpenapiUnprotectedOperation => "openapi-unprotected-operation",
            Flaw::OpenapiScopeNotEnforced => "openapi-scope-not-enforced",
            Flaw::OpenapiAndAsOr => "openapi-and-as-or",
            Flaw::OpenapiOtherUsersObject => "openapi-other-users-object",
            Flaw::OauthStrictTokenParameters => "oauth-strict-token-parameters",
            Flaw::OauthAnyResponseType => "oauth-any-response-type",
            Flaw::OauthClientCredentialsRefresh => "oauth-client-credentials-refresh",
            Flaw::OauthLongLivedTokens => "oauth-long-lived-tokens",
            Flaw::OauthFramablePages => "oauth-framable-pages",
            Flaw::OauthNoReferrerPolicy => "oauth-no-referrer-policy",
            Flaw::OauthShortOpaqueTokens => "oauth-short-opaque-tokens",
            Flaw::OauthPkceChallengeAsVerifier => "oauth-pkce-challenge-as-verifier",
            Flaw::OauthCodeExchangeWithoutAuth => "oauth-code-exchange-without-auth",
            Flaw::OauthParWithoutClientAuth => "oauth-par-without-client-auth",
            Flaw::OauthParAnyClient => "oauth-par-any-client",
            Flaw::OauthParReusableRequestUri => "oauth-par-reusable-request-uri",
            Flaw::OauthParShortRequestUri => "oauth-par-short-request-uri",
            Flaw::OauthFetchRequestUri => "oauth-fetch-request-uri",
            Flaw::OauthAssertionFollowJku => "oauth-assertion-follow-jku",
            Flaw::OauthParRequestUriNeverExpires => "oauth-par-request-uri-never-expires",
            Flaw::OauthParRequiredNotEnforced => "oauth-par-required-not-enforced",
            Flaw::OauthClientAssertionUnverified => "oauth-client-assertion-unverified",
            Flaw::OauthClientAssertionClaimsUnchecked => "oauth-client-assertion-claims-unchecked",
            Flaw::OauthClientAssertionReplay => "oauth-client-assertion-replay",
            Flaw::OauthRevocationAnyClient => "oauth-revocation-any-client",
            Flaw::OauthWeakClientSecret => "oauth-weak-client-secret",
            Flaw::OauthRsSkipSignature => "oauth-rs-skip-signature",
            Flaw::OauthDpopTokenEndpointLax => "oauth-dpop-token-endpoint-lax",
            Flaw::OauthJarUnverified => "oauth-jar-unverified",
            Flaw::OauthJarMergesQuery => "oauth-jar-merges-query",
            Flaw::OauthJarClientIdUnchecked => "oauth-jar-client-id-unchecked",
            Flaw::OauthJarRequiredNotEnforced => "oauth-jar-required-not-enforced",
            Flaw::OauthRsAcceptQuery => "oauth-rs-accept-query",
            Flaw::OauthTrustForwardedHost => "oauth-trust-forwarded-host",
            Flaw::OauthUnknownClientRedirects => "oauth-unknown-client-redirects",
            Flaw::OauthAuthorizeCors => "oauth-authorize-cors",
            Flaw::OauthErrorsBeforeLogin => "oauth-errors-before-login",
            Flaw::OauthPublicClientIdOptional => "oauth-public-client-id-optional",
            Flaw::OauthOpenRedirect => "oauth-open-redirect",
            Flaw::OauthLogin307 => "oauth-login-307",
            Flaw::OauthLogin302 => "oauth-login-302",
            Flaw::OauthLoopbackExactPort => "oauth-loopback-exact-port",
            Flaw::OauthRedirectSchemeLax => "oauth-redirect-scheme-lax",
            Flaw::OauthRefreshAnyResource => "oauth-refresh-any-resource",
            Flaw::OauthRefreshTruncated => "oauth-refresh-truncated",
            Flaw::OauthSubIsClient => "oauth-sub-is-client",
            Flaw::TlsLegacyVersions => "tls-legacy-versions",
            Flaw::TlsWeakCiphers => "tls-weak-ciphers",
            Flaw::TlsPlainHttp => "tls-plain-http",
        }
    }
}

impl fmt::Display for Flaw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name given to `--flaw` that is not a known flaw.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown flaw `{name}`; `authbench serve --list-flaws` lists the flaws")]
pub struct UnknownFlaw {
    /// The name as given.
    pub name: String,
}

impl FromStr for Flaw {
    type Err = UnknownFlaw;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Flaw::ALL
            .iter()
            .copied()
            .find(|flaw| flaw.name() == s)
            .ok_or_else(|| UnknownFlaw { name: s.to_owned() })
    }
}

/// The set of flaws a server runs with; empty for the correct servers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flaws(BTreeSet<Flaw>);

impl Flaws {
    /// No flaws: the RFC-exact servers.
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether `flaw` is switched on.
    pub fn has(&self, flaw: Flaw) -> bool {
        self.0.contains(&flaw)
    }

    /// The flaws switched on, in a stable order.
    pub fn iter(&self) -> impl Iterator<Item = Flaw> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<Flaw> for Flaws {
    fn from_iter<I: IntoIterator<Item = Flaw>>(iter: I) -> Self {
        Flaws(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flaw_round_trips_through_its_name() {
        for flaw in Flaw::ALL {
            assert_eq!(flaw.name().parse::<Flaw>(), Ok(*flaw));
            assert!(flaw.description().ends_with('.'), "{flaw}");
        }
    }

    #[test]
    fn unknown_names_are_refused() {
        let err = "jwt-accept-everything".parse::<Flaw>().unwrap_err();
        assert!(err.to_string().contains("--list-flaws"));
    }
}
