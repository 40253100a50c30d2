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
        match self {
            Encoding::Hex => {
                if text.len() != HEX_LEN {
                    return Err("expected 64 hex digits");
                }
                hex::decode_to_slice(text, &mut tag).map_err(|_| "invalid hex digit")?;
            }
            Encoding::Base64 => {
                if text.len() != BASE64_LEN {
                    return Err("expected 44 characters of padded base64");
                }
                let decoded = Base64::decode(text, &mut tag).map_err(|_| "invalid base64")?;
                if decoded.len() != TAG_LEN {
                    return Err("invalid base64");
                }
            }
        }
        Ok(tag)
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

/// Up to [`MAX_CANDIDATES`] decoded candidate tags, on the stack.
#[derive(Clone)]
pub(crate) struct Candidates {
    tags: [Tag; MAX_CANDIDATES],
    len: usize,
}

/// The most signature entries (of any version) a delivery may carry.
///
/// ```
/// assert_eq!(hooksig::MAX_CANDIDATES, 16);
/// ```
pub const MAX_CANDIDATES: usize = 16;

impl Candidates {
    pub(crate) fn new() -> Self {
        Candidates { tags: [[0u8; TAG_LEN]; MAX_CANDIDATES], len: 0 }
    }

    pub(crate) fn push(&mut self, tag: Tag) -> bool {
        match self.tags.get_mut(self.len) {
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

    /// Whether any candidate equals `mac`, comparing every candidate in constant time.
    pub(crate) fn matches(&self, mac: &Tag) -> Choice {
        self.tags.iter().take(self.len).fold(Choice::from(0), |acc, candidate| acc | candidate.ct_eq(mac))
    }
}

impl Drop for Candidates {
    fn drop(&mut self) {
        // A candidate that matched equals the expected MAC.
        zeroize::Zeroize::zeroize(&mut self.tags);
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
