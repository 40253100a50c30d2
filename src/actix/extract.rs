//! The all-or-nothing [`Verified<T>`] extractor.

use std::ops::{Deref, DerefMut};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use crate::{Error, Verifier};

/// Extracts `T` from a body whose signature has been verified, or refuses the
/// request.
///
/// - Behind [`VerifySignature`](super::VerifySignature) the body was verified already:
///   the extractor takes the middleware's [`crate::Verified`] from the request
///   extensions and lets `T` read the bytes the middleware put back. Nothing is
///   hashed twice.
/// - On its own, it takes the [`Verifier`] from `app_data`, registered either as a
///   plain `Verifier` (`.app_data(verifier.clone())`; it is an `Arc` inside) or as
///   `web::Data<Verifier>` (the plain value is looked up first). It refuses a
///   `Content-Length` above [`Verifier::max_body`] (413) and bad signature headers
///   before reading, streams the body through the verification under that limit,
///   then hands `T` the exact bytes. Without a verifier it answers 500
///   ([`Error::InvalidConfig`]).
///
/// Either way `T` still applies its own limits (`web::PayloadConfig`,
/// `web::JsonConfig`; see the [module docs](super)). Use one body extractor per
/// handler: the body is read once. The extractor does not check the method; route
/// with `web::post()`. Rejections are [`Error`] responses (status and a short
/// plain-text body) or `T`'s own.
///
/// ```
/// use actix_web::{App, HttpResponse, test, web};
/// use hooksig::actix::Verified;
/// use hooksig::{Scheme, Signer, Verifier};
///
/// #[derive(serde::Deserialize)]
/// struct Ping {
///     zen: String,
/// }
///
/// async fn hook(ping: Verified<web::Json<Ping>>) -> HttpResponse {
///     HttpResponse::Ok().body(format!("{} (key {})", ping.zen, ping.verified().key_index()))
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let verifier = Verifier::new(Scheme::github(), "s")?;
/// let app = test::init_service(App::new().app_data(verifier).route("/hook", web::post().to(hook))).await;
///
/// let body = br#"{"zen":"Keep it logically awesome."}"#;
/// let mut req = test::TestRequest::post().uri("/hook").insert_header(("content-type", "application/json"));
/// for (name, value) in &Signer::new(Scheme::github(), "s")?.sign(body)? {
///     req = req.insert_header((name.as_str(), value.as_bytes()));
/// }
/// let res = test::call_service(&app, req.set_payload(&body[..]).to_request()).await;
/// assert_eq!(res.status(), 200);
/// assert_eq!(test::read_body(res).await, "Keep it logically awesome. (key 0)");
///
/// let forged = test::TestRequest::post()
///     .uri("/hook")
///     .insert_header(("x-hub-signature-256", format!("sha256={}", "0".repeat(64))))
///     .set_payload(&body[..])
///     .to_request();
/// let res = test::call_service(&app, forged).await;
/// assert_eq!(res.status(), 401);
/// assert_eq!(test::read_body(res).await, "signature mismatch");
/// # Ok::<(), hooksig::Error>(())
/// # })?;
/// # Ok::<(), hooksig::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Verified<T> {
    inner: T,
    verified: crate::Verified,
}

impl<T> Verified<T> {
    /// What was verified: scheme, matched key, timestamp, delivery id.
    ///
    /// ```
    /// use actix_web::web;
    /// async fn hook(body: hooksig::actix::Verified<web::Bytes>) -> String {
    ///     format!("delivery {:?} signed with key {}", body.verified().id(), body.verified().key_index())
    /// }
    /// # let _ = web::post().to(hook);
    /// ```
    pub fn verified(&self) -> &crate::Verified {
        &self.verified
    }

    /// The extracted value.
    ///
    /// ```
    /// use actix_web::web;
    /// async fn hook(body: hooksig::actix::Verified<web::Bytes>) -> web::Bytes {
    ///     body.into_inner()
    /// }
    /// # let _ = web::post().to(hook);
    /// ```
    pub fn into_inner(self) -> T {
        self.inner
    }

    /// The extracted value and the proof of verification.
    ///
    /// ```
    /// use actix_web::web;
    /// async fn hook(body: hooksig::actix::Verified<String>) -> String {
    ///     let (text, verified) = body.into_parts();
    ///     format!("{} bytes, timestamp {:?}", text.len(), verified.timestamp())
    /// }
    /// # let _ = web::post().to(hook);
    /// ```
    pub fn into_parts(self) -> (T, crate::Verified) {
        (self.inner, self.verified)
    }
}

impl<T> Deref for Verified<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T> DerefMut for Verified<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T> FromRequest for Verified<T>
where
    T: FromRequest + 'static,
{
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let already = req.extensions().get::<crate::Verified>().cloned();
        if let Some(verified) = already {
            let inner = T::from_request(req, payload);
            return Box::pin(
                async move { Ok(Verified { inner: inner.await.map_err(Into::into)?, verified }) },
            );
        }

        let verifier = req
            .app_data::<Verifier>()
            .cloned()
            .or_else(|| req.app_data::<web::Data<Verifier>>().map(|data| Verifier::clone(data)));
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let verifier =
                verifier.ok_or(Error::InvalidConfig { reason: "no hooksig::Verifier in app_data" })?;
            if let Some(len) = crate::content_length(req.headers())?
                && len > verifier.max_body()
            {
                return Err(Error::BodyTooLarge { limit: verifier.max_body() }.into());
            }
            let verification = verifier.begin(req.headers())?;
            let (body, verified) = super::read_verified(&mut payload, verification).await?;
            req.extensions_mut().insert(verified.clone());
            let inner = T::from_request(&req, &mut Payload::from(body)).await.map_err(Into::into)?;
            Ok(Verified { inner, verified })
        })
    }
}
