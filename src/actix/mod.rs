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
//!   body it runs the pipeline's checks (method 405, HTTP Basic
//!   credentials 401, `Content-Length` 413, signature/timestamp/id headers 400/401);
//!   then it reads the payload chunk by chunk into the pipeline (hashing as it goes,
//!   keeping the chunks as received), stopping at the body limit (413), puts the
//!   exact bytes back into the request, inserts [`crate::Verified`] into the
//!   request extensions and calls the wrapped service. Rejections never reach it.
//! - [`Verified<T>`] wraps any body extractor (`Verified<web::Bytes>`,
//!   `Verified<web::Json<E>>`, `Verified<String>`). Behind the middleware it picks up
//!   the middleware's result (no second hash) when it came from the same
//!   [`Verifier`](crate::Verifier) (a clone of the one in `app_data`); on its own, or
//!   behind a middleware with other secrets, it takes the
//!   [`Verifier`](crate::Verifier) from `app_data`, buffers the body under the
//!   verifier's limit, verifies it and hands `T` the exact bytes.
//!
//! - For replay and duplicate protection ([`crate::replay`]) give the middleware a
//!   guard with [`VerifySignature::replay_guard`] (it completes a delivery on a 2xx
//!   response), or use the [`VerifiedOnce<T>`] extractor (the handler completes it
//!   with [`VerifiedOnce::complete`]). Either way a copy in progress gets 409 and a
//!   copy already processed gets 200 `duplicate delivery`, without the handler.
//!
//! The middleware is a thin adapter around the framework-neutral receive pipeline
//! ([`crate::pipeline::Receiver`]), the same one the tower layer drives: refusals
//! answer with the same status, the same short `text/plain` body and the same
//! headers (`Allow` on 405, `WWW-Authenticate` on a failed Basic check,
//! `Retry-After` on 409 and 503), and [`VerifySignature::on_rejection`] builds the
//! response with the same meaning as the tower layer's hook.
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

use actix_web::HttpResponse;
use actix_web::ResponseError;
use actix_web::body::BoxBody;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use bytes::Bytes;

use crate::error::{Error, Refusal};
use crate::headers::HeaderSource;
use crate::pipeline::{Chunks, default_response};

mod extract;
mod middleware;

pub use crate::pipeline::VerifiedOnce;
pub use extract::Verified;
pub use middleware::{VerifyFuture, VerifySignature, VerifySignatureMiddleware};

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
        // The standard names looked up on every request are looked up directly.
        // For any other, `HeaderMap::get_all(&str)` would build (and for a custom name
        // allocate) an http 0.2 name; scanning the map is allocation-free and headers
        // are few. One iterator or the other, not a chain of both: the chained
        // adapters cost more per value than the look-up.
        match standard_name(name) {
            Some(direct) => Values::Direct(self.get_all(direct)),
            None => Values::Scan(self.iter(), name),
        }
    }
}

/// The values of one name in actix-web's header map: looked up, or scanned for.
enum Values<'a> {
    Direct(std::slice::Iter<'a, HeaderValue>),
    Scan(actix_web::http::header::map::Iter<'a>, &'a http::HeaderName),
}

impl<'a> Iterator for Values<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        match self {
            Values::Direct(values) => values.next().map(HeaderValue::as_bytes),
            Values::Scan(all, name) => all
                .find(|(key, _)| key.as_str().eq_ignore_ascii_case(name.as_str()))
                .map(|(_, value)| value.as_bytes()),
        }
    }
}

/// actix-web's (http 0.2) name for the standard headers hooksig reads on every
/// request (`Content-Length`, and `Authorization` with HTTP Basic), without
/// allocating.
fn standard_name(name: &http::HeaderName) -> Option<HeaderName> {
    use actix_web::http::header;
    if *name == http::header::CONTENT_LENGTH {
        Some(header::CONTENT_LENGTH)
    } else if *name == http::header::AUTHORIZATION {
        Some(header::AUTHORIZATION)
    } else {
        None
    }
}

/// The extractors' rejections, and what handlers that `?` a
/// [`crate::Verifier::verify`] result answer with: the pipeline's default response
/// ([`default_response`]): status, short `text/plain` body, `Allow`,
/// `WWW-Authenticate` or `Retry-After` where they apply.
///
/// ```
/// use actix_web::ResponseError;
/// let response = hooksig::Error::SignatureMismatch.error_response();
/// assert_eq!(response.status().as_u16(), 401);
/// assert_eq!(response.headers().get("content-type").unwrap(), "text/plain; charset=utf-8");
/// ```
impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        status(self.status())
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        response(default_response(&Refusal::from(self.clone())))
    }
}

/// As for [`Error`]: 409 and 200 for the replay answers, with `Retry-After` on 409.
///
/// ```
/// use actix_web::ResponseError;
/// let response = hooksig::Refusal::InProgress.error_response();
/// assert_eq!(response.status().as_u16(), 409);
/// assert_eq!(response.headers().get("retry-after").unwrap(), "30");
/// ```
impl ResponseError for Refusal {
    fn status_code(&self) -> StatusCode {
        status(self.status())
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        response(default_response(self))
    }
}

fn status(status: http::StatusCode) -> StatusCode {
    StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// An `http` 1 response as actix-web's (which speaks `http` 0.2): converted by bytes.
pub(crate) fn response(response: http::Response<Bytes>) -> HttpResponse<BoxBody> {
    let (parts, body) = response.into_parts();
    let mut builder = HttpResponse::build(status(parts.status));
    for (name, value) in &parts.headers {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name.as_str().as_bytes()), HeaderValue::from_bytes(value.as_bytes()))
        {
            builder.append_header((name, value));
        }
    }
    builder.body(body)
}

/// A payload that yields the received chunks again, in order: one allocation (the
/// boxed stream), whatever the number of chunks.
pub(crate) fn payload(chunks: Chunks) -> Payload {
    let stream = match chunks.into_single() {
        Ok(one) => Replay { first: Some(one).filter(|one| !one.is_empty()), rest: Vec::new().into_iter() },
        Err(all) => Replay { first: None, rest: all.into_iter() },
    };
    Payload::Stream { payload: Box::pin(stream) }
}

/// The payload for the received chunks, given the payload they were read from, now
/// at its end. An HTTP/1 payload (actix-web's own, and the test requests') takes them
/// back into its queue, which kept its capacity: no allocation, where [`payload`]
/// boxes a stream (about 35 ns of `malloc` and `free` per 1 KiB request through the
/// middleware, perf on Xeon). Any other payload is replaced by [`payload`].
pub(crate) fn refill(drained: Payload, chunks: Chunks) -> Payload {
    match drained {
        Payload::H1 { payload: mut h1 } => {
            match chunks.into_single() {
                Ok(one) => {
                    if !one.is_empty() {
                        h1.unread_data(one);
                    }
                }
                // `unread_data` puts a chunk in front of the queue: last chunk first.
                Err(all) => all.into_iter().rev().for_each(|chunk| h1.unread_data(chunk)),
            }
            Payload::H1 { payload: h1 }
        }
        _ => payload(chunks),
    }
}

/// The stream behind [`payload`]: the first chunk, then the rest.
struct Replay {
    first: Option<Bytes>,
    rest: std::vec::IntoIter<Bytes>,
}

impl futures_util::Stream for Replay {
    type Item = Result<Bytes, actix_web::error::PayloadError>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let this = self.get_mut();
        std::task::Poll::Ready(this.first.take().or_else(|| this.rest.next()).map(Ok))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let chunks = usize::from(self.first.is_some()).saturating_add(self.rest.len());
        (chunks, Some(chunks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_match_case_insensitively() {
        let mut map = HeaderMap::new();
        map.append(HeaderName::from_static("x-vocalis-signature"), HeaderValue::from_static("v"));
        map.append(HeaderName::from_static("other"), HeaderValue::from_static("w"));
        let name = http::HeaderName::from_static("x-vocalis-signature");
        assert_eq!(map.header_values(&name).collect::<Vec<_>>(), [b"v".as_slice()]);
        assert_eq!(map.header_values(&http::header::CONTENT_LENGTH).count(), 0);
    }

    #[test]
    fn standard_names_give_every_value_in_order() {
        use actix_web::http::header::{AUTHORIZATION, CONTENT_LENGTH};
        let mut map = HeaderMap::new();
        map.append(CONTENT_LENGTH, HeaderValue::from_static("2"));
        map.append(HeaderName::from_static("x-a"), HeaderValue::from_static("v"));
        map.append(CONTENT_LENGTH, HeaderValue::from_static("3"));
        map.append(AUTHORIZATION, HeaderValue::from_static("Basic dTpw"));
        let values = map.header_values(&http::header::CONTENT_LENGTH).collect::<Vec<_>>();
        assert_eq!(values, [b"2".as_slice(), b"3".as_slice()]);
        let values = map.header_values(&http::header::AUTHORIZATION).collect::<Vec<_>>();
        assert_eq!(values, [b"Basic dTpw".as_slice()]);
        assert_eq!(
            crate::headers::content_length(&map),
            Err(Error::MalformedHeader { name: http::header::CONTENT_LENGTH, reason: "header repeated" })
        );
    }
}
