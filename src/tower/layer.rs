//! [`VerifyLayer`]: the configuration, shared by every service it builds.

use std::fmt;

use bytes::Bytes;
use http::{Method, Response};
use tower_layer::Layer;

use super::VerifyService;
use crate::basic_auth::BasicAuth;
use crate::error::Refusal;
use crate::pipeline::Receiver;
use crate::replay::ReplayProtection;
use crate::verify::Verifier;

/// Layer that verifies every request before the inner service sees it.
///
/// A thin adapter around a [`Receiver`] (the framework-neutral receive pipeline):
/// see the [module docs](crate::tower) for what it checks and in which order.
/// Cloning is cheap (one `Arc`).
///
/// ```
/// use hooksig::{BasicAuth, Scheme, Verifier, tower::VerifyLayer};
///
/// let layer = VerifyLayer::new(Verifier::new(Scheme::github(), "It's a Secret to Everybody")?)
///     .basic_auth(BasicAuth::new("hooks", "p4ss")?)
///     .allow_methods([http::Method::POST, http::Method::PUT]);
/// assert_eq!(layer.receiver().allow(), "POST, PUT");
/// assert_eq!(layer.receiver().max_body(), 25 * 1024 * 1024); // GitHub's documented payload cap
/// # Ok::<(), hooksig::Error>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct VerifyLayer {
    receiver: Receiver,
}

impl VerifyLayer {
    /// Accepts POST deliveries signed for `verifier`'s scheme.
    ///
    /// ```
    /// let layer = hooksig::tower::VerifyLayer::new(hooksig::Verifier::new(hooksig::Scheme::tale(), "s")?);
    /// assert!(layer.receiver().verifier().is_some());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn new(verifier: Verifier) -> VerifyLayer {
        VerifyLayer::from_receiver(Receiver::new(verifier))
    }

    /// Accepts POST requests carrying `auth`'s HTTP Basic credentials, with no
    /// signature scheme (NocoBase-style triggers). The inner service gets no
    /// [`crate::Verified`] extension in this mode.
    ///
    /// ```
    /// let layer = hooksig::tower::VerifyLayer::basic_only(hooksig::BasicAuth::new("u", "p")?);
    /// assert!(layer.receiver().verifier().is_none());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn basic_only(auth: BasicAuth) -> VerifyLayer {
        VerifyLayer::from_receiver(Receiver::basic_only(auth))
    }

    /// Uses an already configured [`Receiver`] (the same one an actix middleware
    /// could use).
    ///
    /// ```
    /// use hooksig::{Scheme, Verifier, pipeline::Receiver};
    /// let receiver = Receiver::new(Verifier::new(Scheme::slack(), "s")?);
    /// let layer = hooksig::tower::VerifyLayer::from_receiver(receiver);
    /// assert_eq!(layer.receiver().allow(), "POST");
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn from_receiver(receiver: Receiver) -> VerifyLayer {
        VerifyLayer { receiver }
    }

    /// Also requires HTTP Basic credentials (checked before the signature; a failure
    /// is 401 with `WWW-Authenticate: Basic`). See [`Receiver::basic_auth`].
    ///
    /// ```
    /// use hooksig::{BasicAuth, Scheme, Verifier, tower::VerifyLayer};
    /// let layer = VerifyLayer::new(Verifier::new(Scheme::tale(), "s")?).basic_auth(BasicAuth::new("u", "p")?);
    /// assert!(layer.receiver().basic().is_some());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn basic_auth(self, auth: BasicAuth) -> VerifyLayer {
        VerifyLayer { receiver: self.receiver.basic_auth(auth) }
    }

    /// Replaces the accepted methods (default: POST only); others get 405 with
    /// `Allow`. See [`Receiver::allow_methods`].
    ///
    /// ```
    /// use hooksig::{Scheme, Verifier, tower::VerifyLayer};
    /// let layer = VerifyLayer::new(Verifier::new(Scheme::tale(), "s")?).allow_methods([http::Method::PUT]);
    /// assert_eq!(layer.receiver().allow(), "PUT");
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn allow_methods(self, methods: impl IntoIterator<Item = Method>) -> VerifyLayer {
        VerifyLayer { receiver: self.receiver.allow_methods(methods) }
    }

    /// Builds every refusal's response with `f`: it gets the [`Refusal`] and the
    /// default response (status, short text, `Allow`, `WWW-Authenticate`,
    /// `Retry-After`; see [`Receiver::default_response`]) and returns the response to
    /// send. Replay answers (409, 200 duplicate, 503) go through it too. The same
    /// hook, with the same meaning, as [`crate::actix::VerifySignature::on_rejection`].
    ///
    /// ```
    /// use hooksig::{Scheme, Verifier, tower::VerifyLayer};
    ///
    /// let layer = VerifyLayer::new(Verifier::new(Scheme::tale(), "s")?).on_rejection(|refusal, mut res| {
    ///     res.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    ///     *res.body_mut() = format!(r#"{{"error":"{}"}}"#, refusal.public_message()).into();
    ///     res
    /// });
    /// # let _ = layer;
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn on_rejection<F>(self, f: F) -> VerifyLayer
    where
        F: Fn(&Refusal, Response<Bytes>) -> Response<Bytes> + Send + Sync + 'static,
    {
        VerifyLayer { receiver: self.receiver.on_rejection(f) }
    }

    /// Processes each delivery once, and acknowledges only what was processed (see
    /// [`crate::replay`]).
    ///
    /// For a verified delivery the layer claims its replay key, then:
    ///
    /// - **first sight**: calls the inner service with [`ReplayState::First`](crate::replay::ReplayState::First) in the
    ///   request extensions. A 2xx response marks the delivery done; any other status,
    ///   an error, or a panic or cancellation of the inner future releases the claim,
    ///   so the sender's retry is processed.
    /// - **in progress** on another worker or replica: answers 409
    ///   `delivery in progress` with `Retry-After`; the inner service is not called.
    /// - **already done**: answers 200 `duplicate delivery` (the sender stops
    ///   retrying); the inner service is not called.
    /// - **store unavailable** (or a memory guard full of claims in progress): with
    ///   [`FailMode::Closed`](crate::replay::FailMode) (the default) answers 503 with
    ///   `Retry-After` ([`Error::ReplayStoreUnavailable`](crate::Error::ReplayStoreUnavailable));
    ///   with `FailMode::Open` calls the inner service with
    ///   [`ReplayState::Unguarded`](crate::replay::ReplayState::Unguarded).
    ///
    /// All of these answers go through [`VerifyLayer::on_rejection`]. Takes a guard
    /// ([`MemoryReplayGuard`](crate::replay::MemoryReplayGuard), a `RedisReplayGuard`)
    /// or a configured [`ReplayProtection`]. The key's TTL follows the verifier's
    /// tolerance ([`crate::Verified::tolerance`]). A
    /// [`basic_only`](VerifyLayer::basic_only) layer verifies no signature, so there
    /// is no authenticated key to claim: the guard is ignored there.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use bytes::Bytes;
    /// use http::{Request, Response, StatusCode};
    /// use http_body_util::{BodyExt, Full};
    /// use hooksig::replay::{MemoryReplayGuard, ReplayState};
    /// use hooksig::tower::{VerifiedBody, VerifyLayer};
    /// use hooksig::{Scheme, Signer, Verifier};
    /// use tower::{Layer, ServiceExt};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// let layer = VerifyLayer::new(Verifier::new(Scheme::tale(), "s")?)
    ///     .replay_guard(MemoryReplayGuard::new(100_000));
    /// let service = layer.layer(tower::service_fn(|req: Request<VerifiedBody>| async move {
    ///     assert_eq!(req.extensions().get::<ReplayState>(), Some(&ReplayState::First));
    ///     Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("processed"))))
    /// }));
    ///
    /// let delivery = || -> Result<Request<Full<Bytes>>, Box<dyn std::error::Error + Send + Sync>> {
    ///     let mut request = Request::post("/hook").body(Full::new(Bytes::from("{}")))?;
    ///     request.headers_mut().extend(Signer::new(Scheme::tale(), "s")?.sign(b"{}")?);
    ///     Ok(request)
    /// };
    /// let first = service.clone().oneshot(delivery()?).await?;
    /// assert_eq!(first.into_body().collect().await?.to_bytes(), "processed");
    ///
    /// // The sender's retry (or a replay): acknowledged, not processed again.
    /// let again = service.oneshot(delivery()?).await?;
    /// assert_eq!(again.status(), StatusCode::OK);
    /// assert_eq!(again.into_body().collect().await?.to_bytes(), "duplicate delivery");
    /// # Ok(())
    /// # }
    /// ```
    pub fn replay_guard(self, replay: impl Into<ReplayProtection>) -> VerifyLayer {
        VerifyLayer { receiver: self.receiver.replay_guard(replay) }
    }

    /// The replay protection, if [`VerifyLayer::replay_guard`] set one.
    ///
    /// ```
    /// use hooksig::{Scheme, Verifier, replay::MemoryReplayGuard, tower::VerifyLayer};
    /// let layer = VerifyLayer::new(Verifier::new(Scheme::tale(), "s")?);
    /// assert!(layer.replay().is_none());
    /// assert!(layer.replay_guard(MemoryReplayGuard::new(10)).replay().is_some());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn replay(&self) -> Option<&ReplayProtection> {
        self.receiver.replay()
    }

    /// The receive pipeline this layer drives.
    ///
    /// ```
    /// let layer = hooksig::tower::VerifyLayer::new(hooksig::Verifier::new(hooksig::Scheme::tale(), "s")?);
    /// assert_eq!(layer.receiver().max_body(), 2 * 1024 * 1024);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn receiver(&self) -> &Receiver {
        &self.receiver
    }
}

impl<S> Layer<S> for VerifyLayer {
    type Service = VerifyService<S>;

    fn layer(&self, inner: S) -> VerifyService<S> {
        VerifyService::from_receiver(inner, self.receiver.clone())
    }
}

impl fmt::Debug for VerifyLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyLayer").field("receiver", &self.receiver).finish()
    }
}
