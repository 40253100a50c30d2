//! `hooksig send`: sign once, POST the identical delivery one or more times, over
//! http or https.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use http::{HeaderValue, Uri, header::CONTENT_TYPE};

use crate::input;
use crate::sign::{SIGNING_KEYS, content_type, sign_delivery};
use crate::tls;
use crate::{BodyArgs, Failure, SchemeArg, SecretArgs, SigningKeyArgs, SubMatches};

/// The most bytes of a response body read and printed.
const MAX_RESPONSE: u64 = 10 * 1024 * 1024;

/// The longest `--timeout`, in seconds (one day). ureq adds the timeout to the
/// monotonic clock, which panics on overflow: `--timeout 18446744073709551615` did.
const MAX_TIMEOUT_SECS: u64 = 24 * 3600;

#[derive(Args)]
#[command(group(clap::ArgGroup::new("keys").required(true).multiple(true).args(SIGNING_KEYS)))]
pub struct SendArgs {
    /// Where to POST the delivery: http://, e.g. a receiver on 127.0.0.1, or https://
    /// (its certificate checked against this system's roots and any --cacert).
    #[arg(value_name = "URL")]
    url: String,
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
    /// Sign as of this time, in unix seconds (default: now); an old one tests the
    /// receiver's tolerance. At most 9223372036854775807.
    #[arg(long, value_name = "UNIX", value_parser = input::unix_seconds)]
    timestamp: Option<u64>,
    /// An extra request header as `Name: value`, such as `X-GitHub-Event: push`;
    /// repeat for more. Sent after the generated headers, in the order given, and NOT
    /// signed. It replaces a generated header of the same name (Content-Type, or even
    /// the signature, to test a rejection).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Send the identical delivery (same id, timestamp, signature and body) N times,
    /// to test the receiver's duplicate handling.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    repeat: u32,
    /// Give up on a delivery after this many seconds (at most 86400).
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    #[arg(value_parser = clap::value_parser!(u64).range(..=MAX_TIMEOUT_SECS))]
    timeout: u64,
    /// Also trust the certificates in this PEM file (one or more: a self-signed
    /// server certificate, a private CA); repeat for more files. The system's roots
    /// (SSL_CERT_FILE and SSL_CERT_DIR are honoured) stay trusted.
    #[arg(long, value_name = "PEM", help_heading = "https")]
    cacert: Vec<PathBuf>,
    /// Do not verify the server's certificate at all (a warning is printed). For
    /// testing only.
    #[arg(long, conflicts_with = "cacert", help_heading = "https")]
    insecure: bool,
}

pub fn run(args: &SendArgs, matches: SubMatches<'_>) -> Result<(), Failure> {
    let uri: Uri = args.url.parse().map_err(|e| Failure::usage(format!("bad URL `{}`: {e}", args.url)))?;
    let tls = tls::for_uri(&uri, &args.url, &args.cacert, args.insecure)?;
    let extra = input::extra_headers(&args.headers)?;
    let scheme = &args.scheme.scheme;
    let secrets = input::keys(&args.secrets, Some((&args.signing_keys).into()), matches)?;
    let body = input::body(&args.body)?;
    let delivery = sign_delivery(scheme, &secrets, body, args.id.as_deref(), args.timestamp)?;

    let content_type = content_type(&delivery.body.bytes).map(HeaderValue::from_static);
    let generated = input::ordered(scheme, &delivery.headers)
        .into_iter()
        .chain(content_type.as_ref().map(|ct| (&CONTENT_TYPE, ct)));
    let headers = input::with_extra(generated, &extra);

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(args.timeout)))
        .tls_config(tls.unwrap_or_default())
        .build()
        .into();

    let mut out = std::io::stdout().lock();
    let times = if args.repeat == 1 { String::new() } else { format!(" ({} times, identical)", args.repeat) };
    writeln!(out, "> POST {}{times}", args.url)?;
    for &(name, value) in &headers {
        out.write_all(b"> ")?;
        out.write_all(name.as_str().as_bytes())?;
        out.write_all(b": ")?;
        out.write_all(value.as_bytes())?;
        out.write_all(b"\n")?;
    }
    writeln!(out, "> ({} bytes of body)", delivery.body.bytes.len())?;

    let mut rejected = 0u32;
    for n in 1..=args.repeat {
        let mut request = agent.post(&args.url);
        for &(name, value) in &headers {
            request = request.header(name.clone(), value.clone());
        }
        let mut response = request.send(delivery.body.bytes.as_slice()).map_err(|e| {
            let failed = |why: &dyn std::fmt::Display| {
                Failure::failed(format!("delivery {n} of {} to {} failed: {why}", args.repeat, args.url))
            };
            match tls::certificate_problem(&e) {
                Some((problem, hint)) => failed(&problem).hint(hint),
                None => failed(&e).hint("is the receiver running and listening on that address?"),
            }
        })?;
        writeln!(out)?;
        let status = response.status();
        let counter = if args.repeat == 1 { String::new() } else { format!("[{n}/{}] ", args.repeat) };
        writeln!(out, "< {counter}{:?} {status}", response.version())?;
        for (name, value) in response.headers() {
            out.write_all(b"< ")?;
            out.write_all(name.as_str().as_bytes())?;
            out.write_all(b": ")?;
            out.write_all(value.as_bytes())?;
            out.write_all(b"\n")?;
        }
        let answer = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE)
            .read_to_vec()
            .map_err(|e| Failure::failed(format!("cannot read the response body: {e}")))?;
        if !answer.is_empty() {
            out.write_all(&answer)?;
            if !answer.ends_with(b"\n") {
                out.write_all(b"\n")?;
            }
        }
        if !status.is_success() {
            rejected += 1;
        }
    }
    out.flush()?;
    if rejected > 0 {
        return Err(Failure::failed(format!(
            "{rejected} of {} deliveries got a non-2xx answer",
            args.repeat
        )));
    }
    Ok(())
}
