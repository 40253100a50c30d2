//! [`ResponseFuture`]: reads and verifies the body, then drives the inner service.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response};
use http_body::Body;
use tower_service::Service;

use super::body::{BoxError, Collector};
use super::layer::Shared;
use super::{ResponseBody, VerifiedBody};
use crate::Error;

pin_project_lite::pin_project! {
    /// Response future of [`super::VerifyService`].
    ///
    /// Reads the request body (bounded, hashing as it goes), then calls the inner
    /// service and forwards its response; or answers a rejection. Not boxed: it is
    /// `Send` when the inner service, its future and the request body are.
    ///
    /// ```
    /// # use std::convert::Infallible;
    /// use hooksig::tower::{ResponseFuture, VerifiedBody, VerifyService};
    /// use tower_service::Service;
    /// type Inner = tower::util::ServiceFn<fn(http::Request<VerifiedBody>) -> std::future::Ready<Result<http::Response<String>, Infallible>>>;
    /// fn assert_send<T: Send>(_: &T) {}
    /// let inner: Inner = tower::service_fn(|_| std::future::ready(Ok(http::Response::new(String::new()))));
    /// let mut svc = VerifyService::new(inner, hooksig::Verifier::new(hooksig::Scheme::tale(), "s")?);
    /// let fut: ResponseFuture<Inner, String> = svc.call(http::Request::new(String::new()));
    /// assert_send(&fut);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub struct ResponseFuture<S, B>
    where
        S: Service<Request<VerifiedBody>>,
    {
        #[pin]
        state: State<S, B, S::Future>,
        shared: Arc<Shared>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<S, B, F> {
        Reading {
            #[pin]
            body: B,
            collector: Collector,
            pending: Option<(Parts, S)>,
        },
        Calling {
            #[pin]
            future: F,
        },
        Rejected {
            error: Error,
        },
    }
}

impl<S, B> ResponseFuture<S, B>
where
    S: Service<Request<VerifiedBody>>,
{
    pub(crate) fn reading(
        body: B,
        collector: Collector,
        parts: Parts,
        inner: S,
        shared: Arc<Shared>,
    ) -> ResponseFuture<S, B> {
        ResponseFuture { state: State::Reading { body, collector, pending: Some((parts, inner)) }, shared }
    }

    pub(crate) fn rejected(error: Error, shared: Arc<Shared>) -> ResponseFuture<S, B> {
        ResponseFuture { state: State::Rejected { error }, shared }
    }
}

impl<S, B, ResBody> Future for ResponseFuture<S, B>
where
    S: Service<Request<VerifiedBody>, Response = Response<ResBody>>,
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<ResponseBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Reading { body, collector, pending } => {
                    let collected = ready!(collector.poll_collect(body, cx));
                    let next = match (collected, pending.take()) {
                        (Ok((bytes, verified)), Some((mut parts, mut inner))) => {
                            if let Some(verified) = verified {
                                parts.extensions.insert(verified);
                            }
                            let request = Request::from_parts(parts, VerifiedBody::new(bytes));
                            State::Calling { future: inner.call(request) }
                        }
                        (Err(error), _) => State::Rejected { error },
                        // Only reachable if polled again after a panic in `call`.
                        (Ok(_), None) => State::Rejected {
                            error: Error::InvalidConfig { reason: "future polled after completion" },
                        },
                    };
                    this.state.set(next);
                }
                StateProj::Calling { future } => {
                    let response = ready!(future.poll(cx))?;
                    return Poll::Ready(Ok(response.map(ResponseBody::inner)));
                }
                StateProj::Rejected { error } => {
                    let response = this.shared.reject(error);
                    return Poll::Ready(Ok(response.map(ResponseBody::rejection)));
                }
            }
        }
    }
}
