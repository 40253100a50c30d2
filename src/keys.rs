//! Secrets and the pre-keyed HMAC states built from them.

use std::fmt;
use std::sync::Arc;

use base64ct::{Base64, Base64Unpadded, Encoding as _};
use zeroize::Zeroizing;

#[cfg(feature = "ed25519")]
use crate::ed25519::{PublicKey, SigningKey};
use crate::error::Error;
use crate::mac::{self, BLOCK_LEN, Keyed, LEN_AT, Mac, put};
use crate::scheme::{Algorithm, SchemeInner, SecretFormat};
use crate::tag::Tag;

/// What kind of key a builder was handed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// An HMAC secret.
    Secret,
    /// An Ed25519 public key (verifiers).
    #[cfg_attr(not(feature = "ed25519"), allow(dead_code, reason = "built by the ed25519 setters"))]
    Public,
    /// An Ed25519 secret signing key (signers).
    #[cfg_attr(not(feature = "ed25519"), allow(dead_code, reason = "built by the ed25519 setters"))]
    Signing,
}

/// A key as the user handed it to a builder, kept zeroized until the build.
#[derive(Clone)]
pub(crate) struct PendingSecret {
    pub(crate) label: Option<Arc<str>>,
    pub(crate) text: Zeroizing<Vec<u8>>,
    pub(crate) kind: KeyKind,
}

impl PendingSecret {
    pub(crate) fn new(label: Option<Arc<str>>, secret: &[u8]) -> Self {
        PendingSecret::of_kind(KeyKind::Secret, label, secret)
    }

    pub(crate) fn of_kind(kind: KeyKind, label: Option<Arc<str>>, key: &[u8]) -> Self {
        PendingSecret { label, text: Zeroizing::new(key.to_vec()), kind }
    }
}

impl fmt::Debug for PendingSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.kind {
            KeyKind::Secret => "Secret",
            KeyKind::Public => "PublicKey",
            KeyKind::Signing => "SigningKey",
        };
        f.debug_struct(name).field("label", &self.label).finish_non_exhaustive()
    }
}

/// A verifier's key: an HMAC secret or an Ed25519 public key. A verifier holds them
/// in one sequence, in the order they were added; [`crate::Verified::key_index`] is
/// the position in it.
pub(crate) enum VerifyKey {
    Hmac(Key),
    #[cfg(feature = "ed25519")]
    Ed25519(PublicKey),
}

/// A signer's key: an HMAC secret or an Ed25519 signing key, in the order added.
pub(crate) enum SignKey {
    Hmac(Key),
    #[cfg(feature = "ed25519")]
    Ed25519(SigningKey),
}

impl VerifyKey {
    pub(crate) fn label(&self) -> Option<&str> {
        match self {
            VerifyKey::Hmac(key) => key.label.as_deref(),
            #[cfg(feature = "ed25519")]
            VerifyKey::Ed25519(key) => key.label.as_deref(),
        }
    }

    pub(crate) fn algorithm(&self) -> Algorithm {
        match self {
            VerifyKey::Hmac(_) => Algorithm::HmacSha256,
            #[cfg(feature = "ed25519")]
            VerifyKey::Ed25519(_) => Algorithm::Ed25519,
        }
    }
}

impl SignKey {
    pub(crate) fn label(&self) -> Option<&str> {
        match self {
            SignKey::Hmac(key) => key.label.as_deref(),
            #[cfg(feature = "ed25519")]
            SignKey::Ed25519(key) => key.label.as_deref(),
        }
    }

    pub(crate) fn algorithm(&self) -> Algorithm {
        match self {
            SignKey::Hmac(_) => Algorithm::HmacSha256,
            #[cfg(feature = "ed25519")]
            SignKey::Ed25519(_) => Algorithm::Ed25519,
        }
    }
}

/// Refuses a key of a kind that no signature version of the scheme uses.
fn check_supported(scheme: &SchemeInner, algorithm: Algorithm) -> Result<(), Error> {
    if scheme.versions.iter().any(|(_, a)| *a == algorithm) {
        return Ok(());
    }
    Err(match algorithm {
        Algorithm::HmacSha256 => Error::InvalidSecret {
            reason: "the scheme has no HMAC-SHA256 signature version: give it public keys",
        },
        Algorithm::Ed25519 => {
            Error::InvalidKey { reason: "the scheme has no Ed25519 signature version: give it secrets" }
        }
    })
}

/// The verifier's keys, in the order given.
pub(crate) fn verify_keys(scheme: &SchemeInner, pending: &[PendingSecret]) -> Result<Vec<VerifyKey>, Error> {
    if pending.is_empty() {
        return Err(Error::InvalidSecret { reason: "no secret given" });
    }
    pending
        .iter()
        .map(|p| match p.kind {
            KeyKind::Secret => {
                check_supported(scheme, Algorithm::HmacSha256)?;
                Key::new(&scheme.secret_format, p).map(VerifyKey::Hmac)
            }
            #[cfg(feature = "ed25519")]
            KeyKind::Public => {
                check_supported(scheme, Algorithm::Ed25519)?;
                PublicKey::new(scheme, p).map(VerifyKey::Ed25519)
            }
            _ => Err(Error::InvalidConfig { reason: "a verifier takes secrets and public keys" }),
        })
        .collect()
}

/// The signer's keys, in the order given.
pub(crate) fn sign_keys(scheme: &SchemeInner, pending: &[PendingSecret]) -> Result<Vec<SignKey>, Error> {
    if pending.is_empty() {
        return Err(Error::InvalidSecret { reason: "no secret given" });
    }
    pending
        .iter()
        .map(|p| match p.kind {
            KeyKind::Secret => {
                check_supported(scheme, Algorithm::HmacSha256)?;
                Key::new(&scheme.secret_format, p).map(SignKey::Hmac)
            }
            #[cfg(feature = "ed25519")]
            KeyKind::Signing => {
                check_supported(scheme, Algorithm::Ed25519)?;
                SigningKey::new(scheme, p).map(SignKey::Ed25519)
            }
            _ => Err(Error::InvalidConfig { reason: "a signer takes secrets and signing keys" }),
        })
        .collect()
}

/// One key: the HMAC states after absorbing the key (ipad/opad blocks), copied per
/// message. The raw secret is not kept. Cleared on drop ([`Keyed`]).
#[derive(Clone)]
pub(crate) struct Key {
    pub(crate) mac: Keyed,
    pub(crate) label: Option<Arc<str>>,
}

impl Key {
    /// Reads `secret` as the scheme's dashboard format and keys an HMAC with it.
    pub(crate) fn new(format: &SecretFormat, pending: &PendingSecret) -> Result<Key, Error> {
        let raw = decode_secret(format, &pending.text)?;
        Ok(Key { mac: Keyed::new(&raw), label: pending.label.clone() })
    }

    /// A key from raw secret bytes (no dashboard format): the one-line `sign` and
    /// `verify`. An empty secret is refused.
    pub(crate) fn raw(secret: &[u8]) -> Result<Key, Error> {
        Key::new(&SecretFormat::Raw, &PendingSecret::new(None, secret))
    }

    /// A fresh per-message state.
    #[inline]
    pub(crate) fn start(&self) -> Mac {
        self.mac.start()
    }
}

/// Finishes a MAC into a plain tag.
pub(crate) fn finish(mut mac: Mac) -> Tag {
    let mut tag = [0u8; crate::tag::TAG_LEN];
    mac.finish_into(&mut tag);
    tag
}

/// Writes key bytes as `format` shows them (raw bytes, which may not be text, as hex).
pub(crate) fn format_key(format: &SecretFormat, bytes: &[u8]) -> Zeroizing<String> {
    Zeroizing::new(match format {
        SecretFormat::Base64 { prefix } => format!("{prefix}{}", Base64::encode_string(bytes)),
        _ => hex::encode(bytes),
    })
}

/// A fresh HMAC secret for `scheme`: 32 bytes from the operating system's RNG,
/// written in the scheme's secret format (`whsec_` + base64 for Standard Webhooks and
/// Svix; 64 hex digits for the schemes whose secret is the string itself). Zeroized
/// on drop.
///
/// ```
/// use hooksig::{Scheme, Signer, Verifier, generate_secret};
/// let secret = generate_secret(&Scheme::standard_webhooks())?;
/// assert!(secret.starts_with("whsec_"));
/// let headers = Signer::new(Scheme::standard_webhooks(), secret.as_str())?.sign(b"{}")?;
/// Verifier::new(Scheme::standard_webhooks(), secret.as_str())?.verify(&headers, b"{}")?;
/// assert_eq!(generate_secret(&Scheme::github())?.len(), 64);
/// # Ok::<(), hooksig::Error>(())
/// ```
pub fn generate_secret(scheme: &crate::scheme::Scheme) -> Result<Zeroizing<String>, Error> {
    let mut raw = Zeroizing::new([0u8; 32]);
    getrandom::fill(raw.as_mut()).map_err(|_| Error::Randomness)?;
    Ok(format_key(scheme.secret_format(), raw.as_ref()))
}

/// Why a key does not decode, per kind of key.
pub(crate) struct Reasons {
    pub(crate) empty: &'static str,
    pub(crate) not_base64: &'static str,
    pub(crate) not_hex: &'static str,
}

const SECRET_REASONS: Reasons =
    Reasons { empty: "empty secret", not_base64: "secret is not base64", not_hex: "secret is not hex" };

fn decode_secret(format: &SecretFormat, text: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
    decode_key(format, text, &SECRET_REASONS).map_err(|reason| Error::InvalidSecret { reason })
}

/// Reads a key string in `format`; the decoded bytes stay zeroized. The error is the
/// reason, from `reasons`.
pub(crate) fn decode_key(
    format: &SecretFormat,
    text: &[u8],
    reasons: &Reasons,
) -> Result<Zeroizing<Vec<u8>>, &'static str> {
    let refuse = |reason: &'static str| reason;
    if text.is_empty() {
        return Err(refuse(reasons.empty));
    }
    let raw = match format {
        SecretFormat::Raw => Zeroizing::new(text.to_vec()),
        SecretFormat::Base64 { prefix } => {
            let body = text.strip_prefix(prefix.as_bytes()).unwrap_or(text);
            let body = std::str::from_utf8(body).map_err(|_| refuse(reasons.not_base64))?;
            let decoded = Base64::decode_vec(body)
                .or_else(|_| Base64Unpadded::decode_vec(body))
                .map_err(|_| refuse(reasons.not_base64))?;
            Zeroizing::new(decoded)
        }
        SecretFormat::Hex => Zeroizing::new(hex::decode(text).map_err(|_| refuse(reasons.not_hex))?),
    };
    if raw.is_empty() {
        return Err(refuse(reasons.empty));
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn b64() -> SecretFormat {
        SecretFormat::Base64 { prefix: Cow::Borrowed("whsec_") }
    }

    #[test]
    fn base64_secrets_accept_optional_prefix_and_padding() {
        let padded = decode_secret(&b64(), b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let bare = decode_secret(&b64(), b"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(*padded, *bare);
        // "YWJj" is "abc"; "YWI" (unpadded "YWI=") is "ab".
        assert_eq!(*decode_secret(&b64(), b"whsec_YWI").unwrap(), b"ab");
        assert_eq!(*decode_secret(&b64(), b"whsec_YWI=").unwrap(), b"ab");
    }

    #[test]
    fn bad_secrets_are_refused() {
        assert!(decode_secret(&SecretFormat::Raw, b"").is_err());
        assert!(decode_secret(&b64(), b"whsec_").is_err());
        assert!(decode_secret(&b64(), b"whsec_***").is_err());
        assert!(decode_secret(&b64(), b"whsec_YW-_").is_err());
        assert!(decode_secret(&b64(), b"\xff\xfe").is_err());
    }
}

/// The values a signed message is built from, besides the body, as the text the
/// message contains.
#[derive(Clone, Copy, Default)]
pub(crate) struct Fields<'a> {
    /// The timestamp's decimal text.
    pub(crate) timestamp: Option<&'a [u8]>,
    pub(crate) id: Option<&'a [u8]>,
}

/// Feeds the non-body `parts` into `mac` (the body is the caller's): an HMAC state,
/// or a plain hash of the signed message. A short part only goes into the hash's block
/// buffer, so one `update` per part costs no more than gathering them first.
#[inline]
pub(crate) fn feed(mac: &mut impl sha2::digest::Update, parts: &[crate::scheme::Part], fields: Fields<'_>) {
    use crate::scheme::Part;
    for part in parts {
        match part {
            Part::Body => {}
            Part::Id => mac.update(fields.id.unwrap_or_default()),
            Part::Timestamp => mac.update(fields.timestamp.unwrap_or_default()),
            Part::Literal(bytes) => mac.update(bytes),
        }
    }
}

/// Feeds the whole signed message into `state`: prefix parts, the body if covered,
/// suffix parts. An empty prefix or suffix costs no call. Always inlined: with the
/// early MAC of `verify_at` as one more caller, the compiler kept it out of line, and
/// every scheme with a prefix paid a call with the HMAC state passed through memory
/// (90 instructions per Stripe delivery, callgrind).
#[inline(always)]
pub(crate) fn feed_message(
    state: &mut impl sha2::digest::Update,
    scheme: &crate::scheme::SchemeInner,
    fields: Fields<'_>,
    body: &[u8],
) {
    let (prefix, suffix) = (scheme.prefix(), scheme.suffix());
    if !prefix.is_empty() {
        feed(state, prefix, fields);
    }
    if scheme.body_index.is_some() {
        state.update(body);
    }
    if !suffix.is_empty() {
        feed(state, suffix, fields);
    }
}

/// The expected MAC of a delivery: secret (it would let anyone sign that message), so
/// written in place by the HMAC, compared only in constant time and cleared on drop.
pub(crate) struct Expected(pub(crate) Tag);

impl Drop for Expected {
    /// Clears the tag with two 16-byte stores that `black_box` keeps (it hands the
    /// compiler the tag's address as something that may be read, so the stores cannot
    /// be dropped as dead). `zeroize`'s volatile loop writes it a byte at a time: 32
    /// stores, about 6 ns of a 64-byte Tale delivery (measured), for the same effect.
    #[inline]
    fn drop(&mut self) {
        self.0 = [0u8; crate::tag::TAG_LEN];
        std::hint::black_box(&mut self.0);
    }
}

impl Expected {
    /// A tag to be written by a MAC: where the caller keeps it, the MAC's functions
    /// taking it by reference. Returned by value, it was written on the callee's stack
    /// with narrow stores and copied out with wide loads, which had to wait for them
    /// (about 10 ns per delivery, `perf annotate`).
    #[inline(always)]
    pub(crate) fn new() -> Expected {
        Expected([0u8; crate::tag::TAG_LEN])
    }
}

/// The MAC of the whole signed message, into `expected`: prefix parts, the body if
/// covered, suffix parts. `between` is called once the message is fed, before its
/// last blocks are hashed (see [`FirstBlock::mac`]).
#[inline]
pub(crate) fn mac_message(
    key: &Key,
    scheme: &crate::scheme::SchemeInner,
    fields: Fields<'_>,
    body: &[u8],
    expected: &mut Expected,
    between: impl FnOnce(),
) {
    let mut mac = key.start();
    feed_message(&mut mac, scheme, fields, body);
    between();
    mac.finish_into(&mut expected.0);
}

/// The first block of a signed message that starts with header text before the body
/// (Stripe's `{t}.`, Slack's `v0:{t}:`, Standard Webhooks' `{id}.{t}.`), assembled
/// in a buffer of its own while the headers are still being read.
///
/// Why: fed part by part, such a message's first block is written into the hash's
/// block buffer by narrow stores (the header text, then the start of the body), and
/// SHA-NI reads it back right away as 16-byte loads; a load that spans several stores
/// still on their way to the cache cannot take its bytes from them and waits. Raw
/// pre-keyed HMAC over Stripe's message with a 64-byte body (Xeon): about 18 ns more
/// fed as `{t}`, `.`, body than as one slice, nothing more split right after the
/// first block. Assembled early, while the candidates are still to be decoded, the
/// block has reached the cache by the time it is hashed, and a whole block given to
/// an empty buffer is hashed where it is, without a copy. Assembled right before
/// hashing it stalls the same; moved after assembly (returned by value) the copy
/// stalls instead. In `verify_at` (interleaved runs, 64-byte bodies) feeding the
/// assembled block whole saves 28 ns (Stripe) to 34 ns (Standard Webhooks) over feeding
/// the same message part by part; assembling it costs most of that back for the longer
/// prefixes, so the net gain is 10 to 13 ns per delivery for Stripe and Slack and a few
/// ns for Standard Webhooks and Svix.
///
/// A message of header text alone that fits one block with its padding (Oktave's
/// `{id}{timestamp}`) is assembled whole, padded, for the same reason: its MAC then
/// hashes the block where it lies ([`Keyed::finish_padded`]; 7 to 8 ns less per
/// Oktave delivery than feeding the parts to a fresh MAC). A first block is hashed
/// where it lies too, by a MAC that starts after it ([`Keyed::start_after`]).
///
/// When the body ends the message (every preset), the message's last block is
/// assembled at the same time: the body's bytes after its last whole block, and the
/// padding, for a length known from the start. The MAC then hashes the first block,
/// the body's whole blocks and that last block where they lie
/// ([`Keyed::finish_blocks`]) and writes no buffer at all. Written by the update right
/// before the finish, the tail's copy and padding were narrow stores that the hash's
/// loads waited for. Scratch profiler, overhead over raw HMAC, medians of 6
/// interleaved runs: 64-byte bodies, Standard Webhooks 105 → 90 ns, Stripe 57 → 40 ns,
/// Slack 65 → 51 ns; 1 KiB, Standard Webhooks 109 → 99 ns.
pub(crate) struct FirstBlock<'a> {
    block: [u8; BLOCK_LEN],
    /// The message's last bytes after its first block and the whole blocks of the
    /// body that follow, padded: assembled with the first block when the body ends
    /// the message (`last` is `Some`).
    last_block: [u8; BLOCK_LEN],
    /// The fields the block was assembled from; `None` while it is not assembled.
    fields: Option<Fields<'a>>,
    /// The body it was assembled with.
    body: &'a [u8],
    /// How many body bytes the block holds.
    body_len: usize,
    /// Whether the block is the whole message, padded.
    whole: bool,
    /// Set when `last_block` is assembled: the message's length when the padding
    /// left it no room there (it is hashed in a block of its own), else `None`.
    last: Option<Option<u64>>,
}

impl<'a> FirstBlock<'a> {
    /// No block yet. The block is assembled where it lies, never moved: a copy would
    /// read it back right after its stores, the very stall it is there to avoid.
    #[inline]
    pub(crate) fn new() -> FirstBlock<'a> {
        FirstBlock {
            block: [0u8; BLOCK_LEN],
            last_block: [0u8; BLOCK_LEN],
            fields: None,
            body: &[],
            body_len: 0,
            whole: false,
            last: None,
        }
    }

    /// Assembles the first block of `scheme`'s message with `fields` and `body`, or
    /// the whole message, padded, when the body is not signed. Left unassembled when
    /// the message starts with the body, when the text before the body fills a block
    /// (hashed from the buffer as one piece anyway), when the message does not fill
    /// one (copied into the hash's buffer either way), or when a message without the
    /// body leaves no room in its block for the padding.
    ///
    /// Called once per `FirstBlock` (from `read_with`'s `early`, an `FnOnce`): the
    /// padding is written as the marker and the length alone
    /// ([`mac::pad_zeroed`]), over the zeros of [`FirstBlock::new`]. Filling the
    /// zeros again cost Oktave 3 ns per delivery (medians of 8 interleaved runs, 47 →
    /// 44 ns over raw HMAC).
    #[inline]
    pub(crate) fn assemble(
        &mut self,
        scheme: &crate::scheme::SchemeInner,
        fields: Fields<'a>,
        body: &'a [u8],
    ) {
        use crate::scheme::Part;
        if scheme.prefix().is_empty() {
            return;
        }
        let mut at = 0usize;
        for part in scheme.prefix() {
            let bytes: &[u8] = match part {
                Part::Body => &[],
                Part::Id => fields.id.unwrap_or_default(),
                Part::Timestamp => fields.timestamp.unwrap_or_default(),
                Part::Literal(bytes) => bytes,
            };
            let Some(end) = at.checked_add(bytes.len()).filter(|end| *end < BLOCK_LEN) else {
                return;
            };
            put(self.block.get_mut(at..end), bytes);
            at = end;
        }
        if scheme.body_index.is_none() {
            if at < LEN_AT {
                // The key block's 64 bytes come first.
                mac::pad_zeroed(&mut self.block, at, at.wrapping_add(BLOCK_LEN) as u64);
                self.fields = Some(fields);
                self.body = body;
                self.whole = true;
            }
            return;
        }
        let body_len = BLOCK_LEN.saturating_sub(at);
        let Some(start) = body.get(..body_len) else {
            return;
        };
        put(self.block.get_mut(at..), start);
        self.fields = Some(fields);
        self.body = body;
        self.body_len = body_len;
        if scheme.suffix().is_empty() {
            // The key block, the text before the body, the body.
            let length = (BLOCK_LEN as u64).wrapping_add(at as u64).wrapping_add(body.len() as u64);
            let (_, tail) = body.get(body_len..).unwrap_or_default().as_chunks::<BLOCK_LEN>();
            put(self.last_block.get_mut(..tail.len()), tail);
            mac::pad_zeroed(&mut self.last_block, tail.len(), length);
            self.last = Some((tail.len() >= LEN_AT).then_some(length));
        }
    }

    /// Whether the block was assembled from these very `fields` and `body`: the same
    /// slices, not merely equal text.
    #[inline]
    fn assembled_from(&self, fields: Fields<'_>, body: &[u8]) -> bool {
        let same = |a: Option<&[u8]>, b: Option<&[u8]>| match (a, b) {
            (Some(a), Some(b)) => std::ptr::eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        };
        self.fields.is_some_and(|from| same(from.timestamp, fields.timestamp) && same(from.id, fields.id))
            && std::ptr::eq(self.body, body)
    }

    /// The expected MAC of the message with `fields` and `body`, into `expected`:
    /// from the block when it was assembled from these very fields (the slices that
    /// [`crate::headers::read_with`] returned), the usual way otherwise. `between`
    /// is called once, for the caller's work that does not need the tag, late in the
    /// hash so that it runs beside it (see [`Keyed::finish_blocks`] for why not
    /// early): where the block was assembled with the message's last block, once the
    /// inner hash has taken that block (before a block of the length alone, if any,
    /// and the outer block); otherwise once the message is fed, before its last
    /// blocks.
    ///
    /// [`Keyed::finish_blocks`]: crate::mac::Keyed::finish_blocks
    #[inline]
    pub(crate) fn mac(
        &self,
        key: &Key,
        scheme: &crate::scheme::SchemeInner,
        fields: Fields<'_>,
        body: &[u8],
        expected: &mut Expected,
        between: impl FnOnce(),
    ) {
        if !self.assembled_from(fields, body) {
            return mac_message(key, scheme, fields, body, expected, between);
        }
        if self.whole {
            return key.mac.finish_padded(&self.block, &mut expected.0, between);
        }
        if let Some(length_apart) = self.last {
            let (middle, _) = body.get(self.body_len..).unwrap_or_default().as_chunks::<BLOCK_LEN>();
            return key.mac.finish_blocks(
                &self.block,
                middle,
                &self.last_block,
                length_apart,
                &mut expected.0,
                between,
            );
        }
        let mut mac = key.mac.start_after(&self.block);
        mac.update(body.get(self.body_len..).unwrap_or_default());
        let suffix = scheme.suffix();
        if !suffix.is_empty() {
            feed(&mut mac, suffix, fields);
        }
        between();
        mac.finish_into(&mut expected.0);
    }
}

#[cfg(test)]
mod first_block_tests {
    use super::*;
    use crate::headers::{self, Tags};
    use crate::{Part, Scheme, Signer};
    use std::time::{Duration, UNIX_EPOCH};

    /// The signed message, written out.
    struct Collect(Vec<u8>);

    impl sha2::digest::Update for Collect {
        fn update(&mut self, data: &[u8]) {
            self.0.extend_from_slice(data);
        }
    }

    /// For every preset whose message starts with a header's text, the block is
    /// assembled from the very slices `read_with` returns (otherwise the MAC would
    /// silently take the usual way), and it is the start of the signed message.
    #[test]
    fn the_block_is_the_start_of_the_message_from_the_returned_fields() {
        let at = UNIX_EPOCH + Duration::from_secs(1_763_900_000);
        let mut used = 0;
        // The message, the marker, zeros, the length in bits with the key block's.
        let padded = |rest: &[u8], length: usize| {
            let mut block = [0u8; BLOCK_LEN];
            if rest.len() < BLOCK_LEN - 8 {
                block[..rest.len()].copy_from_slice(rest);
                block[rest.len()] = 0x80;
                block[BLOCK_LEN - 8..].copy_from_slice(&(((BLOCK_LEN + length) * 8) as u64).to_be_bytes());
            } else {
                block[..rest.len()].copy_from_slice(rest);
                if let Some(marker) = block.get_mut(rest.len()) {
                    *marker = 0x80;
                }
            }
            block
        };
        for scheme in Scheme::presets() {
            let with_field = scheme.inner.prefix().iter().any(|p| matches!(p, Part::Id | Part::Timestamp));
            // Around the block boundaries of every preset's prefix, and longer bodies.
            for len in (0..=200).chain([1024, 1030, 1100]) {
                let body: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                let headers = Signer::new(scheme.clone(), crate::generate_secret(&scheme).unwrap().as_str())
                    .unwrap()
                    .sign_at(&body, Some("msg_1"), at)
                    .unwrap();
                let mut tags = Tags::new(
                    true,
                    #[cfg(feature = "ed25519")]
                    false,
                );
                let mut first = FirstBlock::new();
                let delivery = headers::read_with(&scheme.inner, &headers, &mut tags, false, |f| {
                    first.assemble(&scheme.inner, f, &body)
                })
                .unwrap();
                let fields = delivery.fields();
                let name = format!("{} {len}", scheme.name());
                let mut message = Collect(Vec::new());
                feed_message(&mut message, &scheme.inner, fields, &body);
                let message = message.0;
                let fills = message.len() >= BLOCK_LEN;
                assert_eq!(
                    first.assembled_from(fields, &body),
                    with_field && (!scheme.covers_body() || fills),
                    "{name}"
                );
                // Another body of the same text is not the one assembled.
                assert!(!first.assembled_from(fields, &body.clone()) || body.is_empty(), "{name}");
                if !first.assembled_from(fields, &body) {
                    continue;
                }
                if scheme.covers_body() {
                    assert!(!first.whole, "{name}");
                    assert_eq!(&first.block[..], &message[..BLOCK_LEN], "{name}");
                    // Presets put nothing after the body.
                    let tail = (message.len() - BLOCK_LEN) % BLOCK_LEN;
                    let rest = &message[message.len() - tail..];
                    assert_eq!(first.last_block, padded(rest, message.len()), "{name}");
                    let apart = (tail >= BLOCK_LEN - 8).then_some((BLOCK_LEN + message.len()) as u64);
                    assert_eq!(first.last, Some(apart), "{name}");
                } else {
                    assert!(first.whole, "{name}");
                    assert_eq!(first.block, padded(&message, message.len()), "{name}");
                }
                // The MAC from the blocks is the MAC of the message.
                let key = Key::raw(b"a secret").unwrap();
                let (mut from_block, mut usual) = (Expected::new(), Expected::new());
                let mut calls = 0;
                first.mac(&key, &scheme.inner, fields, &body, &mut from_block, || calls += 1);
                mac_message(&key, &scheme.inner, fields, &body, &mut usual, || {});
                assert_eq!(from_block.0, usual.0, "{name}");
                assert_eq!(calls, 1, "{name}");
                if len == 64 {
                    used += 1;
                }
            }
        }
        // Stripe, Slack, Standard Webhooks, Svix, Oktave (and any later preset of the kind).
        assert!(used >= 5, "{used}");
    }
}
