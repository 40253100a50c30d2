//! Secret hygiene: no secret and no expected MAC ever shows up in what the crate
//! formats.
//!
//! For every preset, every public core type that holds or touches a secret or a
//! computed MAC is formatted (`{:?}`, `{:#?}` and, where implemented, `{}`) before any
//! verification, after a successful one and after failed ones; so is every `Error`
//! variant that real failures produce. The output is searched for the secret (as
//! given, hex, base64 in both alphabets with and without padding, and as a Rust byte
//! array), for `whsec_` secrets also the decoded key in all those forms, and for the
//! expected MAC (hex in both cases, base64 in both alphabets), computed independently
//! with the `hmac` crate. Prefixes of 16 characters are searched too, so a truncated
//! print would be caught.
//!
//! The tower layer's and the actix middleware's types and answers are scanned in the
//! `integrations` section below.
//!
//! Zeroization on drop cannot be observed from safe code (reading freed memory needs
//! `unsafe`); `zeroize_on_drop_is_enabled_in_the_primitives` pins the type-level
//! guarantees it rests on instead.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64ct::{Base64, Base64Unpadded, Base64Url, Base64UrlUnpadded, Encoding as _};
use hmac::{Hmac, KeyInit, Mac};
use hooksig::pipeline::Receiver;
use hooksig::{BasicAuth, Error, Scheme, Signer, Verifier};
use http::{HeaderMap, HeaderName, HeaderValue};
use sha2::Sha256;

const NOW: u64 = 1_763_900_000;
const BODY: &[u8] = br#"{"event":"hygiene"}"#;
const ID: &str = "evt_hygiene_1";
const RAW_SECRET: &str = "hygiene-raw-secret-7c1f9a2e";
const RAW_SECRET_2: &str = "hygiene-rotated-secret-31d0";
const B64_KEY: &[u8] = b"hygiene-base64-key-5d8e3b71";
const B64_KEY_2: &[u8] = b"hygiene-rotated-key-90af";
const BASIC_USER: &str = "hygiene-user";
const BASIC_PASSWORD: &str = "hygiene-password-e41b";

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn whsec(key: &[u8]) -> String {
    format!("whsec_{}", Base64::encode_string(key))
}

/// (dashboard secret, HMAC key) pairs for a preset: the current one and a rotated one.
fn secrets(scheme: &Scheme) -> [(String, Vec<u8>); 2] {
    match scheme.name() {
        "standard_webhooks" | "svix" => {
            [(whsec(B64_KEY), B64_KEY.to_vec()), (whsec(B64_KEY_2), B64_KEY_2.to_vec())]
        }
        _ => [
            (RAW_SECRET.to_owned(), RAW_SECRET.as_bytes().to_vec()),
            (RAW_SECRET_2.to_owned(), RAW_SECRET_2.as_bytes().to_vec()),
        ],
    }
}

/// Every printable form of `bytes` an accidental print could take, plus 16-character
/// prefixes of the textual ones.
fn forms(bytes: &[u8]) -> Vec<String> {
    let mut out = vec![
        hex::encode(bytes),
        hex::encode_upper(bytes),
        Base64::encode_string(bytes),
        Base64Unpadded::encode_string(bytes),
        Base64Url::encode_string(bytes),
        Base64UrlUnpadded::encode_string(bytes),
        format!("{bytes:?}"),
        format!("{:?}", bytes.to_vec()),
    ];
    if let Ok(text) = std::str::from_utf8(bytes) {
        out.push(text.to_owned());
    }
    let prefixes: Vec<String> =
        out.iter().filter(|s| s.len() > 16).map(|s| s.chars().take(16).collect()).collect();
    out.extend(prefixes);
    out
}

/// The MAC the verifier computes for a delivery, independently.
fn expected_mac(scheme: &Scheme, key: &[u8], ts: u64, id: &str, body: &[u8]) -> [u8; 32] {
    let ts = ts.to_string();
    let message: Vec<u8> = match scheme.name() {
        "oktave" => [id.as_bytes(), ts.as_bytes()].concat(),
        "standard_webhooks" | "svix" => [id.as_bytes(), b".", ts.as_bytes(), b".", body].concat(),
        "stripe" => [ts.as_bytes(), b".", body].concat(),
        "slack" => [b"v0:", ts.as_bytes(), b":", body].concat(),
        _ => body.to_vec(),
    };
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    mac.update(&message);
    mac.finalize().into_bytes().into()
}

/// Collects formatted output and the needles it must not contain.
#[derive(Default)]
struct Scan {
    needles: Vec<(String, String)>,
    outputs: Vec<(String, String)>,
}

impl Scan {
    fn forbid(&mut self, what: &str, bytes: &[u8]) {
        for form in forms(bytes) {
            self.needles.push((what.to_owned(), form));
        }
    }

    fn debug(&mut self, what: &str, value: &dyn std::fmt::Debug) {
        self.outputs.push((format!("{what} {{:?}}"), format!("{value:?}")));
        self.outputs.push((format!("{what} {{:#?}}"), format!("{value:#?}")));
    }

    fn display(&mut self, what: &str, value: &dyn std::fmt::Display) {
        self.outputs.push((format!("{what} {{}}"), format!("{value}")));
    }

    fn error(&mut self, what: &str, error: &Error) {
        self.debug(what, error);
        self.display(what, error);
        self.outputs.push((format!("{what} public_message"), error.public_message().to_owned()));
        let mut source: Option<&dyn std::error::Error> = std::error::Error::source(error);
        while let Some(s) = source {
            self.display(&format!("{what} source"), s);
            source = s.source();
        }
    }

    fn assert_clean(&self) {
        assert!(self.outputs.len() > 20, "too little was formatted to mean anything");
        let mut leaks = Vec::new();
        for (what, output) in &self.outputs {
            for (secret, needle) in &self.needles {
                if output.contains(needle.as_str()) {
                    leaks.push(format!("{what} shows {secret} as {needle:?}: {output}"));
                }
            }
        }
        assert!(leaks.is_empty(), "{} leaks:\n{}", leaks.len(), leaks.join("\n"));
        println!(
            "secret hygiene: {} formatted outputs, {} forbidden strings",
            self.outputs.len(),
            self.needles.len()
        );
    }
}

fn header_value(bytes: &[u8]) -> HeaderValue {
    HeaderValue::from_bytes(bytes).unwrap()
}

/// Error discriminants seen, to prove the failures were real and varied.
fn kind(e: &Error) -> &'static str {
    match e {
        Error::MissingHeader { .. } => "MissingHeader",
        Error::MalformedHeader { .. } => "MalformedHeader",
        Error::TimestampTooOld { .. } => "TimestampTooOld",
        Error::TimestampInFuture { .. } => "TimestampInFuture",
        Error::SignatureMismatch => "SignatureMismatch",
        Error::BodyTooLarge { .. } => "BodyTooLarge",
        Error::MethodNotAllowed => "MethodNotAllowed",
        Error::Unauthorized => "Unauthorized",
        Error::InvalidSecret { .. } => "InvalidSecret",
        Error::InvalidKey { .. } => "InvalidKey",
        Error::InvalidConfig { .. } => "InvalidConfig",
        _ => "other",
    }
}

#[test]
fn nothing_formatted_shows_a_secret_or_an_expected_mac() {
    let mut scan = Scan::default();
    let mut kinds = std::collections::BTreeSet::new();
    let mut record = |scan: &mut Scan, what: &str, e: Error| {
        kinds.insert(kind(&e));
        scan.error(what, &e);
    };

    for scheme in Scheme::presets() {
        let name = scheme.name().to_owned();
        let [(secret, key), (secret2, key2)] = secrets(&scheme);
        scan.forbid(&format!("{name} secret"), secret.as_bytes());
        scan.forbid(&format!("{name} key"), &key);
        scan.forbid(&format!("{name} rotated secret"), secret2.as_bytes());
        scan.forbid(&format!("{name} rotated key"), &key2);

        let ts = NOW;
        let mac = expected_mac(&scheme, &key, ts, ID, BODY);
        let mac2 = expected_mac(&scheme, &key2, ts, ID, BODY);
        scan.forbid(&format!("{name} expected MAC"), &mac);
        scan.forbid(&format!("{name} rotated expected MAC"), &mac2);

        // Builders and built values, before anything is verified.
        let vb = Verifier::builder(scheme.clone()).labeled_secret("current", &secret).secret(&secret2);
        scan.debug(&format!("{name} VerifierBuilder"), &vb);
        let verifier = vb.max_body(64).build().unwrap();
        scan.debug(&format!("{name} Verifier (fresh)"), &verifier);
        let sb = Signer::builder(scheme.clone()).secret(&secret2);
        scan.debug(&format!("{name} SignerBuilder"), &sb);
        let signer = sb.build().unwrap();
        scan.debug(&format!("{name} Signer"), &signer);
        scan.debug(&format!("{name} Scheme"), &scheme);

        // The delivery is signed with the rotated secret only, so the current key's
        // MAC is computed and compared but never sent: it must not leak either.
        let headers = signer.sign_at(BODY, Some(ID), at(ts)).unwrap();

        // Failed verifications first. Oktave does not sign the body: tamper its id.
        let (tampered_headers, tampered_body): (HeaderMap, &[u8]) = if scheme.covers_body() {
            (headers.clone(), b"tampered")
        } else {
            let mut h = headers.clone();
            h.insert(scheme.id_header().unwrap().clone(), HeaderValue::from_static("evt_other"));
            (h, BODY)
        };
        let e = verifier.verify_at(&tampered_headers, tampered_body, at(NOW)).unwrap_err();
        record(&mut scan, &format!("{name} tampered"), e);
        let e = verifier.verify_at(&HeaderMap::new(), BODY, at(NOW)).unwrap_err();
        record(&mut scan, &format!("{name} no headers"), e);
        let e = verifier.verify_at(&headers, &[0u8; 65], at(NOW)).unwrap_err();
        record(&mut scan, &format!("{name} body too large"), e);
        // The expected MAC and the secret sent back in the signature header.
        let sig = scheme.signature_header().clone();
        for bait in [
            format!("sha256={}0", hex::encode(mac)),
            format!("v1,{}=", Base64::encode_string(&mac)),
            format!("t={NOW},v1={}", hex::encode(mac).to_ascii_uppercase()),
            format!("v1,{secret}"),
            secret.clone(),
        ] {
            if let Ok(value) = HeaderValue::from_str(&bait) {
                let mut baited = headers.clone();
                baited.insert(sig.clone(), value);
                if let Err(e) = verifier.verify_at(&baited, BODY, at(NOW)) {
                    record(&mut scan, &format!("{name} baited header"), e);
                }
            }
        }
        if scheme.has_timestamp() {
            for (then, what) in [(NOW - 100_000, "old"), (NOW + 100_000, "future")] {
                let stale = signer.sign_at(BODY, Some(ID), at(then)).unwrap();
                let e = verifier.verify_at(&stale, BODY, at(NOW)).unwrap_err();
                record(&mut scan, &format!("{name} {what} timestamp"), e);
            }
        }
        scan.debug(&format!("{name} Verifier (after failures)"), &verifier);

        // Streaming, then success.
        let mut verification = verifier.begin_at(&headers, at(NOW)).unwrap();
        verification.update(&BODY[..5]).unwrap();
        scan.debug(&format!("{name} Verification (mid-stream)"), &verification);
        verification.update(&BODY[5..]).unwrap();
        scan.debug(&format!("{name} Verification (fed)"), &verification);
        let verified = verification.finish().unwrap();
        assert_eq!(verified.key_index(), 1, "{name}: the rotated secret signed");
        scan.debug(&format!("{name} Verified (streamed)"), &verified);
        let verified = verifier.verify_at(&headers, BODY, at(NOW)).unwrap();
        scan.debug(&format!("{name} Verified"), &verified);
        scan.debug(&format!("{name} Verifier (after success)"), &verifier);

        // A streamed failure.
        let mut verification = verifier.begin_at(&tampered_headers, at(NOW)).unwrap();
        verification.update(tampered_body).unwrap();
        scan.debug(&format!("{name} Verification (tampered)"), &verification);
        let e = verification.finish().unwrap_err();
        record(&mut scan, &format!("{name} streamed mismatch"), e);

        // Secrets refused at construction do not echo themselves.
        for bad in [format!("{secret}\u{0}!"), format!("whsec_{}!!!", Base64::encode_string(&key))] {
            if let Err(e) = Verifier::new(scheme.clone(), &bad) {
                scan.forbid(&format!("{name} refused secret"), bad.as_bytes());
                record(&mut scan, &format!("{name} refused secret"), e);
            }
        }

        // The receive pipeline, with and without credentials.
        let gate =
            Receiver::new(verifier.clone()).basic_auth(BasicAuth::new(BASIC_USER, BASIC_PASSWORD).unwrap());
        scan.debug(&format!("{name} Receiver"), &gate);
        let refusal = gate.admit_at("POST", &headers, at(NOW)).unwrap_err();
        scan.debug(&format!("{name} refusal without credentials"), &refusal);
        scan.display(&format!("{name} refusal without credentials"), &refusal);
        let response = gate.respond(&refusal);
        scan.debug(&format!("{name} refusal response"), &response);
        let e = refusal.error().cloned().unwrap();
        record(&mut scan, &format!("{name} gate without credentials"), e);
        let e = gate.admit_at("GET", &headers, at(NOW)).unwrap_err().error().cloned().unwrap();
        record(&mut scan, &format!("{name} gate GET"), e);
        let mut with_auth = headers.clone();
        let credentials = Base64::encode_string(format!("{BASIC_USER}:{BASIC_PASSWORD}").as_bytes());
        with_auth
            .insert(http::header::AUTHORIZATION, header_value(format!("Basic {credentials}").as_bytes()));
        let intake = gate.admit_at("POST", &with_auth, at(NOW)).unwrap();
        scan.debug(&format!("{name} Intake"), &intake);
        scan.debug(&format!("{name} Receiver (after success)"), &gate);
    }

    // Basic credentials and their digest.
    let basic = BasicAuth::new(BASIC_USER, BASIC_PASSWORD).unwrap();
    scan.forbid("Basic password", BASIC_PASSWORD.as_bytes());
    scan.forbid("Basic user:password", format!("{BASIC_USER}:{BASIC_PASSWORD}").as_bytes());
    use sha2::Digest as _;
    scan.forbid("Basic digest", &Sha256::digest(format!("{BASIC_USER}:{BASIC_PASSWORD}")));
    scan.debug("BasicAuth", &basic);
    let e = BasicAuth::new(BASIC_USER, "").unwrap_err();
    record(&mut scan, "BasicAuth empty password", e);

    // A custom scheme refused at build time.
    let e = Scheme::builder("custom")
        .signature_header(HeaderName::from_static("x-sig"))
        .message([hooksig::Part::Timestamp])
        .build()
        .unwrap_err();
    record(&mut scan, "custom scheme", e);

    // Layer, middleware and replay types, and what they answer, after a successful and
    // a failed request, with the same needles.
    integrations::format_all(&mut scan, &basic);

    for wanted in [
        "MissingHeader",
        "MalformedHeader",
        "TimestampTooOld",
        "TimestampInFuture",
        "SignatureMismatch",
        "BodyTooLarge",
        "MethodNotAllowed",
        "Unauthorized",
        "InvalidSecret",
        "InvalidConfig",
    ] {
        assert!(kinds.contains(wanted), "no real failure produced {wanted}: {kinds:?}");
    }
    scan.assert_clean();
}

/// The scan itself must be able to fail: a formatted value holding a secret and a
/// MAC is caught in each of its forms.
#[test]
fn the_scan_catches_leaks() {
    let key = b"hygiene-base64-key-5d8e3b71";
    let mac = [0xabu8; 32];
    for leaked in [
        format!("key={}", Base64::encode_string(key)),
        format!("key={}", hex::encode(key)),
        format!("key={key:?}"),
        format!("mac={}", hex::encode_upper(mac)),
        format!("mac={}…", &Base64Url::encode_string(&mac)[..20]),
    ] {
        let mut scan = Scan::default();
        scan.forbid("key", key);
        scan.forbid("mac", &mac);
        for i in 0..30 {
            scan.outputs.push((format!("filler {i}"), "nothing here".to_owned()));
        }
        scan.outputs.push(("leaky".to_owned(), leaked.clone()));
        let caught = std::panic::catch_unwind(|| scan.assert_clean()).is_err();
        assert!(caught, "not caught: {leaked}");
    }
}

/// The drop-time zeroization hooksig relies on, pinned at the type level: the SHA-256
/// state and the block buffer inside every pre-keyed `Hmac<Sha256>` zeroize on drop
/// (the `zeroize` features of `sha2` and `hmac`), and `Zeroizing` wraps the pending
/// secrets. If a feature is dropped from Cargo.toml this stops compiling.
///
/// What this cannot show: that the bytes really are zero after a drop. Observing that
/// needs `unsafe` (reading freed memory or a custom allocator that inspects blocks on
/// `dealloc`), which this suite does not use.
#[test]
fn zeroize_on_drop_is_enabled_in_the_primitives() {
    fn zeroize_on_drop<T: zeroize::ZeroizeOnDrop>() {}
    zeroize_on_drop::<sha2::block_api::Sha256VarCore>();
    zeroize_on_drop::<
        hmac::digest::block_buffer::BlockBuffer<hmac::digest::consts::U64, hmac::digest::block_api::Eager>,
    >();
    zeroize_on_drop::<zeroize::Zeroizing<Vec<u8>>>();
}

/// `Signature` (the value of the one-line `hooksig::sign`) is the header value a
/// sender puts on the wire, so showing it is its purpose; this pins that it is the
/// only type that does, and that it shows exactly the tag it was asked for.
#[test]
fn signature_is_the_one_type_that_shows_a_mac_by_design() {
    let sig = hooksig::sign(RAW_SECRET.as_bytes(), BODY).unwrap();
    let mac = expected_mac(&Scheme::tale(), RAW_SECRET.as_bytes(), NOW, ID, BODY);
    assert_eq!(sig.to_string(), format!("sha256={}", hex::encode(mac)));
    assert!(!format!("{sig:?}").contains(RAW_SECRET));
}

/// The integrations' types and answers. Each request runs through the real layer or
/// middleware; the handler answers with the `Debug` form of the `Verified` it was
/// given, so that output is scanned too.
mod integrations {
    use super::*;

    pub(super) fn format_all(scan: &mut Scan, basic: &BasicAuth) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        for scheme in Scheme::presets() {
            let [(secret, _), (secret2, _)] = secrets(&scheme);
            let verifier =
                Verifier::builder(scheme.clone()).secret(&secret2).secret(&secret).build().unwrap();
            let signed =
                Signer::new(scheme.clone(), &secret).unwrap().sign_at(BODY, Some(ID), at(NOW)).unwrap();
            let wrong = Signer::new(scheme.clone(), "an unrelated secret")
                .and_then(|s| s.sign_at(BODY, Some(ID), at(NOW)))
                .unwrap_or_else(|_| HeaderMap::new());
            let name = scheme.name().to_owned();
            // The table signs at a fixed time; the middleware reads the clock.
            let verifier_wide = Verifier::builder(scheme.clone())
                .secret(&secret2)
                .secret(&secret)
                .tolerance(Duration::from_secs(20 * 365 * 24 * 3600))
                .build()
                .unwrap();
            let _ = (&verifier, &verifier_wide, &name);
            #[cfg(feature = "tower")]
            runtime.block_on(tower_layer(scan, &name, &verifier_wide, basic, &signed, &wrong));
            #[cfg(feature = "actix")]
            actix_middleware(scan, &name, &verifier_wide, basic, &signed, &wrong);
            let _ = (&runtime, &signed, &wrong, basic);
        }
        let guard = hooksig::replay::MemoryReplayGuard::new(16);
        scan.debug("MemoryReplayGuard", &guard);
        let replay = hooksig::replay::ReplayProtection::new(guard);
        scan.debug("ReplayProtection", &replay);
    }

    #[cfg(feature = "tower")]
    async fn tower_layer(
        scan: &mut Scan,
        name: &str,
        verifier: &Verifier,
        basic: &BasicAuth,
        signed: &HeaderMap,
        wrong: &HeaderMap,
    ) {
        use bytes::Bytes;
        use http_body_util::{BodyExt, Full};
        use tower::{Layer, ServiceExt, service_fn};

        let layer = hooksig::tower::VerifyLayer::new(verifier.clone()).basic_auth(basic.clone());
        scan.debug(&format!("{name} VerifyLayer"), &layer);
        let handler = service_fn(|req: http::Request<hooksig::tower::VerifiedBody>| async move {
            let proof = format!("{:?} {:?}", req.extensions().get::<hooksig::Verified>(), req.body());
            Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from(proof))))
        });
        let service = layer.layer(handler);
        for (case, headers, credentials) in
            [("accepted", signed, true), ("wrong signature", wrong, true), ("no credentials", signed, false)]
        {
            let mut request = http::Request::builder()
                .method("POST")
                .uri("/")
                .body(Full::new(Bytes::from_static(BODY)))
                .unwrap();
            *request.headers_mut() = headers.clone();
            if credentials {
                let token = Base64::encode_string(format!("{BASIC_USER}:{BASIC_PASSWORD}").as_bytes());
                request.headers_mut().insert("authorization", format!("Basic {token}").parse().unwrap());
            }
            let response = service.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status().is_success(), case == "accepted", "{name} tower {case}");
            scan.debug(&format!("{name} tower response headers ({case})"), response.headers());
            let body = response.into_body().collect().await.unwrap().to_bytes();
            scan.outputs.push((
                format!("{name} tower response body ({case})"),
                String::from_utf8_lossy(&body).into(),
            ));
        }
        scan.debug(&format!("{name} VerifyService"), &service);
    }

    #[cfg(feature = "actix")]
    fn actix_middleware(
        scan: &mut Scan,
        name: &str,
        verifier: &Verifier,
        basic: &BasicAuth,
        signed: &HeaderMap,
        wrong: &HeaderMap,
    ) {
        use actix_web::{App, HttpMessage as _, HttpRequest, HttpResponse, test, web};

        let middleware = hooksig::actix::VerifySignature::new(verifier.clone()).basic_auth(basic.clone());
        scan.debug(&format!("{name} VerifySignature"), &middleware);
        let outputs = actix_web::rt::System::new().block_on(async move {
            let app = test::init_service(App::new().wrap(middleware).default_service(web::to(
                |req: HttpRequest| async move {
                    HttpResponse::Ok().body(format!("{:?}", req.extensions().get::<hooksig::Verified>()))
                },
            )))
            .await;
            let mut outputs = Vec::new();
            for (case, headers, credentials) in [
                ("accepted", signed, true),
                ("wrong signature", wrong, true),
                ("no credentials", signed, false),
            ] {
                let mut request = test::TestRequest::post().uri("/");
                for (n, v) in headers {
                    request = request.append_header((n.as_str(), v.as_bytes()));
                }
                if credentials {
                    let token = Base64::encode_string(format!("{BASIC_USER}:{BASIC_PASSWORD}").as_bytes());
                    request = request.append_header(("authorization", format!("Basic {token}")));
                }
                let response = test::call_service(&app, request.set_payload(BODY).to_request()).await;
                assert_eq!(response.status().is_success(), case == "accepted", "actix {case}");
                let headers = format!("{:?}", response.headers());
                let body = test::read_body(response).await;
                outputs.push((format!("{case} headers"), headers));
                outputs.push((format!("{case} body"), String::from_utf8_lossy(&body).into_owned()));
            }
            outputs
        });
        for (what, output) in outputs {
            scan.outputs.push((format!("{name} actix response {what}"), output));
        }
    }
}
