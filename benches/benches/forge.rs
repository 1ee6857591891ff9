//! The forge's minting and mutation: what a conformance or fuzz run spends per
//! credential. `cargo bench -p authbench-benches --bench forge`.

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::path::Path;

use authbench::methods::Target;
use authbench::methods::jwt::forge::JwtForge;
use authbench_scenarios::case::{JwtCredential, JwtMutation};
use authbench_servers::jwt::keys::JwtKeys;
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::Algorithm;

fn forge(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let keys = JwtKeys::load_or_generate(dir.path()).unwrap();
    let key_file = keys.get(Algorithm::RS256).private_file.display().to_string();
    let profile = format!(
        "version = 1\nbase_url = \"https://127.0.0.1:8443\"\n[jwt]\nurl = \"/jwt/rs256/resource\"\n\
         issuer = \"urn:i\"\naudience = \"urn:a\"\nalgorithm = \"RS256\"\nsigning_key_file = \"{key_file}\"\n"
    );
    let target = Target::parse(Path::new("bench.toml"), &profile, dir.path()).unwrap();
    let forge = JwtForge::new(target.jwt.unwrap());
    let mut group = c.benchmark_group("forge-jwt");
    let cases = [
        ("valid", None),
        ("alg-none", Some(JwtMutation::AlgNone)),
        ("signature-flipped", Some(JwtMutation::SignatureFlipped)),
        ("hs256-public-pem", Some(JwtMutation::Hs256PublicPem)),
        ("embedded-jwk", Some(JwtMutation::EmbeddedJwk)),
        ("kid-traversal", Some(JwtMutation::KidTraversal)),
    ];
    for (name, mutation) in cases {
        let spec = JwtCredential { mutation, ..Default::default() };
        assert!(forge.forge(&spec).is_ok(), "{name}");
        group.bench_function(name, |b| b.iter(|| forge.forge(black_box(&spec)).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, forge);
criterion_main!(benches);
