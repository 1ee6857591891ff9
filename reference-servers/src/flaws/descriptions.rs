//! What each flaw does wrong, in one sentence (`serve --list-flaws`).

use super::Flaw;

impl Flaw {
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
            Flaw::ApiKeyIgnoreAllowlist => {
                "API keys: a key's source-address allowlist is never checked, so a leaked partner key works from anywhere."
            }
            Flaw::ApiKeyAllowlistRevealsKey => {
                "API keys: a valid key from an address its allowlist refuses gets 403 \"valid but not from your address\", while invalid keys get 401, so a leaked key's holder learns it works."
            }
            Flaw::ApiKeyAllowlistTrustsForwardedFor => {
                "API keys: the allowlist is checked against the client's own X-Forwarded-For, so any client claiming an allowed address passes it."
            }
            Flaw::ApiKeyUsageUntracked => {
                "API keys: a key's uses are not recorded, so its usage report never changes and its owner cannot spot misuse."
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
            Flaw::JwtDefaultHmacSecret => {
                "JWT: the HS256 resource also accepts tokens MACed with a well-known default secret, as code does that falls back to an example secret when none is configured."
            }
            Flaw::JwtKidCommand => {
                "JWT: the key is looked up with a shell command built from the token's kid, simulated: a kid that would run curl or wget has its (loopback) URL fetched; nothing is executed."
            }
            Flaw::JwtFollowJku => {
                "JWT: the key set at a token's jku URL, or the certificate at its x5u URL, is fetched and trusted to verify that token (loopback URLs only, so a flawed server cannot be aimed at the network)."
            }
            Flaw::JwtEcdsaPsychic => {
                "JWT: the ES256 verifier does not check 0 < r, s < n, so a signature with r and s each 0 or n verifies for any token, as in CVE-2022-21449 (“psychic signatures”)."
            }
            Flaw::JwtJwksDuplicateKid => {
                "JWT: a second P-256 key (a rotated one) is published under the kid of the current ES256 key (RFC 7517 §4.5: distinct kids)."
            }
            Flaw::JwtJwksWeakKey => {
                "JWT: the published key set also carries a legacy 1024-bit RSA key (RFC 7518 §3.3: 2048 bits or more)."
            }
            Flaw::JwtJwksMalformedKey => {
                "JWT: the published ES256 key says crv P-384 while its coordinates are P-256's, so a verifier importing the set refuses it or misreads it (RFC 7518 §6.2.1)."
            }
            Flaw::JwtJwksPrivateMembers => {
                "JWT: the published key set (JWKS) also carries the HS256 secret as an oct key, so anyone can sign tokens the HS256 resource accepts (OpenID Connect Discovery 1.0 §3: the set MUST NOT contain private or symmetric keys)."
            }
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
            Flaw::OauthAssertionFollowJku => {
                "OAuth: the jku or x5u in a client assertion's header is fetched at the token endpoint before the assertion is checked against the registered key (loopback URLs only)."
            }
            Flaw::OauthFetchRequestUri => {
                "OAuth: a request_uri that is an http URL is fetched, at the authorization endpoint and the PAR endpoint, before the request is refused (loopback URLs only)."
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
