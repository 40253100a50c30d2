//! Load and faults over loopback for the tower layer: a real axum server with
//! `VerifyLayer` receives 2,000 deliveries (valid, forged, oversized, aborted,
//! dribbled) from 32 concurrent keep-alive connections, under a counting allocator.
#![cfg(feature = "axum")]

use crate::support::load;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use hooksig::tower::VerifyLayer;
use load::{Outcome, Plan, Seen};
use tokio::net::TcpListener;

async fn hook(State(seen): State<Arc<Seen>>, body: Bytes) -> &'static str {
    seen.record(&body);
    "ok"
}

async fn serve(seen: Arc<Seen>) -> SocketAddr {
    let router = Router::new()
        .route("/hook", post(hook))
        .route_layer(VerifyLayer::new(load::verifier()))
        .with_state(seen);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_mixed_deliveries_over_32_connections_only_valid_ones_reach_the_handler() {
    load::assert_the_allocator_counts();
    let started = Instant::now();
    let plan = Arc::new(Plan::generate(load::SEED));
    let seen = Arc::new(Seen::default());
    let addr = serve(Arc::clone(&seen)).await;

    let test = async {
        let baseline = load::reset_peak();
        let sending = Instant::now();
        let run = load::drive(addr, Arc::clone(&plan)).await;
        let sent_in = sending.elapsed();
        let peak = load::peak() - baseline;
        let tally = load::check(&plan, &run, &seen);
        eprintln!(
            "axum: {tally}; {:?}; peak {} KiB above a {} KiB baseline; \
             plan ready after {:?}, sent in {:?}",
            run.stats,
            peak / 1024,
            baseline / 1024,
            sending.duration_since(started),
            sent_in,
        );

        load::assert_peak_bounded("axum", peak);

        // Still serving.
        let probe = Plan::probe(load::REQUESTS as u32);
        let outcome = load::deliver_once(addr, &probe).await;
        assert!(matches!(outcome, Outcome::Answer { status: 200, .. }), "{outcome:?}");
        assert_eq!(seen.lookup(&probe.body), (1, true));
    };
    tokio::time::timeout(load::OVERALL, test).await.expect("the test took more than 60 s");
}
