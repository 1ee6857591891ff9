//! Checks the verification benches' medians against the bound: each path at
//! most its primitive plus the larger of 2 µs and 30% of it. Run after
//! `cargo bench -p authbench-benches --bench verify`; exits 1 when a path is
//! over, 2 when there are no results to judge.

use std::path::PathBuf;

use authbench_benches::read_bounds;

fn main() {
    let dir = std::env::args_os().nth(1).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("CARGO_TARGET_DIR").unwrap_or_else(|| "target".into()))
            .join("criterion")
    });
    let bounds = match read_bounds(&dir) {
        Ok(b) if !b.is_empty() => b,
        Ok(_) => {
            eprintln!("error: no path/primitive pairs under {}", dir.display());
            std::process::exit(2);
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    println!("fastest sample per iteration (medians in brackets)");
    println!(
        "{:<14} {:>22} {:>22} {:>12} {:>7}  verdict",
        "group", "primitive", "path", "limit", "ratio"
    );
    let mut over = 0;
    for b in &bounds {
        let verdict = if b.holds() { "ok" } else { "OVER" };
        over += usize::from(!b.holds());
        println!(
            "{:<14} {:>22} {:>22} {:>12} {:>6.2}x  {verdict}",
            b.group,
            format!("{} ({})", micros(b.primitive_ns), micros(b.primitive_median_ns)),
            format!("{} ({})", micros(b.path_ns), micros(b.path_median_ns)),
            micros(b.limit_ns()),
            b.path_ns / b.primitive_ns
        );
    }
    if over > 0 {
        eprintln!("{over} of {} paths over the bound", bounds.len());
        std::process::exit(1);
    }
}

fn micros(ns: f64) -> String {
    format!("{:.2} µs", ns / 1000.0)
}
