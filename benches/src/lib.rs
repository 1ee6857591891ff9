//! Criterion benchmarks of the reference servers and the forge, and the
//! verdict on the project's bound.
//!
//! - `benches/verify.rs`: each method's whole server-side verification path
//!   (group `<method>`, function `path`) beside its bare primitive (function
//!   `primitive`), in one run.
//! - `benches/forge.rs`: the forge's minting and mutations.
//! - `src/bin/check-bound.rs`: reads criterion's samples and checks that each
//!   path costs at most its primitive plus the larger of 2 µs and 30% of the
//!   primitive (same run); exits 1 when one does not.
//!
//! The estimate compared is each benchmark's fastest sample (its mean time per
//! iteration). On a shared machine interference only ever adds time, and it
//! comes in bursts that can cover all of one benchmark's samples and none of
//! the other's: medians measured that way disagree by 40% on identical code
//! (the EdDSA path, whose only work beyond its primitive is two base64
//! decodes and a JSON parse), fastest samples by a few percent. Medians are
//! printed beside it.
//! - `scripts/load-tools.sh`: `authbench overhead --max` beside wrk.

#![allow(clippy::unwrap_used)]

use std::path::Path;

/// The fixed allowance over the primitive, in nanoseconds.
pub const ALLOWANCE_NS: f64 = 2_000.0;
/// The proportional allowance over the primitive.
pub const ALLOWANCE_RATIO: f64 = 0.30;

/// One method's measured path against its primitive.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    /// The criterion group (the method configuration).
    pub group: String,
    /// Fastest sample of the primitive, ns per iteration.
    pub primitive_ns: f64,
    /// Fastest sample of the path, ns per iteration.
    pub path_ns: f64,
    /// Median estimate of the primitive, ns (for reference).
    pub primitive_median_ns: f64,
    /// Median estimate of the path, ns (for reference).
    pub path_median_ns: f64,
}

impl Bound {
    /// The most the path may cost, ns.
    pub fn limit_ns(&self) -> f64 {
        self.primitive_ns + ALLOWANCE_NS.max(ALLOWANCE_RATIO * self.primitive_ns)
    }

    /// Whether the path is within the bound.
    pub fn holds(&self) -> bool {
        self.path_ns <= self.limit_ns()
    }
}

/// Reads `<dir>/<group>/{primitive,path}/new/{sample,estimates}.json` for
/// every group that has both, sorted by group name.
pub fn read_bounds(criterion_dir: &Path) -> Result<Vec<Bound>, String> {
    let entries = std::fs::read_dir(criterion_dir).map_err(|e| {
        format!(
            "{}: {e} (run `cargo bench -p authbench-benches --bench verify` first)",
            criterion_dir.display()
        )
    })?;
    let mut bounds = Vec::new();
    for entry in entries {
        let dir = entry.map_err(|e| e.to_string())?.path();
        let (Some((primitive, primitive_median)), Some((path, path_median))) =
            (estimate(&dir.join("primitive"))?, estimate(&dir.join("path"))?)
        else {
            continue;
        };
        let group = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
        bounds.push(Bound {
            group,
            primitive_ns: primitive,
            path_ns: path,
            primitive_median_ns: primitive_median,
            path_median_ns: path_median,
        });
    }
    bounds.sort_by(|a, b| a.group.cmp(&b.group));
    Ok(bounds)
}

/// One benchmark's fastest sample and median estimate, `None` when it was not run.
fn estimate(bench_dir: &Path) -> Result<Option<(f64, f64)>, String> {
    let (Some(samples), Some(estimates)) = (
        read_json(&bench_dir.join("new").join("sample.json"))?,
        read_json(&bench_dir.join("new").join("estimates.json"))?,
    ) else {
        return Ok(None);
    };
    let numbers = |key: &str| -> Vec<f64> {
        samples[key]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_f64()).collect())
            .unwrap_or_default()
    };
    let fastest = numbers("times")
        .iter()
        .zip(numbers("iters"))
        .filter(|(_, iters)| *iters > 0.0)
        .map(|(time, iters)| time / iters)
        .fold(f64::INFINITY, f64::min);
    let median = estimates["median"]["point_estimate"].as_f64();
    match (fastest.is_finite(), median) {
        (true, Some(median)) => Ok(Some((fastest, median))),
        _ => Err(format!("{}: no samples or no median estimate", bench_dir.display())),
    }
}

fn read_json(file: &Path) -> Result<Option<serde_json::Value>, String> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", file.display())),
    };
    serde_json::from_str(&text).map(Some).map_err(|e| format!("{}: {e}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A benchmark whose fastest sample is `fastest_ns` per iteration (the
    /// others and the median slower, as noise makes them).
    fn write(dir: &Path, group: &str, function: &str, fastest_ns: f64) {
        let path = dir.join(group).join(function).join("new");
        std::fs::create_dir_all(&path).unwrap();
        let json = serde_json::json!({"median": {"point_estimate": fastest_ns * 1.5}});
        std::fs::write(path.join("estimates.json"), json.to_string()).unwrap();
        let samples = serde_json::json!({
            "iters": [10.0, 20.0, 30.0],
            "times": [fastest_ns * 10.0 * 1.4, fastest_ns * 20.0, fastest_ns * 30.0 * 2.0],
        });
        std::fs::write(path.join("sample.json"), samples.to_string()).unwrap();
    }

    #[test]
    fn the_bound_is_the_larger_allowance_and_missing_halves_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        // 500 ns primitive: 2 µs allowance.
        write(dir.path(), "cheap", "primitive", 500.0);
        write(dir.path(), "cheap", "path", 2_600.0);
        // 100 µs primitive: 30% allowance.
        write(dir.path(), "costly", "primitive", 100_000.0);
        write(dir.path(), "costly", "path", 129_000.0);
        write(dir.path(), "over", "primitive", 100_000.0);
        write(dir.path(), "over", "path", 131_000.0);
        write(dir.path(), "half", "path", 1.0);
        let bounds = read_bounds(dir.path()).unwrap();
        let verdicts: Vec<(&str, bool)> =
            bounds.iter().map(|b| (b.group.as_str(), b.holds())).collect();
        assert_eq!(verdicts, [("cheap", false), ("costly", true), ("over", false)]);
        assert_eq!(bounds[0].limit_ns(), 2_500.0);
        assert_eq!(bounds[0].path_median_ns, 3_900.0);
        assert!(read_bounds(&dir.path().join("absent")).unwrap_err().contains("cargo bench"));
    }
}
