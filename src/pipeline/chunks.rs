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
/// One exception keeps that promise with real servers: a received chunk is usually a
/// slice of the server's read buffer, and holding the slice holds the whole buffer.
/// When a chunk is the only thing left holding a buffer much larger than itself (hyper
/// reads a body with `Content-Length` into buffers of up to 408 KiB, and a read may
/// fill a few KiB of one), it is copied into a buffer of its own size when the next
/// chunk arrives, and the large buffer is freed. The check costs an atomic load per
/// chunk; a chunk that shares its buffer (with the server, or with other chunks) or
/// fills most of it is kept as it is.
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

    /// Appends a chunk (an empty one is dropped). The chunk before it is compacted if
    /// it alone holds a buffer much larger than itself (see [`Chunks`]).
    pub fn push(&mut self, chunk: Bytes) {
        if chunk.is_empty() {
            return;
        }
        self.len = self.len.saturating_add(chunk.len());
        self.kind = match std::mem::take(&mut self.kind) {
            Kind::Empty => Kind::One(chunk),
            Kind::One(first) => Kind::Many(vec![compact(first), chunk]),
            Kind::Many(mut all) => {
                if let Some(last) = all.last_mut() {
                    *last = compact(std::mem::take(last));
                }
                all.push(chunk);
                Kind::Many(all)
            }
        };
    }

    /// Compacts the last chunk as [`Chunks::push`] compacts the one before a new
    /// chunk: called when the body is complete.
    pub(crate) fn settle(&mut self) {
        match &mut self.kind {
            Kind::Empty => {}
            Kind::One(last) => *last = compact(std::mem::take(last)),
            Kind::Many(all) => {
                if let Some(last) = all.last_mut() {
                    *last = compact(std::mem::take(last));
                }
            }
        }
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

impl Chunks {
    /// The body as one `Bytes` when it arrived in at most one chunk (moved out, not
    /// cloned: a clone and the drop of the original are two atomic operations on a
    /// shared buffer), else the chunks.
    #[cfg(any(feature = "tower", feature = "actix"))]
    pub(crate) fn into_single(self) -> Result<Bytes, Vec<Bytes>> {
        match self.kind {
            Kind::Empty => Ok(Bytes::new()),
            Kind::One(one) => Ok(one),
            Kind::Many(all) => Err(all),
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

/// Unused room in a chunk's buffer, past the chunk, from which on the chunk is copied
/// into a buffer of its own size: an eighth of the chunk, and at least 4 KiB.
const SLACK_DIVISOR: usize = 8;
const MIN_SLACK: usize = 4096;

/// `chunk` in a buffer of its own size if it alone holds a buffer with much more room
/// than it uses, else `chunk` as it is. Only a chunk that nothing else shares can tell
/// its buffer's size; for any other the check is one atomic load.
fn compact(chunk: Bytes) -> Bytes {
    if !chunk.is_unique() {
        return chunk;
    }
    match chunk.try_into_mut() {
        Ok(alone) => {
            let unused = alone.capacity().saturating_sub(alone.len());
            if unused >= MIN_SLACK && unused > alone.len() / SLACK_DIVISOR {
                Bytes::copy_from_slice(&alone)
            } else {
                alone.freeze()
            }
        }
        Err(shared) => shared,
    }
}

/// Shows the length and the number of chunks, not the bytes.
impl fmt::Debug for Chunks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chunks").field("len", &self.len).field("chunks", &self.chunk_count()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server's read buffer of 64 KiB, a `len`-byte chunk split off its front.
    fn read(len: usize) -> (BytesMut, Bytes) {
        let mut buffer = BytesMut::with_capacity(64 * 1024);
        buffer.extend_from_slice(&vec![7; len]);
        let chunk = buffer.split().freeze();
        (buffer, chunk)
    }

    #[test]
    fn a_chunk_alone_in_a_much_larger_buffer_is_copied_into_its_own() {
        let (buffer, small) = read(1000);
        let at = small.as_ptr();
        let mut body = Chunks::new();
        body.push(small);
        drop(buffer); // the server moved on to another buffer
        body.push(Bytes::from_static(b"next"));
        let first = body.iter().next().unwrap();
        assert_ne!(first.as_ptr(), at);
        assert_eq!(first.as_ref(), &[7; 1000][..]);
        assert_eq!(body.len(), 1004);
    }

    #[test]
    fn a_chunk_still_shared_or_filling_its_buffer_is_kept() {
        // Still shared with the server's buffer.
        let (_buffer, shared) = read(1000);
        // Alone, but using most of its buffer.
        let (buffer, full) = read(60 * 1024);
        drop(buffer);
        for chunk in [shared, full] {
            let at = chunk.as_ptr();
            let mut body = Chunks::new();
            body.push(chunk);
            body.push(Bytes::from_static(b"next"));
            body.settle();
            assert_eq!(body.iter().next().unwrap().as_ptr(), at);
        }
    }

    #[test]
    fn the_last_chunk_is_compacted_when_the_body_is_complete() {
        let (buffer, small) = read(10);
        let at = small.as_ptr();
        let mut body = Chunks::from(small);
        drop(buffer);
        body.settle();
        assert_ne!(body.to_bytes().as_ptr(), at);
        assert_eq!(body.to_bytes(), vec![7; 10]);
    }
}
