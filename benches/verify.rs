//! Criterion benchmarks of `verify_at` against the SHA-256 floor, raw pre-keyed HMAC,
//! the naive handler and peer crates, at 0 B, 64 B, 1 KiB, 16 KiB and 1 MiB; and, per
//! preset, against raw HMAC and SHA-256 over the same signed message at 64 B, 1 KiB
//! and 1 MiB (`presets/…` groups).
//!
//! One criterion group per body size, so every contender of a size is measured in the
//! same run on the same inputs. `cargo bench -p hooksig-benches --bench verify`; for
//! the README table use the `report` bench, which times the same closures.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[path = "contenders.rs"]
#[allow(dead_code)] // labels and kinds are for the report runner
mod contenders;

fn verify(c: &mut Criterion) {
    for (name, len) in hooksig_benches::SIZES {
        let mut group = c.benchmark_group(format!("verify/{}", name.replace(' ', "")));
        group.throughput(Throughput::Bytes(len as u64));
        if len >= 1024 * 1024 {
            group.sample_size(20);
        }
        // Built per size, right before measuring: peers check the timestamp against
        // the system clock with a five-minute tolerance.
        for contender in contenders::contenders(len) {
            group.bench_function(contender.id, |b| b.iter(|| (contender.run)()));
        }
        group.finish();
    }
}

/// The per-preset table's contenders: floor, raw HMAC and `verify_at` over
/// each preset's signed message.
fn presets(c: &mut Criterion) {
    for (name, len) in hooksig_benches::PRESET_SIZES {
        let mut group = c.benchmark_group(format!("presets/{}", name.replace(' ', "")));
        group.throughput(Throughput::Bytes(len as u64));
        if len >= 1024 * 1024 {
            group.sample_size(10);
        }
        for contender in contenders::presets(len) {
            group.bench_function(format!("{}/{}", contender.preset, contender.role.id()), |b| {
                b.iter(|| (contender.run)())
            });
        }
        group.finish();
    }
}

criterion_group!(benches, verify, presets);
criterion_main!(benches);
