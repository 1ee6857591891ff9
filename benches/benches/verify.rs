//! Each method's whole server-side verification path beside its bare
//! primitive, in one run, so the ratio shows the work around the primitive.
//! `cargo bench -p authbench-benches` (release); criterion's reports land in
//! `target/criterion`. The bound the project holds itself to: a path costs at
//! most its primitive plus the larger of 2 µs and 30% of the primitive.

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use authbench_servers::Flaws;
use authbench_servers::jwt::keys::{ALGORITHMS, JwtKeys};
use authbench_servers::jwt::verify::alg_name;
use authbench_servers::jwt::{JwtConfig, JwtService};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn jwt(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let keys = JwtKeys::load_or_generate(dir.path()).unwrap();
    let service = JwtService::new(keys, JwtConfig::default(), &Flaws::default()).unwrap();
    for alg in ALGORITHMS {
        let name = alg_name(alg);
        let minted = service.mint(alg, "alice", "read", 3600, now()).unwrap();
        let token = minted.token;
        let verifier = service.verifier(alg);
        let at = token.rfind('.').unwrap();
        let (message, signature) =
            (&token[..at], URL_SAFE_NO_PAD.decode(&token[at + 1..]).unwrap());
        assert!(verifier.verify(&token, now()).is_ok());
        assert!(verifier.verify_signature(message.as_bytes(), &signature));
        let mut group = c.benchmark_group(format!("jwt-{}", name.to_ascii_lowercase()));
        group.bench_function("primitive", |b| {
            b.iter(|| {
                verifier.verify_signature(black_box(message.as_bytes()), black_box(&signature))
            })
        });
        let t = now();
        group.bench_function("path", |b| b.iter(|| verifier.verify(black_box(&token), t).is_ok()));
        group.finish();
    }
}

criterion_group!(benches, jwt);
criterion_main!(benches);
