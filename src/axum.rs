//! axum integration (feature `axum`): the [`Verified`] extractor, and
//! [`IntoResponse`] for [`crate::Error`]. For the layer, see [`crate::tower`]; it
//! works with `Router::route_layer` as it is.
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

use std::fmt;
use std::future::poll_fn;

use axum_core::RequestExt;
use axum_core::body::Body;
use axum_core::extract::{FromRef, FromRequest, Request};
use axum_core::response::{IntoResponse, Response};
use http::{HeaderValue, header};

use crate::tower::{Collector, plain_rejection};
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
        let (req, proof) = match req.extensions().get::<crate::Verified>().cloned() {
            // Already verified by the layer: the body is the verified one.
            Some(proof) => (req, proof),
            None => verify(req, &Verifier::from_ref(state)).await.map_err(|error| {
                #[cfg(feature = "tracing")]
                tracing::debug!(error = %error, status = error.status().as_u16(), "hooksig: request rejected");
                VerifiedRejection::Verification(error)
            })?,
        };
        let value = T::from_request(req, state).await.map_err(VerifiedRejection::Inner)?;
        Ok(Verified(value, proof))
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
