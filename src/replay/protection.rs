//! The protocol around a handler: claim, run, complete or release.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use http::StatusCode;

use super::{ClaimOutcome, ClaimToken, ReplayGuard, ReplayKey, ReplayPolicy, ReplayStoreError};
use crate::{Error, Verified};

/// What to do when the replay store fails.
///
/// ```
/// use hooksig::replay::FailMode;
/// assert_eq!(FailMode::default(), FailMode::Closed);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailMode {
    /// Refuse the delivery with 503 ([`Error::ReplayStoreUnavailable`]); the sender
    /// retries later. Nothing is processed twice, nothing is lost.
    #[default]
    Closed,
    /// Process the delivery without protection ([`ReplayState::Unguarded`]): nothing
    /// waits on the store, but a duplicate may be processed.
    Open,
}

/// Which case a handler runs in; the integrations insert it into the request
/// extensions.
///
/// ```
/// use hooksig::replay::ReplayState;
/// assert_eq!(ReplayState::InProgress.early_response().map(|(s, _)| s.as_u16()), Some(409));
/// assert_eq!(ReplayState::Duplicate.early_response().map(|(s, _)| s.as_u16()), Some(200));
/// assert_eq!(ReplayState::First.early_response(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReplayState {
    /// First sight: this handler holds the claim.
    First,
    /// Another worker is processing the delivery (the handler is not called).
    InProgress,
    /// The delivery was already processed (the handler is not called).
    Duplicate,
    /// The store failed and the fail mode is open: no claim is held, the delivery may
    /// be a duplicate.
    Unguarded,
}

impl ReplayState {
    /// The response that answers the delivery without calling the handler: 409
    /// `delivery in progress` (the sender retries later) or 200 `duplicate delivery`
    /// (the sender stops retrying); `None` when the handler runs.
    pub fn early_response(self) -> Option<(StatusCode, &'static str)> {
        match self {
            ReplayState::InProgress => Some((StatusCode::CONFLICT, "delivery in progress")),
            ReplayState::Duplicate => Some((StatusCode::OK, "duplicate delivery")),
            ReplayState::First | ReplayState::Unguarded => None,
        }
    }
}

/// A guard, a policy and a fail mode: what `.replay_guard(…)` on the integrations
/// takes. Cheap to clone.
///
/// ```
/// use std::time::Duration;
/// use hooksig::replay::{FailMode, MemoryReplayGuard, ReplayPolicy, ReplayProtection};
/// let replay = ReplayProtection::new(MemoryReplayGuard::new(10_000))
///     .with_policy(ReplayPolicy::new().prefix("slack-app:"))
///     .with_fail_mode(FailMode::Open);
/// assert_eq!(replay.fail_mode(), FailMode::Open);
/// ```
#[derive(Clone)]
pub struct ReplayProtection {
    guard: Arc<dyn ReplayGuard>,
    policy: ReplayPolicy,
    fail_mode: FailMode,
}

impl<G: ReplayGuard + 'static> From<G> for ReplayProtection {
    fn from(guard: G) -> Self {
        ReplayProtection::new(guard)
    }
}

impl ReplayProtection {
    /// Protection with `guard`, the default [`ReplayPolicy`] and [`FailMode::Closed`].
    pub fn new(guard: impl ReplayGuard + 'static) -> Self {
        ReplayProtection::from_arc(Arc::new(guard))
    }

    /// Protection with a shared guard.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use hooksig::replay::{MemoryReplayGuard, ReplayGuard, ReplayProtection};
    /// let shared: Arc<dyn ReplayGuard> = Arc::new(MemoryReplayGuard::new(1_000));
    /// let a = ReplayProtection::from_arc(shared.clone());
    /// let b = ReplayProtection::from_arc(shared);
    /// # let _ = (a, b);
    /// ```
    pub fn from_arc(guard: Arc<dyn ReplayGuard>) -> Self {
        ReplayProtection { guard, policy: ReplayPolicy::default(), fail_mode: FailMode::default() }
    }

    /// Replaces the policy (key prefix, TTLs).
    pub fn with_policy(mut self, policy: ReplayPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Replaces the fail mode.
    pub fn with_fail_mode(mut self, fail_mode: FailMode) -> Self {
        self.fail_mode = fail_mode;
        self
    }

    /// The guard.
    pub fn guard(&self) -> &Arc<dyn ReplayGuard> {
        &self.guard
    }

    /// The policy.
    pub fn policy(&self) -> &ReplayPolicy {
        &self.policy
    }

    /// The fail mode.
    pub fn fail_mode(&self) -> FailMode {
        self.fail_mode
    }

    /// Claims a verified delivery.
    ///
    /// `Ok(Decision::Proceed(claim))` on first sight, `Ok(InProgress)` or
    /// `Ok(Duplicate)` otherwise. When the store fails: `Err`
    /// ([`Error::ReplayStoreUnavailable`], 503) if the fail mode is closed,
    /// `Ok(Decision::Unguarded)` if open.
    ///
    /// ```
    /// use hooksig::replay::{Decision, MemoryReplayGuard, ReplayProtection};
    /// use hooksig::{Scheme, Signer, Verifier};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), hooksig::Error> {
    /// let verifier = Verifier::new(Scheme::vocalis(), "s")?;
    /// let replay = ReplayProtection::new(MemoryReplayGuard::new(1_000));
    /// let headers = Signer::new(Scheme::vocalis(), "s")?.sign(b"{}")?;
    ///
    /// let first = replay.check(&verifier.verify(&headers, b"{}")?).await?;
    /// // While the first is being processed, a copy is told to come back later.
    /// let copy = replay.check(&verifier.verify(&headers, b"{}")?).await?;
    /// assert!(matches!(copy, Decision::InProgress));
    /// // The first fails: releasing lets the sender's retry through.
    /// let Decision::Proceed(claim) = first else { unreachable!() };
    /// claim.release().await?;
    /// let retry = replay.check(&verifier.verify(&headers, b"{}")?).await?;
    /// assert!(matches!(retry, Decision::Proceed(_)));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn check(&self, verified: &Verified) -> Result<Decision, Error> {
        let key = self.policy.key(verified);
        match self.guard.claim(&key).await {
            Ok(ClaimOutcome::Claimed(token)) => {
                Ok(Decision::Proceed(Claim { guard: self.guard.clone(), key, token, armed: true }))
            }
            Ok(ClaimOutcome::InProgress) => {
                #[cfg(feature = "tracing")]
                tracing::debug!(key = ?key.as_str(), "replay guard: delivery in progress elsewhere");
                Ok(Decision::InProgress)
            }
            Ok(ClaimOutcome::Done) => {
                #[cfg(feature = "tracing")]
                tracing::debug!(key = ?key.as_str(), "replay guard: duplicate delivery");
                Ok(Decision::Duplicate)
            }
            Err(err) => {
                #[cfg(feature = "tracing")]
                tracing::warn!(
                    key = ?key.as_str(),
                    fail_mode = ?self.fail_mode,
                    error = %err,
                    "replay guard: store unavailable",
                );
                match self.fail_mode {
                    FailMode::Closed => Err(err.into()),
                    FailMode::Open => Ok(Decision::Unguarded),
                }
            }
        }
    }

    /// Runs the whole protocol around a handler: claim; on first sight (or unguarded)
    /// call `handler` with the [`ReplayState`] and await it; complete the claim if
    /// `succeeded` says so, release it otherwise. If the returned future is dropped
    /// (cancellation) or the handler panics, the claim is released by its `Drop`.
    ///
    /// The handler is not called for [`Guarded::InProgress`] and
    /// [`Guarded::Duplicate`]; answer those with [`Guarded::early_response`].
    ///
    /// ```
    /// use hooksig::replay::{Guarded, MemoryReplayGuard, ReplayProtection, ReplayState};
    /// use hooksig::{Scheme, Signer, Verifier};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), hooksig::Error> {
    /// let verifier = Verifier::new(Scheme::tale(), "s")?;
    /// let replay = ReplayProtection::new(MemoryReplayGuard::new(1_000));
    /// let headers = Signer::new(Scheme::tale(), "s")?.sign(b"{}")?;
    ///
    /// let handler = |state: ReplayState| async move {
    ///     assert_eq!(state, ReplayState::First);
    ///     http::StatusCode::NO_CONTENT
    /// };
    /// let verified = verifier.verify(&headers, b"{}")?;
    /// let out = replay.run(&verified, handler, |status| status.is_success()).await?;
    /// assert!(matches!(out, Guarded::Handled(http::StatusCode::NO_CONTENT)));
    ///
    /// let again = replay.run(&verified, handler, |status| status.is_success()).await?;
    /// assert_eq!(again.early_response().map(|(s, _)| s), Some(http::StatusCode::OK));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run<R, Fut>(
        &self,
        verified: &Verified,
        handler: impl FnOnce(ReplayState) -> Fut,
        succeeded: impl FnOnce(&R) -> bool,
    ) -> Result<Guarded<R>, Error>
    where
        Fut: Future<Output = R>,
    {
        match self.check(verified).await? {
            Decision::Proceed(claim) => {
                // `claim` lives across the handler: a panic or a cancellation drops it,
                // and its `Drop` releases the key.
                let output = handler(ReplayState::First).await;
                claim.finish(succeeded(&output)).await;
                Ok(Guarded::Handled(output))
            }
            Decision::Unguarded => Ok(Guarded::Handled(handler(ReplayState::Unguarded).await)),
            Decision::InProgress => Ok(Guarded::InProgress),
            Decision::Duplicate => Ok(Guarded::Duplicate),
        }
    }
}

impl fmt::Debug for ReplayProtection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayProtection")
            .field("policy", &self.policy)
            .field("fail_mode", &self.fail_mode)
            .finish_non_exhaustive()
    }
}

/// What [`ReplayProtection::check`] decided.
#[derive(Debug)]
pub enum Decision {
    /// First sight: process the delivery, then [`Claim::complete`] (success) or
    /// [`Claim::release`] (failure), or [`Claim::finish`] with the outcome.
    Proceed(Claim),
    /// Another worker holds the claim: answer 409.
    InProgress,
    /// Already processed: answer 200 without processing.
    Duplicate,
    /// The store failed and the fail mode is open: process without protection.
    Unguarded,
}

impl Decision {
    /// The [`ReplayState`] to hand to the handler (or to answer with).
    ///
    /// ```
    /// use hooksig::replay::{Decision, ReplayState};
    /// assert_eq!(Decision::Duplicate.state(), ReplayState::Duplicate);
    /// ```
    pub fn state(&self) -> ReplayState {
        match self {
            Decision::Proceed(_) => ReplayState::First,
            Decision::InProgress => ReplayState::InProgress,
            Decision::Duplicate => ReplayState::Duplicate,
            Decision::Unguarded => ReplayState::Unguarded,
        }
    }
}

/// What [`ReplayProtection::run`] did.
#[derive(Debug)]
pub enum Guarded<R> {
    /// The handler ran (first sight, or unguarded) and returned this.
    Handled(R),
    /// Another worker holds the claim; the handler was not called. Answer 409.
    InProgress,
    /// Already processed; the handler was not called. Answer 200.
    Duplicate,
}

impl<R> Guarded<R> {
    /// The response for a delivery the handler did not see (see
    /// [`ReplayState::early_response`]); `None` for [`Guarded::Handled`].
    pub fn early_response(&self) -> Option<(StatusCode, &'static str)> {
        match self {
            Guarded::Handled(_) => None,
            Guarded::InProgress => ReplayState::InProgress.early_response(),
            Guarded::Duplicate => ReplayState::Duplicate.early_response(),
        }
    }
}

/// A held claim on a delivery. Complete it when the delivery was processed, release
/// it when it was not; dropped without either (panic, cancelled future), it releases
/// itself through [`ReplayGuard::release_detached`].
///
/// Usable from any future: it is `Send` and `'static`.
#[must_use = "a claim is released when dropped; complete it once the delivery is processed"]
pub struct Claim {
    guard: Arc<dyn ReplayGuard>,
    key: ReplayKey,
    token: ClaimToken,
    armed: bool,
}

impl Claim {
    /// The claimed key.
    pub fn key(&self) -> &ReplayKey {
        &self.key
    }

    /// Records the delivery as done (see [`ReplayGuard::complete`]).
    ///
    /// Whatever the result, the claim is not released afterwards: if the store failed,
    /// the key stays claimed until its lease expires, which keeps duplicates out a
    /// little longer. If this future is dropped before it finishes, the claim is
    /// released (a release after a completion that did land is a no-op).
    pub async fn complete(mut self) -> Result<bool, ReplayStoreError> {
        let result = self.guard.complete(&self.key, &self.token).await;
        self.armed = false;
        result
    }

    /// Gives the claim back so a retry is processed (see [`ReplayGuard::release`]).
    /// If the store failed, the claim lapses when its lease expires.
    pub async fn release(mut self) -> Result<bool, ReplayStoreError> {
        let result = self.guard.release(&self.key, &self.token).await;
        self.armed = false;
        result
    }

    /// Completes the claim if `success`, releases it otherwise; store errors are
    /// logged (feature `tracing`) and otherwise ignored, as the response no longer
    /// depends on them.
    pub async fn finish(self, success: bool) {
        #[cfg(feature = "tracing")]
        let key = self.key.clone();
        let result = if success { self.complete().await } else { self.release().await };
        if let Err(_err) = result {
            #[cfg(feature = "tracing")]
            tracing::warn!(key = ?key.as_str(), success, error = %_err, "replay guard: could not finish the claim");
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if self.armed {
            self.armed = false;
            #[cfg(feature = "tracing")]
            tracing::debug!(key = ?self.key.as_str(), "replay guard: claim dropped, releasing");
            self.guard.release_detached(self.key.clone(), self.token);
        }
    }
}

impl fmt::Debug for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Claim").field("key", &self.key).field("armed", &self.armed).finish_non_exhaustive()
    }
}
