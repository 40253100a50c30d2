//! Arbitrary header sets, for every preset, through `Verifier::begin_at` and
//! `Gate::admit_at`: never a panic, and the header stage accepts exactly when the
//! reference model's does (so a success implies a well-formed signature header whose
//! candidates decode, a valid timestamp within tolerance and a valid id). Errors name
//! a header that is really absent (missing) or present (malformed), and carry a 400 or
//! 401 (413 only for a Content-Length over the limit at the gate).

#![no_main]

use hooksig::{Error, Gate, Verifier};
use hooksig_fuzz::{Case, at, model, preset};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(case) = Case::parse(data) else { return };
    for (i, spec) in model::SPECS.iter().enumerate() {
        let scheme = preset(i);
        assert_eq!(scheme.name(), spec.name);
        // The case's secrets may not be valid for every preset; the header stage does
        // not depend on them, so fall back to the preset's default secret.
        let verifier = match case.verifier_for(scheme.clone()) {
            Ok(v) => v,
            Err(e) => {
                assert!(matches!(e, Error::InvalidSecret { .. }), "{e:?}");
                assert!(case.secrets.iter().any(|s| model::decode_secret(spec, s).is_none()));
                Verifier::new(scheme, spec.default_secret).expect("default secret")
            }
        };
        let got = verifier.begin_at(&case.headers, at(case.now));
        let want = model::parse(spec, &case.headers, case.now);
        match (&got, &want) {
            (Ok(verification), Some(parsed)) => {
                assert_eq!(verification.received(), 0);
                let lines = case.headers.values(spec.signature);
                assert!(!lines.is_empty() && lines.iter().all(|l| l.len() <= hooksig::MAX_HEADER_LEN));
                assert!((1..=hooksig::MAX_CANDIDATES).contains(&parsed.candidates.len()));
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

        // The gate runs the Content-Length check first, then the same header stage.
        let gate = Gate::new(verifier.clone());
        let gated = gate.admit_at("POST", &case.headers, at(case.now));
        match (content_length(&case), &got) {
            (Err(status), _) => {
                let e = gated.as_ref().err().expect("gate accepted a bad Content-Length");
                assert_eq!(e.status().as_u16(), status, "{e:?}");
            }
            (Ok(Some(n)), _) if n > verifier.max_body() => {
                assert_eq!(gated.err(), Some(Error::BodyTooLarge { limit: verifier.max_body() }));
            }
            (Ok(_), Ok(_)) => assert!(matches!(gated, Ok(Some(_)))),
            (Ok(_), Err(e)) => assert_eq!(gated.err().as_ref(), Some(e)),
        }
    }
});

/// The model of the gate's Content-Length check: `Err(status)` or the declared length
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
