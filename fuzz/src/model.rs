//! The reference model: what each preset accepts, written from the provider facts and
//! the documented limits, without hooksig's scheme engine.
//!
//! Documented rules it encodes (lib.rs "Security properties", ARCHITECTURE.md):
//! - tags: hex is exactly 64 digits in any case; base64 is exactly 44 characters of
//!   the standard alphabet, padded, and canonical (the two unused bits of the last
//!   data character are zero: one tag has one spelling);
//! - at most 16 signature entries (of any version) per delivery, at most 4096 bytes
//!   per signature header line, a line that is empty or only whitespace is malformed;
//! - timestamps are strict decimal unix seconds (digits only, no leading zero but
//!   `0`, at most `i64::MAX`), each way within the tolerance;
//! - timestamp and id headers may appear at most once; ids are 1 to 255 bytes of
//!   UTF-8, required only when the MAC covers them;
//! - the body is at most the limit;
//! - secrets: raw bytes, non-empty; or (Standard Webhooks, Svix) an optional
//!   `whsec_` prefix and standard base64, padding optional, decoding to a non-empty key;
//! - Ed25519 (Standard Webhooks, Svix: `v1a` entries, read only when the verifier has
//!   a public key; `v1` entries only when it has a secret): 88 characters of canonical
//!   padded base64, at most 4 per delivery, checked with `ed25519-dalek`'s
//!   `verify_strict`; public keys are `whpk_` (optional) + base64 of 32 bytes, a point
//!   not of small order, never a `whsk_` string; keys are tried secrets first, then
//!   public keys (the order the case's verifier adds them).

use base64ct::{Base64, Base64Unpadded, Encoding as _};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The seeds of the test signing keys behind `{ed0}` and `{ed1}` and `@pk 0`/`@pk 1`
/// (RFC 8032, section 7.1, tests 1 and 2).
pub const ED25519_SEEDS: [[u8; 32]; 2] = [
    [
        0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49,
        0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
    ],
    [
        0x4c, 0xcd, 0x08, 0x9b, 0x28, 0xff, 0x96, 0xda, 0x9d, 0xb6, 0xc3, 0x46, 0xec, 0x11, 0x4e, 0x0f, 0x5b, 0x8a,
        0x31, 0x9f, 0x35, 0xab, 0xa6, 0x24, 0xda, 0x8c, 0xf6, 0xed, 0x4f, 0xb8, 0xa6, 0xfb,
    ],
];

/// The `whpk_` form of test key `k`'s public key.
pub fn test_public_key(k: usize) -> String {
    let public = SigningKey::from_bytes(&ED25519_SEEDS[k % 2]).verifying_key();
    format!("whpk_{}", Base64::encode_string(public.as_bytes()))
}

/// Test key `k`'s Ed25519 signature over `message`.
pub fn ed25519_sign(k: usize, message: &[u8]) -> [u8; 64] {
    SigningKey::from_bytes(&ED25519_SEEDS[k % 2]).sign(message).to_bytes()
}

/// The public key a `whpk_` string stands for, or `None` when the verifier must
/// refuse it (or the preset has no Ed25519 version).
pub fn decode_public(spec: &Spec, text: &[u8]) -> Option<VerifyingKey> {
    if !spec.ed25519 || text.starts_with(b"whsk_") {
        return None;
    }
    let body = std::str::from_utf8(text.strip_prefix(b"whpk_").unwrap_or(text)).ok()?;
    let raw = Base64::decode_vec(body).or_else(|_| Base64Unpadded::decode_vec(body)).ok()?;
    let key = VerifyingKey::from_bytes(&raw.try_into().ok()?).ok()?;
    (!key.is_weak()).then_some(key)
}

/// The signature header's grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grammar {
    /// One tag per line after a fixed prefix.
    Prefixed(&'static str),
    /// Space-separated `version,tag` entries; only `v1` entries are candidates.
    List,
    /// Comma-separated `key=value` items: one `t`, any number of `v1`; others skipped.
    Stripe,
}

/// How the signed message is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    /// The raw body.
    Body,
    /// `{id}{ts}` (Oktave).
    IdTs,
    /// `{id}.{ts}.{body}` (Standard Webhooks, Svix).
    IdDotTsDotBody,
    /// `{ts}.{body}` (Stripe).
    TsDotBody,
    /// `v0:{ts}:{body}` (Slack).
    SlackV0,
}

/// One preset, as the model sees it.
#[derive(Debug)]
pub struct Spec {
    pub name: &'static str,
    pub signature: &'static str,
    pub grammar: Grammar,
    pub base64: bool,
    pub timestamp: Option<&'static str>,
    pub id: Option<&'static str>,
    pub message: Message,
    pub past: u64,
    pub future: u64,
    pub whsec_base64: bool,
    pub max_body: usize,
    pub default_secret: &'static str,
    /// Whether `v1a` (Ed25519) entries are a version of the preset.
    pub ed25519: bool,
}

const MIB: usize = 1024 * 1024;
const RAW: &str = "It's a Secret to Everybody";
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

const fn body_hex(name: &'static str, signature: &'static str, id: Option<&'static str>, max: usize) -> Spec {
    Spec {
        name,
        signature,
        grammar: Grammar::Prefixed("sha256="),
        base64: false,
        timestamp: None,
        id,
        message: Message::Body,
        past: 0,
        future: 0,
        whsec_base64: false,
        max_body: max,
        default_secret: RAW,
        ed25519: false,
    }
}

const fn standard(name: &'static str, id: &'static str, ts: &'static str, sig: &'static str) -> Spec {
    Spec {
        name,
        signature: sig,
        grammar: Grammar::List,
        base64: true,
        timestamp: Some(ts),
        id: Some(id),
        message: Message::IdDotTsDotBody,
        past: 300,
        future: 300,
        whsec_base64: true,
        max_body: 2 * MIB,
        default_secret: WHSEC,
        ed25519: true,
    }
}

/// The presets, in the order of `Scheme::presets()`.
pub const SPECS: [Spec; 9] = [
    body_hex("tale", "x-tale-signature", None, 2 * MIB),
    body_hex("vocalis", "x-vocalis-signature", None, 2 * MIB),
    body_hex("github", "x-hub-signature-256", Some("x-github-delivery"), 25 * MIB),
    Spec {
        name: "oktave",
        signature: "oktave-signature",
        grammar: Grammar::Prefixed(""),
        base64: false,
        timestamp: Some("oktave-timestamp"),
        id: Some("oktave-event-id"),
        message: Message::IdTs,
        past: 3600,
        future: 300,
        whsec_base64: false,
        max_body: 2 * MIB,
        default_secret: RAW,
        ed25519: false,
    },
    standard("standard_webhooks", "webhook-id", "webhook-timestamp", "webhook-signature"),
    standard("svix", "svix-id", "svix-timestamp", "svix-signature"),
    Spec {
        name: "stripe",
        signature: "stripe-signature",
        grammar: Grammar::Stripe,
        base64: false,
        timestamp: None,
        id: None,
        message: Message::TsDotBody,
        past: 300,
        future: 300,
        whsec_base64: false,
        max_body: 2 * MIB,
        default_secret: "whsec_test_secret",
        ed25519: false,
    },
    Spec {
        name: "slack",
        signature: "x-slack-signature",
        grammar: Grammar::Prefixed("v0="),
        base64: false,
        timestamp: Some("x-slack-request-timestamp"),
        id: None,
        message: Message::SlackV0,
        past: 300,
        future: 300,
        whsec_base64: false,
        max_body: 2 * MIB,
        default_secret: RAW,
        ed25519: false,
    },
    Spec {
        name: "shopify",
        signature: "x-shopify-hmac-sha256",
        grammar: Grammar::Prefixed(""),
        base64: true,
        timestamp: None,
        id: Some("x-shopify-webhook-id"),
        message: Message::Body,
        past: 0,
        future: 0,
        whsec_base64: false,
        max_body: 2 * MIB,
        default_secret: RAW,
        ed25519: false,
    },
];

impl Spec {
    /// Whether the MAC covers the id.
    pub fn id_covered(&self) -> bool {
        matches!(self.message, Message::IdTs | Message::IdDotTsDotBody)
    }

    /// Whether the MAC covers the body.
    pub fn covers_body(&self) -> bool {
        self.message != Message::IdTs
    }

    /// Whether deliveries carry a timestamp.
    pub fn has_timestamp(&self) -> bool {
        self.timestamp.is_some() || self.grammar == Grammar::Stripe
    }
}

/// HMAC-SHA256, straight from the `hmac` crate.
pub fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// The key HMAC actually uses: keys longer than the 64-byte block are hashed, shorter
/// ones are padded with zero bytes. Two keys with the same normal form are the same
/// key (e.g. `k` and `k || 0x00`), which is a property of HMAC, not of hooksig.
pub fn hmac_block_key(key: &[u8]) -> [u8; 64] {
    use sha2::Digest;
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    block
}

/// The signed message for `spec`.
pub fn message(spec: &Spec, id: &[u8], ts: &[u8], body: &[u8]) -> Vec<u8> {
    let parts: Vec<&[u8]> = match spec.message {
        Message::Body => vec![body],
        Message::IdTs => vec![id, ts],
        Message::IdDotTsDotBody => vec![id, b".", ts, b".", body],
        Message::TsDotBody => vec![ts, b".", body],
        Message::SlackV0 => vec![b"v0:", ts, b":", body],
    };
    parts.concat()
}

/// The key a dashboard secret stands for, or `None` when the verifier must refuse it.
pub fn decode_secret(spec: &Spec, secret: &[u8]) -> Option<Vec<u8>> {
    if secret.is_empty() {
        return None;
    }
    let key = if spec.whsec_base64 {
        let text = std::str::from_utf8(secret.strip_prefix(b"whsec_").unwrap_or(secret)).ok()?;
        Base64::decode_vec(text).or_else(|_| Base64Unpadded::decode_vec(text)).ok()?
    } else {
        secret.to_vec()
    };
    (!key.is_empty()).then_some(key)
}

/// A tag as text in the preset's encoding.
pub fn encode_tag(spec: &Spec, tag: &[u8; 32], upper: bool) -> String {
    if spec.base64 {
        Base64::encode_string(tag)
    } else if upper {
        hex::encode_upper(tag)
    } else {
        hex::encode(tag)
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Exactly 64 hex digits, any case.
pub fn decode_hex(text: &[u8]) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in text.chunks(2).enumerate() {
        out[i] = hex_value(pair[0])? << 4 | hex_value(pair[1])?;
    }
    Some(out)
}

fn b64_value(c: u8) -> Option<u32> {
    match c {
        b'A'..=b'Z' => Some(u32::from(c - b'A')),
        b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Exactly 88 characters: 86 of the standard alphabet, then `==`, canonical (the 4
/// unused bits of the last character are zero).
pub fn decode_base64_64(text: &[u8]) -> Option<[u8; 64]> {
    if text.len() != 88 || &text[86..] != b"==" {
        return None;
    }
    let mut bits: u32 = 0;
    let mut nbits = 0;
    let mut out = Vec::with_capacity(64);
    for &c in &text[..86] {
        bits = bits << 6 | b64_value(c)?;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    if nbits != 4 || bits != 0 {
        return None;
    }
    out.try_into().ok()
}

/// Exactly 44 characters: 43 of the standard alphabet, then `=`, canonical.
pub fn decode_base64(text: &[u8]) -> Option<[u8; 32]> {
    if text.len() != 44 || text[43] != b'=' {
        return None;
    }
    let mut bits: u32 = 0;
    let mut nbits = 0;
    let mut out = Vec::with_capacity(32);
    for &c in &text[..43] {
        bits = bits << 6 | b64_value(c)?;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    // 43 characters carry 258 bits: 2 must be left over, and zero.
    if nbits != 2 || bits != 0 {
        return None;
    }
    out.try_into().ok()
}

/// Strict decimal unix seconds.
pub fn parse_timestamp(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 19 || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if text.len() > 1 && text[0] == b'0' {
        return None;
    }
    let value: u128 = std::str::from_utf8(text).ok()?.parse().ok()?;
    if value > i64::MAX as u128 {
        return None;
    }
    Some(value as u64)
}

/// What the header stage yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// Decoded candidate tags.
    pub candidates: Vec<[u8; 32]>,
    /// Decoded Ed25519 signatures (`v1a`).
    pub signatures: Vec<[u8; 64]>,
    /// The timestamp, as text and value.
    pub timestamp: Option<(Vec<u8>, u64)>,
    /// The id, when present.
    pub id: Option<Vec<u8>>,
}

/// Which entries the verifier reads: HMAC ones when it has secrets, Ed25519 ones when
/// it has public keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wants {
    pub hmac: bool,
    pub ed25519: bool,
}

/// The header stage: grammar, counts, lengths, timestamp (with tolerance) and id.
pub fn parse(spec: &Spec, headers: &crate::RawHeaders, now: u64, wants: Wants) -> Option<Parsed> {
    let lines = headers.values(spec.signature);
    if lines.is_empty() {
        return None;
    }
    let mut candidates = Vec::new();
    let mut signatures = Vec::new();
    let mut entries = 0usize;
    let mut stripe_ts: Option<(Vec<u8>, u64)> = None;
    let decode = |text: &[u8]| if spec.base64 { decode_base64(text) } else { decode_hex(text) };
    for line in lines {
        if line.len() > 4096 || line.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        match spec.grammar {
            Grammar::Prefixed(prefix) => {
                let text = line.strip_prefix(prefix.as_bytes())?;
                entries += 1;
                if wants.hmac {
                    candidates.push(decode(text)?);
                }
            }
            Grammar::List => {
                for token in line.split(|b| *b == b' ').filter(|t| !t.is_empty()) {
                    let comma = token.iter().position(|b| *b == b',')?;
                    entries += 1;
                    let (version, text) = (&token[..comma], &token[comma + 1..]);
                    if version == b"v1" && wants.hmac {
                        candidates.push(decode(text)?);
                    } else if version == b"v1a" && spec.ed25519 && wants.ed25519 {
                        signatures.push(decode_base64_64(text)?);
                        if signatures.len() > 4 {
                            return None;
                        }
                    }
                }
            }
            Grammar::Stripe => {
                for item in line.split(|b| *b == b',') {
                    let eq = item.iter().position(|b| *b == b'=')?;
                    let (key, value) = (&item[..eq], &item[eq + 1..]);
                    if key.is_empty() {
                        return None;
                    }
                    if key == b"t" {
                        if stripe_ts.is_some() {
                            return None;
                        }
                        stripe_ts = Some((value.to_vec(), parse_timestamp(value)?));
                    } else {
                        entries += 1;
                        if key == b"v1" && wants.hmac {
                            candidates.push(decode(value)?);
                        }
                    }
                }
            }
        }
        if entries > 16 {
            return None;
        }
    }
    if candidates.is_empty() && signatures.is_empty() {
        return None;
    }
    let timestamp = match (spec.grammar, spec.timestamp) {
        (Grammar::Stripe, _) => Some(stripe_ts?),
        (_, Some(name)) => match headers.values(name).as_slice() {
            [one] => Some((one.to_vec(), parse_timestamp(one)?)),
            _ => return None,
        },
        _ => None,
    };
    if let Some((_, ts)) = &timestamp {
        if now >= *ts {
            if now - ts > spec.past {
                return None;
            }
        } else if ts - now > spec.future {
            return None;
        }
    }
    let id = match spec.id {
        Some(name) => match headers.values(name).as_slice() {
            [] if spec.id_covered() => return None,
            [] => None,
            [one] if (1..=255).contains(&one.len()) && std::str::from_utf8(one).is_ok() => Some(one.to_vec()),
            _ => return None,
        },
        None => None,
    };
    Some(Parsed { candidates, signatures, timestamp, id })
}

/// The model's verdict: the index of the first secret whose MAC matches a candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub key_index: usize,
    pub timestamp: Option<u64>,
    pub id: Option<Vec<u8>>,
}

/// The whole verification. `keys` are the decoded secrets and `publics` the decoded
/// public keys (all valid); key indices count the secrets first.
pub fn verify(
    spec: &Spec,
    keys: &[Vec<u8>],
    publics: &[VerifyingKey],
    headers: &crate::RawHeaders,
    body: &[u8],
    now: u64,
    max_body: usize,
) -> Option<Accepted> {
    let wants = Wants { hmac: !keys.is_empty(), ed25519: !publics.is_empty() };
    let parsed = parse(spec, headers, now, wants)?;
    if body.len() > max_body {
        return None;
    }
    let ts_text = parsed.timestamp.as_ref().map(|(t, _)| t.as_slice()).unwrap_or_default();
    let id = parsed.id.as_deref().unwrap_or_default();
    let message = message(spec, id, ts_text, body);
    let key_index = keys.iter().position(|key| parsed.candidates.contains(&hmac(key, &message))).or_else(|| {
        let strict = |public: &VerifyingKey| {
            parsed.signatures.iter().any(|s| public.verify_strict(&message, &Signature::from_bytes(s)).is_ok())
        };
        publics.iter().position(strict).map(|i| keys.len() + i)
    })?;
    Some(Accepted { key_index, timestamp: parsed.timestamp.map(|(_, v)| v), id: parsed.id })
}
