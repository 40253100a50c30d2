//! Replay and duplicate protection: process each delivery once, acknowledge only what
//! was processed.
//!
//! ```
//! use hooksig::replay::{MemoryReplayGuard, ReplayProtection};
//! use hooksig::{Refusal, Scheme, Signer, Verifier};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Refusal> {
//! let verifier = Verifier::new(Scheme::tale(), "It's a Secret to Everybody")?;
//! let replay = ReplayProtection::new(MemoryReplayGuard::new(100_000));
//!
//! let body = br#"{"event":"order.paid","order":42}"#;
//! let headers = Signer::new(Scheme::tale(), "It's a Secret to Everybody")?.sign(body)?;
//!
//! // First sight: we hold the claim while we process, then record the delivery as done.
//! let verified = verifier.verify(&headers, body)?;
//! let mut pass = replay.check(&verified, body).await?;
//! // ... process the order ...
//! pass.complete().await.map_err(hooksig::Error::from)?;
//!
//! // The sender's retry, or an attacker's replay of the same bytes: a duplicate.
//! let again = verifier.verify(&headers, body)?;
//! assert_eq!(replay.check(&again, body).await.unwrap_err(), Refusal::Duplicate);
//! # Ok(())
//! # }
//! ```
//!
//! Senders retry (Tale up to 5 attempts, Vocalis 5 over 24 h, Oktave 3) and attackers
//! replay captured requests. A signature proves who sent the bytes, not that they are
//! new; body-only schemes (Tale, Vocalis, GitHub, Shopify) carry no signed timestamp
//! at all, so a captured request verifies forever.
//!
//! # The protocol
//!
//! For each *verified* delivery a [`ReplayGuard`] is asked to [claim](ReplayGuard::claim)
//! its [`ReplayKey`]. There are three answers ([`ClaimOutcome`]):
//!
//! - **claimed** (first sight): the caller holds a short lease (60 s by default) and
//!   processes the delivery. On success it [completes](Claim::complete) the claim (the
//!   key is then remembered as done for the key's TTL); on failure it
//!   [releases](Claim::release) it, so the sender's retry is processed. A [`Claim`]
//!   that is dropped without either (a panic, a cancelled future) is released, and a
//!   worker that crashed outright stops blocking retries once the lease expires.
//! - **in progress** elsewhere: another worker holds the lease. Answer 409 with
//!   `Retry-After`; the sender retries later and finds the delivery either done or
//!   released.
//! - **done**: answer 200 without processing, so the sender stops retrying.
//!
//! The invariant: nothing is acknowledged that was not processed. A delivery is only
//! recorded as done after its handler succeeded, and every other path gives the claim
//! back (or lets its lease run out).
//!
//! [`ReplayProtection`] bundles a guard, a [`ReplayPolicy`] (key prefix, TTLs,
//! idempotency keys) and a [`FailMode`]. [`ReplayProtection::check`] answers with a
//! [`Pass`] (the handler runs; the pass holds the claim) or a [`Refusal`](crate::Refusal)
//! (409, 200 duplicate, 503). The receive pipeline ([`crate::pipeline`]) behind the
//! tower layer and the actix middleware runs it for you.
//!
//! # Which key: what counts as the same delivery
//!
//! Replay identity is what was signed ([`ReplayPolicy::key`]), never which candidate
//! signature or which configured secret matched, never an unsigned header:
//!
//! - the delivery id when the MAC covers it (Standard Webhooks, Svix, Oktave): a retry
//!   is re-signed with a fresh timestamp but keeps its id;
//! - an idempotency key read from the verified body, when configured
//!   ([`ReplayPolicy::idempotency_key`]: Stripe's event `id`, Slack's `event_id`);
//! - otherwise the SHA-256 of the signed message: scheme, signed timestamp and body.
//!   A copy with candidates stripped, added or reordered, or verified by another of
//!   the configured secrets (rotation, reordered secrets, a restart with a rotated
//!   list), has the same key. An id the MAC does not cover (GitHub's
//!   `X-GitHub-Delivery`, Shopify's `X-Shopify-Webhook-Id`) is never used: anyone can
//!   change it and so replay a captured delivery under a fresh id.
//!
//! The key holds a one-way digest of the signed message, not the signature: a replay
//! store, its dumps and its logs are seldom guarded like the request path, and a
//! (body, signature) pair of a body-only scheme is a valid delivery forever.
//!
//! Keys look like `hooksig:github:msg:<64 hex>`, `hooksig:svix:id:msg_2b…` or
//! `hooksig:stripe:body:evt_…`: a configurable prefix ([`ReplayPolicy::prefix`]), the
//! scheme's name, the kind and the value. Give custom schemes names without `:`, and
//! give every application sharing one store its own prefix.
//!
//! Per preset, with the default policy:
//!
//! | preset | same delivery when | sender's retry recognised |
//! |---|---|---|
//! | Tale, Vocalis, GitHub, Shopify | same body (their MAC covers the body only) | yes: retries resend the same bytes |
//! | Standard Webhooks, Svix | same signed `webhook-id` / `svix-id` | yes: by the covered id |
//! | Oktave | same signed `Oktave-Event-Id` | yes: by the covered id (the body is not signed) |
//! | Stripe | same signed timestamp and body | only with an idempotency key (the event `id`): Stripe signs each retry with a fresh timestamp |
//! | Slack | same signed timestamp and body | only with an idempotency key (`event_id`): Slack signs each retry with a fresh timestamp |
//!
//! Unsigned routing headers (`X-GitHub-Event`, `X-Shopify-Topic`) are not part of the
//! key, and neither is anything else the MAC does not cover.
//!
//! # How long
//!
//! - A key from a covered id, from an idempotency key, or from a signed message
//!   without a signed timestamp, is remembered for the sender's retry window: 72 h by
//!   default ([`ReplayPolicy::retry_window`]; Vocalis retries over 24 h, Svix over
//!   about 28 h), and never less than the tolerance window below.
//! - A signed message with a signed timestamp (Stripe, Slack) cannot verify outside
//!   the tolerance window, so it is remembered for the window (past + future) plus a
//!   margin of 5 minutes ([`ReplayPolicy::margin`]). The window is the larger of the
//!   scheme's default and the tolerance of the verifier that accepted the delivery
//!   ([`Verified::tolerance`](crate::Verified::tolerance)).
//! - The in-progress lease is 60 s ([`ReplayPolicy::lease`]): longer than a handler
//!   runs, shorter than the sender's next retry. It is not renewed: past it, a copy is
//!   processed concurrently (see [`ReplayPolicy::lease`]).

//! # Backends
//!
//! - [`MemoryReplayGuard`]: bounded, sharded, in this process only.
//! - `RedisReplayGuard` (feature `redis`): shared by every replica behind a load
//!   balancer, one round trip per claim, on one Redis node or spread over the masters
//!   of a Redis Cluster.
//! - Anything else: implement [`ReplayGuard`] (it is object safe; use it as
//!   `Arc<dyn ReplayGuard>`).
//!
//! # When the store is down
//!
//! A backend error is neither "new" nor "seen". [`FailMode::Closed`] (the default)
//! answers 503 ([`Error::ReplayStoreUnavailable`]) so the sender retries later and no
//! handler runs; [`FailMode::Open`] runs the handler unguarded
//! ([`ReplayState::Unguarded`]), trading duplicates for availability. Either way the
//! error is logged at `warn` level when the `tracing` feature is on.
//!
//! # Limits
//!
//! - Protection lasts as long as a key is remembered: a body-only delivery replayed
//!   after its TTL (72 h by default), or after a full [`MemoryReplayGuard`] evicted
//!   it, verifies and is processed again. Use a timestamped scheme where you can.
//! - A claim whose store call timed out may still have been taken; the delivery then
//!   answers 409 until its lease expires.
//! - A handler that succeeded but whose completion could not be recorded keeps its
//!   claim until the lease expires; a duplicate arriving after that is processed again.

mod memory;
mod policy;
mod protection;
#[cfg(feature = "redis")]
mod redis;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use memory::MemoryReplayGuard;
pub use policy::{
    DEFAULT_LEASE, DEFAULT_MARGIN, DEFAULT_PREFIX, DEFAULT_RETRY_AFTER, DEFAULT_RETRY_WINDOW, ReplayKey,
    ReplayPolicy,
};
pub use protection::{Claim, FailMode, Pass, ReplayProtection, ReplayState};
#[cfg(feature = "redis")]
pub use redis::RedisReplayGuard;

use crate::error::Error;

/// The future a [`ReplayGuard`] returns: boxed, `Send`, borrowing the guard and its
/// arguments.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A store that remembers which deliveries are being processed and which are done.
///
/// Object safe: a middleware holds it as `Arc<dyn ReplayGuard>`. Implementations
/// must make [`claim`](ReplayGuard::claim) atomic (of any number of concurrent claims
/// of one key, exactly one is [`ClaimOutcome::Claimed`]) and must never let one
/// claimer's [`release`](ReplayGuard::release) or [`complete`](ReplayGuard::complete)
/// undo another claimer's claim: both take the [`ClaimToken`] that `claim` handed out.
///
/// Errors ([`ReplayStoreError`]) mean "unknown", never "new": the caller decides with
/// its [`FailMode`].
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use hooksig::replay::{ClaimOutcome, MemoryReplayGuard, ReplayGuard, ReplayKey};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), hooksig::replay::ReplayStoreError> {
/// let guard: Arc<dyn ReplayGuard> = Arc::new(MemoryReplayGuard::new(1_000));
/// let key = ReplayKey::new("app:delivery-1", Duration::from_secs(3600), Duration::from_secs(60));
///
/// let ClaimOutcome::Claimed(token) = guard.claim(&key).await? else { unreachable!() };
/// assert_eq!(guard.claim(&key).await?, ClaimOutcome::InProgress);
/// assert!(guard.complete(&key, &token).await?);
/// assert_eq!(guard.claim(&key).await?, ClaimOutcome::Done);
/// # Ok(())
/// # }
/// ```
pub trait ReplayGuard: Send + Sync {
    /// Claims `key` for [`ReplayKey::lease`] if nobody holds it and it is not done.
    fn claim<'a>(&'a self, key: &'a ReplayKey) -> BoxFuture<'a, Result<ClaimOutcome, ReplayStoreError>>;

    /// Records `key` as done for [`ReplayKey::ttl`], if `token` still holds the claim
    /// or the key is unknown (our lease ran out and nobody else claimed it). Returns
    /// `true` when the store now records the key as done, `false` when another
    /// claimer holds it (ours had expired; that claimer will complete or release it).
    fn complete<'a>(
        &'a self,
        key: &'a ReplayKey,
        token: &'a ClaimToken,
    ) -> BoxFuture<'a, Result<bool, ReplayStoreError>>;

    /// Forgets `key` if, and only if, `token` still holds the claim: a compare and
    /// delete. Returns whether it did.
    fn release<'a>(
        &'a self,
        key: &'a ReplayKey,
        token: &'a ClaimToken,
    ) -> BoxFuture<'a, Result<bool, ReplayStoreError>>;

    /// Releases without waiting: called from [`Claim`]'s `Drop` (panic, cancellation),
    /// where nothing can be awaited. An in-memory store releases at once; a network
    /// store spawns the release on its runtime. If it cannot, the claim lapses when its
    /// lease expires.
    fn release_detached(&self, key: ReplayKey, token: ClaimToken);
}

impl<G: ReplayGuard + ?Sized> ReplayGuard for Arc<G> {
    fn claim<'a>(&'a self, key: &'a ReplayKey) -> BoxFuture<'a, Result<ClaimOutcome, ReplayStoreError>> {
        (**self).claim(key)
    }

    fn complete<'a>(
        &'a self,
        key: &'a ReplayKey,
        token: &'a ClaimToken,
    ) -> BoxFuture<'a, Result<bool, ReplayStoreError>> {
        (**self).complete(key, token)
    }

    fn release<'a>(
        &'a self,
        key: &'a ReplayKey,
        token: &'a ClaimToken,
    ) -> BoxFuture<'a, Result<bool, ReplayStoreError>> {
        (**self).release(key, token)
    }

    fn release_detached(&self, key: ReplayKey, token: ClaimToken) {
        (**self).release_detached(key, token);
    }
}

/// What [`ReplayGuard::claim`] found.
///
/// ```
/// use hooksig::replay::{ClaimOutcome, ClaimToken};
/// let outcome = ClaimOutcome::Claimed(ClaimToken::from_bytes([7; 16]));
/// assert!(outcome.is_claimed());
/// assert!(!ClaimOutcome::Done.is_claimed());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// First sight: the key is now ours until the lease expires.
    Claimed(ClaimToken),
    /// Another claimer holds the key and has neither completed nor released it.
    InProgress,
    /// The key was completed and is remembered as done.
    Done,
}

impl ClaimOutcome {
    /// Whether this is [`ClaimOutcome::Claimed`].
    pub fn is_claimed(&self) -> bool {
        matches!(self, ClaimOutcome::Claimed(_))
    }
}

/// Proof of one claim: 16 bytes, unique per claim, so that only the claimer can
/// complete or release it.
///
/// Not a secret (it never leaves the receiver and its store), but unguessable when
/// made with [`ClaimToken::random`], which shared stores must use since several
/// processes hand out tokens.
///
/// ```
/// let token = hooksig::replay::ClaimToken::random()?;
/// assert_eq!(token.to_string().len(), 32);
/// assert_ne!(token, hooksig::replay::ClaimToken::random()?);
/// # Ok::<(), hooksig::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClaimToken([u8; 16]);

impl ClaimToken {
    /// A token from the operating system's random number generator. Fails with
    /// [`Error::Randomness`] if it fails.
    pub fn random() -> Result<ClaimToken, Error> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|_| Error::Randomness)?;
        Ok(ClaimToken(bytes))
    }

    /// A token from given bytes (a store that is the only one handing out tokens may
    /// use a counter).
    ///
    /// ```
    /// let token = hooksig::replay::ClaimToken::from_bytes([0xab; 16]);
    /// assert_eq!(token.as_bytes(), &[0xab; 16]);
    /// ```
    pub fn from_bytes(bytes: [u8; 16]) -> ClaimToken {
        ClaimToken(bytes)
    }

    /// The token's bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

/// Lower-case hex, 32 digits: the form a network store keeps.
impl fmt::Display for ClaimToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ClaimToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClaimToken({self})")
    }
}

/// A replay store failed: unreachable, timed out, or answered with an error.
///
/// Carries the backend's name and its error. Converts into
/// [`Error::ReplayStoreUnavailable`] (503).
///
/// ```
/// use hooksig::replay::ReplayStoreError;
/// let err = ReplayStoreError::new("redis", "connection refused");
/// assert_eq!(err.backend(), "redis");
/// assert_eq!(err.to_string(), "replay store `redis` failed: connection refused");
/// let err: hooksig::Error = err.into();
/// assert_eq!(err.status(), http::StatusCode::SERVICE_UNAVAILABLE);
/// ```
#[derive(Debug)]
pub struct ReplayStoreError {
    backend: &'static str,
    source: Box<dyn std::error::Error + Send + Sync>,
    full: bool,
}

impl ReplayStoreError {
    /// An error of `backend` (a short name such as `redis`), caused by `source` (an
    /// error or a message).
    pub fn new(backend: &'static str, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        ReplayStoreError { backend, source: source.into(), full: false }
    }

    /// The store is reachable but full of claims in progress: it cannot take a new
    /// claim without forgetting one. Unlike an outage, this always fails closed (503),
    /// whatever the [`FailMode`]: running the delivery unguarded would let a copy of a
    /// delivery in progress run concurrently.
    ///
    /// ```
    /// use hooksig::replay::ReplayStoreError;
    /// let err = ReplayStoreError::full("memory", "full of claims in progress");
    /// assert!(err.is_full());
    /// assert!(!ReplayStoreError::new("redis", "timeout").is_full());
    /// ```
    pub fn full(backend: &'static str, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        ReplayStoreError { backend, source: source.into(), full: true }
    }

    /// Whether the store refused for lack of room ([`ReplayStoreError::full`]).
    pub fn is_full(&self) -> bool {
        self.full
    }

    /// The backend's short name.
    pub fn backend(&self) -> &'static str {
        self.backend
    }
}

impl fmt::Display for ReplayStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "replay store `{}` failed: {}", self.backend, self.source)
    }
}

impl std::error::Error for ReplayStoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

impl From<ReplayStoreError> for Error {
    fn from(err: ReplayStoreError) -> Error {
        Error::ReplayStoreUnavailable { backend: err.backend, reason: err.source.to_string().into() }
    }
}
