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

/// Ed25519 (feature `ed25519`): `verify_at` on a Standard Webhooks `v1a` delivery (alone
/// and beside `v1`, one public key and a rotation of two, with a secret too) and on a
/// Discord interaction makes no allocation, accepted or refused; streaming `update`
/// makes none either.
#[cfg(feature = "ed25519")]
#[test]
fn ed25519_verification_does_not_allocate() {
    const SEED_A: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const PUB_A: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    const SEED_B: &str = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
    const PUB_B: &str = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
    use base64ct::{Base64, Encoding as _};
    let b64 = |prefix: &str, h: &str| format!("{prefix}{}", Base64::encode_string(&hex::decode(h).unwrap()));
    let at = UNIX_EPOCH + Duration::from_secs(1_763_900_000);
    let body = vec![b'x'; 4096];
    for scheme in Scheme::ed25519_presets() {
        let (sk, pk_a, pk_b) = if scheme.name() == "discord" {
            (SEED_B.to_owned(), PUB_A.to_owned(), PUB_B.to_owned())
        } else {
            (b64("whsk_", SEED_B), b64("whpk_", PUB_A), b64("whpk_", PUB_B))
        };
        let mut signer = Signer::builder(scheme.clone()).signing_key(&sk);
        if scheme.name() != "discord" {
            signer = signer.secret(secret(&scheme, 1)).signing_key(b64("whsk_", SEED_A));
        }
        let headers = signer.build().unwrap().sign_at(&body, Some("evt_1"), at).unwrap();
        let one = Verifier::builder(scheme.clone()).public_key(&pk_b).build().unwrap();
        let two = Verifier::builder(scheme.clone()).public_key(&pk_a).public_key(&pk_b).build().unwrap();
        one.verify_at(&headers, &body, at).unwrap();
        let name = scheme.name();

        let (n, result) = allocations_during(|| one.verify_at(&headers, &body, at).map(|v| v.key_index()));
        assert_eq!((n, result), (0, Ok(0)), "{name}: one public key");
        let expected = if name == "discord" { 1 } else { 0 }; // Discord carries b's signature only
        let (n, result) = allocations_during(|| two.verify_at(&headers, &body, at).map(|v| v.key_index()));
        assert_eq!((n, result), (0, Ok(expected)), "{name}: two public keys");
        let (n, refused) = allocations_during(|| one.verify_at(&headers, &body[1..], at).is_err());
        assert_eq!((n, refused), (0, true), "{name}: a refusal");
        if name != "discord" {
            let mixed = Verifier::builder(scheme.clone())
                .secret(secret(&scheme, 9))
                .public_key(&pk_b)
                .build()
                .unwrap();
            let (n, result) =
                allocations_during(|| mixed.verify_at(&headers, &body, at).map(|v| v.key_index()));
            assert_eq!((n, result), (0, Ok(1)), "{name}: a secret and a public key");
        }

        // Streaming: `begin_at` allocates the vector of states; `update` and the end none.
        let mut verification = two.begin_at(&headers, at).unwrap();
        let (n, ()) = allocations_during(|| body.chunks(1000).for_each(|c| verification.update(c).unwrap()));
        assert_eq!(n, 0, "{name}: update allocated {n} times");
        let (n, result) = allocations_during(|| verification.finish().map(|v| v.key_index()));
        assert_eq!((n, result), (0, Ok(expected)), "{name}: finish");
    }
}
