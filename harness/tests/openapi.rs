//! The reference servers' own OpenAPI document, read by the harness's
//! reader: served and written alike, every scheme type declared, and each
//! resource of the profile the servers write described with the scheme its
//! method uses (the layered resource with all three at once).

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use authbench::client::{HttpClient, RawRequest};
use authbench::embedded::Embedded;
use authbench::methods::Target;
use authbench::openapi::{Document, SchemeKind, SpecVersion};

#[tokio::test]
async fn the_reference_servers_describe_themselves() {
    let s = Embedded::start(&[]).await.unwrap();
    let profile = s.profile_path();
    let target = Target::load(&profile).unwrap();
    let written = profile.parent().unwrap().join("openapi.json");
    let doc = Document::load(&written).unwrap();
    assert_eq!(doc.version, SpecVersion::OpenApi31);
    assert!(doc.notes.is_empty(), "{:?}", doc.notes);

    // Served at /openapi.json, without credentials, the same document.
    let client = HttpClient::new(target.ca_pem.as_deref(), Duration::from_secs(10)).unwrap();
    let url = target.base_url.join("/openapi.json").unwrap();
    let served = client.send(&RawRequest::get(url)).await.unwrap();
    assert_eq!(served.status, 200);
    let served = Document::parse(&String::from_utf8(served.body).unwrap(), "served").unwrap();
    assert_eq!(served, doc);

    // Every scheme type.
    let has = |f: fn(&SchemeKind) -> bool| doc.schemes.iter().any(|s| f(&s.kind));
    assert!(has(|k| matches!(k, SchemeKind::Http { scheme, .. } if scheme == "basic")));
    assert!(has(|k| matches!(k, SchemeKind::Http { scheme, .. } if scheme == "bearer")));
    assert!(has(|k| matches!(k, SchemeKind::ApiKey { .. })));
    assert!(has(|k| matches!(k, SchemeKind::OAuth2 { flows } if flows.len() == 2)));
    assert!(has(|k| matches!(k, SchemeKind::MutualTls)));

    // Each resource the profile names, with the scheme its method uses.
    let scheme_of = |url: &url::Url| -> Vec<Vec<String>> {
        let op = doc
            .operations
            .iter()
            .find(|o| o.method == "GET" && o.path == url.path())
            .unwrap_or_else(|| panic!("no GET {} in the document", url.path()));
        doc.requirements(op)
            .iter()
            .map(|r| {
                let mut schemes: Vec<String> = r
                    .schemes()
                    .map(|name| match &doc.scheme(name).unwrap().kind {
                        SchemeKind::Http { scheme, .. } => format!("http {scheme}"),
                        SchemeKind::ApiKey { name, .. } => format!("apiKey {name}"),
                        SchemeKind::OAuth2 { .. } => "oauth2".to_owned(),
                        SchemeKind::OpenIdConnect { .. } => "openIdConnect".to_owned(),
                        SchemeKind::MutualTls => "mutualTLS".to_owned(),
                    })
                    .collect();
                // AND: the order means nothing.
                schemes.sort();
                schemes
            })
            .collect()
    };
    assert_eq!(scheme_of(&target.basic.as_ref().unwrap().url), [["http basic"]]);
    let key = target.api_key.as_ref().unwrap();
    assert_eq!(scheme_of(&key.url), [[format!("apiKey {}", key.header.as_deref().unwrap())]]);
    assert_eq!(scheme_of(&target.jwt.as_ref().unwrap().url), [["http bearer"]]);
    assert_eq!(scheme_of(&target.oauth2.as_ref().unwrap().resource_url), [["oauth2"]]);
    assert_eq!(scheme_of(&target.mtls.as_ref().unwrap().url), [["mutualTLS"]]);
    assert_eq!(
        scheme_of(&target.layered.as_ref().unwrap().url),
        [["apiKey X-API-Key", "http bearer", "mutualTLS"]]
    );
    // The mTLS listener's paths carry its server.
    let mtls = &target.mtls.as_ref().unwrap().url;
    let op = doc.operations.iter().find(|o| o.path == mtls.path()).unwrap();
    assert_eq!(doc.servers_of(op), [mtls.origin().ascii_serialization()]);
    let op = doc.operations.iter().find(|o| o.id() == "basic").unwrap();
    assert_eq!(doc.servers_of(op), [target.base_url.origin().ascii_serialization()]);
    let baseline = target.baseline_url.as_ref().unwrap().path().to_owned();
    let op = doc.operations.iter().find(|o| o.path == baseline).unwrap();
    assert!(doc.allows_anonymous(op), "the baseline is public");
    // The admin API: every operation needs the admin token; all but the
    // listing change something, so a run sends them only when told it may.
    let admin: Vec<_> = doc.operations.iter().filter(|o| o.path.starts_with("/admin/")).collect();
    assert_eq!(admin.len(), 9);
    assert!(admin.iter().all(|o| !doc.allows_anonymous(o)));
    let safe: Vec<String> = admin.iter().filter(|o| o.is_safe()).map(|o| o.id()).collect();
    assert_eq!(safe, ["listApiKeys", "apiKeyUsage"]);
    // The plan: every case id once; safe operations all runnable (their
    // path parameters have examples); the admin API's writes skipped.
    let planned = authbench::openapi::plan::plan(&doc, &Default::default(), &|_| true);
    let mut ids: Vec<&str> = planned.iter().map(|p| p.id.as_str()).collect();
    let total = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), total, "case ids are unique");
    for p in &planned {
        let op = &doc.operations[p.operation];
        assert_eq!(p.skip.is_some(), !op.is_safe(), "{} {:?}", p.id, p.skip);
    }
    assert!(planned.iter().any(|p| p.id == "openapi::layered::layeredToken-alone"));
    assert!(planned.iter().any(|p| p.id == "openapi::oauthPrivileged::oauth2-without-write"));
    // A document that follows the RFCs' advice has nothing to report.
    assert_eq!(authbench::openapi::lint::lint(&doc), []);
    s.stop().await;
}
