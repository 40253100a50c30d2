//! [`VerifyService`]: the middleware itself.

use std::fmt;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use tower_service::Service;

use super::body::BoxError;
use super::{ResponseBody, ResponseFuture, VerifiedBody};
use crate::pipeline::Receiver;
use crate::verify::Verifier;

/// Middleware that verifies a request, then calls the inner service with
/// `Request<VerifiedBody>` and the [`crate::Verified`] extension.
///
/// Usually built by [`VerifyLayer`](super::VerifyLayer). The inner service is called only for accepted
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
    receiver: Receiver,
}

impl<S> VerifyService<S> {
    /// Wraps `inner` with the default configuration for `verifier` (POST only, plain
    /// text rejections). For more, use [`VerifyLayer`](super::VerifyLayer).
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
        VerifyService::from_receiver(inner, Receiver::new(verifier))
    }

    pub(crate) fn from_receiver(inner: S, receiver: Receiver) -> VerifyService<S> {
        VerifyService { inner, receiver }
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
        let receiver = self.receiver.clone();
        match receiver.admit(req.method().as_str(), req.headers()) {
            Ok(intake) => {
                let (parts, body) = req.into_parts();
                ResponseFuture::reading(body, intake, parts, inner, receiver)
            }
            Err(refusal) => {
                let response = receiver.respond(&refusal);
                ResponseFuture::answer(response, receiver)
            }
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for VerifyService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyService").field("inner", &self.inner).field("receiver", &self.receiver).finish()
    }
}
