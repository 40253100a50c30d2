//! Runs one middleware setup of `apps.rs` many times, for instruction counts
//! (`valgrind --tool=callgrind`) and profiles (`perf record`): deterministic figures to
//! set beside the report's timings, which a shared machine makes noisy.
//!
//! - `HOOKSIG_APP`: the setup's id (`axum_hooksig`, `axum_buffer_verify`,
//!   `actix_hooksig`, `actix_buffer_verify`, ...; default `axum_hooksig`);
//! - `HOOKSIG_N`: how many requests (default 1000), sent in batches of at most 1000
//!   built before each batch, as the report's runs do;
//! - `HOOKSIG_LEN`: the body size in bytes (default 1024).
//!
//! Instructions per request: the difference of two runs with different `HOOKSIG_N`
//! divided by the difference of the counts (the setup's own cost cancels out), e.g.
//!
//! ```text
//! cargo bench -p hooksig-benches --bench callgrind --no-run
//! HOOKSIG_APP=actix_hooksig HOOKSIG_N=200  valgrind --tool=callgrind target/release/deps/callgrind-<hash>
//! HOOKSIG_APP=actix_hooksig HOOKSIG_N=1200 valgrind --tool=callgrind target/release/deps/callgrind-<hash>
//! ```
//!
//! Under valgrind SHA-256 runs without the SHA extensions, so hashing weighs more in
//! these counts than in the timings; compare the differences between setups.

use std::time::Duration;

#[path = "apps.rs"]
#[allow(dead_code)] // labels and kinds are for the report runner
mod apps;

fn var(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let id = std::env::var("HOOKSIG_APP").unwrap_or_else(|_| "axum_hooksig".into());
    let n = var("HOOKSIG_N", 1000);
    let len = var("HOOKSIG_LEN", 1024) as usize;
    let mut list = apps::apps(len);
    let Some(app) = list.iter_mut().find(|a| a.id == id) else {
        let ids: Vec<_> = list.iter().map(|a| a.id).collect();
        eprintln!("no setup {id:?}; the setups are {ids:?}");
        std::process::exit(2);
    };
    let (mut left, mut took) = (n, Duration::ZERO);
    while left > 0 {
        let batch = left.min(1000);
        took += (app.run)(batch);
        left -= batch;
    }
    eprintln!(
        "{id}: {:.0} ns/request ({})",
        took.as_nanos() as f64 / n.max(1) as f64,
        apps::Stopwatch::clock()
    );
}
