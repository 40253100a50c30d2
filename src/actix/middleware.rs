//! The [`VerifySignature`] middleware (actix-web-httpauth's `Transform` shape).

use std::fmt;
use std::future::Future;
use std::future::{Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, ready};

use actix_web::HttpMessage as _;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform};
use bytes::Bytes;
use futures_util::Stream as _;

use crate::basic_auth::BasicAuth;
use crate::error::Refusal;
use crate::pipeline::{Delivery, Intake, Proceeding, Received, Receiver};
use crate::replay::{Pass, ReplayProtection};
use crate::verify::{Verified, Verifier};

/// Verifies webhook deliveries before the wrapped `App`, `scope` or `resource` sees
/// them.
///
/// A thin adapter around a [`Receiver`] (the framework-neutral receive pipeline):
/// runs its checks before reading the body (method 405, Basic credentials 401,
/// `Content-Length` 413, signature headers), then streams the payload into it under
/// the verifier's limit (413 past it, without reading further), puts the exact bytes
/// back with `set_payload` and inserts [`crate::Verified`] into the request
/// extensions. Only verified requests reach the inner service.
///
/// `Clone`, `Send` and `Sync`: build it once and clone it into the `HttpServer`
/// factory. Wrap only the hook's resource (or a scope of hooks): every route under it
/// must be a signed delivery.
///
/// ```
/// use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, test, web};
/// use hooksig::actix::VerifySignature;
/// use hooksig::{Scheme, Signer, Verifier};
///
/// # actix_web::rt::System::new().block_on(async {
/// let verifier = Verifier::new(Scheme::tale(), "s")?;
/// let app = test::init_service(
///     App::new().service(
///         web::resource("/hook")
///             .wrap(VerifySignature::new(verifier))
///             .route(web::post().to(|req: HttpRequest, body: web::Bytes| async move {
///                 assert!(req.extensions().get::<hooksig::Verified>().is_some());
///                 HttpResponse::Ok().body(body)
///             })),
///     ),
/// )
/// .await;
///
/// let mut req = test::TestRequest::post().uri("/hook").set_payload("{}");
/// for (name, value) in &Signer::new(Scheme::tale(), "s")?.sign(b"{}")? {
///     req = req.insert_header((name.as_str(), value.as_bytes()));
/// }
/// let res = test::call_service(&app, req.to_request()).await;
/// assert_eq!(res.status(), 200);
/// assert_eq!(test::read_body(res).await, "{}");
///
/// let unsigned = test::TestRequest::post().uri("/hook").set_payload("{}").to_request();
/// let res = test::call_service(&app, unsigned).await;
/// assert_eq!(res.status(), 401);
/// assert_eq!(test::read_body(res).await, "missing signature");
/// # Ok::<(), hooksig::Error>(())
/// # })?;
/// # Ok::<(), hooksig::Error>(())
/// ```
#[derive(Clone)]
pub struct VerifySignature {
    receiver: Receiver,
}

impl VerifySignature {
    /// Accepts POST deliveries signed for `verifier`'s scheme, with a body of at most
    /// [`Verifier::max_body`] bytes.
    ///
    /// ```
    /// let verifier = hooksig::Verifier::new(hooksig::Scheme::github(), "s")?;
    /// let middleware = hooksig::actix::VerifySignature::new(verifier);
    /// assert_eq!(middleware.receiver().allow(), "POST");
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn new(verifier: Verifier) -> VerifySignature {
        VerifySignature::from_receiver(Receiver::new(verifier))
    }

    /// Accepts POST requests carrying `auth`'s HTTP Basic credentials, with no
    /// signature (NocoBase-style triggers). The body is not read.
    ///
    /// ```
    /// use hooksig::{BasicAuth, actix::VerifySignature};
    /// let middleware = VerifySignature::basic_only(BasicAuth::new("hook", "p4ss")?);
    /// assert!(middleware.receiver().verifier().is_none());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn basic_only(auth: BasicAuth) -> VerifySignature {
        VerifySignature::from_receiver(Receiver::basic_only(auth))
    }

    /// Uses a [`Receiver`] built elsewhere (for instance shared with a tower layer).
    ///
    /// ```
    /// use hooksig::{Scheme, Verifier, actix::VerifySignature, pipeline::Receiver};
    /// let receiver = Receiver::new(Verifier::new(Scheme::slack(), "s")?);
    /// let middleware = VerifySignature::from_receiver(receiver);
    /// assert!(middleware.receiver().verifier().is_some());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn from_receiver(receiver: Receiver) -> VerifySignature {
        VerifySignature { receiver }
    }

    /// Also requires HTTP Basic credentials (checked before the signature; 401 with
    /// `WWW-Authenticate` when missing or wrong).
    ///
    /// ```
    /// use hooksig::{BasicAuth, Scheme, Verifier, actix::VerifySignature};
    /// let middleware = VerifySignature::new(Verifier::new(Scheme::tale(), "s")?)
    ///     .basic_auth(BasicAuth::new("hook", "p4ss")?);
    /// assert!(middleware.receiver().basic().is_some());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn basic_auth(self, auth: BasicAuth) -> VerifySignature {
        VerifySignature { receiver: self.receiver.basic_auth(auth) }
    }

    /// Replaces the accepted methods (default: POST only; other methods get 405 with
    /// an `Allow` header). An empty list keeps POST.
    ///
    /// ```
    /// use actix_web::http::Method;
    /// use hooksig::{Scheme, Verifier, actix::VerifySignature};
    /// let middleware = VerifySignature::new(Verifier::new(Scheme::tale(), "s")?)
    ///     .allow_methods([Method::POST, Method::PUT]);
    /// assert_eq!(middleware.receiver().allow(), "POST, PUT");
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn allow_methods(
        self,
        methods: impl IntoIterator<Item = actix_web::http::Method>,
    ) -> VerifySignature {
        // actix-web 4 uses `http` 0.2; the pipeline speaks `http` 1. Convert by name.
        let methods =
            methods.into_iter().filter_map(|m| http::Method::from_bytes(m.as_str().as_bytes()).ok());
        VerifySignature { receiver: self.receiver.allow_methods(methods) }
    }

    /// Builds every refusal's response with `f`: it gets the [`Refusal`] and the
    /// default response (status, short text, `Allow`, `WWW-Authenticate`,
    /// `Retry-After`; see [`Receiver::default_response`]) and returns the response
    /// to send. Replay answers (409, 200 duplicate, 503) go through it too. The same
    /// hook, with the same meaning, as the tower layer's
    /// (`hooksig::tower::VerifyLayer::on_rejection`). Its `Display` form names the
    /// header and the reason; it never contains a secret or a MAC.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use hooksig::{Scheme, Verifier, actix::VerifySignature};
    ///
    /// let rejected = Arc::new(AtomicUsize::new(0));
    /// let counter = Arc::clone(&rejected);
    /// let middleware = VerifySignature::new(Verifier::new(Scheme::tale(), "s")?)
    ///     .on_rejection(move |refusal, mut response| {
    ///         counter.fetch_add(1, Ordering::Relaxed);
    ///         eprintln!("refused: {refusal}");
    ///         *response.body_mut() = format!(r#"{{"error":"{}"}}"#, refusal.public_message()).into();
    ///         response
    ///     });
    /// # let _ = middleware;
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn on_rejection<F>(self, f: F) -> VerifySignature
    where
        F: Fn(&Refusal, http::Response<Bytes>) -> http::Response<Bytes> + Send + Sync + 'static,
    {
        VerifySignature { receiver: self.receiver.on_rejection(f) }
    }

    /// Processes each delivery once, and acknowledges only what was processed (see
    /// [`crate::replay`]).
    ///
    /// For a verified delivery the middleware claims its replay key, then:
    ///
    /// - **first sight**: calls the wrapped service with
    ///   [`ReplayState::First`](crate::replay::ReplayState::First) in the request
    ///   extensions. A 2xx response marks the delivery done; any other status, an
    ///   error, or a panic or cancellation of the handler releases the claim, so the
    ///   sender's retry is processed.
    /// - **in progress** on another worker or replica: answers 409
    ///   `delivery in progress` with `Retry-After`; the handler is not called.
    /// - **already done**: answers 200 `duplicate delivery`; the handler is not
    ///   called.
    /// - **store unavailable**: with [`FailMode::Closed`](crate::replay::FailMode)
    ///   (the default) answers 503 with `Retry-After`; with `FailMode::Open` calls
    ///   the handler with [`ReplayState::Unguarded`](crate::replay::ReplayState::Unguarded).
    ///
    /// All of these answers go through [`VerifySignature::on_rejection`]. Takes a
    /// guard ([`MemoryReplayGuard`](crate::replay::MemoryReplayGuard), a
    /// `RedisReplayGuard`) or a configured [`ReplayProtection`]. Build the middleware
    /// once, outside the `HttpServer` factory, so that every worker shares one
    /// guard. A [`basic_only`](VerifySignature::basic_only) middleware verifies no
    /// signature, so there is no authenticated key to claim: the guard is ignored
    /// there.
    ///
    /// ```
    /// use actix_web::{App, HttpResponse, test, web};
    /// use hooksig::actix::VerifySignature;
    /// use hooksig::replay::MemoryReplayGuard;
    /// use hooksig::{Scheme, Signer, Verifier};
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let middleware = VerifySignature::new(Verifier::new(Scheme::tale(), "s")?)
    ///     .replay_guard(MemoryReplayGuard::new(100_000));
    /// let app = test::init_service(App::new().service(
    ///     web::resource("/hook").wrap(middleware).route(web::post().to(|| async { HttpResponse::Ok().body("processed") })),
    /// ))
    /// .await;
    /// let delivery = || -> Result<_, hooksig::Error> {
    ///     let mut req = test::TestRequest::post().uri("/hook").set_payload("{}");
    ///     for (name, value) in &Signer::new(Scheme::tale(), "s")?.sign(b"{}")? {
    ///         req = req.insert_header((name.as_str(), value.as_bytes()));
    ///     }
    ///     Ok(req.to_request())
    /// };
    /// let first = test::call_service(&app, delivery()?).await;
    /// assert_eq!(test::read_body(first).await, "processed");
    /// let again = test::call_service(&app, delivery()?).await;
    /// assert_eq!(again.status(), 200);
    /// assert_eq!(test::read_body(again).await, "duplicate delivery");
    /// # Ok::<(), hooksig::Error>(())
    /// # })?;
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn replay_guard(self, replay: impl Into<ReplayProtection>) -> VerifySignature {
        VerifySignature { receiver: self.receiver.replay_guard(replay) }
    }

    /// The replay protection, if [`VerifySignature::replay_guard`] set one.
    ///
    /// ```
    /// use hooksig::{Scheme, Verifier, actix::VerifySignature, replay::MemoryReplayGuard};
    /// let middleware = VerifySignature::new(Verifier::new(Scheme::tale(), "s")?);
    /// assert!(middleware.replay().is_none());
    /// assert!(middleware.replay_guard(MemoryReplayGuard::new(10)).replay().is_some());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn replay(&self) -> Option<&ReplayProtection> {
        self.receiver.replay()
    }

    /// The receive pipeline this middleware drives.
    pub fn receiver(&self) -> &Receiver {
        &self.receiver
    }
}

impl fmt::Debug for VerifySignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifySignature").field("receiver", &self.receiver).finish()
    }
}

/// A claim on the replay store to wait for, and the payload read to its end.
type PendingClaim = (Pin<Box<Proceeding>>, Option<Payload>);

/// The body ended: checks the signature, and hands the delivery on at once when there
/// is nothing to claim; else the claim to wait for.
fn settle(
    receiver: &Receiver,
    req: &mut ServiceRequest,
    intake: Intake,
    drained: Option<Payload>,
) -> Result<Option<PendingClaim>, Refusal> {
    if receiver.replay().is_none() {
        // Nothing to claim: the proof goes straight into the extensions.
        let body = intake.finish_into(|matched| {
            let mut extensions = req.extensions_mut();
            // Built in place in a fresh entry; an outer middleware's proof is replaced.
            if extensions.contains::<Verified>() {
                extensions.insert(matched.into_verified());
            } else {
                extensions.get_or_insert_with(|| matched.into_verified());
            }
        })?;
        if let Some(drained) = drained {
            req.set_payload(super::refill(drained, body));
        }
        return Ok(None);
    }
    let received = intake.finish()?;
    if receiver.claims(&received) {
        return Ok(Some((Box::pin(receiver.proceed(received)), drained)));
    }
    let Received { proof, body } = received;
    hand_on(req, Delivery { proof, body, pass: None }, drained);
    Ok(None)
}

/// Puts the delivery's bytes back as the payload (into `drained`, the payload they
/// were read from, when there is one) and its proof and replay state into the
/// extensions; returns the pass to finish once the handler answered.
fn hand_on(req: &mut ServiceRequest, delivery: Delivery, drained: Option<Payload>) -> Option<Pass> {
    let Delivery { proof, body, pass } = delivery;
    if let Some(drained) = drained {
        req.set_payload(super::refill(drained, body));
    }
    if let Some(proof) = proof {
        req.extensions_mut().insert(proof);
    }
    if let Some(pass) = &pass {
        req.extensions_mut().insert(pass.state());
    }
    pass
}

impl<S, B> Transform<S, ServiceRequest> for VerifySignature
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = VerifySignatureMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let receiver = self.receiver.clone();
        ready(Ok(VerifySignatureMiddleware { inner: Rc::new(Inner { service, receiver }) }))
    }
}

/// The per-worker service [`VerifySignature`] wraps around the inner service
/// (created by actix-web through [`Transform`]; not built by hand).
#[doc(hidden)]
pub struct VerifySignatureMiddleware<S> {
    /// The service and the receiver behind one `Rc`: each request clones one
    /// non-atomic count, where the receiver's own `Arc` cost an atomic increment and
    /// decrement per request.
    inner: Rc<Inner<S>>,
}

struct Inner<S> {
    service: S,
    receiver: Receiver,
}

impl<S> fmt::Debug for VerifySignatureMiddleware<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifySignatureMiddleware")
            .field("receiver", &self.inner.receiver)
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for VerifySignatureMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = VerifyFuture<S, B>;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.service.poll_ready(cx)
    }

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let inner = Rc::clone(&self.inner);
        let step = match inner.receiver.admit(req.method().as_str(), req.headers()) {
            // A basic-only receiver does not read the body: on to the service.
            Ok(intake) if inner.receiver.verifier().is_none() => {
                match settle(&inner.receiver, &mut req, intake, None) {
                    Ok(None) => Step::Calling { future: inner.service.call(req), pass: None },
                    Ok(Some((claim, drained))) => Step::Claiming { claim, drained, req },
                    Err(refusal) => Step::Answer { response: Some(refuse(&inner.receiver, req, &refusal)) },
                }
            }
            Ok(intake) => {
                Step::Reading { reading: Some(Reading { payload: req.take_payload(), intake, req }) }
            }
            Err(refusal) => Step::Answer { response: Some(refuse(&inner.receiver, req, &refusal)) },
        };
        VerifyFuture { step, inner }
    }
}

/// The refusal's response, through the receiver's hook.
fn refuse<B>(receiver: &Receiver, req: ServiceRequest, refusal: &Refusal) -> ServiceResponse<EitherBody<B>> {
    req.into_response(super::response(receiver.respond(refusal))).map_into_right_body()
}

/// The inner service's response, as the middleware's (`EitherBody::Left`).
#[inline(always)]
fn left_body<B>(res: ServiceResponse<B>) -> ServiceResponse<EitherBody<B>> {
    let (req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    ServiceResponse::new(req, head.set_body(EitherBody::left(body)))
}

/// Completes or releases a claim once the inner service answered.
type SettleFuture = Pin<Box<dyn Future<Output = ()>>>;

pin_project_lite::pin_project! {
    /// The future of [`VerifySignatureMiddleware`]: reads the payload into the
    /// receive pipeline, then calls the inner service with the delivery, or answers
    /// the refusal.
    ///
    /// Not boxed: actix-web boxes the future of a wrapped resource once, and this
    /// future goes into that box. A boxed `async` block of the middleware's own would
    /// be one more allocation, copy and free per request; while it held the 440-byte
    /// delivery across an `.await` it was 1,472 bytes, past glibc's per-thread cache
    /// (1,032 bytes), and its allocation alone took about 4 % of a 1 KiB request
    /// (perf, Xeon). The verification state is boxed in the pipeline's intake and a
    /// claim on the replay store is boxed, so this future stays small.
    #[doc(hidden)]
    pub struct VerifyFuture<S, B>
    where
        S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    {
        #[pin]
        step: Step<S::Future, B>,
        inner: Rc<Inner<S>>,
    }
}

pin_project_lite::pin_project! {
    #[project = StepProj]
    #[project_replace = StepOwned]
    enum Step<F, B> {
        Reading {
            // Taken out once, when the payload ends: the state is then replaced in
            // place, not moved out whole.
            reading: Option<Reading>,
        },
        Claiming {
            claim: Pin<Box<Proceeding>>,
            drained: Option<Payload>,
            req: ServiceRequest,
        },
        Calling {
            #[pin]
            future: F,
            // Held while the inner service runs: if this future is dropped (a panic
            // in the handler, a cancelled request), the claim is released.
            pass: Option<Pass>,
        },
        Settling {
            future: SettleFuture,
            output: Option<Result<ServiceResponse<B>, actix_web::Error>>,
        },
        Answer {
            response: Option<ServiceResponse<EitherBody<B>>>,
        },
        Done,
    }
}

/// A request whose payload is being read into the pipeline.
struct Reading {
    payload: Payload,
    intake: Intake,
    req: ServiceRequest,
}

impl<S, B> Future for VerifyFuture<S, B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    type Output = Result<ServiceResponse<EitherBody<B>>, actix_web::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let Inner { service, receiver } = &**this.inner;
        loop {
            match this.step.as_mut().project() {
                StepProj::Reading { reading } => {
                    let Some(Reading { payload, intake, .. }) = reading else {
                        return Poll::Pending; // not reachable: taken only when leaving `Reading`
                    };
                    let read = loop {
                        match ready!(Pin::new(&mut *payload).poll_next(cx)) {
                            Some(Ok(chunk)) => {
                                if let Err(refusal) = intake.push(chunk) {
                                    break Err(refusal);
                                }
                            }
                            Some(Err(_)) => break Err(intake.read_error(false)),
                            None => break Ok(()),
                        }
                    };
                    // The payload is read: take the rest by value.
                    let Some(Reading { payload, intake, mut req }) = reading.take() else {
                        return Poll::Pending; // not reachable: taken once, here
                    };
                    // Each arm sets its state: a `next` built by the match was one
                    // temporary of the largest state, copied whole into place.
                    match read.and_then(|()| settle(receiver, &mut req, intake, Some(payload))) {
                        Ok(None) => {
                            let future = service.call(req);
                            this.step.set(Step::Calling { future, pass: None });
                        }
                        Ok(Some((claim, drained))) => this.step.set(Step::Claiming { claim, drained, req }),
                        Err(refusal) => {
                            let response = refuse(receiver, req, &refusal);
                            this.step.set(Step::Answer { response: Some(response) });
                        }
                    }
                }
                StepProj::Claiming { claim, .. } => {
                    let result = ready!(claim.as_mut().poll(cx));
                    let StepOwned::Claiming { drained, mut req, .. } =
                        this.step.as_mut().project_replace(Step::Done)
                    else {
                        return Poll::Pending; // not reachable: we are in `Claiming`
                    };
                    let next = match result {
                        Ok(delivery) => {
                            let pass = hand_on(&mut req, delivery, drained);
                            Step::Calling { future: service.call(req), pass }
                        }
                        Err(refusal) => Step::Answer { response: Some(refuse(receiver, req, &refusal)) },
                    };
                    this.step.set(next);
                }
                StepProj::Calling { future, pass } => {
                    let output = ready!(future.poll(cx));
                    let Some(pass) = pass.take() else {
                        this.step.set(Step::Done);
                        // Mapped last, in place: straight into the result.
                        return Poll::Ready(output.map(left_body));
                    };
                    // Acknowledged (2xx) means processed: only then is the delivery done.
                    let processed = output.as_ref().is_ok_and(|res| res.status().is_success());
                    let future: SettleFuture = Box::pin(pass.finish(processed));
                    this.step.set(Step::Settling { future, output: Some(output) });
                }
                StepProj::Settling { future, output } => {
                    ready!(future.as_mut().poll(cx));
                    let output = output.take();
                    this.step.set(Step::Done);
                    return match output {
                        Some(output) => Poll::Ready(output.map(left_body)),
                        None => Poll::Pending, // not reachable: the output is taken once
                    };
                }
                StepProj::Answer { response } => {
                    let response = response.take();
                    this.step.set(Step::Done);
                    return match response {
                        Some(response) => Poll::Ready(Ok(response)),
                        None => Poll::Pending, // not reachable: the answer is taken once
                    };
                }
                // Polled after completion: a contract violation; never ready again.
                StepProj::Done => return Poll::Pending,
            }
        }
    }
}

impl<S, B> fmt::Debug for VerifyFuture<S, B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyFuture").finish_non_exhaustive()
    }
}
