//! `hooksig keygen`: a fresh key in the scheme's format, from the operating system's
//! RNG (`getrandom`, through the library).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use hooksig::{Algorithm, KeyPair, generate_secret};

use crate::{Failure, SchemeArg};

#[derive(Args)]
pub struct KeygenArgs {
    #[command(flatten)]
    scheme: SchemeArg,
    /// Print an HMAC secret (`whsec_…` for standard-webhooks and svix) instead of an
    /// Ed25519 key pair.
    #[arg(long)]
    symmetric: bool,
    /// Write the secret (the signing key, or with --symmetric the secret) to this new
    /// file, readable by its owner only, instead of printing it; the public key is
    /// still printed.
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
}

/// Prints `signing-key: …` and `public-key: …` (or `secret: …`), one per line.
pub fn run(args: &KeygenArgs) -> Result<(), Failure> {
    let scheme = &args.scheme.scheme;
    let name = scheme.name().replace('_', "-");
    let mut out = std::io::stdout().lock();
    if args.symmetric {
        if !scheme.supports(Algorithm::HmacSha256) {
            return Err(Failure::usage(format!("{name} has no HMAC secrets")).hint(format!(
                "drop --symmetric: `hooksig keygen --scheme {name}` prints an Ed25519 key pair"
            )));
        }
        let secret = generate_secret(scheme).map_err(|e| Failure::failed(e.to_string()))?;
        match &args.out {
            Some(path) => write_private(path, secret.as_bytes())?,
            None => writeln!(out, "secret: {}", secret.as_str())?,
        }
    } else {
        if !scheme.supports(Algorithm::Ed25519) {
            return Err(Failure::usage(format!("{name} has no Ed25519 signatures"))
                .hint(format!("`hooksig keygen --scheme {name} --symmetric` prints an HMAC secret")));
        }
        let pair = KeyPair::generate(scheme).map_err(|e| Failure::failed(e.to_string()))?;
        match &args.out {
            Some(path) => write_private(path, pair.signing_key().as_bytes())?,
            None => writeln!(out, "signing-key: {}", pair.signing_key())?,
        }
        writeln!(out, "public-key: {}", pair.public_key())?;
    }
    out.flush()?;
    Ok(())
}

/// Creates `path` (refusing to overwrite it), readable and writable by its owner only
/// where the platform has modes, and writes `bytes` and a newline.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> Result<(), Failure> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let fail = |e: std::io::Error| Failure::usage(format!("cannot create {}: {e}", path.display()));
    let mut file = options.open(path).map_err(fail)?;
    file.write_all(bytes).and_then(|()| file.write_all(b"\n")).map_err(fail)
}
