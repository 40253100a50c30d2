//! Arbitrary header sets, for every preset, through `Verifier::begin_at` and
//! `Receiver::admit_at`: never a panic; a malformed or repeated Content-Length is 400
//! and one over the limit 413, before anything else; otherwise the header stage
//! accepts exactly when the reference model's does (so a success implies a
//! well-formed signature header whose candidates decode, a valid timestamp within
//! tolerance and a valid id). Errors name a header that is really absent (missing) or
//! present (malformed), and carry a 400 or 401. The receiver answers as `begin_at`.

#![no_main]

use hooksig::pipeline::Receiver;
use hooksig::{Error, Verifier};
use hooksig_fuzz::{Case, at, model, preset};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(case) = Case::parse(data) else { return };
    for (i, spec) in model::SPECS.iter().enumerate() {
        let scheme = preset(i);
        assert_eq!(scheme.name(), spec.name);
        // The case's secrets may not be valid for every preset; the header stage does
        // not depend on them, so fall back to the preset's default secret.
        let (verifier, wants) = match case.verifier_for(scheme.clone()) {
            Ok(v) => {
                let wants = model::Wants { hmac: !case.secrets.is_empty(), ed25519: !case.public_keys.is_empty() };
                (v, wants)
            }
            Err(e) => {
                assert!(matches!(e, Error::InvalidSecret { .. } | Error::InvalidKey { .. }), "{e:?}");
                assert!(
                    case.secrets.iter().any(|s| model::decode_secret(spec, s).is_none())
                        || case.public_keys.iter().any(|k| model::decode_public(spec, k).is_none())
                );
                let wants = model::Wants { hmac: true, ed25519: false };
                (Verifier::new(scheme, spec.default_secret).expect("default secret"), wants)
            }
        };
        let got = verifier.begin_at(&case.headers, at(case.now));

        // The receiver (method POST, no credentials) answers exactly as `begin_at`.
        let admitted = Receiver::new(verifier.clone()).admit_at("POST", &case.headers, at(case.now));
        match (&admitted, &got) {
            (Ok(_), Ok(_)) => {}
            (Err(refusal), Err(e)) => assert_eq!(refusal.error(), Some(e)),
            _ => panic!("receiver {:?} but begin_at {:?}", admitted.as_ref().err(), got.as_ref().err()),
        }

        // Content-Length first: malformed or repeated is 400, over the limit 413.
        match content_length(&case) {
            Err(status) => {
                let e = got.as_ref().err().expect("begin_at accepted a bad Content-Length");
                assert_eq!(e.status().as_u16(), status, "{e:?}");
                continue;
            }
            Ok(Some(n)) if n > verifier.max_body() => {
                assert_eq!(got.err(), Some(Error::BodyTooLarge { limit: verifier.max_body() }));
                continue;
            }
            Ok(_) => {}
        }

        let want = model::parse(spec, &case.headers, case.now, wants);
        match (&got, &want) {
            (Ok(verification), Some(parsed)) => {
                assert_eq!(verification.received(), 0);
                let lines = case.headers.values(spec.signature);
                assert!(!lines.is_empty() && lines.iter().all(|l| l.len() <= hooksig::MAX_HEADER_LEN));
                let candidates = parsed.candidates.len() + parsed.signatures.len();
                assert!((1..=hooksig::MAX_CANDIDATES).contains(&candidates));
                assert!(parsed.signatures.len() <= hooksig::MAX_ED25519_CANDIDATES);
                assert_eq!(parsed.timestamp.is_some(), spec.has_timestamp());
            }
            (Err(e), None) => check_error(e, &case),
            _ => panic!(
                "{}: hooksig {:?} but the model {:?}",
                spec.name,
                got.as_ref().map(|_| "accepts"),
                want.as_ref().map(|_| "accepts")
            ),
        }
    }
});

/// The model of the Content-Length check: `Err(status)` or the declared length
/// (saturating).
fn content_length(case: &Case) -> Result<Option<usize>, u16> {
    match case.headers.values("content-length").as_slice() {
        [] => Ok(None),
        [one] if !one.is_empty() && one.iter().all(u8::is_ascii_digit) => Ok(Some(
            one.iter().fold(0usize, |acc, d| acc.saturating_mul(10).saturating_add(usize::from(d - b'0'))),
        )),
        _ => Err(400),
    }
}

fn check_error(e: &Error, case: &Case) {
    match e {
        Error::MissingHeader { name } => {
            assert!(case.headers.values(name.as_str()).is_empty(), "{e:?}");
            assert_eq!(e.status().as_u16(), 401);
        }
        Error::MalformedHeader { name, .. } => {
            assert!(!case.headers.values(name.as_str()).is_empty(), "{e:?}");
            assert_eq!(e.status().as_u16(), 400);
        }
        Error::TimestampTooOld { .. } | Error::TimestampInFuture { .. } => {
            assert_eq!(e.status().as_u16(), 401);
        }
        other => panic!("unexpected error from the header stage: {other:?}"),
    }
}
