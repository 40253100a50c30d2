//! Sending one request of the battery and classifying what came back: a status, or how
//! the exchange ended without one.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use http::{HeaderName, HeaderValue, Method};
use ureq::tls::TlsConfig;

use crate::tls;

/// The most bytes of a response body read (and dropped).
const MAX_RESPONSE: u64 = 64 * 1024;

/// How one request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// An HTTP answer with this status.
    Status(u16),
    /// No answer within the timeout.
    Timeout,
    /// The connection was reset or closed before a complete answer.
    Closed(String),
    /// No connection at all (refused, unknown host, certificate refused).
    Unreachable(String),
}

impl Answer {
    pub fn status(&self) -> Option<u16> {
        match self {
            Answer::Status(s) => Some(*s),
            _ => None,
        }
    }

    pub fn is_2xx(&self) -> bool {
        self.status().is_some_and(|s| (200..300).contains(&s))
    }

    pub fn is_4xx(&self) -> bool {
        self.status().is_some_and(|s| (400..500).contains(&s))
    }

    /// The answer in a few words: `401`, `no answer within 10 s`, `connection reset`.
    pub fn describe(&self, timeout: Duration) -> String {
        match self {
            Answer::Status(s) => s.to_string(),
            Answer::Timeout => format!("no answer within {}", seconds(timeout)),
            Answer::Closed(why) | Answer::Unreachable(why) => why.clone(),
        }
    }
}

/// One request's answer and how long it took (to the answer's head).
#[derive(Debug, Clone)]
pub struct Sent {
    pub answer: Answer,
    pub elapsed: Duration,
}

/// One request of the battery.
pub struct Request<'a> {
    pub method: Method,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: &'a [u8],
}

/// The client: one connection per request for the battery (a crash cannot be blamed on
/// the next check), keep-alive for the timing check (less noise); no proxy, no
/// redirects, so only the given URL is contacted.
pub struct Client {
    url: String,
    fresh: ureq::Agent,
    pooled: ureq::Agent,
    pub timeout: Duration,
    pub requests: u64,
    pub bytes: u64,
}

impl Client {
    pub fn new(url: &str, tls: Option<TlsConfig>, timeout: Duration) -> Self {
        let agent = |idle: usize| -> ureq::Agent {
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .proxy(None)
                .user_agent(concat!("hooksig-probe/", env!("CARGO_PKG_VERSION")))
                .max_idle_connections(idle)
                .max_idle_connections_per_host(idle)
                .timeout_global(Some(timeout))
                .tls_config(tls.clone().unwrap_or_default())
                .build()
                .into()
        };
        Client { url: url.to_owned(), fresh: agent(0), pooled: agent(1), timeout, requests: 0, bytes: 0 }
    }

    /// Sends one request on a fresh connection.
    pub fn send(&mut self, request: &Request<'_>) -> Sent {
        self.send_on(request, false)
    }

    /// Sends one request, reusing a kept-alive connection when there is one.
    pub fn send_pooled(&mut self, request: &Request<'_>) -> Sent {
        self.send_on(request, true)
    }

    fn send_on(&mut self, request: &Request<'_>, pooled: bool) -> Sent {
        let agent = if pooled { &self.pooled } else { &self.fresh };
        self.requests += 1;
        let head: usize = request.headers.iter().map(|(n, v)| n.as_str().len() + v.len() + 4).sum();
        self.bytes += (head + request.body.len()) as u64;
        let start = Instant::now();
        let result = if request.method == Method::GET {
            let mut builder = agent.get(&self.url);
            for (name, value) in &request.headers {
                builder = builder.header(name.clone(), value.clone());
            }
            builder.call()
        } else {
            let mut builder = agent.post(&self.url);
            for (name, value) in &request.headers {
                builder = builder.header(name.clone(), value.clone());
            }
            builder.send(request.body)
        };
        let elapsed = start.elapsed();
        let answer = match result {
            Ok(mut response) => {
                // Read a bounded part of the answer so a kept-alive connection can be
                // reused; what it says does not matter.
                let _ = response.body_mut().with_config().limit(MAX_RESPONSE).read_to_vec();
                Answer::Status(response.status().as_u16())
            }
            Err(e) => classify(&e),
        };
        Sent { answer, elapsed }
    }
}

fn classify(e: &ureq::Error) -> Answer {
    if let Some((problem, _)) = tls::certificate_problem(e) {
        return Answer::Unreachable(problem);
    }
    match e {
        ureq::Error::Timeout(_) => Answer::Timeout,
        ureq::Error::HostNotFound => Answer::Unreachable("host not found".to_owned()),
        ureq::Error::ConnectionFailed => Answer::Unreachable("connection failed".to_owned()),
        ureq::Error::Io(io) => match io.kind() {
            ErrorKind::ConnectionRefused => Answer::Unreachable("connection refused".to_owned()),
            ErrorKind::TimedOut | ErrorKind::WouldBlock => Answer::Timeout,
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => {
                Answer::Closed("connection reset".to_owned())
            }
            ErrorKind::BrokenPipe => Answer::Closed("connection closed while sending".to_owned()),
            ErrorKind::UnexpectedEof => Answer::Closed("connection closed without an answer".to_owned()),
            _ => Answer::Closed(format!("connection failed: {io}")),
        },
        other => Answer::Closed(format!("no HTTP answer: {other}")),
    }
}

/// `10 s`, `1.5 s`, `250 ms`.
pub fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}
