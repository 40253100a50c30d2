//! `hooksig listen` run as a user would: the built binary on a free loopback port, a
//! forward target (an axum app in the test that records what it receives), real
//! HTTP deliveries, the JSON API, replay with and without the page's token, a restart
//! on the same store, and the page in a real headless browser (Debian's `chromium`;
//! skipped with a message when it is missing, unless `HOOKSIG_REQUIRE_BROWSER=1`).
//! `HOOKSIG_SCREENSHOTS=1` also writes docs/listen-list.png and docs/listen-detail.png.

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

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use base64ct::{Base64, Encoding as _};
use hooksig::{Scheme, Signer};
use serde_json::Value;
use support::{BIN, tls_receiver};

const SECRET: &str = "It's a Secret to Everybody";
const HOSTILE_BODY: &str = r#"<img src=x onerror="document.title='pwned'">"#;
const HOSTILE_HEADER: &str = "<script>document.title='pwned'</script>";

/// A received request: path, headers, body.
type Seen = Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>>;

/// The forward target: records every request, answers 202 "app ok".
fn start_app() -> (u16, Seen) {
    let seen: Seen = Arc::default();
    let recorded = Arc::clone(&seen);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            let app = axum::Router::new()
                .fallback(|State(seen): State<Seen>, uri: Uri, headers: HeaderMap, body: Bytes| async move {
                    seen.lock().unwrap().push((uri.path().to_owned(), headers, body));
                    (StatusCode::ACCEPTED, "app ok")
                })
                .with_state(recorded);
            axum::serve(listener, app).await.unwrap();
        });
    });
    (rx.recv_timeout(Duration::from_secs(10)).unwrap(), seen)
}

/// A running `hooksig listen`, killed on drop.
struct Listen {
    child: Child,
    base: String,
}

impl Drop for Listen {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_listen(store: &Path, forward: Option<u16>) -> Listen {
    start_listen_with(store, forward, &[])
}

fn start_listen_with(store: &Path, forward: Option<u16>, extra: &[&str]) -> Listen {
    let mut command = Command::new(BIN);
    command
        .args([
            "listen",
            "--scheme",
            "github",
            "--secret-env",
            "HOOKSIG_TEST_SECRET",
            "--port",
            "0",
            "--store",
        ])
        .arg(store)
        .env("HOOKSIG_TEST_SECRET", SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    command.args(extra);
    if let Some(port) = forward {
        command.args(["--forward-to", &format!("http://127.0.0.1:{port}")]);
    }
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(url) = line.strip_prefix("inspector: ") {
                let _ = tx.send(url.trim_end_matches("/_hooksig/").to_owned());
            }
        }
    });
    let base = rx.recv_timeout(Duration::from_secs(20)).expect("listen printed its URLs");
    Listen { child, base }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

/// POSTs a delivery; the status and answer.
fn deliver(base: &str, path: &str, headers: &[(String, String)], body: &[u8]) -> (u16, String) {
    let mut request = agent().post(format!("{base}{path}"));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let mut response = request.send(body).unwrap();
    (response.status().as_u16(), response.body_mut().read_to_string().unwrap())
}

/// Delivers `{"n":0}` to `{"n":<count - 1>}`, signed, each accepted.
fn deliver_numbered(base: &str, count: usize) {
    for n in 0..count {
        let body = format!("{{\"n\":{n}}}");
        assert_eq!(deliver(base, "/", &signed(body.as_bytes()), body.as_bytes()).0, 200, "{body}");
    }
}

fn signed(body: &[u8]) -> Vec<(String, String)> {
    let headers = Signer::new(Scheme::github(), SECRET).unwrap().sign(body).unwrap();
    headers.iter().map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned())).collect()
}

/// The signature header's value.
fn sig(headers: &[(String, String)]) -> &str {
    &headers.iter().find(|(n, _)| n == "x-hub-signature-256").unwrap().1
}

fn get_json(url: &str) -> Value {
    let mut response = agent().get(url).call().unwrap();
    assert_eq!(response.status().as_u16(), 200, "{url}");
    serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap()
}

fn get_text(url: &str) -> String {
    agent().get(url).call().unwrap().body_mut().read_to_string().unwrap()
}

/// POST .../replay with these extra headers: the status and answer.
fn replay(base: &str, id: u64, headers: &[(&str, &str)]) -> (u16, String) {
    let mut request = agent().post(format!("{base}/_hooksig/api/deliveries/{id}/replay"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut response = request.send_empty().unwrap();
    (response.status().as_u16(), response.body_mut().read_to_string().unwrap())
}

/// The ids of a list from the API, in its order.
fn ids(list: &Value) -> Vec<u64> {
    list.as_array().unwrap().iter().map(|d| d["id"].as_u64().unwrap()).collect()
}

fn token(page: &str) -> String {
    let start = page.find("name=\"hooksig-token\" content=\"").unwrap() + 30;
    page[start..start + 64].to_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hooksig-listen-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn listen_verifies_explains_forwards_keeps_and_replays() {
    let started = Instant::now();
    let dir = temp_dir("flow");
    let store = dir.join("listen.redb");
    let (app_port, seen) = start_app();
    let listen = start_listen(&store, Some(app_port));
    let base = listen.base.clone();

    // 1. valid: forwarded byte-identical, the app's answer back to the sender
    let valid = br#"{"a": 1}"#;
    let valid_headers = signed(valid);
    assert_eq!(deliver(&base, "/hooks/github?x=1", &valid_headers, valid), (202, "app ok".to_owned()));
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0, "/hooks/github");
        assert_eq!(&seen[0].2[..], valid);
        assert_eq!(seen[0].1["x-hub-signature-256"], sig(&valid_headers));
    }
    // 2. tampered: refused with the error's status, not forwarded
    let (status, answer) = deliver(&base, "/hooks/github", &valid_headers, br#"{"a": 2}"#);
    assert_eq!((status, answer.as_str()), (401, "signature mismatch"));
    // 3. re-serialized by a framework
    let (status, _) = deliver(&base, "/hooks/github", &valid_headers, br#"{"a":1}"#);
    assert_eq!(status, 401);
    // 4. hostile content, validly signed
    let mut hostile_headers = signed(HOSTILE_BODY.as_bytes());
    hostile_headers.push(("x-evil".to_owned(), HOSTILE_HEADER.to_owned()));
    assert_eq!(deliver(&base, "/evil", &hostile_headers, HOSTILE_BODY.as_bytes()).0, 202);
    assert_eq!(seen.lock().unwrap().len(), 2, "rejected deliveries are not forwarded");
    // Not a delivery: a GET outside the inspector; the reserved prefix
    assert_eq!(agent().get(format!("{base}/hooks")).call().unwrap().status().as_u16(), 405);
    assert_eq!(agent().post(format!("{base}/_hooksig/nothing")).send_empty().unwrap().status().as_u16(), 404);

    let list = get_json(&format!("{base}/_hooksig/api/deliveries"));
    let list = list.as_array().unwrap();
    let verdicts: Vec<&str> = list.iter().map(|d| d["verdict"].as_str().unwrap()).collect();
    assert_eq!(verdicts, ["verified", "rejected", "rejected", "verified"], "newest first");
    let ids: Vec<u64> = list.iter().map(|d| d["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [4, 3, 2, 1]);
    assert_eq!(list[3]["key"], "$HOOKSIG_TEST_SECRET");
    assert_eq!(list[3]["forward"]["status"], 202);
    assert_eq!(list[2]["error"], "no signature matches any configured secret");
    let hint = |d: &Value| d["hints"][0].as_str().unwrap_or("").to_owned();
    assert!(hint(&list[2]).starts_with("none of the usual mistakes"), "{}", hint(&list[2]));
    assert!(hint(&list[1]).contains("re-encoded with a space after"), "{}", hint(&list[1]));
    assert!(list[1]["forward"].is_null());

    let one = get_json(&format!("{base}/_hooksig/api/deliveries/1"));
    assert_eq!(Base64::decode_vec(one["body_base64"].as_str().unwrap()).unwrap(), valid);
    assert_eq!(one["path"], "/hooks/github?x=1");
    let pairs = one["headers"].as_array().unwrap();
    assert!(pairs.iter().any(|p| p[0] == "x-hub-signature-256" && p[1] == sig(&valid_headers)));
    let text = serde_json::to_string(&list).unwrap() + &one.to_string();
    assert!(!text.contains(SECRET), "the secret is never served");

    // The detail page: the JSON pretty-printed in the order received.
    let detail = get_text(&format!("{base}/_hooksig/deliveries/1"));
    assert!(detail.contains("{\n  &quot;a&quot;: 1\n}"), "{detail}");
    assert!(detail.contains("Replay"));

    // Replay: the page's token and origin required
    let page = get_text(&format!("{base}/_hooksig/"));
    let token = token(&page);
    assert_eq!(replay(&base, 1, &[]).0, 403, "no token");
    assert_eq!(replay(&base, 1, &[("X-Hooksig-Token", "0")]).0, 403, "wrong token");
    assert_eq!(replay(&base, 1, &[("X-Hooksig-Token", &token), ("Origin", "http://evil.example")]).0, 403);
    let (status, answer) = replay(&base, 1, &[("X-Hooksig-Token", &token), ("Origin", &base)]);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(serde_json::from_str::<Value>(&answer).unwrap()["status"], 202);
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 3);
        assert_eq!(&seen[2].2[..], valid, "replayed byte for byte");
        assert_eq!(seen[2].1["x-hub-signature-256"], sig(&valid_headers));
    }
    // A foreign Host (DNS rebinding) is refused on the page and the API.
    let foreign =
        agent().get(format!("{base}/_hooksig/api/deliveries")).header("Host", "evil.example").call();
    assert_eq!(foreign.unwrap().status().as_u16(), 403);

    // Restart on the same store: still listed.
    drop(listen);
    let listen = start_listen(&store, None);
    let list = get_json(&format!("{}/_hooksig/api/deliveries", listen.base));
    assert_eq!(list.as_array().unwrap().len(), 4);
    assert_eq!(list[0]["path"], "/evil");
    // Without --forward-to: 200 for a verified delivery.
    assert_eq!(deliver(&listen.base, "/again", &valid_headers, valid), (200, "verified".to_owned()));
    drop(listen);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(started.elapsed() < Duration::from_secs(120));
}

/// A header value that is not UTF-8 (obs-text, which HTTP allows) reaches the app as
/// the same bytes when forwarded, and again when replayed from the store, including
/// after a restart.
#[test]
fn non_utf8_header_values_are_forwarded_and_replayed_byte_for_byte() {
    let dir = temp_dir("raw");
    let store = dir.join("raw.redb");
    let (app_port, seen) = start_app();
    let listen = start_listen(&store, Some(app_port));
    let body = br#"{"raw":1}"#;
    let latin1 = b"caf\xe9 cr\xe8me";
    let mut request = agent().post(format!("{}/hook", listen.base));
    for (name, value) in signed(body) {
        request = request.header(name, value);
    }
    let request = request.header("x-latin1", axum::http::HeaderValue::from_bytes(latin1).unwrap());
    assert_eq!(request.send(&body[..]).unwrap().status().as_u16(), 202);
    assert_eq!(seen.lock().unwrap()[0].1["x-latin1"].as_bytes(), latin1, "forwarded as received");

    let one = get_json(&format!("{}/_hooksig/api/deliveries/1", listen.base));
    let shown = one["headers"].as_array().unwrap().iter().find(|p| p[0] == "x-latin1").unwrap()[1].clone();
    assert_eq!(shown, "caf\u{fffd} cr\u{fffd}me", "shown as text");
    drop(listen);

    let listen = start_listen(&store, Some(app_port));
    let token = token(&get_text(&format!("{}/_hooksig/", listen.base)));
    let (status, answer) = replay(&listen.base, 1, &[("X-Hooksig-Token", &token), ("Origin", &listen.base)]);
    assert_eq!(status, 200, "{answer}");
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[1].1["x-latin1"].as_bytes(), latin1, "replayed as received");
        assert_eq!(&seen[1].2[..], body);
    }
    drop(listen);
    let _ = std::fs::remove_dir_all(&dir);
}

/// An https app with a self-signed certificate: `--cacert` trusts it, `--insecure`
/// skips the check, and without either the forward is refused (502, recorded).
#[test]
fn forward_to_https_with_cacert_or_insecure() {
    let dir = temp_dir("tls");
    let rx = tls_receiver(Scheme::github(), SECRET, &["127.0.0.1"], Duration::from_secs(120));
    let app = rx.url.trim_end_matches("/hook").to_owned();
    let cacert = dir.join("cert.pem");
    std::fs::write(&cacert, &rx.cert_pem).unwrap();
    let cacert = cacert.to_str().unwrap();
    let body = br#"{"zen":"tls"}"#;
    for (store, trust) in [("c.redb", ["--cacert", cacert].as_slice()), ("i.redb", ["--insecure"].as_slice())]
    {
        let mut args = vec!["--forward-to", app.as_str()];
        args.extend_from_slice(trust);
        let listen = start_listen_with(&dir.join(store), None, &args);
        assert_eq!(deliver(&listen.base, "/hook", &signed(body), body), (200, "ok".to_owned()), "{trust:?}");
    }
    {
        // The app got both deliveries byte for byte, and they verify there.
        let calls = rx.calls.lock().unwrap();
        assert_eq!(calls.len(), 2);
        for call in calls.iter() {
            assert_eq!(call.request_line, "POST /hook HTTP/1.1");
            assert_eq!(call.body, body);
            assert!(call.verified);
        }
    }

    let listen = start_listen_with(&dir.join("n.redb"), None, &["--forward-to", app.as_str()]);
    assert_eq!(deliver(&listen.base, "/hook", &signed(body), body).0, 502);
    let list = get_json(&format!("{}/_hooksig/api/deliveries", listen.base));
    assert!(list[0]["forward"]["status"].is_null());
    assert!(list[0]["forward"]["error"].is_string(), "{}", list[0]);
    assert_eq!(rx.calls.lock().unwrap().len(), 2, "nothing reached the app");
    drop(listen);
    drop(rx);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn forward_rejected_marks_them_and_an_unreachable_app_is_502() {
    let dir = temp_dir("fwd");
    let (app_port, seen) = start_app();
    let listen = start_listen_with(&dir.join("f.redb"), Some(app_port), &["--forward-rejected"]);
    let body = br#"{"a":1}"#;
    // A sender cannot set the verdict: its Hooksig-Verdict header is dropped.
    let mut headers = signed(body);
    headers.push(("hooksig-verdict".to_owned(), "verified".to_owned()));
    assert_eq!(deliver(&listen.base, "/ok", &headers, body).0, 202);
    assert_eq!(deliver(&listen.base, "/bad", &headers, b"tampered").0, 202, "the app's answer");
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert!(seen[0].1.get("hooksig-verdict").is_none());
        assert_eq!(seen[1].0, "/bad");
        assert_eq!(&seen[1].2[..], b"tampered");
        let verdicts: Vec<_> = seen[1].1.get_all("hooksig-verdict").iter().collect();
        assert_eq!(verdicts, ["rejected"]);
    }
    drop(listen);

    // Nothing listens on the forward target: 502, recorded.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = start_listen_with(&dir.join("g.redb"), Some(closed), &[]);
    assert_eq!(deliver(&listen.base, "/ok", &signed(body), body).0, 502);
    let list = get_json(&format!("{}/_hooksig/api/deliveries", listen.base));
    assert!(list[0]["forward"]["status"].is_null());
    assert!(list[0]["forward"]["error"].is_string());
    drop(listen);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn store_is_bounded_by_keep() {
    let dir = temp_dir("keep");
    let listen = start_listen_with(&dir.join("s.redb"), None, &["--keep", "3"]);
    deliver_numbered(&listen.base, 5);
    let list = get_json(&format!("{}/_hooksig/api/deliveries", listen.base));
    assert_eq!(ids(&list), [5, 4, 3]);
    drop(listen);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The list comes in pages: `limit` deliveries older than `before`, newest first, each
/// API page naming the next in a `Link` header and each HTML page linking to it.
#[test]
fn the_list_is_paged() {
    let dir = temp_dir("pages");
    let listen = start_listen(&dir.join("p.redb"), None);
    deliver_numbered(&listen.base, 7);
    let mut url = format!("{}/_hooksig/api/deliveries?limit=3", listen.base);
    let mut pages = Vec::new();
    loop {
        let response = agent().get(&url).call().unwrap();
        assert_eq!(response.status().as_u16(), 200, "{url}");
        let next = response.headers().get("link").map(|l| l.to_str().unwrap().to_owned());
        let list: Value = serde_json::from_str(&response.into_body().read_to_string().unwrap()).unwrap();
        pages.push(ids(&list));
        let Some(next) = next else { break };
        let path = next.strip_prefix('<').and_then(|l| l.strip_suffix(">; rel=\"next\"")).unwrap();
        url = format!("{}{path}", listen.base);
        assert!(pages.len() < 10, "the pages end");
    }
    assert_eq!(pages, [vec![7, 6, 5], vec![4, 3, 2], vec![1]]);
    let all = get_json(&format!("{}/_hooksig/api/deliveries", listen.base));
    assert_eq!(all.as_array().unwrap().len(), 7, "one page by default");
    for bad in ["limit=0", "limit=1001", "limit=x", "before=-1"] {
        let status =
            agent().get(format!("{}/_hooksig/api/deliveries?{bad}", listen.base)).call().unwrap().status();
        assert_eq!(status.as_u16(), 400, "{bad}");
    }

    let newest = get_text(&format!("{}/_hooksig/?limit=3", listen.base));
    assert!(newest.contains("id=\"deliveries\""), "the newest page is live");
    assert!(newest.contains("href=\"/_hooksig/?before=5&amp;limit=3\""), "{newest}");
    let older = get_text(&format!("{}/_hooksig/?before=5&limit=3", listen.base));
    assert!(!older.contains("id=\"deliveries\""), "an older page is not live");
    assert!(older.contains("/_hooksig/deliveries/4\"") && !older.contains("/_hooksig/deliveries/5\""));
    assert!(older.contains("href=\"/_hooksig/?before=2&amp;limit=3\""), "{older}");
    let last = get_text(&format!("{}/_hooksig/?before=2&limit=3", listen.base));
    assert!(last.contains("/_hooksig/deliveries/1\"") && !last.contains("id=\"older\""), "{last}");
    drop(listen);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn live_events_and_their_bound() {
    let dir = temp_dir("sse");
    let listen = start_listen(&dir.join("e.redb"), None);
    let url = format!("{}/_hooksig/api/events", listen.base);
    let mut first = agent().get(&url).call().unwrap();
    assert_eq!(first.status().as_u16(), 200);
    let mut reader = BufReader::new(first.body_mut().as_reader());
    let body = br#"{"live":true}"#;
    assert_eq!(deliver(&listen.base, "/live", &signed(body), body).0, 200);
    let mut line = String::new();
    loop {
        line.clear();
        assert!(reader.read_line(&mut line).unwrap() > 0, "the event stream ended");
        if line.starts_with("data:") {
            break;
        }
    }
    let event: Value = serde_json::from_str(line.trim_start_matches("data:").trim()).unwrap();
    assert_eq!(event["path"], "/live");
    assert_eq!(event["verdict"], "verified");
    // At most 16 live pages at once.
    let others: Vec<_> = (1..16).map(|_| agent().get(&url).call().unwrap()).collect();
    assert!(others.iter().all(|r| r.status().as_u16() == 200));
    assert_eq!(agent().get(&url).call().unwrap().status().as_u16(), 503);
    drop(others);
    drop(reader);
    drop(listen);
    let _ = std::fs::remove_dir_all(&dir);
}

fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|name| {
        std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join(name)).find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("HOOKSIG_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "chromium is missing and HOOKSIG_REQUIRE_BROWSER=1"
        );
        eprintln!(
            "skipped: chromium not found (apt-get install chromium); set HOOKSIG_REQUIRE_BROWSER=1 to fail instead"
        );
    }
    found
}

/// Runs headless chromium with these arguments (bounded); its standard output.
fn run_chromium(chromium: &Path, profile: &Path, args: &[&str]) -> String {
    let mut child = Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stdout), &mut out);
        out
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().unwrap()
}

#[test]
fn the_page_in_a_headless_browser() {
    let Some(chromium) = chromium() else { return };
    let dir = temp_dir("browser");
    let listen = start_listen(&dir.join("b.redb"), None);
    let base = listen.base.clone();
    let valid =
        br#"{"event":"push","ref":"refs/heads/main","commits":[{"id":"3f2a","message":"Fix the build"}]}"#;
    let headers = signed(valid);
    assert_eq!(deliver(&base, "/hooks/github", &headers, valid).0, 200);
    assert_eq!(
        deliver(
            &base,
            "/hooks/github",
            &headers,
            br#"{"event":"push","ref":"refs/heads/main","commits":[{"id":"3f2a","message":"Fix the build"}]}
"#
        )
        .0,
        401
    );
    let mut hostile = signed(HOSTILE_BODY.as_bytes());
    hostile.push(("x-evil".to_owned(), HOSTILE_HEADER.to_owned()));
    assert_eq!(deliver(&base, "/evil", &hostile, HOSTILE_BODY.as_bytes()).0, 200);

    let profile = dir.join("profile");
    let list = run_chromium(&chromium, &profile, &["--dump-dom", &format!("{base}/_hooksig/")]);
    assert!(list.contains("<title>hooksig listen</title>"), "the onerror did not run:\n{list}");
    assert!(!list.contains("pwned</title>"));
    assert_eq!(list.matches("badge verified").count(), 2, "{list}");
    assert_eq!(list.matches("badge rejected").count(), 1, "{list}");
    assert!(list.contains("trailing newline"), "the hint is shown");
    assert!(!list.contains("<img"), "no element from the body: {list}");

    let detail = run_chromium(&chromium, &profile, &["--dump-dom", &format!("{base}/_hooksig/deliveries/3")]);
    assert!(detail.contains("<title>hooksig listen</title>"), "{detail}");
    assert!(detail.contains("&lt;img src=x onerror="), "the body as text: {detail}");
    assert!(detail.contains("&lt;script&gt;document.title="), "the header as text: {detail}");
    assert!(!detail.contains("<img") && !detail.contains("<script>document"), "{detail}");

    if std::env::var("HOOKSIG_SCREENSHOTS").as_deref() == Ok("1") {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
        std::fs::create_dir_all(&docs).unwrap();
        for (file, url) in [
            ("listen-list.png", format!("{base}/_hooksig/")),
            ("listen-detail.png", format!("{base}/_hooksig/deliveries/1")),
        ] {
            let shot = docs.join(file);
            run_chromium(
                &chromium,
                &profile,
                &[
                    &format!("--screenshot={}", shot.display()),
                    "--window-size=1280,800",
                    "--hide-scrollbars",
                    &url,
                ],
            );
            assert!(shot.is_file(), "{} written", shot.display());
        }
    }
    drop(listen);
    let _ = std::fs::remove_dir_all(&dir);
}
