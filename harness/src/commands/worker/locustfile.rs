//! `authbench locustfile`: the master-side locustfile. It declares one user
//! class per authbench scenario (so Locust's UI and `--headless` runs select
//! and weight them by name), authbench's options (`--authbench-rate`,
//! `--authbench-out`), and a handler that saves the workers' histograms for
//! `authbench report`. It holds no credential: each worker reads its own
//! target profile.

use anyhow::bail;

use super::users::class_name;

/// The scenarios a worker can run, when its profile offers them.
pub const SCENARIOS: &[&str] = &[
    "baseline",
    "basic",
    "basic-cached",
    "api_key",
    "jwt-hs256",
    "jwt-rs256",
    "jwt-es256",
    "jwt-eddsa",
    "oauth2-jwt",
    "oauth2-opaque",
    "oauth2-dpop",
    "mtls",
    "layered",
    "oauth2-journey",
    "api-key-rotation",
    "mtls-users",
];

/// Where the master saves the histograms, relative to its working directory.
pub const DEFAULT_OUT: &str = "authbench-locust";

/// Parses `label[:weight]` items.
pub fn parse_scenarios(list: Option<&str>) -> anyhow::Result<Vec<(String, u32)>> {
    let Some(list) = list else {
        return Ok(SCENARIOS.iter().map(|s| ((*s).to_owned(), 1)).collect());
    };
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (label, weight) = match item.split_once(':') {
            Some((l, w)) => match w.parse::<u32>() {
                Ok(w) if w > 0 => (l, w),
                _ => bail!("--scenarios {item}: the weight must be a whole number of 1 or more"),
            },
            None => (item, 1),
        };
        if !SCENARIOS.contains(&label) {
            bail!("--scenarios {label}: not a scenario; use some of: {}", SCENARIOS.join(", "));
        }
        out.push((label.to_owned(), weight));
    }
    if out.is_empty() {
        bail!("--scenarios names no scenario; use some of: {}", SCENARIOS.join(", "));
    }
    Ok(out)
}

/// The locustfile for `scenarios`, users sending `rate` requests per second
/// unless the master's `--authbench-rate` says otherwise.
pub fn render(scenarios: &[(String, u32)], rate: f64) -> String {
    let version = env!("CARGO_PKG_VERSION");
    let mut classes = String::new();
    for (label, weight) in scenarios {
        classes.push_str(&format!(
            "\n\nclass {}(_AuthbenchUser):\n    \"\"\"authbench scenario `{label}`.\"\"\"\n\n    weight = {weight}\n",
            class_name(label)
        ));
    }
    format!(
        r#"# The master side of an authbench run on Locust, written by `authbench locustfile`
# (authbench {version}). Each user class is an authbench scenario; `authbench worker`
# processes run the users, open-loop at --authbench-rate requests per second each.
# This file names the scenarios only: every worker reads its own target profile,
# so no credential crosses the wire.
#
#   locust -f locustfile.py --master --headless --expect-workers 2 -u 20 -r 10 -t 1m
#   authbench worker --master MASTER-HOST:5557 --target target.toml   # on each machine
#   authbench report --in authbench-locust/histograms.json            # exact percentiles
import json
import os

from locust import User, constant, events, task
from locust.runners import MasterRunner

HISTOGRAMS_MESSAGE = "authbench_histograms"


@events.init_command_line_parser.add_listener
def _authbench_options(parser, **kwargs):
    parser.add_argument(
        "--authbench-rate",
        type=float,
        default={rate:?},
        help="authbench: requests per second per user, open loop",
    )
    parser.add_argument(
        "--authbench-out",
        type=str,
        default="{out}",
        help="authbench: where the master saves the workers' histograms",
    )


_workers = {{}}


def _save(environment):
    options = environment.parsed_options
    out = getattr(options, "authbench_out", None) or "{out}"
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "histograms.json")
    with open(path + ".tmp", "w") as f:
        json.dump({{"schema": "authbench.locust/1", "workers": _workers}}, f)
    os.replace(path + ".tmp", path)


def _on_histograms(environment, msg, **kwargs):
    # Each worker sends its cumulative histograms: the latest one counts.
    _workers[msg.node_id] = json.loads(msg.data)
    _save(environment)


@events.init.add_listener
def _authbench_init(environment, **kwargs):
    if isinstance(environment.runner, MasterRunner):
        environment.runner.register_message(HISTOGRAMS_MESSAGE, _on_histograms)


@events.test_start.add_listener
def _authbench_test_start(environment, **kwargs):
    if isinstance(environment.runner, MasterRunner):
        _workers.clear()


class _AuthbenchUser(User):
    abstract = True
    wait_time = constant(1)

    @task
    def _runs_on_authbench_workers(self):
        raise RuntimeError("authbench user classes run on `authbench worker` processes, not Python workers")
{classes}"#,
        out = DEFAULT_OUT,
    )
}

/// `authbench locustfile` from the command line.
pub fn command(args: crate::cli::LocustfileArgs) -> anyhow::Result<u8> {
    if !(args.rate.is_finite() && args.rate > 0.0) {
        bail!("--rate must be a number of requests per second above 0");
    }
    let scenarios = parse_scenarios(args.scenarios.as_deref())?;
    let text = render(&scenarios, args.rate);
    match &args.out {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| {
                anyhow::anyhow!("--out {}: cannot write the locustfile: {e}", path.display())
            })?;
            eprintln!("authbench: wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(crate::cli::EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_parse_with_weights_and_mistakes_say_what_to_do() {
        assert_eq!(parse_scenarios(None).unwrap().len(), SCENARIOS.len());
        assert_eq!(
            parse_scenarios(Some("baseline, api_key:3")).unwrap(),
            [("baseline".to_owned(), 1), ("api_key".to_owned(), 3)]
        );
        assert!(parse_scenarios(Some("jwt")).unwrap_err().to_string().contains("jwt-es256"));
        assert!(parse_scenarios(Some("api_key:0")).unwrap_err().to_string().contains("weight"));
        assert!(parse_scenarios(Some(",")).is_err());
    }

    #[test]
    fn the_locustfile_names_classes_and_holds_no_credential() {
        let text = render(&[("jwt-es256".to_owned(), 2), ("baseline".to_owned(), 1)], 25.0);
        assert!(text.contains("class jwt_es256(_AuthbenchUser):\n    \"\"\"authbench scenario `jwt-es256`.\"\"\"\n\n    weight = 2\n"));
        assert!(text.contains("default=25.0,"));
        assert!(text.contains("register_message(HISTOGRAMS_MESSAGE"));
        assert!(text.contains(super::super::stats::HISTOGRAMS_MESSAGE));
        for word in ["password", "secret", "sk_live", "Bearer"] {
            assert!(!text.contains(word), "{word}");
        }
    }
}
