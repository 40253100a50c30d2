//! [`VerifyService`]: the middleware itself.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use tower_service::Service;

use super::body::{BoxError, Collector};
use super::layer::Shared;
use super::{ResponseBody, ResponseFuture, VerifiedBody, VerifyLayer};
use crate::Verifier;

/// Middleware that verifies a request, then calls the inner service with
/// `Request<VerifiedBody>` and the [`crate::Verified`] extension.
///
/// Usually built by [`VerifyLayer`]. The inner service is called only for accepted
/// requests; every rejection is answered here.
///
/// ```
/// use std::convert::Infallible;
/// use hooksig::{Scheme, Verifier, tower::{VerifiedBody, VerifyService}};
///
/// let inner = tower::service_fn(|req: http::Request<VerifiedBody>| async move {
///     Ok::<_, Infallible>(http::Response::new(http_body_util::Full::new(req.into_body().into_bytes())))
/// });
/// let service = VerifyService::new(inner, Verifier::new(Scheme::tale(), "s")?);
/// let _inner = service.get_ref();
/// # Ok::<(), hooksig::Error>(())
/// ```
#[derive(Clone)]
pub struct VerifyService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> VerifyService<S> {
    /// Wraps `inner` with the default configuration for `verifier` (POST only, plain
    /// text rejections). For more, use [`VerifyLayer`].
    ///
    /// ```
    /// # use std::convert::Infallible;
    /// let inner = tower::service_fn(|_: http::Request<hooksig::tower::VerifiedBody>| async {
    ///     Ok::<_, Infallible>(http::Response::new(http_body_util::Empty::<bytes::Bytes>::new()))
    /// });
    /// let svc = hooksig::tower::VerifyService::new(inner, hooksig::Verifier::new(hooksig::Scheme::tale(), "s")?);
    /// # let _ = svc;
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn new(inner: S, verifier: Verifier) -> VerifyService<S> {
        let layer = VerifyLayer::new(verifier);
        VerifyService::from_shared(inner, layer.shared().clone())
    }

    pub(crate) fn from_shared(inner: S, shared: Arc<Shared>) -> VerifyService<S> {
        VerifyService { inner, shared }
    }

    /// The inner service.
    ///
    /// ```
    /// let svc = hooksig::tower::VerifyService::new(7u8, hooksig::Verifier::new(hooksig::Scheme::tale(), "s")?);
    /// assert_eq!(*svc.get_ref(), 7);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    ///
    /// ```
    /// let mut svc = hooksig::tower::VerifyService::new(7u8, hooksig::Verifier::new(hooksig::Scheme::tale(), "s")?);
    /// *svc.get_mut() = 8;
    /// assert_eq!(svc.into_inner(), 8);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    ///
    /// ```
    /// let svc = hooksig::tower::VerifyService::new(7u8, hooksig::Verifier::new(hooksig::Scheme::tale(), "s")?);
    /// assert_eq!(svc.into_inner(), 7);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B, ResBody> Service<Request<B>> for VerifyService<S>
where
    S: Service<Request<VerifiedBody>, Response = Response<ResBody>> + Clone,
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        // The service that was driven to readiness goes into the future; a fresh clone
        // stays here for the next request.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let shared = self.shared.clone();

        let gate = &shared.gate;
        let admitted = gate.admit(req.method().as_str(), req.headers()).and_then(|verification| {
            // `admit` has validated Content-Length (well formed, within the limit).
            let declared = crate::content_length(req.headers())?;
            Ok(Collector::new(verification, gate.max_body(), declared))
        });
        match admitted {
            Ok(collector) => {
                let (parts, body) = req.into_parts();
                ResponseFuture::reading(body, collector, parts, inner, shared)
            }
            Err(error) => ResponseFuture::rejected(error, shared),
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for VerifyService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyService")
            .field("inner", &self.inner)
            .field("gate", &self.shared.gate)
            .field("on_rejection", &self.shared.on_rejection.is_some())
            .field("replay", &self.shared.replay)
            .finish()
    }
}
