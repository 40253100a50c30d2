//! The `hooksig` command-line tool, run as a user would: the built binary, its exit
//! codes and its exact output lines. `sign` output is checked by the independent
//! Python reference verifier (the library's tests/interop/reference.py) for every
//! preset; `send` talks to an axum receiver on 127.0.0.1 started inside the test, and
//! over https to a rustls receiver on 127.0.0.1 whose self-signed certificate the test
//! makes.

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

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64ct::{Base64, Encoding as _};
use hooksig::{Scheme, Verifier};
use serde_json::{Value, json};
use support::{
    BIN, Out, RAW_SECRET, STRIPE_SECRET, TlsReceiver, WHSEC, dashboard_secret, run_bounded, tls_receiver,
};

/// Every run of the binary must finish within this.
const DEADLINE: Duration = Duration::from_secs(60);

const T0: u64 = 1_700_000_000;

// ---------------------------------------------------------------------------------
// Running the binary

struct Run {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Vec<u8>,
}

fn hooksig(args: &[&str]) -> Run {
    Run { args: args.iter().map(|s| s.to_string()).collect(), env: Vec::new(), stdin: Vec::new() }
}

impl Run {
    fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    fn stdin(mut self, bytes: &[u8]) -> Self {
        self.stdin = bytes.to_vec();
        self
    }

    fn run(self) -> Out {
        let mut command = Command::new(BIN);
        // The https tests choose the system roots themselves (SSL_CERT_FILE).
        command
            .args(&self.args)
            .env_remove("HOOKSIG_SCHEME")
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR");
        for (k, v) in &self.env {
            command.env(k, v);
        }
        run_bounded(command, &self.stdin, DEADLINE)
    }
}

fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hooksig-cli-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `Name: value` lines of `sign` output.
fn parse_headers(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .map(|l| {
            let (name, value) = l.split_once(": ").unwrap_or_else(|| panic!("not a header line: {l:?}"));
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

/// Signs with the CLI (env secret) and returns its header lines.
fn sign_lines(preset: &str, secret: &str, body: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["sign", "--scheme", preset, "--secret-env", "HOOK_SECRET", "--data", body];
    args.extend_from_slice(extra);
    let out = hooksig(&args).env("HOOK_SECRET", secret).run();
    out.assert_code(0);
    out.stdout.lines().map(str::to_owned).collect()
}

/// `verify` with the headers as -H options and the body on --data.
fn verify(preset: &str, secret: &str, headers: &[String], body: &str, extra: &[&str]) -> Out {
    let mut args: Vec<&str> = vec!["verify", "--scheme", preset, "--secret-env", "HOOK_SECRET"];
    for h in headers {
        args.extend(["-H", h.as_str()]);
    }
    args.extend(["--data", body]);
    args.extend_from_slice(extra);
    hooksig(&args).env("HOOK_SECRET", secret).run()
}

// ---------------------------------------------------------------------------------
// The Python reference verifier

fn reference_verify(cases: &[Value]) -> Vec<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/interop/reference.py");
    let mut command = Command::new("python3");
    command.arg(script).arg("verify");
    if Command::new("python3").arg("--version").output().is_err() {
        panic!("python3 is required by cli/tests/cli.rs (the reference verifier) but was not found on PATH");
    }
    let out = run_bounded(command, &serde_json::to_vec(cases).unwrap(), DEADLINE);
    assert_eq!(out.code, 0, "reference.py verify failed: {}", out.stderr);
    let results: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(results.len(), cases.len());
    results
}

fn case(preset: &str, secrets: &[&str], headers: &[(String, String)], body: &[u8], now: u64) -> Value {
    json!({
        "scheme": preset,
        "secrets": secrets,
        "headers": headers.iter().map(|(n, v)| [n, v]).collect::<Vec<_>>(),
        "body_b64": Base64::encode_string(body),
        "now": now,
    })
}

#[test]
fn sign_output_for_every_preset_is_verified_by_the_python_reference() {
    let dir = temp_dir("reference");
    // Not UTF-8, NUL bytes, CR LF and a trailing newline: all must survive --file.
    let mut binary: Vec<u8> = (0u8..=255).collect();
    binary.extend_from_slice(b"\r\n{\"a\":1}\n");
    let path = dir.join("body.bin");
    std::fs::write(&path, &binary).unwrap();
    let path = path.to_str().unwrap().to_owned();
    let json_body = r#"{"event":"ping","n":1}"#;

    let mut cases = Vec::new();
    let mut expect = Vec::new();
    for scheme in Scheme::presets() {
        let preset = scheme.name();
        let secret = dashboard_secret(preset);
        let ts = T0.to_string();
        let mut base = vec!["sign", "--scheme", preset, "--secret-env", "HOOK_SECRET"];
        if scheme.has_timestamp() {
            base.extend(["--timestamp", ts.as_str()]);
        }

        // Body from a file, byte for byte, with a given id.
        let mut args = base.to_vec();
        args.extend(["--file", path.as_str()]);
        if scheme.id_header().is_some() {
            args.extend(["--id", "evt_42"]);
        }
        let out = hooksig(&args).env("HOOK_SECRET", secret).run();
        out.assert_code(0);
        assert_eq!(out.stderr, "", "{preset}: no warning expected");
        let headers = parse_headers(&out.stdout);
        assert_eq!(
            headers.len(),
            1 + usize::from(scheme.has_timestamp() && scheme.timestamp_header().is_some())
                + usize::from(scheme.id_header().is_some()),
            "{preset}: {headers:?}"
        );
        if let Some(id) = scheme.id_header() {
            assert!(headers.contains(&(id.to_string(), "evt_42".to_owned())), "{preset}: {headers:?}");
        }
        cases.push(case(preset, &[secret], &headers, &binary, T0 + 5));
        expect.push((preset.to_owned(), true));
        // The same headers over a body one byte shorter: the oracle must refuse it.
        cases.push(case(preset, &[secret], &headers, binary.get(1..).unwrap(), T0 + 5));
        expect.push((preset.to_owned(), !scheme.covers_body()));

        // Body from stdin, generated id.
        let out = hooksig(&base).env("HOOK_SECRET", secret).stdin(json_body.as_bytes()).run();
        out.assert_code(0);
        let headers = parse_headers(&out.stdout);
        cases.push(case(preset, &[secret], &headers, json_body.as_bytes(), T0));
        expect.push((preset.to_owned(), true));

        // Body from --data.
        let mut args = base.to_vec();
        args.extend(["--data", json_body]);
        let out = hooksig(&args).env("HOOK_SECRET", secret).run();
        out.assert_code(0);
        cases.push(case(preset, &[secret], &parse_headers(&out.stdout), json_body.as_bytes(), T0));
        expect.push((preset.to_owned(), true));
    }

    // Rotation: two secrets give two signatures where the scheme carries several.
    let two = ["sign", "--scheme", "svix", "--secret-env", "OLD", "--secret-env", "NEW", "--data", "{}"];
    let ts = T0.to_string();
    let mut args = two.to_vec();
    args.extend(["--timestamp", ts.as_str()]);
    let new_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let out = hooksig(&args).env("OLD", WHSEC).env("NEW", new_secret).run();
    out.assert_code(0);
    let headers = parse_headers(&out.stdout);
    assert_eq!(headers.iter().find(|(n, _)| n == "svix-signature").unwrap().1.split(' ').count(), 2);
    cases.push(case("svix", &[new_secret], &headers, b"{}", T0));
    expect.push(("svix".to_owned(), true));

    let results = reference_verify(&cases);
    for ((preset, ok), result) in expect.iter().zip(&results) {
        assert_eq!(result["ok"], json!(ok), "{preset}: {result}");
        if *ok {
            assert_eq!(result["key_index"], json!(0), "{preset}: {result}");
        } else {
            assert_eq!(result["error"], json!("mismatch"), "{preset}: {result}");
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

// ---------------------------------------------------------------------------------
// sign

#[test]
fn sign_prints_exact_headers_for_published_vectors() {
    // GitHub's documented example.
    let out =
        hooksig(&["sign", "-s", "github", "--secret-env", "S", "--data", "Hello, World!", "--id", "d-1"])
            .env("S", RAW_SECRET)
            .run();
    out.assert_code(0);
    assert_eq!(
        out.lines(),
        [
            "x-github-delivery: d-1",
            "x-hub-signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        ]
    );
    assert_eq!(out.stderr, "");

    // The Standard Webhooks specification's example, via the dashed preset name.
    let out = hooksig(&[
        "sign",
        "--scheme",
        "standard-webhooks",
        "--secret-env",
        "S",
        "--id",
        "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
        "--timestamp",
        "1649367553",
        "--data",
        r#"{"email":"test@example.com","username":"test_user"}"#,
    ])
    .env("S", WHSEC)
    .run();
    out.assert_code(0);
    assert_eq!(
        out.lines(),
        [
            "webhook-id: msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            "webhook-timestamp: 1649367553",
            "webhook-signature: v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
        ]
    );

    // A generated id carries the scheme's prefix.
    let lines = sign_lines("svix", WHSEC, "{}", &[]);
    assert!(lines.first().unwrap().starts_with("svix-id: msg_"), "{lines:?}");
}

#[test]
fn sign_warns_about_options_the_scheme_ignores() {
    let out =
        hooksig(&["sign", "-s", "tale", "--secret-env", "S", "--data", "x", "--id", "a", "--timestamp", "5"])
            .env("S", RAW_SECRET)
            .run();
    out.assert_code(0);
    assert_eq!(out.lines().len(), 1);
    assert_eq!(
        out.stderr,
        "warning: tale has no delivery id header; --id is ignored\nwarning: tale has no timestamp; --timestamp is ignored\n"
    );
}

#[test]
fn sign_curl_is_a_correctly_quoted_shell_command() {
    let body = "{\n  \"msg\": \"it's $HOME `id` \\\\ ok\"\n}";
    let url = "http://127.0.0.1:3000/hook?who=o'brien";
    let out =
        hooksig(&["sign", "-s", "github", "--secret-env", "S", "--id", "d-1", "--data", body, "--curl", url])
            .env("S", RAW_SECRET)
            .run();
    out.assert_code(0);
    let signature = sign_lines("github", RAW_SECRET, body, &["--id", "d-1"]).pop().unwrap();
    let expected = format!(
        "curl -sS -i 'http://127.0.0.1:3000/hook?who=o'\\''brien' \\\n  -H 'x-github-delivery: d-1' \\\n  -H '{signature}' \\\n  -H 'Content-Type: application/json' \\\n  --data-binary '{{\n  \"msg\": \"it'\\''s $HOME `id` \\\\ ok\"\n}}'\n"
    );
    assert_eq!(out.stdout, expected);

    // What a shell makes of it: a `curl` function prints the arguments it receives.
    let script = format!("curl() {{ for a in \"$@\"; do printf '%s\\0' \"$a\"; done; }}\n{}", out.stdout);
    let mut bash = Command::new("bash");
    bash.arg("-c").arg(script);
    let argv = run_bounded(bash, b"", DEADLINE);
    argv.assert_code(0);
    let argv: Vec<&str> = argv.stdout.split_terminator('\0').collect();
    assert_eq!(
        argv,
        [
            "-sS",
            "-i",
            url,
            "-H",
            "x-github-delivery: d-1",
            "-H",
            signature.as_str(),
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            body
        ]
    );
}

#[test]
fn sign_curl_sends_files_with_data_binary_at_path() {
    let dir = temp_dir("curl-file");
    let path = dir.join("payload.bin");
    std::fs::write(&path, [0u8, 159, 146, 150, b'\n']).unwrap();
    let path = path.to_str().unwrap();
    let out =
        hooksig(&["sign", "-s", "tale", "--secret-env", "S", "--file", path, "--curl", "http://localhost/"])
            .env("S", RAW_SECRET)
            .run();
    out.assert_code(0);
    let lines = out.lines();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines.first(), Some(&"curl -sS -i 'http://localhost/' \\"));
    assert!(lines.get(1).unwrap().starts_with("  -H 'x-tale-signature: sha256="));
    assert_eq!(lines.get(2), Some(&"  -H 'Content-Type: application/octet-stream' \\"));
    assert_eq!(lines.get(3).copied(), Some(format!("  --data-binary '@{path}'").as_str()));

    // Text that is not JSON gets no Content-Type (curl's form default); text starting
    // with `@` is sent literally.
    let out = hooksig(&[
        "sign",
        "-s",
        "tale",
        "--secret-env",
        "S",
        "--data",
        "@etc",
        "--curl",
        "http://localhost/",
    ])
    .env("S", RAW_SECRET)
    .run();
    out.assert_code(0);
    assert_eq!(out.lines().len(), 3);
    assert_eq!(out.lines().last(), Some(&"  --data-raw '@etc'"));

    // Binary from stdin cannot be pasted: exit 2 with a hint.
    let out = hooksig(&["sign", "-s", "tale", "--secret-env", "S", "--curl", "http://localhost/"])
        .env("S", RAW_SECRET)
        .stdin(&[b'a', 0, b'b'])
        .run();
    out.assert_code(2);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.starts_with("error: this body cannot be pasted safely into a shell"),
        "{}",
        out.stderr
    );
    assert!(out.has_hint("pass --file PATH"));
    std::fs::remove_dir_all(dir).unwrap();
}

// ---------------------------------------------------------------------------------
// Secrets

#[test]
fn secret_on_the_command_line_warns_and_no_secret_is_ever_printed() {
    let secret = "sup3r-s3cret-value";
    let out = hooksig(&["sign", "-s", "stripe", "--secret", secret, "--data", "{}"]).run();
    out.assert_code(0);
    assert_eq!(
        out.stderr,
        "warning: --secret puts the secret in your shell history and the process list; prefer --secret-env VAR or --secret-file PATH\n"
    );
    let from_env =
        hooksig(&["sign", "-s", "tale", "--secret-env", "S", "--data", "{}"]).env("S", secret).run();
    from_env.assert_code(0);
    assert_eq!(from_env.stderr, "");
    let headers = vec![from_env.stdout.trim_end().to_owned()];

    // Failures with every hint machinery engaged still never show the secret.
    for (preset, body, secret_given) in
        [("tale", "{} ", secret), ("tale", "{}", " sup3r-s3cret-value "), ("svix", "{}", secret)]
    {
        let out = verify(preset, secret_given, &headers, body, &[]);
        assert_ne!(out.code, 0);
        for text in [&out.stdout, &out.stderr] {
            assert!(!text.contains("sup3r"), "secret printed: {text}");
        }
    }
}

#[test]
fn secret_file_loses_exactly_one_trailing_newline() {
    let dir = temp_dir("secret-file");
    let reference = sign_lines("tale", "s3cret", "x", &[]);
    for (contents, same) in
        [("s3cret\n", true), ("s3cret\r\n", true), ("s3cret", true), ("s3cret\n\n", false)]
    {
        let path = dir.join("secret");
        std::fs::write(&path, contents).unwrap();
        let out =
            hooksig(&["sign", "-s", "tale", "--secret-file", path.to_str().unwrap(), "--data", "x"]).run();
        out.assert_code(0);
        assert_eq!(out.lines() == reference, same, "{contents:?}");
        // Whitespace left after the one newline is kept, with a warning.
        assert_eq!(
            out.stderr.contains("starts or ends with whitespace"),
            !same,
            "{contents:?}: {}",
            out.stderr
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn usage_errors_exit_2_with_one_line_and_a_hint() {
    let cases: Vec<(Run, &str)> = vec![
        (
            hooksig(&["sign", "-s", "nope", "--secret-env", "S", "--data", "x"]).env("S", "k"),
            "unknown scheme",
        ),
        (
            hooksig(&["sign", "-s", "tale", "--data", "x"]),
            "--secret-env <VAR>|--secret-file <PATH>|--secret <SECRET>",
        ),
        (
            hooksig(&["sign", "-s", "tale", "--secret-env", "HOOKSIG_TEST_UNSET", "--data", "x"]),
            "environment variable `HOOKSIG_TEST_UNSET` is not set",
        ),
        (
            hooksig(&["sign", "-s", "tale", "--secret-file", "/nonexistent/secret", "--data", "x"]),
            "cannot read secret file /nonexistent/secret",
        ),
        (
            hooksig(&["sign", "-s", "tale", "--secret-env", "S", "--data", "x", "--file", "y"]).env("S", "k"),
            "cannot be used with",
        ),
        (
            hooksig(&["sign", "-s", "tale", "--secret-env", "S", "--file", "/nonexistent/body"])
                .env("S", "k"),
            "cannot read body file /nonexistent/body",
        ),
        (
            hooksig(&["sign", "-s", "tale", "--secret-env", "S", "--data", "x"]).env("S", ""),
            "the secret from $S is empty",
        ),
        (
            hooksig(&["sign", "-s", "svix", "--secret-env", "S", "--data", "x"]).env("S", "whsec_!!"),
            "invalid secret: secret is not base64",
        ),
        (
            hooksig(&["verify", "-s", "tale", "--secret-env", "S", "--data", "x", "-H", "no colon"])
                .env("S", "k"),
            "bad header `no colon`: no `:`",
        ),
        (
            hooksig(&[
                "send",
                "http://127.0.0.1:9/",
                "-s",
                "tale",
                "--secret-env",
                "S",
                "--data",
                "x",
                "--repeat",
                "0",
            ])
            .env("S", "k"),
            "--repeat",
        ),
        (
            hooksig(&["send", "ftp://example.com/", "-s", "tale", "--secret-env", "S", "--data", "x"])
                .env("S", "k"),
            "expected http://host[:port]/path or https://host[:port]/path",
        ),
        (
            hooksig(&["sign", "-s", "tale", "--secret-env", "S", "--data", "x", "-H", "X-Event push"])
                .env("S", "k"),
            "bad header `X-Event push`: no `:`",
        ),
        (hooksig(&["frobnicate"]), "unrecognized subcommand"),
    ];
    for (run, expected) in cases {
        let args = run.args.join(" ");
        let out = run.run();
        out.assert_code(2);
        assert_eq!(out.stdout, "", "{args}");
        let first = out.stderr.lines().next().unwrap_or_default();
        assert!(first.starts_with("error: "), "{args}: {}", out.stderr);
        assert!(out.stderr.contains(expected), "{args}: expected {expected:?} in {}", out.stderr);
    }
    // Ours come with a hint where one helps.
    let out = hooksig(&["sign", "-s", "svix", "--secret-env", "S", "--data", "x"]).env("S", "whsec_!!").run();
    assert_eq!(
        out.hints(),
        ["hint: svix secrets are `whsec_` followed by base64, exactly as the dashboard shows them"]
    );
    let out = hooksig(&["sign", "-s", "tale", "--secret-env", "HOOKSIG_TEST_UNSET", "--data", "x"]).run();
    assert_eq!(out.hints(), ["hint: export HOOKSIG_TEST_UNSET=… first, or use --secret-file PATH"]);
}

/// Times out of range are usage errors (exit 2, one clear line), never a panic:
/// `UNIX_EPOCH + Duration::from_secs(u64::MAX)` used to abort with exit 101
/// ("overflow when adding duration to instant"), and so did ureq with a huge
/// `--timeout`.
#[test]
fn huge_times_are_usage_errors_not_panics() {
    const U64_MAX: &str = "18446744073709551615";
    const I64_MAX: &str = "9223372036854775807";
    const ABOVE_I64_MAX: &str = "9223372036854775808";
    let headers = sign_lines("slack", RAW_SECRET, "{}", &["--timestamp", "1700000000"]);
    let verify_now = |now: &str| {
        let mut args = vec!["verify", "--scheme", "slack", "--secret-env", "S"];
        for h in &headers {
            args.extend(["-H", h.as_str()]);
        }
        args.extend(["--data", "{}", "--now", now]);
        hooksig(&args).env("S", RAW_SECRET)
    };
    let sign_at = |scheme: &str, t: &str| {
        hooksig(&["sign", "--scheme", scheme, "--secret-env", "S", "--data", "{}", "--timestamp", t])
            .env("S", dashboard_secret(scheme))
    };
    let send = |extra: &[&str]| {
        let mut args = vec!["send", "http://127.0.0.1:9/", "-s", "slack", "--secret-env", "S", "--data", "x"];
        args.extend_from_slice(extra);
        hooksig(&args).env("S", RAW_SECRET)
    };
    let cases: Vec<(Run, &str)> = vec![
        // The two commands of the bug report.
        (verify_now(U64_MAX), "for '--now <UNIX>'"),
        (sign_at("slack", U64_MAX), "for '--timestamp <UNIX>'"),
        // Just past what a delivery may carry, and past u64.
        (verify_now(ABOVE_I64_MAX), "for '--now <UNIX>'"),
        (sign_at("slack", ABOVE_I64_MAX), "for '--timestamp <UNIX>'"),
        (sign_at("stripe", U64_MAX), "for '--timestamp <UNIX>'"),
        (sign_at("svix", "99999999999999999999"), "for '--timestamp <UNIX>'"),
        (send(&["--timestamp", U64_MAX]), "for '--timestamp <UNIX>'"),
        (send(&["--timeout", U64_MAX]), "for '--timeout <SECONDS>'"),
    ];
    for (run, expected) in cases {
        let args = run.args.join(" ");
        let out = run.run();
        out.assert_code(2);
        assert!(!out.stderr.contains("panicked"), "{args}: {}", out.stderr);
        assert_eq!(out.stdout, "", "{args}");
        let first = out.stderr.lines().next().unwrap_or_default();
        assert!(first.starts_with("error: invalid value"), "{args}: {}", out.stderr);
        assert!(first.contains(expected), "{args}: expected {expected:?} in {first}");
        if !expected.contains("timeout") {
            assert!(
                first.contains("is out of range: unix seconds go up to 9223372036854775807"),
                "{args}: {first}"
            );
        }
    }

    // At the limit (i64::MAX seconds, the largest timestamp the header parsers accept
    // and, on Unix, the largest whole second SystemTime holds): signs, verifies with
    // `--now` at the limit, and is explained as skew against an ordinary clock.
    for scheme in ["slack", "stripe", "standard_webhooks"] {
        let secret = dashboard_secret(scheme);
        let signed = sign_lines(scheme, secret, "{}", &["--timestamp", I64_MAX, "--id", "msg_1"]);
        assert!(signed.iter().any(|l| l.contains(I64_MAX)), "{scheme}: {signed:?}");
        let out = verify(scheme, secret, &signed, "{}", &["--now", I64_MAX]);
        out.assert_code(0);
        assert!(
            out.stdout.starts_with(&format!("verified: key #0 ($HOOK_SECRET), timestamp {I64_MAX} (now)"))
        );
        let out = verify(scheme, secret, &signed, "{}", &["--now", "1700000000"]);
        out.assert_code(1);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        assert_eq!(
            first_line(&out),
            "error: timestamp is 9223372035154775807s in the future, beyond the tolerance of 300s"
        );
        assert!(out.has_hint("the signature itself is valid"), "{}", out.stderr);
        // Against the system clock too.
        let out = verify(scheme, secret, &signed, "{}", &[]);
        out.assert_code(1);
        assert!(out.has_hint("from the system clock"), "{}", out.stderr);
    }
    // An ordinary delivery checked at the latest `--now`: far too old, with a hint.
    let out = verify_now(I64_MAX).run();
    out.assert_code(1);
    assert_eq!(
        first_line(&out),
        "error: timestamp is 9223372035154775807s old, beyond the tolerance of 300s"
    );
    assert!(out.has_hint("pass --now 1700000000"), "{}", out.stderr);
}

// ---------------------------------------------------------------------------------
// verify

#[test]
fn verify_success_names_the_key_timestamp_and_id() {
    let headers = sign_lines("svix", WHSEC, "{}", &["--id", "msg_1", "--timestamp", "1700000000"]);
    let out = verify("svix", WHSEC, &headers, "{}", &["--now", "1700000042"]);
    out.assert_code(0);
    assert_eq!(out.lines(), ["verified: key #0 ($HOOK_SECRET), timestamp 1700000000 (42s ago), id msg_1"]);
    assert_eq!(out.stderr, "");

    // Rotation: the second secret matches; headers may come from a file (`-H @PATH`).
    let dir = temp_dir("verify-ok");
    let headers_file = dir.join("headers.txt");
    std::fs::write(&headers_file, headers.join("\n") + "\n").unwrap();
    let secret_file = dir.join("secret");
    std::fs::write(&secret_file, format!("{WHSEC}\n")).unwrap();
    let at = format!("@{}", headers_file.display());
    let out = hooksig(&[
        "verify",
        "-s",
        "svix",
        "--secret-env",
        "OLD",
        "--secret-file",
        secret_file.to_str().unwrap(),
        "-H",
        &at,
        "--data",
        "{}",
        "--now",
        "1699999990",
    ])
    .env("OLD", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    .run();
    out.assert_code(0);
    assert_eq!(
        out.lines(),
        [format!(
            "verified: key #1 (file {}), timestamp 1700000000 (10s ahead), id msg_1",
            secret_file.display()
        )]
    );

    // GitHub's delivery id is not signed; Oktave does not sign the body.
    let headers = sign_lines("github", RAW_SECRET, "x", &["--id", "d-7"]);
    let out = verify("github", RAW_SECRET, &headers, "x", &[]);
    out.assert_code(0);
    assert_eq!(out.lines(), ["verified: key #0 ($HOOK_SECRET), no timestamp, id d-7 (not signed)"]);
    let headers = sign_lines("oktave", RAW_SECRET, "x", &["--id", "evt_1", "--timestamp", "1700000000"]);
    let out = verify("oktave", RAW_SECRET, &headers, "other body", &["--now", "1700000000"]);
    out.assert_code(0);
    assert_eq!(
        out.lines(),
        [
            "verified: key #0 ($HOOK_SECRET), timestamp 1700000000 (now), id evt_1",
            "note: oktave does not sign the body; treat it as untrusted and deduplicate on the id",
        ]
    );
    std::fs::remove_dir_all(dir).unwrap();
}

const MISMATCH: &str = "error: no signature matches any configured secret";

fn first_line(out: &Out) -> &str {
    out.stderr.lines().next().unwrap_or_default()
}

#[test]
fn verify_plain_mismatch_gives_only_the_fallback_hint() {
    let headers = sign_lines("tale", RAW_SECRET, "{\"a\":1}", &[]);
    let out = verify("tale", "another secret", &headers, "{\"a\":1}\n", &[]);
    out.assert_code(1);
    assert_eq!(out.stdout, "");
    assert_eq!(first_line(&out), MISMATCH);
    let hints = out.hints();
    assert_eq!(hints.len(), 1, "{hints:?}");
    assert!(hints.first().unwrap().starts_with("hint: none of the usual mistakes explains it"));
}

#[test]
fn hint_whitespace_around_the_secret() {
    let headers = sign_lines("slack", "abc123", "x", &["--timestamp", "1700000000"]);
    let now = ["--now", "1700000000"];
    let hint = "the secret from $HOOK_SECRET starts or ends with whitespace";

    // Triggered: a trailing space, and a trailing newline from an env var.
    for secret in ["abc123 ", "abc123\n", "\tabc123"] {
        let out = verify("slack", secret, &headers, "x", &now);
        out.assert_code(1);
        assert_eq!(first_line(&out), MISMATCH);
        assert_eq!(
            out.hints(),
            [format!(
                "hint: {hint} (a space, tab or newline), which is part of the key; the delivery verifies with it removed"
            )]
        );
    }
    // Triggered, but trimming does not help: it says so.
    let out = verify("slack", "wrong ", &headers, "x", &now);
    assert!(out.has_hint("removing it does not make the delivery verify either"));
    // Not triggered: a clean wrong secret; a clean right secret.
    let out = verify("slack", "wrong", &headers, "x", &now);
    out.assert_code(1);
    assert!(!out.has_hint("whitespace (a space"), "{}", out.stderr);
    verify("slack", "abc123", &headers, "x", &now).assert_code(0);
}

#[test]
fn hint_whsec_secret_for_a_raw_scheme_and_the_reverse() {
    // A Standard Webhooks secret given to a raw-bytes scheme.
    let headers = sign_lines("tale", WHSEC, "x", &[]);
    let out = verify("tale", WHSEC, &headers, "y", &[]);
    out.assert_code(1);
    assert!(out.has_hint(
        "the secret from $HOOK_SECRET starts with `whsec_`, but tale uses the secret's bytes as they are"
    ));
    // Not triggered for a raw secret.
    let out = verify("tale", RAW_SECRET, &headers, "y", &[]);
    assert!(!out.has_hint("whsec_"), "{}", out.stderr);

    // The reverse: the sender signed with the raw string, the receiver uses svix.
    let now = ["--now", "1700000000"];
    let signed = sign_lines("svix", WHSEC, "{}", &["--id", "m1", "--timestamp", "1700000000"]);
    let raw_body = "C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let out = verify("svix", raw_body, &signed, "{}", &now);
    // Without `whsec_` the rest is still base64, so this one verifies: no hint.
    out.assert_code(0);
    let out = verify("svix", "abcd", &signed, "{}", &now);
    out.assert_code(1);
    assert_eq!(first_line(&out), MISMATCH);
    assert!(out.has_hint(
        "the secret from $HOOK_SECRET does not start with `whsec_`: svix reads secrets as `whsec_` + base64"
    ));
    // A `whsec_` secret to svix that simply is the wrong one: no format hint.
    let out = verify("svix", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &signed, "{}", &now);
    out.assert_code(1);
    assert!(!out.has_hint("whsec_"), "{}", out.stderr);

    // Stripe: the whole whsec_ string is the key; stripping the prefix is the mistake.
    let signed = sign_lines("stripe", STRIPE_SECRET, "{}", &["--timestamp", "1700000000"]);
    let stripped = STRIPE_SECRET.strip_prefix("whsec_").unwrap();
    let out = verify("stripe", stripped, &signed, "{}", &now);
    out.assert_code(1);
    assert!(out.has_hint("Stripe's key is the whole `whsec_…` string, used as is (not base64-decoded); the delivery verifies with `whsec_` put back"));
    let out = verify("stripe", "whsec_other", &signed, "{}", &now);
    out.assert_code(1);
    assert!(!out.has_hint("whsec_"), "{}", out.stderr);
}

#[test]
fn hint_body_verifies_without_its_trailing_newline() {
    let headers = sign_lines("shopify", RAW_SECRET, "{\"a\":1}", &[]);
    let hint =
        "hint: the delivery verifies without the body's trailing newline: an editor or `echo` added it";
    for body in ["{\"a\":1}\n", "{\"a\":1}\r\n"] {
        let out = verify("shopify", RAW_SECRET, &headers, body, &[]);
        out.assert_code(1);
        assert_eq!(first_line(&out), MISMATCH);
        assert_eq!(out.hints().len(), 1);
        assert!(out.hints().first().unwrap().starts_with(hint), "{}", out.stderr);
    }
    // Not triggered: a newline that is not the problem (wrong secret), no newline.
    let out = verify("shopify", "wrong", &headers, "{\"a\":1}\n", &[]);
    assert!(!out.has_hint("trailing newline:"), "{}", out.stderr);
    let out = verify("shopify", RAW_SECRET, &headers, "{\"a\":2}", &[]);
    assert!(!out.has_hint("trailing newline:"), "{}", out.stderr);
}

#[test]
fn hint_json_was_re_encoded() {
    let compact = r#"{"user":{"id":7,"tags":["a","b"],"none":{}},"ok":true}"#;
    let pretty = "{\n  \"user\": {\n    \"id\": 7,\n    \"tags\": [\n      \"a\",\n      \"b\"\n    ],\n    \"none\": {}\n  },\n  \"ok\": true\n}";
    let spaced = r#"{"user": {"id": 7, "tags": ["a", "b"], "none": {}}, "ok": true}"#;
    let hint = |what: &str| format!("the body is valid JSON and the signature matches it re-encoded {what}");

    // Signed compact, checked pretty (a logger pretty-printed it).
    let headers = sign_lines("vocalis", RAW_SECRET, compact, &[]);
    let out = verify("vocalis", RAW_SECRET, &headers, pretty, &[]);
    out.assert_code(1);
    assert_eq!(first_line(&out), MISMATCH);
    assert!(out.has_hint(&hint("compact (no whitespace")), "{}", out.stderr);
    // Signed pretty, checked compact (a framework re-serialized it).
    let headers = sign_lines("vocalis", RAW_SECRET, pretty, &[]);
    let out = verify("vocalis", RAW_SECRET, &headers, compact, &[]);
    assert!(out.has_hint(&hint("pretty-printed with a 2-space indent")), "{}", out.stderr);
    // Python's json.dumps spacing.
    let headers = sign_lines("vocalis", RAW_SECRET, spaced, &[]);
    let out = verify("vocalis", RAW_SECRET, &headers, compact, &[]);
    assert!(out.has_hint(&hint("with a space after `,` and `:`")), "{}", out.stderr);

    // Not triggered: not JSON; JSON whose re-encodings do not match either.
    let headers = sign_lines("vocalis", RAW_SECRET, "a=1 b=2", &[]);
    let out = verify("vocalis", RAW_SECRET, &headers, "a=1  b=2", &[]);
    out.assert_code(1);
    assert!(!out.has_hint("valid JSON"), "{}", out.stderr);
    let headers = sign_lines("vocalis", RAW_SECRET, compact, &[]);
    let out = verify("vocalis", "wrong", &headers, pretty, &[]);
    assert!(!out.has_hint("valid JSON"), "{}", out.stderr);
}

#[test]
fn hint_timestamp_off_by_n_seconds() {
    let headers = sign_lines("stripe", STRIPE_SECRET, "{}", &["--timestamp", "1700000000"]);
    let out = verify("stripe", STRIPE_SECRET, &headers, "{}", &["--now", "1700001000"]);
    out.assert_code(1);
    assert_eq!(first_line(&out), "error: timestamp is 1000s old, beyond the tolerance of 300s");
    assert_eq!(
        out.hints(),
        [
            "hint: the timestamp 1700000000 is off by 1000 seconds: it is older than now (1700001000, from --now) by more than the 300s tolerance; the signature itself is valid. For a captured delivery, pass --now 1700000000; otherwise check the sender's and this machine's clocks"
        ]
    );
    let out = verify("stripe", STRIPE_SECRET, &headers, "{}", &["--now", "1699999000"]);
    out.assert_code(1);
    assert_eq!(first_line(&out), "error: timestamp is 1000s in the future, beyond the tolerance of 300s");
    assert!(out.has_hint(
        "the timestamp 1700000000 is off by 1000 seconds: it is ahead of now (1699999000, from --now)"
    ));
    // Skewed and also wrong: it says the signature does not match either.
    let out = verify("stripe", "whsec_wrong", &headers, "{}", &["--now", "1700001000"]);
    assert!(out.has_hint("the signature does not match either"));
    // Against the system clock (a 2023 timestamp is far in the past).
    let out = verify("stripe", STRIPE_SECRET, &headers, "{}", &[]);
    out.assert_code(1);
    assert!(out.has_hint("from the system clock"), "{}", out.stderr);

    // Not triggered: within tolerance but mismatching; a scheme without timestamp.
    let out = verify("stripe", "whsec_wrong", &headers, "{}", &["--now", "1700000100"]);
    out.assert_code(1);
    assert!(!out.has_hint("off by"), "{}", out.stderr);
    let headers = sign_lines("tale", RAW_SECRET, "{}", &[]);
    let out = verify("tale", "wrong", &headers, "{}", &[]);
    assert!(!out.has_hint("off by"), "{}", out.stderr);
}

#[test]
fn hint_signature_valid_under_another_preset() {
    // GitHub headers checked as Tale: the header is missing, but GitHub verifies.
    let headers = sign_lines("github", RAW_SECRET, "{}", &["--id", "d"]);
    let out = verify("tale", RAW_SECRET, &headers, "{}", &[]);
    out.assert_code(1);
    assert_eq!(first_line(&out), "error: missing header `x-tale-signature`");
    assert_eq!(
        out.hints(),
        [
            "hint: the delivery verifies under the github preset with the same secret and headers: use --scheme github"
        ]
    );
    // Standard Webhooks headers checked as Svix.
    let headers = sign_lines("standard-webhooks", WHSEC, "{}", &["--timestamp", "1700000000"]);
    let out = verify("svix", WHSEC, &headers, "{}", &["--now", "1700000000"]);
    assert!(out.has_hint("use --scheme standard-webhooks"), "{}", out.stderr);

    // Not triggered: the secret is wrong for every preset; instead the expected
    // headers are listed.
    let headers = sign_lines("github", RAW_SECRET, "{}", &["--id", "d"]);
    let out = verify("tale", "wrong", &headers, "{}", &[]);
    out.assert_code(1);
    assert_eq!(
        out.hints(),
        [
            "hint: tale deliveries carry x-tale-signature; pass each with -H 'Name: value' (headers given: x-github-delivery, x-hub-signature-256)"
        ]
    );
}

#[test]
fn malformed_signature_header_shows_the_expected_shape() {
    let out = verify("slack", RAW_SECRET, &["X-Slack-Signature: abc".to_owned()], "x", &[]);
    out.assert_code(1);
    assert_eq!(first_line(&out), "error: malformed header `x-slack-signature`: unexpected signature prefix");
    assert_eq!(
        out.hints(),
        ["hint: slack signature headers look like `x-slack-signature: v0=<hex>` (see `hooksig schemes`)"]
    );
}

// ---------------------------------------------------------------------------------
// schemes

#[test]
fn schemes_lists_every_preset_with_headers_mac_encoding_and_tolerance() {
    let out = hooksig(&["schemes"]).run();
    out.assert_code(0);
    let lines = out.lines();
    let columns = |line: &str| {
        line.split("  ").map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect::<Vec<_>>()
    };
    assert_eq!(
        columns(lines.first().unwrap()),
        ["NAME", "HEADERS", "MAC COVERS", "ENCODING", "TOLERANCE", "SECRET"]
    );
    let rows: Vec<Vec<String>> = lines.iter().skip(1).take(10).map(|l| columns(l)).collect();
    let names: Vec<&str> = rows.iter().map(|r| r.first().unwrap().as_str()).collect();
    assert_eq!(
        names,
        [
            "tale",
            "vocalis",
            "github",
            "oktave",
            "standard-webhooks",
            "svix",
            "stripe",
            "slack",
            "shopify",
            "discord"
        ]
    );
    let row = |name: &str| rows.iter().find(|r| r.first().unwrap() == name).unwrap().clone();
    assert_eq!(
        row("github"),
        [
            "github",
            "x-hub-signature-256: sha256=<hex>, x-github-delivery (id)",
            "{body}",
            "hex",
            "none",
            "raw bytes"
        ]
    );
    assert_eq!(
        row("oktave"),
        [
            "oktave",
            "oktave-signature: <hex>, oktave-timestamp, oktave-event-id (id)",
            "{id}{timestamp}",
            "hex",
            "-1h/+5m",
            "raw bytes"
        ]
    );
    assert_eq!(
        row("svix"),
        [
            "svix",
            "svix-signature: v1,<base64> v1a,<base64> …, svix-timestamp, svix-id (id)",
            "{id}.{timestamp}.{body}",
            "base64",
            "±5m",
            "whsec_<base64>; v1a: whpk_<base64> (public)"
        ]
    );
    assert_eq!(
        row("discord"),
        [
            "discord",
            "x-signature-ed25519: <hex>, x-signature-timestamp",
            "{timestamp}{body}",
            "hex",
            "±5m",
            "<hex> (public key)"
        ]
    );
    assert_eq!(
        row("stripe"),
        [
            "stripe",
            "stripe-signature: t=<unix>,v1=<hex>",
            "{timestamp}.{body}",
            "hex",
            "±5m",
            "whsec_… as is"
        ]
    );
    assert_eq!(
        row("slack"),
        [
            "slack",
            "x-slack-signature: v0=<hex>, x-slack-request-timestamp",
            "v0:{timestamp}:{body}",
            "hex",
            "±5m",
            "raw bytes"
        ]
    );
    assert_eq!(
        row("shopify"),
        [
            "shopify",
            "x-shopify-hmac-sha256: <base64>, x-shopify-webhook-id (id)",
            "{body}",
            "base64",
            "none",
            "raw bytes"
        ]
    );
    assert!(out.stdout.contains("oktave does not sign the body."));
}

// ---------------------------------------------------------------------------------
// send

struct Call {
    headers: HeaderMap,
    body: Bytes,
    verified: bool,
}

struct Shared {
    verifier: Verifier,
    calls: Mutex<Vec<Call>>,
}

async fn hook(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> (StatusCode, String) {
    let result = shared.verifier.verify(&headers, &body);
    shared.calls.lock().unwrap().push(Call { headers, body, verified: result.is_ok() });
    match result {
        Ok(_) => (StatusCode::OK, "ok".to_owned()),
        Err(e) => (e.status(), e.public_message().to_owned()),
    }
}

/// An axum receiver on 127.0.0.1:0, running until dropped.
struct Receiver {
    url: String,
    shared: Arc<Shared>,
    _runtime: tokio::runtime::Runtime,
}

fn receiver(scheme: Scheme, secret: &str) -> Receiver {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let shared =
        Arc::new(Shared { verifier: Verifier::new(scheme, secret).unwrap(), calls: Mutex::new(Vec::new()) });
    let app = axum::Router::new().route("/hook", post(hook)).with_state(shared.clone());
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    runtime.spawn(async move { axum::serve(listener, app).await });
    Receiver { url, shared, _runtime: runtime }
}

#[test]
fn send_reaches_a_local_axum_receiver_and_repeat_resends_the_identical_delivery() {
    let rx = receiver(Scheme::svix(), WHSEC);
    let body = r#"{"event":"invoice.paid","id":1}"#;
    let out = hooksig(&[
        "send",
        &rx.url,
        "-s",
        "svix",
        "--secret-env",
        "S",
        "--data",
        body,
        "--repeat",
        "3",
        "-H",
        "X-Test: yes",
    ])
    .env("S", WHSEC)
    .run();
    out.assert_code(0);
    assert_eq!(out.stderr, "");

    let calls = rx.shared.calls.lock().unwrap();
    assert_eq!(calls.len(), 3);
    let first = calls.first().unwrap();
    for call in calls.iter() {
        assert!(call.verified);
        assert_eq!(call.body, body.as_bytes());
        for name in ["svix-id", "svix-timestamp", "svix-signature", "x-test"] {
            assert_eq!(call.headers.get(name), first.headers.get(name), "{name}");
        }
        assert_eq!(call.headers.get("content-type").unwrap(), "application/json");
    }
    assert_eq!(first.headers.get("x-test").unwrap(), "yes");

    let id = first.headers.get("svix-id").unwrap().to_str().unwrap();
    let lines = out.lines();
    assert_eq!(lines.first().copied(), Some(format!("> POST {} (3 times, identical)", rx.url).as_str()));
    assert!(lines.contains(&format!("> svix-id: {id}").as_str()));
    assert!(lines.contains(&"> x-test: yes"));
    assert!(lines.contains(&"> content-type: application/json"));
    assert!(lines.contains(&format!("> ({} bytes of body)", body.len()).as_str()));
    for n in 1..=3 {
        assert!(lines.contains(&format!("< [{n}/3] HTTP/1.1 200 OK").as_str()), "{}", out.stdout);
    }
    assert_eq!(lines.iter().filter(|l| **l == "< content-length: 2").count(), 3);
    assert_eq!(lines.iter().filter(|l| **l == "ok").count(), 3);
}

#[test]
fn send_preserves_binary_bodies_and_reports_rejections_with_exit_1() {
    let rx = receiver(Scheme::tale(), RAW_SECRET);
    let body: Vec<u8> = (0u8..=255).rev().collect();
    let out = hooksig(&["send", &rx.url, "-s", "tale", "--secret-env", "S"])
        .env("S", RAW_SECRET)
        .stdin(&body)
        .run();
    out.assert_code(0);
    assert!(out.lines().contains(&"< HTTP/1.1 200 OK"), "{}", out.stdout);

    // Wrong secret: the receiver answers 401, the CLI exits 1.
    let out =
        hooksig(&["send", &rx.url, "-s", "tale", "--secret-env", "S"]).env("S", "wrong").stdin(&body).run();
    out.assert_code(1);
    assert!(out.lines().contains(&"< HTTP/1.1 401 Unauthorized"), "{}", out.stdout);
    assert!(out.lines().contains(&"signature mismatch"), "{}", out.stdout);
    assert_eq!(out.stderr, "error: 1 of 1 deliveries got a non-2xx answer\n");

    // -H replaces a generated header: a forged signature is rejected.
    let forged = format!("X-Tale-Signature: sha256={}", "0".repeat(64));
    let out = hooksig(&["send", &rx.url, "-s", "tale", "--secret-env", "S", "-H", &forged])
        .env("S", RAW_SECRET)
        .stdin(&body)
        .run();
    out.assert_code(1);
    assert_eq!(out.lines().iter().filter(|l| l.starts_with("> x-tale-signature:")).count(), 1);

    let calls = rx.shared.calls.lock().unwrap();
    assert_eq!(calls.iter().map(|c| c.verified).collect::<Vec<_>>(), [true, false, false]);
    for call in calls.iter() {
        assert_eq!(call.body, body);
        assert_eq!(call.headers.get("content-type").unwrap(), "application/octet-stream");
        assert_eq!(call.headers.get_all("x-tale-signature").iter().count(), 1);
    }
}

#[test]
fn send_to_a_closed_port_fails_with_a_hint() {
    // Bind then drop, so the port is (almost certainly) closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let out = hooksig(&["send", &url, "-s", "tale", "--secret-env", "S", "--data", "x", "--timeout", "5"])
        .env("S", RAW_SECRET)
        .run();
    out.assert_code(1);
    assert!(
        first_line(&out).starts_with(&format!("error: delivery 1 of 1 to {url} failed:")),
        "{}",
        out.stderr
    );
    assert_eq!(out.hints(), ["hint: is the receiver running and listening on that address?"]);
}

// ---------------------------------------------------------------------------------
// Extra headers (-H) on sign and send

#[test]
fn sign_extra_headers_follow_the_signature_headers_in_order_and_are_not_signed() {
    let base = ["sign", "-s", "github", "--secret-env", "S", "--id", "d-1", "--data", "Hello, World!"];
    let signature =
        "x-hub-signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let out = hooksig(&args).env("S", RAW_SECRET).run();
        out.assert_code(0);
        assert_eq!(out.stderr, "");
        out
    };

    let out = run(&["-H", "X-GitHub-Event: push", "-H", "User-Agent:GitHub-Hookshot/044aadd"]);
    assert_eq!(
        out.lines(),
        ["x-github-delivery: d-1", signature, "x-github-event: push", "user-agent: GitHub-Hookshot/044aadd"]
    );
    // The order is the command line's; the signature is the same as without -H.
    let out = run(&["-H", "User-Agent: GitHub-Hookshot/044aadd", "-H", "X-GitHub-Event: push"]);
    assert_eq!(
        out.lines(),
        ["x-github-delivery: d-1", signature, "user-agent: GitHub-Hookshot/044aadd", "x-github-event: push"]
    );
    // Repeated names are kept, in order; the output verifies as a whole.
    let out = run(&["-H", "X-A: 1", "-H", "X-B: 2", "-H", "X-A: 3"]);
    assert_eq!(out.lines()[2..], ["x-a: 1", "x-b: 2", "x-a: 3"]);
    let headers: Vec<String> = out.lines().iter().map(|l| l.to_string()).collect();
    verify("github", RAW_SECRET, &headers, "Hello, World!", &[]).assert_code(0);

    // One named like the signature header replaces it (to test a rejection).
    let forged = format!("X-Hub-Signature-256: sha256={}", "0".repeat(64));
    let out = run(&["-H", &forged, "-H", "X-GitHub-Event: push"]);
    assert_eq!(
        out.lines(),
        [
            "x-github-delivery: d-1".to_owned(),
            format!("x-hub-signature-256: sha256={}", "0".repeat(64)),
            "x-github-event: push".to_owned()
        ]
    );

    // --help says so.
    let help = hooksig(&["sign", "--help"]).run();
    help.assert_code(0);
    let text = help.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains("-H, --header <NAME: VALUE>"), "{}", help.stdout);
    assert!(text.contains("Such headers are NOT signed"), "{}", help.stdout);
}

#[test]
fn sign_curl_passes_extra_headers_after_the_generated_ones() {
    let body = r#"{"ref":"refs/heads/main"}"#;
    let url = "http://127.0.0.1:3000/hook";
    let args = [
        "sign",
        "-s",
        "github",
        "--secret-env",
        "S",
        "--id",
        "d-1",
        "--data",
        body,
        "--curl",
        url,
        "-H",
        "X-GitHub-Event: push",
        "-H",
        "X-Note: it's here",
        "-H",
        "X-Empty:",
    ];
    let out = hooksig(&args).env("S", RAW_SECRET).run();
    out.assert_code(0);
    let signature = sign_lines("github", RAW_SECRET, body, &["--id", "d-1"]).pop().unwrap();
    let script = format!("curl() {{ for a in \"$@\"; do printf '%s\\0' \"$a\"; done; }}\n{}", out.stdout);
    let mut bash = Command::new("bash");
    bash.arg("-c").arg(script);
    let argv = run_bounded(bash, b"", DEADLINE);
    argv.assert_code(0);
    let argv: Vec<&str> = argv.stdout.split_terminator('\0').collect();
    assert_eq!(
        argv,
        [
            "-sS",
            "-i",
            url,
            "-H",
            "x-github-delivery: d-1",
            "-H",
            signature.as_str(),
            "-H",
            "Content-Type: application/json",
            "-H",
            "x-github-event: push",
            "-H",
            "x-note: it's here",
            // curl drops `Name:`; `Name;` sends the header empty.
            "-H",
            "x-empty;",
            "--data-binary",
            body
        ]
    );

    // A Content-Type given with -H replaces the generated one.
    let out = hooksig(&[
        "sign",
        "-s",
        "tale",
        "--secret-env",
        "S",
        "--data",
        "{}",
        "--curl",
        url,
        "-H",
        "Content-Type: application/vnd.tale+json",
    ])
    .env("S", RAW_SECRET)
    .run();
    out.assert_code(0);
    let lines = out.lines();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(lines[1].starts_with("  -H 'x-tale-signature: sha256="), "{lines:?}");
    assert_eq!(lines[2], "  -H 'content-type: application/vnd.tale+json' \\");
    assert_eq!(lines[3], "  --data-binary '{}'");
}

// ---------------------------------------------------------------------------------
// send over https

/// `send` to the TLS receiver with the github preset and the given extra options.
fn send_https(rx: &TlsReceiver, extra: &[&str]) -> Out {
    let mut args = vec!["send", &rx.url, "-s", "github", "--secret-env", "S", "--data", r#"{"zen":"ok"}"#];
    args.extend_from_slice(extra);
    args.extend(["-H", "X-GitHub-Event: ping", "--timeout", "10"]);
    let out = hooksig(&args).env("S", RAW_SECRET).run();
    for text in [&out.stdout, &out.stderr] {
        assert!(!text.contains(RAW_SECRET), "secret printed: {text}");
    }
    out
}

#[test]
fn send_https_with_cacert_trusts_a_self_signed_certificate() {
    let rx = tls_receiver(Scheme::github(), RAW_SECRET, &["127.0.0.1", "localhost"], DEADLINE);
    let dir = temp_dir("cacert");
    // One file, two certificates: an unrelated one first, then the server's.
    let other = rcgen::generate_simple_self_signed(vec!["other.invalid".to_owned()]).unwrap().cert.pem();
    let cacert = dir.join("roots.pem");
    std::fs::write(&cacert, format!("{other}{}", rx.cert_pem)).unwrap();

    let out = send_https(&rx, &["--cacert", cacert.to_str().unwrap()]);
    out.assert_code(0);
    assert_eq!(out.stderr, "");
    let lines = out.lines();
    assert_eq!(lines.first().copied(), Some(format!("> POST {}", rx.url).as_str()));
    // The extra header is sent after the generated ones.
    let at =
        |line: &str| lines.iter().position(|l| *l == line).unwrap_or_else(|| panic!("{line}: {lines:?}"));
    assert!(at("> content-type: application/json") < at("> x-github-event: ping"));
    assert!(lines.contains(&"< HTTP/1.1 200 OK"), "{}", out.stdout);
    assert_eq!(lines.last(), Some(&"ok"));

    let calls = rx.calls.lock().unwrap();
    assert_eq!(calls.len(), 1);
    let call = calls.first().unwrap();
    assert_eq!(call.request_line, "POST /hook HTTP/1.1");
    assert!(call.verified);
    assert!(rx.refused.lock().unwrap().is_empty());
    assert_eq!(call.body, br#"{"zen":"ok"}"#);
    assert_eq!(call.headers.get("x-github-event").unwrap(), "ping");
    assert!(call.headers.get("x-hub-signature-256").is_some());
    drop(calls);

    // The system's roots are used: SSL_CERT_FILE naming the server's certificate
    // trusts it without --cacert.
    let server = dir.join("server.pem");
    std::fs::write(&server, &rx.cert_pem).unwrap();
    let mut args = vec!["send", &rx.url, "-s", "github", "--secret-env", "S", "--data", "{}"];
    args.extend(["--timeout", "10"]);
    let out = hooksig(&args).env("S", RAW_SECRET).env("SSL_CERT_FILE", server.to_str().unwrap()).run();
    out.assert_code(0);
    assert_eq!(out.stderr, "");
    assert_eq!(rx.calls.lock().unwrap().iter().filter(|c| c.verified).count(), 2);

    // No system roots at all: a warning, and the Mozilla roots stand in (which do not
    // include the server's certificate, but --cacert still adds it).
    let missing = dir.join("missing.pem");
    let missing = missing.to_str().unwrap();
    let out = hooksig(&args).env("S", RAW_SECRET).env("SSL_CERT_FILE", missing).run();
    out.assert_code(1);
    assert!(
        first_line(&out).starts_with("warning: found no root certificates on this system"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("trusting the Mozilla roots built into hooksig"), "{}", out.stderr);
    assert!(out.stderr.contains("UnknownIssuer"), "{}", out.stderr);
    args.extend(["--cacert", cacert.to_str().unwrap()]);
    let out = hooksig(&args).env("S", RAW_SECRET).env("SSL_CERT_FILE", missing).run();
    out.assert_code(0);
    assert_eq!(rx.calls.lock().unwrap().iter().filter(|c| c.verified).count(), 3);
    assert!(rx.refused.lock().unwrap().len() <= 1);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn send_https_refuses_an_untrusted_certificate_and_names_the_problem() {
    let rx = tls_receiver(Scheme::github(), RAW_SECRET, &["127.0.0.1", "localhost"], DEADLINE);
    let out = send_https(&rx, &[]);
    out.assert_code(1);
    assert!(out.lines().iter().all(|l| l.starts_with("> ")), "nothing was received: {}", out.stdout);
    assert_eq!(
        first_line(&out),
        format!(
            "error: delivery 1 of 1 to {} failed: the server's certificate was refused: it is not signed by a \
             trusted root (self-signed, or issued by a private CA) [invalid peer certificate: UnknownIssuer]",
            rx.url
        )
    );
    assert!(out.has_hint("--cacert PEM"), "{}", out.stderr);
    assert!(out.has_hint("--insecure"), "{}", out.stderr);
    assert!(rx.calls.lock().unwrap().is_empty());

    // Trusted, but for another name.
    let rx = tls_receiver(Scheme::github(), RAW_SECRET, &["hooks.example.test"], DEADLINE);
    let dir = temp_dir("wrong-name");
    let cacert = dir.join("server.pem");
    std::fs::write(&cacert, &rx.cert_pem).unwrap();
    let out = send_https(&rx, &["--cacert", cacert.to_str().unwrap()]);
    out.assert_code(1);
    let first = first_line(&out);
    assert!(
        first.contains("the server's certificate was refused: it does not name this host")
            && first.contains("hooks.example.test"),
        "{}",
        out.stderr
    );
    assert!(rx.calls.lock().unwrap().is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn send_https_insecure_skips_verification_with_a_warning() {
    let rx = tls_receiver(Scheme::github(), RAW_SECRET, &["127.0.0.1"], DEADLINE);
    let out = send_https(&rx, &["--insecure"]);
    out.assert_code(0);
    let host = "127.0.0.1";
    assert_eq!(
        out.stderr,
        format!(
            "warning: --insecure: the certificate of {host} is not verified; anyone on the way can read the \
             delivery or answer in the server's place\n"
        )
    );
    assert!(out.lines().contains(&"< HTTP/1.1 200 OK"), "{}", out.stdout);
    let calls = rx.calls.lock().unwrap();
    assert_eq!(calls.iter().map(|c| c.verified).collect::<Vec<_>>(), [true]);
}

#[test]
fn send_https_options_are_checked_before_anything_is_sent() {
    let dir = temp_dir("cacert-usage");
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let bad_base64 = dir.join("bad-base64.pem");
    std::fs::write(&bad_base64, "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n").unwrap();
    let not_x509 = dir.join("not-x509.pem");
    std::fs::write(&not_x509, "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n").unwrap();
    let path = |p: &PathBuf| p.to_str().unwrap().to_owned();
    let url = "https://127.0.0.1:9/hook";
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--cacert".into(), "/nonexistent/ca.pem".into()], "cannot read --cacert /nonexistent/ca.pem"),
        (vec!["--cacert".into(), path(&garbage)], "holds no certificate"),
        (vec!["--cacert".into(), path(&bad_base64)], "is not valid PEM"),
        (vec!["--cacert".into(), path(&not_x509)], "certificate 1 cannot be a root"),
        (vec!["--cacert".into(), path(&garbage), "--insecure".into()], "cannot be used with"),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["send", url, "-s", "tale", "--secret-env", "S", "--data", "x"];
        args.extend(extra.iter().map(String::as_str));
        let out = hooksig(&args).env("S", RAW_SECRET).run();
        out.assert_code(2);
        assert_eq!(out.stdout, "", "{extra:?}");
        assert!(first_line(&out).starts_with("error: "), "{extra:?}: {}", out.stderr);
        assert!(out.stderr.contains(expected), "{extra:?}: expected {expected:?} in {}", out.stderr);
    }
    let out = hooksig(&[
        "send",
        url,
        "-s",
        "tale",
        "--secret-env",
        "S",
        "--data",
        "x",
        "--cacert",
        &path(&garbage),
    ])
    .env("S", RAW_SECRET)
    .run();
    assert!(out.has_hint("PEM (-----BEGIN CERTIFICATE-----)"), "{}", out.stderr);
    std::fs::remove_dir_all(dir).unwrap();
}

// ---------------------------------------------------------------------------------
// Ed25519: keygen, --signing-key-*, --public-key-*

/// `keygen`'s `name: value` lines.
fn keygen_lines(out: &Out) -> std::collections::HashMap<String, String> {
    out.assert_code(0);
    out.stdout
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(": ").unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

#[test]
fn keygen_prints_fresh_keys_in_each_schemes_format() {
    let sw = keygen_lines(&hooksig(&["keygen", "--scheme", "standard-webhooks"]).run());
    assert!(sw["signing-key"].starts_with("whsk_") && sw["signing-key"].len() == 5 + 44, "{sw:?}");
    assert!(sw["public-key"].starts_with("whpk_") && sw["public-key"].len() == 5 + 44, "{sw:?}");
    let again = keygen_lines(&hooksig(&["keygen", "--scheme", "standard-webhooks"]).run());
    assert_ne!(sw["signing-key"], again["signing-key"]);

    let discord = keygen_lines(&hooksig(&["keygen", "--scheme", "discord"]).run());
    for key in ["signing-key", "public-key"] {
        assert!(
            discord[key].len() == 64 && discord[key].bytes().all(|b| b.is_ascii_hexdigit()),
            "{discord:?}"
        );
    }
    let symmetric = keygen_lines(&hooksig(&["keygen", "--scheme", "standard-webhooks", "--symmetric"]).run());
    assert!(symmetric["secret"].starts_with("whsec_"), "{symmetric:?}");
    assert!(hooksig::Verifier::new(Scheme::standard_webhooks(), &symmetric["secret"]).is_ok());
    let github = keygen_lines(&hooksig(&["keygen", "--scheme", "github", "--symmetric"]).run());
    assert_eq!(github["secret"].len(), 64);

    // Kinds the scheme does not have: usage errors with the way out.
    let out = hooksig(&["keygen", "--scheme", "github"]).run();
    out.assert_code(2);
    assert!(out.has_hint("hooksig keygen --scheme github --symmetric"), "{}", out.stderr);
    let out = hooksig(&["keygen", "--scheme", "discord", "--symmetric"]).run();
    out.assert_code(2);
    assert!(out.stderr.contains("discord has no HMAC secrets"), "{}", out.stderr);

    // --out: the signing key goes to a new owner-only file, only the public key is printed.
    let dir = temp_dir("keygen-out");
    let path = dir.join("whsk.txt");
    let _ = std::fs::remove_file(&path);
    let out = hooksig(&["keygen", "--scheme", "standard-webhooks", "--out", path.to_str().unwrap()]).run();
    let printed = keygen_lines(&out);
    assert_eq!(printed.keys().collect::<Vec<_>>(), ["public-key"]);
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(written.starts_with("whsk_") && written.ends_with('\n'));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let out = hooksig(&["keygen", "--scheme", "standard-webhooks", "--out", path.to_str().unwrap()]).run();
    out.assert_code(2); // never overwrites
    assert_eq!(std::fs::read_to_string(&path).unwrap(), written);
}

#[test]
fn sign_with_a_signing_key_is_verified_by_the_cli_and_the_python_reference() {
    let pair = keygen_lines(&hooksig(&["keygen", "--scheme", "standard-webhooks"]).run());
    let (sk, pk) = (pair["signing-key"].clone(), pair["public-key"].clone());
    let body = r#"{"type":"invoice.paid"}"#;
    let ts = T0.to_string();
    // A secret and a signing key: one header, `v1` then `v1a`, in command-line order.
    let out = hooksig(&[
        "sign",
        "-s",
        "standard-webhooks",
        "--secret-env",
        "SEC",
        "--signing-key-env",
        "SK",
        "--data",
        body,
        "--timestamp",
        &ts,
        "--id",
        "msg_cli_ed",
    ])
    .env("SEC", WHSEC)
    .env("SK", &sk)
    .run();
    out.assert_code(0);
    assert!(!out.stdout.contains(&sk) && !out.stderr.contains(&sk), "the signing key was printed");
    let headers = parse_headers(&out.stdout);
    let signature = &headers.iter().find(|(n, _)| n == "webhook-signature").unwrap().1;
    let versions: Vec<&str> = signature.split(' ').map(|e| e.split(',').next().unwrap()).collect();
    assert_eq!(versions, ["v1", "v1a"]);

    // The reference checks the `v1a` entry with the public key alone, and both keys.
    let mut only_public = case("standard_webhooks", &[], &headers, body.as_bytes(), T0);
    only_public["public_keys"] = json!([pk]);
    let mut both = case("standard_webhooks", &[WHSEC], &headers, body.as_bytes(), T0);
    both["public_keys"] = json!([pk]);
    let results = reference_verify(&[only_public, both]);
    assert_eq!(results[0], json!({"ok": true, "key_index": 0, "error": null}));
    assert_eq!(results[1], json!({"ok": true, "key_index": 0, "error": null}));

    // hooksig verify with the public key: the key, its kind, and exit 0.
    let lines: Vec<String> = headers.iter().map(|(n, v)| format!("{n}: {v}")).collect();
    let mut args =
        vec!["verify", "-s", "standard-webhooks", "--public-key-env", "PK", "--data", body, "--now", &ts];
    for l in &lines {
        args.extend(["-H", l.as_str()]);
    }
    let out = hooksig(&args).env("PK", &pk).run();
    out.assert_code(0);
    assert_eq!(
        out.lines(),
        [format!("verified: key #0 ($PK), an Ed25519 public key, timestamp {T0} (now), id msg_cli_ed")]
    );
    // The body changed: exit 1.
    let mut tampered = args.clone();
    let at = tampered.iter().position(|a| *a == body).unwrap();
    tampered[at] = r#"{"type":"invoice.void"}"#;
    hooksig(&tampered).env("PK", &pk).run().assert_code(1);
    // The signing key where the public key belongs: a usage error that names it.
    let out = hooksig(&args).env("PK", &sk).run();
    out.assert_code(2);
    assert!(
        out.stderr.contains("a secret signing key was given where a public key belongs"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(&sk));
    // A public key for a scheme without Ed25519: refused, with the way out.
    let out = hooksig(&[
        "verify",
        "-s",
        "github",
        "--public-key",
        &pk,
        "--data",
        "x",
        "-H",
        "X-Hub-Signature-256: sha256=00",
    ])
    .run();
    out.assert_code(2);
    assert!(out.has_hint("github signs with HMAC secrets only"), "{}", out.stderr);
}

#[test]
fn discord_sign_verify_and_send_with_hex_keys() {
    let pair = keygen_lines(&hooksig(&["keygen", "--scheme", "discord"]).run());
    let (sk, pk) = (pair["signing-key"].clone(), pair["public-key"].clone());
    let dir = temp_dir("discord");
    let sk_file = dir.join("sk.txt");
    std::fs::write(&sk_file, format!("{sk}\n")).unwrap();
    let body = r#"{"type":1}"#;
    let out =
        hooksig(&["sign", "-s", "discord", "--signing-key-file", sk_file.to_str().unwrap(), "--data", body])
            .run();
    out.assert_code(0);
    let headers = parse_headers(&out.stdout);
    let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["x-signature-timestamp", "x-signature-ed25519"]);
    let mut reference = case("discord", &[], &headers, body.as_bytes(), headers[0].1.parse().unwrap());
    reference["public_keys"] = json!([pk]);
    assert_eq!(reference_verify(&[reference])[0]["ok"], json!(true));

    let lines: Vec<String> = headers.iter().map(|(n, v)| format!("{n}: {v}")).collect();
    let out = hooksig(&[
        "verify",
        "-s",
        "discord",
        "--public-key",
        &pk,
        "-H",
        &lines[0],
        "-H",
        &lines[1],
        "--data",
        body,
    ])
    .run();
    out.assert_code(0);
    assert!(
        out.stdout.starts_with("verified: key #0 (--public-key), an Ed25519 public key, timestamp"),
        "{}",
        out.stdout
    );
    assert!(out.stderr.is_empty(), "a public key on the command line is no secret: {}", out.stderr);
    // A secret for Discord: refused with the way out.
    let out = hooksig(&["sign", "-s", "discord", "--secret-env", "S", "--data", body]).env("S", "k").run();
    out.assert_code(2);
    assert!(out.has_hint("discord signs with Ed25519 only"), "{}", out.stderr);
    // --signing-key on the command line warns, and never echoes the key.
    let out = hooksig(&["sign", "-s", "discord", "--signing-key", &sk, "--data", body]).run();
    out.assert_code(0);
    assert!(
        out.stderr.contains("--signing-key puts the signing key in your shell history"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(&sk) && !out.stdout.contains(&sk));

    // send: a receiver holding the public key accepts the interaction.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let verifier = Verifier::builder(Scheme::discord()).public_key(&pk).build().unwrap();
    let shared = Arc::new(Shared { verifier, calls: Mutex::new(Vec::new()) });
    let app = axum::Router::new().route("/hook", post(hook)).with_state(shared.clone());
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    runtime.spawn(async move { axum::serve(listener, app).await });
    let out = hooksig(&["send", &url, "-s", "discord", "--signing-key-env", "SK", "--data", body])
        .env("SK", &sk)
        .run();
    out.assert_code(0);
    let calls = shared.calls.lock().unwrap();
    assert_eq!(calls.len(), 1);
    assert!(calls[0].verified);
}
