//! Verifiers written by hand for one preset each, with RustCrypto's HMAC and without
//! hooksig: what a careful user writes for the one provider they receive from. The
//! report prints them beside `verify_at` (`HOOKSIG_BENCH_ONLY=presets`), so that its
//! overhead over the raw HMAC can be read against the overhead of the least header
//! work the preset needs, measured in the same run.
//!
//! Each one reads the `HeaderMap` in one pass comparing `HeaderName`s (a repeated
//! header is refused), takes a strict decimal timestamp within the preset's
//! tolerance, feeds the signed message part by part to a clone of the same
//! pre-keyed `Hmac<Sha256>` the raw HMAC column uses, decodes the signature (hex, or
//! base64 with a table) and compares it in constant time (`Mac::verify_slice`).
//! Left out, where hooksig has them: error detail, caps on header sizes, the id
//! checked and kept in a result, several secrets. Standard Webhooks' list of
//! signatures is handled; Stripe's `v1` is the first one.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, HeaderName};
use sha2::Sha256;

/// A verifier written for one preset (Oktave, Standard Webhooks, Svix, Stripe or
/// Slack: the presets whose signed message holds header text).
pub struct HandWritten {
    keyed: Hmac<Sha256>,
    preset: Preset,
    /// Seconds a timestamp may lie before and after `now`.
    past: u64,
    future: u64,
}

enum Preset {
    /// `{id}{timestamp}`, hex.
    Oktave { id: HeaderName, timestamp: HeaderName, signature: HeaderName },
    /// `{id}.{timestamp}.{body}`, `v1,<base64>` entries separated by spaces.
    Standard { id: HeaderName, timestamp: HeaderName, signature: HeaderName },
    /// `{t}.{body}` with `Stripe-Signature: t=…,v1=<hex>`.
    Stripe { signature: HeaderName },
    /// `v0:{timestamp}:{body}` with `X-Slack-Signature: v0=<hex>`.
    Slack { timestamp: HeaderName, signature: HeaderName },
}

impl HandWritten {
    /// The hand-written verifier of the preset `name` with the MAC key `key` (the
    /// decoded key for Standard Webhooks and Svix) and the preset's `tolerance`
    /// (past, future); `None` for a preset whose message is the body alone.
    pub fn new(name: &str, key: &[u8], tolerance: (Duration, Duration)) -> Option<HandWritten> {
        let h = HeaderName::from_static;
        let preset = match name {
            "oktave" => Preset::Oktave {
                id: h("oktave-event-id"),
                timestamp: h("oktave-timestamp"),
                signature: h("oktave-signature"),
            },
            "standard_webhooks" => Preset::Standard {
                id: h("webhook-id"),
                timestamp: h("webhook-timestamp"),
                signature: h("webhook-signature"),
            },
            "svix" => Preset::Standard {
                id: h("svix-id"),
                timestamp: h("svix-timestamp"),
                signature: h("svix-signature"),
            },
            "stripe" => Preset::Stripe { signature: h("stripe-signature") },
            "slack" => {
                Preset::Slack { timestamp: h("x-slack-request-timestamp"), signature: h("x-slack-signature") }
            }
            _ => return None,
        };
        Some(HandWritten {
            keyed: Hmac::new_from_slice(key).ok()?,
            preset,
            past: tolerance.0.as_secs(),
            future: tolerance.1.as_secs(),
        })
    }

    /// Whether the delivery is signed with the key and fresh at `now` (unix seconds).
    pub fn verify(&self, headers: &HeaderMap, body: &[u8], now: u64) -> bool {
        let mut mac = self.keyed.clone();
        match &self.preset {
            Preset::Oktave { id, timestamp, signature } => {
                let Some([id, ts, sig]) = values(headers, [id, timestamp, signature]) else { return false };
                if id.is_empty() || !self.fresh(ts, now) {
                    return false;
                }
                mac.update(id);
                mac.update(ts);
                let mut given = [0u8; 32];
                hex::decode_to_slice(sig, &mut given).is_ok() && mac.verify_slice(&given).is_ok()
            }
            Preset::Standard { id, timestamp, signature } => {
                let Some([id, ts, sig]) = values(headers, [id, timestamp, signature]) else { return false };
                if id.is_empty() || !self.fresh(ts, now) {
                    return false;
                }
                mac.update(id);
                mac.update(b".");
                mac.update(ts);
                mac.update(b".");
                mac.update(body);
                let expected = mac.finalize().into_bytes();
                let mut matched = false;
                for entry in sig.split(|b| *b == b' ') {
                    let mut given = [0u8; 32];
                    if let Some(text) = entry.strip_prefix(b"v1,")
                        && decode_base64_tag(text, &mut given)
                    {
                        // Constant time per candidate, as `verify_slice` compares.
                        matched |= ct_eq(&expected, &given);
                    }
                }
                matched
            }
            Preset::Stripe { signature } => {
                let Some([line]) = values(headers, [signature]) else { return false };
                let (mut ts, mut v1) = (None, None);
                for item in line.split(|b| *b == b',') {
                    if let Some(text) = item.strip_prefix(b"t=") {
                        if ts.replace(text).is_some() {
                            return false;
                        }
                    } else if let Some(text) = item.strip_prefix(b"v1=") {
                        v1.get_or_insert(text);
                    }
                }
                let (Some(ts), Some(v1)) = (ts, v1) else { return false };
                if !self.fresh(ts, now) {
                    return false;
                }
                mac.update(ts);
                mac.update(b".");
                mac.update(body);
                let mut given = [0u8; 32];
                hex::decode_to_slice(v1, &mut given).is_ok() && mac.verify_slice(&given).is_ok()
            }
            Preset::Slack { timestamp, signature } => {
                let Some([ts, sig]) = values(headers, [timestamp, signature]) else { return false };
                if !self.fresh(ts, now) {
                    return false;
                }
                mac.update(b"v0:");
                mac.update(ts);
                mac.update(b":");
                mac.update(body);
                let mut given = [0u8; 32];
                let Some(text) = sig.strip_prefix(b"v0=") else { return false };
                hex::decode_to_slice(text, &mut given).is_ok() && mac.verify_slice(&given).is_ok()
            }
        }
    }

    /// Whether `text` is strict decimal unix seconds within the tolerance of `now`.
    fn fresh(&self, text: &[u8], now: u64) -> bool {
        if text.is_empty() || text.len() > 18 || (text.len() > 1 && text[0] == b'0') {
            return false;
        }
        let mut seconds = 0u64;
        for &c in text {
            if !c.is_ascii_digit() {
                return false;
            }
            seconds = seconds * 10 + u64::from(c - b'0');
        }
        if seconds <= now { now - seconds <= self.past } else { seconds - now <= self.future }
    }
}

/// The one value of each of `names`, in one pass over the map; `None` when one is
/// missing or repeated.
fn values<'a, const N: usize>(headers: &'a HeaderMap, names: [&HeaderName; N]) -> Option<[&'a [u8]; N]> {
    let mut found: [Option<&[u8]>; N] = [None; N];
    for (key, value) in headers {
        if let Some(i) = names.iter().position(|name| key == *name)
            && found[i].replace(value.as_bytes()).is_some()
        {
            return None;
        }
    }
    let mut out: [&[u8]; N] = [&[]; N];
    for (slot, value) in out.iter_mut().zip(found) {
        *slot = value?;
    }
    Some(out)
}

/// Equality of two tags in time that does not depend on where they differ.
fn ct_eq(a: &[u8], b: &[u8; 32]) -> bool {
    a.len() == b.len() && std::hint::black_box(a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y))) == 0
}

/// The standard alphabet's values, 0xFF for any other byte.
const BASE64: [u8; 256] = {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut table = [0xFFu8; 256];
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// A 32-byte tag from its 44 characters of padded base64 (canonical last character).
fn decode_base64_tag(text: &[u8], out: &mut [u8; 32]) -> bool {
    let Some((body, [b'='])) = text.split_last_chunk::<1>() else { return false };
    if body.len() != 43 {
        return false;
    }
    let mut invalid = 0u8;
    let mut value = |c: u8| {
        let v = BASE64[usize::from(c)];
        invalid |= v;
        u32::from(v & 63)
    };
    let (groups, last) = body.as_chunks::<4>();
    for (group, bytes) in groups.iter().zip(out.as_chunks_mut::<3>().0) {
        let v = value(group[0]) << 18 | value(group[1]) << 12 | value(group[2]) << 6 | value(group[3]);
        *bytes = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
    }
    let &[a, b, c] = last else { return false };
    let (a, b, c) = (value(a), value(b), value(c));
    let v = a << 18 | b << 12 | c << 6;
    out[30] = (v >> 16) as u8;
    out[31] = (v >> 8) as u8;
    invalid & 0xC0 == 0 && c & 3 == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PresetDelivery;
    use std::time::{SystemTime, UNIX_EPOCH};

    /// Every hand-written verifier accepts its preset's signed delivery and refuses a
    /// changed body, a changed signature, a stale timestamp and a missing header.
    #[test]
    fn hand_written_verifiers_accept_the_delivery_and_refuse_changes() {
        let mut checked = 0;
        for len in [0, 64, 1024] {
            for d in PresetDelivery::all(len, SystemTime::now()) {
                let Some(v) = d.hand_written() else { continue };
                let now = d.at.duration_since(UNIX_EPOCH).unwrap().as_secs();
                assert!(v.verify(&d.headers, &d.body, now), "{} {len}", d.name);
                let mut body = d.body.clone();
                body.push(b' ');
                // Oktave signs the id and the timestamp, not the body.
                let signs_body = d.verifier.scheme().message_template().contains("{body}");
                assert_eq!(v.verify(&d.headers, &body, now), !signs_body, "{} {len}: body", d.name);
                assert!(!v.verify(&d.headers, &d.body, now + 4 * 3600), "{} {len}: stale", d.name);
                let name = d.verifier.scheme().signature_header().clone();
                let mut headers = d.headers.clone();
                let value = headers[&name].to_str().unwrap().to_owned();
                // Change one character of the tag itself (the last hex digit or the
                // base64 character before the padding), keeping it well formed.
                let at = value.trim_end_matches('=').len() - 1;
                let flipped = if &value[at..=at] == "A" { "B" } else { "A" };
                let changed = format!("{}{flipped}{}", &value[..at], &value[at + 1..]);
                headers.insert(name.clone(), changed.parse().unwrap());
                assert!(!v.verify(&headers, &d.body, now), "{} {len}: signature {changed}", d.name);
                headers.remove(&name);
                assert!(!v.verify(&headers, &d.body, now), "{} {len}: missing", d.name);
                checked += 1;
            }
        }
        assert_eq!(checked, 15, "five presets at three sizes");
    }

    #[test]
    fn the_base64_decoder_agrees_with_base64ct() {
        use base64ct::{Base64, Encoding as _};
        for seed in 0u8..=255 {
            let tag: [u8; 32] = std::array::from_fn(|i| seed.wrapping_mul(31).wrapping_add(i as u8 * 7));
            let text = Base64::encode_string(&tag);
            let mut out = [0u8; 32];
            assert!(decode_base64_tag(text.as_bytes(), &mut out));
            assert_eq!(out, tag);
            let mut bad = text.clone().into_bytes();
            bad[usize::from(seed) % 43] = b'*';
            assert!(!decode_base64_tag(&bad, &mut out));
        }
        // A non-canonical last character (low bits set) and a missing pad are refused.
        let text = Base64::encode_string(&[0u8; 32]);
        let mut loose = text.clone().into_bytes();
        loose[42] = b'B';
        assert!(!decode_base64_tag(&loose, &mut [0u8; 32]));
        assert!(!decode_base64_tag(&text.as_bytes()[..43], &mut [0u8; 32]));
    }
}
