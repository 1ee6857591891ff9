//! An OAuth client authbench did not write — the `oauth2` crate — completes the
//! authorization code flow with PKCE against the reference server: its own
//! authorization URL, PKCE, state and token request (client_secret_basic with
//! form-urlencoding), our HTML forms walked in between as a browser would.

#![allow(clippy::unwrap_used)]

mod common;

use common::oauth::*;
use common::*;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge, RedirectUrl,
    Scope, TokenResponse, TokenUrl,
};

#[tokio::test]
async fn the_oauth2_crate_completes_the_code_flow_with_pkce() {
    let s = TestServer::start(&[]).await;
    let b = Browser::new(&s);
    let issuer = oauth(&s, "issuer");
    let client = BasicClient::new(ClientId::new(oauth(&s, "client_id")))
        .set_client_secret(ClientSecret::new(oauth(&s, "client_secret")))
        .set_auth_uri(AuthUrl::new(format!("{issuer}/oauth/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(format!("{issuer}/oauth/token")).unwrap())
        .set_redirect_uri(RedirectUrl::new(oauth(&s, "redirect_uri")).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".to_owned()))
        .set_pkce_challenge(challenge)
        .url();

    // The user's browser: the login and consent forms.
    let query = approve_at(&s, &b, b.http.get(auth_url.as_str())).await;
    assert_eq!(param(&query, "state"), Some(csrf.secret().as_str()));
    let code = param(&query, "code").unwrap().to_owned();

    // The client library's own token request, over our HTTPS client.
    let http = b.http.clone();
    let send = move |request: oauth2::HttpRequest| {
        let http = http.clone();
        async move {
            let response = http.execute(reqwest::Request::try_from(request)?).await?;
            let mut out = oauth2::HttpResponse::new(Vec::new());
            *out.status_mut() = response.status();
            *out.headers_mut() = response.headers().clone();
            *out.body_mut() = response.bytes().await?.to_vec();
            Ok::<_, reqwest::Error>(out)
        }
    };
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&send)
        .await
        .unwrap();
    assert!(token.refresh_token().is_some());
    let access = token.access_token().secret();
    assert_eq!(call(&s, &b, "/oauth/resource", access).await.status, 200);
    s.stop().await;
}
