//! The contenders of the middleware benchmark, shared by the criterion bench
//! (`middleware.rs`) and the table runner (`report.rs`).
//!
//! Each pair is the same trivial handler (takes the body as `Bytes`, answers 204)
//! behind hooksig's middleware and behind a baseline that only buffers the body under
//! the same limit, driven in-process: axum through `tower::ServiceExt::oneshot` on a
//! current-thread tokio runtime, actix-web through `actix_web::test::call_service`.
//! A contender's `run(n)` sends `n` valid deliveries built before the clock starts
//! and returns the time the `n` calls took.

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::post;
use bytes::Bytes;
use hooksig::tower::VerifyLayer;
use hooksig_benches::Inputs;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full, Limited};
use tower::{Layer, Service, ServiceExt};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Measures a run: wall time, or with `HOOKSIG_BENCH_CLOCK=thread` the CPU time of
/// this thread (every setup runs its requests on the calling thread), which leaves
/// out the time other processes had the core: for a shared, loaded machine.
pub struct Stopwatch(Start);

enum Start {
    Wall(Instant),
    Thread(Duration),
}

fn thread_clock() -> bool {
    static THREAD: OnceLock<bool> = OnceLock::new();
    *THREAD.get_or_init(|| std::env::var("HOOKSIG_BENCH_CLOCK").is_ok_and(|v| v == "thread"))
}

fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl Stopwatch {
    /// Starts measuring.
    pub fn start() -> Stopwatch {
        Stopwatch(if thread_clock() { Start::Thread(thread_cpu_time()) } else { Start::Wall(Instant::now()) })
    }

    /// The time since [`Stopwatch::start`].
    pub fn elapsed(&self) -> Duration {
        match self.0 {
            Start::Wall(start) => start.elapsed(),
            Start::Thread(start) => thread_cpu_time().saturating_sub(start),
        }
    }

    /// Which clock: `wall` or `thread CPU`.
    pub fn clock() -> &'static str {
        if thread_clock() { "thread CPU" } else { "wall" }
    }
}

/// The frame size of bodies larger than one frame, as hyper hands them on.
pub const FRAME: usize = 64 * 1024;

/// The body sizes the middleware is measured at.
pub const SIZES: [(&str, usize); 2] = [("1 KiB", 1024), ("1 MiB", 1024 * 1024)];

/// What a setup does with the body.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// Buffers it under the limit and hands it on (the baseline).
    Buffer,
    /// Buffers it, then calls `Verifier::verify` on the headers and the bytes, as a
    /// handler that verifies by hand does: the cost the middleware should be close to.
    BufferVerify,
    /// hooksig's middleware.
    Hooksig,
}

/// One timed middleware setup.
pub struct App {
    /// Stable id (criterion's function name).
    pub id: &'static str,
    /// What the table shows.
    pub label: &'static str,
    /// `axum` or `actix-web`.
    pub framework: &'static str,
    /// What it does.
    pub kind: Kind,
    /// Sends `n` deliveries; the time they took.
    pub run: Box<dyn FnMut(u64) -> Duration>,
}

/// A request body that yields `data` in frames of at most [`FRAME`] bytes, without
/// copying (each frame is a `Bytes` slice of the same buffer).
pub struct Framed {
    data: Bytes,
}

impl Body for Framed {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if this.data.is_empty() {
            return Poll::Ready(None);
        }
        let n = this.data.len().min(FRAME);
        Poll::Ready(Some(Ok(Frame::data(this.data.split_to(n)))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.len() as u64)
    }
}

/// A body of `data` in [`FRAME`]-sized frames.
pub fn framed(data: Bytes) -> Framed {
    Framed { data }
}

/// The baselines: buffers the body with `http_body_util::Limited` + `collect` under
/// `limit` (413 past it) and hands the bytes on; with a verifier, checks them with
/// `Verifier::verify` first (401 on failure).
#[derive(Clone)]
pub struct BufferLayer {
    /// The body limit in bytes.
    pub limit: usize,
    /// Verify after buffering.
    pub verifier: Option<hooksig::Verifier>,
}

impl<S> Layer<S> for BufferLayer {
    type Service = Buffer<S>;

    fn layer(&self, inner: S) -> Buffer<S> {
        Buffer { inner, limit: self.limit, verifier: self.verifier.clone() }
    }
}

/// The baseline service.
#[derive(Clone)]
pub struct Buffer<S> {
    inner: S,
    limit: usize,
    verifier: Option<hooksig::Verifier>,
}

impl<S, B> Service<Request<B>> for Buffer<S>
where
    S: Service<Request<Full<Bytes>>, Response = Response<axum::body::Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<axum::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let limit = self.limit;
        let verifier = self.verifier.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let bytes = match Limited::new(body, limit).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(_) => return Ok(StatusCode::PAYLOAD_TOO_LARGE.into_response()),
            };
            if let Some(verifier) = verifier
                && verifier.verify(&parts.headers, &bytes).is_err()
            {
                return Ok(StatusCode::UNAUTHORIZED.into_response());
            }
            inner.call(Request::from_parts(parts, Full::new(bytes))).await
        })
    }
}

async fn axum_handler(body: Bytes) -> StatusCode {
    black_box(body.len());
    StatusCode::NO_CONTENT
}

fn request_headers(inputs: &Inputs) -> HeaderMap {
    let mut headers = inputs.tale.clone();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(inputs.body.len()));
    headers
}

fn axum_app(router: Router, inputs: &Inputs) -> Box<dyn FnMut(u64) -> Duration> {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("tokio runtime");
    let headers = request_headers(inputs);
    let body = Bytes::copy_from_slice(&inputs.body);
    let request = move || {
        let mut req = Request::post("/hook").body(framed(body.clone())).expect("request");
        *req.headers_mut() = headers.clone();
        req
    };
    Box::new(move |n| {
        let requests: Vec<_> = (0..n).map(|_| request()).collect();
        runtime.block_on(async {
            let start = Stopwatch::start();
            for req in requests {
                let res = router.clone().oneshot(req).await.expect("infallible");
                assert_eq!(res.status(), StatusCode::NO_CONTENT);
                black_box(res);
            }
            start.elapsed()
        })
    })
}

async fn actix_handler(body: actix_web::web::Bytes) -> actix_web::HttpResponse {
    black_box(body.len());
    actix_web::HttpResponse::NoContent().finish()
}

async fn actix_verifying_handler(
    req: actix_web::HttpRequest,
    verifier: actix_web::web::Data<hooksig::Verifier>,
    body: actix_web::web::Bytes,
) -> actix_web::HttpResponse {
    if verifier.verify(req.headers(), &body).is_err() {
        return actix_web::HttpResponse::Unauthorized().finish();
    }
    black_box(body.len());
    actix_web::HttpResponse::NoContent().finish()
}

fn actix_app(kind: Kind, inputs: &Inputs) -> Box<dyn FnMut(u64) -> Duration> {
    use actix_web::{App as ActixApp, test, web};
    let system = actix_web::rt::System::new();
    let limit = inputs.tale_verifier.max_body();
    let resource = move || web::resource("/hook").route(web::post().to(actix_handler));
    let app = move || ActixApp::new().app_data(web::PayloadConfig::new(limit));
    let headers = request_headers(inputs);
    let body = Bytes::copy_from_slice(&inputs.body);
    if kind == Kind::BufferVerify {
        let data = web::Data::new(inputs.tale_verifier.clone());
        let resource = web::resource("/hook").route(web::post().to(actix_verifying_handler));
        let service = system.block_on(test::init_service(app().app_data(data).service(resource)));
        actix_driver(system, service, headers, body)
    } else if kind == Kind::Hooksig {
        let verifier = inputs.tale_verifier.clone();
        let service = system.block_on(test::init_service(
            app().service(resource().wrap(hooksig::actix::VerifySignature::new(verifier))),
        ));
        actix_driver(system, service, headers, body)
    } else {
        let service = system.block_on(test::init_service(app().service(resource())));
        actix_driver(system, service, headers, body)
    }
}

fn actix_driver<S, B>(
    system: actix_web::rt::SystemRunner,
    service: S,
    headers: HeaderMap,
    body: Bytes,
) -> Box<dyn FnMut(u64) -> Duration>
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        > + 'static,
    B: 'static,
{
    use actix_web::test;
    Box::new(move |n| {
        let requests: Vec<_> = (0..n)
            .map(|_| {
                let mut req = test::TestRequest::post().uri("/hook");
                for (name, value) in &headers {
                    req = req.insert_header((name.as_str(), value.as_bytes()));
                }
                req.set_payload(body.clone()).to_request()
            })
            .collect();
        system.block_on(async {
            let start = Stopwatch::start();
            for req in requests {
                let res = test::call_service(&service, req).await;
                assert_eq!(res.status().as_u16(), 204);
                black_box(res);
            }
            start.elapsed()
        })
    })
}

/// The six setups for a body of `len` bytes (Tale preset).
pub fn apps(len: usize) -> Vec<App> {
    let inputs = Inputs::new(len, SystemTime::now());
    let limit = inputs.tale_verifier.max_body();
    let route = || Router::new().route("/hook", post(axum_handler));
    let hooksig_router = route().layer(VerifyLayer::new(inputs.tale_verifier.clone()));
    let buffer_router = route().layer(BufferLayer { limit, verifier: None });
    let verify_router = route().layer(BufferLayer { limit, verifier: Some(inputs.tale_verifier.clone()) });
    let mut list = vec![
        App {
            id: "axum_buffer",
            label: "buffering layer (`Limited` + `collect`)",
            framework: "axum",
            kind: Kind::Buffer,
            run: axum_app(buffer_router, &inputs),
        },
        App {
            id: "axum_buffer_verify",
            label: "buffering layer, then `Verifier::verify`",
            framework: "axum",
            kind: Kind::BufferVerify,
            run: axum_app(verify_router, &inputs),
        },
        App {
            id: "axum_hooksig",
            label: "**hooksig** `tower::VerifyLayer`",
            framework: "axum",
            kind: Kind::Hooksig,
            run: axum_app(hooksig_router, &inputs),
        },
        App {
            id: "actix_buffer",
            label: "`web::Bytes` under `PayloadConfig` limit",
            framework: "actix-web",
            kind: Kind::Buffer,
            run: actix_app(Kind::Buffer, &inputs),
        },
        App {
            id: "actix_buffer_verify",
            label: "`web::Bytes`, then `Verifier::verify` in the handler",
            framework: "actix-web",
            kind: Kind::BufferVerify,
            run: actix_app(Kind::BufferVerify, &inputs),
        },
        App {
            id: "actix_hooksig",
            label: "**hooksig** `actix::VerifySignature`",
            framework: "actix-web",
            kind: Kind::Hooksig,
            run: actix_app(Kind::Hooksig, &inputs),
        },
    ];
    // Every setup answers a valid delivery with 204 (the runs assert it).
    for app in &mut list {
        (app.run)(1);
    }
    list
}
