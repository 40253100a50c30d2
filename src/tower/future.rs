//! [`ResponseFuture`]: moves the body into the pipeline, then drives the inner
//! service.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response};
use http_body::Body;
use tower_service::Service;

use super::body::{BoxError, is_length_limit};
use super::{ResponseBody, VerifiedBody};
use crate::error::Refusal;
use crate::pipeline::{Delivery, Intake, Proceeding, Received, Receiver};
use crate::replay::Pass;

/// Completes or releases a claim once the inner service answered.
type SettleFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

pin_project_lite::pin_project! {
    /// Response future of [`super::VerifyService`].
    ///
    /// Feeds the request body into the receive pipeline ([`crate::pipeline`]), then
    /// calls the inner service and forwards its response, or answers the refusal. Not
    /// boxed: it is `Send` when the inner service, its future, its response and the
    /// request body are. The verification state is boxed once per request (inside
    /// the pipeline's intake), so moving this future between its states moves a few
    /// words, not the hashing state. With a replay guard
    /// ([`super::VerifyLayer::replay_guard`]) the claim and its completion are the
    /// only other boxed steps; the inner service's future never is.
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
        receiver: Receiver,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    #[project_replace = StateOwned]
    enum State<S, B, F, O> {
        Reading {
            #[pin]
            body: B,
            // Taken out (a few hundred bytes, once) when the body ends; the state is
            // then replaced in place, not moved out whole.
            rest: Option<Rest<S>>,
        },
        Proceeding {
            // Boxed: only a pending claim is stored, and inline it would be the largest
            // state, copied whenever the future changes state.
            proceeding: Box<Proceeding>,
            parts: Parts,
            inner: S,
        },
        Calling {
            #[pin]
            future: F,
            // Held while the inner service runs: if this future is dropped (a panic
            // in the inner future, a cancelled request), the claim is released.
            pass: Option<Pass>,
        },
        Settling {
            future: SettleFuture,
            output: Option<O>,
        },
        Answer {
            response: Option<Response<Bytes>>,
        },
        Done,
    }
}

/// What a request being read holds besides its body.
struct Rest<S> {
    intake: Intake,
    parts: Parts,
    inner: S,
}

impl<S, B> ResponseFuture<S, B>
where
    S: Service<Request<VerifiedBody>>,
{
    pub(crate) fn reading(
        body: B,
        intake: Intake,
        parts: Parts,
        inner: S,
        receiver: Receiver,
    ) -> ResponseFuture<S, B> {
        ResponseFuture { state: State::Reading { body, rest: Some(Rest { intake, parts, inner }) }, receiver }
    }

    pub(crate) fn answer(response: Response<Bytes>, receiver: Receiver) -> ResponseFuture<S, B> {
        ResponseFuture { state: State::Answer { response: Some(response) }, receiver }
    }
}

/// A state of [`ResponseFuture`] for the inner service `S` and request body `B`.
type Next<S, B> = State<
    S,
    B,
    <S as Service<Request<VerifiedBody>>>::Future,
    Result<<S as Service<Request<VerifiedBody>>>::Response, <S as Service<Request<VerifiedBody>>>::Error>,
>;

/// The next state once the pipeline is through: the inner service called with the
/// delivery (its proof and replay state in the extensions), or the refusal's answer.
fn call<S, B>(
    result: Result<Delivery, Refusal>,
    mut parts: Parts,
    mut inner: S,
    receiver: &Receiver,
) -> Next<S, B>
where
    S: Service<Request<VerifiedBody>>,
{
    match result {
        Ok(delivery) => {
            if let Some(proof) = delivery.proof {
                parts.extensions.insert(proof);
            }
            if let Some(pass) = &delivery.pass {
                parts.extensions.insert(pass.state());
            }
            let request = Request::from_parts(parts, VerifiedBody::new(delivery.body));
            State::Calling { future: inner.call(request), pass: delivery.pass }
        }
        Err(refusal) => State::Answer { response: Some(receiver.respond(&refusal)) },
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
                StateProj::Reading { mut body, rest } => {
                    let Some(Rest { intake, .. }) = rest else {
                        return Poll::Pending; // not reachable: taken only when leaving `Reading`
                    };
                    let read = loop {
                        match ready!(body.as_mut().poll_frame(cx)) {
                            None => break Ok(()),
                            // Trailers are not covered by any scheme; they are dropped.
                            Some(Ok(frame)) => match frame.into_data() {
                                Ok(data) => {
                                    if let Err(refusal) = intake.push(data) {
                                        break Err(refusal);
                                    }
                                }
                                Err(_trailers) => {}
                            },
                            Some(Err(error)) => break Err(intake.read_error(is_length_limit(&*error.into()))),
                        }
                    };
                    // The body is done with: take the rest by value.
                    let Some(Rest { intake, mut parts, mut inner }) = rest.take() else {
                        return Poll::Pending; // not reachable: taken once, here
                    };
                    if read.is_ok() && this.receiver.replay().is_none() {
                        // Nothing to claim: the proof goes straight into the extensions.
                        match intake.finish_into(|matched| {
                            parts.extensions.insert(matched.into_verified());
                        }) {
                            Ok(body) => {
                                let request = Request::from_parts(parts, VerifiedBody::new(body));
                                this.state.set(State::Calling { future: inner.call(request), pass: None });
                            }
                            Err(refusal) => {
                                this.state
                                    .set(State::Answer { response: Some(this.receiver.respond(&refusal)) });
                            }
                        }
                        continue;
                    }
                    let next = match read.and_then(|()| intake.finish()) {
                        Ok(received) if !this.receiver.claims(&received) => {
                            let Received { proof, body } = received;
                            call(Ok(Delivery { proof, body, pass: None }), parts, inner, this.receiver)
                        }
                        Ok(received) => {
                            let mut proceeding = this.receiver.proceed(received);
                            // A claim the guard settles at once (the memory guard) goes
                            // straight on too, without storing it (it is large).
                            match Pin::new(&mut proceeding).poll(cx) {
                                Poll::Ready(result) => call(result, parts, inner, this.receiver),
                                Poll::Pending => {
                                    State::Proceeding { proceeding: Box::new(proceeding), parts, inner }
                                }
                            }
                        }
                        Err(refusal) => State::Answer { response: Some(this.receiver.respond(&refusal)) },
                    };
                    this.state.set(next);
                }
                StateProj::Proceeding { proceeding, .. } => {
                    let result = ready!(Pin::new(&mut **proceeding).poll(cx));
                    let StateOwned::Proceeding { parts, inner, .. } =
                        this.state.as_mut().project_replace(State::Done)
                    else {
                        return Poll::Pending; // not reachable: we are in `Proceeding`
                    };
                    let next = call(result, parts, inner, this.receiver);
                    this.state.set(next);
                }
                StateProj::Calling { future, pass } => {
                    let output = ready!(future.poll(cx));
                    let Some(pass) = pass.take() else {
                        this.state.set(State::Done);
                        return Poll::Ready(output.map(|response| response.map(ResponseBody::inner)));
                    };
                    // Acknowledged (2xx) means processed: only then is the delivery done.
                    let processed = output.as_ref().is_ok_and(|response| response.status().is_success());
                    let future: SettleFuture = Box::pin(pass.finish(processed));
                    this.state.set(State::Settling { future, output: Some(output) });
                }
                StateProj::Settling { future, output } => {
                    ready!(future.as_mut().poll(cx));
                    let output = output.take();
                    this.state.set(State::Done);
                    return match output {
                        Some(output) => Poll::Ready(output.map(|response| response.map(ResponseBody::inner))),
                        None => Poll::Pending, // not reachable: the output is taken once
                    };
                }
                StateProj::Answer { response } => {
                    let response = response.take();
                    this.state.set(State::Done);
                    return match response {
                        Some(response) => Poll::Ready(Ok(response.map(ResponseBody::rejection))),
                        None => Poll::Pending, // not reachable: the answer is taken once
                    };
                }
                // Polled after completion: a contract violation; never ready again.
                StateProj::Done => return Poll::Pending,
            }
        }
    }
}
