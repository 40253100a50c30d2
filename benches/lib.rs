//! Shared inputs for the hooksig benchmarks: bodies, secrets, signed header maps and
//! the non-hooksig reference computations (SHA-256 floor, raw pre-keyed HMAC, the
//! naive handler).
//!
//! Every contender of a size reads the same [`Inputs`]: the same body bytes, the same
//! secret, and one `HeaderMap` per scheme that carries the headers under every name
//! the contenders look for (for example `X-Tale-Signature` and `X-Hub-Signature-256`
//! hold the same value), so no contender gets a smaller map than another.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub mod handwritten;

use hmac::{Hmac, KeyInit, Mac};
use hooksig::{Scheme, Signer, Verifier};
use http::{HeaderMap, HeaderName, HeaderValue};
use sha2::{Digest, Sha256};

/// The body sizes every group is measured at, with their display names.
pub const SIZES: [(&str, usize); 5] =
    [("0 B", 0), ("64 B", 64), ("1 KiB", 1024), ("16 KiB", 16 * 1024), ("1 MiB", 1024 * 1024)];

/// The Tale (and GitHub-shaped) secret: the example from GitHub's documentation.
pub const TALE_SECRET: &str = "It's a Secret to Everybody";
/// A second, older Tale secret for the rotation contender (tried first, does not match).
pub const OLD_TALE_SECRET: &str = "the secret we are rotating away from";
/// The Standard Webhooks secret (`whsec_` + base64), from the specification's example.
pub const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The Stripe secret (used as raw bytes, whole string).
pub const STRIPE_SECRET: &str = "whsec_test_secret_for_benchmarks";
/// The delivery id signed into Standard Webhooks messages.
pub const DELIVERY_ID: &str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";

/// A deterministic ASCII (JSON-looking, valid UTF-8) body of exactly `len` bytes.
/// UTF-8 matters: the `standardwebhooks` and `svix` crates refuse other bodies.
pub fn body(len: usize) -> Vec<u8> {
    const FILLER: &[u8] =
        b"{\"id\":\"evt_1\",\"type\":\"invoice.paid\",\"data\":{\"amount\":4200,\"note\":\"lorem ipsum\"}}\n";
    FILLER.iter().copied().cycle().take(len).collect()
}

/// The inputs of one body size, built once, outside every timed loop.
pub struct Inputs {
    /// The body.
    pub body: Vec<u8>,
    /// The instant the deliveries were signed at, passed as `now` to `verify_at`.
    pub at: SystemTime,
    /// `X-Tale-Signature` and `X-Hub-Signature-256`, both `sha256=<hex>` of the body.
    pub tale: HeaderMap,
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature` (Standard Webhooks).
    pub standard: HeaderMap,
    /// `Stripe-Signature: t=…,v1=…`.
    pub stripe: HeaderMap,
    /// hooksig, Tale preset, one secret.
    pub tale_verifier: Verifier,
    /// hooksig, Tale preset, two secrets; the delivery matches the second.
    pub tale_rotation: Verifier,
    /// hooksig, Standard Webhooks preset.
    pub standard_verifier: Verifier,
    /// hooksig, Stripe preset.
    pub stripe_verifier: Verifier,
    /// The raw pre-keyed HMAC state for [`TALE_SECRET`].
    pub raw: RawHmac,
}

impl Inputs {
    /// Signs a body of `len` bytes for every scheme at `at`. Peers that read the system
    /// clock need `at` to be recent (within their five-minute tolerance).
    pub fn new(len: usize, at: SystemTime) -> Inputs {
        let body = body(len);
        // Whole seconds, so the signed timestamp and `at` agree exactly.
        let at = UNIX_EPOCH + Duration::from_secs(unix_seconds(at));

        let mut tale = sign(Scheme::tale(), TALE_SECRET, &body, at);
        let tale_value = tale.get("x-tale-signature").cloned().expect("tale header");
        tale.insert(HeaderName::from_static("x-hub-signature-256"), tale_value);

        let standard = sign(Scheme::standard_webhooks(), STANDARD_SECRET, &body, at);
        let stripe = sign(Scheme::stripe(), STRIPE_SECRET, &body, at);

        Inputs {
            tale_verifier: Verifier::new(Scheme::tale(), TALE_SECRET).expect("tale verifier"),
            tale_rotation: Verifier::builder(Scheme::tale())
                .secret(OLD_TALE_SECRET)
                .secret(TALE_SECRET)
                .max_body(usize::MAX)
                .build()
                .expect("rotation verifier"),
            standard_verifier: Verifier::builder(Scheme::standard_webhooks())
                .secret(STANDARD_SECRET)
                .max_body(usize::MAX)
                .build()
                .expect("standard verifier"),
            stripe_verifier: Verifier::builder(Scheme::stripe())
                .secret(STRIPE_SECRET)
                .max_body(usize::MAX)
                .build()
                .expect("stripe verifier"),
            raw: RawHmac::new(TALE_SECRET.as_bytes()),
            body,
            at,
            tale,
            standard,
            stripe,
        }
    }

    /// The signature header value of `name` in `map`, as text.
    pub fn header<'a>(map: &'a HeaderMap, name: &str) -> &'a str {
        map.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

/// The ordinary headers every signed benchmark request also carries.
const ORDINARY: [(&str, &str); 3] =
    [("content-type", "application/json"), ("user-agent", "Benchmark-Hookshot/1.0"), ("accept", "*/*")];

fn sign(scheme: Scheme, secret: &str, body: &[u8], at: SystemTime) -> HeaderMap {
    let mut map = Signer::new(scheme, secret)
        .and_then(|s| s.sign_at(body, Some(DELIVERY_ID), at))
        .expect("signing the benchmark input");
    // A realistic request also carries a few ordinary headers.
    for (name, value) in ORDINARY {
        map.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    map
}

/// The body sizes of the per-preset table.
pub const PRESET_SIZES: [(&str, usize); 3] = [("64 B", 64), ("1 KiB", 1024), ("1 MiB", 1024 * 1024)];

/// The goal for `verify_at` ÷ raw pre-keyed HMAC over the same signed message at a
/// body size: 1.25 at 64 B, 1.10 at 1 KiB, 1.03 at 1 MiB.
pub fn preset_goal(len: usize) -> f64 {
    match len {
        0..=64 => 1.25,
        65..=1024 => 1.10,
        _ => 1.03,
    }
}

/// The presets' names, in the order of `Scheme::presets`.
pub const PRESET_NAMES: [&str; 9] =
    ["tale", "vocalis", "github", "oktave", "standard_webhooks", "svix", "stripe", "slack", "shopify"];

/// How the table names a preset.
pub fn preset_label(name: &str) -> &'static str {
    match name {
        "tale" => "Tale",
        "vocalis" => "Vocalis",
        "github" => "GitHub",
        "oktave" => "Oktave",
        "standard_webhooks" => "Standard Webhooks",
        "svix" => "Svix",
        "stripe" => "Stripe",
        "slack" => "Slack",
        "shopify" => "Shopify",
        _ => "?",
    }
}

/// One preset's signed delivery of one body size, with what it is compared with: the
/// signed message written out contiguously and an HMAC state keyed with the preset's
/// key, both derived here from the providers' documented formats (not from hooksig),
/// and checked against the tag the signer wrote.
pub struct PresetDelivery {
    /// The preset's name (`Scheme::name`).
    pub name: &'static str,
    /// A verifier with the preset's single secret and default limits.
    pub verifier: Verifier,
    /// Three ordinary headers, then the signed ones.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
    /// The signing instant, passed as `now`.
    pub at: SystemTime,
    /// The signed message: what the provider's HMAC covers, in one buffer.
    pub message: Vec<u8>,
    /// The preset's key, pre-keyed.
    pub raw: RawHmac,
    /// The preset's MAC key (decoded for Standard Webhooks and Svix).
    key: Vec<u8>,
}

impl PresetDelivery {
    /// Every preset's delivery of a `len`-byte body, signed at `at` (whole seconds).
    pub fn all(len: usize, at: SystemTime) -> Vec<PresetDelivery> {
        let at = UNIX_EPOCH + Duration::from_secs(unix_seconds(at));
        Scheme::presets().into_iter().map(|scheme| PresetDelivery::new(scheme, len, at)).collect()
    }

    fn new(scheme: Scheme, len: usize, at: SystemTime) -> PresetDelivery {
        let name = PRESET_NAMES
            .into_iter()
            .find(|n| *n == scheme.name())
            .unwrap_or_else(|| panic!("unknown preset {}: teach the benches its message", scheme.name()));
        let body = body(len);
        let secret = match name {
            "standard_webhooks" | "svix" => STANDARD_SECRET,
            "stripe" => STRIPE_SECRET,
            _ => TALE_SECRET,
        };
        // Ordinary headers first, as a client sends them (hyper keeps the wire order),
        // so that a reader scanning the map meets them before the signature headers.
        let signed = Signer::new(scheme.clone(), secret)
            .and_then(|s| s.sign_at(&body, Some(DELIVERY_ID), at))
            .expect("signing the benchmark input");
        let mut headers = HeaderMap::new();
        for (name, value) in ORDINARY {
            headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        for (name, value) in &signed {
            headers.append(name.clone(), value.clone());
        }
        let ts = unix_seconds(at).to_string();
        let message = signed_message(name, DELIVERY_ID.as_bytes(), ts.as_bytes(), &body);
        let key = match name {
            "standard_webhooks" | "svix" => {
                use base64ct::{Base64, Encoding as _};
                Base64::decode_vec(STANDARD_SECRET.trim_start_matches("whsec_")).expect("whsec base64")
            }
            _ => secret.as_bytes().to_vec(),
        };
        let raw = RawHmac::new(&key);
        // The message and key are the ones the signer used: its tag is in the header.
        let tag = raw.tag(&message);
        let written = match scheme.encoding() {
            hooksig::Encoding::Hex => hex::encode(tag),
            _ => {
                use base64ct::{Base64, Encoding as _};
                Base64::encode_string(&tag)
            }
        };
        let value = Inputs::header(&headers, scheme.signature_header().as_str());
        assert!(value.contains(&written), "{name}: the raw HMAC is not the signed tag");
        let verifier = Verifier::new(scheme, secret).expect("preset verifier");
        assert!(verifier.verify_at(&headers, &body, at).is_ok(), "{name}: not verified");
        PresetDelivery { name, verifier, headers, body, at, message, raw, key }
    }

    /// The verifier written by hand for this preset, with the same key and tolerance
    /// (see [`handwritten`]), with RustCrypto's HMAC or, for `own_hmac`, an HMAC of
    /// its own; `None` for the presets that sign the body alone.
    pub fn hand_written(&self, own_hmac: bool) -> Option<handwritten::HandWritten> {
        let tolerance = self.verifier.tolerance()?;
        match own_hmac {
            false => handwritten::HandWritten::new(self.name, &self.key, tolerance),
            true => handwritten::HandWritten::with_own_hmac(self.name, &self.key, tolerance),
        }
    }
}

/// What preset `name` signs for a delivery with `id`, timestamp text `ts` and `body`,
/// written out from the providers' documented formats (not from hooksig).
pub fn signed_message(name: &str, id: &[u8], ts: &[u8], body: &[u8]) -> Vec<u8> {
    match name {
        "oktave" => [id, ts].concat(),
        "standard_webhooks" | "svix" => [id, b".", ts, b".", body].concat(),
        "stripe" => [ts, b".", body].concat(),
        "slack" => [b"v0:", ts, b":", body].concat(),
        _ => body.to_vec(),
    }
}

/// Whole seconds since the epoch (0 before it).
pub fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The floor: a plain SHA-256 digest of the body.
pub fn floor(body: &[u8]) -> [u8; 32] {
    Sha256::digest(body).into()
}

/// The lower bound for any HMAC verifier: a keyed `Hmac<Sha256>` built once, cloned
/// per message, updated with the body and finalized. No parsing, no comparison.
#[derive(Clone)]
pub struct RawHmac {
    keyed: Hmac<Sha256>,
}

impl RawHmac {
    /// Keys the state once.
    pub fn new(key: &[u8]) -> RawHmac {
        RawHmac { keyed: Hmac::new_from_slice(key).expect("any key length") }
    }

    /// The tag of `body`.
    pub fn tag(&self, body: &[u8]) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

/// The handler most people write first: key a new HMAC per call, hex-encode it,
/// compare strings with `==` (not constant time; shown only for its cost).
pub fn naive_tale(headers: &HeaderMap, body: &[u8], secret: &[u8]) -> bool {
    let Some(given) = headers.get("x-tale-signature").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    expected == given
}

/// The CPU model from `/proc/cpuinfo`, or `unknown CPU`.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

/// Whether the CPU advertises the SHA extensions (`sha_ni` on x86, `sha2` on ARM).
pub fn has_sha_extensions() -> bool {
    cpu_has_any(&["sha_ni", "sha2"])
}

/// Whether the CPU has AVX-512 (x86-64), on which glibc's `memcpy` and `memset` take
/// their 512-bit code unless `GLIBC_TUNABLES` says otherwise.
pub fn has_avx512() -> bool {
    cpu_has_any(&["avx512f"])
}

/// Whether `/proc/cpuinfo` lists any of `flags` (x86 `flags`, Arm `Features`).
fn cpu_has_any(flags: &[&str]) -> bool {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|text| {
            text.lines()
                .filter(|l| l.starts_with("flags") || l.starts_with("Features"))
                .any(|l| l.split_whitespace().any(|f| flags.contains(&f)))
        })
        .unwrap_or(false)
}

/// The number of logical CPUs the process may use.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map(usize::from).unwrap_or(1)
}

/// The 1-minute load average from `/proc/loadavg`.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// Today's date (UTC) as `YYYY-MM-DD`.
pub fn today() -> String {
    let days = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() / 86_400).unwrap_or(0);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_verify_with_every_hooksig_contender() {
        for (_, len) in SIZES.iter().take(3) {
            let inputs = Inputs::new(*len, SystemTime::now());
            assert_eq!(inputs.body.len(), *len);
            assert!(std::str::from_utf8(&inputs.body).is_ok());
            assert!(inputs.tale_verifier.verify_at(&inputs.tale, &inputs.body, inputs.at).is_ok());
            let rotated = inputs.tale_rotation.verify_at(&inputs.tale, &inputs.body, inputs.at);
            assert_eq!(rotated.map(|v| v.key_index()).ok(), Some(1));
            assert!(inputs.standard_verifier.verify_at(&inputs.standard, &inputs.body, inputs.at).is_ok());
            assert!(inputs.stripe_verifier.verify_at(&inputs.stripe, &inputs.body, inputs.at).is_ok());
            assert!(naive_tale(&inputs.tale, &inputs.body, TALE_SECRET.as_bytes()));
            let hex_tag = hex::encode(inputs.raw.tag(&inputs.body));
            assert_eq!(Inputs::header(&inputs.tale, "x-tale-signature"), format!("sha256={hex_tag}"));
        }
    }

    #[test]
    fn preset_deliveries_are_signed_over_the_written_out_message() {
        for (_, len) in PRESET_SIZES.iter().take(2) {
            let all = PresetDelivery::all(*len, SystemTime::now());
            assert_eq!(all.len(), Scheme::presets().len());
            for d in &all {
                assert_eq!(d.body.len(), *len);
                assert!(d.verifier.verify_at(&d.headers, &d.body, d.at).is_ok(), "{}", d.name);
                assert_ne!(preset_label(d.name), "?");
            }
        }
    }

    #[test]
    fn dates_are_civil() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_513), (2026, 3, 1));
    }
}
