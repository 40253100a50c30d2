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
//!   `whsec_` prefix and standard base64, padding optional, decoding to a non-empty key.

use base64ct::{Base64, Base64Unpadded, Encoding as _};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

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
    /// The timestamp, as text and value.
    pub timestamp: Option<(Vec<u8>, u64)>,
    /// The id, when present.
    pub id: Option<Vec<u8>>,
}

/// The header stage: grammar, counts, lengths, timestamp (with tolerance) and id.
pub fn parse(spec: &Spec, headers: &crate::RawHeaders, now: u64) -> Option<Parsed> {
    let lines = headers.values(spec.signature);
    if lines.is_empty() {
        return None;
    }
    let mut candidates = Vec::new();
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
                candidates.push(decode(text)?);
            }
            Grammar::List => {
                for token in line.split(|b| *b == b' ').filter(|t| !t.is_empty()) {
                    let comma = token.iter().position(|b| *b == b',')?;
                    entries += 1;
                    if &token[..comma] == b"v1" {
                        candidates.push(decode(&token[comma + 1..])?);
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
                        if key == b"v1" {
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
    if candidates.is_empty() {
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
    Some(Parsed { candidates, timestamp, id })
}

/// The model's verdict: the index of the first secret whose MAC matches a candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub key_index: usize,
    pub timestamp: Option<u64>,
    pub id: Option<Vec<u8>>,
}

/// The whole verification. `keys` are the decoded secrets (all valid).
pub fn verify(
    spec: &Spec,
    keys: &[Vec<u8>],
    headers: &crate::RawHeaders,
    body: &[u8],
    now: u64,
    max_body: usize,
) -> Option<Accepted> {
    let parsed = parse(spec, headers, now)?;
    if body.len() > max_body {
        return None;
    }
    let ts_text = parsed.timestamp.as_ref().map(|(t, _)| t.as_slice()).unwrap_or_default();
    let id = parsed.id.as_deref().unwrap_or_default();
    let message = message(spec, id, ts_text, body);
    let key_index = keys.iter().position(|key| parsed.candidates.contains(&hmac(key, &message)))?;
    Some(Accepted { key_index, timestamp: parsed.timestamp.map(|(_, v)| v), id: parsed.id })
}
