//! Verifiers written by hand for one preset each, without hooksig: what a careful
//! user writes for the one provider they receive from. The report prints them beside
//! `verify_at` (`HOOKSIG_BENCH_ONLY=presets`), so that its overhead over the raw HMAC
//! can be read, in the same run, against code that does only what the preset needs.
//!
//! Each one reads the `HeaderMap` in one pass comparing `HeaderName`s (a missing or
//! repeated header refuses), checks the id as hooksig does (1 to 255 bytes of UTF-8),
//! takes a strict decimal timestamp within the preset's tolerance, computes the MAC,
//! then decodes the signature (hex or base64, a byte at a time) and compares it in
//! constant time; Standard Webhooks' list and Stripe's `v1` items are all tried. Left
//! out, where hooksig has them: error detail, the errors' order, caps on the number of
//! signatures and the header sizes, several secrets, the result with the id.
//!
//! [`HandWritten::new`] feeds the message part by part to a clone of the same
//! pre-keyed `Hmac<Sha256>` the raw HMAC column uses. [`HandWritten::with_own_hmac`]
//! has an HMAC of its own on `sha2`'s compression function (SHA-NI where the CPU has
//! it): two keyed states copied per message, the header text and the body's first
//! bytes gathered into one block on the stack, the body's whole blocks hashed where
//! they lie. hooksig goes further: it gathers the first block while the headers are
//! still being read, writes the padding ahead, and reads the signature line while the
//! hash runs.

use std::time::{Duration, SystemTime};

use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, HeaderName};
use sha2::Sha256;
use sha2::block_api::compress256;

/// A verifier written for one preset (Oktave, Standard Webhooks, Svix, Stripe or
/// Slack: the presets whose signed message holds header text).
pub struct HandWritten {
    keyed: Hmac<Sha256>,
    /// Set by [`HandWritten::with_own_hmac`]: used instead of `keyed`.
    own: Option<OwnHmac>,
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
            own: None,
            preset,
            past: tolerance.0.as_secs(),
            future: tolerance.1.as_secs(),
        })
    }

    /// [`HandWritten::new`] with the HMAC of its own (see the module's text); keys of
    /// up to 64 bytes, as every preset's here.
    pub fn with_own_hmac(name: &str, key: &[u8], tolerance: (Duration, Duration)) -> Option<HandWritten> {
        let own = OwnHmac::new(key)?;
        Some(HandWritten { own: Some(own), ..HandWritten::new(name, key, tolerance)? })
    }

    /// The MAC of the message `parts` then `body`.
    fn tag(&self, parts: &[&[u8]], body: &[u8]) -> [u8; 32] {
        match &self.own {
            Some(own) => own.tag(parts, body),
            None => {
                let mut mac = self.keyed.clone();
                for part in parts {
                    mac.update(part);
                }
                mac.update(body);
                mac.finalize().into_bytes().into()
            }
        }
    }

    /// Whether the delivery is signed with the key and fresh at `now`. The MAC is
    /// computed before the signature is decoded, so that the decoding can run beside
    /// the hash's last rounds.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8], now: SystemTime) -> bool {
        let now = crate::unix_seconds(now);
        match &self.preset {
            Preset::Oktave { id, timestamp, signature } => {
                let Some([id, ts, sig]) = values(headers, [id, timestamp, signature]) else { return false };
                valid_id(id) && self.fresh(ts, now) && matches_hex(&self.tag(&[id, ts], &[]), sig)
            }
            Preset::Standard { id, timestamp, signature } => {
                let Some([id, ts, sig]) = values(headers, [id, timestamp, signature]) else { return false };
                if !valid_id(id) || !self.fresh(ts, now) {
                    return false;
                }
                let expected = self.tag(&[id, b".", ts, b"."], body);
                let mut matched = false;
                for entry in sig.split(|b| *b == b' ') {
                    let mut given = [0u8; 32];
                    if let Some(text) = entry.strip_prefix(b"v1,")
                        && decode_base64_tag(text, &mut given)
                    {
                        matched |= ct_eq(&expected, &given);
                    }
                }
                matched
            }
            Preset::Stripe { signature } => {
                let Some([line]) = values(headers, [signature]) else { return false };
                let mut ts = None;
                for item in line.split(|b| *b == b',') {
                    if let Some(text) = item.strip_prefix(b"t=")
                        && ts.replace(text).is_some()
                    {
                        return false;
                    }
                }
                let Some(ts) = ts.filter(|ts| self.fresh(ts, now)) else { return false };
                let expected = self.tag(&[ts, b"."], body);
                // Every `v1` (one per secret while Stripe rotates them).
                let mut matched = false;
                for item in line.split(|b| *b == b',') {
                    if let Some(text) = item.strip_prefix(b"v1=") {
                        matched |= matches_hex(&expected, text);
                    }
                }
                matched
            }
            Preset::Slack { timestamp, signature } => {
                let Some([ts, sig]) = values(headers, [timestamp, signature]) else { return false };
                let Some(text) = sig.strip_prefix(b"v0=") else { return false };
                self.fresh(ts, now) && matches_hex(&self.tag(&[b"v0:", ts, b":"], body), text)
            }
        }
    }

    /// Whether `text` is strict decimal unix seconds within the tolerance of `now`.
    fn fresh(&self, text: &[u8], now: u64) -> bool {
        if text.is_empty() || text.len() > 18 || (text.len() > 1 && text.first() == Some(&b'0')) {
            return false;
        }
        let mut seconds = 0u64;
        for &c in text {
            if !c.is_ascii_digit() {
                return false;
            }
            seconds = seconds * 10 + u64::from(c - b'0');
        }
        match now.checked_sub(seconds) {
            Some(age) => age <= self.past,
            None => seconds - now <= self.future,
        }
    }
}

/// A delivery id as hooksig takes it: 1 to 255 bytes of UTF-8.
fn valid_id(id: &[u8]) -> bool {
    (1..=255).contains(&id.len()) && (id.is_ascii() || std::str::from_utf8(id).is_ok())
}

/// Whether the hex `text` is `expected`, compared in constant time.
fn matches_hex(expected: &[u8; 32], text: &[u8]) -> bool {
    let mut given = [0u8; 32];
    decode_hex_tag(text, &mut given) && ct_eq(expected, &given)
}

/// HMAC-SHA256 on `sha2`'s compression function with the key absorbed once.
struct OwnHmac {
    inner: [u32; 8],
    outer: [u32; 8],
}

/// SHA-256's initial state.
const IV: [u32; 8] =
    [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

impl OwnHmac {
    fn new(key: &[u8]) -> Option<OwnHmac> {
        let mut block = [0u8; 64];
        block.get_mut(..key.len())?.copy_from_slice(key);
        let (mut inner, mut outer) = (IV, IV);
        compress256(&mut inner, &[block.map(|b| b ^ 0x36)]);
        compress256(&mut outer, &[block.map(|b| b ^ 0x5c)]);
        Some(OwnHmac { inner, outer })
    }

    fn tag(&self, parts: &[&[u8]], body: &[u8]) -> [u8; 32] {
        let mut state = self.inner;
        let mut block = [0u8; 64];
        let mut at = 0;
        let mut length = 64u64;
        // The header text and the body's first bytes, gathered into the first block.
        for part in parts {
            fill(&mut state, &mut block, &mut at, part);
            length += part.len() as u64;
        }
        length += body.len() as u64;
        let take = body.len().min(64 - at);
        fill(&mut state, &mut block, &mut at, &body[..take]);
        // The body's whole blocks where they lie, then its tail.
        let (whole, tail) = body[take..].as_chunks::<64>();
        compress256(&mut state, whole);
        fill(&mut state, &mut block, &mut at, tail);
        block[at..].fill(0);
        block[at] = 0x80;
        if at >= 56 {
            compress256(&mut state, &[block]);
            block = [0u8; 64];
        }
        block[56..].copy_from_slice(&(length * 8).to_be_bytes());
        compress256(&mut state, &[block]);
        let mut outer_block = [0u8; 64];
        for (bytes, word) in outer_block.as_chunks_mut::<4>().0.iter_mut().zip(&state) {
            *bytes = word.to_be_bytes();
        }
        outer_block[32] = 0x80;
        outer_block[56..].copy_from_slice(&((64u64 + 32) * 8).to_be_bytes());
        let mut outer = self.outer;
        compress256(&mut outer, &[outer_block]);
        let mut tag = [0u8; 32];
        for (bytes, word) in tag.as_chunks_mut::<4>().0.iter_mut().zip(&outer) {
            *bytes = word.to_be_bytes();
        }
        tag
    }
}

/// Appends `bytes` to the block being gathered (`at` bytes so far), hashing it each
/// time it fills.
fn fill(state: &mut [u32; 8], block: &mut [u8; 64], at: &mut usize, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        let take = bytes.len().min(64 - *at);
        block[*at..*at + take].copy_from_slice(&bytes[..take]);
        *at += take;
        bytes = &bytes[take..];
        if *at == 64 {
            compress256(state, &[*block]);
            *at = 0;
        }
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
fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    std::hint::black_box(a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y))) == 0
}

/// A 32-byte tag from its 64 hex digits, in either case.
fn decode_hex_tag(text: &[u8], out: &mut [u8; 32]) -> bool {
    let Some(text) = text.first_chunk::<64>().filter(|_| text.len() == 64) else { return false };
    let mut invalid = 0u8;
    let mut nibble = |c: u8| {
        let digit = c.wrapping_sub(b'0');
        let letter = (c | 0x20).wrapping_sub(b'a');
        match (digit < 10, letter < 6) {
            (true, _) => digit,
            (_, true) => letter + 10,
            _ => {
                invalid = 1;
                0
            }
        }
    };
    for (byte, pair) in out.iter_mut().zip(text.as_chunks::<2>().0) {
        *byte = nibble(pair[0]) << 4 | nibble(pair[1]);
    }
    invalid == 0
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
    use std::time::UNIX_EPOCH;

    /// Every hand-written verifier, with either HMAC, gives `verify_at`'s verdict on its
    /// preset's delivery and on changed copies of it: the body, a signature digit, the
    /// timestamp's text, the id, each signed header removed, clocks at and just past
    /// the tolerance on either side, and copies signed again over ids and timestamps
    /// of the wrong form (and of the longest right one). Bodies around every block
    /// boundary of the presets' messages, and longer ones.
    #[test]
    fn hand_written_verifiers_agree_with_verify_at() {
        let (mut checked, mut refused) = (0, 0);
        for len in (0..=130).chain([1024, 5000]) {
            for d in PresetDelivery::all(len, SystemTime::now()) {
                if d.hand_written(false).is_none() {
                    continue;
                }
                let scheme = d.verifier.scheme().clone();
                let sig = scheme.signature_header().clone();
                let mut cases: Vec<(String, HeaderMap, Vec<u8>, SystemTime)> = Vec::new();
                let mut case = |what: &str, headers: &HeaderMap, body: &[u8], now: SystemTime| {
                    cases.push((what.to_owned(), headers.clone(), body.to_vec(), now));
                };
                case("as signed", &d.headers, &d.body, d.at);
                case("body", &d.headers, &[&d.body[..], b" "].concat(), d.at);
                for offset in [-600i64, -301, -300, 300, 301, 1800, 4 * 3600] {
                    let now = UNIX_EPOCH
                        + Duration::from_secs(crate::unix_seconds(d.at).saturating_add_signed(offset));
                    case(&format!("clock {offset:+} s"), &d.headers, &d.body, now);
                }
                let value = d.headers[&sig].to_str().unwrap().to_owned();
                // A digit of the tag itself, changed to another value (hex digits are
                // read in either case), the value staying well formed.
                let at = value.trim_end_matches('=').len() - 10;
                let flipped = if &value[at..=at] == "0" { "1" } else { "0" };
                let mut headers = d.headers.clone();
                headers.insert(
                    sig.clone(),
                    format!("{}{flipped}{}", &value[..at], &value[at + 1..]).parse().unwrap(),
                );
                case("signature", &headers, &d.body, d.at);
                // The timestamp's text one second later (Stripe's inside its line).
                let ts = crate::unix_seconds(d.at);
                let mut headers = d.headers.clone();
                match scheme.timestamp_header() {
                    Some(name) => headers.insert(name.clone(), (ts + 1).to_string().parse().unwrap()),
                    None => headers.insert(
                        sig.clone(),
                        value.replace(&format!("t={ts}"), &format!("t={}", ts + 1)).parse().unwrap(),
                    ),
                };
                case("timestamp", &headers, &d.body, d.at);
                if let Some(name) = scheme.id_header() {
                    let mut headers = d.headers.clone();
                    headers.insert(
                        name.clone(),
                        format!("{}x", d.headers[name].to_str().unwrap()).parse().unwrap(),
                    );
                    case("id", &headers, &d.body, d.at);
                    headers.insert(name.clone(), "i".repeat(256).parse().unwrap());
                    case("long id", &headers, &d.body, d.at);
                }
                // Signed again over an id or a timestamp of the wrong form, so that only
                // the checks of the form can refuse them; and over forms that must pass.
                let (id, ts) = (
                    scheme.id_header().map(|n| d.headers[n].as_bytes().to_vec()),
                    crate::unix_seconds(d.at).to_string(),
                );
                let mut forms: Vec<(&str, Vec<u8>, Vec<u8>, bool)> = vec![
                    (
                        "as signed, signed again",
                        id.clone().unwrap_or_default(),
                        ts.clone().into_bytes(),
                        true,
                    ),
                    (
                        "timestamp with a leading zero",
                        id.clone().unwrap_or_default(),
                        format!("0{ts}").into_bytes(),
                        false,
                    ),
                ];
                if id.is_some() {
                    forms.push(("id of 255 bytes", vec![b'i'; 255], ts.clone().into_bytes(), true));
                    forms.push(("id of 256 bytes", vec![b'i'; 256], ts.clone().into_bytes(), false));
                    forms.push(("empty id", Vec::new(), ts.clone().into_bytes(), false));
                    forms.push(("id not UTF-8", vec![b'i', 0xff, 0xfe], ts.clone().into_bytes(), false));
                }
                for (what, id, ts, passes) in forms {
                    let headers = signed_again(&d, &id, &ts);
                    assert_eq!(
                        d.verifier.verify_at(&headers, &d.body, d.at).is_ok(),
                        passes,
                        "{} {len}: {what}",
                        d.name
                    );
                    case(what, &headers, &d.body, d.at);
                }
                for name in [Some(&sig), scheme.timestamp_header(), scheme.id_header()].into_iter().flatten()
                {
                    let mut headers = d.headers.clone();
                    headers.remove(name);
                    case(&format!("no {name}"), &headers, &d.body, d.at);
                }
                for own in [false, true] {
                    let Some(hand) = d.hand_written(own) else { continue };
                    for (what, headers, body, now) in &cases {
                        let expected = d.verifier.verify_at(headers, body, *now).is_ok();
                        assert_eq!(
                            hand.verify(headers, body, *now),
                            expected,
                            "{} {len} own HMAC {own}: {what}",
                            d.name
                        );
                        refused += usize::from(!expected);
                        checked += 1;
                    }
                }
            }
        }
        // Two HMACs, 133 sizes, 22 cases for Oktave, Standard Webhooks and Svix, 15 for
        // Slack (no id), 14 for Stripe (its timestamp is in its line); most refused.
        assert_eq!(checked, 133 * 2 * (22 * 3 + 15 + 14), "{checked}");
        assert!(refused > checked / 2, "{refused} of {checked}");
    }

    /// `d`'s headers with the id and the timestamp replaced by `id` and `ts`, whatever
    /// their form, and the signature computed again over the message they make.
    fn signed_again(d: &PresetDelivery, id: &[u8], ts: &[u8]) -> HeaderMap {
        use base64ct::{Base64, Encoding as _};
        let scheme = d.verifier.scheme();
        let tag = d.raw.tag(&crate::signed_message(d.name, id, ts, &d.body));
        let line: Vec<u8> = match d.name {
            "oktave" => hex::encode(tag).into_bytes(),
            "standard_webhooks" | "svix" => format!("v1,{}", Base64::encode_string(&tag)).into_bytes(),
            "stripe" => [b"t=", ts, b",v1=", hex::encode(tag).as_bytes()].concat(),
            _ => format!("v0={}", hex::encode(tag)).into_bytes(),
        };
        let mut headers = d.headers.clone();
        headers.insert(scheme.signature_header().clone(), http::HeaderValue::from_bytes(&line).unwrap());
        if let Some(name) = scheme.timestamp_header() {
            headers.insert(name.clone(), http::HeaderValue::from_bytes(ts).unwrap());
        }
        if let Some(name) = scheme.id_header() {
            headers.insert(name.clone(), http::HeaderValue::from_bytes(id).unwrap());
        }
        headers
    }

    /// The own HMAC is HMAC-SHA256: against `hmac`, for header text of 0 to 269 bytes
    /// (ids past a block) and bodies around every block boundary.
    #[test]
    fn the_own_hmac_is_hmac_sha256() {
        let key = b"It's a Secret to Everybody";
        let own = OwnHmac::new(key).unwrap();
        let text: Vec<u8> = (0..400u32).map(|i| b'a' + (i % 26) as u8).collect();
        for head in [0, 1, 30, 55, 56, 63, 64, 65, 119, 120, 127, 128, 200, 269] {
            for len in 0..=130 {
                let (parts, body) = (&text[..head], &text[head..head + len]);
                let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
                mac.update(parts);
                mac.update(body);
                let expected: [u8; 32] = mac.finalize().into_bytes().into();
                assert_eq!(
                    own.tag(&[&parts[..head / 2], &parts[head / 2..]], body),
                    expected,
                    "{head} + {len}"
                );
            }
        }
    }

    #[test]
    fn the_hex_decoder_agrees_with_the_hex_crate() {
        for seed in 0u8..=255 {
            let tag: [u8; 32] =
                std::array::from_fn(|i| seed.wrapping_mul(29).wrapping_add((i as u8).wrapping_mul(11)));
            for text in [hex::encode(tag), hex::encode_upper(tag)] {
                let mut out = [0u8; 32];
                assert!(decode_hex_tag(text.as_bytes(), &mut out));
                assert_eq!(out, tag);
                let mut bad = text.into_bytes();
                bad[usize::from(seed) % 64] = [b'g', b'/', b':', b'@', b'G', b'`'][usize::from(seed) % 6];
                assert!(!decode_hex_tag(&bad, &mut out));
                assert!(!decode_hex_tag(&bad[..63], &mut out));
            }
        }
    }

    #[test]
    fn the_base64_decoder_agrees_with_base64ct() {
        use base64ct::{Base64, Encoding as _};
        for seed in 0u8..=255 {
            let tag: [u8; 32] =
                std::array::from_fn(|i| seed.wrapping_mul(31).wrapping_add((i as u8).wrapping_mul(7)));
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
