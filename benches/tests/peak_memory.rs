//! One copy of the body: the peak heap while a 25 MiB valid delivery goes through
//! hooksig's tower layer, measured with a counting global allocator (live bytes and
//! their high-water mark, counted at capacity, not at length).
//!
//! `cargo test -p hooksig-benches --test peak_memory -- --nocapture` prints the
//! figures. The delivery's bytes exist before the measurement (the sender's buffer);
//! the body hands them on in 64 KiB frames that are slices of that buffer, so every
//! byte counted is one the layer (or the handler) allocated.

use std::convert::Infallible;
use std::time::SystemTime;

use bytes::Bytes;
use hooksig::tower::{VerifiedBody, VerifyLayer};
use hooksig::{Scheme, Signer, Verifier};
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use tower::{Layer, ServiceExt};

#[path = "../apps.rs"]
#[allow(dead_code)]
mod apps;

// The same counting allocator as the crate's own memory tests.
#[path = "../../tests/support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::peak_during;

const MIB: usize = 1024 * 1024;
const LEN: usize = 25 * MIB;

fn mib(bytes: usize) -> String {
    let over = bytes as i64 - LEN as i64;
    format!("{:.2} MiB ({over:+} bytes against the 25 MiB body)", bytes as f64 / MIB as f64)
}

fn request(body: &Bytes, headers: &http::HeaderMap, declare_length: bool) -> Request<apps::Framed> {
    let mut req = Request::post("/hook").body(apps::framed(body.clone())).unwrap();
    *req.headers_mut() = headers.clone();
    if declare_length {
        req.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    req
}

#[test]
fn a_25_mib_delivery_is_held_once() {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let body = Bytes::from(hooksig_benches::body(LEN));
    let headers = Signer::new(Scheme::tale(), "s").unwrap().sign_at(&body, None, SystemTime::now()).unwrap();
    let verifier = Verifier::builder(Scheme::tale()).secret("s").max_body(32 * MIB).build().unwrap();

    let handler = tower::service_fn(|req: Request<VerifiedBody>| async move {
        assert_eq!(req.body().len(), LEN);
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
    });
    let layer = VerifyLayer::new(verifier);
    let mut figures = Vec::new();
    for declare_length in [true, false] {
        let service = layer.layer(handler);
        let req = request(&body, &headers, declare_length);
        let (peak, status) =
            peak_during(|| runtime.block_on(async { service.oneshot(req).await.unwrap().status() }));
        assert_eq!(status, StatusCode::OK);
        let case = if declare_length { "with Content-Length" } else { "without Content-Length" };
        println!("hooksig tower layer, 25 MiB in 64 KiB frames, {case}: peak {}", mib(peak));
        figures.push(peak);
    }

    // The same body through a plain `Limited` + `collect` + `to_bytes`, for scale.
    let req = request(&body, &headers, true);
    let (peak, len) = peak_during(|| {
        runtime.block_on(async {
            Limited::new(req.into_body(), 32 * MIB).collect().await.unwrap().to_bytes().len()
        })
    });
    assert_eq!(len, LEN);
    println!("baseline Limited + collect + to_bytes, same body: peak {}", mib(peak));

    // With a declared length the layer reserves it once: one copy plus small change.
    assert!(figures[0] <= LEN + MIB, "peak {} for a 25 MiB body", mib(figures[0]));
}
