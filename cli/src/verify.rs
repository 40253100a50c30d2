//! `hooksig verify`: check a delivery and, when it fails, say why in terms of the
//! classic mistakes. Hints never print a secret or the MAC the delivery should carry.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use hooksig::diagnosis::{Diagnosis, Hint};
use hooksig::{Scheme, Verified, Verifier};

use crate::input::{self, KeyKind};
use crate::sign::secret_failure;
use crate::{BodyArgs, Failure, PublicKeyArgs, SchemeArg, SecretArgs, SubMatches};

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

pub fn run(args: &VerifyArgs, matches: SubMatches<'_>) -> Result<(), Failure> {
    let scheme = &args.scheme.scheme;
    let secrets = input::keys(&args.secrets, Some((&args.public_keys).into()), matches)?;
    let body = input::body(&args.body)?;
    let headers = input::headers(&args.headers)?;
    let (now, now_from) = match args.now {
        Some(t) => (input::system_time(t)?, "--now"),
        None => (SystemTime::now(), "the system clock"),
    };
    let diagnosis = secrets.iter().fold(Diagnosis::new(scheme.clone()), |d, s| match s.kind {
        KeyKind::Public => d.public_key(s.label.as_str(), &*s.value),
        _ => d.secret(s.label.as_str(), &*s.value),
    });

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
            let hints: Vec<String> = diagnosis
                .explain_unreadable_secret(&headers, &body.bytes, now)
                .iter()
                .map(|h| render(h, now_from))
                .collect();
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
        Err(e) => Err(Failure {
            code: 1,
            message: e.to_string(),
            hints: diagnosis
                .explain(&headers, &body.bytes, now, &e)
                .iter()
                .map(|h| render(h, now_from))
                .collect(),
        }),
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

/// A hint as `hooksig verify` words it: the library's sentence, or one that names
/// this command's flags (`--now`, `-H`, `--scheme`, `hooksig schemes`).
pub fn render(hint: &Hint, now_from: &str) -> String {
    match hint {
        Hint::ClockSkew { timestamp: ts, now, off_by, tolerance, ahead, signature_valid } => {
            let verdict = if *signature_valid {
                "the signature itself is valid"
            } else {
                "the signature does not match either"
            };
            if *ahead {
                format!(
                    "the timestamp {ts} is off by {off_by} seconds: it is ahead of now ({now}, from {now_from}) by more \
                     than the {tolerance}s tolerance; {verdict}. The sender's clock is ahead of this one: check both \
                     clocks (NTP)"
                )
            } else {
                format!(
                    "the timestamp {ts} is off by {off_by} seconds: it is older than now ({now}, from {now_from}) by more \
                     than the {tolerance}s tolerance; {verdict}. For a captured delivery, pass --now {ts}; otherwise \
                     check the sender's and this machine's clocks"
                )
            }
        }
        Hint::ExpectedHeaders { scheme, expected, given } => {
            let given = if given.is_empty() { "none".to_owned() } else { given.join(", ") };
            format!(
                "{scheme} deliveries carry {}; pass each with -H 'Name: value' (headers given: {given})",
                expected.join(", ")
            )
        }
        Hint::SignatureHeaderShape { scheme, header } => match Scheme::preset(scheme) {
            Some(s) => format!(
                "{scheme} signature headers look like `{header}: {}` (see `hooksig schemes`)",
                crate::schemes::signature_shape(&s)
            ),
            None => hint.to_string(),
        },
        Hint::OtherPreset { preset } => format!(
            "the delivery verifies under the {preset} preset with the same secret and headers: use --scheme {}",
            preset.replace('_', "-")
        ),
        other => other.to_string(),
    }
}
