//! Replay protection on a Redis Cluster: a real three-master cluster that each test
//! starts on free loopback ports (no persistence, in a temporary directory) and tears
//! down, guards connected with `RedisReplayGuard::connect_cluster`, and (with feature
//! `tower`) two axum replicas behind `VerifyLayer::replay_guard` driven over HTTP.
//!
//! Without `redis-server` and `redis-cli` on the `PATH` the tests print a skip line
//! and pass, unless `HOOKSIG_REQUIRE_REDIS=1`, under which they fail.

#![cfg(feature = "redis")]

use crate::support::redis_cluster;

use std::sync::Arc;
use std::time::{Duration, Instant};

use hooksig::replay::{ClaimOutcome, ClaimToken, RedisReplayGuard, ReplayGuard, ReplayKey};
use redis_cluster::MASTERS;

fn key(name: &str, ttl_ms: u64, lease_ms: u64) -> ReplayKey {
    ReplayKey::new(name, Duration::from_millis(ttl_ms), Duration::from_millis(lease_ms))
}

async fn claimed(guard: &dyn ReplayGuard, key: &ReplayKey) -> ClaimToken {
    match guard.claim(key).await.unwrap() {
        ClaimOutcome::Claimed(token) => token,
        other => panic!("expected a claim, got {other:?}"),
    }
}

// --- semantics, on every master ------------------------------------------------------

#[tokio::test]
async fn claim_complete_release_on_every_master() {
    let cluster = cluster_or_skip!("claim_complete_release_on_every_master");
    let guard = cluster.guard().await;
    for node in 0..MASTERS {
        let k = key(&cluster.key_on(node, "hooksig-test:a"), 3_600_000, 30_000);
        let token = claimed(&guard, &k).await;
        assert_eq!(guard.claim(&k).await.unwrap(), ClaimOutcome::InProgress);

        // What the owning master holds: the claim, expiring with the lease.
        let value: String = cluster.query(node, redis::cmd("GET").arg(k.as_str())).unwrap();
        assert_eq!(value, token.to_string());
        let pttl: i64 = cluster.query(node, redis::cmd("PTTL").arg(k.as_str())).unwrap();
        assert!((25_000..=30_000).contains(&pttl), "lease pttl {pttl}");

        assert!(!guard.release(&k, &ClaimToken::from_bytes([0xee; 16])).await.unwrap(), "not our claim");
        assert!(guard.complete(&k, &token).await.unwrap());
        assert_eq!(guard.claim(&k).await.unwrap(), ClaimOutcome::Done);
        assert!(guard.complete(&k, &token).await.unwrap(), "completing twice is harmless");
        assert!(!guard.release(&k, &token).await.unwrap(), "a done key is not released");
        let value: String = cluster.query(node, redis::cmd("GET").arg(k.as_str())).unwrap();
        assert_eq!(value, "done");
        let pttl: i64 = cluster.query(node, redis::cmd("PTTL").arg(k.as_str())).unwrap();
        assert!((3_500_000..=3_600_000).contains(&pttl), "done pttl {pttl}");

        let r = key(&cluster.key_on(node, "hooksig-test:r"), 60_000, 60_000);
        let token = claimed(&guard, &r).await;
        assert!(guard.release(&r, &token).await.unwrap());
        assert!(guard.claim(&r).await.unwrap().is_claimed(), "released: the retry is claimed");

        // A stale claimer (its lease ran out and a retry claimed the key) can neither
        // release nor complete over the live claim.
        let short = key(&cluster.key_on(node, "hooksig-test:short"), 60_000, 100);
        let stale = claimed(&guard, &short).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let fresh = claimed(&guard, &short).await;
        assert!(!guard.release(&short, &stale).await.unwrap());
        assert!(!guard.complete(&short, &stale).await.unwrap());
        assert!(guard.complete(&short, &fresh).await.unwrap());
        assert_eq!(guard.claim(&short).await.unwrap(), ClaimOutcome::Done);
    }
    // Each master holds exactly its own three keys.
    for node in 0..MASTERS {
        assert_eq!(cluster.dbsize(node), 3, "node {node}");
    }
}

/// Scripts live per node and go away on a restart or `SCRIPT FLUSH`: the guard sends
/// the source again, on the same key, and never needs the other nodes for it.
#[tokio::test]
async fn a_node_that_forgot_the_scripts_gets_them_again() {
    let cluster = cluster_or_skip!("a_node_that_forgot_the_scripts_gets_them_again");
    let guard = cluster.guard().await;
    for round in 0..2 {
        for node in 0..MASTERS {
            let k = key(&cluster.key_on(node, &format!("hooksig-test:flush{round}")), 60_000, 60_000);
            let token = claimed(&guard, &k).await;
            assert!(guard.complete(&k, &token).await.unwrap());
            let () = cluster.query(node, redis::cmd("SCRIPT").arg("FLUSH")).unwrap();
            let r = key(&cluster.key_on(node, &format!("hooksig-test:flushed{round}")), 60_000, 60_000);
            let token = claimed(&guard, &r).await;
            let () = cluster.query(node, redis::cmd("SCRIPT").arg("FLUSH")).unwrap();
            assert!(guard.release(&r, &token).await.unwrap());
            assert_eq!(guard.claim(&k).await.unwrap(), ClaimOutcome::Done);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_100_concurrent_claims_across_two_replicas_exactly_one_wins_on_every_master() {
    let cluster =
        cluster_or_skip!("of_100_concurrent_claims_across_two_replicas_exactly_one_wins_on_every_master");
    let replicas: [Arc<dyn ReplayGuard>; 2] =
        [Arc::new(cluster.guard().await), Arc::new(cluster.guard().await)];
    for round in 0..2 * MASTERS {
        let k = key(&cluster.key_on(round % MASTERS, &format!("hooksig-test:hot{round}")), 60_000, 60_000);
        let barrier = Arc::new(tokio::sync::Barrier::new(100));
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
            match tokio::time::timeout(Duration::from_secs(10), task).await.expect("in time").unwrap() {
                ClaimOutcome::Claimed(_) => wins += 1,
                ClaimOutcome::InProgress => {}
                ClaimOutcome::Done => panic!("nothing completed"),
            }
        }
        assert_eq!(wins, 1, "round {round}");
    }
}

/// A hung master (it accepts nothing new and answers nothing, like a host gone
/// silent): operations on its keys fail within the guard's timeout; the others keep
/// working meanwhile, quickly.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hung_master_fails_closed_within_the_timeout_and_the_others_keep_working() {
    let mut cluster =
        cluster_or_skip!("a_hung_master_fails_closed_within_the_timeout_and_the_others_keep_working");
    const HUNG: usize = 1;
    let timeout = Duration::from_millis(1000);
    let guard = Arc::new(cluster.guard().await.timeout(timeout));
    // Warm: scripts on every node, connections open.
    for node in 0..MASTERS {
        let k = key(&cluster.key_on(node, "hooksig-test:warm"), 60_000, 60_000);
        claimed(&*guard, &k).await;
    }

    cluster.freeze(HUNG, true);
    let started = Instant::now();
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let node = i % MASTERS;
            let k = key(&cluster.key_on(node, &format!("hooksig-test:hung{i}")), 60_000, 60_000);
            let guard = guard.clone();
            tokio::spawn(async move {
                // Spread over two seconds, so that some run while others wait on the hung node.
                tokio::time::sleep(Duration::from_millis(70 * i as u64)).await;
                let started = Instant::now();
                (node, guard.claim(&k).await, started.elapsed())
            })
        })
        .collect();
    let (mut slowest_hung, mut slowest_live) = (Duration::ZERO, Duration::ZERO);
    for task in tasks {
        let (node, outcome, took) =
            tokio::time::timeout(Duration::from_secs(10), task).await.unwrap().unwrap();
        if node == HUNG {
            let err = outcome.expect_err("a hung master's key fails");
            assert_eq!(err.backend(), "redis");
            assert!(took < timeout + Duration::from_millis(500), "bounded: {took:?} ({err})");
            slowest_hung = slowest_hung.max(took);
        } else {
            assert!(outcome.unwrap().is_claimed(), "node {node}");
            slowest_live = slowest_live.max(took);
        }
    }
    eprintln!(
        "hung master: slowest failure {slowest_hung:?}, slowest claim elsewhere {slowest_live:?}, all in {:?}",
        started.elapsed()
    );

    // Thawed, its keys work again.
    cluster.freeze(HUNG, false);
    let k = key(&cluster.key_on(HUNG, "hooksig-test:thawed"), 60_000, 60_000);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match guard.claim(&k).await {
            Ok(outcome) => {
                assert!(outcome.is_claimed());
                break;
            }
            Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(err) => panic!("after the thaw: {err}"),
        }
    }
}

// --- connecting ---------------------------------------------------------------------

/// Needs no Redis: nothing listens on the ports.
#[tokio::test]
async fn connect_fails_in_bounded_time_when_no_node_answers_and_lazy_connect_does_not() {
    let ports: Vec<u16> = (0..3)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port())
        .collect();
    let urls: Vec<String> = ports.iter().map(|p| format!("redis://127.0.0.1:{p}/")).collect();

    let started = Instant::now();
    let err = RedisReplayGuard::connect_cluster(&urls).await.unwrap_err();
    assert_eq!(err.backend(), "redis");
    assert!(started.elapsed() < Duration::from_secs(7), "bounded: {:?}", started.elapsed());

    assert!(RedisReplayGuard::connect_cluster(Vec::<String>::new()).await.is_err(), "no nodes");
    assert!(RedisReplayGuard::connect_cluster(["not a url"]).await.is_err());
    assert!(RedisReplayGuard::connect_cluster_lazy(["not a url"]).is_err());

    let lazy = RedisReplayGuard::connect_cluster_lazy(&urls).unwrap().timeout(Duration::from_millis(500));
    assert!(format!("{lazy:?}").contains("cluster"), "{lazy:?}");
    for _ in 0..3 {
        let started = Instant::now();
        let err = lazy.claim(&key("x", 1_000, 1_000)).await.unwrap_err();
        assert_eq!(err.backend(), "redis");
        assert!(started.elapsed() < Duration::from_secs(2), "bounded: {:?}", started.elapsed());
    }
}

#[test]
fn constructors_outside_a_tokio_runtime_fail_instead_of_panicking() {
    let err = RedisReplayGuard::connect_cluster_lazy(["redis://127.0.0.1:7000/"]).unwrap_err();
    assert!(err.to_string().contains("Tokio runtime"), "{err}");
    let cluster = block_on(RedisReplayGuard::connect_cluster(["redis://127.0.0.1:7000/"]));
    assert!(cluster.unwrap_err().to_string().contains("Tokio runtime"));
    let single = block_on(RedisReplayGuard::connect("redis://127.0.0.1:6379/"));
    assert!(single.unwrap_err().to_string().contains("Tokio runtime"));
}

/// Polls `fut` to completion on this thread, outside any Tokio runtime (the futures
/// here finish at their first poll).
fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000 {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("not ready");
}

/// A guard made while the whole cluster is down fails closed, then works once the
/// cluster is back (the client reconnects from the listed nodes).
#[tokio::test]
async fn a_lazy_guard_made_while_the_cluster_is_down_works_once_it_is_back() {
    let mut cluster = cluster_or_skip!("a_lazy_guard_made_while_the_cluster_is_down_works_once_it_is_back");
    for node in 0..MASTERS {
        cluster.stop(node);
    }
    let guard =
        RedisReplayGuard::connect_cluster_lazy(cluster.urls()).unwrap().timeout(Duration::from_millis(800));
    let k = key("hooksig-test:lazy", 60_000, 60_000);
    let started = Instant::now();
    assert_eq!(guard.claim(&k).await.unwrap_err().backend(), "redis");
    assert!(started.elapsed() < Duration::from_secs(2), "bounded: {:?}", started.elapsed());

    for node in 0..MASTERS {
        cluster.run(node);
    }
    cluster.wait_ok(Duration::from_secs(20)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut attempts = 0;
    let token = loop {
        attempts += 1;
        match guard.claim(&k).await {
            Ok(ClaimOutcome::Claimed(token)) => break token,
            Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            other => panic!("after the restart: {other:?}"),
        }
    };
    assert!(guard.complete(&k, &token).await.unwrap());
    assert_eq!(guard.claim(&k).await.unwrap(), ClaimOutcome::Done);
    eprintln!("the lazy guard worked after {attempts} attempt(s)");
}

// --- two axum replicas over HTTP ----------------------------------------------------

#[cfg(feature = "tower")]
mod http_replicas {
    use super::*;
    use crate::replicas::{self, Behaviour, Outcome, SECRET, STEP, Sender, layer_replica};
    use redis_cluster::RedisCluster;

    use std::net::SocketAddr;
    use std::sync::atomic::Ordering;

    use hooksig::replay::{ReplayPolicy, ReplayProtection, ReplayState};
    use hooksig::{Scheme, Signer, Verifier};
    use tokio::time::timeout;

    /// A replica behind the layer: its own verifier (same secret) and its own cluster
    /// connection.
    async fn replica(cluster: &RedisCluster, app: &Behaviour) -> SocketAddr {
        layer_replica(app, ReplayProtection::new(cluster.guard().await)).await
    }

    async fn replicas(cluster: &RedisCluster, app: &Behaviour) -> [SocketAddr; 2] {
        [replica(cluster, app).await, replica(cluster, app).await]
    }

    /// The store key of a Tale delivery of `body`, as the layer derives it.
    fn replay_key(body: &str) -> ReplayKey {
        let headers = Signer::new(Scheme::tale(), SECRET).unwrap().sign(body.as_bytes()).unwrap();
        let verified =
            Verifier::new(Scheme::tale(), SECRET).unwrap().verify(&headers, body.as_bytes()).unwrap();
        ReplayPolicy::default().key(&verified, body.as_bytes())
    }

    /// A body `{"<tag>":n}` whose replay key lives on master `node`.
    fn body_on(cluster: &RedisCluster, node: usize, tag: &str) -> String {
        (0..1_000)
            .map(|n| format!("{{\"{tag}\":{n}}}"))
            .find(|body| cluster.node_of(replay_key(body).as_str()) == node)
            .unwrap()
    }

    /// The shared invariant, and: every handler call had claimed its delivery first
    /// (`ReplayState::First`), as the layer guarantees with a working store.
    fn assert_acknowledged_only_what_was_processed(outcomes: &[Outcome], app: &Behaviour) {
        replicas::assert_acknowledged_only_what_was_processed(outcomes, app);
        let states = app.states.lock().unwrap();
        assert!(states.iter().all(|s| *s == ReplayState::First), "{states:?}");
    }

    /// The same delivery to both replicas at once, then again later, for a key on
    /// each master: processed once each.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn same_delivery_to_both_replicas_at_once_and_later_is_processed_once() {
        let cluster = cluster_or_skip!("same_delivery_to_both_replicas_at_once_and_later_is_processed_once");
        let app = Behaviour::with_work(Duration::from_millis(100));
        let replicas = replicas(&cluster, &app).await;
        let sender = Sender::new();
        let mut outcomes = Vec::new();
        for node in 0..MASTERS {
            let body = body_on(&cluster, node, "both-at-once");
            let (a, b) = tokio::join!(sender.send(replicas[0], &body), sender.send(replicas[1], &body));
            let first = [a, b];
            assert_eq!(first.iter().filter(|o| **o == Outcome::Processed).count(), 1, "{first:?}");
            assert!(
                first
                    .iter()
                    .all(|o| matches!(o, Outcome::Processed | Outcome::InProgress | Outcome::Duplicate))
            );
            outcomes.extend(first);
            for replica in replicas {
                let later = sender.send(replica, &body).await;
                assert_eq!(later, Outcome::Duplicate);
                outcomes.push(later);
            }
            assert_eq!((app.attempts(), app.processed()), (node + 1, node + 1));
        }
        assert_acknowledged_only_what_was_processed(&outcomes, &app);
    }

    /// 50 concurrent copies spread over both replicas: exactly one processed, the
    /// others 409 or 200-duplicate.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn of_50_concurrent_copies_over_two_replicas_exactly_one_is_processed() {
        let cluster = cluster_or_skip!("of_50_concurrent_copies_over_two_replicas_exactly_one_is_processed");
        let app = Behaviour::with_work(Duration::from_millis(50));
        let replicas = replicas(&cluster, &app).await;
        let sender = Arc::new(Sender::new());
        let body: Arc<str> = r#"{"scenario":"fifty"}"#.into();
        let barrier = Arc::new(tokio::sync::Barrier::new(50));
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let (sender, barrier, body, addr) =
                    (sender.clone(), barrier.clone(), body.clone(), replicas[i % 2]);
                tokio::spawn(async move {
                    barrier.wait().await;
                    sender.send(addr, &body).await
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(timeout(STEP, task).await.expect("in time").unwrap());
        }
        let count = |wanted: Outcome| outcomes.iter().filter(|o| **o == wanted).count();
        assert_eq!(count(Outcome::Processed), 1, "{outcomes:?}");
        assert_eq!(count(Outcome::Processed) + count(Outcome::InProgress) + count(Outcome::Duplicate), 50);
        assert_eq!((app.attempts(), app.processed()), (1, 1));
        assert_acknowledged_only_what_was_processed(&outcomes, &app);
        eprintln!(
            "50 copies: 1 processed, {} in progress (409), {} duplicates (200)",
            count(Outcome::InProgress),
            count(Outcome::Duplicate)
        );
    }

    /// The first attempt fails (500): the retry on the other replica is processed and
    /// acknowledged, further copies are duplicates. Then 30 distinct deliveries: their
    /// keys spread over all three masters, each on the master owning its slot.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn failed_attempt_is_retried_on_the_other_replica_and_keys_spread_over_every_master() {
        let cluster = cluster_or_skip!(
            "failed_attempt_is_retried_on_the_other_replica_and_keys_spread_over_every_master"
        );
        let app = Behaviour::default();
        let replicas = replicas(&cluster, &app).await;
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
        assert_acknowledged_only_what_was_processed(&outcomes, &app);

        let before: Vec<i64> = (0..MASTERS).map(|i| cluster.dbsize(i)).collect();
        assert_eq!(before.iter().sum::<i64>(), 1, "one key so far: {before:?}");
        let mut expected = before.clone();
        for n in 0..30 {
            let body = format!("{{\"spread\":{n}}}");
            assert_eq!(sender.send(replicas[n % 2], &body).await, Outcome::Processed);
            let key = replay_key(&body);
            let node = cluster.node_of(key.as_str());
            expected[node] += 1;
            let value: String = cluster.query(node, redis::cmd("GET").arg(key.as_str())).unwrap();
            assert_eq!(value, "done", "{} on node {node}", key.as_str());
        }
        let after: Vec<i64> = (0..MASTERS).map(|i| cluster.dbsize(i)).collect();
        assert_eq!(after, expected);
        assert!(
            after.iter().zip(&before).all(|(a, b)| a > b),
            "every master got keys: {before:?} → {after:?}"
        );
        assert_eq!(app.processed(), 31);
        eprintln!("keys per master: {after:?}");
    }

    /// One master stopped: deliveries whose key it owns answer 503 without calling the
    /// handler, within the timeout, before and after the others flag it as failed;
    /// deliveries on the other masters are processed all along. Restarted, it serves
    /// its keys again. Runs before any script is on any node, so the live masters get
    /// theirs without the stopped one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_stopped_master_fails_closed_for_its_keys_and_the_others_keep_working() {
        let mut cluster =
            cluster_or_skip!("a_stopped_master_fails_closed_for_its_keys_and_the_others_keep_working");
        let app = Behaviour::default();
        let replicas = replicas(&cluster, &app).await;
        let sender = Arc::new(Sender::new());

        cluster.stop(DOWN);
        let stopped = Instant::now();
        let down_body = body_on(&cluster, DOWN, "down");
        let mut outcomes = Vec::new();
        let phase = |label: &'static str, round: usize| Phase {
            label,
            round,
            cluster: &cluster,
            sender: sender.clone(),
            replicas,
            app: app.clone(),
            down_body: down_body.clone(),
        };

        // Right after the stop: the others still count the master as up.
        outcomes.extend(phase("just stopped", 1).run().await);
        // Once the others flag it as failed (cluster-node-timeout 2 s), the cluster
        // still serves the live masters' slots (cluster-require-full-coverage no).
        let deadline = Instant::now() + Duration::from_secs(15);
        while !cluster.flagged_failed(DOWN) {
            assert!(Instant::now() < deadline, "node {DOWN} never flagged as failed");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        eprintln!("node {DOWN} flagged as failed {:?} after the stop", stopped.elapsed());
        outcomes.extend(phase("flagged as failed", 2).run().await);
        assert_eq!(app.processed(), app.attempts(), "every handler call was a processed delivery");

        // Back (same node id and slots, no data): the delivery that met 503 is
        // processed on a retry, once.
        cluster.run(DOWN);
        let restarted = Instant::now();
        let retried = sender.until_acknowledged(&replicas, &down_body).await;
        assert_eq!(retried.last(), Some(&Outcome::Processed), "{retried:?}");
        assert!(
            retried.iter().all(|o| matches!(o, Outcome::Processed | Outcome::Unavailable)),
            "{retried:?}"
        );
        eprintln!("node {DOWN} serves again {:?} after its restart: {retried:?}", restarted.elapsed());
        assert_eq!(sender.send(replicas[1], &down_body).await, Outcome::Duplicate);
        outcomes.extend(retried);
        assert_acknowledged_only_what_was_processed(&outcomes, &app);
    }

    /// The master the failure test stops.
    const DOWN: usize = 2;

    /// One round of deliveries while master [`DOWN`] is stopped.
    struct Phase<'a> {
        label: &'static str,
        round: usize,
        cluster: &'a RedisCluster,
        sender: Arc<Sender>,
        replicas: [SocketAddr; 2],
        app: Behaviour,
        down_body: String,
    }

    impl Phase<'_> {
        async fn run(self) -> Vec<Outcome> {
            let Phase { label, round, cluster, sender, replicas, app, down_body } = self;
            let mut outcomes = Vec::new();
            let (mut slowest_down, mut slowest_live) = (Duration::ZERO, Duration::ZERO);
            for replica in replicas {
                let started = Instant::now();
                let attempts = app.attempts();
                let outcome = sender.send(replica, &down_body).await;
                assert_eq!(outcome, Outcome::Unavailable, "{label}");
                assert_eq!(app.attempts(), attempts, "{label}: fail closed, the handler is not called");
                let took = started.elapsed();
                assert!(took < Duration::from_secs(3), "{label}: bounded: {took:?}");
                slowest_down = slowest_down.max(took);
                outcomes.push(outcome);
            }
            for node in (0..MASTERS).filter(|&n| n != DOWN) {
                let body = body_on(cluster, node, &format!("live{round}"));
                let started = Instant::now();
                let outcome = sender.send(replicas[node % 2], &body).await;
                assert_eq!(outcome, Outcome::Processed, "{label}: node {node}");
                let took = started.elapsed();
                assert!(took < Duration::from_secs(2), "{label}: {took:?}");
                slowest_live = slowest_live.max(took);
                assert_eq!(sender.send(replicas[(node + 1) % 2], &body).await, Outcome::Duplicate, "{label}");
                outcomes.extend([Outcome::Processed, Outcome::Duplicate]);
            }
            // Live and dead keys at once: the dead ones do not hold up the others.
            let tasks: Vec<_> = (0..12)
                .map(|i| {
                    let sender = sender.clone();
                    let node = i % MASTERS;
                    let body = if node == DOWN {
                        down_body.clone()
                    } else {
                        body_on(cluster, node, &format!("mix{round}-{i}"))
                    };
                    tokio::spawn(async move {
                        let started = Instant::now();
                        (node, sender.send(replicas[i % 2], &body).await, started.elapsed())
                    })
                })
                .collect();
            for task in tasks {
                let (node, outcome, took) = timeout(STEP, task).await.expect("in time").unwrap();
                let wanted = if node == DOWN { Outcome::Unavailable } else { Outcome::Processed };
                assert_eq!(outcome, wanted, "{label}: node {node}");
                assert!(took < Duration::from_secs(3), "{label}: node {node} took {took:?}");
                if node == DOWN {
                    slowest_down = slowest_down.max(took);
                } else {
                    slowest_live = slowest_live.max(took);
                }
                outcomes.push(outcome);
            }
            eprintln!("{label}: slowest 503 {slowest_down:?}, slowest processed {slowest_live:?}");
            outcomes
        }
    }
}
