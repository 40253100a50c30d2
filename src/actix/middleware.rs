//! The [`VerifySignature`] middleware (actix-web-httpauth's `Transform` shape).

use std::fmt;
use std::future::{Ready, ready};
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{HttpMessage as _, HttpRequest};
use futures_util::future::LocalBoxFuture;

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
        VerifySignature { gate, on_rejection: None }
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
            match config.admit(&mut req).await {
                Ok(()) => service.call(req).await.map(ServiceResponse::map_into_left_body),
                Err(error) => Ok(config.reject(req, &error).map_into_right_body()),
            }
        })
    }
}
