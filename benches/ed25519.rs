//! Ed25519 verification: a Standard Webhooks `v1a` delivery through hooksig's
//! `Verifier::verify_at` (headers parsed, timestamp checked, signature decoded, strict
//! verification over `{id}.{timestamp}.{body}` fed in parts) against `ed25519-dalek`'s
//! own `verify_strict` on the same message, already contiguous and decoded: the floor.
//! The goal is at most 1.05x at 1 KiB.
//!
//! `cargo bench -p hooksig-benches --bench ed25519`: criterion, 64 B, 1 KiB, 16 KiB.
//! `HOOKSIG_ED25519_INTERLEAVED=1 cargo bench -p hooksig-benches --bench ed25519`: the
//! figure for a noisy machine: both contenders timed in alternating batches (the order
//! flipped every round), the median of the per-round ratios, and the load average.

use std::hint::black_box;
use std::time::{Duration, Instant, UNIX_EPOCH};

use base64ct::{Base64, Encoding as _};
use criterion::{Criterion, Throughput};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use hooksig::{Scheme, Verifier};
use http::HeaderMap;

const SEED: [u8; 32] = [7; 32];
const ID: &str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
const TS: u64 = 1_763_900_000;

/// One delivery of `len` bytes: what each contender needs, built before any timing.
struct Delivery {
    body: Vec<u8>,
    headers: HeaderMap,
    verifier: Verifier,
    message: Vec<u8>,
    public: VerifyingKey,
    signature: Signature,
}

fn delivery(len: usize) -> Delivery {
    let body: Vec<u8> = (0..len).map(|i| b"{\"event\":\"invoice.paid\"} "[i % 25]).collect();
    let key = SigningKey::from_bytes(&SEED);
    let message = [format!("{ID}.{TS}.").as_bytes(), &body].concat();
    let signature = key.sign(&message);
    let mut headers = HeaderMap::new();
    headers.insert("webhook-id", ID.parse().unwrap());
    headers.insert("webhook-timestamp", TS.to_string().parse().unwrap());
    let value = format!("v1a,{}", Base64::encode_string(&signature.to_bytes()));
    headers.insert("webhook-signature", value.parse().unwrap());
    let public = key.verifying_key();
    let verifier = Verifier::builder(Scheme::standard_webhooks())
        .public_key(format!("whpk_{}", Base64::encode_string(public.as_bytes())))
        .build()
        .unwrap();
    let d = Delivery { body, headers, verifier, message, public, signature };
    assert!(hooksig(&d) && dalek(&d), "both contenders accept the delivery");
    d
}

fn hooksig(d: &Delivery) -> bool {
    let now = UNIX_EPOCH + Duration::from_secs(TS);
    d.verifier.verify_at(black_box(&d.headers), black_box(&d.body), now).is_ok()
}

fn dalek(d: &Delivery) -> bool {
    d.public.verify_strict(black_box(&d.message), black_box(&d.signature)).is_ok()
}

fn criterion_benches(c: &mut Criterion) {
    for (name, len) in [("64B", 64), ("1KiB", 1024), ("16KiB", 16 * 1024)] {
        let d = delivery(len);
        let mut group = c.benchmark_group(format!("ed25519/{name}"));
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function("ed25519-dalek verify_strict (floor)", |b| b.iter(|| dalek(&d)));
        group.bench_function("hooksig Standard Webhooks v1a verify_at", |b| b.iter(|| hooksig(&d)));
        group.finish();
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map(|s| s.trim().to_owned()).unwrap_or_else(|_| "n/a".into())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Alternating batches at 1 KiB; prints ns per verification for each and the ratio.
fn interleaved() {
    let d = delivery(1024);
    let rounds: usize =
        std::env::var("HOOKSIG_ED25519_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(41);
    let batch = 400;
    let time = |f: &dyn Fn(&Delivery) -> bool| {
        let start = Instant::now();
        for _ in 0..batch {
            black_box(f(&d));
        }
        start.elapsed().as_nanos() as f64 / batch as f64
    };
    println!("load average before: {}", load_average());
    let (mut ours, mut floor, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (a, b) = if round % 2 == 0 {
            let a = time(&hooksig);
            (a, time(&dalek))
        } else {
            let b = time(&dalek);
            (time(&hooksig), b)
        };
        ours.push(a);
        floor.push(b);
        ratios.push(a / b);
    }
    println!("load average after:  {}", load_average());
    println!(
        "1 KiB, {rounds} rounds of {batch} each, medians: hooksig v1a verify_at {:.0} ns, ed25519-dalek verify_strict {:.0} ns, ratio {:.3}x (goal <= 1.05x)",
        median(&mut ours),
        median(&mut floor),
        median(&mut ratios)
    );
}

fn main() {
    if std::env::var_os("HOOKSIG_ED25519_INTERLEAVED").is_some() {
        interleaved();
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    criterion_benches(&mut c);
    c.final_summary();
}
