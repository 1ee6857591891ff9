//! Uncertainty of the performance figures.
//!
//! `overhead` and `compare` measure the baseline and a method in alternating
//! rounds, so whatever else the machine does falls on both sides of each
//! round alike. Each round gives one paired difference (method minus
//! baseline); the estimate is their mean and its 95 % interval Student's t
//! over the rounds (ARCHITECTURE.md, "Numbers with their uncertainty"). A
//! figure whose interval contains zero, or which is smaller than the noise
//! floor an A/A run of the baseline against itself measured, is printed as
//! "≈ 0" with its interval — never as a bare negative number.

use serde::{Deserialize, Serialize};

/// A 95 % confidence interval of a mean of paired differences.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// The mean of the per-round differences.
    pub estimate: f64,
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
    /// Rounds the differences came from.
    pub rounds: u32,
}

/// Student's t at 97.5 % (two-sided 95 %) for 1 to 30 degrees of freedom.
const T975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// t at 97.5 % for `df` degrees of freedom (the normal's 1.96 beyond 120).
fn t975(df: usize) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T975[df - 1],
        31..=60 => 2.042 - (df - 30) as f64 * (2.042 - 2.000) / 30.0,
        61..=120 => 2.000 - (df - 60) as f64 * (2.000 - 1.980) / 60.0,
        _ => 1.96,
    }
}

impl Interval {
    /// The interval of the mean of `diffs`; `None` with fewer than two
    /// finite values (one round has no spread to estimate from).
    pub fn paired(diffs: &[f64]) -> Option<Interval> {
        let values: Vec<f64> = diffs.iter().copied().filter(|d| d.is_finite()).collect();
        let n = values.len();
        if n < 2 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let half = t975(n - 1) * (var / n as f64).sqrt();
        Some(Interval { estimate: mean, low: mean - half, high: mean + half, rounds: n as u32 })
    }

    /// Half the interval's width.
    pub fn half_width(&self) -> f64 {
        (self.high - self.low) / 2.0
    }

    /// Whether the interval contains `value`.
    pub fn contains(&self, value: f64) -> bool {
        self.low <= value && value <= self.high
    }

    /// The largest difference from `null` this interval cannot tell from
    /// it: the noise floor an A/A interval stands for.
    pub fn reach(&self, null: f64) -> f64 {
        (self.low - null).abs().max((self.high - null).abs())
    }
}

/// The noise floor of a run: for each figure, the largest difference the
/// A/A run (the baseline measured against itself) could not tell from none.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct NoiseFloor {
    /// Server CPU per request, µs.
    pub cpu_us: Option<f64>,
    /// Median latency, µs.
    pub p50_us: Option<f64>,
    /// p99 latency, µs.
    pub p99_us: Option<f64>,
    /// Throughput ratio, as a distance from 1.
    pub throughput: Option<f64>,
}

/// How a figure reads beside its interval and the noise floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// The interval excludes the null value and the figure is above the noise floor.
    Measured,
    /// The interval contains the null value.
    WithinInterval,
    /// The interval excludes it, but the figure is below the A/A noise floor.
    BelowNoiseFloor,
    /// One round: no interval.
    NoInterval,
}

/// How `value` reads: `null` is the value of "no difference" (0, or 1 for a ratio).
pub fn reading(
    value: f64,
    interval: Option<&Interval>,
    noise_floor: Option<f64>,
    null: f64,
) -> Reading {
    let Some(i) = interval else { return Reading::NoInterval };
    if i.contains(null) {
        Reading::WithinInterval
    } else if noise_floor.is_some_and(|n| (value - null).abs() <= n) {
        Reading::BelowNoiseFloor
    } else {
        Reading::Measured
    }
}

/// A signed figure with its interval: `+38 µs (±12)`, `≈ 0 (±12)` within
/// the interval, `≈ 0 (noise ±15)` below the noise floor, and without an
/// interval a positive figure with `(±?)` and a negative one as `≈ 0 (±?)`.
/// `fmt` renders a magnitude with its unit (`38 µs`), `half` a half-width.
pub fn signed(
    value: f64,
    interval: Option<&Interval>,
    noise_floor: Option<f64>,
    fmt: &dyn Fn(f64) -> String,
) -> String {
    let sign = |v: f64| if v < 0.0 { format!("−{}", fmt(-v)) } else { format!("+{}", fmt(v)) };
    match (reading(value, interval, noise_floor, 0.0), interval) {
        (Reading::Measured, Some(i)) => format!("{} (±{})", sign(value), fmt(i.half_width())),
        (Reading::WithinInterval, Some(i)) => format!("≈ 0 (±{})", fmt(i.half_width())),
        (Reading::BelowNoiseFloor, _) => {
            format!("≈ 0 (noise ±{})", fmt(noise_floor.unwrap_or_default()))
        }
        _ if value < 0.0 => "≈ 0 (±?)".to_owned(),
        _ => format!("{} (±?)", sign(value)),
    }
}

/// A ratio to the baseline with its interval: `0.85× (±0.03)`, `≈ 1× (±0.04)`.
pub fn ratio(value: f64, interval: Option<&Interval>, noise_floor: Option<f64>) -> String {
    match (reading(value, interval, noise_floor, 1.0), interval) {
        (Reading::Measured, Some(i)) => format!("{value:.2}× (±{:.2})", i.half_width()),
        (Reading::WithinInterval, Some(i)) => format!("≈ 1× (±{:.2})", i.half_width()),
        (Reading::BelowNoiseFloor, _) => {
            format!("≈ 1× (noise ±{:.2})", noise_floor.unwrap_or_default())
        }
        _ => format!("{value:.2}× (±?)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(v: f64) -> String {
        format!("{v:.0}")
    }

    #[test]
    fn the_interval_of_known_differences() {
        // Mean 10, sample sd 2 over 4 rounds: half-width t(3) · 2 / 2 = 3.182.
        let i = Interval::paired(&[8.0, 12.0, 8.0, 12.0]).unwrap();
        assert!((i.estimate - 10.0).abs() < 1e-9);
        let sd = (16.0f64 / 3.0).sqrt();
        assert!((i.half_width() - 3.182 * sd / 2.0).abs() < 1e-9, "{i:?}");
        assert_eq!(i.rounds, 4);
        assert!(i.contains(10.0) && !i.contains(0.0));
    }

    #[test]
    fn one_round_has_no_interval() {
        assert_eq!(Interval::paired(&[3.0]), None);
        assert_eq!(Interval::paired(&[3.0, f64::NAN]), None);
    }

    #[test]
    fn a_negative_figure_never_prints_bare() {
        // Within its interval.
        let i = Interval::paired(&[-30.0, 10.0, -20.0]).unwrap();
        assert!(signed(i.estimate, Some(&i), None, &plain).starts_with("≈ 0 (±"));
        // Without an interval.
        assert_eq!(signed(-17.0, None, None, &plain), "≈ 0 (±?)");
        // Clearly negative, above the noise floor: printed with its interval.
        let i = Interval::paired(&[-30.0, -31.0, -29.0]).unwrap();
        assert_eq!(signed(i.estimate, Some(&i), Some(5.0), &plain), "−30 (±2)");
    }

    #[test]
    fn figures_below_the_noise_floor_are_labelled() {
        let i = Interval::paired(&[3.0, 3.1, 2.9]).unwrap();
        assert_eq!(reading(i.estimate, Some(&i), Some(10.0), 0.0), Reading::BelowNoiseFloor);
        assert_eq!(signed(i.estimate, Some(&i), Some(10.0), &plain), "≈ 0 (noise ±10)");
        assert_eq!(signed(i.estimate, Some(&i), Some(1.0), &plain), "+3 (±0)");
    }

    #[test]
    fn ratios_read_against_one() {
        let i = Interval::paired(&[0.98, 1.03, 1.0]).unwrap();
        assert!(ratio(i.estimate, Some(&i), None).starts_with("≈ 1×"));
        let i = Interval::paired(&[0.50, 0.52, 0.51]).unwrap();
        assert!(ratio(i.estimate, Some(&i), None).starts_with("0.51× (±"));
    }

    #[test]
    fn reach_is_the_farther_bound() {
        let i = Interval { estimate: 1.0, low: -2.0, high: 4.0, rounds: 3 };
        assert_eq!(i.reach(0.0), 4.0);
        assert_eq!(i.reach(1.0), 3.0);
    }
}
