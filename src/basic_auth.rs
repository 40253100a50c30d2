//! HTTP Basic credentials, checked in constant time, for receivers (such as
//! NocoBase-style triggers) that require them with or without a signature.

use std::fmt;

use base64ct::{Base64, Encoding as _};
use http::{HeaderName, HeaderValue};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::headers::HeaderSource;

/// The longest `Authorization` value accepted, in bytes.
const MAX_AUTHORIZATION_LEN: usize = 1024;

/// Expected HTTP Basic credentials.
///
/// The check hashes the presented `user:password` and compares the digest with the
/// expected one in constant time, so neither content nor length leaks through timing.
/// The credentials never appear in `Debug` output or errors.
///
/// ```
/// use hooksig::BasicAuth;
/// let auth = BasicAuth::new("hook", "p4ss")?;
/// let mut headers = http::HeaderMap::new();
/// assert_eq!(auth.check(&headers), Err(hooksig::Error::Unauthorized));
/// // "hook:p4ss" in base64
/// headers.insert("authorization", "Basic aG9vazpwNHNz".parse().unwrap());
/// assert_eq!(auth.check(&headers), Ok(()));
/// assert_eq!(auth.challenge(), "Basic realm=\"webhooks\"");
/// # Ok::<(), hooksig::Error>(())
/// ```
#[derive(Clone)]
pub struct BasicAuth {
    digest: Zeroizing<[u8; 32]>,
    challenge: HeaderValue,
}

impl BasicAuth {
    /// Expects `user` and `password`. An empty password is refused
    /// ([`Error::InvalidSecret`]); a user name containing `:` is refused too, since
    /// it could not be told apart from the password.
    ///
    /// ```
    /// assert!(hooksig::BasicAuth::new("nocobase", "s3cret").is_ok());
    /// assert!(hooksig::BasicAuth::new("nocobase", "").is_err());
    /// ```
    pub fn new(user: &str, password: &str) -> Result<BasicAuth, Error> {
        if password.is_empty() {
            return Err(Error::InvalidSecret { reason: "empty Basic password" });
        }
        if user.contains(':') {
            return Err(Error::InvalidConfig { reason: "Basic user name contains ':'" });
        }
        let mut hasher = Sha256::new();
        hasher.update(user.as_bytes());
        hasher.update(b":");
        hasher.update(password.as_bytes());
        let digest = Zeroizing::new(hasher.finalize().into());
        Ok(BasicAuth { digest, challenge: HeaderValue::from_static("Basic realm=\"webhooks\"") })
    }

    /// Sets the realm shown in the `WWW-Authenticate` challenge (default `webhooks`).
    /// A realm that cannot be a header value, or contains `"`, keeps the default.
    ///
    /// ```
    /// let auth = hooksig::BasicAuth::new("u", "p")?.realm("hooks");
    /// assert_eq!(auth.challenge(), "Basic realm=\"hooks\"");
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn realm(mut self, realm: &str) -> Self {
        if !realm.contains('"')
            && let Ok(value) = HeaderValue::from_str(&format!("Basic realm=\"{realm}\""))
        {
            self.challenge = value;
        }
        self
    }

    /// The value for the `WWW-Authenticate` header of a 401 answer.
    ///
    /// ```
    /// assert_eq!(hooksig::BasicAuth::new("u", "p")?.challenge(), "Basic realm=\"webhooks\"");
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn challenge(&self) -> &HeaderValue {
        &self.challenge
    }

    /// Checks the `Authorization` header: exactly one, `Basic` (any case) and the
    /// expected credentials. Every failure is [`Error::Unauthorized`].
    ///
    /// ```
    /// let auth = hooksig::BasicAuth::new("u", "p")?;
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("authorization", "Basic dTp3cm9uZw==".parse().unwrap()); // u:wrong
    /// assert_eq!(auth.check(&headers), Err(hooksig::Error::Unauthorized));
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn check<H: HeaderSource + ?Sized>(&self, headers: &H) -> Result<(), Error> {
        let name = HeaderName::from_static("authorization");
        let mut values = headers.header_values(&name);
        let value = values.next().ok_or(Error::Unauthorized)?;
        if values.next().is_some() || value.len() > MAX_AUTHORIZATION_LEN {
            return Err(Error::Unauthorized);
        }
        let (scheme, encoded) = value.split_at_checked(6).ok_or(Error::Unauthorized)?;
        if !scheme.eq_ignore_ascii_case(b"basic ") {
            return Err(Error::Unauthorized);
        }
        let mut buf = Zeroizing::new([0u8; MAX_AUTHORIZATION_LEN]);
        let decoded = Base64::decode(encoded.trim_ascii(), &mut buf[..]).map_err(|_| Error::Unauthorized)?;
        let presented: [u8; 32] = Sha256::digest(decoded).into();
        if bool::from(presented.ct_eq(&*self.digest)) { Ok(()) } else { Err(Error::Unauthorized) }
    }
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuth").field("challenge", &self.challenge).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.append("authorization", value.parse().unwrap());
        h
    }

    #[test]
    fn wrong_or_odd_credentials_are_unauthorized() {
        let auth = BasicAuth::new("hook", "p4ss").unwrap();
        assert_eq!(auth.check(&headers("basic aG9vazpwNHNz")), Ok(()));
        for bad in ["Basic aG9vazpwNHN6", "Bearer aG9vazpwNHNz", "Basic", "Basic !!!", "Basic aG9vaw=="] {
            assert_eq!(auth.check(&headers(bad)), Err(Error::Unauthorized), "{bad}");
        }
        let mut twice = headers("Basic aG9vazpwNHNz");
        twice.append("authorization", "Basic aG9vazpwNHNz".parse().unwrap());
        assert_eq!(auth.check(&twice), Err(Error::Unauthorized));
    }

    #[test]
    fn empty_password_is_refused() {
        assert!(BasicAuth::new("u", "").is_err());
        assert!(BasicAuth::new("a:b", "c").is_err());
    }
}
