//! Replay protection with Redis, against a real `redis-server` that each test starts
//! on a free loopback port (no persistence, in a temporary directory) and stops.
//!
//! Without `redis-server` on the `PATH` the tests print a skip line and pass, unless
//! `HOOKSIG_REQUIRE_REDIS=1`, under which they fail.

#![cfg(feature = "redis")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hooksig::replay::{
    ClaimOutcome, ClaimToken, FailMode, RedisReplayGuard, ReplayGuard, ReplayKey, ReplayProtection,
    ReplayState,
};
use hooksig::{Error, Refusal, Scheme, Signer, Verified, Verifier};
use http::StatusCode;

/// The protocol as the integrations run it: check (with the exact body), call the
/// handler with the pass held, finish the pass with whether it succeeded.
async fn run<R, Fut>(
    replay: &ReplayProtection,
    (verified, body): &(Verified, Vec<u8>),
    handler: impl FnOnce(ReplayState) -> Fut,
    succeeded: impl FnOnce(&R) -> bool,
) -> Result<R, Refusal>
where
    Fut: std::future::Future<Output = R>,
{
    let pass = replay.check(verified, body).await?;
    let output = handler(pass.state()).await;
    pass.finish(succeeded(&output)).await;
    Ok(output)
}

fn key(name: &str, ttl_ms: u64, lease_ms: u64) -> ReplayKey {
    ReplayKey::new(
        format!("hooksig-test:{name}"),
        Duration::from_millis(ttl_ms),
        Duration::from_millis(lease_ms),
    )
}

async fn claimed(guard: &dyn ReplayGuard, key: &ReplayKey) -> ClaimToken {
    match guard.claim(key).await.unwrap() {
        ClaimOutcome::Claimed(token) => token,
        other => panic!("expected a claim, got {other:?}"),
    }
}

// --- semantics ----------------------------------------------------------------------

#[tokio::test]
async fn claim_complete_release_semantics() {
    let server = redis_or_skip!("claim_complete_release_semantics");
    let guard = server.guard().await;

    let k = key("a", 60_000, 60_000);
    let token = claimed(&guard, &k).await;
    assert_eq!(guard.claim(&k).await.unwrap(), ClaimOutcome::InProgress);
    assert!(guard.complete(&k, &token).await.unwrap());
    assert_eq!(guard.claim(&k).await.unwrap(), ClaimOutcome::Done);
    assert!(guard.complete(&k, &token).await.unwrap(), "completing twice is harmless");
    assert!(!guard.release(&k, &token).await.unwrap(), "a done key is not released");
    assert_eq!(guard.claim(&k).await.unwrap(), ClaimOutcome::Done);

    let r = key("r", 60_000, 60_000);
    let token = claimed(&guard, &r).await;
    assert!(guard.release(&r, &token).await.unwrap());
    assert!(guard.claim(&r).await.unwrap().is_claimed(), "released: the retry is claimed");

    // What Redis holds: the claim expires with the lease, the done key with the TTL.
    let mut raw = server.raw().await;
    let lease = key("lease", 3_600_000, 30_000);
    let token = claimed(&guard, &lease).await;
    let value: String = redis::cmd("GET").arg(lease.as_str()).query_async(&mut raw).await.unwrap();
    assert_eq!(value, token.to_string());
    let pttl: i64 = redis::cmd("PTTL").arg(lease.as_str()).query_async(&mut raw).await.unwrap();
    assert!((25_000..=30_000).contains(&pttl), "lease pttl {pttl}");
    guard.complete(&lease, &token).await.unwrap();
    let value: String = redis::cmd("GET").arg(lease.as_str()).query_async(&mut raw).await.unwrap();
    assert_eq!(value, "done");
    let pttl: i64 = redis::cmd("PTTL").arg(lease.as_str()).query_async(&mut raw).await.unwrap();
    assert!((3_500_000..=3_600_000).contains(&pttl), "done pttl {pttl}");
}

#[tokio::test]
async fn release_never_deletes_another_claim() {
    let server = redis_or_skip!("release_never_deletes_another_claim");
    let guard = server.guard().await;

    let k = key("a", 60_000, 60_000);
    let _mine = claimed(&guard, &k).await;
    assert!(!guard.release(&k, &ClaimToken::from_bytes([0xee; 16])).await.unwrap());
    assert_eq!(guard.claim(&k).await.unwrap(), ClaimOutcome::InProgress);

    // A stale claimer (its lease ran out and a retry claimed the key) can neither
    // release nor complete over the live claim.
    let short = key("short", 60_000, 100);
    let stale = claimed(&guard, &short).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fresh = claimed(&guard, &short).await;
    assert!(!guard.release(&short, &stale).await.unwrap());
    assert!(!guard.complete(&short, &stale).await.unwrap());
    assert_eq!(guard.claim(&short).await.unwrap(), ClaimOutcome::InProgress);
    assert!(guard.complete(&short, &fresh).await.unwrap());
    assert_eq!(guard.claim(&short).await.unwrap(), ClaimOutcome::Done);
}

#[tokio::test]
async fn lease_expiry_lets_a_retry_through() {
    let server = redis_or_skip!("lease_expiry_lets_a_retry_through");
    let guard = server.guard().await;
    let k = key("crashed", 60_000, 100);
    let _crashed_worker = claimed(&guard, &k).await;
    assert_eq!(guard.claim(&k).await.unwrap(), ClaimOutcome::InProgress);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(guard.claim(&k).await.unwrap().is_claimed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn of_100_concurrent_claims_across_two_replicas_exactly_one_wins() {
    let server = redis_or_skip!("of_100_concurrent_claims_across_two_replicas_exactly_one_wins");
    let replicas: [Arc<dyn ReplayGuard>; 2] =
        [Arc::new(server.guard().await), Arc::new(server.guard().await)];
    for round in 0..10 {
        let barrier = Arc::new(tokio::sync::Barrier::new(100));
        let k = key(&format!("hot-{round}"), 60_000, 60_000);
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let (guard, barrier, k) = (replicas[i % 2].clone(), barrier.clone(), k.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    guard.claim(&k).await.unwrap()
                })
            })
            .collect();
        let mut wins = 0;
        for task in tasks {
            match task.await.unwrap() {
                ClaimOutcome::Claimed(_) => wins += 1,
                ClaimOutcome::InProgress => {}
                ClaimOutcome::Done => panic!("nothing completed"),
            }
        }
        assert_eq!(wins, 1, "round {round}");
    }
}

#[tokio::test]
async fn two_replicas_see_each_others_claims() {
    let server = redis_or_skip!("two_replicas_see_each_others_claims");
    let (a, b) = (server.guard().await, server.guard().await);

    let k = key("shared", 60_000, 60_000);
    let token = claimed(&a, &k).await;
    assert_eq!(b.claim(&k).await.unwrap(), ClaimOutcome::InProgress);
    assert!(a.complete(&k, &token).await.unwrap());
    assert_eq!(b.claim(&k).await.unwrap(), ClaimOutcome::Done);

    // A failure on one replica: released there, the retry is processed on the other.
    let k = key("failing", 60_000, 60_000);
    let token = claimed(&a, &k).await;
    assert!(a.release(&k, &token).await.unwrap());
    let token = claimed(&b, &k).await;
    assert!(b.complete(&k, &token).await.unwrap());
    assert_eq!(a.claim(&k).await.unwrap(), ClaimOutcome::Done);
}

/// Two replicas with their own verifiers, sharing one Redis: the delivery is
/// processed once; a failed first attempt is retried on the other replica.
#[tokio::test]
async fn a_delivery_is_processed_once_across_replicas() {
    let server = redis_or_skip!("a_delivery_is_processed_once_across_replicas");
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let calls = Arc::new(AtomicUsize::new(0));
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let verifier = Verifier::new(Scheme::svix(), secret).unwrap();
        let replay = ReplayProtection::new(server.guard().await);
        replicas.push((verifier, replay));
    }
    let headers = Signer::new(Scheme::svix(), secret).unwrap().sign(b"{}").unwrap();
    let deliver = |replica: usize, status: StatusCode| {
        let (verifier, replay) = &replicas[replica];
        let calls = calls.clone();
        let delivery = (verifier.verify(&headers, b"{}").unwrap(), b"{}".to_vec());
        async move {
            let handler = |state| async move {
                assert_eq!(state, ReplayState::First);
                calls.fetch_add(1, Ordering::SeqCst);
                status
            };
            match run(replay, &delivery, handler, |s: &StatusCode| s.is_success()).await {
                Ok(status) => status,
                Err(refusal) => refusal.status(),
            }
        }
    };
    assert_eq!(deliver(0, StatusCode::SERVICE_UNAVAILABLE).await, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(deliver(1, StatusCode::OK).await, StatusCode::OK);
    assert_eq!(deliver(0, StatusCode::OK).await, StatusCode::OK);
    assert_eq!(deliver(1, StatusCode::OK).await, StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 2, "the failed attempt and its retry, nothing else");
}

#[tokio::test]
async fn a_dropped_claim_is_released_in_the_background() {
    let server = redis_or_skip!("a_dropped_claim_is_released_in_the_background");
    let replay = ReplayProtection::new(server.guard().await);
    let verifier = Verifier::new(Scheme::tale(), "s").unwrap();
    let headers = Signer::new(Scheme::tale(), "s").unwrap().sign(b"x").unwrap();
    let verified = verifier.verify(&headers, b"x").unwrap();
    let pass = replay.check(&verified, b"x").await.unwrap();
    drop(pass);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match replay.check(&verified, b"x").await {
            Ok(_) => break,
            Err(Refusal::InProgress) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await
            }
            other => panic!("not released: {other:?}"),
        }
    }
}

// --- Redis going away ---------------------------------------------------------------

#[tokio::test]
async fn redis_down_fails_closed_or_open_and_recovers_after_restart() {
    let mut server = redis_or_skip!("redis_down_fails_closed_or_open_and_recovers_after_restart");
    let guard = server.guard().await.timeout(Duration::from_millis(800));
    let closed = ReplayProtection::new(guard.clone());
    let open = ReplayProtection::new(guard.clone()).with_fail_mode(FailMode::Open);
    let verifier = Verifier::new(Scheme::tale(), "s").unwrap();
    let signer = Signer::new(Scheme::tale(), "s").unwrap();
    let delivery = |n: u32| {
        let body = format!("{{\"n\":{n}}}");
        (verifier.verify(&signer.sign(body.as_bytes()).unwrap(), body.as_bytes()).unwrap(), body.into_bytes())
    };
    let calls = AtomicUsize::new(0);
    let handler = |_state: ReplayState| async {
        calls.fetch_add(1, Ordering::SeqCst);
        StatusCode::OK
    };

    assert!(run(&closed, &delivery(1), handler, |s| s.is_success()).await.is_ok());
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    server.stop();
    let started = Instant::now();
    let Refusal::Rejected(err) = run(&closed, &delivery(2), handler, |s| s.is_success()).await.unwrap_err()
    else {
        panic!("not a store error")
    };
    assert!(matches!(err, Error::ReplayStoreUnavailable { backend: "redis", .. }), "{err}");
    assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < Duration::from_secs(3), "bounded by the timeout: {:?}", started.elapsed());
    assert_eq!(calls.load(Ordering::SeqCst), 1, "fail closed: the handler is not called");

    let verified = delivery(3);
    let out = run(&open, &verified, |state| async move { state }, |_| true).await.unwrap();
    assert_eq!(out, ReplayState::Unguarded, "fail open: processed unguarded");

    server.run();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut attempts = 0;
    loop {
        attempts += 1;
        match run(&closed, &delivery(4), handler, |s| s.is_success()).await {
            Ok(_) => break,
            Err(Refusal::Rejected(Error::ReplayStoreUnavailable { .. })) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => panic!("after restart: {other:?}"),
        }
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        run(&closed, &delivery(4), handler, |s| s.is_success()).await.unwrap_err(),
        Refusal::Duplicate
    );
    eprintln!("recovered after {attempts} attempt(s)");
}

#[tokio::test]
async fn connect_fails_when_redis_is_unreachable_and_lazy_connect_does_not() {
    let server = redis_or_skip!("connect_fails_when_redis_is_unreachable_and_lazy_connect_does_not");
    let url = server.url();
    drop(server);
    let started = Instant::now();
    assert!(RedisReplayGuard::connect(&url).await.is_err());
    assert!(started.elapsed() < Duration::from_secs(10));
    let lazy = RedisReplayGuard::connect_lazy(&url).unwrap().timeout(Duration::from_millis(500));
    let err = lazy.claim(&key("x", 1_000, 1_000)).await.unwrap_err();
    assert_eq!(err.backend(), "redis");
}
