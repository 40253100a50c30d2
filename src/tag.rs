//! The 32-byte HMAC-SHA256 tag: decoding candidates from text, encoding ours, and the
//! constant-time comparison.

use base64ct::{Base64, Encoding as _};
use subtle::{Choice, ConstantTimeEq};

/// Length of an HMAC-SHA256 tag in bytes.
pub(crate) const TAG_LEN: usize = 32;
/// Length of a tag as hex digits.
pub(crate) const HEX_LEN: usize = 2 * TAG_LEN;
/// Length of a tag as padded standard base64.
pub(crate) const BASE64_LEN: usize = 44;

/// A decoded tag.
pub(crate) type Tag = [u8; TAG_LEN];

/// How a tag is written as text in a signature header.
///
/// ```
/// use hooksig::{Encoding, Scheme};
/// assert_eq!(Scheme::github().encoding(), Encoding::Hex);
/// assert_eq!(Scheme::shopify().encoding(), Encoding::Base64);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encoding {
    /// Exactly 64 hexadecimal digits, accepted in any case, produced in lower case.
    Hex,
    /// Standard base64 alphabet with `=` padding (44 characters).
    Base64,
}

impl Encoding {
    /// Decodes one candidate tag. Any deviation from the strict form is an error,
    /// never a panic.
    pub(crate) fn decode(self, text: &[u8]) -> Result<Tag, &'static str> {
        let mut tag = [0u8; TAG_LEN];
        self.decode_into(text, &mut tag)?;
        Ok(tag)
    }

    /// [`Encoding::decode`] into `tag`, which holds garbage on an error.
    #[inline]
    fn decode_into(self, text: &[u8], tag: &mut Tag) -> Result<(), &'static str> {
        match self {
            Encoding::Hex => {
                if text.len() != HEX_LEN {
                    return Err("expected 64 hex digits");
                }
                decode_hex(text, tag)
            }
            Encoding::Base64 => {
                if text.len() != BASE64_LEN {
                    return Err("expected 44 characters of padded base64");
                }
                decode_base64(text, tag)
            }
        }
    }

    /// How many characters a tag takes in this encoding.
    #[inline]
    pub(crate) fn text_len(self) -> usize {
        match self {
            Encoding::Hex => HEX_LEN,
            Encoding::Base64 => BASE64_LEN,
        }
    }

    /// Writes `tag` as text into `buf` and returns the written part.
    pub(crate) fn encode<'b>(self, tag: &Tag, buf: &'b mut [u8; HEX_LEN]) -> &'b str {
        let written: &[u8] = match self {
            Encoding::Hex => {
                // Both lengths are fixed, so this cannot fail.
                let _ = hex::encode_to_slice(tag, buf);
                buf
            }
            Encoding::Base64 => match Base64::encode(tag, buf) {
                Ok(s) => s.as_bytes(),
                Err(_) => &[],
            },
        };
        std::str::from_utf8(written).unwrap_or_default()
    }

    /// The encoding's name as the CLI and docs show it.
    ///
    /// ```
    /// assert_eq!(hooksig::Encoding::Base64.as_str(), "base64");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Hex => "hex",
            Encoding::Base64 => "base64",
        }
    }
}

/// Decodes 64 hex digits (any case) into `out`. Written as two branch-free passes
/// over fixed-size arrays, which the compiler turns into vector code (SSE2 on
/// x86-64, NEON on aarch64): every digit is classified and converted to its nibble at
/// once, then the nibbles are paired; a single validity check comes at the end. The
/// text is the sender's candidate, not a secret.
fn decode_hex(text: &[u8], out: &mut Tag) -> Result<(), &'static str> {
    let Ok(text) = <&[u8; HEX_LEN]>::try_from(text) else {
        return Err("expected 64 hex digits");
    };
    let mut nibbles = [0u8; HEX_LEN];
    let mut invalid = 0u8;
    for (nibble, &c) in nibbles.iter_mut().zip(text) {
        let digit = c.wrapping_sub(b'0');
        let letter = (c | 0x20).wrapping_sub(b'a'); // 'A'..'F' -> 'a'..'f' -> 0..5
        let is_digit = digit < 10;
        let is_letter = letter < 6;
        *nibble = if is_digit { digit } else { letter.wrapping_add(10) };
        invalid |= u8::from(!(is_digit | is_letter));
    }
    let (pairs, _) = nibbles.as_chunks::<2>();
    for (byte, [high, low]) in out.iter_mut().zip(pairs) {
        *byte = (high << 4) | low;
    }
    if invalid != 0 {
        return Err("invalid hex digit");
    }
    Ok(())
}

/// The value of each character of the standard base64 alphabet shifted to its place
/// in a group of four characters (by 18, 12, 6 and 0 bits: table `i` for the `i`th
/// character), so that a group's 24 bits are the OR of four look-ups;
/// [`NOT_BASE64`] for any other byte (`=` included) in every table.
// Evaluated at compile time: an index out of range would fail the build, not panic.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
const BASE64_VALUES: [[u32; 256]; 4] = {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut tables = [[NOT_BASE64; 256]; 4];
    let mut i = 0;
    while i < 64 {
        let mut t = 0;
        while t < 4 {
            tables[t][alphabet[i] as usize] = (i as u32) << (18 - 6 * t);
            t += 1;
        }
        i += 1;
    }
    tables
};

/// Marks a byte outside the alphabet: bit 31, above the 24 bits of a group, where one
/// check at the end finds it.
const NOT_BASE64: u32 = 1 << 31;

/// Decodes the 44-character padded standard base64 of a 32-byte tag: ten groups of
/// four characters, then three and `=`, whose unused low bits must be zero (the only
/// canonical form, as `base64ct` requires). One table look-up per character and one
/// validity check at the end; the text is the sender's candidate, not a secret.
///
/// Each character's table holds its value already shifted into place, and two groups
/// (six bytes) are written with one 8-byte store that the next pair's overwrites in
/// part: 254 → 160 instructions per tag against one table and a 3-byte store per
/// group. An invalid character marks its group's word above its 24 bits, so the check
/// accumulates whole words: the compiler kept all forty characters' values alive for
/// a check accumulated per character, and spilled them to the stack. A marked word
/// garbles its neighbour's bytes when the pair is combined, but then the tag is
/// refused.
fn decode_base64(text: &[u8], out: &mut Tag) -> Result<(), &'static str> {
    let [t18, t12, t6, t0] = &BASE64_VALUES;
    let group = |a: u8, b: u8, c: u8, d: u8| {
        let at = |table: &[u32; 256], c: u8| table.get(usize::from(c)).copied().unwrap_or(NOT_BASE64);
        at(t18, a) | at(t12, b) | at(t6, c) | at(t0, d)
    };
    let Some((groups, &[a, b, c, pad])) = text.split_at_checked(40) else {
        return Err("expected 44 characters of padded base64");
    };
    let mut invalid = 0u32;
    let (pairs, _) = groups.as_chunks::<8>();
    let mut at = 0usize;
    for &[a, b, c, d, e, f, g, h] in pairs {
        let (first, second) = (group(a, b, c, d), group(e, f, g, h));
        invalid |= first | second;
        if let Some(dst) = out.get_mut(at..).and_then(|rest| rest.first_chunk_mut::<8>()) {
            *dst = ((u64::from(first) << 40) | (u64::from(second) << 16)).to_be_bytes();
        }
        at = at.wrapping_add(6);
    }
    // The last three characters' 18 bits: two bytes and two bits that must be zero.
    let last = group(a, b, c, b'A');
    if (invalid | last) & NOT_BASE64 != 0 || pad != b'=' || last & 0xFF != 0 {
        return Err("invalid base64");
    }
    let [_, high, low, _] = last.to_be_bytes();
    if let Some(tail) = out.last_chunk_mut::<2>() {
        *tail = [high, low];
    }
    Ok(())
}

/// A tag as four machine words, so that it compares in four constant-time steps
/// instead of thirty-two.
fn words(tag: &Tag) -> [u64; 4] {
    let mut words = [0u64; 4];
    for (word, bytes) in words.iter_mut().zip(tag.chunks_exact(8)) {
        let mut buf = [0u8; 8];
        buf.copy_from_slice(bytes);
        *word = u64::from_ne_bytes(buf);
    }
    words
}

/// Up to [`MAX_CANDIDATES`] decoded candidate tags, on the stack.
///
/// The first candidate has a slot of its own and the others' slots are created (and
/// zeroed) only when a second candidate arrives: a delivery nearly always carries one,
/// and clearing 480 bytes per verification for the rare rotation cost more than the
/// rest of its bookkeeping.
///
/// Not zeroized on drop: candidates are copies of what the sender wrote in the
/// signature header, which the request still holds. A candidate that matched equals
/// the expected MAC, but then the sender already published it, for this message.
pub(crate) struct Candidates {
    first: Tag,
    more: Option<[Tag; MAX_CANDIDATES - 1]>,
    len: usize,
}

/// The most signature entries (of any version) a delivery may carry.
///
/// ```
/// assert_eq!(hooksig::MAX_CANDIDATES, 16);
/// ```
pub const MAX_CANDIDATES: usize = 16;

impl Candidates {
    #[inline]
    pub(crate) fn new() -> Self {
        Candidates { first: [0u8; TAG_LEN], more: None, len: 0 }
    }

    /// The slot the next candidate goes in, if any is left.
    fn next_slot(&mut self) -> Option<&mut Tag> {
        match self.len.checked_sub(1) {
            None => Some(&mut self.first),
            Some(index) => self.more.get_or_insert([[0u8; TAG_LEN]; MAX_CANDIDATES - 1]).get_mut(index),
        }
    }

    /// Decodes `text` straight into the next free slot. Fails when the text is not a
    /// tag in `encoding`, or when every slot is taken (the general line reading caps
    /// the entries first and reports that; `fast_line` relies on this failure).
    #[inline]
    pub(crate) fn push_decoded(&mut self, encoding: Encoding, text: &[u8]) -> Result<(), &'static str> {
        let slot = self.next_slot().ok_or("too many signatures")?;
        encoding.decode_into(text, slot)?;
        self.len = self.len.saturating_add(1);
        Ok(())
    }

    #[cfg(test)]
    pub(crate) fn push(&mut self, tag: Tag) -> bool {
        match self.next_slot() {
            Some(slot) => {
                *slot = tag;
                self.len = self.len.saturating_add(1);
                true
            }
            None => false,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The candidates, in the order they came.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Tag> {
        std::iter::once(&self.first).chain(self.more.iter().flatten()).take(self.len)
    }

    /// Whether any candidate equals `mac`, comparing every candidate in constant time:
    /// the XOR of all 32 bytes is folded without a branch and `subtle` turns "is it
    /// zero" into a [`Choice`].
    pub(crate) fn matches(&self, mac: &Tag) -> Choice {
        let mac = words(mac);
        let equal = |candidate: &Tag| {
            let diff = words(candidate).iter().zip(&mac).fold(0u64, |diff, (a, b)| diff | (a ^ b));
            diff.ct_eq(&0)
        };
        // The first candidate, then the others: how many there are is public.
        let mut any = Choice::from(0);
        if self.len > 0 {
            any |= equal(&self.first);
        }
        if let Some(more) = &self.more {
            for candidate in more.iter().take(self.len.saturating_sub(1)) {
                any |= equal(candidate);
            }
        }
        any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_accepts_any_case_and_exactly_64_digits() {
        let lower = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let upper = lower.to_ascii_uppercase();
        assert_eq!(Encoding::Hex.decode(lower.as_bytes()), Encoding::Hex.decode(upper.as_bytes()));
        assert!(Encoding::Hex.decode(&lower.as_bytes()[..63]).is_err());
        assert!(Encoding::Hex.decode(format!("{lower}0").as_bytes()).is_err());
        assert!(Encoding::Hex.decode(lower.replace('e', "g").as_bytes()).is_err());
    }

    #[test]
    fn hex_decoding_matches_the_hex_crate_on_every_digit_pair() {
        for hi in 0..=255u8 {
            for lo in 0..=255u8 {
                let mut text = [b'0'; HEX_LEN];
                text[10] = hi;
                text[11] = lo;
                let ours = Encoding::Hex.decode(&text);
                let mut theirs = [0u8; TAG_LEN];
                match hex::decode_to_slice(text, &mut theirs) {
                    Ok(()) => assert_eq!(ours, Ok(theirs)),
                    Err(_) => assert_eq!(ours, Err("invalid hex digit")),
                }
            }
        }
    }

    #[test]
    fn hex_decoding_checks_every_byte_value_at_every_position() {
        let digits = b"0123456789abcdefABCDEF";
        for position in 0..HEX_LEN {
            for value in 0..=255u8 {
                let mut text = [0u8; HEX_LEN];
                for (i, byte) in text.iter_mut().enumerate() {
                    *byte = digits[(i * 7 + position) % digits.len()];
                }
                text[position] = value;
                let mut theirs = [0u8; TAG_LEN];
                match hex::decode_to_slice(text, &mut theirs) {
                    Ok(()) => assert_eq!(Encoding::Hex.decode(&text), Ok(theirs)),
                    Err(_) => assert_eq!(Encoding::Hex.decode(&text), Err("invalid hex digit")),
                }
            }
        }
    }

    #[test]
    fn hex_decoding_agrees_with_the_hex_crate_on_mixed_texts() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let alphabet = b"0123456789abcdefABCDEF/:@`gG\x00\x7f\x80\xb0\xe1\xff";
        for _ in 0..20_000 {
            let mut text = [0u8; HEX_LEN];
            for byte in text.iter_mut() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Mostly valid digits, sometimes one of the edge bytes.
                let pick = (state % 64) as usize;
                *byte = if pick < 56 { alphabet[pick % 22] } else { alphabet[22 + (pick % 12)] };
            }
            let mut theirs = [0u8; TAG_LEN];
            match hex::decode_to_slice(text, &mut theirs) {
                Ok(()) => assert_eq!(Encoding::Hex.decode(&text), Ok(theirs)),
                Err(_) => assert_eq!(Encoding::Hex.decode(&text), Err("invalid hex digit")),
            }
        }
    }

    #[test]
    fn base64_decoding_agrees_with_base64ct() {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let edges = b"=-_.\x00 \x7f\x80\xff";
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..50_000 {
            let mut text = [0u8; BASE64_LEN];
            for byte in text.iter_mut() {
                let r = next();
                *byte = if r % 50 == 0 {
                    edges[(r / 50) as usize % edges.len()]
                } else {
                    alphabet[(r % 64) as usize]
                };
            }
            if round % 2 == 0 {
                text[43] = b'=';
            }
            let mut theirs = [0u8; TAG_LEN];
            let expected = match Base64::decode(text, &mut theirs) {
                Ok(d) if d.len() == TAG_LEN => Ok(theirs),
                _ => Err("invalid base64"),
            };
            assert_eq!(Encoding::Base64.decode(&text), expected, "{:?}", String::from_utf8_lossy(&text));
        }
        // Every tag round-trips, including the canonical last character.
        for i in 0..=255u8 {
            let tag = [i; TAG_LEN];
            let mut buf = [0u8; HEX_LEN];
            let text = Encoding::Base64.encode(&tag, &mut buf).to_owned();
            assert_eq!(Encoding::Base64.decode(text.as_bytes()), Ok(tag));
        }
    }

    #[test]
    fn matches_compares_all_32_bytes() {
        let mut c = Candidates::new();
        c.push([7; 32]);
        for i in 0..TAG_LEN {
            let mut other = [7u8; 32];
            other[i] ^= 0x80;
            assert!(!bool::from(c.matches(&other)), "byte {i}");
        }
        assert!(bool::from(c.matches(&[7; 32])));
    }

    #[test]
    fn base64_requires_standard_padded_alphabet() {
        let good = "tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";
        assert!(Encoding::Base64.decode(good.as_bytes()).is_ok());
        assert!(Encoding::Base64.decode(good.trim_end_matches('=').as_bytes()).is_err());
        let url = good.replace('/', "_").replace('+', "-");
        assert!(Encoding::Base64.decode(url.as_bytes()).is_err());
    }

    #[test]
    fn encode_round_trips() {
        let tag = [0xabu8; 32];
        let mut buf = [0u8; HEX_LEN];
        for enc in [Encoding::Hex, Encoding::Base64] {
            let text = enc.encode(&tag, &mut buf).to_owned();
            assert_eq!(enc.decode(text.as_bytes()), Ok(tag));
        }
    }

    #[test]
    fn candidates_cap_at_sixteen() {
        let mut c = Candidates::new();
        for _ in 0..MAX_CANDIDATES {
            assert!(c.push([1; 32]));
        }
        assert!(!c.push([1; 32]));
        assert!(bool::from(c.matches(&[1; 32])));
        assert!(!bool::from(c.matches(&[2; 32])));
    }
}
