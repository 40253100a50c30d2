//! [`VerifiedOnce`]: what the once-extractors of every framework hand a handler.

use std::ops::{Deref, DerefMut};

use crate::replay::{Claim, Pass, ReplayState, ReplayStoreError};
use crate::verify::Verified;

/// An extracted value `T` whose delivery was verified and claimed: the handler runs
/// at most once per delivery, and acknowledges it with [`VerifiedOnce::complete`].
///
/// The same type serves every framework: `hooksig::axum::VerifiedOnce` and
/// `hooksig::actix::VerifiedOnce` are this type, each with the framework's extractor
/// implementation (see its `FromRequest` impl for how to register the verifier and
/// the replay protection). The extractor verifies the body (or trusts a layer's proof
/// from the same verifier), claims the delivery, then extracts `T`; copies in progress
/// (409), duplicates (200) and an unavailable store (503) never reach the handler.
///
/// Complete last, right before answering 2xx: the extractor cannot see the handler's
/// response. Dropped without [`complete`](VerifiedOnce::complete) (an error, an early
/// return, a panic), the claim is released so the sender's retry is processed: nothing
/// is acknowledged that was not processed. It derefs to `T`.
///
/// ```
/// # #[cfg(not(feature = "axum"))] fn main() {}
/// # #[cfg(feature = "axum")] fn main() {
/// use axum::http::StatusCode;
/// use hooksig::axum::VerifiedOnce;
///
/// async fn hook(mut delivery: VerifiedOnce<String>) -> Result<StatusCode, hooksig::Error> {
///     println!("processing {} bytes signed with key {}", delivery.len(), delivery.proof().key_index());
///     delivery.complete().await?; // recorded as done: copies now get 200 without running this
///     Ok(StatusCode::NO_CONTENT)
/// }
/// # let _ = hook;
/// # }
/// ```
#[derive(Debug)]
#[must_use = "complete the delivery once it is processed; dropped, it is released"]
pub struct VerifiedOnce<T> {
    value: T,
    proof: Verified,
    pass: Pass,
}

impl<T> VerifiedOnce<T> {
    pub(crate) fn new(value: T, proof: Verified, pass: Pass) -> VerifiedOnce<T> {
        VerifiedOnce { value, proof, pass }
    }

    /// Records the delivery as processed: later copies are answered 200
    /// `duplicate delivery` without running the handler. Call it after processing,
    /// right before answering 2xx.
    ///
    /// A no-op when no claim is held: behind a layer or middleware that runs the
    /// protocol (it completes on the 2xx response), when the store was down and the
    /// fail mode is open, or after a first `complete`. A store error is returned (it
    /// converts into [`Error::ReplayStoreUnavailable`](crate::Error::ReplayStoreUnavailable));
    /// the claim then lapses with its lease.
    ///
    /// ```
    /// # #[cfg(not(feature = "actix"))] fn main() {}
    /// # #[cfg(feature = "actix")] fn main() {
    /// use actix_web::{HttpResponse, web};
    /// async fn hook(mut body: hooksig::actix::VerifiedOnce<web::Bytes>) -> Result<HttpResponse, hooksig::Error> {
    ///     println!("processing {} bytes", body.len());
    ///     body.complete().await?;
    ///     Ok(HttpResponse::NoContent().finish())
    /// }
    /// # let _ = web::post().to(hook);
    /// # }
    /// ```
    pub async fn complete(&mut self) -> Result<(), ReplayStoreError> {
        self.pass.complete().await
    }

    /// Gives the claim back now, so that the sender's retry is processed (dropping
    /// the extractor does the same, in the background).
    ///
    /// ```
    /// # #[cfg(not(feature = "axum"))] fn main() {}
    /// # #[cfg(feature = "axum")] fn main() {
    /// use axum::http::StatusCode;
    /// async fn hook(mut delivery: hooksig::axum::VerifiedOnce<String>) -> StatusCode {
    ///     if delivery.is_empty() {
    ///         let _ = delivery.release().await;
    ///         return StatusCode::SERVICE_UNAVAILABLE; // the sender retries
    ///     }
    ///     match delivery.complete().await {
    ///         Ok(()) => StatusCode::OK,
    ///         Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    ///     }
    /// }
    /// # let _ = hook;
    /// # }
    /// ```
    pub async fn release(&mut self) -> Result<(), ReplayStoreError> {
        self.pass.release().await
    }

    /// Which case the handler runs in: [`ReplayState::First`] (a claim is held, here
    /// or by the layer / middleware) or [`ReplayState::Unguarded`].
    ///
    /// ```
    /// # #[cfg(not(feature = "actix"))] fn main() {}
    /// # #[cfg(feature = "actix")] fn main() {
    /// use actix_web::web;
    /// use hooksig::{actix::VerifiedOnce, replay::ReplayState};
    /// async fn hook(body: VerifiedOnce<web::Bytes>) -> &'static str {
    ///     if body.state() == ReplayState::Unguarded { "maybe a duplicate" } else { "first" }
    /// }
    /// # let _ = web::post().to(hook);
    /// # }
    /// ```
    pub fn state(&self) -> ReplayState {
        self.pass.state()
    }

    /// The proof of verification: scheme, matched key, timestamp, delivery id.
    ///
    /// ```
    /// # #[cfg(not(feature = "axum"))] fn main() {}
    /// # #[cfg(feature = "axum")] fn main() {
    /// async fn hook(delivery: hooksig::axum::VerifiedOnce<String>) -> String {
    ///     format!("key {}", delivery.proof().key_index())
    /// }
    /// # let _ = hook;
    /// # }
    /// ```
    pub fn proof(&self) -> &Verified {
        &self.proof
    }

    /// The extracted value, the proof and the claim (if this extractor holds one), to
    /// move them apart; complete the claim after processing.
    ///
    /// ```
    /// # #[cfg(not(feature = "actix"))] fn main() {}
    /// # #[cfg(feature = "actix")] fn main() {
    /// use actix_web::web;
    /// async fn hook(body: hooksig::actix::VerifiedOnce<String>) -> Result<String, hooksig::Error> {
    ///     let (text, _proof, claim) = body.into_parts();
    ///     // ... process `text` ...
    ///     if let Some(claim) = claim {
    ///         claim.complete().await?;
    ///     }
    ///     Ok(text)
    /// }
    /// # let _ = web::post().to(hook);
    /// # }
    /// ```
    pub fn into_parts(self) -> (T, Verified, Option<Claim>) {
        (self.value, self.proof, self.pass.into_claim())
    }
}

impl<T> Deref for VerifiedOnce<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for VerifiedOnce<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}
