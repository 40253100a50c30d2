//! Sign and verify webhook signatures, HMAC-SHA256 and (feature `ed25519`) Ed25519,
//! correct to the byte.
//!
//! hooksig answers one question before a receiver parses anything: *did the holder of
//! the secret send exactly these bytes, recently?* It works on raw bytes, compares
//! decoded 32-byte tags in constant time, refuses empty secrets, caps everything a
//! sender controls, never panics on input and never allocates on the verification
//! hot path.
//!
//! # One line in a handler
//!
//! ```
//! // The Tale / Vocalis / GitHub form: `sha256=<hex>` over the raw body.
//! let body = br#"{"event":"ping"}"#;
//! let header = hooksig::sign(b"my secret", body)?.to_string(); // what the sender puts in the header
//! hooksig::verify(b"my secret", body, &header)?;
//! assert!(hooksig::verify(b"my secret", b"tampered", &header).is_err());
//! # Ok::<(), hooksig::Error>(())
//! ```
//!
//! # Every scheme, one engine
//!
//! ```
//! use hooksig::{Scheme, Verifier};
//!
//! let verifier = Verifier::builder(Scheme::standard_webhooks())
//!     .secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD") // exactly as the dashboard shows it
//!     .build()?;
//!
//! let mut headers = http::HeaderMap::new();
//! headers.insert("webhook-id", "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk".parse().unwrap());
//! headers.insert("webhook-timestamp", "1649367553".parse().unwrap());
//! headers.insert("webhook-signature", "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=".parse().unwrap());
//! let body = br#"{"email":"test@example.com","username":"test_user"}"#;
//!
//! let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1649367553 + 10);
//! let verified = verifier.verify_at(&headers, body, now)?;
//! assert_eq!(verified.id(), Some("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk"));
//! # Ok::<(), hooksig::Error>(())
//! ```
//!
//! Presets: [`Scheme::tale`], [`Scheme::vocalis`], [`Scheme::github`],
//! [`Scheme::oktave`], [`Scheme::standard_webhooks`], [`Scheme::svix`],
//! [`Scheme::stripe`], [`Scheme::slack`], [`Scheme::shopify`], and with the `ed25519`
//! feature `Scheme::discord`; anything else with [`Scheme::builder`].
//!
//! # Asymmetric signatures (feature `ed25519`)
//!
//! The algorithm is a property of a signature version ([`Algorithm`]): Standard
//! Webhooks' `v1` is HMAC-SHA256, its `v1a` Ed25519, and one header may carry both.
//! Verifiers take public keys beside secrets, signers signing keys; each candidate is
//! checked only with keys of its own kind, strictly (non-canonical signatures and
//! small-order keys refused), without allocating.
//!
//! ```
//! # #[cfg(feature = "ed25519")] {
//! use hooksig::{KeyPair, Scheme, Signer, Verifier};
//! let pair = KeyPair::generate(&Scheme::standard_webhooks())?; // whsk_… and whpk_…
//! let headers = Signer::builder(Scheme::standard_webhooks()).signing_key(pair.signing_key()).build()?.sign(b"{}")?;
//! let verifier = Verifier::builder(Scheme::standard_webhooks()).public_key(pair.public_key()).build()?;
//! verifier.verify(&headers, b"{}")?;
//! # }
//! # Ok::<(), hooksig::Error>(())
//! ```
//!
//! # Layers
//!
//! - primitives: tags (hex/base64, constant-time compare), header grammars
//!   ([`HeaderSource`]), pre-keyed secrets, [`Error`] with its HTTP status,
//!   [`BasicAuth`];
//! - [`Scheme`]: what a provider signs, as data;
//! - [`Verifier`] (one-shot and streaming [`Verification`]) and [`Signer`].
//!
//! # Security properties
//!
//! - The MAC covers the bytes as received; nothing is trimmed, parsed or re-encoded.
//! - Tags are decoded to 32 bytes (hex in any case, exactly 64 digits; base64 standard
//!   and padded) and compared with [`subtle`] in constant time against every secret.
//! - Secrets are zeroized on drop, never appear in `Debug`/`Display`/errors; neither
//!   does the expected MAC.
//! - Ed25519 signatures (feature `ed25519`) are decoded to 64 bytes and verified
//!   strictly against the public keys (`R` not of small order, `S` canonical, keys of
//!   small order refused when the verifier is built); signing keys are zeroized on
//!   drop and never printed.
//! - At most 16 candidate signatures (of which at most 4 Ed25519), 4 KiB per signature
//!   header, 255-byte ids, and a body limit (2 MiB by default) checked before any byte
//!   beyond it is hashed.
//! - `#![forbid(unsafe_code)]`.

// The lint policy is in Cargo.toml (`[lints]`) and clippy.toml. Here: the library's
// own guarantee (no `unsafe`, not even behind an `allow`) and docs.rs's feature badges.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(test, allow(clippy::arithmetic_side_effects, reason = "unit tests compute with test values"))]

mod basic_auth;
#[cfg(feature = "ed25519")]
mod ed25519;
mod error;
mod headers;
mod keys;
mod mac;
mod scheme;
mod sign;
mod tag;
mod verify;

pub mod pipeline;

#[cfg(feature = "diagnosis")]
pub mod diagnosis;

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "axum")]
pub mod axum;
pub mod replay;
#[cfg(feature = "tower")]
pub mod tower;

pub use basic_auth::BasicAuth;
#[cfg(feature = "ed25519")]
pub use ed25519::{KeyPair, MAX_ED25519_CANDIDATES};
pub use error::{Error, Refusal};
pub use headers::{HeaderSource, MAX_HEADER_LEN, content_length};
pub use keys::generate_secret;
pub use scheme::{
    Algorithm, DEFAULT_MAX_BODY, Encoding, MAX_ID_LEN, Part, Scheme, SchemeBuilder, SecretFormat,
    SignatureFormat,
};
pub use sign::{Signature, Signer, SignerBuilder, sign};
pub use tag::MAX_CANDIDATES;
pub use verify::{Verification, Verified, Verifier, VerifierBuilder, verify};

/// The README's code blocks, compiled and run as doctests. A block that needs a
/// feature says so in its (hidden) first lines, `#[cfg(feature = "…")] fn main`, so
/// that each is compiled with only its features (`.ci/run` runs them with `axum` alone
/// and `actix` alone besides every feature).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
