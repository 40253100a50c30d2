//! Property tests over every preset: sign → verify round trips; flipping any bit of
//! the body, signature, timestamp or id fails; any chunking of the body gives the
//! one-shot answer; rotation reports the right key.

use crate::support;

use hooksig::{Scheme, Signer, Verifier};
use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use support::{Rng, at, verify_streamed};

const NOW: u64 = 1_763_900_000;

fn preset() -> impl Strategy<Value = Scheme> {
    (0..Scheme::presets().len()).prop_map(|i| Scheme::presets().swap_remove(i))
}

/// A secret valid for the scheme, from arbitrary bytes.
fn secret_for(scheme: &Scheme, raw: &[u8]) -> String {
    use base64ct::{Base64, Encoding as _};
    match scheme.name() {
        "standard_webhooks" | "svix" => format!("whsec_{}", Base64::encode_string(raw)),
        _ => hex::encode(raw),
    }
}

fn sign(scheme: &Scheme, secret: &str, body: &[u8], id: &str) -> HeaderMap {
    Signer::new(scheme.clone(), secret).unwrap().sign_at(body, Some(id), at(NOW)).unwrap()
}

/// Flips one bit of one byte of a header value, keeping it a valid header value.
/// `None` when the flip only changes the case of a letter: hex tags are accepted in
/// any case, so such a flip may or may not change the meaning (`sha256=` vs the tag).
fn flip_header(headers: &mut HeaderMap, name: &http::HeaderName, index: usize, bit: u8) -> Option<bool> {
    let mut bytes = headers[name].as_bytes().to_vec();
    let i = index % bytes.len();
    bytes[i] ^= 1 << (bit % 7);
    if bytes.eq_ignore_ascii_case(headers[name].as_bytes()) {
        return None;
    }
    match HeaderValue::from_bytes(&bytes) {
        Ok(v) => {
            headers.insert(name.clone(), v);
            Some(true)
        }
        Err(_) => Some(false),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn sign_then_verify_round_trips(
        scheme in preset(),
        raw in proptest::collection::vec(any::<u8>(), 1..64),
        body in proptest::collection::vec(any::<u8>(), 0..2048),
        id in "[a-zA-Z0-9_-]{1,40}",
        seed in any::<u64>(),
    ) {
        let secret = secret_for(&scheme, &raw);
        let headers = sign(&scheme, &secret, &body, &id);
        let verifier = Verifier::new(scheme.clone(), &secret).unwrap();
        let verified = verifier.verify_at(&headers, &body, at(NOW)).unwrap();
        prop_assert_eq!(verified.key_index(), 0);
        if scheme.id_header().is_some() {
            prop_assert_eq!(verified.id(), Some(id.as_str()));
        }
        if scheme.has_timestamp() {
            prop_assert_eq!(verified.timestamp(), Some(NOW));
        }
        let streamed = verify_streamed(&verifier, &headers, &body, at(NOW), &mut Rng::new(seed)).unwrap();
        prop_assert_eq!(streamed.key_index(), 0);
    }

    #[test]
    fn flipping_any_bit_of_a_signed_part_fails(
        scheme in preset(),
        body in proptest::collection::vec(any::<u8>(), 1..512),
        index in any::<usize>(),
        bit in any::<u8>(),
        target in 0..4usize,
    ) {
        let secret = "a secret";
        let secret = secret_for(&scheme, secret.as_bytes());
        let headers = sign(&scheme, &secret, &body, "evt_1");
        let verifier = Verifier::new(scheme.clone(), &secret).unwrap();
        let mut headers2 = headers.clone();
        let mut body2 = body.clone();
        let changed = match target {
            0 if scheme.covers_body() => {
                let i = index % body2.len();
                body2[i] ^= 1 << (bit % 8);
                Some(true)
            }
            1 => flip_header(&mut headers2, scheme.signature_header(), index, bit),
            2 => match scheme.timestamp_header() {
                Some(name) => flip_header(&mut headers2, name, index, bit),
                None => Some(false),
            },
            3 => match scheme.id_header() {
                Some(name) if scheme.id_covered() => flip_header(&mut headers2, name, index, bit),
                _ => Some(false),
            },
            _ => Some(false),
        };
        prop_assume!(changed.is_some());
        let changed = changed == Some(true);
        let result = verifier.verify_at(&headers2, &body2, at(NOW));
        if changed {
            prop_assert!(result.is_err(), "{} target {target} accepted", scheme.name());
        } else {
            prop_assert!(result.is_ok());
        }
    }

    #[test]
    fn any_chunking_equals_one_shot(
        scheme in preset(),
        body in proptest::collection::vec(any::<u8>(), 0..4096),
        tamper in any::<bool>(),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let secret = secret_for(&scheme, b"chunky");
        let headers = sign(&scheme, &secret, &body, "evt_2");
        let mut body = body;
        if tamper && !body.is_empty() {
            body[0] ^= 0x80;
        }
        let verifier = Verifier::new(scheme, &secret).unwrap();
        let one_shot = verifier.verify_at(&headers, &body, at(NOW)).map(|v| v.key_index());
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (body.len() + 1)).collect();
        cuts.sort_unstable();
        let mut v = verifier.begin_at(&headers, at(NOW)).unwrap();
        let mut start = 0;
        for cut in cuts.into_iter().chain([body.len()]) {
            v.update(&body[start..cut]).unwrap();
            start = cut;
        }
        prop_assert_eq!(v.finish().map(|v| v.key_index()), one_shot);
    }

    #[test]
    fn rotation_finds_the_matching_key(
        scheme in preset(),
        position in 0..5usize,
        decoys in 1..5usize,
    ) {
        let position = position % (decoys + 1);
        let secrets: Vec<String> =
            (0..=decoys).map(|i| secret_for(&scheme, format!("key number {i}").as_bytes())).collect();
        let signing = &secrets[position];
        let headers = sign(&scheme, signing, b"{}", "evt_3");
        let mut builder = Verifier::builder(scheme);
        for (i, s) in secrets.iter().enumerate() {
            builder = builder.labeled_secret(format!("k{i}"), s);
        }
        let verifier = builder.build().unwrap();
        let verified = verifier.verify_at(&headers, b"{}", at(NOW)).unwrap();
        prop_assert_eq!(verified.key_index(), position);
        let label = format!("k{position}");
        prop_assert_eq!(verified.label(), Some(label.as_str()));
        let streamed = verify_streamed(&verifier, &headers, b"{}", at(NOW), &mut Rng::new(1)).unwrap();
        prop_assert_eq!(streamed.key_index(), position);
    }
}
