//! Reading what the user gives: secrets, the body, `Name: value` headers.

use std::io::{IsTerminal, Read};
use std::num::IntErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue};
use zeroize::Zeroizing;

use crate::{BodyArgs, Failure, PublicKeyArgs, SecretArgs, SigningKeyArgs, SubMatches, warn};

/// What a key given on the command line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// An HMAC secret (`--secret-*`).
    Secret,
    /// An Ed25519 signing key (`--signing-key-*`).
    Signing,
    /// An Ed25519 public key (`--public-key-*`).
    Public,
}

impl KeyKind {
    /// How messages name it.
    pub fn what(self) -> &'static str {
        match self {
            KeyKind::Secret => "secret",
            KeyKind::Signing => "signing key",
            KeyKind::Public => "public key",
        }
    }

    /// The option stem: `secret`, `signing-key`, `public-key`.
    fn option(self) -> &'static str {
        match self {
            KeyKind::Secret => "secret",
            KeyKind::Signing => "signing-key",
            KeyKind::Public => "public-key",
        }
    }
}

/// A key and where it came from (the label names the source, never the value).
pub struct Secret {
    pub label: String,
    pub value: Zeroizing<Vec<u8>>,
    pub kind: KeyKind,
}

impl Secret {
    /// Whether the secret starts or ends with ASCII whitespace.
    pub fn has_outer_whitespace(&self) -> bool {
        let ws = |b: &&u8| b.is_ascii_whitespace();
        self.value.first().as_ref().is_some_and(ws) || self.value.last().as_ref().is_some_and(ws)
    }
}

enum Source {
    Env(String),
    File(PathBuf),
    Arg(String),
}

/// Parses a `--timestamp`/`--now` value: decimal unix seconds, at most `i64::MAX`
/// (the largest timestamp a delivery may carry, as the header parsers read them) and
/// representable by this system's clock. Used as a clap value parser, so a value out
/// of range is a usage error (exit 2) before anything is read.
pub fn unix_seconds(text: &str) -> Result<u64, String> {
    let out_of_range = || format!("{text} is out of range: unix seconds go up to {} (i64::MAX)", i64::MAX);
    let secs: u64 = match text.parse() {
        Ok(secs) => secs,
        Err(e) if *e.kind() == IntErrorKind::PosOverflow => return Err(out_of_range()),
        Err(e) => return Err(format!("not unix seconds (a whole number of seconds): {e}")),
    };
    if i64::try_from(secs).is_err() {
        return Err(out_of_range());
    }
    system_time(secs)
        .map(|_| secs)
        .map_err(|_| format!("{secs} is beyond what this system's clock can represent"))
}

/// The instant `secs` unix seconds after the epoch, without overflowing.
pub fn system_time(secs: u64) -> Result<SystemTime, Failure> {
    UNIX_EPOCH.checked_add(Duration::from_secs(secs)).ok_or_else(|| {
        Failure::usage(format!("{secs} unix seconds is beyond what this system's clock can represent"))
    })
}

/// The Ed25519 options of a subcommand, of one kind.
pub struct EdKeys<'a> {
    kind: KeyKind,
    env: &'a [String],
    file: &'a [PathBuf],
    arg: &'a [String],
}

impl<'a> From<&'a SigningKeyArgs> for EdKeys<'a> {
    fn from(a: &'a SigningKeyArgs) -> Self {
        EdKeys {
            kind: KeyKind::Signing,
            env: &a.signing_key_env,
            file: &a.signing_key_file,
            arg: &a.signing_key,
        }
    }
}

impl<'a> From<&'a PublicKeyArgs> for EdKeys<'a> {
    fn from(a: &'a PublicKeyArgs) -> Self {
        EdKeys { kind: KeyKind::Public, env: &a.public_key_env, file: &a.public_key_file, arg: &a.public_key }
    }
}

/// Reads every secret and Ed25519 key, in command-line order (the order the library's
/// key sequence and `key #N` follow).
pub fn keys(
    args: &SecretArgs,
    ed: Option<EdKeys<'_>>,
    matches: SubMatches<'_>,
) -> Result<Vec<Secret>, Failure> {
    let mut sources: Vec<(usize, KeyKind, Source)> = Vec::new();
    let position = |id: &str, n: usize| -> usize {
        matches.and_then(|m| m.indices_of(id)).and_then(|mut i| i.nth(n)).unwrap_or(usize::MAX)
    };
    let secret =
        EdKeys { kind: KeyKind::Secret, env: &args.secret_env, file: &args.secret_file, arg: &args.secret };
    for group in std::iter::once(secret).chain(ed) {
        let id = group.kind.option().replace('-', "_");
        for (n, var) in group.env.iter().enumerate() {
            sources.push((position(&format!("{id}_env"), n), group.kind, Source::Env(var.clone())));
        }
        for (n, path) in group.file.iter().enumerate() {
            sources.push((position(&format!("{id}_file"), n), group.kind, Source::File(path.clone())));
        }
        for (n, value) in group.arg.iter().enumerate() {
            sources.push((position(&id, n), group.kind, Source::Arg(value.clone())));
        }
        if !group.arg.is_empty() && group.kind != KeyKind::Public {
            let (what, option) = (group.kind.what(), group.kind.option());
            warn(&format!(
                "--{option} puts the {what} in your shell history and the process list; \
                 prefer --{option}-env VAR or --{option}-file PATH"
            ));
        }
    }
    sources.sort_by_key(|(pos, ..)| *pos);
    sources.into_iter().map(|(_, kind, source)| read_secret(kind, source)).collect()
}

fn read_secret(kind: KeyKind, source: Source) -> Result<Secret, Failure> {
    let (what, option) = (kind.what(), kind.option());
    let secret = match source {
        Source::Env(var) => {
            let value = std::env::var_os(&var).ok_or_else(|| {
                Failure::usage(format!("environment variable `{var}` is not set"))
                    .hint(format!("export {var}=… first, or use --{option}-file PATH"))
            })?;
            Secret { label: format!("${var}"), value: Zeroizing::new(os_bytes(value, &var)?), kind }
        }
        Source::File(path) => {
            let mut bytes = Zeroizing::new(read_file(&path, &format!("{what} file"))?);
            strip_one_newline(&mut bytes);
            Secret { label: format!("file {}", path.display()), value: bytes, kind }
        }
        Source::Arg(value) => {
            Secret { label: format!("--{option}"), value: Zeroizing::new(value.into_bytes()), kind }
        }
    };
    if secret.value.is_empty() {
        return Err(Failure::usage(format!("the {what} from {} is empty", secret.label)));
    }
    Ok(secret)
}

#[cfg(unix)]
fn os_bytes(value: std::ffi::OsString, _var: &str) -> Result<Vec<u8>, Failure> {
    use std::os::unix::ffi::OsStringExt;
    Ok(value.into_vec())
}

#[cfg(not(unix))]
fn os_bytes(value: std::ffi::OsString, var: &str) -> Result<Vec<u8>, Failure> {
    value
        .into_string()
        .map(String::into_bytes)
        .map_err(|_| Failure::usage(format!("environment variable `{var}` is not valid Unicode")))
}

/// Removes one trailing "\n" or "\r\n".
fn strip_one_newline(bytes: &mut Vec<u8>) {
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::usage(format!("cannot read {what} {}: {e}", path.display())))
}

/// Where the body came from.
pub enum BodySource {
    Data,
    File(PathBuf),
    Stdin,
}

/// The body bytes, exactly as given.
pub struct Body {
    pub bytes: Vec<u8>,
    pub source: BodySource,
}

/// Reads the body from --data, --file, or standard input (refusing a terminal).
pub fn body(args: &BodyArgs) -> Result<Body, Failure> {
    if let Some(data) = &args.data {
        return Ok(Body { bytes: data.clone().into_bytes(), source: BodySource::Data });
    }
    match &args.file {
        Some(path) if path.as_os_str() != "-" => {
            Ok(Body { bytes: read_file(path, "body file")?, source: BodySource::File(path.clone()) })
        }
        _ => {
            let stdin = std::io::stdin();
            if args.file.is_none() && stdin.is_terminal() {
                return Err(Failure::usage("no body given").hint(
                    "pass --data TEXT, --file PATH, or pipe the body on standard input (--data '' for an empty body)",
                ));
            }
            let mut bytes = Vec::new();
            stdin
                .lock()
                .read_to_end(&mut bytes)
                .map_err(|e| Failure::usage(format!("cannot read the body from standard input: {e}")))?;
            Ok(Body { bytes, source: BodySource::Stdin })
        }
    }
}

/// Parses `Name: value` options into a header map (HTTP's optional whitespace around
/// the value is removed; repeated names are kept as separate lines). `@PATH` reads
/// one header per non-empty line of a file, such as the output of `hooksig sign`.
pub fn headers(options: &[String]) -> Result<HeaderMap, Failure> {
    let mut map = HeaderMap::new();
    for option in options {
        if let Some(path) = option.strip_prefix('@') {
            let bytes = read_file(Path::new(path), "headers file")?;
            let text = String::from_utf8(bytes)
                .map_err(|_| Failure::usage(format!("headers file {path} is not UTF-8 text")))?;
            for line in text.lines().map(|l| l.trim_end_matches('\r')).filter(|l| !l.trim().is_empty()) {
                let (name, value) = parse_header(line)?;
                map.append(name, value);
            }
        } else {
            let (name, value) = parse_header(option)?;
            map.append(name, value);
        }
    }
    Ok(map)
}

/// A header the user added with `-H` to `sign` or `send`, in command-line order.
pub type Extra = (HeaderName, HeaderValue);

/// Parses the `-H 'Name: value'` options of `sign` and `send`.
pub fn extra_headers(options: &[String]) -> Result<Vec<Extra>, Failure> {
    options.iter().map(|line| parse_header(line)).collect()
}

/// The headers of a delivery in the order they are printed and sent: the generated
/// ones as given (signature headers, then Content-Type where there is one), then the
/// `-H` headers in command-line order. A `-H` header replaces every generated header
/// of its name; several `-H` of one name are all kept.
pub fn with_extra<'a>(
    generated: impl IntoIterator<Item = (&'a HeaderName, &'a HeaderValue)>,
    extra: &'a [Extra],
) -> Vec<(&'a HeaderName, &'a HeaderValue)> {
    let mut out: Vec<(&HeaderName, &HeaderValue)> =
        generated.into_iter().filter(|(name, _)| !replaced(extra, name)).collect();
    out.extend(extra.iter().map(|(n, v)| (n, v)));
    out
}

/// Whether a `-H` header replaces the generated header `name`.
pub fn replaced(extra: &[Extra], name: &HeaderName) -> bool {
    extra.iter().any(|(n, _)| n == name)
}

pub fn parse_header(line: &str) -> Result<(HeaderName, HeaderValue), Failure> {
    let bad = |why: &str| {
        Failure::usage(format!("bad header `{line}`: {why}")).hint("write headers as -H 'Name: value'")
    };
    let (name, value) = line.split_once(':').ok_or_else(|| bad("no `:`"))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad("invalid header name"))?;
    let value = HeaderValue::from_bytes(value.trim_matches([' ', '\t']).as_bytes())
        .map_err(|_| bad("invalid header value"))?;
    Ok((name, value))
}

/// Whether the bytes are one valid JSON document.
pub fn is_json(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes).is_ok()
}

/// The signature headers of a delivery in a fixed order: id, timestamp, signature.
pub fn ordered<'a>(scheme: &hooksig::Scheme, map: &'a HeaderMap) -> Vec<(&'a HeaderName, &'a HeaderValue)> {
    let mut names: Vec<&HeaderName> = Vec::new();
    names.extend(scheme.id_header());
    names.extend(scheme.timestamp_header());
    names.push(scheme.signature_header());
    let mut out: Vec<(&HeaderName, &HeaderValue)> = Vec::new();
    for name in names {
        for (n, v) in map.iter().filter(|(n, _)| *n == name) {
            out.push((n, v));
        }
    }
    // Anything else the signer produced, so nothing is ever dropped.
    for (n, v) in map.iter() {
        if !out.iter().any(|(seen, _)| *seen == n) {
            out.push((n, v));
        }
    }
    out
}
