//! A Tale-style webhook receiver in axum, behind `hooksig::tower::VerifyLayer`.
//!
//! ```text
//! TALE_WEBHOOK_SECRET=... PORT=3000 cargo run --example axum_tale --features axum
//! # several instances behind a load balancer, sharing one Redis:
//! REDIS_URL=redis://127.0.0.1:6379/ TALE_WEBHOOK_SECRET=... PORT=3000 \
//!     cargo run --example axum_tale --features axum,redis
//! # ... or sharing one Redis Cluster (any of its nodes, comma-separated; list several):
//! REDIS_CLUSTER_NODES=redis://127.0.0.1:7000,redis://127.0.0.1:7001,redis://127.0.0.1:7002 \
//!     TALE_WEBHOOK_SECRET=... PORT=3000 cargo run --example axum_tale --features axum,redis
//! ```
//!
//! - `POST /api/webhooks/workflow/{workflow_id}`: answers `202` at once with
//!   `{"executionId", "workflowId"}` and runs the workflow in the background;
//! - `GET /api/executions/{execution_id}`: the execution's status and output;
//! - `POST /api/webhooks/agent/{agent_slug}` with `{"message", "conversationId"?}`:
//!   answers `200` with `{"conversationId", "reply"}`; `422` without a `message`.
//!
//! Every webhook must carry `X-Tale-Signature: sha256=<hex HMAC-SHA256 of the raw
//! body>`. Every response is JSON: `401` for a missing or wrong signature, `400` for a
//! malformed one, `413` past 2 MiB (announced or streamed), `405` for other methods.
//!
//! The workflow webhook runs each delivery once: Tale retries until it gets a 2xx,
//! and a captured request verifies forever (the signature covers only the body). A
//! copy of a delivery already processed answers `200` with
//! `{"status":"duplicate delivery"}` without starting the workflow again; a copy
//! arriving while the first is processed answers `409`; `503` when the replay store
//! is down. With `REDIS_URL` set (built with `--features axum,redis`) the record is
//! kept in Redis and shared by every instance; with `REDIS_CLUSTER_NODES` instead, in
//! a Redis Cluster (spread over its masters; the start fails if no listed node
//! answers); with neither, in this process only. Setting both is an error.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, Response, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use hooksig::replay::{MemoryReplayGuard, ReplayProtection};
use hooksig::tower::VerifyLayer;
use hooksig::{Scheme, Verifier};
use serde_json::{Value, json};

const DEMO_SECRET: &str = "tale-demo-secret-change-me";

#[derive(Clone, Default)]
struct Executions {
    runs: Arc<Mutex<HashMap<String, Execution>>>,
}

#[derive(Clone)]
struct Execution {
    workflow_id: String,
    status: &'static str,
    output: Value,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p.parse().map_err(|_| format!("PORT must be a port number, not {p:?}"))?,
        Err(_) => 3000,
    };
    let (secret, demo) = match std::env::var("TALE_WEBHOOK_SECRET") {
        Ok(s) if !s.is_empty() => (s, false),
        _ => (DEMO_SECRET.to_owned(), true),
    };
    let verifier = Verifier::new(Scheme::tale(), &secret)?;

    // Rejections answer JSON, with the status and the Allow / WWW-Authenticate
    // header of the default rejection. The details go to the log, not the client.
    let verify = VerifyLayer::new(verifier).on_rejection(|refusal, mut response| {
        eprintln!("refused webhook ({}): {refusal}", response.status());
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        *response.body_mut() = Bytes::from(json!({ "error": refusal.public_message() }).to_string());
        response
    });

    // Each workflow delivery runs once: in Redis when REDIS_URL or REDIS_CLUSTER_NODES
    // is set (shared by every instance), else in this process.
    let (replay, which) = replay_protection().await?;
    let workflows = Router::new()
        .route("/api/webhooks/workflow/{workflow_id}", post(run_workflow))
        .route_layer(verify.clone().replay_guard(replay))
        .layer(axum::middleware::map_response(replay_answer_as_json));
    let webhooks = Router::new()
        .route("/api/webhooks/agent/{agent_slug}", post(ask_agent))
        .route_layer(verify)
        .merge(workflows);
    let app = Router::new()
        .route("/api/executions/{execution_id}", get(execution_status))
        .merge(webhooks)
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not found") })
        .method_not_allowed_fallback(|| async { error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed") })
        .with_state(Executions::default());

    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("replay guard: {which}");
    print_banner(listener.local_addr()?, &secret, demo)?;
    axum::serve(listener, app).await?;
    Ok(())
}

/// The replay protection of the workflow webhook, and a line saying which it is.
async fn replay_protection() -> Result<(ReplayProtection, String), Box<dyn std::error::Error>> {
    let set = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    match (set("REDIS_URL"), set("REDIS_CLUSTER_NODES")) {
        (Some(_), Some(_)) => Err("set either REDIS_URL or REDIS_CLUSTER_NODES, not both".into()),
        (Some(url), None) => redis_protection(&url).await,
        (None, Some(nodes)) => {
            let nodes: Vec<&str> = nodes.split(',').map(str::trim).filter(|n| !n.is_empty()).collect();
            redis_cluster_protection(&nodes).await
        }
        (None, None) => Ok((
            ReplayProtection::new(MemoryReplayGuard::new(100_000)),
            "in memory (this process only; set REDIS_URL or REDIS_CLUSTER_NODES to share it \
             between instances)"
                .to_owned(),
        )),
    }
}

// Never print the URLs themselves: they may carry a password.

#[cfg(feature = "redis")]
async fn redis_protection(url: &str) -> Result<(ReplayProtection, String), Box<dyn std::error::Error>> {
    let guard = hooksig::replay::RedisReplayGuard::connect(url).await?;
    Ok((ReplayProtection::new(guard), "Redis (REDIS_URL), shared by every instance".to_owned()))
}

#[cfg(feature = "redis")]
async fn redis_cluster_protection(
    nodes: &[&str],
) -> Result<(ReplayProtection, String), Box<dyn std::error::Error>> {
    let guard = hooksig::replay::RedisReplayGuard::connect_cluster(nodes).await?;
    let which = format!(
        "Redis Cluster (REDIS_CLUSTER_NODES, {} node(s) listed), shared by every instance",
        nodes.len()
    );
    Ok((ReplayProtection::new(guard), which))
}

#[cfg(not(feature = "redis"))]
async fn redis_protection(_url: &str) -> Result<(ReplayProtection, String), Box<dyn std::error::Error>> {
    Err(without_redis("REDIS_URL"))
}

#[cfg(not(feature = "redis"))]
async fn redis_cluster_protection(
    _nodes: &[&str],
) -> Result<(ReplayProtection, String), Box<dyn std::error::Error>> {
    Err(without_redis("REDIS_CLUSTER_NODES"))
}

#[cfg(not(feature = "redis"))]
fn without_redis(variable: &str) -> Box<dyn std::error::Error> {
    format!(
        "{variable} is set, but this example was built without Redis support: \
         run it with --features axum,redis"
    )
    .into()
}

/// The layer answers a copy it kept from the handler in plain text (409
/// `delivery in progress`, 200 `duplicate delivery`); this example answers JSON.
async fn replay_answer_as_json(response: Response<axum::body::Body>) -> Response<axum::body::Body> {
    let plain =
        response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/plain"));
    match response.status() {
        StatusCode::OK if plain => {
            (StatusCode::OK, Json(json!({ "status": "duplicate delivery" }))).into_response()
        }
        StatusCode::CONFLICT if plain => error(StatusCode::CONFLICT, "delivery in progress").into_response(),
        _ => response,
    }
}

fn print_banner(addr: SocketAddr, secret: &str, demo: bool) -> Result<(), hooksig::Error> {
    if demo {
        println!("TALE_WEBHOOK_SECRET is not set: using the demo secret {DEMO_SECRET:?}");
    }
    let body = r#"{"event":"workflow.trigger","input":{"customer":"Ada"}}"#;
    let signature = hooksig::sign(secret.as_bytes(), body.as_bytes())?;
    println!("Tale webhook receiver listening on http://{addr}");
    println!("Try it:");
    println!(
        "  curl -i -X POST http://{addr}/api/webhooks/workflow/wf_demo \\\n    -H 'Content-Type: application/json' \\\n    -H 'X-Tale-Signature: {signature}' \\\n    --data-binary '{body}'"
    );
    println!("then GET http://{addr}/api/executions/<executionId> for its status.");
    Ok(())
}

fn error(status: StatusCode, message: &str) -> (StatusCode, Json<Value>) {
    (status, Json(json!({ "error": message })))
}

/// 128 random bits in hex, with a prefix.
fn random_id(prefix: &str) -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().fold(String::from(prefix), |mut s, b| {
        s.push_str(&format!("{b:02x}"));
        s
    }))
}

async fn run_workflow(
    State(executions): State<Executions>,
    Path(workflow_id): Path<String>,
    body: Bytes,
) -> Response<axum::body::Body> {
    // The body is verified: exactly what Tale signed. Parse it now.
    let input: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(_) => return error(StatusCode::BAD_REQUEST, "body is not valid JSON").into_response(),
    };
    let execution_id = {
        let Ok(mut runs) = executions.runs.lock() else {
            return error(StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        };
        // 128 random bits; the loop makes uniqueness certain, not just likely.
        let id = loop {
            match random_id("exec_") {
                Ok(id) if !runs.contains_key(&id) => break id,
                Ok(_) => continue,
                Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
            }
        };
        let run = Execution { workflow_id: workflow_id.clone(), status: "running", output: Value::Null };
        runs.insert(id.clone(), run);
        id
    };

    // Acknowledge at once; the work happens in the background.
    let (runs, id) = (executions.runs.clone(), execution_id.clone());
    tokio::spawn(async move {
        eprintln!("execution {id}: workflow started with input {input}");
        tokio::time::sleep(Duration::from_secs(2)).await;
        if let Ok(mut runs) = runs.lock()
            && let Some(run) = runs.get_mut(&id)
        {
            run.status = "succeeded";
            run.output =
                json!({ "result": format!("workflow {} processed", run.workflow_id), "input": input });
        }
        eprintln!("execution {id}: succeeded");
    });

    let body = json!({ "executionId": execution_id, "workflowId": workflow_id });
    (StatusCode::ACCEPTED, Json(body)).into_response()
}

async fn execution_status(
    State(executions): State<Executions>,
    Path(execution_id): Path<String>,
) -> (StatusCode, Json<Value>) {
    let run = executions.runs.lock().ok().and_then(|runs| runs.get(&execution_id).cloned());
    match run {
        Some(run) => (
            StatusCode::OK,
            Json(json!({
                "executionId": execution_id,
                "workflowId": run.workflow_id,
                "status": run.status,
                "output": run.output,
            })),
        ),
        None => error(StatusCode::NOT_FOUND, "unknown execution"),
    }
}

async fn ask_agent(Path(agent_slug): Path<String>, body: Bytes) -> (StatusCode, Json<Value>) {
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "body is not valid JSON");
    };
    let Some(message) = request.get("message").and_then(Value::as_str).filter(|m| !m.trim().is_empty())
    else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "`message` is required and must be a non-empty string",
        );
    };
    let conversation_id = match request.get("conversationId") {
        None | Some(Value::Null) => match random_id("conv_") {
            Ok(id) => id,
            Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
        },
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        Some(_) => {
            return error(StatusCode::UNPROCESSABLE_ENTITY, "`conversationId` must be a non-empty string");
        }
    };
    let reply = format!("Agent {agent_slug} received your message: {message}");
    (StatusCode::OK, Json(json!({ "conversationId": conversation_id, "reply": reply })))
}
