//! Ed25519 in the engine (feature `ed25519`): RFC 8032 vectors through a custom scheme,
//! agreement with `ed25519-dalek`'s `verify_strict` on valid and hostile signatures,
//! one key sequence for secrets and public keys, rotation, streaming, schemes that
//! declare Ed25519 versions through the builder, and keys that never show.

use std::time::{Duration, UNIX_EPOCH};

use base64ct::{Base64, Encoding as _};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use hooksig::{Algorithm, Encoding, Error, KeyPair, Part, Scheme, SignatureFormat, Signer, Verifier};
use http::{HeaderMap, HeaderName};

use crate::support::{Rng, verify_streamed};

/// RFC 8032, section 7.1, tests 1-3: seed, public key, message, signature.
const RFC8032: [(&str, &str, &str, &str); 3] = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
];

/// A scheme whose signed message is the body alone: the bare primitive.
fn bare() -> Scheme {
    Scheme::builder("bare-ed25519")
        .signature_header(HeaderName::from_static("x-signature"))
        .algorithm(Algorithm::Ed25519)
        .encoding(Encoding::Hex)
        .message([Part::Body])
        .build()
        .unwrap()
}

fn at(secs: u64) -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn whsk(seed: &str) -> String {
    format!("whsk_{}", Base64::encode_string(&hex::decode(seed).unwrap()))
}

fn whpk(public: &str) -> String {
    format!("whpk_{}", Base64::encode_string(&hex::decode(public).unwrap()))
}

#[test]
fn rfc8032_vectors_sign_and_verify_through_the_engine() {
    for (seed, public, message, signature) in RFC8032 {
        let body = hex::decode(message).unwrap();
        let headers = Signer::builder(bare()).signing_key(seed).build().unwrap().sign(&body).unwrap();
        assert_eq!(headers["x-signature"], signature, "seed {seed}");
        let verifier = Verifier::builder(bare()).public_key(public).build().unwrap();
        assert_eq!(verifier.verify(&headers, &body).unwrap().algorithm(), Algorithm::Ed25519);
        // The 64-byte form of the secret key signs the same.
        let pair = format!("{seed}{public}");
        let again = Signer::builder(bare()).signing_key(&pair).build().unwrap().sign(&body).unwrap();
        assert_eq!(again["x-signature"], signature);
        assert_eq!(verifier.verify(&headers, b"tampered").unwrap_err(), Error::SignatureMismatch);
    }
}

/// Whatever the signature bytes, hooksig's verdict is `verify_strict`'s on the same
/// message: valid signatures, flipped bits, non-canonical scalars, small-order and
/// undecodable `R`, over bodies of every size class.
#[test]
fn verdicts_equal_verify_strict_on_valid_and_hostile_signatures() {
    let mut rng = Rng::new(0x5171c7);
    let l = {
        let mut l = [0u8; 32];
        l.copy_from_slice(
            &hex::decode("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010").unwrap(),
        );
        l
    };
    let small_order_r = [
        "0100000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    ];
    let scheme = Scheme::standard_webhooks();
    let (mut accepted, mut refused) = (0, 0);
    for round in 0..300 {
        let seed: [u8; 32] = rng.bytes(32).try_into().unwrap();
        let key = SigningKey::from_bytes(&seed);
        let public = key.verifying_key();
        let body = rng.bytes([0, 1, 63, 64, 200, 1024][round % 6]);
        let id = "msg_strict";
        let ts = 1_763_900_000u64;
        let message = [format!("{id}.{ts}.").as_bytes(), &body].concat();
        let mut sig = key.sign(&message).to_bytes();
        match round % 6 {
            0 => {}
            1 => sig[rng.below(64)] ^= 1 << rng.below(8),
            2 => {
                // S + L: the same point equation, a non-canonical scalar.
                let mut carry = 0u16;
                for (s, l) in sig[32..].iter_mut().zip(l) {
                    let sum = u16::from(*s) + u16::from(l) + carry;
                    *s = sum as u8;
                    carry = sum >> 8;
                }
            }
            3 => sig[..32].copy_from_slice(&hex::decode(small_order_r[rng.below(5)]).unwrap()),
            4 => sig[..32].copy_from_slice(&rng.bytes(32)), // mostly not a point, or a wrong R
            _ => sig[63] |= 0xe0,                           // high bits of S
        }
        let strict = public.verify_strict(&message, &Signature::from_bytes(&sig)).is_ok();
        let mut headers = HeaderMap::new();
        headers.insert("webhook-id", id.parse().unwrap());
        headers.insert("webhook-timestamp", ts.to_string().parse().unwrap());
        headers.insert("webhook-signature", format!("v1a,{}", Base64::encode_string(&sig)).parse().unwrap());
        let verifier = Verifier::builder(scheme.clone())
            .public_key(format!("whpk_{}", Base64::encode_string(public.as_bytes())))
            .build()
            .unwrap();
        let ours = verifier.verify_at(&headers, &body, at(ts));
        assert_eq!(ours.is_ok(), strict, "round {round}: hooksig {ours:?}, verify_strict {strict}");
        if !strict {
            assert_eq!(ours.unwrap_err(), Error::SignatureMismatch);
        }
        let streamed = verify_streamed(&verifier, &headers, &body, at(ts), &mut rng);
        assert_eq!(streamed.is_ok(), strict, "round {round}: streamed");
        if strict { accepted += 1 } else { refused += 1 }
    }
    assert!(accepted >= 50 && refused >= 200, "{accepted} accepted, {refused} refused");
}

/// Small-order public keys, whatever their encoding, are refused when the verifier is
/// built: with one, a forged signature would verify for every message.
#[test]
fn small_order_and_invalid_public_keys_are_refused_at_build_time() {
    let small_order = [
        "0100000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    ];
    for key in small_order {
        assert!(VerifyingKey::from_bytes(&hex::decode(key).unwrap().try_into().unwrap()).unwrap().is_weak());
        for (scheme, text) in [(Scheme::discord(), key.to_owned()), (Scheme::standard_webhooks(), whpk(key))]
        {
            let err = Verifier::builder(scheme).public_key(&text).build().unwrap_err();
            assert_eq!(
                err,
                Error::InvalidKey { reason: "the public key is of small order (weak)" },
                "{text}"
            );
        }
    }
    let refused = |scheme: Scheme, key: &str| Verifier::builder(scheme).public_key(key).build().unwrap_err();
    let reason = |e: Error| match e {
        Error::InvalidSecret { reason } | Error::InvalidKey { reason } => reason,
        other => panic!("{other:?}"),
    };
    assert_eq!(reason(refused(Scheme::discord(), "")), "empty public key");
    assert_eq!(reason(refused(Scheme::discord(), &"ab".repeat(31))), "an Ed25519 public key is 32 bytes");
    assert_eq!(reason(refused(Scheme::discord(), &"ab".repeat(64))), "an Ed25519 public key is 32 bytes");
    assert_eq!(reason(refused(Scheme::discord(), "abc")), "public key is not hex");
    assert_eq!(reason(refused(Scheme::standard_webhooks(), "whpk_%%%%")), "public key is not base64");
    assert_eq!(reason(refused(Scheme::standard_webhooks(), "whpk_")), "empty public key");
    assert_eq!(
        reason(refused(Scheme::standard_webhooks(), &whsk(RFC8032[0].0))),
        "a secret signing key was given where a public key belongs"
    );
    // Keys of a kind the scheme has no version for.
    assert_eq!(
        reason(refused(Scheme::stripe(), RFC8032[0].1)),
        "the scheme has no Ed25519 signature version: give it secrets"
    );
    assert_eq!(
        reason(Verifier::new(Scheme::discord(), "s3cr3t").unwrap_err()),
        "the scheme has no HMAC-SHA256 signature version: give it public keys"
    );
    assert!(Signer::new(Scheme::discord(), "s3cr3t").is_err());
    assert!(Signer::builder(Scheme::github()).signing_key(RFC8032[0].0).build().is_err());
    // Signing keys: 32 or 64 bytes, halves agreeing.
    let signer = |key: &str| Signer::builder(Scheme::discord()).signing_key(key).build();
    assert!(signer(RFC8032[0].0).is_ok());
    assert!(signer(&format!("{}{}", RFC8032[0].0, RFC8032[1].1)).is_err());
    assert!(signer(&"ab".repeat(33)).is_err());
    assert!(signer("").is_err());
}

/// Secrets and public keys form one sequence in the order added: `key_index` and
/// `label` say which matched, whatever the kind.
#[test]
fn key_index_counts_secrets_and_public_keys_in_one_sequence() {
    let scheme = Scheme::standard_webhooks();
    let (seed_a, pub_a, ..) = RFC8032[0];
    let (seed_b, pub_b, ..) = RFC8032[1];
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let other_secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let t = at(1_763_900_000);
    let sign = |b: hooksig::SignerBuilder| b.build().unwrap().sign_at(b"{}", Some("msg_1"), t).unwrap();

    let v1a_b = sign(Signer::builder(scheme.clone()).signing_key(whsk(seed_b)));
    let mixed = sign(Signer::builder(scheme.clone()).secret(secret).signing_key(whsk(seed_a)));
    let value = mixed["webhook-signature"].to_str().unwrap();
    assert!(value.starts_with("v1,") && value.contains(" v1a,") && value.len() == 3 + 44 + 1 + 4 + 88);

    let verifier = Verifier::builder(scheme.clone())
        .labeled_secret("old secret", other_secret)
        .labeled_public_key("key a", whpk(pub_a))
        .labeled_secret("secret", secret)
        .labeled_public_key("key b", whpk(pub_b))
        .build()
        .unwrap();
    assert_eq!(verifier.key_count(), 4);
    let verified = verifier.verify_at(&v1a_b, b"{}", t).unwrap();
    assert_eq!(
        (verified.key_index(), verified.label(), verified.algorithm()),
        (3, Some("key b"), Algorithm::Ed25519)
    );
    // Both entries match: the first matching key in builder order wins (the public key a).
    let verified = verifier.verify_at(&mixed, b"{}", t).unwrap();
    assert_eq!((verified.key_index(), verified.label()), (1, Some("key a")));
    let streamed = verify_streamed(&verifier, &mixed, b"{}", t, &mut Rng::new(1)).unwrap();
    assert_eq!(streamed.key_index(), 1);
    // Without key a, the secret matches the `v1` entry.
    let no_a = Verifier::builder(scheme.clone()).secret(secret).public_key(whpk(pub_b)).build().unwrap();
    let verified = no_a.verify_at(&mixed, b"{}", t).unwrap();
    assert_eq!((verified.key_index(), verified.algorithm()), (0, Algorithm::HmacSha256));
    // A `v1a` entry is never tried as an HMAC tag, nor a `v1` entry as a signature.
    let only_secret = Verifier::new(scheme.clone(), secret).unwrap();
    assert!(only_secret.verify_at(&v1a_b, b"{}", t).is_err());
    // Rotation with two public keys: each delivery finds its own.
    let rotation = Verifier::builder(scheme).public_key(whpk(pub_a)).public_key(whpk(pub_b)).build().unwrap();
    assert_eq!(rotation.verify_at(&mixed, b"{}", t).unwrap().key_index(), 0);
    assert_eq!(rotation.verify_at(&v1a_b, b"{}", t).unwrap().key_index(), 1);
    assert_eq!(rotation.verify_at(&v1a_b, b"{ }", t).unwrap_err(), Error::SignatureMismatch);
}

/// A custom scheme declares Ed25519 versions through the same builder, and the
/// builder refuses what cannot work.
#[test]
fn custom_schemes_declare_ed25519_versions() {
    let scheme = Scheme::builder("acme")
        .signature_header(HeaderName::from_static("x-acme-signature"))
        .format(SignatureFormat::VersionedList { version: "s1".into() })
        .version("a1", Algorithm::Ed25519)
        .encoding(Encoding::Hex)
        .timestamp_header(HeaderName::from_static("x-acme-timestamp"))
        .message([Part::Timestamp, Part::literal(":"), Part::Body])
        .build()
        .unwrap();
    let (seed, public, ..) = RFC8032[2];
    let signer = Signer::builder(scheme.clone()).signing_key(seed).secret("hmac key").build().unwrap();
    let headers = signer.sign(b"payload").unwrap();
    let value = headers["x-acme-signature"].to_str().unwrap();
    assert!(value.starts_with("a1,") && value.contains(" s1,"), "{value}");
    let verified = Verifier::builder(scheme.clone())
        .public_key(public)
        .build()
        .unwrap()
        .verify(&headers, b"payload")
        .unwrap();
    assert_eq!(verified.algorithm(), Algorithm::Ed25519);

    let base = Scheme::builder("x").signature_header(HeaderName::from_static("x-sig"));
    let invalid = |b: hooksig::SchemeBuilder| match b.build() {
        Err(Error::InvalidConfig { reason }) => reason,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        invalid(base.clone().version("v1a", Algorithm::Ed25519)),
        "extra signature versions need a VersionedList format"
    );
    let list = base.format(SignatureFormat::VersionedList { version: "v1".into() });
    assert_eq!(
        invalid(list.clone().version("v1", Algorithm::Ed25519)),
        "a signature version is declared twice"
    );
    assert_eq!(
        invalid(list.clone().version("a", Algorithm::Ed25519).version("a", Algorithm::HmacSha256)),
        "a signature version is declared twice"
    );
    assert_eq!(
        invalid(list.version("v 1", Algorithm::Ed25519)),
        "a list version must be non-empty, without ',' or ' '"
    );
}

/// Discord: timestamp ‖ body, hex, no id; a key pair from `KeyPair` signs and verifies.
#[test]
fn discord_round_trips_with_a_generated_key_pair() {
    let pair = KeyPair::generate(&Scheme::discord()).unwrap();
    assert_eq!((pair.signing_key().len(), pair.public_key().len()), (64, 64));
    let signer = Signer::builder(Scheme::discord()).signing_key(pair.signing_key()).build().unwrap();
    let t = at(1_763_900_000);
    let headers = signer.sign_at(br#"{"type":1}"#, None, t).unwrap();
    assert_eq!(headers.len(), 2);
    assert_eq!(headers["x-signature-timestamp"], "1763900000");
    // Independently: the signature is Ed25519 over "1763900000" ‖ body.
    let public: [u8; 32] = hex::decode(pair.public_key()).unwrap().try_into().unwrap();
    let sig: [u8; 64] = hex::decode(headers["x-signature-ed25519"].as_bytes()).unwrap().try_into().unwrap();
    VerifyingKey::from_bytes(&public)
        .unwrap()
        .verify_strict(br#"1763900000{"type":1}"#, &Signature::from_bytes(&sig))
        .unwrap();
    let verifier = Verifier::builder(Scheme::discord()).public_key(pair.public_key()).build().unwrap();
    let verified = verifier.verify_at(&headers, br#"{"type":1}"#, t).unwrap();
    assert_eq!((verified.id(), verified.timestamp()), (None, Some(1_763_900_000)));
    assert!(verifier.verify_at(&headers, br#"{"type":1}"#, t + Duration::from_secs(301)).is_err());
}

/// No key material in anything formatted: signers, builders, verifiers, proofs,
/// key pairs, errors.
#[test]
fn no_key_material_is_ever_formatted() {
    let pair = KeyPair::generate(&Scheme::standard_webhooks()).unwrap();
    let seed_b64 = pair.signing_key().trim_start_matches("whsk_").to_owned();
    let (seed, ..) = RFC8032[0];
    let builder = Signer::builder(Scheme::standard_webhooks())
        .labeled_signing_key("k", pair.signing_key())
        .signing_key(whsk(seed));
    let signer = builder.clone().build().unwrap();
    let headers = signer.sign(b"{}").unwrap();
    let verifier =
        Verifier::builder(Scheme::standard_webhooks()).public_key(pair.public_key()).build().unwrap();
    let verified = verifier.verify(&headers, b"{}").unwrap();
    let bad = Signer::builder(Scheme::discord())
        .signing_key(format!("{seed}{}", "00".repeat(32)))
        .build()
        .unwrap_err();
    let texts = [
        format!("{builder:?}"),
        format!("{signer:?}"),
        format!("{verifier:?}"),
        format!("{verified:?}"),
        format!("{pair:?}"),
        format!("{bad:?} {bad}"),
    ];
    let seed_b64_rfc = Base64::encode_string(&hex::decode(seed).unwrap());
    for text in &texts {
        for secret in [seed_b64.as_str(), &seed_b64[..12], seed, &seed[..16], &seed_b64_rfc[..12]] {
            assert!(!text.contains(secret), "{text} shows key material");
        }
    }
    assert!(texts[4].contains(pair.public_key()), "the public key may show: {}", texts[4]);
}
