//! Signing: [`Signer`] for outgoing deliveries, and the [`Signature`] of the one-line
//! [`crate::sign`].

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue};
use subtle::ConstantTimeEq;

use crate::error::Error;
use crate::headers::{self, DeliveryId};
#[cfg(feature = "ed25519")]
use crate::keys::KeyKind;
use crate::keys::{self, Fields, Key, PendingSecret, SignKey};
use crate::scheme::{Scheme, SignatureFormat};
use crate::tag::{Encoding, HEX_LEN, Tag};

/// Signs outgoing deliveries for one scheme.
///
/// ```
/// use hooksig::{Scheme, Signer};
/// let signer = Signer::new(Scheme::github(), "It's a Secret to Everybody")?;
/// let headers = signer.sign(b"Hello, World!")?;
/// assert_eq!(
///     headers["x-hub-signature-256"],
///     "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
/// );
/// # Ok::<(), hooksig::Error>(())
/// ```
#[derive(Clone)]
pub struct Signer {
    inner: Arc<SignerInner>,
}

struct SignerInner {
    scheme: Scheme,
    /// Secrets and signing keys, in the order added.
    keys: Vec<SignKey>,
}

impl Signer {
    /// A signer for `scheme` with one secret, read as the dashboard shows it.
    ///
    /// ```
    /// assert!(hooksig::Signer::new(hooksig::Scheme::tale(), "").is_err());
    /// ```
    pub fn new(scheme: Scheme, secret: impl AsRef<[u8]>) -> Result<Signer, Error> {
        Signer::builder(scheme).secret(secret).build()
    }

    /// A builder, for several secrets.
    ///
    /// ```
    /// use hooksig::{Scheme, Signer};
    /// let signer = Signer::builder(Scheme::svix())
    ///     .secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    ///     .secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
    ///     .build()?;
    /// let headers = signer.sign(b"{}")?;
    /// // One signature per secret during rotation.
    /// assert_eq!(headers["svix-signature"].to_str().unwrap().split(' ').count(), 2);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn builder(scheme: Scheme) -> SignerBuilder {
        SignerBuilder { scheme, secrets: Vec::new() }
    }

    /// The scheme this signer produces.
    ///
    /// ```
    /// let s = hooksig::Signer::new(hooksig::Scheme::stripe(), "whsec_x")?;
    /// assert_eq!(s.scheme().name(), "stripe");
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn scheme(&self) -> &Scheme {
        &self.inner.scheme
    }

    /// Signs `body` now, with a fresh random id where the scheme has an id header.
    ///
    /// ```
    /// let headers = hooksig::Signer::new(hooksig::Scheme::standard_webhooks(), "whsec_YWJj")?.sign(b"{}")?;
    /// assert!(headers.contains_key("webhook-id"));
    /// assert!(headers.contains_key("webhook-timestamp"));
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn sign(&self, body: &[u8]) -> Result<HeaderMap, Error> {
        self.sign_at(body, None, SystemTime::now())
    }

    /// Signs `body` with the given id (`None`: a fresh random id where the scheme has
    /// an id header) and timestamp.
    ///
    /// Returns the signature header and, where the scheme has them, the timestamp and
    /// id headers. Schemes that carry several signatures (Standard Webhooks, Svix,
    /// Stripe) get one per key, in the order the keys were added, each under the
    /// first version of its algorithm (`v1` for a secret, `v1a` for a signing key);
    /// the others are signed with the first key.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use hooksig::{Scheme, Signer};
    /// let signer = Signer::new(Scheme::standard_webhooks(), "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")?;
    /// let at = UNIX_EPOCH + Duration::from_secs(1649367553);
    /// let body = br#"{"email":"test@example.com","username":"test_user"}"#;
    /// let headers = signer.sign_at(body, Some("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk"), at)?;
    /// assert_eq!(headers["webhook-signature"], "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
    /// assert_eq!(headers["webhook-timestamp"], "1649367553");
    /// // A time before 1970 has no timestamp: refused.
    /// assert!(signer.sign_at(body, None, UNIX_EPOCH - Duration::from_secs(1)).is_err());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn sign_at(&self, body: &[u8], id: Option<&str>, at: SystemTime) -> Result<HeaderMap, Error> {
        let scheme = &self.inner.scheme.inner;
        let timestamp = match scheme.has_timestamp() {
            // Before 1970 there is no Unix timestamp to write; 0 would be a lie.
            true if at < UNIX_EPOCH => {
                return Err(Error::InvalidConfig { reason: "the signing time is before 1970" });
            }
            true => Some(headers::unix_seconds(at)),
            false => None,
        };
        let id = match (&scheme.id_header, id) {
            (None, _) => None,
            (Some(name), Some(given)) => Some(DeliveryId::new(given.as_bytes()).ok_or_else(|| {
                Error::MalformedHeader { name: name.clone(), reason: "id must be 1 to 255 bytes of UTF-8" }
            })?),
            (Some(_), None) => Some(generate_id(&scheme.id_prefix)?),
        };
        let mut ts_text = [0u8; 20];
        let fields = Fields {
            timestamp: timestamp.map(|ts| headers::format_decimal(ts, &mut ts_text)),
            id: id.as_ref().map(DeliveryId::as_bytes),
        };

        let several = !matches!(scheme.format, SignatureFormat::Prefixed(_));
        let keys = if several { &self.inner.keys[..] } else { self.inner.keys.get(..1).unwrap_or_default() };
        let mut value = String::new();
        if let (SignatureFormat::KeyValue { timestamp_key, .. }, Some(ts)) = (&scheme.format, timestamp) {
            value.push_str(timestamp_key);
            value.push('=');
            value.push_str(&ts.to_string());
        }
        for key in keys {
            let mut buf = [0u8; HEX_LEN];
            #[cfg(feature = "ed25519")]
            let owned: String;
            let text = match key {
                SignKey::Hmac(key) => {
                    let mut tag = keys::Expected::new();
                    keys::mac_message(key, scheme, fields, body, &mut tag, || {});
                    scheme.encoding.encode(&tag.0, &mut buf)
                }
                #[cfg(feature = "ed25519")]
                SignKey::Ed25519(key) => {
                    let sig = key.sign(|h| keys::feed_message(h, scheme, fields, body));
                    owned = crate::ed25519::encode_signature(scheme.encoding, &sig);
                    &owned
                }
            };
            let version = scheme.version_for(key.algorithm());
            match &scheme.format {
                SignatureFormat::Prefixed(prefix) => {
                    value.push_str(prefix);
                    value.push_str(text);
                }
                SignatureFormat::VersionedList { version: own } => {
                    if !value.is_empty() {
                        value.push(' ');
                    }
                    value.push_str(version.unwrap_or(own));
                    value.push(',');
                    value.push_str(text);
                }
                SignatureFormat::KeyValue { signature_key, .. } => {
                    value.push(',');
                    value.push_str(signature_key);
                    value.push('=');
                    value.push_str(text);
                }
            }
        }

        let mut map = HeaderMap::new();
        let header_value = |text: &str, name: &http::HeaderName| {
            HeaderValue::from_str(text).map_err(|_| Error::MalformedHeader {
                name: name.clone(),
                reason: "value is not a valid header value",
            })
        };
        map.insert(scheme.signature_header.clone(), header_value(&value, &scheme.signature_header)?);
        if let (Some(name), Some(ts)) = (&scheme.timestamp_header, timestamp) {
            map.insert(name.clone(), header_value(&ts.to_string(), name)?);
        }
        if let (Some(name), Some(id)) = (&scheme.id_header, &id) {
            map.insert(name.clone(), header_value(id.as_str(), name)?);
        }
        Ok(map)
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let labels: Vec<Option<&str>> = self.inner.keys.iter().map(SignKey::label).collect();
        f.debug_struct("Signer").field("scheme", &self.inner.scheme.name()).field("keys", &labels).finish()
    }
}

/// A random id: the scheme's prefix and a UUID v4 from the operating system's RNG.
fn generate_id(prefix: &str) -> Result<DeliveryId, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| Error::Randomness)?;
    if let Some(b) = bytes.get_mut(6) {
        *b = (*b & 0x0f) | 0x40;
    }
    if let Some(b) = bytes.get_mut(8) {
        *b = (*b & 0x3f) | 0x80;
    }
    let hex = hex::encode(bytes);
    let uuid = format!(
        "{prefix}{}-{}-{}-{}-{}",
        hex.get(0..8).unwrap_or_default(),
        hex.get(8..12).unwrap_or_default(),
        hex.get(12..16).unwrap_or_default(),
        hex.get(16..20).unwrap_or_default(),
        hex.get(20..32).unwrap_or_default(),
    );
    DeliveryId::new(uuid.as_bytes()).ok_or(Error::InvalidConfig { reason: "id prefix too long" })
}

/// Builds a [`Signer`]; every setter takes the builder by value.
///
/// ```
/// let signer = hooksig::Signer::builder(hooksig::Scheme::stripe())
///     .labeled_secret("new", "whsec_new")
///     .secret("whsec_old")
///     .build()?;
/// assert_eq!(signer.sign(b"{}")?["stripe-signature"].to_str().unwrap().matches("v1=").count(), 2);
/// # Ok::<(), hooksig::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct SignerBuilder {
    scheme: Scheme,
    secrets: Vec<PendingSecret>,
}

impl SignerBuilder {
    /// Adds a secret (the first one signs single-signature schemes).
    ///
    /// ```
    /// let signer = hooksig::Signer::builder(hooksig::Scheme::tale()).secret("first").secret("second").build()?;
    /// let headers = signer.sign(b"x")?;
    /// hooksig::Verifier::new(hooksig::Scheme::tale(), "first")?.verify(&headers, b"x")?;
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.secrets.push(PendingSecret::new(None, secret.as_ref()));
        self
    }

    /// Adds a labelled secret.
    ///
    /// ```
    /// let signer = hooksig::Signer::builder(hooksig::Scheme::stripe()).labeled_secret("v2", "whsec_a").build()?;
    /// assert_eq!(format!("{signer:?}"), r#"Signer { scheme: "stripe", keys: [Some("v2")] }"#);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn labeled_secret(mut self, label: impl Into<Arc<str>>, secret: impl AsRef<[u8]>) -> Self {
        self.secrets.push(PendingSecret::new(Some(label.into()), secret.as_ref()));
        self
    }

    /// Adds an Ed25519 secret signing key, written in the scheme's signing-key format
    /// ([`Scheme::signing_key_format`]: `whsk_` + base64 for Standard Webhooks, hex for
    /// Discord): the 32-byte seed, or the 64-byte seed followed by its public key (the
    /// halves must agree). It signs the scheme's Ed25519 version (`v1a`); with a
    /// secret as well, one header carries both (`v1,<…> v1a,<…>`), in the order
    /// the keys were added. The key is zeroized on drop and never printed.
    ///
    /// ```
    /// use hooksig::{Scheme, Signer};
    /// let signer = Signer::builder(Scheme::standard_webhooks())
    ///     .secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    ///     .signing_key("whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=")
    ///     .build()?;
    /// let value = signer.sign(b"{}")?["webhook-signature"].to_str().unwrap().to_owned();
    /// let versions: Vec<&str> = value.split(' ').map(|e| e.split(',').next().unwrap()).collect();
    /// assert_eq!(versions, ["v1", "v1a"]);
    /// assert!(!format!("{signer:?}").contains("nWGx"));
    /// // A 64-byte key whose halves disagree, a short key: refused.
    /// assert!(Signer::builder(Scheme::discord()).signing_key("00".repeat(64)).build().is_err());
    /// assert!(Signer::builder(Scheme::discord()).signing_key("00".repeat(31)).build().is_err());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    #[cfg(feature = "ed25519")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ed25519")))]
    pub fn signing_key(mut self, key: impl AsRef<[u8]>) -> Self {
        self.secrets.push(PendingSecret::of_kind(KeyKind::Signing, None, key.as_ref()));
        self
    }

    /// Adds a labelled Ed25519 signing key (see [`SignerBuilder::signing_key`]).
    ///
    /// ```
    /// let key = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    /// let signer = hooksig::Signer::builder(hooksig::Scheme::discord()).labeled_signing_key("app", key).build()?;
    /// assert_eq!(format!("{signer:?}"), r#"Signer { scheme: "discord", keys: [Some("app")] }"#);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    #[cfg(feature = "ed25519")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ed25519")))]
    pub fn labeled_signing_key(mut self, label: impl Into<Arc<str>>, key: impl AsRef<[u8]>) -> Self {
        self.secrets.push(PendingSecret::of_kind(KeyKind::Signing, Some(label.into()), key.as_ref()));
        self
    }

    /// Decodes and keys every secret; fails like [`crate::VerifierBuilder::build`].
    ///
    /// ```
    /// assert!(hooksig::Signer::builder(hooksig::Scheme::tale()).build().is_err());
    /// assert!(hooksig::Signer::builder(hooksig::Scheme::tale()).secret("k").build().is_ok());
    /// ```
    pub fn build(self) -> Result<Signer, Error> {
        let keys = keys::sign_keys(&self.scheme.inner, &self.secrets)?;
        Ok(Signer { inner: Arc::new(SignerInner { scheme: self.scheme, keys }) })
    }
}

/// Signs `body` in the `sha256=<hex>` form (Tale, Vocalis, GitHub): HMAC-SHA256 keyed
/// with the raw `secret` bytes, the same keyed path as [`Signer`]. Fails with
/// [`Error::InvalidSecret`] for an empty secret; for other schemes use [`Signer`].
///
/// ```
/// let sig = hooksig::sign(b"It's a Secret to Everybody", b"Hello, World!")?;
/// assert_eq!(sig.to_string(), "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
/// assert!(hooksig::sign(b"", b"x").is_err());
/// # Ok::<(), hooksig::Error>(())
/// ```
pub fn sign(secret: &[u8], body: &[u8]) -> Result<Signature, Error> {
    let mut mac = Key::raw(secret)?.start();
    mac.update(body);
    Ok(Signature::new(keys::finish(mac)))
}

/// The signature of the one-line [`crate::sign`]: displays as `sha256=<64 lowercase
/// hex>`, the form Tale, Vocalis and GitHub send.
///
/// Equality is constant-time.
///
/// ```
/// let sig = hooksig::sign(b"mysecret", br#"{"foo":"bar"}"#)?;
/// assert_eq!(sig.to_string(), "sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3");
/// assert_eq!(sig.as_bytes().len(), 32);
/// # Ok::<(), hooksig::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct Signature {
    tag: Tag,
}

impl Signature {
    pub(crate) fn new(tag: Tag) -> Self {
        Signature { tag }
    }

    /// The raw 32-byte tag.
    ///
    /// ```
    /// let sig = hooksig::sign(b"Jefe", b"what do ya want for nothing?")?;
    /// assert_eq!(sig.as_bytes()[..4], [0x5b, 0xdc, 0xc1, 0x46]);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.tag
    }

    /// The `sha256=<hex>` form as a header value.
    ///
    /// ```
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("x-tale-signature", hooksig::sign(b"k", b"body")?.to_header_value());
    /// hooksig::Verifier::new(hooksig::Scheme::tale(), "k")?.verify(&headers, b"body")?;
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn to_header_value(&self) -> HeaderValue {
        let mut buf = [0u8; HEX_LEN];
        let text = Encoding::Hex.encode(&self.tag, &mut buf);
        let mut out = Vec::with_capacity(7 + HEX_LEN);
        out.extend_from_slice(b"sha256=");
        out.extend_from_slice(text.as_bytes());
        HeaderValue::from_bytes(&out).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; HEX_LEN];
        write!(f, "sha256={}", Encoding::Hex.encode(&self.tag, &mut buf))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({self})")
    }
}

impl PartialEq for Signature {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.tag.ct_eq(&other.tag))
    }
}

impl Eq for Signature {}
