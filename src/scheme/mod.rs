//! Schemes: what a provider's signature looks like, described as data.
//!
//! A [`Scheme`] names the signature header and its grammar, the parts the MAC covers,
//! the tag encoding, where the timestamp and delivery id come from, the default
//! tolerance and body limit, and how the dashboard's secret string is read. Every
//! preset ([`Scheme::github`], [`Scheme::stripe`], …) is built with the same public
//! [`SchemeBuilder`] a custom scheme uses.
//!
//! ```
//! use std::time::Duration;
//! use hooksig::{Encoding, Part, Scheme, SignatureFormat, Signer, Verifier};
//! use http::HeaderName;
//!
//! // An in-house platform: `X-Acme-Signature: v1=<hex>` over `{timestamp}:{body}`.
//! let scheme = Scheme::builder("acme")
//!     .signature_header(HeaderName::from_static("x-acme-signature"))
//!     .format(SignatureFormat::Prefixed("v1=".into()))
//!     .encoding(Encoding::Hex)
//!     .timestamp_header(HeaderName::from_static("x-acme-timestamp"))
//!     .message([Part::Timestamp, Part::literal(":"), Part::Body])
//!     .tolerance(Duration::from_secs(120))
//!     .build()?;
//!
//! let headers = Signer::new(scheme.clone(), "s3cr3t")?.sign(b"{}")?;
//! Verifier::new(scheme, "s3cr3t")?.verify(&headers, b"{}")?;
//! # Ok::<(), hooksig::Error>(())
//! ```

mod presets;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderName;

use crate::error::Error;
pub use crate::tag::Encoding;

/// Default body limit: 2 MiB.
///
/// ```
/// assert_eq!(hooksig::Verifier::new(hooksig::Scheme::slack(), "s")?.max_body(), hooksig::DEFAULT_MAX_BODY);
/// # Ok::<(), hooksig::Error>(())
/// ```
pub const DEFAULT_MAX_BODY: usize = 2 * 1024 * 1024;

/// The longest delivery id accepted or produced, in bytes.
///
/// ```
/// let long_id = "i".repeat(hooksig::MAX_ID_LEN + 1);
/// let signer = hooksig::Signer::new(hooksig::Scheme::svix(), "whsec_c2VjcmV0")?;
/// assert!(signer.sign_at(b"{}", Some(&long_id), std::time::SystemTime::now()).is_err());
/// # Ok::<(), hooksig::Error>(())
/// ```
pub const MAX_ID_LEN: usize = 255;

/// The grammar of the signature header's value.
///
/// ```
/// use hooksig::SignatureFormat;
/// let github = SignatureFormat::Prefixed("sha256=".into());
/// let standard = SignatureFormat::VersionedList { version: "v1".into() };
/// let stripe = SignatureFormat::KeyValue { timestamp_key: "t".into(), signature_key: "v1".into() };
/// # let _ = (github, standard, stripe);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureFormat {
    /// One tag per header line after a fixed, case-sensitive prefix: `sha256=<hex>`
    /// (GitHub, Tale, Vocalis), `v0=<hex>` (Slack), or `""` for a bare tag (Oktave,
    /// Shopify).
    Prefixed(Cow<'static, str>),
    /// A space-separated list of `version,tag` entries (Standard Webhooks, Svix).
    /// Entries of other versions are skipped.
    VersionedList {
        /// The version whose entries are candidates, e.g. `v1`.
        version: Cow<'static, str>,
    },
    /// Comma-separated `key=value` pairs carrying the timestamp and one or more tags
    /// (Stripe: `t=<ts>,v1=<hex>,v1=<hex>`). Other keys are skipped.
    KeyValue {
        /// The key of the timestamp pair (exactly one per delivery), e.g. `t`.
        timestamp_key: Cow<'static, str>,
        /// The key of the signature pairs, e.g. `v1`.
        signature_key: Cow<'static, str>,
    },
}

/// The algorithm behind a signature version: a property of the scheme, so that one
/// header can carry symmetric and asymmetric signatures side by side (Standard
/// Webhooks' `v1` and `v1a`).
///
/// HMAC tags are checked against the verifier's secrets, Ed25519 signatures against
/// its public keys (feature `ed25519`); a candidate is never tried with a key of the
/// other kind.
///
/// ```
/// use hooksig::{Algorithm, Scheme};
/// let scheme = Scheme::standard_webhooks();
/// assert_eq!(scheme.algorithm(), Algorithm::HmacSha256);
/// assert_eq!(scheme.version_algorithm("v1"), Some(Algorithm::HmacSha256));
/// assert_eq!(scheme.version_algorithm("v1a"), Some(Algorithm::Ed25519));
/// assert_eq!(Algorithm::Ed25519.signature_len(), 64);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC-SHA256 with a shared secret: 32-byte tags, compared in constant time.
    HmacSha256,
    /// Ed25519 (RFC 8032, pure): 64-byte signatures made with a secret signing key and
    /// checked with its public key, strictly (non-canonical signatures and small-order
    /// keys refused). Needs the `ed25519` feature to sign or verify.
    Ed25519,
}

impl Algorithm {
    /// The algorithm's name as the CLI and docs show it.
    ///
    /// ```
    /// assert_eq!(hooksig::Algorithm::Ed25519.as_str(), "ed25519");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::HmacSha256 => "hmac-sha256",
            Algorithm::Ed25519 => "ed25519",
        }
    }

    /// The length of a decoded signature in bytes: 32 for HMAC-SHA256, 64 for Ed25519.
    ///
    /// ```
    /// assert_eq!(hooksig::Algorithm::HmacSha256.signature_len(), 32);
    /// ```
    pub fn signature_len(self) -> usize {
        match self {
            Algorithm::HmacSha256 => crate::tag::TAG_LEN,
            Algorithm::Ed25519 => 64,
        }
    }
}

/// One piece of the signed message; the MAC covers the parts concatenated in order.
///
/// ```
/// use hooksig::Part;
/// // Standard Webhooks: `{id}.{timestamp}.{body}`
/// let parts = [Part::Id, Part::literal("."), Part::Timestamp, Part::literal("."), Part::Body];
/// # let _ = parts;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part {
    /// The raw body bytes, exactly as received.
    Body,
    /// The delivery id header's value, as received.
    Id,
    /// The timestamp's decimal text, as received.
    Timestamp,
    /// Fixed bytes, such as a separator or a version tag.
    Literal(Cow<'static, [u8]>),
}

impl Part {
    /// A literal part from a static string.
    ///
    /// ```
    /// assert_eq!(hooksig::Part::literal("."), hooksig::Part::Literal(b".".as_slice().into()));
    /// ```
    pub fn literal(text: &'static str) -> Part {
        Part::Literal(Cow::Borrowed(text.as_bytes()))
    }
}

/// How the secret string shown in the provider's dashboard becomes the HMAC key.
///
/// ```
/// use hooksig::{Scheme, SecretFormat};
/// assert_eq!(Scheme::stripe().secret_format(), &SecretFormat::Raw);
/// assert!(matches!(Scheme::svix().secret_format(), SecretFormat::Base64 { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretFormat {
    /// The string's bytes are the key (also Stripe's whole `whsec_…` string).
    Raw,
    /// An optional prefix (such as `whsec_`) is stripped and the rest is standard
    /// base64, padding optional.
    Base64 {
        /// The optional prefix.
        prefix: Cow<'static, str>,
    },
    /// Hexadecimal digits, any case (Discord's public keys).
    Hex,
}

/// How far a signed timestamp may lie from the verifier's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tolerance {
    pub(crate) past: Duration,
    pub(crate) future: Duration,
}

/// A webhook signature scheme: cheap to clone (shared inside), immutable once built.
///
/// Use a preset such as [`Scheme::github`] or build one with [`Scheme::builder`].
///
/// ```
/// let scheme = hooksig::Scheme::standard_webhooks();
/// assert_eq!(scheme.name(), "standard_webhooks");
/// assert_eq!(scheme.signature_header().as_str(), "webhook-signature");
/// assert_eq!(scheme.message_template(), "{id}.{timestamp}.{body}");
/// ```
#[derive(Clone)]
pub struct Scheme {
    pub(crate) inner: Arc<SchemeInner>,
}

pub(crate) struct SchemeInner {
    pub(crate) name: Cow<'static, str>,
    pub(crate) signature_header: HeaderName,
    pub(crate) format: SignatureFormat,
    pub(crate) encoding: Encoding,
    pub(crate) message: Vec<Part>,
    /// Index of [`Part::Body`] in `message`, if the body is covered.
    pub(crate) body_index: Option<usize>,
    pub(crate) timestamp_header: Option<HeaderName>,
    pub(crate) id_header: Option<HeaderName>,
    pub(crate) tolerance: Option<Tolerance>,
    pub(crate) secret_format: SecretFormat,
    pub(crate) max_body: usize,
    pub(crate) id_prefix: Cow<'static, str>,
    /// The signature versions and their algorithms. For a `VersionedList` the first
    /// is the format's own version; for the other formats it is the only one, with
    /// an empty name.
    pub(crate) versions: Vec<(Cow<'static, str>, Algorithm)>,
    pub(crate) public_key_format: SecretFormat,
    pub(crate) signing_key_format: SecretFormat,
}

impl SchemeInner {
    /// The algorithm of a `VersionedList` entry's version (`None`: not a version of
    /// this scheme, skipped), or of every entry of the other formats.
    pub(crate) fn algorithm_of(&self, version: &[u8]) -> Option<Algorithm> {
        match self.format {
            SignatureFormat::VersionedList { .. } => {
                self.versions.iter().find(|(v, _)| v.as_bytes() == version).map(|(_, a)| *a)
            }
            _ => self.versions.first().map(|(_, a)| *a),
        }
    }

    /// The first version signed with `algorithm`, if any: what a signer writes.
    pub(crate) fn version_for(&self, algorithm: Algorithm) -> Option<&str> {
        self.versions.iter().find(|(_, a)| *a == algorithm).map(|(v, _)| v.as_ref())
    }

    /// Whether deliveries carry a timestamp: a timestamp header, or the timestamp
    /// pair of a `KeyValue` signature header.
    pub(crate) fn has_timestamp(&self) -> bool {
        self.timestamp_header.is_some() || matches!(self.format, SignatureFormat::KeyValue { .. })
    }

    /// Whether deliveries carry a timestamp and the MAC covers it. Equal to
    /// [`SchemeInner::has_timestamp`] for every scheme [`SchemeBuilder::build`] accepts
    /// and every preset; kept separate so that decisions that trust the timestamp
    /// (replay TTLs) do not rest on that invariant alone.
    pub(crate) fn timestamp_covered(&self) -> bool {
        self.has_timestamp() && self.message.contains(&Part::Timestamp)
    }

    /// Whether the delivery id is covered by the MAC.
    pub(crate) fn id_covered(&self) -> bool {
        self.message.contains(&Part::Id)
    }

    /// The parts before the body (all of them when the body is not covered).
    pub(crate) fn prefix(&self) -> &[Part] {
        match self.body_index {
            Some(i) => self.message.get(..i).unwrap_or_default(),
            None => &self.message,
        }
    }

    /// The parts after the body.
    pub(crate) fn suffix(&self) -> &[Part] {
        match self.body_index {
            Some(i) => self.message.get(i.saturating_add(1)..).unwrap_or_default(),
            None => &[],
        }
    }
}

impl Scheme {
    /// Starts a custom scheme. `name` identifies it in `Debug` output, the CLI and
    /// replay keys.
    ///
    /// ```
    /// use hooksig::{Part, Scheme};
    /// let scheme = Scheme::builder("plain")
    ///     .signature_header(http::HeaderName::from_static("x-signature"))
    ///     .message([Part::Body])
    ///     .build()?;
    /// assert_eq!(scheme.name(), "plain");
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn builder(name: impl Into<Cow<'static, str>>) -> SchemeBuilder {
        SchemeBuilder {
            name: name.into(),
            signature_header: None,
            format: SignatureFormat::Prefixed(Cow::Borrowed("")),
            encoding: Encoding::Hex,
            message: vec![Part::Body],
            timestamp_header: None,
            id_header: None,
            tolerance: None,
            secret_format: SecretFormat::Raw,
            max_body: DEFAULT_MAX_BODY,
            id_prefix: Cow::Borrowed(""),
            algorithm: Algorithm::HmacSha256,
            extra_versions: Vec::new(),
            public_key_format: SecretFormat::Hex,
            signing_key_format: SecretFormat::Hex,
        }
    }

    /// The scheme's name (`github`, `stripe`, … for presets).
    ///
    /// ```
    /// assert_eq!(hooksig::Scheme::slack().name(), "slack");
    /// ```
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The header that carries the signature.
    ///
    /// ```
    /// assert_eq!(hooksig::Scheme::github().signature_header(), "x-hub-signature-256");
    /// ```
    pub fn signature_header(&self) -> &HeaderName {
        &self.inner.signature_header
    }

    /// The grammar of the signature header.
    ///
    /// ```
    /// use hooksig::{Scheme, SignatureFormat};
    /// assert_eq!(Scheme::slack().format(), &SignatureFormat::Prefixed("v0=".into()));
    /// ```
    pub fn format(&self) -> &SignatureFormat {
        &self.inner.format
    }

    /// How tags are written.
    ///
    /// ```
    /// assert_eq!(hooksig::Scheme::stripe().encoding(), hooksig::Encoding::Hex);
    /// ```
    pub fn encoding(&self) -> Encoding {
        self.inner.encoding
    }

    /// The parts the MAC covers, in order.
    ///
    /// ```
    /// use hooksig::{Part, Scheme};
    /// assert_eq!(Scheme::github().message(), &[Part::Body]);
    /// ```
    pub fn message(&self) -> &[Part] {
        &self.inner.message
    }

    /// The signed message as a template, e.g. `v0:{timestamp}:{body}`.
    ///
    /// ```
    /// assert_eq!(hooksig::Scheme::slack().message_template(), "v0:{timestamp}:{body}");
    /// assert_eq!(hooksig::Scheme::oktave().message_template(), "{id}{timestamp}");
    /// ```
    pub fn message_template(&self) -> String {
        let mut out = String::new();
        for part in &self.inner.message {
            match part {
                Part::Body => out.push_str("{body}"),
                Part::Id => out.push_str("{id}"),
                Part::Timestamp => out.push_str("{timestamp}"),
                Part::Literal(bytes) => out.push_str(&String::from_utf8_lossy(bytes)),
            }
        }
        out
    }

    /// Whether the MAC covers the body (false for Oktave, which signs id and
    /// timestamp only).
    ///
    /// ```
    /// assert!(hooksig::Scheme::github().covers_body());
    /// assert!(!hooksig::Scheme::oktave().covers_body());
    /// ```
    pub fn covers_body(&self) -> bool {
        self.inner.body_index.is_some()
    }

    /// The header carrying the signed timestamp, if the scheme has one (Stripe's
    /// timestamp travels inside the signature header, so this is `None` for it while
    /// [`Scheme::has_timestamp`] is true).
    ///
    /// ```
    /// assert_eq!(hooksig::Scheme::slack().timestamp_header().unwrap(), "x-slack-request-timestamp");
    /// ```
    pub fn timestamp_header(&self) -> Option<&HeaderName> {
        self.inner.timestamp_header.as_ref()
    }

    /// Whether deliveries carry a timestamp (a timestamp header, or the timestamp pair
    /// of a [`SignatureFormat::KeyValue`] header), whose tolerance the verifier checks.
    ///
    /// [`SchemeBuilder::build`] refuses a timestamp the MAC does not cover, so for
    /// every scheme you can hold this equals [`Scheme::timestamp_covered`]; use that
    /// one where the answer matters for security.
    ///
    /// ```
    /// assert!(hooksig::Scheme::stripe().has_timestamp());
    /// assert!(!hooksig::Scheme::tale().has_timestamp());
    /// ```
    pub fn has_timestamp(&self) -> bool {
        self.inner.has_timestamp()
    }

    /// Whether deliveries carry a timestamp and the MAC covers it ([`Part::Timestamp`]
    /// is in the message), so that its age can be trusted: a sender without the
    /// secret cannot move it. Replay protection keeps the keys of such schemes only
    /// for the tolerance window (see [`crate::replay::ReplayPolicy::key`]).
    ///
    /// ```
    /// use hooksig::Scheme;
    /// assert!(Scheme::stripe().timestamp_covered()); // `t=` is signed: `{t}.{body}`
    /// assert!(Scheme::slack().timestamp_covered());
    /// assert!(Scheme::oktave().timestamp_covered());
    /// assert!(!Scheme::github().timestamp_covered()); // no timestamp at all
    ///
    /// // A timestamp the MAC would not cover is refused when the scheme is built.
    /// let uncovered = Scheme::slack().to_builder().message([hooksig::Part::Body]).build();
    /// assert!(matches!(uncovered, Err(hooksig::Error::InvalidConfig { .. })));
    /// ```
    pub fn timestamp_covered(&self) -> bool {
        self.inner.timestamp_covered()
    }

    /// The header carrying the delivery id, if any.
    ///
    /// ```
    /// assert_eq!(hooksig::Scheme::github().id_header().unwrap(), "x-github-delivery");
    /// ```
    pub fn id_header(&self) -> Option<&HeaderName> {
        self.inner.id_header.as_ref()
    }

    /// Whether the MAC covers the delivery id (so it can be trusted for
    /// deduplication): exactly when the message contains [`Part::Id`]. There is no
    /// other way to mark an id as covered; an id header outside the message (GitHub,
    /// Shopify) is read for information only.
    ///
    /// ```
    /// assert!(hooksig::Scheme::svix().id_covered());
    /// assert!(!hooksig::Scheme::github().id_covered());
    /// ```
    pub fn id_covered(&self) -> bool {
        self.inner.id_covered()
    }

    /// The default tolerance as `(past, future)`, for schemes with a timestamp.
    ///
    /// ```
    /// use std::time::Duration;
    /// let five_min = Duration::from_secs(300);
    /// assert_eq!(hooksig::Scheme::slack().tolerance(), Some((five_min, five_min)));
    /// assert_eq!(hooksig::Scheme::github().tolerance(), None);
    /// ```
    pub fn tolerance(&self) -> Option<(Duration, Duration)> {
        self.inner.tolerance.map(|t| (t.past, t.future))
    }

    /// How the dashboard's secret string is read.
    ///
    /// ```
    /// assert_eq!(hooksig::Scheme::tale().secret_format(), &hooksig::SecretFormat::Raw);
    /// ```
    pub fn secret_format(&self) -> &SecretFormat {
        &self.inner.secret_format
    }

    /// How a public key (Ed25519) is read.
    ///
    /// ```
    /// use hooksig::{Scheme, SecretFormat};
    /// assert_eq!(Scheme::standard_webhooks().public_key_format(), &SecretFormat::Base64 { prefix: "whpk_".into() });
    /// ```
    pub fn public_key_format(&self) -> &SecretFormat {
        &self.inner.public_key_format
    }

    /// How a secret signing key (Ed25519) is read.
    ///
    /// ```
    /// use hooksig::{Scheme, SecretFormat};
    /// assert_eq!(Scheme::standard_webhooks().signing_key_format(), &SecretFormat::Base64 { prefix: "whsk_".into() });
    /// ```
    pub fn signing_key_format(&self) -> &SecretFormat {
        &self.inner.signing_key_format
    }

    /// The algorithm of the format's own signatures (see [`SchemeBuilder::algorithm`]).
    ///
    /// ```
    /// assert_eq!(hooksig::Scheme::github().algorithm(), hooksig::Algorithm::HmacSha256);
    /// ```
    pub fn algorithm(&self) -> Algorithm {
        self.inner.versions.first().map_or(Algorithm::HmacSha256, |(_, a)| *a)
    }

    /// The signature versions and their algorithms, the format's own first. For the
    /// formats without versions (`Prefixed`, `KeyValue`) there is one, named `""`.
    ///
    /// ```
    /// use hooksig::{Algorithm, Scheme};
    /// let scheme = Scheme::standard_webhooks();
    /// let versions: Vec<_> = scheme.versions().collect();
    /// assert_eq!(versions, [("v1", Algorithm::HmacSha256), ("v1a", Algorithm::Ed25519)]);
    /// let slack = Scheme::slack();
    /// assert_eq!(slack.versions().collect::<Vec<_>>(), [("", Algorithm::HmacSha256)]);
    /// ```
    pub fn versions(&self) -> impl Iterator<Item = (&str, Algorithm)> + '_ {
        self.inner.versions.iter().map(|(v, a)| (v.as_ref(), *a))
    }

    /// The algorithm of a signature version of a `VersionedList` scheme; `None` for a
    /// version the scheme skips. For the other formats, the algorithm of every entry
    /// whatever `version` is.
    ///
    /// ```
    /// use hooksig::{Algorithm, Scheme};
    /// assert_eq!(Scheme::svix().version_algorithm("v1a"), Some(Algorithm::Ed25519));
    /// assert_eq!(Scheme::svix().version_algorithm("v2"), None);
    /// ```
    pub fn version_algorithm(&self, version: &str) -> Option<Algorithm> {
        self.inner.algorithm_of(version.as_bytes())
    }

    /// Whether some signature version of the scheme uses `algorithm`: whether keys of
    /// that kind (secrets for HMAC, public and signing keys for Ed25519) can be given
    /// to its verifiers and signers.
    ///
    /// ```
    /// use hooksig::{Algorithm, Scheme};
    /// assert!(Scheme::standard_webhooks().supports(Algorithm::Ed25519));
    /// assert!(!Scheme::stripe().supports(Algorithm::Ed25519));
    /// ```
    pub fn supports(&self, algorithm: Algorithm) -> bool {
        self.inner.versions.iter().any(|(_, a)| *a == algorithm)
    }

    /// The default body limit in bytes (2 MiB; 25 MiB for GitHub).
    ///
    /// ```
    /// assert_eq!(hooksig::Scheme::tale().max_body(), 2 * 1024 * 1024);
    /// assert_eq!(hooksig::Scheme::github().max_body(), 25 * 1024 * 1024);
    /// ```
    pub fn max_body(&self) -> usize {
        self.inner.max_body
    }

    /// A builder holding this scheme's whole description, to derive a variant of it
    /// (another body limit, tolerance or secret format) without restating the rest.
    ///
    /// ```
    /// use hooksig::{Scheme, SecretFormat};
    /// // Stripe's layout, but with a base64 secret.
    /// let variant = Scheme::stripe()
    ///     .to_builder()
    ///     .secret_format(SecretFormat::Base64 { prefix: "whsec_".into() })
    ///     .build()?;
    /// assert_eq!(variant.message_template(), "{timestamp}.{body}");
    /// assert_eq!(variant.tolerance(), Scheme::stripe().tolerance());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn to_builder(&self) -> SchemeBuilder {
        let s = &self.inner;
        SchemeBuilder {
            name: s.name.clone(),
            signature_header: Some(s.signature_header.clone()),
            format: s.format.clone(),
            encoding: s.encoding,
            message: s.message.clone(),
            timestamp_header: s.timestamp_header.clone(),
            id_header: s.id_header.clone(),
            tolerance: s.tolerance,
            secret_format: s.secret_format.clone(),
            max_body: s.max_body,
            id_prefix: s.id_prefix.clone(),
            algorithm: s.versions.first().map_or(Algorithm::HmacSha256, |(_, a)| *a),
            extra_versions: s.versions.iter().skip(1).cloned().collect(),
            public_key_format: s.public_key_format.clone(),
            signing_key_format: s.signing_key_format.clone(),
        }
    }

    /// Every preset that takes HMAC secrets, in a fixed order (the same with every
    /// feature set, so that code looping over it with a secret keeps working when
    /// `ed25519` is enabled; `Scheme::discord`, Ed25519 only, is in
    /// `Scheme::ed25519_presets`).
    ///
    /// ```
    /// let names: Vec<_> = hooksig::Scheme::presets().iter().map(|s| s.name().to_owned()).collect();
    /// assert!(names.contains(&"shopify".to_owned()));
    /// assert_eq!(names.len(), 9);
    /// ```
    pub fn presets() -> Vec<Scheme> {
        vec![
            Scheme::tale(),
            Scheme::vocalis(),
            Scheme::github(),
            Scheme::oktave(),
            Scheme::standard_webhooks(),
            Scheme::svix(),
            Scheme::stripe(),
            Scheme::slack(),
            Scheme::shopify(),
        ]
    }

    /// Every preset with an Ed25519 signature version, in a fixed order:
    /// [`Scheme::standard_webhooks`] and [`Scheme::svix`] (`v1a`), then
    /// [`Scheme::discord`].
    ///
    /// ```
    /// let names: Vec<_> = hooksig::Scheme::ed25519_presets().iter().map(|s| s.name().to_owned()).collect();
    /// assert_eq!(names, ["standard_webhooks", "svix", "discord"]);
    /// ```
    #[cfg(feature = "ed25519")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ed25519")))]
    pub fn ed25519_presets() -> Vec<Scheme> {
        vec![Scheme::standard_webhooks(), Scheme::svix(), Scheme::discord()]
    }

    /// The preset with this name (`standard-webhooks` and `standard_webhooks` both
    /// work), if any; `discord` too with the `ed25519` feature.
    ///
    /// ```
    /// assert_eq!(hooksig::Scheme::preset("stripe").unwrap().name(), "stripe");
    /// assert!(hooksig::Scheme::preset("nope").is_none());
    /// assert_eq!(hooksig::Scheme::preset("discord").is_some(), cfg!(feature = "ed25519"));
    /// ```
    pub fn preset(name: &str) -> Option<Scheme> {
        let wanted = name.replace('-', "_").to_ascii_lowercase();
        #[cfg(feature = "ed25519")]
        if wanted == "discord" {
            return Some(Scheme::discord());
        }
        Scheme::presets().into_iter().find(|s| s.name() == wanted)
    }
}

impl fmt::Debug for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.inner;
        f.debug_struct("Scheme")
            .field("name", &s.name)
            .field("signature_header", &s.signature_header)
            .field("format", &s.format)
            .field("encoding", &s.encoding)
            .field("message", &self.message_template())
            .field("timestamp_header", &s.timestamp_header)
            .field("id_header", &s.id_header)
            .field("tolerance", &s.tolerance)
            .field("secret_format", &s.secret_format)
            .field("max_body", &s.max_body)
            .field("versions", &s.versions)
            .field("public_key_format", &s.public_key_format)
            .field("signing_key_format", &s.signing_key_format)
            .finish()
    }
}

/// Builds a [`Scheme`]; every setter takes the builder by value.
///
/// Defaults: format `Prefixed("")`, hex encoding, message `[Body]`, no timestamp, no
/// id, raw secrets, 2 MiB body limit. A timestamp source without a tolerance gets
/// 300 s each way; the message must then sign it (see [`SchemeBuilder::build`]).
///
/// ```
/// use hooksig::{Encoding, Part, Scheme, SignatureFormat};
/// use http::HeaderName;
/// let scheme = Scheme::builder("partner")
///     .signature_header(HeaderName::from_static("x-partner-signature"))
///     .format(SignatureFormat::Prefixed("sha256=".into()))
///     .encoding(Encoding::Base64)
///     .id_header(HeaderName::from_static("x-partner-delivery"))
///     .message([Part::Id, Part::literal("\n"), Part::Body])
///     .max_body(64 * 1024)
///     .build()?;
/// assert!(scheme.id_covered());
/// # Ok::<(), hooksig::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct SchemeBuilder {
    name: Cow<'static, str>,
    signature_header: Option<HeaderName>,
    format: SignatureFormat,
    encoding: Encoding,
    message: Vec<Part>,
    timestamp_header: Option<HeaderName>,
    id_header: Option<HeaderName>,
    tolerance: Option<Tolerance>,
    secret_format: SecretFormat,
    max_body: usize,
    id_prefix: Cow<'static, str>,
    algorithm: Algorithm,
    extra_versions: Vec<(Cow<'static, str>, Algorithm)>,
    public_key_format: SecretFormat,
    signing_key_format: SecretFormat,
}

/// Default tolerance when a timestamp source is set without one.
const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Why [`SchemeBuilder::build`] refuses a timestamp the MAC does not cover.
const UNCOVERED_TIMESTAMP: &str = "the scheme has a timestamp source but the message does not contain Part::Timestamp, so the MAC would not cover it";

impl SchemeBuilder {
    /// The header that carries the signature (required).
    ///
    /// ```
    /// let b = hooksig::Scheme::builder("x").signature_header(http::HeaderName::from_static("x-sig"));
    /// assert_eq!(b.build()?.signature_header(), "x-sig");
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn signature_header(mut self, name: HeaderName) -> Self {
        self.signature_header = Some(name);
        self
    }

    /// The grammar of the signature header.
    ///
    /// ```
    /// let b = hooksig::Scheme::builder("x").signature_header(http::HeaderName::from_static("x-sig"));
    /// let s = b.format(hooksig::SignatureFormat::Prefixed("v1=".into())).build()?;
    /// assert_eq!(s.format(), &hooksig::SignatureFormat::Prefixed("v1=".into()));
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn format(mut self, format: SignatureFormat) -> Self {
        self.format = format;
        self
    }

    /// How tags are written.
    ///
    /// ```
    /// let b = hooksig::Scheme::builder("x").signature_header(http::HeaderName::from_static("x-sig"));
    /// assert_eq!(b.encoding(hooksig::Encoding::Base64).build()?.encoding(), hooksig::Encoding::Base64);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// What the MAC covers, in order. [`Part::Body`] may appear at most once; leave it
    /// out for schemes that do not sign the body.
    ///
    /// ```
    /// let b = hooksig::Scheme::builder("x").signature_header(http::HeaderName::from_static("x-sig"));
    /// let s = b.message([hooksig::Part::literal("v2:"), hooksig::Part::Body]).build()?;
    /// assert_eq!(s.message_template(), "v2:{body}");
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn message(mut self, parts: impl IntoIterator<Item = Part>) -> Self {
        self.message = parts.into_iter().collect();
        self
    }

    /// The header carrying the signed timestamp (strict decimal unix seconds). The
    /// message must contain [`Part::Timestamp`], or [`SchemeBuilder::build`] refuses
    /// the scheme: an unsigned timestamp could be rewritten by anyone.
    ///
    /// ```
    /// use hooksig::Part;
    /// let b = hooksig::Scheme::builder("x").signature_header(http::HeaderName::from_static("x-sig"));
    /// let b = b.timestamp_header(http::HeaderName::from_static("x-ts"));
    /// assert!(b.clone().build().is_err()); // the default message `[Body]` leaves it unsigned
    /// let s = b.message([Part::Timestamp, Part::literal("."), Part::Body]).build()?;
    /// assert_eq!(s.tolerance().map(|(p, _)| p.as_secs()), Some(300));
    /// assert!(s.timestamp_covered());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn timestamp_header(mut self, name: HeaderName) -> Self {
        self.timestamp_header = Some(name);
        self
    }

    /// The header carrying the delivery id. It is required on deliveries when the
    /// message contains [`Part::Id`], and read when present otherwise.
    ///
    /// ```
    /// let b = hooksig::Scheme::builder("x").signature_header(http::HeaderName::from_static("x-sig"));
    /// let s = b.id_header(http::HeaderName::from_static("x-id")).build()?;
    /// assert!(!s.id_covered());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn id_header(mut self, name: HeaderName) -> Self {
        self.id_header = Some(name);
        self
    }

    /// The default tolerance, both into the past and into the future.
    ///
    /// ```
    /// let b = hooksig::Scheme::builder("x").signature_header(http::HeaderName::from_static("x-sig"));
    /// let b = b.timestamp_header(http::HeaderName::from_static("x-ts")).message([hooksig::Part::Timestamp, hooksig::Part::Body]);
    /// let s = b.tolerance(std::time::Duration::from_secs(30)).build()?;
    /// assert_eq!(s.tolerance().map(|(p, f)| (p.as_secs(), f.as_secs())), Some((30, 30)));
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn tolerance(self, tolerance: Duration) -> Self {
        self.tolerance_past(tolerance).tolerance_future(tolerance)
    }

    /// The default tolerance into the past (how old a delivery may be).
    ///
    /// ```
    /// let b = hooksig::Scheme::builder("x").signature_header(http::HeaderName::from_static("x-sig"));
    /// let b = b.timestamp_header(http::HeaderName::from_static("x-ts")).message([hooksig::Part::Timestamp, hooksig::Part::Body]);
    /// let s = b.tolerance_past(std::time::Duration::from_secs(600)).build()?;
    /// assert_eq!(s.tolerance().map(|(p, f)| (p.as_secs(), f.as_secs())), Some((600, 300)));
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn tolerance_past(mut self, past: Duration) -> Self {
        self.tolerance = Some(Tolerance { past, ..self.tolerance_or_default() });
        self
    }

    /// The default tolerance into the future (sender's clock ahead of ours).
    ///
    /// ```
    /// let b = hooksig::Scheme::builder("x").signature_header(http::HeaderName::from_static("x-sig"));
    /// let b = b.timestamp_header(http::HeaderName::from_static("x-ts")).message([hooksig::Part::Timestamp, hooksig::Part::Body]);
    /// let s = b.tolerance_future(std::time::Duration::ZERO).build()?;
    /// assert_eq!(s.tolerance().map(|(_, f)| f.as_secs()), Some(0));
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn tolerance_future(mut self, future: Duration) -> Self {
        self.tolerance = Some(Tolerance { future, ..self.tolerance_or_default() });
        self
    }

    fn tolerance_or_default(&self) -> Tolerance {
        self.tolerance.unwrap_or(Tolerance { past: DEFAULT_TOLERANCE, future: DEFAULT_TOLERANCE })
    }

    /// How the dashboard's secret string is read.
    ///
    /// ```
    /// let b = hooksig::Scheme::builder("x").signature_header(http::HeaderName::from_static("x-sig"));
    /// let s = b.secret_format(hooksig::SecretFormat::Base64 { prefix: "key_".into() }).build()?;
    /// assert!(hooksig::Verifier::new(s.clone(), "key_c2VjcmV0").is_ok());
    /// assert!(hooksig::Verifier::new(s, "key_!").is_err());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn secret_format(mut self, format: SecretFormat) -> Self {
        self.secret_format = format;
        self
    }

    /// The algorithm of the format's own signatures: the `version` of a
    /// [`SignatureFormat::VersionedList`], the tag after a
    /// [`SignatureFormat::Prefixed`] prefix, the signature pairs of a
    /// [`SignatureFormat::KeyValue`]. Default [`Algorithm::HmacSha256`].
    ///
    /// ```
    /// use hooksig::{Algorithm, Encoding, Part, Scheme};
    /// // An Ed25519-only scheme: a bare hex signature over `{timestamp}{body}`.
    /// let scheme = Scheme::builder("interactions")
    ///     .signature_header(http::HeaderName::from_static("x-signature"))
    ///     .algorithm(Algorithm::Ed25519)
    ///     .encoding(Encoding::Hex)
    ///     .timestamp_header(http::HeaderName::from_static("x-timestamp"))
    ///     .message([Part::Timestamp, Part::Body])
    ///     .build()?;
    /// assert_eq!(scheme.algorithm(), Algorithm::Ed25519);
    /// assert!(!scheme.supports(Algorithm::HmacSha256));
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Declares another version of a [`SignatureFormat::VersionedList`] and its
    /// algorithm, e.g. Standard Webhooks' `v1a` (Ed25519) beside `v1` (HMAC-SHA256).
    /// Entries of that version become candidates for keys of that algorithm;
    /// entries of undeclared versions are still skipped. The encoding is the
    /// scheme's, with the algorithm's signature length. [`SchemeBuilder::build`]
    /// refuses extra versions with the other formats.
    ///
    /// ```
    /// use hooksig::{Algorithm, Encoding, Part, Scheme, SignatureFormat};
    /// let scheme = Scheme::builder("acme")
    ///     .signature_header(http::HeaderName::from_static("x-acme-signature"))
    ///     .format(SignatureFormat::VersionedList { version: "s1".into() })
    ///     .version("a1", Algorithm::Ed25519)
    ///     .encoding(Encoding::Base64)
    ///     .build()?;
    /// assert_eq!(scheme.versions().collect::<Vec<_>>(), [("s1", Algorithm::HmacSha256), ("a1", Algorithm::Ed25519)]);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn version(mut self, version: impl Into<Cow<'static, str>>, algorithm: Algorithm) -> Self {
        self.extra_versions.push((version.into(), algorithm));
        self
    }

    /// How a public key (Ed25519) is read, e.g. Standard Webhooks' `whpk_` + base64
    /// of the 32-byte key. Default [`SecretFormat::Hex`] (64 hex digits).
    ///
    /// ```
    /// use hooksig::{Scheme, SecretFormat};
    /// let b = Scheme::builder("x").signature_header(http::HeaderName::from_static("x-sig"));
    /// let s = b.public_key_format(SecretFormat::Base64 { prefix: "pk_".into() }).build()?;
    /// assert_eq!(s.public_key_format(), &SecretFormat::Base64 { prefix: "pk_".into() });
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn public_key_format(mut self, format: SecretFormat) -> Self {
        self.public_key_format = format;
        self
    }

    /// How a secret signing key (Ed25519) is read, e.g. Standard Webhooks' `whsk_` +
    /// base64. The key is the 32-byte seed, or the 64-byte seed followed by its public
    /// key (the halves must agree). Default [`SecretFormat::Hex`].
    ///
    /// ```
    /// use hooksig::{Scheme, SecretFormat};
    /// let s = Scheme::standard_webhooks().to_builder().signing_key_format(SecretFormat::Hex).build()?;
    /// assert_eq!(s.signing_key_format(), &SecretFormat::Hex);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn signing_key_format(mut self, format: SecretFormat) -> Self {
        self.signing_key_format = format;
        self
    }

    /// The default body limit in bytes.
    ///
    /// ```
    /// let b = hooksig::Scheme::builder("x").signature_header(http::HeaderName::from_static("x-sig"));
    /// assert_eq!(b.max_body(1024).build()?.max_body(), 1024);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn max_body(mut self, limit: usize) -> Self {
        self.max_body = limit;
        self
    }

    /// A prefix for ids the [`crate::Signer`] generates (e.g. `msg_`).
    ///
    /// ```
    /// let b = hooksig::Scheme::builder("x").signature_header(http::HeaderName::from_static("x-sig"));
    /// let s = b.id_header(http::HeaderName::from_static("x-id")).generated_id_prefix("evt_").build()?;
    /// let headers = hooksig::Signer::new(s, "k")?.sign(b"")?;
    /// assert!(headers["x-id"].to_str().unwrap().starts_with("evt_"));
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn generated_id_prefix(mut self, prefix: impl Into<Cow<'static, str>>) -> Self {
        self.id_prefix = prefix.into();
        self
    }

    /// Checks the description and builds the scheme.
    ///
    /// Fails with [`Error::InvalidConfig`] when:
    /// - no signature header is set;
    /// - the message is empty, or the body appears in it twice;
    /// - the message uses a timestamp or id with no source for it;
    /// - the scheme has a timestamp source (a timestamp header, or a
    ///   [`SignatureFormat::KeyValue`] format, whose timestamp pair is always read)
    ///   but the message does not contain [`Part::Timestamp`]: the MAC would not
    ///   cover the timestamp, so its tolerance check would run on a value anyone can
    ///   write, and replay protection would trust it;
    /// - a `KeyValue` format is combined with a timestamp header;
    /// - two of the signature, timestamp and id headers have the same name;
    /// - keys or versions are empty, equal, or contain their separators.
    ///
    /// An id header whose id is not in the message is allowed: it is read when present
    /// (GitHub's `X-GitHub-Delivery`, Shopify's `X-Shopify-Webhook-Id`) and
    /// [`Scheme::id_covered`] is false for it.
    ///
    /// ```
    /// use hooksig::{Part, Scheme, SignatureFormat};
    /// use http::HeaderName;
    /// assert!(Scheme::builder("no header").build().is_err());
    /// let b = Scheme::builder("x").signature_header(HeaderName::from_static("x-sig"));
    /// assert!(b.clone().build().is_ok());
    /// // The id in the signature's header: refused.
    /// assert!(b.clone().id_header(HeaderName::from_static("x-sig")).build().is_err());
    ///
    /// // A Stripe-like `t=` pair that the MAC does not cover: refused.
    /// let kv = b.format(SignatureFormat::KeyValue { timestamp_key: "t".into(), signature_key: "v1".into() });
    /// let err = kv.clone().message([Part::Body]).build().unwrap_err();
    /// assert!(err.to_string().contains("does not contain Part::Timestamp"));
    /// // Covered: accepted.
    /// assert!(kv.message([Part::Timestamp, Part::literal("."), Part::Body]).build()?.timestamp_covered());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn build(self) -> Result<Scheme, Error> {
        self.validate()?;
        Ok(self.build_unchecked())
    }

    fn validate(&self) -> Result<(), Error> {
        let invalid = |reason| Err(Error::InvalidConfig { reason });
        if self.signature_header.is_none() {
            return invalid("no signature header");
        }
        if self.message.iter().filter(|p| **p == Part::Body).count() > 1 {
            return invalid("the body appears more than once in the message");
        }
        if self.message.is_empty() {
            return invalid("the signed message is empty");
        }
        let key_value = matches!(self.format, SignatureFormat::KeyValue { .. });
        if key_value && self.timestamp_header.is_some() {
            return invalid("a key=value format carries its own timestamp");
        }
        let has_timestamp = key_value || self.timestamp_header.is_some();
        let timestamp_in_message = self.message.contains(&Part::Timestamp);
        if timestamp_in_message && !has_timestamp {
            return invalid("the message uses a timestamp but the scheme has no timestamp source");
        }
        if has_timestamp && !timestamp_in_message {
            return invalid(UNCOVERED_TIMESTAMP);
        }
        if self.message.contains(&Part::Id) && self.id_header.is_none() {
            return invalid("the message uses an id but the scheme has no id header");
        }
        // One header read as two fields would be both repeated (a signer writes it
        // twice) and parsed twice; refuse it here, where the mistake is made.
        let names = [self.signature_header.as_ref(), self.timestamp_header.as_ref(), self.id_header.as_ref()];
        let named: Vec<&HeaderName> = names.into_iter().flatten().collect();
        if named.iter().enumerate().any(|(i, a)| named.get(..i).unwrap_or_default().contains(a)) {
            return invalid("the signature, timestamp and id headers must have distinct names");
        }
        let list_version = match &self.format {
            SignatureFormat::VersionedList { version } => Some(version),
            _ => None,
        };
        if !self.extra_versions.is_empty() {
            let Some(first) = list_version else {
                return invalid("extra signature versions need a VersionedList format");
            };
            for (i, (version, _)) in self.extra_versions.iter().enumerate() {
                if version.is_empty() || version.contains([',', ' ']) {
                    return invalid("a list version must be non-empty, without ',' or ' '");
                }
                let earlier = self.extra_versions.get(..i).unwrap_or_default();
                if version == first || earlier.iter().any(|(v, _)| v == version) {
                    return invalid("a signature version is declared twice");
                }
            }
        }
        match &self.format {
            SignatureFormat::VersionedList { version }
                if version.is_empty() || version.contains([',', ' ']) =>
            {
                invalid("a list version must be non-empty, without ',' or ' '")
            }
            SignatureFormat::KeyValue { timestamp_key, signature_key }
                if timestamp_key.is_empty()
                    || signature_key.is_empty()
                    || timestamp_key == signature_key
                    || [timestamp_key, signature_key].iter().any(|k| k.contains([',', '='])) =>
            {
                invalid("key=value keys must be distinct, non-empty, without ',' or '='")
            }
            _ => Ok(()),
        }
    }

    /// Builds without validation: for presets, whose descriptions are fixed and
    /// checked by a unit test.
    pub(crate) fn build_unchecked(self) -> Scheme {
        let body_index = self.message.iter().position(|p| *p == Part::Body);
        let has_timestamp =
            self.timestamp_header.is_some() || matches!(self.format, SignatureFormat::KeyValue { .. });
        let tolerance = if has_timestamp { Some(self.tolerance_or_default()) } else { None };
        let own_version = match &self.format {
            SignatureFormat::VersionedList { version } => version.clone(),
            _ => Cow::Borrowed(""),
        };
        let mut versions = vec![(own_version, self.algorithm)];
        versions.extend(self.extra_versions);
        Scheme {
            inner: Arc::new(SchemeInner {
                name: self.name,
                signature_header: self
                    .signature_header
                    .unwrap_or_else(|| HeaderName::from_static("signature")),
                format: self.format,
                encoding: self.encoding,
                message: self.message,
                body_index,
                timestamp_header: self.timestamp_header,
                id_header: self.id_header,
                tolerance,
                secret_format: self.secret_format,
                max_body: self.max_body,
                id_prefix: self.id_prefix,
                versions,
                public_key_format: self.public_key_format,
                signing_key_format: self.signing_key_format,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &'static str) -> HeaderName {
        HeaderName::from_static(name)
    }

    fn reason(builder: SchemeBuilder) -> &'static str {
        match builder.build() {
            Err(Error::InvalidConfig { reason }) => reason,
            other => panic!("wanted InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn a_timestamp_source_must_be_signed() {
        let base = Scheme::builder("x").signature_header(header("x-sig"));
        let with_header = base.clone().timestamp_header(header("x-ts"));
        let key_value = base.format(SignatureFormat::KeyValue {
            timestamp_key: Cow::Borrowed("t"),
            signature_key: Cow::Borrowed("v1"),
        });
        for builder in [with_header, key_value] {
            assert_eq!(reason(builder.clone()), UNCOVERED_TIMESTAMP);
            assert_eq!(
                reason(builder.clone().id_header(header("x-id")).message([Part::Id, Part::Body])),
                UNCOVERED_TIMESTAMP
            );
            let scheme = builder.message([Part::Body, Part::literal("."), Part::Timestamp]).build().unwrap();
            assert!(scheme.has_timestamp() && scheme.timestamp_covered());
        }
    }

    /// Defence in depth: a scheme that skipped validation with an unsigned timestamp
    /// still does not claim a covered one (replay TTLs follow `timestamp_covered`).
    #[test]
    fn timestamp_covered_does_not_rest_on_validation_alone() {
        let unchecked = Scheme::builder("x")
            .signature_header(header("x-sig"))
            .timestamp_header(header("x-ts"))
            .message([Part::Body])
            .build_unchecked();
        assert!(unchecked.has_timestamp());
        assert!(!unchecked.timestamp_covered());
    }

    #[test]
    fn signature_timestamp_and_id_headers_must_differ() {
        const DISTINCT: &str = "the signature, timestamp and id headers must have distinct names";
        let base = Scheme::builder("x").signature_header(header("x-sig"));
        let with_ts = |name| {
            base.clone().timestamp_header(header(name)).message([
                Part::Timestamp,
                Part::literal("."),
                Part::Body,
            ])
        };
        assert_eq!(reason(with_ts("x-sig")), DISTINCT);
        assert_eq!(reason(base.clone().id_header(header("x-sig")).message([Part::Id, Part::Body])), DISTINCT);
        assert_eq!(reason(with_ts("x-ts").id_header(header("x-ts"))), DISTINCT);
        assert!(with_ts("x-ts").id_header(header("x-id")).build().is_ok());
        // Header names are case-insensitive: `HeaderName` is lowercase whatever it was given.
        let upper = HeaderName::from_bytes(b"X-Sig").unwrap();
        assert_eq!(reason(base.clone().id_header(upper)), DISTINCT);
    }

    /// `id_covered` follows the message only: an id header alone is read, not trusted.
    #[test]
    fn an_id_is_covered_exactly_when_the_message_contains_it() {
        let b = Scheme::builder("x").signature_header(header("x-sig")).id_header(header("x-id"));
        assert!(!b.clone().build().unwrap().id_covered());
        assert!(b.clone().message([Part::Id, Part::Body]).build().unwrap().id_covered());
        assert!(b.message([Part::Body, Part::Id]).build().unwrap().id_covered());
    }
}
