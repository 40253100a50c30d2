//! Arbitrary chunk boundaries (including empty chunks) give the same answer as the
//! one-shot `verify_at`: the same error, or the same secret, timestamp, id and tag;
//! `received()` counts every byte fed.

#![no_main]

use hooksig::{Error, Verified, Verifier};
use hooksig_fuzz::{Case, at};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(case) = Case::parse(data) else { return };
    let Ok(verifier) = case.verifier() else { return };
    let now = at(case.now);
    let one_shot = verifier.verify_at(&case.headers, &case.body, now);
    let streamed = streamed(&verifier, &case, now);
    // `begin_at` reads a Content-Length first (before the signature headers), as
    // documented; `verify_at` has the body and does not read it. A bad or oversized
    // declared length is therefore the streamed answer, whatever the one-shot says.
    match hooksig::content_length(&case.headers) {
        Err(e) => return assert_eq!(streamed.err(), Some(e)),
        Ok(Some(n)) if n > verifier.max_body() => {
            return assert_eq!(streamed.err(), Some(Error::BodyTooLarge { limit: verifier.max_body() }));
        }
        Ok(_) => {}
    }
    match (&one_shot, &streamed) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.key_index(), b.key_index());
            assert_eq!(a.timestamp(), b.timestamp());
            assert_eq!(a.id(), b.id());
            assert_eq!(a.label(), b.label());
            assert_eq!(a.scheme().name(), b.scheme().name());
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!("one-shot {one_shot:?} but streamed {streamed:?}"),
    }
});

fn streamed(verifier: &Verifier, case: &Case, now: std::time::SystemTime) -> Result<Verified, Error> {
    let mut verification = verifier.begin_at(&case.headers, now)?;
    let sizes: &[usize] = if case.chunks.is_empty() { &[1] } else { &case.chunks };
    let mut rest = case.body.as_slice();
    let mut fed = 0usize;
    let mut empty_run = 0usize;
    let mut i = 0usize;
    while !rest.is_empty() {
        let mut size = sizes[i % sizes.len()];
        i += 1;
        if size == 0 {
            verification.update(&[])?;
            empty_run += 1;
            if empty_run <= sizes.len() {
                continue;
            }
            size = 1;
        }
        empty_run = 0;
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        verification.update(chunk)?;
        fed += chunk.len();
        assert_eq!(verification.received(), fed);
        rest = tail;
    }
    verification.update(&[])?;
    verification.finish()
}
