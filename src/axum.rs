//! axum integration (feature `axum`): the [`Verified`] and [`VerifiedOnce`]
//! extractors, and [`IntoResponse`] for [`crate::Error`]. For the layer, see
//! [`crate::tower`]; it works with `Router::route_layer` as it is.
//!
//! ```no_run
//! use axum::{Json, Router, routing::post};
//! use hooksig::{Scheme, Verifier, axum::Verified};
//!
//! #[derive(serde::Deserialize)]
//! struct Event {
//!     action: String,
//! }
//!
//! // The handler runs only for a delivery whose signature matched; the body is then
//! // parsed by the inner extractor.
//! async fn hook(Verified(Json(event), proof): Verified<Json<Event>>) -> String {
//!     format!("{} (key {})", event.action, proof.key_index())
//! }
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::new(Scheme::github(), std::env::var("GITHUB_WEBHOOK_SECRET")?)?;
//! let app = Router::new().route("/hooks/github", post(hook)).with_state(verifier);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```
//!
//! The extractor takes the [`Verifier`] from the router state through [`FromRef`], so
//! a larger state only needs a `FromRef` impl (or `#[derive(FromRef)]`) for it. It
//! checks `Content-Length` against the verifier's limit (413), then the signature
//! headers (401/400), then reads the body hashing as it goes, bounded by the smaller
//! of the verifier's limit and axum's `DefaultBodyLimit` (413), and hands the exact
//! bytes to the inner extractor. Behind [`crate::tower::VerifyLayer`] it reuses the
//! layer's [`crate::verify::Verified`] extension, without hashing again, when that proof came
//! from the same verifier ([`crate::verify::Verified::is_from`]: the layer and the state hold
//! clones of one `Verifier`); a proof from any other verifier (a layer holding other
//! tenants' secrets) is not trusted, and the extractor verifies the body itself.
//!
//! The extractor needs the [`Verifier`] in the router state even behind the layer:
//! `Router::new().route(…).with_state(verifier.clone())` (a `Router<Verifier>` until
//! `with_state` is called), or a `FromRef` impl on a larger state.
//!
//! [`VerifiedOnce`] does the same and then runs the replay protocol
//! ([`crate::replay`]) around the handler: it answers duplicates itself, and the
//! handler acknowledges a delivery only after [`VerifiedOnce::complete`].

use std::fmt;
use std::future::poll_fn;

use axum_core::RequestExt;
use axum_core::body::Body;
use axum_core::extract::{FromRef, FromRequest, Request};
use axum_core::response::{IntoResponse, Response};
use http_body::Body as _;

use crate::error::{Error, Refusal};
pub use crate::pipeline::VerifiedOnce;
use crate::pipeline::{Chunks, default_response};
use crate::replay::{Pass, ReplayProtection, ReplayState};
use crate::tower::{VerifiedBody, is_length_limit};
use crate::verify::Verifier;

/// Extractor that verifies the request, then runs the inner extractor `T` on the
/// verified bytes: `Verified<Json<Event>>`, `Verified<Bytes>`, `Verified<String>`.
///
/// The second field is the proof, [`crate::verify::Verified`]: which key matched, the
/// timestamp and the delivery id. Fails with [`VerifiedRejection`].
///
/// ```
/// use axum::{Router, body::Bytes, routing::post};
/// use hooksig::{Scheme, Verifier, axum::Verified};
///
/// async fn hook(Verified(body, proof): Verified<Bytes>) -> String {
///     format!("{} bytes, delivery {:?}", body.len(), proof.id())
/// }
///
/// let app: Router = Router::new()
///     .route("/hooks/stripe", post(hook))
///     .with_state(Verifier::new(Scheme::stripe(), "whsec_test")?);
/// # Ok::<(), hooksig::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Verified<T>(pub T, pub crate::verify::Verified);

impl<T> Verified<T> {
    /// The extracted value, without the proof.
    ///
    /// ```
    /// # use hooksig::{Scheme, Signer, Verifier};
    /// # let headers = Signer::new(Scheme::tale(), "s")?.sign(b"x")?;
    /// # let proof = Verifier::new(Scheme::tale(), "s")?.verify(&headers, b"x")?;
    /// let extracted = hooksig::axum::Verified(String::from("x"), proof);
    /// assert_eq!(extracted.into_inner(), "x");
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }

    /// The proof of verification.
    ///
    /// ```
    /// # use hooksig::{Scheme, Signer, Verifier};
    /// # let headers = Signer::new(Scheme::tale(), "s")?.sign(b"x")?;
    /// # let proof = Verifier::new(Scheme::tale(), "s")?.verify(&headers, b"x")?;
    /// let extracted = hooksig::axum::Verified((), proof);
    /// assert_eq!(extracted.proof().key_index(), 0);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn proof(&self) -> &crate::verify::Verified {
        &self.1
    }
}

impl<T> std::ops::Deref for Verified<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Verified<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<S, T> FromRequest<S> for Verified<T>
where
    S: Send + Sync,
    T: FromRequest<S>,
    Verifier: FromRef<S>,
{
    type Rejection = VerifiedRejection<T::Rejection>;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Verifier::from_ref(state);
        let (req, proof) = match trusted_proof(&req, &verifier) {
            // Verified by a layer with this very verifier: the body is the verified one.
            Some(proof) => (req, proof),
            None => {
                let (req, proof, _) = read_verified(req, &verifier).await.map_err(log)?;
                (req, proof)
            }
        };
        let value = T::from_request(req, state).await.map_err(VerifiedRejection::Inner)?;
        Ok(Verified(value, proof))
    }
}

/// The layer's proof, if it came from `verifier` (an identity check).
fn trusted_proof(req: &Request, verifier: &Verifier) -> Option<crate::verify::Verified> {
    req.extensions().get::<crate::verify::Verified>().filter(|proof| proof.is_from(verifier)).cloned()
}

/// Logs a refusal (feature `tracing`), as the pipeline does.
fn log(refusal: Refusal) -> Refusal {
    #[cfg(feature = "tracing")]
    tracing::debug!(target: "hooksig", status = refusal.status().as_u16(), reason = %refusal, "delivery refused");
    refusal
}

/// Reads and verifies the body; rebuilds the request around the exact bytes, with the
/// proof in its extensions.
async fn read_verified(
    req: Request,
    verifier: &Verifier,
) -> Result<(Request, crate::verify::Verified, Chunks), Refusal> {
    // Checks Content-Length against the limit, then the signature headers.
    let mut verification = verifier.begin(req.headers())?;
    let (mut parts, chunks) = collect(req, |chunk| verification.update(chunk)).await?;
    let proof = verification.finish()?;
    parts.extensions.insert(proof.clone());
    Ok((rebuild(parts, &chunks), proof, chunks))
}

/// Reads a body a layer verified already (it is in memory), to key it.
async fn read_verified_by_layer(req: Request) -> Result<(Request, Chunks), Refusal> {
    let (parts, chunks) = collect(req, |_| Ok(())).await?;
    Ok((rebuild(parts, &chunks), chunks))
}

/// Reads the body frame by frame into [`Chunks`], bounded by axum's
/// `DefaultBodyLimit` (2 MB unless configured), handing each chunk to `take` first.
async fn collect(
    req: Request,
    mut take: impl FnMut(&[u8]) -> Result<(), Error>,
) -> Result<(http::request::Parts, Chunks), Refusal> {
    let (parts, body) = req.with_limited_body().into_parts();
    let mut body = std::pin::pin!(body);
    let mut chunks = Chunks::new();
    while let Some(frame) = poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let frame = frame.map_err(|error| {
            if is_length_limit(&error) {
                Error::BodyTooLarge { limit: chunks.len() }
            } else {
                Error::BodyRead
            }
        })?;
        // Trailers are not covered by any scheme; they are dropped.
        if let Ok(data) = frame.into_data() {
            take(&data)?;
            chunks.push(data);
        }
    }
    Ok((parts, chunks))
}

fn rebuild(parts: http::request::Parts, chunks: &Chunks) -> Request {
    Request::from_parts(parts, Body::new(VerifiedBody::new(chunks.clone())))
}

/// [`VerifiedOnce<T>`] with axum: [`Verified<T>`] that also processes each delivery
/// once, for a handler that must not run twice for one delivery, without a layer.
///
/// It verifies like [`Verified<T>`], extracts `T`, then claims the delivery with the
/// [`ReplayProtection`] from the router state (through [`FromRef`]):
///
/// - **first sight**: the handler runs, holding the claim. After processing it
///   calls [`VerifiedOnce::complete`] and then answers 2xx. If it does not complete
///   (an error return, an early return, a panic), the claim is released when the
///   extractor is dropped, so the sender's retry is processed: nothing is
///   acknowledged as done that was not processed.
/// - **in progress** elsewhere: rejected with 409 `delivery in progress`, the
///   handler does not run (the sender retries later).
/// - **already done**: rejected with 200 `duplicate delivery`, the handler does not
///   run (the sender stops retrying).
/// - **store unavailable**: 503 with [`FailMode::Closed`](crate::replay::FailMode)
///   (the default); with `FailMode::Open` the handler runs unguarded
///   ([`ReplayState::Unguarded`]).
///
/// Behind a [`crate::tower::VerifyLayer`] with a
/// [`replay_guard`](crate::tower::VerifyLayer::replay_guard) the layer has run the
/// protocol already (a [`ReplayState`] is in the request extensions): the extractor
/// does not claim again, and [`complete`](VerifiedOnce::complete) is a no-op since
/// the layer completes on a 2xx response.
///
/// The extractor cannot see the handler's response; completing and then answering
/// something other than 2xx would acknowledge to the store what the sender will
/// retry. Complete last.
///
/// ```
/// use axum::extract::FromRef;
/// use axum::http::StatusCode;
/// use axum::{Json, Router, routing::post};
/// use hooksig::axum::VerifiedOnce;
/// use hooksig::replay::{MemoryReplayGuard, ReplayProtection};
/// use hooksig::{Scheme, Verifier};
///
/// #[derive(Clone)]
/// struct AppState {
///     verifier: Verifier,
///     replay: ReplayProtection,
/// }
///
/// // Or `#[derive(FromRef)]` with axum's `macros` feature.
/// impl FromRef<AppState> for Verifier {
///     fn from_ref(state: &AppState) -> Verifier {
///         state.verifier.clone()
///     }
/// }
/// impl FromRef<AppState> for ReplayProtection {
///     fn from_ref(state: &AppState) -> ReplayProtection {
///         state.replay.clone()
///     }
/// }
///
/// async fn hook(mut event: VerifiedOnce<Json<serde_json::Value>>) -> Result<StatusCode, hooksig::Error> {
///     // ... process `event` (it derefs to the `Json`) ...
///     event.complete().await?; // recorded as done: duplicates now get 200 without running this
///     Ok(StatusCode::NO_CONTENT)
/// }
///
/// let state = AppState {
///     verifier: Verifier::new(Scheme::tale(), "s")?,
///     replay: ReplayProtection::new(MemoryReplayGuard::new(100_000)),
/// };
/// let app: Router = Router::new().route("/hooks/tale", post(hook)).with_state(state);
/// # Ok::<(), hooksig::Error>(())
/// ```
impl<S, T> FromRequest<S> for VerifiedOnce<T>
where
    S: Send + Sync,
    T: FromRequest<S>,
    Verifier: FromRef<S>,
    ReplayProtection: FromRef<S>,
{
    type Rejection = VerifiedRejection<T::Rejection>;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Verifier::from_ref(state);
        let trusted = trusted_proof(&req, &verifier);
        // A layer that verified with this verifier and ran the protocol holds the
        // claim (or ran unguarded): do not claim again.
        let ran = trusted.as_ref().and_then(|_| req.extensions().get::<ReplayState>().copied());
        let (req, proof, pass) = match (trusted, ran) {
            (Some(proof), Some(ran)) => (req, proof, Pass::unclaimed(ran)),
            (Some(proof), None) => {
                let (req, chunks) = read_verified_by_layer(req).await.map_err(log)?;
                let pass = ReplayProtection::from_ref(state).check_chunks(&proof, chunks.slices()).await;
                (req, proof, pass.map_err(log)?)
            }
            (None, _) => {
                let (req, proof, chunks) = read_verified(req, &verifier).await.map_err(log)?;
                let pass = ReplayProtection::from_ref(state).check_chunks(&proof, chunks.slices()).await;
                (req, proof, pass.map_err(log)?)
            }
        };
        // Claimed before `T` reads the body, so that a copy in progress or done is
        // answered without parsing; if `T` refuses the body, the pass is dropped and
        // its claim released.
        let value = T::from_request(req, state).await.map_err(VerifiedRejection::Inner)?;
        Ok(VerifiedOnce::new(value, proof, pass))
    }
}

/// Why [`Verified`] or [`VerifiedOnce`] did not run the handler: the pipeline
/// refused the delivery (a failed check, or for [`VerifiedOnce`] a copy in progress,
/// a duplicate, a replay store down), or the inner extractor refused it.
///
/// Answers with the refusal's response ([`default_response`]) or the inner
/// rejection's. Match on it to answer in your own format:
///
/// ```
/// use axum::{Json, extract::rejection::JsonRejection, http::StatusCode};
/// use hooksig::axum::{Verified, VerifiedRejection};
///
/// async fn hook(
///     event: Result<Verified<Json<serde_json::Value>>, VerifiedRejection<JsonRejection>>,
/// ) -> (StatusCode, Json<serde_json::Value>) {
///     match event {
///         Ok(Verified(Json(event), _)) => (StatusCode::OK, Json(event)),
///         Err(VerifiedRejection::Refused(refusal)) => {
///             (refusal.status(), Json(serde_json::json!({ "error": refusal.public_message() })))
///         }
///         Err(VerifiedRejection::Inner(rejection)) => {
///             (rejection.status(), Json(serde_json::json!({ "error": rejection.body_text() })))
///         }
///     }
/// }
/// # let _ = hook;
/// ```
pub enum VerifiedRejection<R> {
    /// The delivery was refused: answer [`Refusal::status`], log the reason.
    Refused(Refusal),
    /// The inner extractor refused the verified request.
    Inner(R),
}

impl<R> From<Refusal> for VerifiedRejection<R> {
    fn from(refusal: Refusal) -> Self {
        VerifiedRejection::Refused(refusal)
    }
}

impl<R> From<Error> for VerifiedRejection<R> {
    fn from(error: Error) -> Self {
        VerifiedRejection::Refused(error.into())
    }
}

impl<R: fmt::Debug> fmt::Debug for VerifiedRejection<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifiedRejection::Refused(refusal) => f.debug_tuple("Refused").field(refusal).finish(),
            VerifiedRejection::Inner(inner) => f.debug_tuple("Inner").field(inner).finish(),
        }
    }
}

impl<R: IntoResponse> IntoResponse for VerifiedRejection<R> {
    fn into_response(self) -> Response {
        match self {
            VerifiedRejection::Refused(refusal) => refusal.into_response(),
            VerifiedRejection::Inner(inner) => inner.into_response(),
        }
    }
}

/// [`default_response`]: the refusal's status and short text, with `Allow: POST` on
/// 405, `WWW-Authenticate: Basic realm="webhooks"` on failed credentials and
/// `Retry-After` on 409 and 503 (a layer, which knows its configuration, answers
/// through its [`Receiver`](crate::pipeline::Receiver) instead).
///
/// ```
/// use axum::response::IntoResponse;
/// let res = hooksig::Refusal::Duplicate.into_response();
/// assert_eq!(res.status(), 200);
/// assert_eq!(hooksig::Refusal::InProgress.into_response().status(), 409);
/// ```
impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        default_response(&self).map(Body::from)
    }
}

/// As for [`Refusal`]: [`default_response`] with [`Error::status`] and
/// [`Error::public_message`] as `text/plain`; a 405 carries `Allow: POST` and a 401 for
/// [`Error::Unauthorized`] the default `WWW-Authenticate: Basic realm="webhooks"` (the
/// layer, which knows its configuration, answers through its
/// [`Receiver`](crate::pipeline::Receiver) instead).
///
/// ```
/// use axum::response::IntoResponse;
/// let res = hooksig::Error::SignatureMismatch.into_response();
/// assert_eq!(res.status(), 401);
/// assert_eq!(res.headers()["content-type"], "text/plain; charset=utf-8");
/// assert_eq!(hooksig::Error::MethodNotAllowed.into_response().headers()["allow"], "POST");
/// ```
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        Refusal::from(self).into_response()
    }
}
