//! Replay keys and their lifetimes, derived from an authenticated delivery.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::scheme::Scheme;
use crate::verify::Verified;

/// The default key prefix.
pub const DEFAULT_PREFIX: &str = "hooksig:";
/// The default in-progress lease: 60 s.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);
/// The default retry window: 72 h (Vocalis retries over 24 h, Svix over about 28 h).
pub const DEFAULT_RETRY_WINDOW: Duration = Duration::from_secs(72 * 3600);
/// The default margin added to a tolerance window: 5 min.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(5 * 60);
/// The default `Retry-After` of a 409 (in progress) or 503 (store unavailable): 30 s.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(30);
/// The length of a key's `:msg:<64 hex>` tail (the longest kind but custom ids).
const MSG_KEY_LEN: usize = 69;
/// The longest idempotency key used as is; longer ones are hashed.
const MAX_BODY_KEY: usize = 200;

/// Reads an idempotency key out of a verified body (see [`ReplayPolicy::idempotency_key`]).
type BodyKeyFn = dyn Fn(&[u8]) -> Option<String> + Send + Sync;

/// How replay keys are named and how long they live.
///
/// ```
/// use std::time::Duration;
/// use hooksig::replay::ReplayPolicy;
/// use hooksig::{Scheme, Signer, Verifier};
///
/// let policy = ReplayPolicy::new()
///     .prefix("billing:")
///     .lease(Duration::from_secs(30))
///     .retry_window(Duration::from_secs(48 * 3600));
///
/// let headers = Signer::new(Scheme::tale(), "s")?.sign(b"{}")?;
/// let key = policy.key(&Verifier::new(Scheme::tale(), "s")?.verify(&headers, b"{}")?, b"{}");
/// assert!(key.as_str().starts_with("billing:tale:msg:"));
/// assert_eq!(key.ttl(), Duration::from_secs(48 * 3600));
/// assert_eq!(key.lease(), Duration::from_secs(30));
/// # Ok::<(), hooksig::Error>(())
/// ```
#[derive(Clone)]
pub struct ReplayPolicy {
    prefix: Cow<'static, str>,
    lease: Duration,
    retry_window: Duration,
    margin: Duration,
    retry_after: Duration,
    body_key: Option<BodyKey>,
}

/// An idempotency key read from the body, for one scheme.
#[derive(Clone)]
struct BodyKey {
    scheme: Cow<'static, str>,
    extract: Arc<BodyKeyFn>,
}

impl Default for ReplayPolicy {
    fn default() -> Self {
        ReplayPolicy {
            prefix: Cow::Borrowed(DEFAULT_PREFIX),
            lease: DEFAULT_LEASE,
            retry_window: DEFAULT_RETRY_WINDOW,
            margin: DEFAULT_MARGIN,
            retry_after: DEFAULT_RETRY_AFTER,
            body_key: None,
        }
    }
}

/// Equal when every setting is equal and both read idempotency keys with the same
/// function (the same `Arc`), or neither does.
impl PartialEq for ReplayPolicy {
    fn eq(&self, other: &Self) -> bool {
        let same_body_key = match (&self.body_key, &other.body_key) {
            (None, None) => true,
            (Some(a), Some(b)) => a.scheme == b.scheme && Arc::ptr_eq(&a.extract, &b.extract),
            _ => false,
        };
        self.prefix == other.prefix
            && self.lease == other.lease
            && self.retry_window == other.retry_window
            && self.margin == other.margin
            && self.retry_after == other.retry_after
            && same_body_key
    }
}

impl Eq for ReplayPolicy {}

impl fmt::Debug for ReplayPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayPolicy")
            .field("prefix", &self.prefix)
            .field("lease", &self.lease)
            .field("retry_window", &self.retry_window)
            .field("margin", &self.margin)
            .field("retry_after", &self.retry_after)
            .field("idempotency_key", &self.body_key.as_ref().map(|k| &k.scheme))
            .finish()
    }
}

impl ReplayPolicy {
    /// The defaults: prefix `hooksig:`, 60 s lease, 72 h retry window, 5 min margin,
    /// 30 s `Retry-After`, keys from what was signed.
    ///
    /// ```
    /// assert_eq!(hooksig::replay::ReplayPolicy::new(), Default::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The prefix of every key (default `hooksig:`). Give each application sharing a
    /// store its own.
    pub fn prefix(mut self, prefix: impl Into<Cow<'static, str>>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long a claim holds before a retry may take over (default 60 s). Longer than
    /// your handler runs, shorter than the sender's retry interval.
    ///
    /// The lease is not renewed while the handler runs. A handler still running when
    /// its lease expires no longer keeps copies out: a copy arriving after that is
    /// claimed and processed concurrently, and of the two completions only the one
    /// holding the current claim records the delivery as done (the other's
    /// [`Claim::complete`](super::Claim::complete) returns `Ok(false)`). Set the
    /// lease above your slowest handler, or acknowledge first and process in the
    /// background.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How long a sender may keep retrying one delivery (default 72 h): how long a key
    /// from a covered id, an idempotency key, or a signed message without a signed
    /// timestamp is remembered as done.
    pub fn retry_window(mut self, window: Duration) -> Self {
        self.retry_window = window;
        self
    }

    /// Added to the tolerance window (past + future) for keys of signed messages with a
    /// signed timestamp (default 5 min), to absorb clock skew between replicas.
    pub fn margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// The `Retry-After` sent with a 409 (delivery in progress) and with a 503 (replay
    /// store unavailable or full); default 30 s, rounded up to whole seconds.
    ///
    /// ```
    /// use std::time::Duration;
    /// let policy = hooksig::replay::ReplayPolicy::new().retry_after(Duration::from_secs(5));
    /// assert_eq!(policy.retry_after_secs(), 5);
    /// ```
    pub fn retry_after(mut self, after: Duration) -> Self {
        self.retry_after = after;
        self
    }

    /// The `Retry-After` value in whole seconds (at least 1).
    ///
    /// ```
    /// assert_eq!(hooksig::replay::ReplayPolicy::new().retry_after_secs(), 30);
    /// ```
    pub fn retry_after_secs(&self) -> u64 {
        let secs = self.retry_after.as_secs();
        let secs = if self.retry_after.subsec_nanos() > 0 { secs.saturating_add(1) } else { secs };
        secs.max(1)
    }

    /// Keys deliveries of `scheme` by an idempotency key read from the verified body:
    /// Stripe's event `id`, Slack's `event_id`, a Vocalis event id. A sender that
    /// re-signs its retries (Stripe and Slack sign a fresh timestamp on every attempt)
    /// sends different signed messages for one event; the event's id in the body is
    /// what stays the same.
    ///
    /// `extract` gets the exact verified bytes and returns the key, or `None` to fall
    /// back to the key of the signed message. It runs only after the signature
    /// matched, and only for deliveries verified with a scheme of this name. Keys up
    /// to 200 bytes of visible ASCII are used as they are; others are hashed.
    ///
    /// Refused with [`Error::InvalidConfig`] for a scheme whose MAC does not cover the
    /// body (Oktave): anyone could then write the key.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use hooksig::replay::ReplayPolicy;
    /// use hooksig::{Scheme, Signer, Verifier};
    ///
    /// let policy = ReplayPolicy::new().idempotency_key(&Scheme::stripe(), |body| {
    ///     let event: serde_json::Value = serde_json::from_slice(body).ok()?;
    ///     Some(event.get("id")?.as_str()?.to_owned())
    /// })?;
    ///
    /// // Stripe retries an event with a fresh timestamp, so a fresh signature...
    /// let body = br#"{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","type":"invoice.paid"}"#;
    /// let signer = Signer::new(Scheme::stripe(), "whsec_test")?;
    /// let verifier = Verifier::builder(Scheme::stripe()).secret("whsec_test").tolerance(Duration::from_secs(3600)).build()?;
    /// let first = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// let retry = first + Duration::from_secs(600);
    /// let a = verifier.verify_at(&signer.sign_at(body, None, first)?, body, first)?;
    /// let b = verifier.verify_at(&signer.sign_at(body, None, retry)?, body, retry)?;
    /// // ...but the same event: the same key.
    /// assert_eq!(policy.key(&a, body).as_str(), "hooksig:stripe:body:evt_1NG8Du2eZvKYlo2CUI79vXWy");
    /// assert_eq!(policy.key(&a, body), policy.key(&b, body));
    ///
    /// // Oktave does not sign its body: refused.
    /// assert!(ReplayPolicy::new().idempotency_key(&Scheme::oktave(), |_| None).is_err());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn idempotency_key<F>(mut self, scheme: &Scheme, extract: F) -> Result<Self, Error>
    where
        F: Fn(&[u8]) -> Option<String> + Send + Sync + 'static,
    {
        if !scheme.covers_body() {
            return Err(Error::InvalidConfig {
                reason: "an idempotency key from the body needs a scheme whose MAC covers the body",
            });
        }
        self.body_key =
            Some(BodyKey { scheme: Cow::Owned(scheme.name().to_owned()), extract: Arc::new(extract) });
        Ok(self)
    }

    /// The `Retry-After` for a refusal, when one applies: 409 and 503 (store down).
    pub(crate) fn retry_after_for(&self, refusal: &crate::error::Refusal) -> Option<u64> {
        use crate::error::Refusal;
        match refusal {
            Refusal::InProgress | Refusal::Rejected(Error::ReplayStoreUnavailable { .. }) => {
                Some(self.retry_after_secs())
            }
            _ => None,
        }
    }

    /// The key for a verified delivery and its exact body, with its TTL and lease.
    ///
    /// Replay identity is what was signed, never which candidate or which secret
    /// matched:
    ///
    /// - the delivery id when the MAC covers it (Standard Webhooks, Svix, Oktave):
    ///   `…:id:<id>`, kept for the retry window, since a retry is re-signed with a
    ///   fresh timestamp but keeps its id;
    /// - an idempotency key read from the body, if configured for the scheme
    ///   ([`ReplayPolicy::idempotency_key`]): `…:body:<key>`, kept for the retry
    ///   window;
    /// - otherwise the SHA-256 of the signed message (the scheme's name, the signed
    ///   timestamp, the signed id and the body, as the MAC covers them): `…:msg:<64
    ///   hex>`. The same delivery maps to the same key whatever candidates its header
    ///   carries, whichever configured secret matched and in whatever order the
    ///   secrets are configured. Kept for the tolerance window plus the margin when
    ///   the timestamp is signed (a copy cannot verify after that), else for the retry
    ///   window.
    ///
    /// An id the MAC does not cover (GitHub's `X-GitHub-Delivery`) is never used:
    /// anyone can change it. Computing the `msg` key hashes the body once more (about
    /// the cost of the HMAC itself); it is only done when replay protection is on.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use hooksig::replay::ReplayPolicy;
    /// use hooksig::{Scheme, Signer, Verifier};
    /// let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// let policy = ReplayPolicy::new();
    ///
    /// // Svix signs the id: the key is the id, kept for the retry window.
    /// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// let headers = Signer::new(Scheme::svix(), secret)?.sign_at(b"{}", Some("msg_1"), at)?;
    /// let verified = Verifier::new(Scheme::svix(), secret)?.verify_at(&headers, b"{}", at)?;
    /// assert_eq!(policy.key(&verified, b"{}").as_str(), "hooksig:svix:id:msg_1");
    /// assert_eq!(policy.key(&verified, b"{}").ttl(), Duration::from_secs(72 * 3600));
    ///
    /// // Stripe signs a timestamp but no id: the digest of the signed message, kept
    /// // for the tolerance window (5 min past + 5 min future) plus the 5 min margin.
    /// let headers = Signer::new(Scheme::stripe(), "whsec_x")?.sign_at(b"{}", None, at)?;
    /// let verified = Verifier::new(Scheme::stripe(), "whsec_x")?.verify_at(&headers, b"{}", at)?;
    /// let key = policy.key(&verified, b"{}");
    /// assert!(key.as_str().starts_with("hooksig:stripe:msg:"));
    /// assert_eq!(key.as_str().len(), "hooksig:stripe:msg:".len() + 64);
    /// assert_eq!(key.ttl(), Duration::from_secs(15 * 60));
    ///
    /// // Rotation: whichever secret matched, the same delivery has the same key.
    /// let both = Verifier::builder(Scheme::stripe()).secret("whsec_new").secret("whsec_x").build()?;
    /// assert_eq!(policy.key(&both.verify_at(&headers, b"{}", at)?, b"{}").as_str(), key.as_str());
    ///
    /// // A verifier with a wider tolerance (1 h each way) widens the window with it.
    /// let wide = Verifier::builder(Scheme::stripe()).secret("whsec_x").tolerance(Duration::from_secs(3600)).build()?;
    /// let key = policy.key(&wide.verify_at(&headers, b"{}", at)?, b"{}");
    /// assert_eq!(key.ttl(), Duration::from_secs(2 * 3600 + 5 * 60));
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn key(&self, verified: &Verified, body: &[u8]) -> ReplayKey {
        self.key_of_chunks(verified, std::iter::once(body))
    }

    /// [`ReplayPolicy::key`] for a body held in chunks, as received.
    pub(crate) fn key_of_chunks<'a, I>(&self, verified: &Verified, body: I) -> ReplayKey
    where
        I: IntoIterator<Item = &'a [u8]> + Clone,
    {
        let scheme = verified.scheme();
        let window_ttl = self.window(verified).map(|w| w.saturating_add(self.margin));
        let long_ttl = self.retry_window.max(window_ttl.unwrap_or_default());
        let mut key = String::with_capacity(
            self.prefix.len().saturating_add(scheme.name().len()).saturating_add(MSG_KEY_LEN),
        );
        key.push_str(&self.prefix);
        key.push_str(scheme.name());
        if let Some(id) = verified.id().filter(|_| verified.id_covered()) {
            key.push_str(":id:");
            key.push_str(id);
            return ReplayKey { key: key.into(), ttl: long_ttl, lease: self.lease };
        }
        if let Some(body_key) = self.body_key_of(verified, body.clone()) {
            key.push_str(":body");
            if body_key.len() <= MAX_BODY_KEY && body_key.bytes().all(|b| b.is_ascii_graphic()) {
                key.push(':');
                key.push_str(&body_key);
            } else {
                key.push_str("#:");
                push_hex(&mut key, &Sha256::digest(body_key.as_bytes()));
            }
            return ReplayKey { key: key.into(), ttl: long_ttl, lease: self.lease };
        }
        key.push_str(":msg:");
        push_hex(&mut key, &verified.message_digest(body));
        ReplayKey { key: key.into(), ttl: window_ttl.unwrap_or(self.retry_window), lease: self.lease }
    }

    /// The configured idempotency key of this delivery, if any.
    fn body_key_of<'a>(
        &self,
        verified: &Verified,
        body: impl IntoIterator<Item = &'a [u8]>,
    ) -> Option<String> {
        let body_key = self.body_key.as_ref()?;
        if body_key.scheme != verified.scheme().name() || !verified.covers_body() {
            return None;
        }
        let mut chunks = body.into_iter();
        let first = chunks.next().unwrap_or_default();
        match chunks.next() {
            None => (body_key.extract)(first),
            Some(second) => {
                let mut joined = first.to_vec();
                joined.extend_from_slice(second);
                chunks.for_each(|chunk| joined.extend_from_slice(chunk));
                (body_key.extract)(&joined)
            }
        }
        .filter(|key| !key.is_empty())
    }

    /// The tolerance window (past + future) when the timestamp is signed: the larger
    /// of the scheme's default and the verifier's tolerance, side by side.
    fn window(&self, verified: &Verified) -> Option<Duration> {
        let scheme = verified.scheme();
        if !scheme.timestamp_covered() {
            return None;
        }
        let (mut past, mut future) = scheme.tolerance().unwrap_or_default();
        if let Some((p, f)) = verified.tolerance() {
            past = past.max(p);
            future = future.max(f);
        }
        Some(past.saturating_add(future))
    }
}

/// Lower-case hex, two digits a byte (no formatting machinery: keys are built per
/// delivery).
fn push_hex(out: &mut String, bytes: &[u8]) {
    for byte in bytes {
        for nibble in [byte >> 4, byte & 0x0f] {
            out.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
        }
    }
}
/// A replay key: the store's key, how long it is remembered as done, and how long a
/// claim on it holds.
///
/// Made by [`ReplayPolicy::key`] from a verified delivery, or by hand for your own
/// deduplication.
///
/// ```
/// use std::time::Duration;
/// let key = hooksig::replay::ReplayKey::new("app:job-7", Duration::from_secs(600), Duration::from_secs(10));
/// assert_eq!(key.as_str(), "app:job-7");
/// assert_eq!(key.ttl(), Duration::from_secs(600));
/// assert_eq!(key.lease(), Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReplayKey {
    key: Box<str>,
    ttl: Duration,
    lease: Duration,
}

impl ReplayKey {
    /// A key with its done-TTL and its lease.
    pub fn new(key: impl Into<Box<str>>, ttl: Duration, lease: Duration) -> Self {
        ReplayKey { key: key.into(), ttl, lease }
    }

    /// The store's key.
    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// How long the key is remembered as done.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// How long a claim holds before it lapses.
    pub fn lease(&self) -> Duration {
        self.lease
    }
}
