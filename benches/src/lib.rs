//! Criterion benchmarks of the reference servers and the forge, and the
//! verdict on the project's bound.
//!
//! - `benches/verify.rs`: each method's whole server-side verification path
//!   (group `<method>`, function `path`) beside its bare primitive (function
//!   `primitive`), in one run.
//! - `benches/forge.rs`: the forge's minting and mutations.
//! - `src/bin/check-bound.rs`: reads criterion's estimates and checks that each
//!   path costs at most its primitive plus the larger of 2 µs and 30% of the
//!   primitive (medians of the same run); exits 1 when one does not.
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
    /// Median of the primitive, ns.
    pub primitive_ns: f64,
    /// Median of the path, ns.
    pub path_ns: f64,
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

/// Reads `<dir>/<group>/{primitive,path}/new/estimates.json` for every group
/// that has both, sorted by group name.
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
        let (Some(primitive), Some(path)) =
            (median(&dir.join("primitive"))?, median(&dir.join("path"))?)
        else {
            continue;
        };
        let group = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
        bounds.push(Bound { group, primitive_ns: primitive, path_ns: path });
    }
    bounds.sort_by(|a, b| a.group.cmp(&b.group));
    Ok(bounds)
}

/// The median point estimate of one benchmark, `None` when it was not run.
fn median(bench_dir: &Path) -> Result<Option<f64>, String> {
    let file = bench_dir.join("new").join("estimates.json");
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", file.display())),
    };
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    json["median"]["point_estimate"]
        .as_f64()
        .map(Some)
        .ok_or_else(|| format!("{}: no median.point_estimate", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, group: &str, function: &str, median_ns: f64) {
        let path = dir.join(group).join(function).join("new");
        std::fs::create_dir_all(&path).unwrap();
        let json = serde_json::json!({"median": {"point_estimate": median_ns}});
        std::fs::write(path.join("estimates.json"), json.to_string()).unwrap();
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
        assert!(read_bounds(&dir.path().join("absent")).unwrap_err().contains("cargo bench"));
    }
}
