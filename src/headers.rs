//! Reading a delivery's headers: the [`HeaderSource`] access trait and the grammars of
//! signature, timestamp and id headers. Nothing here allocates.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderName;

use crate::error::Error;
use crate::scheme::{Algorithm, MAX_ID_LEN, SchemeInner, SignatureFormat, Tolerance};
use crate::tag::Candidates;

/// The longest signature header value accepted, in bytes (16 Stripe or Standard
/// Webhooks entries fit in well under half of it).
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// let long = format!("sha256={}", "0".repeat(hooksig::MAX_HEADER_LEN));
/// headers.insert("x-tale-signature", long.parse().unwrap());
/// let err = hooksig::Verifier::new(hooksig::Scheme::tale(), "s")?.verify(&headers, b"").unwrap_err();
/// assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
/// # Ok::<(), hooksig::Error>(())
/// ```
pub const MAX_HEADER_LEN: usize = 4096;

/// The longest timestamp accepted, in digits (`i64::MAX` has 19).
const MAX_TIMESTAMP_DIGITS: usize = 19;

/// Read access to a request's headers, as raw bytes, by name.
///
/// Implemented for [`http::HeaderMap`]; framework integrations implement it for their
/// own maps so that headers are never copied into a new map per request.
///
/// ```
/// use hooksig::HeaderSource;
/// let mut map = http::HeaderMap::new();
/// map.append("x-a", "1".parse().unwrap());
/// map.append("x-a", "2".parse().unwrap());
/// let name = http::HeaderName::from_static("x-a");
/// let values: Vec<&[u8]> = map.header_values(&name).collect();
/// assert_eq!(values, [b"1".as_slice(), b"2".as_slice()]);
/// ```
pub trait HeaderSource {
    /// Every value of header `name` (case-insensitive), in order, one per header line.
    ///
    /// ```
    /// use hooksig::HeaderSource;
    /// /// A map that can carry any bytes, e.g. for a framework with its own header type.
    /// struct Pairs(Vec<(http::HeaderName, Vec<u8>)>);
    /// impl HeaderSource for Pairs {
    ///     fn header_values<'a>(&'a self, name: &'a http::HeaderName) -> impl Iterator<Item = &'a [u8]> + 'a {
    ///         self.0.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_slice())
    ///     }
    /// }
    /// let sig = hooksig::sign(b"k", b"{}")?.to_string();
    /// let pairs = Pairs(vec![(http::HeaderName::from_static("x-tale-signature"), sig.into_bytes())]);
    /// hooksig::Verifier::new(hooksig::Scheme::tale(), "k")?.verify(&pairs, b"{}")?;
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    fn header_values<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]> + 'a;
}

impl HeaderSource for http::HeaderMap {
    fn header_values<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.get_all(name).iter().map(|v| v.as_bytes())
    }
}

impl<H: HeaderSource + ?Sized> HeaderSource for &H {
    fn header_values<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]> + 'a {
        (**self).header_values(name)
    }
}

/// A delivery id held inline (at most [`MAX_ID_LEN`] bytes, valid UTF-8).
#[derive(Clone, Copy)]
pub(crate) struct DeliveryId {
    buf: [u8; MAX_ID_LEN],
    len: u8,
}

impl DeliveryId {
    pub(crate) fn new(bytes: &[u8]) -> Option<DeliveryId> {
        let len = u8::try_from(bytes.len()).ok()?;
        if bytes.is_empty() || std::str::from_utf8(bytes).is_err() {
            return None;
        }
        let mut buf = [0u8; MAX_ID_LEN];
        buf.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(DeliveryId { buf, len })
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.buf.get(..usize::from(self.len)).unwrap_or_default()
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

/// What a delivery's headers say, once parsed.
pub(crate) struct Parsed {
    pub(crate) candidates: Candidates,
    /// The Ed25519 candidates (`v1a`, Discord's signature).
    #[cfg(feature = "ed25519")]
    pub(crate) signatures: crate::ed25519::Signatures,
    pub(crate) timestamp: Option<u64>,
    pub(crate) id: Option<DeliveryId>,
    /// Whether entries signed with Ed25519 are read (the verifier has public keys);
    /// when not, they are skipped like entries of an unknown version. HMAC entries
    /// are read when `hmac` is set (the verifier has secrets).
    pub(crate) want_hmac: bool,
    #[cfg(feature = "ed25519")]
    pub(crate) want_ed25519: bool,
}

impl Parsed {
    /// Nothing parsed yet: no candidate, no timestamp, no id; HMAC entries wanted.
    pub(crate) fn new() -> Parsed {
        Parsed {
            candidates: Candidates::new(),
            #[cfg(feature = "ed25519")]
            signatures: crate::ed25519::Signatures::new(),
            timestamp: None,
            id: None,
            want_hmac: true,
            #[cfg(feature = "ed25519")]
            want_ed25519: false,
        }
    }

    /// Whether no candidate of any algorithm was read.
    fn is_empty(&self) -> bool {
        #[cfg(feature = "ed25519")]
        if !self.signatures.is_empty() {
            return false;
        }
        self.candidates.is_empty()
    }
}

fn malformed(name: &HeaderName, reason: &'static str) -> Error {
    Error::MalformedHeader { name: name.clone(), reason }
}

/// The declared body length, if any. Values that do not fit a `usize` count as
/// `usize::MAX` (too large, not malformed).
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// assert_eq!(hooksig::content_length(&headers)?, None);
/// headers.insert("content-length", "42".parse().unwrap());
/// assert_eq!(hooksig::content_length(&headers)?, Some(42));
/// # Ok::<(), hooksig::Error>(())
/// ```
pub fn content_length<H: HeaderSource + ?Sized>(headers: &H) -> Result<Option<usize>, Error> {
    let name = http::header::CONTENT_LENGTH;
    let mut values = headers.header_values(&name);
    let Some(first) = values.next() else { return Ok(None) };
    let malformed = |reason| Error::MalformedHeader { name: http::header::CONTENT_LENGTH, reason };
    if values.next().is_some() {
        return Err(malformed("header repeated"));
    }
    if first.is_empty() || !first.iter().all(u8::is_ascii_digit) {
        return Err(malformed("not a decimal length"));
    }
    let len = first
        .iter()
        .try_fold(0usize, |acc, d| acc.checked_mul(10)?.checked_add(usize::from(d.wrapping_sub(b'0'))));
    Ok(Some(len.unwrap_or(usize::MAX)))
}

/// Parses strict decimal unix seconds: digits only, no sign, no leading zero (but
/// `0`), at most `i64::MAX`.
pub(crate) fn parse_timestamp(text: &[u8]) -> Result<u64, &'static str> {
    if text.is_empty() {
        return Err("empty timestamp");
    }
    if !text.iter().all(u8::is_ascii_digit) {
        return Err("timestamp is not decimal unix seconds");
    }
    if text.len() > 1 && text.first() == Some(&b'0') {
        return Err("timestamp has a leading zero");
    }
    if text.len() > MAX_TIMESTAMP_DIGITS {
        return Err("timestamp out of range");
    }
    let value = text
        .iter()
        .try_fold(0u64, |acc, d| acc.checked_mul(10)?.checked_add(u64::from(d.wrapping_sub(b'0'))));
    match value {
        Some(v) if i64::try_from(v).is_ok() => Ok(v),
        _ => Err("timestamp out of range"),
    }
}

/// Writes `value` in decimal into `buf`, returning the digits.
pub(crate) fn format_decimal(value: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut start = buf.len();
    let mut rest = value;
    loop {
        start = start.saturating_sub(1);
        if let Some(slot) = buf.get_mut(start) {
            // `rest % 10` is below 10, so the cast is exact.
            *slot = b'0'.wrapping_add((rest % 10) as u8);
        }
        rest /= 10;
        if rest == 0 || start == 0 {
            break;
        }
    }
    buf.get(start..).unwrap_or_default()
}

/// The single value of a header that may appear at most once.
fn single<'a, H: HeaderSource + ?Sized>(
    headers: &'a H,
    name: &'a HeaderName,
) -> Result<Option<&'a [u8]>, Error> {
    let mut values = headers.header_values(name);
    let first = values.next();
    if values.next().is_some() {
        return Err(malformed(name, "header repeated"));
    }
    Ok(first)
}

/// Parses everything the scheme reads from the headers into `out` (a [`Parsed::new`]).
/// Does not check tolerance. Filled in place: `Parsed` is ~750 bytes (candidates and
/// id are inline), and moving it through `Result`s cost more than the parsing.
pub(crate) fn parse_into<H: HeaderSource + ?Sized>(
    scheme: &SchemeInner,
    headers: &H,
    out: &mut Parsed,
) -> Result<(), Error> {
    let name = &scheme.signature_header;
    let candidates = &mut out.candidates;
    #[cfg(feature = "ed25519")]
    let signatures = &mut out.signatures;
    let want_hmac = out.want_hmac;
    #[cfg(feature = "ed25519")]
    let want_ed25519 = out.want_ed25519;
    let mut entries = 0usize;
    let mut lines = 0usize;
    let mut field_timestamp: Option<u64> = None;

    for value in headers.header_values(name) {
        lines = lines.saturating_add(1);
        if value.len() > MAX_HEADER_LEN {
            return Err(malformed(name, "header value too long"));
        }
        if value.trim_ascii().is_empty() {
            return Err(malformed(name, "empty signature header"));
        }
        // An entry of a known version (`Some`) with its algorithm, or of another one.
        let mut entry = |tag_text: Option<(Algorithm, &[u8])>| -> Result<(), Error> {
            entries = entries.saturating_add(1);
            if entries > crate::tag::MAX_CANDIDATES {
                return Err(malformed(name, "too many signatures"));
            }
            match tag_text {
                Some((Algorithm::HmacSha256, text)) if want_hmac => {
                    let tag = scheme.encoding.decode(text).map_err(|why| malformed(name, why))?;
                    candidates.push(tag);
                }
                #[cfg(feature = "ed25519")]
                Some((Algorithm::Ed25519, text)) if want_ed25519 => {
                    let sig = crate::ed25519::decode_signature(scheme.encoding, text)
                        .map_err(|why| malformed(name, why))?;
                    if !signatures.push(sig) {
                        return Err(malformed(name, "too many Ed25519 signatures"));
                    }
                }
                _ => {}
            }
            Ok(())
        };
        let own = scheme.versions.first().map_or(Algorithm::HmacSha256, |(_, a)| *a);
        match &scheme.format {
            SignatureFormat::Prefixed(prefix) => {
                let tag = value
                    .strip_prefix(prefix.as_bytes())
                    .ok_or_else(|| malformed(name, "unexpected signature prefix"))?;
                entry(Some((own, tag)))?;
            }
            SignatureFormat::VersionedList { .. } => {
                for token in value.split(|b| *b == b' ').filter(|t| !t.is_empty()) {
                    let (v, tag) = split_once(token, b',')
                        .ok_or_else(|| malformed(name, "list entry is not `version,signature`"))?;
                    entry(scheme.algorithm_of(v).map(|algorithm| (algorithm, tag)))?;
                }
            }
            SignatureFormat::KeyValue { timestamp_key, signature_key } => {
                for item in value.split(|b| *b == b',') {
                    if item.is_empty() {
                        return Err(malformed(name, "empty key=value pair"));
                    }
                    let (key, val) = split_once(item, b'=')
                        .filter(|(k, _)| !k.is_empty())
                        .ok_or_else(|| malformed(name, "item is not `key=value`"))?;
                    if key == timestamp_key.as_bytes() {
                        if field_timestamp.is_some() {
                            return Err(malformed(name, "timestamp repeated"));
                        }
                        field_timestamp = Some(parse_timestamp(val).map_err(|why| malformed(name, why))?);
                    } else {
                        entry((key == signature_key.as_bytes()).then_some((own, val)))?;
                    }
                }
            }
        }
    }
    if lines == 0 {
        return Err(Error::MissingHeader { name: name.clone() });
    }
    if out.is_empty() {
        return Err(malformed(name, "no signature of a supported version"));
    }

    let timestamp = match (&scheme.timestamp_header, &scheme.format) {
        (_, SignatureFormat::KeyValue { .. }) => {
            Some(field_timestamp.ok_or_else(|| malformed(name, "no timestamp pair"))?)
        }
        (Some(ts_name), _) => {
            let text =
                single(headers, ts_name)?.ok_or_else(|| Error::MissingHeader { name: ts_name.clone() })?;
            Some(parse_timestamp(text).map_err(|why| malformed(ts_name, why))?)
        }
        (None, _) => None,
    };

    let id = match &scheme.id_header {
        Some(id_name) => match single(headers, id_name)? {
            Some(bytes) => Some(
                DeliveryId::new(bytes)
                    .ok_or_else(|| malformed(id_name, "id must be 1 to 255 bytes of UTF-8"))?,
            ),
            None if scheme.id_covered() => {
                return Err(Error::MissingHeader { name: id_name.clone() });
            }
            None => None,
        },
        None => None,
    };

    out.timestamp = timestamp;
    out.id = id;
    Ok(())
}

fn split_once(bytes: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let at = bytes.iter().position(|b| *b == sep)?;
    Some((bytes.get(..at)?, bytes.get(at.checked_add(1)?..)?))
}

/// Seconds since the epoch of `now` (0 for a clock before 1970).
pub(crate) fn unix_seconds(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Checks `timestamp` against `now` within `tolerance`.
pub(crate) fn check_tolerance(timestamp: u64, now: SystemTime, tolerance: Tolerance) -> Result<(), Error> {
    let now = unix_seconds(now);
    if now >= timestamp {
        let age = Duration::from_secs(now.saturating_sub(timestamp));
        if age > tolerance.past {
            return Err(Error::TimestampTooOld { age, tolerance: tolerance.past });
        }
    } else {
        let ahead = Duration::from_secs(timestamp.saturating_sub(now));
        if ahead > tolerance.future {
            return Err(Error::TimestampInFuture { ahead, tolerance: tolerance.future });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_strict_decimal() {
        assert_eq!(parse_timestamp(b"0"), Ok(0));
        assert_eq!(parse_timestamp(b"1649367553"), Ok(1_649_367_553));
        assert_eq!(parse_timestamp(b"9223372036854775807"), Ok(i64::MAX as u64));
        for bad in [
            &b""[..],
            b"-1",
            b"+1",
            b"01",
            b"1.5",
            b"1e9",
            b" 1",
            b"1 ",
            b"0x10",
            b"9223372036854775808",
            b"99999999999999999999",
            b"\xff",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn decimal_formatting_round_trips() {
        let mut buf = [0u8; 20];
        for v in [0u64, 7, 10, 1_649_367_553, u64::MAX] {
            assert_eq!(format_decimal(v, &mut buf), v.to_string().as_bytes());
        }
    }

    #[test]
    fn delivery_ids_are_bounded_utf8() {
        assert!(DeliveryId::new(b"").is_none());
        assert!(DeliveryId::new(&[b'a'; 256]).is_none());
        assert!(DeliveryId::new(b"\xff").is_none());
        assert_eq!(DeliveryId::new(&[b'a'; 255]).map(|i| i.as_bytes().len()), Some(255));
    }
}
