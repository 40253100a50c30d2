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
//! bytes to the inner extractor. Behind [`crate::tower::VerifyLayer`] it finds the
//! layer's [`crate::Verified`] extension and does not hash again.
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
use http::{HeaderValue, header};

use crate::replay::{Claim, Decision, ReplayProtection, ReplayState, ReplayStoreError};
use crate::tower::{Collector, plain_rejection, replay_response};
use crate::{Error, Verifier};

/// Extractor that verifies the request, then runs the inner extractor `T` on the
/// verified bytes: `Verified<Json<Event>>`, `Verified<Bytes>`, `Verified<String>`.
///
/// The second field is the proof, [`crate::Verified`]: which key matched, the
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
pub struct Verified<T>(pub T, pub crate::Verified);

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
    pub fn proof(&self) -> &crate::Verified {
        &self.1
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
        let (req, proof) = verified_request(req, &Verifier::from_ref(state)).await?;
        let value = T::from_request(req, state).await.map_err(VerifiedRejection::Inner)?;
        Ok(Verified(value, proof))
    }
}

/// The layer's proof if it ran, else the request verified here.
async fn verified_request(req: Request, verifier: &Verifier) -> Result<(Request, crate::Verified), Error> {
    match req.extensions().get::<crate::Verified>().cloned() {
        // Already verified by the layer: the body is the verified one.
        Some(proof) => Ok((req, proof)),
        None => verify(req, verifier).await.inspect_err(|_error| {
            #[cfg(feature = "tracing")]
            tracing::debug!(error = %_error, status = _error.status().as_u16(), "hooksig: request rejected");
        }),
    }
}

/// [`Verified<T>`] that also processes each delivery once: the extractor for a
/// handler that must not run twice for one delivery, without a layer.
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
#[derive(Debug)]
#[must_use = "complete the delivery once it is processed; dropped, it is released"]
pub struct VerifiedOnce<T> {
    value: T,
    proof: crate::Verified,
    state: ReplayState,
    claim: Option<Claim>,
}

impl<T> VerifiedOnce<T> {
    /// Records the delivery as processed: later copies are answered 200
    /// `duplicate delivery` without running the handler. Call it after processing,
    /// right before answering 2xx.
    ///
    /// A no-op when no claim is held: behind a layer that runs the protocol (it
    /// completes on the 2xx response), when the store was down and the fail mode is
    /// open, or after a first `complete`. A store error is returned (it converts into
    /// [`Error::ReplayStoreUnavailable`]); the claim then lapses with its lease.
    ///
    /// ```
    /// use hooksig::axum::VerifiedOnce;
    /// async fn hook(mut delivery: VerifiedOnce<String>) -> Result<&'static str, hooksig::Error> {
    ///     println!("processing {} bytes", delivery.len());
    ///     delivery.complete().await?;
    ///     Ok("processed")
    /// }
    /// # #[derive(Clone)] struct S(hooksig::Verifier, hooksig::replay::ReplayProtection);
    /// # impl axum::extract::FromRef<S> for hooksig::Verifier { fn from_ref(s: &S) -> Self { s.0.clone() } }
    /// # impl axum::extract::FromRef<S> for hooksig::replay::ReplayProtection { fn from_ref(s: &S) -> Self { s.1.clone() } }
    /// # let _ = axum::routing::post::<_, _, S>(hook);
    /// ```
    pub async fn complete(&mut self) -> Result<(), ReplayStoreError> {
        match self.claim.take() {
            Some(claim) => claim.complete().await.map(drop),
            None => Ok(()),
        }
    }

    /// Gives the claim back now, so that the sender's retry is processed (dropping
    /// the extractor does the same, in the background).
    ///
    /// ```
    /// use axum::http::StatusCode;
    /// use hooksig::axum::VerifiedOnce;
    /// async fn hook(mut delivery: VerifiedOnce<String>) -> StatusCode {
    ///     if delivery.is_empty() {
    ///         let _ = delivery.release().await;
    ///         return StatusCode::SERVICE_UNAVAILABLE; // the sender retries
    ///     }
    ///     match delivery.complete().await {
    ///         Ok(()) => StatusCode::OK,
    ///         Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    ///     }
    /// }
    /// # #[derive(Clone)] struct S(hooksig::Verifier, hooksig::replay::ReplayProtection);
    /// # impl axum::extract::FromRef<S> for hooksig::Verifier { fn from_ref(s: &S) -> Self { s.0.clone() } }
    /// # impl axum::extract::FromRef<S> for hooksig::replay::ReplayProtection { fn from_ref(s: &S) -> Self { s.1.clone() } }
    /// # let _ = axum::routing::post::<_, _, S>(hook);
    /// ```
    pub async fn release(&mut self) -> Result<(), ReplayStoreError> {
        match self.claim.take() {
            Some(claim) => claim.release().await.map(drop),
            None => Ok(()),
        }
    }

    /// Which case the handler runs in: [`ReplayState::First`] (a claim is held, here
    /// or by the layer) or [`ReplayState::Unguarded`].
    ///
    /// ```
    /// use hooksig::{axum::VerifiedOnce, replay::ReplayState};
    /// async fn hook(delivery: VerifiedOnce<String>) -> &'static str {
    ///     if delivery.state() == ReplayState::Unguarded { "maybe a duplicate" } else { "first" }
    /// }
    /// # #[derive(Clone)] struct S(hooksig::Verifier, hooksig::replay::ReplayProtection);
    /// # impl axum::extract::FromRef<S> for hooksig::Verifier { fn from_ref(s: &S) -> Self { s.0.clone() } }
    /// # impl axum::extract::FromRef<S> for hooksig::replay::ReplayProtection { fn from_ref(s: &S) -> Self { s.1.clone() } }
    /// # let _ = axum::routing::post::<_, _, S>(hook);
    /// ```
    pub fn state(&self) -> ReplayState {
        self.state
    }

    /// The proof of verification.
    ///
    /// ```
    /// async fn hook(delivery: hooksig::axum::VerifiedOnce<String>) -> String {
    ///     format!("key {}", delivery.proof().key_index())
    /// }
    /// # #[derive(Clone)] struct S(hooksig::Verifier, hooksig::replay::ReplayProtection);
    /// # impl axum::extract::FromRef<S> for hooksig::Verifier { fn from_ref(s: &S) -> Self { s.0.clone() } }
    /// # impl axum::extract::FromRef<S> for hooksig::replay::ReplayProtection { fn from_ref(s: &S) -> Self { s.1.clone() } }
    /// # let _ = axum::routing::post::<_, _, S>(hook);
    /// ```
    pub fn proof(&self) -> &crate::Verified {
        &self.proof
    }

    /// The extracted value, the proof and the claim (if this extractor holds one), to
    /// move them apart; complete the claim after processing.
    ///
    /// ```
    /// use axum::Json;
    /// async fn hook(delivery: hooksig::axum::VerifiedOnce<Json<serde_json::Value>>) -> Result<(), hooksig::Error> {
    ///     let (Json(event), _proof, claim) = delivery.into_parts();
    ///     drop(event); // ... process it ...
    ///     if let Some(claim) = claim {
    ///         claim.complete().await?;
    ///     }
    ///     Ok(())
    /// }
    /// # #[derive(Clone)] struct S(hooksig::Verifier, hooksig::replay::ReplayProtection);
    /// # impl axum::extract::FromRef<S> for hooksig::Verifier { fn from_ref(s: &S) -> Self { s.0.clone() } }
    /// # impl axum::extract::FromRef<S> for hooksig::replay::ReplayProtection { fn from_ref(s: &S) -> Self { s.1.clone() } }
    /// # let _ = axum::routing::post::<_, _, S>(hook);
    /// ```
    pub fn into_parts(self) -> (T, crate::Verified, Option<Claim>) {
        (self.value, self.proof, self.claim)
    }
}

impl<T> std::ops::Deref for VerifiedOnce<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> std::ops::DerefMut for VerifiedOnce<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<S, T> FromRequest<S> for VerifiedOnce<T>
where
    S: Send + Sync,
    T: FromRequest<S>,
    Verifier: FromRef<S>,
    ReplayProtection: FromRef<S>,
{
    type Rejection = VerifiedOnceRejection<T::Rejection>;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // The layer ran the protocol already (it holds the claim, or the store was
        // down and the fail mode is open): do not claim again.
        let ran = req.extensions().get::<ReplayState>().copied();
        let (req, proof) = verified_request(req, &Verifier::from_ref(state)).await?;
        let (replay_state, claim) = match ran {
            Some(ran) => (ran, None),
            None => match ReplayProtection::from_ref(state).check(&proof).await? {
                Decision::Proceed(claim) => (ReplayState::First, Some(claim)),
                Decision::Unguarded => (ReplayState::Unguarded, None),
                Decision::InProgress => return Err(VerifiedOnceRejection::InProgress),
                Decision::Duplicate => return Err(VerifiedOnceRejection::Duplicate),
            },
        };
        // Claimed before `T` reads the body, so that a copy in progress or done is
        // answered without parsing; if `T` refuses the body, the claim is dropped and
        // so released.
        let value = T::from_request(req, state).await.map_err(VerifiedOnceRejection::Inner)?;
        Ok(VerifiedOnce { value, proof, state: replay_state, claim })
    }
}

/// Why [`VerifiedOnce`] did not run the handler.
///
/// ```
/// use axum::response::IntoResponse;
/// use hooksig::axum::VerifiedOnceRejection;
/// let res = VerifiedOnceRejection::<()>::Duplicate.into_response();
/// assert_eq!(res.status(), 200);
/// assert_eq!(VerifiedOnceRejection::<()>::InProgress.into_response().status(), 409);
/// ```
pub enum VerifiedOnceRejection<R> {
    /// The delivery was refused (or the replay store is down and the fail mode is
    /// closed: 503): answer [`Error::status`], log the error.
    Verification(Error),
    /// The inner extractor refused the verified request.
    Inner(R),
    /// Another worker is processing this delivery: 409 `delivery in progress`.
    InProgress,
    /// This delivery was processed already: 200 `duplicate delivery`.
    Duplicate,
}

impl<R> From<Error> for VerifiedOnceRejection<R> {
    fn from(error: Error) -> Self {
        VerifiedOnceRejection::Verification(error)
    }
}

impl<R: fmt::Debug> fmt::Debug for VerifiedOnceRejection<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifiedOnceRejection::Verification(error) => f.debug_tuple("Verification").field(error).finish(),
            VerifiedOnceRejection::Inner(inner) => f.debug_tuple("Inner").field(inner).finish(),
            VerifiedOnceRejection::InProgress => f.write_str("InProgress"),
            VerifiedOnceRejection::Duplicate => f.write_str("Duplicate"),
        }
    }
}

impl<R: IntoResponse> IntoResponse for VerifiedOnceRejection<R> {
    fn into_response(self) -> Response {
        let state = match self {
            VerifiedOnceRejection::Verification(error) => return error.into_response(),
            VerifiedOnceRejection::Inner(inner) => return inner.into_response(),
            VerifiedOnceRejection::InProgress => ReplayState::InProgress,
            VerifiedOnceRejection::Duplicate => ReplayState::Duplicate,
        };
        match state.early_response() {
            Some((status, message)) => replay_response(status, message).map(Body::from),
            None => Error::InvalidConfig { reason: "no early response for this state" }.into_response(),
        }
    }
}

/// Reads and verifies the body; returns the request rebuilt around the exact bytes,
/// with the proof in its extensions.
async fn verify(req: Request, verifier: &Verifier) -> Result<(Request, crate::Verified), Error> {
    let limit = verifier.max_body();
    let declared = crate::content_length(req.headers())?;
    if declared.is_some_and(|len| len > limit) {
        return Err(Error::BodyTooLarge { limit });
    }
    let verification = verifier.begin(req.headers())?;
    // `DefaultBodyLimit` (2 MB unless configured) wraps the body in a length limit.
    let (mut parts, body) = req.with_limited_body().into_parts();
    let mut collector = Collector::new(Some(verification), limit, declared);
    let mut body = std::pin::pin!(body);
    let (bytes, proof) = poll_fn(|cx| collector.poll_collect(body.as_mut(), cx)).await?;
    let proof = proof.ok_or(Error::InvalidConfig { reason: "no verification ran" })?;
    parts.extensions.insert(proof.clone());
    Ok((Request::from_parts(parts, Body::from(bytes)), proof))
}

/// Why [`Verified`] failed: the verification, or the inner extractor.
///
/// Answers with the verification error's response (see [`IntoResponse`] for
/// [`Error`]) or the inner rejection's. Match on it to answer in your own format:
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
///         Err(VerifiedRejection::Verification(error)) => {
///             (error.status(), Json(serde_json::json!({ "error": error.public_message() })))
///         }
///         Err(VerifiedRejection::Inner(rejection)) => {
///             (rejection.status(), Json(serde_json::json!({ "error": rejection.body_text() })))
///         }
///     }
/// }
/// # let _ = hook;
/// ```
pub enum VerifiedRejection<R> {
    /// The delivery was refused: answer [`Error::status`], log the error.
    Verification(Error),
    /// The inner extractor refused the verified request.
    Inner(R),
}

impl<R> From<Error> for VerifiedRejection<R> {
    fn from(error: Error) -> Self {
        VerifiedRejection::Verification(error)
    }
}

impl<R: fmt::Debug> fmt::Debug for VerifiedRejection<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifiedRejection::Verification(error) => f.debug_tuple("Verification").field(error).finish(),
            VerifiedRejection::Inner(inner) => f.debug_tuple("Inner").field(inner).finish(),
        }
    }
}

impl<R: IntoResponse> IntoResponse for VerifiedRejection<R> {
    fn into_response(self) -> Response {
        match self {
            VerifiedRejection::Verification(error) => error.into_response(),
            VerifiedRejection::Inner(inner) => inner.into_response(),
        }
    }
}

/// [`Error::status`] with [`Error::public_message`] as `text/plain`; a 405 carries
/// `Allow: POST` and a 401 for [`Error::Unauthorized`] carries the default
/// `WWW-Authenticate: Basic realm="webhooks"` (the layer, which knows its
/// configuration, uses [`crate::Gate::challenge_for`] instead).
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
        let challenge = match self {
            Error::MethodNotAllowed => Some((header::ALLOW, HeaderValue::from_static("POST"))),
            Error::Unauthorized => {
                Some((header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"webhooks\"")))
            }
            _ => None,
        };
        plain_rejection(&self, challenge).map(Body::from)
    }
}
