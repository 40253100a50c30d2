//! Shared by the fuzz targets:
//!
//! - [`RawHeaders`], a [`HeaderSource`] that carries any bytes (NUL, CR, non-ASCII),
//!   which `http::HeaderValue` refuses;
//! - [`Case`], a line-based text format for deliveries, so that seeds are readable and
//!   the dictionary's tokens land directly in header values;
//! - [`model`], a small reference model of every preset written from the provider
//!   facts (README's preset table, the providers' docs), independent of hooksig's scheme engine: its own table of
//!   presets, its own grammars, its own strict tag decoders, HMAC from the `hmac`
//!   crate directly.
//!
//! # The case format
//!
//! ```text
//! <1 byte: preset index, modulo 9>
//! @secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw   (repeatable, up to 4; default per preset
//!                                                  when neither a secret nor a public key is given)
//! @pk 0                                           (an Ed25519 public key, up to 2: `0`/`1` are the
//!                                                  test keys' `whpk_…`, anything else is taken as is)
//! @now 1700000000                                 (the verifier's clock, unix seconds)
//! @ts 1700000000                                  (the timestamp `{ts}` expands to and the MACs use)
//! @id msg_1                                       (the id `{id}` expands to and the MACs use)
//! @max 100                                        (body limit; default: the preset's)
//! @chunks 1 7 0 3                                 (streaming chunk sizes, cycled)
//! @cl 12                                          (a Content-Length line, for the gate)
//! webhook-signature: v1,{sig0} v1,{sig1}          (header lines: name, ':', value)
//!
//! <body: every byte after the first empty line, verbatim>
//! ```
//!
//! In values, `{sig0}`…`{sig3}` expand to the tag of secret k over the message built
//! from `@ts`/`@id` and the body, in the preset's encoding (`{SIG0}`: upper-case hex);
//! `{ed0}`/`{ed1}` to test key k's Ed25519 signature over that message, in base64;
//! `{ts}`, `{id}` and `{now}` expand to their values. The model never trusts these
//! intended values: it parses the headers as received.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hooksig::{HeaderSource, Scheme};
use http::HeaderName;

pub mod model;

/// Header lines as raw bytes, in order, names lower-case.
#[derive(Debug, Clone, Default)]
pub struct RawHeaders(pub Vec<(HeaderName, Vec<u8>)>);

impl HeaderSource for RawHeaders {
    fn header_values<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.0.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_slice())
    }
}

impl RawHeaders {
    /// Every value of `name` (given in lower case).
    pub fn values(&self, name: &str) -> Vec<&[u8]> {
        self.0.iter().filter(|(n, _)| n.as_str() == name).map(|(_, v)| v.as_slice()).collect()
    }

    /// The same lines as an `http::HeaderMap`, when every value is a valid header value.
    pub fn to_header_map(&self) -> Option<http::HeaderMap> {
        let mut map = http::HeaderMap::new();
        for (name, value) in &self.0 {
            map.append(name.clone(), http::HeaderValue::from_bytes(value).ok()?);
        }
        Some(map)
    }
}

/// The preset hooksig builds for index `i` (the model has its own table, in the same
/// order).
pub fn preset(i: usize) -> Scheme {
    let mut all = Scheme::presets();
    all.swap_remove(i % all.len())
}

/// Seconds since the epoch as a `SystemTime`.
pub fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// One delivery, decoded from fuzzer bytes.
#[derive(Debug, Clone)]
pub struct Case {
    /// Index into [`model::SPECS`] and [`Scheme::presets`].
    pub preset: usize,
    /// Secrets as the dashboard shows them.
    pub secrets: Vec<Vec<u8>>,
    /// Ed25519 public keys as the dashboard shows them (`whpk_…`).
    pub public_keys: Vec<Vec<u8>>,
    /// The verifier's clock.
    pub now: u64,
    /// Body limit override.
    pub max_body: Option<usize>,
    /// Streaming chunk sizes (cycled; empty means one byte at a time).
    pub chunks: Vec<usize>,
    /// The header lines, placeholders expanded.
    pub headers: RawHeaders,
    /// The body.
    pub body: Vec<u8>,
}

const DEFAULT_NOW: u64 = 1_700_000_000;

impl Case {
    /// Decodes a case; `None` for an empty input.
    pub fn parse(data: &[u8]) -> Option<Case> {
        let (&first, rest) = data.split_first()?;
        let preset = usize::from(first) % model::SPECS.len();
        let spec = &model::SPECS[preset];

        // Split the head (lines) from the body at the first empty line.
        let (head, body) = match find(rest, b"\n\n") {
            Some(i) => (&rest[..i], rest[i + 2..].to_vec()),
            None => (rest, Vec::new()),
        };

        let mut secrets: Vec<Vec<u8>> = Vec::new();
        let mut public_keys: Vec<Vec<u8>> = Vec::new();
        let mut now = DEFAULT_NOW;
        let mut ts: Option<Vec<u8>> = None;
        let mut id: Vec<u8> = b"msg_1".to_vec();
        let mut max_body = None;
        let mut chunks = Vec::new();
        let mut lines: Vec<(HeaderName, Vec<u8>)> = Vec::new();
        for line in head.split(|b| *b == b'\n') {
            if let Some(directive) = line.strip_prefix(b"@") {
                let (key, value) = split_at_byte(directive, b' ').unwrap_or((directive, b""));
                match key {
                    b"secret" if secrets.len() < 4 => secrets.push(value.to_vec()),
                    b"pk" if public_keys.len() < 2 => public_keys.push(match value {
                        b"0" | b"1" => model::test_public_key(usize::from(value[0] - b'0')).into_bytes(),
                        other => other.to_vec(),
                    }),
                    // A `SystemTime` holds at most i64::MAX seconds.
                    b"now" => now = decimal(value).unwrap_or(DEFAULT_NOW).min(i64::MAX as u64),
                    b"ts" => ts = Some(value.to_vec()),
                    b"id" => id = value.to_vec(),
                    b"max" => max_body = decimal(value).and_then(|v| usize::try_from(v).ok()),
                    b"chunks" => {
                        chunks = value
                            .split(|b| *b == b' ')
                            .filter_map(|t| decimal(t).and_then(|v| usize::try_from(v).ok()))
                            .take(64)
                            .collect();
                    }
                    b"cl" => {
                        lines.push((http::header::CONTENT_LENGTH, value.to_vec()));
                    }
                    _ => {}
                }
                continue;
            }
            let Some((name, value)) = split_at_byte(line, b':') else { continue };
            let Ok(name) = HeaderName::from_bytes(name.trim_ascii()) else { continue };
            let value = value.strip_prefix(b" ").unwrap_or(value);
            lines.push((name, value.to_vec()));
        }
        if secrets.is_empty() && public_keys.is_empty() {
            secrets.push(spec.default_secret.as_bytes().to_vec());
        }
        let ts = ts.unwrap_or_else(|| now.to_string().into_bytes());

        // Expand placeholders with tags computed by the model from the intended values
        // (lazily: most inputs use none or one).
        let mut tags: [Option<[u8; 32]>; 4] = [None; 4];
        let mut tag = |k: usize| -> [u8; 32] {
            *tags[k].get_or_insert_with(|| {
                match model::decode_secret(spec, secrets.get(k).map_or(&[][..], |s| s)) {
                    Some(key) if k < secrets.len() => {
                        model::hmac(&key, &model::message(spec, &id, &ts, &body))
                    }
                    _ => [0u8; 32],
                }
            })
        };
        let now_text = now.to_string();
        let mut headers = RawHeaders::default();
        for (name, value) in lines {
            let mut out = Vec::with_capacity(value.len());
            let mut rest = value.as_slice();
            while let Some((&b, tail)) = rest.split_first() {
                if b == b'{' {
                    if let Some((k, upper, after)) = sig_placeholder(rest) {
                        out.extend_from_slice(model::encode_tag(spec, &tag(k), upper).as_bytes());
                        rest = after;
                        continue;
                    }
                    if let Some(k) = [&b"{ed0}"[..], b"{ed1}"].iter().position(|p| rest.starts_with(p)) {
                        let sig = model::ed25519_sign(k, &model::message(spec, &id, &ts, &body));
                        out.extend_from_slice(<base64ct::Base64 as base64ct::Encoding>::encode_string(&sig).as_bytes());
                        rest = &rest[5..];
                        continue;
                    }
                    let mut expanded = false;
                    for (pat, with) in
                        [(&b"{ts}"[..], &ts[..]), (b"{id}", &id[..]), (b"{now}", now_text.as_bytes())]
                    {
                        if let Some(after) = rest.strip_prefix(pat) {
                            out.extend_from_slice(with);
                            rest = after;
                            expanded = true;
                            break;
                        }
                    }
                    if expanded {
                        continue;
                    }
                }
                out.push(b);
                rest = tail;
            }
            headers.0.push((name, out));
        }
        Some(Case { preset, secrets, public_keys, now, max_body, chunks, headers, body })
    }

    /// hooksig's verifier for this case, or its build error.
    pub fn verifier(&self) -> Result<hooksig::Verifier, hooksig::Error> {
        self.verifier_for(preset(self.preset))
    }

    /// hooksig's verifier for `scheme` with this case's secrets and limit.
    pub fn verifier_for(&self, scheme: Scheme) -> Result<hooksig::Verifier, hooksig::Error> {
        let mut builder = hooksig::Verifier::builder(scheme);
        for s in &self.secrets {
            builder = builder.secret(s);
        }
        for k in &self.public_keys {
            builder = builder.public_key(k);
        }
        if let Some(max) = self.max_body {
            builder = builder.max_body(max);
        }
        builder.build()
    }
}

/// `{sigK}` or `{SIGK}` for K in 0..4: (K, upper case, the rest).
fn sig_placeholder(text: &[u8]) -> Option<(usize, bool, &[u8])> {
    let upper = match text.get(..4)? {
        b"{sig" => false,
        b"{SIG" => true,
        _ => return None,
    };
    let k = usize::from(text.get(4)?.checked_sub(b'0')?);
    (k < 4 && text.get(5) == Some(&b'}')).then(|| (k, upper, &text[6..]))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split_at_byte(bytes: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let i = bytes.iter().position(|b| *b == sep)?;
    Some((&bytes[..i], &bytes[i + 1..]))
}

fn decimal(text: &[u8]) -> Option<u64> {
    std::str::from_utf8(text).ok()?.parse().ok()
}
