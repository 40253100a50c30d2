//! The tower layer, in process: every request goes through `ServiceExt::oneshot`.
#![cfg(feature = "tower")]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use hooksig::tower::{VerifiedBody, VerifyLayer};
use hooksig::{BasicAuth, Scheme, Signer, Verifier};
use http::{HeaderMap, Method, Request, Response, StatusCode, header};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full};
use tower::{Layer, Service, ServiceExt};

const SECRET: &str = "It's a Secret to Everybody";

/// A request body made of the given chunks, counting how often it is polled.
struct Chunks {
    frames: VecDeque<Result<Bytes, std::io::Error>>,
    polled: Arc<AtomicUsize>,
}

impl Chunks {
    fn new(chunks: impl IntoIterator<Item = Bytes>) -> (Chunks, Arc<AtomicUsize>) {
        let polled = Arc::new(AtomicUsize::new(0));
        (Chunks { frames: chunks.into_iter().map(Ok).collect(), polled: polled.clone() }, polled)
    }

    fn failing_after(chunk: Bytes) -> Chunks {
        let frames = VecDeque::from([Ok(chunk), Err(std::io::Error::other("connection reset"))]);
        Chunks { frames, polled: Arc::new(AtomicUsize::new(0)) }
    }
}

impl Body for Chunks {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.polled.fetch_add(1, Ordering::SeqCst);
        Poll::Ready(self.frames.pop_front().map(|r| r.map(Frame::data)))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// The body and the proof the inner service last received.
type Received = (Bytes, Option<hooksig::Verified>);

/// What the inner service saw.
#[derive(Clone, Default)]
struct Seen {
    calls: Arc<AtomicUsize>,
    last: Arc<std::sync::Mutex<Option<Received>>>,
}

impl Seen {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn last(&self) -> Received {
        self.last.lock().unwrap().clone().expect("the service was called")
    }
}

/// An inner service that records the request and answers 200 with its body.
fn echo(
    seen: &Seen,
) -> impl Service<Request<VerifiedBody>, Response = Response<Full<Bytes>>, Error = Infallible> + Clone + use<>
{
    let seen = seen.clone();
    tower::service_fn(move |req: Request<VerifiedBody>| {
        let seen = seen.clone();
        async move {
            seen.calls.fetch_add(1, Ordering::SeqCst);
            let verified = req.extensions().get::<hooksig::Verified>().cloned();
            let body = req.into_body();
            assert_eq!(body.size_hint().exact(), Some(body.len() as u64));
            let bytes = body.collect().await.unwrap().to_bytes();
            *seen.last.lock().unwrap() = Some((bytes.clone(), verified));
            Ok::<_, Infallible>(Response::new(Full::new(bytes)))
        }
    })
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

async fn send<B>(layer: &VerifyLayer, seen: &Seen, req: Request<B>) -> Answer
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let response = layer.layer(echo(seen)).oneshot(req).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Answer { status: parts.status, headers: parts.headers, body }
}

fn tale_layer() -> VerifyLayer {
    VerifyLayer::new(Verifier::new(Scheme::tale(), SECRET).unwrap())
}

fn signed(method: Method, body: &'static [u8]) -> Request<Full<Bytes>> {
    let mut req =
        Request::builder().method(method).uri("/hook").body(Full::new(Bytes::from_static(body))).unwrap();
    req.headers_mut().extend(Signer::new(Scheme::tale(), SECRET).unwrap().sign(body).unwrap());
    req
}

fn basic(user: &str, pass: &str) -> String {
    use base64ct::Encoding;
    format!("Basic {}", base64ct::Base64::encode_string(format!("{user}:{pass}").as_bytes()))
}

#[tokio::test]
async fn valid_delivery_reaches_the_service_byte_identical_with_the_verified_extension() {
    let seen = Seen::default();
    let body = b" {\"event\": \"run\",\n \"x\": \"\xc3\xa9\"}\r\n".repeat(1000);
    let chunks: Vec<Bytes> = body.chunks(777).map(Bytes::copy_from_slice).collect();
    let (chunks, _) = Chunks::new(chunks);
    let mut req = Request::post("/hook").body(chunks).unwrap();
    req.headers_mut().extend(Signer::new(Scheme::tale(), SECRET).unwrap().sign(&body).unwrap());

    let answer = send(&tale_layer(), &seen, req).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(&answer.body[..], &body[..]);
    assert_eq!(seen.calls(), 1);
    let (received, verified) = seen.last();
    assert_eq!(&received[..], &body[..]);
    let verified = verified.expect("Verified extension present");
    assert_eq!(verified.key_index(), 0);
    assert_eq!(verified.scheme().name(), "tale");
}

#[tokio::test]
async fn empty_signed_body_is_accepted() {
    let seen = Seen::default();
    let answer = send(&tale_layer(), &seen, signed(Method::POST, b"")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.body.is_empty());
    assert_eq!(seen.calls(), 1);
}

#[tokio::test]
async fn missing_signature_is_401_and_the_body_is_not_read() {
    let seen = Seen::default();
    let (chunks, polled) = Chunks::new([Bytes::from_static(b"{}")]);
    let answer = send(&tale_layer(), &seen, Request::post("/hook").body(chunks).unwrap()).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(&answer.body[..], b"missing signature");
    assert_eq!(answer.headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
    assert!(!answer.headers.contains_key(header::WWW_AUTHENTICATE));
    assert_eq!(polled.load(Ordering::SeqCst), 0);
    assert_eq!(seen.calls(), 0);
}

#[tokio::test]
async fn malformed_signature_is_400() {
    let seen = Seen::default();
    for bad in ["sha256=xyz", "sha1=0000", "sha256=", &format!("sha256={}", "a".repeat(63))] {
        let mut req = signed(Method::POST, b"{}");
        req.headers_mut().insert("x-tale-signature", bad.parse().unwrap());
        let answer = send(&tale_layer(), &seen, req).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(&answer.body[..], b"malformed signature");
    }
    assert_eq!(seen.calls(), 0);
}

#[tokio::test]
async fn wrong_signature_is_401_mismatch() {
    let seen = Seen::default();
    // Signed with another secret.
    let mut req = Request::post("/hook").body(Full::new(Bytes::from_static(b"{}"))).unwrap();
    req.headers_mut().extend(Signer::new(Scheme::tale(), "another secret").unwrap().sign(b"{}").unwrap());
    let answer = send(&tale_layer(), &seen, req).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(&answer.body[..], b"signature mismatch");

    // Signed correctly, then tampered with by one byte.
    let mut req = signed(Method::POST, b"{\"amount\":1}");
    *req.body_mut() = Full::new(Bytes::from_static(b"{\"amount\":9}"));
    let answer = send(&tale_layer(), &seen, req).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(&answer.body[..], b"signature mismatch");
    assert_eq!(seen.calls(), 0);
}

#[tokio::test]
async fn stale_timestamp_is_401_before_the_body_is_read() {
    let seen = Seen::default();
    let layer = VerifyLayer::new(Verifier::new(Scheme::stripe(), "whsec_test").unwrap());
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let (chunks, polled) = Chunks::new([Bytes::from_static(b"{}")]);
    let mut req = Request::post("/hook").body(chunks).unwrap();
    req.headers_mut().extend(
        Signer::new(Scheme::stripe(), "whsec_test").unwrap().sign_at(b"{}", None, an_hour_ago).unwrap(),
    );
    let answer = send(&layer, &seen, req).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(&answer.body[..], b"timestamp out of tolerance");
    assert_eq!(polled.load(Ordering::SeqCst), 0);
    assert_eq!(seen.calls(), 0);

    // The same delivery signed now passes.
    let mut req = Request::post("/hook").body(Full::new(Bytes::from_static(b"{}"))).unwrap();
    req.headers_mut().extend(Signer::new(Scheme::stripe(), "whsec_test").unwrap().sign(b"{}").unwrap());
    let answer = send(&layer, &seen, req).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(seen.last().1.unwrap().timestamp().is_some());
}

#[tokio::test]
async fn content_length_over_the_limit_is_413_and_the_body_is_not_read() {
    let seen = Seen::default();
    let layer =
        VerifyLayer::new(Verifier::builder(Scheme::tale()).secret(SECRET).max_body(1024).build().unwrap());
    let (chunks, polled) = Chunks::new([Bytes::from(vec![b'x'; 1025])]);
    let mut req = Request::post("/hook").header(header::CONTENT_LENGTH, "1025").body(chunks).unwrap();
    req.headers_mut().extend(Signer::new(Scheme::tale(), SECRET).unwrap().sign(&[b'x'; 1025]).unwrap());
    let answer = send(&layer, &seen, req).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(&answer.body[..], b"payload too large");
    assert_eq!(polled.load(Ordering::SeqCst), 0);
    assert_eq!(seen.calls(), 0);

    // An absurd Content-Length is 413 too, and does not make the layer allocate.
    let (chunks, polled) = Chunks::new([]);
    let req = Request::post("/hook")
        .header(header::CONTENT_LENGTH, "18446744073709551616000")
        .body(chunks)
        .unwrap();
    let answer = send(&layer, &seen, req).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(polled.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn chunked_body_over_the_limit_is_413_and_reading_stops_at_the_limit() {
    let seen = Seen::default();
    let layer =
        VerifyLayer::new(Verifier::builder(Scheme::tale()).secret(SECRET).max_body(1024).build().unwrap());
    let body = vec![b'x'; 100 * 100];
    let (chunks, polled) = Chunks::new(body.chunks(100).map(Bytes::copy_from_slice));
    let mut req = Request::post("/hook").body(chunks).unwrap();
    req.headers_mut().extend(Signer::new(Scheme::tale(), SECRET).unwrap().sign(&body).unwrap());
    let answer = send(&layer, &seen, req).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    // 10 chunks fit in 1024 bytes; the 11th passes the limit and reading stops there.
    assert_eq!(polled.load(Ordering::SeqCst), 11);
    assert_eq!(seen.calls(), 0);

    // Exactly at the limit is fine.
    let body = vec![b'y'; 1024];
    let (chunks, _) = Chunks::new(body.chunks(100).map(Bytes::copy_from_slice));
    let mut req = Request::post("/hook").body(chunks).unwrap();
    req.headers_mut().extend(Signer::new(Scheme::tale(), SECRET).unwrap().sign(&body).unwrap());
    let answer = send(&layer, &seen, req).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body.len(), 1024);
}

#[tokio::test]
async fn get_is_405_with_allow() {
    let seen = Seen::default();
    let answer = send(&tale_layer(), &seen, signed(Method::GET, b"")).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.headers[header::ALLOW], "POST");
    assert_eq!(&answer.body[..], b"method not allowed");
    assert_eq!(seen.calls(), 0);
}

#[tokio::test]
async fn allowed_methods_are_configurable() {
    let seen = Seen::default();
    let layer = tale_layer().allow_methods([Method::PUT, Method::PATCH]);
    assert_eq!(send(&layer, &seen, signed(Method::PUT, b"{}")).await.status, StatusCode::OK);
    let answer = send(&layer, &seen, signed(Method::POST, b"{}")).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.headers[header::ALLOW], "PUT, PATCH");
    assert_eq!(seen.calls(), 1);
}

#[tokio::test]
async fn basic_auth_alone_requires_the_credentials() {
    let seen = Seen::default();
    let layer = VerifyLayer::basic_only(BasicAuth::new("hook", "p4ss").unwrap().realm("nocobase"));
    let unsigned = || Request::post("/trigger").body(Full::new(Bytes::from_static(b"{\"a\":1}"))).unwrap();

    let answer = send(&layer, &seen, unsigned()).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.headers[header::WWW_AUTHENTICATE], "Basic realm=\"nocobase\"");
    assert_eq!(&answer.body[..], b"unauthorized");

    let mut wrong = unsigned();
    wrong.headers_mut().insert(header::AUTHORIZATION, basic("hook", "guess").parse().unwrap());
    let answer = send(&layer, &seen, wrong).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer.headers.contains_key(header::WWW_AUTHENTICATE));
    assert_eq!(seen.calls(), 0);

    let mut right = unsigned();
    right.headers_mut().insert(header::AUTHORIZATION, basic("hook", "p4ss").parse().unwrap());
    let answer = send(&layer, &seen, right).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(&answer.body[..], b"{\"a\":1}");
    let (_, verified) = seen.last();
    assert!(verified.is_none(), "no signature scheme, so no Verified extension");

    // The body limit still applies without a scheme.
    let (chunks, _) = Chunks::new(std::iter::repeat_n(Bytes::from(vec![0u8; 64 * 1024]), 33));
    let mut big = Request::post("/trigger").body(chunks).unwrap();
    big.headers_mut().insert(header::AUTHORIZATION, basic("hook", "p4ss").parse().unwrap());
    assert_eq!(send(&layer, &seen, big).await.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(seen.calls(), 1);
}

#[tokio::test]
async fn basic_auth_with_a_signature_requires_both() {
    let seen = Seen::default();
    let layer = tale_layer().basic_auth(BasicAuth::new("hook", "p4ss").unwrap());

    // Signed, no credentials: 401 with the Basic challenge, checked before the signature.
    let answer = send(&layer, &seen, signed(Method::POST, b"{}")).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.headers[header::WWW_AUTHENTICATE], "Basic realm=\"webhooks\"");

    // Credentials, no signature: 401 without a Basic challenge.
    let mut req = Request::post("/hook").body(Full::new(Bytes::from_static(b"{}"))).unwrap();
    req.headers_mut().insert(header::AUTHORIZATION, basic("hook", "p4ss").parse().unwrap());
    let answer = send(&layer, &seen, req).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(&answer.body[..], b"missing signature");
    assert!(!answer.headers.contains_key(header::WWW_AUTHENTICATE));
    assert_eq!(seen.calls(), 0);

    // Both: accepted, with the proof.
    let mut req = signed(Method::POST, b"{}");
    req.headers_mut().insert(header::AUTHORIZATION, basic("hook", "p4ss").parse().unwrap());
    assert_eq!(send(&layer, &seen, req).await.status, StatusCode::OK);
    assert!(seen.last().1.is_some());
}

#[tokio::test]
async fn a_body_read_error_is_400() {
    let seen = Seen::default();
    let mut req = Request::post("/hook").body(Chunks::failing_after(Bytes::from_static(b"{"))).unwrap();
    req.headers_mut().extend(Signer::new(Scheme::tale(), SECRET).unwrap().sign(b"{}").unwrap());
    let answer = send(&tale_layer(), &seen, req).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(&answer.body[..], b"unreadable body");
    assert_eq!(seen.calls(), 0);
}

#[tokio::test]
async fn an_outer_request_body_limit_layer_still_maps_to_413() {
    let seen = Seen::default();
    let outer = tower_http::limit::RequestBodyLimitLayer::new(100);
    let body = vec![b'z'; 1000];

    // Chunked: the outer limit trips while the layer reads; the layer answers 413.
    let (chunks, _) = Chunks::new(body.chunks(10).map(Bytes::copy_from_slice));
    let mut req = Request::post("/hook").body(chunks).unwrap();
    req.headers_mut().extend(Signer::new(Scheme::tale(), SECRET).unwrap().sign(&body).unwrap());
    let service = outer.layer(tale_layer().layer(echo(&seen)));
    let response = service.clone().oneshot(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(&response.into_body().collect().await.unwrap().to_bytes()[..], b"payload too large");

    // Within the outer limit, delivered.
    let response = service.oneshot(signed(Method::POST, b"{\"small\":true}")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(seen.calls(), 1);
}

#[tokio::test]
async fn on_rejection_builds_the_response() {
    let seen = Seen::default();
    let layer = tale_layer().on_rejection(|refusal, mut res| {
        res.headers_mut().insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        *res.body_mut() = Bytes::from(format!(r#"{{"error":"{}"}}"#, refusal.public_message()));
        res
    });
    let answer = send(&layer, &seen, Request::post("/hook").body(Full::new(Bytes::new())).unwrap()).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(&answer.body[..], br#"{"error":"missing signature"}"#);

    let answer = send(&layer, &seen, signed(Method::GET, b"")).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.headers[header::ALLOW], "POST");
    assert_eq!(&answer.body[..], br#"{"error":"method not allowed"}"#);

    // Later builder calls keep the hook.
    let layer = layer.allow_methods([Method::PUT]);
    let answer = send(&layer, &seen, signed(Method::POST, b"")).await;
    assert_eq!(&answer.body[..], br#"{"error":"method not allowed"}"#);
    assert_eq!(seen.calls(), 0);
}

#[tokio::test]
async fn poll_ready_is_forwarded_and_the_ready_service_is_the_one_called() {
    let seen = Seen::default();
    // A concurrency limit of one: while one service holds the permit, another is not
    // ready. `ConcurrencyLimit::call` panics on a service that was not made ready, so
    // this also pins the clone-and-swap in `call`.
    let mut service = tale_layer().layer(tower::limit::ConcurrencyLimitLayer::new(1).layer(echo(&seen)));
    let mut other = service.clone();
    let mut cx = Context::from_waker(std::task::Waker::noop());
    ServiceExt::<Request<Full<Bytes>>>::ready(&mut service).await.unwrap();
    assert!(
        Service::<Request<Full<Bytes>>>::poll_ready(&mut other, &mut cx).is_pending(),
        "readiness comes from the inner service"
    );
    let response = service.call(signed(Method::POST, b"{}")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        Service::<Request<Full<Bytes>>>::poll_ready(&mut other, &mut cx).is_ready(),
        "the permit was released"
    );
    let response = other.call(signed(Method::POST, b"{}")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(seen.calls(), 2);
}

#[tokio::test]
async fn several_secrets_report_which_one_matched() {
    let seen = Seen::default();
    let verifier = Verifier::builder(Scheme::standard_webhooks())
        .labeled_secret("new", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        .labeled_secret("old", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
        .build()
        .unwrap();
    let mut req = Request::post("/hook").body(Full::new(Bytes::from_static(b"{}"))).unwrap();
    req.headers_mut().extend(
        Signer::new(Scheme::standard_webhooks(), "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
            .unwrap()
            .sign(b"{}")
            .unwrap(),
    );
    let answer = send(&VerifyLayer::new(verifier), &seen, req).await;
    assert_eq!(answer.status, StatusCode::OK);
    let verified = seen.last().1.unwrap();
    assert_eq!(verified.label(), Some("old"));
    assert!(verified.id().is_some());
}

/// Ed25519 through the layer, no special case: a Standard Webhooks `v1a` delivery
/// (streamed in chunks) reaches the service with its proof; the sender's retry of the
/// same id, re-signed later, is a duplicate for the replay guard (the key is the
/// covered id, as for `v1`); a tampered body is 401. Discord, which has no id, is
/// deduplicated on the digest of what was signed.
#[cfg(feature = "ed25519")]
#[tokio::test]
async fn ed25519_deliveries_pass_the_layer_and_its_replay_guard() {
    use hooksig::replay::MemoryReplayGuard;
    const WHSK: &str = "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="; // RFC 8032, test 1
    const WHPK: &str = "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    let scheme = Scheme::standard_webhooks();
    let verifier = Verifier::builder(scheme.clone())
        .secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        .labeled_public_key("ed", WHPK)
        .build()
        .unwrap();
    let layer = VerifyLayer::new(verifier).replay_guard(MemoryReplayGuard::new(100));
    let signer = Signer::builder(scheme).signing_key(WHSK).build().unwrap();
    let body = b"{\"type\":\"invoice.paid\"}".repeat(50);
    let delivery = |at: SystemTime, body: &[u8]| {
        let chunks: Vec<Bytes> = body.chunks(100).map(Bytes::copy_from_slice).collect();
        let mut req = Request::post("/hook").body(Chunks::new(chunks).0).unwrap();
        req.headers_mut().extend(signer.sign_at(body, Some("msg_ed_1"), at).unwrap());
        req
    };
    let seen = Seen::default();
    let now = SystemTime::now();
    let answer = send(&layer, &seen, delivery(now, &body)).await;
    assert_eq!(answer.status, StatusCode::OK);
    let (received, verified) = seen.last();
    assert_eq!(&received[..], &body[..]);
    let verified = verified.expect("Verified extension present");
    assert_eq!((verified.key_index(), verified.label()), (1, Some("ed")));
    assert_eq!(verified.algorithm(), hooksig::Algorithm::Ed25519);
    assert!(
        headers_of(&signer, &body)["webhook-signature"].to_str().unwrap().starts_with("v1a,"),
        "a signing key alone writes v1a"
    );

    // The retry, re-signed a second later: the same delivery (same covered id).
    let again = send(&layer, &seen, delivery(now + Duration::from_secs(1), &body)).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(seen.calls(), 1, "a duplicate reached the service");

    let mut tampered = delivery(now, &body);
    *tampered.body_mut() = Chunks::new([Bytes::from_static(b"{}")]).0;
    assert_eq!(send(&layer, &seen, tampered).await.status, StatusCode::UNAUTHORIZED);

    // Discord: no id; the same interaction twice is one delivery.
    let discord = Verifier::builder(Scheme::discord())
        .public_key("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        .build()
        .unwrap();
    let layer = VerifyLayer::new(discord).replay_guard(MemoryReplayGuard::new(100));
    let signer = Signer::builder(Scheme::discord())
        .signing_key("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
        .build()
        .unwrap();
    let headers = signer.sign_at(br#"{"type":1}"#, None, now).unwrap();
    let interaction = || {
        let mut req =
            Request::post("/interactions").body(Full::new(Bytes::from_static(br#"{"type":1}"#))).unwrap();
        req.headers_mut().extend(headers.clone());
        req
    };
    let seen = Seen::default();
    assert_eq!(send(&layer, &seen, interaction()).await.status, StatusCode::OK);
    assert_eq!(send(&layer, &seen, interaction()).await.status, StatusCode::OK);
    assert_eq!(seen.calls(), 1, "a replayed interaction reached the service");
}

#[cfg(feature = "ed25519")]
fn headers_of(signer: &Signer, body: &[u8]) -> HeaderMap {
    signer.sign(body).unwrap()
}
