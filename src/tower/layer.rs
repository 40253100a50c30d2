//! [`VerifyLayer`]: the configuration, shared by every service it builds.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Response};
use tower_layer::Layer;

use super::VerifyService;
use crate::{BasicAuth, Error, Gate, Verifier};

/// A user-supplied rejection builder.
pub(crate) type RejectFn = dyn Fn(&Error, &Gate) -> Response<Bytes> + Send + Sync;

/// What every service built by one layer shares (behind one `Arc`).
pub(crate) struct Shared {
    pub(crate) gate: Gate,
    pub(crate) on_rejection: Option<Arc<RejectFn>>,
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
        VerifyLayer { shared: Arc::new(Shared { gate, on_rejection: None }) }
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
        let gate = self.shared.gate.clone();
        VerifyLayer { shared: Arc::new(Shared { gate, on_rejection: Some(Arc::new(f)) }) }
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
        let gate = f(self.shared.gate.clone());
        let on_rejection = self.shared.on_rejection.clone();
        VerifyLayer { shared: Arc::new(Shared { gate, on_rejection }) }
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
            .finish()
    }
}
