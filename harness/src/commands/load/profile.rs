//! Load profiles: `scenarios/load/*.toml`. How many users, how fast they
//! start, for how long, under what request cap, and which scenarios (a method
//! or a journey) they run, weighted.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::methods::Method;

/// The built-in profiles, by file stem.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("smoke", include_str!("../../../../scenarios/load/smoke.toml")),
    ("journeys", include_str!("../../../../scenarios/load/journeys.toml")),
];

/// Longest run a profile may ask for (every load command is bounded).
pub const MAX_DURATION: Duration = Duration::from_secs(3600);
/// Most users a profile may ask for on one machine.
pub const MAX_USERS: usize = 10_000;

/// A load profile as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadProfile {
    /// What the profile is for.
    #[serde(default)]
    pub description: String,
    /// Users at full strength.
    pub users: usize,
    /// Users started per second (goose's increase rate); all at once when absent.
    pub increase_rate: Option<f64>,
    /// Seconds at full strength, after the ramp.
    pub duration: f64,
    /// Requests the whole run may send; the run is throttled so it cannot exceed it.
    #[serde(default = "default_max_requests")]
    pub max_requests: u64,
    /// A goose test plan (`users,time;users,time;…`), replacing `users`,
    /// `increase_rate` and `duration` when present.
    pub test_plan: Option<String>,
    /// The scenarios, weighted.
    #[serde(rename = "scenario")]
    pub scenarios: Vec<ScenarioEntry>,
}

/// One scenario of a profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioEntry {
    /// A method or configuration (`baseline`, `basic`, `basic-cached`,
    /// `api_key` (`api-key` is read as it), `jwt`, `jwt-<alg>`, `oauth2`,
    /// `mtls`, `layered`) or a journey (`oauth2-journey`, `api-key-rotation`,
    /// `mtls-users`).
    pub name: String,
    /// Relative weight: how many users run it per user of weight 1.
    #[serde(default = "one")]
    pub weight: usize,
}

fn default_max_requests() -> u64 {
    200_000
}

fn one() -> usize {
    1
}

impl LoadProfile {
    /// Parses `text` read from `origin` (a file path or `built-in NAME`).
    pub fn parse(text: &str, origin: &str) -> anyhow::Result<LoadProfile> {
        let mut profile: LoadProfile =
            toml::from_str(text).map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
        for s in &mut profile.scenarios {
            if let Some(m) = Method::from_legacy_name(&s.name) {
                s.name = m.name().to_owned();
            }
        }
        profile.validate().map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
        Ok(profile)
    }

    /// Loads `spec`: a path to a TOML file, or the name of a built-in profile.
    pub fn load(spec: &str) -> anyhow::Result<LoadProfile> {
        if let Some((_, text)) = BUILT_IN.iter().find(|(name, _)| *name == spec) {
            return LoadProfile::parse(text, &format!("built-in profile {spec}"));
        }
        let path = Path::new(spec);
        let text = std::fs::read_to_string(path).with_context(|| {
            let names: Vec<&str> = BUILT_IN.iter().map(|(n, _)| *n).collect();
            format!(
                "--profile {spec}: not a readable file nor a built-in profile ({})",
                names.join(", ")
            )
        })?;
        LoadProfile::parse(&text, &path.display().to_string())
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.users == 0 || self.users > MAX_USERS {
            bail!("users must be between 1 and {MAX_USERS}");
        }
        if let Some(rate) = self.increase_rate
            && !(rate > 0.0 && rate.is_finite())
        {
            bail!("increase_rate must be a positive number of users per second");
        }
        if !(self.duration > 0.0 && self.duration <= MAX_DURATION.as_secs_f64()) {
            bail!("duration must be between 0 and {} seconds", MAX_DURATION.as_secs());
        }
        if self.max_requests == 0 {
            bail!("max_requests must be at least 1");
        }
        if let Some(plan) = &self.test_plan {
            plan_seconds(plan)?;
        }
        if self.scenarios.is_empty() {
            bail!("no [[scenario]]: name at least one method or journey");
        }
        for s in &self.scenarios {
            if !super::journeys::known(&s.name) {
                bail!("scenario {:?} is unknown; known: {}", s.name, super::journeys::names());
            }
            if s.weight == 0 {
                bail!("scenario {:?}: weight must be at least 1", s.name);
            }
        }
        Ok(())
    }

    /// The whole run's length: the test plan's, or ramp plus duration.
    pub fn total(&self) -> Duration {
        match &self.test_plan {
            Some(plan) => Duration::from_secs_f64(plan_seconds(plan).unwrap_or(self.duration)),
            None => {
                let ramp = self.increase_rate.map_or(0.0, |r| self.users as f64 / r);
                Duration::from_secs_f64(ramp + self.duration)
            }
        }
    }
}

/// A goose test plan's total seconds: `users,time;…` with times like `10`,
/// `10s`, `2m`, `1h`.
pub fn plan_seconds(plan: &str) -> anyhow::Result<f64> {
    let mut total = 0.0;
    for step in plan.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((users, time)) = step.split_once(',') else {
            bail!("test_plan step {step:?} is not `users,time`");
        };
        let users: usize =
            users.trim().parse().with_context(|| format!("test_plan step {step:?}: users"))?;
        if users > MAX_USERS {
            bail!("test_plan step {step:?}: at most {MAX_USERS} users");
        }
        let time = time.trim();
        let (number, unit) = match time.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
            Some((i, _)) => (&time[..i], &time[i..]),
            None => (time, "s"),
        };
        let value: f64 =
            number.parse().with_context(|| format!("test_plan step {step:?}: time"))?;
        total += value
            * match unit {
                "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                other => bail!("test_plan step {step:?}: unit {other:?} is not s, m or h"),
            };
    }
    if total <= 0.0 || total > MAX_DURATION.as_secs_f64() {
        bail!("test_plan must last between 0 and {} seconds", MAX_DURATION.as_secs());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_profiles_parse() {
        for (name, _) in BUILT_IN {
            LoadProfile::load(name).unwrap();
        }
    }

    #[test]
    fn mistakes_name_the_field() {
        let base = "users = 2\nduration = 5\n[[scenario]]\nname = \"api-key\"\n";
        // The old spelling is read as the one spelling.
        assert_eq!(LoadProfile::parse(base, "t").unwrap().scenarios[0].name, "api_key");
        assert!(LoadProfile::parse(base, "p.toml").is_ok());
        let err = |text: &str| LoadProfile::parse(text, "p.toml").unwrap_err().to_string();
        assert!(err(&base.replace("users = 2", "users = 0")).contains("users"));
        assert!(err(&base.replace("api-key", "telnet")).contains("unknown"));
        assert!(err(&format!("{base}colour = 1\n")).contains("p.toml"));
        assert!(err(&format!("test_plan = \"4\"\n{base}")).contains("users,time"));
        assert_eq!(plan_seconds("4,2s;4,1m;0,0").unwrap(), 62.0);
        let ramped = LoadProfile::parse(&format!("increase_rate = 1\n{base}"), "p").unwrap();
        assert_eq!(ramped.total(), Duration::from_secs(7));
    }
}
