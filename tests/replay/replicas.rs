//! The harness shared by the replay tests that run replicas over HTTP (axum servers
//! behind the tower layer, on loopback): what the handler does and counts, the
//! servers, a client that classifies every answer, and the invariant checked from the
//! outside. Used by `replay_axum` and by the Redis Cluster tests.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::routing::post;
use hooksig::replay::{ReplayProtection, ReplayState};
use hooksig::tower::VerifyLayer;
use hooksig::{Scheme, Signer, Verifier};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::time::timeout;

pub(crate) const SECRET: &str = "It's a Secret to Everybody";
/// Upper bound for any one network step.
pub(crate) const STEP: Duration = Duration::from_secs(10);
/// Upper bound for a retry loop.
pub(crate) const RETRIES: Duration = Duration::from_secs(20);

// --- what the handler does, and what it did -----------------------------------------

/// Shared by every replica of a test: the handler's instructions and its counts.
#[derive(Clone, Default)]
pub(crate) struct Behaviour {
    /// Handler calls.
    pub(crate) attempts: Arc<AtomicUsize>,
    /// Deliveries processed to the end (answered 2xx, or completed).
    pub(crate) processed: Arc<AtomicUsize>,
    /// The next n calls fail with 500.
    pub(crate) fail_next: Arc<AtomicUsize>,
    /// The next n calls panic.
    pub(crate) panic_next: Arc<AtomicUsize>,
    /// The next n calls wait for `resume` before processing.
    pub(crate) hold_next: Arc<AtomicUsize>,
    /// Signalled once a held call is waiting.
    pub(crate) holding: Arc<Notify>,
    pub(crate) resume: Arc<Notify>,
    /// The next n `VerifiedOnce` calls answer 2xx without completing.
    #[cfg_attr(
        not(feature = "axum"),
        allow(dead_code, reason = "read by the `VerifiedOnce` handler of replay_axum")
    )]
    pub(crate) forget_next: Arc<AtomicUsize>,
    /// How long processing takes (widens the race windows).
    pub(crate) work: Duration,
    /// The replay states the handler saw.
    pub(crate) states: Arc<Mutex<Vec<ReplayState>>>,
}

pub(crate) fn take(n: &AtomicUsize) -> bool {
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
}

impl Behaviour {
    pub(crate) fn with_work(work: Duration) -> Behaviour {
        Behaviour { work, ..Behaviour::default() }
    }

    /// The handler's work. `Err` means "not processed": answer 500.
    pub(crate) async fn process(&self, state: ReplayState) -> Result<(), StatusCode> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        self.states.lock().unwrap().push(state);
        if take(&self.panic_next) {
            panic!("intentional panic in the handler (test)");
        }
        if take(&self.fail_next) {
            return Err(StatusCode::INTERNAL_SERVER_ERROR);
        }
        if take(&self.hold_next) {
            self.holding.notify_one();
            self.resume.notified().await;
        }
        tokio::time::sleep(self.work).await;
        self.processed.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    pub(crate) fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }

    pub(crate) fn processed(&self) -> usize {
        self.processed.load(Ordering::SeqCst)
    }
}

/// Behind the layer with a replay guard: the state is in the extensions.
pub(crate) async fn layered(
    State(app): State<Behaviour>,
    Extension(state): Extension<ReplayState>,
    _body: Bytes,
) -> (StatusCode, &'static str) {
    match app.process(state).await {
        Ok(()) => (StatusCode::OK, "processed"),
        Err(status) => (status, "failed"),
    }
}

// --- servers and a client -----------------------------------------------------------

pub(crate) async fn serve(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// A replica with its own verifier (same secret) and the given protection.
pub(crate) async fn layer_replica(app: &Behaviour, replay: ReplayProtection) -> SocketAddr {
    let verifier = Verifier::new(Scheme::tale(), SECRET).unwrap();
    let router = Router::new()
        .route("/hook", post(layered))
        .route_layer(VerifyLayer::new(verifier).replay_guard(replay))
        .with_state(app.clone());
    serve(router).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// 2xx from the handler.
    Processed,
    /// 200 `duplicate delivery`, without the handler.
    Duplicate,
    /// 409 `delivery in progress`.
    InProgress,
    /// 503 from the replay store.
    Unavailable,
    /// Another status (the handler failed).
    Failed(u16),
    /// No response (the handler panicked and the connection was dropped).
    NoResponse,
}

impl Outcome {
    pub(crate) fn acknowledged(self) -> bool {
        matches!(self, Outcome::Processed | Outcome::Duplicate)
    }
}

pub(crate) struct Sender {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Sender {
    pub(crate) fn new() -> Sender {
        Sender { client: Client::builder(TokioExecutor::new()).build_http() }
    }

    /// Sends one signed delivery of `body` and classifies the answer.
    pub(crate) async fn send(&self, addr: SocketAddr, body: &str) -> Outcome {
        let headers = Signer::new(Scheme::tale(), SECRET).unwrap().sign(body.as_bytes()).unwrap();
        self.send_signed(addr, body, headers).await
    }

    pub(crate) async fn send_signed(
        &self,
        addr: SocketAddr,
        body: &str,
        headers: http::HeaderMap,
    ) -> Outcome {
        let mut request = Request::post(format!("http://{addr}/hook"))
            .body(Full::new(Bytes::copy_from_slice(body.as_bytes())))
            .unwrap();
        request.headers_mut().extend(headers);
        let response = match timeout(STEP, self.client.request(request)).await.expect("an answer in time") {
            Ok(response) => response,
            Err(_) => return Outcome::NoResponse,
        };
        let status = response.status();
        let text = timeout(STEP, response.into_body().collect()).await.expect("a body in time");
        let text = text.map(|b| b.to_bytes()).unwrap_or_default();
        match (status.as_u16(), &text[..]) {
            (200, b"duplicate delivery") => Outcome::Duplicate,
            (409, b"delivery in progress") => Outcome::InProgress,
            (503, b"temporarily unavailable") => Outcome::Unavailable,
            (s, b"processed") if status.is_success() => {
                assert_eq!(s, 200);
                Outcome::Processed
            }
            (s, body) => {
                assert!(!status.is_success(), "an unexpected acknowledgement: {s} {body:?}");
                Outcome::Failed(s)
            }
        }
    }

    /// Sends copies to the replicas in turn, as a sender retrying every non-2xx
    /// answer, until one is acknowledged.
    pub(crate) async fn until_acknowledged(&self, replicas: &[SocketAddr], body: &str) -> Vec<Outcome> {
        let deadline = Instant::now() + RETRIES;
        let mut outcomes = Vec::new();
        for replica in replicas.iter().cycle() {
            let outcome = self.send(*replica, body).await;
            outcomes.push(outcome);
            if outcome.acknowledged() {
                return outcomes;
            }
            assert!(Instant::now() < deadline, "never acknowledged: {outcomes:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        unreachable!()
    }
}

/// The invariant, from the outside: as many 2xx-processed answers as the handler
/// processed, and no duplicate acknowledged before the delivery was processed.
pub(crate) fn assert_acknowledged_only_what_was_processed(outcomes: &[Outcome], app: &Behaviour) {
    let processed_answers = outcomes.iter().filter(|o| **o == Outcome::Processed).count();
    assert_eq!(processed_answers, app.processed(), "answers {outcomes:?}");
    if outcomes.contains(&Outcome::Duplicate) {
        assert!(app.processed() >= 1, "a duplicate of nothing processed: {outcomes:?}");
    }
}

// --- scenarios, for any pair of replicas sharing one store -------------------------
