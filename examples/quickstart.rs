//! Signs a sample delivery for every preset, verifies it, then changes one signed
//! byte (of the body; of the event id for Oktave, whose MAC does not cover the body)
//! and shows the rejection.
//!
//! Run with `cargo run --example quickstart`.

#![allow(clippy::arithmetic_side_effects, reason = "a demo: times and counters on known values")]

use std::time::{Duration, UNIX_EPOCH};

use hooksig::{Scheme, Signer, Verifier};

fn main() -> Result<(), hooksig::Error> {
    let at = UNIX_EPOCH + Duration::from_secs(1_763_900_000);
    let body = br#"{"event":"call.ended","call_id":"c_42","duration_sec":93}"#;

    println!(
        "{:<18} {:<24} {:<9} {:<10} one signed byte changed ->",
        "scheme", "signature header", "verified", "key #"
    );
    println!("{}", "-".repeat(100));
    for scheme in Scheme::presets() {
        // Secrets exactly as each provider's dashboard shows them.
        let secret = match scheme.name() {
            "standard_webhooks" | "svix" => "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "stripe" => "whsec_stripe_demo_secret",
            _ => "demo secret",
        };
        let headers = Signer::new(scheme.clone(), secret)?.sign_at(body, Some("evt_0001"), at)?;
        let verifier = Verifier::new(scheme.clone(), secret)?;
        let verified = verifier.verify_at(&headers, body, at)?;

        // Change one byte of what the MAC covers: the body, or (Oktave, which signs
        // only the event id and timestamp) the event id.
        let mut tampered_body = body.to_vec();
        let mut tampered_headers = headers.clone();
        if scheme.covers_body() {
            if let Some(byte) = tampered_body.get_mut(10) {
                *byte ^= 0x01;
            }
        } else if let Some(id_header) = scheme.id_header() {
            tampered_headers.insert(id_header.clone(), http::HeaderValue::from_static("evt_0002"));
        }
        let outcome = match verifier.verify_at(&tampered_headers, &tampered_body, at) {
            Ok(_) => "ACCEPTED (bug!)".to_owned(),
            Err(e) => format!("{} {} ({e})", e.status().as_u16(), e.public_message()),
        };
        println!(
            "{:<18} {:<24} {:<9} {:<10} {}",
            scheme.name(),
            scheme.signature_header().as_str(),
            "yes",
            verified.key_index(),
            outcome
        );
    }

    println!();
    let github = Signer::new(Scheme::github(), "demo secret")?.sign_at(body, None, at)?;
    println!("A GitHub-style delivery's headers:");
    for (name, value) in &github {
        println!("  {name}: {}", value.to_str().unwrap_or("<binary>"));
    }
    Ok(())
}
