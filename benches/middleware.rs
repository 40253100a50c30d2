//! Criterion benchmarks of the middleware: hooksig's tower layer (around a trivial
//! axum handler) and actix-web middleware, each against a baseline that only buffers
//! the body under the same limit, at 1 KiB and 1 MiB (see `apps.rs`).
//!
//! `cargo bench -p hooksig-benches --bench middleware`; the overhead ratios are in the
//! table the `report` bench prints.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[path = "apps.rs"]
#[allow(dead_code)] // labels and pairs are for the report runner
mod apps;

fn middleware(c: &mut Criterion) {
    for (name, len) in apps::SIZES {
        let mut group = c.benchmark_group(format!("middleware/{}", name.replace(' ', "")));
        group.throughput(Throughput::Bytes(len as u64));
        if len >= 1024 * 1024 {
            group.sample_size(20);
        }
        for mut app in apps::apps(len) {
            group.bench_function(app.id, |b| b.iter_custom(|iters| (app.run)(iters)));
        }
        group.finish();
    }
}

criterion_group!(benches, middleware);
criterion_main!(benches);
