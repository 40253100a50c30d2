//! `hooksig probe` run as a user would, against receivers on 127.0.0.1 started here:
//! the library's own (the tower layer in `axum::serve`, the actix middleware in an
//! `HttpServer`, with and without replay protection), which must pass every check, and
//! small hand-written receivers with exactly one classic flaw each, which the check
//! naming that flaw, and only it, must fail; and over https to a rustls receiver
//! whose self-signed certificate the test makes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "a test may panic: a panic is a failed test"
)]

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hooksig::replay::MemoryReplayGuard;
use hooksig::{Scheme, Verifier};
use serde_json::Value;
use support::{BIN, Out, RAW_SECRET, STRIPE_SECRET, WHSEC, dashboard_secret, run_bounded, tls_receiver};

/// Every run of the binary must finish within this.
const DEADLINE: Duration = Duration::from_secs(90);

/// Every check id, in the order the probe runs and reports them.
const CHECKS: [&str; 14] = [
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

// ---------------------------------------------------------------------------------
// Running the binary

/// Runs the binary with `S` set to `secret`, failing the test if it outlives DEADLINE.
fn hooksig(args: &[&str], secret: &str) -> Out {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env("S", secret)
        .env_remove("HOOKSIG_SCHEME")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY");
    let out = run_bounded(command, b"", DEADLINE);
    for text in [&out.stdout, &out.stderr] {
        assert!(!text.contains(secret), "secret printed: {text}");
    }
    out
}

/// One reported check.
#[derive(Debug)]
struct Row {
    result: String,
    status: Option<u16>,
    detail: String,
}

/// `probe URL --scheme PRESET --secret-env S --json ...`: the exit code and the rows by
/// check id, after checking the output's documented shape.
fn probe(url: &str, preset: &str, secret: &str, extra: &[&str]) -> (Out, BTreeMap<String, Row>) {
    let mut args = vec!["probe", url, "--scheme", preset, "--secret-env", "S", "--json", "--timeout", "5s"];
    args.extend_from_slice(extra);
    let out = hooksig(&args, secret);
    let rows = parse_json(&out);
    (out, rows)
}

fn parse_json(out: &Out) -> BTreeMap<String, Row> {
    let value: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\nstderr:\n{}", out.stdout, out.stderr));
    let array = value.as_array().expect("a JSON array");
    let mut rows = BTreeMap::new();
    let mut order = Vec::new();
    for item in array {
        let object = item.as_object().expect("an object per check");
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["check", "detail", "result", "status"], "{item}");
        let check = object["check"].as_str().unwrap().to_owned();
        let result = object["result"].as_str().unwrap().to_owned();
        assert!(["pass", "fail", "info", "skip"].contains(&result.as_str()), "{item}");
        let status = match &object["status"] {
            Value::Null => None,
            Value::Number(n) => Some(u16::try_from(n.as_u64().unwrap()).unwrap()),
            other => panic!("status {other}"),
        };
        let detail = object["detail"].as_str().unwrap().to_owned();
        assert!(!detail.is_empty() && !detail.contains('\n'), "{item}");
        if result == "skip" {
            assert_eq!(status, None, "{item}");
        }
        order.push(check.clone());
        assert!(rows.insert(check, Row { result, status, detail }).is_none(), "a check reported twice");
    }
    let known: Vec<&str> = CHECKS.iter().copied().filter(|c| order.iter().any(|o| o == c)).collect();
    assert_eq!(order, known, "checks in the documented order");
    // The totals go to standard error (after any warning, before any error line), so
    // that standard output is only JSON.
    let totals = out.stderr.lines().find(|l| !l.starts_with("warning: ")).unwrap_or_default();
    assert!(
        totals.contains(" requests, ") && totals.contains(" bytes, ") && totals.ends_with(" s"),
        "{}",
        out.stderr
    );
    rows
}

/// Asserts that exactly the `failing` checks failed (exit 1, or exit 0 when none) and
/// everything else passed or is info/skip.
fn assert_only_failures(out: &Out, rows: &BTreeMap<String, Row>, failing: &[&str]) {
    let failed: Vec<&str> =
        rows.iter().filter(|(_, r)| r.result == "fail").map(|(c, _)| c.as_str()).collect();
    let mut want = failing.to_vec();
    want.sort_unstable();
    assert_eq!(failed, want, "failed checks: {rows:#?}\nstderr:\n{}", out.stderr);
    out.assert_code(if failing.is_empty() { 0 } else { 1 });
    for check in CHECKS {
        assert!(rows.contains_key(check), "{check} not reported");
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

// ---------------------------------------------------------------------------------
// Receivers on 127.0.0.1

/// An axum app served on 127.0.0.1:0 until dropped.
struct Server {
    url: String,
    /// How many deliveries reached the handler behind the library's layer.
    calls: Arc<AtomicUsize>,
    _runtime: tokio::runtime::Runtime,
}

fn serve(app: axum::Router) -> Server {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    runtime.spawn(async move { axum::serve(listener, app).await });
    Server { url, calls: Arc::default(), _runtime: runtime }
}

/// The library's tower layer in front of a handler that answers 200.
fn tower_receiver(scheme: Scheme, secret: &str, replay: bool) -> Server {
    tower_receiver_for(Verifier::new(scheme, secret).unwrap(), replay)
}

/// The same with any verifier (Ed25519 public keys).
fn tower_receiver_for(verifier: Verifier, replay: bool) -> Server {
    let mut layer = hooksig::tower::VerifyLayer::new(verifier);
    if replay {
        layer = layer.replay_guard(MemoryReplayGuard::new(1000));
    }
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let handler = move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async { "ok" }
    };
    let mut server = serve(axum::Router::new().route("/hook", post(handler)).route_layer(layer));
    server.calls = calls;
    server
}

/// The library's actix middleware in a real `HttpServer`, on its own thread.
struct ActixServer {
    url: String,
    calls: Arc<AtomicUsize>,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for ActixServer {
    fn drop(&mut self) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

fn actix_receiver(scheme: Scheme, secret: &str, replay: bool) -> ActixServer {
    use actix_web::{App, HttpServer, web};
    let verifier = Verifier::new(scheme, secret).unwrap();
    let mut middleware = hooksig::actix::VerifySignature::new(verifier);
    if replay {
        middleware = middleware.replay_guard(MemoryReplayGuard::new(1000));
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                let counter = counter.clone();
                let handler = move || {
                    counter.fetch_add(1, Ordering::SeqCst);
                    async { "ok" }
                };
                App::new()
                    .service(web::resource("/hook").wrap(middleware.clone()).route(web::post().to(handler)))
            })
            .workers(1)
            .disable_signals()
            .shutdown_timeout(1)
            .listen(listener)
            .unwrap()
            .run();
            tx.send(server.handle()).unwrap();
            server.await.unwrap();
        });
    });
    let handle = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    ActixServer { url, calls, handle, thread: Some(thread) }
}

// ---------------------------------------------------------------------------------
// The library's own receivers pass every check

#[test]
fn the_tower_layer_passes_every_check_for_every_preset() {
    for scheme in Scheme::presets() {
        let preset = scheme.name().to_owned();
        let rx = tower_receiver(scheme.clone(), dashboard_secret(&preset), false);
        let (out, rows) = probe(&rx.url, &preset, dashboard_secret(&preset), &[]);
        assert_only_failures(&out, &rows, &[]);
        for check in ["valid", "tampered-body", "wrong-secret", "missing-signature"] {
            let want = if check == "tampered-body" && !scheme.covers_body() { "skip" } else { "pass" };
            assert_eq!(rows[check].result, want, "{preset} {check}: {:?}", rows[check]);
        }
        assert_eq!(rows["valid"].status, Some(200));
        assert_eq!(rows["wrong-secret"].status, Some(401), "{preset}");
        assert_eq!(rows["oversized-body"].result, "pass", "{preset}: {:?}", rows["oversized-body"]);
        assert_eq!(rows["wrong-method"].result, "info");
        assert_eq!(rows["wrong-method"].status, Some(405), "{preset}");
        assert_eq!(rows["replay"].result, "info");
        assert_eq!(rows["replay"].status, Some(200), "{preset}");
        assert_eq!(rows["timing"].result, "skip");
        // valid, valid-reformatted and the replay reached the handler; nothing else.
        let accepted = if scheme.covers_body() { 3 } else { 2 };
        assert_eq!(rx.calls.load(Ordering::SeqCst), accepted, "{preset}");
        let timestamped = if scheme.has_timestamp() { "pass" } else { "skip" };
        for check in ["stale-timestamp", "future-timestamp"] {
            assert_eq!(rows[check].result, timestamped, "{preset} {check}: {:?}", rows[check]);
        }
        for check in ["empty-signature", "truncated-signature", "malformed-signature"] {
            assert_eq!(rows[check].result, "pass", "{preset} {check}: {:?}", rows[check]);
        }
        let reformatted = if scheme.covers_body() { "pass" } else { "skip" };
        assert_eq!(rows["valid-reformatted"].result, reformatted, "{preset}");
    }
}

/// Ed25519 (Discord, Standard Webhooks `v1a`): the receiver holds the public key, the
/// probe signs with `--signing-key-env`. The library passes every check but timing,
/// which does not apply; a receiver that never verifies fails the checks that prove it.
#[test]
fn ed25519_receivers_are_probed_with_the_signing_key() {
    for scheme in [Scheme::discord(), Scheme::standard_webhooks()] {
        let preset = scheme.name().to_owned();
        let pair = hooksig::KeyPair::generate(&scheme).unwrap();
        let verifier = Verifier::builder(scheme.clone()).public_key(pair.public_key()).build().unwrap();
        let rx = tower_receiver_for(verifier, false);
        let mut args = vec!["probe", &rx.url, "--scheme", &preset, "--signing-key-env", "S", "--json"];
        args.extend(["--timeout", "5s", "--timing", "10"]);
        let out = hooksig(&args, pair.signing_key());
        let rows = parse_json(&out);
        assert_only_failures(&out, &rows, &[]);
        for check in CHECKS.iter().filter(|c| !["timing", "wrong-method", "replay"].contains(c)) {
            assert_eq!(rows[*check].result, "pass", "{preset} {check}: {:?}", rows[*check]);
        }
        assert_eq!(rows["wrong-secret"].status, Some(401), "{preset}");
        assert!(rows["wrong-secret"].detail.contains("another key"), "{:?}", rows["wrong-secret"]);
        assert_eq!(rows["timing"].result, "skip");
        assert!(rows["timing"].detail.contains("Ed25519"), "{:?}", rows["timing"]);
        assert_eq!(rx.calls.load(Ordering::SeqCst), 3, "{preset}: valid, valid-reformatted, replay");

        // No verification at all behind the same URL shape.
        let open = serve(axum::Router::new().route("/hook", post(|| async { "ok" })));
        let mut args = vec!["probe", &open.url, "--scheme", &preset, "--signing-key-env", "S", "--json"];
        args.extend(["--timeout", "5s", "--only", "valid,tampered-body,wrong-secret,missing-signature"]);
        let out = hooksig(&args, pair.signing_key());
        let rows = parse_json(&out);
        out.assert_code(1);
        assert_eq!(rows["valid"].result, "pass");
        for check in ["tampered-body", "wrong-secret", "missing-signature"] {
            assert_eq!(rows[check].result, "fail", "{preset} {check}: {:?}", rows[check]);
        }
        assert!(rows["wrong-secret"].detail.contains("another key: the signature is not verified"));
    }
}

#[test]
fn the_actix_middleware_passes_every_check() {
    for preset in ["tale", "github", "stripe", "standard_webhooks"] {
        let scheme = Scheme::preset(preset).unwrap();
        let rx = actix_receiver(scheme, dashboard_secret(preset), false);
        let (out, rows) = probe(&rx.url, preset, dashboard_secret(preset), &[]);
        assert_only_failures(&out, &rows, &[]);
        assert_eq!(rows["valid"].result, "pass");
        assert_eq!(rows["valid-reformatted"].result, "pass");
        assert_eq!(rows["replay"].status, Some(200));
        assert_eq!(rx.calls.load(Ordering::SeqCst), 3, "{preset}");
    }
}

#[test]
fn with_replay_protection_every_check_still_passes_and_the_replay_is_refused_or_deduplicated() {
    for preset in ["github", "stripe", "standard_webhooks"] {
        let secret = dashboard_secret(preset);
        let scheme = Scheme::preset(preset).unwrap();
        let tower = tower_receiver(scheme.clone(), secret, true);
        let actix = actix_receiver(scheme, secret, true);
        // The tower receiver twice: a second run against the same store must not
        // collide with the first.
        for (url, calls) in
            [(&tower.url, &tower.calls), (&tower.url, &tower.calls), (&actix.url, &actix.calls)]
        {
            let before = calls.load(Ordering::SeqCst);
            let (out, rows) = probe(url, preset, secret, &[]);
            assert_only_failures(&out, &rows, &[]);
            assert_eq!(rows["valid"].status, Some(200), "{preset}");
            assert_eq!(rows["valid-reformatted"].status, Some(200), "{preset}");
            // The guard answers a completed delivery's copy 200 without running the
            // handler again: only `valid` and `valid-reformatted` reached it.
            assert_eq!(rows["replay"].result, "info");
            assert!(rows["replay"].detail.contains("accepted again"), "{:?}", rows["replay"]);
            assert_eq!(calls.load(Ordering::SeqCst) - before, 2, "{preset}");
        }
    }
}

#[test]
fn a_user_body_is_used_as_given_and_reformatted_when_json() {
    let rx = tower_receiver(Scheme::github(), RAW_SECRET, true);
    let dir = std::env::temp_dir().join(format!("hooksig-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("push.json");
    std::fs::write(&json, br#"{"ref":"refs/heads/main","commits":[{"id":"abc"}]}"#).unwrap();
    let (out, rows) = probe(
        &rx.url,
        "github",
        RAW_SECRET,
        &["--body", json.to_str().unwrap(), "-H", "X-GitHub-Event: push"],
    );
    assert_only_failures(&out, &rows, &[]);
    assert_eq!(rows["valid-reformatted"].result, "pass");
    // Not JSON: nothing to reformat.
    let (out, rows) = probe(&rx.url, "github", RAW_SECRET, &["--data", "payload=hello"]);
    assert_only_failures(&out, &rows, &[]);
    assert_eq!(rows["valid-reformatted"].result, "skip");
    assert_eq!(rows["valid-reformatted"].detail, "the body is not JSON");
}

// ---------------------------------------------------------------------------------
// Receivers with one flaw each

/// The one flaw a hand-written receiver has.
#[derive(Clone, Copy, Debug)]
enum Flaw {
    /// No signature header: processed anyway.
    MissingAccepted,
    /// Compares only as many hex digits as the candidate has.
    PrefixOnly,
    /// Verifies `serde_json::to_vec(serde_json::from_slice(body))`.
    Reserialized,
    /// Stripe-style; rejects timestamps too far ahead, accepts any old one.
    OldTimestampsAccepted,
    /// Stripe-style; no timestamp check at all.
    NoTimestampCheck,
    /// Panics on a signature of the right length with non-hex characters.
    PanicOnNonHex,
    /// Answers 500 on a signature of the right length with non-hex characters.
    Error500OnNonHex,
    /// Reads a body of any size and answers 200 to it.
    Unbounded,
    /// Compares the decoded tag byte by byte, stopping at the first difference, and
    /// (to be measurable over a busy loopback) takes 1 ms per equal byte.
    VariableTime,
}

struct Flawed {
    flaw: Flaw,
    secret: &'static str,
}

/// HMAC-SHA256 in lower-case hex (the library's one-liner, prefix removed).
fn hmac_hex(secret: &str, message: &[u8]) -> String {
    hooksig::sign(secret.as_bytes(), message).unwrap().to_string().strip_prefix("sha256=").unwrap().to_owned()
}

/// `sha256=<hex>` over the body, verified by hand with one flaw at most.
fn github_style(flaw: Flaw, secret: &str, headers: &HeaderMap, body: &[u8]) -> StatusCode {
    let Some(value) = headers.get("x-hub-signature-256") else {
        return if matches!(flaw, Flaw::MissingAccepted) { StatusCode::OK } else { StatusCode::UNAUTHORIZED };
    };
    let Ok(value) = value.to_str() else { return StatusCode::BAD_REQUEST };
    let Some(candidate) = value.strip_prefix("sha256=") else { return StatusCode::BAD_REQUEST };
    let reserialized;
    let body = if matches!(flaw, Flaw::Reserialized) {
        let Ok(json) = serde_json::from_slice::<Value>(body) else { return StatusCode::BAD_REQUEST };
        reserialized = serde_json::to_vec(&json).unwrap();
        &reserialized[..]
    } else {
        body
    };
    let expected = hmac_hex(secret, body);
    if matches!(flaw, Flaw::PrefixOnly) {
        // The flaw: a shorter candidate is compared with the start of the expected tag.
        let n = candidate.len();
        return if n <= expected.len() && expected.as_bytes()[..n] == *candidate.as_bytes() {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
    }
    if candidate.len() != 64 {
        return StatusCode::BAD_REQUEST;
    }
    let mut decoded = Vec::new();
    for pair in candidate.as_bytes().chunks(2) {
        let pair = std::str::from_utf8(pair).unwrap_or("zz");
        match u8::from_str_radix(pair, 16) {
            Ok(byte) => decoded.push(byte),
            Err(_) if matches!(flaw, Flaw::PanicOnNonHex) => panic!("not hex: {pair}"),
            Err(_) if matches!(flaw, Flaw::Error500OnNonHex) => return StatusCode::INTERNAL_SERVER_ERROR,
            Err(_) => return StatusCode::BAD_REQUEST,
        }
    }
    let expected: Vec<u8> = expected
        .as_bytes()
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect();
    if decoded == expected { StatusCode::OK } else { StatusCode::UNAUTHORIZED }
}

/// How many leading bytes of the candidate tag are right, for [`Flaw::VariableTime`].
fn equal_prefix(secret: &str, headers: &HeaderMap, body: &[u8]) -> usize {
    let expected = hmac_hex(secret, body);
    let candidate = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let candidate = candidate.strip_prefix("sha256=").unwrap_or_default();
    expected.as_bytes().chunks(2).zip(candidate.as_bytes().chunks(2)).take_while(|(a, b)| a == b).count()
}

/// `Stripe-Signature: t=<ts>,v1=<hex>` over `{t}.{body}`, with the timestamp flaw.
fn stripe_style(flaw: Flaw, secret: &str, headers: &HeaderMap, body: &[u8]) -> StatusCode {
    let Some(value) = headers.get("stripe-signature") else { return StatusCode::UNAUTHORIZED };
    let Ok(value) = value.to_str() else { return StatusCode::BAD_REQUEST };
    let mut t = None;
    let mut v1 = Vec::new();
    for pair in value.split(',') {
        match pair.split_once('=') {
            Some(("t", ts)) => t = ts.parse::<u64>().ok(),
            Some(("v1", sig)) => v1.push(sig),
            _ => {}
        }
    }
    let Some(t) = t else { return StatusCode::BAD_REQUEST };
    if v1.is_empty() || v1.iter().any(|s| s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit())) {
        return StatusCode::BAD_REQUEST;
    }
    let now = now();
    let too_new = t > now + 300;
    let too_old = t + 300 < now;
    match flaw {
        Flaw::OldTimestampsAccepted if too_new => return StatusCode::BAD_REQUEST,
        Flaw::OldTimestampsAccepted | Flaw::NoTimestampCheck => {}
        _ if too_new || too_old => return StatusCode::BAD_REQUEST,
        _ => {}
    }
    let mut message = format!("{t}.").into_bytes();
    message.extend_from_slice(body);
    let expected = hmac_hex(secret, &message);
    if v1.iter().any(|s| s.eq_ignore_ascii_case(&expected)) {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    }
}

async fn flawed_hook(State(rx): State<Arc<Flawed>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if matches!(rx.flaw, Flaw::VariableTime) {
        let equal = equal_prefix(rx.secret, &headers, &body) as u64;
        tokio::time::sleep(Duration::from_millis(equal)).await;
    }
    match rx.flaw {
        Flaw::OldTimestampsAccepted | Flaw::NoTimestampCheck => {
            stripe_style(rx.flaw, rx.secret, &headers, &body)
        }
        _ => github_style(rx.flaw, rx.secret, &headers, &body),
    }
}

fn flawed_receiver(flaw: Flaw) -> (Server, &'static str) {
    let (preset, secret) = match flaw {
        Flaw::OldTimestampsAccepted | Flaw::NoTimestampCheck => ("stripe", STRIPE_SECRET),
        _ => ("github", RAW_SECRET),
    };
    let mut app =
        axum::Router::new().route("/hook", post(flawed_hook)).with_state(Arc::new(Flawed { flaw, secret }));
    // Everywhere else axum's 2 MB default limit on `Bytes` holds.
    if matches!(flaw, Flaw::Unbounded) {
        app = app.layer(DefaultBodyLimit::disable());
    }
    (serve(app), preset)
}

/// Probes a receiver with `flaw` and asserts that exactly the `failing` checks failed,
/// each with `words` in its detail, and that the exit code and error line say so.
fn assert_flaw_found(flaw: Flaw, failing: &[&str], words: &str, extra: &[&str]) -> BTreeMap<String, Row> {
    let (rx, preset) = flawed_receiver(flaw);
    let (out, rows) = probe(&rx.url, preset, dashboard_secret(preset), extra);
    assert_only_failures(&out, &rows, failing);
    for check in failing {
        let row = &rows[*check];
        assert!(row.detail.contains(words), "{flaw:?} {check}: {row:?}");
    }
    assert_eq!(rows["valid"].result, "pass", "{flaw:?}");
    assert_eq!(
        out.stderr.lines().nth(1).unwrap(),
        format!("error: {} failed: {}", checks(failing.len()), failing.join(", "))
    );
    rows
}

#[test]
fn flaw_missing_signature_accepted() {
    let rows = assert_flaw_found(
        Flaw::MissingAccepted,
        &["missing-signature"],
        "a missing signature is treated as a pass",
        &[],
    );
    assert_eq!(rows["missing-signature"].status, Some(200));
}

#[test]
fn flaw_prefix_only_comparison() {
    let rows = assert_flaw_found(
        Flaw::PrefixOnly,
        &["empty-signature", "truncated-signature"],
        "CVE-2024-21491",
        &[],
    );
    let empty = &rows["empty-signature"];
    assert!(empty.detail.contains("`sha256=` alone"), "{empty:?}");
    assert!(rows["truncated-signature"].detail.contains("the first half of a valid tag"));
}

#[test]
fn flaw_reserialized_body() {
    let rows = assert_flaw_found(Flaw::Reserialized, &["valid-reformatted"], "re-serialized body", &[]);
    assert_eq!(rows["valid-reformatted"].status, Some(401));
    assert!(rows["valid-reformatted"].detail.contains("while `valid` was"));
}

#[test]
fn flaw_old_timestamps_accepted() {
    assert_flaw_found(Flaw::OldTimestampsAccepted, &["stale-timestamp"], "the timestamp is not checked", &[]);
}

#[test]
fn flaw_no_timestamp_check_at_all() {
    assert_flaw_found(
        Flaw::NoTimestampCheck,
        &["stale-timestamp", "future-timestamp"],
        "validly signed 1 h",
        &[],
    );
}

#[test]
fn flaw_crash_on_a_malformed_header() {
    let rows = assert_flaw_found(Flaw::PanicOnNonHex, &["malformed-signature"], "CVE-2023-50728", &[]);
    let row = &rows["malformed-signature"];
    assert_eq!(row.status, None, "the connection dropped");
    assert!(row.detail.starts_with("non-hex characters of the right length: "), "{row:?}");
    let rows = assert_flaw_found(Flaw::Error500OnNonHex, &["malformed-signature"], "CVE-2023-50728", &[]);
    assert_eq!(rows["malformed-signature"].status, Some(500));
}

#[test]
fn flaw_unbounded_body() {
    let rows = assert_flaw_found(Flaw::Unbounded, &["oversized-body"], "without a size limit", &[]);
    assert_eq!(rows["oversized-body"].status, Some(200));
}

#[test]
fn flaw_variable_time_comparison() {
    let rows = assert_flaw_found(
        Flaw::VariableTime,
        &["timing"],
        "CVE-2022-36885, CVE-2022-24912",
        &["--timing", "12"],
    );
    assert!(rows["timing"].detail.contains("wrong in its first byte is answered measurably faster"));
}

fn checks(n: usize) -> String {
    if n == 1 { "1 check".to_owned() } else { format!("{n} checks") }
}

#[test]
fn an_empty_secret_on_the_receiver_fails_wrong_secret() {
    // A receiver whose secret variable was unset: HMAC with an empty key (the
    // library refuses that, so the receiver here computes it through the equivalent
    // one-zero-byte key).
    let verifier = Verifier::new(Scheme::github(), "\0").unwrap();
    let rx = serve(
        axum::Router::new()
            .route("/hook", post(|| async { "ok" }))
            .route_layer(hooksig::tower::VerifyLayer::new(verifier)),
    );
    // The probe is given the real secret; the receiver only knows the empty one.
    let (out, rows) = probe(&rx.url, "github", RAW_SECRET, &[]);
    out.assert_code(1);
    assert_eq!(rows["valid"].result, "fail");
    assert_eq!(rows["wrong-secret"].result, "fail");
    assert!(rows["wrong-secret"].detail.contains("GHSA-xff3-5c9p-2mr4"), "{:?}", rows["wrong-secret"]);
    assert!(rows["wrong-secret"].detail.contains("empty secret"));
}

// ---------------------------------------------------------------------------------
// Output, options, exit codes

#[test]
fn the_table_names_every_check_and_the_totals() {
    let rx = tower_receiver(Scheme::github(), RAW_SECRET, false);
    let out = hooksig(&["probe", &rx.url, "-s", "github", "--secret-env", "S"], RAW_SECRET);
    out.assert_code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], format!("hooksig probe {} (github)", rx.url));
    assert_eq!(lines[1], "");
    assert!(lines[2].starts_with("CHECK  ") && lines[2].ends_with("RESULT  STATUS  DETAIL"), "{}", lines[2]);
    let column = lines[2].find("RESULT").unwrap();
    for (line, check) in lines[3..].iter().zip(CHECKS) {
        assert!(line.starts_with(check), "{line}");
        let result = &line[column..column + 6];
        assert!(["pass  ", "info  ", "skip  "].contains(&result), "{line}");
    }
    assert!(lines.contains(&"14 checks: 9 pass, 0 fail, 2 info, 3 skip"), "{}", out.stdout);
    let totals = lines.last().unwrap();
    let words: Vec<&str> = totals.split(' ').collect();
    assert_eq!(words.len(), 6, "{totals}");
    let requests: u32 = words[0].parse().unwrap();
    let bytes: u64 = words[2].parse().unwrap();
    assert_eq!((words[1], words[3], words[5]), ("requests,", "bytes,", "s"));
    assert!((15..=30).contains(&requests), "{totals}");
    assert!(bytes > 30 * 1024 * 1024 && bytes < 31 * 1024 * 1024, "{totals}");
    assert_eq!(out.stderr, "");
}

#[test]
fn only_runs_the_named_checks_and_replay_sends_its_original_first() {
    let rx = tower_receiver(Scheme::standard_webhooks(), WHSEC, true);
    let (out, rows) = probe(&rx.url, "standard_webhooks", WHSEC, &["--only", "replay,missing-signature"]);
    out.assert_code(0);
    assert_eq!(rows.keys().collect::<Vec<_>>(), ["missing-signature", "replay"]);
    assert!(rows["replay"].detail.contains("(the original got 200)"), "{:?}", rows["replay"]);
    assert!(out.stderr.starts_with("3 requests, "), "{}", out.stderr);
    // timing without --timing is skipped, and says how to run it.
    let (out, rows) = probe(&rx.url, "standard_webhooks", WHSEC, &["--only", "timing"]);
    out.assert_code(0);
    assert_eq!(rows["timing"].result, "skip");
    assert!(rows["timing"].detail.contains("--timing N"));
}

#[test]
fn timing_against_the_constant_time_library_is_info() {
    let rx = tower_receiver(Scheme::github(), RAW_SECRET, false);
    let (out, rows) = probe(&rx.url, "github", RAW_SECRET, &["--only", "timing", "--timing", "40"]);
    out.assert_code(0);
    let row = &rows["timing"];
    assert_eq!(row.result, "info", "{row:?}");
    assert_eq!(row.status, Some(401));
    assert!(row.detail.contains("t = ") && row.detail.contains("over 40+40 and 40+40 answers"), "{row:?}");
    // Two warm-up requests and 2 x 40 measured per round.
    assert!(out.stderr.starts_with("164 requests, "), "{}", out.stderr);
}

#[test]
fn an_unreachable_receiver_ends_the_probe_at_once_with_exit_1() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let out = hooksig(&["probe", &url, "-s", "github", "--secret-env", "S", "--json"], RAW_SECRET);
    out.assert_code(1);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.starts_with(&format!("error: cannot reach {url}: ")), "{}", out.stderr);
    assert!(out.stderr.contains("hint: is the receiver running"), "{}", out.stderr);
}

#[test]
fn usage_errors_exit_2_before_anything_is_sent() {
    // A listener that counts connections: none may arrive.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let dir = std::env::temp_dir().join(format!("hooksig-probe-usage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("big.json");
    std::fs::write(&big, vec![b' '; 1024 * 1024 + 1]).unwrap();
    let https = url.replace("http://", "https://");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--only", "valid,nonsense"], "invalid value 'nonsense'"),
        (vec!["--timeout", "0s"], "--timeout"),
        (vec!["--timeout", "1h"], "unknown unit"),
        (vec!["--timing", "3"], "--timing"),
        (vec!["-H", "X-Hub-Signature-256: sha256=00"], "the probe writes this header itself"),
        (vec!["-H", "Content-Length: 3"], "the probe writes this header itself"),
        (vec!["-H", "no colon"], "bad header"),
        (vec!["--body", big.to_str().unwrap()], "at most 1 MiB"),
        (vec!["--body", "/nonexistent/body.json"], "cannot read body file"),
        (vec!["--body", "a", "--data", "b"], "cannot be used with"),
    ];
    for (extra, message) in cases {
        let mut args = vec!["probe", url.as_str(), "-s", "github", "--secret-env", "S"];
        args.extend(extra.iter().copied());
        let out = hooksig(&args, RAW_SECRET);
        out.assert_code(2);
        assert!(out.stderr.contains(message), "{extra:?}: {}", out.stderr);
        assert_eq!(out.stdout, "");
    }
    for args in [
        vec!["probe", url.as_str(), "-s", "github"],
        vec!["probe", url.as_str(), "-s", "nope", "--secret-env", "S"],
        vec!["probe", "ftp://127.0.0.1/hook", "-s", "github", "--secret-env", "S"],
        vec!["probe", https.as_str(), "-s", "github", "--secret-env", "S", "--cacert", "/nonexistent.pem"],
        vec!["probe", url.as_str(), "-s", "standard-webhooks", "--secret-env", "S"],
    ] {
        let out = hooksig(&args, RAW_SECRET);
        out.assert_code(2);
        assert_eq!(out.stdout, "", "{args:?}");
    }
    assert!(listener.accept().is_err(), "a usage error must not connect");
}

#[test]
fn probe_is_listed_in_the_help() {
    let out = hooksig(&["--help"], RAW_SECRET);
    out.assert_code(0);
    assert!(out.stdout.contains("  probe "), "{}", out.stdout);
    let out = hooksig(&["probe", "--help"], RAW_SECRET);
    out.assert_code(0);
    for option in
        ["--only", "--timing", "--json", "--timeout", "--body", "--cacert", "--insecure", "--secret-env"]
    {
        assert!(out.stdout.contains(option), "{option}");
    }
    let _ = std::io::stdout().flush();
}

// ---------------------------------------------------------------------------------
// https

#[test]
fn probe_speaks_https_with_cacert_or_insecure() {
    let rx = tls_receiver(Scheme::github(), RAW_SECRET, &["127.0.0.1"], DEADLINE);
    let dir = std::env::temp_dir().join(format!("hooksig-probe-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cacert = dir.join("cert.pem");
    std::fs::write(&cacert, &rx.cert_pem).unwrap();
    let only = "valid,wrong-secret,missing-signature,truncated-signature";

    let (out, rows) =
        probe(&rx.url, "github", RAW_SECRET, &["--cacert", cacert.to_str().unwrap(), "--only", only]);
    out.assert_code(0);
    assert_eq!(rows.len(), 4);
    assert!(rows.values().all(|r| r.result == "pass"), "{rows:#?}");
    assert_eq!(rows["valid"].status, Some(200));
    assert_eq!(rows["missing-signature"].status, Some(401));

    let (out, rows) = probe(&rx.url, "github", RAW_SECRET, &["--insecure", "--only", only]);
    out.assert_code(0);
    assert!(rows.values().all(|r| r.result == "pass"), "{rows:#?}");
    assert!(out.stderr.starts_with("warning: --insecure"), "{}", out.stderr);

    // Without either, the self-signed certificate is refused before any check runs.
    let out = hooksig(&["probe", &rx.url, "-s", "github", "--secret-env", "S", "--only", only], RAW_SECRET);
    out.assert_code(1);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("certificate was refused"), "{}", out.stderr);
}
