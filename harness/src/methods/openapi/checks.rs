//! The checks of one operation: its positive control, then each refusal
//! (no credentials, invalid ones, another scheme, a key elsewhere, one
//! scheme of an AND alone, a scope missing, a path variant) and each
//! acceptance (an OR alternative, a public operation).

use authbench_reports::FindingKind;
use authbench_scenarios::Severity;
use url::Url;

use super::Api;
use super::bind::{Presented, Raw, invalid, place};
use super::credentials::{scopes_choosable, valid};
use super::profile::Binding;
use crate::client::{RawResponse, SendError};
use crate::methods::Shared;
use crate::methods::steps::served;
use crate::openapi::plan::{Check, Planned, Variant};
use crate::openapi::{Location, Operation, SchemeKind};
use crate::verdict::{Cause, Verdict, is_served, observe};

/// An operation's control: the requirement whose credentials were served,
/// or why there is none.
pub(crate) type Control = Result<usize, Verdict>;

/// One operation's checks: the run's state, the document and where the
/// operation is served.
pub(super) struct Ctx<'a> {
    pub(super) shared: &'a Shared,
    pub(super) api: &'a Api,
    pub(super) op: &'a Operation,
    pub(super) url: Url,
}

/// Runs planned check `p`.
pub(crate) async fn run(shared: &Shared, api: &Api, p: &Planned, severity: Severity) -> Verdict {
    if let Some(why) = &p.skip {
        return Verdict::skip(why.clone());
    }
    let op = &api.document.operations[p.operation];
    let Some(path) = &p.path else { return Verdict::skip("the path has no value for a parameter") };
    let url = match operation_url(api, op, path) {
        Ok(u) => u,
        Err(v) => return v,
    };
    let ctx = Ctx { shared, api, op, url };
    if p.check == Check::Public {
        return ctx.public().await;
    }
    let cell = api.control_cell(p.operation);
    let control = cell.get_or_init(|| ctx.control()).await.clone();
    let chosen = match (&p.check, control) {
        (Check::Control, Ok(i)) => {
            return Verdict::pass(
                "the declared credentials served".to_owned(),
                format!("requirement {} served", i + 1),
            );
        }
        (Check::Control, Err(v)) => return v,
        (_, Ok(i)) => i,
        (_, Err(v)) if v.outcome == authbench_reports::Outcome::Skip => {
            return Verdict::skip(format!(
                "the operation's control was skipped: {}",
                v.reason.unwrap_or_default()
            ));
        }
        (_, Err(v)) => {
            return Verdict::error(
                "",
                format!(
                    "the operation's control did not pass ({}), so a refusal here proves nothing",
                    v.reason.unwrap_or_default()
                ),
            )
            .because(Cause::Shared("error:control".to_owned()));
        }
    };
    match &p.check {
        Check::NoCredentials => {
            ctx.refused(&Presented::default(), &ctx.op.method, &ctx.url, "no credentials").await
        }
        Check::Invalid { scheme } => ctx.invalid(scheme).await,
        Check::SchemeConfusion { scheme } => ctx.confusion(scheme).await,
        Check::KeyElsewhere { scheme, location } => {
            ctx.elsewhere(scheme, *location, severity).await
        }
        Check::Alone { scheme } => ctx.alone(scheme).await,
        Check::Alternative { index } => ctx.alternative(*index).await,
        Check::InsufficientScope { scheme, scope } => ctx.scope(scheme, scope).await,
        Check::Variant(v) => ctx.variant(*v).await,
        Check::OtherUsersObject { identity } => ctx.objects_of(identity, chosen).await,
        Check::FunctionOf { identity } => ctx.function_of(identity).await,
        // Answered above, before the control was needed.
        Check::Control | Check::Public => {
            Verdict::error("", format!("the control of requirement {} ran twice", chosen + 1))
        }
    }
}

/// Where `op` is served, with its path filled: its first server (relative
/// ones against the document's base), else the base itself.
pub(super) fn operation_url(api: &Api, op: &Operation, path: &str) -> Result<Url, Verdict> {
    let server = api.document.servers_of(op).first().map_or("/", String::as_str);
    let server = api
        .base
        .join(server)
        .map_err(|e| Verdict::error("", format!("server `{server}` is not a URL: {e}")))?;
    let text = format!("{}{path}", server.as_str().trim_end_matches('/'));
    Url::parse(&text).map_err(|e| Verdict::error("", format!("`{text}` is not a URL: {e}")))
}

impl Ctx<'_> {
    pub(super) fn binding(&self, scheme: &str) -> Binding {
        self.api.bindings.get(scheme).copied().unwrap_or(Binding::Nothing)
    }

    fn kind(&self, scheme: &str) -> Result<&SchemeKind, Verdict> {
        self.api.document.scheme(scheme).map(|s| &s.kind).ok_or_else(|| {
            Verdict::skip(format!("the document declares no security scheme `{scheme}`"))
        })
    }

    /// The valid credential of `scheme`, with `scopes` when it can choose them.
    async fn valid_raw(&self, scheme: &str, scopes: &[String]) -> Result<Raw, Verdict> {
        let kind = self.kind(scheme)?;
        let binding = self.binding(scheme);
        let chosen = (!scopes.is_empty() && scopes_choosable(binding, kind)).then_some(scopes);
        valid(self.shared, &self.api.tokens, binding, kind, &self.url, chosen).await
    }

    async fn present_valid(&self, scheme: &str, scopes: &[String]) -> Result<Presented, Verdict> {
        let raw = self.valid_raw(scheme, scopes).await?;
        place(self.api.document.scheme(scheme).expect("kind checked"), &raw, None)
    }

    /// Requirement `index`'s valid credentials, all but `except`'s.
    pub(super) async fn requirement(
        &self,
        index: usize,
        except: Option<&str>,
    ) -> Result<Presented, Verdict> {
        let mut out = Presented::default();
        for (scheme, scopes) in &self.api.document.requirements(self.op)[index].0 {
            if Some(scheme.as_str()) != except {
                out = out.with(self.present_valid(scheme, scopes).await?);
            }
        }
        Ok(out)
    }

    /// The first requirement that names `scheme`.
    fn requirement_with(&self, scheme: &str) -> Option<usize> {
        self.api
            .document
            .requirements(self.op)
            .iter()
            .position(|r| r.0.iter().any(|(s, _)| s == scheme))
    }

    pub(super) async fn send(
        &self,
        p: &Presented,
        method: &str,
        url: &Url,
    ) -> Result<RawResponse, SendError> {
        self.shared.client.send(&p.request(method, url)).await
    }

    /// The positive control: the first requirement the profile can meet, served.
    async fn control(&self) -> super::checks::Control {
        let requirements = self.api.document.requirements(self.op);
        let mut reasons = Vec::new();
        for (i, r) in requirements.iter().enumerate() {
            let p = match self.requirement(i, None).await {
                Ok(p) => p,
                Err(v) if v.outcome == authbench_reports::Outcome::Skip => {
                    reasons.push(format!(
                        "requirement {}: {}",
                        i + 1,
                        v.reason.unwrap_or_default()
                    ));
                    continue;
                }
                Err(v) => return Err(v),
            };
            let r_scoped = r.0.iter().find(|(s, scopes)| {
                !scopes.is_empty()
                    && self.kind(s).is_ok_and(|k| !scopes_choosable(self.binding(s), k))
            });
            return match self.send(&p, &self.op.method, &self.url).await {
                Ok(answer) if is_served(answer.status) => Ok(i),
                Ok(answer) if answer.status >= 500 => Err(Verdict::server_error(
                    "the declared credentials served",
                    observe(&answer),
                    answer.status,
                )),
                Ok(answer) if answer.status == 403 && r_scoped.is_some() => {
                    let (s, scopes) = r_scoped.expect("checked");
                    Err(Verdict::skip(format!(
                        "the requirement lists `{}` for `{s}`, and the profile's credential for it was refused with {}: it lacks them (give one that has them)",
                        scopes.join(" "),
                        observe(&answer)
                    )))
                }
                Ok(answer) => Err(Verdict::error(
                    "the declared credentials served",
                    format!(
                        "the profile's credentials do not work here: requirement {} got {} at {}",
                        i + 1,
                        observe(&answer),
                        self.url
                    ),
                )),
                Err(e) => Err(Verdict::unanswered("the declared credentials served", &e)),
            };
        }
        Err(Verdict::skip(format!(
            "the profile can meet no requirement of this operation ({})",
            reasons.join("; ")
        )))
    }

    /// `p` sent to `url` must not be served.
    pub(super) async fn refused(
        &self,
        p: &Presented,
        method: &str,
        url: &Url,
        what: &str,
    ) -> Verdict {
        let expected = format!("{what}: refused");
        match self.send(p, method, url).await {
            Ok(r) if is_served(r.status) => {
                served(expected, observe(&r), format!("{what} was served at {method} {url}"))
            }
            Ok(r) if r.status >= 500 => Verdict::server_error(expected, observe(&r), r.status),
            Ok(r) => Verdict::pass(expected, observe(&r)),
            Err(SendError::Alert { alert }) => {
                Verdict::pass(expected, format!("refused in the TLS handshake ({alert})"))
            }
            Err(SendError::Closed(_)) if url.scheme() == "https" => {
                Verdict::pass(expected, "the connection closed in the TLS handshake".to_owned())
            }
            Err(e) => Verdict::unanswered(expected, &e),
        }
    }

    async fn invalid(&self, scheme: &str) -> Verdict {
        let Some(index) = self.requirement_with(scheme) else {
            return Verdict::error("", format!("no requirement names `{scheme}`"));
        };
        let scopes = &self.api.document.requirements(self.op)[index]
            .0
            .iter()
            .find(|(s, _)| s == scheme)
            .expect("named")
            .1;
        let outcome = async {
            let others = self.requirement(index, Some(scheme)).await?;
            let kind = self.kind(scheme)?;
            let raw = self.valid_raw(scheme, scopes).await?;
            let chosen: &[String] =
                if scopes_choosable(self.binding(scheme), kind) { scopes } else { &[] };
            let bad = invalid(self.shared, self.binding(scheme), kind, &self.url, &raw, chosen)?;
            let definition = self.api.document.scheme(scheme).expect("kind checked");
            let mut seen = Vec::new();
            let mut leaks = Vec::new();
            for b in &bad {
                let p = others.clone().with(place(definition, &b.raw, None)?);
                let v = self.refused(&p, &self.op.method, &self.url, &b.label).await;
                match v.outcome {
                    authbench_reports::Outcome::Pass => {
                        seen.push(format!("{}: {}", b.label, v.observed))
                    }
                    authbench_reports::Outcome::Fail => leaks.push(b.label.clone()),
                    _ => return Err(v),
                }
            }
            Ok((seen, leaks))
        };
        let expected = format!("every invalid `{scheme}` credential refused");
        match outcome.await {
            Err(v) => v,
            Ok((_, leaks)) if !leaks.is_empty() => served(
                expected,
                format!("served: {}", leaks.join(", ")),
                format!("invalid `{scheme}` credentials were served"),
            ),
            Ok((seen, _)) => Verdict::pass(expected, seen.join("; ")),
        }
    }

    async fn confusion(&self, scheme: &str) -> Verdict {
        let binding = self.binding(scheme);
        let Ok(kind) = self.kind(scheme) else { return Verdict::skip("unknown scheme") };
        // A scheme presented exactly as one the operation accepts (the same
        // header, parameter or handshake) is the same scheme to the server:
        // whether its credential is good here is the server's to decide.
        let same = self
            .api
            .document
            .requirements(self.op)
            .iter()
            .flat_map(|r| r.schemes())
            .any(|s| self.kind(s).is_ok_and(|k| same_placement(k, kind)));
        if same || binding == Binding::Nothing {
            return Verdict::skip(format!(
                "`{scheme}` is presented exactly as a scheme this operation accepts, or the profile has no credential for it"
            ));
        }
        match self.present_valid(scheme, &[]).await {
            Ok(p) => {
                self.refused(
                    &p,
                    &self.op.method,
                    &self.url,
                    &format!("a valid `{scheme}` credential"),
                )
                .await
            }
            Err(v) => v,
        }
    }

    async fn elsewhere(&self, scheme: &str, location: Location, severity: Severity) -> Verdict {
        let Some(index) = self.requirement_with(scheme) else {
            return Verdict::error("", format!("no requirement names `{scheme}`"));
        };
        let built = async {
            let others = self.requirement(index, Some(scheme)).await?;
            if self.api.document.requirements(self.op)[index].0.len() > 1 {
                // Where the key goes proves something only if the others alone are refused.
                let alone = self.send(&others, &self.op.method, &self.url).await;
                if alone.as_ref().is_ok_and(|r| is_served(r.status)) {
                    return Err(Verdict::skip(format!(
                        "the requirement's other schemes are served without `{scheme}` (see `{scheme}`'s AND checks), so where its key goes proves nothing"
                    )));
                }
            }
            let raw = self.valid_raw(scheme, &[]).await?;
            let definition = self.api.document.scheme(scheme).expect("named");
            Ok::<_, Verdict>(others.with(place(definition, &raw, Some(location))?))
        };
        let p = match built.await {
            Ok(p) => p,
            Err(v) => return v,
        };
        let what = format!("the `{scheme}` key in the {}", format!("{location:?}").to_lowercase());
        let v = self.refused(&p, &self.op.method, &self.url, &what).await;
        if v.outcome == authbench_reports::Outcome::Fail {
            // Served where the document does not put it: keys end up wherever
            // clients find they work (logs, for the query).
            return Verdict::unmet(severity, v.expected, v.observed, format!("{what} was served"))
                .because(Cause::Own(FindingKind::Hardening));
        }
        v
    }

    async fn alone(&self, scheme: &str) -> Verdict {
        let Some(index) = self
            .api
            .document
            .requirements(self.op)
            .iter()
            .position(|r| r.0.len() > 1 && r.0.iter().any(|(s, _)| s == scheme))
        else {
            return Verdict::error("", format!("no AND requirement names `{scheme}`"));
        };
        let scopes = self.api.document.requirements(self.op)[index]
            .0
            .iter()
            .find(|(s, _)| s == scheme)
            .map(|(_, s)| s.clone())
            .unwrap_or_default();
        match self.present_valid(scheme, &scopes).await {
            Ok(p) => {
                self.refused(&p, &self.op.method, &self.url, &format!("`{scheme}` alone")).await
            }
            Err(v) => v,
        }
    }

    async fn alternative(&self, index: usize) -> Verdict {
        let p = match self.requirement(index, None).await {
            Ok(p) => p,
            Err(v) => return v,
        };
        self.served_as_declared(
            &p,
            format!("requirement {} alone served", index + 1),
            "the document offers this requirement as an alternative, and the server refused it (spec drift)",
        )
        .await
    }

    /// `p` must be served, as the document declares: a refusal is spec
    /// drift (a `should`, the server's function, not its security).
    async fn served_as_declared(&self, p: &Presented, expected: String, drift: &str) -> Verdict {
        match self.send(p, &self.op.method, &self.url).await {
            Ok(r) if is_served(r.status) => Verdict::pass(expected, observe(&r)),
            Ok(r) if r.status >= 500 => Verdict::server_error(expected, observe(&r), r.status),
            Ok(r) => Verdict::unmet(Severity::Should, expected, observe(&r), drift)
                .because(Cause::Own(FindingKind::Function)),
            Err(e) => Verdict::unanswered(expected, &e),
        }
    }

    async fn scope(&self, scheme: &str, scope: &str) -> Verdict {
        let Some(index) = self.requirement_with(scheme) else {
            return Verdict::error("", format!("no requirement names `{scheme}`"));
        };
        let requirement = &self.api.document.requirements(self.op)[index];
        let required = requirement.0.iter().find(|(s, _)| s == scheme).map(|(_, s)| s.clone());
        let mut fewer: Vec<String> =
            required.unwrap_or_default().into_iter().filter(|s| s != scope).collect();
        let Ok(kind) = self.kind(scheme) else { return Verdict::skip("unknown scheme") };
        let binding = self.binding(scheme);
        if !scopes_choosable(binding, kind) {
            return Verdict::skip(format!(
                "`{scheme}` is answered by a credential whose scopes authbench cannot choose"
            ));
        }
        if fewer.is_empty() && binding == Binding::Section(crate::methods::Method::OAuth2) {
            // An authorization server may refuse a request without scope, or
            // grant its default: ask for another scope the scheme declares.
            let SchemeKind::OAuth2 { flows } = kind else {
                return Verdict::skip("needs another scope of the scheme to ask for");
            };
            match flows.iter().flat_map(|f| &f.scopes).find(|s| *s != scope) {
                Some(other) => fewer.push(other.clone()),
                None => {
                    return Verdict::skip(format!(
                        "the scheme declares no scope but `{scope}`, so no token without it can be asked for"
                    ));
                }
            }
        }
        let built = async {
            let others = self.requirement(index, Some(scheme)).await?;
            let raw = valid(self.shared, &self.api.tokens, binding, kind, &self.url, Some(&fewer))
                .await?;
            let definition = self.api.document.scheme(scheme).expect("named");
            Ok::<_, Verdict>(others.with(place(definition, &raw, None)?))
        };
        let p = match built.await {
            Ok(p) => p,
            Err(v) => return v,
        };
        let expected = format!(
            "403 + WWW-Authenticate: Bearer error=\"insufficient_scope\", scope naming `{scope}`"
        );
        match self.send(&p, &self.op.method, &self.url).await {
            Ok(r) if is_served(r.status) => served(
                expected,
                observe(&r),
                format!("a token without `{scope}` was served: the scope is not enforced"),
            ),
            Ok(r) if r.status >= 500 => Verdict::server_error(expected, observe(&r), r.status),
            Ok(r) => {
                let challenges: Vec<_> = r
                    .header_values("www-authenticate")
                    .flat_map(crate::verdict::parse_challenges)
                    .collect();
                let insufficient =
                    challenges.iter().find(|c| c.param("error") == Some("insufficient_scope"));
                match (r.status, insufficient) {
                    (403, Some(_)) => Verdict::pass(expected, observe(&r)),
                    (403, None) => Verdict::form(
                        expected,
                        observe(&r),
                        "form:error-code",
                        "refused, without error=\"insufficient_scope\" in a Bearer challenge",
                    ),
                    (status, _) => Verdict::form(
                        expected,
                        observe(&r),
                        &format!("form:status-{status}"),
                        "refused, with another status than 403",
                    ),
                }
            }
            Err(e) => Verdict::unanswered(expected, &e),
        }
    }

    async fn variant(&self, variant: Variant) -> Verdict {
        let (method, url) = match variant_of(&self.op.method, &self.url, variant) {
            Ok(x) => x,
            Err(v) => return v,
        };
        self.refused(
            &Presented::default(),
            &method,
            &url,
            &format!("{method} {} without credentials", url.path()),
        )
        .await
    }

    async fn public(&self) -> Verdict {
        self.served_as_declared(
            &Presented::default(),
            "served without credentials".to_owned(),
            "the document declares this operation public, and the server did not serve it without credentials (spec drift)",
        )
        .await
    }
}

/// Whether two schemes put their credential in the same place.
fn same_placement(a: &SchemeKind, b: &SchemeKind) -> bool {
    let place = |k: &SchemeKind| match k {
        SchemeKind::Http { scheme, .. } => format!("authorization:{scheme}"),
        SchemeKind::OAuth2 { .. } | SchemeKind::OpenIdConnect { .. } => {
            "authorization:bearer".to_owned()
        }
        SchemeKind::ApiKey { name, location } => {
            format!("{location:?}:{}", name.to_ascii_lowercase())
        }
        SchemeKind::MutualTls => "tls".to_owned(),
    };
    place(a) == place(b)
}

/// The method and URL of `variant` of `method url`.
pub(crate) fn variant_of(
    method: &str,
    url: &Url,
    variant: Variant,
) -> Result<(String, Url), Verdict> {
    let path = url.path();
    let new_path = match variant {
        Variant::Head => return Ok(("HEAD".to_owned(), url.clone())),
        Variant::TrailingSlash if path.ends_with('/') => path.trim_end_matches('/').to_owned(),
        Variant::TrailingSlash => format!("{path}/"),
        Variant::CaseChanged => crate::methods::forge::swap_case(path),
        Variant::EncodedPath => {
            // The first letter of the path percent-encoded: `/orders` → `/%6Frders`.
            match path.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
                Some((i, c)) => format!("{}%{:02X}{}", &path[..i], c as u32, &path[i + 1..]),
                None => return Err(Verdict::skip("the path has no letter to encode")),
            }
        }
        Variant::DoubleSlash => format!("/{path}"),
    };
    let mut out = url.clone();
    out.set_path(&new_path);
    Ok((method.to_owned(), out))
}
