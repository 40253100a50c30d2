//! The deliveries `probe` sends: bodies, correct signatures, and signature header values
//! that are wrong on purpose (empty, truncated, garbage, too long, one byte off).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64ct::{Base64, Encoding as _};
use hooksig::{Algorithm, Encoding, KeyPair, Scheme, SignatureFormat, Signer};
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::Failure;

/// A raw secret no real receiver is configured with.
const WRONG_RAW: &str = "hooksig-probe-wrong-secret";
/// The same for schemes whose secrets are `whsec_` + base64 (the text above, encoded).
const WRONG_BASE64: &str = "whsec_aG9va3NpZy1wcm9iZS13cm9uZy1zZWNyZXQ=";
/// HMAC pads its key with zero bytes, so one zero byte keys exactly like the empty
/// secret, which the library (rightly) refuses to take as such.
const EMPTY_RAW: &[u8] = b"\0";
const EMPTY_BASE64: &str = "whsec_AA==";

const JSON: &str = "application/json";

/// The size of the body of the `oversized-body` check.
pub const OVERSIZED: usize = 30 * 1024 * 1024;

/// One signed delivery: the signature headers (id, timestamp, signature) and the body.
pub struct Signed {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The signed timestamp, unix seconds.
    pub at: u64,
    /// The Content-Type the body is sent with.
    pub content_type: Option<&'static str>,
}

/// Signs for one scheme with the user's key (an HMAC secret or an Ed25519 signing
/// key), another key of the same kind, or (HMAC) the empty secret.
pub struct Crafter {
    scheme: Scheme,
    /// The algorithm of the user's key, so of every signature crafted.
    algorithm: Algorithm,
    signer: Signer,
    wrong: Signer,
    /// `None` for Ed25519: there is no empty signing key to fall back to.
    empty: Option<Signer>,
    /// The body the user gave, or `None` for the generated JSON bodies.
    user_body: Option<Vec<u8>>,
    /// The Content-Type of the bodies: JSON for the generated ones, as `sign --curl`
    /// chooses for the user's.
    content_type: Option<&'static str>,
    /// Makes the generated bodies (and nothing secret) unique per run.
    rng: Rng,
}

impl Crafter {
    pub fn new(
        scheme: &Scheme,
        algorithm: Algorithm,
        signer: Signer,
        user_body: Option<Vec<u8>>,
    ) -> Result<Self, Failure> {
        let cannot = |e: hooksig::Error| Failure::usage(format!("cannot sign for {}: {e}", scheme.name()));
        let other = |secret: &[u8]| Signer::new(scheme.clone(), secret).map_err(cannot);
        let (wrong, empty) = match algorithm {
            Algorithm::Ed25519 => {
                // Another key pair, fresh for this run: no receiver holds its public key.
                let pair = KeyPair::generate(scheme).map_err(cannot)?;
                let wrong = Signer::builder(scheme.clone())
                    .signing_key(pair.signing_key())
                    .build()
                    .map_err(cannot)?;
                (wrong, None)
            }
            _ => {
                let base64 = matches!(scheme.secret_format(), hooksig::SecretFormat::Base64 { .. });
                let (wrong, empty): (&[u8], &[u8]) = if base64 {
                    (WRONG_BASE64.as_bytes(), EMPTY_BASE64.as_bytes())
                } else {
                    (WRONG_RAW.as_bytes(), EMPTY_RAW)
                };
                (other(wrong)?, Some(other(empty)?))
            }
        };
        let content_type = match &user_body {
            Some(body) => crate::sign::content_type(body),
            None => Some(JSON),
        };
        Ok(Crafter {
            content_type,
            scheme: scheme.clone(),
            algorithm,
            signer,
            wrong,
            empty,
            user_body,
            rng: Rng::seeded(),
        })
    }

    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// The algorithm of every signature this crafter writes.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// A body for one check: the user's, or a small JSON object naming the check with
    /// a fresh nonce, so that no two accepted deliveries are the same delivery to a
    /// receiver with replay protection. Compact, keys in sorted order: exactly what a
    /// receiver that re-serializes JSON (serde_json, `JSON.stringify` of a sorted
    /// object) produces, so that only `valid-reformatted` tells such a receiver apart.
    pub fn body(&mut self, check: &str) -> Vec<u8> {
        match &self.user_body {
            Some(body) => body.clone(),
            None => serde_json::to_vec(&self.json(check)).unwrap_or_default(),
        }
    }

    fn json(&mut self, check: &str) -> serde_json::Value {
        serde_json::json!({
            "check": check,
            "event": "hooksig.probe",
            "nonce": format!("{:016x}", self.rng.next()),
        })
    }

    /// The `valid-reformatted` body: the same JSON pretty-printed with other spacing and
    /// the keys of every object in reverse order; `None` when the body is not JSON.
    pub fn reformatted(&mut self) -> Option<Vec<u8>> {
        let value = match &self.user_body {
            Some(body) => serde_json::from_slice(body).ok()?,
            None => self.json("valid-reformatted"),
        };
        let mut out = String::new();
        pretty_reversed(&value, 0, &mut out);
        out.push('\n');
        let out = out.into_bytes();
        // A body already in exactly this form: still other bytes, with one more space.
        if self.user_body.as_deref() == Some(out.as_slice()) {
            let mut other = vec![b' '];
            other.extend(out);
            return Some(other);
        }
        Some(out)
    }

    /// The body of `oversized-body`: a JSON object of exactly 30 MiB.
    pub fn oversized(&mut self) -> Vec<u8> {
        let head = format!(r#"{{"check":"oversized-body","nonce":"{:016x}","pad":""#, self.rng.next());
        let mut body = Vec::with_capacity(OVERSIZED);
        body.extend_from_slice(head.as_bytes());
        body.resize(OVERSIZED.saturating_sub(2), b'x');
        body.extend_from_slice(b"\"}");
        body
    }

    /// The body with one byte changed: a letter or digit becomes another (so JSON stays
    /// JSON), else the last byte is flipped.
    pub fn tampered(body: &[u8]) -> Vec<u8> {
        let mut out = body.to_vec();
        let at = out.iter().rposition(u8::is_ascii_alphanumeric);
        match at.and_then(|i| out.get_mut(i)) {
            Some(b) => *b = if *b == b'a' { b'b' } else { b'a' },
            None => {
                if let Some(b) = out.last_mut() {
                    *b ^= 1;
                } else {
                    out.push(b'x');
                }
            }
        }
        out
    }

    /// Signs a JSON body this crafter made (`reformatted`, `oversized`).
    pub fn sign_json(&self, body: Vec<u8>) -> Result<Signed, Failure> {
        let mut signed = self.sign_with(&self.signer, body, 0)?;
        signed.content_type = Some(JSON);
        Ok(signed)
    }

    /// Signs `body` as of `offset` seconds from now (negative: in the past) with a fresh id.
    pub fn sign(&self, body: Vec<u8>, offset: i64) -> Result<Signed, Failure> {
        self.sign_with(&self.signer, body, offset)
    }

    /// Signs with a key the receiver does not have.
    pub fn sign_wrong(&self, body: Vec<u8>) -> Result<Signed, Failure> {
        self.sign_with(&self.wrong, body, 0)
    }

    /// Signs with the empty secret (an unset secret variable); `None` for Ed25519.
    pub fn sign_empty(&self, body: Vec<u8>) -> Result<Option<Signed>, Failure> {
        self.empty.as_ref().map(|empty| self.sign_with(empty, body, 0)).transpose()
    }

    fn sign_with(&self, signer: &Signer, body: Vec<u8>, offset: i64) -> Result<Signed, Failure> {
        let now = SystemTime::now();
        let shift = Duration::from_secs(offset.unsigned_abs());
        let at = if offset < 0 { now.checked_sub(shift) } else { now.checked_add(shift) }
            .ok_or_else(|| Failure::usage("this system's clock cannot represent the probe's timestamps"))?;
        let headers =
            signer.sign_at(&body, None, at).map_err(|e| Failure::usage(format!("cannot sign: {e}")))?;
        let at = at.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
        let content_type = if body.is_empty() { None } else { self.content_type };
        Ok(Signed { headers, body, at, content_type })
    }

    /// The signature header's value around a tag: `sha256=TAG`, `v1,TAG` (`v1a,TAG`
    /// for Ed25519), `t=<at>,v1=TAG`; `None` for a format this version does not know.
    pub fn compose(&self, at: u64, tag: &str) -> Option<String> {
        match self.scheme.format() {
            SignatureFormat::Prefixed(prefix) => Some(format!("{prefix}{tag}")),
            SignatureFormat::VersionedList { .. } => {
                let (version, _) = self.scheme.versions().find(|(_, a)| *a == self.algorithm)?;
                Some(format!("{version},{tag}"))
            }
            SignatureFormat::KeyValue { timestamp_key, signature_key } => {
                Some(format!("{timestamp_key}={at},{signature_key}={tag}"))
            }
            _ => None,
        }
    }

    /// The tag text of a signed delivery (one secret: one tag).
    pub fn tag(&self, signed: &Signed) -> Option<String> {
        let value = signed.headers.get(self.scheme.signature_header())?.to_str().ok()?;
        let prefix = self.compose(signed.at, "")?;
        value.strip_prefix(prefix.as_str()).map(str::to_owned)
    }

    /// The signature header's name.
    pub fn signature_header(&self) -> &HeaderName {
        self.scheme.signature_header()
    }

    /// Header values for `empty-signature`: empty, the prefix alone, and for key=value
    /// headers the timestamp pair without any signature pair.
    pub fn empty_variants(&self, at: u64) -> Vec<(String, Vec<HeaderValue>)> {
        let mut out = vec![("an empty value".to_owned(), vec![HeaderValue::from_static("")])];
        if let Some(prefix) = self.compose(at, "").filter(|p| !p.is_empty()) {
            out.push((format!("`{prefix}` alone"), values(&[prefix.as_bytes()])));
        }
        if let SignatureFormat::KeyValue { timestamp_key, .. } = self.scheme.format() {
            let pair = format!("{timestamp_key}={at}");
            out.push((format!("`{pair}` without a signature"), values(&[pair.as_bytes()])));
        }
        out
    }

    /// Header values for `truncated-signature`: the first half of the tag, one character.
    pub fn truncated_variants(&self, at: u64, tag: &str) -> Vec<(String, Vec<HeaderValue>)> {
        let half = tag.get(..tag.len() / 2).unwrap_or_default();
        let one = tag.get(..1).unwrap_or_default();
        [("the first half of a valid tag", half), ("the first character of a valid tag", one)]
            .into_iter()
            .filter_map(|(label, part)| {
                let value = self.compose(at, part)?;
                Some((label.to_owned(), values(&[value.as_bytes()])))
            })
            .collect()
    }

    /// Header values for `malformed-signature`: garbage, characters outside the
    /// encoding's alphabet at the right length, bytes that are not ASCII, an 8 KiB
    /// value, and the header twice (a wrong tag, then garbage).
    pub fn malformed_variants(&self, at: u64, tag: &str) -> Vec<(String, Vec<HeaderValue>)> {
        let len = tag.len().max(1);
        let (alphabet, invalid) = match self.scheme.encoding() {
            Encoding::Hex => ("non-hex", "z".repeat(len)),
            Encoding::Base64 => ("non-base64", "*".repeat(len)),
            _ => ("invalid", "*".repeat(len)),
        };
        let mut out = vec![("garbage".to_owned(), values(&[b"not a signature; <script>".as_slice()]))];
        let with = |label: String, tag: &[u8]| -> Option<(String, Vec<HeaderValue>)> {
            let prefix = self.compose(at, "")?;
            let mut value = prefix.into_bytes();
            value.extend_from_slice(tag);
            Some((label, values(&[value.as_slice()])))
        };
        out.extend(with(format!("{alphabet} characters of the right length"), invalid.as_bytes()));
        out.extend(with("bytes that are not ASCII".to_owned(), &vec![0xff; len]));
        out.extend(with("an 8 KiB value".to_owned(), &vec![b'a'; 8 * 1024]));
        if let (Some(wrong), Some(garbage)) = (self.compose(at, &flip(tag, 0)), self.compose(at, "!")) {
            out.push(("the header twice".to_owned(), values(&[wrong.as_bytes(), garbage.as_bytes()])));
        }
        out
    }

    /// The tag with its first (`last == false`) or last decoded byte changed, encoded
    /// again; `None` when the tag does not decode.
    pub fn one_byte_off(&self, tag: &str, last: bool) -> Option<String> {
        let mut bytes = match self.scheme.encoding() {
            Encoding::Hex => hex::decode(tag).ok()?,
            Encoding::Base64 => Base64::decode_vec(tag).ok()?,
            _ => return None,
        };
        let byte = if last { bytes.last_mut()? } else { bytes.first_mut()? };
        *byte ^= 0x01;
        Some(match self.scheme.encoding() {
            Encoding::Hex => hex::encode(&bytes),
            _ => Base64::encode_string(&bytes),
        })
    }
}

/// Header values from bytes; bytes a header cannot carry (line breaks) are dropped.
fn values(parts: &[&[u8]]) -> Vec<HeaderValue> {
    parts.iter().filter_map(|p| HeaderValue::from_bytes(p).ok()).collect()
}

/// The text with its character at `at` replaced by another of the same kind.
fn flip(text: &str, at: usize) -> String {
    text.char_indices()
        .map(|(i, c)| {
            if i != at {
                c
            } else if c == '0' {
                '1'
            } else {
                '0'
            }
        })
        .collect()
}

/// JSON with 3-space indentation, ` : ` between key and value, and the keys of every
/// object in reverse order.
fn pretty_reversed(value: &serde_json::Value, depth: usize, out: &mut String) {
    let indent = |depth: usize| "   ".repeat(depth);
    match value {
        serde_json::Value::Object(map) if !map.is_empty() => {
            out.push_str("{\n");
            let entries: Vec<_> = map.iter().rev().collect();
            for (n, (key, value)) in entries.iter().enumerate() {
                out.push_str(&indent(depth + 1));
                out.push_str(&serde_json::to_string(key).unwrap_or_default());
                out.push_str(" : ");
                pretty_reversed(value, depth + 1, out);
                if n + 1 < entries.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push_str(&indent(depth));
            out.push('}');
        }
        serde_json::Value::Array(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (n, item) in items.iter().enumerate() {
                out.push_str(&indent(depth + 1));
                pretty_reversed(item, depth + 1, out);
                if n + 1 < items.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push_str(&indent(depth));
            out.push(']');
        }
        other => out.push_str(&serde_json::to_string(other).unwrap_or_default()),
    }
}

/// xorshift64*, seeded from the clock and the process id: nonces and the order of the
/// timing requests, nothing secret.
pub struct Rng(u64);

impl Rng {
    pub fn seeded() -> Self {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
        let seed = (nanos as u64) ^ (u64::from(std::process::id()) << 32) ^ 0x9e37_79b9_7f4a_7c15;
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crafter(scheme: Scheme, secret: &str) -> Crafter {
        Crafter::new(&scheme, Algorithm::HmacSha256, Signer::new(scheme.clone(), secret).unwrap(), None)
            .unwrap()
    }

    fn ed_crafter(scheme: Scheme) -> Crafter {
        let pair = KeyPair::generate(&scheme).unwrap();
        let signer = Signer::builder(scheme.clone()).signing_key(pair.signing_key()).build().unwrap();
        Crafter::new(&scheme, Algorithm::Ed25519, signer, None).unwrap()
    }

    #[test]
    fn generated_bodies_are_compact_sorted_json_and_unique() {
        let mut c = crafter(Scheme::github(), "s");
        let a = c.body("valid");
        let b = c.body("valid");
        assert_ne!(a, b);
        let value: serde_json::Value = serde_json::from_slice(&a).unwrap();
        assert_eq!(serde_json::to_vec(&value).unwrap(), a, "re-serializing changes nothing");
        let pretty = c.reformatted().unwrap();
        let reparsed: serde_json::Value = serde_json::from_slice(&pretty).unwrap();
        assert_eq!(reparsed["check"], "valid-reformatted");
        assert!(String::from_utf8(pretty).unwrap().starts_with("{\n   \"nonce\" : "));
    }

    #[test]
    fn user_bodies_reformat_only_when_json() {
        let scheme = Scheme::tale();
        let signer = || Signer::new(scheme.clone(), "s").unwrap();
        let user = |body: &[u8]| {
            Crafter::new(&scheme, Algorithm::HmacSha256, signer(), Some(body.to_vec())).unwrap()
        };
        let mut c = user(br#"{"a":[1,{"b":2,"c":3}]}"#);
        assert_eq!(c.body("x"), br#"{"a":[1,{"b":2,"c":3}]}"#);
        let pretty = String::from_utf8(c.reformatted().unwrap()).unwrap();
        assert_eq!(
            pretty,
            "{\n   \"a\" : [\n      1,\n      {\n         \"c\" : 3,\n         \"b\" : 2\n      }\n   ]\n}\n"
        );
        let mut c = user(b"a=1&b=2");
        assert!(c.reformatted().is_none());
    }

    #[test]
    fn tampering_changes_exactly_one_byte() {
        for body in [&b"{\"a\":\"xyz\"}"[..], b"{}", b"", b"a"] {
            let t = Crafter::tampered(body);
            let changed = body.iter().zip(&t).filter(|(a, b)| a != b).count();
            assert!(changed == 1 || (body.is_empty() && t == b"x"), "{body:?} -> {t:?}");
        }
        assert!(serde_json::from_slice::<serde_json::Value>(&Crafter::tampered(b"{\"a\":\"xyz\"}")).is_ok());
    }

    #[test]
    fn tags_are_found_and_changed_in_one_byte() {
        for (scheme, secret) in [
            (Scheme::github(), "s"),
            (Scheme::stripe(), "whsec_x"),
            (Scheme::standard_webhooks(), "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"),
            (Scheme::shopify(), "s"),
        ] {
            let c = crafter(scheme.clone(), secret);
            let signed = c.sign(b"{}".to_vec(), 0).unwrap();
            let tag = c.tag(&signed).unwrap_or_else(|| panic!("{}", scheme.name()));
            let header = signed.headers[scheme.signature_header()].to_str().unwrap();
            assert_eq!(c.compose(signed.at, &tag).unwrap(), header);
            for last in [false, true] {
                let off = c.one_byte_off(&tag, last).unwrap();
                assert_eq!(off.len(), tag.len());
                assert_ne!(off, tag);
            }
            let first = c.one_byte_off(&tag, false).unwrap();
            assert_eq!(first.get(2..), tag.get(2..), "{}: only the start differs", scheme.name());
        }
    }

    #[test]
    fn the_empty_secret_keys_like_one_zero_byte() {
        // What a receiver with an empty secret computes: HMAC with an empty key.
        let c = crafter(Scheme::tale(), "s");
        let signed = c.sign_empty(b"{}".to_vec()).unwrap().unwrap();
        let zero = hooksig::sign(b"\0", b"{}").unwrap().to_string();
        assert_eq!(signed.headers["x-tale-signature"], zero.as_str());
        let c = crafter(Scheme::standard_webhooks(), "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
        assert!(c.sign_empty(b"{}".to_vec()).unwrap().is_some());
        assert!(ed_crafter(Scheme::discord()).sign_empty(b"{}".to_vec()).unwrap().is_none());
    }

    /// Ed25519 signatures (`v1a,` + base64 for Standard Webhooks, bare hex for Discord)
    /// are taken apart and changed like HMAC tags; another key's signature differs.
    #[test]
    fn ed25519_signatures_are_found_and_changed_in_one_byte() {
        for scheme in [Scheme::standard_webhooks(), Scheme::discord()] {
            let c = ed_crafter(scheme.clone());
            let signed = c.sign(b"{}".to_vec(), 0).unwrap();
            let header = signed.headers[scheme.signature_header()].to_str().unwrap();
            let tag = c.tag(&signed).unwrap_or_else(|| panic!("{}: {header}", scheme.name()));
            assert_eq!(c.compose(signed.at, &tag).unwrap(), header);
            assert_eq!(tag.len(), if scheme.name() == "discord" { 128 } else { 88 }, "{header}");
            assert!(scheme.name() == "discord" || header.starts_with("v1a,"), "{header}");
            let off = c.one_byte_off(&tag, true).unwrap();
            assert_eq!(off.len(), tag.len());
            assert_ne!(off, tag);
            let wrong = c.sign_wrong(b"{}".to_vec()).unwrap();
            assert_ne!(c.tag(&wrong).unwrap(), tag);
        }
    }
}
