//! The [`VerifySignature`] middleware (actix-web-httpauth's `Transform` shape).

use std::fmt;
use std::future::{Ready, ready};
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{HttpMessage as _, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::replay::{Guarded, ReplayProtection, ReplayState};
use crate::{BasicAuth, Error, Gate, Verifier};

type RejectionHook = Arc<dyn Fn(&HttpRequest, &Error) + Send + Sync>;

/// Verifies webhook deliveries before the wrapped `App`, `scope` or `resource` sees
/// them.
///
/// Runs the [`Gate`] checks before reading the body (method 405, Basic credentials
/// 401, `Content-Length` 413, signature headers), then streams the payload through
/// the verification under the verifier's limit (413 past it, without reading
/// further), puts the exact bytes back with `set_payload` and inserts
/// [`crate::Verified`] into the request extensions. Only verified requests reach the
/// inner service.
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
    gate: Gate,
    on_rejection: Option<RejectionHook>,
    replay: Option<ReplayProtection>,
}

impl VerifySignature {
    /// Accepts POST deliveries signed for `verifier`'s scheme, with a body of at most
    /// [`Verifier::max_body`] bytes.
    ///
    /// ```
    /// let verifier = hooksig::Verifier::new(hooksig::Scheme::github(), "s")?;
    /// let middleware = hooksig::actix::VerifySignature::new(verifier);
    /// assert_eq!(middleware.gate().allow(), "POST");
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn new(verifier: Verifier) -> VerifySignature {
        VerifySignature::from_gate(Gate::new(verifier))
    }

    /// Accepts POST requests carrying `auth`'s HTTP Basic credentials, with no
    /// signature (NocoBase-style triggers). The body is not read.
    ///
    /// ```
    /// use hooksig::{BasicAuth, actix::VerifySignature};
    /// let middleware = VerifySignature::basic_only(BasicAuth::new("hook", "p4ss")?);
    /// assert!(middleware.gate().verifier().is_none());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn basic_only(auth: BasicAuth) -> VerifySignature {
        VerifySignature::from_gate(Gate::basic_only(auth))
    }

    /// Uses a [`Gate`] built elsewhere (for instance shared with a tower layer).
    ///
    /// ```
    /// use hooksig::{Gate, Scheme, Verifier, actix::VerifySignature};
    /// let gate = Gate::new(Verifier::new(Scheme::slack(), "s")?);
    /// let middleware = VerifySignature::from_gate(gate);
    /// assert!(middleware.gate().verifier().is_some());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn from_gate(gate: Gate) -> VerifySignature {
        VerifySignature { gate, on_rejection: None, replay: None }
    }

    /// Also requires HTTP Basic credentials (checked before the signature; 401 with
    /// `WWW-Authenticate` when missing or wrong).
    ///
    /// ```
    /// use hooksig::{BasicAuth, Scheme, Verifier, actix::VerifySignature};
    /// let middleware = VerifySignature::new(Verifier::new(Scheme::tale(), "s")?)
    ///     .basic_auth(BasicAuth::new("hook", "p4ss")?);
    /// assert!(middleware.gate().basic().is_some());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn basic_auth(mut self, auth: BasicAuth) -> VerifySignature {
        self.gate = self.gate.basic_auth(auth);
        self
    }

    /// Replaces the accepted methods (default: POST only; other methods get 405 with
    /// an `Allow` header). An empty list keeps POST.
    ///
    /// ```
    /// use actix_web::http::Method;
    /// use hooksig::{Scheme, Verifier, actix::VerifySignature};
    /// let middleware = VerifySignature::new(Verifier::new(Scheme::tale(), "s")?)
    ///     .allow_methods([Method::POST, Method::PUT]);
    /// assert_eq!(middleware.gate().allow(), "POST, PUT");
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn allow_methods(
        mut self,
        methods: impl IntoIterator<Item = actix_web::http::Method>,
    ) -> VerifySignature {
        // actix-web 4 uses `http` 0.2; the gate speaks `http` 1. Convert by name.
        let methods =
            methods.into_iter().filter_map(|m| http::Method::from_bytes(m.as_str().as_bytes()).ok());
        self.gate = self.gate.allow_methods(methods);
        self
    }

    /// Calls `hook` with the request and the reason for every rejected request,
    /// before the rejection is sent: for metrics and logs. The [`Error`]'s `Display`
    /// form names the header and the reason; it never contains a secret or a MAC.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use hooksig::{Scheme, Verifier, actix::VerifySignature};
    ///
    /// let rejected = Arc::new(AtomicUsize::new(0));
    /// let counter = Arc::clone(&rejected);
    /// let middleware = VerifySignature::new(Verifier::new(Scheme::tale(), "s")?)
    ///     .on_rejection(move |req, error| {
    ///         counter.fetch_add(1, Ordering::Relaxed);
    ///         eprintln!("{} {}: {error}", req.method(), req.path());
    ///     });
    /// # let _ = middleware;
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn on_rejection<F>(mut self, hook: F) -> VerifySignature
    where
        F: Fn(&HttpRequest, &Error) + Send + Sync + 'static,
    {
        self.on_rejection = Some(Arc::new(hook));
        self
    }

    /// Processes each delivery once, and acknowledges only what was processed (see
    /// [`crate::replay`]).
    ///
    /// For a verified delivery the middleware claims its replay key, then:
    ///
    /// - **first sight**: calls the wrapped service with
    ///   [`ReplayState::First`] in the request extensions. A 2xx response marks the
    ///   delivery done; any other status, an error, or a panic or cancellation of
    ///   the handler releases the claim, so the sender's retry is processed.
    /// - **in progress** on another worker or replica: answers 409
    ///   `delivery in progress`; the handler is not called.
    /// - **already done**: answers 200 `duplicate delivery`; the handler is not
    ///   called.
    /// - **store unavailable**: with [`FailMode::Closed`](crate::replay::FailMode)
    ///   (the default) answers 503 as a rejection ([`Error::ReplayStoreUnavailable`],
    ///   reported to [`VerifySignature::on_rejection`]); with `FailMode::Open` calls
    ///   the handler with [`ReplayState::Unguarded`].
    ///
    /// Takes a guard ([`MemoryReplayGuard`](crate::replay::MemoryReplayGuard), a
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
    pub fn replay_guard(mut self, replay: impl Into<ReplayProtection>) -> VerifySignature {
        #[cfg(feature = "tracing")]
        if self.gate.verifier().is_none() {
            tracing::warn!(
                "hooksig: a replay guard on a basic-only middleware is ignored (no signature to key on)"
            );
        }
        self.replay = Some(replay.into());
        self
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
        self.replay.as_ref()
    }

    /// The checks this middleware runs before reading a body.
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// Everything up to (and including) the body: `Ok` with the request ready for the
    /// inner service, or the reason to refuse it.
    async fn admit(&self, req: &mut ServiceRequest) -> Result<(), Error> {
        let Some(verification) = self.gate.admit(req.method().as_str(), req.headers())? else {
            return Ok(());
        };
        let mut payload = req.take_payload();
        let (body, verified) = super::read_verified(&mut payload, verification).await?;
        req.set_payload(Payload::from(body));
        req.extensions_mut().insert(verified);
        Ok(())
    }

    fn reject(&self, req: ServiceRequest, error: &Error) -> ServiceResponse {
        #[cfg(feature = "tracing")]
        tracing::debug!(method = %req.method(), path = req.path(), %error, "webhook delivery rejected");
        if let Some(hook) = &self.on_rejection {
            hook(req.request(), error);
        }
        req.into_response(super::rejection(error, self.gate.challenge_for(error)))
    }
}

impl fmt::Debug for VerifySignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifySignature")
            .field("gate", &self.gate)
            .field("on_rejection", &self.on_rejection.is_some())
            .field("replay", &self.replay)
            .finish()
    }
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
        ready(Ok(VerifySignatureMiddleware { service: Rc::new(service), config: Rc::new(self.clone()) }))
    }
}

/// The service [`VerifySignature`] wraps around the inner service (created by
/// actix-web through [`Transform`]; not built by hand).
///
/// ```
/// use actix_web::{App, HttpResponse, web};
/// use hooksig::{Scheme, Verifier, actix::VerifySignature};
/// // `App::wrap` turns the transform into a `VerifySignatureMiddleware` per worker.
/// let app = App::new()
///     .wrap(VerifySignature::new(Verifier::new(Scheme::tale(), "s")?))
///     .route("/hook", web::post().to(HttpResponse::Ok));
/// # let _ = app;
/// # Ok::<(), hooksig::Error>(())
/// ```
pub struct VerifySignatureMiddleware<S> {
    service: Rc<S>,
    config: Rc<VerifySignature>,
}

impl<S> fmt::Debug for VerifySignatureMiddleware<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifySignatureMiddleware").field("config", &self.config).finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for VerifySignatureMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let config = Rc::clone(&self.config);
        Box::pin(async move {
            if let Err(error) = config.admit(&mut req).await {
                return Ok(config.reject(req, &error).map_into_right_body());
            }
            let verified = req.extensions().get::<crate::Verified>().cloned();
            let (Some(replay), Some(verified)) = (&config.replay, verified) else {
                return service.call(req).await.map(ServiceResponse::map_into_left_body);
            };
            // The request stays here unless the handler is called, to answer the other
            // cases with it.
            let mut pending = Some(req);
            let handler = |state: ReplayState| {
                let req = pending.take();
                async move {
                    let Some(req) = req else {
                        return Err(Error::InvalidConfig { reason: "request already handed on" }.into());
                    };
                    req.extensions_mut().insert(state);
                    service.call(req).await
                }
            };
            let processed = |out: &Result<ServiceResponse<B>, actix_web::Error>| {
                out.as_ref().is_ok_and(|res| res.status().is_success())
            };
            let guarded = replay.run(&verified, handler, processed).await;
            match (guarded, pending) {
                (Ok(Guarded::Handled(out)), _) => out.map(ServiceResponse::map_into_left_body),
                (Ok(early), Some(req)) => {
                    let (status, message) = early
                        .early_response()
                        .unwrap_or((http::StatusCode::INTERNAL_SERVER_ERROR, "internal error"));
                    Ok(req.into_response(super::replay_answer(status, message)).map_into_right_body())
                }
                (Err(error), Some(req)) => Ok(config.reject(req, &error).map_into_right_body()),
                (Ok(_) | Err(_), None) => {
                    Err(Error::InvalidConfig { reason: "request already handed on" }.into())
                }
            }
        })
    }
}
