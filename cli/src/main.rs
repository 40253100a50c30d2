//! `hooksig`: sign test deliveries, explain rejected ones, send them to a receiver
//! over http or https, probe a receiver for the classic verification flaws, and list
//! the schemes the hooksig library knows.
//!
//! The binary of the `hooksig-cli` package: `cargo install --path cli` from a checkout,
//! `cargo run -p hooksig-cli -- ARGS` to try it.
//!
//! Exit codes: 0 success; 1 verification failed (`verify`), the receiver did not
//! answer 2xx (`send`) or a check failed (`probe`); 2 usage errors (bad flags,
//! unreadable secret or body, a secret the scheme cannot read).

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
#![allow(
    clippy::arithmetic_side_effects,
    unreachable_pub,
    reason = "a command-line tool on trusted arguments"
)]

mod input;
mod keygen;
mod listen;
mod probe;
mod schemes;
mod send;
mod sign;
mod tls;
mod verify;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use hooksig::Scheme;
pub use input::KeyKind;

const PRESETS_HELP: &str = "tale, vocalis, github, oktave, standard-webhooks, svix, stripe, slack, shopify, discord \
     (see `hooksig schemes`)";

const SECRET_HEADING: &str = "Secret (HMAC; at least one key; repeat for key rotation; never printed)";

const SIGNING_KEY_HEADING: &str =
    "Ed25519 signing key (standard-webhooks `v1a`, discord; with or instead of secrets; never printed)";

const PUBLIC_KEY_HEADING: &str =
    "Ed25519 public key (standard-webhooks `v1a`, discord; with or instead of secrets)";

const AFTER_HELP: &str = "\
Examples:
  export HOOK_SECRET='It'\\''s a Secret to Everybody'
  hooksig sign --scheme github --secret-env HOOK_SECRET --data '{\"a\":1}'
  hooksig sign --scheme github --secret-env HOOK_SECRET --file push.json -H 'X-GitHub-Event: push'
  hooksig sign --scheme github --secret-env HOOK_SECRET --file payload.json --curl http://127.0.0.1:3000/hook
  hooksig verify --scheme github --secret-env HOOK_SECRET -H 'X-Hub-Signature-256: sha256=…' --file payload.json
  hooksig send http://127.0.0.1:3000/hook --scheme github --secret-env HOOK_SECRET --data '{}' --repeat 3
  hooksig send https://localhost:8443/hook --cacert dev-cert.pem --scheme github --secret-env HOOK_SECRET --data '{}'
  hooksig probe http://127.0.0.1:3000/hook --scheme github --secret-env HOOK_SECRET
  hooksig keygen --scheme standard-webhooks > keys.txt
  hooksig sign --scheme standard-webhooks --signing-key-file whsk.txt --data '{}'
  hooksig verify --scheme discord --public-key-env DISCORD_PUBLIC_KEY -H @headers.txt --file body.json
  hooksig schemes

Exit codes: 0 success, 1 verification failed, receiver answered non-2xx or a probe check failed,
2 usage error.";

/// Sign and verify webhook signatures (HMAC-SHA256 and Ed25519) from the command line.
#[derive(Parser)]
#[command(name = "hooksig", version, after_help = AFTER_HELP, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sign a body: print the signature headers, one `Name: value` per line (then any
    /// -H headers, which are not signed), or a complete curl command with --curl.
    Sign(sign::SignArgs),
    /// Check a delivery's signature headers against a body; explain a rejection.
    Verify(verify::VerifyArgs),
    /// Sign a body and POST it to a receiver over http or https, printing the answer.
    Send(send::SendArgs),
    /// Test a receiver for the classic verification flaws: send it correctly and
    /// deliberately incorrectly signed deliveries (missing, empty, truncated, malformed
    /// signatures, a changed body, another secret, stale timestamps, a 30 MiB body, …)
    /// and report each check as pass, fail, info or skip.
    #[command(after_help = probe::AFTER_HELP)]
    Probe(probe::ProbeArgs),
    /// List the preset schemes: headers, what the MAC covers, encoding, tolerance.
    Schemes,
    /// Print a fresh key: an Ed25519 signing key and its public key, or with
    /// --symmetric an HMAC secret, in the scheme's format.
    Keygen(keygen::KeygenArgs),
    /// Receive deliveries on a local port: verify each, explain rejections, forward
    /// to your app, keep them, and show them on a live page (/_hooksig/).
    Listen(listen::ListenArgs),
}

/// The preset, shared by `sign`, `verify` and `send`.
#[derive(Clone, Args)]
struct SchemeArg {
    #[arg(long, short = 's', env = "HOOKSIG_SCHEME", value_parser = parse_scheme, help_heading = "Scheme")]
    #[arg(help = format!("The provider preset: {PRESETS_HELP}"))]
    scheme: Scheme,
}

fn parse_scheme(name: &str) -> Result<Scheme, String> {
    Scheme::preset(name).ok_or_else(|| format!("unknown scheme; one of: {PRESETS_HELP}"))
}

/// Where the secret comes from. Repeat to give several (key rotation): they are used
/// in command-line order. Deliberately not `Debug`, so no secret can be printed.
/// At least one secret or Ed25519 key is required (checked by the `keys` group of
/// each subcommand).
#[derive(Clone, Args)]
#[group(id = "secret_source", required = false, multiple = true)]
struct SecretArgs {
    /// Read the secret from this environment variable (preferred).
    #[arg(long, value_name = "VAR", help_heading = SECRET_HEADING)]
    secret_env: Vec<String>,
    /// Read the secret from this file. One trailing newline ("\n" or "\r\n") is
    /// removed, since `echo secret > file` adds it; anything else is kept.
    #[arg(long, value_name = "PATH", help_heading = SECRET_HEADING)]
    secret_file: Vec<PathBuf>,
    /// The secret itself. Discouraged: it lands in your shell history and the
    /// process list (a warning is printed).
    #[arg(long, value_name = "SECRET", help_heading = SECRET_HEADING)]
    secret: Vec<String>,
}

/// Ed25519 signing keys (`sign`, `send`), in the scheme's format: `whsk_` + base64 for
/// standard-webhooks, hex for discord. Used with the secrets in command-line order.
/// Not `Debug`.
#[derive(Clone, Args)]
#[group(id = "signing_key_source", required = false, multiple = true)]
struct SigningKeyArgs {
    /// Read an Ed25519 signing key from this environment variable (preferred).
    #[arg(long, value_name = "VAR", help_heading = SIGNING_KEY_HEADING)]
    signing_key_env: Vec<String>,
    /// Read an Ed25519 signing key from this file (one trailing newline removed).
    #[arg(long, value_name = "PATH", help_heading = SIGNING_KEY_HEADING)]
    signing_key_file: Vec<PathBuf>,
    /// The signing key itself. Discouraged, like --secret (a warning is printed).
    #[arg(long, value_name = "KEY", help_heading = SIGNING_KEY_HEADING)]
    signing_key: Vec<String>,
}

/// Ed25519 public keys (`verify`), in the scheme's format: `whpk_` + base64 for
/// standard-webhooks, 64 hex digits for discord.
#[derive(Clone, Args)]
#[group(id = "public_key_source", required = false, multiple = true)]
struct PublicKeyArgs {
    /// Read an Ed25519 public key from this environment variable.
    #[arg(long, value_name = "VAR", help_heading = PUBLIC_KEY_HEADING)]
    public_key_env: Vec<String>,
    /// Read an Ed25519 public key from this file (one trailing newline removed).
    #[arg(long, value_name = "PATH", help_heading = PUBLIC_KEY_HEADING)]
    public_key_file: Vec<PathBuf>,
    /// The public key itself (it is not a secret).
    #[arg(long, value_name = "KEY", help_heading = PUBLIC_KEY_HEADING)]
    public_key: Vec<String>,
}

/// Where the body comes from: --data, --file, or standard input.
#[derive(Clone, Args)]
#[group(id = "body_source", multiple = false)]
struct BodyArgs {
    /// The body as text, byte for byte (no newline is added).
    #[arg(long, short = 'd', value_name = "TEXT", help_heading = "Body (default: standard input)")]
    data: Option<String>,
    /// Read the body from a file, byte for byte ("-" is standard input).
    #[arg(long, short = 'f', value_name = "PATH", help_heading = "Body (default: standard input)")]
    file: Option<PathBuf>,
}

/// A failure: one line, optional hints, and the exit code.
#[derive(Debug)]
struct Failure {
    code: u8,
    message: String,
    hints: Vec<String>,
}

impl Failure {
    /// A usage error (exit 2).
    fn usage(message: impl Into<String>) -> Self {
        Failure { code: 2, message: message.into(), hints: Vec::new() }
    }

    /// A failed verification or delivery (exit 1).
    fn failed(message: impl Into<String>) -> Self {
        Failure { code: 1, message: message.into(), hints: Vec::new() }
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::failed(format!("cannot write output: {e}"))
    }
}

/// Writes a warning to standard error (errors writing it are ignored).
fn warn(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "warning: {message}");
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let sub = matches.subcommand().map(|(_, m)| m);
    let result = match cli.command {
        Command::Sign(args) => sign::run(&args, sub),
        Command::Verify(args) => verify::run(&args, sub),
        Command::Send(args) => send::run(&args, sub),
        Command::Probe(args) => probe::run(&args, sub),
        Command::Schemes => schemes::run(),
        Command::Keygen(args) => keygen::run(&args),
        Command::Listen(args) => listen::run(&args, sub),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "error: {}", failure.message);
            for hint in &failure.hints {
                let _ = writeln!(err, "hint: {hint}");
            }
            ExitCode::from(failure.code)
        }
    }
}

/// The subcommand's matches, needed to order repeated secret options.
type SubMatches<'a> = Option<&'a ArgMatches>;
