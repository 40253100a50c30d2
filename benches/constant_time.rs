//! Timing test (dudect): does `Verifier::verify_at` take the same time whatever the
//! candidate tag has in common with the expected MAC?
//!
//! Each bench times full verifications (header parsing, tag decoding, HMAC, the
//! constant-time comparison) of the same body under one secret, in two classes as
//! dudect expects: `Left`, a candidate equal to the expected MAC in a chosen pattern of
//! bytes (the first byte only, the last byte only, none, or all but the last) and
//! random elsewhere, and `Right`, a uniformly random candidate. The header map of each
//! sample is built the same way for both classes, outside the timed region, so the
//! classes differ only in how the candidate relates to the expected MAC. Every
//! candidate is refused (none equals the MAC).
//!
//! A control bench times an early-exit byte comparison the same way; it should show a
//! large |t|, which shows the harness can see a leak of this size.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-hardening HOOKSIG_DUDECT_SAMPLES=1000000 \
//!     cargo bench -p hooksig-benches --bench constant_time
//! ```
//!
//! |t| below 4.5 means no leak was detected at this sample size; above 10 means a leak
//! almost certainly exists. The machine is shared and noisy: this is not a CI gate.

use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use base64ct::{Base64, Encoding as _};
use dudect_bencher::ctbench::{BenchFn, BenchMetadata, BenchName, BenchOpts, run_benches_console};
use dudect_bencher::rand::{Rng, RngExt};
use dudect_bencher::{BenchRng, Class, CtRunner};
use hmac::{Hmac, KeyInit, Mac};
use hooksig::{Scheme, Verifier};
use http::{HeaderMap, HeaderValue};
use sha2::Sha256;

const SECRET: &str = "It's a Secret to Everybody";
const BODY: &[u8] = br#"{"action":"opened","number":1}"#;
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ID: &str = "msg_dudect";
const TS: u64 = 1_700_000_000;

fn samples() -> usize {
    std::env::var("HOOKSIG_DUDECT_SAMPLES").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000)
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Which bytes of the `Left` candidate equal the expected MAC.
#[derive(Clone, Copy)]
enum Pattern {
    FirstByte,
    LastByte,
    None,
    AllButLast,
}

/// A candidate equal to `mac` exactly where the pattern says and different (otherwise
/// random) everywhere else.
fn pattern_candidate(mac: &[u8; 32], pattern: Pattern, rng: &mut BenchRng) -> [u8; 32] {
    let mut c = [0u8; 32];
    rng.fill_bytes(&mut c);
    for (i, (byte, expected)) in c.iter_mut().zip(mac).enumerate() {
        let keep = match pattern {
            Pattern::FirstByte => i == 0,
            Pattern::LastByte => i == 31,
            Pattern::None => false,
            Pattern::AllButLast => i < 31,
        };
        if keep {
            *byte = *expected;
        } else if byte == expected {
            *byte ^= 1 << (i % 8);
        }
    }
    c
}

/// A uniformly random candidate (never the MAC itself).
fn random_candidate(mac: &[u8; 32], rng: &mut BenchRng) -> [u8; 32] {
    let mut c = [0u8; 32];
    rng.fill_bytes(&mut c);
    if &c == mac {
        c[0] ^= 1;
    }
    c
}

/// Runs one bench: `make` turns a candidate tag into the delivery's headers. Both
/// classes build their header map the same way, per sample, outside the timed region,
/// and both carry random bytes wherever the pattern does not pin them to the MAC, so
/// the classes differ only in how the candidate relates to the expected MAC.
fn run(
    runner: &mut CtRunner,
    rng: &mut BenchRng,
    verifier: &Verifier,
    mac: [u8; 32],
    pattern: Pattern,
    make: impl Fn(&[u8; 32]) -> HeaderMap,
) {
    let now = UNIX_EPOCH + Duration::from_secs(TS);
    // Sanity: the real MAC verifies, a pattern candidate does not.
    assert!(verifier.verify_at(&make(&mac), BODY, now).is_ok());
    assert!(verifier.verify_at(&make(&pattern_candidate(&mac, pattern, rng)), BODY, now).is_err());
    for _ in 0..samples() {
        let (class, candidate) = if rng.random::<bool>() {
            (Class::Left, pattern_candidate(&mac, pattern, rng))
        } else {
            (Class::Right, random_candidate(&mac, rng))
        };
        let headers = make(&candidate);
        runner.run_one(class, || black_box(verifier.verify_at(black_box(&headers), BODY, now)).is_err());
    }
}

fn tale(runner: &mut CtRunner, rng: &mut BenchRng, pattern: Pattern) {
    let verifier = Verifier::new(Scheme::tale(), SECRET).unwrap();
    let mac = hmac(SECRET.as_bytes(), BODY);
    run(runner, rng, &verifier, mac, pattern, |tag| {
        let mut h = HeaderMap::new();
        let value = format!("sha256={}", hex::encode(tag));
        h.insert("x-tale-signature", HeaderValue::from_str(&value).unwrap());
        h
    });
}

fn tale_first_byte(runner: &mut CtRunner, rng: &mut BenchRng) {
    tale(runner, rng, Pattern::FirstByte);
}

fn tale_last_byte(runner: &mut CtRunner, rng: &mut BenchRng) {
    tale(runner, rng, Pattern::LastByte);
}

fn tale_no_byte(runner: &mut CtRunner, rng: &mut BenchRng) {
    tale(runner, rng, Pattern::None);
}

fn tale_all_but_last(runner: &mut CtRunner, rng: &mut BenchRng) {
    tale(runner, rng, Pattern::AllButLast);
}

/// The base64 path (Standard Webhooks), most sensitive pattern.
fn standard_webhooks_all_but_last(runner: &mut CtRunner, rng: &mut BenchRng) {
    let verifier = Verifier::new(Scheme::standard_webhooks(), WHSEC).unwrap();
    let key = Base64::decode_vec(WHSEC.trim_start_matches("whsec_")).unwrap();
    let message = [ID.as_bytes(), b".", TS.to_string().as_bytes(), b".", BODY].concat();
    let mac = hmac(&key, &message);
    run(runner, rng, &verifier, mac, Pattern::AllButLast, |tag| {
        let mut h = HeaderMap::new();
        h.insert("webhook-id", HeaderValue::from_static(ID));
        h.insert("webhook-timestamp", HeaderValue::from_str(&TS.to_string()).unwrap());
        let value = format!("v1,{}", Base64::encode_string(tag));
        h.insert("webhook-signature", HeaderValue::from_str(&value).unwrap());
        h
    });
}

/// Control: an early-exit comparison over 32-byte tags after the same HMAC work,
/// candidates equal in all but the last byte vs random. Expected to leak.
fn control_early_exit_compare(runner: &mut CtRunner, rng: &mut BenchRng) {
    let mac = hmac(SECRET.as_bytes(), BODY);
    let early_exit = |a: &[u8; 32], b: &[u8; 32]| {
        for i in 0..32 {
            if black_box(a[i]) != black_box(b[i]) {
                return false;
            }
        }
        true
    };
    for _ in 0..samples() {
        let (class, candidate) = if rng.random::<bool>() {
            (Class::Left, pattern_candidate(&mac, Pattern::AllButLast, rng))
        } else {
            (Class::Right, random_candidate(&mac, rng))
        };
        runner.run_one(class, || {
            let ours = hmac(SECRET.as_bytes(), black_box(BODY));
            early_exit(&ours, black_box(&candidate))
        });
    }
}

/// dudect's own `ctbench_main!` rejects the `--bench` flag `cargo bench` passes, so
/// the runner is set up here: `-- --filter NAME` runs the benches whose name contains
/// NAME, `-- --out FILE` appends the raw timings as CSV.
fn main() {
    let benches: [(&'static str, BenchFn); 6] = [
        ("tale_first_byte", tale_first_byte),
        ("tale_last_byte", tale_last_byte),
        ("tale_no_byte", tale_no_byte),
        ("tale_all_but_last", tale_all_but_last),
        ("standard_webhooks_all_but_last", standard_webhooks_all_but_last),
        ("control_early_exit_compare", control_early_exit_compare),
    ];
    let mut opts = BenchOpts::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--filter" => opts.filter = args.next(),
            "--out" => opts.file_out = args.next().map(std::path::PathBuf::from),
            _ => {} // `--bench` from cargo, and anything else
        }
    }
    let benches = benches
        .into_iter()
        .map(|(name, benchfn)| BenchMetadata { name: BenchName(name), seed: None, benchfn })
        .collect();
    run_benches_console(opts, benches).unwrap();
}
