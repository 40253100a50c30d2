//! Load and faults over loopback for the actix middleware: a real `HttpServer` with
//! `VerifySignature` receives 2,000 deliveries (valid, forged, oversized, aborted,
//! dribbled) from 32 concurrent keep-alive connections, under a counting allocator.
#![cfg(feature = "actix")]

use crate::support::load;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Instant;

use actix_web::{App, HttpServer, web};
use hooksig::actix::VerifySignature;
use load::{Outcome, Plan, Seen};

fn start(seen: Arc<Seen>) -> (actix_web::dev::ServerHandle, SocketAddr) {
    let middleware = VerifySignature::new(load::verifier());
    let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = HttpServer::new(move || {
        let seen = Arc::clone(&seen);
        App::new().service(
            web::resource("/hook")
                .app_data(web::PayloadConfig::new(load::LIMIT))
                .wrap(middleware.clone())
                .route(web::post().to(move |body: web::Bytes| {
                    seen.record(&body);
                    async { "ok" }
                })),
        )
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

#[actix_web::test]
async fn two_thousand_mixed_deliveries_over_32_connections_only_valid_ones_reach_the_handler() {
    load::assert_the_allocator_counts();
    let started = Instant::now();
    let plan = Arc::new(Plan::generate(load::SEED));
    let seen = Arc::new(Seen::default());
    let (handle, addr) = start(Arc::clone(&seen));

    let test = async {
        let baseline = load::reset_peak();
        let sending = Instant::now();
        let run = load::drive(addr, Arc::clone(&plan)).await;
        let sent_in = sending.elapsed();
        let peak = load::peak() - baseline;
        let tally = load::check(&plan, &run, &seen);
        eprintln!(
            "actix: {tally}; {:?}; peak {} KiB above a {} KiB baseline; \
             plan ready after {:?}, sent in {:?}",
            run.stats,
            peak / 1024,
            baseline / 1024,
            sending.duration_since(started),
            sent_in,
        );

        load::assert_peak_bounded("actix", peak);

        // Still serving.
        let probe = Plan::probe(load::REQUESTS as u32);
        let outcome = load::deliver_once(addr, &probe).await;
        assert!(matches!(outcome, Outcome::Answer { status: 200, .. }), "{outcome:?}");
        assert_eq!(seen.lookup(&probe.body), (1, true));
    };
    tokio::time::timeout(load::OVERALL, test).await.expect("the test took more than 60 s");
    handle.stop(true).await;
}
