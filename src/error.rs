//! The one error type of the crate, with the HTTP status a receiver should answer.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, StatusCode};

/// Why a delivery was refused, or why a verifier, signer or scheme could not be built.
///
/// Every variant carries enough detail for an operator (which header, why), and none
/// holds or prints a secret or an expected MAC. A receiver answers the client with
/// [`Error::status`] and the terse [`Error::public_message`], and logs the full
/// `Display`/`Debug` form.
///
/// ```
/// use hooksig::Error;
/// use http::StatusCode;
///
/// let err = hooksig::verify(b"secret", b"body", "sha256=00").unwrap_err();
/// assert!(matches!(err, Error::MalformedHeader { .. }));
/// assert_eq!(err.status(), StatusCode::BAD_REQUEST);
/// assert_eq!(err.public_message(), "malformed signature");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A header the scheme requires is absent.
    #[error("missing header `{name}`")]
    MissingHeader {
        /// The absent header.
        name: HeaderName,
    },
    /// A header is present but does not follow the scheme's grammar (also: repeated
    /// where only one line is allowed, too long, too many candidate signatures).
    #[error("malformed header `{name}`: {reason}")]
    MalformedHeader {
        /// The offending header.
        name: HeaderName,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The signed timestamp is further in the past than the tolerance allows.
    #[error("timestamp is {}s old, beyond the tolerance of {}s", age.as_secs(), tolerance.as_secs())]
    TimestampTooOld {
        /// How old the timestamp is, against the verifier's clock.
        age: Duration,
        /// The tolerance that was exceeded.
        tolerance: Duration,
    },
    /// The signed timestamp is further in the future than the tolerance allows.
    #[error("timestamp is {}s in the future, beyond the tolerance of {}s", ahead.as_secs(), tolerance.as_secs())]
    TimestampInFuture {
        /// How far ahead of the verifier's clock the timestamp is.
        ahead: Duration,
        /// The tolerance that was exceeded.
        tolerance: Duration,
    },
    /// The signature headers are well formed but no candidate matches any secret.
    #[error("no signature matches any configured secret")]
    SignatureMismatch,
    /// The body is longer than the verifier's limit.
    #[error("body exceeds the limit of {limit} bytes")]
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The body could not be read (an integration reports this; the core never does).
    #[error("the request body could not be read")]
    BodyRead,
    /// The request method is not one the receiver accepts (integrations only).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// HTTP Basic credentials are missing or wrong (see [`crate::BasicAuth`]).
    #[error("missing or wrong credentials")]
    Unauthorized,
    /// A secret was refused at construction: empty, or not decodable for the scheme.
    #[error("invalid secret: {reason}")]
    InvalidSecret {
        /// Why it was refused (never the secret itself).
        reason: &'static str,
    },
    /// An Ed25519 public or signing key was refused at construction (feature
    /// `ed25519`): it does not decode in the scheme's key format, has the wrong length,
    /// is not a point of the curve or is of small order, is a signing key given as a
    /// public key, or its two halves disagree.
    ///
    /// ```
    /// # #[cfg(feature = "ed25519")] {
    /// let err = hooksig::Verifier::builder(hooksig::Scheme::discord()).public_key("00").build().unwrap_err();
    /// assert_eq!(err, hooksig::Error::InvalidKey { reason: "an Ed25519 public key is 32 bytes" });
    /// assert_eq!(err.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
    /// # }
    /// ```
    #[error("invalid key: {reason}")]
    InvalidKey {
        /// Why it was refused (never the key itself).
        reason: &'static str,
    },
    /// A custom scheme, or an argument given to a signer, is inconsistent.
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// What is inconsistent.
        reason: &'static str,
    },
    /// The operating system's random number generator failed (signing only).
    #[error("the system random number generator failed")]
    Randomness,
    /// The replay store (see [`crate::replay`]) could not be reached or failed, and
    /// the fail mode is closed: answer 503 so the sender retries later.
    #[error("replay store `{backend}` unavailable: {reason}")]
    ReplayStoreUnavailable {
        /// Which backend failed, e.g. `redis`.
        backend: &'static str,
        /// The backend's error message (never a secret or a credential).
        reason: Arc<str>,
    },
}

impl Error {
    /// The HTTP status a receiver should answer with.
    ///
    /// 401 for missing signatures, mismatches, timestamps out of tolerance and bad
    /// credentials; 400 for malformed headers and unreadable bodies; 405 for a method
    /// the receiver does not accept; 413 for an oversized body; 500 for configuration
    /// errors (they are the receiver's fault, not the sender's); 503 when the replay
    /// store is unavailable (the sender retries later).
    ///
    /// ```
    /// assert_eq!(hooksig::Error::SignatureMismatch.status(), http::StatusCode::UNAUTHORIZED);
    /// assert_eq!(hooksig::Error::BodyTooLarge { limit: 1 }.status().as_u16(), 413);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            Error::MissingHeader { .. }
            | Error::TimestampTooOld { .. }
            | Error::TimestampInFuture { .. }
            | Error::SignatureMismatch
            | Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::MalformedHeader { .. } | Error::BodyRead => StatusCode::BAD_REQUEST,
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::InvalidSecret { .. }
            | Error::InvalidKey { .. }
            | Error::InvalidConfig { .. }
            | Error::Randomness => StatusCode::INTERNAL_SERVER_ERROR,
            Error::ReplayStoreUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// A short, fixed phrase naming the reason class, safe to send to the client.
    ///
    /// It carries no header values, durations or other detail an attacker could use;
    /// the integrations put it in the body of their rejection responses.
    ///
    /// ```
    /// assert_eq!(hooksig::Error::SignatureMismatch.public_message(), "signature mismatch");
    /// ```
    pub fn public_message(&self) -> &'static str {
        match self {
            Error::MissingHeader { .. } => "missing signature",
            Error::MalformedHeader { .. } => "malformed signature",
            Error::TimestampTooOld { .. } | Error::TimestampInFuture { .. } => "timestamp out of tolerance",
            Error::SignatureMismatch => "signature mismatch",
            Error::BodyTooLarge { .. } => "payload too large",
            Error::BodyRead => "unreadable body",
            Error::MethodNotAllowed => "method not allowed",
            Error::Unauthorized => "unauthorized",
            Error::InvalidSecret { .. }
            | Error::InvalidKey { .. }
            | Error::InvalidConfig { .. }
            | Error::Randomness => "server misconfigured",
            Error::ReplayStoreUnavailable { .. } => "temporarily unavailable",
        }
    }
}

/// Why a receiver answered a request itself instead of handing it to the handler.
///
/// The receive pipeline ([`crate::pipeline`]) produces it; the integrations turn it
/// into a response through [`crate::pipeline::Receiver::respond`], which also runs
/// the `on_rejection` hook. Two cases are not errors: a delivery another worker is
/// processing (409, the sender retries later) and one already processed (200, the
/// sender stops retrying).
///
/// ```
/// use hooksig::{Error, Refusal};
/// assert_eq!(Refusal::from(Error::SignatureMismatch).status(), 401);
/// assert_eq!(Refusal::InProgress.status(), 409);
/// assert_eq!(Refusal::Duplicate.status(), 200);
/// assert_eq!(Refusal::Duplicate.public_message(), "duplicate delivery");
/// assert_eq!(Refusal::InProgress.error(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// A check failed, or the replay store is unavailable with the fail mode closed.
    #[error(transparent)]
    Rejected(#[from] Error),
    /// Another worker holds the claim on this delivery: 409, come back later.
    #[error("delivery in progress elsewhere")]
    InProgress,
    /// This delivery was processed already: 200, without processing it again.
    #[error("duplicate delivery")]
    Duplicate,
}

impl Refusal {
    /// The status to answer with.
    ///
    /// ```
    /// assert_eq!(hooksig::Refusal::from(hooksig::Error::BodyTooLarge { limit: 1 }).status(), 413);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::Rejected(error) => error.status(),
            Refusal::InProgress => StatusCode::CONFLICT,
            Refusal::Duplicate => StatusCode::OK,
        }
    }

    /// The short, fixed text for the response body (see [`Error::public_message`]).
    ///
    /// ```
    /// assert_eq!(hooksig::Refusal::InProgress.public_message(), "delivery in progress");
    /// ```
    pub fn public_message(&self) -> &'static str {
        match self {
            Refusal::Rejected(error) => error.public_message(),
            Refusal::InProgress => "delivery in progress",
            Refusal::Duplicate => "duplicate delivery",
        }
    }

    /// The error, when a check failed.
    ///
    /// ```
    /// use hooksig::{Error, Refusal};
    /// assert_eq!(Refusal::from(Error::Unauthorized).error(), Some(&Error::Unauthorized));
    /// ```
    pub fn error(&self) -> Option<&Error> {
        match self {
            Refusal::Rejected(error) => Some(error),
            Refusal::InProgress | Refusal::Duplicate => None,
        }
    }
}
