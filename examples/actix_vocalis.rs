//! A Vocalis-style webhook receiver on actix-web.
//!
//! ```text
//! cargo run --example actix_vocalis --features actix
//! PORT=8080 VOCALIS_WEBHOOK_SECRET=... cargo run --example actix_vocalis --features actix
//! ```
//!
//! - `POST /hooks/vocalis`: `X-Vocalis-Signature: sha256=<hex>` over the raw body,
//!   checked by [`VerifySignature`] before anything is parsed (401/400 otherwise;
//!   413 past 2 MiB, chunked or not, without buffering; 405 for other methods). The
//!   body is then parsed into [`VocalisEvent`]; an unknown event name is accepted
//!   (200) and logged, malformed JSON after a valid signature is 422. The handler
//!   only queues the event for a background worker and answers at once: Vocalis
//!   gives up after 10 s and retries.
//! - `GET /hooks/vocalis/stats`: accepted events by type, rejected deliveries by
//!   reason, and how many events the worker has processed, as JSON.
//!
//! # Payload shape
//!
//! A flat JSON object, internally tagged by `event`, with the fields of Vocalis's
//! `call.ended` payload. `call_id` is required for every event (it is what the work
//! is keyed on); every other field is optional, since not every event has it;
//! unknown fields are ignored:
//!
//! ```json
//! {"event":"call.ended","call_id":"call_123","agent_id":"agent_7","duration_sec":184,
//!  "result":"appointment_set","language":"en-US",
//!  "emotion_summary":{"dominant":"calm","peak":"frustration"},
//!  "transcript_url":"https://vocalis.example/t/call_123"}
//! ```
//!
//! `duration_sec` is a number of seconds (fractions allowed); `emotion_summary` is
//! kept as free-form JSON.
//!
//! # Limits
//!
//! The verifier's limit (2 MiB, Vocalis's default) is the only one that matters:
//! actix's `PayloadConfig` (256 KiB by default) and `JsonConfig` (2 MiB) are set to
//! the same value.

#![allow(clippy::arithmetic_side_effects, reason = "a demo: times and counters on known values")]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use hooksig::actix::{Verified, VerifySignature};
use hooksig::{Scheme, Verifier};
use serde::Deserialize;
use tokio::sync::mpsc;

const PATH: &str = "/hooks/vocalis";
const DEMO_SECRET: &str = "vocalis-demo-secret-change-me";
/// How many accepted events may wait for the worker before deliveries get 503 (and
/// Vocalis retries them later).
const QUEUE: usize = 1024;

/// The six documented Vocalis events; anything else is [`VocalisEvent::Unknown`].
#[derive(Debug, Deserialize)]
#[serde(tag = "event")]
enum VocalisEvent {
    #[serde(rename = "call.started")]
    CallStarted(Call),
    #[serde(rename = "call.ended")]
    CallEnded(Call),
    #[serde(rename = "lead.qualified")]
    LeadQualified(Call),
    #[serde(rename = "appointment.booked")]
    AppointmentBooked(Call),
    #[serde(rename = "conversation.tagged")]
    ConversationTagged(Call),
    #[serde(rename = "emotion.spike")]
    EmotionSpike(Call),
    /// An event this receiver does not know yet: accepted, logged, not processed.
    #[serde(other)]
    Unknown,
}

/// The fields of Vocalis's `call.ended` payload.
#[derive(Debug, Deserialize)]
struct Call {
    call_id: String,
    agent_id: Option<String>,
    duration_sec: Option<f64>,
    result: Option<String>,
    language: Option<String>,
    emotion_summary: Option<serde_json::Value>,
    transcript_url: Option<String>,
}

/// The event names, as counted in the stats.
const EVENTS: [&str; 7] = [
    "call.started",
    "call.ended",
    "lead.qualified",
    "appointment.booked",
    "conversation.tagged",
    "emotion.spike",
    "unknown",
];

impl VocalisEvent {
    fn name(&self) -> &'static str {
        match self {
            VocalisEvent::CallStarted(_) => "call.started",
            VocalisEvent::CallEnded(_) => "call.ended",
            VocalisEvent::LeadQualified(_) => "lead.qualified",
            VocalisEvent::AppointmentBooked(_) => "appointment.booked",
            VocalisEvent::ConversationTagged(_) => "conversation.tagged",
            VocalisEvent::EmotionSpike(_) => "emotion.spike",
            VocalisEvent::Unknown => "unknown",
        }
    }
}

/// Counters shared by every worker thread, the rejection hook and the stats route.
#[derive(Default)]
struct Stats {
    accepted: BTreeMap<&'static str, u64>,
    rejected: BTreeMap<&'static str, u64>,
    processed: u64,
}

#[derive(Clone, Default)]
struct SharedStats(Arc<Mutex<Stats>>);

impl SharedStats {
    fn update(&self, f: impl FnOnce(&mut Stats)) {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }

    fn accept(&self, event: &'static str) {
        self.update(|s| *s.accepted.entry(event).or_default() += 1);
    }

    fn reject(&self, reason: &'static str) {
        self.update(|s| *s.rejected.entry(reason).or_default() += 1);
    }

    fn to_json(&self) -> serde_json::Value {
        let stats = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let accepted: BTreeMap<&str, u64> =
            EVENTS.iter().map(|e| (*e, stats.accepted.get(e).copied().unwrap_or(0))).collect();
        serde_json::json!({
            "accepted": accepted,
            "accepted_total": stats.accepted.values().sum::<u64>(),
            "rejected": stats.rejected,
            "rejected_total": stats.rejected.values().sum::<u64>(),
            "processed": stats.processed,
        })
    }
}

struct Job {
    event: VocalisEvent,
    received: Instant,
}

/// `POST /hooks/vocalis`, reached only with a verified signature.
async fn receive(
    body: Verified<web::Bytes>,
    stats: web::Data<SharedStats>,
    queue: web::Data<mpsc::Sender<Job>>,
) -> HttpResponse {
    // The bytes are authentic; now (and only now) parse them.
    let event = match serde_json::from_slice::<VocalisEvent>(&body) {
        Ok(event) => event,
        Err(error) => {
            eprintln!("422: signed delivery with a malformed payload: {error}");
            stats.reject("malformed json");
            return HttpResponse::UnprocessableEntity().content_type("text/plain").body("malformed json");
        }
    };
    let name = event.name();
    if let VocalisEvent::Unknown = event {
        #[derive(Deserialize)]
        struct Name {
            event: serde_json::Value,
        }
        let unknown = serde_json::from_slice::<Name>(&body).map(|n| n.event).unwrap_or_default();
        eprintln!("200: unknown event {unknown} accepted and ignored");
        stats.accept(name);
        return HttpResponse::Ok().content_type("text/plain").body("ignored");
    }
    match queue.try_send(Job { event, received: Instant::now() }) {
        Ok(()) => {
            stats.accept(name);
            HttpResponse::Ok().content_type("text/plain").body("queued")
        }
        Err(_) => {
            eprintln!("503: worker queue full, Vocalis will retry {name}");
            stats.reject("queue full");
            HttpResponse::ServiceUnavailable().content_type("text/plain").body("busy, retry later")
        }
    }
}

/// `GET /hooks/vocalis/stats`.
async fn stats(stats: web::Data<SharedStats>) -> HttpResponse {
    HttpResponse::Ok().json(stats.to_json())
}

/// The background worker: the slow part (CRM updates, transcript downloads) happens
/// here, after Vocalis has its 200.
async fn work(mut jobs: mpsc::Receiver<Job>, stats: SharedStats) {
    while let Some(Job { event, received }) = jobs.recv().await {
        actix_web::rt::time::sleep(Duration::from_millis(20)).await; // pretend to work
        let what = match &event {
            VocalisEvent::CallStarted(c) => {
                format!("call {} started with agent {:?} in {:?}", c.call_id, c.agent_id, c.language)
            }
            VocalisEvent::CallEnded(c) => format!(
                "call {} ended after {:?} s: {:?}, emotions {}, transcript {:?}",
                c.call_id,
                c.duration_sec,
                c.result,
                c.emotion_summary.as_ref().map_or_else(|| "-".into(), ToString::to_string),
                c.transcript_url
            ),
            VocalisEvent::LeadQualified(c) => {
                format!("lead from call {} qualified: {:?}", c.call_id, c.result)
            }
            VocalisEvent::AppointmentBooked(c) => {
                format!("appointment booked on call {}: {:?}", c.call_id, c.result)
            }
            VocalisEvent::ConversationTagged(c) => format!("call {} tagged: {:?}", c.call_id, c.result),
            VocalisEvent::EmotionSpike(c) => format!(
                "emotion spike on call {}: {}",
                c.call_id,
                c.emotion_summary.as_ref().map_or_else(|| "-".into(), ToString::to_string)
            ),
            VocalisEvent::Unknown => "nothing to do".into(),
        };
        println!("worker: {what} [{:?} after receipt]", received.elapsed());
        stats.update(|s| s.processed += 1);
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = match std::env::var("PORT") {
        Ok(text) => {
            text.parse().map_err(|_| std::io::Error::other(format!("PORT={text:?} is not a port")))?
        }
        Err(_) => 3001,
    };
    let (secret, demo) = match std::env::var("VOCALIS_WEBHOOK_SECRET") {
        Ok(secret) if !secret.is_empty() => (secret, false),
        _ => (DEMO_SECRET.to_owned(), true),
    };
    let verifier = Verifier::new(Scheme::vocalis(), &secret).map_err(std::io::Error::other)?;
    let limit = verifier.max_body();

    let stats_data = SharedStats::default();
    let (queue, jobs) = mpsc::channel::<Job>(QUEUE);
    actix_web::rt::spawn(work(jobs, stats_data.clone()));

    let rejections = stats_data.clone();
    let middleware = VerifySignature::new(verifier).on_rejection(move |refusal, response| {
        // The refusal's Display names the header and the reason; never the secret or a MAC.
        eprintln!("{}: {refusal}", refusal.status());
        rejections.reject(refusal.public_message());
        response
    });

    let server = HttpServer::new({
        let stats_data = web::Data::new(stats_data);
        let queue = web::Data::new(queue);
        move || {
            App::new()
                .app_data(stats_data.clone())
                .app_data(queue.clone())
                // One limit decides: actix's extractor limits are raised to the verifier's.
                .app_data(web::PayloadConfig::new(limit))
                .app_data(web::JsonConfig::default().limit(limit))
                .service(web::resource(PATH).wrap(middleware.clone()).route(web::post().to(receive)))
                .service(web::resource(format!("{PATH}/stats")).route(web::get().to(stats)))
        }
    })
    .bind(("127.0.0.1", port))?;

    println!("Vocalis receiver on http://127.0.0.1:{port}{PATH} (stats: GET {PATH}/stats)");
    if demo {
        let body = r#"{"event":"call.ended","call_id":"call_123","agent_id":"agent_7","duration_sec":184,"result":"appointment_set","language":"en-US","emotion_summary":{"dominant":"calm","peak":"frustration"},"transcript_url":"https://vocalis.example/t/call_123"}"#;
        let signature =
            hooksig::sign(DEMO_SECRET.as_bytes(), body.as_bytes()).map_err(std::io::Error::other)?;
        println!("VOCALIS_WEBHOOK_SECRET is unset: using the demo secret {DEMO_SECRET:?}. Try:\n");
        println!(
            "curl -i http://127.0.0.1:{port}{PATH} -H 'Content-Type: application/json' \\\n  -H 'X-Vocalis-Signature: {signature}' \\\n  --data-binary '{body}'\n"
        );
    } else {
        println!("Secret from VOCALIS_WEBHOOK_SECRET. Sign a body for curl with:");
        println!(
            "  python3 -c 'import hmac,hashlib,os,sys; print(\"sha256=\"+hmac.new(os.environb[b\"VOCALIS_WEBHOOK_SECRET\"], sys.stdin.buffer.read(), hashlib.sha256).hexdigest())' < body.json"
        );
    }
    server.run().await
}
