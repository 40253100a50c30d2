//! `hooksig verify`: check a delivery and, when it fails, say why in terms of the
//! classic mistakes. Hints never print a secret or the MAC the delivery should carry.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Args;
use hooksig::{Error, Scheme, SecretFormat, Verified, Verifier};
use http::HeaderMap;
use zeroize::Zeroizing;

use crate::input::{self, KeyKind, Secret};
use crate::sign::secret_failure;
use crate::{BodyArgs, Failure, PublicKeyArgs, SchemeArg, SecretArgs, SubMatches};

/// A key as the hints re-verify with it.
type Key = (KeyKind, Zeroizing<Vec<u8>>);

#[derive(Args)]
#[command(group(clap::ArgGroup::new("keys").required(true).multiple(true).args(
    ["secret_env", "secret_file", "secret", "public_key_env", "public_key_file", "public_key"]
)))]
pub struct VerifyArgs {
    #[command(flatten)]
    scheme: SchemeArg,
    #[command(flatten)]
    secrets: SecretArgs,
    #[command(flatten)]
    public_keys: PublicKeyArgs,
    #[command(flatten)]
    body: BodyArgs,
    /// A header of the delivery as `Name: value`; repeat for each header. `@PATH`
    /// reads one header per line from a file (e.g. saved `hooksig sign` output).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Check the timestamp against this time (unix seconds) instead of the system
    /// clock, e.g. to verify a delivery captured earlier. At most
    /// 9223372036854775807.
    #[arg(long, value_name = "UNIX", value_parser = input::unix_seconds)]
    now: Option<u64>,
}

/// Everything a hint may re-verify with: the secrets, headers and body as given.
struct Case<'a> {
    scheme: &'a Scheme,
    secrets: &'a [Secret],
    headers: &'a HeaderMap,
    body: &'a [u8],
    now: SystemTime,
}

impl Case<'_> {
    fn keys(&self) -> Vec<Key> {
        self.secrets.iter().map(|s| (s.kind, s.value.clone())).collect()
    }

    /// Whether the signature is valid (the timestamp's age aside) for this scheme,
    /// these keys and this body.
    fn passes(&self, scheme: &Scheme, keys: &[Key], body: &[u8]) -> bool {
        let mut builder = Verifier::builder(scheme.clone()).tolerance(Duration::MAX);
        for (kind, key) in keys {
            builder = match kind {
                KeyKind::Public => builder.public_key(&**key),
                _ => builder.secret(&**key),
            };
        }
        builder.build().is_ok_and(|v| v.verify_at(self.headers, body, self.now).is_ok())
    }
}

pub fn run(args: &VerifyArgs, matches: SubMatches<'_>) -> Result<(), Failure> {
    let scheme = &args.scheme.scheme;
    let secrets = input::keys(&args.secrets, Some((&args.public_keys).into()), matches)?;
    let body = input::body(&args.body)?;
    let headers = input::headers(&args.headers)?;
    let (now, now_from) = match args.now {
        Some(t) => (input::system_time(t)?, "--now"),
        None => (SystemTime::now(), "the system clock"),
    };
    let case = Case { scheme, secrets: &secrets, headers: &headers, body: &body.bytes, now };

    let mut builder = Verifier::builder(scheme.clone());
    for secret in &secrets {
        builder = match secret.kind {
            KeyKind::Public => builder.labeled_public_key(secret.label.as_str(), &*secret.value),
            _ => builder.labeled_secret(secret.label.as_str(), &*secret.value),
        };
    }
    let verifier = match builder.build() {
        Ok(v) => v,
        Err(e) => {
            // The secret cannot be read for this scheme: say how it should look,
            // unless a more specific hint does.
            let mut hints = secret_hints(&case);
            hints.extend(other_presets(&case));
            let mut failure = secret_failure(scheme, e);
            if !hints.is_empty() {
                failure.hints = hints;
            }
            return Err(failure);
        }
    };
    match verifier.verify_at(&headers, &body.bytes, now) {
        Ok(verified) => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", verified_line(&verified, now))?;
            if !verified.covers_body() {
                writeln!(
                    out,
                    "note: {} does not sign the body; treat it as untrusted and deduplicate on the id",
                    scheme.name()
                )?;
            }
            Ok(())
        }
        Err(e) => Err(Failure { code: 1, message: e.to_string(), hints: hints(&case, &e, now_from) }),
    }
}

fn verified_line(v: &Verified, now: SystemTime) -> String {
    let label = v.label().map(|l| format!(" ({l})")).unwrap_or_default();
    let timestamp = match v.timestamp() {
        Some(ts) => {
            let now = unix(now);
            let relative = match now.cmp(&ts) {
                std::cmp::Ordering::Greater => format!("{}s ago", now - ts),
                std::cmp::Ordering::Less => format!("{}s ahead", ts - now),
                std::cmp::Ordering::Equal => "now".to_owned(),
            };
            format!("timestamp {ts} ({relative})")
        }
        None => "no timestamp".to_owned(),
    };
    let id = match v.id() {
        Some(id) if v.id_covered() => format!("id {id}"),
        Some(id) => format!("id {id} (not signed)"),
        None => "no id".to_owned(),
    };
    let kind = match v.algorithm() {
        hooksig::Algorithm::Ed25519 => ", an Ed25519 public key",
        _ => "",
    };
    format!("verified: key #{}{label}{kind}, {timestamp}, {id}", v.key_index())
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Every hint that applies to this failure, most specific first.
fn hints(case: &Case<'_>, error: &Error, now_from: &str) -> Vec<String> {
    let mut hints = Vec::new();
    // The signature is fine and only the clock is off: say just that.
    let signature_ok = case.passes(case.scheme, &case.keys(), case.body);
    if let Some(hint) = skew_hint(case, error, now_from, signature_ok) {
        hints.push(hint);
    }
    if signature_ok {
        return hints;
    }
    hints.extend(secret_hints(case));
    hints.extend(body_hints(case));
    let others = other_presets(case);
    if others.is_empty() {
        match error {
            Error::MissingHeader { .. } => hints.push(expected_headers(case)),
            Error::MalformedHeader { name, .. } if name == case.scheme.signature_header() => {
                hints.push(format!(
                    "{} signature headers look like `{name}: {}` (see `hooksig schemes`)",
                    case.scheme.name(),
                    crate::schemes::signature_shape(case.scheme)
                ))
            }
            _ => {}
        }
    }
    hints.extend(others);
    if hints.is_empty() && *error == Error::SignatureMismatch {
        hints.push(
            "none of the usual mistakes explains it (whitespace around the secret, the secret's format, a \
             trailing newline, re-encoded JSON, another preset): check that the secret is this endpoint's \
             signing secret and that the body is exactly the bytes received"
                .to_owned(),
        );
    }
    hints
}

fn skew_hint(case: &Case<'_>, error: &Error, now_from: &str, signature_ok: bool) -> Option<String> {
    let now = unix(case.now);
    let verdict =
        if signature_ok { "the signature itself is valid" } else { "the signature does not match either" };
    match error {
        Error::TimestampTooOld { age, tolerance } => {
            let ts = now.saturating_sub(age.as_secs());
            Some(format!(
                "the timestamp {ts} is off by {} seconds: it is older than now ({now}, from {now_from}) by more \
                 than the {}s tolerance; {verdict}. For a captured delivery, pass --now {ts}; otherwise \
                 check the sender's and this machine's clocks",
                age.as_secs(),
                tolerance.as_secs()
            ))
        }
        Error::TimestampInFuture { ahead, tolerance } => {
            let ts = now.saturating_add(ahead.as_secs());
            Some(format!(
                "the timestamp {ts} is off by {} seconds: it is ahead of now ({now}, from {now_from}) by more \
                 than the {}s tolerance; {verdict}. The sender's clock is ahead of this one: check both \
                 clocks (NTP)",
                ahead.as_secs(),
                tolerance.as_secs()
            ))
        }
        _ => None,
    }
}

/// Whitespace around a secret; a `whsec_` secret given to a raw-bytes scheme or the
/// reverse.
fn secret_hints(case: &Case<'_>) -> Vec<String> {
    let mut hints = Vec::new();
    let scheme = case.scheme;
    let is_secret = |s: &&Secret| s.kind == KeyKind::Secret;
    if case.secrets.iter().filter(is_secret).any(Secret::has_outer_whitespace) {
        let trimmed: Vec<Key> = case.secrets.iter().map(|s| (s.kind, s.trimmed())).collect();
        let outcome =
            if trimmed.iter().all(|(_, k)| !k.is_empty()) && case.passes(scheme, &trimmed, case.body) {
                "the delivery verifies with it removed"
            } else {
                "removing it does not make the delivery verify either"
            };
        for s in case.secrets.iter().filter(is_secret).filter(|s| s.has_outer_whitespace()) {
            hints.push(format!(
                "the secret from {} starts or ends with whitespace (a space, tab or newline), which is \
                 part of the key; {outcome}",
                s.label
            ));
        }
    }
    let whsec = |s: &&Secret| s.value.starts_with(b"whsec_");
    let secrets = || case.secrets.iter().filter(is_secret);
    match scheme.secret_format() {
        SecretFormat::Raw if scheme.name() == "stripe" => {
            for s in secrets().filter(|s| !whsec(s)) {
                let mut restored: Vec<Key> = case.keys();
                for ((_, key), secret) in restored.iter_mut().zip(case.secrets) {
                    if secret.kind == KeyKind::Secret && !whsec(&secret) {
                        let mut with = b"whsec_".to_vec();
                        with.extend_from_slice(key);
                        *key = Zeroizing::new(with);
                    }
                }
                let outcome = if case.passes(scheme, &restored, case.body) {
                    "the delivery verifies with `whsec_` put back"
                } else {
                    "adding it back does not make the delivery verify either"
                };
                hints.push(format!(
                    "the secret from {} does not start with `whsec_`: Stripe's key is the whole `whsec_…` \
                     string, used as is (not base64-decoded); {outcome}",
                    s.label
                ));
            }
        }
        SecretFormat::Raw => {
            for s in secrets().filter(whsec) {
                let decoded = with_secret_format(scheme, SecretFormat::Base64 { prefix: "whsec_".into() });
                let outcome = if decoded.is_some_and(|d| case.passes(&d, &case.keys(), case.body)) {
                    "the delivery verifies when it is read as `whsec_` + base64 (Standard Webhooks style)"
                } else {
                    "reading it as `whsec_` + base64 does not make the delivery verify either"
                };
                hints.push(format!(
                    "the secret from {} starts with `whsec_`, but {} uses the secret's bytes as they are; {outcome}",
                    s.label,
                    scheme.name()
                ));
            }
        }
        SecretFormat::Base64 { prefix } => {
            let raw = with_secret_format(scheme, SecretFormat::Raw);
            let raw_ok = raw.is_some_and(|r| case.passes(&r, &case.keys(), case.body));
            for s in secrets().filter(|s| !s.value.starts_with(prefix.as_bytes())) {
                let outcome = if raw_ok {
                    "the delivery verifies when the secret's bytes are used as they are"
                } else {
                    "using its bytes as they are does not make the delivery verify either"
                };
                hints.push(format!(
                    "the secret from {} does not start with `{prefix}`: {} reads secrets as `{prefix}` + \
                     base64, exactly as the dashboard shows them; {outcome}",
                    s.label,
                    scheme.name()
                ));
            }
            if raw_ok && secrets().all(|s| s.value.starts_with(prefix.as_bytes())) {
                hints.push(format!(
                    "the delivery verifies when the whole `{prefix}…` string is used as the key (as Stripe \
                     does): the sender does not base64-decode the secret"
                ));
            }
        }
        _ => {}
    }
    hints
}

/// A copy of `scheme` that reads secrets another way.
fn with_secret_format(scheme: &Scheme, format: SecretFormat) -> Option<Scheme> {
    scheme.to_builder().secret_format(format).build().ok()
}

/// A trailing newline the editor added; JSON re-serialized by a framework.
fn body_hints(case: &Case<'_>) -> Vec<String> {
    let mut hints = Vec::new();
    let keys = case.keys();
    let body = case.body;
    let stripped = body.strip_suffix(b"\n").map(|b| b.strip_suffix(b"\r").unwrap_or(b));
    if stripped.is_some_and(|b| case.passes(case.scheme, &keys, b)) {
        hints.push(
            "the delivery verifies without the body's trailing newline: an editor or `echo` added it \
             (use printf, --data, or save the file without a final newline)"
                .to_owned(),
        );
        return hints;
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return hints;
    };
    let mut variants: Vec<(&str, Vec<u8>)> = vec![
        (
            "compact (no whitespace, as JSON.stringify and serde_json write it)",
            reformat(body, Style::Compact),
        ),
        ("with a space after `,` and `:` (Python's json.dumps default)", reformat(body, Style::Spaced)),
        ("pretty-printed with a 2-space indent", reformat(body, Style::Pretty(2))),
        ("pretty-printed with a 4-space indent", reformat(body, Style::Pretty(4))),
    ];
    if let Ok(sorted) = serde_json::to_vec(&value) {
        variants.push(("re-serialized compact with keys sorted", sorted));
    }
    if let Ok(sorted) = serde_json::to_vec_pretty(&value) {
        variants.push(("re-serialized pretty with keys sorted", sorted));
    }
    if let Some((what, _)) =
        variants.iter().find(|(_, bytes)| bytes.as_slice() != body && case.passes(case.scheme, &keys, bytes))
    {
        hints.push(format!(
            "the body is valid JSON and the signature matches it re-encoded {what}: the bytes you checked \
             are not the bytes that were signed. Something parsed and re-serialized the body (a framework's \
             JSON extractor, a logger, a pretty-printer); verify the raw body bytes before parsing"
        ));
    }
    hints
}

#[derive(Clone, Copy)]
enum Style {
    Compact,
    Spaced,
    Pretty(usize),
}

/// Re-lays out valid JSON without touching its tokens (key order, numbers and string
/// escapes stay as they are), as common serializers would write it.
fn reformat(src: &[u8], style: Style) -> Vec<u8> {
    fn newline(out: &mut Vec<u8>, style: Style, depth: usize) {
        if let Style::Pretty(indent) = style {
            out.push(b'\n');
            out.resize(out.len() + indent * depth, b' ');
        }
    }
    let is_space = |b: &&u8| matches!(**b, b' ' | b'\t' | b'\n' | b'\r');
    let mut out = Vec::with_capacity(src.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut bytes = src.iter().peekable();
    while let Some(&b) = bytes.next() {
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
                    depth += 1;
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
    out
}

/// Presets other than the chosen one under which the delivery verifies.
fn other_presets(case: &Case<'_>) -> Vec<String> {
    let keys = case.keys();
    let mut presets = Scheme::presets();
    let more: Vec<Scheme> = Scheme::ed25519_presets()
        .into_iter()
        .filter(|p| !presets.iter().any(|q| q.name() == p.name()))
        .collect();
    presets.extend(more);
    presets
        .into_iter()
        .filter(|p| p.name() != case.scheme.name() && case.passes(p, &keys, case.body))
        .map(|p| {
            format!(
                "the delivery verifies under the {name} preset with the same secret and headers: use --scheme {}",
                p.name().replace('_', "-"),
                name = p.name()
            )
        })
        .collect()
}

fn expected_headers(case: &Case<'_>) -> String {
    let scheme = case.scheme;
    let mut expected = vec![scheme.signature_header().as_str()];
    if let Some(name) = scheme.timestamp_header() {
        expected.push(name.as_str());
    }
    if let Some(name) = scheme.id_header().filter(|_| scheme.id_covered()) {
        expected.push(name.as_str());
    }
    let given: Vec<&str> = case.headers.keys().map(|n| n.as_str()).collect();
    let given = if given.is_empty() { "none".to_owned() } else { given.join(", ") };
    format!(
        "{} deliveries carry {}; pass each with -H 'Name: value' (headers given: {given})",
        scheme.name(),
        expected.join(", ")
    )
}
