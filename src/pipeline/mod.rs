//! The receive pipeline: one framework-neutral flow that every integration drives.
//!
//! A [`Receiver`] holds what a webhook endpoint accepts: the methods, optional HTTP
//! Basic credentials, a [`Verifier`](crate::Verifier) (or none, for Basic-only triggers), optional
//! replay protection and an optional rejection hook. For each request an adapter
//! (the tower layer, the actix middleware) does three things and nothing more:
//!
//! 1. [`Receiver::admit`] with the method and headers, before reading the body:
//!    method (405), credentials (401), `Content-Length` against the body limit (413),
//!    then the signature, timestamp and id headers (400/401). It returns an
//!    [`Intake`].
//! 2. [`Intake::push`] each body chunk as it arrives: counted against the limit (413
//!    as soon as it is passed), hashed, and kept as received ([`Chunks`]: the chunks
//!    are not joined, so memory never exceeds the body plus a little, and nothing is
//!    reserved from `Content-Length`).
//! 3. [`Intake::finish`], then [`Receiver::proceed`]: the signature is checked and,
//!    with replay protection, the delivery claimed. The result is plain data: a
//!    [`Delivery`] (proof, exact bytes, replay [`Pass`](crate::replay::Pass)) to hand to the handler, or a
//!    [`Refusal`](crate::Refusal) that [`Receiver::respond`] turns into the response (the hook, the
//!    log line, `Allow`, `WWW-Authenticate`, `Retry-After`).
//!
//! After the handler answered, the adapter calls [`Pass::finish`](crate::replay::Pass::finish) with whether it
//! answered 2xx: only then is the delivery recorded as done.
//!
//! ```
//! use bytes::Bytes;
//! use hooksig::pipeline::Receiver;
//! use hooksig::{Scheme, Signer, Verifier};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), hooksig::Refusal> {
//! let receiver = Receiver::new(Verifier::new(Scheme::tale(), "s")?);
//! let headers = Signer::new(Scheme::tale(), "s")?.sign(b"{\"ok\":true}")?;
//!
//! let mut intake = receiver.admit("POST", &headers)?;
//! for chunk in [&b"{\"ok\""[..], b":true}"] {
//!     intake.push(Bytes::copy_from_slice(chunk))?;
//! }
//! let received = intake.finish()?;
//! let delivery = receiver.proceed(received).await?;
//! assert_eq!(delivery.body.to_bytes(), "{\"ok\":true}");
//! assert!(delivery.proof.is_some());
//!
//! // A refusal becomes a response: status, short text, and the headers it needs.
//! let refusal = receiver.admit("GET", &headers).unwrap_err();
//! let response = receiver.respond(&refusal);
//! assert_eq!(response.status(), 405);
//! assert_eq!(response.headers()["allow"], "POST");
//! # Ok(())
//! # }
//! ```

mod chunks;
#[cfg(any(feature = "axum", feature = "actix"))]
mod once;
mod receiver;

pub use chunks::Chunks;
#[cfg(any(feature = "axum", feature = "actix"))]
pub use once::VerifiedOnce;
pub use receiver::{Delivery, Intake, Proceeding, Received, Receiver, RejectFn, default_response};
