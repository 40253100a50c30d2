//! The protocol around a handler: claim, run, complete or release.

use std::fmt;
use std::sync::Arc;

use super::{ClaimOutcome, ClaimToken, ReplayGuard, ReplayKey, ReplayPolicy, ReplayStoreError};
use crate::error::Refusal;
use crate::verify::Verified;

/// What to do when the replay store fails.
///
/// ```
/// use hooksig::replay::FailMode;
/// assert_eq!(FailMode::default(), FailMode::Closed);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailMode {
    /// Refuse the delivery with 503 ([`Error::ReplayStoreUnavailable`](crate::Error::ReplayStoreUnavailable)); the sender
    /// retries later. Nothing is processed twice, nothing is lost.
    #[default]
    Closed,
    /// Process the delivery without protection ([`ReplayState::Unguarded`]): nothing
    /// waits on the store, but a duplicate may be processed. A store that is reachable
    /// but full of claims in progress ([`ReplayStoreError::is_full`]) still answers 503.
    Open,
}

/// Which case a handler runs in; the integrations insert it into the request
/// extensions when replay protection is on.
///
/// ```
/// use hooksig::replay::ReplayState;
/// assert_ne!(ReplayState::First, ReplayState::Unguarded);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplayState {
    /// First sight: a claim is held for this delivery (by the handler's extractor,
    /// or by the layer, which completes it on a 2xx answer).
    First,
    /// The store failed and the fail mode is open: no claim is held, the delivery may
    /// be a duplicate.
    Unguarded,
}

/// The replay side of a delivery that goes on to its handler: which case it is in,
/// and the claim to complete once it is processed.
///
/// Made by [`ReplayProtection::check`]; the other outcomes (in progress, duplicate,
/// store down with the fail mode closed) are [`Refusal`]s and never reach a handler.
/// Dropped without [`Pass::complete`] or [`Pass::release`] (an error, a panic, a
/// cancelled request), its claim is released, so the sender's retry is processed.
#[derive(Debug)]
#[must_use = "complete the delivery once it is processed; dropped, it is released"]
pub struct Pass {
    state: ReplayState,
    claim: Option<Claim>,
}

impl Pass {
    /// A pass that holds no claim: the store failed and the fail mode is open, or the
    /// protocol runs elsewhere (a layer in front of an extractor).
    pub(crate) fn unclaimed(state: ReplayState) -> Pass {
        Pass { state, claim: None }
    }

    /// Which case the handler runs in.
    ///
    /// ```
    /// use hooksig::replay::{MemoryReplayGuard, ReplayProtection, ReplayState};
    /// use hooksig::{Scheme, Signer, Verifier};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), hooksig::Refusal> {
    /// let replay = ReplayProtection::new(MemoryReplayGuard::new(10));
    /// let headers = Signer::new(Scheme::tale(), "s")?.sign(b"{}")?;
    /// let pass = replay.check(&Verifier::new(Scheme::tale(), "s")?.verify(&headers, b"{}")?, b"{}").await?;
    /// assert_eq!(pass.state(), ReplayState::First);
    /// # Ok(())
    /// # }
    /// ```
    pub fn state(&self) -> ReplayState {
        self.state
    }

    /// The claim this pass holds, if any (none once completed or released).
    pub fn claim(&self) -> Option<&Claim> {
        self.claim.as_ref()
    }

    /// Records the delivery as processed: later copies are answered 200 without
    /// processing. Call it after processing, right before answering 2xx. A no-op when
    /// no claim is held. A store error is returned; the claim then lapses with its
    /// lease.
    pub async fn complete(&mut self) -> Result<(), ReplayStoreError> {
        match self.claim.take() {
            Some(claim) => claim.complete().await.map(drop),
            None => Ok(()),
        }
    }

    /// Gives the claim back now, so that the sender's retry is processed. A no-op
    /// when no claim is held.
    pub async fn release(&mut self) -> Result<(), ReplayStoreError> {
        match self.claim.take() {
            Some(claim) => claim.release().await.map(drop),
            None => Ok(()),
        }
    }

    /// Completes the claim if `success`, releases it otherwise (see [`Claim::finish`]).
    pub async fn finish(mut self, success: bool) {
        if let Some(claim) = self.claim.take() {
            claim.finish(success).await;
        }
    }

    /// The claim, to move it elsewhere (complete it after processing).
    pub fn into_claim(self) -> Option<Claim> {
        self.claim
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

    /// Claims a verified delivery, given its exact body (the key is derived from
    /// what was signed; see [`ReplayPolicy::key`]).
    ///
    /// `Ok(pass)` when the handler should run: first sight ([`ReplayState::First`],
    /// the pass holds the claim) or, when the store fails and the fail mode is open,
    /// [`ReplayState::Unguarded`]. Otherwise the [`Refusal`] to answer with:
    /// [`Refusal::InProgress`] (409), [`Refusal::Duplicate`] (200) or, when the store
    /// fails and the fail mode is closed, [`Error::ReplayStoreUnavailable`](crate::Error::ReplayStoreUnavailable) (503).
    ///
    /// ```
    /// use hooksig::Refusal;
    /// use hooksig::replay::{MemoryReplayGuard, ReplayProtection};
    /// use hooksig::{Scheme, Signer, Verifier};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Refusal> {
    /// let verifier = Verifier::new(Scheme::vocalis(), "s")?;
    /// let replay = ReplayProtection::new(MemoryReplayGuard::new(1_000));
    /// let headers = Signer::new(Scheme::vocalis(), "s")?.sign(b"{}")?;
    ///
    /// let mut first = replay.check(&verifier.verify(&headers, b"{}")?, b"{}").await?;
    /// // While the first is being processed, a copy is told to come back later.
    /// let copy = replay.check(&verifier.verify(&headers, b"{}")?, b"{}").await;
    /// assert_eq!(copy.unwrap_err(), Refusal::InProgress);
    /// // The first fails: releasing lets the sender's retry through.
    /// first.release().await.map_err(hooksig::Error::from)?;
    /// let mut retry = replay.check(&verifier.verify(&headers, b"{}")?, b"{}").await?;
    /// retry.complete().await.map_err(hooksig::Error::from)?;
    /// let late = replay.check(&verifier.verify(&headers, b"{}")?, b"{}").await;
    /// assert_eq!(late.unwrap_err(), Refusal::Duplicate);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn check(&self, verified: &Verified, body: &[u8]) -> Result<Pass, Refusal> {
        self.claim_key(self.policy.key(verified, body)).await
    }

    /// [`ReplayProtection::check`] for a body held in chunks.
    pub(crate) async fn check_chunks<'a, I>(&self, verified: &Verified, body: I) -> Result<Pass, Refusal>
    where
        I: IntoIterator<Item = &'a [u8]> + Clone,
    {
        self.claim_key(self.policy.key_of_chunks(verified, body)).await
    }

    async fn claim_key(&self, key: ReplayKey) -> Result<Pass, Refusal> {
        match self.guard.claim(&key).await {
            Ok(ClaimOutcome::Claimed(token)) => {
                let claim = Claim { guard: self.guard.clone(), key, token, armed: true };
                Ok(Pass { state: ReplayState::First, claim: Some(claim) })
            }
            Ok(ClaimOutcome::InProgress) => {
                #[cfg(feature = "tracing")]
                tracing::debug!(target: "hooksig", key = ?key.as_str(), "replay guard: delivery in progress elsewhere");
                Err(Refusal::InProgress)
            }
            Ok(ClaimOutcome::Done) => {
                #[cfg(feature = "tracing")]
                tracing::debug!(target: "hooksig", key = ?key.as_str(), "replay guard: duplicate delivery");
                Err(Refusal::Duplicate)
            }
            Err(err) => {
                #[cfg(feature = "tracing")]
                tracing::warn!(
                    target: "hooksig",
                    key = ?key.as_str(),
                    fail_mode = ?self.fail_mode,
                    error = %err,
                    "replay guard: store unavailable",
                );
                match self.fail_mode {
                    // A full store is not an outage: unguarded, a copy of a delivery in
                    // progress would run concurrently.
                    FailMode::Open if !err.is_full() => Ok(Pass::unclaimed(ReplayState::Unguarded)),
                    FailMode::Closed | FailMode::Open => Err(Refusal::Rejected(err.into())),
                }
            }
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
            tracing::warn!(target: "hooksig", key = ?key.as_str(), success, error = %_err, "replay guard: could not finish the claim");
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if self.armed {
            self.armed = false;
            #[cfg(feature = "tracing")]
            tracing::debug!(target: "hooksig", key = ?self.key.as_str(), "replay guard: claim dropped, releasing");
            self.guard.release_detached(self.key.clone(), self.token);
        }
    }
}

impl fmt::Debug for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Claim").field("key", &self.key).field("armed", &self.armed).finish_non_exhaustive()
    }
}
