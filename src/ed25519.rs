//! Ed25519 (feature `ed25519`): public keys for verifiers, signing keys for signers,
//! the decoded candidate signatures of a delivery, and strict verification over a
//! signed message fed in parts.
//!
//! Verification is `ed25519-dalek`'s streaming check with the extra tests of its
//! `verify_strict` done here, before any byte is hashed: the signature's `R` must
//! decompress to a point that is not of small order, `S` must be canonical (checked by
//! `ed25519-dalek`), and the public key was refused at build time if it is of small
//! order. The message is fed in the scheme's parts (prefix, body, suffix) and never
//! copied, so a verification does not allocate. Nothing here is secret on the verify
//! side, so nothing needs constant time; signing keys are zeroized on drop
//! (`ed25519-dalek`'s `zeroize` feature) and never printed.

use std::sync::Arc;

use base64ct::{Base64, Encoding as _};
use ed25519_dalek::hazmat::{ExpandedSecretKey, raw_sign_byupdate};
use ed25519_dalek::{Signature, SigningKey as DalekSigningKey, StreamVerifier, VerifyingKey};
use sha2::Sha512;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::keys::{PendingSecret, Reasons, decode_key};
use crate::scheme::{Encoding, SchemeInner, SecretFormat};

/// Length of an Ed25519 signature in bytes.
pub(crate) const SIG_LEN: usize = 64;
/// A decoded Ed25519 signature.
pub(crate) type Sig = [u8; SIG_LEN];

/// The most Ed25519 signatures a delivery may carry (within the
/// [`crate::MAX_CANDIDATES`] entries of any version): each one costs a hash of the
/// whole message per public key, so the bound keeps a delivery's work at a few
/// passes over the body.
///
/// ```
/// assert_eq!(hooksig::MAX_ED25519_CANDIDATES, 4);
/// ```
pub const MAX_ED25519_CANDIDATES: usize = 4;

/// Up to [`MAX_ED25519_CANDIDATES`] decoded signatures, on the stack.
#[derive(Clone)]
pub(crate) struct Signatures {
    sigs: [Sig; MAX_ED25519_CANDIDATES],
    len: usize,
}

impl Signatures {
    pub(crate) fn new() -> Self {
        Signatures { sigs: [[0u8; SIG_LEN]; MAX_ED25519_CANDIDATES], len: 0 }
    }

    pub(crate) fn push(&mut self, sig: Sig) -> bool {
        match self.sigs.get_mut(self.len) {
            Some(slot) => {
                *slot = sig;
                self.len = self.len.saturating_add(1);
                true
            }
            None => false,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Sig> {
        self.sigs.iter().take(self.len)
    }
}

/// Decodes one candidate signature: 128 hex digits (any case) or 88 characters of
/// padded standard base64, canonical. Never panics, never allocates.
pub(crate) fn decode_signature(encoding: Encoding, text: &[u8]) -> Result<Sig, &'static str> {
    let mut sig = [0u8; SIG_LEN];
    match encoding {
        Encoding::Hex => {
            if text.len() != 2 * SIG_LEN {
                return Err("expected 128 hex digits (an Ed25519 signature)");
            }
            hex::decode_to_slice(text, &mut sig).map_err(|_| "invalid hex digit")?;
        }
        Encoding::Base64 => {
            if text.len() != 88 {
                return Err("expected 88 characters of padded base64 (an Ed25519 signature)");
            }
            match Base64::decode(text, &mut sig) {
                Ok(decoded) if decoded.len() == SIG_LEN => {}
                _ => return Err("invalid base64"),
            }
        }
    }
    Ok(sig)
}

/// Writes `sig` as the scheme's encoding.
pub(crate) fn encode_signature(encoding: Encoding, sig: &Sig) -> String {
    match encoding {
        Encoding::Hex => hex::encode(sig),
        Encoding::Base64 => Base64::encode_string(sig),
    }
}

/// A verifier's public key, decoded and validated at build time.
pub(crate) struct PublicKey {
    key: VerifyingKey,
    pub(crate) label: Option<Arc<str>>,
}

impl PublicKey {
    /// Reads a public key in the scheme's public-key format: 32 bytes, a point of
    /// the curve, not of small order.
    pub(crate) fn new(scheme: &SchemeInner, pending: &PendingSecret) -> Result<PublicKey, Error> {
        if let SecretFormat::Base64 { prefix } = &scheme.signing_key_format
            && !prefix.is_empty()
            && pending.text.starts_with(prefix.as_bytes())
        {
            return Err(invalid("a secret signing key was given where a public key belongs"));
        }
        let raw = decode_key(&scheme.public_key_format, &pending.text, &PUBLIC_REASONS).map_err(invalid)?;
        let bytes: [u8; 32] =
            raw.as_slice().try_into().map_err(|_| invalid("an Ed25519 public key is 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| invalid("the public key is not a point of the curve"))?;
        if key.is_weak() {
            return Err(invalid("the public key is of small order (weak)"));
        }
        Ok(PublicKey { key, label: pending.label.clone() })
    }

    /// Starts a strict verification of `sig`, or `None` when the signature cannot be
    /// valid for any message: `R` not a point, or of small order; `S` not canonical.
    pub(crate) fn start(&self, sig: &Sig) -> Option<Stream> {
        let (r, _) = sig.split_first_chunk::<32>()?;
        // `verify_strict`'s tests on R: it decompresses, and is not of small order.
        let r = VerifyingKey::from_bytes(r).ok()?;
        if r.is_weak() {
            return None;
        }
        // Refuses a non-canonical S.
        self.key.verify_stream(&Signature::from_bytes(sig)).ok().map(Stream)
    }

    /// Strictly verifies `sig` over the message that `feed` writes, in one go.
    pub(crate) fn verify(&self, sig: &Sig, feed: impl FnOnce(&mut Stream)) -> bool {
        match self.start(sig) {
            Some(mut stream) => {
                feed(&mut stream);
                stream.finish()
            }
            None => false,
        }
    }
}

/// A verification in progress: the message is fed through
/// [`sha2::digest::Update`], like an HMAC state.
pub(crate) struct Stream(StreamVerifier);

impl Stream {
    pub(crate) fn finish(self) -> bool {
        self.0.finalize_and_verify().is_ok()
    }
}

impl sha2::digest::Update for Stream {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
}

/// A signer's secret key. `ed25519-dalek` zeroizes it on drop; it is never printed.
pub(crate) struct SigningKey {
    key: DalekSigningKey,
    pub(crate) label: Option<Arc<str>>,
}

impl SigningKey {
    /// Reads a signing key in the scheme's signing-key format: the 32-byte seed, or
    /// the 64-byte seed followed by its public key (the halves must agree).
    pub(crate) fn new(scheme: &SchemeInner, pending: &PendingSecret) -> Result<SigningKey, Error> {
        let raw = decode_key(&scheme.signing_key_format, &pending.text, &SIGNING_REASONS).map_err(invalid)?;
        let key = if let Ok(seed) = <&[u8; 32]>::try_from(raw.as_slice()) {
            DalekSigningKey::from_bytes(seed)
        } else if let Ok(pair) = <&[u8; 64]>::try_from(raw.as_slice()) {
            DalekSigningKey::from_keypair_bytes(pair)
                .map_err(|_| invalid("the signing key's second half is not the public key of its first"))?
        } else {
            return Err(invalid("an Ed25519 signing key is 32 bytes (seed) or 64 (seed and public key)"));
        };
        Ok(SigningKey { key, label: pending.label.clone() })
    }

    /// Signs the message that `feed` writes (called twice: Ed25519 hashes the
    /// message once for the nonce and once for the challenge).
    pub(crate) fn sign(&self, feed: impl Fn(&mut Sha512)) -> Sig {
        let expanded = ExpandedSecretKey::from(self.key.as_bytes());
        let public = self.key.verifying_key();
        // The closure cannot fail, so neither can signing.
        match raw_sign_byupdate::<Sha512, _>(
            &expanded,
            |h| {
                feed(h);
                Ok(())
            },
            &public,
        ) {
            Ok(sig) => sig.to_bytes(),
            Err(_) => [0u8; SIG_LEN],
        }
    }

    /// The public key that verifies this key's signatures.
    #[cfg(test)]
    pub(crate) fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }
}

/// A fresh Ed25519 key pair, written in a scheme's key formats: for Standard Webhooks
/// `whsk_` + base64 of the 32-byte seed and `whpk_` + base64 of the public key; for
/// Discord, hex. The seed comes from the operating system's RNG (`getrandom`) and is
/// zeroized on drop; `Debug` shows the public key only.
///
/// ```
/// use hooksig::{KeyPair, Scheme, Signer, Verifier};
/// let pair = KeyPair::generate(&Scheme::standard_webhooks())?;
/// assert!(pair.signing_key().starts_with("whsk_") && pair.public_key().starts_with("whpk_"));
/// assert!(!format!("{pair:?}").contains(pair.signing_key()));
///
/// let headers = Signer::builder(Scheme::standard_webhooks()).signing_key(pair.signing_key()).build()?.sign(b"{}")?;
/// Verifier::builder(Scheme::standard_webhooks()).public_key(pair.public_key()).build()?.verify(&headers, b"{}")?;
///
/// assert_eq!(KeyPair::generate(&Scheme::discord())?.public_key().len(), 64);
/// assert!(KeyPair::generate(&Scheme::stripe()).is_err()); // no Ed25519 version
/// # Ok::<(), hooksig::Error>(())
/// ```
pub struct KeyPair {
    signing_key: Zeroizing<String>,
    public_key: String,
}

impl KeyPair {
    /// Generates a key pair for `scheme`. Fails with [`Error::InvalidConfig`] for a
    /// scheme without an Ed25519 version and [`Error::Randomness`] when the operating
    /// system's RNG fails.
    ///
    /// ```
    /// let a = hooksig::KeyPair::generate(&hooksig::Scheme::discord())?;
    /// let b = hooksig::KeyPair::generate(&hooksig::Scheme::discord())?;
    /// assert_ne!(a.public_key(), b.public_key());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn generate(scheme: &crate::scheme::Scheme) -> Result<KeyPair, Error> {
        if !scheme.supports(crate::scheme::Algorithm::Ed25519) {
            return Err(Error::InvalidConfig { reason: "the scheme has no Ed25519 signature version" });
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|_| Error::Randomness)?;
        let public = DalekSigningKey::from_bytes(&seed).verifying_key().to_bytes();
        Ok(KeyPair {
            signing_key: crate::keys::format_key(scheme.signing_key_format(), seed.as_ref()),
            public_key: String::from(crate::keys::format_key(scheme.public_key_format(), &public).as_str()),
        })
    }

    /// The secret signing key, for [`crate::SignerBuilder::signing_key`].
    ///
    /// ```
    /// let pair = hooksig::KeyPair::generate(&hooksig::Scheme::discord())?;
    /// assert_eq!(pair.signing_key().len(), 64); // the seed in hex
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn signing_key(&self) -> &str {
        &self.signing_key
    }

    /// The public key, for [`crate::VerifierBuilder::public_key`].
    ///
    /// ```
    /// let pair = hooksig::KeyPair::generate(&hooksig::Scheme::standard_webhooks())?;
    /// assert_eq!(pair.public_key().len(), "whpk_".len() + 44);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn public_key(&self) -> &str {
        &self.public_key
    }
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair").field("public_key", &self.public_key).finish_non_exhaustive()
    }
}

fn invalid(reason: &'static str) -> Error {
    Error::InvalidKey { reason }
}

const PUBLIC_REASONS: Reasons = Reasons {
    empty: "empty public key",
    not_base64: "public key is not base64",
    not_hex: "public key is not hex",
};

const SIGNING_REASONS: Reasons = Reasons {
    empty: "empty signing key",
    not_base64: "signing key is not base64",
    not_hex: "signing key is not hex",
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::Scheme;

    fn pending(text: &str) -> PendingSecret {
        PendingSecret::new(None, text.as_bytes())
    }

    /// RFC 8032, section 7.1, test 1 (empty message).
    const SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    const SIG: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

    #[test]
    fn rfc8032_test_1_signs_and_verifies() {
        let scheme = Scheme::discord();
        let signer = SigningKey::new(&scheme.inner, &pending(SEED)).unwrap();
        assert_eq!(hex::encode(signer.public_key()), PUBLIC);
        let sig = signer.sign(|_| {});
        assert_eq!(hex::encode(sig), SIG);
        let public = PublicKey::new(&scheme.inner, &pending(PUBLIC)).unwrap();
        assert!(public.verify(&sig, |_| {}));
        assert!(!public.verify(&sig, |s| sha2::digest::Update::update(s, b"x")));
    }

    #[test]
    fn keypair_halves_must_agree() {
        let scheme = Scheme::discord();
        assert!(SigningKey::new(&scheme.inner, &pending(&format!("{SEED}{PUBLIC}"))).is_ok());
        let other = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
        assert!(SigningKey::new(&scheme.inner, &pending(&format!("{SEED}{other}"))).is_err());
        assert!(SigningKey::new(&scheme.inner, &pending(&SEED[..62])).is_err());
    }
}
