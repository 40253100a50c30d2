//! Replay protection in real axum servers on loopback: the layer's `.replay_guard`
//! and the `VerifiedOnce` extractor, with the memory guard in one process and (with
//! feature `redis`) two replicas sharing one real `redis-server`.
//!
//! The invariant pinned everywhere: nothing is acknowledged (2xx) that was not
//! processed, and every valid delivery is processed at least once across retries.
//! The handler counts attempts and completed processing; every answer is classified
//! and checked against those counts.
#![cfg(feature = "axum")]

#[cfg(feature = "redis")]
use crate::support::redis as redis_server;

use crate::replicas::{
    Behaviour, Outcome, SECRET, STEP, Sender, assert_acknowledged_only_what_was_processed, layer_replica,
    layered, serve, take,
};

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRef, State};
use axum::routing::post;
use hooksig::axum::VerifiedOnce;
use hooksig::replay::{
    BoxFuture, ClaimOutcome, ClaimToken, FailMode, MemoryReplayGuard, ReplayGuard, ReplayKey,
    ReplayProtection, ReplayState, ReplayStoreError,
};
use hooksig::tower::VerifyLayer;
use hooksig::{Scheme, Signer, Verifier};
use http::{Request, StatusCode};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::time::timeout;

// --- the extractor's handler and replicas (the layer's are in `replicas`) ------------

#[derive(Clone)]
struct OnceState {
    verifier: Verifier,
    replay: ReplayProtection,
    app: Behaviour,
}

impl FromRef<OnceState> for Verifier {
    fn from_ref(state: &OnceState) -> Verifier {
        state.verifier.clone()
    }
}

impl FromRef<OnceState> for ReplayProtection {
    fn from_ref(state: &OnceState) -> ReplayProtection {
        state.replay.clone()
    }
}

/// With the `VerifiedOnce` extractor: completes after processing, unless told to
/// forget.
async fn extracted(
    State(state): State<OnceState>,
    mut delivery: VerifiedOnce<Bytes>,
) -> (StatusCode, &'static str) {
    let app = &state.app;
    if let Err(status) = app.process(delivery.state()).await {
        return (status, "failed"); // not completed: released on drop
    }
    if take(&app.forget_next) {
        return (StatusCode::OK, "processed"); // a bug: released on drop, processed again later
    }
    match delivery.complete().await {
        Ok(()) => (StatusCode::OK, "processed"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "failed"),
    }
}

/// A replica using the `VerifiedOnce` extractor, without (or behind) a layer.
async fn extractor_replica(
    app: &Behaviour,
    replay: ReplayProtection,
    layer: Option<VerifyLayer>,
) -> SocketAddr {
    // Behind a layer, the state holds the layer's own verifier (a clone), whose proof
    // the extractor then trusts.
    let verifier = match &layer {
        Some(layer) => layer.receiver().verifier().unwrap().clone(),
        None => Verifier::new(Scheme::tale(), SECRET).unwrap(),
    };
    let state = OnceState { verifier, replay, app: app.clone() };
    let mut router = Router::new().route("/hook", post(extracted));
    if let Some(layer) = layer {
        router = router.route_layer(layer);
    }
    serve(router.with_state(state)).await
}

/// The same delivery sent to both replicas at once, then again later: processed once.
async fn scenario_same_delivery_to_both_at_once_and_later(app: &Behaviour, replicas: [SocketAddr; 2]) {
    let sender = Sender::new();
    let body = r#"{"scenario":"both-at-once"}"#;
    let (a, b) = tokio::join!(sender.send(replicas[0], body), sender.send(replicas[1], body));
    let mut outcomes = vec![a, b];
    assert_eq!(outcomes.iter().filter(|o| **o == Outcome::Processed).count(), 1, "{outcomes:?}");
    assert!(
        outcomes.iter().all(|o| matches!(o, Outcome::Processed | Outcome::InProgress | Outcome::Duplicate))
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    for replica in replicas {
        let later = sender.send(replica, body).await;
        assert_eq!(later, Outcome::Duplicate);
        outcomes.push(later);
    }
    assert_eq!(app.attempts(), 1, "the handler ran exactly once in total");
    assert_eq!(app.processed(), 1);
    assert_acknowledged_only_what_was_processed(&outcomes, app);
}

/// 100 concurrent copies spread over both replicas: exactly one processed.
async fn scenario_hundred_concurrent_copies(app: &Behaviour, replicas: [SocketAddr; 2]) {
    let sender = Arc::new(Sender::new());
    let body = r#"{"scenario":"hundred"}"#;
    let barrier = Arc::new(tokio::sync::Barrier::new(100));
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let (sender, barrier, addr) = (sender.clone(), barrier.clone(), replicas[i % 2]);
            tokio::spawn(async move {
                barrier.wait().await;
                sender.send(addr, body).await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(timeout(STEP, task).await.expect("in time").unwrap());
    }
    let count = |wanted: Outcome| outcomes.iter().filter(|o| **o == wanted).count();
    assert_eq!(count(Outcome::Processed), 1, "{outcomes:?}");
    assert_eq!(count(Outcome::Processed) + count(Outcome::InProgress) + count(Outcome::Duplicate), 100);
    assert_eq!(app.attempts(), 1);
    assert_acknowledged_only_what_was_processed(&outcomes, app);
    eprintln!(
        "100 copies: 1 processed, {} in progress (409), {} duplicates (200)",
        count(Outcome::InProgress),
        count(Outcome::Duplicate)
    );
}

/// The first attempt fails (500): the sender's retry is processed, on either replica,
/// and acknowledged; a further copy is a duplicate.
async fn scenario_failed_attempt_is_retried(app: &Behaviour, replicas: [SocketAddr; 2]) {
    let sender = Sender::new();
    let body = r#"{"scenario":"fails-first"}"#;
    app.fail_next.store(1, Ordering::SeqCst);
    let mut outcomes = vec![sender.send(replicas[0], body).await];
    assert_eq!(outcomes[0], Outcome::Failed(500));
    assert_eq!(app.processed(), 0);
    let retry = sender.send(replicas[1], body).await;
    assert_eq!(retry, Outcome::Processed, "the retry on the other replica is processed");
    outcomes.push(retry);
    for replica in replicas {
        let copy = sender.send(replica, body).await;
        assert_eq!(copy, Outcome::Duplicate);
        outcomes.push(copy);
    }
    assert_eq!((app.attempts(), app.processed()), (2, 1));
    assert_acknowledged_only_what_was_processed(&outcomes, app);
}

/// The first attempt panics: the claim is released, the retry is processed.
async fn scenario_panicking_attempt_is_retried(app: &Behaviour, replicas: [SocketAddr; 2]) {
    let sender = Sender::new();
    let body = r#"{"scenario":"panics-first"}"#;
    app.panic_next.store(1, Ordering::SeqCst);
    let first = sender.send(replicas[0], body).await;
    assert_eq!(first, Outcome::NoResponse);
    // The release may run in the background (Redis): retry as the sender would.
    let mut outcomes = vec![first];
    outcomes.extend(sender.until_acknowledged(&replicas, body).await);
    assert_eq!(outcomes.last(), Some(&Outcome::Processed), "{outcomes:?}");
    assert_eq!(sender.send(replicas[1], body).await, Outcome::Duplicate);
    assert_eq!(app.processed(), 1);
    assert_acknowledged_only_what_was_processed(&outcomes, app);
}

/// A copy arriving while the first is being processed gets 409; once the first is
/// done, copies get 200-duplicate.
async fn scenario_copy_during_processing_is_in_progress(app: &Behaviour, replicas: [SocketAddr; 2]) {
    let sender = Arc::new(Sender::new());
    let body = r#"{"scenario":"held"}"#;
    app.hold_next.store(1, Ordering::SeqCst);
    let first = {
        let sender = sender.clone();
        tokio::spawn(async move { sender.send(replicas[0], body).await })
    };
    timeout(STEP, app.holding.notified()).await.expect("the first copy reaches the handler");
    assert_eq!(sender.send(replicas[1], body).await, Outcome::InProgress);
    assert_eq!(sender.send(replicas[0], body).await, Outcome::InProgress);
    app.resume.notify_one();
    assert_eq!(timeout(STEP, first).await.expect("in time").unwrap(), Outcome::Processed);
    assert_eq!(sender.send(replicas[1], body).await, Outcome::Duplicate);
    assert_eq!((app.attempts(), app.processed()), (1, 1));
}

// --- the memory guard, one process ----------------------------------------------------

/// Two servers in one process sharing one memory guard.
async fn memory_replicas(app: &Behaviour) -> [SocketAddr; 2] {
    let replay = ReplayProtection::new(MemoryReplayGuard::new(10_000));
    [layer_replica(app, replay.clone()).await, layer_replica(app, replay).await]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_same_delivery_to_both_at_once_and_later_is_processed_once() {
    let app = Behaviour::with_work(Duration::from_millis(100));
    scenario_same_delivery_to_both_at_once_and_later(&app, memory_replicas(&app).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_of_100_concurrent_copies_exactly_one_is_processed() {
    let app = Behaviour::with_work(Duration::from_millis(50));
    scenario_hundred_concurrent_copies(&app, memory_replicas(&app).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_failed_first_attempt_is_retried_and_acknowledged() {
    let app = Behaviour::default();
    scenario_failed_attempt_is_retried(&app, memory_replicas(&app).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_handler_panic_releases_the_claim_and_the_retry_is_processed() {
    let app = Behaviour::default();
    scenario_panicking_attempt_is_retried(&app, memory_replicas(&app).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_copy_during_processing_gets_409_and_the_handler_sees_first() {
    let app = Behaviour::default();
    scenario_copy_during_processing_is_in_progress(&app, memory_replicas(&app).await).await;
    assert_eq!(*app.states.lock().unwrap(), [ReplayState::First]);
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

#[tokio::test]
async fn store_down_fails_closed_with_503_through_the_rejection_hook_or_open_unguarded() {
    let app = Behaviour::default();
    let rejected = Arc::new(Mutex::new(Vec::new()));
    let seen = rejected.clone();
    let layer = VerifyLayer::new(Verifier::new(Scheme::tale(), SECRET).unwrap())
        .on_rejection(move |refusal, response| {
            seen.lock().unwrap().push(refusal.to_string());
            response
        })
        .replay_guard(DownGuard);
    let closed =
        serve(Router::new().route("/hook", post(layered)).route_layer(layer).with_state(app.clone())).await;
    let open = layer_replica(&app, ReplayProtection::new(DownGuard).with_fail_mode(FailMode::Open)).await;

    let sender = Sender::new();
    assert_eq!(sender.send(closed, "{}").await, Outcome::Unavailable);
    assert_eq!(app.attempts(), 0, "fail closed: the handler is not called");
    assert_eq!(rejected.lock().unwrap().len(), 1);
    assert!(rejected.lock().unwrap()[0].contains("down"), "{:?}", rejected.lock().unwrap());

    assert_eq!(sender.send(open, "{}").await, Outcome::Processed);
    assert_eq!(*app.states.lock().unwrap(), [ReplayState::Unguarded]);
}

// --- the VerifiedOnce extractor (memory guard) ----------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verified_once_processes_once_answers_duplicates_and_409_while_in_progress() {
    let app = Behaviour::default();
    let replay = ReplayProtection::new(MemoryReplayGuard::new(10_000));
    let replicas = [
        extractor_replica(&app, replay.clone(), None).await,
        extractor_replica(&app, replay.clone(), None).await,
    ];
    scenario_copy_during_processing_is_in_progress(&app, replicas).await;

    let app = Behaviour::with_work(Duration::from_millis(50));
    let replicas =
        [extractor_replica(&app, replay.clone(), None).await, extractor_replica(&app, replay, None).await];
    scenario_hundred_concurrent_copies(&app, replicas).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verified_once_releases_on_failure_panic_and_forgotten_completion() {
    let app = Behaviour::default();
    let replay = ReplayProtection::new(MemoryReplayGuard::new(10_000));
    let replicas = [
        extractor_replica(&app, replay.clone(), None).await,
        extractor_replica(&app, replay.clone(), None).await,
    ];
    scenario_failed_attempt_is_retried(&app, replicas).await;

    let app = Behaviour::default();
    let replicas =
        [extractor_replica(&app, replay.clone(), None).await, extractor_replica(&app, replay, None).await];
    scenario_panicking_attempt_is_retried(&app, replicas).await;

    // A handler that answers 2xx but forgets to complete: the claim is released on
    // drop, so the next copy is processed again (never a lost delivery; a duplicate
    // processing is the price of the bug). Once completed, copies are duplicates.
    let sender = Sender::new();
    let body = r#"{"scenario":"forgets"}"#;
    let before = app.processed();
    app.forget_next.store(1, Ordering::SeqCst);
    assert_eq!(sender.send(replicas[0], body).await, Outcome::Processed);
    assert_eq!(sender.send(replicas[1], body).await, Outcome::Processed, "released, so processed again");
    assert_eq!(sender.send(replicas[0], body).await, Outcome::Duplicate);
    assert_eq!(app.processed() - before, 2);
}

#[tokio::test]
async fn verified_once_behind_a_guarded_layer_does_not_claim_twice() {
    let app = Behaviour::default();
    let replay = ReplayProtection::new(MemoryReplayGuard::new(1_000));
    let layer = VerifyLayer::new(Verifier::new(Scheme::tale(), SECRET).unwrap()).replay_guard(replay.clone());
    // The extractor's own protection uses another store: it must not be consulted.
    let unused = ReplayProtection::new(DownGuard);
    let addr = extractor_replica(&app, unused, Some(layer)).await;
    let sender = Sender::new();
    assert_eq!(sender.send(addr, "{}").await, Outcome::Processed);
    assert_eq!(sender.send(addr, "{}").await, Outcome::Duplicate);
    assert_eq!((app.attempts(), app.processed()), (1, 1));
    assert_eq!(*app.states.lock().unwrap(), [ReplayState::First]);
}

// --- two replicas sharing one real redis-server ---------------------------------------

#[cfg(feature = "redis")]
mod redis_replicas {
    use super::*;
    use redis_server::RedisServer;
    use std::time::Instant;

    /// Two servers, each with its own verifier and its own Redis connection.
    async fn replicas(server: &RedisServer, app: &Behaviour) -> [SocketAddr; 2] {
        let a = ReplayProtection::new(server.guard().await);
        let b = ReplayProtection::new(server.guard().await);
        [layer_replica(app, a).await, layer_replica(app, b).await]
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn redis_same_delivery_to_both_replicas_at_once_and_later_is_processed_once() {
        let server =
            redis_or_skip!("redis_same_delivery_to_both_replicas_at_once_and_later_is_processed_once");
        let app = Behaviour::with_work(Duration::from_millis(100));
        scenario_same_delivery_to_both_at_once_and_later(&app, replicas(&server, &app).await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn redis_of_100_concurrent_copies_over_two_replicas_exactly_one_is_processed() {
        let server =
            redis_or_skip!("redis_of_100_concurrent_copies_over_two_replicas_exactly_one_is_processed");
        let app = Behaviour::with_work(Duration::from_millis(50));
        scenario_hundred_concurrent_copies(&app, replicas(&server, &app).await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn redis_failed_or_panicking_attempt_is_retried_on_the_other_replica() {
        let server = redis_or_skip!("redis_failed_or_panicking_attempt_is_retried_on_the_other_replica");
        let app = Behaviour::default();
        scenario_failed_attempt_is_retried(&app, replicas(&server, &app).await).await;
        let app = Behaviour::default();
        scenario_panicking_attempt_is_retried(&app, replicas(&server, &app).await).await;
        let app = Behaviour::default();
        scenario_copy_during_processing_is_in_progress(&app, replicas(&server, &app).await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn redis_stopped_fails_closed_with_503_and_deliveries_flow_after_restart() {
        let mut server =
            redis_or_skip!("redis_stopped_fails_closed_with_503_and_deliveries_flow_after_restart");
        let app = Behaviour::default();
        let replicas = replicas(&server, &app).await;
        let sender = Sender::new();
        let mut outcomes = vec![sender.send(replicas[0], r#"{"n":1}"#).await];
        assert_eq!(outcomes, [Outcome::Processed]);

        server.stop();
        let body = r#"{"n":2}"#;
        for replica in replicas {
            let started = Instant::now();
            let outcome = sender.send(replica, body).await;
            assert_eq!(outcome, Outcome::Unavailable);
            assert!(started.elapsed() < Duration::from_secs(5), "bounded: {:?}", started.elapsed());
            outcomes.push(outcome);
        }
        assert_eq!(app.attempts(), 1, "fail closed: no handler call while Redis is down");

        server.run();
        outcomes.extend(sender.until_acknowledged(&replicas, body).await);
        assert_eq!(outcomes.last(), Some(&Outcome::Processed), "{outcomes:?}");
        assert_eq!(sender.send(replicas[1], body).await, Outcome::Duplicate);
        assert_eq!(app.processed(), 2);
        assert_acknowledged_only_what_was_processed(&outcomes, &app);
        eprintln!("after the restart: {outcomes:?}");
    }
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
/// handler again. Layer and extractor replicas, new-then-old and old-then-new secrets,
/// one shared protection.
async fn rotation_scenario(replay: ReplayProtection) {
    let app = Behaviour::default();
    let new_old = Verifier::builder(Scheme::stripe()).secret(NEW).secret(OLD).build().unwrap();
    let old_new = Verifier::builder(Scheme::stripe()).secret(OLD).secret(NEW).build().unwrap();
    let layer = |verifier: &Verifier| {
        let router = Router::new()
            .route("/hook", post(layered))
            .route_layer(VerifyLayer::new(verifier.clone()).replay_guard(replay.clone()))
            .with_state(app.clone());
        serve(router)
    };
    let extractor = |verifier: &Verifier| {
        let state = OnceState { verifier: verifier.clone(), replay: replay.clone(), app: app.clone() };
        serve(Router::new().route("/hook", post(extracted)).with_state(state))
    };
    let replicas =
        [layer(&new_old).await, layer(&old_new).await, extractor(&new_old).await, extractor(&old_new).await];
    let sender = Sender::new();
    let body = r#"{"id":"evt_rotation","type":"invoice.paid"}"#;
    let (both, stripped) = rotated_delivery(body);
    assert_eq!(sender.send_signed(replicas[0], body, both.clone()).await, Outcome::Processed);
    for addr in replicas {
        assert_eq!(sender.send_signed(addr, body, stripped.clone()).await, Outcome::Duplicate, "stripped");
        assert_eq!(sender.send_signed(addr, body, both.clone()).await, Outcome::Duplicate, "both");
    }
    assert_eq!((app.attempts(), app.processed()), (1, 1), "processed once");
}

#[tokio::test]
async fn rotation_stripped_or_reordered_signatures_are_duplicates_with_memory() {
    rotation_scenario(ReplayProtection::new(MemoryReplayGuard::new(1_000))).await;
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn rotation_stripped_or_reordered_signatures_are_duplicates_with_redis() {
    let server = redis_or_skip!("rotation_stripped_or_reordered_signatures_are_duplicates_with_redis");
    rotation_scenario(ReplayProtection::new(server.guard().await)).await;
}

/// The answers the layer gives itself carry `Retry-After` where the sender should come
/// back: 409 (in progress) and 503 (store down).
#[tokio::test]
async fn in_progress_and_store_down_answers_carry_retry_after() {
    let app = Behaviour::default();
    app.hold_next.store(1, Ordering::SeqCst);
    let addr = layer_replica(&app, ReplayProtection::new(MemoryReplayGuard::new(100))).await;
    let down = layer_replica(&app, ReplayProtection::new(DownGuard)).await;
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let body = "{\"retry\":\"after\"}";
    let request = |addr: SocketAddr| {
        let mut request = Request::post(format!("http://{addr}/hook"))
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .unwrap();
        request
            .headers_mut()
            .extend(Signer::new(Scheme::tale(), SECRET).unwrap().sign(body.as_bytes()).unwrap());
        request
    };
    let first = tokio::spawn(client.request(request(addr)));
    timeout(STEP, app.holding.notified()).await.expect("the first delivery is being processed");
    let copy = timeout(STEP, client.request(request(addr))).await.unwrap().unwrap();
    assert_eq!(copy.status(), StatusCode::CONFLICT);
    assert_eq!(copy.headers()["retry-after"], "30");
    app.resume.notify_one();
    assert_eq!(timeout(STEP, first).await.unwrap().unwrap().unwrap().status(), StatusCode::OK);
    let unavailable = timeout(STEP, client.request(request(down))).await.unwrap().unwrap();
    assert_eq!(unavailable.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(unavailable.headers()["retry-after"], "30");
}

/// Regression (capacity): a memory guard full of claims in progress evicted one, so a
/// copy of that delivery ran concurrently. Through the layer: capacity 1, a delivery
/// held in progress; a copy gets 409 (not forgotten), another delivery 503 with
/// `Retry-After` (refused, nothing evicted); once the first is done, the other goes
/// through.
#[tokio::test]
async fn a_full_memory_guard_keeps_its_claims_and_answers_503() {
    let app = Behaviour::default();
    app.hold_next.store(1, Ordering::SeqCst);
    let addr = layer_replica(&app, ReplayProtection::new(MemoryReplayGuard::new(1))).await;
    let sender = Sender::new();
    let first = r#"{"capacity":1}"#;
    let other = r#"{"capacity":2}"#;
    let held = tokio::spawn(async move { Sender::new().send(addr, first).await });
    timeout(STEP, app.holding.notified()).await.expect("the first delivery is being processed");
    assert_eq!(sender.send(addr, first).await, Outcome::InProgress, "the claim in progress is kept");
    assert_eq!(sender.send(addr, other).await, Outcome::Unavailable, "refused, not evicting a claim");
    app.resume.notify_one();
    assert_eq!(timeout(STEP, held).await.unwrap().unwrap(), Outcome::Processed);
    // Capacity 1, full of a done key: the done key gives way to the new claim.
    assert_eq!(sender.send(addr, other).await, Outcome::Processed);
    assert_eq!((app.attempts(), app.processed()), (2, 2));
}

/// Stripe signs each retry with a fresh timestamp: without an idempotency key the
/// retry is a new signed message and runs again (documented); with the event id as the
/// key it is a duplicate.
#[tokio::test]
async fn stripe_retries_are_duplicates_with_an_idempotency_key() {
    use hooksig::replay::ReplayPolicy;
    let app = Behaviour::default();
    let secret = "whsec_stripe_test";
    let verifier = Verifier::new(Scheme::stripe(), secret).unwrap();
    let replica = |policy: ReplayPolicy| {
        let protection = ReplayProtection::new(MemoryReplayGuard::new(100)).with_policy(policy);
        let router = Router::new()
            .route("/hook", post(layered))
            .route_layer(VerifyLayer::new(verifier.clone()).replay_guard(protection))
            .with_state(app.clone());
        serve(router)
    };
    let by_event_id = ReplayPolicy::new()
        .idempotency_key(&Scheme::stripe(), |body| {
            let event: serde_json::Value = serde_json::from_slice(body).ok()?;
            Some(event.get("id")?.as_str()?.to_owned())
        })
        .unwrap();
    let plain = replica(ReplayPolicy::new()).await;
    let keyed = replica(by_event_id).await;
    let sender = Sender::new();
    let body = r#"{"id":"evt_retry","type":"invoice.paid"}"#;
    let now = std::time::SystemTime::now();
    let attempt =
        |at| Signer::new(Scheme::stripe(), secret).unwrap().sign_at(body.as_bytes(), None, at).unwrap();
    let (first, retry) = (attempt(now - Duration::from_secs(60)), attempt(now));
    assert_eq!(sender.send_signed(plain, body, first.clone()).await, Outcome::Processed);
    assert_eq!(sender.send_signed(plain, body, retry.clone()).await, Outcome::Processed, "re-signed: new");
    assert_eq!(sender.send_signed(keyed, body, first).await, Outcome::Processed);
    assert_eq!(sender.send_signed(keyed, body, retry).await, Outcome::Duplicate, "same event id");
    assert_eq!(app.processed(), 3);
}

/// The lease is not renewed: a copy arriving after the lease of a delivery still being
/// processed is claimed and processed concurrently; of the two completions only the
/// current claim's records the delivery as done, and later copies are duplicates.
#[tokio::test]
async fn past_the_lease_a_copy_is_processed_concurrently_as_documented() {
    use hooksig::replay::ReplayPolicy;
    let app = Behaviour::default();
    app.hold_next.store(1, Ordering::SeqCst);
    let short = ReplayPolicy::new().lease(Duration::from_millis(200));
    let addr =
        layer_replica(&app, ReplayProtection::new(MemoryReplayGuard::new(100)).with_policy(short)).await;
    let body = r#"{"lease":"short"}"#;
    let held = tokio::spawn(async move { Sender::new().send(addr, body).await });
    timeout(STEP, app.holding.notified()).await.expect("the first delivery is being processed");
    let sender = Sender::new();
    assert_eq!(sender.send(addr, body).await, Outcome::InProgress, "within the lease");
    tokio::time::sleep(Duration::from_millis(400)).await; // past the lease
    assert_eq!(sender.send(addr, body).await, Outcome::Processed, "the lease lapsed: processed again");
    app.resume.notify_one();
    assert_eq!(timeout(STEP, held).await.unwrap().unwrap(), Outcome::Processed);
    assert_eq!(sender.send(addr, body).await, Outcome::Duplicate);
    assert_eq!(app.processed(), 2);
}
