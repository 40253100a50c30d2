//! Replay keys and their lifetimes, derived from an authenticated delivery.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::Verified;

/// The default key prefix.
pub const DEFAULT_PREFIX: &str = "hooksig:";
/// The default in-progress lease: 60 s.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);
/// The default retry window: 72 h (Vocalis retries over 24 h, Svix over about 28 h).
pub const DEFAULT_RETRY_WINDOW: Duration = Duration::from_secs(72 * 3600);
/// The default margin added to a tolerance window: 5 min.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(5 * 60);

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
/// let key = policy.key(&Verifier::new(Scheme::tale(), "s")?.verify(&headers, b"{}")?);
/// assert!(key.as_str().starts_with("billing:tale:sig:"));
/// assert_eq!(key.ttl(), Duration::from_secs(48 * 3600));
/// assert_eq!(key.lease(), Duration::from_secs(30));
/// # Ok::<(), hooksig::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayPolicy {
    prefix: Cow<'static, str>,
    lease: Duration,
    retry_window: Duration,
    margin: Duration,
}

impl Default for ReplayPolicy {
    fn default() -> Self {
        ReplayPolicy {
            prefix: Cow::Borrowed(DEFAULT_PREFIX),
            lease: DEFAULT_LEASE,
            retry_window: DEFAULT_RETRY_WINDOW,
            margin: DEFAULT_MARGIN,
        }
    }
}

impl ReplayPolicy {
    /// The defaults: prefix `hooksig:`, 60 s lease, 72 h retry window, 5 min margin.
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
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How long a sender may keep retrying one delivery (default 72 h): how long a key
    /// from a covered id, or from a signature without timestamp, is remembered as done.
    pub fn retry_window(mut self, window: Duration) -> Self {
        self.retry_window = window;
        self
    }

    /// Added to the tolerance window (past + future) for keys of timestamped
    /// signatures (default 5 min), to absorb clock skew between replicas.
    pub fn margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// The key for a verified delivery, with its TTL and lease.
    ///
    /// The delivery id when the MAC covers it, else the SHA-256 of the matched tag;
    /// never an id the MAC does not cover. The tolerance window of a timestamped
    /// scheme is the larger of the scheme's default and the tolerance of the verifier
    /// that accepted the delivery ([`Verified::tolerance`]).
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
    /// assert_eq!(policy.key(&verified).as_str(), "hooksig:svix:id:msg_1");
    /// assert_eq!(policy.key(&verified).ttl(), Duration::from_secs(72 * 3600));
    ///
    /// // Stripe signs a timestamp but no id: the signature's digest, kept for the
    /// // tolerance window (5 min past + 5 min future) plus the 5 min margin.
    /// let headers = Signer::new(Scheme::stripe(), "whsec_x")?.sign_at(b"{}", None, at)?;
    /// let verified = Verifier::new(Scheme::stripe(), "whsec_x")?.verify_at(&headers, b"{}", at)?;
    /// let key = policy.key(&verified);
    /// assert!(key.as_str().starts_with("hooksig:stripe:sig:"));
    /// assert_eq!(key.as_str().len(), "hooksig:stripe:sig:".len() + 64);
    /// assert_eq!(key.ttl(), Duration::from_secs(15 * 60));
    ///
    /// // A verifier with a wider tolerance (1 h each way) widens the window with it.
    /// let wide = Verifier::builder(Scheme::stripe()).secret("whsec_x").tolerance(Duration::from_secs(3600)).build()?;
    /// let key = policy.key(&wide.verify_at(&headers, b"{}", at)?);
    /// assert_eq!(key.ttl(), Duration::from_secs(2 * 3600 + 5 * 60));
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn key(&self, verified: &Verified) -> ReplayKey {
        let scheme = verified.scheme();
        let window = self.window(verified);
        let window_ttl = window.map(|w| w.saturating_add(self.margin));
        let mut key =
            String::with_capacity(self.prefix.len().saturating_add(scheme.name().len()).saturating_add(70));
        key.push_str(&self.prefix);
        key.push_str(scheme.name());
        let ttl = match verified.id().filter(|_| verified.id_covered()) {
            Some(id) => {
                key.push_str(":id:");
                key.push_str(id);
                self.retry_window.max(window_ttl.unwrap_or_default())
            }
            None => {
                key.push_str(":sig:");
                for byte in Sha256::digest(verified.tag()).iter() {
                    // Writing to a String cannot fail.
                    let _ = write!(key, "{byte:02x}");
                }
                window_ttl.unwrap_or(self.retry_window)
            }
        };
        ReplayKey { key: key.into(), ttl, lease: self.lease }
    }

    /// The tolerance window (past + future) for a timestamped scheme: the larger of
    /// the scheme's default and the verifier's tolerance, side by side.
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
