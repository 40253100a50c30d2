//! Verification: [`Verifier`] (one-shot and streaming) and its result, [`Verified`].

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

#[cfg(feature = "ed25519")]
use crate::ed25519::Stream;
use crate::error::Error;
use crate::headers::{self, Delivery, DeliveryId, HeaderSource, Tags};
#[cfg(feature = "ed25519")]
use crate::keys::KeyKind;
use crate::keys::{self, Fields, FirstBlock, Key, PendingSecret, VerifyKey};
use crate::mac::Mac;
use crate::scheme::{Algorithm, Encoding, Part, Scheme, Tolerance};
use crate::tag::Candidates;

/// The largest body whose hashing [`Verifier::verify_at`] starts before it has read
/// every header: the whole blocks of a message that no header goes into, or the first
/// block of one that starts with header text (the signature line is then read beside
/// the hash). It bounds the hashing spent on a delivery whose headers are then refused
/// (about 3 µs here); past a few KiB the header work is lost in the hash anyway. A
/// message without the body (Oktave's `{id}{timestamp}`) costs the same whatever the
/// body's size and needs no bound: it takes the early way at any size within the
/// limit. Bounded too, Oktave's 1 MiB deliveries read everything first: on an AMD
/// EPYC, 217 ns against 196 at 64 B in one report run; the two builds in one process,
/// 35 ns less at 8 KiB and 1 MiB where the same binary put 15 to 18 ns of layout
/// between them at 64 B, so about 20 ns; 64 B and 1 MiB rows equal in the report now.
const EARLY_MAC_MAX_BODY: usize = 4096;

/// Verifies a `sha256=<hex>` header value (Tale, Vocalis, GitHub) over `body`, keyed
/// with the raw `secret` bytes (the same keyed path as [`Verifier`]).
///
/// Fails with [`Error::InvalidSecret`] for an empty secret,
/// [`Error::MalformedHeader`] for anything but `sha256=` and 64 hex digits (any
/// case), and [`Error::SignatureMismatch`] otherwise. Errors name the header
/// `signature`, since this function does not know which header the value came from.
///
/// ```
/// let header = "sha256=4864D2759938A15468B5DF9ADE20BF161DA9B4F737EA61794142F3484236BDA3";
/// hooksig::verify(b"mysecret", br#"{"foo":"bar"}"#, header)?;
/// assert_eq!(hooksig::verify(b"", b"x", header), Err(hooksig::Error::InvalidSecret { reason: "empty secret" }));
/// # Ok::<(), hooksig::Error>(())
/// ```
pub fn verify(secret: &[u8], body: &[u8], header_value: impl AsRef<[u8]>) -> Result<(), Error> {
    let key = Key::raw(secret)?;
    let name = http::HeaderName::from_static("signature");
    let value = header_value.as_ref();
    if value.len() > headers::MAX_HEADER_LEN {
        return Err(Error::MalformedHeader { name, reason: "header value too long" });
    }
    let text = value
        .strip_prefix(b"sha256=")
        .ok_or(Error::MalformedHeader { name: name.clone(), reason: "unexpected signature prefix" })?;
    let candidate = Encoding::Hex.decode(text).map_err(|reason| Error::MalformedHeader { name, reason })?;
    let mut mac = key.start();
    mac.update(body);
    let mut expected = keys::finish(mac);
    let ok = bool::from(subtle::ConstantTimeEq::ct_eq(&candidate[..], &expected[..]));
    zeroize::Zeroize::zeroize(&mut expected);
    if ok { Ok(()) } else { Err(Error::SignatureMismatch) }
}

/// Verifies deliveries for one scheme against one or more secrets.
///
/// Built once at start-up: each secret is turned into a pre-keyed HMAC state, and
/// every verification clones that state, so the per-request cost is the hash of the
/// message and nothing more. Cheap to clone (an `Arc` inside), `Send + Sync`.
///
/// ```
/// use hooksig::{Scheme, Signer, Verifier};
///
/// let verifier = Verifier::new(Scheme::tale(), "It's a Secret to Everybody")?;
/// let headers = Signer::new(Scheme::tale(), "It's a Secret to Everybody")?.sign(b"{\"ok\":true}")?;
/// let verified = verifier.verify(&headers, b"{\"ok\":true}")?;
/// assert_eq!(verified.key_index(), 0);
/// assert!(verifier.verify(&headers, b"{\"ok\":false}").is_err());
/// # Ok::<(), hooksig::Error>(())
/// ```
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<VerifierInner>,
}

struct VerifierInner {
    scheme: Scheme,
    /// Secrets and public keys in one sequence, in the order they were added.
    keys: Vec<VerifyKey>,
    /// Whether `keys` holds an HMAC secret (HMAC entries are read).
    has_hmac: bool,
    /// Whether `keys` holds an Ed25519 public key (Ed25519 entries are read).
    #[cfg(feature = "ed25519")]
    has_ed25519: bool,
    tolerance: Option<Tolerance>,
    max_body: usize,
}

impl Verifier {
    /// A verifier for `scheme` with a single secret, taken as the provider's dashboard
    /// shows it (see [`crate::SecretFormat`]).
    ///
    /// ```
    /// let v = hooksig::Verifier::new(hooksig::Scheme::github(), "It's a Secret to Everybody");
    /// assert!(v.is_ok());
    /// assert!(hooksig::Verifier::new(hooksig::Scheme::github(), "").is_err());
    /// ```
    pub fn new(scheme: Scheme, secret: impl AsRef<[u8]>) -> Result<Verifier, Error> {
        Verifier::builder(scheme).secret(secret).build()
    }

    /// A builder, for several secrets (rotation), labels, tolerance and body limit.
    ///
    /// ```
    /// use std::time::Duration;
    /// let verifier = hooksig::Verifier::builder(hooksig::Scheme::stripe())
    ///     .labeled_secret("2026-11", "whsec_new")
    ///     .labeled_secret("2026-05", "whsec_old")
    ///     .tolerance(Duration::from_secs(120))
    ///     .max_body(512 * 1024)
    ///     .build()?;
    /// assert_eq!(verifier.max_body(), 512 * 1024);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn builder(scheme: Scheme) -> VerifierBuilder {
        VerifierBuilder { scheme, secrets: Vec::new(), tolerance: None, max_body: None }
    }

    /// The scheme this verifier checks.
    ///
    /// ```
    /// let v = hooksig::Verifier::new(hooksig::Scheme::slack(), "s")?;
    /// assert_eq!(v.scheme().name(), "slack");
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn scheme(&self) -> &Scheme {
        &self.inner.scheme
    }

    /// The body limit in bytes.
    ///
    /// ```
    /// let v = hooksig::Verifier::new(hooksig::Scheme::tale(), "s")?;
    /// assert_eq!(v.max_body(), 2 * 1024 * 1024);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn max_body(&self) -> usize {
        self.inner.max_body
    }

    /// The tolerance in force as `(past, future)`, for schemes with a timestamp.
    ///
    /// ```
    /// let v = hooksig::Verifier::new(hooksig::Scheme::oktave(), "s")?;
    /// assert_eq!(v.tolerance().map(|(past, _)| past.as_secs()), Some(3600));
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn tolerance(&self) -> Option<(Duration, Duration)> {
        self.inner.tolerance.map(|t| (t.past, t.future))
    }

    /// How many keys the verifier tries: secrets and public keys.
    ///
    /// ```
    /// let v = hooksig::Verifier::builder(hooksig::Scheme::tale()).secret("a").secret("b").build()?;
    /// assert_eq!(v.key_count(), 2);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn key_count(&self) -> usize {
        self.inner.keys.len()
    }

    /// Verifies a delivery whose body is in memory, against the system clock.
    ///
    /// ```
    /// let verifier = hooksig::Verifier::new(hooksig::Scheme::github(), "mysecret")?;
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert(
    ///     "x-hub-signature-256",
    ///     "sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3".parse().unwrap(),
    /// );
    /// verifier.verify(&headers, br#"{"foo":"bar"}"#)?;
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn verify<H: HeaderSource + ?Sized>(&self, headers: &H, body: &[u8]) -> Result<Verified, Error> {
        self.verify_at(headers, body, SystemTime::now())
    }

    /// Verifies a delivery whose body is in memory, with `now` as the clock.
    ///
    /// Does not allocate. Every secret's MAC is computed and compared with every HMAC
    /// candidate in constant time; Ed25519 candidates are checked against the public
    /// keys (feature `ed25519`), each candidate only against keys of its own
    /// algorithm. The first key (in builder order) that matches is reported.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use hooksig::{Scheme, Signer, Verifier};
    /// let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// let headers = Signer::new(Scheme::slack(), "s")?.sign_at(b"x", None, at)?;
    /// let verifier = Verifier::new(Scheme::slack(), "s")?;
    /// assert!(verifier.verify_at(&headers, b"x", at + Duration::from_secs(60)).is_ok());
    /// assert!(verifier.verify_at(&headers, b"x", at + Duration::from_secs(3600)).is_err());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn verify_at<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified, Error> {
        let inner = &*self.inner;
        let scheme = &*inner.scheme.inner;
        if let [VerifyKey::Hmac(key)] = inner.keys.as_slice()
            && body.len() <= EARLY_MAC_MAX_BODY.min(inner.max_body)
            && !scheme.message.iter().any(|part| matches!(part, Part::Id | Part::Timestamp))
        {
            return self.verify_mac_first(key, headers, body, now);
        }
        // The candidates stay in this frame, and the timestamp and id are fed to the
        // MAC from the header values: nothing big is moved until the verdict. Where
        // they start the signed message, its first block is assembled as soon as they
        // are found, for every secret to hash last (see `FirstBlock`).
        //
        // With one secret and a body within the limit, of at most `EARLY_MAC_MAX_BODY`
        // bytes where the message covers it, the signature line (outside key=value
        // formats, whose line holds the timestamp) is left unread and read in
        // `FirstBlock::mac`'s `between`: while the inner hash's last block is hashed
        // where the block was assembled, beside the hash's chain of rounds instead of
        // before it (`Keyed::finish_blocks` says why not after the first block), else
        // after the message is fed and before its last blocks. The errors and their order stay those of reading
        // everything first: a refused timestamp or id, or one out of tolerance, gives
        // way to the error of a bad line (`line_first`). Report benchmark, ns over
        // raw HMAC at 64 B, medians of 3 alternated runs: Slack 42 → 33, Oktave 25 →
        // 21–23, Standard Webhooks 79 → 69–70 (code layout alone moves these by 5 to
        // 10 ns between builds).
        let one = matches!(inner.keys.as_slice(), [VerifyKey::Hmac(_)])
            && body.len() <= inner.max_body
            && (body.len() <= EARLY_MAC_MAX_BODY || scheme.body_index.is_none());
        let mut tags = self.tags();
        let mut first = FirstBlock::new();
        let delivery = headers::read_with(scheme, headers, &mut tags, one, |fields| {
            if inner.has_hmac {
                first.assemble(scheme, fields, body);
            }
        })?;
        let timestamp = delivery.timestamp.map(|t| t.value);
        if let Err(error) = self.check_time(timestamp, now) {
            return Err(headers::line_first(scheme, delivery.line, &mut tags, error));
        }
        self.check_len(body.len())?;
        let fields = delivery.fields();
        let mut found: Option<usize> = None;
        for (index, key) in inner.keys.iter().enumerate() {
            let matched = match key {
                VerifyKey::Hmac(key) => {
                    let mut expected = keys::Expected::new();
                    let mut read = Ok(());
                    first.mac(key, scheme, fields, body, &mut expected, || {
                        if let Some(line) = delivery.line {
                            read = headers::read_line(scheme, line, &mut tags);
                        }
                    });
                    read?;
                    bool::from(tags.candidates.matches(&expected.0))
                }
                // Public-key checks hide nothing: once a key matched, the rest are skipped.
                #[cfg(feature = "ed25519")]
                VerifyKey::Ed25519(public) => {
                    found.is_none()
                        && tags.signatures().any(|sig| {
                            public.verify(sig, |stream| keys::feed_message(stream, scheme, fields, body))
                        })
                }
            };
            if matched && found.is_none() {
                found = Some(index);
            }
        }
        let key_index = found.ok_or(Error::SignatureMismatch)?;
        self.verified(key_index, timestamp, delivery.id)
    }

    /// [`Verifier::verify_at`] with one secret, a body of at most
    /// [`EARLY_MAC_MAX_BODY`] bytes within the limit, and a signed message that no
    /// header goes into. A function of its own with the MAC inlined into it: written
    /// inside `verify_at`, the compiler kept the MAC out of line there. Report
    /// benchmark, 64-byte bodies, ns per delivery, inside `verify_at` → here: Tale
    /// 251–254 → 245–248, GitHub 269–272 → 264–269, Shopify 283–287 → 277–282.
    #[inline(never)]
    fn verify_mac_first<H: HeaderSource + ?Sized>(
        &self,
        key: &Key,
        headers: &H,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified, Error> {
        let scheme = &*self.inner.scheme.inner;
        // A message that no header goes into (the body, perhaps with literals),
        // one secret, a small body: the hash of the message's whole blocks first,
        // then the headers, then the hash's last blocks. Same checks, same errors in
        // the same order. The hash is a long chain of dependent rounds whose
        // instructions fill the CPU's scheduler: work placed after all of them waits
        // until most of the chain has run, work placed between two of its calls runs
        // beside the chain. Report benchmark (Xeon, SHA-NI), ns per delivery, headers
        // before the MAC → after the whole MAC: 64 bytes, Tale 249 → 245–248, GitHub
        // 274 → 264–269, Shopify 287 → 277–282; 1 KiB, GitHub 927 → 917–919, Shopify
        // 944–952 → 927–936. After the whole MAC → between its blocks (scratch
        // profiler, ns over raw HMAC, medians of 8 alternated runs): Tale 64 B −6.2 →
        // −20.4, 1 KiB −0.9 → −19.6.
        let mut mac = key.start();
        keys::feed_message(&mut mac, scheme, Fields::default(), body);
        let mut tags = self.tags();
        let read = headers::read(scheme, headers, &mut tags);
        let mut expected = keys::Expected::new();
        mac.finish_into(&mut expected.0);
        // `mac` is dropped (its states cleared) where it lies, at the end: `drop(mac)`
        // here moved its 144 bytes with a call to `memcpy` first, 40 instructions and
        // a few ns per delivery (Tale at 64 B: 1,048 → 1,008 instructions besides the
        // hash; interleaved runs on an AMD EPYC, paired medians 3 to 10 ns less).
        let delivery = read?;
        self.check_time(delivery.timestamp.map(|t| t.value), now)?;
        self.check_len(body.len())?;
        if !bool::from(tags.candidates.matches(&expected.0)) {
            return Err(Error::SignatureMismatch);
        }
        self.verified(0, delivery.timestamp.map(|t| t.value), delivery.id)
    }

    /// The proof [`Verifier::verify_at`] returns, with `id` (already checked by
    /// [`headers::read`]) copied in: built in the caller's result as a
    /// [`DeliveryId::Short`] when it fits (see [`DeliveryId`]). The verifier is
    /// cloned first: the clone's locked increment waits for earlier stores to
    /// drain, and the id's are then not among them (Oktave, medians of 10 alternated
    /// runs: 25.6 → 24.0 ns over raw HMAC).
    ///
    /// Both functions are kept out of line on purpose. Built inline, the compiler
    /// merged the two outcomes into one temporary and copied its 255-byte id buffer
    /// into the result with a `memcpy` call whether or not there was an id; called,
    /// they write straight into the caller's result, and a delivery without an id
    /// (Tale, Vocalis, Stripe, Slack) copies no buffer at all: 3 to 5 ns less per
    /// 64-byte Tale or Stripe delivery and 2 to 3 ns less for GitHub in a tight loop
    /// (medians of 20 interleaved runs; within the noise of the report benchmark).
    #[inline(never)]
    fn verified(
        &self,
        key_index: usize,
        timestamp: Option<u64>,
        id: Option<&[u8]>,
    ) -> Result<Verified, Error> {
        match id {
            None => self.verified_without_id(key_index, timestamp),
            Some(bytes) => {
                let verifier = self.clone();
                match DeliveryId::short(bytes) {
                    Some(id) => Ok(Verified { verifier, key_index, timestamp, id: Some(id) }),
                    None => Ok(Verified { verifier, key_index, timestamp, id: DeliveryId::long(bytes) }),
                }
            }
        }
    }

    /// See [`Verifier::verified`].
    #[inline(never)]
    fn verified_without_id(&self, key_index: usize, timestamp: Option<u64>) -> Result<Verified, Error> {
        Ok(Verified { verifier: self.clone(), key_index, timestamp, id: None })
    }

    /// Starts a streaming verification against the system clock: headers and
    /// timestamp are checked now, before any body byte is read.
    ///
    /// ```
    /// use hooksig::{Scheme, Signer, Verifier};
    /// let body = vec![b'x'; 10_000];
    /// let headers = Signer::new(Scheme::tale(), "s")?.sign(&body)?;
    /// let mut verification = Verifier::new(Scheme::tale(), "s")?.begin(&headers)?;
    /// for chunk in body.chunks(4096) {
    ///     verification.update(chunk)?;
    /// }
    /// verification.finish()?;
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn begin<H: HeaderSource + ?Sized>(&self, headers: &H) -> Result<Verification, Error> {
        self.begin_at(headers, SystemTime::now())
    }

    /// Starts a streaming verification with `now` as the clock.
    ///
    /// A `Content-Length` header above the body limit is refused here
    /// ([`Error::BodyTooLarge`]), before the signature headers are read; a malformed
    /// or repeated one is [`Error::MalformedHeader`]. With one secret this does not
    /// allocate; with several keys, or any public key, it allocates one vector of
    /// states (one per secret, one per public key and Ed25519 candidate).
    /// [`Verification::update`] never allocates.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use hooksig::{Scheme, Signer, Verifier};
    /// let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// let headers = Signer::new(Scheme::stripe(), "whsec_x")?.sign_at(b"{}", None, at)?;
    /// let verifier = Verifier::new(Scheme::stripe(), "whsec_x")?;
    /// // Too old: refused before the body is read.
    /// assert!(verifier.begin_at(&headers, at + Duration::from_secs(301)).is_err());
    /// let mut v = verifier.begin_at(&headers, at)?;
    /// v.update(b"{")?;
    /// v.update(b"}")?;
    /// assert_eq!(v.finish()?.timestamp(), Some(1_700_000_000));
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn begin_at<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        now: SystemTime,
    ) -> Result<Verification, Error> {
        let mut tags = self.tags();
        let delivery = self.begin_reading(headers, &mut tags, now)?;
        let states = self.start_states(&tags, delivery.fields());
        // Only the HMAC candidates are kept: each Ed25519 candidate already lives in
        // its own check. Leaving the Ed25519 list (264 bytes) behind keeps the state
        // at 976 bytes, under 1 KiB, where glibc's malloc serves the pipeline's box
        // from its per-thread cache. At 1,256 bytes (feature `ed25519`) the box was a
        // large-bin request, which runs `malloc_consolidate`: about 5 % of a 1 KiB
        // request through the tower layer (perf, Xeon).
        Ok(Verification {
            verifier: self.clone(),
            states,
            candidates: tags.candidates,
            timestamp: delivery.timestamp.map(|t| t.value),
            id: delivery.id.and_then(DeliveryId::new),
            received: 0,
        })
    }

    /// What [`Verifier::begin_at`] and [`Verifier::begin_boxed_at`] check before they
    /// build the state: `Content-Length` against the limit, then the headers, read in
    /// place (the candidates into `tags`), then the timestamp's tolerance.
    #[inline]
    fn begin_reading<'h, H: HeaderSource + ?Sized>(
        &'h self,
        headers: &'h H,
        tags: &mut Tags,
        now: SystemTime,
    ) -> Result<Delivery<'h>, Error> {
        if let Some(declared) = headers::content_length(headers)? {
            self.check_len(declared)?;
        }
        let delivery = headers::read(&self.inner.scheme.inner, headers, tags)?;
        self.check_time(delivery.timestamp.map(|t| t.value), now)?;
        Ok(delivery)
    }

    /// [`Verifier::begin_at`] for the receive pipeline, which keeps the state in a box:
    /// the state is built once, into its box, where boxing what `begin_at` returns
    /// built it on the stack and copied it in.
    pub(crate) fn begin_boxed_at<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        now: SystemTime,
    ) -> Result<Box<Verification>, Error> {
        let mut tags = self.tags();
        let delivery = self.begin_reading(headers, &mut tags, now)?;
        // The box is allocated first and the state built into it: a struct literal
        // inside `Box::new` is built on the stack, then copied into the box whole
        // (976 bytes).
        let mut verification = Box::write(
            Box::new_uninit(),
            Verification {
                verifier: self.clone(),
                states: self.start_states(&tags, delivery.fields()),
                candidates: tags.candidates,
                timestamp: delivery.timestamp.map(|t| t.value),
                id: None,
                received: 0,
            },
        );
        // Set only when there is one: an `Option<DeliveryId>` is 257 bytes, copied
        // whole even when it is `None`.
        if let Some(id) = delivery.id {
            verification.id = DeliveryId::new(id);
        }
        Ok(verification)
    }

    /// The MAC states of a streaming verification, fed the message's prefix: one per
    /// secret, one per public key and Ed25519 candidate in `tags`.
    #[inline]
    fn start_states(
        &self,
        #[cfg_attr(not(feature = "ed25519"), expect(unused_variables, reason = "only Ed25519 reads them"))]
        tags: &Tags,
        fields: Fields<'_>,
    ) -> States {
        let scheme = &self.inner.scheme.inner;
        let start = |key: &Key| {
            let mut mac = key.start();
            keys::feed(&mut mac, scheme.prefix(), fields);
            mac
        };
        match self.inner.keys.as_slice() {
            [VerifyKey::Hmac(only)] => States::One(start(only)),
            many => {
                let mut states = Vec::with_capacity(many.len());
                for (index, key) in many.iter().enumerate() {
                    match key {
                        VerifyKey::Hmac(key) => states.push((index, Check::Hmac(start(key)))),
                        #[cfg(feature = "ed25519")]
                        VerifyKey::Ed25519(public) => {
                            for sig in tags.signatures() {
                                if let Some(mut stream) = public.start(sig) {
                                    keys::feed(&mut stream, scheme.prefix(), fields);
                                    states.push((index, Check::Ed25519(Box::new(stream))));
                                }
                            }
                        }
                    }
                }
                States::Many(states)
            }
        }
    }

    /// Empty candidate lists for the algorithms this verifier has keys for.
    #[inline]
    fn tags(&self) -> Tags {
        Tags::new(
            self.inner.has_hmac,
            #[cfg(feature = "ed25519")]
            self.inner.has_ed25519,
        )
    }

    #[inline]
    fn check_time(&self, timestamp: Option<u64>, now: SystemTime) -> Result<(), Error> {
        if let (Some(ts), Some(tolerance)) = (timestamp, self.inner.tolerance) {
            headers::check_tolerance(ts, now, tolerance)?;
        }
        Ok(())
    }

    fn check_len(&self, len: usize) -> Result<(), Error> {
        if len > self.inner.max_body {
            return Err(Error::BodyTooLarge { limit: self.inner.max_body });
        }
        Ok(())
    }

    fn conclude(
        &self,
        timestamp: Option<u64>,
        id: Option<DeliveryId>,
        found: Option<usize>,
    ) -> Result<Verified, Error> {
        let key_index = found.ok_or(Error::SignatureMismatch)?;
        Ok(Verified { verifier: self.clone(), key_index, timestamp, id })
    }

    /// Whether `self` and `other` are the same verifier (clones of one another), not
    /// merely alike: the identity an extractor checks before it trusts a proof that
    /// a layer left in the request.
    ///
    /// ```
    /// use hooksig::{Scheme, Verifier};
    /// let a = Verifier::new(Scheme::tale(), "s")?;
    /// assert!(a.same_as(&a.clone()));
    /// assert!(!a.same_as(&Verifier::new(Scheme::tale(), "s")?));
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn same_as(&self, other: &Verifier) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

/// The fields of the signed message, the timestamp formatted into `ts_text`.
fn message_fields<'a>(
    timestamp: Option<u64>,
    id: Option<&'a DeliveryId>,
    ts_text: &'a mut [u8; 20],
) -> Fields<'a> {
    Fields {
        timestamp: timestamp.map(|ts| headers::format_decimal(ts, ts_text)),
        id: id.map(DeliveryId::as_bytes),
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let labels: Vec<Option<&str>> = self.inner.keys.iter().map(VerifyKey::label).collect();
        f.debug_struct("Verifier")
            .field("scheme", &self.inner.scheme.name())
            .field("keys", &labels)
            .field("tolerance", &self.inner.tolerance)
            .field("max_body", &self.inner.max_body)
            .finish()
    }
}

/// Builds a [`Verifier`]; every setter takes the builder by value.
///
/// ```
/// use std::time::Duration;
/// let verifier = hooksig::Verifier::builder(hooksig::Scheme::standard_webhooks())
///     .secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
///     .tolerance_past(Duration::from_secs(600))
///     .tolerance_future(Duration::from_secs(30))
///     .build()?;
/// assert_eq!(verifier.tolerance(), Some((Duration::from_secs(600), Duration::from_secs(30))));
/// # Ok::<(), hooksig::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct VerifierBuilder {
    scheme: Scheme,
    secrets: Vec<PendingSecret>,
    tolerance: Option<Tolerance>,
    max_body: Option<usize>,
}

impl VerifierBuilder {
    /// Adds a secret. Repeat for key rotation: secrets are tried in the order added
    /// and [`Verified::key_index`] says which one matched.
    ///
    /// ```
    /// let v = hooksig::Verifier::builder(hooksig::Scheme::tale()).secret("new").secret("old").build()?;
    /// let headers = hooksig::Signer::new(hooksig::Scheme::tale(), "old")?.sign(b"{}")?;
    /// assert_eq!(v.verify(&headers, b"{}")?.key_index(), 1);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.secrets.push(PendingSecret::new(None, secret.as_ref()));
        self
    }

    /// Adds a secret with a label that [`Verified::label`] reports when it matches.
    ///
    /// ```
    /// let v = hooksig::Verifier::builder(hooksig::Scheme::tale()).labeled_secret("2026-q4", "k").build()?;
    /// let headers = hooksig::Signer::new(hooksig::Scheme::tale(), "k")?.sign(b"{}")?;
    /// assert_eq!(v.verify(&headers, b"{}")?.label(), Some("2026-q4"));
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn labeled_secret(mut self, label: impl Into<Arc<str>>, secret: impl AsRef<[u8]>) -> Self {
        self.secrets.push(PendingSecret::new(Some(label.into()), secret.as_ref()));
        self
    }

    /// Adds an Ed25519 public key, written in the scheme's public-key format
    /// ([`Scheme::public_key_format`]: `whpk_` + base64 for Standard Webhooks, 64 hex
    /// digits for Discord). It checks the scheme's Ed25519 entries (`v1a`); secrets
    /// check the HMAC ones (`v1`), so both can be combined. Keys, secrets and public
    /// keys alike, are tried in the order added, and [`Verified::key_index`] is the
    /// position in that one sequence.
    ///
    /// [`VerifierBuilder::build`] refuses a key that is not 32 bytes, does not decode,
    /// is not a point of the curve or is of small order, a signing key given by
    /// mistake (`whsk_`), and public keys for a scheme without an Ed25519 version
    /// ([`Error::InvalidKey`], with the reason).
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use hooksig::{Algorithm, Scheme, Signer, Verifier};
    /// // RFC 8032, section 7.1, test 1: the seed and its public key, as `whsk_`/`whpk_`.
    /// let signing_key = "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
    /// let public_key = "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    /// let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// let signer = Signer::builder(Scheme::standard_webhooks())
    ///     .secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    ///     .signing_key(signing_key)
    ///     .build()?;
    /// let headers = signer.sign_at(b"{}", Some("msg_1"), at)?;
    /// assert!(headers["webhook-signature"].to_str().unwrap().contains(" v1a,"));
    ///
    /// let verifier = Verifier::builder(Scheme::standard_webhooks()).public_key(public_key).build()?;
    /// let verified = verifier.verify_at(&headers, b"{}", at)?;
    /// assert_eq!((verified.key_index(), verified.algorithm()), (0, Algorithm::Ed25519));
    /// assert!(verifier.verify_at(&headers, b"{ }", at).is_err());
    ///
    /// assert!(Verifier::builder(Scheme::standard_webhooks()).public_key("whpk_AAAA").build().is_err());
    /// assert!(Verifier::builder(Scheme::standard_webhooks()).public_key(signing_key).build().is_err());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    #[cfg(feature = "ed25519")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ed25519")))]
    pub fn public_key(mut self, key: impl AsRef<[u8]>) -> Self {
        self.secrets.push(PendingSecret::of_kind(KeyKind::Public, None, key.as_ref()));
        self
    }

    /// Adds an Ed25519 public key with a label that [`Verified::label`] reports when
    /// it matches (see [`VerifierBuilder::public_key`]).
    ///
    /// ```
    /// use hooksig::{Scheme, Signer, Verifier};
    /// let old = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"; // RFC 8032, test 1
    /// let headers = Signer::builder(Scheme::discord()).signing_key(old).build()?.sign(b"{}")?;
    /// let verifier = Verifier::builder(Scheme::discord())
    ///     .labeled_public_key("2026-11", "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
    ///     .labeled_public_key("2026-05", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    ///     .build()?;
    /// let verified = verifier.verify(&headers, b"{}")?;
    /// assert_eq!((verified.key_index(), verified.label()), (1, Some("2026-05")));
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    #[cfg(feature = "ed25519")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ed25519")))]
    pub fn labeled_public_key(mut self, label: impl Into<Arc<str>>, key: impl AsRef<[u8]>) -> Self {
        self.secrets.push(PendingSecret::of_kind(KeyKind::Public, Some(label.into()), key.as_ref()));
        self
    }

    /// The tolerance into the past and into the future (replaces the scheme's
    /// default). Ignored by schemes without a timestamp.
    ///
    /// ```
    /// use std::time::Duration;
    /// let v = hooksig::Verifier::builder(hooksig::Scheme::slack()).secret("s").tolerance(Duration::from_secs(60)).build()?;
    /// assert_eq!(v.tolerance(), Some((Duration::from_secs(60), Duration::from_secs(60))));
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn tolerance(self, tolerance: Duration) -> Self {
        self.tolerance_past(tolerance).tolerance_future(tolerance)
    }

    /// How old a delivery may be.
    ///
    /// ```
    /// use std::time::Duration;
    /// let v = hooksig::Verifier::builder(hooksig::Scheme::stripe()).secret("s").tolerance_past(Duration::from_secs(900)).build()?;
    /// assert_eq!(v.tolerance(), Some((Duration::from_secs(900), Duration::from_secs(300))));
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn tolerance_past(mut self, past: Duration) -> Self {
        self.tolerance = Some(Tolerance { past, ..self.current_tolerance() });
        self
    }

    /// How far ahead of our clock a delivery's timestamp may be.
    ///
    /// ```
    /// use std::time::Duration;
    /// let v = hooksig::Verifier::builder(hooksig::Scheme::stripe()).secret("s").tolerance_future(Duration::ZERO).build()?;
    /// assert_eq!(v.tolerance().map(|(_, future)| future), Some(Duration::ZERO));
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn tolerance_future(mut self, future: Duration) -> Self {
        self.tolerance = Some(Tolerance { future, ..self.current_tolerance() });
        self
    }

    fn current_tolerance(&self) -> Tolerance {
        self.tolerance
            .or(self.scheme.inner.tolerance)
            .unwrap_or(Tolerance { past: Duration::from_secs(300), future: Duration::from_secs(300) })
    }

    /// The body limit in bytes (replaces the scheme's default).
    ///
    /// ```
    /// let v = hooksig::Verifier::builder(hooksig::Scheme::github()).secret("s").max_body(1024).build()?;
    /// let headers = hooksig::Signer::new(hooksig::Scheme::github(), "s")?.sign(&[0; 1025])?;
    /// assert_eq!(v.verify(&headers, &[0; 1025]).unwrap_err(), hooksig::Error::BodyTooLarge { limit: 1024 });
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn max_body(mut self, limit: usize) -> Self {
        self.max_body = Some(limit);
        self
    }

    /// Decodes and keys every secret. Fails with [`Error::InvalidSecret`] when no
    /// secret was given, one is empty, or one does not decode for the scheme.
    ///
    /// ```
    /// assert!(hooksig::Verifier::builder(hooksig::Scheme::tale()).build().is_err()); // no secret
    /// assert!(hooksig::Verifier::builder(hooksig::Scheme::svix()).secret("whsec_%%").build().is_err());
    /// assert!(hooksig::Verifier::builder(hooksig::Scheme::svix()).secret("whsec_c2VjcmV0").build().is_ok());
    /// ```
    pub fn build(self) -> Result<Verifier, Error> {
        let keys = keys::verify_keys(&self.scheme.inner, &self.secrets)?;
        let tolerance = if self.scheme.has_timestamp() { Some(self.current_tolerance()) } else { None };
        let max_body = self.max_body.unwrap_or(self.scheme.max_body());
        let has = |algorithm| keys.iter().any(|k| k.algorithm() == algorithm);
        Ok(Verifier {
            inner: Arc::new(VerifierInner {
                has_hmac: has(Algorithm::HmacSha256),
                #[cfg(feature = "ed25519")]
                has_ed25519: has(Algorithm::Ed25519),
                scheme: self.scheme,
                keys,
                tolerance,
                max_body,
            }),
        })
    }
}

/// A streaming verification: headers already checked, body fed chunk by chunk.
///
/// Owns its state (`Send + 'static`), so a body wrapper or a future can hold it.
/// Any chunking gives the same answer as [`Verifier::verify_at`].
///
/// ```
/// use hooksig::{Scheme, Signer, Verifier};
/// let headers = Signer::new(Scheme::svix(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?.sign(b"hello")?;
/// let verifier = Verifier::new(Scheme::svix(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
/// let mut v = verifier.begin(&headers)?;
/// v.update(b"hel")?;
/// v.update(b"lo")?;
/// assert_eq!(v.received(), 5);
/// assert!(v.finish()?.id().unwrap().starts_with("msg_"));
/// # Ok::<(), hooksig::Error>(())
/// ```
pub struct Verification {
    verifier: Verifier,
    states: States,
    /// The HMAC candidates, compared at [`Verification::finish`].
    candidates: Candidates,
    timestamp: Option<u64>,
    id: Option<DeliveryId>,
    received: usize,
}

enum States {
    One(Mac),
    /// `(key index, check)` in key order: one check per secret, one per public key
    /// and Ed25519 candidate that can be valid at all.
    Many(Vec<(usize, Check)>),
}

enum Check {
    Hmac(Mac),
    /// Boxed: a SHA-512 state and the key and signature, three times an HMAC state.
    #[cfg(feature = "ed25519")]
    Ed25519(Box<Stream>),
}

impl Check {
    fn update(&mut self, chunk: &[u8]) {
        match self {
            Check::Hmac(mac) => mac.update(chunk),
            #[cfg(feature = "ed25519")]
            Check::Ed25519(stream) => sha2::digest::Update::update(&mut **stream, chunk),
        }
    }
}

impl States {
    fn update(&mut self, chunk: &[u8]) {
        match self {
            States::One(one) => one.update(chunk),
            States::Many(many) => many.iter_mut().for_each(|(_, check)| check.update(chunk)),
        }
    }
}

impl Verification {
    /// Feeds the next body chunk. Fails with [`Error::BodyTooLarge`] once the total
    /// exceeds the verifier's limit (the chunk is then not hashed).
    ///
    /// ```
    /// let v = hooksig::Verifier::builder(hooksig::Scheme::tale()).secret("s").max_body(4).build()?;
    /// let headers = hooksig::Signer::new(hooksig::Scheme::tale(), "s")?.sign(b"12345")?;
    /// let mut verification = v.begin(&headers)?;
    /// verification.update(b"1234")?;
    /// assert!(verification.update(b"5").is_err());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn update(&mut self, chunk: &[u8]) -> Result<(), Error> {
        let total = self.received.saturating_add(chunk.len());
        self.verifier.check_len(total)?;
        self.received = total;
        if self.verifier.inner.scheme.covers_body() {
            self.states.update(chunk);
        }
        Ok(())
    }

    /// How many body bytes have been fed so far.
    ///
    /// ```
    /// let headers = hooksig::Signer::new(hooksig::Scheme::tale(), "s")?.sign(b"abc")?;
    /// let mut v = hooksig::Verifier::new(hooksig::Scheme::tale(), "s")?.begin(&headers)?;
    /// v.update(b"ab")?;
    /// assert_eq!(v.received(), 2);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn received(&self) -> usize {
        self.received
    }

    /// The verifier this verification belongs to.
    ///
    /// ```
    /// let headers = hooksig::Signer::new(hooksig::Scheme::tale(), "s")?.sign(b"")?;
    /// let v = hooksig::Verifier::new(hooksig::Scheme::tale(), "s")?.begin(&headers)?;
    /// assert_eq!(v.verifier().scheme().name(), "tale");
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Completes the MACs and compares them with the candidates in constant time.
    ///
    /// ```
    /// let headers = hooksig::Signer::new(hooksig::Scheme::tale(), "s")?.sign(b"abc")?;
    /// let mut v = hooksig::Verifier::new(hooksig::Scheme::tale(), "s")?.begin(&headers)?;
    /// v.update(b"abd")?;
    /// assert_eq!(v.finish().unwrap_err(), hooksig::Error::SignatureMismatch);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn finish(self) -> Result<Verified, Error> {
        let found = check(&self.verifier, self.states, &self.candidates, self.timestamp, self.id.as_ref());
        self.verifier.conclude(self.timestamp, self.id, found)
    }

    /// [`Verification::finish`] for the pipeline's boxed state:
    /// [`Verification::check_boxed`], then the proof.
    pub(crate) fn finish_boxed(self: Box<Self>) -> Result<Verified, Error> {
        self.check_boxed().map(Matched::into_verified)
    }

    /// [`Verification::finish`] in two steps, for the pipeline's boxed state: checks
    /// the MACs now, reading the candidates where they are, and the [`Matched`] builds
    /// the proof where it is called, so that a store which builds its value in place
    /// (actix-web's `Extensions::get_or_insert_with`) gets it without a copy. The
    /// verifier's `Arc` goes on into the proof instead of being cloned. Moving the
    /// whole state out of its box to finish it by value copied about 1 KiB per request;
    /// a 296-byte proof returned by value was copied three times on its way into a box.
    pub(crate) fn check_boxed(mut self: Box<Self>) -> Result<Matched, Error> {
        // The states are consumed; an empty list (no allocation) takes their place so
        // that the box stays whole.
        let states = std::mem::replace(&mut self.states, States::Many(Vec::new()));
        let found = check(&self.verifier, states, &self.candidates, self.timestamp, self.id.as_ref());
        let key_index = found.ok_or(Error::SignatureMismatch)?;
        Ok(Matched { verification: self, key_index })
    }
}

/// A streaming verification whose signature matched: [`Matched::into_verified`]
/// builds the proof.
pub(crate) struct Matched {
    verification: Box<Verification>,
    key_index: usize,
}

impl Matched {
    /// The proof, built where this is called (inlined into the store's closure).
    #[inline(always)]
    pub(crate) fn into_verified(self) -> Verified {
        let Matched { verification, key_index } = self;
        let Verification { verifier, timestamp, id, .. } = *verification;
        let mut verified = Verified { verifier, key_index, timestamp, id: None };
        // Copied only when there is one: an `Option<DeliveryId>` is 257 bytes.
        if id.is_some() {
            verified.id = id;
        }
        verified
    }
}

/// Completes the MACs and compares them with the candidates in constant time: the
/// index of the first key that matched.
fn check(
    verifier: &Verifier,
    states: States,
    candidates: &Candidates,
    timestamp: Option<u64>,
    id: Option<&DeliveryId>,
) -> Option<usize> {
    let suffix = verifier.inner.scheme.inner.suffix();
    let mut ts_text = [0u8; 20];
    // Most schemes sign nothing after the body: no timestamp to format then.
    let fields =
        if suffix.is_empty() { Fields::default() } else { message_fields(timestamp, id, &mut ts_text) };
    let hmac = |mut mac: Mac| {
        keys::feed(&mut mac, suffix, fields);
        let mut expected = keys::Expected::new();
        mac.finish_into(&mut expected.0);
        bool::from(candidates.matches(&expected.0))
    };
    let mut found: Option<usize> = None;
    match states {
        States::One(mac) => {
            if hmac(mac) {
                found = Some(0);
            }
        }
        States::Many(checks) => {
            for (index, check) in checks {
                let matched = match check {
                    Check::Hmac(mac) => hmac(mac),
                    #[cfg(feature = "ed25519")]
                    Check::Ed25519(mut stream) => {
                        found.is_none() && {
                            keys::feed(&mut *stream, suffix, fields);
                            stream.finish()
                        }
                    }
                };
                if matched && found.is_none() {
                    found = Some(index);
                }
            }
        }
    }
    found
}

impl fmt::Debug for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verification")
            .field("scheme", &self.verifier.scheme().name())
            .field("received", &self.received)
            .field("timestamp", &self.timestamp)
            .field("id", &self.id.as_ref().map(DeliveryId::as_str))
            .finish_non_exhaustive()
    }
}

/// Proof that a delivery was signed by the holder of a configured secret.
///
/// Integrations put it in the request extensions. Owned, `Clone`, `'static`. Its
/// `Debug` output shows no secret and no tag.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use hooksig::{Scheme, Signer, Verifier};
/// let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let signer = Signer::new(Scheme::standard_webhooks(), "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")?;
/// let headers = signer.sign_at(b"{}", Some("msg_1"), at)?;
/// let verifier = Verifier::builder(Scheme::standard_webhooks())
///     .labeled_secret("current", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
///     .build()?;
/// let verified = verifier.verify_at(&headers, b"{}", at)?;
/// assert_eq!(verified.key_index(), 0);
/// assert_eq!(verified.label(), Some("current"));
/// assert_eq!(verified.timestamp(), Some(1_700_000_000));
/// assert_eq!(verified.id(), Some("msg_1"));
/// assert!(verified.covers_body());
/// # Ok::<(), hooksig::Error>(())
/// ```
#[derive(Clone)]
pub struct Verified {
    /// The verifier that accepted the delivery: its scheme, keys' labels, tolerance,
    /// and its identity ([`Verified::is_from`]).
    verifier: Verifier,
    key_index: usize,
    timestamp: Option<u64>,
    id: Option<DeliveryId>,
}

impl Verified {
    /// Which key matched: its index in builder order, secrets and public keys in one
    /// sequence (the order `secret`, `labeled_secret`, `public_key` and
    /// `labeled_public_key` were called).
    ///
    /// ```
    /// let headers = hooksig::Signer::new(hooksig::Scheme::tale(), "b")?.sign(b"{}")?;
    /// let v = hooksig::Verifier::builder(hooksig::Scheme::tale()).secret("a").secret("b").build()?;
    /// assert_eq!(v.verify(&headers, b"{}")?.key_index(), 1);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn key_index(&self) -> usize {
        self.key_index
    }

    /// The matched secret's label, if it was added with one.
    ///
    /// ```
    /// let headers = hooksig::Signer::new(hooksig::Scheme::tale(), "a")?.sign(b"{}")?;
    /// let v = hooksig::Verifier::builder(hooksig::Scheme::tale()).secret("a").build()?;
    /// assert_eq!(v.verify(&headers, b"{}")?.label(), None);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn label(&self) -> Option<&str> {
        self.verifier.inner.keys.get(self.key_index).and_then(VerifyKey::label)
    }

    /// The algorithm of the key that matched: [`Algorithm::HmacSha256`] for a secret,
    /// [`Algorithm::Ed25519`] for a public key.
    ///
    /// ```
    /// let headers = hooksig::Signer::new(hooksig::Scheme::tale(), "a")?.sign(b"{}")?;
    /// let v = hooksig::Verifier::new(hooksig::Scheme::tale(), "a")?;
    /// assert_eq!(v.verify(&headers, b"{}")?.algorithm(), hooksig::Algorithm::HmacSha256);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn algorithm(&self) -> Algorithm {
        self.verifier.inner.keys.get(self.key_index).map_or(Algorithm::HmacSha256, VerifyKey::algorithm)
    }

    /// The signed timestamp in unix seconds, for schemes that have one.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use hooksig::{Scheme, Signer, Verifier};
    /// let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// let headers = Signer::new(Scheme::slack(), "s")?.sign_at(b"{}", None, at)?;
    /// assert_eq!(Verifier::new(Scheme::slack(), "s")?.verify_at(&headers, b"{}", at)?.timestamp(), Some(1_700_000_000));
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn timestamp(&self) -> Option<u64> {
        self.timestamp
    }

    /// The delivery id, where the scheme has one and it was present. Check
    /// [`Verified::id_covered`] before trusting it: GitHub's and Shopify's ids are not
    /// signed.
    ///
    /// ```
    /// let headers = hooksig::Signer::new(hooksig::Scheme::github(), "s")?.sign_at(b"{}", Some("d-1"), std::time::SystemTime::now())?;
    /// let verified = hooksig::Verifier::new(hooksig::Scheme::github(), "s")?.verify(&headers, b"{}")?;
    /// assert_eq!(verified.id(), Some("d-1"));
    /// assert!(!verified.id_covered()); // anyone could have changed it
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn id(&self) -> Option<&str> {
        self.id.as_ref().map(DeliveryId::as_str)
    }

    /// Whether the MAC covers the delivery id.
    ///
    /// ```
    /// let headers = hooksig::Signer::new(hooksig::Scheme::oktave(), "s")?.sign(b"")?;
    /// assert!(hooksig::Verifier::new(hooksig::Scheme::oktave(), "s")?.verify(&headers, b"")?.id_covered());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn id_covered(&self) -> bool {
        self.scheme().id_covered()
    }

    /// Whether the MAC covers the body (false for Oktave: treat its body as
    /// untrusted and deduplicate on the event id).
    ///
    /// ```
    /// let headers = hooksig::Signer::new(hooksig::Scheme::oktave(), "s")?.sign(b"")?;
    /// assert!(!hooksig::Verifier::new(hooksig::Scheme::oktave(), "s")?.verify(&headers, b"anything")?.covers_body());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn covers_body(&self) -> bool {
        self.scheme().covers_body()
    }

    /// The scheme that verified the delivery.
    ///
    /// ```
    /// let headers = hooksig::Signer::new(hooksig::Scheme::shopify(), "s")?.sign(b"{}")?;
    /// let verified = hooksig::Verifier::new(hooksig::Scheme::shopify(), "s")?.verify(&headers, b"{}")?;
    /// assert_eq!(verified.scheme().name(), "shopify");
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn scheme(&self) -> &Scheme {
        self.verifier.scheme()
    }

    /// Whether this proof was produced by `verifier` (or a clone of it): an identity
    /// check, not a comparison of configurations. Extractors use it so that a proof
    /// left in the request by a layer holding other secrets is not taken for theirs.
    ///
    /// ```
    /// use hooksig::{Scheme, Signer, Verifier};
    /// let tenant_a = Verifier::new(Scheme::tale(), "a")?;
    /// let tenant_b = Verifier::new(Scheme::tale(), "b")?;
    /// let headers = Signer::new(Scheme::tale(), "a")?.sign(b"{}")?;
    /// let proof = tenant_a.verify(&headers, b"{}")?;
    /// assert!(proof.is_from(&tenant_a.clone()));
    /// assert!(!proof.is_from(&tenant_b));
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn is_from(&self, verifier: &Verifier) -> bool {
        self.verifier.same_as(verifier)
    }

    /// The tolerance of the verifier that accepted the delivery, as `(past, future)`:
    /// how far its signed timestamp was allowed to lie from the clock. `None` for
    /// schemes without a timestamp. Replay protection keeps a timestamped signature
    /// for this window (see [`crate::replay::ReplayPolicy::key`]).
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use hooksig::{Scheme, Signer, Verifier};
    /// let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// let headers = Signer::new(Scheme::stripe(), "whsec_x")?.sign_at(b"{}", None, at)?;
    /// let verifier = Verifier::builder(Scheme::stripe()).secret("whsec_x").tolerance_past(Duration::from_secs(900)).build()?;
    /// let verified = verifier.verify_at(&headers, b"{}", at)?;
    /// assert_eq!(verified.tolerance(), Some((Duration::from_secs(900), Duration::from_secs(300))));
    ///
    /// let headers = Signer::new(Scheme::tale(), "s")?.sign(b"{}")?;
    /// assert_eq!(Verifier::new(Scheme::tale(), "s")?.verify(&headers, b"{}")?.tolerance(), None);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn tolerance(&self) -> Option<(Duration, Duration)> {
        self.verifier.tolerance()
    }

    /// The SHA-256 of what was signed: the scheme's name, then the signed message
    /// (covered timestamp, covered id, literal separators and, where covered, the
    /// body, in the scheme's order), the body given as `body` in any chunking.
    ///
    /// It depends on the signed bytes only: not on which candidate matched, which
    /// secret matched or in which order the secrets are configured. Replay keys are
    /// derived from it (see [`crate::replay::ReplayPolicy::key`]).
    pub(crate) fn message_digest<'a>(&self, body: impl IntoIterator<Item = &'a [u8]>) -> [u8; 32] {
        use sha2::Digest as _;
        let scheme = &self.scheme().inner;
        let mut ts_text = [0u8; 20];
        let fields = Fields {
            timestamp: self.timestamp.map(|ts| headers::format_decimal(ts, &mut ts_text)),
            id: self.id.as_ref().map(DeliveryId::as_bytes),
        };
        let mut hash = sha2::Sha256::new();
        // The name is length-prefixed so that no name is a prefix of another's message.
        let name = scheme.name.as_bytes();
        hash.update(u64::try_from(name.len()).unwrap_or(u64::MAX).to_be_bytes());
        hash.update(name);
        keys::feed(&mut hash, scheme.prefix(), fields);
        if scheme.body_index.is_some() {
            for chunk in body {
                hash.update(chunk);
            }
        }
        keys::feed(&mut hash, scheme.suffix(), fields);
        hash.finalize().into()
    }
}

impl fmt::Debug for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("scheme", &self.scheme().name())
            .field("key_index", &self.key_index)
            .field("label", &self.label())
            .field("algorithm", &self.algorithm())
            .field("timestamp", &self.timestamp)
            .field("id", &self.id())
            .field("covers_body", &self.covers_body())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Part, Signer, generate_secret};
    use http::{HeaderMap, HeaderName, HeaderValue};
    use std::time::UNIX_EPOCH;

    /// What a verification says, comparable across verifiers.
    fn outcome(result: Result<Verified, Error>) -> Result<(usize, Option<u64>, Option<String>), Error> {
        result.map(|v| (v.key_index(), v.timestamp(), v.id().map(str::to_owned)))
    }

    /// What a streaming verification of the same delivery says: it hashes the message
    /// part by part as it comes, with neither the early MAC nor the first block.
    fn streamed(
        verifier: &Verifier,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified, Error> {
        let mut verification = verifier.begin_at(headers, now)?;
        verification.update(body)?;
        verification.finish()
    }

    /// With one secret, a small body and a message no header goes into, `verify_at`
    /// hashes the message's whole blocks before reading the headers; with a second
    /// secret it takes the general path. Where the message starts with a header's
    /// text, the general path hashes a first block assembled ahead (`FirstBlock`) and,
    /// with one secret, reads the signature line after it. All must reach the verdict
    /// of a streaming verification, with the same error, on valid deliveries and on
    /// every kind of broken one, on both sides of the size limit.
    #[test]
    fn the_mac_before_the_headers_agrees_with_the_general_path() {
        let literal = Scheme::builder("literal")
            .signature_header(HeaderName::from_static("x-sig"))
            .message([Part::literal("v0:"), Part::Body, Part::literal(":end")])
            .build()
            .unwrap();
        // Fields before and after the body; with a long id the text before the body
        // fills the first block by itself.
        let with_fields = |name: &'static str, message: [Part; 5]| {
            Scheme::builder(name)
                .signature_header(HeaderName::from_static("x-sig"))
                .timestamp_header(HeaderName::from_static("x-ts"))
                .id_header(HeaderName::from_static("x-id"))
                .message(message)
                .build()
                .unwrap()
        };
        let around = with_fields(
            "around",
            [Part::Timestamp, Part::literal(":"), Part::Body, Part::literal(":"), Part::Id],
        );
        let long_prefix = with_fields(
            "long_prefix",
            [Part::Id, Part::literal("."), Part::Timestamp, Part::literal("."), Part::Body],
        );
        let mut schemes = Scheme::presets();
        schemes.extend([literal, around, long_prefix]);
        let at = UNIX_EPOCH + Duration::from_secs(1_763_900_000);
        let mut early = 0usize;
        for scheme in schemes {
            let secret = generate_secret(&scheme).unwrap();
            let other = generate_secret(&scheme).unwrap();
            let signer = Signer::new(scheme.clone(), secret.as_str()).unwrap();
            let no_header_field = !scheme.message().iter().any(|p| matches!(p, Part::Id | Part::Timestamp));
            let id = if scheme.name() == "long_prefix" { "m".repeat(60) } else { "msg_1".to_owned() };
            for len in
                [0usize, 1, 40, 52, 53, 54, 63, 64, 65, 1000, EARLY_MAC_MAX_BODY, EARLY_MAC_MAX_BODY + 1]
            {
                let body: Vec<u8> = (0..len).map(|i| b"{\"a\":1}"[i % 7]).collect();
                let signed = signer.sign_at(&body, Some(&id), at).unwrap();
                for max_body in [usize::MAX, len.saturating_sub(1)] {
                    let one =
                        Verifier::builder(scheme.clone()).secret(secret.as_str()).max_body(max_body).build();
                    let two = Verifier::builder(scheme.clone())
                        .secret(secret.as_str())
                        .secret(other.as_str())
                        .max_body(max_body)
                        .build();
                    let (Ok(one), Ok(two)) = (one, two) else { continue };
                    for case in 0..9 {
                        let mut headers = signed.clone();
                        let mut body = body.clone();
                        let mut now = at;
                        match case {
                            0 => {}
                            1 => body.push(b'x'),
                            2 => now = at + Duration::from_secs(100_000),
                            3 => headers = HeaderMap::new(),
                            4..=6 => {
                                let name = scheme.signature_header().clone();
                                let value = signed.get(&name).unwrap().as_bytes().to_vec();
                                let value = match case {
                                    // A wrong last digit: well formed, a mismatch.
                                    4 => {
                                        let mut v = value;
                                        let last = v.len() - 2;
                                        v[last] = if v[last] == b'A' { b'B' } else { b'A' };
                                        v
                                    }
                                    5 => b"sha256=zz".to_vec(),
                                    _ => value,
                                };
                                headers.remove(&name);
                                headers.append(name.clone(), HeaderValue::from_bytes(&value).unwrap());
                                if case == 6 {
                                    headers.append(name, HeaderValue::from_static("v1,AAAA sha256=00"));
                                }
                            }
                            7 => {
                                for name in signed.keys().filter(|n| *n != scheme.signature_header()) {
                                    headers.append(name.clone(), HeaderValue::from_static("1"));
                                }
                            }
                            _ => {
                                let name = HeaderName::from_static("x-other");
                                headers.append(name, HeaderValue::from_static("y"));
                            }
                        }
                        let got = outcome(one.verify_at(&headers, &body, now));
                        let general = outcome(two.verify_at(&headers, &body, now));
                        let want = outcome(streamed(&one, &headers, &body, now));
                        assert_eq!(got, want, "{} len {len} max {max_body} case {case}", scheme.name());
                        assert_eq!(general, want, "{} len {len} max {max_body} case {case}", scheme.name());
                        early += usize::from(no_header_field && body.len() <= EARLY_MAC_MAX_BODY);
                    }
                }
            }
        }
        // Tale, Vocalis, GitHub, Shopify and the literal scheme went the early way.
        assert!(early > 200, "{early}");
    }

    /// The receive pipeline boxes one `Verification` per request. glibc's malloc serves
    /// blocks of up to 1,032 bytes from a per-thread cache; a larger box (1,256 bytes
    /// when the Ed25519 candidates were kept) went through `malloc_consolidate` on
    /// every request: about 5 % of a 1 KiB request through the tower layer.
    #[test]
    fn the_streaming_state_fits_the_allocators_thread_cache() {
        assert!(std::mem::size_of::<Verification>() <= 1024);
    }
}
