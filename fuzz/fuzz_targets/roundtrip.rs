//! Sign with `Signer`, verify: accepted. Then change one byte of the body, of one
//! header value or of the dashboard secret: refused, except where the change provably
//! keeps the delivery authentic:
//! - a case-only change of a letter inside a hex tag (hex is accepted in any case);
//! - a body change for Oktave (the MAC does not cover its body);
//! - a change to the unsigned id of GitHub or Shopify that leaves it a valid id;
//! - a change to a base64 (`whsec_`) secret that still decodes to the same key, or to
//!   a key HMAC treats as the same (keys are zero-padded to the 64-byte block, so `k`
//!   and `k || 0x00` are one key: a trailing `A` in place of `=` does that).
//!
//! Headers are fed through a map that carries any bytes, so mutations that `http`
//! would refuse (NUL, CR, non-ASCII) reach the parser too.

#![no_main]

use arbitrary::Arbitrary;
use base64ct::{Base64, Encoding as _};
use hooksig::{Error, Signer, Verifier};
use hooksig_fuzz::{RawHeaders, at, model, preset};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Target {
    Body,
    Header(u8),
    Secret,
}

#[derive(Debug, Arbitrary)]
struct Input {
    preset: u8,
    key: Vec<u8>,
    body: Vec<u8>,
    id: Option<String>,
    /// Seconds after 2023-11-14, the signing time.
    time: u32,
    target: Target,
    index: u16,
    xor: u8,
}

fuzz_target!(|input: Input| {
    let i = usize::from(input.preset) % model::SPECS.len();
    let spec = &model::SPECS[i];
    let scheme = preset(i);
    // The dashboard form of the key.
    let secret: Vec<u8> = if spec.whsec_base64 {
        format!("whsec_{}", Base64::encode_string(&input.key)).into_bytes()
    } else {
        input.key.clone()
    };
    let signer = match Signer::new(scheme.clone(), &secret) {
        Ok(s) => s,
        Err(e) => {
            assert!(input.key.is_empty(), "{e:?}");
            assert!(matches!(e, Error::InvalidSecret { .. }));
            return;
        }
    };
    let now_secs = 1_700_000_000 + u64::from(input.time);
    let now = at(now_secs);
    let map = match signer.sign_at(&input.body, input.id.as_deref(), now) {
        Ok(map) => map,
        Err(e) => {
            // Only an id can be refused: empty, over 255 bytes, or not a header value.
            let id = input.id.as_deref().unwrap_or_default();
            let bad = id.is_empty() || id.len() > 255 || http::HeaderValue::from_str(id).is_err();
            assert!(spec.id.is_some() && bad, "{e:?}");
            assert!(matches!(e, Error::MalformedHeader { .. }));
            return;
        }
    };
    let mut lines: Vec<(http::HeaderName, Vec<u8>)> =
        map.iter().map(|(n, v)| (n.clone(), v.as_bytes().to_vec())).collect();
    lines.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    let headers = RawHeaders(lines);

    let verifier = Verifier::new(scheme.clone(), &secret).expect("the signer accepted this secret");
    let verified = verifier.verify_at(&headers, &input.body, now).expect("a fresh signature verifies");
    assert_eq!(verified.key_index(), 0);
    assert_eq!(verified.timestamp(), spec.has_timestamp().then_some(now_secs));
    if let (Some(given), Some(_)) = (&input.id, spec.id) {
        assert_eq!(verified.id(), Some(given.as_str()));
    }

    let xor = if input.xor == 0 { 1 } else { input.xor };
    let index = usize::from(input.index);
    match input.target {
        Target::Body => {
            if input.body.is_empty() {
                return;
            }
            let mut body = input.body.clone();
            let at_byte = index % body.len();
            body[at_byte] ^= xor;
            let result = verifier.verify_at(&headers, &body, now);
            if spec.covers_body() {
                assert_eq!(result.err(), Some(Error::SignatureMismatch));
            } else {
                assert!(result.is_ok(), "Oktave does not sign the body: {result:?}");
            }
        }
        Target::Header(which) => {
            let mut mutated = headers.clone();
            let line = usize::from(which) % mutated.0.len();
            let (name, value) = &mut mutated.0[line];
            let name = name.clone();
            let pos = index % value.len();
            let old = value[pos];
            value[pos] ^= xor;
            let new = value[pos];
            let value = value.clone();
            let result = verifier.verify_at(&mutated, &input.body, now);
            let uncovered_id = spec.id == Some(name.as_str()) && !spec.id_covered();
            if uncovered_id {
                if std::str::from_utf8(&value).is_ok() {
                    assert!(result.is_ok(), "unsigned id changed: {result:?}");
                } else {
                    assert!(matches!(result, Err(Error::MalformedHeader { name: ref n, .. }) if *n == name));
                }
            } else if !spec.base64 && old.eq_ignore_ascii_case(&new) && in_hex_tag(&value, pos) {
                assert!(result.is_ok(), "hex case change refused: {result:?}");
            } else {
                let e = result.err().unwrap_or_else(|| panic!("accepted a changed `{name}`: {value:?}"));
                assert!(matches!(e.status().as_u16(), 400 | 401), "{e:?}");
            }
        }
        Target::Secret => {
            let mut changed = secret.clone();
            let pos = index % changed.len();
            changed[pos] ^= xor;
            match (model::decode_secret(spec, &changed), Verifier::new(scheme, &changed)) {
                (None, Err(e)) => assert!(matches!(e, Error::InvalidSecret { .. }), "{e:?}"),
                (Some(key), Ok(v)) => {
                    let result = v.verify_at(&headers, &input.body, now);
                    // `k` and `k || 0x00` are the same HMAC key (zero padding to the block).
                    if model::hmac_block_key(&key) == model::hmac_block_key(&input.key) {
                        assert!(result.is_ok(), "same key, refused: {result:?}");
                    } else {
                        assert_eq!(result.err(), Some(Error::SignatureMismatch));
                    }
                }
                (model, hooksig) => panic!("secret decoding disagrees: model {model:?}, hooksig {hooksig:?}"),
            }
        }
    }
});

/// Whether `pos` lies in a run of exactly 64 hex digits (a hex tag).
fn in_hex_tag(value: &[u8], pos: usize) -> bool {
    let is_hex = |b: &u8| b.is_ascii_hexdigit();
    let start = value[..pos].iter().rposition(|b| !is_hex(b)).map_or(0, |p| p + 1);
    let end = value[pos..].iter().position(|b| !is_hex(b)).map_or(value.len(), |p| pos + p);
    value[pos].is_ascii_hexdigit() && end - start == 64
}
