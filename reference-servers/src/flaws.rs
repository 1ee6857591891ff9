//! Deliberate misconfigurations the reference servers can be started with.
//!
//! Each flaw is one mistake a real deployment could make. The correct servers must
//! pass every conformance case; with a flaw switched on, the cases that name it must
//! fail. That matrix is how authbench proves each case detects what it claims.

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
        Flaw::JwtAcceptAlgNone,
        Flaw::JwtSkipExp,
        Flaw::JwtSkipAud,
        Flaw::JwtKeyConfusion,
        Flaw::JwtSkipSignature,
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
            Flaw::JwtAcceptAlgNone => "jwt-accept-alg-none",
            Flaw::JwtSkipExp => "jwt-skip-exp",
            Flaw::JwtSkipAud => "jwt-skip-aud",
            Flaw::JwtKeyConfusion => "jwt-key-confusion",
            Flaw::JwtSkipSignature => "jwt-skip-signature",
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

    /// One sentence saying what the flawed server does wrong.
    pub fn description(self) -> &'static str {
        match self {
            Flaw::BasicNoChallenge => {
                "Basic: 401 answers omit the WWW-Authenticate challenge (RFC 9110 §11.6.1)."
            }
            Flaw::BasicUserEnumeration => {
                "Basic: an unknown user gets a different body and skips the password hash, so users can be enumerated."
            }
            Flaw::NoChallenge => {
                "Every method: refusals carry no WWW-Authenticate challenge, as behind an error handler that writes a bare 401 (RFC 9110 §15.5.2); what is refused stays refused."
            }
            Flaw::ApiKeyAcceptRevoked => "API keys: revoked keys keep working.",
            Flaw::ApiKeyAcceptQuery => {
                "API keys: a key in the query string (?api_key=) is accepted, so keys leak into logs."
            }
            Flaw::ApiKeyPrefixMatch => {
                "API keys: a key is accepted when its public prefix matches, without comparing the secret part."
            }
            Flaw::ApiKeyTrustForwardedFor => {
                "API keys: invalid keys are throttled per the address in the client's own X-Forwarded-For, so a client that sends a new one with each request is never throttled (RFC 9700 §4.13: a proxy's headers must not come from the client)."
            }
            Flaw::JwtAcceptAlgNone => {
                "JWT: tokens with alg \"none\" in any casing are accepted unsigned (RFC 8725 §3.1)."
            }
            Flaw::JwtSkipExp => "JWT: exp is not required and expired tokens are accepted.",
            Flaw::JwtSkipAud => {
                "JWT: aud is not required or checked, so tokens for other services are accepted."
            }
            Flaw::JwtKeyConfusion => {
                "JWT: the RS256 resource also accepts HS256, using the RSA public key PEM as the HMAC secret."
            }
            Flaw::JwtSkipSignature => "JWT: signatures are not verified; claims are still checked.",
            Flaw::OauthAllowCodeReuse => {
                "OAuth: an authorization code can be redeemed again, and its tokens are not revoked (RFC 6749 §4.1.2)."
            }
            Flaw::OauthPkceOptional => {
                "OAuth: authorization requests without a PKCE code_challenge are accepted (RFC 9700 §2.1.1)."
            }
            Flaw::OauthAcceptPlainPkce => {
                "OAuth: code_challenge_method=plain is accepted (RFC 9700 §2.1.1)."
            }
            Flaw::OauthRedirectPrefixMatch => {
                "OAuth: any redirect URI that starts with a registered one is accepted (RFC 9700 §4.1.3)."
            }
            Flaw::OauthNoRefreshRotation => {
                "OAuth: refresh tokens are not rotated, so a stolen one is never detected (RFC 9700 §4.14.2)."
            }
            Flaw::OauthRevocationIgnored => {
                "OAuth: the revocation endpoint answers 200 but revokes nothing."
            }
            Flaw::OauthRsSkipAudience => {
                "OAuth: the resource server accepts tokens issued for another resource (RFC 8707)."
            }
            Flaw::OauthDpopSkipReplayCheck => {
                "OAuth: a DPoP proof can be replayed; its jti is not remembered (RFC 9449 §11.1)."
            }
            Flaw::MtlsSkipCrl => {
                "mTLS: the CRL is not consulted, so revoked client certificates work (RFC 5280 §6.3)."
            }
            Flaw::MtlsAcceptAnyCa => {
                "mTLS: client certificates are optional and unverified: any CA, or self-signed, is accepted."
            }
            Flaw::MtlsIgnoreEku => {
                "mTLS: certificates without the clientAuth extended key usage are accepted (RFC 5280 §4.2.1.12)."
            }
            Flaw::MtlsIgnoreExpiry => {
                "mTLS: expired and not yet valid client certificates are accepted (RFC 5280 §4.1.2.5)."
            }
            Flaw::MtlsTrustForwardedHeader => {
                "mTLS: X-Forwarded-Client-Cert or Client-Cert (RFC 9440) on the direct listener is trusted."
            }
            Flaw::MtlsSkipTokenBinding => {
                "mTLS: certificate-bound access tokens (RFC 8705 cnf x5t#S256) work over any certificate or none."
            }
            Flaw::LayeredSkipBinding => {
                "Layered: each layer is verified but not bound: a key of another application, a token for another application or a certificate of another service passes."
            }
            Flaw::LayeredAnyOneLayer => {
                "Layered: the resource is served when any one of certificate, API key and token is valid."
            }
            Flaw::LayeredVerboseRefusal => {
                "Layered: a refusal reports each layer's verdict, telling a caller which stolen credentials still work."
            }
            Flaw::OpenapiUnprotectedOperation => {
                "OpenAPI: GET /orders/{orderId} forgot its check: served without credentials, though the document requires a token (OWASP API2:2023)."
            }
            Flaw::OpenapiScopeNotEnforced => {
                "OpenAPI: GET /orders/{orderId} verifies the token but not the scope the document requires (RFC 6750 §3.1, OWASP API5:2023)."
            }
            Flaw::OpenapiAndAsOr => {
                "OpenAPI: GET /orders/{orderId}/invoice requires an API key and a token, and serves either alone."
            }
            Flaw::OpenapiOtherUsersObject => {
                "OpenAPI: an order and its invoice are served to any valid token, not only their owner's (OWASP API1:2023)."
            }
            Flaw::OauthStrictTokenParameters => {
                "OAuth: the token endpoint answers invalid_request to a parameter it does not know, where RFC 6749 §3.2 says to ignore it."
            }
            Flaw::OauthAnyResponseType => {
                "OAuth: the authorization endpoint issues a code for any response_type but token, unknown ones included (RFC 6749 §3.1.1)."
            }
            Flaw::OauthClientCredentialsRefresh => {
                "OAuth: the client credentials grant issues a refresh token too (RFC 6749 §4.4.3: it SHOULD NOT)."
            }
            Flaw::OauthLongLivedTokens => {
                "OAuth: access tokens live 24 hours (RFC 6819 §5.1.5.3 advises short lifetimes)."
            }
            Flaw::OauthFramablePages => {
                "OAuth: the login and consent pages carry neither X-Frame-Options nor CSP frame-ancestors, so another site can frame them (RFC 9700 §4.16)."
            }
            Flaw::OauthNoReferrerPolicy => {
                "OAuth: the login and consent pages set no Referrer-Policy, so their URL and its parameters can leak in Referer (RFC 9700 §4.2.4)."
            }
            Flaw::OauthShortOpaqueTokens => {
                "OAuth: opaque access tokens are 8 random characters, 48 bits, short enough to guess (RFC 6749 §10.10: at least 128)."
            }
            Flaw::OauthPkceChallengeAsVerifier => {
                "OAuth: a code_verifier equal to the S256 code_challenge is accepted, as if the method were plain (RFC 7636 §4.6; a PKCE downgrade, RFC 9700 §4.8)."
            }
            Flaw::OauthCodeExchangeWithoutAuth => {
                "OAuth: a confidential client's code is redeemed with client_id alone, without its secret (RFC 6749 §4.1.3)."
            }
            Flaw::OauthParWithoutClientAuth => {
                "OAuth: the PAR endpoint takes a push on the client_id alone, without client authentication (RFC 9126 §2.1)."
            }
            Flaw::OauthParAnyClient => {
                "OAuth: a request_uri pushed by one client is used with another client_id (RFC 9126 §4)."
            }
            Flaw::OauthParReusableRequestUri => {
                "OAuth: a request_uri that completed a flow can be used again (RFC 9126 §4 advises one use)."
            }
            Flaw::OauthParShortRequestUri => {
                "OAuth: the random part of a request_uri is 6 characters, guessable (RFC 9126 §2.2, §7.1)."
            }
            Flaw::OauthParRequestUriNeverExpires => {
                "OAuth: a request_uri still works after the expires_in the PAR response stated (RFC 9126 §2.2)."
            }
            Flaw::OauthParRequiredNotEnforced => {
                "OAuth: the metadata says require_pushed_authorization_requests, and plain authorization requests still yield codes (RFC 9126 §5)."
            }
            Flaw::OauthClientAssertionUnverified => {
                "OAuth: private_key_jwt assertions are read without verifying their signature, unsigned ones included (RFC 7523 §3 item 9)."
            }
            Flaw::OauthClientAssertionClaimsUnchecked => {
                "OAuth: private_key_jwt assertions are accepted whatever their exp, nbf, aud, iss, sub, iat and jti say (RFC 7523 §3)."
            }
            Flaw::OauthClientAssertionReplay => {
                "OAuth: a private_key_jwt assertion can be used again; its jti is not remembered (RFC 7523 §3 item 7)."
            }
            Flaw::OauthRevocationAnyClient => {
                "OAuth: the revocation endpoint revokes any token for anyone: no client authentication, no check that the token is the caller's (RFC 7009 §2.1)."
            }
            Flaw::OauthWeakClientSecret => {
                "OAuth: the main client's secret is a 13-character word, far under 128 bits (RFC 6749 §10.10, RFC 6819 §5.2.3.1)."
            }
            Flaw::OauthRsSkipSignature => {
                "OAuth: the resource server accepts JWT access tokens whose signature is stripped (alg none) or does not match their payload (RFC 9068 §4)."
            }
            Flaw::OauthDpopTokenEndpointLax => {
                "OAuth: at the token endpoint a DPoP proof's signature and jti go unchecked: unsigned, forged and jti-less proofs bind tokens (RFC 9449 §4.3)."
            }
            Flaw::OauthJarUnverified => {
                "OAuth: request objects (RFC 9101) are read without verifying their signature, unsigned ones included."
            }
            Flaw::OauthJarMergesQuery => {
                "OAuth: parameters outside the request object override those inside it (RFC 9101 §5: only the object's count)."
            }
            Flaw::OauthJarClientIdUnchecked => {
                "OAuth: a request object naming another client_id than the request's is used (RFC 9101 §5)."
            }
            Flaw::OauthJarRequiredNotEnforced => {
                "OAuth: the metadata says require_signed_request_object, and plain authorization requests still yield codes (RFC 9101 §10.5)."
            }
            Flaw::OauthRsAcceptQuery => {
                "OAuth: the resource server accepts an access token in the query string and answers without Cache-Control (RFC 9700 §4.3.2; RFC 6750 §2.3 asks for private)."
            }
            Flaw::OauthTrustForwardedHost => {
                "OAuth: the metadata's issuer and endpoints follow an X-Forwarded-Host the client sends, as behind a proxy that does not strip it (RFC 9700 §4.13)."
            }
            Flaw::OauthUnknownClientRedirects => {
                "OAuth: an authorization request from an unknown client is answered with a redirect to its redirect_uri (RFC 6749 §4.1.2.1: MUST NOT)."
            }
            Flaw::OauthAuthorizeCors => {
                "OAuth: the authorization endpoint and its pages send Access-Control-Allow-Origin: * (RFC 9700 §2.6: MUST NOT support CORS)."
            }
            Flaw::OauthErrorsBeforeLogin => {
                "OAuth: an erroneous authorization request (an unknown scope, response_type, PKCE method) is redirected to the client at once, before the user is authenticated (RFC 9700 §4.11.2)."
            }
            Flaw::OauthPublicClientIdOptional => {
                "OAuth: a public client's authorization code is exchanged without client_id, the client taken from the code itself, so nothing ties the exchange to the client that asked (RFC 6749 §4.1.3: client_id is REQUIRED of a client that does not authenticate)."
            }
            Flaw::OauthOpenRedirect => {
                "OAuth: the consent page's “Not you? Sign in as someone else” link (/oauth/switch-user) redirects to whatever return_to names, another site included: an open redirector on the authorization server's domain (RFC 9700 §2.1: MUST NOT)."
            }
            Flaw::OauthLogin307 => {
                "OAuth: when a signed-in user's request is redirected to the client straight after the login (an erroneous request), the answer to the login POST is a 307, so the browser posts the username and password to the client (RFC 9700 §4.12: MUST NOT)."
            }
            Flaw::OauthLogin302 => {
                "OAuth: when a signed-in user's request is redirected to the client straight after the login (an erroneous request), the answer to the login POST is a 302, not the 303 RFC 9700 §4.12 asks for (SHOULD)."
            }
            Flaw::OauthLoopbackExactPort => {
                "OAuth: a native app's loopback redirect URI (http://127.0.0.1/callback) is compared exactly, port included, so the app cannot use the free port it was given (RFC 8252 §7.3, RFC 9700 §4.1.3: MUST allow any port)."
            }
            Flaw::OauthRedirectSchemeLax => {
                "OAuth: a redirect URI registered with https also matches the same URI over plain http, so codes travel unencrypted (RFC 9700 §2.6: MUST NOT allow http redirect URIs but loopback)."
            }
            Flaw::OauthRefreshAnyResource => {
                "OAuth: a refresh request naming another resource (RFC 8707) gets an access token for it, though the grant never covered it (RFC 9700 §4.14.2: refresh tokens MUST be bound to the scope and resource servers consented to)."
            }
            Flaw::OauthRefreshTruncated => {
                "OAuth: refresh tokens are stored and looked up by their first 40 characters, as a silently truncating database column does, so an altered refresh token still refreshes (RFC 9700 §4.14.2: the AS MUST protect refresh tokens' integrity)."
            }
            Flaw::OauthSubIsClient => {
                "OAuth: access tokens issued for a user carry the client's id as their sub, the same sub as the client's own client-credentials tokens, so a resource server cannot tell a client acting for itself from a user (RFC 9700 §4.15, RFC 9068 §2.2)."
            }
            Flaw::TlsLegacyVersions => {
                "Transport: a ClientHello offering only TLS 1.0/1.1 is answered with a ServerHello agreeing to it, as an old TLS stack would (RFC 8996); the handshake goes no further."
            }
            Flaw::TlsWeakCiphers => {
                "Transport: a ClientHello offering only NULL, RC4, export, DES or anonymous suites is answered with a ServerHello choosing one (RFC 9325 §4.1); the handshake goes no further."
            }
            Flaw::TlsPlainHttp => {
                "Transport: both listeners also speak plain HTTP on their port, so credentials can travel in clear (RFC 6749 §3.1)."
            }
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
