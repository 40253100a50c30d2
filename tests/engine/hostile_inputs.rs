//! The hostile-input table: every category of abuse the hardening issue lists, on every
//! preset, each row pinning the exact `Error` (variant, header and reason) and the HTTP
//! status.
//!
//! Rows are data. Each one names the path it goes through ([`Via`]); today that is the
//! core API (`Verifier::verify_at`, and `Receiver::admit_at` followed by streaming the
//! body). The middleware rows (tower layer, actix middleware) are appended to the same
//! table once those land: add a `Via` variant and an arm in [`run`], and every core
//! row that makes sense over HTTP can be replayed through it.
//!
//! Headers go through a [`HeaderSource`] of raw byte lines, so values that
//! `http::HeaderValue` refuses (NUL, CR, LF) still reach the parser; every row whose
//! lines *are* valid header values is also run through an `http::HeaderMap`, and must
//! give the same answer.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64ct::{Base64, Encoding as _};
use hmac::{Hmac, KeyInit, Mac};
use hooksig::pipeline::Receiver;
use hooksig::{BasicAuth, Error, HeaderSource, Refusal, Scheme, Verifier};
use http::{HeaderName, HeaderValue};
use sha2::Sha256;

const NOW: u64 = 1_763_900_000;
const RAW_SECRET: &str = "It's a Secret to Everybody";
const WHSEC: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const BODY: &[u8] = b"Hello, World!";
const ID: &str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// Header lines as raw bytes: any byte may appear, names may repeat.
#[derive(Clone, Debug, Default)]
struct Lines(Vec<(HeaderName, Vec<u8>)>);

impl HeaderSource for Lines {
    fn header_values<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.0.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_slice())
    }
}

impl Lines {
    /// Replaces every line of `name` with one line.
    fn set(mut self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        self = self.without(name);
        self.add(name, value)
    }

    /// Appends a line.
    fn add(mut self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        self.0.push((HeaderName::from_bytes(name.as_bytes()).unwrap(), value.into()));
        self
    }

    /// Removes every line of `name`.
    fn without(mut self, name: &str) -> Self {
        self.0.retain(|(n, _)| n != name);
        self
    }

    /// The same lines in an `http::HeaderMap`, when `http` accepts every value.
    fn header_map(&self) -> Option<http::HeaderMap> {
        let mut map = http::HeaderMap::new();
        for (name, value) in &self.0 {
            map.append(name.clone(), HeaderValue::from_bytes(value).ok()?);
        }
        Some(map)
    }
}

// ---------------------------------------------------------------------------------
// Independent signing: HMAC from the `hmac` crate and the provider facts (README's preset
// table, the providers' docs).
// ---------------------------------------------------------------------------------

fn key_for(scheme: &str) -> Vec<u8> {
    match scheme {
        "standard_webhooks" | "svix" => Base64::decode_vec(WHSEC.trim_start_matches("whsec_")).unwrap(),
        _ => RAW_SECRET.as_bytes().to_vec(),
    }
}

fn secret_for(scheme: &str) -> &'static str {
    match scheme {
        "standard_webhooks" | "svix" => WHSEC,
        _ => RAW_SECRET,
    }
}

fn mac(scheme: &str, id: &str, ts: &str, body: &[u8]) -> [u8; 32] {
    let message: Vec<u8> = match scheme {
        "oktave" => [id.as_bytes(), ts.as_bytes()].concat(),
        "standard_webhooks" | "svix" => [id.as_bytes(), b".", ts.as_bytes(), b".", body].concat(),
        "stripe" => [ts.as_bytes(), b".", body].concat(),
        "slack" => [b"v0:", ts.as_bytes(), b":", body].concat(),
        _ => body.to_vec(),
    };
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(&key_for(scheme)).unwrap();
    m.update(&message);
    m.finalize().into_bytes().into()
}

fn hex_tag(scheme: &str, ts: &str, body: &[u8]) -> String {
    hex::encode(mac(scheme, ID, ts, body))
}

fn b64_tag(scheme: &str, ts: &str, body: &[u8]) -> String {
    Base64::encode_string(&mac(scheme, ID, ts, body))
}

/// A correctly signed delivery of `body` at timestamp `ts`, as the provider sends it.
fn signed_at(scheme: &str, ts: u64, body: &[u8]) -> Lines {
    let t = ts.to_string();
    let l = Lines::default();
    match scheme {
        "tale" => l.add("x-tale-signature", format!("sha256={}", hex_tag(scheme, &t, body))),
        "vocalis" => l.add("x-vocalis-signature", format!("sha256={}", hex_tag(scheme, &t, body))),
        "github" => l
            .add("x-hub-signature-256", format!("sha256={}", hex_tag(scheme, &t, body)))
            .add("x-github-delivery", ID),
        "oktave" => l
            .add("oktave-signature", hex_tag(scheme, &t, body))
            .add("oktave-event-id", ID)
            .add("oktave-timestamp", t.clone()),
        "standard_webhooks" => l
            .add("webhook-id", ID)
            .add("webhook-timestamp", t.clone())
            .add("webhook-signature", format!("v1,{}", b64_tag(scheme, &t, body))),
        "svix" => l
            .add("svix-id", ID)
            .add("svix-timestamp", t.clone())
            .add("svix-signature", format!("v1,{}", b64_tag(scheme, &t, body))),
        "stripe" => l.add("stripe-signature", format!("t={t},v1={}", hex_tag(scheme, &t, body))),
        "slack" => l
            .add("x-slack-request-timestamp", t.clone())
            .add("x-slack-signature", format!("v0={}", hex_tag(scheme, &t, body))),
        "shopify" => {
            l.add("x-shopify-hmac-sha256", b64_tag(scheme, &t, body)).add("x-shopify-webhook-id", ID)
        }
        other => panic!("no preset {other}"),
    }
}

fn signed(scheme: &str) -> Lines {
    signed_at(scheme, NOW, BODY)
}

// ---------------------------------------------------------------------------------
// The table.
// ---------------------------------------------------------------------------------

/// The path a row goes through.
#[derive(Clone, Debug)]
enum Via {
    /// `Verifier::verify_at` with the body in one slice.
    Verify,
    /// `Receiver::admit_at` (method, credentials, Content-Length, headers), then the body
    /// streamed in 7-byte chunks through the returned `Intake` (the tower layer and the
    /// actix middleware run the table too, in `through_middleware` below).
    Gate { method: &'static str, max_body: Option<usize>, basic: Option<(&'static str, &'static str)> },
    /// A verifier with an Ed25519 public key (feature `ed25519`), and the preset's
    /// secret too when `secret` is set: `verify_at`, and the same delivery streamed in
    /// 7-byte chunks, which must agree.
    #[cfg(feature = "ed25519")]
    Ed25519 { public_key: &'static str, secret: bool },
}

fn gate() -> Via {
    Via::Gate { method: "POST", max_body: None, basic: None }
}

fn gate_limit(limit: usize) -> Via {
    Via::Gate { method: "POST", max_body: Some(limit), basic: None }
}

#[derive(Clone)]
struct Row {
    what: String,
    scheme: &'static str,
    via: Via,
    headers: Lines,
    body: Vec<u8>,
    /// `None`: accepted.
    want: Option<Error>,
    status: u16,
}

fn ok(what: impl Into<String>, scheme: &'static str, headers: Lines) -> Row {
    Row { what: what.into(), scheme, via: Via::Verify, headers, body: BODY.to_vec(), want: None, status: 200 }
}

fn err(what: impl Into<String>, scheme: &'static str, headers: Lines, want: Error) -> Row {
    let status = want.status().as_u16();
    Row {
        what: what.into(),
        scheme,
        via: Via::Verify,
        headers,
        body: BODY.to_vec(),
        want: Some(want),
        status,
    }
}

impl Row {
    fn via(mut self, via: Via) -> Row {
        self.via = via;
        self
    }

    fn body(mut self, body: impl Into<Vec<u8>>) -> Row {
        self.body = body.into();
        self
    }

    /// Pins the status explicitly (the constructor derives it from the error; this
    /// states the expectation independently).
    fn status(mut self, status: u16) -> Row {
        self.status = status;
        self
    }
}

fn missing(name: &'static str) -> Error {
    Error::MissingHeader { name: HeaderName::from_static(name) }
}

fn malformed(name: &'static str, reason: &'static str) -> Error {
    Error::MalformedHeader { name: HeaderName::from_static(name), reason }
}

/// Runs `row` through its path with any `HeaderSource`.
fn outcome<H: HeaderSource>(row: &Row, headers: &H) -> Result<(), Error> {
    let scheme = Scheme::preset(row.scheme).unwrap();
    let secret = secret_for(row.scheme);
    match &row.via {
        Via::Verify => {
            let verifier = Verifier::new(scheme, secret).unwrap();
            verifier.verify_at(headers, &row.body, at(NOW)).map(|_| ())
        }
        Via::Gate { method, max_body, basic } => {
            let mut builder = Verifier::builder(scheme).secret(secret);
            if let Some(limit) = max_body {
                builder = builder.max_body(*limit);
            }
            let mut receiver = Receiver::new(builder.build().unwrap());
            if let Some((user, password)) = basic {
                receiver = receiver.basic_auth(BasicAuth::new(user, password).unwrap());
            }
            let mut intake = receiver.admit_at(method, headers, at(NOW)).map_err(rejected)?;
            for chunk in row.body.chunks(7) {
                intake.push(bytes::Bytes::copy_from_slice(chunk)).map_err(rejected)?;
            }
            intake.finish().map(|_| ()).map_err(rejected)
        }
        #[cfg(feature = "ed25519")]
        Via::Ed25519 { public_key, secret: with_secret } => {
            let mut builder = Verifier::builder(scheme);
            if *with_secret {
                builder = builder.secret(secret);
            }
            let verifier = builder.public_key(public_key).build()?;
            let one_shot = verifier.verify_at(headers, &row.body, at(NOW)).map(|v| v.key_index());
            let streamed = verifier.begin_at(headers, at(NOW)).and_then(|mut v| {
                row.body.chunks(7).try_for_each(|c| v.update(c))?;
                v.finish().map(|v| v.key_index())
            });
            assert_eq!(one_shot, streamed, "[{}] {}: streaming disagrees", row.scheme, row.what);
            one_shot.map(|_| ())
        }
    }
}

/// The error of a refusal (the pipeline without replay protection refuses only for
/// failed checks).
fn rejected(refusal: Refusal) -> Error {
    match refusal {
        Refusal::Rejected(error) => error,
        other => panic!("unexpected refusal {other:?}"),
    }
}

fn check(rows: &[Row]) {
    let mut failures = Vec::new();
    for row in rows {
        let got = outcome(row, &row.headers);
        let status = got.as_ref().err().map_or(200, |e| e.status().as_u16());
        if got.as_ref().err() != row.want.as_ref() || status != row.status {
            failures.push(format!(
                "[{}] {}: wanted {:?} ({}), got {:?} ({})",
                row.scheme, row.what, row.want, row.status, got, status
            ));
        }
        // The same lines in an http::HeaderMap give the same answer.
        if let Some(map) = row.headers.header_map() {
            let again = outcome(row, &map);
            if again != got {
                failures
                    .push(format!("[{}] {}: HeaderMap gave {again:?}, lines {got:?}", row.scheme, row.what));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

const PRESETS: [&str; 9] =
    ["tale", "vocalis", "github", "oktave", "standard_webhooks", "svix", "stripe", "slack", "shopify"];

fn signature_header(scheme: &str) -> &'static str {
    match scheme {
        "tale" => "x-tale-signature",
        "vocalis" => "x-vocalis-signature",
        "github" => "x-hub-signature-256",
        "oktave" => "oktave-signature",
        "standard_webhooks" => "webhook-signature",
        "svix" => "svix-signature",
        "stripe" => "stripe-signature",
        "slack" => "x-slack-signature",
        "shopify" => "x-shopify-hmac-sha256",
        other => panic!("no preset {other}"),
    }
}

/// Rows every preset gets: accepted as signed; missing, empty and whitespace-only
/// signature headers; an 8 KiB value; a body one byte different.
fn every_preset() -> Vec<Row> {
    let mut rows = Vec::new();
    for p in PRESETS {
        let sig = signature_header(p);
        rows.push(ok("signed delivery", p, signed(p)));
        rows.push(err("signature header missing", p, signed(p).without(sig), missing(sig)));
        rows.push(err("empty value", p, signed(p).set(sig, ""), malformed(sig, "empty signature header")));
        rows.push(err(
            "whitespace-only value",
            p,
            signed(p).set(sig, " \t "),
            malformed(sig, "empty signature header"),
        ));
        rows.push(err(
            "8 KiB value",
            p,
            signed(p).set(sig, vec![b'a'; 8 * 1024]),
            malformed(sig, "header value too long"),
        ));
        let mut other = BODY.to_vec();
        other[0] ^= 1;
        if p == "oktave" {
            // Oktave does not sign the body: a different body still verifies.
            rows.push(ok("different body (not covered)", p, signed(p)).body(other));
        } else {
            rows.push(err("different body", p, signed(p), Error::SignatureMismatch).body(other));
        }
    }
    rows
}

/// `sha256=<hex>` (Tale, Vocalis, GitHub) and the other hex grammars.
fn hex_grammars() -> Vec<Row> {
    let t = NOW.to_string();
    let mut rows = Vec::new();
    for p in ["tale", "vocalis", "github"] {
        let sig = signature_header(p);
        let tag = hex_tag(p, &t, BODY);
        let s = |v: String| signed(p).set(sig, v);
        rows.extend([
            err("`sha256=` alone", p, s("sha256=".into()), malformed(sig, "expected 64 hex digits")),
            err("`sha1=` prefix", p, s(format!("sha1={tag}")), malformed(sig, "unexpected signature prefix")),
            err(
                "`SHA256=` prefix",
                p,
                s(format!("SHA256={tag}")),
                malformed(sig, "unexpected signature prefix"),
            ),
            err(
                "63 hex digits",
                p,
                s(format!("sha256={}", &tag[..63])),
                malformed(sig, "expected 64 hex digits"),
            ),
            err("65 hex digits", p, s(format!("sha256={tag}0")), malformed(sig, "expected 64 hex digits")),
            err(
                "128 hex digits",
                p,
                s(format!("sha256={tag}{tag}")),
                malformed(sig, "expected 64 hex digits"),
            ),
            ok("upper-case hex", p, s(format!("sha256={}", tag.to_ascii_uppercase()))),
        ]);
    }
    let (p, sig) = ("github", "x-hub-signature-256");
    let tag = hex_tag(p, &t, BODY);
    let mut non_ascii = b"sha256=\xc3\xa9".to_vec();
    non_ascii.extend_from_slice(&tag.as_bytes()[2..]);
    let mut nul = format!("sha256={}", &tag[..63]).into_bytes();
    nul.push(0);
    rows.extend([
        err(
            "non-hex digit",
            p,
            signed(p).set(sig, format!("sha256={}", "g".repeat(64))),
            malformed(sig, "invalid hex digit"),
        ),
        err(
            "non-ASCII bytes in the tag",
            p,
            signed(p).set(sig, non_ascii),
            malformed(sig, "invalid hex digit"),
        ),
        err("NUL byte in the tag", p, signed(p).set(sig, nul), malformed(sig, "invalid hex digit")),
        err(
            "leading space",
            p,
            signed(p).set(sig, format!(" sha256={tag}")),
            malformed(sig, "unexpected signature prefix"),
        ),
        err(
            "trailing space",
            p,
            signed(p).set(sig, format!("sha256={tag} ")),
            malformed(sig, "expected 64 hex digits"),
        ),
        err(
            "tag of zeros",
            p,
            signed(p).set(sig, format!("sha256={}", "0".repeat(64))),
            Error::SignatureMismatch,
        ),
        err(
            "17 signature lines, the last one right",
            p,
            (0..16).fold(signed(p), |l, _| l.add(sig, format!("sha256={}", "0".repeat(64)))),
            malformed(sig, "too many signatures"),
        ),
        ok(
            "16 signature lines, one right",
            p,
            (0..15).fold(signed(p), |l, _| l.add(sig, format!("sha256={}", "0".repeat(64)))),
        ),
        // Oktave: bare hex, no prefix at all.
        err(
            "prefixed value where bare hex is expected",
            "oktave",
            signed("oktave").set("oktave-signature", format!("sha256={}", hex_tag("oktave", &t, BODY))),
            malformed("oktave-signature", "expected 64 hex digits"),
        ),
        err(
            "Slack without `v0=`",
            "slack",
            signed("slack").set("x-slack-signature", hex_tag("slack", &t, BODY)),
            malformed("x-slack-signature", "unexpected signature prefix"),
        ),
        err(
            "Slack `v1=` version",
            "slack",
            signed("slack").set("x-slack-signature", format!("v1={}", hex_tag("slack", &t, BODY))),
            malformed("x-slack-signature", "unexpected signature prefix"),
        ),
    ]);
    rows
}

/// Base64 tags (Shopify bare; Standard Webhooks and Svix in `v1,` lists).
fn base64_tags() -> Vec<Row> {
    let t = NOW.to_string();
    let (p, sig) = ("shopify", "x-shopify-hmac-sha256");
    let tag = b64_tag(p, &t, BODY);
    let url = tag.replace('+', "-").replace('/', "_");
    assert_ne!(url, tag, "the fixture tag must contain `+` or `/`");
    // The last data character carries 2 unused bits: setting them keeps the same 32
    // bytes in a lenient decoder. One tag has one spelling.
    let last = tag.as_bytes()[42];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let index = alphabet.iter().position(|c| *c == last).unwrap();
    let mut non_canonical = tag.clone().into_bytes();
    non_canonical[42] = alphabet[index | 1];
    let s = |v: Vec<u8>| signed(p).set(sig, v);
    vec![
        err(
            "unpadded base64",
            p,
            s(tag.trim_end_matches('=').into()),
            malformed(sig, "expected 44 characters of padded base64"),
        ),
        err(
            "double padding",
            p,
            s(format!("{tag}=").into()),
            malformed(sig, "expected 44 characters of padded base64"),
        ),
        err("URL-safe alphabet", p, s(url.into()), malformed(sig, "invalid base64")),
        err(
            "padding in the middle",
            p,
            s(format!("{}={}", &tag[..20], &tag[21..]).into()),
            malformed(sig, "invalid base64"),
        ),
        err("non-canonical last character", p, s(non_canonical), malformed(sig, "invalid base64")),
        err(
            "hex where base64 is expected",
            p,
            s(hex_tag(p, &t, BODY).into()),
            malformed(sig, "expected 44 characters of padded base64"),
        ),
        err(
            "`sha256=` prefix on a bare scheme",
            p,
            s(format!("sha256={tag}").into()),
            malformed(sig, "expected 44 characters of padded base64"),
        ),
        ok("unsigned id changed", p, signed(p).set("x-shopify-webhook-id", "another")),
        err(
            "id repeated",
            p,
            signed(p).add("x-shopify-webhook-id", ID),
            malformed("x-shopify-webhook-id", "header repeated"),
        ),
        err(
            "id of 256 bytes",
            p,
            signed(p).set("x-shopify-webhook-id", "a".repeat(256)),
            malformed("x-shopify-webhook-id", "id must be 1 to 255 bytes of UTF-8"),
        ),
        err(
            "empty id",
            p,
            signed(p).set("x-shopify-webhook-id", ""),
            malformed("x-shopify-webhook-id", "id must be 1 to 255 bytes of UTF-8"),
        ),
        ok("no id (not required)", p, signed(p).without("x-shopify-webhook-id")),
    ]
}

/// Timestamps, on every timestamped preset.
fn timestamps() -> Vec<Row> {
    let mut rows = Vec::new();
    for (p, ts, past) in [
        ("slack", "x-slack-request-timestamp", 300u64),
        ("oktave", "oktave-timestamp", 3600),
        ("standard_webhooks", "webhook-timestamp", 300),
        ("svix", "svix-timestamp", 300),
    ] {
        let base = signed(p);
        let not_decimal = "timestamp is not decimal unix seconds";
        rows.extend([
            err("negative", p, base.clone().set(ts, "-1763900000"), malformed(ts, not_decimal)),
            err("with a plus sign", p, base.clone().set(ts, format!("+{NOW}")), malformed(ts, not_decimal)),
            err(
                "leading zero",
                p,
                base.clone().set(ts, format!("0{NOW}")),
                malformed(ts, "timestamp has a leading zero"),
            ),
            err(
                "beyond i64",
                p,
                base.clone().set(ts, "9223372036854775808"),
                malformed(ts, "timestamp out of range"),
            ),
            err("fractional", p, base.clone().set(ts, format!("{NOW}.5")), malformed(ts, not_decimal)),
            err("empty", p, base.clone().set(ts, ""), malformed(ts, "empty timestamp")),
            err("missing", p, base.clone().without(ts), missing(ts)),
            err(
                "repeated (same value)",
                p,
                base.clone().add(ts, NOW.to_string()),
                malformed(ts, "header repeated"),
            ),
            err(
                "far future (i64::MAX)",
                p,
                signed_at(p, i64::MAX as u64, BODY),
                Error::TimestampInFuture {
                    ahead: Duration::from_secs(i64::MAX as u64 - NOW),
                    tolerance: Duration::from_secs(300),
                },
            ),
            err(
                "one second too old",
                p,
                signed_at(p, NOW - past - 1, BODY),
                Error::TimestampTooOld {
                    age: Duration::from_secs(past + 1),
                    tolerance: Duration::from_secs(past),
                },
            ),
            ok("exactly at the tolerance", p, signed_at(p, NOW - past, BODY)),
        ]);
    }
    rows
}

/// Stripe's `t=…,v1=…` grammar.
fn stripe() -> Vec<Row> {
    let (p, sig) = ("stripe", "stripe-signature");
    let t = NOW.to_string();
    let tag = hex_tag(p, &t, BODY);
    let s = |v: String| Lines::default().add(sig, v);
    vec![
        err("missing `t`", p, s(format!("v1={tag}")), malformed(sig, "no timestamp pair")),
        err("repeated `t`", p, s(format!("t={t},t={t},v1={tag}")), malformed(sig, "timestamp repeated")),
        err(
            "`t` on a second line",
            p,
            s(format!("t={t},v1={tag}")).add(sig, format!("t={t}")),
            malformed(sig, "timestamp repeated"),
        ),
        ok("`v1` on a second line (lines combine)", p, s(format!("t={t}")).add(sig, format!("v1={tag}"))),
        err(
            "empty pair in the middle",
            p,
            s(format!("t={t},,v1={tag}")),
            malformed(sig, "empty key=value pair"),
        ),
        err("trailing comma", p, s(format!("t={t},v1={tag},")), malformed(sig, "empty key=value pair")),
        err("leading comma", p, s(format!(",t={t},v1={tag}")), malformed(sig, "empty key=value pair")),
        err("empty `t`", p, s(format!("t=,v1={tag}")), malformed(sig, "empty timestamp")),
        err(
            "negative `t`",
            p,
            s(format!("t=-{t},v1={tag}")),
            malformed(sig, "timestamp is not decimal unix seconds"),
        ),
        err("item without `=`", p, s(format!("t={t},v1")), malformed(sig, "item is not `key=value`")),
        err(
            "only `v0`",
            p,
            s(format!("t={t},v0={tag}")),
            malformed(sig, "no signature of a supported version"),
        ),
        err(
            "spaces around items",
            p,
            s(format!("t={t}, v1={tag}")),
            malformed(sig, "no signature of a supported version"),
        ),
        ok("unknown keys skipped", p, s(format!("t={t},v1={tag},v0={},x=y", "0".repeat(64)))),
        err(
            "17 signature pairs",
            p,
            s(format!("t={t},{}", vec![format!("v1={tag}"); 17].join(","))),
            malformed(sig, "too many signatures"),
        ),
        err(
            "v1 of 63 digits",
            p,
            s(format!("t={t},v1={}", &tag[..63])),
            malformed(sig, "expected 64 hex digits"),
        ),
    ]
}

/// Standard Webhooks and Svix lists; ids.
fn standard_lists() -> Vec<Row> {
    let mut rows = Vec::new();
    for (p, id, sig) in
        [("standard_webhooks", "webhook-id", "webhook-signature"), ("svix", "svix-id", "svix-signature")]
    {
        let tag = b64_tag(p, &NOW.to_string(), BODY);
        let s = |v: String| signed(p).set(sig, v);
        rows.extend([
            ok(
                "extra spaces around and between entries",
                p,
                s(format!("   v1,{}   v1,{tag}  ", "A".repeat(43) + "=")),
            ),
            err(
                "unknown versions only",
                p,
                s(format!("v2,{tag} v1a,{tag}")),
                malformed(sig, "no signature of a supported version"),
            ),
            err(
                "entry without a comma",
                p,
                s(format!("v1{tag}")),
                malformed(sig, "list entry is not `version,signature`"),
            ),
            err(
                "tab as separator",
                p,
                s(format!("v1,{tag}\tv1,{tag}")),
                malformed(sig, "expected 44 characters of padded base64"),
            ),
            err(
                "`v1,` with no tag",
                p,
                s("v1,".into()),
                malformed(sig, "expected 44 characters of padded base64"),
            ),
            err(
                "17 entries",
                p,
                s(vec![format!("v1,{tag}"); 17].join(" ")),
                malformed(sig, "too many signatures"),
            ),
            err("id missing (signed)", p, signed(p).without(id), missing(id)),
            err("id repeated", p, signed(p).add(id, ID), malformed(id, "header repeated")),
            err("id changed (signed)", p, signed(p).set(id, "msg_other"), Error::SignatureMismatch),
            err("id with a NUL byte", p, signed(p).set(id, b"msg\0x".to_vec()), Error::SignatureMismatch),
            err(
                "id not UTF-8",
                p,
                signed(p).set(id, b"\xff\xfe".to_vec()),
                malformed(id, "id must be 1 to 255 bytes of UTF-8"),
            ),
        ]);
    }
    // Oktave and GitHub ids.
    rows.extend([
        err(
            "Oktave id missing",
            "oktave",
            signed("oktave").without("oktave-event-id"),
            missing("oktave-event-id"),
        ),
        err(
            "Oktave id repeated",
            "oktave",
            signed("oktave").add("oktave-event-id", ID),
            malformed("oktave-event-id", "header repeated"),
        ),
        ok(
            "GitHub delivery id changed (not signed)",
            "github",
            signed("github").set("x-github-delivery", "x"),
        ),
        err(
            "GitHub delivery id repeated",
            "github",
            signed("github").add("x-github-delivery", ID),
            malformed("x-github-delivery", "header repeated"),
        ),
        err(
            "signature header repeated, both wrong",
            "standard_webhooks",
            signed("standard_webhooks")
                .set("webhook-signature", "v1,".to_owned() + &"A".repeat(43) + "=")
                .add("webhook-signature", "v1,".to_owned() + &"B".repeat(42) + "A="),
            Error::SignatureMismatch,
        ),
        ok(
            "signature header repeated, second right",
            "standard_webhooks",
            Lines::default()
                .add("webhook-signature", "v1,".to_owned() + &"A".repeat(43) + "=")
                .add("webhook-id", ID)
                .add("webhook-timestamp", NOW.to_string())
                .add(
                    "webhook-signature",
                    format!("v1,{}", b64_tag("standard_webhooks", &NOW.to_string(), BODY)),
                ),
        ),
    ]);
    rows
}

/// The gate: method, credentials, Content-Length (both ways) and empty bodies.
fn gate_rows() -> Vec<Row> {
    let p = "tale";
    let cl = "content-length";
    let big = vec![b'x'; 100];
    let basic = |user, password| Via::Gate { method: "POST", max_body: None, basic: Some((user, password)) };
    vec![
        ok("empty body, no Content-Length", p, signed_at(p, NOW, b"")).via(gate()).body(b"".to_vec()),
        ok("empty body, Content-Length 0", p, signed_at(p, NOW, b"").add(cl, "0"))
            .via(gate())
            .body(b"".to_vec()),
        err("empty body where a body was signed", p, signed(p).add(cl, "0"), Error::SignatureMismatch)
            .via(gate())
            .body(b"".to_vec()),
        ok("Content-Length exact", p, signed(p).add(cl, BODY.len().to_string())).via(gate()),
        err(
            "Content-Length above the limit",
            p,
            signed_at(p, NOW, &big).add(cl, "65"),
            Error::BodyTooLarge { limit: 64 },
        )
        .via(gate_limit(64))
        .body(b"".to_vec())
        .status(413),
        err(
            "Content-Length beyond usize",
            p,
            signed(p).add(cl, "99999999999999999999999"),
            Error::BodyTooLarge { limit: 2 * 1024 * 1024 },
        )
        .via(gate())
        .status(413),
        // A body longer than it claimed is caught while streaming, at the limit.
        err(
            "Content-Length under-claims, body over the limit",
            p,
            signed_at(p, NOW, &big).add(cl, "10"),
            Error::BodyTooLarge { limit: 64 },
        )
        .via(gate_limit(64))
        .body(big.clone())
        .status(413),
        // Framing is the HTTP server's job; the core verifies the bytes it is given.
        ok("Content-Length under-claims, body within the limit", p, signed(p).add(cl, "3")).via(gate()),
        ok("Content-Length over-claims, body within the limit", p, signed(p).add(cl, "60"))
            .via(gate_limit(64)),
        err(
            "Content-Length negative",
            p,
            signed(p).add(cl, "-1"),
            malformed("content-length", "not a decimal length"),
        )
        .via(gate()),
        err(
            "Content-Length empty",
            p,
            signed(p).add(cl, ""),
            malformed("content-length", "not a decimal length"),
        )
        .via(gate()),
        err(
            "Content-Length with a sign",
            p,
            signed(p).add(cl, "+13"),
            malformed("content-length", "not a decimal length"),
        )
        .via(gate()),
        err(
            "Content-Length repeated",
            p,
            signed(p).add(cl, "13").add(cl, "13"),
            malformed("content-length", "header repeated"),
        )
        .via(gate()),
        err("GET", p, signed(p), Error::MethodNotAllowed).via(Via::Gate {
            method: "GET",
            max_body: None,
            basic: None,
        }),
        err("lower-case post", p, signed(p), Error::MethodNotAllowed).via(Via::Gate {
            method: "post",
            max_body: None,
            basic: None,
        }),
        err("Basic credentials missing", p, signed(p), Error::Unauthorized).via(basic("hook", "p4ss")),
        err(
            "Basic credentials wrong",
            p,
            signed(p).add("authorization", "Basic aG9vazpwNHN6"),
            Error::Unauthorized,
        )
        .via(basic("hook", "p4ss")),
        ok("Basic credentials right", p, signed(p).add("authorization", "Basic aG9vazpwNHNz"))
            .via(basic("hook", "p4ss")),
        err(
            "Basic credentials right, signature missing",
            p,
            Lines::default().add("authorization", "Basic aG9vazpwNHNz"),
            missing("x-tale-signature"),
        )
        .via(basic("hook", "p4ss")),
        err(
            "gate: signature header missing on a timestamped scheme",
            "slack",
            signed("slack").without("x-slack-signature"),
            missing("x-slack-signature"),
        )
        .via(gate()),
        err(
            "gate: stale Stripe delivery",
            "stripe",
            signed_at("stripe", NOW - 301, BODY),
            Error::TimestampTooOld { age: Duration::from_secs(301), tolerance: Duration::from_secs(300) },
        )
        .via(gate()),
    ]
}

/// Ed25519: Standard Webhooks `v1a` entries (beside `v1`) and Discord, signed here with
/// `ed25519-dalek` (RFC 8032 test 2's key), hostile in every way the grammar and the
/// curve allow.
#[cfg(feature = "ed25519")]
mod ed {
    use super::*;
    use ed25519_dalek::{Signer as _, SigningKey};

    /// RFC 8032, section 7.1, test 2.
    pub const SEED: [u8; 32] =
        hex_literal(b"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
    pub const WHPK: &str = "whpk_PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw=";
    pub const DISCORD_PK: &str = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
    /// RFC 8032 test 1's public key: valid, but not the signer's.
    pub const OTHER_WHPK: &str = "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    /// Keys refused at build time.
    pub const WEAK_IDENTITY: &str = "0100000000000000000000000000000000000000000000000000000000000000";
    pub const WEAK_ORDER_8: &str = "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05";
    pub const WEAK_ORDER_2_WHPK: &str = "whpk_7P///////////////////////////////////////38=";
    pub const NOT_A_POINT: &str = "0200000000000000000000000000000000000000000000000000000000000000";

    const fn nibble(c: u8) -> u8 {
        if c <= b'9' { c - b'0' } else { c - b'a' + 10 }
    }

    const fn hex_literal(text: &[u8; 64]) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut i = 0;
        while i < 32 {
            out[i] = (nibble(text[2 * i]) << 4) | nibble(text[2 * i + 1]);
            i += 1;
        }
        out
    }

    pub fn sign(scheme: &str, ts: &str, body: &[u8]) -> [u8; 64] {
        let message: Vec<u8> = match scheme {
            "discord" => [ts.as_bytes(), body].concat(),
            _ => [ID.as_bytes(), b".", ts.as_bytes(), b".", body].concat(),
        };
        SigningKey::from_bytes(&SEED).sign(&message).to_bytes()
    }

    /// `S + L`: the same signature with a non-canonical scalar.
    pub fn non_canonical(mut sig: [u8; 64]) -> [u8; 64] {
        const L: [u8; 32] = hex_literal(b"edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
        let mut carry = 0u16;
        for (s, l) in sig[32..].iter_mut().zip(L) {
            let sum = u16::from(*s) + u16::from(l) + carry;
            *s = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0);
        sig
    }

    /// `R` the identity (small order), `S` zero.
    pub fn small_order_r() -> [u8; 64] {
        let mut sig = [0u8; 64];
        sig[0] = 1;
        sig
    }

    pub fn b64(sig: &[u8; 64]) -> String {
        Base64::encode_string(sig)
    }
}

#[cfg(feature = "ed25519")]
fn ed25519_rows() -> Vec<Row> {
    use ed::*;
    let t = NOW.to_string();
    let pk = |secret| Via::Ed25519 { public_key: WHPK, secret };
    let mut rows = Vec::new();
    for (p, sig_name) in [("standard_webhooks", "webhook-signature"), ("svix", "svix-signature")] {
        let sig = ed::sign(p, &t, BODY);
        let v1 = format!("v1,{}", b64_tag(p, &t, BODY));
        let v1a = format!("v1a,{}", b64(&sig));
        let s = |v: String| signed(p).set(sig_name, v);
        let bad_base64 = format!("v1a,{}", b64(&sig).replacen('A', "*", 1).replacen('B', "*", 1));
        rows.extend([
            ok("v1a alone", p, s(v1a.clone())).via(pk(false)),
            ok("v1 and v1a, public key only", p, s(format!("{v1} {v1a}"))).via(pk(false)),
            ok("v1a and v1, secret and public key", p, s(format!("{v1a} {v1}"))).via(pk(true)),
            ok(
                "v1 wrong, v1a right, secret and public key",
                p,
                s(format!("v1,{} {v1a}", "A".repeat(43) + "=")),
            )
            .via(pk(true)),
            ok("v1 right, v1a garbage, secret only: v1a skipped", p, s(format!("{v1} v1a,garbage"))),
            err(
                "v1a only, secret only",
                p,
                s(v1a.clone()),
                malformed(sig_name, "no signature of a supported version"),
            ),
            err(
                "v1 only, public key only",
                p,
                s(v1.clone()),
                malformed(sig_name, "no signature of a supported version"),
            )
            .via(pk(false)),
            err("v1a not base64", p, s(bad_base64), malformed(sig_name, "invalid base64")).via(pk(false)),
            err(
                "v1a of HMAC length",
                p,
                s(format!("v1a,{}", b64_tag(p, &t, BODY))),
                malformed(sig_name, "expected 88 characters of padded base64 (an Ed25519 signature)"),
            )
            .via(pk(false)),
            err(
                "v1a unpadded",
                p,
                s(v1a.trim_end_matches('=').to_owned()),
                malformed(sig_name, "expected 88 characters of padded base64 (an Ed25519 signature)"),
            )
            .via(pk(false)),
            err(
                "v1a of 65 bytes",
                p,
                // 88 characters with one `=`: the right length, but not 64 bytes.
                s(format!("v1a,{}", Base64::encode_string(&[sig.as_slice(), &[0]].concat()))),
                malformed(sig_name, "invalid base64"),
            )
            .via(pk(false)),
            err(
                "v1a with a non-canonical S (S + L)",
                p,
                s(format!("v1a,{}", b64(&non_canonical(sig)))),
                Error::SignatureMismatch,
            )
            .via(pk(false)),
            err(
                "v1a with a small-order R",
                p,
                s(format!("v1a,{}", b64(&small_order_r()))),
                Error::SignatureMismatch,
            )
            .via(pk(false)),
            err("v1a of another key", p, s(v1a.clone()), Error::SignatureMismatch)
                .via(Via::Ed25519 { public_key: OTHER_WHPK, secret: false }),
            err("v1a over another body", p, s(v1a.clone()), Error::SignatureMismatch)
                .via(pk(false))
                .body(b"Hello, World?".to_vec()),
            err(
                "v1a with the timestamp changed",
                p,
                s(v1a.clone()).set(
                    if p == "svix" { "svix-timestamp" } else { "webhook-timestamp" },
                    (NOW + 1).to_string(),
                ),
                Error::SignatureMismatch,
            )
            .via(pk(false)),
            err(
                "five v1a entries",
                p,
                s(vec![v1a.clone(); 5].join(" ")),
                malformed(sig_name, "too many Ed25519 signatures"),
            )
            .via(pk(false)),
            ok(
                "four v1a entries, the last right",
                p,
                s(format!("{} {v1a}", vec![format!("v1a,{}", b64(&small_order_r())); 3].join(" "))),
            )
            .via(pk(false)),
            err(
                "17 entries, v1 and v1a",
                p,
                s([vec![v1.clone(); 13], vec![v1a.clone(); 4]].concat().join(" ")),
                malformed(sig_name, "too many signatures"),
            )
            .via(pk(true)),
            err(
                "small-order public key (order 2)",
                p,
                s(v1a.clone()),
                Error::InvalidKey { reason: "the public key is of small order (weak)" },
            )
            .via(Via::Ed25519 { public_key: WEAK_ORDER_2_WHPK, secret: false }),
            err(
                "public key of 31 bytes",
                p,
                s(v1a.clone()),
                Error::InvalidKey { reason: "an Ed25519 public key is 32 bytes" },
            )
            .via(Via::Ed25519 {
                public_key: "whpk_PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zg==",
                secret: false,
            }),
            err(
                "public key not base64",
                p,
                s(v1a.clone()),
                Error::InvalidKey { reason: "public key is not base64" },
            )
            .via(Via::Ed25519 {
                public_key: "whpk_PUAXw+hDiVqStwqnTRt-vJyYLM8uxJaMwM1V8Sr0Zgw=",
                secret: false,
            }),
            err(
                "a signing key given as the public key",
                p,
                s(v1a),
                Error::InvalidKey { reason: "a secret signing key was given where a public key belongs" },
            )
            .via(Via::Ed25519 {
                public_key: "whsk_TM0Imyj/ltqdtsNG7BFOD1uKMZ81q6Yk2oz27U+4pvs=",
                secret: false,
            }),
        ]);
    }
    let d = "discord";
    let dsig = ed::sign(d, &t, BODY);
    let dpk = |public_key| Via::Ed25519 { public_key, secret: false };
    let delivery = |value: String| {
        Lines::default().add("x-signature-timestamp", t.clone()).add("x-signature-ed25519", value)
    };
    let name = "x-signature-ed25519";
    rows.extend([
        ok("signed interaction", d, delivery(hex::encode(dsig))).via(dpk(DISCORD_PK)),
        ok("upper-case hex", d, delivery(hex::encode_upper(dsig))).via(dpk(DISCORD_PK)),
        ok("upper-case hex public key", d, delivery(hex::encode(dsig)))
            .via(dpk("3D4017C3E843895A92B70AA74D1B7EBC9C982CCF2EC4968CC0CD55F12AF4660C")),
        err("signature missing", d, delivery(hex::encode(dsig)).without(name), missing(name))
            .via(dpk(DISCORD_PK)),
        err(
            "timestamp missing",
            d,
            delivery(hex::encode(dsig)).without("x-signature-timestamp"),
            missing("x-signature-timestamp"),
        )
        .via(dpk(DISCORD_PK)),
        err(
            "127 hex digits",
            d,
            delivery(hex::encode(dsig)[1..].to_owned()),
            malformed(name, "expected 128 hex digits (an Ed25519 signature)"),
        )
        .via(dpk(DISCORD_PK)),
        err(
            "64 hex digits (an HMAC's length)",
            d,
            delivery(hex::encode(&dsig[..32])),
            malformed(name, "expected 128 hex digits (an Ed25519 signature)"),
        )
        .via(dpk(DISCORD_PK)),
        err(
            "a non-hex digit",
            d,
            delivery(hex::encode(dsig).replacen(|c: char| c.is_ascii_digit(), "g", 1)),
            malformed(name, "invalid hex digit"),
        )
        .via(dpk(DISCORD_PK)),
        err("non-canonical S", d, delivery(hex::encode(non_canonical(dsig))), Error::SignatureMismatch)
            .via(dpk(DISCORD_PK)),
        err("small-order R", d, delivery(hex::encode(small_order_r())), Error::SignatureMismatch)
            .via(dpk(DISCORD_PK)),
        err("body changed", d, delivery(hex::encode(dsig)), Error::SignatureMismatch)
            .via(dpk(DISCORD_PK))
            .body(b"Hello, World?".to_vec()),
        err(
            "timestamp changed",
            d,
            delivery(hex::encode(dsig)).set("x-signature-timestamp", (NOW - 1).to_string()),
            Error::SignatureMismatch,
        )
        .via(dpk(DISCORD_PK)),
        err(
            "stale timestamp",
            d,
            Lines::default()
                .add("x-signature-timestamp", (NOW - 301).to_string())
                .add(name, hex::encode(ed::sign(d, &(NOW - 301).to_string(), BODY))),
            Error::TimestampTooOld { age: Duration::from_secs(301), tolerance: Duration::from_secs(300) },
        )
        .via(dpk(DISCORD_PK)),
        err(
            "small-order public key (identity)",
            d,
            delivery(hex::encode(small_order_r())),
            Error::InvalidKey { reason: "the public key is of small order (weak)" },
        )
        .via(dpk(WEAK_IDENTITY)),
        err(
            "small-order public key (order 8)",
            d,
            delivery(hex::encode(dsig)),
            Error::InvalidKey { reason: "the public key is of small order (weak)" },
        )
        .via(dpk(WEAK_ORDER_8)),
        err(
            "public key not a point of the curve",
            d,
            delivery(hex::encode(dsig)),
            Error::InvalidKey { reason: "the public key is not a point of the curve" },
        )
        .via(dpk(NOT_A_POINT)),
        err(
            "public key of 33 bytes",
            d,
            delivery(hex::encode(dsig)),
            Error::InvalidKey { reason: "an Ed25519 public key is 32 bytes" },
        )
        .via(dpk("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c00")),
        err(
            "public key not hex",
            d,
            delivery(hex::encode(dsig)),
            Error::InvalidKey { reason: "public key is not hex" },
        )
        .via(dpk("zd4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")),
    ]);
    rows
}

fn all_rows() -> Vec<Row> {
    let rows = [
        every_preset(),
        hex_grammars(),
        base64_tags(),
        timestamps(),
        stripe(),
        standard_lists(),
        gate_rows(),
    ]
    .concat();
    #[cfg(feature = "ed25519")]
    let rows = [rows, ed25519_rows()].concat();
    rows
}

#[test]
fn the_table_covers_every_preset_and_is_large_enough() {
    let rows = all_rows();
    println!("hostile table: {} rows", rows.len());
    assert!(rows.len() >= 60, "only {} rows", rows.len());
    for p in PRESETS {
        assert!(rows.iter().filter(|r| r.scheme == p).count() >= 6, "{p} has too few rows");
    }
    // Both paths and both outcomes are exercised.
    assert!(rows.iter().any(|r| matches!(r.via, Via::Gate { .. }) && r.want.is_none()));
    assert!(rows.iter().any(|r| matches!(r.via, Via::Gate { .. }) && r.want.is_some()));
    assert!(rows.iter().filter(|r| r.want.is_none()).count() >= 10);
}

#[cfg(feature = "ed25519")]
#[test]
fn ed25519_entries_and_keys_are_strict() {
    let rows = ed25519_rows();
    println!("Ed25519 rows: {}", rows.len());
    check(&rows);
}

#[test]
fn every_preset_refuses_the_basic_abuses() {
    check(&every_preset());
}

#[test]
fn hex_grammars_are_strict() {
    check(&hex_grammars());
}

#[test]
fn base64_tags_are_standard_padded_and_canonical() {
    check(&base64_tags());
}

#[test]
fn timestamps_are_strict_and_bounded() {
    check(&timestamps());
}

#[test]
fn stripe_grammar() {
    check(&stripe());
}

#[test]
fn standard_webhooks_lists_and_ids() {
    check(&standard_lists());
}

#[test]
fn gate_checks_method_credentials_and_length() {
    check(&gate_rows());
}

/// `http` refuses NUL and newlines in header values, so hostile bytes that reach a
/// server through `HeaderMap` are a subset of what the table feeds through `Lines`.
#[test]
fn http_refuses_nul_and_newlines_in_header_values() {
    for bad in [&b"sha256=\0"[..], b"a\nb", b"a\rb"] {
        assert!(HeaderValue::from_bytes(bad).is_err(), "{bad:?}");
    }
    // ... but accepts obs-text (bytes >= 0x80), which therefore must be handled.
    assert!(HeaderValue::from_bytes(b"sha256=\xc3\xa9").is_ok());
}

// ---------------------------------------------------------------------------------
// The same table through the middleware: the tower layer (`oneshot`) and the actix
// middleware (`actix_web::test`). Every row whose lines fit an `http::HeaderMap` is
// sent as a real request; the answer's status must equal the row's.
//
// Left out, on purpose: rows that expect a timestamp error (the middleware reads the
// system clock, the table is signed at a fixed `NOW`; the timestamped rows that are
// accepted run with a tolerance wide enough to cover the gap), and rows that carry
// their own `Content-Length` (a request's framing is the server's, and the test
// clients set it from the body).
// ---------------------------------------------------------------------------------

#[cfg(any(feature = "tower", feature = "actix"))]
mod through_middleware {
    use super::*;

    /// Twenty years: covers the distance between the table's `NOW` and the clock.
    const WIDE: Duration = Duration::from_secs(20 * 365 * 24 * 3600);

    pub(super) struct Case {
        pub(super) what: String,
        pub(super) method: &'static str,
        pub(super) headers: http::HeaderMap,
        pub(super) body: Vec<u8>,
        pub(super) verifier: Verifier,
        pub(super) basic: Option<BasicAuth>,
        pub(super) status: u16,
    }

    pub(super) fn cases() -> Vec<Case> {
        let mut cases = Vec::new();
        for row in all_rows() {
            let timestamp_error =
                matches!(row.want, Some(Error::TimestampTooOld { .. } | Error::TimestampInFuture { .. }));
            let own_length = row.headers.0.iter().any(|(n, _)| n == http::header::CONTENT_LENGTH);
            let Some(headers) = row.headers.header_map() else { continue };
            if timestamp_error || own_length {
                continue;
            }
            let scheme = Scheme::preset(row.scheme).unwrap();
            let mut builder = Verifier::builder(scheme.clone());
            if scheme.has_timestamp() {
                builder = builder.tolerance(WIDE);
            }
            let (method, basic) = match &row.via {
                Via::Verify => {
                    builder = builder.secret(secret_for(row.scheme));
                    ("POST", None)
                }
                Via::Gate { method, max_body, basic } => {
                    builder = builder.secret(secret_for(row.scheme));
                    if let Some(limit) = max_body {
                        builder = builder.max_body(*limit);
                    }
                    (*method, basic.map(|(u, p)| BasicAuth::new(u, p).unwrap()))
                }
                #[cfg(feature = "ed25519")]
                Via::Ed25519 { public_key, secret } => {
                    if *secret {
                        builder = builder.secret(secret_for(row.scheme));
                    }
                    builder = builder.public_key(public_key);
                    ("POST", None)
                }
            };
            let verifier = match builder.build() {
                Ok(verifier) => verifier,
                // Rows about keys refused at build time have no request to send.
                Err(Error::InvalidKey { .. })
                    if row.want.as_ref().is_some_and(|w| w.status().as_u16() == 500) =>
                {
                    continue;
                }
                Err(e) => panic!("[{}] {}: {e}", row.scheme, row.what),
            };
            cases.push(Case {
                what: format!("[{}] {}", row.scheme, row.what),
                method,
                headers,
                body: row.body.clone(),
                verifier,
                basic,
                status: row.status,
            });
        }
        cases
    }

    pub(super) fn assert_enough(cases: &[Case], failures: &[String]) {
        println!("{} rows through the middleware", cases.len());
        assert!(cases.len() >= 100, "only {} rows fit the middleware", cases.len());
        assert!(cases.iter().filter(|c| c.status == 200).count() >= 10);
        assert!(cases.iter().filter(|c| c.status != 200).count() >= 60);
        assert!(failures.is_empty(), "{} of {} rows:\n{}", failures.len(), cases.len(), failures.join("\n"));
    }
}

#[cfg(feature = "tower")]
#[tokio::test]
async fn the_table_through_the_tower_layer() {
    use bytes::Bytes;
    use http_body_util::Full;
    use tower::{Layer, ServiceExt, service_fn};

    let cases = through_middleware::cases();
    let mut failures = Vec::new();
    for case in &cases {
        let mut layer = hooksig::tower::VerifyLayer::new(case.verifier.clone());
        if let Some(auth) = &case.basic {
            layer = layer.basic_auth(auth.clone());
        }
        let service = layer.layer(service_fn(|_req: http::Request<hooksig::tower::VerifiedBody>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from_static(b"handled"))))
        }));
        let mut request = http::Request::builder()
            .method(case.method)
            .uri("/hook")
            .body(Full::new(Bytes::from(case.body.clone())))
            .unwrap();
        *request.headers_mut() = case.headers.clone();
        let status = service.oneshot(request).await.unwrap().status().as_u16();
        if status != case.status {
            failures.push(format!("{}: wanted {}, the layer answered {status}", case.what, case.status));
        }
    }
    through_middleware::assert_enough(&cases, &failures);
}

#[cfg(feature = "actix")]
#[actix_web::test]
async fn the_table_through_the_actix_middleware() {
    use actix_web::{App, HttpResponse, test, web};

    let cases = through_middleware::cases();
    let mut failures = Vec::new();
    for case in &cases {
        let mut middleware = hooksig::actix::VerifySignature::new(case.verifier.clone());
        if let Some(auth) = &case.basic {
            middleware = middleware.basic_auth(auth.clone());
        }
        let app = test::init_service(
            App::new()
                .app_data(web::PayloadConfig::new(case.verifier.max_body()))
                .wrap(middleware)
                .default_service(web::to(|| async { HttpResponse::Ok().body("handled") })),
        )
        .await;
        let mut request = test::TestRequest::default()
            .method(actix_web::http::Method::from_bytes(case.method.as_bytes()).unwrap())
            .uri("/hook");
        for (name, value) in &case.headers {
            request = request.append_header((name.as_str(), value.as_bytes()));
        }
        let request = request.set_payload(case.body.clone()).to_request();
        let status = test::call_service(&app, request).await.status().as_u16();
        if status != case.status {
            failures.push(format!("{}: wanted {}, the middleware answered {status}", case.what, case.status));
        }
    }
    through_middleware::assert_enough(&cases, &failures);
}
