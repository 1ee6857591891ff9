//! The "to obtain / renew" column, counted: each method's flow run once
//! against the reference servers with a client that records every request,
//! so the column says how many round trips and endpoints a client needs
//! before its first authenticated request, and to get a new credential.
//!
//! Discovery (the authorization server's metadata) is not counted: a client
//! fetches it once, not per credential. A flow that cannot run (no token
//! endpoint in the profile, no login for the code flow) leaves its rows
//! "not measured" rather than guessing.

use std::collections::BTreeMap;

use authbench_reports::compare::{Complexity, Exchanges};
use base64::Engine as _;

use crate::client::{RawRequest, Recorder};
use crate::methods::oauth2::{DpopKey, Session, Tokens, dpop_tokens};
use crate::methods::{Shared, Target};

fn exchanges(recorded: Vec<String>) -> Exchanges {
    let mut endpoints: Vec<String> = Vec::new();
    for r in &recorded {
        if !endpoints.contains(r) {
            endpoints.push(r.clone());
        }
    }
    Exchanges { requests: recorded.len() as u32, endpoints }
}

fn none(handshake: bool, note: &str) -> Complexity {
    Complexity {
        obtain: Exchanges { requests: 0, endpoints: Vec::new() },
        renew: None,
        handshake,
        note: Some(note.to_owned()),
    }
}

/// The complexity of every configuration label that could be measured.
pub(super) async fn measure(
    shared: &Shared,
    recorder: &Recorder,
) -> BTreeMap<&'static str, Complexity> {
    let target = shared.forge.target();
    let mut out = BTreeMap::new();
    if target.basic.is_some() {
        let c = none(false, "the password is the credential: nothing to obtain");
        out.insert("basic", c.clone());
        out.insert("basic-cached", c);
    }
    if target.api_key.is_some() {
        out.insert("api_key", none(false, "the key is issued out of band (admin API, dashboard)"));
    }
    if let Some(c) = jwt(shared, target, recorder).await {
        for label in ["jwt-hs256", "jwt-rs256", "jwt-es256", "jwt-eddsa"] {
            out.insert(label, c.clone());
        }
        if target.mtls.is_some() && target.api_key.is_some() {
            out.insert("layered", Complexity { handshake: true, ..c });
        }
    }
    if target.oauth2.is_some() {
        recorder.take();
        if let Ok(session) = Session::open(shared).await {
            if let Some(c) = oauth2(&session, recorder).await {
                out.insert("oauth2-jwt", c.clone());
                out.insert("oauth2-opaque", c);
            }
            if let Some(c) = dpop(&session, recorder).await {
                out.insert("oauth2-dpop", c);
            }
        }
    }
    if target.mtls.is_some() {
        let c =
            none(true, "the certificate is issued out of band and presented in every handshake");
        out.insert("mtls", c.clone());
        out.insert("mtls-handshake", c);
    }
    out
}

/// A flow that renews by running again: `flow` twice, each counted.
async fn twice<F, Fut>(recorder: &Recorder, note: &str, flow: F) -> Option<Complexity>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<()>>,
{
    recorder.take();
    flow().await?;
    let obtain = exchanges(recorder.take());
    flow().await?;
    let renew = exchanges(recorder.take());
    Some(Complexity { obtain, renew: Some(renew), handshake: false, note: Some(note.to_owned()) })
}

/// A token from the profile's `[jwt] token_url` with the `[basic]` user's
/// credentials; renewal is the same request.
async fn jwt(shared: &Shared, target: &Target, recorder: &Recorder) -> Option<Complexity> {
    let url = target.jwt.as_ref()?.token_url.clone()?;
    let basic = target.basic.as_ref()?;
    let credentials = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", basic.username, basic.password));
    let request = RawRequest::form(url, &[("scope", "read")])
        .header("Authorization", format!("Basic {credentials}"));
    twice(recorder, "a token for the user's password at the token endpoint", || async {
        let r = shared.client.send(&request).await.ok()?;
        r.json()?.get("access_token")?.as_str().map(drop)
    })
    .await
}

/// The authorization-code flow with login (and consent) where the profile
/// can log in, else client credentials; renewal with the refresh token.
async fn oauth2(session: &Session<'_>, recorder: &Recorder) -> Option<Complexity> {
    recorder.take();
    let (tokens, note) = if session.t.login.is_some() {
        (session.code_flow().await.ok()?, "authorization code with PKCE, login and consent")
    } else {
        (session.client_credentials().await.ok()?, "client credentials (the profile has no login)")
    };
    let obtain = exchanges(recorder.take());
    let renew = match &tokens.refresh_token {
        Some(refresh) => {
            let fields = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
            let r = session.token(&fields, &session.client_auth()).await.ok()?;
            Tokens::from_response(&r)?;
            exchanges(recorder.take())
        }
        // Without a refresh token, a new credential is the whole flow again.
        None => {
            if session.t.login.is_some() {
                session.code_flow().await.ok()?;
            } else {
                session.client_credentials().await.ok()?;
            }
            exchanges(recorder.take())
        }
    };
    let renew = Some(renew);
    Some(Complexity { obtain, renew, handshake: false, note: Some(note.to_owned()) })
}

/// A DPoP-bound token (a nonce challenge, when the server makes one, is a
/// round trip of its own).
async fn dpop(session: &Session<'_>, recorder: &Recorder) -> Option<Complexity> {
    let key = DpopKey::generate().ok()?;
    twice(recorder, "a DPoP-bound token; renewed by the same flow", || async {
        dpop_tokens(session, &key).await.ok().map(drop)
    })
    .await
}
