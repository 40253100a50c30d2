//! `hooksig probe`: send one receiver a bounded battery of correctly and deliberately
//! incorrectly signed deliveries and report the classic verification flaws, each check
//! as pass, fail, info or skip.
//!
//! Safety: only the given URL is contacted (no proxy, no redirects), one request at a
//! time, each with a timeout; the number of requests, the body sizes and the time of
//! the timing check are bounded, and the totals are printed at the end.

mod craft;
mod http;
mod timing;

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ::http::header::{CONTENT_LENGTH, CONTENT_TYPE, EXPECT, TRANSFER_ENCODING};
use ::http::{HeaderName, HeaderValue, Method};
use clap::Args;
use clap::builder::PossibleValuesParser;
use hooksig::{Algorithm, Signer};

use self::craft::{Crafter, OVERSIZED, Rng, Signed};
use self::http::{Answer, Client, Request, Sent, seconds};
use crate::input::KeyKind;
use crate::input::{self, Extra};
use crate::sign::secret_failure;
use crate::tls::{self};
use crate::{BodyArgs, Failure, SchemeArg, SecretArgs, SigningKeyArgs, SubMatches, warn};

/// The checks, in the order they run: `replay` last, so that a receiver with replay
/// protection sees every other delivery first.
pub const CHECKS: [&str; 14] = [
    "valid",
    "valid-reformatted",
    "tampered-body",
    "wrong-secret",
    "missing-signature",
    "empty-signature",
    "truncated-signature",
    "malformed-signature",
    "stale-timestamp",
    "future-timestamp",
    "oversized-body",
    "wrong-method",
    "timing",
    "replay",
];

/// `hooksig probe --help`, after the options.
pub const AFTER_HELP: &str = "\
Checks (expected answer; `info` checks only report):
  valid                correctly signed → 2xx
  valid-reformatted    the same JSON, other spacing and key order, signed over its bytes → 2xx
  tampered-body        one body byte changed after signing → 4xx
  wrong-secret         signed with another secret, and with the empty secret (Ed25519: another key) → 4xx
  missing-signature    no signature header → 4xx
  empty-signature      empty value, the prefix alone (sha256=, v1,, t=…,v1=) → 4xx
  truncated-signature  half of a valid tag, one character → 4xx
  malformed-signature  garbage, wrong alphabet, non-ASCII, 8 KiB, the header twice → 4xx (5xx, reset, timeout: fail)
  stale-timestamp      validly signed 1 h ago, or 1 h past a longer tolerance (timestamped schemes) → 4xx
  future-timestamp     the same into the future → 4xx
  oversized-body       validly signed 30 MiB body → 413/4xx or an early close, never 2xx
  wrong-method         GET → info
  timing               with --timing N: first- vs last-byte-wrong tags, Welch t (fail: |t| > 10 twice, same sign); HMAC only
  replay               the `valid` delivery again, last → info

Bounds: one request at a time, only to URL; about 20 requests and 31 MiB without --timing
(4N + 4 more with it, each round at most 60 s); each request at most --timeout.

Examples:
  hooksig probe http://127.0.0.1:3000/hook --scheme github --secret-env HOOK_SECRET
  hooksig probe https://hooks.example.test/stripe -s stripe --secret-env STRIPE_WEBHOOK_SECRET --json
  hooksig probe http://127.0.0.1:3000/hook -s github --secret-env HOOK_SECRET --only timing --timing 500
  hooksig probe http://127.0.0.1:3000/interactions -s discord --signing-key-env DISCORD_SIGNING_KEY

Exit codes: 0 no check failed, 1 a check failed (or the receiver cannot be reached), 2 usage error.";

/// The largest body `--body`/`--data` may give.
const MAX_BODY: usize = 1024 * 1024;
/// The longest `--timeout`.
const MAX_TIMEOUT: Duration = Duration::from_secs(300);
/// The most time one round of the timing check may take.
const TIMING_ROUND: Duration = Duration::from_secs(60);
/// How far beyond the scheme's tolerance the timestamp checks sign, at least.
const HOUR: Duration = Duration::from_secs(3600);

const CVE_PREFIX: &str = "CVE-2024-21491";
const CVE_CRASH: &str = "CVE-2023-50728";
const GHSA_EMPTY_SECRET: &str = "GHSA-xff3-5c9p-2mr4";
const CVE_TIMING: &str = "CVE-2022-36885, CVE-2022-24912";

#[derive(Args)]
// At least one key (a secret, or an Ed25519 signing key), whatever the shared groups
// themselves require.
#[command(group(clap::ArgGroup::new("probe_keys").required(true).multiple(true).args([
    "secret_env",
    "secret_file",
    "secret",
    "signing_key_env",
    "signing_key_file",
    "signing_key"
])))]
pub struct ProbeArgs {
    /// The receiver to test: http:// or https:// (with --cacert or --insecure as for
    /// `send`). Nothing else is contacted: no proxy, no redirects.
    #[arg(value_name = "URL")]
    url: String,
    #[command(flatten)]
    scheme: SchemeArg,
    #[command(flatten)]
    secrets: SecretArgs,
    /// Ed25519 (standard-webhooks `v1a`, discord): the receiver holds the public key,
    /// the probe signs with the signing key.
    #[command(flatten)]
    signing_keys: SigningKeyArgs,
    /// The body of the deliveries that should be accepted, read from a file ("-" for
    /// standard input); at most 1 MiB. Default: a small JSON object, made unique per
    /// delivery so that replay protection does not refuse the second accepted one.
    #[arg(long, value_name = "FILE", conflicts_with = "data", help_heading = "Body")]
    body: Option<PathBuf>,
    /// The same as text.
    #[arg(long, short = 'd', value_name = "TEXT", help_heading = "Body")]
    data: Option<String>,
    /// An extra request header as `Name: value` on every request (such as
    /// `X-GitHub-Event: ping`, or what a gateway in front of the receiver needs); not
    /// signed. The signature, timestamp and id headers are the probe's.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Print the results as a JSON array of {"check", "result", "status", "detail"}
    /// (the totals go to standard error).
    #[arg(long)]
    json: bool,
    /// Give up on one request after this long: 10s, 500ms, 1m; at most 5m.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_timeout)]
    timeout: Duration,
    /// Run only these checks (comma-separated ids).
    #[arg(long, value_name = "ID,ID", value_delimiter = ',', value_parser = PossibleValuesParser::new(CHECKS))]
    only: Vec<String>,
    /// Run the timing check: two rounds of N requests with a tag wrong in its first byte
    /// and N wrong in its last byte, interleaved, on one kept-alive connection
    /// (4N + 4 requests, each round stopped after 60 s). N from 10 to 5000.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(10..=5000))]
    timing: Option<u32>,
    /// Also trust the certificates in this PEM file; repeat for more files.
    #[arg(long, value_name = "PEM", help_heading = "https")]
    cacert: Vec<PathBuf>,
    /// Do not verify the server's certificate at all (a warning is printed). For
    /// testing only.
    #[arg(long, conflicts_with = "cacert", help_heading = "https")]
    insecure: bool,
}

/// `10s`, `500ms`, `2m`, or plain seconds.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let n: u64 = number.parse().map_err(|_| format!("`{text}` is not a duration such as 10s or 500ms"))?;
    let d = match unit.trim() {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" | "min" => Duration::from_secs(n.saturating_mul(60)),
        other => return Err(format!("unknown unit `{other}`: use ms, s or m")),
    };
    if d.is_zero() || d > MAX_TIMEOUT {
        return Err(format!("must be more than 0 and at most {}", seconds(MAX_TIMEOUT)));
    }
    Ok(d)
}

/// What a check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    Info,
    Skip,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Info => "info",
            Verdict::Skip => "skip",
        }
    }
}

/// One line of the report.
struct Outcome {
    check: &'static str,
    verdict: Verdict,
    status: Option<u16>,
    detail: String,
}

fn outcome(check: &'static str, verdict: Verdict, status: Option<u16>, detail: impl Into<String>) -> Outcome {
    Outcome { check, verdict, status, detail: detail.into() }
}

/// Which signature header values a request carries.
enum Sig<'a> {
    /// As signed.
    Keep,
    /// None at all.
    Remove,
    /// These instead, one header line each.
    Replace(&'a [HeaderValue]),
}

struct Probe<'a> {
    url: &'a str,
    client: Client,
    crafter: Crafter,
    extra: Vec<Extra>,
    /// Whether the receiver has answered anything yet.
    reached: bool,
    /// The `valid` delivery and what it got, for `valid-reformatted` and `replay`.
    valid: Option<(Signed, Sent)>,
    rng: Rng,
}

pub fn run(args: &ProbeArgs, matches: SubMatches<'_>) -> Result<(), Failure> {
    let uri: ::http::Uri =
        args.url.parse().map_err(|e| Failure::usage(format!("bad URL `{}`: {e}", args.url)))?;
    let tls = tls::for_uri(&uri, &args.url, &args.cacert, args.insecure)?;
    let scheme = &args.scheme.scheme;
    let extra = input::extra_headers(&args.headers)?;
    let own: Vec<&HeaderName> =
        [Some(scheme.signature_header()), scheme.timestamp_header(), scheme.id_header()]
            .into_iter()
            .flatten()
            .chain([&CONTENT_LENGTH, &TRANSFER_ENCODING, &EXPECT])
            .collect();
    if let Some((name, _)) = extra.iter().find(|(name, _)| own.contains(&name)) {
        return Err(Failure::usage(format!("-H {name}: the probe writes this header itself"))
            .hint("-H adds headers the scheme does not sign, such as X-GitHub-Event"));
    }
    let secrets = input::keys(&args.secrets, Some((&args.signing_keys).into()), matches)?;
    let Some(secret) = secrets.first() else {
        return Err(Failure::usage("no secret given"));
    };
    if secrets.len() > 1 {
        warn("probe signs with the first key only; the others are not used");
    }
    let ed25519 = secret.kind == KeyKind::Signing;
    if !ed25519 && secret.has_outer_whitespace() {
        warn(&format!(
            "the secret from {} starts or ends with whitespace, which is part of the key",
            secret.label
        ));
    }
    let user_body = match (&args.body, &args.data) {
        (None, None) => None,
        (file, data) => {
            let body = input::body(&BodyArgs { data: data.clone(), file: file.clone() })?;
            if body.bytes.len() > MAX_BODY {
                return Err(Failure::usage(format!(
                    "the body is {} bytes; the probe sends at most 1 MiB (1048576 bytes)",
                    body.bytes.len()
                ))
                .hint("oversized-body sends its own 30 MiB body"));
            }
            Some(body.bytes)
        }
    };
    let (builder, algorithm) = match ed25519 {
        true => (
            Signer::builder(scheme.clone()).labeled_signing_key(secret.label.as_str(), &*secret.value),
            Algorithm::Ed25519,
        ),
        false => (
            Signer::builder(scheme.clone()).labeled_secret(secret.label.as_str(), &*secret.value),
            Algorithm::HmacSha256,
        ),
    };
    let signer = builder.build().map_err(|e| secret_failure(scheme, e))?;
    let crafter = Crafter::new(scheme, algorithm, signer, user_body)?;

    let selected = |id: &str| args.only.is_empty() || args.only.iter().any(|o| o == id);
    let mut probe = Probe {
        url: &args.url,
        client: Client::new(&args.url, tls, args.timeout),
        crafter,
        extra,
        reached: false,
        valid: None,
        rng: Rng::seeded(),
    };
    let start = Instant::now();
    let mut outcomes = Vec::new();
    for check in CHECKS {
        if selected(check) {
            outcomes.push(probe.run(check, args.timing)?);
        }
    }
    let elapsed = start.elapsed();
    let totals = format!(
        "{} requests, {} bytes, {:.1} s",
        probe.client.requests,
        probe.client.bytes,
        elapsed.as_secs_f64()
    );
    report(args, &outcomes, &totals)?;
    let failed: Vec<&str> = outcomes.iter().filter(|o| o.verdict == Verdict::Fail).map(|o| o.check).collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::failed(format!(
            "{} check{} failed: {}",
            failed.len(),
            if failed.len() == 1 { "" } else { "s" },
            failed.join(", ")
        )))
    }
}

fn report(args: &ProbeArgs, outcomes: &[Outcome], totals: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    if args.json {
        let array: Vec<serde_json::Value> = outcomes
            .iter()
            .map(|o| {
                serde_json::json!({
                    "check": o.check,
                    "result": o.verdict.as_str(),
                    "status": o.status,
                    "detail": o.detail,
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&array).map_err(|e| Failure::failed(e.to_string()))?;
        writeln!(out, "{text}")?;
        out.flush()?;
        let _ = writeln!(std::io::stderr().lock(), "{totals}");
        return Ok(());
    }
    writeln!(out, "hooksig probe {} ({})", args.url, args.scheme.scheme.name().replace('_', "-"))?;
    writeln!(out)?;
    let width = outcomes.iter().map(|o| o.check.len()).max().unwrap_or(5).max(5);
    writeln!(out, "{:<width$}  RESULT  STATUS  DETAIL", "CHECK")?;
    for o in outcomes {
        let status = o.status.map_or_else(|| "-".to_owned(), |s| s.to_string());
        writeln!(out, "{:<width$}  {:<6}  {status:<6}  {}", o.check, o.verdict.as_str(), o.detail)?;
    }
    let count = |v: Verdict| outcomes.iter().filter(|o| o.verdict == v).count();
    writeln!(out)?;
    writeln!(
        out,
        "{} checks: {} pass, {} fail, {} info, {} skip",
        outcomes.len(),
        count(Verdict::Pass),
        count(Verdict::Fail),
        count(Verdict::Info),
        count(Verdict::Skip)
    )?;
    if outcomes.iter().any(|o| o.check == "valid" && o.verdict == Verdict::Fail) {
        writeln!(
            out,
            "note: `valid` was not accepted, so the refusals above prove little: check the secret, \
             --scheme and the URL first"
        )?;
    }
    writeln!(out, "{totals}")?;
    out.flush()?;
    Ok(())
}

/// What a set of requests that should all be refused got, judged.
enum Judged {
    /// Every variant was refused with a 4xx.
    Refused,
    /// This variant was accepted (2xx).
    Accepted(usize),
    /// This variant got a 5xx, a reset, or no answer.
    Crashed(usize),
    /// This variant got something else (1xx, 3xx).
    Odd(usize),
}

fn judge(results: &[(String, Sent)]) -> Judged {
    let find = |f: &dyn Fn(&Answer) -> bool| results.iter().position(|(_, s)| f(&s.answer));
    if let Some(i) = find(&Answer::is_2xx) {
        return Judged::Accepted(i);
    }
    if let Some(i) = find(&|a| a.status().is_none_or(|s| s >= 500)) {
        return Judged::Crashed(i);
    }
    match find(&|a| !a.is_4xx()) {
        Some(i) => Judged::Odd(i),
        None => Judged::Refused,
    }
}

impl Probe<'_> {
    fn run(&mut self, check: &'static str, timing: Option<u32>) -> Result<Outcome, Failure> {
        match check {
            "valid" => self.valid(),
            "valid-reformatted" => self.valid_reformatted(),
            "tampered-body" => self.tampered_body(),
            "wrong-secret" => self.wrong_secret(),
            "missing-signature" => self.missing_signature(),
            "empty-signature" => self.signature_variants(check),
            "truncated-signature" => self.signature_variants(check),
            "malformed-signature" => self.signature_variants(check),
            "stale-timestamp" => self.timestamp(check, -1),
            "future-timestamp" => self.timestamp(check, 1),
            "oversized-body" => self.oversized_body(),
            "wrong-method" => self.wrong_method(),
            "timing" if self.crafter.algorithm() == Algorithm::Ed25519 => Ok(outcome(
                check,
                Verdict::Skip,
                None,
                "Ed25519 signatures are checked with a public key: no secret tag to leak by timing",
            )),
            "timing" => match timing {
                Some(n) => self.timing(n),
                None => Ok(outcome(check, Verdict::Skip, None, "run with --timing N to measure")),
            },
            "replay" => self.replay(),
            _ => Ok(outcome(check, Verdict::Skip, None, "unknown check")),
        }
    }

    fn scheme_name(&self) -> String {
        self.crafter.scheme().name().replace('_', "-")
    }

    fn signature_name(&self) -> String {
        self.crafter.signature_header().to_string()
    }

    /// The request for a signed delivery: the signature headers in their usual order
    /// (the signature itself as `sig` says), Content-Type, then the -H headers.
    fn request<'s>(&self, method: Method, signed: &'s Signed, sig: Sig<'_>) -> Request<'s> {
        let signature = self.crafter.signature_header();
        let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::new();
        for (name, value) in input::ordered(self.crafter.scheme(), &signed.headers) {
            if name != signature {
                headers.push((name.clone(), value.clone()));
                continue;
            }
            match &sig {
                Sig::Keep => headers.push((name.clone(), value.clone())),
                Sig::Remove => {}
                Sig::Replace(values) => headers.extend(values.iter().map(|v| (name.clone(), v.clone()))),
            }
        }
        let body: &[u8] = if method == Method::GET { &[] } else { &signed.body };
        if let Some(ct) = signed.content_type.filter(|_| !body.is_empty())
            && !input::replaced(&self.extra, &CONTENT_TYPE)
        {
            headers.push((CONTENT_TYPE, HeaderValue::from_static(ct)));
        }
        headers.extend(self.extra.iter().cloned());
        Request { method, headers, body }
    }

    /// Sends one request; the first one that cannot reach the receiver ends the probe.
    fn send(&mut self, request: &Request<'_>) -> Result<Sent, Failure> {
        let mut sent = self.client.send(request);
        self.note_reached(&mut sent)?;
        Ok(sent)
    }

    fn note_reached(&mut self, sent: &mut Sent) -> Result<(), Failure> {
        if let Answer::Unreachable(why) = &sent.answer {
            if !self.reached {
                return Err(Failure::failed(format!("cannot reach {}: {why}", self.url))
                    .hint("is the receiver running and listening on that address?"));
            }
            // It answered before: an earlier request may have brought it down.
            sent.answer =
                Answer::Closed(format!("{why} (it answered before: did an earlier check crash it?)"));
        }
        self.reached = true;
        Ok(())
    }

    fn timeout(&self) -> Duration {
        self.client.timeout
    }

    fn valid(&mut self) -> Result<Outcome, Failure> {
        let body = self.crafter.body("valid");
        let signed = self.crafter.sign(body, 0)?;
        let sent = self.send(&self.request(Method::POST, &signed, Sig::Keep))?;
        let status = sent.answer.status();
        let result = if sent.answer.is_2xx() {
            outcome(
                "valid",
                Verdict::Pass,
                status,
                format!("a correctly signed delivery was accepted ({})", seconds(sent.elapsed)),
            )
        } else {
            let why = match &sent.answer {
                Answer::Status(s) if (400..500).contains(s) => "refused",
                Answer::Status(_) => "not accepted",
                _ => "not answered",
            };
            outcome(
                "valid",
                Verdict::Fail,
                status,
                format!(
                    "a correctly signed delivery was {why} ({}): check the secret, --scheme and the URL",
                    sent.answer.describe(self.timeout())
                ),
            )
        };
        self.valid = Some((signed, sent));
        Ok(result)
    }

    fn valid_reformatted(&mut self) -> Result<Outcome, Failure> {
        const ID: &str = "valid-reformatted";
        if !self.crafter.scheme().covers_body() {
            return Ok(outcome(
                ID,
                Verdict::Skip,
                None,
                format!("{} does not sign the body", self.scheme_name()),
            ));
        }
        let Some(body) = self.crafter.reformatted() else {
            return Ok(outcome(ID, Verdict::Skip, None, "the body is not JSON"));
        };
        let signed = self.crafter.sign_json(body)?;
        let sent = self.send(&self.request(Method::POST, &signed, Sig::Keep))?;
        let status = sent.answer.status();
        if sent.answer.is_2xx() {
            return Ok(outcome(
                ID,
                Verdict::Pass,
                status,
                "the same JSON with other spacing and key order, signed over its exact bytes, was accepted",
            ));
        }
        let valid_passed = self.valid.as_ref().is_some_and(|(_, s)| s.answer.is_2xx());
        let detail = if valid_passed {
            format!(
                "the same JSON with other spacing and key order, correctly signed over its exact bytes, \
                 was not accepted ({}) while `valid` was: the receiver verifies a re-parsed, \
                 re-serialized body instead of the bytes received",
                sent.answer.describe(self.timeout())
            )
        } else {
            format!(
                "a correctly signed pretty-printed JSON body was not accepted ({})",
                sent.answer.describe(self.timeout())
            )
        };
        Ok(outcome(ID, Verdict::Fail, status, detail))
    }

    /// A check whose requests must all be refused: fail on a 2xx; a 5xx or no answer
    /// is `info` (a refusal, but not a clean one), or a fail where `crash` names the
    /// flaw that is.
    fn refusals(
        &self,
        check: &'static str,
        results: &[(String, Sent)],
        pass: String,
        accepted: &dyn Fn(&str) -> String,
        crash: Option<&dyn Fn(&str) -> String>,
    ) -> Outcome {
        let first_status = results.first().and_then(|(_, s)| s.answer.status());
        let at = |i: usize| results.get(i).map(|(l, s)| (l.as_str(), s));
        match judge(results) {
            Judged::Refused => {
                let mut statuses: Vec<u16> = results.iter().filter_map(|(_, s)| s.answer.status()).collect();
                statuses.sort_unstable();
                statuses.dedup();
                let statuses: Vec<String> = statuses.iter().map(u16::to_string).collect();
                outcome(
                    check,
                    Verdict::Pass,
                    first_status,
                    format!("{pass}: refused ({})", statuses.join(", ")),
                )
            }
            Judged::Accepted(i) => {
                let (label, status) = at(i).map_or(("", None), |(l, s)| (l, s.answer.status()));
                outcome(check, Verdict::Fail, status, accepted(label))
            }
            Judged::Crashed(i) | Judged::Odd(i) => {
                let Some((label, sent)) = at(i) else {
                    return outcome(check, Verdict::Info, first_status, pass);
                };
                let answer = sent.answer.describe(self.timeout());
                let crashed = matches!(judge(results), Judged::Crashed(_));
                match crash.filter(|_| crashed) {
                    Some(crash) => outcome(
                        check,
                        Verdict::Fail,
                        sent.answer.status(),
                        format!("{label}: {answer}: {}", crash(label)),
                    ),
                    None => outcome(
                        check,
                        Verdict::Info,
                        sent.answer.status(),
                        format!("{label}: {answer}: not accepted, but a refusal should be a 4xx"),
                    ),
                }
            }
        }
    }

    fn tampered_body(&mut self) -> Result<Outcome, Failure> {
        const ID: &str = "tampered-body";
        if !self.crafter.scheme().covers_body() {
            return Ok(outcome(
                ID,
                Verdict::Skip,
                None,
                format!("{} does not sign the body", self.scheme_name()),
            ));
        }
        let body = self.crafter.body(ID);
        let mut signed = self.crafter.sign(body, 0)?;
        signed.body = Crafter::tampered(&signed.body);
        let sent = self.send(&self.request(Method::POST, &signed, Sig::Keep))?;
        let results = [("a body changed in one byte after signing".to_owned(), sent)];
        Ok(self.refusals(
            ID,
            &results,
            "one body byte changed after signing".to_owned(),
            &|_| {
                "accepted a body changed in one byte after signing: the signature is not checked against \
                 the bytes received"
                    .to_owned()
            },
            None,
        ))
    }

    fn wrong_secret(&mut self) -> Result<Outcome, Failure> {
        const ID: &str = "wrong-secret";
        let key = if self.crafter.algorithm() == Algorithm::Ed25519 { "key" } else { "secret" };
        let body = self.crafter.body(ID);
        let other = self.crafter.sign_wrong(body)?;
        let body = self.crafter.body(ID);
        let empty = self.crafter.sign_empty(body)?;
        let mut results = Vec::new();
        let sent = self.send(&self.request(Method::POST, &other, Sig::Keep))?;
        results.push((format!("signed with another {key}"), sent));
        let pass = match empty {
            Some(empty) => {
                let sent = self.send(&self.request(Method::POST, &empty, Sig::Keep))?;
                results.push(("signed with the empty secret".to_owned(), sent));
                "signed with another secret, and with the empty secret".to_owned()
            }
            None => format!("signed with another {key}"),
        };
        Ok(self.refusals(
            ID,
            &results,
            pass,
            &|label| {
                if label.contains("empty") {
                    format!(
                        "accepted a delivery signed with the empty secret: the receiver runs with an empty \
                         (unset) secret, which anyone can sign with ({GHSA_EMPTY_SECRET})"
                    )
                } else {
                    format!("accepted a delivery signed with another {key}: the signature is not verified")
                }
            },
            None,
        ))
    }

    fn missing_signature(&mut self) -> Result<Outcome, Failure> {
        const ID: &str = "missing-signature";
        let body = self.crafter.body(ID);
        let signed = self.crafter.sign(body, 0)?;
        let sent = self.send(&self.request(Method::POST, &signed, Sig::Remove))?;
        let header = self.signature_name();
        let results = [(format!("no {header} header"), sent)];
        Ok(self.refusals(
            ID,
            &results,
            format!("no {header} header"),
            &|_| {
                format!("accepted a delivery without the {header} header: a missing signature is treated as a pass")
            },
            None,
        ))
    }

    fn signature_variants(&mut self, check: &'static str) -> Result<Outcome, Failure> {
        let body = self.crafter.body(check);
        let signed = self.crafter.sign(body, 0)?;
        let Some(tag) = self.crafter.tag(&signed) else {
            return Ok(outcome(
                check,
                Verdict::Skip,
                None,
                format!(
                    "this version of hooksig cannot take apart {}'s signature header",
                    self.scheme_name()
                ),
            ));
        };
        let variants = match check {
            "empty-signature" => self.crafter.empty_variants(signed.at),
            "truncated-signature" => self.crafter.truncated_variants(signed.at, &tag),
            _ => self.crafter.malformed_variants(signed.at, &tag),
        };
        let mut results = Vec::new();
        for (label, values) in &variants {
            let sent = self.send(&self.request(Method::POST, &signed, Sig::Replace(values)))?;
            results.push((label.clone(), sent));
        }
        let labels: Vec<&str> = variants.iter().map(|(l, _)| l.as_str()).collect();
        let pass = labels.join(", ");
        let header = self.signature_name();
        Ok(match check {
            "empty-signature" => self.refusals(
                check,
                &results,
                pass,
                &|label| {
                    format!(
                        "accepted {header} with {label}: an empty signature passes when only the common \
                         prefix of the candidate and the expected tag is compared ({CVE_PREFIX})"
                    )
                },
                None,
            ),
            "truncated-signature" => self.refusals(
                check,
                &results,
                pass,
                &|label| {
                    format!(
                        "accepted {label}: only as many characters as the candidate has are compared, so a \
                         short signature can be guessed ({CVE_PREFIX})"
                    )
                },
                None,
            ),
            _ => self.refusals(
                check,
                &results,
                pass,
                &|label| format!("accepted {header} with {label}: malformed signatures pass"),
                Some(&|_| format!("the receiver crashes on a malformed signature header ({CVE_CRASH})")),
            ),
        })
    }

    fn timestamp(&mut self, check: &'static str, direction: i64) -> Result<Outcome, Failure> {
        let scheme = self.crafter.scheme();
        if !scheme.has_timestamp() {
            return Ok(outcome(
                check,
                Verdict::Skip,
                None,
                format!("{} deliveries carry no timestamp", self.scheme_name()),
            ));
        }
        let tolerance = scheme.tolerance().map(|(past, future)| if direction < 0 { past } else { future });
        let offset = match tolerance {
            Some(t) if t >= HOUR => t.saturating_add(HOUR),
            _ => HOUR,
        };
        let allowed =
            tolerance.map_or_else(String::new, |t| format!("; {} allows {}", self.scheme_name(), human(t)));
        let when =
            if direction < 0 { format!("{} ago", human(offset)) } else { format!("{} ahead", human(offset)) };
        let secs = i64::try_from(offset.as_secs()).unwrap_or(i64::MAX);
        let body = self.crafter.body(check);
        let signed = self.crafter.sign(body, secs.saturating_mul(direction))?;
        let sent = self.send(&self.request(Method::POST, &signed, Sig::Keep))?;
        let results = [(format!("validly signed {when}"), sent)];
        let flaw = if direction < 0 {
            "the timestamp is not checked, so a captured delivery can be replayed long after it was sent"
        } else {
            "timestamps in the future are not checked, so a delivery signed ahead of time stays valid \
             until then"
        };
        Ok(self.refusals(
            check,
            &results,
            format!("validly signed {when}{allowed}"),
            &|_| format!("accepted a delivery validly signed {when}: {flaw}"),
            None,
        ))
    }

    fn oversized_body(&mut self) -> Result<Outcome, Failure> {
        const ID: &str = "oversized-body";
        let body = self.crafter.oversized();
        let signed = self.crafter.sign_json(body)?;
        // As curl sends large bodies: a receiver that refuses by Content-Length answers
        // before the body is sent; one that asks for it (100 Continue), or ignores the
        // header, gets all of it.
        let mut request = self.request(Method::POST, &signed, Sig::Keep);
        request.headers.push((EXPECT, HeaderValue::from_static("100-continue")));
        let sent = self.send(&request)?;
        let size = format!("a validly signed {} MiB body", OVERSIZED / (1024 * 1024));
        let after = seconds(sent.elapsed);
        let status = sent.answer.status();
        Ok(match &sent.answer {
            a if a.is_2xx() => outcome(
                ID,
                Verdict::Fail,
                status,
                format!(
                    "accepted {size} after {after}: the receiver reads bodies without a size limit, so a \
                     sender can exhaust its memory"
                ),
            ),
            a if a.is_4xx() => outcome(ID, Verdict::Pass, status, format!("{size}: refused after {after}")),
            Answer::Closed(why) => {
                outcome(ID, Verdict::Pass, None, format!("{size}: {why} after {after}, before any 2xx"))
            }
            other => outcome(
                ID,
                Verdict::Info,
                status,
                format!("{size}: {} after {after}", other.describe(self.timeout())),
            ),
        })
    }

    fn wrong_method(&mut self) -> Result<Outcome, Failure> {
        const ID: &str = "wrong-method";
        let signed = self.crafter.sign(Vec::new(), 0)?;
        let sent = self.send(&self.request(Method::GET, &signed, Sig::Keep))?;
        let status = sent.answer.status();
        let detail = if sent.answer.is_2xx() {
            format!(
                "GET (signed over an empty body) answered {}: make sure only POST deliveries are acted on",
                sent.answer.describe(self.timeout())
            )
        } else {
            format!("GET answered {}", sent.answer.describe(self.timeout()))
        };
        Ok(outcome(ID, Verdict::Info, status, detail))
    }

    fn replay(&mut self) -> Result<Outcome, Failure> {
        const ID: &str = "replay";
        let mut first = String::new();
        if self.valid.is_none() {
            let body = self.crafter.body("valid");
            let signed = self.crafter.sign(body, 0)?;
            let sent = self.send(&self.request(Method::POST, &signed, Sig::Keep))?;
            first = format!(" (the original got {})", sent.answer.describe(self.timeout()));
            self.valid = Some((signed, sent));
        }
        let Some((signed, _)) = self.valid.take() else {
            return Ok(outcome(ID, Verdict::Skip, None, "no valid delivery to replay"));
        };
        let sent = self.send(&self.request(Method::POST, &signed, Sig::Keep))?;
        let answer = sent.answer.describe(self.timeout());
        let scheme = self.crafter.scheme();
        let detail = if sent.answer.is_2xx() {
            let dedupe = match scheme.id_header() {
                Some(id) => format!("e.g. on {id}"),
                None => "e.g. on a digest of what was signed".to_owned(),
            };
            let risk = if scheme.has_timestamp() {
                String::new()
            } else {
                format!(
                    "; {} has no timestamp, so only that stops a captured delivery being replayed",
                    self.scheme_name()
                )
            };
            format!(
                "the identical `valid` delivery was accepted again ({answer}){first}: fine if the receiver \
                 deduplicates ({dedupe}){risk}"
            )
        } else {
            format!(
                "the identical `valid` delivery was not accepted again ({answer}){first}: replay protection"
            )
        };
        self.valid = Some((signed, sent.clone()));
        Ok(outcome(ID, Verdict::Info, sent.answer.status(), detail))
    }

    fn timing(&mut self, n: u32) -> Result<Outcome, Failure> {
        const ID: &str = "timing";
        let mut stats = Vec::new();
        let mut counts = Vec::new();
        let mut last_status = None;
        let mut stopped = false;
        for _round in 0..2 {
            let body = self.crafter.body(ID);
            let signed = self.crafter.sign(body, 0)?;
            let variants = self
                .crafter
                .tag(&signed)
                .and_then(|tag| {
                    Some((self.crafter.one_byte_off(&tag, false)?, self.crafter.one_byte_off(&tag, true)?))
                })
                .and_then(|(first, last)| {
                    let value =
                        |tag: &str| HeaderValue::from_str(&self.crafter.compose(signed.at, tag)?).ok();
                    Some([value(&first)?, value(&last)?])
                });
            let Some([first, last]) = variants else {
                return Ok(outcome(
                    ID,
                    Verdict::Skip,
                    None,
                    format!(
                        "this version of hooksig cannot take apart {}'s signature header",
                        self.scheme_name()
                    ),
                ));
            };
            let first = std::slice::from_ref(&first);
            let last = std::slice::from_ref(&last);
            let requests = [
                self.request(Method::POST, &signed, Sig::Replace(first)),
                self.request(Method::POST, &signed, Sig::Replace(last)),
            ];
            // Warm the kept-alive connection up; not measured.
            for request in &requests {
                let mut sent = self.client.send_pooled(request);
                self.note_reached(&mut sent)?;
            }
            let mut samples: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
            let start = Instant::now();
            for _ in 0..n {
                if start.elapsed() > TIMING_ROUND {
                    stopped = true;
                    break;
                }
                let order = if self.rng.next() & 1 == 0 { [0, 1] } else { [1, 0] };
                for which in order {
                    let Some(request) = requests.get(which) else { continue };
                    let mut sent = self.client.send_pooled(request);
                    self.note_reached(&mut sent)?;
                    if let Some(status) = sent.answer.status() {
                        last_status = Some(status);
                        if let Some(sample) = samples.get_mut(which) {
                            sample.push(sent.elapsed.as_secs_f64() * 1e6);
                        }
                    }
                }
            }
            let [a, b] = &samples;
            counts.push((a.len(), b.len()));
            stats.push(timing::welch_t(a, b));
        }
        let answered = counts.iter().map(|(a, b)| format!("{a}+{b}")).collect::<Vec<_>>().join(" and ");
        let stopped = if stopped {
            format!(", a round stopped after {}", seconds(TIMING_ROUND))
        } else {
            String::new()
        };
        let (Some(Some(t1)), Some(Some(t2))) = (stats.first(), stats.get(1)) else {
            return Ok(outcome(
                ID,
                Verdict::Info,
                last_status,
                format!("too few answers to compare ({answered} answered{stopped})"),
            ));
        };
        let ts = format!("t = {t1:.1}, {t2:.1} over {answered} answers{stopped}");
        Ok(if timing::leaks(*t1, *t2) {
            let faster = if *t1 < 0.0 { "first" } else { "last" };
            outcome(
                ID,
                Verdict::Fail,
                last_status,
                format!(
                    "a tag wrong in its {faster} byte is answered measurably faster ({ts}): a variable-time \
                     comparison leaks the expected tag byte by byte ({CVE_TIMING})"
                ),
            )
        } else {
            outcome(
                ID,
                Verdict::Info,
                last_status,
                format!(
                    "tags wrong in the first vs the last byte: no consistent difference ({ts}; a fail needs \
                     |t| > {} in both rounds)",
                    timing::THRESHOLD
                ),
            )
        })
    }
}

/// `1 h`, `5 min`, `90 s`.
fn human(d: Duration) -> String {
    match d.as_secs() {
        s if s >= 3600 && s % 3600 == 0 => format!("{} h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_with_units_and_bounds() {
        assert_eq!(parse_timeout("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_timeout("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_timeout("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_timeout("2m"), Ok(Duration::from_secs(120)));
        for bad in ["0s", "6m", "", "s", "10h", "-1s", "99999999999999999999s"] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn judging_prefers_acceptance_then_crashes() {
        let sent = |answer: Answer| ("x".to_owned(), Sent { answer, elapsed: Duration::ZERO });
        let refused = [sent(Answer::Status(401)), sent(Answer::Status(400))];
        assert!(matches!(judge(&refused), Judged::Refused));
        let mixed = [sent(Answer::Status(500)), sent(Answer::Status(200)), sent(Answer::Timeout)];
        assert!(matches!(judge(&mixed), Judged::Accepted(1)));
        let crashed = [sent(Answer::Status(401)), sent(Answer::Closed("reset".into()))];
        assert!(matches!(judge(&crashed), Judged::Crashed(1)));
        let odd = [sent(Answer::Status(302))];
        assert!(matches!(judge(&odd), Judged::Odd(0)));
    }
}
