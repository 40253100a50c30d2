//! Replay protection with the in-memory guard: claim/complete/release semantics,
//! leases, concurrency, the capacity guarantee (never forget below capacity, never
//! evict a claim in progress), memory per key, key derivation and the protocol around
//! a handler.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hooksig::replay::{
    BoxFuture, ClaimOutcome, ClaimToken, FailMode, MemoryReplayGuard, ReplayGuard, ReplayKey, ReplayPolicy,
    ReplayProtection, ReplayState, ReplayStoreError,
};
use hooksig::{Error, Refusal, Scheme, Signer, Verifier};
use http::StatusCode;

use crate::support::counting_alloc;

/// Held by the tests that allocate megabytes, so that the heap measurement of
/// `memory_per_key_is_as_documented` sees no other large test running beside it.
static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn heavy() -> std::sync::MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn key(name: &str, ttl_ms: u64, lease_ms: u64) -> ReplayKey {
    ReplayKey::new(name, Duration::from_millis(ttl_ms), Duration::from_millis(lease_ms))
}

async fn claimed(guard: &dyn ReplayGuard, key: &ReplayKey) -> ClaimToken {
    match guard.claim(key).await.unwrap() {
        ClaimOutcome::Claimed(token) => token,
        other => panic!("expected a claim, got {other:?}"),
    }
}

#[tokio::test]
async fn first_claim_wins_then_in_progress_then_done_after_complete() {
    let guard = MemoryReplayGuard::new(100);
    let k = key("a", 60_000, 60_000);
    let token = claimed(&guard, &k).await;
    assert_eq!(guard.claim(&k).await.unwrap(), ClaimOutcome::InProgress);
    assert!(guard.complete(&k, &token).await.unwrap());
    assert_eq!(guard.claim(&k).await.unwrap(), ClaimOutcome::Done);
    // Completing again is harmless; releasing a done key does nothing.
    assert!(guard.complete(&k, &token).await.unwrap());
    assert!(!guard.release(&k, &token).await.unwrap());
    assert_eq!(guard.claim(&k).await.unwrap(), ClaimOutcome::Done);
}

#[tokio::test]
async fn release_lets_the_retry_through() {
    let guard = MemoryReplayGuard::new(100);
    let k = key("a", 60_000, 60_000);
    let token = claimed(&guard, &k).await;
    assert!(guard.release(&k, &token).await.unwrap());
    let second = claimed(&guard, &k).await;
    assert_ne!(token, second);
}

#[tokio::test]
async fn release_never_deletes_another_claim() {
    let guard = MemoryReplayGuard::new(100);
    let k = key("a", 60_000, 60_000);
    let mine = claimed(&guard, &k).await;
    let forged = ClaimToken::from_bytes([0xee; 16]);
    assert!(!guard.release(&k, &forged).await.unwrap());
    assert_eq!(guard.claim(&k).await.unwrap(), ClaimOutcome::InProgress);
    // A stale claimer (lease expired, key re-claimed) cannot release the new claim.
    let short = key("b", 60_000, 30);
    let stale = claimed(&guard, &short).await;
    tokio::time::sleep(Duration::from_millis(60)).await;
    let fresh = claimed(&guard, &short).await;
    assert!(!guard.release(&short, &stale).await.unwrap());
    assert_eq!(guard.claim(&short).await.unwrap(), ClaimOutcome::InProgress);
    // Nor complete over it: the live claimer decides.
    assert!(!guard.complete(&short, &stale).await.unwrap());
    assert_eq!(guard.claim(&short).await.unwrap(), ClaimOutcome::InProgress);
    assert!(guard.complete(&short, &fresh).await.unwrap());
    assert_eq!(guard.claim(&short).await.unwrap(), ClaimOutcome::Done);
    assert!(guard.release(&k, &mine).await.unwrap());
}

#[tokio::test]
async fn lease_expiry_lets_a_retry_through() {
    let guard = MemoryReplayGuard::new(100);
    let k = key("crashed", 60_000, 50);
    let _crashed_worker = claimed(&guard, &k).await;
    assert_eq!(guard.claim(&k).await.unwrap(), ClaimOutcome::InProgress);
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert!(guard.claim(&k).await.unwrap().is_claimed());
}

#[tokio::test]
async fn completing_a_lapsed_unclaimed_key_still_records_it() {
    let guard = MemoryReplayGuard::new(100);
    let k = key("slow", 60_000, 30);
    let token = claimed(&guard, &k).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(guard.complete(&k, &token).await.unwrap());
    assert_eq!(guard.claim(&k).await.unwrap(), ClaimOutcome::Done);
}

#[tokio::test]
async fn done_keys_are_forgotten_after_their_ttl() {
    let guard = MemoryReplayGuard::new(100);
    let k = key("a", 50, 60_000);
    let token = claimed(&guard, &k).await;
    guard.complete(&k, &token).await.unwrap();
    assert_eq!(guard.claim(&k).await.unwrap(), ClaimOutcome::Done);
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert!(guard.claim(&k).await.unwrap().is_claimed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn of_100_concurrent_claims_exactly_one_wins() {
    for round in 0..20 {
        let guard = Arc::new(MemoryReplayGuard::new(1_000));
        let barrier = Arc::new(tokio::sync::Barrier::new(100));
        let k = key(&format!("hot-{round}"), 60_000, 60_000);
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let (guard, barrier, k) = (guard.clone(), barrier.clone(), k.clone());
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

/// One million distinct keys through a guard of 10 000: half of them completed, a
/// quarter released, a quarter held in progress by a pool of workers (at most a
/// quarter of the capacity at once, each released or completed later). The entry
/// count never exceeds the capacity, no claim is refused, and no claim in progress is
/// lost (its release or completion still finds it).
///
/// About 2 s in a release build (`cargo test --release --test replay_memory`); an
/// unoptimised build runs the hash and B-tree code some ten times slower, so a debug
/// build sends 100 000 keys through a guard of 1 000 (the same hundredfold overload).
#[test]
fn capacity_bound_holds_under_a_million_distinct_keys() {
    const KEYS: u32 = if cfg!(debug_assertions) { 100_000 } else { 1_000_000 };
    const CAPACITY: usize = if cfg!(debug_assertions) { 1_000 } else { 10_000 };
    let _heavy = heavy();
    let guard = MemoryReplayGuard::new(CAPACITY);
    let started = Instant::now();
    let mut name = String::new();
    let mut max_seen = 0;
    let mut workers = std::collections::VecDeque::new();
    for i in 0..KEYS {
        name.clear();
        use std::fmt::Write;
        write!(name, "k{i}").unwrap();
        let k = ReplayKey::new(name.as_str(), Duration::from_secs(3600), Duration::from_secs(60));
        let outcome = futures_ready(guard.claim(&k));
        let ClaimOutcome::Claimed(token) = outcome else { panic!("key {i} was new") };
        match i % 4 {
            0 | 2 => assert!(futures_ready(guard.complete(&k, &token))),
            1 => assert!(futures_ready(guard.release(&k, &token))),
            _ => workers.push_back((k, token)),
        }
        if workers.len() > CAPACITY / 4 {
            let (k, token) = workers.pop_front().unwrap();
            if i % 8 < 4 {
                assert!(futures_ready(guard.release(&k, &token)), "{} was lost", k.as_str());
            } else {
                assert!(futures_ready(guard.complete(&k, &token)), "{} was lost", k.as_str());
            }
        }
        if i % (KEYS / 20) == 0 {
            max_seen = max_seen.max(guard.len());
            assert!(guard.len() <= CAPACITY);
        }
    }
    for (k, _) in &workers {
        assert_eq!(futures_ready(guard.claim(k)), ClaimOutcome::InProgress, "{} was lost", k.as_str());
    }
    assert!(guard.len() <= CAPACITY, "{} entries", guard.len());
    assert!(guard.len() >= CAPACITY * 9 / 10, "the guard should be nearly full, has {}", guard.len());
    eprintln!("{KEYS} claims in {:?}, max entries seen {max_seen}", started.elapsed());
}

/// The memory guard's futures are ready at once: poll them without a runtime.
fn futures_ready<T>(fut: BoxFuture<'_, Result<T, ReplayStoreError>>) -> T {
    let mut fut = fut;
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(result) => result.unwrap(),
        std::task::Poll::Pending => panic!("memory guard futures are ready"),
    }
}

/// Full: an expired entry goes first (here a claim whose lease ran out), then the done
/// key that expires soonest; a claim in progress never.
#[tokio::test]
async fn eviction_takes_expired_entries_first_then_the_soonest_expiring_done_key() {
    for shards in [1, 3] {
        let guard = MemoryReplayGuard::with_shards(3, shards);
        let lapsed = key("lapsed", 60_000, 0); // a lease of zero: expired at once
        let (b, c) = (key("b", 60_000, 60_000), key("c", 60_000, 60_000));
        let b_token = claimed(&guard, &b).await;
        claimed(&guard, &lapsed).await;
        claimed(&guard, &c).await;
        // Full: the expired claim goes, although `b` is older.
        let d = key("d", 60_000, 60_000);
        claimed(&guard, &d).await;
        assert_eq!(guard.len(), 3);
        for k in [&b, &c, &d] {
            assert_eq!(guard.claim(k).await.unwrap(), ClaimOutcome::InProgress);
        }
        // Nothing expired, nothing done: the claim is refused and nothing is lost.
        let e = key("e", 60_000, 60_000);
        assert_full(guard.claim(&e).await);
        for k in [&b, &c, &d] {
            assert_eq!(guard.claim(k).await.unwrap(), ClaimOutcome::InProgress);
        }
        // `b` done: now it goes, the claims in progress stay.
        assert!(guard.complete(&b, &b_token).await.unwrap());
        claimed(&guard, &e).await;
        assert_eq!(guard.len(), 3);
        for k in [&c, &d, &e] {
            assert_eq!(guard.claim(k).await.unwrap(), ClaimOutcome::InProgress);
        }
        assert_full(guard.claim(&b).await); // `b` was forgotten; its replay finds no room
    }
}

#[tokio::test]
async fn an_expired_done_key_goes_before_a_live_one_and_a_live_one_before_a_claim() {
    let guard = MemoryReplayGuard::with_shards(3, 3);
    let (old, expired) = (key("old", 60_000, 60_000), key("expired", 0, 60_000));
    for k in [&old, &expired] {
        let token = claimed(&guard, k).await;
        assert!(guard.complete(k, &token).await.unwrap());
    }
    claimed(&guard, &key("busy", 60_000, 60_000)).await;
    claimed(&guard, &key("new", 60_000, 60_000)).await;
    assert_eq!(guard.claim(&old).await.unwrap(), ClaimOutcome::Done, "the expired key went first");
    claimed(&guard, &key("newer", 60_000, 60_000)).await;
    assert_eq!(guard.len(), 3);
    for name in ["busy", "new", "newer"] {
        assert_eq!(guard.claim(&key(name, 60_000, 60_000)).await.unwrap(), ClaimOutcome::InProgress);
    }
}

fn assert_full(result: Result<ClaimOutcome, ReplayStoreError>) {
    match result {
        Err(err) => {
            assert_eq!(err.backend(), "memory");
            assert_eq!(err.to_string(), "replay store `memory` failed: full of claims in progress");
            let err: Error = err.into();
            assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
        }
        Ok(outcome) => panic!("expected a refusal, got {outcome:?}"),
    }
}

// --- keys ------------------------------------------------------------------------

const AT: u64 = 1_700_000_000;

fn at() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(AT)
}

#[test]
fn keys_use_the_covered_id_and_never_an_uncovered_one() {
    let policy = ReplayPolicy::new();
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    for scheme in [Scheme::standard_webhooks(), Scheme::svix(), Scheme::oktave()] {
        let headers =
            Signer::new(scheme.clone(), secret).unwrap().sign_at(b"{}", Some("evt_42"), at()).unwrap();
        let verified =
            Verifier::new(scheme.clone(), secret).unwrap().verify_at(&headers, b"{}", at()).unwrap();
        let k = policy.key(&verified, b"{}");
        assert_eq!(k.as_str(), format!("hooksig:{}:id:evt_42", scheme.name()));
        assert_eq!(k.ttl(), Duration::from_secs(72 * 3600), "{}", scheme.name());
        assert_eq!(k.lease(), Duration::from_secs(60));
    }

    // GitHub and Shopify send an id the MAC does not cover: changing it changes nothing.
    for scheme in [Scheme::github(), Scheme::shopify()] {
        let id_header = scheme.id_header().unwrap().clone();
        let verifier = Verifier::new(scheme.clone(), "s").unwrap();
        let mut headers =
            Signer::new(scheme.clone(), "s").unwrap().sign_at(b"{}", Some("d-1"), at()).unwrap();
        let first = policy.key(&verifier.verify(&headers, b"{}").unwrap(), b"{}");
        headers.insert(id_header, "attacker-chosen".parse().unwrap());
        let second = policy.key(&verifier.verify(&headers, b"{}").unwrap(), b"{}");
        assert_eq!(first, second);
        assert!(first.as_str().starts_with(&format!("hooksig:{}:msg:", scheme.name())));
        assert!(!first.as_str().contains("d-1"));
        assert_eq!(first.ttl(), Duration::from_secs(72 * 3600));
    }
}

#[test]
fn message_keys_hash_the_signed_message_not_the_tag() {
    let policy = ReplayPolicy::new().prefix("app:");
    let verifier = Verifier::new(Scheme::tale(), "s").unwrap();
    let signer = Signer::new(Scheme::tale(), "s").unwrap();
    let headers = signer.sign(b"one").unwrap();
    let k1 = policy.key(&verifier.verify(&headers, b"one").unwrap(), b"one");
    let k2 = policy.key(&verifier.verify(&signer.sign(b"two").unwrap(), b"two").unwrap(), b"two");
    assert_ne!(k1, k2);
    let hex = k1.as_str().strip_prefix("app:tale:msg:").unwrap();
    assert_eq!(hex.len(), 64);
    assert!(hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    // The digest, not the tag that was on the wire.
    let tag = headers.get("x-tale-signature").unwrap().to_str().unwrap().strip_prefix("sha256=").unwrap();
    assert_ne!(hex, tag);
}

#[test]
fn timestamped_signature_keys_live_for_the_window_plus_margin() {
    let policy = ReplayPolicy::new();
    // Slack: 5 min each way + 5 min margin.
    let headers = Signer::new(Scheme::slack(), "s").unwrap().sign_at(b"x", None, at()).unwrap();
    let verifier = Verifier::new(Scheme::slack(), "s").unwrap();
    let verified = verifier.verify_at(&headers, b"x", at()).unwrap();
    assert_eq!(policy.key(&verified, b"x").ttl(), Duration::from_secs(15 * 60));
    assert_eq!(
        policy.clone().margin(Duration::ZERO).key(&verified, b"x").ttl(),
        Duration::from_secs(10 * 60)
    );

    // A verifier with a wider tolerance: the delivery carries it, and the TTL widens.
    let wide =
        Verifier::builder(Scheme::slack()).secret("s").tolerance(Duration::from_secs(3600)).build().unwrap();
    let verified = wide.verify_at(&headers, b"x", at()).unwrap();
    assert_eq!(policy.key(&verified, b"x").ttl(), Duration::from_secs(2 * 3600 + 5 * 60));
    // A narrower one never shortens it below the scheme's default.
    let narrow =
        Verifier::builder(Scheme::slack()).secret("s").tolerance(Duration::from_secs(10)).build().unwrap();
    let verified = narrow.verify_at(&headers, b"x", at()).unwrap();
    assert_eq!(policy.key(&verified, b"x").ttl(), Duration::from_secs(15 * 60));
}

/// Regression (key rotation): the key was derived from the matched tag, so stripping
/// one of two signatures, or reordering the receiver's secrets, gave the same delivery
/// a new key and a second run of the handler.
#[test]
fn keys_are_what_was_signed_whatever_matched() {
    let policy = ReplayPolicy::new();
    let (new, old) = ("whsec_new", "whsec_old");
    let body = br#"{"id":"evt_1"}"#;
    // Stripe during a rotation: `t=T,v1=<new>,v1=<old>`.
    let both = Signer::builder(Scheme::stripe()).secret(new).secret(old).build().unwrap();
    let headers = both.sign_at(body, None, at()).unwrap();
    let value = headers["stripe-signature"].to_str().unwrap().to_owned();
    let parts: Vec<&str> = value.split(',').collect();
    assert_eq!(parts.len(), 3, "{value}");
    let stripped_to_old = format!("{},{}", parts[0], parts[2]);
    let stripped_to_new = format!("{},{}", parts[0], parts[1]);
    let reordered = format!("{},{},{}", parts[0], parts[2], parts[1]);
    let receivers = [
        Verifier::builder(Scheme::stripe()).secret(new).secret(old).build().unwrap(),
        Verifier::builder(Scheme::stripe()).secret(old).secret(new).build().unwrap(),
        Verifier::builder(Scheme::stripe()).secret(old).build().unwrap(),
        Verifier::builder(Scheme::stripe()).secret(new).secret("whsec_next").build().unwrap(),
    ];
    let mut keys = Vec::new();
    for header in [&value, &stripped_to_old, &stripped_to_new, &reordered] {
        let mut h = http::HeaderMap::new();
        h.insert("stripe-signature", header.parse().unwrap());
        for receiver in &receivers {
            if let Ok(verified) = receiver.verify_at(&h, body, at()) {
                keys.push(policy.key(&verified, body));
            }
        }
    }
    assert!(keys.len() >= 10, "{}", keys.len());
    assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");

    // Body-only schemes too: Tale with two signature lines.
    // (Tale's own signer sends one line; a sender in rotation may send one per secret.)
    let mut headers = Signer::new(Scheme::tale(), new).unwrap().sign(body).unwrap();
    let old_line = Signer::new(Scheme::tale(), old).unwrap().sign(body).unwrap()["x-tale-signature"].clone();
    headers.append("x-tale-signature", old_line);
    let lines: Vec<_> = headers.get_all("x-tale-signature").iter().cloned().collect();
    assert_eq!(lines.len(), 2, "{headers:?}");
    let one = Verifier::builder(Scheme::tale()).secret(new).secret(old).build().unwrap();
    let reordered = Verifier::builder(Scheme::tale()).secret(old).secret(new).build().unwrap();
    let mut keys = vec![policy.key(&one.verify(&headers, body).unwrap(), body)];
    for line in &lines {
        let mut single = http::HeaderMap::new();
        single.insert("x-tale-signature", line.clone());
        keys.push(policy.key(&one.verify(&single, body).unwrap(), body));
        keys.push(policy.key(&reordered.verify(&single, body).unwrap(), body));
    }
    assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
}

// --- the protocol around a handler --------------------------------------------------

struct Fixture {
    verifier: Verifier,
    headers: http::HeaderMap,
    calls: Arc<AtomicUsize>,
}

const BODY: &[u8] = b"{\"n\":1}";

fn fixture() -> Fixture {
    let verifier = Verifier::new(Scheme::tale(), "s").unwrap();
    let headers = Signer::new(Scheme::tale(), "s").unwrap().sign(BODY).unwrap();
    Fixture { verifier, headers, calls: Arc::new(AtomicUsize::new(0)) }
}

/// The protocol as the integrations run it: check, call the handler with the pass
/// held, finish the pass with whether it succeeded.
async fn run<R, Fut>(
    replay: &ReplayProtection,
    verified: &hooksig::Verified,
    handler: impl FnOnce(ReplayState) -> Fut,
    succeeded: impl FnOnce(&R) -> bool,
) -> Result<R, Refusal>
where
    Fut: std::future::Future<Output = R>,
{
    let pass = replay.check(verified, BODY).await?;
    let output = handler(pass.state()).await;
    pass.finish(succeeded(&output)).await;
    Ok(output)
}

impl Fixture {
    async fn deliver(&self, replay: &ReplayProtection, status: StatusCode) -> Result<StatusCode, Error> {
        let verified = self.verifier.verify(&self.headers, BODY)?;
        let calls = self.calls.clone();
        let handler = |_state| async move {
            calls.fetch_add(1, Ordering::SeqCst);
            status
        };
        match run(replay, &verified, handler, |s: &StatusCode| s.is_success()).await {
            Ok(status) => Ok(status),
            Err(Refusal::Rejected(error)) => Err(error),
            Err(other) => Ok(other.status()),
        }
    }
}

#[tokio::test]
async fn a_delivery_is_processed_once_and_its_copies_are_acknowledged() {
    let f = fixture();
    let replay = ReplayProtection::new(MemoryReplayGuard::new(100));
    assert_eq!(f.deliver(&replay, StatusCode::NO_CONTENT).await.unwrap(), StatusCode::NO_CONTENT);
    for _ in 0..3 {
        assert_eq!(f.deliver(&replay, StatusCode::NO_CONTENT).await.unwrap(), StatusCode::OK);
    }
    assert_eq!(f.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_failed_delivery_is_released_and_its_retry_processed() {
    let f = fixture();
    let replay = ReplayProtection::new(MemoryReplayGuard::new(100));
    assert_eq!(
        f.deliver(&replay, StatusCode::INTERNAL_SERVER_ERROR).await.unwrap(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(f.deliver(&replay, StatusCode::OK).await.unwrap(), StatusCode::OK);
    assert_eq!(f.deliver(&replay, StatusCode::OK).await.unwrap(), StatusCode::OK);
    assert_eq!(f.calls.load(Ordering::SeqCst), 2, "the failure and the retry; not the duplicate");
}

#[tokio::test]
async fn a_copy_during_processing_gets_409() {
    let f = fixture();
    let replay = ReplayProtection::new(MemoryReplayGuard::new(100));
    let verified = f.verifier.verify(&f.headers, BODY).unwrap();
    let pass = replay.check(&verified, BODY).await.unwrap();
    assert_eq!(f.deliver(&replay, StatusCode::OK).await.unwrap(), StatusCode::CONFLICT);
    assert_eq!(f.calls.load(Ordering::SeqCst), 0);
    assert!(pass.into_claim().unwrap().complete().await.unwrap());
    assert_eq!(f.deliver(&replay, StatusCode::OK).await.unwrap(), StatusCode::OK);
    assert_eq!(f.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_panicking_handler_releases_its_claim() {
    let f = fixture();
    let replay = ReplayProtection::new(MemoryReplayGuard::new(100));
    let verified = f.verifier.verify(&f.headers, BODY).unwrap();
    let (r, v) = (replay.clone(), verified.clone());
    let joined =
        tokio::spawn(async move { run(&r, &v, |_| async { panic!("handler bug") }, |_: &()| true).await })
            .await;
    assert!(joined.unwrap_err().is_panic());
    assert_eq!(replay.check(&verified, BODY).await.unwrap().state(), ReplayState::First);
}

#[tokio::test]
async fn a_cancelled_handler_releases_its_claim() {
    let f = fixture();
    let replay = ReplayProtection::new(MemoryReplayGuard::new(100));
    let verified = f.verifier.verify(&f.headers, BODY).unwrap();
    let slow = run(&replay, &verified, |_| tokio::time::sleep(Duration::from_secs(60)), |_| true);
    assert!(tokio::time::timeout(Duration::from_millis(20), slow).await.is_err());
    assert_eq!(replay.check(&verified, BODY).await.unwrap().state(), ReplayState::First);
}

#[tokio::test]
async fn a_dropped_claim_is_released_and_a_completed_one_is_not() {
    let f = fixture();
    let replay = ReplayProtection::new(MemoryReplayGuard::new(100));
    let verified = f.verifier.verify(&f.headers, BODY).unwrap();
    let pass = replay.check(&verified, BODY).await.unwrap();
    drop(pass);
    let pass = replay.check(&verified, BODY).await.expect("released on drop");
    pass.finish(true).await;
    assert_eq!(replay.check(&verified, BODY).await.unwrap_err(), Refusal::Duplicate);
}

#[tokio::test]
async fn the_handler_is_told_its_case() {
    let f = fixture();
    let replay = ReplayProtection::new(MemoryReplayGuard::new(100));
    let verified = f.verifier.verify(&f.headers, BODY).unwrap();
    let out = run(&replay, &verified, |state| async move { state }, |_| true).await.unwrap();
    assert_eq!(out, ReplayState::First);
}

/// A store that is always down.
struct Down;

impl ReplayGuard for Down {
    fn claim<'a>(&'a self, _: &'a ReplayKey) -> BoxFuture<'a, Result<ClaimOutcome, ReplayStoreError>> {
        Box::pin(async { Err(ReplayStoreError::new("down", "connection refused")) })
    }
    fn complete<'a>(
        &'a self,
        _: &'a ReplayKey,
        _: &'a ClaimToken,
    ) -> BoxFuture<'a, Result<bool, ReplayStoreError>> {
        Box::pin(async { Err(ReplayStoreError::new("down", "connection refused")) })
    }
    fn release<'a>(
        &'a self,
        _: &'a ReplayKey,
        _: &'a ClaimToken,
    ) -> BoxFuture<'a, Result<bool, ReplayStoreError>> {
        Box::pin(async { Err(ReplayStoreError::new("down", "connection refused")) })
    }
    fn release_detached(&self, _: ReplayKey, _: ClaimToken) {}
}

#[tokio::test]
async fn a_failing_store_gives_503_when_closed_and_runs_unguarded_when_open() {
    let f = fixture();
    let closed = ReplayProtection::new(Down);
    let err = f.deliver(&closed, StatusCode::OK).await.unwrap_err();
    assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(err.public_message(), "temporarily unavailable");
    assert!(matches!(err, Error::ReplayStoreUnavailable { backend: "down", .. }));
    assert_eq!(f.calls.load(Ordering::SeqCst), 0, "fail closed: no handler call");

    let open = ReplayProtection::new(Down).with_fail_mode(FailMode::Open);
    assert_eq!(f.deliver(&open, StatusCode::OK).await.unwrap(), StatusCode::OK);
    assert_eq!(f.calls.load(Ordering::SeqCst), 1);
    let verified = f.verifier.verify(&f.headers, BODY).unwrap();
    let out = run(&open, &verified, |state| async move { state }, |_| true).await.unwrap();
    assert_eq!(out, ReplayState::Unguarded);
}

#[test]
fn guards_are_usable_as_shared_trait_objects() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Arc<dyn ReplayGuard>>();
    assert_send_sync::<ReplayProtection>();
    assert_send_sync::<hooksig::replay::Claim>();
    let shared: Arc<dyn ReplayGuard> = Arc::new(MemoryReplayGuard::new(10));
    let _ = ReplayProtection::from_arc(shared.clone());
    let _ = ReplayProtection::new(shared);
}

// --- regressions: the capacity is the guard's, not a shard's --------------------------

/// The bug report: at capacity 100, 65 claims held in progress left about 40 stored
/// (each of 64 shards held one key and evicted its oldest, in progress or not).
#[test]
fn regression_65_claims_in_progress_at_capacity_100_all_stay_in_progress() {
    let guard = MemoryReplayGuard::new(100);
    let keys: Vec<_> = (0..65).map(|i| key(&format!("held-{i}"), 60_000, 60_000)).collect();
    for k in &keys {
        assert!(futures_ready(guard.claim(k)).is_claimed());
    }
    assert_eq!(guard.len(), 65, "claims in progress were evicted");
    let lost: Vec<_> =
        keys.iter().filter(|k| futures_ready(guard.claim(k)) != ClaimOutcome::InProgress).collect();
    assert!(lost.is_empty(), "{} of 65 claims in progress were forgotten", lost.len());
}

/// The bug report: the first completed key was forgotten after 450-610 deliveries at
/// capacity 1 000 and after 4-6 at capacity 10.
#[test]
fn regression_the_first_completed_key_outlives_9_others_at_capacity_10() {
    first_completed_key_outlives_n_minus_1_others(10);
}

#[test]
fn regression_the_first_completed_key_outlives_999_others_at_capacity_1000() {
    first_completed_key_outlives_n_minus_1_others(1_000);
}

fn first_completed_key_outlives_n_minus_1_others(n: usize) {
    {
        let guard = MemoryReplayGuard::new(n);
        let first = key("first", 3_600_000, 60_000);
        let token = claimed_now(&guard, &first);
        assert!(futures_ready(guard.complete(&first, &token)));
        for i in 1..n {
            let k = key(&format!("other-{i}"), 3_600_000, 60_000);
            let token = claimed_now(&guard, &k);
            assert!(futures_ready(guard.complete(&k, &token)));
            assert_eq!(
                futures_ready(guard.claim(&first)),
                ClaimOutcome::Done,
                "capacity {n}: the first key was forgotten after {i} others"
            );
        }
        assert_eq!(guard.len(), n, "capacity {n}: the guard forgot keys before it was full");
    }
}

fn claimed_now(guard: &MemoryReplayGuard, key: &ReplayKey) -> ClaimToken {
    match futures_ready(guard.claim(key)) {
        ClaimOutcome::Claimed(token) => token,
        other => panic!("expected a claim of {}, got {other:?}", key.as_str()),
    }
}

// --- the capacity guarantee at N = 1, 10, 100, 1 000 and 100 000 ---------------------

const SIZES: [usize; 5] = [1, 10, 100, 1_000, 100_000];
const HOUR_MS: u64 = 3_600_000;

/// `count` keys named `prefix-i`, remembered for an hour plus `i` ms once done (so the
/// first done is the first to expire), with an hour's lease.
fn keys(prefix: &str, count: usize) -> Vec<ReplayKey> {
    (0..count).map(|i| key(&format!("{prefix}-{i}"), HOUR_MS + i as u64, HOUR_MS)).collect()
}

fn done_now(guard: &MemoryReplayGuard, key: &ReplayKey) {
    let token = claimed_now(guard, key);
    assert!(futures_ready(guard.complete(key, &token)));
}

/// Claims `others` in order: every third stays in progress, the rest are completed.
fn fill_mixed(guard: &MemoryReplayGuard, others: &[ReplayKey]) {
    for (i, k) in others.iter().enumerate() {
        if i % 3 == 0 {
            claimed_now(guard, k);
        } else {
            done_now(guard, k);
        }
    }
}

#[test]
fn a_guard_of_n_remembers_its_first_key_among_n_minus_1_others() {
    let _heavy = heavy();
    for n in SIZES {
        let others = keys("other", n - 1);
        // The first key done, then in progress.
        let guard = MemoryReplayGuard::new(n);
        let first = key("first", HOUR_MS, HOUR_MS);
        done_now(&guard, &first);
        fill_mixed(&guard, &others);
        assert_eq!(guard.len(), n);
        assert_eq!(futures_ready(guard.claim(&first)), ClaimOutcome::Done, "capacity {n}");

        let guard = MemoryReplayGuard::new(n);
        claimed_now(&guard, &first);
        fill_mixed(&guard, &others);
        assert_eq!(guard.len(), n);
        assert_eq!(futures_ready(guard.claim(&first)), ClaimOutcome::InProgress, "capacity {n}");
        // And every other key is still there, in its state.
        for (i, k) in others.iter().enumerate() {
            let expected = if i % 3 == 0 { ClaimOutcome::InProgress } else { ClaimOutcome::Done };
            assert_eq!(futures_ready(guard.claim(k)), expected, "capacity {n}, key {i}");
        }
        assert_eq!(guard.len(), n);
    }
}

#[test]
fn a_guard_full_of_claims_in_progress_refuses_the_next_and_loses_none() {
    let _heavy = heavy();
    for n in SIZES {
        let guard = MemoryReplayGuard::new(n);
        let held = keys("held", n);
        let tokens: Vec<_> = held.iter().map(|k| claimed_now(&guard, k)).collect();
        let extra = key("extra", HOUR_MS, HOUR_MS);
        assert_full(futures_ready_result(guard.claim(&extra)));
        assert_full(futures_ready_result(guard.claim(&key("extra-2", HOUR_MS, HOUR_MS))));
        assert_eq!(guard.len(), n, "capacity {n}");
        for k in &held {
            assert_eq!(futures_ready(guard.claim(k)), ClaimOutcome::InProgress, "capacity {n}");
        }
        // A completion of a lapsed claim needs room too: it is refused the same way.
        let lapsed = key("lapsed", HOUR_MS, 0);
        assert!(
            futures_ready_result(guard.complete(&lapsed, &ClaimToken::from_bytes([9; 16]))).is_err(),
            "capacity {n}"
        );
        // A released claim frees its slot; a completed one frees nothing.
        assert!(futures_ready(guard.complete(&held[0], &tokens[0])));
        if n > 1 {
            assert!(futures_ready(guard.release(&held[1], &tokens[1])));
        }
        claimed_now(&guard, &extra);
        assert_eq!(guard.len(), n);
        for k in held.iter().skip(2) {
            assert_eq!(futures_ready(guard.claim(k)), ClaimOutcome::InProgress, "capacity {n}");
        }
    }
}

#[test]
fn a_full_guard_evicts_the_soonest_expiring_done_key_never_a_claim() {
    let _heavy = heavy();
    for n in SIZES {
        // A third of the keys in progress (none if n = 1), the rest done, the first done
        // key expiring first.
        let guard = MemoryReplayGuard::new(n);
        let all = keys("key", n);
        let in_progress = |i: usize| n > 1 && i % 3 == 1;
        for (i, k) in all.iter().enumerate() {
            if in_progress(i) {
                claimed_now(&guard, k);
            } else {
                done_now(&guard, k);
            }
        }
        assert_eq!(guard.len(), n);
        let new = key("new", HOUR_MS, HOUR_MS);
        claimed_now(&guard, &new);
        assert_eq!(guard.len(), n, "capacity {n}");
        assert_eq!(futures_ready(guard.claim(&new)), ClaimOutcome::InProgress);
        // Only `key-0` was forgotten: look at it last, its replay is claimed again.
        for (i, k) in all.iter().enumerate().skip(1) {
            let expected = if in_progress(i) { ClaimOutcome::InProgress } else { ClaimOutcome::Done };
            assert_eq!(futures_ready(guard.claim(k)), expected, "capacity {n}, key {i}");
        }
        if n > 1 {
            assert!(futures_ready(guard.claim(&all[0])).is_claimed(), "capacity {n}: key-0 was the victim");
        } else {
            // Forgotten, and `new` (in progress) is not evicted for its replay.
            assert_full(futures_ready_result(guard.claim(&all[0])));
        }
        assert_eq!(guard.len(), n);
    }
}

#[test]
fn clear_gives_back_every_slot() {
    let guard = MemoryReplayGuard::new(10);
    for k in keys("a", 10) {
        claimed_now(&guard, &k);
    }
    assert_full(futures_ready_result(guard.claim(&key("b", HOUR_MS, HOUR_MS))));
    guard.clear();
    assert!(guard.is_empty());
    for k in keys("c", 10) {
        claimed_now(&guard, &k);
    }
    assert_eq!(guard.len(), 10);
    assert!(format!("{guard:?}").contains("len: 10"));
}

#[test]
fn a_lapsed_claim_makes_room_and_its_late_completion_is_refused_when_full() {
    let guard = MemoryReplayGuard::new(2);
    let slow = key("slow", HOUR_MS, 0); // lease of zero: lapsed at once
    let token = claimed_now(&guard, &slow);
    claimed_now(&guard, &key("a", HOUR_MS, HOUR_MS));
    claimed_now(&guard, &key("b", HOUR_MS, HOUR_MS)); // takes the lapsed claim's place
    let err = futures_ready_result(guard.complete(&slow, &token)).unwrap_err();
    assert_eq!(err.to_string(), "replay store `memory` failed: full of claims in progress");
    assert_eq!(guard.len(), 2);
}

// --- concurrency --------------------------------------------------------------------

/// Threads claim overlapping keys at a small capacity: some claims are refused, done
/// keys are evicted and claimed again, but no key ever has two holders at once, and a
/// holder's claim is never lost (its completion or release still finds it).
#[test]
fn concurrent_claims_of_overlapping_keys_never_have_two_holders() {
    const THREADS: usize = 8;
    const KEYS: usize = 24;
    const ROUNDS: usize = 3_000;
    for (capacity, shards) in [(8, 8), (8, 1), (3, 3), (1, 1)] {
        let guard = MemoryReplayGuard::with_shards(capacity, shards);
        let keys = keys("hot", KEYS);
        let holders: Vec<AtomicUsize> = (0..KEYS).map(|_| AtomicUsize::new(0)).collect();
        let (claims, refusals) = (AtomicUsize::new(0), AtomicUsize::new(0));
        std::thread::scope(|scope| {
            for thread in 0..THREADS {
                let (guard, keys, holders, claims, refusals) = (&guard, &keys, &holders, &claims, &refusals);
                scope.spawn(move || {
                    for round in 0..ROUNDS {
                        let index = (round * 7 + thread * 5) % KEYS;
                        let k = &keys[index];
                        match futures_ready_result(guard.claim(k)) {
                            Ok(ClaimOutcome::Claimed(token)) => {
                                let before = holders[index].fetch_add(1, Ordering::SeqCst);
                                assert_eq!(before, 0, "{} had two holders", k.as_str());
                                claims.fetch_add(1, Ordering::Relaxed);
                                std::thread::yield_now();
                                assert_eq!(futures_ready(guard.claim(k)), ClaimOutcome::InProgress);
                                holders[index].fetch_sub(1, Ordering::SeqCst);
                                let kept = if round % 2 == 0 {
                                    futures_ready(guard.complete(k, &token))
                                } else {
                                    futures_ready(guard.release(k, &token))
                                };
                                assert!(kept, "the claim of {} was lost", k.as_str());
                            }
                            Ok(_) => {}
                            Err(err) => {
                                assert_eq!(err.backend(), "memory");
                                refusals.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        assert!(guard.len() <= capacity);
                    }
                });
            }
        });
        assert!(claims.load(Ordering::Relaxed) > 0);
        assert!(guard.len() <= capacity);
        eprintln!(
            "capacity {capacity}, {shards} shards: {} claims, {} refusals",
            claims.load(Ordering::Relaxed),
            refusals.load(Ordering::Relaxed)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_tasks_hold_a_key_one_at_a_time() {
    let guard = Arc::new(MemoryReplayGuard::new(4));
    let holders: Arc<Vec<AtomicUsize>> = Arc::new((0..6).map(|_| AtomicUsize::new(0)).collect());
    let tasks: Vec<_> = (0..32)
        .map(|t| {
            let (guard, holders) = (guard.clone(), holders.clone());
            tokio::spawn(async move {
                for round in 0..200 {
                    let index = (round + t) % 6;
                    let k = key(&format!("k{index}"), 1, HOUR_MS); // done keys lapse in 1 ms
                    if let Ok(ClaimOutcome::Claimed(token)) = guard.claim(&k).await {
                        assert_eq!(holders[index].fetch_add(1, Ordering::SeqCst), 0);
                        tokio::task::yield_now().await;
                        holders[index].fetch_sub(1, Ordering::SeqCst);
                        assert!(guard.complete(&k, &token).await.unwrap());
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert!(guard.len() <= 4);
}

// --- memory -------------------------------------------------------------------------

/// The per-key figure in `MemoryReplayGuard`'s docs: live heap bytes after storing
/// 100 000 done keys, divided by the count, for keys of 17 and 81 bytes.
#[test]
fn memory_per_key_is_as_documented() {
    const KEYS: usize = 100_000;
    let _heavy = heavy();
    let mut per_key = Vec::new();
    for len in [17usize, 81] {
        let guard = MemoryReplayGuard::new(KEYS);
        let before = counting_alloc::live();
        let mut name = String::new();
        for i in 0..KEYS {
            name.clear();
            use std::fmt::Write;
            write!(name, "{i:0>len$}").unwrap();
            let k = ReplayKey::new(name.as_str(), Duration::from_secs(3600), Duration::from_secs(60));
            done_now(&guard, &k);
        }
        assert_eq!(guard.len(), KEYS);
        let bytes = counting_alloc::live().saturating_sub(before);
        let fixed = bytes / KEYS - len;
        eprintln!("{KEYS} keys of {len} bytes: {bytes} bytes, {} per key = {fixed} + length", bytes / KEYS);
        per_key.push(fixed);
        drop(guard);
    }
    for fixed in per_key {
        assert!((120..=200).contains(&fixed), "about 140 bytes + key length, measured {fixed} + length");
    }
}

fn futures_ready_result<T>(fut: BoxFuture<'_, Result<T, ReplayStoreError>>) -> Result<T, ReplayStoreError> {
    let mut fut = fut;
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(result) => result,
        std::task::Poll::Pending => panic!("memory guard futures are ready"),
    }
}

/// A guard full of claims in progress refuses new claims with 503 even when the fail
/// mode is open: running the copy unguarded would process it concurrently.
#[tokio::test]
async fn a_full_guard_fails_closed_even_when_the_fail_mode_is_open() {
    let guard = Arc::new(MemoryReplayGuard::new(1));
    let open = ReplayProtection::from_arc(guard.clone()).with_fail_mode(FailMode::Open);
    let verifier = Verifier::new(Scheme::tale(), "s").unwrap();
    let signer = Signer::new(Scheme::tale(), "s").unwrap();
    let first = verifier.verify(&signer.sign(b"1").unwrap(), b"1").unwrap();
    let _held = open.check(&first, b"1").await.unwrap();
    let second = verifier.verify(&signer.sign(b"2").unwrap(), b"2").unwrap();
    let refusal = open.check(&second, b"2").await.unwrap_err();
    assert_eq!(refusal.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(matches!(refusal, Refusal::Rejected(Error::ReplayStoreUnavailable { backend: "memory", .. })));
}
