//! [`VerifyLayer`]: the configuration, shared by every service it builds.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Response};
use tower_layer::Layer;

use super::VerifyService;
use crate::replay::ReplayProtection;
use crate::{BasicAuth, Error, Gate, Verifier};

/// A user-supplied rejection builder.
pub(crate) type RejectFn = dyn Fn(&Error, &Gate) -> Response<Bytes> + Send + Sync;

/// What every service built by one layer shares (behind one `Arc`).
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) gate: Gate,
    pub(crate) on_rejection: Option<Arc<RejectFn>>,
    pub(crate) replay: Option<ReplayProtection>,
}

impl Shared {
    /// The response for a rejection, logged at debug level with the `tracing` feature.
    pub(crate) fn reject(&self, error: &Error) -> Response<Bytes> {
        #[cfg(feature = "tracing")]
        tracing::debug!(error = %error, status = error.status().as_u16(), "hooksig: request rejected");
        match &self.on_rejection {
            Some(f) => f(error, &self.gate),
            None => super::default_rejection(error, &self.gate),
        }
    }
}

/// Layer that verifies every request before the inner service sees it.
///
/// Built from a [`Verifier`] (or a [`Gate`]); see the [module docs](crate::tower) for
/// what it checks and in which order. Cloning is cheap (one `Arc`).
///
/// ```
/// use hooksig::{BasicAuth, Scheme, Verifier, tower::VerifyLayer};
///
/// let layer = VerifyLayer::new(Verifier::new(Scheme::github(), "It's a Secret to Everybody")?)
///     .basic_auth(BasicAuth::new("hooks", "p4ss")?)
///     .allow_methods([http::Method::POST, http::Method::PUT]);
/// assert_eq!(layer.gate().allow(), "POST, PUT");
/// assert_eq!(layer.gate().max_body(), 25 * 1024 * 1024); // GitHub's documented payload cap
/// # Ok::<(), hooksig::Error>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct VerifyLayer {
    shared: Arc<Shared>,
}

impl VerifyLayer {
    /// Accepts POST deliveries signed for `verifier`'s scheme.
    ///
    /// ```
    /// let layer = hooksig::tower::VerifyLayer::new(hooksig::Verifier::new(hooksig::Scheme::tale(), "s")?);
    /// assert!(layer.gate().verifier().is_some());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn new(verifier: Verifier) -> VerifyLayer {
        VerifyLayer::from_gate(Gate::new(verifier))
    }

    /// Accepts POST requests carrying `auth`'s HTTP Basic credentials, with no
    /// signature scheme (NocoBase-style triggers). The inner service gets no
    /// [`crate::Verified`] extension in this mode.
    ///
    /// ```
    /// let layer = hooksig::tower::VerifyLayer::basic_only(hooksig::BasicAuth::new("u", "p")?);
    /// assert!(layer.gate().verifier().is_none());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn basic_only(auth: BasicAuth) -> VerifyLayer {
        VerifyLayer::from_gate(Gate::basic_only(auth))
    }

    /// Uses an already configured [`Gate`] (the same one an actix integration would).
    ///
    /// ```
    /// use hooksig::{Gate, Scheme, Verifier};
    /// let gate = Gate::new(Verifier::new(Scheme::slack(), "s")?);
    /// let layer = hooksig::tower::VerifyLayer::from_gate(gate);
    /// assert_eq!(layer.gate().allow(), "POST");
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn from_gate(gate: Gate) -> VerifyLayer {
        VerifyLayer { shared: Arc::new(Shared { gate, on_rejection: None, replay: None }) }
    }

    /// Also requires HTTP Basic credentials (checked before the signature; a failure
    /// is 401 with `WWW-Authenticate: Basic`).
    ///
    /// ```
    /// use hooksig::{BasicAuth, Scheme, Verifier, tower::VerifyLayer};
    /// let layer = VerifyLayer::new(Verifier::new(Scheme::tale(), "s")?).basic_auth(BasicAuth::new("u", "p")?);
    /// assert!(layer.gate().basic().is_some());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn basic_auth(self, auth: BasicAuth) -> VerifyLayer {
        self.map_gate(|gate| gate.basic_auth(auth))
    }

    /// Replaces the accepted methods (default: POST only); others get 405 with
    /// `Allow`.
    ///
    /// ```
    /// use hooksig::{Scheme, Verifier, tower::VerifyLayer};
    /// let layer = VerifyLayer::new(Verifier::new(Scheme::tale(), "s")?).allow_methods([http::Method::PUT]);
    /// assert_eq!(layer.gate().allow(), "PUT");
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn allow_methods(self, methods: impl IntoIterator<Item = Method>) -> VerifyLayer {
        self.map_gate(|gate| gate.allow_methods(methods))
    }

    /// Builds rejection responses with `f` instead of [`super::default_rejection`]
    /// (for instance to answer JSON). `f` gets the error, whose `Display` form is
    /// for logs, not for the client, and the gate, whose
    /// [`Gate::challenge_for`] gives the `Allow` / `WWW-Authenticate` header the
    /// response should carry.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use hooksig::{Scheme, Verifier, tower::{VerifyLayer, default_rejection}};
    ///
    /// let layer = VerifyLayer::new(Verifier::new(Scheme::tale(), "s")?).on_rejection(|error, gate| {
    ///     let mut res = default_rejection(error, gate); // status and challenge header
    ///     res.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    ///     *res.body_mut() = Bytes::from(format!(r#"{{"error":"{}"}}"#, error.public_message()));
    ///     res
    /// });
    /// # let _ = layer;
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn on_rejection<F>(self, f: F) -> VerifyLayer
    where
        F: Fn(&Error, &Gate) -> Response<Bytes> + Send + Sync + 'static,
    {
        self.map_shared(|shared| shared.on_rejection = Some(Arc::new(f)))
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
    ///   `delivery in progress` (the sender retries later); the inner service is not
    ///   called.
    /// - **already done**: answers 200 `duplicate delivery` (the sender stops
    ///   retrying); the inner service is not called.
    /// - **store unavailable**: with [`FailMode::Closed`](crate::replay::FailMode)
    ///   (the default) answers 503 through the rejection path
    ///   ([`Error::ReplayStoreUnavailable`], [`VerifyLayer::on_rejection`]); with
    ///   `FailMode::Open` calls the inner service with [`ReplayState::Unguarded`](crate::replay::ReplayState::Unguarded).
    ///
    /// Takes a guard ([`MemoryReplayGuard`](crate::replay::MemoryReplayGuard), a
    /// `RedisReplayGuard`) or a configured [`ReplayProtection`]. The key's TTL
    /// follows the verifier's tolerance ([`crate::Verified::tolerance`]).
    ///
    /// A [`basic_only`](VerifyLayer::basic_only) layer verifies no signature, so
    /// there is no authenticated key to claim: the guard is ignored there.
    ///
    /// The claim and its completion are the only boxed futures, and only with a
    /// guard; the inner service's future is never boxed.
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
        let replay = replay.into();
        #[cfg(feature = "tracing")]
        if self.shared.gate.verifier().is_none() {
            tracing::warn!(
                "hooksig: a replay guard on a basic-only layer is ignored (no signature to key on)"
            );
        }
        self.map_shared(|shared| shared.replay = Some(replay))
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
        self.shared.replay.as_ref()
    }

    /// The checks this layer makes.
    ///
    /// ```
    /// let layer = hooksig::tower::VerifyLayer::new(hooksig::Verifier::new(hooksig::Scheme::tale(), "s")?);
    /// assert_eq!(layer.gate().max_body(), 2 * 1024 * 1024);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn gate(&self) -> &Gate {
        &self.shared.gate
    }

    fn map_gate(self, f: impl FnOnce(Gate) -> Gate) -> VerifyLayer {
        self.map_shared(|shared| shared.gate = f(shared.gate.clone()))
    }

    fn map_shared(self, f: impl FnOnce(&mut Shared)) -> VerifyLayer {
        let mut shared = Shared::clone(&self.shared);
        f(&mut shared);
        VerifyLayer { shared: Arc::new(shared) }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl<S> Layer<S> for VerifyLayer {
    type Service = VerifyService<S>;

    fn layer(&self, inner: S) -> VerifyService<S> {
        VerifyService::from_shared(inner, self.shared.clone())
    }
}

impl fmt::Debug for VerifyLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyLayer")
            .field("gate", &self.shared.gate)
            .field("on_rejection", &self.shared.on_rejection.is_some())
            .field("replay", &self.shared.replay)
            .finish()
    }
}
