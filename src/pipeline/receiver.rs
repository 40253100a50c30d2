//! [`Receiver`] and the stages of one request: [`Intake`], [`Received`],
//! [`Proceeding`], [`Delivery`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderValue, Method, Response, header};

use super::Chunks;
use crate::basic_auth::BasicAuth;
use crate::error::{Error, Refusal};
use crate::headers::HeaderSource;
use crate::headers::content_length;
use crate::replay::{Pass, ReplayPolicy, ReplayProtection};
use crate::scheme::DEFAULT_MAX_BODY;
#[cfg(any(feature = "tower", feature = "actix"))]
use crate::verify::Matched;
use crate::verify::{Verification, Verified, Verifier};

/// Builds the response for a refusal: gets the refusal and the default response
/// ([`Receiver::default_response`]), returns the response to send.
pub type RejectFn = dyn Fn(&Refusal, Response<Bytes>) -> Response<Bytes> + Send + Sync;

/// What a webhook endpoint accepts, and how it answers what it refuses.
///
/// Built once, cheap to clone (one `Arc`), shared by every request and every
/// integration: the tower layer and the actix middleware are built from one. See the
/// [module docs](super) for the flow.
///
/// ```
/// use hooksig::pipeline::Receiver;
/// use hooksig::replay::MemoryReplayGuard;
/// use hooksig::{BasicAuth, Scheme, Verifier};
///
/// let receiver = Receiver::new(Verifier::new(Scheme::github(), "It's a Secret to Everybody")?)
///     .basic_auth(BasicAuth::new("hooks", "p4ss")?)
///     .allow_methods([http::Method::POST, http::Method::PUT])
///     .replay_guard(MemoryReplayGuard::new(100_000))
///     .on_rejection(|refusal, mut response| {
///         *response.body_mut() = format!(r#"{{"error":"{}"}}"#, refusal.public_message()).into();
///         response.headers_mut().insert("content-type", http::HeaderValue::from_static("application/json"));
///         response
///     });
/// assert_eq!(receiver.allow(), "POST, PUT");
/// assert_eq!(receiver.max_body(), 25 * 1024 * 1024); // GitHub's documented payload cap
/// # Ok::<(), hooksig::Error>(())
/// ```
#[derive(Clone)]
pub struct Receiver {
    config: Arc<Config>,
}

#[derive(Clone)]
struct Config {
    verifier: Option<Verifier>,
    basic: Option<BasicAuth>,
    methods: Arc<[Method]>,
    allow: HeaderValue,
    replay: Option<ReplayProtection>,
    on_rejection: Option<Arc<RejectFn>>,
}

impl Receiver {
    /// Accepts POST deliveries signed for `verifier`'s scheme.
    ///
    /// ```
    /// let receiver = hooksig::pipeline::Receiver::new(hooksig::Verifier::new(hooksig::Scheme::tale(), "s")?);
    /// assert!(receiver.verifier().is_some());
    /// assert_eq!(receiver.max_body(), 2 * 1024 * 1024);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn new(verifier: Verifier) -> Receiver {
        Receiver::build(Some(verifier), None)
    }

    /// Accepts POST requests carrying `auth`'s credentials, with no signature scheme
    /// (NocoBase-style triggers). The body limit is [`DEFAULT_MAX_BODY`]; no proof is
    /// produced, and a replay guard has nothing authenticated to key on (it is
    /// ignored).
    ///
    /// ```
    /// use hooksig::{BasicAuth, pipeline::Receiver};
    /// let receiver = Receiver::basic_only(BasicAuth::new("u", "p")?);
    /// let refusal = receiver.admit("POST", &http::HeaderMap::new()).unwrap_err();
    /// assert_eq!(refusal, hooksig::Error::Unauthorized.into());
    /// assert_eq!(receiver.respond(&refusal).headers()["www-authenticate"], "Basic realm=\"webhooks\"");
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn basic_only(auth: BasicAuth) -> Receiver {
        Receiver::build(None, Some(auth))
    }

    fn build(verifier: Option<Verifier>, basic: Option<BasicAuth>) -> Receiver {
        Receiver {
            config: Arc::new(Config {
                verifier,
                basic,
                methods: Arc::from([Method::POST]),
                allow: HeaderValue::from_static("POST"),
                replay: None,
                on_rejection: None,
            }),
        }
    }

    fn map(mut self, f: impl FnOnce(&mut Config)) -> Receiver {
        f(Arc::make_mut(&mut self.config));
        self
    }

    /// Also requires HTTP Basic credentials, checked before the signature (401 with
    /// `WWW-Authenticate` when missing or wrong).
    ///
    /// ```
    /// use hooksig::{BasicAuth, Scheme, Verifier, pipeline::Receiver};
    /// let receiver = Receiver::new(Verifier::new(Scheme::tale(), "s")?).basic_auth(BasicAuth::new("u", "p")?);
    /// assert!(receiver.basic().is_some());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn basic_auth(self, auth: BasicAuth) -> Receiver {
        self.map(|config| config.basic = Some(auth))
    }

    /// Replaces the accepted methods (default: POST only); others get 405 with
    /// `Allow`. An empty list keeps the current ones.
    ///
    /// ```
    /// use hooksig::{Scheme, Verifier, pipeline::Receiver};
    /// let receiver = Receiver::new(Verifier::new(Scheme::tale(), "s")?).allow_methods([http::Method::PUT]);
    /// assert_eq!(receiver.allow(), "PUT");
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn allow_methods(self, methods: impl IntoIterator<Item = Method>) -> Receiver {
        let methods: Vec<Method> = methods.into_iter().collect();
        let joined = methods.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
        match HeaderValue::from_str(&joined) {
            Ok(allow) if !methods.is_empty() => self.map(|config| {
                config.allow = allow;
                config.methods = methods.into();
            }),
            _ => self,
        }
    }

    /// Processes each verified delivery once (see [`crate::replay`]): a copy in
    /// progress elsewhere is answered 409, one already processed 200, neither reaches
    /// the handler. Takes a guard or a configured [`ReplayProtection`].
    ///
    /// ```
    /// use hooksig::{Scheme, Verifier, pipeline::Receiver, replay::MemoryReplayGuard};
    /// let receiver = Receiver::new(Verifier::new(Scheme::tale(), "s")?).replay_guard(MemoryReplayGuard::new(10));
    /// assert!(receiver.replay().is_some());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn replay_guard(self, replay: impl Into<ReplayProtection>) -> Receiver {
        let replay = replay.into();
        #[cfg(feature = "tracing")]
        if self.config.verifier.is_none() {
            tracing::warn!(
                target: "hooksig",
                "a replay guard on a basic-only receiver is ignored (no signature to key on)"
            );
        }
        self.map(|config| config.replay = Some(replay))
    }

    /// Builds refusal responses with `f`, which gets the [`Refusal`] and the default
    /// response ([`Receiver::default_response`]: status, short text, `Allow`,
    /// `WWW-Authenticate`, `Retry-After`) and returns the response to send. Every
    /// refusal goes through it: failed checks, and the replay answers (409, 200
    /// duplicate, 503).
    ///
    /// ```
    /// use hooksig::{Scheme, Verifier, pipeline::Receiver};
    /// let receiver = Receiver::new(Verifier::new(Scheme::tale(), "s")?).on_rejection(|refusal, mut response| {
    ///     *response.body_mut() = format!("refused: {}", refusal.public_message()).into();
    ///     response
    /// });
    /// let refusal = receiver.admit("POST", &http::HeaderMap::new()).unwrap_err();
    /// assert_eq!(receiver.respond(&refusal).body(), "refused: missing signature");
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn on_rejection<F>(self, f: F) -> Receiver
    where
        F: Fn(&Refusal, Response<Bytes>) -> Response<Bytes> + Send + Sync + 'static,
    {
        self.map(|config| config.on_rejection = Some(Arc::new(f)))
    }

    /// The verifier, if a signature scheme is checked.
    pub fn verifier(&self) -> Option<&Verifier> {
        self.config.verifier.as_ref()
    }

    /// The expected Basic credentials, if any.
    pub fn basic(&self) -> Option<&BasicAuth> {
        self.config.basic.as_ref()
    }

    /// The value of the `Allow` header of a 405 answer.
    pub fn allow(&self) -> &HeaderValue {
        &self.config.allow
    }

    /// The replay protection, if any (and if a verifier is set: it is ignored on a
    /// basic-only receiver).
    pub fn replay(&self) -> Option<&ReplayProtection> {
        self.config.replay.as_ref().filter(|_| self.config.verifier.is_some())
    }

    /// The body limit: the verifier's, or [`DEFAULT_MAX_BODY`] without one.
    pub fn max_body(&self) -> usize {
        self.config.verifier.as_ref().map_or(DEFAULT_MAX_BODY, Verifier::max_body)
    }

    /// Runs every pre-body check against the system clock; see [`Receiver::admit_at`].
    #[inline]
    pub fn admit<H: HeaderSource + ?Sized>(&self, method: &str, headers: &H) -> Result<Intake, Refusal> {
        self.admit_at(method, headers, SystemTime::now())
    }

    /// Runs every pre-body check with `now` as the clock, cheapest first: method
    /// (405), credentials (401), `Content-Length` against the body limit (413; 400 when
    /// malformed or repeated), then the signature, timestamp and id headers (400/401).
    ///
    /// ```
    /// use hooksig::{BasicAuth, Error, Scheme, Signer, Verifier, pipeline::Receiver};
    /// let receiver = Receiver::new(Verifier::builder(Scheme::tale()).secret("s").max_body(10).build()?)
    ///     .basic_auth(BasicAuth::new("u", "p")?);
    /// let now = std::time::SystemTime::now();
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("content-length", "11".parse().unwrap());
    /// // No credentials, no signature, too long, wrong method: the method speaks first.
    /// assert_eq!(receiver.admit_at("GET", &headers, now).unwrap_err(), Error::MethodNotAllowed.into());
    /// assert_eq!(receiver.admit_at("POST", &headers, now).unwrap_err(), Error::Unauthorized.into());
    /// headers.insert("authorization", "Basic dTpw".parse().unwrap());
    /// assert_eq!(receiver.admit_at("POST", &headers, now).unwrap_err(), Error::BodyTooLarge { limit: 10 }.into());
    /// headers.insert("content-length", "2".parse().unwrap());
    /// headers.extend(Signer::new(Scheme::tale(), "s")?.sign(b"{}")?);
    /// assert!(receiver.admit_at("POST", &headers, now).is_ok());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    #[inline]
    pub fn admit_at<H: HeaderSource + ?Sized>(
        &self,
        method: &str,
        headers: &H,
        now: SystemTime,
    ) -> Result<Intake, Refusal> {
        let config = &*self.config;
        if !config.methods.iter().any(|m| m.as_str() == method) {
            return Err(Error::MethodNotAllowed.into());
        }
        if let Some(basic) = &config.basic {
            basic.check(headers)?;
        }
        let verification = match &config.verifier {
            // `begin_at` checks Content-Length against the verifier's limit first.
            Some(verifier) => Some(verifier.begin_boxed_at(headers, now)?),
            None => {
                if content_length(headers)?.is_some_and(|len| len > DEFAULT_MAX_BODY) {
                    return Err(Error::BodyTooLarge { limit: DEFAULT_MAX_BODY }.into());
                }
                None
            }
        };
        Ok(Intake { verification, limit: self.max_body(), body: Chunks::new() })
    }

    /// Checks the signature's result against the replay guard, if one is set:
    /// the [`Delivery`] for the handler, or the [`Refusal`] to answer with. Without
    /// a guard (or without a proof) it is ready at once and allocates nothing.
    pub fn proceed(&self, received: Received) -> Proceeding {
        let Received { proof, body } = received;
        match (self.replay(), proof) {
            (Some(replay), Some(proof)) => {
                let replay = replay.clone();
                Proceeding::claiming(async move {
                    let pass = replay.check_chunks(&proof, body.slices()).await?;
                    Ok(Delivery { proof: Some(proof), body, pass: Some(pass) })
                })
            }
            (_, proof) => Proceeding::ready(Ok(Delivery { proof, body, pass: None })),
        }
    }

    /// Whether [`Receiver::proceed`] has anything to claim for `received` (a replay
    /// guard and a proof); without, the adapters hand `received` on as the
    /// [`Delivery`] themselves: building, polling and emptying a ready [`Proceeding`]
    /// moved the 440-byte delivery three more times per request.
    #[cfg(any(feature = "tower", feature = "actix"))]
    pub(crate) fn claims(&self, received: &Received) -> bool {
        self.replay().is_some() && received.proof.is_some()
    }

    /// The response for a refusal: [`Receiver::default_response`], then the
    /// [`on_rejection`](Receiver::on_rejection) hook if set. With the `tracing`
    /// feature each refusal is logged at debug level (target `hooksig`, fields
    /// `status` and `reason`); the reason names the header and the cause, never a
    /// secret or a MAC.
    pub fn respond(&self, refusal: &Refusal) -> Response<Bytes> {
        #[cfg(feature = "tracing")]
        tracing::debug!(target: "hooksig", status = refusal.status().as_u16(), reason = %refusal, "delivery refused");
        let response = self.default_response(refusal);
        match &self.config.on_rejection {
            Some(hook) => hook(refusal, response),
            None => response,
        }
    }

    /// The response for a refusal without the hook: [`Refusal::status`],
    /// `Content-Type: text/plain; charset=utf-8`, [`Refusal::public_message`] as body,
    /// `Allow` on 405, `WWW-Authenticate` on failed credentials, and `Retry-After` on
    /// 409 (in progress) and 503 (replay store unavailable).
    ///
    /// ```
    /// use hooksig::{Refusal, Scheme, Verifier, pipeline::Receiver, replay::MemoryReplayGuard};
    /// let receiver = Receiver::new(Verifier::new(Scheme::tale(), "s")?).replay_guard(MemoryReplayGuard::new(10));
    /// let response = receiver.default_response(&Refusal::InProgress);
    /// assert_eq!(response.status(), 409);
    /// assert_eq!(response.headers()["retry-after"], "30");
    /// assert_eq!(response.body(), "delivery in progress");
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn default_response(&self, refusal: &Refusal) -> Response<Bytes> {
        let challenge = self.config.basic.as_ref().map(BasicAuth::challenge);
        let policy = self.config.replay.as_ref().map(ReplayProtection::policy);
        plain_response(refusal, &self.config.allow, challenge, policy)
    }
}

/// The response for a refusal where no [`Receiver`] is configured (an extractor on
/// its own): as [`Receiver::default_response`] with the defaults, `Allow: POST`,
/// `WWW-Authenticate: Basic realm="webhooks"` and a 30 s `Retry-After`.
///
/// ```
/// use hooksig::{Error, Refusal, pipeline::default_response};
/// let response = default_response(&Refusal::from(Error::MethodNotAllowed));
/// assert_eq!(response.status(), 405);
/// assert_eq!(response.headers()["allow"], "POST");
/// assert_eq!(response.body(), "method not allowed");
/// assert_eq!(default_response(&Refusal::InProgress).headers()["retry-after"], "30");
/// ```
pub fn default_response(refusal: &Refusal) -> Response<Bytes> {
    plain_response(refusal, &HeaderValue::from_static("POST"), None, None)
}

/// [`Refusal::status`], `text/plain` [`Refusal::public_message`], and the headers the
/// refusal calls for.
pub(crate) fn plain_response(
    refusal: &Refusal,
    allow: &HeaderValue,
    challenge: Option<&HeaderValue>,
    policy: Option<&ReplayPolicy>,
) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from_static(refusal.public_message().as_bytes()));
    *response.status_mut() = refusal.status();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    match refusal.error() {
        Some(Error::MethodNotAllowed) => {
            headers.insert(header::ALLOW, allow.clone());
        }
        Some(Error::Unauthorized) => {
            let challenge =
                challenge.cloned().unwrap_or_else(|| HeaderValue::from_static("Basic realm=\"webhooks\""));
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        _ => {}
    }
    let after = match policy {
        Some(policy) => policy.retry_after_for(refusal),
        None => ReplayPolicy::default().retry_after_for(refusal),
    };
    if let Some(secs) = after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("verifier", &self.config.verifier)
            .field("basic", &self.config.basic)
            .field("allow", &self.config.allow)
            .field("replay", &self.config.replay)
            .field("on_rejection", &self.config.on_rejection.is_some())
            .finish()
    }
}

/// One admitted request, reading its body: each chunk is counted against the limit,
/// hashed and kept as received. The verification state is boxed once per request so
/// that the futures driving an `Intake` stay small.
pub struct Intake {
    verification: Option<Box<Verification>>,
    limit: usize,
    body: Chunks,
}

impl Intake {
    /// Takes the next body chunk. Past the limit it answers 413 and the chunk is
    /// neither hashed nor kept; stop reading then.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use hooksig::{Error, Scheme, Signer, Verifier, pipeline::Receiver};
    /// let receiver = Receiver::new(Verifier::builder(Scheme::tale()).secret("s").max_body(4).build()?);
    /// let headers = Signer::new(Scheme::tale(), "s")?.sign(b"12345")?;
    /// let mut intake = receiver.admit("POST", &headers).unwrap();
    /// intake.push(Bytes::from_static(b"1234")).unwrap();
    /// assert_eq!(intake.push(Bytes::from_static(b"5")).unwrap_err(), Error::BodyTooLarge { limit: 4 }.into());
    /// assert_eq!(intake.received(), 4);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn push(&mut self, chunk: Bytes) -> Result<(), Refusal> {
        let total = self.body.len().saturating_add(chunk.len());
        if total > self.limit {
            return Err(Error::BodyTooLarge { limit: self.limit }.into());
        }
        if let Some(verification) = &mut self.verification {
            verification.update(&chunk)?;
        }
        self.body.push(chunk);
        Ok(())
    }

    /// How many body bytes were taken.
    pub fn received(&self) -> usize {
        self.body.len()
    }

    /// The refusal for a body that failed to read: 413 when the adapter saw a length
    /// limit applied further out trip (`http_body_util::Limited`, as tower-http's
    /// `RequestBodyLimitLayer` and axum's `DefaultBodyLimit` use), reported with the
    /// number of bytes taken before it tripped; otherwise 400 ([`Error::BodyRead`]).
    ///
    /// ```
    /// # let receiver = hooksig::pipeline::Receiver::new(hooksig::Verifier::new(hooksig::Scheme::tale(), "s")?);
    /// # let headers = hooksig::Signer::new(hooksig::Scheme::tale(), "s")?.sign(b"")?;
    /// let intake = receiver.admit("POST", &headers).unwrap();
    /// assert_eq!(intake.read_error(false), hooksig::Error::BodyRead.into());
    /// assert_eq!(intake.read_error(true), hooksig::Error::BodyTooLarge { limit: 0 }.into());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn read_error(&self, over_limit: bool) -> Refusal {
        if over_limit {
            Error::BodyTooLarge { limit: self.body.len() }.into()
        } else {
            Error::BodyRead.into()
        }
    }

    /// The body ended: checks the signature (when the receiver has a verifier).
    pub fn finish(mut self) -> Result<Received, Refusal> {
        let proof = match self.verification.take() {
            Some(verification) => Some(verification.finish_boxed()?),
            None => None,
        };
        self.body.settle();
        Ok(Received { proof, body: self.body })
    }

    /// [`Intake::finish`] for an adapter with nothing to claim (no replay guard):
    /// `put` gets the [`Matched`] verification and builds the proof where it stores it
    /// (the request's extensions), instead of the proof going on through [`Received`]
    /// and [`Delivery`], each a copy of the 296-byte proof.
    #[cfg(any(feature = "tower", feature = "actix"))]
    #[inline]
    pub(crate) fn finish_into(mut self, put: impl FnOnce(Matched)) -> Result<Chunks, Refusal> {
        if let Some(verification) = self.verification.take() {
            put(verification.check_boxed()?);
        }
        self.body.settle();
        Ok(self.body)
    }
}

impl fmt::Debug for Intake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Intake")
            .field("verification", &self.verification)
            .field("limit", &self.limit)
            .field("received", &self.body.len())
            .finish()
    }
}

/// A request whose body was read and whose signature matched.
#[derive(Debug)]
pub struct Received {
    /// The proof; `None` for a basic-only receiver, which checks no signature.
    pub proof: Option<Verified>,
    /// The exact bytes received.
    pub body: Chunks,
}

/// A delivery that goes on to its handler.
#[derive(Debug)]
pub struct Delivery {
    /// The proof; `None` for a basic-only receiver, which checks no signature.
    pub proof: Option<Verified>,
    /// The exact bytes received.
    pub body: Chunks,
    /// With replay protection: the case the handler runs in and the claim to finish
    /// with whether the handler answered 2xx ([`Pass::finish`]).
    pub pass: Option<Pass>,
}

type ClaimFuture = Pin<Box<dyn Future<Output = Result<Delivery, Refusal>> + Send>>;

/// The future of [`Receiver::proceed`]: ready at once without replay protection,
/// else the (boxed) claim on the replay store.
#[must_use = "futures do nothing unless polled"]
pub struct Proceeding {
    state: ProceedState,
}

#[allow(
    clippy::large_enum_variant,
    reason = "the ready variant is the common path; boxing it would allocate on every request"
)]
enum ProceedState {
    Ready(Option<Result<Delivery, Refusal>>),
    Claiming(ClaimFuture),
}

impl Proceeding {
    fn ready(result: Result<Delivery, Refusal>) -> Proceeding {
        Proceeding { state: ProceedState::Ready(Some(result)) }
    }

    fn claiming(future: impl Future<Output = Result<Delivery, Refusal>> + Send + 'static) -> Proceeding {
        Proceeding { state: ProceedState::Claiming(Box::pin(future)) }
    }
}

impl Future for Proceeding {
    type Output = Result<Delivery, Refusal>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.state {
            // Polled again after completion: a contract violation; never ready again.
            ProceedState::Ready(result) => result.take().map_or(Poll::Pending, Poll::Ready),
            ProceedState::Claiming(future) => future.as_mut().poll(cx),
        }
    }
}

impl fmt::Debug for Proceeding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            ProceedState::Ready(_) => "ready",
            ProceedState::Claiming(_) => "claiming",
        };
        f.debug_struct("Proceeding").field("state", &state).finish()
    }
}
