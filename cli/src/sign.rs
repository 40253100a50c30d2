//! `hooksig sign`: signature headers, or a copy-pasteable curl command.

use std::io::Write;
use std::time::SystemTime;

use clap::Args;
use hooksig::{Scheme, Signer};
use http::HeaderMap;
use http::header::CONTENT_TYPE;

use crate::input::{self, Body, BodySource, Extra, KeyKind, Secret};
use crate::{BodyArgs, Failure, SchemeArg, SecretArgs, SigningKeyArgs, SubMatches, warn};

/// The options that give `sign` and `send` their keys: at least one is required.
pub const SIGNING_KEYS: [&str; 6] =
    ["secret_env", "secret_file", "secret", "signing_key_env", "signing_key_file", "signing_key"];

#[derive(Args)]
#[command(group(clap::ArgGroup::new("keys").required(true).multiple(true).args(SIGNING_KEYS)))]
pub struct SignArgs {
    #[command(flatten)]
    scheme: SchemeArg,
    #[command(flatten)]
    secrets: SecretArgs,
    #[command(flatten)]
    signing_keys: SigningKeyArgs,
    #[command(flatten)]
    body: BodyArgs,
    /// The delivery id, for schemes with an id header (default: a fresh random id).
    #[arg(long, value_name = "ID")]
    id: Option<String>,
    /// Sign as of this time, in unix seconds, for schemes with a timestamp
    /// (default: now). At most 9223372036854775807.
    #[arg(long, value_name = "UNIX", value_parser = input::unix_seconds)]
    timestamp: Option<u64>,
    /// An extra header as `Name: value`, such as `X-GitHub-Event: push`; repeat for
    /// more. Printed after the signature headers, in the order given, and passed on by
    /// --curl. Such headers are NOT signed: the signature covers only what the scheme
    /// signs (see `hooksig schemes`). One named like a generated header (the signature,
    /// or Content-Type with --curl) replaces it.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Print a complete curl command that POSTs the signed body to URL instead of
    /// the headers.
    #[arg(long, value_name = "URL")]
    curl: Option<String>,
}

/// Options shared with `send`: what to sign and how.
pub struct Delivery {
    pub scheme: Scheme,
    pub headers: HeaderMap,
    pub body: Body,
}

/// Reads the inputs and signs, warning about options the scheme does not use.
pub fn sign_delivery(
    scheme: &Scheme,
    secrets: &[Secret],
    body: Body,
    id: Option<&str>,
    timestamp: Option<u64>,
) -> Result<Delivery, Failure> {
    if id.is_some() && scheme.id_header().is_none() {
        warn(&format!("{} has no delivery id header; --id is ignored", scheme.name()));
    }
    if timestamp.is_some() && !scheme.has_timestamp() {
        warn(&format!("{} has no timestamp; --timestamp is ignored", scheme.name()));
    }
    for secret in secrets.iter().filter(|s| s.kind == KeyKind::Secret) {
        if secret.has_outer_whitespace() {
            warn(&format!(
                "the secret from {} starts or ends with whitespace, which is part of the key",
                secret.label
            ));
        }
    }
    let mut builder = Signer::builder(scheme.clone());
    for secret in secrets {
        builder = match secret.kind {
            KeyKind::Signing => builder.labeled_signing_key(secret.label.as_str(), &*secret.value),
            _ => builder.labeled_secret(secret.label.as_str(), &*secret.value),
        };
    }
    let signer = builder.build().map_err(|e| secret_failure(scheme, e))?;
    let at = match timestamp {
        Some(t) => input::system_time(t)?,
        None => SystemTime::now(),
    };
    let headers =
        signer.sign_at(&body.bytes, id, at).map_err(|e| Failure::usage(format!("cannot sign: {e}")))?;
    Ok(Delivery { scheme: scheme.clone(), headers, body })
}

/// A signer or verifier refused a key: name the format the scheme expects for that
/// kind of key.
pub fn secret_failure(scheme: &Scheme, e: hooksig::Error) -> Failure {
    let reason = match &e {
        hooksig::Error::InvalidSecret { reason } | hooksig::Error::InvalidKey { reason } => *reason,
        _ => "",
    };
    let failure = Failure::usage(e.to_string());
    if reason.contains("no Ed25519 signature version") {
        return failure.hint(format!(
            "{} signs with HMAC secrets only: use --secret-env VAR (the Ed25519 schemes are standard-webhooks, \
             svix and discord)",
            scheme.name()
        ));
    }
    if reason.contains("no HMAC-SHA256 signature version") {
        return failure.hint(format!(
            "{} signs with Ed25519 only: use --signing-key-env VAR to sign, --public-key-env VAR to verify",
            scheme.name()
        ));
    }
    let (what, format) = if reason.contains("public key") {
        ("public keys", scheme.public_key_format())
    } else if reason.contains("signing key") {
        ("signing keys", scheme.signing_key_format())
    } else {
        ("secrets", scheme.secret_format())
    };
    match format {
        hooksig::SecretFormat::Base64 { prefix } => failure.hint(format!(
            "{} {what} are `{prefix}` followed by base64, exactly as the dashboard shows them",
            scheme.name()
        )),
        hooksig::SecretFormat::Hex if what == "public keys" => failure.hint(format!(
            "{} public keys are 64 hex digits, exactly as the developer portal shows them",
            scheme.name()
        )),
        hooksig::SecretFormat::Hex => failure.hint(format!(
            "{} {what} are hex: the 32-byte seed (64 digits) or seed and public key (128 digits)",
            scheme.name()
        )),
        _ => failure,
    }
}

pub fn run(args: &SignArgs, matches: SubMatches<'_>) -> Result<(), Failure> {
    let scheme = &args.scheme.scheme;
    let extra = input::extra_headers(&args.headers)?;
    let secrets = input::keys(&args.secrets, Some((&args.signing_keys).into()), matches)?;
    let body = input::body(&args.body)?;
    let delivery = sign_delivery(scheme, &secrets, body, args.id.as_deref(), args.timestamp)?;
    let mut out = std::io::stdout().lock();
    match &args.curl {
        None => {
            for (name, value) in input::with_extra(input::ordered(scheme, &delivery.headers), &extra) {
                out.write_all(name.as_str().as_bytes())?;
                out.write_all(b": ")?;
                out.write_all(value.as_bytes())?;
                out.write_all(b"\n")?;
            }
        }
        Some(url) => out.write_all(curl_command(url, &delivery, &extra)?.as_bytes())?,
    }
    out.flush()?;
    Ok(())
}

/// The Content-Type a delivery of these bytes gets: JSON when it parses as JSON,
/// `application/octet-stream` when it is not UTF-8, none otherwise (curl then sends
/// `application/x-www-form-urlencoded`, which suits Slack's form bodies).
pub fn content_type(body: &[u8]) -> Option<&'static str> {
    if input::is_json(body) {
        Some("application/json")
    } else if std::str::from_utf8(body).is_err() {
        Some("application/octet-stream")
    } else {
        None
    }
}

/// Quotes a word for a POSIX shell: single quotes, each `'` written as `'\''`.
pub fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

fn curl_command(url: &str, delivery: &Delivery, extra: &[Extra]) -> Result<String, Failure> {
    let mut lines = vec![format!("curl -sS -i {}", shell_quote(url))];
    for (name, value) in input::ordered(&delivery.scheme, &delivery.headers) {
        if input::replaced(extra, name) {
            continue;
        }
        let value = value.to_str().map_err(|_| Failure::usage("a signature header is not printable"))?;
        lines.push(format!("-H {}", shell_quote(&format!("{name}: {value}"))));
    }
    let bytes = &delivery.body.bytes;
    if let Some(ct) = content_type(bytes)
        && !input::replaced(extra, &CONTENT_TYPE)
    {
        lines.push(format!("-H {}", shell_quote(&format!("Content-Type: {ct}"))));
    }
    for (name, value) in extra {
        let value = value.to_str().map_err(|_| {
            Failure::usage(format!("the value of -H {name} is not printable text"))
                .hint("curl is given headers as text; use `hooksig send` for other bytes")
        })?;
        // curl drops a header given as `Name:`; `Name;` sends it empty.
        let header = if value.is_empty() { format!("{name};") } else { format!("{name}: {value}") };
        lines.push(format!("-H {}", shell_quote(&header)));
    }
    let (flag, data) = match &delivery.body.source {
        BodySource::File(path) => {
            let path =
                path.to_str().ok_or_else(|| Failure::usage("the body file's path is not valid Unicode"))?;
            ("--data-binary", format!("@{path}"))
        }
        BodySource::Data | BodySource::Stdin => {
            match std::str::from_utf8(bytes) {
                // `--data-binary @x` would read a file named x; --data-raw takes it literally.
                Ok(text) if pasteable(text) && text.starts_with('@') => ("--data-raw", text.to_owned()),
                Ok(text) if pasteable(text) => ("--data-binary", text.to_owned()),
                _ => {
                    return Err(Failure::usage(
                    "this body cannot be pasted safely into a shell (it is binary or has control characters)",
                )
                .hint("save it to a file and pass --file PATH: curl then sends it with --data-binary @PATH"));
                }
            }
        }
    };
    lines.push(format!("{flag} {}", shell_quote(&data)));
    Ok(lines.join(" \\\n  ") + "\n")
}

/// Whether text survives being pasted into a terminal inside single quotes.
fn pasteable(text: &str) -> bool {
    text.chars().all(|c| !c.is_control() || c == '\n' || c == '\t')
}
