//! [`Chunks`]: a body as received, in the chunks it arrived in.

use std::fmt;

use bytes::{Bytes, BytesMut};

/// The exact bytes of a body, kept in the chunks they arrived in.
///
/// Joining chunks into one buffer would copy the body and, without a
/// `Content-Length`, grow a buffer by doubling (up to twice the body in memory).
/// `Chunks` keeps each received chunk as it is, so holding a body costs the body and
/// a small list. A body that arrived in one chunk (the common case for small
/// deliveries) is held without any allocation of its own.
///
/// ```
/// use bytes::Bytes;
/// use hooksig::pipeline::Chunks;
///
/// let mut body = Chunks::new();
/// body.push(Bytes::from_static(b"{\"a\":"));
/// body.push(Bytes::new()); // empty chunks are dropped
/// body.push(Bytes::from_static(b"1}"));
/// assert_eq!(body.len(), 7);
/// assert_eq!(body.chunk_count(), 2);
/// assert_eq!(body.to_bytes(), "{\"a\":1}");
/// assert_eq!(body.iter().map(|c| c.len()).collect::<Vec<_>>(), [5, 2]);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Chunks {
    kind: Kind,
    len: usize,
}

#[derive(Clone, Default, PartialEq, Eq)]
enum Kind {
    #[default]
    Empty,
    One(Bytes),
    Many(Vec<Bytes>),
}

impl Chunks {
    /// No bytes.
    ///
    /// ```
    /// assert!(hooksig::pipeline::Chunks::new().is_empty());
    /// ```
    pub fn new() -> Chunks {
        Chunks::default()
    }

    /// Appends a chunk (an empty one is dropped).
    pub fn push(&mut self, chunk: Bytes) {
        if chunk.is_empty() {
            return;
        }
        self.len = self.len.saturating_add(chunk.len());
        self.kind = match std::mem::take(&mut self.kind) {
            Kind::Empty => Kind::One(chunk),
            Kind::One(first) => Kind::Many(vec![first, chunk]),
            Kind::Many(mut all) => {
                all.push(chunk);
                Kind::Many(all)
            }
        };
    }

    /// The number of bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of (non-empty) chunks.
    pub fn chunk_count(&self) -> usize {
        match &self.kind {
            Kind::Empty => 0,
            Kind::One(_) => 1,
            Kind::Many(all) => all.len(),
        }
    }

    /// The chunks, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Bytes> {
        match &self.kind {
            Kind::Empty => [].iter(),
            Kind::One(one) => std::slice::from_ref(one).iter(),
            Kind::Many(all) => all.iter(),
        }
    }

    /// The chunks as byte slices, in order.
    pub fn slices(&self) -> impl Iterator<Item = &[u8]> + Clone + '_ {
        self.iter().map(|chunk| &chunk[..])
    }

    /// The bytes in one piece: without copying when they arrived in one chunk, else
    /// joined into a buffer of exactly the body's length.
    ///
    /// ```
    /// let chunk = bytes::Bytes::from_static(b"abc");
    /// let mut body = hooksig::pipeline::Chunks::new();
    /// body.push(chunk.clone());
    /// assert_eq!(body.to_bytes().as_ptr(), chunk.as_ptr()); // not copied
    /// ```
    pub fn to_bytes(&self) -> Bytes {
        match &self.kind {
            Kind::Empty => Bytes::new(),
            Kind::One(one) => one.clone(),
            Kind::Many(all) => {
                let mut joined = BytesMut::with_capacity(self.len);
                for chunk in all {
                    joined.extend_from_slice(chunk);
                }
                joined.freeze()
            }
        }
    }
}

impl IntoIterator for Chunks {
    type Item = Bytes;
    type IntoIter = std::vec::IntoIter<Bytes>;

    /// The chunks, in order.
    fn into_iter(self) -> Self::IntoIter {
        match self.kind {
            Kind::Empty => Vec::new().into_iter(),
            Kind::One(one) => vec![one].into_iter(),
            Kind::Many(all) => all.into_iter(),
        }
    }
}

impl<'a> IntoIterator for &'a Chunks {
    type Item = &'a Bytes;
    type IntoIter = std::slice::Iter<'a, Bytes>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl From<Bytes> for Chunks {
    fn from(bytes: Bytes) -> Chunks {
        let mut chunks = Chunks::new();
        chunks.push(bytes);
        chunks
    }
}

/// Shows the length and the number of chunks, not the bytes.
impl fmt::Debug for Chunks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chunks").field("len", &self.len).field("chunks", &self.chunk_count()).finish()
    }
}
