//! `hooksig schemes`: the presets as a table.

use std::io::Write;
use std::time::Duration;

use hooksig::{Algorithm, Scheme, SecretFormat, SignatureFormat};

use crate::Failure;

pub fn run() -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    let mut presets = Scheme::presets();
    presets.push(Scheme::discord());
    out.write_all(table(&presets).as_bytes())?;
    out.flush()?;
    Ok(())
}

fn table(presets: &[Scheme]) -> String {
    let header = ["NAME", "HEADERS", "MAC COVERS", "ENCODING", "TOLERANCE", "SECRET"].map(str::to_owned);
    let mut rows = vec![header];
    for s in presets {
        rows.push([
            s.name().replace('_', "-"),
            headers(s),
            s.message_template(),
            format!("{:?}", s.encoding()).to_lowercase(),
            tolerance(s.tolerance()),
            secret(s),
        ]);
    }
    let mut widths = [0usize; 6];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in &rows {
        let mut line = String::new();
        for (width, cell) in widths.iter().zip(row) {
            line.push_str(&format!("{cell:<width$}  "));
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text.push_str(
        "\nTOLERANCE: how far the signed timestamp may lie in the past/future.\n\
         {id} is signed only where MAC COVERS names it; other (id) headers are sent but not signed.\n\
         oktave does not sign the body.\n\
         v1a and discord are Ed25519 signatures: give verifiers the public key (--public-key-*),\n\
         signers the signing key (--signing-key-*); `hooksig keygen` makes a pair.\n",
    );
    text
}

/// The signature header's value as a pattern: `sha256=<hex>`, `v1,<base64> …`.
pub fn signature_shape(s: &Scheme) -> String {
    let tag = format!("<{:?}>", s.encoding()).to_lowercase();
    match s.format() {
        SignatureFormat::Prefixed(prefix) => format!("{prefix}{tag}"),
        SignatureFormat::VersionedList { .. } => {
            let entries: Vec<String> = s.versions().map(|(v, _)| format!("{v},{tag}")).collect();
            format!("{} …", entries.join(" "))
        }
        SignatureFormat::KeyValue { timestamp_key, signature_key } => {
            format!("{timestamp_key}=<unix>,{signature_key}={tag}")
        }
        _ => tag,
    }
}

/// `x-hub-signature-256: sha256=<hex>, x-github-delivery (id)`.
fn headers(s: &Scheme) -> String {
    let mut parts = vec![format!("{}: {}", s.signature_header(), signature_shape(s))];
    if let Some(name) = s.timestamp_header() {
        parts.push(name.to_string());
    }
    if let Some(name) = s.id_header() {
        parts.push(format!("{name} (id)"));
    }
    parts.join(", ")
}

/// `±5m`, or `-1h/+5m` when the past and future tolerances differ.
fn tolerance(t: Option<(Duration, Duration)>) -> String {
    match t {
        None => "none".to_owned(),
        Some((past, future)) if past == future => format!("±{}", duration(past)),
        Some((past, future)) => format!("-{}/+{}", duration(past), duration(future)),
    }
}

fn duration(d: Duration) -> String {
    match d.as_secs() {
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

fn secret(s: &Scheme) -> String {
    let ed25519 = match s.public_key_format() {
        SecretFormat::Base64 { prefix } => format!("{prefix}<base64> (public)"),
        _ => "<hex> (public key)".to_owned(),
    };
    if !s.supports(Algorithm::HmacSha256) {
        return ed25519;
    }
    let hmac = secret_format(s);
    if s.supports(Algorithm::Ed25519) { format!("{hmac}; v1a: {ed25519}") } else { hmac }
}

fn secret_format(s: &Scheme) -> String {
    match s.secret_format() {
        SecretFormat::Raw if s.name() == "stripe" => "whsec_… as is".to_owned(),
        SecretFormat::Raw => "raw bytes".to_owned(),
        SecretFormat::Base64 { prefix } => format!("{prefix}<base64>"),
        _ => "other".to_owned(),
    }
}
