//! Published test vectors from the providers' own documentation, verified through the
//! public API and reproduced by the `Signer`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hooksig::{Error, Scheme, Signer, Verifier};
use http::HeaderMap;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, value.parse().unwrap());
    }
    map
}

const SLACK_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";

#[test]
fn github_docs_vector() {
    let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    assert_eq!(hooksig::sign(b"It's a Secret to Everybody", b"Hello, World!").unwrap().to_string(), sig);
    hooksig::verify(b"It's a Secret to Everybody", b"Hello, World!", sig).unwrap();
    let v = Verifier::new(Scheme::github(), "It's a Secret to Everybody").unwrap();
    v.verify(&headers(&[("x-hub-signature-256", sig)]), b"Hello, World!").unwrap();
}

#[test]
fn octokit_vector() {
    let sig = "sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3";
    assert_eq!(hooksig::sign(b"mysecret", br#"{"foo":"bar"}"#).unwrap().to_string(), sig);
    hooksig::verify(b"mysecret", br#"{"foo":"bar"}"#, sig.to_uppercase().replace("SHA256=", "sha256="))
        .unwrap();
}

#[test]
fn standard_webhooks_vector() {
    let secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let body = br#"{"email":"test@example.com","username":"test_user"}"#;
    let sig = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";
    let h = headers(&[
        ("webhook-id", "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk"),
        ("webhook-timestamp", "1649367553"),
        ("webhook-signature", sig),
    ]);
    let v = Verifier::new(Scheme::standard_webhooks(), secret).unwrap();
    let verified = v.verify_at(&h, body, at(1649367553)).unwrap();
    assert_eq!(verified.id(), Some("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk"));
    assert_eq!(verified.timestamp(), Some(1649367553));
    let signed = Signer::new(Scheme::standard_webhooks(), secret)
        .unwrap()
        .sign_at(body, Some("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk"), at(1649367553))
        .unwrap();
    assert_eq!(signed["webhook-signature"], sig);
    // The secret without its prefix is the same key.
    let bare = Verifier::new(Scheme::standard_webhooks(), &secret[6..]).unwrap();
    bare.verify_at(&h, body, at(1649367553)).unwrap();
}

#[test]
fn svix_vector() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let body = br#"{"test": 2432232314}"#;
    let sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    let h = headers(&[
        ("svix-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
        ("svix-timestamp", "1614265330"),
        ("svix-signature", sig),
    ]);
    Verifier::new(Scheme::svix(), secret).unwrap().verify_at(&h, body, at(1614265330)).unwrap();
    let signed = Signer::new(Scheme::svix(), secret)
        .unwrap()
        .sign_at(body, Some("msg_p5jXN8AQM9LWM0D4loKWxJek"), at(1614265330))
        .unwrap();
    assert_eq!(signed["svix-signature"], sig);
}

#[test]
fn slack_vector() {
    let secret = "8f742231b10e8888abcd99yyyzzz85a5";
    let sig = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    let h = headers(&[("x-slack-signature", sig), ("x-slack-request-timestamp", "1531420618")]);
    Verifier::new(Scheme::slack(), secret)
        .unwrap()
        .verify_at(&h, SLACK_BODY.as_bytes(), at(1531420618))
        .unwrap();
    let signed = Signer::new(Scheme::slack(), secret)
        .unwrap()
        .sign_at(SLACK_BODY.as_bytes(), None, at(1531420618))
        .unwrap();
    assert_eq!(signed["x-slack-signature"], sig);
    // Five minutes and one second later the same delivery is stale.
    let err = Verifier::new(Scheme::slack(), secret)
        .unwrap()
        .verify_at(&h, SLACK_BODY.as_bytes(), at(1531420618 + 301))
        .unwrap_err();
    assert!(matches!(err, Error::TimestampTooOld { .. }), "{err:?}");
}

/// RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
#[test]
fn rfc4231_case_2() {
    let sig = hooksig::sign(b"Jefe", b"what do ya want for nothing?").unwrap();
    assert_eq!(sig.to_string(), "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    let mut h = HeaderMap::new();
    h.insert("x-tale-signature", sig.to_header_value());
    Verifier::new(Scheme::tale(), "Jefe").unwrap().verify(&h, b"what do ya want for nothing?").unwrap();
}
