//! JUnit XML: a `findings` testsuite first, one testcase per root cause (a
//! `must` finding fails, a `should` one passes with the details in
//! system-out); then one testsuite per method, each case a testcase;
//! failures and errors carry the requirement, expected and observed; skips
//! their reason. A case whose outcome held and whose form deviated is a
//! warning (a success with system-out): its failure is the form finding's.

use std::io::Write;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::model::{Outcome, Results, printable};

/// Writes `results` as JUnit XML to `out`.
pub fn render(results: &Results, out: &mut dyn Write) -> std::io::Result<()> {
    let mut report = Report::new(format!("authbench conform: {}", results.target));
    report.set_time(std::time::Duration::from_millis(results.duration_ms));
    if !results.findings.is_empty() {
        let mut suite = TestSuite::new("findings");
        for f in &results.findings {
            let detail = format!(
                "{}\nkind: {}\nrequirements: {}\nfix: {}\ncases: {}",
                f.title,
                f.kind.as_str(),
                f.requirements.join(", "),
                f.remediation,
                f.cases.join(", ")
            );
            let fails = f.fails_run(false);
            let status = if fails {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(format!("{} ({} cases)", f.title, f.cases.len()));
                s.set_type(format!("{} {}", f.kind.as_str(), f.severity));
                s.set_description(detail.clone());
                s
            } else {
                TestCaseStatus::success()
            };
            let mut case = TestCase::new(f.id.clone(), status);
            case.set_classname("authbench.findings");
            if !fails {
                case.set_system_out(format!("warning: {detail}"));
            }
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    for method in results.methods() {
        let mut suite = TestSuite::new(method);
        for c in results.cases.iter().filter(|c| c.method == method) {
            // What the target sent may hold control characters, which XML 1.0 cannot carry.
            let detail = printable(&format!(
                "{}\nrequirements: {}\nexpected: {}\nobserved: {}{}",
                c.title,
                c.requirements.join(", "),
                c.expected,
                c.observed,
                c.reason.as_ref().map(|r| format!("\nreason: {r}")).unwrap_or_default()
            ));
            let status = match c.outcome {
                // A warning passes the build unless --strict: record it as a
                // success with the details in system-out.
                Outcome::Pass | Outcome::Warn => TestCaseStatus::success(),
                Outcome::Fail => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(printable(&format!(
                        "expected {}, observed {}",
                        c.expected, c.observed
                    )));
                    s.set_type(c.severity.clone());
                    s.set_description(detail.clone());
                    s
                }
                Outcome::Error => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                    s.set_message(printable(c.reason.as_deref().unwrap_or("could not be judged")));
                    s.set_description(detail.clone());
                    s
                }
                Outcome::Skip => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(c.reason.clone().unwrap_or_default());
                    s
                }
            };
            let mut case = TestCase::new(c.id.clone(), status);
            case.set_classname(format!("authbench.{method}"));
            case.set_time(std::time::Duration::from_millis(c.duration_ms));
            if c.outcome == Outcome::Warn {
                case.set_system_out(format!("warning: {detail}"));
            }
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    let xml = report.to_string().map_err(std::io::Error::other)?;
    out.write_all(xml.as_bytes())
}
