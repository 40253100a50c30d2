//! A tower layer that verifies webhook deliveries before your service sees them, for
//! axum, hyper, tonic or any tower stack (feature `tower`).
//!
//! ```
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::{BodyExt, Full};
//! use hooksig::{Scheme, Signer, Verifier, tower::{VerifiedBody, VerifyLayer}};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let verifier = Verifier::new(Scheme::tale(), "It's a Secret to Everybody")?;
//! let service = ServiceBuilder::new()
//!     .layer(VerifyLayer::new(verifier))
//!     .service_fn(|req: Request<VerifiedBody>| async move {
//!         // Only verified deliveries get here, with the proof in the extensions.
//!         let proof = req.extensions().get::<hooksig::Verified>().cloned();
//!         assert!(proof.is_some());
//!         Ok::<_, Infallible>(Response::new(Full::new(req.into_body().into_bytes())))
//!     });
//!
//! // A signed delivery reaches the service, body unchanged.
//! let body = r#"{"event":"run"}"#;
//! let mut request = Request::post("/hook").body(Full::new(Bytes::from(body)))?;
//! request.headers_mut().extend(Signer::new(Scheme::tale(), "It's a Secret to Everybody")?.sign(body.as_bytes())?);
//! let response = service.clone().oneshot(request).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//! assert_eq!(response.into_body().collect().await?.to_bytes(), body);
//!
//! // An unsigned one does not.
//! let response = service.oneshot(Request::post("/hook").body(Full::new(Bytes::from(body)))?).await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(response.into_body().collect().await?.to_bytes(), "missing signature");
//! # Ok(())
//! # }
//! ```
//!
//! # What the layer checks
//!
//! The layer is a thin adapter around the framework-neutral receive pipeline
//! ([`crate::pipeline::Receiver`]), the same one the actix middleware drives.
//! Before reading any body byte (cheapest first):
//!
//! 1. the method (POST only unless [`VerifyLayer::allow_methods`] says otherwise):
//!    405 with `Allow`;
//! 2. HTTP Basic credentials if configured ([`VerifyLayer::basic_auth`],
//!    [`VerifyLayer::basic_only`]), compared in constant time: 401 with
//!    `WWW-Authenticate: Basic`;
//! 3. `Content-Length` against the verifier's body limit: 413 without reading the body;
//! 4. the signature, timestamp and id headers and the timestamp's tolerance: 401, or
//!    400 for malformed headers.
//!
//! Then it reads the body frame by frame, hashing as it goes and keeping the frames
//! as they arrived (never joined, nothing reserved from `Content-Length`), and stops
//! with 413 as soon as the limit is passed (chunked bodies included). A body that
//! fails to read is 400; a length limit applied further out (tower-http's
//! `RequestBodyLimitLayer`, or `http_body_util::Limited`) is still 413.
//!
//! On success the inner service gets `Request<`[`VerifiedBody`]`>`, holding exactly the
//! received bytes in the received frames, with [`crate::Verified`] in the request
//! extensions. It is not called for any rejection.
//!
//! # Rejections
//!
//! By default a refusal answers its status with a short, fixed text as `text/plain`
//! ([`Receiver::default_response`](crate::pipeline::Receiver::default_response)),
//! which names the reason class and nothing an attacker could use. With the `tracing`
//! feature the full reason is logged at debug level (target `hooksig`).
//! [`VerifyLayer::on_rejection`] builds the response yourself.
//!
//! The layer reads the whole body before calling your service; put a timeout layer
//! outside it to bound slow senders.
//!
//! # Replay protection
//!
//! [`VerifyLayer::replay_guard`] makes the layer process each verified delivery once:
//! the first copy reaches your service with [`ReplayState::First`] in the
//! extensions and is recorded as done only when your service answers 2xx; a copy
//! that arrives meanwhile gets 409 with `Retry-After`, one that arrives afterwards gets 200
//! `duplicate delivery`, and neither reaches your service. A non-2xx answer, an
//! error, a panic or a cancelled request gives the claim back so the sender's retry
//! is processed. See [`crate::replay`] for the protocol, the keys and the backends.
//!
//! [`ReplayState::First`]: crate::replay::ReplayState::First

mod body;
mod future;
mod layer;
mod service;

pub use self::body::{ResponseBody, VerifiedBody};
pub use self::future::ResponseFuture;
pub use self::layer::VerifyLayer;
pub use self::service::VerifyService;

#[cfg(feature = "axum")]
pub(crate) use self::body::is_length_limit;
