//! Candidates: drawn from the seed, rendered as requests, and judged.

#[allow(clippy::wildcard_imports)]
use super::*;

/// Candidate `i`: a configuration and its mutations.
pub(super) fn candidate(configs: &[Configuration], seed: u64, i: u64) -> (usize, Ops) {
    let mut rng = StdRng::seed_from_u64(mix(seed, i));
    let total: u32 = configs.iter().map(|c| c.weight).sum();
    let mut pick = rng.random_range(0..total.max(1));
    let mut index = 0;
    for (n, c) in configs.iter().enumerate() {
        if pick < c.weight {
            index = n;
            break;
        }
        pick -= c.weight;
    }
    let count = match rng.random_range(0..10) {
        0..=5 => 1,
        6..=8 => 2,
        _ => 3,
    };
    let ops = match &configs[index].subject {
        Subject::Jwt { base, asymmetric, .. } => {
            Ops::Jwt((0..count).map(|_| jwt::Op::random(&mut rng, base, *asymmetric)).collect())
        }
        Subject::Basic { user, password } => {
            Ops::Basic((0..count).map(|_| BasicOp::random(&mut rng, user, password)).collect())
        }
        Subject::ApiKey { .. } => Ops::Key((0..count).map(|_| KeyOp::random(&mut rng)).collect()),
        Subject::Token { .. } => Ops::Form((0..count).map(|_| FormOp::random(&mut rng)).collect()),
    };
    (index, ops)
}

/// The request for `ops` on `config`.
pub(super) fn render(config: &Configuration, ops: &Ops) -> Request {
    let get = |headers: Vec<(String, Vec<u8>)>| Request {
        method: "GET",
        url: config.url.clone(),
        headers,
        body: Vec::new(),
    };
    match (&config.subject, ops) {
        (Subject::Jwt { base, signer, .. }, Ops::Jwt(ops)) => {
            let mut t = jwt::Jwt::valid(base);
            for op in ops {
                t.apply(op);
            }
            get(vec![("Authorization".into(), t.render(base, signer))])
        }
        (Subject::Basic { user, password }, Ops::Basic(ops)) => {
            let mut b = Basic::valid(user, password);
            for op in ops {
                b.apply(op);
            }
            get(vec![("Authorization".into(), b.render())])
        }
        (Subject::ApiKey { header, key, scheme, revoked }, Ops::Key(ops)) => {
            let mut k = ApiKey::valid(key, scheme.as_deref());
            for op in ops {
                k.apply(op, revoked.as_deref());
            }
            get(vec![(header.clone(), k.render())])
        }
        (Subject::Token { client_id, secret, scope }, Ops::Form(ops)) => {
            let mut r = TokenRequest::valid(client_id, secret, scope.as_deref());
            for op in ops {
                r.apply(op);
            }
            let (auth, body) = r.render();
            let mut headers =
                vec![("Content-Type".to_owned(), b"application/x-www-form-urlencoded".to_vec())];
            if let Some(a) = auth {
                headers.push(("Authorization".into(), a));
            }
            Request { method: "POST", url: config.url.clone(), headers, body }
        }
        _ => unreachable!("a configuration's candidates have its mutations"),
    }
}

pub(super) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The finding `answer` to `request` makes, if any.
pub(super) fn judge(
    config: &Configuration,
    request: &Request,
    answer: &Answer,
    elapsed: Duration,
    slow: Duration,
) -> Option<Kind> {
    match answer {
        Answer::Failed(_) => return Some(Kind::ConnectionReset),
        Answer::Timeout => return Some(Kind::Slow),
        Answer::Status(s) if *s >= 500 => return Some(Kind::ServerError),
        Answer::Status(s) if (200..300).contains(s) => {
            let header = |name: &str| {
                request
                    .headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.as_slice())
            };
            let ok = match &config.subject {
                Subject::Jwt { base, signer, .. } => {
                    // Too close to a time boundary to judge: not a finding.
                    jwt::acceptable(
                        header("Authorization").unwrap_or_default(),
                        base,
                        signer,
                        now(),
                    )
                    .unwrap_or(true)
                }
                Subject::Basic { user, password } => basic_fuzz::basic_acceptable(
                    header("Authorization").unwrap_or_default(),
                    user,
                    password,
                ),
                Subject::ApiKey { header: name, key, scheme, .. } => key_fuzz::key_acceptable(
                    header(name).unwrap_or_default(),
                    key,
                    scheme.as_deref(),
                ),
                Subject::Token { client_id, secret, .. } => token_fuzz::token_request_acceptable(
                    header("Authorization"),
                    &request.body,
                    client_id,
                    secret,
                ),
            };
            if !ok {
                return Some(Kind::AcceptsInvalid);
            }
        }
        Answer::Status(_) => {}
    }
    (elapsed > slow).then_some(Kind::Slow)
}
