//! Secrets and the pre-keyed HMAC states built from them.

use std::fmt;
use std::sync::Arc;

use base64ct::{Base64, Base64Unpadded, Encoding as _};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::scheme::SecretFormat;
use crate::tag::Tag;

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// A secret as the user handed it to a builder, kept zeroized until the build.
#[derive(Clone)]
pub(crate) struct PendingSecret {
    pub(crate) label: Option<Arc<str>>,
    pub(crate) text: Zeroizing<Vec<u8>>,
}

impl PendingSecret {
    pub(crate) fn new(label: Option<Arc<str>>, secret: &[u8]) -> Self {
        PendingSecret { label, text: Zeroizing::new(secret.to_vec()) }
    }
}

impl fmt::Debug for PendingSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret").field("label", &self.label).finish_non_exhaustive()
    }
}

/// One key: the HMAC state after absorbing the key (ipad/opad blocks), cloned per
/// message. The raw secret is not kept. Zeroized on drop (hmac's `zeroize` feature).
#[derive(Clone)]
pub(crate) struct Key {
    pub(crate) mac: HmacSha256,
    pub(crate) label: Option<Arc<str>>,
}

impl Key {
    /// Reads `secret` as the scheme's dashboard format and keys an HMAC with it.
    pub(crate) fn new(format: &SecretFormat, pending: &PendingSecret) -> Result<Key, Error> {
        let raw = decode_secret(format, &pending.text)?;
        let mac = HmacSha256::new_from_slice(&raw)
            .map_err(|_| Error::InvalidSecret { reason: "unusable key length" })?;
        Ok(Key { mac, label: pending.label.clone() })
    }

    /// A key from raw secret bytes (no dashboard format): the one-line `sign` and
    /// `verify`. An empty secret is refused.
    pub(crate) fn raw(secret: &[u8]) -> Result<Key, Error> {
        Key::new(&SecretFormat::Raw, &PendingSecret::new(None, secret))
    }

    /// A fresh per-message state.
    #[inline]
    pub(crate) fn start(&self) -> HmacSha256 {
        self.mac.clone()
    }
}

/// Finishes a MAC into a plain tag.
pub(crate) fn finish(mac: HmacSha256) -> Tag {
    mac.finalize().into_bytes().into()
}

/// Keys for every pending secret, in order.
pub(crate) fn keyring(format: &SecretFormat, secrets: &[PendingSecret]) -> Result<Vec<Key>, Error> {
    if secrets.is_empty() {
        return Err(Error::InvalidSecret { reason: "no secret given" });
    }
    secrets.iter().map(|s| Key::new(format, s)).collect()
}

fn decode_secret(format: &SecretFormat, text: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
    if text.is_empty() {
        return Err(Error::InvalidSecret { reason: "empty secret" });
    }
    let raw = match format {
        SecretFormat::Raw => Zeroizing::new(text.to_vec()),
        SecretFormat::Base64 { prefix } => {
            let body = text.strip_prefix(prefix.as_bytes()).unwrap_or(text);
            let body = std::str::from_utf8(body)
                .map_err(|_| Error::InvalidSecret { reason: "secret is not base64" })?;
            let decoded = Base64::decode_vec(body)
                .or_else(|_| Base64Unpadded::decode_vec(body))
                .map_err(|_| Error::InvalidSecret { reason: "secret is not base64" })?;
            Zeroizing::new(decoded)
        }
    };
    if raw.is_empty() {
        return Err(Error::InvalidSecret { reason: "empty secret" });
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

/// Finishes a MAC into an [`Expected`], without an intermediate copy of the tag.
#[inline]
pub(crate) fn finish_expected(mac: HmacSha256) -> Expected {
    use hmac::digest::FixedOutput;
    let mut expected = Expected([0u8; crate::tag::TAG_LEN]);
    mac.finalize_into((&mut expected.0).into());
    expected
}

/// The MAC of the whole signed message: prefix parts, the body if covered, suffix parts.
#[inline]
pub(crate) fn mac_message(
    key: &Key,
    scheme: &crate::scheme::SchemeInner,
    fields: Fields<'_>,
    body: &[u8],
) -> Expected {
    let mut mac = key.start();
    let (prefix, suffix) = (scheme.prefix(), scheme.suffix());
    if !prefix.is_empty() {
        feed(&mut mac, prefix, fields);
    }
    if scheme.body_index.is_some() {
        mac.update(body);
    }
    if !suffix.is_empty() {
        feed(&mut mac, suffix, fields);
    }
    finish_expected(mac)
}
