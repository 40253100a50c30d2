//! Proof of the hot-path rule: `verify`/`verify_at` make no heap allocation for a
//! `HeaderMap` and a body slice, on every preset, with one secret and with two
//! (rotation, matching the second); streaming `update` never allocates, and a
//! single-secret `begin_at` does not either.
//!
//! The counting allocator (`tests/support/counting_alloc.rs`) counts the allocations of
//! the current thread only, so tests running in parallel do not disturb each other.

use std::time::{Duration, UNIX_EPOCH};

use hooksig::{Scheme, Signer, Verifier};

use crate::support::counting_alloc;

use counting_alloc::allocations_during;

fn secret(scheme: &Scheme, n: u8) -> String {
    match scheme.name() {
        "standard_webhooks" | "svix" => format!("whsec_c2VjcmV0LW51bWJlci0{n}"),
        _ => format!("secret number {n}"),
    }
}

#[test]
fn the_counter_sees_allocations() {
    // Guards against a counter that never counts.
    let (n, v) = allocations_during(|| vec![1u8; 100]);
    assert!(n >= 1);
    drop(v);
}

#[test]
fn verify_at_does_not_allocate_on_any_preset() {
    let at = UNIX_EPOCH + Duration::from_secs(1_763_900_000);
    let body = vec![b'x'; 4096];
    for scheme in Scheme::presets() {
        let first = secret(&scheme, 1);
        let second = secret(&scheme, 2);
        let headers =
            Signer::new(scheme.clone(), &second).unwrap().sign_at(&body, Some("evt_1"), at).unwrap();
        let one = Verifier::new(scheme.clone(), &second).unwrap();
        let two = Verifier::builder(scheme.clone()).secret(&first).secret(&second).build().unwrap();

        // Warm-up: lazily initialised statics (none expected) are not the hot path.
        one.verify_at(&headers, &body, at).unwrap();

        let (n, result) = allocations_during(|| one.verify_at(&headers, &body, at).map(|v| v.key_index()));
        assert_eq!(result, Ok(0));
        assert_eq!(n, 0, "{}: verify_at with one secret allocated {n} times", scheme.name());

        let (n, result) = allocations_during(|| two.verify_at(&headers, &body, at).map(|v| v.key_index()));
        assert_eq!(result, Ok(1));
        assert_eq!(n, 0, "{}: verify_at with two secrets allocated {n} times", scheme.name());

        // Rejections do not allocate either (a wrong key: Oktave does not sign the body).
        let wrong = Verifier::new(scheme.clone(), &first).unwrap();
        let (n, result) = allocations_during(|| wrong.verify_at(&headers, &body, at).is_err());
        assert!(result, "{}", scheme.name());
        assert_eq!(n, 0, "{}: a rejection allocated {n} times", scheme.name());
    }
}

#[test]
fn streaming_updates_do_not_allocate() {
    let at = UNIX_EPOCH + Duration::from_secs(1_763_900_000);
    let body = vec![b'y'; 64 * 1024];
    for scheme in Scheme::presets() {
        let first = secret(&scheme, 1);
        let second = secret(&scheme, 2);
        let headers =
            Signer::new(scheme.clone(), &second).unwrap().sign_at(&body, Some("evt_1"), at).unwrap();
        let one = Verifier::new(scheme.clone(), &second).unwrap();
        let two = Verifier::builder(scheme.clone()).secret(&first).secret(&second).build().unwrap();

        let (n, verification) = allocations_during(|| one.begin_at(&headers, at).unwrap());
        assert_eq!(n, 0, "{}: begin_at with one secret allocated {n} times", scheme.name());
        let mut verification = verification;
        let (n, ()) = allocations_during(|| body.chunks(1000).for_each(|c| verification.update(c).unwrap()));
        assert_eq!(n, 0, "{}: update allocated {n} times", scheme.name());
        let (n, result) = allocations_during(|| verification.finish().map(|v| v.key_index()));
        assert_eq!((n, result), (0, Ok(0)), "{}", scheme.name());

        // Two secrets: begin_at allocates one vector of states; update still none.
        let mut verification = two.begin_at(&headers, at).unwrap();
        let (n, ()) = allocations_during(|| body.chunks(1000).for_each(|c| verification.update(c).unwrap()));
        assert_eq!(n, 0, "{}: update with two secrets allocated {n} times", scheme.name());
        assert_eq!(verification.finish().map(|v| v.key_index()), Ok(1));
    }
}
