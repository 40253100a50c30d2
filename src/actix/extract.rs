//! The all-or-nothing [`Verified<T>`] extractor, and [`VerifiedOnce<T>`], which also
//! processes each delivery once.

use std::ops::{Deref, DerefMut};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, web};
use futures_util::StreamExt as _;
use futures_util::future::LocalBoxFuture;

use crate::error::{Error, Refusal};
use crate::pipeline::Chunks;
use crate::pipeline::VerifiedOnce;
use crate::replay::{Pass, ReplayProtection, ReplayState};
use crate::verify::Verifier;

/// Extracts `T` from a body whose signature has been verified, or refuses the
/// request.
///
/// - Behind [`VerifySignature`](super::VerifySignature) the body was verified already:
///   when the middleware's [`crate::verify::Verified`] came from the same verifier as the one
///   in `app_data` (a clone of it: [`crate::verify::Verified::is_from`]), the extractor
///   takes it and lets `T` read the bytes the middleware put back. Nothing is hashed
///   twice. A proof from another verifier (a middleware holding other tenants'
///   secrets) is not trusted: the body is verified here.
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
    verified: crate::verify::Verified,
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
    pub fn verified(&self) -> &crate::verify::Verified {
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
    pub fn into_parts(self) -> (T, crate::verify::Verified) {
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
        let verifier = app_data::<Verifier>(req);
        if let Some(verified) = trusted_proof(req, verifier.as_ref()) {
            let inner = T::from_request(req, payload);
            return Box::pin(
                async move { Ok(Verified { inner: inner.await.map_err(Into::into)?, verified }) },
            );
        }
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let (chunks, verified) = verify(&req, &mut payload, verifier).await?;
            let inner = T::from_request(&req, &mut super::payload(chunks)).await.map_err(Into::into)?;
            Ok(Verified { inner, verified })
        })
    }
}

/// The middleware's proof, if it came from `verifier` (an identity check).
fn trusted_proof(req: &HttpRequest, verifier: Option<&Verifier>) -> Option<crate::verify::Verified> {
    let verifier = verifier?;
    req.extensions().get::<crate::verify::Verified>().filter(|proof| proof.is_from(verifier)).cloned()
}

/// `T` from `app_data`, registered as a plain value (looked up first) or as
/// `web::Data<T>`.
fn app_data<T: Clone + 'static>(req: &HttpRequest) -> Option<T> {
    req.app_data::<T>().cloned().or_else(|| req.app_data::<web::Data<T>>().map(|data| T::clone(data)))
}

/// Verifies the body with `verifier` (the extractor's path, without a trusted
/// middleware proof): the exact bytes and the proof, also put into the extensions.
async fn verify(
    req: &HttpRequest,
    payload: &mut Payload,
    verifier: Option<Verifier>,
) -> Result<(Chunks, crate::verify::Verified), Refusal> {
    let verifier = verifier.ok_or(Error::InvalidConfig { reason: "no hooksig::Verifier in app_data" })?;
    // Checks Content-Length against the limit, then the signature headers.
    let mut verification = verifier.begin(req.headers())?;
    let chunks = collect(payload, |chunk| verification.update(chunk)).await?;
    let verified = verification.finish()?;
    req.extensions_mut().insert(verified.clone());
    Ok((chunks, verified))
}

/// Reads the payload into [`Chunks`], handing each chunk to `take` first.
async fn collect(
    payload: &mut Payload,
    mut take: impl FnMut(&[u8]) -> Result<(), Error>,
) -> Result<Chunks, Refusal> {
    let mut chunks = Chunks::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| Error::BodyRead)?;
        take(&chunk)?;
        chunks.push(chunk);
    }
    Ok(chunks)
}

/// [`VerifiedOnce<T>`] with actix-web: [`Verified<T>`] that also processes each
/// delivery once, for a handler that must not run twice for one delivery, without
/// the middleware.
///
/// It verifies like [`Verified<T>`] (the [`Verifier`] from `app_data`), claims the
/// delivery with the [`ReplayProtection`] from `app_data` (a plain value or
/// `web::Data<ReplayProtection>`; register one clone for all workers), then
/// extracts `T`:
///
/// - **first sight**: the handler runs, holding the claim. After processing it
///   calls [`VerifiedOnce::complete`] and then answers 2xx. If it does not complete
///   (an error return, an early return, a panic), the claim is released when the
///   extractor is dropped, so the sender's retry is processed: nothing is
///   acknowledged as done that was not processed.
/// - **in progress** elsewhere: answered 409 `delivery in progress`, the handler
///   does not run.
/// - **already done**: answered 200 `duplicate delivery`, the handler does not run.
/// - **store unavailable**: 503 with [`FailMode::Closed`](crate::replay::FailMode)
///   (the default); with `FailMode::Open` the handler runs unguarded
///   ([`ReplayState::Unguarded`]).
///
/// Behind [`VerifySignature`](super::VerifySignature) with a
/// [`replay_guard`](super::VerifySignature::replay_guard) the middleware has run
/// the protocol already (a [`ReplayState`] is in the request extensions): the
/// extractor does not claim again, and [`complete`](VerifiedOnce::complete) is a
/// no-op since the middleware completes on a 2xx response. Without a
/// `ReplayProtection` in `app_data` (and no middleware guard) it answers 500.
///
/// Complete last: the extractor cannot see the handler's response, and a completed
/// delivery answered with anything but 2xx would be retried by the sender and then
/// taken for a duplicate.
///
/// ```
/// use actix_web::{App, HttpResponse, test, web};
/// use hooksig::actix::VerifiedOnce;
/// use hooksig::replay::{MemoryReplayGuard, ReplayProtection};
/// use hooksig::{Scheme, Signer, Verifier};
///
/// async fn hook(mut body: VerifiedOnce<web::Bytes>) -> Result<HttpResponse, hooksig::Error> {
///     // ... process `body` (it derefs to the `web::Bytes`) ...
///     body.complete().await?;
///     Ok(HttpResponse::Ok().body("processed"))
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let replay = ReplayProtection::new(MemoryReplayGuard::new(100_000));
/// let app = test::init_service(
///     App::new()
///         .app_data(Verifier::new(Scheme::vocalis(), "s")?)
///         .app_data(replay)
///         .route("/hook", web::post().to(hook)),
/// )
/// .await;
/// let delivery = || -> Result<_, hooksig::Error> {
///     let mut req = test::TestRequest::post().uri("/hook").set_payload("{}");
///     for (name, value) in &Signer::new(Scheme::vocalis(), "s")?.sign(b"{}")? {
///         req = req.insert_header((name.as_str(), value.as_bytes()));
///     }
///     Ok(req.to_request())
/// };
/// assert_eq!(test::read_body(test::call_service(&app, delivery()?).await).await, "processed");
/// assert_eq!(test::read_body(test::call_service(&app, delivery()?).await).await, "duplicate delivery");
/// # Ok::<(), hooksig::Error>(())
/// # })?;
/// # Ok::<(), hooksig::Error>(())
/// ```
impl<T> FromRequest for VerifiedOnce<T>
where
    T: FromRequest + 'static,
{
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let verifier = app_data::<Verifier>(req);
        let trusted = trusted_proof(req, verifier.as_ref());
        // A middleware that verified with this verifier and ran the protocol holds the
        // claim (or ran unguarded): do not claim again.
        let ran = trusted.as_ref().and_then(|_| req.extensions().get::<ReplayState>().copied());
        let replay = app_data::<ReplayProtection>(req);
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let (verified, pass, mut payload) = match (trusted, ran) {
                (Some(verified), Some(ran)) => (verified, Pass::unclaimed(ran), payload),
                (Some(verified), None) => {
                    let chunks = collect(&mut payload, |_| Ok(())).await?;
                    let pass = claim(replay, &verified, &chunks).await?;
                    (verified, pass, super::payload(chunks))
                }
                (None, _) => {
                    let (chunks, verified) = verify(&req, &mut payload, verifier).await?;
                    let pass = claim(replay, &verified, &chunks).await?;
                    (verified, pass, super::payload(chunks))
                }
            };
            // Claimed before `T` reads the body, so that a copy in progress or done is
            // answered without parsing; if `T` refuses the body, the pass is dropped
            // and its claim released.
            let inner = T::from_request(&req, &mut payload).await.map_err(Into::into)?;
            Ok(VerifiedOnce::new(inner, verified, pass))
        })
    }
}

/// Claims a verified delivery with the `ReplayProtection` from `app_data`.
async fn claim(
    replay: Option<ReplayProtection>,
    verified: &crate::verify::Verified,
    chunks: &Chunks,
) -> Result<Pass, Refusal> {
    let replay =
        replay.ok_or(Error::InvalidConfig { reason: "no hooksig::replay::ReplayProtection in app_data" })?;
    replay.check_chunks(verified, chunks.slices()).await
}
