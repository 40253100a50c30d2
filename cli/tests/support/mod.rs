//! Helpers shared by the CLI's test binaries: running the built binary within a
//! deadline, and a one-thread https receiver with a self-signed certificate made here.

#![allow(dead_code, reason = "every test binary includes all the helpers and uses a part of them")]

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use hooksig::{Scheme, Verifier};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_hooksig");

/// A raw secret (Tale, GitHub, Slack and the other raw-secret presets).
pub const RAW_SECRET: &str = "It's a Secret to Everybody";
/// A `whsec_` + base64 secret (Standard Webhooks, Svix).
pub const WHSEC: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
/// A Stripe dashboard secret.
pub const STRIPE_SECRET: &str = "whsec_stripe_test_0123456789";

/// A secret in the format `preset`'s dashboard shows.
pub fn dashboard_secret(preset: &str) -> &'static str {
    match preset {
        "standard_webhooks" | "svix" => WHSEC,
        "stripe" => STRIPE_SECRET,
        _ => RAW_SECRET,
    }
}

/// What a run of the binary printed, and its exit code.
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    pub fn hints(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.starts_with("hint: ")).collect()
    }

    pub fn has_hint(&self, part: &str) -> bool {
        self.hints().iter().any(|h| h.contains(part))
    }

    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "exit code\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
}

/// Runs `command` with `stdin` written to it, failing the test if it outlives
/// `deadline` (the child is killed first).
pub fn run_bounded(mut command: Command, stdin: &[u8], deadline: Duration) -> Out {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stdout.read_to_end(&mut buf).unwrap();
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stderr.read_to_end(&mut buf).unwrap();
        buf
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > deadline {
            child.kill().unwrap();
            panic!("{command:?} did not finish within {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    writer.join().unwrap();
    let stdout = String::from_utf8(out_reader.join().unwrap()).unwrap();
    let stderr = String::from_utf8(err_reader.join().unwrap()).unwrap();
    Out { code: status.code().unwrap_or(-1), stdout, stderr }
}

// ---------------------------------------------------------------------------------
// https

/// What the TLS receiver was sent.
pub struct TlsCall {
    /// The request line, e.g. `POST /hook HTTP/1.1`.
    pub request_line: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub verified: bool,
}

/// A one-thread https receiver on 127.0.0.1:0 with a self-signed certificate for the
/// given names, made here. One request per connection: it verifies the delivery with
/// the library, answers 200 `ok` or the refusal's status and public message, and
/// closes. Stops when dropped, or after the deadline it was given.
pub struct TlsReceiver {
    pub url: String,
    pub cert_pem: String,
    pub calls: Arc<Mutex<Vec<TlsCall>>>,
    /// Exchanges that failed on the server's side (a handshake the client refused, a
    /// dropped connection).
    pub refused: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for TlsReceiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

pub fn tls_receiver(scheme: Scheme, secret: &str, names: &[&str], deadline: Duration) -> TlsReceiver {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let rcgen::CertifiedKey { cert, signing_key } = rcgen::generate_simple_self_signed(names).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(signing_key.serialize_der()));
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key)
            .unwrap();
    let config = Arc::new(config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("https://{}/hook", listener.local_addr().unwrap());
    let verifier = Verifier::new(scheme, secret).unwrap();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let refused = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let (calls, refused, stop) = (calls.clone(), refused.clone(), stop.clone());
        std::thread::spawn(move || {
            let start = Instant::now();
            while !stop.load(Ordering::SeqCst) && start.elapsed() < deadline {
                match listener.accept() {
                    // A refused handshake or a dropped connection only ends that exchange.
                    Ok((tcp, _)) => match serve_one(tcp, config.clone(), &verifier) {
                        Ok(call) => calls.lock().unwrap().push(call),
                        Err(e) => refused.lock().unwrap().push(e.to_string()),
                    },
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => panic!("accept: {e}"),
                }
            }
        })
    };
    TlsReceiver { url, cert_pem: cert.pem(), calls, refused, stop, thread: Some(thread) }
}

/// Reads one request over TLS (head as bytes, Content-Length body: what `send` and
/// the probe send), verifies it and answers, closing the connection. Header lines
/// that are not valid HTTP are skipped (the probe sends odd ones on purpose).
fn serve_one(
    tcp: std::net::TcpStream,
    config: Arc<rustls::ServerConfig>,
    verifier: &Verifier,
) -> std::io::Result<TlsCall> {
    tcp.set_nonblocking(false)?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    tcp.set_write_timeout(Some(Duration::from_secs(10)))?;
    let conn = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut data = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = tls.read(&mut chunk)?;
        if n == 0 || data.len() > 1 << 20 {
            return Err(std::io::Error::other("connection closed before the request's head"));
        }
        data.extend_from_slice(&chunk[..n]);
    };
    let mut lines = data[..head_end].split(|b| *b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let request_line = String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    let mut headers = HeaderMap::new();
    for line in lines {
        let Some(colon) = line.iter().position(|b| *b == b':') else { continue };
        let name = axum::http::HeaderName::from_bytes(&line[..colon]);
        let value = axum::http::HeaderValue::from_bytes(line[colon + 1..].trim_ascii());
        if let (Ok(name), Ok(value)) = (name, value) {
            headers.append(name, value);
        }
    }
    let length: usize =
        headers.get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        let n = tls.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::Error::other("connection closed before the body's end"));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let result = verifier.verify(&headers, &body);
    let (status, text) = match &result {
        Ok(_) => ("200 OK".to_owned(), "ok".to_owned()),
        Err(e) => (e.status().to_string(), e.public_message().to_owned()),
    };
    let response =
        format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}", text.len());
    tls.write_all(response.as_bytes())?;
    tls.conn.send_close_notify();
    tls.flush()?;
    Ok(TlsCall { request_line, headers, body, verified: result.is_ok() })
}
