//! HMAC-SHA256 (RFC 2104), written on SHA-256's compression function.
//!
//! A secret keys two SHA-256 states once, at start-up: the state after the block
//! `key ⊕ ipad` and the state after `key ⊕ opad`. A message's MAC is then the inner
//! hash, continued from the first state over the message, and one more compression of
//! the outer state over the inner digest. [`Mac`] holds both states and the message's
//! unhashed tail; the compression itself is `sha2`'s (SHA-NI, ARMv8 crypto extensions
//! or portable code, chosen at run time).
//!
//! Why not `hmac::Hmac<Sha256>`: it is the same algorithm, and its answers are the
//! reference the tests and the fuzz model check this one against. But its per-message
//! bookkeeping is a large share of a small delivery: cloning the keyed state goes
//! through a temporary, finishing takes the 144-byte state by value, and the inner
//! digest and each padding block are written with narrow stores and read back at once
//! as wide loads, which the CPU cannot forward and waits for. Here a message starts
//! from a plain copy of two states, its buffer is padded ahead (see [`Mac`]), the
//! outer block's padding is written before the inner hash ends, and the tag is
//! written where the caller keeps it: raw HMAC over 64 bytes, 185 ns with
//! `hmac::Hmac` against 155 ns with this code's first version (Xeon, SHA-NI, a tight
//! loop), three compressions either way; 142.6 ns with this code today, against
//! 177.4 ns for `hmac::Hmac` with glibc's AVX2 `memcpy`/`memset` and 195.2 ns with its
//! AVX-512 ones, which it calls for every message and this code does not.

use sha2::block_api::compress256;
use sha2::digest::Update;

use crate::tag::{TAG_LEN, Tag};

/// The length of a SHA-256 block.
pub(crate) const BLOCK_LEN: usize = 64;

/// One block.
pub(crate) type Block = [u8; BLOCK_LEN];

/// SHA-256's initial state (FIPS 180-4, 5.3.3).
const IV: [u32; 8] =
    [0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19];

/// The last 8 bytes of a padding block hold the message length in bits.
pub(crate) const LEN_AT: usize = BLOCK_LEN - 8;

/// A secret's two keyed SHA-256 states: after the block `key ⊕ ipad` and after
/// `key ⊕ opad`. Built once per secret; [`Keyed::start`] begins a message. Cleared on
/// drop: they stand in for the secret.
#[derive(Clone)]
pub(crate) struct Keyed {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl Keyed {
    /// Keys HMAC-SHA256 with `key`, of any length: a key longer than a block is hashed
    /// first (RFC 2104), a shorter one padded with zeros.
    pub(crate) fn new(key: &[u8]) -> Keyed {
        let mut padded = zeroize::Zeroizing::new([0u8; BLOCK_LEN]);
        if key.len() > BLOCK_LEN {
            use sha2::digest::Digest;
            if let Some(digest) = padded.first_chunk_mut::<TAG_LEN>() {
                let mut hasher = sha2::Sha256::new();
                Digest::update(&mut hasher, key);
                Digest::finalize_into(hasher, digest.into());
            }
        } else if let Some(start) = padded.get_mut(..key.len()) {
            start.copy_from_slice(key);
        }
        let keyed = |pad: u8| {
            let mut block = zeroize::Zeroizing::new([0u8; BLOCK_LEN]);
            block.iter_mut().zip(padded.iter()).for_each(|(b, k)| *b = k ^ pad);
            let mut state = IV;
            compress256(&mut state, std::slice::from_ref(&*block));
            state
        };
        Keyed { inner: keyed(0x36), outer: keyed(0x5c) }
    }

    /// A MAC computation over a new message, its buffer padded for the empty one.
    #[inline(always)]
    pub(crate) fn start(&self) -> Mac {
        Mac {
            inner: self.inner,
            outer: self.outer,
            length: BLOCK_LEN as u64,
            block: PADDED_EMPTY,
            buffered: 0,
        }
    }

    /// A MAC computation over a message whose first block is `first`, hashed where it
    /// lies: the buffer starts padded for the two blocks (key and `first`) instead of
    /// for none, and is written once. Through [`Keyed::start`] and an update with the
    /// block, the buffer was written three times (the empty message's padding, the
    /// padding after the block, then the tail's). `verify_at`, 64-byte bodies,
    /// medians of 8 interleaved runs of the scratch profiler, overhead over raw HMAC:
    /// Standard Webhooks 108 → 103 ns, Stripe 62 → 55 ns, Slack 72 → 65 ns.
    #[inline(always)]
    pub(crate) fn start_after(&self, first: &Block) -> Mac {
        let mut inner = self.inner;
        compress256(&mut inner, std::slice::from_ref(first));
        Mac { inner, outer: self.outer, length: TWO_BLOCKS, block: PADDED_TWO_BLOCKS, buffered: 0 }
    }

    /// The MAC of a message given as its blocks, into `tag`: `first` and `middle`
    /// whole, then `last`, the rest of the message padded (see [`pad`]); with
    /// `length_apart`, the message's length when `last` had no room for it. Every
    /// block is hashed where it lies.
    ///
    /// `between` is called once the inner hash has taken `last` (before the block of
    /// the length alone, if any, and the outer block), for work of the caller's that
    /// does not need the tag: placed there, it runs beside the hash's chain of rounds
    /// instead of after it (see `Verifier::verify_at`). Called right after `first`,
    /// where it was first placed, it stood in the way of the next block: the CPU takes instructions in
    /// order into a window of a few hundred, the compression's own fill much of it,
    /// and the next block's could not enter until the caller's work had. Before the
    /// outer block nothing waits on the front end: the outer block needs the inner
    /// hash's result first. (An explanation that fits the measurements below; this
    /// machine has no performance counters to confirm it.)
    ///
    /// AMD EPYC (Zen 3), Standard Webhooks and Svix at 64 B and 1 KiB, ns per
    /// delivery: 7 to 12 less in paired medians of two builds interleaved in one
    /// process, 0 to 5 less with the builds' places in the binary swapped, 2 less in
    /// medians of 3 alternated runs of the report benchmark (code layout moves these
    /// by as much); Slack, whose line is shorter, unchanged. After the whole MAC
    /// instead: 28 to 30 more.
    #[inline(always)]
    pub(crate) fn finish_blocks(
        &self,
        first: &Block,
        middle: &[Block],
        last: &Block,
        length_apart: Option<u64>,
        tag: &mut Tag,
        between: impl FnOnce(),
    ) {
        let mut inner = self.inner;
        compress256(&mut inner, std::slice::from_ref(first));
        if !middle.is_empty() {
            compress256(&mut inner, middle);
        }
        finish(&mut inner, &self.outer, last, length_apart, tag, between);
        clear(&mut inner);
    }

    /// The MAC of a message short enough to fit one block with its padding, given
    /// as that block (see [`pad`], for the key block's 64 bytes and the message's),
    /// into `tag`: hashed where it lies, not copied into a [`Mac`]'s buffer first.
    /// Fed part by part right before the hash, the message was written with narrow
    /// stores that the hash's 16-byte loads then waited for: Oktave's `verify_at`,
    /// overhead over raw HMAC, medians of 8 interleaved runs, 52 → 44 ns.
    ///
    /// `between` is called once the inner hash has taken `padded`, before the outer
    /// block (as for [`Keyed::finish_blocks`]).
    #[inline(always)]
    pub(crate) fn finish_padded(&self, padded: &Block, tag: &mut Tag, between: impl FnOnce()) {
        let mut inner = self.inner;
        finish(&mut inner, &self.outer, padded, None, tag, between);
        clear(&mut inner);
    }
}

impl Drop for Keyed {
    fn drop(&mut self) {
        clear(&mut self.inner);
        clear(&mut self.outer);
    }
}

/// An HMAC-SHA256 computation over one message: begun by [`Keyed::start`], fed with
/// [`Mac::update`], finished with [`Mac::finish_into`]. Its states are cleared on
/// drop.
///
/// Its buffer is kept padded ahead: after every update it holds the unhashed tail of
/// the message followed by the padding for the message as fed so far (the `0x80`
/// marker, zeros, the length in bits), so that finishing is hashing it. The padding is
/// written before the update's whole blocks are hashed, and by the time the padded
/// block is read back those stores have long reached the cache. Written at the finish,
/// as a hash's own buffer is, they are still on their way when the compression loads
/// the block 16 bytes at a time; a load spanning several stores in flight cannot take
/// its bytes from them and waits for them all.
pub(crate) struct Mac {
    /// The inner hash's state: the keyed one, then after every whole block fed.
    inner: [u32; 8],
    /// The outer hash's keyed state.
    outer: [u32; 8],
    /// Bytes fed so far, the key block included.
    length: u64,
    /// The first `buffered` bytes are fed and not hashed yet; the padding follows.
    block: Block,
    /// Always below [`BLOCK_LEN`].
    buffered: usize,
}

/// The buffer of a message that is fed nothing: the padding alone, for the key
/// block's 512 bits.
const PADDED_EMPTY: Block = padding_alone(BLOCK_LEN as u64);

/// The length of the key block and one message block.
const TWO_BLOCKS: u64 = 2 * BLOCK_LEN as u64;

/// The buffer after a first message block and nothing more: the padding alone, for
/// 1024 bits.
const PADDED_TWO_BLOCKS: Block = padding_alone(TWO_BLOCKS);

/// A block that is only the padding of a message of `length` bytes, a multiple of
/// the block length: the marker, zeros, the length in bits. For the constants above.
// Evaluated at compile time only: an index out of range or an overflow would fail the
// build, not panic.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
const fn padding_alone(length: u64) -> Block {
    let mut block = [0u8; BLOCK_LEN];
    block[0] = 0x80;
    let bits = (length * 8).to_be_bytes();
    let mut i = 0;
    while i < 8 {
        block[LEN_AT + i] = bits[i];
        i += 1;
    }
    block
}

/// The outer block's second half: the padding of the outer hash's message, the key
/// block and the inner digest (96 bytes, 768 bits).
const OUTER_PADDING: [u8; TAG_LEN] = {
    let mut pad = [0u8; TAG_LEN];
    pad[0] = 0x80;
    pad[TAG_LEN - 2] = 0x03;
    pad
};

impl Mac {
    /// Feeds the next bytes of the message. Whole blocks are hashed where they lie.
    #[inline]
    pub(crate) fn update(&mut self, data: &[u8]) {
        self.length = self.length.wrapping_add(data.len() as u64);
        let mut data = data;
        // Whether the buffer after the bytes written below is still the old padding's
        // zeros (up to the length): then only the marker and the length move.
        let mut clean = true;
        if self.buffered != 0 {
            let start = self.buffered;
            let room = BLOCK_LEN.saturating_sub(start);
            let Some((head, rest)) = data.split_at_checked(room) else {
                // Not enough to fill the block: the padding moves along.
                let end = start.saturating_add(data.len());
                put(self.block.get_mut(start..end), data);
                self.pad(end, clean);
                return;
            };
            put(self.block.get_mut(start..), head);
            compress256(&mut self.inner, std::slice::from_ref(&self.block));
            data = rest;
            clean = false;
        }
        let (blocks, rest) = data.as_chunks::<BLOCK_LEN>();
        // The tail and its padding first, the blocks then (see the type's doc).
        put(self.block.get_mut(..rest.len()), rest);
        self.pad(rest.len(), clean);
        if !blocks.is_empty() {
            compress256(&mut self.inner, blocks);
        }
    }

    /// Writes the padding after the first `buffered` bytes of the buffer, for a
    /// message of `self.length` bytes. When the marker leaves no room for the length,
    /// the length goes into a block of its own, at the finish.
    ///
    /// `clean`: the bytes were written over the previous padding, from its start or
    /// from before it, so that what follows them up to the length is zeros already
    /// and the zeros' fill (a `memset` call) can be skipped ([`pad_zeroed`]). A body
    /// of whole blocks (Tale's 64 bytes) then writes just the marker and the length.
    #[inline(always)]
    fn pad(&mut self, buffered: usize, clean: bool) {
        if clean && buffered < LEN_AT && self.buffered < LEN_AT {
            pad_zeroed(&mut self.block, buffered, self.length);
        } else {
            pad(&mut self.block, buffered, self.length);
        }
        self.buffered = buffered;
    }

    /// Finishes the MAC into `tag`. The state is spent: feeding or finishing it again
    /// gives a meaningless tag. Always inlined, so that the tag is written where the
    /// caller keeps it.
    #[inline(always)]
    pub(crate) fn finish_into(&mut self, tag: &mut Tag) {
        let length_apart = (self.buffered >= LEN_AT).then_some(self.length);
        finish(&mut self.inner, &self.outer, &self.block, length_apart, tag, || {});
    }
}

/// Writes the padding of a message of `length` bytes into `block` after its first
/// `buffered` bytes: the `0x80` marker, zeros, and the length in bits when there is
/// room for it (below [`LEN_AT`]; otherwise it goes into a block of its own).
#[inline(always)]
fn pad(block: &mut Block, buffered: usize, length: u64) {
    if let Some(rest) = block.get_mut(buffered..) {
        rest.fill(0);
    }
    pad_zeroed(block, buffered, length);
}

/// [`pad`] for a block whose bytes after the first `buffered` are zeros already (a
/// fresh one): the marker and the length only, without the zeros' variable-length
/// fill.
#[inline(always)]
pub(crate) fn pad_zeroed(block: &mut Block, buffered: usize, length: u64) {
    if let Some(marker) = block.get_mut(buffered) {
        *marker = 0x80;
    }
    if buffered < LEN_AT
        && let Some(len) = block.last_chunk_mut::<8>()
    {
        *len = length.wrapping_mul(8).to_be_bytes();
    }
}

/// Hashes the inner hash's last `padded` block (and, for `length_apart`, the block
/// that holds only the length), then the outer block, into `tag`; calls `between`
/// once `padded` is hashed.
#[inline(always)]
fn finish(
    inner: &mut [u32; 8],
    outer: &[u32; 8],
    padded: &Block,
    length_apart: Option<u64>,
    tag: &mut Tag,
    between: impl FnOnce(),
) {
    // The outer block's padding is written now, and kept in memory by `black_box`,
    // so that it too has reached the cache when the block is hashed.
    let mut block = [0u8; BLOCK_LEN];
    if let Some(pad) = block.last_chunk_mut::<TAG_LEN>() {
        *pad = OUTER_PADDING;
    }
    std::hint::black_box(&mut block);
    compress256(inner, std::slice::from_ref(padded));
    between();
    if let Some(length) = length_apart {
        let mut last = [0u8; BLOCK_LEN];
        if let Some(len) = last.last_chunk_mut::<8>() {
            *len = length.wrapping_mul(8).to_be_bytes();
        }
        compress256(inner, std::slice::from_ref(&last));
    }
    if let Some(digest) = block.first_chunk_mut::<TAG_LEN>() {
        digest_into(inner, digest);
    }
    let mut outer = *outer;
    compress256(&mut outer, std::slice::from_ref(&block));
    tag_into(&outer, tag);
    clear(&mut outer);
}

impl Update for Mac {
    #[inline]
    fn update(&mut self, data: &[u8]) {
        Mac::update(self, data);
    }
}

impl Drop for Mac {
    /// Clears both states; the buffer holds message bytes only.
    #[inline]
    fn drop(&mut self) {
        clear(&mut self.inner);
        clear(&mut self.outer);
    }
}

/// Clears a state with a few wide stores that `black_box` keeps: it hands the
/// compiler the state's address as something that may be read, so the stores cannot
/// be dropped as dead (`zeroize`'s volatile loop would store a word at a time).
#[inline(always)]
fn clear(state: &mut [u32; 8]) {
    *state = [0; 8];
    std::hint::black_box(state);
}

/// Copies `src` into `dst`, of the same length (else nothing). Pieces of up to a
/// block are copied as two fixed-size copies that may overlap, which compile to a few
/// moves instead of a call to `memcpy`.
#[inline(always)]
pub(crate) fn put(dst: Option<&mut [u8]>, src: &[u8]) {
    fn two<const N: usize>(dst: &mut [u8], src: &[u8]) {
        let head = src.first_chunk::<N>().zip(dst.first_chunk_mut::<N>());
        if let Some((from, to)) = head {
            *to = *from;
        }
        let tail = src.last_chunk::<N>().zip(dst.last_chunk_mut::<N>());
        if let Some((from, to)) = tail {
            *to = *from;
        }
    }
    let Some(dst) = dst.filter(|d| d.len() == src.len()) else { return };
    match src.len() {
        // The first, middle and last bytes (the same ones for fewer than 3): a byte
        // loop here was turned into a `memcpy` call.
        0..=3 => {
            for i in [0, src.len() >> 1, src.len().wrapping_sub(1)] {
                if let (Some(to), Some(from)) = (dst.get_mut(i), src.get(i)) {
                    *to = *from;
                }
            }
        }
        4..=7 => two::<4>(dst, src),
        8..=15 => two::<8>(dst, src),
        16..=31 => two::<16>(dst, src),
        32..=64 => two::<32>(dst, src),
        _ => dst.copy_from_slice(src),
    }
}

/// Writes a state as its big-endian digest, a word at a time: for the outer block,
/// which the compression loads 16 bytes at a time. The compiler turns the loop into
/// 16-byte stores.
#[inline(always)]
fn digest_into(state: &[u32; 8], out: &mut [u8; TAG_LEN]) {
    let (words, _) = out.as_chunks_mut::<4>();
    for (to, word) in words.iter_mut().zip(state) {
        *to = word.to_be_bytes();
    }
}

/// Writes a state as its big-endian digest, eight bytes at a time: for the tag, which
/// the comparison loads 8 bytes at a time.
#[inline(always)]
fn tag_into(state: &[u32; 8], out: &mut [u8; TAG_LEN]) {
    let (pairs, _) = out.as_chunks_mut::<8>();
    for (to, pair) in pairs.iter_mut().zip(state.chunks_exact(2)) {
        if let [hi, lo] = pair {
            *to = ((u64::from(*hi) << 32) | u64::from(*lo)).to_be_bytes();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::KeyInit;

    fn reference(key: &[u8], message: &[u8]) -> Tag {
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).unwrap();
        hmac::Mac::update(&mut mac, message);
        hmac::Mac::finalize(mac).into_bytes().into()
    }

    fn ours(key: &[u8], parts: &[&[u8]]) -> Tag {
        let mut mac = Keyed::new(key).start();
        for part in parts {
            mac.update(part);
        }
        let mut tag = [0u8; TAG_LEN];
        mac.finish_into(&mut tag);
        tag
    }

    #[test]
    fn put_copies_every_length() {
        let src: Vec<u8> = (1..=64).collect();
        for len in 0..=64 {
            let mut dst = [0u8; 64];
            put(dst.get_mut(..len), &src[..len]);
            assert_eq!(&dst[..len], &src[..len], "{len}");
            assert!(dst[len..].iter().all(|b| *b == 0), "{len}");
        }
    }

    /// Over a fresh block, the marker and the length alone are the whole padding.
    #[test]
    fn padding_a_zeroed_block_is_padding() {
        for buffered in 0..BLOCK_LEN {
            let (mut fresh, mut used) = ([0u8; BLOCK_LEN], [0xffu8; BLOCK_LEN]);
            for (i, b) in fresh[..buffered].iter_mut().chain(used[..buffered].iter_mut()).enumerate() {
                *b = (i % buffered) as u8;
            }
            pad_zeroed(&mut fresh, buffered, 1000);
            pad(&mut used, buffered, 1000);
            assert_eq!(fresh, used, "{buffered}");
        }
    }

    /// RFC 4231, test cases 1, 2, 3, 4, 6 and 7 (case 5 truncates the output).
    #[test]
    fn rfc_4231_vectors() {
        let cases: [(Vec<u8>, Vec<u8>, &str); 6] = [
            (
                vec![0x0b; 20],
                b"Hi There".to_vec(),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe".to_vec(),
                b"what do ya want for nothing?".to_vec(),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                vec![0xaa; 20],
                vec![0xdd; 50],
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
            ),
            (
                (1..=25).collect(),
                vec![0xcd; 50],
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            ),
            (
                vec![0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                vec![0xaa; 131],
                b"This is a test using a larger than block-size key and a larger than block-size data. \
                  The key needs to be hashed before being used by the HMAC algorithm."
                    .to_vec(),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ];
        for (key, message, expected) in cases {
            assert_eq!(hex::encode(ours(&key, &[&message])), expected);
        }
    }

    /// Every message length up to three blocks and then some, every key length around
    /// a block, and every split of the message into two updates, against the `hmac`
    /// crate.
    #[test]
    fn agrees_with_the_hmac_crate_for_every_length_and_split() {
        let message: Vec<u8> = (0..200u32).map(|i| (i.wrapping_mul(31) ^ 0x5a) as u8).collect();
        for key_len in [1, 20, 32, 63, 64, 65, 100, 200] {
            let key: Vec<u8> = (0..key_len).map(|i| (i as u8).wrapping_mul(7)).collect();
            for len in 0..=message.len() {
                let whole = &message[..len];
                let expected = reference(&key, whole);
                assert_eq!(ours(&key, &[whole]), expected, "key {key_len}, len {len}");
                for split in 0..=len {
                    let (a, b) = whole.split_at(split);
                    assert_eq!(ours(&key, &[a, b]), expected, "key {key_len}, len {len}, split {split}");
                }
            }
        }
        // Byte by byte, and with empty updates in between.
        let key = b"It's a Secret to Everybody";
        let mut mac = Keyed::new(key).start();
        for byte in &message {
            mac.update(&[]);
            mac.update(std::slice::from_ref(byte));
        }
        let mut tag = [0u8; TAG_LEN];
        mac.finish_into(&mut tag);
        assert_eq!(tag, reference(key, &message));
    }

    /// A message's first block hashed where it lies, then the rest fed, and a message
    /// short enough to be padded in one block, finished from that block: both against
    /// the `hmac` crate, for every length they take.
    #[test]
    fn first_block_and_padded_block_agree_with_the_hmac_crate() {
        let message: Vec<u8> = (0..200u32).map(|i| (i.wrapping_mul(13) ^ 0xa5) as u8).collect();
        for key_len in [1, 32, 64, 65, 100] {
            let key: Vec<u8> = (0..key_len).map(|i| (i as u8).wrapping_mul(11)).collect();
            let keyed = Keyed::new(&key);
            for len in BLOCK_LEN..=message.len() {
                let (first, rest) = message[..len].split_first_chunk::<BLOCK_LEN>().unwrap();
                for split in 0..=rest.len() {
                    let mut mac = keyed.start_after(first);
                    mac.update(&rest[..split]);
                    mac.update(&rest[split..]);
                    let mut tag = [0u8; TAG_LEN];
                    mac.finish_into(&mut tag);
                    assert_eq!(
                        tag,
                        reference(&key, &message[..len]),
                        "key {key_len}, len {len}, split {split}"
                    );
                }
            }
            // First block, whole middle blocks, padded last block (and the length in a
            // block of its own when the last has no room for it).
            for len in BLOCK_LEN..=message.len() {
                let (first, rest) = message[..len].split_first_chunk::<BLOCK_LEN>().unwrap();
                let (middle, tail) = rest.as_chunks::<BLOCK_LEN>();
                let mut last = [0xffu8; BLOCK_LEN];
                last[..tail.len()].copy_from_slice(tail);
                let length = (BLOCK_LEN + len) as u64;
                pad(&mut last, tail.len(), length);
                let mut tag = [0u8; TAG_LEN];
                keyed.finish_blocks(
                    first,
                    middle,
                    &last,
                    (tail.len() >= LEN_AT).then_some(length),
                    &mut tag,
                    || {},
                );
                assert_eq!(tag, reference(&key, &message[..len]), "key {key_len}, len {len}");
            }
            for len in 0..LEN_AT {
                let mut block = [0xffu8; BLOCK_LEN];
                block[..len].copy_from_slice(&message[..len]);
                pad(&mut block, len, (BLOCK_LEN + len) as u64);
                let mut tag = [0u8; TAG_LEN];
                keyed.finish_padded(&block, &mut tag, || {});
                assert_eq!(tag, reference(&key, &message[..len]), "key {key_len}, len {len}");
            }
        }
    }

    /// Each computation starts afresh from the keyed states.
    #[test]
    fn each_message_starts_from_the_keyed_states() {
        let keyed = Keyed::new(b"k");
        let mut a = keyed.start();
        a.update(b"first message");
        let mut b = keyed.start();
        b.update(b"second");
        let (mut ta, mut tb) = ([0u8; TAG_LEN], [0u8; TAG_LEN]);
        a.finish_into(&mut ta);
        b.finish_into(&mut tb);
        assert_eq!(ta, reference(b"k", b"first message"));
        assert_eq!(tb, reference(b"k", b"second"));
    }
}
