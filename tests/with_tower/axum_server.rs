//! The layer and the extractor in a real axum server on loopback, driven by a real
//! HTTP client (hyper-util) and, where the wire format matters (chunked bodies,
//! keep-alive, a body that never comes), by raw TCP.
#![cfg(feature = "axum")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, FromRef, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use hooksig::axum::Verified;
use hooksig::tower::VerifyLayer;
use hooksig::{BasicAuth, Scheme, Signer, Verifier};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

const SECRET: &str = "It's a Secret to Everybody";
const STD_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
/// The body limit of the test verifiers.
const LIMIT: usize = 16 * 1024;
/// Upper bound for any one network step.
const STEP: Duration = Duration::from_secs(5);

#[derive(Clone)]
struct AppState {
    verifier: Verifier,
    calls: Arc<AtomicUsize>,
}

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Verifier {
        state.verifier.clone()
    }
}

fn tale(secret: &str) -> Verifier {
    Verifier::builder(Scheme::tale()).secret(secret).max_body(LIMIT).build().unwrap()
}

/// Behind the layer: echoes the body, reports the matched key.
async fn echo(
    State(state): State<AppState>,
    verified: Option<Extension<hooksig::Verified>>,
    body: Bytes,
) -> impl IntoResponse {
    state.calls.fetch_add(1, Ordering::SeqCst);
    let key = verified.map_or("none".to_owned(), |Extension(v)| v.key_index().to_string());
    ([("x-key-index", key)], body)
}

#[derive(serde::Deserialize)]
struct Event {
    action: String,
}

async fn json_event(
    State(state): State<AppState>,
    Verified(Json(event), proof): Verified<Json<Event>>,
) -> String {
    state.calls.fetch_add(1, Ordering::SeqCst);
    format!("{} by key {}", event.action, proof.key_index())
}

async fn raw_bytes(State(state): State<AppState>, Verified(body, _): Verified<Bytes>) -> Bytes {
    state.calls.fetch_add(1, Ordering::SeqCst);
    body
}

fn app(calls: &Arc<AtomicUsize>) -> Router {
    let state = AppState { verifier: tale(SECRET), calls: calls.clone() };
    let std_verifier = Verifier::builder(Scheme::standard_webhooks()).secret(STD_SECRET).build().unwrap();
    let basic = || BasicAuth::new("hook", "p4ss").unwrap();

    let hooks = Router::new()
        .route("/tale", post(echo))
        .route_layer(VerifyLayer::new(tale(SECRET)))
        .merge(Router::new().route("/std", post(echo)).route_layer(VerifyLayer::new(std_verifier)))
        .merge(Router::new().route("/basic", post(echo)).route_layer(VerifyLayer::basic_only(basic())))
        .merge(
            Router::new()
                .route("/basic-signed", post(echo))
                .route_layer(VerifyLayer::new(tale(SECRET)).basic_auth(basic())),
        );
    // The extractor behind the layer, with the layer's own verifier in the state: it
    // reuses the layer's proof (an identity check).
    let same = tale(SECRET);
    let both = Router::new()
        .route("/both", post(json_event))
        .route_layer(VerifyLayer::new(same.clone()))
        .with_state(AppState { verifier: same, calls: calls.clone() });
    // A layer holding every tenant's secret in front of tenant B's route: a proof the
    // layer made with tenant A's secret is not tenant B's; the extractor verifies again.
    let all_tenants = Verifier::builder(Scheme::tale()).secret(SECRET).secret("tenant b").build().unwrap();
    let tenant_b = Router::new()
        .route("/tenant-b", post(json_event))
        .route_layer(VerifyLayer::new(all_tenants))
        .with_state(AppState { verifier: tale("tenant b"), calls: calls.clone() });
    let extract = Router::new()
        .route("/json", post(json_event))
        .route("/bytes", post(raw_bytes).layer(DefaultBodyLimit::max(64)))
        .merge(both)
        .merge(tenant_b);

    Router::new()
        .route("/health", get(|| async { "ok" }))
        .nest("/hooks", hooks)
        .nest("/extract", extract)
        .with_state(state)
}

async fn serve(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

/// One request through hyper-util's client.
async fn request(addr: SocketAddr, method: Method, path: &str, headers: HeaderMap, body: &[u8]) -> Answer {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut req = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .body(Full::new(Bytes::copy_from_slice(body)))
        .unwrap();
    req.headers_mut().extend(headers);
    let response = timeout(STEP, client.request(req)).await.expect("in time").expect("a response");
    let (parts, body) = response.into_parts();
    let body = timeout(STEP, body.collect()).await.expect("in time").unwrap().to_bytes();
    Answer { status: parts.status, headers: parts.headers, body }
}

fn tale_signed(body: &[u8]) -> HeaderMap {
    Signer::new(Scheme::tale(), SECRET).unwrap().sign(body).unwrap()
}

fn header(name: &'static str, value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(name, value.parse().unwrap());
    h
}

fn basic_header() -> HeaderMap {
    header("authorization", "Basic aG9vazpwNHNz") // hook:p4ss
}

/// A raw HTTP/1.1 response: status, lower-cased header lines, body.
struct Raw {
    status: u16,
    head: String,
    body: Vec<u8>,
}

/// Reads one response with a Content-Length body from `stream`.
async fn read_response(stream: &mut (impl AsyncReadExt + Unpin)) -> Raw {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = timeout(STEP, stream.read(&mut chunk)).await.expect("in time").expect("readable");
        assert!(n > 0, "connection closed before a response: {:?}", String::from_utf8_lossy(&buf));
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).unwrap().to_ascii_lowercase();
    let status = head[9..12].parse().unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .map_or(0, |v| v.trim().parse().unwrap());
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = timeout(STEP, stream.read(&mut chunk)).await.expect("in time").expect("readable");
        assert!(n > 0, "connection closed mid-body");
        body.extend_from_slice(&chunk[..n]);
    }
    Raw { status, head, body }
}

fn raw_post(path: &str, headers: &HeaderMap, extra: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!("POST {path} HTTP/1.1\r\nhost: localhost\r\n{extra}");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

#[tokio::test]
async fn valid_delivery_reaches_the_handler_byte_identical_with_the_verified_extension() {
    let calls = Arc::new(AtomicUsize::new(0));
    let addr = serve(app(&calls)).await;
    let body = b"{\"event\":\"run\", \"note\":\"caf\xc3\xa9 \\u00e9\"}\n\n  ";
    let answer = request(addr, Method::POST, "/hooks/tale", tale_signed(body), body).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(&answer.body[..], &body[..]);
    assert_eq!(answer.headers["x-key-index"], "0", "the Verified extension reached the handler");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn missing_malformed_and_wrong_signatures_never_reach_the_handler() {
    let calls = Arc::new(AtomicUsize::new(0));
    let addr = serve(app(&calls)).await;
    let body = b"{\"event\":\"run\"}";

    let answer = request(addr, Method::POST, "/hooks/tale", HeaderMap::new(), body).await;
    assert_eq!((answer.status, &answer.body[..]), (StatusCode::UNAUTHORIZED, &b"missing signature"[..]));
    assert_eq!(answer.headers["content-type"], "text/plain; charset=utf-8");

    let answer =
        request(addr, Method::POST, "/hooks/tale", header("x-tale-signature", "sha256=nothex"), body).await;
    assert_eq!((answer.status, &answer.body[..]), (StatusCode::BAD_REQUEST, &b"malformed signature"[..]));

    let answer =
        request(addr, Method::POST, "/hooks/tale", tale_signed(b"{\"event\":\"other\"}"), body).await;
    assert_eq!((answer.status, &answer.body[..]), (StatusCode::UNAUTHORIZED, &b"signature mismatch"[..]));

    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn stale_timestamp_is_401() {
    let calls = Arc::new(AtomicUsize::new(0));
    let addr = serve(app(&calls)).await;
    let signer = Signer::new(Scheme::standard_webhooks(), STD_SECRET).unwrap();
    let old = SystemTime::now() - Duration::from_secs(600);
    let answer =
        request(addr, Method::POST, "/hooks/std", signer.sign_at(b"{}", None, old).unwrap(), b"{}").await;
    assert_eq!(
        (answer.status, &answer.body[..]),
        (StatusCode::UNAUTHORIZED, &b"timestamp out of tolerance"[..])
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    let answer = request(addr, Method::POST, "/hooks/std", signer.sign(b"{}").unwrap(), b"{}").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn content_length_over_the_limit_is_413_without_reading_the_body() {
    let calls = Arc::new(AtomicUsize::new(0));
    let addr = serve(app(&calls)).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // Announce 10 MiB and send none of it: an answer can only come if the server does
    // not wait for the body.
    let head = raw_post("/hooks/tale", &tale_signed(b"{}"), "content-length: 10485760\r\n", b"");
    stream.write_all(&head).await.unwrap();
    let raw = read_response(&mut stream).await;
    assert_eq!(raw.status, 413);
    assert_eq!(raw.body, b"payload too large");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

/// Sends a chunked body of `total` bytes in 4 KiB chunks while reading the answer.
async fn chunked_post(addr: SocketAddr, path: &str, headers: &HeaderMap, total: usize) -> Raw {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let head = raw_post(path, headers, "transfer-encoding: chunked\r\n", b"");
    let writer = tokio::spawn(async move {
        write.write_all(&head).await?;
        let chunk = [b'x'; 4096];
        let mut sent = 0;
        while sent < total {
            write.write_all(b"1000\r\n").await?;
            write.write_all(&chunk).await?;
            write.write_all(b"\r\n").await?;
            sent += chunk.len();
        }
        write.write_all(b"0\r\n\r\n").await?;
        Ok::<usize, std::io::Error>(sent)
    });
    let raw = read_response(&mut read).await;
    writer.abort();
    raw
}

#[tokio::test]
async fn chunked_body_over_the_limit_is_413_and_the_handler_never_runs() {
    let calls = Arc::new(AtomicUsize::new(0));
    let addr = serve(app(&calls)).await;
    // 4 MiB signed as if it were the real body; the limit is 16 KiB.
    let raw = chunked_post(addr, "/hooks/tale", &tale_signed(b"whatever"), 4 * 1024 * 1024).await;
    assert_eq!(raw.status, 413);
    assert_eq!(raw.body, b"payload too large");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // The server is still healthy.
    let answer = request(addr, Method::GET, "/health", HeaderMap::new(), b"").await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn get_is_405_with_allow() {
    let calls = Arc::new(AtomicUsize::new(0));
    let addr = serve(app(&calls)).await;
    let answer = request(addr, Method::GET, "/hooks/tale", tale_signed(b""), b"").await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.headers["allow"], "POST");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn basic_auth_alone_and_with_a_signature() {
    let calls = Arc::new(AtomicUsize::new(0));
    let addr = serve(app(&calls)).await;

    // Alone.
    let answer = request(addr, Method::POST, "/hooks/basic", HeaderMap::new(), b"{}").await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.headers["www-authenticate"], "Basic realm=\"webhooks\"");
    let answer =
        request(addr, Method::POST, "/hooks/basic", header("authorization", "Basic aG9vazp4"), b"{}").await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer.headers.contains_key("www-authenticate"));
    let answer = request(addr, Method::POST, "/hooks/basic", basic_header(), b"{}").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers["x-key-index"], "none");
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // With a signature: both are required.
    let answer = request(addr, Method::POST, "/hooks/basic-signed", tale_signed(b"{}"), b"{}").await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer.headers.contains_key("www-authenticate"));
    let answer = request(addr, Method::POST, "/hooks/basic-signed", basic_header(), b"{}").await;
    assert_eq!((answer.status, &answer.body[..]), (StatusCode::UNAUTHORIZED, &b"missing signature"[..]));
    assert!(!answer.headers.contains_key("www-authenticate"));
    let mut both = tale_signed(b"{}");
    both.extend(basic_header());
    let answer = request(addr, Method::POST, "/hooks/basic-signed", both, b"{}").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers["x-key-index"], "0");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn keep_alive_connection_still_serves_a_valid_request_after_a_rejection() {
    let calls = Arc::new(AtomicUsize::new(0));
    let addr = serve(app(&calls)).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let body = b"{\"event\":\"run\"}";
    let len = format!("content-length: {}\r\n", body.len());

    // A mismatch (the body was read), then an unsigned request (the body was not
    // read by the layer), each followed by a valid delivery on the same connection.
    for rejected in [tale_signed(b"tampered"), HeaderMap::new()] {
        stream.write_all(&raw_post("/hooks/tale", &rejected, &len, body)).await.unwrap();
        let raw = read_response(&mut stream).await;
        assert_eq!(raw.status, 401);
        assert!(!raw.head.contains("connection: close"), "{}", raw.head);

        stream.write_all(&raw_post("/hooks/tale", &tale_signed(body), &len, body)).await.unwrap();
        let raw = read_response(&mut stream).await;
        assert_eq!(raw.status, 200);
        assert_eq!(raw.body, body);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn route_layer_on_the_webhook_sub_router_keeps_other_routes_intact() {
    let calls = Arc::new(AtomicUsize::new(0));
    let addr = serve(app(&calls)).await;
    assert_eq!(request(addr, Method::GET, "/health", HeaderMap::new(), b"").await.status, StatusCode::OK);
    assert_eq!(
        request(addr, Method::POST, "/nope", HeaderMap::new(), b"").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        request(addr, Method::GET, "/nope", HeaderMap::new(), b"").await.status,
        StatusCode::NOT_FOUND
    );
    let answer = request(addr, Method::POST, "/hooks/unknown", HeaderMap::new(), b"").await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_outer_request_body_limit_layer_still_maps_to_413() {
    let calls = Arc::new(AtomicUsize::new(0));
    let state = AppState { verifier: tale(SECRET), calls: calls.clone() };
    let router = Router::new()
        .route("/hooks/tale", post(echo))
        .route_layer(VerifyLayer::new(tale(SECRET)))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(1024))
        .with_state(state);
    let addr = serve(router).await;

    // Chunked, 8 KiB: under the layer's 16 KiB, over the outer 1 KiB.
    let raw = chunked_post(addr, "/hooks/tale", &tale_signed(b"whatever"), 8 * 1024).await;
    assert_eq!(raw.status, 413);
    assert_eq!(raw.body, b"payload too large", "answered by the verifying layer");
    // With Content-Length, the outer layer answers itself.
    let big = vec![b'x'; 2048];
    let answer = request(addr, Method::POST, "/hooks/tale", tale_signed(&big), &big).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // Within both limits.
    let answer = request(addr, Method::POST, "/hooks/tale", tale_signed(b"{}"), b"{}").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn extractor_verifies_then_runs_the_inner_extractor() {
    let calls = Arc::new(AtomicUsize::new(0));
    let addr = serve(app(&calls)).await;
    let mut headers = tale_signed(br#"{"action":"opened"}"#);
    headers.insert("content-type", "application/json".parse().unwrap());
    let answer = request(addr, Method::POST, "/extract/json", headers, br#"{"action":"opened"}"#).await;
    assert_eq!((answer.status, &answer.body[..]), (StatusCode::OK, &b"opened by key 0"[..]));

    // Tampered: refused by the verification, before JSON parsing.
    let mut headers = tale_signed(br#"{"action":"opened"}"#);
    headers.insert("content-type", "application/json".parse().unwrap());
    let answer = request(addr, Method::POST, "/extract/json", headers, br#"{"action":"closed"}"#).await;
    assert_eq!((answer.status, &answer.body[..]), (StatusCode::UNAUTHORIZED, &b"signature mismatch"[..]));

    // Unsigned.
    let answer =
        request(addr, Method::POST, "/extract/json", header("content-type", "application/json"), b"{}").await;
    assert_eq!((answer.status, &answer.body[..]), (StatusCode::UNAUTHORIZED, &b"missing signature"[..]));

    // Signed but not the expected JSON: the inner extractor's rejection (422).
    let mut headers = tale_signed(br#"{"other":1}"#);
    headers.insert("content-type", "application/json".parse().unwrap());
    let answer = request(addr, Method::POST, "/extract/json", headers, br#"{"other":1}"#).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Content-Length over the verifier's limit.
    let big = vec![b' '; LIMIT + 1];
    let answer = request(addr, Method::POST, "/extract/json", tale_signed(&big), &big).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn extractor_respects_default_body_limit() {
    let calls = Arc::new(AtomicUsize::new(0));
    let addr = serve(app(&calls)).await;
    let small = [b'a'; 64];
    let answer = request(addr, Method::POST, "/extract/bytes", tale_signed(&small), &small).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(&answer.body[..], &small[..]);

    // 65 bytes: within the verifier's 16 KiB, over the route's DefaultBodyLimit of 64.
    let body = [b'a'; 65];
    let answer = request(addr, Method::POST, "/extract/bytes", tale_signed(&body), &body).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    let raw = chunked_post(addr, "/extract/bytes", &tale_signed(b"x"), 8 * 1024).await;
    assert_eq!(raw.status, 413);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn extractor_behind_the_layer_uses_the_layers_proof() {
    let calls = Arc::new(AtomicUsize::new(0));
    let addr = serve(app(&calls)).await;
    let body = br#"{"action":"merged"}"#;
    let mut headers = tale_signed(body);
    headers.insert("content-type", "application/json".parse().unwrap());
    let answer = request(addr, Method::POST, "/extract/both", headers, body).await;
    assert_eq!((answer.status, &answer.body[..]), (StatusCode::OK, &b"merged by key 0"[..]));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// Regression: the extractor took any proof found in the request, so a layer holding
/// several tenants' secrets let one tenant post to another's route.
#[tokio::test]
async fn extractor_behind_a_multi_tenant_layer_trusts_only_its_own_verifier() {
    let calls = Arc::new(AtomicUsize::new(0));
    let addr = serve(app(&calls)).await;
    let body = br#"{"action":"transfer"}"#;
    let with_type = |mut headers: http::HeaderMap| {
        headers.insert("content-type", "application/json".parse().unwrap());
        headers
    };
    // Signed by tenant A: passes the layer (it holds both secrets), refused by B's route.
    let answer = request(addr, Method::POST, "/extract/tenant-b", with_type(tale_signed(body)), body).await;
    assert_eq!((answer.status, &answer.body[..]), (StatusCode::UNAUTHORIZED, &b"signature mismatch"[..]));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // Signed by tenant B: accepted, with B's own proof (key 0 of B's verifier).
    let headers = with_type(Signer::new(Scheme::tale(), "tenant b").unwrap().sign(body).unwrap());
    let answer = request(addr, Method::POST, "/extract/tenant-b", headers, body).await;
    assert_eq!((answer.status, &answer.body[..]), (StatusCode::OK, &b"transfer by key 0"[..]));
}
