//! Paired measurement: two routines measured in alternation, so that a
//! machine whose load moves over seconds affects both alike. Shared, as
//! source, by `benches/kinseal.rs` (each operation against its floor) and
//! `benches/peer/benches/vodozemac.rs` (kinseal against vodozemac).

#![allow(dead_code)]

use std::time::{Duration, Instant};

/// How long each paired comparison runs: about a second in a measuring
/// run (`cargo bench`), one round under `cargo test` or `--quick`.
pub(crate) fn paired_budget() -> Duration {
    let args: Vec<String> = std::env::args().collect();
    let measuring = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--quick");
    if measuring {
        Duration::from_secs(1)
    } else {
        Duration::ZERO
    }
}

/// The ratio of an operation to its floor with the two measured in
/// alternation: rounds of about 4 ms each (at least 8 iterations), op then
/// floor, then floor then op, and so on; the ratio of each pair of rounds, whose
/// conditions were the same to within a few milliseconds; the median of
/// those. On a shared machine whose load moves over seconds this is far
/// steadier than the ratio of two medians measured one after the other.
///
/// `op(n)` and `floor(n)` run `n` iterations and return the time those took
/// (any setup outside the returned time). Returns (ratio, op ns, floor ns),
/// the times being medians per iteration.
pub(crate) fn paired(
    mut op: impl FnMut(u32) -> Duration,
    mut floor: impl FnMut(u32) -> Duration,
    budget: Duration,
) -> (f64, f64, f64) {
    // Calibrate: iterations per round for about 4 ms of the operation, and
    // never fewer than 8, so that one preemption does not make a round.
    let mut n = 1u32;
    while n < 1 << 16 && (n < 8 || op(n) < Duration::from_millis(4)) {
        n *= 2;
    }
    let per = |d: Duration| d.as_nanos() as f64 / f64::from(n);
    let (mut ratios, mut ops, mut floors) = (Vec::new(), Vec::new(), Vec::new());
    let start = Instant::now();
    let mut round = 0u32;
    while ratios.is_empty() || start.elapsed() < budget {
        let (a, b) = if round.is_multiple_of(2) {
            let a = per(op(n));
            (a, per(floor(n)))
        } else {
            let b = per(floor(n));
            (per(op(n)), b)
        };
        ratios.push(a / b);
        ops.push(a);
        floors.push(b);
        round += 1;
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(&mut ratios), median(&mut ops), median(&mut floors))
}

/// Writes `{id: {ratio, op_ns, floor_ns}}` to `<criterion dir>/<name>`,
/// where the report reads it; `root` is the workspace root.
pub(crate) fn write_json(root: &str, name: &str, results: &[(String, (f64, f64, f64))]) {
    let mut json = serde_json::Map::new();
    for (id, (ratio, a, b)) in results {
        json.insert(
            id.clone(),
            serde_json::json!({ "ratio": ratio, "op_ns": a, "floor_ns": b }),
        );
    }
    let dir = criterion_dir(root);
    let _ = std::fs::create_dir_all(&dir);
    let text = serde_json::to_string_pretty(&json).unwrap_or_default();
    if let Err(e) = std::fs::write(dir.join(name), text) {
        eprintln!("could not write {name}: {e}");
    }
}

/// Where criterion writes: `$CRITERION_HOME`, else `$CARGO_TARGET_DIR` or
/// the workspace's `target`, then `criterion`.
pub(crate) fn criterion_dir(root: &str) -> std::path::PathBuf {
    if let Ok(home) = std::env::var("CRITERION_HOME") {
        return home.into();
    }
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| format!("{root}/target"));
    std::path::Path::new(&target).join("criterion")
}
