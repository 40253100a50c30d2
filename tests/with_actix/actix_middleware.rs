//! The actix-web middleware and extractor, driven through `actix_web::test`.
#![cfg(feature = "actix")]

use crate::support::counting_alloc;

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, Service, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::{Method, StatusCode};
use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, test, web};
use bytes::Bytes;
use futures_util::Stream;
use hooksig::actix::{Verified, VerifySignature};
use hooksig::{BasicAuth, Scheme, Signer, Verifier};

const SECRET: &str = "vocalis test secret";
/// "hook:p4ss" in base64.
const CREDENTIALS: &str = "Basic aG9vazpwNHNz";

fn verifier(max_body: usize) -> Verifier {
    Verifier::builder(Scheme::vocalis()).secret(SECRET).max_body(max_body).build().unwrap()
}

fn sign(body: &[u8]) -> http::HeaderMap {
    Signer::new(Scheme::vocalis(), SECRET).unwrap().sign(body).unwrap()
}

/// A request carrying every header of `headers` (an `http` 1 map, as the signer makes).
fn with_headers(mut req: test::TestRequest, headers: &http::HeaderMap) -> test::TestRequest {
    for (name, value) in headers {
        req = req.insert_header((name.as_str(), value.as_bytes()));
    }
    req
}

fn post(body: &'static [u8], headers: &http::HeaderMap) -> actix_http::Request {
    with_headers(test::TestRequest::post().uri("/hook"), headers).set_payload(body).to_request()
}

/// A payload delivered as `chunks` chunks of `size` bytes with no `Content-Length`
/// (as with `Transfer-Encoding: chunked`), counting how many chunks were pulled.
fn chunked(chunks: usize, size: usize, pulled: Arc<AtomicUsize>) -> Payload {
    let stream = futures_util::stream::iter((0..chunks).map(move |_| {
        pulled.fetch_add(1, Ordering::SeqCst);
        Ok::<_, PayloadError>(Bytes::from(vec![b'x'; size]))
    }));
    Payload::from(Box::pin(stream) as Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>)
}

/// Echoes the body and reports what the middleware verified; counts its calls.
#[derive(Clone, Default)]
struct Handler {
    calls: Arc<AtomicUsize>,
}

impl Handler {
    fn route(&self) -> actix_web::Route {
        let calls = Arc::clone(&self.calls);
        web::route().to(move |req: HttpRequest, body: web::Bytes| {
            calls.fetch_add(1, Ordering::SeqCst);
            let verified = req.extensions().get::<hooksig::Verified>().map(|v| v.key_index().to_string());
            async move {
                HttpResponse::Ok()
                    .insert_header(("x-verified-key", verified.unwrap_or_else(|| "none".into())))
                    .body(body)
            }
        })
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

async fn app_with(
    middleware: VerifySignature,
    handler: &Handler,
) -> impl Service<actix_http::Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>
{
    let app = App::new()
        .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
        .service(web::resource("/hook").wrap(middleware).route(handler.route()));
    test::init_service(app).await
}

async fn status_and_body<B: MessageBody>(res: ServiceResponse<B>) -> (StatusCode, String) {
    let status = res.status();
    let body = test::read_body(res).await;
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[actix_web::test]
async fn valid_delivery_reaches_the_handler_with_the_exact_bytes() {
    let handler = Handler::default();
    let app = app_with(VerifySignature::new(verifier(1024)), &handler).await;
    let body = b"{\"event\":\"call.ended\",\"call_id\":\"c1\"}  \r\n";

    let res = test::call_service(&app, post(body, &sign(body))).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers().get("x-verified-key").unwrap(), "0");
    assert_eq!(test::read_body(res).await, &body[..]);
    assert_eq!(handler.calls(), 1);
}

#[actix_web::test]
async fn valid_chunked_delivery_is_reassembled() {
    let handler = Handler::default();
    let app = app_with(VerifySignature::new(verifier(1024)), &handler).await;
    let pulled = Arc::new(AtomicUsize::new(0));
    let body = vec![b'x'; 10 * 64];
    let mut req = with_headers(test::TestRequest::post().uri("/hook"), &sign(&body)).to_request();
    *req.payload() = chunked(10, 64, Arc::clone(&pulled));

    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(test::read_body(res).await, body);
    assert_eq!(pulled.load(Ordering::SeqCst), 10);
    assert_eq!(handler.calls(), 1);
}

#[actix_web::test]
async fn unsigned_malformed_and_mismatched_deliveries_are_refused() {
    let handler = Handler::default();
    let app = app_with(VerifySignature::new(verifier(1024)), &handler).await;
    let body = b"{\"event\":\"call.started\"}";
    let header = |value: &str| {
        let mut map = http::HeaderMap::new();
        map.insert("x-vocalis-signature", value.parse().unwrap());
        map
    };
    let other_secret = Signer::new(Scheme::vocalis(), "another secret").unwrap().sign(body).unwrap();

    let cases: [(http::HeaderMap, &[u8], u16, &str); 7] = [
        (http::HeaderMap::new(), body, 401, "missing signature"),
        (header("sha256=zz"), body, 400, "malformed signature"),
        (header("sha1=0123"), body, 400, "malformed signature"),
        (header(&format!("sha256={}", "0".repeat(63))), body, 400, "malformed signature"),
        (header(&format!("sha256={}", "0".repeat(64))), body, 401, "signature mismatch"),
        (other_secret, body, 401, "signature mismatch"),
        // Signed for other bytes: one byte of the body changed.
        (sign(b"{\"event\":\"call.started\"} "), body, 401, "signature mismatch"),
    ];
    for (headers, body, status, message) in cases {
        let res = test::call_service(&app, post(body, &headers)).await;
        assert_eq!(res.headers().get("content-type").unwrap(), "text/plain; charset=utf-8");
        assert!(res.headers().get("www-authenticate").is_none());
        assert_eq!(status_and_body(res).await, (StatusCode::from_u16(status).unwrap(), message.into()));
    }
    assert_eq!(handler.calls(), 0);
}

#[actix_web::test]
async fn stale_or_future_timestamps_are_refused() {
    let handler = Handler::default();
    let verifier = Verifier::new(Scheme::stripe(), "whsec_actix").unwrap();
    let app = app_with(VerifySignature::new(verifier), &handler).await;
    let signer = Signer::new(Scheme::stripe(), "whsec_actix").unwrap();
    let body = b"{\"id\":\"evt_1\"}";

    let old = signer.sign_at(body, None, SystemTime::now() - Duration::from_secs(3600)).unwrap();
    let res = test::call_service(&app, post(body, &old)).await;
    assert_eq!(status_and_body(res).await, (StatusCode::UNAUTHORIZED, "timestamp out of tolerance".into()));

    let ahead = signer.sign_at(body, None, SystemTime::now() + Duration::from_secs(3600)).unwrap();
    let res = test::call_service(&app, post(body, &ahead)).await;
    assert_eq!(status_and_body(res).await, (StatusCode::UNAUTHORIZED, "timestamp out of tolerance".into()));
    assert_eq!(handler.calls(), 0);

    let fresh = signer.sign(body).unwrap();
    let res = test::call_service(&app, post(body, &fresh)).await;
    assert_eq!(status_and_body(res).await, (StatusCode::OK, "{\"id\":\"evt_1\"}".into()));
    assert_eq!(handler.calls(), 1);
}

#[actix_web::test]
async fn content_length_over_the_limit_is_refused_before_reading() {
    let handler = Handler::default();
    let app = app_with(VerifySignature::new(verifier(1024)), &handler).await;
    let pulled = Arc::new(AtomicUsize::new(0));
    let body = vec![b'x'; 1025];
    let mut req = with_headers(test::TestRequest::post().uri("/hook"), &sign(&body))
        .insert_header(("content-length", "1025"))
        .to_request();
    *req.payload() = chunked(1025, 1, Arc::clone(&pulled));

    let res = test::call_service(&app, req).await;
    assert_eq!(status_and_body(res).await, (StatusCode::PAYLOAD_TOO_LARGE, "payload too large".into()));
    assert_eq!(pulled.load(Ordering::SeqCst), 0, "no byte may be read");
    assert_eq!(handler.calls(), 0);

    // An absurd or malformed length is refused too, still without reading.
    for (value, status) in [("99999999999999999999999", 413), ("12x", 400)] {
        let req = with_headers(test::TestRequest::post().uri("/hook"), &sign(b""))
            .insert_header(("content-length", value))
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status().as_u16(), status, "{value}");
    }
    assert_eq!(handler.calls(), 0);
}

#[actix_web::test]
async fn chunked_body_over_the_limit_stops_at_the_limit() {
    let handler = Handler::default();
    let app = app_with(VerifySignature::new(verifier(1000)), &handler).await;
    let pulled = Arc::new(AtomicUsize::new(0));
    // 100 KB offered in 100-byte chunks; the limit is 1000 bytes. The signature is
    // even valid for the whole body: size is checked regardless.
    let body = vec![b'x'; 100_000];
    let mut req = with_headers(test::TestRequest::post().uri("/hook"), &sign(&body)).to_request();
    *req.payload() = chunked(1000, 100, Arc::clone(&pulled));

    let res = test::call_service(&app, req).await;
    assert_eq!(status_and_body(res).await, (StatusCode::PAYLOAD_TOO_LARGE, "payload too large".into()));
    assert_eq!(pulled.load(Ordering::SeqCst), 11, "reading stops at the first chunk past the limit");
    assert_eq!(handler.calls(), 0);
}

#[actix_web::test]
async fn a_broken_payload_is_400() {
    let handler = Handler::default();
    let app = app_with(VerifySignature::new(verifier(1024)), &handler).await;
    let mut req = with_headers(test::TestRequest::post().uri("/hook"), &sign(b"ab")).to_request();
    let stream =
        futures_util::stream::iter([Ok(Bytes::from_static(b"a")), Err(PayloadError::Incomplete(None))]);
    *req.payload() =
        Payload::from(Box::pin(stream) as Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>);

    let res = test::call_service(&app, req).await;
    assert_eq!(status_and_body(res).await, (StatusCode::BAD_REQUEST, "unreadable body".into()));
    assert_eq!(handler.calls(), 0);
}

#[actix_web::test]
async fn other_methods_are_405_with_allow() {
    let handler = Handler::default();
    let app = app_with(VerifySignature::new(verifier(1024)), &handler).await;
    for method in [Method::GET, Method::PUT, Method::DELETE, Method::HEAD] {
        let req = with_headers(test::TestRequest::default().method(method.clone()).uri("/hook"), &sign(b""))
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(res.headers().get("allow").unwrap(), "POST");
    }
    assert_eq!(handler.calls(), 0);

    let put_too = VerifySignature::new(verifier(1024)).allow_methods([Method::POST, Method::PUT]);
    let app = app_with(put_too, &handler).await;
    let req =
        with_headers(test::TestRequest::put().uri("/hook"), &sign(b"{}")).set_payload("{}").to_request();
    assert_eq!(test::call_service(&app, req).await.status(), StatusCode::OK);
    let req = test::TestRequest::get().uri("/hook").to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.headers().get("allow").unwrap(), "POST, PUT");
    assert_eq!(status_and_body(res).await, (StatusCode::METHOD_NOT_ALLOWED, "method not allowed".into()));
    assert_eq!(handler.calls(), 1);
}

#[actix_web::test]
async fn basic_auth_alone_requires_the_credentials() {
    let handler = Handler::default();
    let auth = BasicAuth::new("hook", "p4ss").unwrap().realm("nocobase");
    let app = app_with(VerifySignature::basic_only(auth), &handler).await;

    for authorization in [None, Some("Basic aG9vazp3cm9uZw=="), Some("Bearer aG9vazpwNHNz")] {
        let mut req = test::TestRequest::post().uri("/hook").set_payload("{}");
        if let Some(value) = authorization {
            req = req.insert_header(("authorization", value));
        }
        let res = test::call_service(&app, req.to_request()).await;
        assert_eq!(res.headers().get("www-authenticate").unwrap(), "Basic realm=\"nocobase\"");
        assert_eq!(status_and_body(res).await, (StatusCode::UNAUTHORIZED, "unauthorized".into()));
    }
    assert_eq!(handler.calls(), 0);

    let req = test::TestRequest::post()
        .uri("/hook")
        .insert_header(("authorization", CREDENTIALS))
        .set_payload("{}");
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(res.headers().get("x-verified-key").unwrap(), "none", "no signature checked");
    assert_eq!(status_and_body(res).await, (StatusCode::OK, "{}".into()));
    assert_eq!(handler.calls(), 1);
}

#[actix_web::test]
async fn basic_auth_with_a_signature_requires_both() {
    let handler = Handler::default();
    let middleware = VerifySignature::new(verifier(1024)).basic_auth(BasicAuth::new("hook", "p4ss").unwrap());
    let app = app_with(middleware, &handler).await;
    let body = b"{}";

    // Signed but no credentials: 401 with a challenge.
    let res = test::call_service(&app, post(body, &sign(body))).await;
    assert_eq!(res.headers().get("www-authenticate").unwrap(), "Basic realm=\"webhooks\"");
    assert_eq!(status_and_body(res).await, (StatusCode::UNAUTHORIZED, "unauthorized".into()));

    // Credentials but no signature: 401, and no Basic challenge (the credentials were fine).
    let req = test::TestRequest::post()
        .uri("/hook")
        .insert_header(("authorization", CREDENTIALS))
        .set_payload("{}");
    let res = test::call_service(&app, req.to_request()).await;
    assert!(res.headers().get("www-authenticate").is_none());
    assert_eq!(status_and_body(res).await, (StatusCode::UNAUTHORIZED, "missing signature".into()));
    assert_eq!(handler.calls(), 0);

    let req = with_headers(test::TestRequest::post().uri("/hook"), &sign(body))
        .insert_header(("authorization", CREDENTIALS))
        .set_payload(&body[..]);
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(res.headers().get("x-verified-key").unwrap(), "0");
    assert_eq!(status_and_body(res).await, (StatusCode::OK, "{}".into()));
    assert_eq!(handler.calls(), 1);
}

#[actix_web::test]
async fn on_rejection_sees_and_builds_every_rejection() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let middleware = VerifySignature::new(verifier(8)).on_rejection(move |refusal, mut response| {
        log.lock().unwrap().push(format!("{} {}", response.status().as_u16(), refusal.public_message()));
        *response.body_mut() = format!("refused: {}", refusal.public_message()).into();
        response
    });
    let handler = Handler::default();
    let app = app_with(middleware, &handler).await;

    let res = test::call_service(&app, test::TestRequest::get().uri("/hook").to_request()).await;
    assert_eq!(res.headers().get("allow").unwrap(), "POST", "the hook keeps the default headers");
    assert_eq!(test::read_body(res).await, "refused: method not allowed", "the hook builds the response");
    test::call_service(&app, post(b"{}", &http::HeaderMap::new())).await;
    test::call_service(&app, post(b"{}", &sign(b"{ }"))).await;
    test::call_service(&app, post(b"0123456789", &sign(b"0123456789"))).await;
    let res = test::call_service(&app, post(b"{}", &sign(b"{}"))).await;
    assert_eq!(res.status(), StatusCode::OK);

    assert_eq!(
        *seen.lock().unwrap(),
        [
            "405 method not allowed",
            "401 missing signature",
            "401 signature mismatch",
            "413 payload too large"
        ]
    );
    assert_eq!(handler.calls(), 1);
}

#[actix_web::test]
async fn wraps_a_whole_app_or_a_scope() {
    let calls = Handler::default();
    let app = test::init_service(
        App::new()
            .service(
                web::scope("/hooks")
                    .wrap(VerifySignature::new(verifier(1024)))
                    .route("/a", calls.route())
                    .route("/b", calls.route()),
            )
            .route("/health", web::get().to(HttpResponse::Ok)),
    )
    .await;
    for path in ["/hooks/a", "/hooks/b"] {
        let signed = with_headers(test::TestRequest::post().uri(path), &sign(b"1")).set_payload("1");
        assert_eq!(test::call_service(&app, signed.to_request()).await.status(), StatusCode::OK);
        let unsigned = test::TestRequest::post().uri(path).set_payload("1");
        assert_eq!(test::call_service(&app, unsigned.to_request()).await.status(), StatusCode::UNAUTHORIZED);
    }
    let health = test::TestRequest::get().uri("/health").to_request();
    assert_eq!(test::call_service(&app, health).await.status(), StatusCode::OK, "outside the scope");
    assert_eq!(calls.calls(), 2);

    let app =
        test::init_service(App::new().wrap(VerifySignature::new(verifier(1024))).route("/x", calls.route()))
            .await;
    let signed = with_headers(test::TestRequest::post().uri("/x"), &sign(b"2")).set_payload("2");
    assert_eq!(test::call_service(&app, signed.to_request()).await.status(), StatusCode::OK);
    assert_eq!(calls.calls(), 3);
}

#[actix_web::test]
async fn standard_webhooks_and_key_rotation_through_the_middleware() {
    let verifier = Verifier::builder(Scheme::standard_webhooks())
        .labeled_secret("new", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
        .labeled_secret("old", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        .build()
        .unwrap();
    let handler = Handler::default();
    let app = app_with(VerifySignature::new(verifier), &handler).await;
    let old = Signer::new(Scheme::standard_webhooks(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let res = test::call_service(&app, post(b"{}", &old.sign(b"{}").unwrap())).await;
    assert_eq!(res.headers().get("x-verified-key").unwrap(), "1");
    assert_eq!(status_and_body(res).await, (StatusCode::OK, "{}".into()));
}

// --- the extractor ------------------------------------------------------------------

#[derive(Debug, serde::Deserialize)]
struct Event {
    event: String,
}

async fn json_hook(event: Verified<web::Json<Event>>) -> HttpResponse {
    HttpResponse::Ok().body(format!("{} key={}", event.event, event.verified().key_index()))
}

#[actix_web::test]
async fn extractor_alone_verifies_with_the_verifier_from_app_data() {
    let app =
        test::init_service(App::new().app_data(verifier(1024)).route("/hook", web::post().to(json_hook)))
            .await;
    let body = b"{\"event\":\"lead.qualified\"}";
    let req = with_headers(test::TestRequest::post().uri("/hook"), &sign(body))
        .insert_header(("content-type", "application/json"))
        .set_payload(&body[..]);
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(test::read_body(res).await, "lead.qualified key=0");

    let tampered = with_headers(test::TestRequest::post().uri("/hook"), &sign(body))
        .insert_header(("content-type", "application/json"))
        .set_payload("{\"event\":\"lead.qualified\" }");
    let res = test::call_service(&app, tampered.to_request()).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(test::read_body(res).await, "signature mismatch");

    let unsigned = test::TestRequest::post().uri("/hook").set_payload(&body[..]);
    let res = test::call_service(&app, unsigned.to_request()).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn extractor_accepts_web_data_and_hands_over_the_exact_bytes() {
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(verifier(1024)))
            .route("/hook", web::post().to(|body: Verified<web::Bytes>| async move { body.into_inner() })),
    )
    .await;
    let body = b" {\"raw\" : true}\n";
    let res = test::call_service(&app, post(body, &sign(body))).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(test::read_body(res).await, &body[..]);
}

#[actix_web::test]
async fn extractor_refuses_oversized_bodies_without_reading_past_the_limit() {
    let app = test::init_service(
        App::new()
            .app_data(verifier(1000))
            .route("/hook", web::post().to(|body: Verified<web::Bytes>| async move { body.into_inner() })),
    )
    .await;
    let pulled = Arc::new(AtomicUsize::new(0));
    let mut req = with_headers(test::TestRequest::post().uri("/hook"), &sign(&[b'x'; 5000])).to_request();
    *req.payload() = chunked(50, 100, Arc::clone(&pulled));
    let res = test::call_service(&app, req).await;
    assert_eq!(status_and_body(res).await, (StatusCode::PAYLOAD_TOO_LARGE, "payload too large".into()));
    assert_eq!(pulled.load(Ordering::SeqCst), 11);

    let pulled = Arc::new(AtomicUsize::new(0));
    let mut req = with_headers(test::TestRequest::post().uri("/hook"), &sign(&[b'x'; 5000]))
        .insert_header(("content-length", "5000"))
        .to_request();
    *req.payload() = chunked(50, 100, Arc::clone(&pulled));
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(pulled.load(Ordering::SeqCst), 0);
}

#[actix_web::test]
async fn extractor_without_a_verifier_is_a_server_error() {
    let app = test::init_service(
        App::new()
            .route("/hook", web::post().to(|body: Verified<web::Bytes>| async move { body.into_inner() })),
    )
    .await;
    let res = test::call_service(&app, post(b"{}", &sign(b"{}"))).await;
    assert_eq!(
        status_and_body(res).await,
        (StatusCode::INTERNAL_SERVER_ERROR, "server misconfigured".into())
    );
}

#[actix_web::test]
async fn extractor_behind_the_middleware_does_not_verify_again() {
    // The middleware and the extractor hold clones of one verifier: the extractor
    // reuses the middleware's proof.
    let shared = verifier(1024);
    let app =
        test::init_service(App::new().app_data(shared.clone()).service(
            web::resource("/hook").wrap(VerifySignature::new(shared)).route(web::post().to(json_hook)),
        ))
        .await;
    let body = b"{\"event\":\"emotion.spike\"}";
    let req = with_headers(test::TestRequest::post().uri("/hook"), &sign(body))
        .insert_header(("content-type", "application/json"))
        .set_payload(&body[..]);
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(status_and_body(res).await, (StatusCode::OK, "emotion.spike key=0".into()));
}

/// Regression: the extractor took any proof found in the request, so a middleware
/// holding several tenants' secrets let one tenant post to another's route.
#[actix_web::test]
async fn extractor_behind_a_multi_tenant_middleware_trusts_only_its_own_verifier() {
    let all_tenants = Verifier::builder(Scheme::vocalis()).secret(SECRET).secret("tenant b").build().unwrap();
    let tenant_b = Verifier::new(Scheme::vocalis(), "tenant b").unwrap();
    let app = test::init_service(App::new().app_data(tenant_b).service(
        web::resource("/hook").wrap(VerifySignature::new(all_tenants)).route(web::post().to(json_hook)),
    ))
    .await;
    let body = b"{\"event\":\"emotion.spike\"}";
    let post = |headers: &http::HeaderMap| {
        with_headers(test::TestRequest::post().uri("/hook"), headers)
            .insert_header(("content-type", "application/json"))
            .set_payload(&body[..])
            .to_request()
    };
    // Signed by tenant A: passes the middleware, refused by tenant B's extractor.
    let res = test::call_service(&app, post(&sign(body))).await;
    assert_eq!(status_and_body(res).await, (StatusCode::UNAUTHORIZED, "signature mismatch".into()));
    // Signed by tenant B: accepted with B's own proof.
    let headers = Signer::new(Scheme::vocalis(), "tenant b").unwrap().sign(body).unwrap();
    let res = test::call_service(&app, post(&headers)).await;
    assert_eq!(status_and_body(res).await, (StatusCode::OK, "emotion.spike key=0".into()));
}

#[actix_web::test]
async fn extractor_passes_on_the_inner_extractors_rejection() {
    let app =
        test::init_service(App::new().app_data(verifier(1024)).route("/hook", web::post().to(json_hook)))
            .await;
    let body = b"{\"event\": not json";
    let req = with_headers(test::TestRequest::post().uri("/hook"), &sign(body))
        .insert_header(("content-type", "application/json"))
        .set_payload(&body[..]);
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "web::Json's own rejection, after a valid signature");
}

// --- reading actix's header map allocates nothing -------------------------------------

mod allocations {
    use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
    use hooksig::pipeline::Receiver;
    use hooksig::{HeaderSource, Scheme, Signer, Verifier};

    use super::counting_alloc::allocations_during;

    /// The signer's `http` 1 headers, in an actix map as actix's parser builds it.
    fn actix_map(signed: &http::HeaderMap) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.append(HeaderName::from_static("host"), HeaderValue::from_static("example.com"));
        map.append(HeaderName::from_static("content-length"), HeaderValue::from_static("2"));
        for (name, value) in signed {
            map.append(
                HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
                HeaderValue::from_bytes(value.as_bytes()).unwrap(),
            );
        }
        map
    }

    #[test]
    fn the_counter_sees_allocations() {
        let (n, v) = allocations_during(|| vec![1u8; 100]);
        assert!(n >= 1);
        drop(v);
    }

    #[test]
    fn verifying_from_an_actix_header_map_does_not_allocate() {
        for (scheme, secret) in [
            (Scheme::vocalis(), "s"),
            (Scheme::stripe(), "whsec_s"),
            (Scheme::standard_webhooks(), "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"),
        ] {
            let name = scheme.name().to_owned();
            let map = actix_map(&Signer::new(scheme.clone(), secret).unwrap().sign(b"{}").unwrap());
            let verifier = Verifier::new(scheme, secret).unwrap();
            let gate = Receiver::new(verifier.clone());

            let (n, result) = allocations_during(|| verifier.verify(&map, b"{}"));
            assert!(result.is_ok(), "{name}");
            assert_eq!(n, 0, "verify over an actix map allocated ({name})");

            let (n, result) = allocations_during(|| {
                let mut verification = verifier.begin(&map)?;
                verification.update(b"{}")?;
                verification.finish()
            });
            assert!(result.is_ok(), "{name}");
            assert_eq!(n, 0, "the streaming path allocated ({name})");

            // The pipeline boxes the verification state once per request, so that the
            // futures that carry it stay small; nothing else.
            let (n, result) = allocations_during(|| {
                let mut intake = gate.admit("POST", &map)?;
                intake.push(bytes::Bytes::from_static(b"{}"))?;
                intake.finish()
            });
            assert!(result.is_ok(), "{name}");
            assert_eq!(n, 1, "the middleware's pipeline allocated more than its one box ({name})");

            let (n, count) = allocations_during(|| map.header_values(&http::header::HOST).count());
            assert_eq!((n, count), (0, 1));
        }
    }
}

// --- one pipeline: the same answers through tower and actix -----------------------------

/// Every refusal (failed checks and the replay answers) gets the same status, headers
/// and body from the tower layer and the actix middleware, both with the same
/// `on_rejection` hook and without one.
#[cfg(feature = "tower")]
mod same_answers {
    use std::convert::Infallible;

    use actix_web::{App, HttpResponse, test, web};
    use bytes::Bytes;
    use hooksig::actix::VerifySignature;
    use hooksig::pipeline::Receiver;
    use hooksig::replay::{BoxFuture, ClaimOutcome, ClaimToken, ReplayGuard, ReplayKey, ReplayStoreError};
    use hooksig::tower::{VerifiedBody, VerifyLayer};
    use hooksig::{BasicAuth, Refusal, Scheme, Signer, Verifier};
    use http_body_util::{BodyExt, Full};
    use tower::{Layer, ServiceExt};

    /// A store that always answers "in progress" or "down", to reach those answers.
    struct Fixed(Option<ClaimOutcome>);

    impl ReplayGuard for Fixed {
        fn claim<'a>(&'a self, _: &'a ReplayKey) -> BoxFuture<'a, Result<ClaimOutcome, ReplayStoreError>> {
            let outcome = self.0.clone();
            Box::pin(async move { outcome.ok_or_else(|| ReplayStoreError::new("fixed", "down")) })
        }
        fn complete<'a>(
            &'a self,
            _: &'a ReplayKey,
            _: &'a ClaimToken,
        ) -> BoxFuture<'a, Result<bool, ReplayStoreError>> {
            Box::pin(async { Ok(true) })
        }
        fn release<'a>(
            &'a self,
            _: &'a ReplayKey,
            _: &'a ClaimToken,
        ) -> BoxFuture<'a, Result<bool, ReplayStoreError>> {
            Box::pin(async { Ok(true) })
        }
        fn release_detached(&self, _: ReplayKey, _: ClaimToken) {}
    }

    type Answer = (u16, Vec<(String, String)>, Vec<u8>);

    fn hook(refusal: &Refusal, mut response: http::Response<Bytes>) -> http::Response<Bytes> {
        response.headers_mut().insert("x-refusal", refusal.status().as_u16().into());
        *response.body_mut() = format!("{{\"error\":\"{}\"}}", refusal.public_message()).into();
        response
    }

    /// The headers both frameworks are expected to agree on (the servers add others).
    fn keep(name: &str) -> bool {
        matches!(name, "content-type" | "allow" | "www-authenticate" | "retry-after" | "x-refusal")
    }

    async fn through_tower(
        receiver: &Receiver,
        method: &str,
        headers: &http::HeaderMap,
        body: &'static [u8],
    ) -> Answer {
        let service = VerifyLayer::from_receiver(receiver.clone()).layer(tower::service_fn(
            |_: http::Request<VerifiedBody>| async {
                Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from("handled"))))
            },
        ));
        let mut request = http::Request::builder()
            .method(method)
            .uri("/hook")
            .body(Full::new(Bytes::from_static(body)))
            .unwrap();
        *request.headers_mut() = headers.clone();
        let response = service.oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let mut kept: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter(|(n, _)| keep(n.as_str()))
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect();
        kept.sort();
        (status, kept, response.into_body().collect().await.unwrap().to_bytes().to_vec())
    }

    async fn through_actix(
        receiver: &Receiver,
        method: &str,
        headers: &http::HeaderMap,
        body: &'static [u8],
    ) -> Answer {
        let app = test::init_service(
            App::new().service(
                web::resource("/hook")
                    .wrap(VerifySignature::from_receiver(receiver.clone()))
                    .to(|| async { HttpResponse::Ok().body("handled") }),
            ),
        )
        .await;
        let mut req = test::TestRequest::default()
            .method(actix_web::http::Method::from_bytes(method.as_bytes()).unwrap())
            .uri("/hook")
            .set_payload(body);
        for (name, value) in headers {
            req = req.insert_header((name.as_str(), value.as_bytes()));
        }
        let response = test::call_service(&app, req.to_request()).await;
        let status = response.status().as_u16();
        let mut kept: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter(|(n, _)| keep(n.as_str()))
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect();
        kept.sort();
        (status, kept, test::read_body(response).await.to_vec())
    }

    #[actix_web::test]
    async fn tower_and_actix_answer_every_refusal_alike() {
        let verifier = Verifier::builder(Scheme::tale()).secret("s").max_body(8).build().unwrap();
        let signed = |body: &[u8]| Signer::new(Scheme::tale(), "s").unwrap().sign(body).unwrap();
        let mut with_auth = signed(b"{}");
        with_auth.insert("authorization", "Basic aG9vazpwNHNz".parse().unwrap());
        let mut too_long = signed(b"{}");
        too_long.insert("content-length", "9".parse().unwrap());
        let basic = || BasicAuth::new("hook", "p4ss").unwrap();
        // A store that always grants the claim: first sight every time, in both runs.
        let granted = Some(ClaimOutcome::Claimed(ClaimToken::from_bytes([1; 16])));
        let receivers = [
            ("plain", Receiver::new(verifier.clone())),
            ("basic", Receiver::new(verifier.clone()).basic_auth(basic())),
            (
                "in progress",
                Receiver::new(verifier.clone()).replay_guard(Fixed(Some(ClaimOutcome::InProgress))),
            ),
            ("done", Receiver::new(verifier.clone()).replay_guard(Fixed(Some(ClaimOutcome::Done)))),
            ("store down", Receiver::new(verifier.clone()).replay_guard(Fixed(None))),
            ("first sight", Receiver::new(verifier.clone()).replay_guard(Fixed(granted))),
        ];
        let requests: [(&str, http::HeaderMap, &'static [u8]); 6] = [
            ("GET", signed(b"{}"), b"{}"),
            ("POST", http::HeaderMap::new(), b"{}"),
            ("POST", signed(b"{}"), b"{ }"),
            ("POST", too_long, b"{}"),
            ("POST", signed(b"{}"), b"{}"),
            ("POST", with_auth, b"{}"),
        ];
        let mut compared = 0;
        for (what, receiver) in &receivers {
            for hooked in [false, true] {
                let receiver = if hooked { receiver.clone().on_rejection(hook) } else { receiver.clone() };
                for (method, headers, body) in &requests {
                    let tower = through_tower(&receiver, method, headers, body).await;
                    let actix = through_actix(&receiver, method, headers, body).await;
                    assert_eq!(tower, actix, "{what}, hook {hooked}, {method} {headers:?}");
                    compared += 1;
                }
            }
        }
        assert_eq!(compared, 72);
        // The cases that matter were reached: 405, 401 (+ challenge), 413, 409, 200
        // duplicate and 503, each with its headers.
        let answer = |r: &Receiver, i: usize| {
            let (method, headers, body) = &requests[i];
            let r = r.clone();
            async move { through_actix(&r, method, headers, body).await }
        };
        let (status, headers, _) = answer(&receivers[0].1, 0).await;
        assert_eq!((status, headers.iter().any(|(n, v)| n == "allow" && v == "POST")), (405, true));
        let (status, headers, _) = answer(&receivers[1].1, 4).await;
        assert_eq!((status, headers.iter().any(|(n, _)| n == "www-authenticate")), (401, true));
        assert_eq!(answer(&receivers[0].1, 3).await.0, 413);
        let (status, headers, body) = answer(&receivers[2].1, 4).await;
        assert_eq!((status, headers.iter().any(|(n, v)| n == "retry-after" && v == "30")), (409, true));
        assert_eq!(body, b"delivery in progress");
        assert_eq!(answer(&receivers[3].1, 4).await.2, b"duplicate delivery");
        assert_eq!(answer(&receivers[5].1, 4).await, (200, vec![], b"handled".to_vec()));
        let (status, headers, _) = answer(&receivers[4].1, 4).await;
        assert_eq!((status, headers.iter().any(|(n, _)| n == "retry-after")), (503, true));
    }
}

/// Ed25519 through the middleware, no special case: a Standard Webhooks delivery
/// carrying `v1` and `v1a` reaches the handler through a verifier holding only the
/// public key; the same delivery again is a duplicate for the replay guard; another
/// body is 401.
#[cfg(feature = "ed25519")]
#[actix_web::test]
async fn ed25519_delivery_passes_the_middleware_and_its_replay_guard() {
    use hooksig::replay::MemoryReplayGuard;
    const WHSK: &str = "whsk_TM0Imyj/ltqdtsNG7BFOD1uKMZ81q6Yk2oz27U+4pvs="; // RFC 8032, test 2
    const WHPK: &str = "whpk_PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw=";
    let scheme = Scheme::standard_webhooks();
    let verifier = Verifier::builder(scheme.clone()).public_key(WHPK).build().unwrap();
    let handler = Handler::default();
    let middleware = VerifySignature::new(verifier).replay_guard(MemoryReplayGuard::new(100));
    let app = app_with(middleware, &handler).await;
    let signer = Signer::builder(scheme)
        .secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        .signing_key(WHSK)
        .build()
        .unwrap();
    let body: &'static [u8] = b"{\"type\":\"user.created\"}";
    let headers = signer.sign_at(body, Some("msg_actix_ed"), SystemTime::now()).unwrap();
    assert!(headers["webhook-signature"].to_str().unwrap().contains(" v1a,"));

    let res = test::call_service(&app, post(body, &headers)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers().get("x-verified-key").unwrap(), "0");
    assert_eq!(test::read_body(res).await, body);

    let res = test::call_service(&app, post(body, &headers)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(handler.calls(), 1, "a duplicate reached the handler");

    let res = test::call_service(&app, post(b"{\"type\":\"user.deleted\"}", &headers)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(handler.calls(), 1);
}

#[actix_web::test]
async fn a_nested_middleware_replaces_the_outer_proof() {
    // The scope's middleware holds two secrets, the resource's one: both verify the
    // delivery, and the handler sees the inner (last) proof, as with `insert`.
    let outer = Verifier::builder(Scheme::vocalis()).secret("other").secret(SECRET).build().unwrap();
    let inner = verifier(1024);
    let handler = Handler::default();
    let app = test::init_service(
        App::new().service(
            web::scope("/hooks")
                .wrap(VerifySignature::new(outer))
                .service(web::resource("/hook").wrap(VerifySignature::new(inner)).route(handler.route())),
        ),
    )
    .await;
    let req = with_headers(test::TestRequest::post().uri("/hooks/hook"), &sign(b"{}")).set_payload("{}");
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(res.headers().get("x-verified-key").unwrap(), "0", "the inner middleware's key index");
    assert_eq!(status_and_body(res).await, (StatusCode::OK, "{}".into()));
    assert_eq!(handler.calls(), 1);
}
