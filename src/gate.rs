//! The checks an integration makes before it reads a body, shared by the tower layer
//! and the actix middleware so that both answer alike.

// Lints as policy (issue 5): no unchecked arithmetic on input-derived values here. Set per
// module, not at the crate root, while the integration modules are in progress.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use std::sync::Arc;
use std::time::SystemTime;

use http::{HeaderName, HeaderValue, Method};

use crate::headers::HeaderSource;
use crate::scheme::DEFAULT_MAX_BODY;
use crate::{BasicAuth, Error, Verification, Verifier};

/// What a receiver accepts before reading the body: request methods, optional HTTP
/// Basic credentials, and (optionally) a signature scheme via a [`Verifier`].
///
/// [`Gate::admit`] runs the checks in a fixed order, cheapest first: method (405),
/// credentials (401), `Content-Length` against the body limit (413), then the
/// signature, timestamp and id headers (401/400). It returns the streaming
/// [`Verification`] to feed the body into.
///
/// ```
/// use hooksig::{Gate, Scheme, Signer, Verifier};
/// let gate = Gate::new(Verifier::new(Scheme::tale(), "s")?);
/// let headers = Signer::new(Scheme::tale(), "s")?.sign(b"{}")?;
///
/// let mut verification = gate.admit("POST", &headers)?.expect("a verifier is set");
/// verification.update(b"{}")?;
/// verification.finish()?;
///
/// assert_eq!(gate.admit("GET", &headers).unwrap_err(), hooksig::Error::MethodNotAllowed);
/// assert_eq!(gate.allow(), "POST");
/// # Ok::<(), hooksig::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Gate {
    verifier: Option<Verifier>,
    basic: Option<BasicAuth>,
    methods: Arc<[Method]>,
    allow: HeaderValue,
}

impl Gate {
    /// Accepts POST deliveries signed for `verifier`'s scheme.
    ///
    /// ```
    /// let gate = hooksig::Gate::new(hooksig::Verifier::new(hooksig::Scheme::github(), "s")?);
    /// assert_eq!(gate.max_body(), 25 * 1024 * 1024);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn new(verifier: Verifier) -> Gate {
        Gate::build(Some(verifier), None)
    }

    /// Accepts POST requests carrying `auth`'s credentials, with no signature scheme
    /// (NocoBase-style triggers). The body limit is [`DEFAULT_MAX_BODY`].
    ///
    /// ```
    /// let gate = hooksig::Gate::basic_only(hooksig::BasicAuth::new("u", "p")?);
    /// assert_eq!(gate.admit("POST", &http::HeaderMap::new()).unwrap_err(), hooksig::Error::Unauthorized);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn basic_only(auth: BasicAuth) -> Gate {
        Gate::build(None, Some(auth))
    }

    fn build(verifier: Option<Verifier>, basic: Option<BasicAuth>) -> Gate {
        Gate { verifier, basic, methods: Arc::from([Method::POST]), allow: HeaderValue::from_static("POST") }
    }

    /// Also requires HTTP Basic credentials.
    ///
    /// ```
    /// use hooksig::{BasicAuth, Gate, Scheme, Verifier};
    /// let gate = Gate::new(Verifier::new(Scheme::tale(), "s")?).basic_auth(BasicAuth::new("u", "p")?);
    /// assert!(gate.basic().is_some());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn basic_auth(mut self, auth: BasicAuth) -> Gate {
        self.basic = Some(auth);
        self
    }

    /// Replaces the accepted methods (default: POST only). An empty list keeps POST.
    ///
    /// ```
    /// use http::Method;
    /// let gate = hooksig::Gate::basic_only(hooksig::BasicAuth::new("u", "p")?)
    ///     .allow_methods([Method::POST, Method::PUT]);
    /// assert_eq!(gate.allow(), "POST, PUT");
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn allow_methods(mut self, methods: impl IntoIterator<Item = Method>) -> Gate {
        let methods: Vec<Method> = methods.into_iter().collect();
        if !methods.is_empty() {
            let joined = methods.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
            if let Ok(allow) = HeaderValue::from_str(&joined) {
                self.allow = allow;
                self.methods = methods.into();
            }
        }
        self
    }

    /// The verifier, if a signature scheme is checked.
    ///
    /// ```
    /// let gate = hooksig::Gate::basic_only(hooksig::BasicAuth::new("u", "p")?);
    /// assert!(gate.verifier().is_none());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn verifier(&self) -> Option<&Verifier> {
        self.verifier.as_ref()
    }

    /// The expected Basic credentials, if any.
    ///
    /// ```
    /// let gate = hooksig::Gate::new(hooksig::Verifier::new(hooksig::Scheme::tale(), "s")?);
    /// assert!(gate.basic().is_none());
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn basic(&self) -> Option<&BasicAuth> {
        self.basic.as_ref()
    }

    /// The value of the `Allow` header for a 405 answer.
    ///
    /// ```
    /// let gate = hooksig::Gate::new(hooksig::Verifier::new(hooksig::Scheme::tale(), "s")?);
    /// assert_eq!(gate.allow(), "POST");
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn allow(&self) -> &HeaderValue {
        &self.allow
    }

    /// The body limit: the verifier's, or [`DEFAULT_MAX_BODY`] without one.
    ///
    /// ```
    /// let gate = hooksig::Gate::basic_only(hooksig::BasicAuth::new("u", "p")?);
    /// assert_eq!(gate.max_body(), hooksig::DEFAULT_MAX_BODY);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn max_body(&self) -> usize {
        self.verifier.as_ref().map_or(DEFAULT_MAX_BODY, Verifier::max_body)
    }

    /// Extra headers a rejection with `error` should carry: `Allow` for 405,
    /// `WWW-Authenticate` for failed Basic credentials.
    ///
    /// ```
    /// let gate = hooksig::Gate::basic_only(hooksig::BasicAuth::new("u", "p")?);
    /// let (name, value) = gate.challenge_for(&hooksig::Error::Unauthorized).unwrap();
    /// assert_eq!(name, http::header::WWW_AUTHENTICATE);
    /// assert_eq!(value, "Basic realm=\"webhooks\"");
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn challenge_for(&self, error: &Error) -> Option<(HeaderName, HeaderValue)> {
        match error {
            Error::MethodNotAllowed => Some((http::header::ALLOW, self.allow.clone())),
            Error::Unauthorized => {
                self.basic.as_ref().map(|b| (http::header::WWW_AUTHENTICATE, b.challenge().clone()))
            }
            _ => None,
        }
    }

    /// Runs every pre-body check against the system clock; see [`Gate::admit_at`].
    ///
    /// ```
    /// let gate = hooksig::Gate::new(hooksig::Verifier::new(hooksig::Scheme::tale(), "s")?);
    /// let err = gate.admit("POST", &http::HeaderMap::new()).unwrap_err();
    /// assert_eq!(err.status(), http::StatusCode::UNAUTHORIZED);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn admit<H: HeaderSource + ?Sized>(
        &self,
        method: &str,
        headers: &H,
    ) -> Result<Option<Verification>, Error> {
        self.admit_at(method, headers, SystemTime::now())
    }

    /// Runs every pre-body check with `now` as the clock: method, credentials,
    /// `Content-Length` (a value above the limit is 413; a malformed or repeated one
    /// is 400), then the signature headers. Returns the streaming verification when a
    /// verifier is configured.
    ///
    /// ```
    /// let gate = hooksig::Gate::new(hooksig::Verifier::new(hooksig::Scheme::tale(), "s")?);
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("content-length", "3000000".parse().unwrap());
    /// let err = gate.admit_at("POST", &headers, std::time::SystemTime::now()).unwrap_err();
    /// assert_eq!(err, hooksig::Error::BodyTooLarge { limit: 2 * 1024 * 1024 });
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn admit_at<H: HeaderSource + ?Sized>(
        &self,
        method: &str,
        headers: &H,
        now: SystemTime,
    ) -> Result<Option<Verification>, Error> {
        if !self.methods.iter().any(|m| m.as_str() == method) {
            return Err(Error::MethodNotAllowed);
        }
        if let Some(basic) = &self.basic {
            basic.check(headers)?;
        }
        if let Some(len) = content_length(headers)?
            && len > self.max_body()
        {
            return Err(Error::BodyTooLarge { limit: self.max_body() });
        }
        self.verifier.as_ref().map(|v| v.begin_at(headers, now)).transpose()
    }
}

/// The declared body length, if any. Values that do not fit a `usize` count as
/// `usize::MAX` (too large, not malformed).
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// assert_eq!(hooksig::content_length(&headers)?, None);
/// headers.insert("content-length", "42".parse().unwrap());
/// assert_eq!(hooksig::content_length(&headers)?, Some(42));
/// # Ok::<(), hooksig::Error>(())
/// ```
pub fn content_length<H: HeaderSource + ?Sized>(headers: &H) -> Result<Option<usize>, Error> {
    let name = http::header::CONTENT_LENGTH;
    let mut values = headers.header_values(&name);
    let Some(first) = values.next() else { return Ok(None) };
    let malformed = |reason| Error::MalformedHeader { name: http::header::CONTENT_LENGTH, reason };
    if values.next().is_some() {
        return Err(malformed("header repeated"));
    }
    if first.is_empty() || !first.iter().all(u8::is_ascii_digit) {
        return Err(malformed("not a decimal length"));
    }
    let len = first
        .iter()
        .try_fold(0usize, |acc, d| acc.checked_mul(10)?.checked_add(usize::from(d.wrapping_sub(b'0'))));
    Ok(Some(len.unwrap_or(usize::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Scheme, Signer};

    fn signed(body: &[u8]) -> http::HeaderMap {
        Signer::new(Scheme::tale(), "s").unwrap().sign(body).unwrap()
    }

    #[test]
    fn checks_run_cheapest_first() {
        let gate = Gate::new(Verifier::builder(Scheme::tale()).secret("s").max_body(10).build().unwrap())
            .basic_auth(BasicAuth::new("u", "p").unwrap());
        let mut headers = http::HeaderMap::new();
        headers.insert("content-length", "11".parse().unwrap());
        // No credentials, no signature, too long, wrong method: the method speaks first.
        assert_eq!(gate.admit("GET", &headers).unwrap_err(), Error::MethodNotAllowed);
        assert_eq!(gate.admit("POST", &headers).unwrap_err(), Error::Unauthorized);
        headers.insert("authorization", "Basic dTpw".parse().unwrap());
        assert_eq!(gate.admit("POST", &headers).unwrap_err(), Error::BodyTooLarge { limit: 10 });
        headers.insert("content-length", "2".parse().unwrap());
        assert!(matches!(gate.admit("POST", &headers).unwrap_err(), Error::MissingHeader { .. }));
        headers.extend(signed(b"{}"));
        let mut v = gate.admit("POST", &headers).unwrap().unwrap();
        v.update(b"{}").unwrap();
        v.finish().unwrap();
    }

    #[test]
    fn content_length_is_strict() {
        let mut h = http::HeaderMap::new();
        assert_eq!(content_length(&h), Ok(None));
        h.insert("content-length", "99999999999999999999999".parse().unwrap());
        assert_eq!(content_length(&h), Ok(Some(usize::MAX)));
        for bad in ["", "-1", "1.0", " 1", "0x1"] {
            h.insert("content-length", bad.parse().unwrap());
            assert!(content_length(&h).is_err(), "{bad:?}");
        }
        h.insert("content-length", "1".parse().unwrap());
        h.append("content-length", "1".parse().unwrap());
        assert!(content_length(&h).is_err());
    }
}
