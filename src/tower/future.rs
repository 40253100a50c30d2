//! [`ResponseFuture`]: reads and verifies the body, then drives the inner service
//! (around the replay protocol, when a guard is configured).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response, StatusCode};
use http_body::Body;
use tower_service::Service;

use super::body::{BoxError, Collector};
use super::layer::Shared;
use super::{ResponseBody, VerifiedBody};
use crate::replay::{Claim, Decision, ReplayProtection, ReplayState};
use crate::{Error, Verified};

/// Claims a verified delivery; hands the proof back for the request extensions.
/// Boxed, and only built when a replay guard is configured.
type ClaimFuture = Pin<Box<dyn Future<Output = (Result<Decision, Error>, Verified)> + Send>>;

/// Completes or releases a claim once the inner service answered.
type FinishFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

pin_project_lite::pin_project! {
    /// Response future of [`super::VerifyService`].
    ///
    /// Reads the request body (bounded, hashing as it goes), then calls the inner
    /// service and forwards its response; or answers a rejection. Not boxed: it is
    /// `Send` when the inner service, its future, its response and the request body
    /// are. With a replay guard ([`super::VerifyLayer::replay_guard`]) the claim and
    /// its completion are the only boxed steps; the inner service's future never is.
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
        state: State<S, B, S::Future, Result<S::Response, S::Error>>,
        shared: Arc<Shared>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<S, B, F, O> {
        Reading {
            #[pin]
            body: B,
            collector: Collector,
            pending: Option<(Parts, S)>,
        },
        Claiming {
            future: ClaimFuture,
            pending: Option<(Parts, Bytes, S)>,
        },
        Calling {
            #[pin]
            future: F,
            // Held while the inner service runs: if this future is dropped (a panic
            // in the inner future, a cancelled request), the claim's `Drop` releases it.
            claim: Option<Claim>,
        },
        Finishing {
            future: FinishFuture,
            output: Option<O>,
        },
        Early {
            status: StatusCode,
            message: &'static str,
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

/// Only reachable if polled again after a panic in the inner service's `call`.
const POLLED_AFTER_PANIC: Error = Error::InvalidConfig { reason: "future polled after completion" };

/// Answers a delivery the inner service does not see (409 or 200-duplicate).
fn early<S, B, F, O>(state: ReplayState) -> State<S, B, F, O> {
    match state.early_response() {
        Some((status, message)) => State::Early { status, message },
        None => {
            State::Rejected { error: Error::InvalidConfig { reason: "no early response for this state" } }
        }
    }
}

fn claim(replay: &ReplayProtection, verified: Verified) -> ClaimFuture {
    let replay = replay.clone();
    Box::pin(async move { (replay.check(&verified).await, verified) })
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
                        (Ok((bytes, Some(verified))), Some((parts, inner))) => match &this.shared.replay {
                            Some(replay) => State::Claiming {
                                future: claim(replay, verified),
                                pending: Some((parts, bytes, inner)),
                            },
                            None => call(parts, bytes, Some(verified), None, inner),
                        },
                        // Basic-only gates verify no signature: nothing to claim.
                        (Ok((bytes, None)), Some((parts, inner))) => call(parts, bytes, None, None, inner),
                        (Err(error), _) => State::Rejected { error },
                        (Ok(_), None) => State::Rejected { error: POLLED_AFTER_PANIC },
                    };
                    this.state.set(next);
                }
                StateProj::Claiming { future, pending } => {
                    let (decision, verified) = ready!(future.as_mut().poll(cx));
                    let next = match (decision, pending.take()) {
                        (Ok(decision), Some((mut parts, bytes, inner))) => match decision {
                            Decision::Proceed(claim) => {
                                parts.extensions.insert(ReplayState::First);
                                call(parts, bytes, Some(verified), Some(claim), inner)
                            }
                            Decision::Unguarded => {
                                parts.extensions.insert(ReplayState::Unguarded);
                                call(parts, bytes, Some(verified), None, inner)
                            }
                            Decision::InProgress => early(ReplayState::InProgress),
                            Decision::Duplicate => early(ReplayState::Duplicate),
                        },
                        (Err(error), _) => State::Rejected { error },
                        (Ok(_), None) => State::Rejected { error: POLLED_AFTER_PANIC },
                    };
                    this.state.set(next);
                }
                StateProj::Calling { future, claim } => {
                    let output = ready!(future.poll(cx));
                    let Some(claim) = claim.take() else {
                        return Poll::Ready(output.map(|response| response.map(ResponseBody::inner)));
                    };
                    // Acknowledged (2xx) means processed: only then is the delivery done.
                    let processed = output.as_ref().is_ok_and(|response| response.status().is_success());
                    let future: FinishFuture = Box::pin(claim.finish(processed));
                    this.state.set(State::Finishing { future, output: Some(output) });
                }
                StateProj::Finishing { future, output } => {
                    ready!(future.as_mut().poll(cx));
                    return match output.take() {
                        Some(output) => Poll::Ready(output.map(|response| response.map(ResponseBody::inner))),
                        None => {
                            let response = this.shared.reject(&POLLED_AFTER_PANIC);
                            Poll::Ready(Ok(response.map(ResponseBody::rejection)))
                        }
                    };
                }
                StateProj::Early { status, message } => {
                    let response = super::replay_response(*status, message);
                    return Poll::Ready(Ok(response.map(ResponseBody::rejection)));
                }
                StateProj::Rejected { error } => {
                    let response = this.shared.reject(error);
                    return Poll::Ready(Ok(response.map(ResponseBody::rejection)));
                }
            }
        }
    }
}

/// Rebuilds the request around the verified bytes and calls the inner service.
fn call<S, B, O>(
    mut parts: Parts,
    bytes: Bytes,
    verified: Option<Verified>,
    claim: Option<Claim>,
    mut inner: S,
) -> State<S, B, S::Future, O>
where
    S: Service<Request<VerifiedBody>>,
{
    if let Some(verified) = verified {
        parts.extensions.insert(verified);
    }
    let request = Request::from_parts(parts, VerifiedBody::new(bytes));
    State::Calling { future: inner.call(request), claim }
}
