//! Replay protection in real actix-web servers on loopback: the middleware's
//! `.replay_guard` and the `VerifiedOnce` extractor with the memory guard, and (with
//! feature `redis`) two replicas sharing one real `redis-server`.
//!
//! The invariant pinned everywhere: nothing is acknowledged (2xx) that was not
//! processed, and every valid delivery is processed at least once across retries.
#![cfg(feature = "actix")]

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, HttpServer, web};
use hooksig::actix::{VerifiedOnce, VerifySignature};
use hooksig::replay::{
    BoxFuture, ClaimOutcome, ClaimToken, FailMode, MemoryReplayGuard, ReplayGuard, ReplayKey,
    ReplayProtection, ReplayState, ReplayStoreError,
};
use hooksig::{Scheme, Signer, Verifier};
use hyper::body::Body as _;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::Notify;
use tokio::time::timeout;

const SECRET: &str = "It's a Secret to Everybody";
/// Upper bound for any one network step.
const STEP: Duration = Duration::from_secs(10);

// --- what the handler does, and what it did -----------------------------------------

#[derive(Clone, Default)]
struct Behaviour {
    attempts: Arc<AtomicUsize>,
    processed: Arc<AtomicUsize>,
    fail_next: Arc<AtomicUsize>,
    hold_next: Arc<AtomicUsize>,
    holding: Arc<Notify>,
    resume: Arc<Notify>,
    forget_next: Arc<AtomicUsize>,
    work: Duration,
    states: Arc<Mutex<Vec<ReplayState>>>,
}

fn take(n: &AtomicUsize) -> bool {
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
}

impl Behaviour {
    async fn process(&self, state: ReplayState) -> bool {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        self.states.lock().unwrap().push(state);
        if take(&self.fail_next) {
            return false;
        }
        if take(&self.hold_next) {
            self.holding.notify_one();
            self.resume.notified().await;
        }
        tokio::time::sleep(self.work).await;
        self.processed.fetch_add(1, Ordering::SeqCst);
        true
    }

    fn counts(&self) -> (usize, usize) {
        (self.attempts.load(Ordering::SeqCst), self.processed.load(Ordering::SeqCst))
    }
}

/// Behind the middleware with a replay guard: the state is in the extensions.
async fn layered(app: web::Data<Behaviour>, req: HttpRequest, _body: web::Bytes) -> HttpResponse {
    let state = req.extensions().get::<ReplayState>().copied().expect("the middleware's replay state");
    if app.process(state).await {
        HttpResponse::Ok().body("processed")
    } else {
        HttpResponse::InternalServerError().body("failed")
    }
}

/// With the `VerifiedOnce` extractor: completes after processing, unless told to
/// forget.
async fn extracted(app: web::Data<Behaviour>, mut delivery: VerifiedOnce<web::Bytes>) -> HttpResponse {
    if !app.process(delivery.state()).await {
        return HttpResponse::InternalServerError().body("failed"); // released on drop
    }
    if take(&app.forget_next) {
        return HttpResponse::Ok().body("processed"); // a bug: released on drop
    }
    match delivery.complete().await {
        Ok(()) => HttpResponse::Ok().body("processed"),
        Err(_) => HttpResponse::ServiceUnavailable().body("failed"),
    }
}

#[derive(Clone)]
enum Mode {
    /// The middleware with this protection.
    Middleware(ReplayProtection),
    /// The extractor, with this protection in `app_data` (or none).
    Extractor(Option<ReplayProtection>),
}

/// A server with two workers, its own verifier, and the hook at `/hook`.
fn start(app: &Behaviour, mode: Mode) -> (ServerHandle, SocketAddr) {
    start_with(app, mode, Verifier::new(Scheme::tale(), SECRET).unwrap())
}

/// As [`start`], with a given verifier.
fn start_with(app: &Behaviour, mode: Mode, verifier: Verifier) -> (ServerHandle, SocketAddr) {
    let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    let app = web::Data::new(app.clone());
    let server = HttpServer::new(move || {
        let base = App::new().app_data(app.clone()).app_data(verifier.clone());
        match &mode {
            Mode::Middleware(replay) => base.service(
                web::resource("/hook")
                    .wrap(VerifySignature::new(verifier.clone()).replay_guard(replay.clone()))
                    .route(web::post().to(layered)),
            ),
            Mode::Extractor(replay) => {
                let base = match replay {
                    Some(replay) => base.app_data(replay.clone()),
                    None => base,
                };
                base.service(web::resource("/hook").route(web::post().to(extracted)))
            }
        }
    })
    .workers(2)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (handle, addr)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Processed,
    Duplicate,
    InProgress,
    Unavailable,
    Failed(u16),
}

struct Sender {
    client: Client<HttpConnector, String>,
}

impl Sender {
    fn new() -> Sender {
        Sender { client: Client::builder(TokioExecutor::new()).build_http() }
    }

    async fn send(&self, addr: SocketAddr, body: &str) -> Outcome {
        let headers = Signer::new(Scheme::tale(), SECRET).unwrap().sign(body.as_bytes()).unwrap();
        self.send_signed(addr, body, headers).await
    }

    async fn send_signed(&self, addr: SocketAddr, body: &str, headers: http::HeaderMap) -> Outcome {
        let mut request = http::Request::post(format!("http://{addr}/hook")).body(body.to_owned()).unwrap();
        request.headers_mut().extend(headers);
        let response =
            timeout(STEP, self.client.request(request)).await.expect("in time").expect("a response");
        let status = response.status();
        let text = timeout(STEP, collect(response.into_body())).await.expect("in time");
        match (status.as_u16(), &text[..]) {
            (200, b"duplicate delivery") => Outcome::Duplicate,
            (200, b"processed") => Outcome::Processed,
            (409, b"delivery in progress") => Outcome::InProgress,
            (503, b"temporarily unavailable") => Outcome::Unavailable,
            (s, body) => {
                assert!(!status.is_success(), "an unexpected acknowledgement: {s} {body:?}");
                Outcome::Failed(s)
            }
        }
    }
}

/// The whole response body (hyper's `Incoming`, without `http-body-util`).
async fn collect(mut body: hyper::body::Incoming) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await {
        if let Ok(data) = frame.expect("a body frame").into_data() {
            out.extend_from_slice(&data);
        }
    }
    out
}

fn assert_acknowledged_only_what_was_processed(outcomes: &[Outcome], app: &Behaviour) {
    let processed = outcomes.iter().filter(|o| **o == Outcome::Processed).count();
    assert_eq!(processed, app.counts().1, "answers {outcomes:?}");
    if outcomes.contains(&Outcome::Duplicate) {
        assert!(app.counts().1 >= 1, "a duplicate of nothing processed: {outcomes:?}");
    }
}

// --- scenarios on one or two servers sharing a store --------------------------------

/// First → processed; a copy → 200 duplicate without the handler; a failing first
/// attempt → the retry (on the other server) is processed; a copy during processing
/// → 409.
async fn scenarios(app: &Behaviour, servers: [SocketAddr; 2]) {
    let sender = Arc::new(Sender::new());
    let mut outcomes = Vec::new();

    outcomes.push(sender.send(servers[0], r#"{"n":1}"#).await);
    outcomes.push(sender.send(servers[1], r#"{"n":1}"#).await);
    outcomes.push(sender.send(servers[0], r#"{"n":1}"#).await);
    assert_eq!(outcomes, [Outcome::Processed, Outcome::Duplicate, Outcome::Duplicate]);
    assert_eq!(app.counts(), (1, 1), "duplicates never reach the handler");

    app.fail_next.store(1, Ordering::SeqCst);
    let failing = [
        sender.send(servers[0], r#"{"n":2}"#).await,
        sender.send(servers[1], r#"{"n":2}"#).await,
        sender.send(servers[0], r#"{"n":2}"#).await,
    ];
    assert_eq!(failing, [Outcome::Failed(500), Outcome::Processed, Outcome::Duplicate]);
    assert_eq!(app.counts(), (3, 2));
    outcomes.extend(failing);

    app.hold_next.store(1, Ordering::SeqCst);
    let first = {
        let sender = sender.clone();
        let addr = servers[0];
        actix_web::rt::spawn(async move { sender.send(addr, r#"{"n":3}"#).await })
    };
    timeout(STEP, app.holding.notified()).await.expect("the first copy reaches the handler");
    let during = [sender.send(servers[1], r#"{"n":3}"#).await, sender.send(servers[0], r#"{"n":3}"#).await];
    assert_eq!(during, [Outcome::InProgress, Outcome::InProgress]);
    app.resume.notify_one();
    outcomes.push(timeout(STEP, first).await.expect("in time").unwrap());
    outcomes.push(sender.send(servers[1], r#"{"n":3}"#).await);
    assert_eq!(outcomes[outcomes.len() - 2..], [Outcome::Processed, Outcome::Duplicate]);
    assert_eq!(app.counts(), (4, 3));
    outcomes.extend(during);

    assert_acknowledged_only_what_was_processed(&outcomes, app);
}

#[actix_web::test]
async fn middleware_with_memory_guard_processes_once_and_releases_failures() {
    let app = Behaviour::default();
    let replay = ReplayProtection::new(MemoryReplayGuard::new(10_000));
    let (h1, a) = start(&app, Mode::Middleware(replay.clone()));
    let (h2, b) = start(&app, Mode::Middleware(replay));
    scenarios(&app, [a, b]).await;
    assert!(app.states.lock().unwrap().iter().all(|s| *s == ReplayState::First));
    h1.stop(true).await;
    h2.stop(true).await;
}

#[actix_web::test]
async fn verified_once_with_memory_guard_processes_once_and_releases_failures() {
    let app = Behaviour::default();
    let replay = ReplayProtection::new(MemoryReplayGuard::new(10_000));
    let (h1, a) = start(&app, Mode::Extractor(Some(replay.clone())));
    let (h2, b) = start(&app, Mode::Extractor(Some(replay)));
    scenarios(&app, [a, b]).await;

    // Forgetting to complete: released on drop, so the next copy is processed again.
    let sender = Sender::new();
    app.forget_next.store(1, Ordering::SeqCst);
    let outcomes = [
        sender.send(a, r#"{"n":4}"#).await,
        sender.send(b, r#"{"n":4}"#).await,
        sender.send(a, r#"{"n":4}"#).await,
    ];
    assert_eq!(outcomes, [Outcome::Processed, Outcome::Processed, Outcome::Duplicate]);
    assert_eq!(app.counts(), (6, 5));
    h1.stop(true).await;
    h2.stop(true).await;
}

#[actix_web::test]
async fn verified_once_without_replay_protection_in_app_data_is_a_500() {
    let app = Behaviour::default();
    let (handle, addr) = start(&app, Mode::Extractor(None));
    assert_eq!(Sender::new().send(addr, "{}").await, Outcome::Failed(500));
    assert_eq!(app.counts(), (0, 0));
    handle.stop(true).await;
}

/// A store that is always down.
struct DownGuard;

impl ReplayGuard for DownGuard {
    fn claim<'a>(&'a self, _: &'a ReplayKey) -> BoxFuture<'a, Result<ClaimOutcome, ReplayStoreError>> {
        Box::pin(async { Err(ReplayStoreError::new("down", "unreachable")) })
    }
    fn complete<'a>(
        &'a self,
        _: &'a ReplayKey,
        _: &'a ClaimToken,
    ) -> BoxFuture<'a, Result<bool, ReplayStoreError>> {
        Box::pin(async { Err(ReplayStoreError::new("down", "unreachable")) })
    }
    fn release<'a>(
        &'a self,
        _: &'a ReplayKey,
        _: &'a ClaimToken,
    ) -> BoxFuture<'a, Result<bool, ReplayStoreError>> {
        Box::pin(async { Err(ReplayStoreError::new("down", "unreachable")) })
    }
    fn release_detached(&self, _: ReplayKey, _: ClaimToken) {}
}

#[actix_web::test]
async fn store_down_fails_closed_with_503_or_open_unguarded() {
    let app = Behaviour::default();
    let (h1, closed) = start(&app, Mode::Middleware(ReplayProtection::new(DownGuard)));
    let open = ReplayProtection::new(DownGuard).with_fail_mode(FailMode::Open);
    let (h2, open) = start(&app, Mode::Middleware(open));
    let sender = Sender::new();
    assert_eq!(sender.send(closed, "{}").await, Outcome::Unavailable);
    assert_eq!(app.counts(), (0, 0), "fail closed: the handler is not called");
    assert_eq!(sender.send(open, "{}").await, Outcome::Processed);
    assert_eq!(*app.states.lock().unwrap(), [ReplayState::Unguarded]);
    h1.stop(true).await;
    h2.stop(true).await;
}

#[cfg(feature = "redis")]
#[actix_web::test]
async fn two_actix_replicas_sharing_redis_process_once() {
    let server = redis_or_skip!("two_actix_replicas_sharing_redis_process_once");
    let app = Behaviour { work: Duration::from_millis(100), ..Behaviour::default() };
    let (h1, a) = start(&app, Mode::Middleware(ReplayProtection::new(server.guard().await)));
    let (h2, b) = start(&app, Mode::Middleware(ReplayProtection::new(server.guard().await)));

    // The same delivery to both at once: one processes, the other waits or is told
    // it is a duplicate.
    let sender = Sender::new();
    let body = r#"{"both":"at once"}"#;
    let started = std::time::Instant::now();
    let (x, y) = tokio::join!(sender.send(a, body), sender.send(b, body));
    let mut at_once = [x, y];
    at_once.sort_by_key(|o| *o != Outcome::Processed);
    assert_eq!(at_once[0], Outcome::Processed, "{at_once:?}");
    assert!(matches!(at_once[1], Outcome::InProgress | Outcome::Duplicate), "{at_once:?}");
    assert!(started.elapsed() < STEP);
    assert_eq!(sender.send(b, body).await, Outcome::Duplicate);
    assert_eq!(app.counts(), (1, 1));
    h1.stop(true).await;
    h2.stop(true).await;

    // The rest of the scenarios on a fresh pair of replicas (same Redis).
    let app = Behaviour::default();
    let (h1, a) = start(&app, Mode::Middleware(ReplayProtection::new(server.guard().await)));
    let (h2, b) = start(&app, Mode::Middleware(ReplayProtection::new(server.guard().await)));
    scenarios(&app, [a, b]).await;
    h1.stop(true).await;
    h2.stop(true).await;
}

// --- key rotation: stripped or reordered signatures are the same delivery --------------

const NEW: &str = "whsec_new_secret";
const OLD: &str = "whsec_old_secret";

/// Stripe during a rotation: `t=T,v1=<new>,v1=<old>`, and the same delivery with only
/// the old signature (an attacker stripping one, or a sender that dropped it).
fn rotated_delivery(body: &str) -> (http::HeaderMap, http::HeaderMap) {
    let signer = Signer::builder(Scheme::stripe()).secret(NEW).secret(OLD).build().unwrap();
    let both = signer.sign(body.as_bytes()).unwrap();
    let value = both["stripe-signature"].to_str().unwrap().to_owned();
    let parts: Vec<&str> = value.split(',').collect();
    assert_eq!(parts.len(), 3, "{value}");
    let mut stripped = http::HeaderMap::new();
    stripped.insert("stripe-signature", format!("{},{}", parts[0], parts[2]).parse().unwrap());
    (both, stripped)
}

/// Regression: the replay key was derived from the matched signature, so stripping one
/// of two signatures (or a replica with its secrets in the other order) ran the
/// handler again. Middleware and extractor replicas, new-then-old and old-then-new
/// secrets, one shared protection.
async fn rotation_scenario(replay: ReplayProtection) {
    let app = Behaviour::default();
    let new_old = Verifier::builder(Scheme::stripe()).secret(NEW).secret(OLD).build().unwrap();
    let old_new = Verifier::builder(Scheme::stripe()).secret(OLD).secret(NEW).build().unwrap();
    let replicas = [
        start_with(&app, Mode::Middleware(replay.clone()), new_old.clone()),
        start_with(&app, Mode::Middleware(replay.clone()), old_new.clone()),
        start_with(&app, Mode::Extractor(Some(replay.clone())), new_old),
        start_with(&app, Mode::Extractor(Some(replay)), old_new),
    ];
    let sender = Sender::new();
    let body = r#"{"id":"evt_rotation","type":"invoice.paid"}"#;
    let (both, stripped) = rotated_delivery(body);
    assert_eq!(sender.send_signed(replicas[0].1, body, both.clone()).await, Outcome::Processed);
    for (_, addr) in &replicas {
        assert_eq!(sender.send_signed(*addr, body, stripped.clone()).await, Outcome::Duplicate, "stripped");
        assert_eq!(sender.send_signed(*addr, body, both.clone()).await, Outcome::Duplicate, "both");
    }
    assert_eq!(app.counts(), (1, 1), "processed once");
    for (handle, _) in replicas {
        handle.stop(true).await;
    }
}

#[actix_web::test]
async fn rotation_stripped_or_reordered_signatures_are_duplicates_with_memory() {
    rotation_scenario(ReplayProtection::new(MemoryReplayGuard::new(1_000))).await;
}

#[cfg(feature = "redis")]
#[actix_web::test]
async fn rotation_stripped_or_reordered_signatures_are_duplicates_with_redis() {
    let server = redis_or_skip!("rotation_stripped_or_reordered_signatures_are_duplicates_with_redis");
    rotation_scenario(ReplayProtection::new(server.guard().await)).await;
}
