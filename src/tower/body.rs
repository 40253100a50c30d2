//! The bodies the layer hands on and answers with, and the bounded collector that
//! reads a request body into memory while feeding the verification.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};

use crate::{Error, Verification, Verified};

/// Errors a request body may fail with, as the layer accepts them.
pub(crate) type BoxError = Box<dyn StdError + Send + Sync>;

/// The request body the inner service receives: exactly the bytes that were received
/// and verified, in one piece.
///
/// It yields a single data frame (none for an empty body), never fails, and reports
/// an exact size hint. The proof of verification travels beside it, as the
/// [`crate::Verified`] request extension.
///
/// ```
/// use bytes::Bytes;
/// use http::{Request, Response};
/// use hooksig::tower::VerifiedBody;
/// use http_body::Body as _;
///
/// // An inner service sees `Request<VerifiedBody>`.
/// async fn handler(req: Request<VerifiedBody>) -> Result<Response<String>, std::convert::Infallible> {
///     let verified = req.extensions().get::<hooksig::Verified>().cloned();
///     let body = req.into_body();
///     assert_eq!(body.size_hint().exact(), Some(body.len() as u64));
///     let bytes: Bytes = body.into_bytes();
///     Ok(Response::new(format!("{} bytes, key {:?}", bytes.len(), verified.map(|v| v.key_index()))))
/// }
/// # let _ = handler;
/// ```
#[derive(Default)]
pub struct VerifiedBody {
    data: Bytes,
}

impl VerifiedBody {
    pub(crate) fn new(data: Bytes) -> VerifiedBody {
        VerifiedBody { data }
    }

    /// The bytes not yet read from the body (all of them until it is polled).
    ///
    /// ```
    /// let body = hooksig::tower::VerifiedBody::default();
    /// assert!(body.as_bytes().is_empty());
    /// ```
    pub fn as_bytes(&self) -> &Bytes {
        &self.data
    }

    /// The number of bytes not yet read.
    ///
    /// ```
    /// assert_eq!(hooksig::tower::VerifiedBody::default().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether no bytes are left.
    ///
    /// ```
    /// assert!(hooksig::tower::VerifiedBody::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The bytes, without copying.
    ///
    /// ```
    /// assert!(hooksig::tower::VerifiedBody::default().into_bytes().is_empty());
    /// ```
    pub fn into_bytes(self) -> Bytes {
        self.data
    }
}

impl fmt::Debug for VerifiedBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedBody").field("len", &self.data.len()).finish()
    }
}

impl Body for VerifiedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if this.data.is_empty() {
            Poll::Ready(None)
        } else {
            Poll::Ready(Some(Ok(Frame::data(std::mem::take(&mut this.data)))))
        }
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.len() as u64)
    }
}

pin_project_lite::pin_project! {
    /// The response body of [`crate::tower::VerifyService`]: the inner service's body,
    /// or the (short, in-memory) body of a rejection.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http_body::Body as _;
    /// use http_body_util::{BodyExt, Empty, Full};
    /// use hooksig::tower::{ResponseBody, VerifiedBody, VerifyLayer};
    /// use tower::{Layer, ServiceExt};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// let verifier = hooksig::Verifier::new(hooksig::Scheme::tale(), "secret")?;
    /// let inner = tower::service_fn(|_: http::Request<VerifiedBody>| async {
    ///     Ok::<_, Infallible>(http::Response::new(Full::new(bytes::Bytes::from("ok"))))
    /// });
    /// let service = VerifyLayer::new(verifier).layer(inner);
    /// let response = service.oneshot(http::Request::post("/").body(Empty::<bytes::Bytes>::new())?).await?;
    /// let body: ResponseBody<Full<bytes::Bytes>> = response.into_body();
    /// assert_eq!(body.size_hint().exact(), Some("missing signature".len() as u64));
    /// assert_eq!(body.collect().await?.to_bytes(), "missing signature");
    /// # Ok(())
    /// # }
    /// ```
    #[project = ResponseBodyProj]
    pub struct ResponseBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project_lite::pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Inner { #[pin] body: B },
        Rejection { data: Bytes },
    }
}

impl<B> ResponseBody<B> {
    pub(crate) fn inner(body: B) -> ResponseBody<B> {
        ResponseBody { kind: Kind::Inner { body } }
    }

    pub(crate) fn rejection(data: Bytes) -> ResponseBody<B> {
        ResponseBody { kind: Kind::Rejection { data } }
    }
}

impl<B: fmt::Debug> fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Inner { body } => f.debug_tuple("ResponseBody::Inner").field(body).finish(),
            Kind::Rejection { data } => f.debug_tuple("ResponseBody::Rejection").field(&data.len()).finish(),
        }
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().kind.project() {
            KindProj::Inner { body } => body.poll_frame(cx),
            KindProj::Rejection { data } => {
                if data.is_empty() {
                    Poll::Ready(None)
                } else {
                    Poll::Ready(Some(Ok(Frame::data(std::mem::take(data)))))
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Rejection { data } => data.is_empty(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Rejection { data } => SizeHint::with_exact(data.len() as u64),
        }
    }
}

/// Reads a body into one buffer, at most `limit` bytes, feeding the verification.
pub(crate) struct Collector {
    verification: Option<Verification>,
    limit: usize,
    /// Capacity to reserve once a second chunk arrives: the declared length, which the
    /// gate has already checked against the limit, and never more than the limit.
    reserve: usize,
    received: usize,
    first: Option<Bytes>,
    rest: BytesMut,
}

impl Collector {
    pub(crate) fn new(
        verification: Option<Verification>,
        limit: usize,
        declared: Option<usize>,
    ) -> Collector {
        Collector {
            verification,
            limit,
            reserve: declared.unwrap_or(0).min(limit),
            received: 0,
            first: None,
            rest: BytesMut::new(),
        }
    }

    fn push(&mut self, chunk: Bytes) -> Result<(), Error> {
        let total = self.received.saturating_add(chunk.len());
        if total > self.limit {
            return Err(Error::BodyTooLarge { limit: self.limit });
        }
        if let Some(verification) = &mut self.verification {
            verification.update(&chunk)?;
        }
        self.received = total;
        if chunk.is_empty() {
            return Ok(());
        }
        match self.first.take() {
            None if self.rest.is_empty() => self.first = Some(chunk),
            first => {
                if self.rest.is_empty() {
                    self.rest.reserve(self.reserve.max(total));
                }
                if let Some(first) = first {
                    self.rest.extend_from_slice(&first);
                }
                self.rest.extend_from_slice(&chunk);
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(Bytes, Option<Verified>), Error> {
        let bytes = match self.first.take() {
            Some(first) => first,
            None => std::mem::take(&mut self.rest).freeze(),
        };
        let verified = self.verification.take().map(Verification::finish).transpose()?;
        Ok((bytes, verified))
    }

    /// Polls `body` until it ends, the limit is passed or it fails.
    pub(crate) fn poll_collect<B>(
        &mut self,
        mut body: Pin<&mut B>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(Bytes, Option<Verified>), Error>>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<BoxError>,
    {
        loop {
            match ready!(body.as_mut().poll_frame(cx)) {
                None => return Poll::Ready(self.finish()),
                Some(Ok(frame)) => {
                    // Trailers are not covered by any scheme; they are dropped.
                    if let Ok(data) = frame.into_data() {
                        self.push(data)?;
                    }
                }
                Some(Err(err)) => return Poll::Ready(Err(self.read_error(err.into()))),
            }
        }
    }

    /// A body error: a length limit set further out (`http_body_util::Limited`, as
    /// used by tower-http's `RequestBodyLimitLayer` and axum's `DefaultBodyLimit`) is
    /// still 413, reported with the number of bytes accepted before it tripped;
    /// anything else is 400.
    fn read_error(&self, err: BoxError) -> Error {
        let mut source: Option<&(dyn StdError + 'static)> = Some(&*err);
        while let Some(e) = source {
            if e.is::<http_body_util::LengthLimitError>() {
                return Error::BodyTooLarge { limit: self.received };
            }
            source = e.source();
        }
        Error::BodyRead
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Scheme, Signer, Verifier};
    use http_body_util::BodyExt;

    fn collector(limit: usize, body: &[u8]) -> Collector {
        let verifier = Verifier::builder(Scheme::tale()).secret("s").max_body(limit).build().unwrap();
        let headers = Signer::new(Scheme::tale(), "s").unwrap().sign(body).unwrap();
        Collector::new(Some(verifier.begin(&headers).unwrap()), limit, None)
    }

    #[test]
    fn chunks_are_joined_and_verified() {
        let mut c = collector(10, b"hello worl");
        for part in [&b"hel"[..], b"", b"lo wor", b"l"] {
            c.push(Bytes::copy_from_slice(part)).unwrap();
        }
        let (bytes, verified) = c.finish().unwrap();
        assert_eq!(&bytes[..], b"hello worl");
        assert!(verified.is_some());
    }

    #[test]
    fn one_chunk_is_not_copied() {
        let mut c = collector(10, b"abc");
        let chunk = Bytes::from_static(b"abc");
        c.push(chunk.clone()).unwrap();
        let (bytes, _) = c.finish().unwrap();
        assert_eq!(bytes.as_ptr(), chunk.as_ptr());
    }

    #[test]
    fn the_limit_is_enforced_before_buffering() {
        let mut c = collector(4, b"abcd");
        c.push(Bytes::from_static(b"abcd")).unwrap();
        assert_eq!(c.push(Bytes::from_static(b"e")), Err(Error::BodyTooLarge { limit: 4 }));
        assert_eq!(c.received, 4);
    }

    #[tokio::test]
    async fn verified_body_yields_its_bytes_once() {
        let body = VerifiedBody::new(Bytes::from_static(b"xyz"));
        assert_eq!(body.size_hint().exact(), Some(3));
        assert_eq!(&body.collect().await.unwrap().to_bytes()[..], b"xyz");
        let empty = VerifiedBody::default();
        assert!(empty.is_end_stream());
    }
}
