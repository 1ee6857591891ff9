//! JUnit XML: one testsuite per method, each case a testcase; failures and
//! errors carry the requirement, expected and observed; skips their reason.

use std::io::Write;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::model::{Outcome, Results};

/// Writes `results` as JUnit XML to `out`.
pub fn render(results: &Results, out: &mut dyn Write) -> std::io::Result<()> {
    let mut report = Report::new(format!("authbench conform: {}", results.target));
    report.set_time(std::time::Duration::from_millis(results.duration_ms));
    for method in results.methods() {
        let mut suite = TestSuite::new(method);
        for c in results.cases.iter().filter(|c| c.method == method) {
            let detail = format!(
                "{}\nrequirements: {}\nexpected: {}\nobserved: {}{}",
                c.title,
                c.requirements.join(", "),
                c.expected,
                c.observed,
                c.reason.as_ref().map(|r| format!("\nreason: {r}")).unwrap_or_default()
            );
            let status = match c.outcome {
                // A warning passes the build unless --strict: record it as a
                // success with the details in system-out.
                Outcome::Pass | Outcome::Warn => TestCaseStatus::success(),
                Outcome::Fail => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(format!("expected {}, observed {}", c.expected, c.observed));
                    s.set_type(c.severity.clone());
                    s.set_description(detail.clone());
                    s
                }
                Outcome::Error => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                    s.set_message(
                        c.reason.clone().unwrap_or_else(|| "could not be judged".to_owned()),
                    );
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
