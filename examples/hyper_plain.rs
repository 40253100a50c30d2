//! `hooksig::tower::VerifyLayer` in a plain hyper 1 server, without axum.
//!
//! ```text
//! GITHUB_WEBHOOK_SECRET=... PORT=3001 cargo run --example hyper_plain --features tower
//! ```
//!
//! Accepts GitHub-style deliveries (`X-Hub-Signature-256: sha256=<hex>`) on any path
//! and answers with what it verified; everything else gets the layer's plain-text
//! rejection (401, 400, 405, 413).

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use hooksig::tower::{VerifiedBody, VerifyLayer};
use hooksig::{Scheme, Verified, Verifier};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tower::ServiceBuilder;

const DEMO_SECRET: &str = "github-demo-secret-change-me";

/// Runs only for verified deliveries.
async fn handle(req: Request<VerifiedBody>) -> Result<Response<Full<Bytes>>, Infallible> {
    let event =
        req.headers().get("x-github-event").and_then(|v| v.to_str().ok()).unwrap_or("unknown").to_owned();
    let delivery = req.extensions().get::<Verified>().and_then(|v| v.id()).unwrap_or("none").to_owned();
    let body = req.into_body().into_bytes();
    println!("verified {event} delivery {delivery}: {} bytes", body.len());
    let text = format!("accepted {event} delivery {delivery} ({} bytes)\n", body.len());
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = StatusCode::ACCEPTED;
    Ok(response)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p.parse().map_err(|_| format!("PORT must be a port number, not {p:?}"))?,
        Err(_) => 3001,
    };
    let secret = std::env::var("GITHUB_WEBHOOK_SECRET").unwrap_or_else(|_| DEMO_SECRET.to_owned());
    let verifier = Verifier::new(Scheme::github(), &secret)?;

    // One service for the whole server; each connection gets a clone.
    let service = ServiceBuilder::new().layer(VerifyLayer::new(verifier)).service_fn(handle);

    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let addr = listener.local_addr()?;
    let body = r#"{"zen":"Keep it logically awesome."}"#;
    println!("listening on http://{addr}; try:");
    println!(
        "  curl -i http://{addr}/ -H 'X-GitHub-Event: ping' -H 'X-Hub-Signature-256: {}' --data-binary '{body}'",
        hooksig::sign(secret.as_bytes(), body.as_bytes())?
    );

    loop {
        let (stream, _) = listener.accept().await?;
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            if let Err(err) = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await {
                eprintln!("connection error: {err}");
            }
        });
    }
}
