//! The bodies the layer hands on and answers with.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::pipeline::Chunks;

/// Errors a request body may fail with, as the layer accepts them.
pub(crate) type BoxError = Box<dyn StdError + Send + Sync>;

/// Whether a body error is a length limit set further out
/// (`http_body_util::LengthLimitError`), anywhere in its source chain.
pub(crate) fn is_length_limit(error: &(dyn StdError + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// The request body the inner service receives: exactly the bytes that were received
/// and verified, in the chunks they arrived in.
///
/// It yields one data frame per received chunk (none for an empty body), never fails,
/// and reports an exact size hint. The proof of verification travels beside it, as
/// the [`crate::Verified`] request extension. Nothing was joined or copied on the way:
/// [`VerifiedBody::into_bytes`] joins (one copy) only when the body arrived in
/// several chunks.
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
    state: Draining,
}

#[derive(Default)]
enum Draining {
    /// Not polled yet.
    #[default]
    Empty,
    Whole(Chunks),
    /// Being polled: the chunks not yet yielded and their length.
    Rest(std::vec::IntoIter<Bytes>, usize),
}

impl VerifiedBody {
    pub(crate) fn new(chunks: Chunks) -> VerifiedBody {
        VerifiedBody { state: Draining::Whole(chunks) }
    }

    /// The number of bytes not yet read.
    ///
    /// ```
    /// assert_eq!(hooksig::tower::VerifiedBody::default().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        match &self.state {
            Draining::Empty => 0,
            Draining::Whole(chunks) => chunks.len(),
            Draining::Rest(_, len) => *len,
        }
    }

    /// Whether no bytes are left.
    ///
    /// ```
    /// assert!(hooksig::tower::VerifiedBody::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes not yet read, in one piece: without copying when they arrived in one
    /// chunk, else joined into one buffer of exactly their length.
    ///
    /// ```
    /// assert!(hooksig::tower::VerifiedBody::default().into_bytes().is_empty());
    /// ```
    pub fn into_bytes(self) -> Bytes {
        self.into_chunks().to_bytes()
    }

    /// The bytes not yet read, as received.
    ///
    /// ```
    /// assert_eq!(hooksig::tower::VerifiedBody::default().into_chunks().chunk_count(), 0);
    /// ```
    pub fn into_chunks(self) -> Chunks {
        match self.state {
            Draining::Empty => Chunks::new(),
            Draining::Whole(chunks) => chunks,
            Draining::Rest(rest, _) => {
                let mut chunks = Chunks::new();
                rest.for_each(|chunk| chunks.push(chunk));
                chunks
            }
        }
    }
}

impl fmt::Debug for VerifiedBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedBody").field("len", &self.len()).finish()
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
        let next = match std::mem::take(&mut this.state) {
            Draining::Empty => None,
            Draining::Whole(chunks) => {
                let len = chunks.len();
                let mut rest = match chunks.into_single() {
                    Ok(one) => return Poll::Ready(Some(Ok(Frame::data(one))).filter(|_| len > 0)),
                    Err(all) => all.into_iter(),
                };
                let next = rest.next();
                let left = len.saturating_sub(next.as_ref().map_or(0, Bytes::len));
                this.state = Draining::Rest(rest, left);
                next
            }
            Draining::Rest(mut rest, len) => {
                let next = rest.next();
                let left = len.saturating_sub(next.as_ref().map_or(0, Bytes::len));
                if next.is_some() {
                    this.state = Draining::Rest(rest, left);
                }
                next
            }
        };
        Poll::Ready(next.filter(|chunk| !chunk.is_empty()).map(|chunk| Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len() as u64)
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
