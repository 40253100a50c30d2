//! `hooksig listen`: a local receiver that verifies every delivery, explains the
//! rejected ones, optionally forwards them to the app under development, keeps them in
//! a redb file and shows them on a page that updates live.

mod page;
mod store;

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64ct::{Base64, Encoding};
use clap::Args;
use hooksig::diagnosis::Diagnosis;
use hooksig::{Error, Verifier};
use tokio::sync::broadcast;

use crate::input;
use crate::input::KeyKind;
use crate::tls::{self, Trust};
use crate::{Failure, PublicKeyArgs, SchemeArg, SecretArgs, SubMatches, warn};
use store::{Forward, Record, Store};

/// The prefix of the inspector's own pages and API; everything else is a delivery.
const PREFIX: &str = "/_hooksig/";
/// At most this many live pages (Server-Sent Events clients) at once.
const MAX_SSE_CLIENTS: usize = 16;
/// The app's answer to a forwarded delivery is read up to this size.
const MAX_FORWARD_RESPONSE: u64 = 10 * 1024 * 1024;
/// A page of the list holds at most this many deliveries.
const MAX_LIST: usize = 1000;

/// Which page of the list: the deliveries older than `before` (an id; default: the
/// newest), at most `limit` of them (1 to [`MAX_LIST`], default [`MAX_LIST`]).
#[derive(serde::Deserialize)]
pub(crate) struct ListPage {
    before: Option<u64>,
    limit: Option<usize>,
}

impl ListPage {
    /// The page's records, and the `before` of the next (older) page if there is one;
    /// or the status and message of the failure (400 for a bad `limit`, 500 for the store).
    pub(crate) fn read(&self, store: &Store) -> Result<(Vec<Record>, Option<u64>), (StatusCode, String)> {
        let limit = self.limit();
        if !(1..=MAX_LIST).contains(&limit) {
            return Err((StatusCode::BAD_REQUEST, format!("limit must be 1 to {MAX_LIST}")));
        }
        let mut records = store
            .list(self.before, limit.saturating_add(1))
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, format!("store error: {e}")))?;
        let older =
            if records.len() > limit { records.get(limit.saturating_sub(1)).map(|r| r.id) } else { None };
        records.truncate(limit);
        Ok((records, older))
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit.unwrap_or(MAX_LIST)
    }

    /// Whether this is the first (newest, live) page.
    pub(crate) fn is_newest(&self) -> bool {
        self.before.is_none()
    }
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("keys").required(true).multiple(true).args(
    ["secret_env", "secret_file", "secret", "public_key_env", "public_key_file", "public_key"]
)))]
pub struct ListenArgs {
    #[command(flatten)]
    scheme: SchemeArg,
    #[command(flatten)]
    secrets: SecretArgs,
    #[command(flatten)]
    public_keys: PublicKeyArgs,
    /// The port to listen on (0: any free port; the URLs printed say which).
    #[arg(long, default_value_t = 8787)]
    port: u16,
    /// The address to listen on. Anything but loopback exposes the inspector, which
    /// shows every delivery, to the network (a warning is printed).
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Forward verified deliveries, byte for byte with their headers, to this URL +
    /// the path they were sent to; the app's answer goes back to the sender.
    #[arg(long, value_name = "URL")]
    forward_to: Option<String>,
    /// Forward rejected deliveries too, marked `Hooksig-Verdict: rejected`.
    #[arg(long, requires = "forward_to")]
    forward_rejected: bool,
    /// For an https:// --forward-to: also trust the certificates in this PEM file
    /// (an app serving a self-signed certificate); repeat for more files.
    #[arg(long, value_name = "PEM", requires = "forward_to", help_heading = "https")]
    cacert: Vec<PathBuf>,
    /// For an https:// --forward-to: do not verify the app's certificate at all (a
    /// warning is printed). For local development only.
    #[arg(long, conflicts_with = "cacert", requires = "forward_to", help_heading = "https")]
    insecure: bool,
    /// The redb file deliveries are kept in (default:
    /// $XDG_DATA_HOME/hooksig/listen.redb or ~/.local/share/hooksig/listen.redb).
    #[arg(long, value_name = "PATH")]
    store: Option<PathBuf>,
    /// Keep the newest N deliveries.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    #[arg(value_parser = clap::value_parser!(u64).range(1..=100_000))]
    keep: u64,
}

struct AppState {
    verifier: Verifier,
    diagnosis: Arc<Diagnosis>,
    store: Store,
    forward_to: Option<String>,
    forward_rejected: bool,
    agent: ureq::Agent,
    token: String,
    /// `Host` values the inspector answers (DNS rebinding); empty: any.
    hosts: Vec<String>,
    events: broadcast::Sender<String>,
    sse_clients: AtomicUsize,
    receive_base: String,
}

type Shared = Arc<AppState>;

pub fn run(args: &ListenArgs, matches: SubMatches<'_>) -> Result<(), Failure> {
    let scheme = &args.scheme.scheme;
    let secrets = input::keys(&args.secrets, Some((&args.public_keys).into()), matches)?;
    let mut builder = Verifier::builder(scheme.clone());
    let mut diagnosis = Diagnosis::new(scheme.clone());
    for secret in &secrets {
        let (label, value) = (secret.label.as_str(), &*secret.value);
        (builder, diagnosis) = match secret.kind {
            KeyKind::Public => (builder.labeled_public_key(label, value), diagnosis.public_key(label, value)),
            _ => (builder.labeled_secret(label, value), diagnosis.secret(label, value)),
        };
    }
    let verifier = builder.build().map_err(|e| crate::sign::secret_failure(scheme, e))?;
    drop(secrets);

    let tls = match &args.forward_to {
        None => None,
        Some(url) => {
            let uri: http::Uri =
                url.parse().map_err(|e| Failure::usage(format!("bad --forward-to `{url}`: {e}")))?;
            match uri.scheme_str() {
                Some("http") => {
                    if !args.cacert.is_empty() || args.insecure {
                        crate::warn(
                            "--cacert and --insecure only apply to an https:// --forward-to; ignored",
                        );
                    }
                    None
                }
                Some("https") => {
                    let trust = if args.insecure { Trust::Insecure } else { Trust::Roots(&args.cacert) };
                    Some(tls::config(&trust, uri.host().unwrap_or("the app"))?)
                }
                _ => {
                    return Err(Failure::usage(format!(
                        "bad --forward-to `{url}`: expected http://host[:port][/path] or https://…"
                    )));
                }
            }
        }
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .tls_config(tls.unwrap_or_default())
        .build()
        .into();

    let store_path = args.store.clone().unwrap_or_else(store::default_path);
    let store = Store::open(&store_path, args.keep).map_err(Failure::usage)?;
    let mut token_bytes = [0u8; 32];
    getrandom::fill(&mut token_bytes)
        .map_err(|e| Failure::failed(format!("no randomness for the token: {e}")))?;
    let token: String = token_bytes.iter().map(|b| format!("{b:02x}")).collect();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::failed(format!("cannot start the server: {e}")))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(SocketAddr::new(args.bind, args.port))
            .await
            .map_err(|e| Failure::failed(format!("cannot listen on {}:{}: {e}", args.bind, args.port)))?;
        let addr = listener.local_addr()?;
        let shown = if args.bind.is_unspecified() { SocketAddr::new([127, 0, 0, 1].into(), addr.port()) } else { addr };
        let hosts = if args.bind.is_unspecified() {
            Vec::new()
        } else {
            let port = addr.port();
            let mut hosts = vec![format!("127.0.0.1:{port}"), format!("localhost:{port}"), format!("[::1]:{port}")];
            hosts.push(addr.to_string());
            hosts
        };
        if !args.bind.is_loopback() {
            warn(&format!(
                "LISTENING ON {addr}, NOT LOOPBACK: anyone who can reach this address can send deliveries and read \
                 every delivery received (headers and bodies) on the inspector page"
            ));
        }
        let (events, _) = broadcast::channel(64);
        let state = Arc::new(AppState {
            verifier,
            diagnosis: Arc::new(diagnosis),
            store,
            forward_to: args.forward_to.as_ref().map(|u| u.trim_end_matches('/').to_owned()),
            forward_rejected: args.forward_rejected,
            agent,
            token,
            hosts,
            events,
            sse_clients: AtomicUsize::new(0),
            receive_base: format!("http://{shown}"),
        });
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            writeln!(out, "receiving {} deliveries at http://{shown}/ (any path)", scheme.name())?;
            writeln!(out, "inspector: http://{shown}{PREFIX}")?;
            writeln!(out, "store: {} (newest {})", state.store.path.display(), args.keep)?;
            if let Some(url) = &state.forward_to {
                writeln!(out, "forwarding verified deliveries to {url}")?;
            }
            out.flush()?;
        }
        // Ctrl-C ends the process at once: a graceful shutdown would wait for the
        // live pages' event streams, which never end.
        tokio::select! {
            served = axum::serve(listener, router(state)) => {
                served.map_err(|e| Failure::failed(format!("server error: {e}")))
            }
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    })
}

fn router(state: Shared) -> Router {
    Router::new()
        .route("/_hooksig/", get(page::list))
        .route("/_hooksig/app.js", get(page::script))
        .route("/_hooksig/app.css", get(page::style))
        .route("/_hooksig/deliveries/{id}", get(page::detail))
        .route("/_hooksig/api/deliveries", get(api_list))
        .route("/_hooksig/api/deliveries/{id}", get(api_get))
        .route("/_hooksig/api/deliveries/{id}/replay", post(api_replay))
        .route("/_hooksig/api/events", get(api_events))
        .fallback(receive)
        .with_state(state)
}

/// A plain-text answer.
fn text(status: StatusCode, message: impl Into<String>) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message.into()).into_response()
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], value.to_string()).into_response()
}

/// Refuses a request to the inspector whose `Host` is not this server's own (DNS
/// rebinding).
fn check_host(state: &AppState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    if state.hosts.is_empty() {
        return Ok(());
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if state.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        Ok(())
    } else {
        Err(Box::new(text(StatusCode::FORBIDDEN, "forbidden: unknown Host")))
    }
}

/// A state-changing request must carry the page's token and, when it has an
/// `Origin`, come from the page's own origin.
fn check_write(state: &AppState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    check_host(state, headers)?;
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        let own = format!("http://{host}");
        if origin.as_bytes() != own.as_bytes() {
            return Err(Box::new(text(StatusCode::FORBIDDEN, "forbidden: foreign Origin")));
        }
    }
    let given = headers.get("x-hooksig-token").map(HeaderValue::as_bytes).unwrap_or_default();
    if !constant_time_eq(given, state.token.as_bytes()) {
        return Err(Box::new(text(StatusCode::FORBIDDEN, "forbidden: missing or wrong X-Hooksig-Token")));
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Any request outside the inspector: a POST is a delivery.
async fn receive(State(state): State<Shared>, request: Request) -> Response {
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
    if request.uri().path().starts_with(PREFIX) || request.uri().path() == "/_hooksig" {
        return text(StatusCode::NOT_FOUND, "not found");
    }
    if request.method() != Method::POST {
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed: deliveries are POSTs");
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let received = SystemTime::now();
    let method = request.method().to_string();
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let limit = state.verifier.max_body();
    let (body, result) = match axum::body::to_bytes(body, limit).await {
        Ok(body) => {
            let result = state.verifier.verify_at(&headers, &body, received);
            (body, result)
        }
        Err(_) => (Bytes::new(), Err(Error::BodyTooLarge { limit })),
    };
    let (verdict, error, key, hints) = match &result {
        Ok(verified) => ("verified", None, verified.label().map(str::to_owned), Vec::new()),
        Err(e) => {
            let hints = if matches!(e, Error::BodyTooLarge { .. }) {
                Vec::new()
            } else {
                let diagnosis = Arc::clone(&state.diagnosis);
                let (h, b, e2) = (headers.clone(), body.clone(), e.clone());
                tokio::task::spawn_blocking(move || {
                    diagnosis.explain(&h, &b, received, &e2).iter().map(ToString::to_string).collect()
                })
                .await
                .unwrap_or_default()
            };
            ("rejected", Some(e.to_string()), None, hints)
        }
    };

    let forward_this = state.forward_to.is_some() && (result.is_ok() || state.forward_rejected);
    let mut answer: Option<(StatusCode, Bytes)> = None;
    let mut forward = None;
    if forward_this {
        let (f, a) = forward_delivery(&state, &path, &headers, body.clone(), result.is_err()).await;
        forward = Some(f);
        answer = Some(a);
    }
    let record = Record {
        id: 0,
        received_at: rfc3339(received),
        method,
        path: path.clone(),
        headers: header_pairs(&headers),
        raw_values: raw_values(&headers),
        size: body.len(),
        verdict: verdict.to_owned(),
        error,
        hints,
        key,
        forward,
    };
    let store_state = Arc::clone(&state);
    let stored = tokio::task::spawn_blocking(move || store_state.store.insert(record, &body)).await;
    match stored {
        Ok(Ok(record)) => {
            let _ = state.events.send(summary(&record).to_string());
        }
        Ok(Err(e)) => warn(&format!("cannot store a delivery: {e}")),
        Err(e) => warn(&format!("cannot store a delivery: {e}")),
    }
    match (answer, result) {
        (Some((status, body)), _) => (status, body).into_response(),
        (None, Ok(_)) => text(StatusCode::OK, "verified"),
        (None, Err(e)) => text(e.status(), e.public_message()),
    }
}

/// Headers that belong to one connection, not to the delivery.
fn hop_by_hop(name: &HeaderName, connection: &[String]) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            | "content-length"
            // set by listen itself, never taken from the sender
            | "hooksig-verdict"
    ) || connection.iter().any(|c| c.eq_ignore_ascii_case(name.as_str()))
}

/// Sends the bytes to `--forward-to` + path; the forward record and the answer for the
/// sender (502 when the app cannot be reached).
async fn forward_delivery(
    state: &Shared,
    path: &str,
    headers: &HeaderMap,
    body: Bytes,
    rejected: bool,
) -> (Forward, (StatusCode, Bytes)) {
    let base = state.forward_to.clone().unwrap_or_default();
    let url = format!("{base}{path}");
    let connection: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|s| s.trim().to_owned()))
        .collect();
    let mut send: Vec<(HeaderName, HeaderValue)> = headers
        .iter()
        .filter(|(n, _)| !hop_by_hop(n, &connection))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    if rejected {
        send.push((HeaderName::from_static("hooksig-verdict"), HeaderValue::from_static("rejected")));
    }
    let agent = state.agent.clone();
    let target = url.clone();
    let started = Instant::now();
    let outcome = tokio::task::spawn_blocking(move || -> Result<(u16, Vec<u8>), String> {
        let mut request = agent.post(&target);
        for (name, value) in send {
            request = request.header(name, value);
        }
        let mut response = request.send(&body[..]).map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let answer = response
            .body_mut()
            .with_config()
            .limit(MAX_FORWARD_RESPONSE)
            .read_to_vec()
            .map_err(|e| e.to_string())?;
        Ok((status, answer))
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match outcome {
        Ok((status, answer)) => (
            Forward { url, status: Some(status), latency_ms, error: None },
            (StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY), Bytes::from(answer)),
        ),
        Err(e) => (
            Forward { url, status: None, latency_ms, error: Some(e) },
            (
                StatusCode::BAD_GATEWAY,
                Bytes::from_static(b"bad gateway: the app behind hooksig listen is unreachable"),
            ),
        ),
    }
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect()
}

/// The header values that are not UTF-8 (see [`Record::raw_values`]).
fn raw_values(headers: &HeaderMap) -> Vec<(usize, String)> {
    headers
        .values()
        .enumerate()
        .filter(|(_, v)| std::str::from_utf8(v.as_bytes()).is_err())
        .map(|(i, v)| (i, Base64::encode_string(v.as_bytes())))
        .collect()
}

/// The headers of a stored delivery as received: the text of each value, or its
/// bytes where they were not UTF-8. A pair that is not a valid header is left out.
fn stored_headers(record: &Record) -> HeaderMap {
    let mut stored = HeaderMap::new();
    for (i, (name, text)) in record.headers.iter().enumerate() {
        let raw = record
            .raw_values
            .iter()
            .find(|(at, _)| *at == i)
            .and_then(|(_, b64)| Base64::decode_vec(b64).ok());
        let value = match raw {
            Some(bytes) => HeaderValue::from_bytes(&bytes),
            None => HeaderValue::from_str(text),
        };
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), value) {
            stored.append(n, v);
        }
    }
    stored
}

/// A record as the list shows it (no headers, no body).
fn summary(r: &Record) -> serde_json::Value {
    serde_json::json!({
        "id": r.id,
        "received_at": r.received_at,
        "method": r.method,
        "path": r.path,
        "size": r.size,
        "verdict": r.verdict,
        "error": r.error,
        "hints": r.hints,
        "key": r.key,
        "forward": r.forward,
    })
}

/// `GET /_hooksig/api/deliveries[?before=ID][&limit=N]`: newest first; the `Link`
/// header (`rel="next"`) names the older page when there is one.
async fn api_list(State(state): State<Shared>, headers: HeaderMap, Query(page): Query<ListPage>) -> Response {
    if let Err(r) = check_host(&state, &headers) {
        return *r;
    }
    match page.read(&state.store) {
        Ok((records, older)) => {
            let list = serde_json::Value::Array(records.iter().map(summary).collect());
            let mut response = json(StatusCode::OK, &list);
            if let Some(id) = older {
                let next =
                    format!("</_hooksig/api/deliveries?before={id}&limit={}>; rel=\"next\"", page.limit());
                if let Ok(value) = HeaderValue::from_str(&next) {
                    response.headers_mut().insert(header::LINK, value);
                }
            }
            response
        }
        Err((status, message)) => json(status, &serde_json::json!({ "error": message })),
    }
}

fn parse_id(id: &str) -> Option<u64> {
    id.parse().ok()
}

async fn api_get(State(state): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = check_host(&state, &headers) {
        return *r;
    }
    match parse_id(&id).map(|id| state.store.get(id)) {
        Some(Ok(Some((record, body)))) => {
            let mut value = summary(&record);
            if let Some(object) = value.as_object_mut() {
                object.insert("headers".into(), serde_json::json!(record.headers));
                object.insert("body_base64".into(), Base64::encode_string(&body).into());
            }
            json(StatusCode::OK, &value)
        }
        Some(Err(e)) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("store error: {e}")),
        _ => json(StatusCode::NOT_FOUND, &serde_json::json!({ "error": "no such delivery" })),
    }
}

async fn api_replay(State(state): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = check_write(&state, &headers) {
        return *r;
    }
    if state.forward_to.is_none() {
        return json(
            StatusCode::CONFLICT,
            &serde_json::json!({ "error": "nothing to replay to: start hooksig listen with --forward-to URL" }),
        );
    }
    let (mut record, body) = match parse_id(&id).map(|id| state.store.get(id)) {
        Some(Ok(Some(found))) => found,
        Some(Err(e)) => return text(StatusCode::INTERNAL_SERVER_ERROR, format!("store error: {e}")),
        _ => return json(StatusCode::NOT_FOUND, &serde_json::json!({ "error": "no such delivery" })),
    };
    let stored = stored_headers(&record);
    let rejected = record.verdict != "verified";
    let (forward, _) = forward_delivery(&state, &record.path, &stored, Bytes::from(body), rejected).await;
    record.forward = Some(forward.clone());
    if state.store.update(&record).is_ok() {
        let _ = state.events.send(summary(&record).to_string());
    }
    json(StatusCode::OK, &serde_json::json!(forward))
}

/// Decrements the live-client count when an event stream ends.
struct ClientSlot(Shared);

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.0.sse_clients.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn api_events(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Err(r) = check_host(&state, &headers) {
        return *r;
    }
    if state.sse_clients.fetch_add(1, Ordering::SeqCst) >= MAX_SSE_CLIENTS {
        state.sse_clients.fetch_sub(1, Ordering::SeqCst);
        return text(StatusCode::SERVICE_UNAVAILABLE, "too many live pages open");
    }
    let slot = ClientSlot(Arc::clone(&state));
    let rx = state.events.subscribe();
    let stream = futures_util::stream::unfold((rx, slot), |(mut rx, slot)| async move {
        loop {
            match rx.recv().await {
                Ok(data) => {
                    return Some((
                        Ok::<_, Infallible>(Event::default().event("delivery").data(data)),
                        (rx, slot),
                    ));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

/// `2026-12-02T06:19:53Z`.
fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The body as the detail page shows it: JSON pretty-printed with its keys in the
/// order received, UTF-8 text as it is, anything else as a hex dump.
fn body_text(body: &[u8]) -> (&'static str, String) {
    if let Some(pretty) = hooksig::diagnosis::pretty_json(body).and_then(|p| String::from_utf8(p).ok()) {
        return ("JSON", pretty);
    }
    match std::str::from_utf8(body) {
        Ok(text) => ("text", text.to_owned()),
        Err(_) => {
            let mut out = String::new();
            for (n, chunk) in body.chunks(16).enumerate() {
                out.push_str(&format!("{:08x}  ", n * 16));
                for b in chunk {
                    out.push_str(&format!("{b:02x} "));
                }
                out.push('\n');
            }
            ("hex", out)
        }
    }
}

/// A curl command that sends the delivery again to this listener.
fn curl(state: &AppState, record: &Record, body: &[u8]) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut out =
        format!("curl -X {} {}", record.method, quote(&format!("{}{}", state.receive_base, record.path)));
    let connection: Vec<String> = Vec::new();
    for (name, value) in &record.headers {
        let n = HeaderName::from_bytes(name.as_bytes());
        if n.as_ref().is_ok_and(|n| hop_by_hop(n, &connection)) {
            continue;
        }
        out.push_str(" \\\n  -H ");
        out.push_str(&quote(&format!("{name}: {value}")));
    }
    match std::str::from_utf8(body) {
        Ok(text) => {
            out.push_str(" \\\n  --data-binary ");
            out.push_str(&quote(text));
        }
        Err(_) => out.push_str(" \\\n  --data-binary @body.bin  # the body is not UTF-8: save it first"),
    }
    out
}

impl AppState {
    fn token(&self) -> &str {
        &self.token
    }
}
