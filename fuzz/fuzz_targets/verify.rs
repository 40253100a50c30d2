//! Arbitrary preset, secrets, headers and body through `Verifier::verify_at`, checked
//! against the reference model: hooksig accepts exactly when the model does, with the
//! same secret index, timestamp and id; secrets are refused exactly when the model
//! cannot decode them; a `HeaderMap` carrying the same lines gives the same verdict.

#![no_main]

use hooksig::Error;
use hooksig_fuzz::{Case, at, model};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(case) = Case::parse(data) else { return };
    let spec = &model::SPECS[case.preset];
    let keys: Option<Vec<Vec<u8>>> = case.secrets.iter().map(|s| model::decode_secret(spec, s)).collect();
    let publics: Option<Vec<_>> = case.public_keys.iter().map(|k| model::decode_public(spec, k)).collect();
    let (keys, publics, verifier) = match (keys, publics, case.verifier()) {
        (Some(keys), Some(publics), Ok(v)) => (keys, publics, v),
        (None, _, Err(Error::InvalidSecret { .. })) => return,
        (Some(_), None, Err(Error::InvalidKey { .. })) => return,
        (keys, publics, v) => panic!("key decoding disagrees: model {keys:?} {publics:?}, hooksig {v:?}"),
    };
    let max_body = case.max_body.unwrap_or(spec.max_body);
    assert_eq!(verifier.max_body(), max_body);

    let got = verifier.verify_at(&case.headers, &case.body, at(case.now));
    let want = model::verify(spec, &keys, &publics, &case.headers, &case.body, case.now, max_body);
    if trace() {
        eprintln!("verdict {}: {:?}", spec.name, got.as_ref().map(|v| v.key_index()));
    }
    match (&got, &want) {
        (Ok(v), Some(m)) => {
            assert_eq!(v.key_index(), m.key_index);
            assert_eq!(v.timestamp(), m.timestamp);
            assert_eq!(v.id().map(str::as_bytes), m.id.as_deref());
            assert_eq!(v.covers_body(), spec.covers_body());
            assert_eq!(v.id_covered(), spec.id_covered());
        }
        (Err(e), None) => {
            let status = e.status().as_u16();
            assert!(matches!(status, 400 | 401 | 413), "{e:?}");
            if status == 413 {
                assert!(case.body.len() > max_body);
            }
        }
        _ => panic!("{}: hooksig {got:?} but the model {want:?}", spec.name),
    }

    if let Some(map) = case.headers.to_header_map() {
        let again = verifier.verify_at(&map, &case.body, at(case.now));
        assert_eq!(again.as_ref().err(), got.as_ref().err());
        assert_eq!(again.ok().map(|v| v.key_index()), got.ok().map(|v| v.key_index()));
    }
});

/// `HOOKSIG_FUZZ_TRACE=1` prints every verdict (to check that seeds reach acceptance).
fn trace() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("HOOKSIG_FUZZ_TRACE").is_some())
}
