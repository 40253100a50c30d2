//! Why a delivery was rejected, in terms of the classic mistakes.
//!
//! [`Diagnosis`] holds a scheme and the secrets a receiver tried; [`Diagnosis::explain`]
//! takes a rejected delivery (headers, body, the time it was checked and the
//! [`Error`] the [`Verifier`] returned) and answers with [`Hint`]s, most specific
//! first: a clock that is off, whitespace around a secret, a secret read in the wrong
//! format, a trailing newline, JSON re-serialized by a framework, another preset under
//! which the delivery verifies. Every hint that claims a fix was re-verified with that
//! fix before it is offered.
//!
//! The secrets stay inside: a [`Diagnosis`] has no accessor for them, its `Debug`
//! shows only their labels, and no [`Hint`] carries a secret or a MAC — only labels,
//! header names, timestamps, preset names and yes/no outcomes.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use hooksig::diagnosis::{Diagnosis, Hint};
//! use hooksig::{Scheme, Signer, Verifier};
//!
//! let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let headers = Signer::new(Scheme::github(), "s3cret")?.sign_at(b"{\"a\":1}", None, at)?;
//! // The receiver read the secret from a file with a trailing newline.
//! let verifier = Verifier::new(Scheme::github(), "s3cret\n")?;
//! let error = verifier.verify_at(&headers, b"{\"a\":1}", at).unwrap_err();
//!
//! let diagnosis = Diagnosis::new(Scheme::github()).secret("$HOOK_SECRET", "s3cret\n");
//! let hints = diagnosis.explain(&headers, b"{\"a\":1}", at, &error);
//! assert!(matches!(&hints[0], Hint::SecretWhitespace { verifies_trimmed: true, .. }));
//! assert!(!hints[0].to_string().contains("s3cret"));
//! # Ok::<(), hooksig::Error>(())
//! ```

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::scheme::{Scheme, SecretFormat};
use crate::verify::Verifier;

/// A scheme and the secrets tried with it, labeled; explains rejected deliveries.
///
/// ```
/// use hooksig::{Scheme, diagnosis::Diagnosis};
/// let diagnosis = Diagnosis::new(Scheme::stripe()).secret("$STRIPE_SECRET", "whsec_abc");
/// assert!(!format!("{diagnosis:?}").contains("whsec_abc"));
/// ```
pub struct Diagnosis {
    scheme: Scheme,
    keys: Vec<Key>,
}

/// A secret (or, with the `ed25519` feature, a public key) and its label (where it
/// came from; never the value).
struct Key {
    label: String,
    secret: Zeroizing<Vec<u8>>,
    /// An Ed25519 public key: tried as one, never rewritten by the secret hints.
    public: bool,
}

/// A key as the re-verifications use it: whether it is a public key, and its bytes.
type Material = (bool, Zeroizing<Vec<u8>>);

impl Key {
    fn has_outer_whitespace(&self) -> bool {
        let ws = |b: &&u8| b.is_ascii_whitespace();
        self.secret.first().as_ref().is_some_and(ws) || self.secret.last().as_ref().is_some_and(ws)
    }
}

impl fmt::Debug for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Diagnosis")
            .field("scheme", &self.scheme.name())
            .field("keys", &self.keys.iter().map(|k| k.label.as_str()).collect::<Vec<_>>())
            .finish()
    }
}

/// One explanation of a rejection. Carries no secret and no MAC.
///
/// `Display` writes one sentence; a tool may render the variants its own way (the
/// `hooksig` command names its flags).
///
/// ```
/// use hooksig::diagnosis::Hint;
/// let hint = Hint::TrailingNewline;
/// assert!(hint.to_string().starts_with("the delivery verifies without the body's trailing newline"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Hint {
    /// The timestamp is outside the tolerance.
    ClockSkew {
        /// The delivery's timestamp (unix seconds).
        timestamp: u64,
        /// The time it was checked against (unix seconds).
        now: u64,
        /// How far apart they are, in seconds.
        off_by: u64,
        /// The tolerance that was exceeded, in seconds.
        tolerance: u64,
        /// Whether the timestamp is ahead of `now` (else behind).
        ahead: bool,
        /// Whether the signature itself is valid.
        signature_valid: bool,
    },
    /// A secret starts or ends with whitespace.
    SecretWhitespace {
        /// The secret's label.
        label: String,
        /// Whether the delivery verifies with every secret trimmed.
        verifies_trimmed: bool,
    },
    /// A Stripe secret lacks its `whsec_` prefix (Stripe keys with the whole string).
    StripePrefixMissing {
        /// The secret's label.
        label: String,
        /// Whether the delivery verifies with `whsec_` put back.
        verifies_with_prefix: bool,
    },
    /// A `whsec_` secret given to a scheme that uses secrets' bytes as they are.
    WhsecOnRawScheme {
        /// The secret's label.
        label: String,
        /// The scheme's name.
        scheme: String,
        /// Whether the delivery verifies when the secret is read as `whsec_` + base64.
        verifies_as_base64: bool,
    },
    /// A secret lacks the prefix of a scheme that reads `prefix` + base64.
    SecretPrefixMissing {
        /// The secret's label.
        label: String,
        /// The expected prefix.
        prefix: String,
        /// The scheme's name.
        scheme: String,
        /// Whether the delivery verifies when the secret's bytes are used as they are.
        verifies_raw: bool,
    },
    /// The delivery verifies with the whole `prefix…` string as the key: the sender
    /// does not base64-decode the secret.
    SenderDoesNotDecode {
        /// The prefix.
        prefix: String,
    },
    /// The delivery verifies without the body's trailing newline.
    TrailingNewline,
    /// The body is JSON and the signature matches it re-encoded another way.
    Reencoded {
        /// How it was re-encoded, e.g. "compact (no whitespace, …)".
        how: &'static str,
    },
    /// A required header is missing.
    ExpectedHeaders {
        /// The scheme's name.
        scheme: String,
        /// The headers its deliveries carry.
        expected: Vec<String>,
        /// The header names the delivery had.
        given: Vec<String>,
    },
    /// The signature header does not have the scheme's grammar.
    SignatureHeaderShape {
        /// The scheme's name.
        scheme: String,
        /// The signature header's name.
        header: String,
    },
    /// The delivery verifies under another preset with the same secrets and headers.
    OtherPreset {
        /// The preset's name, e.g. `standard_webhooks`.
        preset: String,
    },
    /// None of the known mistakes explains a signature mismatch.
    Unexplained,
}

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hint::ClockSkew { timestamp, now, off_by, tolerance, ahead, signature_valid } => {
                let verdict = if *signature_valid {
                    "the signature itself is valid"
                } else {
                    "the signature does not match either"
                };
                let side = if *ahead { "ahead of" } else { "older than" };
                write!(
                    f,
                    "the timestamp {timestamp} is off by {off_by} seconds: it is {side} now ({now}) by more \
                     than the {tolerance}s tolerance; {verdict}. Check the sender's and this machine's clocks"
                )
            }
            Hint::SecretWhitespace { label, verifies_trimmed } => {
                let outcome = if *verifies_trimmed {
                    "the delivery verifies with it removed"
                } else {
                    "removing it does not make the delivery verify either"
                };
                write!(
                    f,
                    "the secret from {label} starts or ends with whitespace (a space, tab or newline), which is \
                     part of the key; {outcome}"
                )
            }
            Hint::StripePrefixMissing { label, verifies_with_prefix } => {
                let outcome = if *verifies_with_prefix {
                    "the delivery verifies with `whsec_` put back"
                } else {
                    "adding it back does not make the delivery verify either"
                };
                write!(
                    f,
                    "the secret from {label} does not start with `whsec_`: Stripe's key is the whole `whsec_…` \
                     string, used as is (not base64-decoded); {outcome}"
                )
            }
            Hint::WhsecOnRawScheme { label, scheme, verifies_as_base64 } => {
                let outcome = if *verifies_as_base64 {
                    "the delivery verifies when it is read as `whsec_` + base64 (Standard Webhooks style)"
                } else {
                    "reading it as `whsec_` + base64 does not make the delivery verify either"
                };
                write!(
                    f,
                    "the secret from {label} starts with `whsec_`, but {scheme} uses the secret's bytes as they are; {outcome}"
                )
            }
            Hint::SecretPrefixMissing { label, prefix, scheme, verifies_raw } => {
                let outcome = if *verifies_raw {
                    "the delivery verifies when the secret's bytes are used as they are"
                } else {
                    "using its bytes as they are does not make the delivery verify either"
                };
                write!(
                    f,
                    "the secret from {label} does not start with `{prefix}`: {scheme} reads secrets as `{prefix}` + \
                     base64, exactly as the dashboard shows them; {outcome}"
                )
            }
            Hint::SenderDoesNotDecode { prefix } => write!(
                f,
                "the delivery verifies when the whole `{prefix}…` string is used as the key (as Stripe \
                 does): the sender does not base64-decode the secret"
            ),
            Hint::TrailingNewline => f.write_str(
                "the delivery verifies without the body's trailing newline: an editor or `echo` added it \
                 (use printf, --data, or save the file without a final newline)",
            ),
            Hint::Reencoded { how } => write!(
                f,
                "the body is valid JSON and the signature matches it re-encoded {how}: the bytes you checked \
                 are not the bytes that were signed. Something parsed and re-serialized the body (a framework's \
                 JSON extractor, a logger, a pretty-printer); verify the raw body bytes before parsing"
            ),
            Hint::ExpectedHeaders { scheme, expected, given } => {
                let given = if given.is_empty() { "none".to_owned() } else { given.join(", ") };
                write!(f, "{scheme} deliveries carry {} (headers given: {given})", expected.join(", "))
            }
            Hint::SignatureHeaderShape { scheme, header } => {
                write!(f, "the {header} header does not have the {scheme} signature grammar")
            }
            Hint::OtherPreset { preset } => write!(
                f,
                "the delivery verifies under the {preset} preset with the same secret and headers"
            ),
            Hint::Unexplained => f.write_str(
                "none of the usual mistakes explains it (whitespace around the secret, the secret's format, a \
                 trailing newline, re-encoded JSON, another preset): check that the secret is this endpoint's \
                 signing secret and that the body is exactly the bytes received",
            ),
        }
    }
}

/// The delivery as received, and when it was checked.
struct Case<'a> {
    headers: &'a HeaderMap,
    body: &'a [u8],
    now: SystemTime,
}

impl Diagnosis {
    /// A diagnosis for deliveries of `scheme`, with no secrets yet.
    ///
    /// ```
    /// use hooksig::{Scheme, diagnosis::Diagnosis};
    /// let diagnosis = Diagnosis::new(Scheme::slack());
    /// assert_eq!(diagnosis.scheme().name(), "slack");
    /// ```
    pub fn new(scheme: Scheme) -> Self {
        Diagnosis { scheme, keys: Vec::new() }
    }

    /// Adds a secret, exactly as the receiver was given it, with a label that says
    /// where it came from (hints name the label, never the value).
    ///
    /// ```
    /// use hooksig::{Scheme, diagnosis::Diagnosis};
    /// let diagnosis = Diagnosis::new(Scheme::github()).secret("$OLD", "a").secret("$NEW", "b");
    /// assert_eq!(format!("{diagnosis:?}"), r#"Diagnosis { scheme: "github", keys: ["$OLD", "$NEW"] }"#);
    /// ```
    pub fn secret(mut self, label: impl Into<String>, secret: impl AsRef<[u8]>) -> Self {
        self.keys.push(Key {
            label: label.into(),
            secret: Zeroizing::new(secret.as_ref().to_vec()),
            public: false,
        });
        self
    }

    /// Adds an Ed25519 public key (feature `ed25519`), as the receiver was given it: the
    /// re-verifications try it as a public key, beside the secrets, in the order added;
    /// the secret hints leave it alone.
    ///
    /// ```
    /// use hooksig::{Scheme, diagnosis::Diagnosis};
    /// let diagnosis = Diagnosis::new(Scheme::discord())
    ///     .public_key("$DISCORD_PUBLIC_KEY", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    /// assert_eq!(format!("{diagnosis:?}"), r#"Diagnosis { scheme: "discord", keys: ["$DISCORD_PUBLIC_KEY"] }"#);
    /// ```
    #[cfg(feature = "ed25519")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ed25519")))]
    pub fn public_key(mut self, label: impl Into<String>, key: impl AsRef<[u8]>) -> Self {
        self.keys.push(Key {
            label: label.into(),
            secret: Zeroizing::new(key.as_ref().to_vec()),
            public: true,
        });
        self
    }

    /// The scheme the deliveries were checked with.
    ///
    /// ```
    /// use hooksig::{Scheme, diagnosis::Diagnosis};
    /// assert_eq!(Diagnosis::new(Scheme::github()).scheme().name(), "github");
    /// ```
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// Every hint that explains `error`, the rejection of this delivery checked at
    /// `now`, most specific first. Empty when nothing applies.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use hooksig::diagnosis::{Diagnosis, Hint};
    /// use hooksig::{Scheme, Signer, Verifier};
    ///
    /// let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// let headers = Signer::new(Scheme::github(), "s")?.sign_at(b"{\"a\": 1}", None, at)?;
    /// // A framework parsed the JSON and wrote it back compact.
    /// let error = Verifier::new(Scheme::github(), "s")?.verify_at(&headers, b"{\"a\":1}", at).unwrap_err();
    /// let hints = Diagnosis::new(Scheme::github()).secret("s", "s").explain(&headers, b"{\"a\":1}", at, &error);
    /// assert!(matches!(hints[0], Hint::Reencoded { .. }));
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn explain(&self, headers: &HeaderMap, body: &[u8], now: SystemTime, error: &Error) -> Vec<Hint> {
        let case = Case { headers, body, now };
        let mut hints = Vec::new();
        let keys = self.keys();
        let signature_ok = self.passes(&case, &self.scheme, &keys, body);
        if let Some(hint) = skew_hint(now, error, signature_ok) {
            hints.push(hint);
        }
        if signature_ok {
            return hints;
        }
        hints.extend(self.secret_hints(&case));
        hints.extend(self.body_hints(&case));
        let others = self.other_presets(&case);
        if others.is_empty() {
            match error {
                Error::MissingHeader { .. } => hints.push(self.expected_headers(&case)),
                Error::MalformedHeader { name, .. } if name == self.scheme.signature_header() => {
                    hints.push(Hint::SignatureHeaderShape {
                        scheme: self.scheme.name().to_owned(),
                        header: name.as_str().to_owned(),
                    })
                }
                _ => {}
            }
        }
        hints.extend(others);
        if hints.is_empty() && *error == Error::SignatureMismatch {
            hints.push(Hint::Unexplained);
        }
        hints
    }

    /// The hints that apply when a secret cannot be read for this scheme (building
    /// the [`Verifier`] failed): the secret's format, another preset.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use hooksig::diagnosis::{Diagnosis, Hint};
    /// use hooksig::Scheme;
    /// let hints = Diagnosis::new(Scheme::standard_webhooks())
    ///     .secret("$SECRET", "not-base64")
    ///     .explain_unreadable_secret(&http::HeaderMap::new(), b"", SystemTime::now());
    /// assert!(matches!(&hints[0], Hint::SecretPrefixMissing { verifies_raw: false, .. }));
    /// ```
    pub fn explain_unreadable_secret(&self, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Vec<Hint> {
        let case = Case { headers, body, now };
        let mut hints = self.secret_hints(&case);
        hints.extend(self.other_presets(&case));
        hints
    }

    fn keys(&self) -> Vec<Material> {
        self.keys.iter().map(|k| (k.public, k.secret.clone())).collect()
    }

    /// The secrets (not the public keys).
    fn secrets(&self) -> impl Iterator<Item = &Key> {
        self.keys.iter().filter(|k| !k.public)
    }

    /// Whether the signature is valid (the timestamp's age aside) for this scheme,
    /// these keys and this body.
    fn passes(&self, case: &Case<'_>, scheme: &Scheme, keys: &[Material], body: &[u8]) -> bool {
        let mut builder = Verifier::builder(scheme.clone()).tolerance(Duration::MAX);
        for (public, key) in keys {
            builder = match public {
                #[cfg(feature = "ed25519")]
                true => builder.public_key(&**key),
                _ => builder.secret(&**key),
            };
        }
        builder.build().is_ok_and(|v| v.verify_at(case.headers, body, case.now).is_ok())
    }

    fn secret_hints(&self, case: &Case<'_>) -> Vec<Hint> {
        let mut hints = Vec::new();
        let scheme = &self.scheme;
        if self.secrets().any(Key::has_outer_whitespace) {
            let trimmed: Vec<Material> = self
                .keys
                .iter()
                .map(|k| match k.public {
                    true => (true, k.secret.clone()),
                    false => (false, Zeroizing::new(k.secret.trim_ascii().to_vec())),
                })
                .collect();
            let verifies_trimmed =
                trimmed.iter().all(|(_, k)| !k.is_empty()) && self.passes(case, scheme, &trimmed, case.body);
            for k in self.secrets().filter(|k| k.has_outer_whitespace()) {
                hints.push(Hint::SecretWhitespace { label: k.label.clone(), verifies_trimmed });
            }
        }
        let whsec = |k: &&Key| k.secret.starts_with(b"whsec_");
        match scheme.secret_format() {
            SecretFormat::Raw if scheme.name() == "stripe" => {
                for k in self.secrets().filter(|k| !whsec(k)) {
                    let restored: Vec<Material> = self
                        .keys
                        .iter()
                        .map(|key| {
                            if key.public || whsec(&key) {
                                (key.public, key.secret.clone())
                            } else {
                                let mut with = b"whsec_".to_vec();
                                with.extend_from_slice(&key.secret);
                                (false, Zeroizing::new(with))
                            }
                        })
                        .collect();
                    let verifies_with_prefix = self.passes(case, scheme, &restored, case.body);
                    hints.push(Hint::StripePrefixMissing { label: k.label.clone(), verifies_with_prefix });
                }
            }
            SecretFormat::Raw => {
                for k in self.secrets().filter(whsec) {
                    let decoded =
                        with_secret_format(scheme, SecretFormat::Base64 { prefix: "whsec_".into() });
                    let verifies_as_base64 =
                        decoded.is_some_and(|d| self.passes(case, &d, &self.keys(), case.body));
                    hints.push(Hint::WhsecOnRawScheme {
                        label: k.label.clone(),
                        scheme: scheme.name().to_owned(),
                        verifies_as_base64,
                    });
                }
            }
            SecretFormat::Base64 { prefix } => {
                let raw = with_secret_format(scheme, SecretFormat::Raw);
                let verifies_raw = raw.is_some_and(|r| self.passes(case, &r, &self.keys(), case.body));
                for k in self.secrets().filter(|k| !k.secret.starts_with(prefix.as_bytes())) {
                    hints.push(Hint::SecretPrefixMissing {
                        label: k.label.clone(),
                        prefix: prefix.to_string(),
                        scheme: scheme.name().to_owned(),
                        verifies_raw,
                    });
                }
                if verifies_raw && self.secrets().all(|k| k.secret.starts_with(prefix.as_bytes())) {
                    hints.push(Hint::SenderDoesNotDecode { prefix: prefix.to_string() });
                }
            }
            _ => {}
        }
        hints
    }

    /// A trailing newline an editor added; JSON re-serialized by a framework.
    fn body_hints(&self, case: &Case<'_>) -> Vec<Hint> {
        let keys = self.keys();
        let body = case.body;
        let stripped = body.strip_suffix(b"\n").map(|b| b.strip_suffix(b"\r").unwrap_or(b));
        if stripped.is_some_and(|b| self.passes(case, &self.scheme, &keys, b)) {
            return vec![Hint::TrailingNewline];
        }
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
            return Vec::new();
        };
        let mut variants: Vec<(&'static str, Vec<u8>)> = vec![
            (
                "compact (no whitespace, as JSON.stringify and serde_json write it)",
                reformat(body, Style::Compact),
            ),
            ("with a space after `,` and `:` (Python's json.dumps default)", reformat(body, Style::Spaced)),
            ("pretty-printed with a 2-space indent", reformat(body, Style::Pretty(2))),
            ("pretty-printed with a 4-space indent", reformat(body, Style::Pretty(4))),
        ]
        .into_iter()
        .filter_map(|(how, bytes)| Some((how, bytes?)))
        .collect();
        if let Ok(sorted) = serde_json::to_vec(&value) {
            variants.push(("re-serialized compact with keys sorted", sorted));
        }
        if let Ok(sorted) = serde_json::to_vec_pretty(&value) {
            variants.push(("re-serialized pretty with keys sorted", sorted));
        }
        variants
            .iter()
            .find(|(_, bytes)| bytes.as_slice() != body && self.passes(case, &self.scheme, &keys, bytes))
            .map(|(how, _)| Hint::Reencoded { how })
            .into_iter()
            .collect()
    }

    /// Presets other than this scheme under which the delivery verifies.
    fn other_presets(&self, case: &Case<'_>) -> Vec<Hint> {
        let keys = self.keys();
        #[cfg_attr(not(feature = "ed25519"), allow(unused_mut))]
        let mut presets = Scheme::presets();
        #[cfg(feature = "ed25519")]
        presets.push(Scheme::discord());
        presets
            .into_iter()
            .filter(|p| p.name() != self.scheme.name() && self.passes(case, p, &keys, case.body))
            .map(|p| Hint::OtherPreset { preset: p.name().to_owned() })
            .collect()
    }

    fn expected_headers(&self, case: &Case<'_>) -> Hint {
        let scheme = &self.scheme;
        let mut expected = vec![scheme.signature_header().as_str().to_owned()];
        if let Some(name) = scheme.timestamp_header() {
            expected.push(name.as_str().to_owned());
        }
        if let Some(name) = scheme.id_header().filter(|_| scheme.id_covered()) {
            expected.push(name.as_str().to_owned());
        }
        let given = case.headers.keys().map(|n| n.as_str().to_owned()).collect();
        Hint::ExpectedHeaders { scheme: scheme.name().to_owned(), expected, given }
    }
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn skew_hint(now: SystemTime, error: &Error, signature_valid: bool) -> Option<Hint> {
    let now = unix(now);
    match error {
        Error::TimestampTooOld { age, tolerance } => Some(Hint::ClockSkew {
            timestamp: now.saturating_sub(age.as_secs()),
            now,
            off_by: age.as_secs(),
            tolerance: tolerance.as_secs(),
            ahead: false,
            signature_valid,
        }),
        Error::TimestampInFuture { ahead, tolerance } => Some(Hint::ClockSkew {
            timestamp: now.saturating_add(ahead.as_secs()),
            now,
            off_by: ahead.as_secs(),
            tolerance: tolerance.as_secs(),
            ahead: true,
            signature_valid,
        }),
        _ => None,
    }
}

/// `body` pretty-printed with a 2-space indent when it is valid JSON, its tokens (key
/// order, numbers, string escapes) as received: what `hooksig listen` shows. `None`
/// for anything that is not JSON, and when the result would pass 16 times the input
/// plus 64 KiB (deep nesting), so that a hostile body cannot make it grow without limit.
///
/// ```
/// use hooksig::diagnosis::pretty_json;
/// assert_eq!(pretty_json(br#"{"b":1,"a":[]}"#).unwrap(), b"{\n  \"b\": 1,\n  \"a\": []\n}");
/// assert_eq!(pretty_json(b"not json"), None);
/// ```
pub fn pretty_json(body: &[u8]) -> Option<Vec<u8>> {
    serde_json::from_slice::<serde_json::Value>(body).ok()?;
    reformat(body, Style::Pretty(2))
}

/// A copy of `scheme` that reads secrets another way.
fn with_secret_format(scheme: &Scheme, format: SecretFormat) -> Option<Scheme> {
    scheme.to_builder().secret_format(format).build().ok()
}

#[derive(Clone, Copy)]
enum Style {
    Compact,
    Spaced,
    Pretty(usize),
}

/// Re-lays out valid JSON without touching its tokens (key order, numbers and string
/// escapes stay as they are), as common serializers would write it. `None` when the
/// result would grow past a bound (16 times the input plus 64 KiB: deep nesting
/// pretty-printed), so that a hostile body cannot make it allocate without limit.
fn reformat(src: &[u8], style: Style) -> Option<Vec<u8>> {
    let cap = src.len().saturating_mul(16).saturating_add(65_536);
    fn newline(out: &mut Vec<u8>, style: Style, depth: usize) {
        if let Style::Pretty(indent) = style {
            out.push(b'\n');
            // At most 128 levels deep (serde_json's limit, checked before): bounded.
            out.resize(out.len().saturating_add(indent.saturating_mul(depth)), b' ');
        }
    }
    let is_space = |b: &&u8| matches!(**b, b' ' | b'\t' | b'\n' | b'\r');
    let mut out = Vec::with_capacity(src.len().saturating_mul(2));
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut bytes = src.iter().peekable();
    while let Some(&b) = bytes.next() {
        if out.len() > cap {
            return None;
        }
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => {}
            b'"' => {
                in_string = true;
                out.push(b);
            }
            b'{' | b'[' => {
                out.push(b);
                while bytes.next_if(is_space).is_some() {}
                if let Some(&close) = bytes.next_if(|c| matches!(**c, b'}' | b']')) {
                    out.push(close);
                } else {
                    depth = depth.saturating_add(1);
                    newline(&mut out, style, depth);
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, style, depth);
                out.push(b);
            }
            b',' => {
                out.push(b);
                match style {
                    Style::Compact => {}
                    Style::Spaced => out.push(b' '),
                    Style::Pretty(_) => newline(&mut out, style, depth),
                }
            }
            b':' => {
                out.push(b);
                if !matches!(style, Style::Compact) {
                    out.push(b' ');
                }
            }
            _ => out.push(b),
        }
    }
    Some(out)
}
