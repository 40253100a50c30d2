//! The error-path table: each malformed or refused input maps to its documented
//! `Error` variant and HTTP status.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hooksig::{Error, Scheme, Signer, Verifier};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

const NOW: u64 = 1_763_900_000;
const HEX: &str = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
const B64: &str = "tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// Header lines as (name, raw value) pairs.
type Headers = Vec<(&'static str, Vec<u8>)>;

#[derive(Debug)]
enum Want {
    Missing(&'static str),
    Malformed(&'static str, &'static str),
    TooOld,
    InFuture,
    Mismatch,
    TooLarge,
}

impl Want {
    fn check(&self, err: &Error, ctx: &str) {
        let ok = match (self, err) {
            (Want::Missing(h), Error::MissingHeader { name }) => name == h,
            (Want::Malformed(h, why), Error::MalformedHeader { name, reason }) => name == h && reason == why,
            (Want::TooOld, Error::TimestampTooOld { .. })
            | (Want::InFuture, Error::TimestampInFuture { .. })
            | (Want::Mismatch, Error::SignatureMismatch)
            | (Want::TooLarge, Error::BodyTooLarge { .. }) => true,
            _ => false,
        };
        assert!(ok, "{ctx}: wanted {self:?}, got {err:?}");
        let status = match self {
            Want::Missing(_) | Want::TooOld | Want::InFuture | Want::Mismatch => StatusCode::UNAUTHORIZED,
            Want::Malformed(..) => StatusCode::BAD_REQUEST,
            Want::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        };
        assert_eq!(err.status(), status, "{ctx}");
    }
}

/// Headers from raw byte values (so non-UTF-8 values can be expressed).
fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_bytes(value).unwrap());
    }
    map
}

fn check(scheme: Scheme, pairs: &[(&str, &[u8])], want: Want) {
    let secret = match scheme.name() {
        "standard_webhooks" | "svix" => "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        _ => "It's a Secret to Everybody",
    };
    let ctx = format!(
        "{} {:?}",
        scheme.name(),
        pairs.iter().map(|(n, v)| (n, String::from_utf8_lossy(v))).collect::<Vec<_>>()
    );
    let verifier = Verifier::new(scheme, secret).unwrap();
    let err = verifier.verify_at(&headers(pairs), b"Hello, World!", at(NOW)).unwrap_err();
    want.check(&err, &ctx);
    // Streaming refuses the same headers the same way, before any body byte.
    if !matches!(want, Want::Mismatch | Want::TooLarge) {
        let err = verifier.begin_at(&headers(pairs), at(NOW)).unwrap_err();
        want.check(&err, &ctx);
    }
}

#[test]
fn body_only_schemes() {
    use Want::*;
    let sig = "x-hub-signature-256";
    let good = format!("sha256={HEX}");
    let cases: Vec<(Headers, Want)> = vec![
        (vec![], Missing(sig)),
        (vec![(sig, b"".to_vec())], Malformed(sig, "empty signature header")),
        (vec![(sig, b"   ".to_vec())], Malformed(sig, "empty signature header")),
        (vec![(sig, b"sha256=".to_vec())], Malformed(sig, "expected 64 hex digits")),
        (vec![(sig, format!("sha1={HEX}").into_bytes())], Malformed(sig, "unexpected signature prefix")),
        (vec![(sig, format!("SHA256={HEX}").into_bytes())], Malformed(sig, "unexpected signature prefix")),
        (
            vec![(sig, format!("sha256={}", &HEX[..63]).into_bytes())],
            Malformed(sig, "expected 64 hex digits"),
        ),
        (vec![(sig, format!("sha256={HEX}0").into_bytes())], Malformed(sig, "expected 64 hex digits")),
        (vec![(sig, format!("sha256={HEX}{HEX}").into_bytes())], Malformed(sig, "expected 64 hex digits")),
        (
            vec![(sig, format!("sha256={}", HEX.replace('e', "g")).into_bytes())],
            Malformed(sig, "invalid hex digit"),
        ),
        (
            vec![(sig, [b"sha256=".as_slice(), &[0xc3, 0xa9], &HEX.as_bytes()[2..]].concat())],
            Malformed(sig, "invalid hex digit"),
        ),
        (
            vec![(sig, format!("sha256={}", "ab".repeat(4096)).into_bytes())],
            Malformed(sig, "header value too long"),
        ),
        (vec![(sig, format!(" {good}").into_bytes())], Malformed(sig, "unexpected signature prefix")),
        (vec![(sig, format!("sha256={}", "0".repeat(64)).into_bytes())], Mismatch),
        // 17 header lines: too many candidates, even though one would match.
        ((0..17).map(|_| (sig, good.clone().into_bytes())).collect(), Malformed(sig, "too many signatures")),
        // A repeated unsigned id header is malformed too.
        (
            vec![
                (sig, good.clone().into_bytes()),
                ("x-github-delivery", b"a".to_vec()),
                ("x-github-delivery", b"b".to_vec()),
            ],
            Malformed("x-github-delivery", "header repeated"),
        ),
        (
            vec![(sig, good.clone().into_bytes()), ("x-github-delivery", vec![b'a'; 256])],
            Malformed("x-github-delivery", "id must be 1 to 255 bytes of UTF-8"),
        ),
    ];
    for (pairs, want) in cases {
        let pairs: Vec<(&str, &[u8])> = pairs.iter().map(|(n, v)| (*n, v.as_slice())).collect();
        check(Scheme::github(), &pairs, want);
    }
    // Sixteen lines, one of them right: accepted.
    let mut h = HeaderMap::new();
    for i in 0..16 {
        let v = if i == 15 { good.clone() } else { format!("sha256={}", "0".repeat(64)) };
        h.append(sig, v.parse().unwrap());
    }
    Verifier::new(Scheme::github(), "It's a Secret to Everybody")
        .unwrap()
        .verify_at(&h, b"Hello, World!", at(NOW))
        .unwrap();
    // Shopify: base64 must be standard and padded.
    let shop = "x-shopify-hmac-sha256";
    check(
        Scheme::shopify(),
        &[(shop, B64.trim_end_matches('=').as_bytes())],
        Malformed(shop, "expected 44 characters of padded base64"),
    );
    check(
        Scheme::shopify(),
        &[(shop, B64.replace('/', "_").replace('+', "-").as_bytes())],
        Malformed(shop, "invalid base64"),
    );
    check(Scheme::shopify(), &[(shop, B64.as_bytes())], Mismatch);
}

#[test]
fn timestamped_schemes() {
    use Want::*;
    let (id, ts, sig) = ("webhook-id", "webhook-timestamp", "webhook-signature");
    let now = NOW.to_string();
    let v1 = format!("v1,{B64}");
    let base = |t: &str, s: &str| {
        vec![(id, b"msg_1".to_vec()), (ts, t.as_bytes().to_vec()), (sig, s.as_bytes().to_vec())]
    };
    let cases: Vec<(Headers, Want)> = vec![
        (vec![(id, b"msg_1".to_vec()), (ts, now.clone().into_bytes())], Missing(sig)),
        (vec![(ts, now.clone().into_bytes()), (sig, v1.clone().into_bytes())], Missing(id)),
        (vec![(id, b"msg_1".to_vec()), (sig, v1.clone().into_bytes())], Missing(ts)),
        (base("-1", &v1), Malformed(ts, "timestamp is not decimal unix seconds")),
        (base("+1763900000", &v1), Malformed(ts, "timestamp is not decimal unix seconds")),
        (base("01763900000", &v1), Malformed(ts, "timestamp has a leading zero")),
        (base("1763900000.5", &v1), Malformed(ts, "timestamp is not decimal unix seconds")),
        (base("9223372036854775808", &v1), Malformed(ts, "timestamp out of range")),
        (base("1e9", &v1), Malformed(ts, "timestamp is not decimal unix seconds")),
        (base("", &v1), Malformed(ts, "empty timestamp")),
        (base(&(NOW - 301).to_string(), &v1), TooOld),
        (base(&(NOW + 301).to_string(), &v1), InFuture),
        (base("99999999999", &v1), InFuture),
        (base(&now, "v1a,abc v2,xyz"), Malformed(sig, "no signature of a supported version")),
        (base(&now, "v1"), Malformed(sig, "list entry is not `version,signature`")),
        (
            base(&now, &format!("v1,{}", B64.trim_end_matches('='))),
            Malformed(sig, "expected 44 characters of padded base64"),
        ),
        (base(&now, &format!("  {v1}   v1a,zzz  ")), Mismatch),
        (base(&now, &vec![v1.as_str(); 17].join(" ")), Malformed(sig, "too many signatures")),
        (
            vec![
                (id, b"a".to_vec()),
                (id, b"b".to_vec()),
                (ts, now.clone().into_bytes()),
                (sig, v1.clone().into_bytes()),
            ],
            Malformed(id, "header repeated"),
        ),
        (
            vec![
                (id, b"a".to_vec()),
                (ts, now.clone().into_bytes()),
                (ts, now.clone().into_bytes()),
                (sig, v1.clone().into_bytes()),
            ],
            Malformed(ts, "header repeated"),
        ),
        (
            vec![(id, vec![0xff]), (ts, now.clone().into_bytes()), (sig, v1.clone().into_bytes())],
            Malformed(id, "id must be 1 to 255 bytes of UTF-8"),
        ),
    ];
    for (pairs, want) in cases {
        let pairs: Vec<(&str, &[u8])> = pairs.iter().map(|(n, v)| (*n, v.as_slice())).collect();
        check(Scheme::standard_webhooks(), &pairs, want);
    }
}

#[test]
fn stripe_header_grammar() {
    use Want::*;
    let sig = "stripe-signature";
    let now = NOW.to_string();
    let cases: Vec<(String, Want)> = vec![
        (format!("v1={HEX}"), Malformed(sig, "no timestamp pair")),
        (format!("t={now},t={now},v1={HEX}"), Malformed(sig, "timestamp repeated")),
        (format!("t={now},,v1={HEX}"), Malformed(sig, "empty key=value pair")),
        (format!("t={now},v1={HEX},"), Malformed(sig, "empty key=value pair")),
        (format!("t={now},v1"), Malformed(sig, "item is not `key=value`")),
        (format!("t={now},={HEX}"), Malformed(sig, "item is not `key=value`")),
        (format!("t={now},v0={HEX}"), Malformed(sig, "no signature of a supported version")),
        (format!("t=0{now},v1={HEX}"), Malformed(sig, "timestamp has a leading zero")),
        (format!("t={},v1={HEX}", NOW - 301), TooOld),
        (format!("t={},v1={HEX}", NOW + 301), InFuture),
        (format!("t={now},v1={HEX},v0={HEX}"), Mismatch),
        (
            format!("t={now},{}", vec![format!("v1={HEX}"); 17].join(",")),
            Malformed(sig, "too many signatures"),
        ),
    ];
    for (value, want) in cases {
        check(Scheme::stripe(), &[(sig, value.as_bytes())], want);
    }
    // A `t=` on each of two header lines is a repeated timestamp too.
    check(
        Scheme::stripe(),
        &[(sig, format!("t={now},v1={HEX}").as_bytes()), (sig, format!("t={now}").as_bytes())],
        Malformed(sig, "timestamp repeated"),
    );
}

#[test]
fn body_limits_and_secrets() {
    let verifier = Verifier::builder(Scheme::tale()).secret("s").max_body(8).build().unwrap();
    let headers = Signer::new(Scheme::tale(), "s").unwrap().sign(b"123456789").unwrap();
    Want::TooLarge.check(&verifier.verify(&headers, b"123456789").unwrap_err(), "one-shot");
    let mut v = verifier.begin(&headers).unwrap();
    v.update(b"1234").unwrap();
    Want::TooLarge.check(&v.update(b"56789").unwrap_err(), "streaming");
    // Exactly at the limit is fine.
    let headers = Signer::new(Scheme::tale(), "s").unwrap().sign(b"12345678").unwrap();
    verifier.verify(&headers, b"12345678").unwrap();

    for (scheme, secret) in [
        (Scheme::tale(), ""),
        (Scheme::standard_webhooks(), ""),
        (Scheme::standard_webhooks(), "whsec_"),
        (Scheme::standard_webhooks(), "whsec_not base64!"),
        (Scheme::svix(), "whsec_YW-_"),
    ] {
        let err = Verifier::new(scheme.clone(), secret).unwrap_err();
        assert!(matches!(err, Error::InvalidSecret { .. }), "{secret:?}: {err:?}");
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(matches!(Signer::new(scheme, secret).unwrap_err(), Error::InvalidSecret { .. }));
    }
    assert!(matches!(Verifier::builder(Scheme::tale()).build().unwrap_err(), Error::InvalidSecret { .. }));
    assert!(matches!(
        hooksig::verify(b"", b"x", format!("sha256={HEX}")).unwrap_err(),
        Error::InvalidSecret { .. }
    ));
}

#[test]
fn custom_scheme_validation() {
    use hooksig::{Part, SignatureFormat};
    let sig = HeaderName::from_static("x-sig");
    let invalid = |b: hooksig::SchemeBuilder| matches!(b.build().unwrap_err(), Error::InvalidConfig { .. });
    assert!(invalid(Scheme::builder("no header")));
    assert!(invalid(
        Scheme::builder("two bodies").signature_header(sig.clone()).message([Part::Body, Part::Body])
    ));
    assert!(invalid(
        Scheme::builder("no ts").signature_header(sig.clone()).message([Part::Timestamp, Part::Body])
    ));
    assert!(invalid(Scheme::builder("no id").signature_header(sig.clone()).message([Part::Id, Part::Body])));
    assert!(invalid(Scheme::builder("empty").signature_header(sig.clone()).message([])));
    // The key=value cases sign the timestamp, so each is refused for its own reason.
    let ts_body = [Part::Timestamp, Part::literal("."), Part::Body];
    assert!(invalid(
        Scheme::builder("kv+ts")
            .signature_header(sig.clone())
            .format(SignatureFormat::KeyValue { timestamp_key: "t".into(), signature_key: "v1".into() })
            .timestamp_header(HeaderName::from_static("x-ts"))
            .message(ts_body.clone())
    ));
    assert!(invalid(
        Scheme::builder("kv same keys")
            .signature_header(sig.clone())
            .format(SignatureFormat::KeyValue { timestamp_key: "t".into(), signature_key: "t".into() })
            .message(ts_body)
    ));
    assert!(invalid(
        Scheme::builder("bad version")
            .signature_header(sig)
            .format(SignatureFormat::VersionedList { version: "v 1".into() })
    ));
}

/// A timestamp the MAC does not cover is attacker-chosen: checking its tolerance
/// proves nothing, and replay protection would treat the scheme as timestamped (a
/// 15-minute key instead of the retry window). `build()` refuses such schemes.
#[test]
fn uncovered_timestamp_is_refused() {
    use hooksig::{Part, SignatureFormat};
    let sig = HeaderName::from_static("x-sig");
    let reason = |b: hooksig::SchemeBuilder| match b.build() {
        Err(Error::InvalidConfig { reason }) => reason,
        other => panic!("wanted InvalidConfig, got {other:?}"),
    };
    let uncovered = "the scheme has a timestamp source but the message does not contain Part::Timestamp, so the MAC would not cover it";

    // A timestamp header, message left at its default `[Body]`.
    let header = Scheme::builder("ts header")
        .signature_header(sig.clone())
        .timestamp_header(HeaderName::from_static("x-ts"));
    assert_eq!(reason(header.clone()), uncovered);
    // … or set explicitly without the timestamp, with or without a tolerance.
    assert_eq!(reason(header.clone().message([Part::literal("v0:"), Part::Body])), uncovered);
    assert_eq!(reason(header.clone().message([Part::Body]).tolerance(Duration::from_secs(60))), uncovered);
    // Covered: accepted.
    assert!(header.message([Part::Timestamp, Part::literal("."), Part::Body]).build().is_ok());

    // A Stripe-like `t=` field in a key=value signature header.
    let stripe_like = Scheme::builder("kv")
        .signature_header(sig.clone())
        .format(SignatureFormat::KeyValue { timestamp_key: "t".into(), signature_key: "v1".into() });
    assert_eq!(reason(stripe_like.clone()), uncovered);
    assert_eq!(reason(stripe_like.clone().message([Part::literal("x."), Part::Body])), uncovered);
    assert!(stripe_like.message([Part::Timestamp, Part::literal("."), Part::Body]).build().is_ok());

    // A preset's layout with the timestamp dropped from the message: refused too.
    for preset in [Scheme::stripe(), Scheme::slack(), Scheme::standard_webhooks(), Scheme::svix()] {
        let without: Vec<Part> =
            preset.message().iter().filter(|p| **p != Part::Timestamp).cloned().collect();
        assert_eq!(reason(preset.to_builder().message(without)), uncovered, "{}", preset.name());
    }
    // Oktave signs only id and timestamp: without the timestamp only the id is left.
    assert_eq!(reason(Scheme::oktave().to_builder().message([Part::Id])), uncovered);

    // An id header outside the message is allowed (GitHub, Shopify) and not covered.
    let unsigned_id = Scheme::builder("id")
        .signature_header(sig)
        .id_header(HeaderName::from_static("x-id"))
        .build()
        .unwrap();
    assert!(!unsigned_id.id_covered());
}

/// The latest instant this platform's `SystemTime` can hold (on Unix, `i64::MAX`
/// seconds and 999 999 999 ns after the epoch), found without overflowing.
fn latest_system_time() -> SystemTime {
    [
        Duration::new(u64::MAX, 999_999_999),
        Duration::new(i64::MAX as u64, 999_999_999),
        Duration::from_secs(i64::MAX as u64),
        Duration::from_secs(1 << 40),
    ]
    .into_iter()
    .find_map(|d| UNIX_EPOCH.checked_add(d))
    .unwrap()
}

/// The earliest instant this platform's `SystemTime` can hold, roughly.
fn earliest_system_time() -> SystemTime {
    [Duration::new(i64::MAX as u64, 0), Duration::from_secs(1 << 40), Duration::from_secs(1)]
        .into_iter()
        .find_map(|d| UNIX_EPOCH.checked_sub(d))
        .unwrap()
}

/// Clocks at the ends of what `SystemTime` represents (a huge `now`, a huge signing
/// time, one before 1970) never make signing, verifying or replay keys panic: each
/// gives a result or a documented error (signing before 1970 with a timestamp:
/// `InvalidConfig`, where it used to write timestamp 0).
#[test]
fn extreme_clocks_never_panic() {
    let latest = latest_system_time();
    let latest_secs = latest.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let earliest = earliest_system_time();
    let policy = hooksig::replay::ReplayPolicy::new();
    for scheme in Scheme::presets() {
        let secret = match scheme.name() {
            "standard_webhooks" | "svix" => "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            _ => "It's a Secret to Everybody",
        };
        let signer = Signer::new(scheme.clone(), secret).unwrap();
        let verifier = Verifier::new(scheme.clone(), secret).unwrap();
        let lenient =
            Verifier::builder(scheme.clone()).secret(secret).tolerance(Duration::MAX).build().unwrap();
        // Before 1970 there is no timestamp to sign with: a documented error where the
        // scheme has one, a signature where it has none.
        match (scheme.has_timestamp(), signer.sign_at(b"{}", Some("msg_1"), earliest)) {
            (true, Err(Error::InvalidConfig { reason })) => assert!(reason.contains("1970"), "{reason}"),
            (false, Ok(headers)) => assert!(verifier.verify_at(&headers, b"{}", at(NOW)).is_ok()),
            (_, other) => panic!("{} signed before 1970: {other:?}", scheme.name()),
        }
        for (signed_at, expected_ts) in [(latest, latest_secs), (UNIX_EPOCH, 0)] {
            let ctx = format!("{} signed at {signed_at:?}", scheme.name());
            let headers = signer.sign_at(b"{}", Some("msg_1"), signed_at).unwrap();
            for now in [latest, UNIX_EPOCH, earliest, at(NOW)] {
                let result = verifier.verify_at(&headers, b"{}", now);
                match (scheme.has_timestamp(), &result) {
                    (false, Ok(_)) => {}
                    (true, Ok(v)) => assert_eq!(v.timestamp(), Some(expected_ts), "{ctx}"),
                    (true, Err(Error::TimestampTooOld { .. } | Error::TimestampInFuture { .. })) => {
                        let _ = result.as_ref().unwrap_err().to_string();
                    }
                    _ => panic!("{ctx}, now {now:?}: {result:?}"),
                }
                assert_eq!(verifier.begin_at(&headers, now).is_ok(), result.is_ok(), "{ctx}");
                let verified = lenient.verify_at(&headers, b"{}", now).unwrap();
                let key = policy.key(&verified, b"{}");
                assert!(key.ttl() >= Duration::from_secs(15 * 60), "{ctx}");
            }
        }
    }
    // The largest timestamp a header may carry is accepted at the latest instant and
    // shown exactly.
    let headers = Signer::new(Scheme::slack(), "k").unwrap().sign_at(b"", None, latest).unwrap();
    assert_eq!(headers["x-slack-request-timestamp"], latest_secs.to_string());
}

/// When several things are wrong at once, `verify_at` reports the same error as
/// streaming, which reads every header before it hashes a byte: the one-shot path
/// reads some headers while the hash runs (one secret, a small body), and that must
/// not change which error wins. Every preset; bodies that leave the first block
/// unassembled, that end in the first block's successor, that fill whole blocks
/// after it, and one past `EARLY_MAC_MAX_BODY` (4 KiB: read first, but for Oktave,
/// whose message leaves the body out); every combination of a bad signature line, a
/// wrong tag, a bad and a stale timestamp, a bad id, a missing and a repeated
/// signature header; one secret and two.
#[test]
fn several_faults_give_the_streaming_error() {
    let mut compared = 0;
    let mut kinds = std::collections::BTreeSet::new();
    for scheme in Scheme::presets() {
        let secret = match scheme.name() {
            "standard_webhooks" | "svix" => "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            _ => "It's a Secret to Everybody",
        };
        for len in [11, 100, 1000, 5000] {
            let body = &vec![b'x'; len][..];
            let signed =
                Signer::new(scheme.clone(), secret).unwrap().sign_at(body, Some("msg_1"), at(NOW)).unwrap();
            let sig = scheme.signature_header().clone();
            let ts = scheme.timestamp_header().cloned();
            let id = scheme.id_header().cloned();
            let one = Verifier::new(scheme.clone(), secret).unwrap();
            let other = match scheme.name() {
                "standard_webhooks" | "svix" => "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                _ => "another secret",
            };
            let two = Verifier::builder(scheme.clone()).secret(other).secret(secret).build().unwrap();
            for faults in 0..128u32 {
                let mut map = signed.clone();
                if faults & 1 != 0 {
                    // A line that does not parse, in any format.
                    map.insert(sig.clone(), HeaderValue::from_static("v1,=,, t=x,zz"));
                }
                if faults & 2 != 0 {
                    // A signature that parses but does not match.
                    let value =
                        map[&sig].to_str().unwrap().replace(['a', 'b', 'c'], "d").replace(['A', 'B'], "C");
                    map.insert(sig.clone(), HeaderValue::from_str(&value).unwrap());
                }
                if let Some(ts) = &ts {
                    if faults & 4 != 0 {
                        map.insert(ts.clone(), HeaderValue::from_static("17x"));
                    }
                    if faults & 8 != 0 {
                        map.insert(ts.clone(), HeaderValue::from_static("1000000000"));
                    }
                }
                if let Some(id) = &id
                    && faults & 16 != 0
                {
                    map.insert(id.clone(), HeaderValue::from_bytes(&[b'i'; 300]).unwrap());
                }
                if faults & 32 != 0 {
                    map.remove(&sig);
                }
                if faults & 64 != 0
                    && let Some(line) = signed.get(&sig)
                {
                    map.append(sig.clone(), line.clone());
                }
                for verifier in [&one, &two] {
                    let one_shot = verifier.verify_at(&map, body, at(NOW)).map(|v| v.key_index());
                    let streamed = verifier.begin_at(&map, at(NOW)).and_then(|mut v| {
                        v.update(body)?;
                        v.finish().map(|v| v.key_index())
                    });
                    assert_eq!(one_shot, streamed, "{} faults {faults:#07b}", scheme.name());
                    if let Err(e) = &one_shot {
                        kinds.insert(
                            format!("{e:?}").split([' ', '(', '{']).next().unwrap_or_default().to_owned(),
                        );
                    }
                    compared += 1;
                }
            }
        }
    }
    assert_eq!(compared, 9 * 4 * 128 * 2);
    // The combinations reach every kind of refusal they can cause.
    for kind in ["MalformedHeader", "MissingHeader", "TimestampTooOld", "SignatureMismatch"] {
        assert!(kinds.contains(kind), "{kind} never came: {kinds:?}");
    }
}
