//! Helpers shared by the integration tests: a deterministic PRNG, header building,
//! and streamed verification in uneven chunks.

#![allow(
    dead_code,
    unused_imports,
    unused_macros,
    reason = "every test binary includes all the helpers and uses a part of them"
)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hooksig::{Error, Verified, Verifier};
use http::HeaderMap;

/// SplitMix64: small, deterministic, good enough to generate test inputs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }

    /// Printable ASCII without spaces at the ends.
    pub fn token(&mut self, len: usize) -> String {
        const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
        (0..len).map(|_| CHARS[self.below(CHARS.len())] as char).collect()
    }
}

pub fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

pub fn header_map(pairs: &[(String, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            http::HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

/// Verifies by streaming `body` in chunks whose sizes come from `rng`.
pub fn verify_streamed(
    verifier: &Verifier,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
    rng: &mut Rng,
) -> Result<Verified, Error> {
    let mut verification = verifier.begin_at(headers, now)?;
    let mut rest = body;
    while !rest.is_empty() {
        let n = 1 + rng.below(rest.len().min(97));
        let (chunk, tail) = rest.split_at(n);
        verification.update(chunk)?;
        rest = tail;
    }
    // Empty chunks are legal and change nothing.
    verification.update(&[])?;
    verification.finish()
}

/// The short code the reference scripts use for an error.
pub fn code(err: &Error) -> &'static str {
    match err {
        Error::MissingHeader { .. } => "missing",
        Error::MalformedHeader { .. } => "malformed",
        Error::TimestampTooOld { .. } => "too_old",
        Error::TimestampInFuture { .. } => "in_future",
        Error::SignatureMismatch => "mismatch",
        Error::InvalidSecret { .. } | Error::InvalidKey { .. } => "invalid_secret",
        _ => "other",
    }
}

pub mod counting_alloc;
pub mod load;
#[cfg(feature = "redis")]
#[macro_use]
pub mod redis;
#[cfg(feature = "redis")]
#[macro_use]
pub mod redis_cluster;
