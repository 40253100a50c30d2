//! The inspector's pages: rendered on the server with every piece of delivery
//! content escaped, then kept live by `app.js` (which inserts text with
//! `textContent` only). No inline script or style: a strict Content-Security-Policy.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::store::Record;
use super::{ListPage, Shared, body_text, check_host, curl};

const SCRIPT: &str = include_str!("app.js");
const STYLE: &str = include_str!("app.css");

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

/// HTML-escapes text for element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn html(status: StatusCode, token: &str, title: &str, main: &str) -> Response {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <meta name=\"hooksig-token\" content=\"{token}\">\
         <title>hooksig listen</title>\
         <link rel=\"stylesheet\" href=\"/_hooksig/app.css\">\
         <script src=\"/_hooksig/app.js\" defer></script></head>\
         <body><header><a class=\"brand\" href=\"/_hooksig/\">hooksig listen</a> <span class=\"sub\">{title}</span></header>\
         <main>{main}</main></body></html>\n",
        token = escape(token),
        title = escape(title),
    );
    secure((status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response())
}

fn badge(verdict: &str) -> String {
    let class = if verdict == "verified" { "verified" } else { "rejected" };
    format!("<span class=\"badge {class}\">{}</span>", escape(verdict))
}

fn hints_list(hints: &[String]) -> String {
    if hints.is_empty() {
        return String::new();
    }
    let items: String = hints.iter().map(|h| format!("<li>{}</li>", escape(h))).collect();
    format!("<ul class=\"hints\">{items}</ul>")
}

fn row(r: &Record) -> String {
    let who = match (&r.key, &r.error) {
        (Some(key), _) => format!("<span class=\"key\">{}</span>", escape(key)),
        (None, Some(error)) => format!("<span class=\"error\">{}</span>", escape(error)),
        (None, None) => String::new(),
    };
    format!(
        "<tr class=\"{class}\" data-id=\"{id}\"><td><a href=\"/_hooksig/deliveries/{id}\">{time}</a></td>\
         <td class=\"path\">{path}</td><td class=\"size\">{size} B</td><td>{badge}</td><td>{who}</td><td>{hints}</td></tr>",
        class = if r.verdict == "verified" { "verified" } else { "rejected" },
        id = r.id,
        time = escape(&r.received_at),
        path = escape(&r.path),
        size = r.size,
        badge = badge(&r.verdict),
        hints = hints_list(&r.hints),
    )
}

pub(crate) async fn list(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(page): Query<ListPage>,
) -> Response {
    if let Err(r) = check_host(&state, &headers) {
        return *r;
    }
    let (records, older) = match page.read(&state.store) {
        Ok(found) => found,
        Err((status, message)) => return html(status, state.token(), "error", &escape(&message)),
    };
    let rows: String = records.iter().map(row).collect();
    let more = match older {
        Some(id) => format!(
            "<p><a id=\"older\" href=\"/_hooksig/?before={id}&amp;limit={}\">Older deliveries</a></p>",
            page.limit()
        ),
        None => String::new(),
    };
    const HEAD: &str = "<thead><tr><th>Received</th><th>Path</th><th>Size</th><th>Verdict</th>\
                        <th>Key / error</th><th>Hints</th></tr></thead>";
    if !page.is_newest() {
        // An older page: not live (the script only keeps `#deliveries` up to date).
        let main = format!(
            "<h1>Older deliveries</h1><p><a href=\"/_hooksig/\">Newest</a></p>\
             <table>{HEAD}<tbody>{rows}</tbody></table>{more}"
        );
        return html(StatusCode::OK, state.token(), "older deliveries", &main);
    }
    let empty = if records.is_empty() {
        format!(
            "<p id=\"empty\">No deliveries yet: POST one to <code>{}/</code> (any path).</p>",
            escape(&state.receive_base)
        )
    } else {
        String::new()
    };
    let main = format!(
        "<h1>Deliveries <span class=\"live\" id=\"live\">live</span></h1>{empty}\
         <table id=\"deliveries-table\">{HEAD}<tbody id=\"deliveries\">{rows}</tbody></table>{more}"
    );
    html(StatusCode::OK, state.token(), "deliveries", &main)
}

pub(crate) async fn detail(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = check_host(&state, &headers) {
        return *r;
    }
    let found = id.parse::<u64>().ok().map(|id| state.store.get(id));
    let (record, body) = match found {
        Some(Ok(Some(found))) => found,
        _ => return html(StatusCode::NOT_FOUND, state.token(), "not found", "<p>No such delivery.</p>"),
    };
    let header_rows: String = record
        .headers
        .iter()
        .map(|(n, v)| format!("<tr><th>{}</th><td>{}</td></tr>", escape(n), escape(v)))
        .collect();
    let (kind, shown) = body_text(&body);
    let forward = match &record.forward {
        None => "<p id=\"forward\">Not forwarded.</p>".to_owned(),
        Some(f) => {
            let outcome = match (f.status, &f.error) {
                (Some(status), _) => format!("answered {status}"),
                (None, Some(e)) => format!("failed: {e}"),
                (None, None) => "no answer".to_owned(),
            };
            format!(
                "<p id=\"forward\">Forwarded to <code>{}</code>: {} in {} ms.</p>",
                escape(&f.url),
                escape(&outcome),
                f.latency_ms
            )
        }
    };
    let who = match (&record.key, &record.error) {
        (Some(key), _) => format!("key <span class=\"key\">{}</span>", escape(key)),
        (None, Some(error)) => format!("<span class=\"error\">{}</span>", escape(error)),
        (None, None) => String::new(),
    };
    let replay = if state.forward_to.is_some() {
        format!(
            "<button id=\"replay\" data-id=\"{}\">Replay</button> <span id=\"replay-result\"></span>",
            record.id
        )
    } else {
        "<button id=\"replay\" disabled title=\"start hooksig listen with --forward-to URL\">Replay</button>"
            .to_owned()
    };
    let main = format!(
        "<h1>Delivery {id} {badge}</h1>\
         <p class=\"meta\"><span>{method} <code class=\"path\">{path}</code></span> <span>{time}</span> <span>{size} bytes</span> {who}</p>\
         {hints}{forward}<p>{replay}</p>\
         <h2>Headers</h2><table class=\"headers\">{header_rows}</table>\
         <h2>Body <span class=\"kind\">{kind}</span></h2><pre id=\"body\">{body}</pre>\
         <h2>Copy as curl <button id=\"copy\">Copy</button></h2><pre id=\"curl\">{curl}</pre>",
        id = record.id,
        badge = badge(&record.verdict),
        method = escape(&record.method),
        path = escape(&record.path),
        time = escape(&record.received_at),
        size = record.size,
        hints = hints_list(&record.hints),
        body = escape(&shown),
        curl = escape(&curl(&state, &record, &body)),
    );
    html(StatusCode::OK, state.token(), &format!("delivery {}", record.id), &main)
}

pub(crate) async fn script() -> Response {
    secure(([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], SCRIPT).into_response())
}

pub(crate) async fn style() -> Response {
    secure(([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response())
}
