//! actix-web 4 integration: the [`VerifySignature`] middleware and the [`Verified`]
//! extractor (feature `actix`).
//!
//! ```no_run
//! use actix_web::{App, HttpResponse, HttpServer, web};
//! use hooksig::actix::{Verified, VerifySignature};
//! use hooksig::{Scheme, Verifier};
//!
//! async fn hook(body: Verified<web::Bytes>) -> HttpResponse {
//!     // Reached only for a POST whose `X-Vocalis-Signature` matches these exact bytes.
//!     HttpResponse::Ok().body(format!("{} verified bytes", body.len()))
//! }
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     let verifier = Verifier::new(Scheme::vocalis(), "my secret").map_err(std::io::Error::other)?;
//!     let limit = verifier.max_body();
//!     HttpServer::new(move || {
//!         App::new()
//!             // actix's own extractor limits, raised to the verifier's (see below).
//!             .app_data(web::PayloadConfig::new(limit))
//!             .app_data(web::JsonConfig::default().limit(limit))
//!             .service(
//!                 web::resource("/hooks/vocalis")
//!                     .wrap(VerifySignature::new(verifier.clone()))
//!                     .route(web::post().to(hook)),
//!             )
//!     })
//!     .bind(("127.0.0.1", 3001))?
//!     .run()
//!     .await
//! }
//! ```
//!
//! # Middleware or extractor
//!
//! - [`VerifySignature`] wraps an `App`, a `scope` or a `resource`. Before reading the
//!   body it runs the shared [`Gate`](crate::Gate) checks (method 405, HTTP Basic
//!   credentials 401, `Content-Length` 413, signature/timestamp/id headers 400/401);
//!   then it reads the payload chunk by chunk into the streaming
//!   [`Verification`], stopping at the body limit (413), puts
//!   the exact bytes back into the request, inserts [`crate::Verified`] into the
//!   request extensions and calls the wrapped service. Rejections never reach it.
//! - [`Verified<T>`] wraps any body extractor (`Verified<web::Bytes>`,
//!   `Verified<web::Json<E>>`, `Verified<String>`). Behind the middleware it only
//!   picks up the middleware's result (no second hash); on its own it takes the
//!   [`Verifier`](crate::Verifier) from `app_data`, buffers the body under the
//!   verifier's limit, verifies it and hands `T` the exact bytes.
//!
//! - For replay and duplicate protection ([`crate::replay`]) give the middleware a
//!   guard with [`VerifySignature::replay_guard`] (it completes a delivery on a 2xx
//!   response), or use the [`VerifiedOnce<T>`] extractor (the handler completes it
//!   with [`VerifiedOnce::complete`]). Either way a copy in progress gets 409 and a
//!   copy already processed gets 200 `duplicate delivery`, without the handler.
//!
//! Rejections answer with [`Error::status`] and [`Error::public_message`] as a
//! `text/plain` body (the same words as the tower layer), plus `Allow` on 405 and
//! `WWW-Authenticate` on a failed Basic check. [`VerifySignature::on_rejection`]
//! reports them to your metrics.
//!
//! # Payload limits: hooksig's and actix's
//!
//! Two limits apply, and the smaller wins:
//!
//! - the verifier's [`max_body`](crate::VerifierBuilder::max_body) (2 MiB by
//!   default), enforced by the middleware and the extractor from `Content-Length`
//!   and again while streaming, so an oversized or endless body is refused with 413
//!   without being buffered;
//! - actix's extractor limits, applied when `T` reads the bytes handed back:
//!   [`web::PayloadConfig`](actix_web::web::PayloadConfig) for `web::Bytes` and
//!   `String` (**256 KiB** by default) and
//!   [`web::JsonConfig`](actix_web::web::JsonConfig) for `web::Json` (**2 MiB** by
//!   default). A signed body between 256 KiB and the verifier's limit is verified
//!   and then refused with 413 by `web::Bytes` unless you raise `PayloadConfig`.
//!
//! Set both actix limits to the verifier's, as in the example above, so that one
//! number decides. `web::Json` also insists on a JSON `Content-Type` (400
//! otherwise); extract `web::Bytes` and parse with `serde_json::from_slice` to
//! accept any content type. The signature covers the bytes on the wire: if you
//! enable actix's `compress-*` features, the `Bytes` and `Json` extractors
//! decompress after verification.
//!
//! # Connections
//!
//! A delivery refused after its body was read (signature mismatch) leaves the
//! keep-alive connection usable. One refused *before* its body is read (405, 401,
//! 413, bad signature headers) is answered at once; actix-web then closes the
//! connection when a `Content-Length` body was left unread (it drains a dropped
//! chunked body instead). The middleware never reads a body it has already refused.

use actix_web::body::BoxBody;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt as _;

use crate::{Error, HeaderSource, Verification};

mod extract;
mod middleware;

pub use extract::{Verified, VerifiedOnce};
pub use middleware::{VerifySignature, VerifySignatureMiddleware};

/// Reads actix-web's header map in place: no copy into an `http` 1 map, no
/// allocation. Names are compared case-insensitively.
///
/// ```
/// use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
/// use hooksig::HeaderSource;
///
/// let mut map = HeaderMap::new();
/// map.append(HeaderName::from_static("x-a"), HeaderValue::from_static("1"));
/// map.append(HeaderName::from_static("x-a"), HeaderValue::from_static("2"));
/// let name = http::HeaderName::from_static("x-a");
/// let values: Vec<&[u8]> = map.header_values(&name).collect();
/// assert_eq!(values, [b"1".as_slice(), b"2".as_slice()]);
/// ```
impl HeaderSource for HeaderMap {
    fn header_values<'a>(&'a self, name: &'a http::HeaderName) -> impl Iterator<Item = &'a [u8]> + 'a {
        // `HeaderMap::get_all(&str)` would build (and for custom names allocate) an
        // http 0.2 name; scanning the map is allocation-free and headers are few.
        self.iter()
            .filter(move |(key, _)| key.as_str().eq_ignore_ascii_case(name.as_str()))
            .map(|(_, value)| value.as_bytes())
    }
}

/// The extractor's rejections: [`Error::status`] with [`Error::public_message`] as a
/// `text/plain` body.
///
/// The middleware builds its own rejections so that it can add `Allow` and
/// `WWW-Authenticate`; this impl is what [`Verified<T>`] and handlers that `?` a
/// [`crate::Verifier::verify`] result answer with.
///
/// ```
/// use actix_web::ResponseError;
/// let response = hooksig::Error::SignatureMismatch.error_response();
/// assert_eq!(response.status().as_u16(), 401);
/// assert_eq!(response.headers().get("content-type").unwrap(), "text/plain; charset=utf-8");
/// ```
impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status().as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        rejection(self, None)
    }
}

/// A rejection response: status, short plain-text body, and the challenge header the
/// gate asks for (converted from `http` 1 by bytes).
fn rejection(
    error: &Error,
    challenge: Option<(http::HeaderName, http::HeaderValue)>,
) -> HttpResponse<BoxBody> {
    let mut response = HttpResponse::build(error.status_code());
    response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8")));
    if let Some((name, value)) = challenge
        && let Ok(name) = HeaderName::from_bytes(name.as_str().as_bytes())
        && let Ok(value) = HeaderValue::from_bytes(value.as_bytes())
    {
        response.insert_header((name, value));
    }
    response.body(error.public_message())
}

/// The answer to a delivery the replay guard kept from the handler: 409
/// `delivery in progress` or 200 `duplicate delivery`, as `text/plain`.
fn replay_answer(status: http::StatusCode, message: &'static str) -> HttpResponse<BoxBody> {
    HttpResponse::build(StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8")))
        .body(message)
}

/// Feeds the payload through `verification` chunk by chunk and keeps the bytes.
///
/// Each chunk is checked against the limit before it is kept, so at most the limit
/// (plus the one refused chunk, which is dropped) is ever held, and reading stops
/// there. Nothing is reserved from `Content-Length`.
async fn read_verified<S>(
    payload: &mut actix_web::dev::Payload<S>,
    mut verification: Verification,
) -> Result<(Bytes, crate::Verified), Error>
where
    S: futures_util::Stream<Item = Result<Bytes, actix_web::error::PayloadError>> + Unpin,
{
    let mut body = Body::default();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| Error::BodyRead)?;
        verification.update(&chunk)?;
        body.push(chunk);
    }
    let verified = verification.finish()?;
    Ok((body.into_bytes(), verified))
}

/// The body as received: a single chunk is kept as is (no copy); several are joined.
#[derive(Default)]
struct Body {
    first: Option<Bytes>,
    joined: BytesMut,
}

impl Body {
    fn push(&mut self, chunk: Bytes) {
        if chunk.is_empty() {
            return;
        }
        match self.first.take() {
            None if self.joined.is_empty() => self.first = Some(chunk),
            Some(first) => {
                self.joined.reserve(first.len().saturating_add(chunk.len()));
                self.joined.extend_from_slice(&first);
                self.joined.extend_from_slice(&chunk);
            }
            None => self.joined.extend_from_slice(&chunk),
        }
    }

    fn into_bytes(self) -> Bytes {
        match self.first {
            Some(first) => first,
            None => self.joined.freeze(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_keeps_bytes_in_order() {
        let body = Body::default();
        assert!(body.into_bytes().is_empty());

        let mut body = Body::default();
        body.push(Bytes::from_static(b"one"));
        assert_eq!(body.into_bytes(), "one");

        let mut body = Body::default();
        for part in ["a", "", "bc", "d"] {
            body.push(Bytes::from_static(part.as_bytes()));
        }
        assert_eq!(body.into_bytes(), "abcd");
    }

    #[test]
    fn header_names_match_case_insensitively() {
        let mut map = HeaderMap::new();
        map.append(HeaderName::from_static("x-vocalis-signature"), HeaderValue::from_static("v"));
        map.append(HeaderName::from_static("other"), HeaderValue::from_static("w"));
        let name = http::HeaderName::from_static("x-vocalis-signature");
        assert_eq!(map.header_values(&name).collect::<Vec<_>>(), [b"v".as_slice()]);
        assert_eq!(map.header_values(&http::header::CONTENT_LENGTH).count(), 0);
    }
}
