//! The actix-web middleware behind a real `HttpServer` on 127.0.0.1, driven over TCP
//! by a hyper 1 client on one keep-alive connection.
#![cfg(feature = "actix")]

use std::future::poll_fn;
use std::net::{SocketAddr, TcpListener};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, HttpServer, web};
use hooksig::actix::VerifySignature;
use hooksig::{Scheme, Signer, Verifier};
use hyper::body::Body as _;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

const SECRET: &str = "It's a Secret to Everybody";
const MIB: usize = 1024 * 1024;

/// Starts a server with the hook at `/hook` (actix's payload limit raised to the
/// verifier's) and at `/default-limits` (actix's 256 KiB default left in place).
fn start(calls: Arc<AtomicUsize>) -> (actix_web::dev::ServerHandle, SocketAddr) {
    let verifier = Verifier::new(Scheme::tale(), SECRET).unwrap();
    let limit = verifier.max_body();
    let middleware = VerifySignature::new(verifier);
    let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = HttpServer::new(move || {
        let calls = Arc::clone(&calls);
        let echo = move |req: HttpRequest, body: web::Bytes| {
            calls.fetch_add(1, Ordering::SeqCst);
            let verified = req.extensions().get::<hooksig::Verified>().is_some();
            async move { HttpResponse::Ok().insert_header(("x-verified", verified.to_string())).body(body) }
        };
        App::new()
            .service(
                web::resource("/hook")
                    .app_data(web::PayloadConfig::new(limit))
                    .wrap(middleware.clone())
                    .route(web::post().to(echo.clone())),
            )
            .service(web::resource("/default-limits").wrap(middleware.clone()).route(web::post().to(echo)))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (handle, addr)
}

/// One HTTP/1.1 connection; every request below goes over it.
async fn connect(addr: SocketAddr) -> SendRequest<String> {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    actix_web::rt::spawn(async move {
        let _ = connection.await;
    });
    sender
}

struct Answer {
    status: u16,
    verified: Option<String>,
    body: Vec<u8>,
}

async fn post(
    sender: &mut SendRequest<String>,
    path: &str,
    headers: &http::HeaderMap,
    body: String,
) -> Answer {
    poll_fn(|cx| sender.poll_ready(cx)).await.expect("the connection is still open");
    let mut request = http::Request::post(path).header("host", "127.0.0.1");
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = sender.send_request(request.body(body).unwrap()).await.unwrap();
    let status = response.status().as_u16();
    let verified = response.headers().get("x-verified").map(|v| v.to_str().unwrap().to_owned());
    let mut incoming = response.into_body();
    let mut body = Vec::new();
    while let Some(frame) = poll_fn(|cx| Pin::new(&mut incoming).poll_frame(cx)).await {
        if let Ok(data) = frame.unwrap().into_data() {
            body.extend_from_slice(&data);
        }
    }
    Answer { status, verified, body }
}

fn sign(body: &str) -> http::HeaderMap {
    Signer::new(Scheme::tale(), SECRET).unwrap().sign(body.as_bytes()).unwrap()
}

/// 1 MiB of varied printable bytes.
fn large_body() -> String {
    (0..MIB).map(|i| char::from(b' ' + u8::try_from(i * 31 % 95).unwrap())).collect()
}

#[actix_web::test]
async fn deliveries_over_one_keep_alive_connection() {
    let calls = Arc::new(AtomicUsize::new(0));
    let (handle, addr) = start(Arc::clone(&calls));

    let run = async {
        let mut conn = connect(addr).await;

        let body = r#"{"event":"ping"}"#.to_owned();
        let ok = post(&mut conn, "/hook", &sign(&body), body.clone()).await;
        assert_eq!(
            (ok.status, ok.verified.as_deref(), ok.body),
            (200, Some("true"), body.clone().into_bytes())
        );

        // Invalid deliveries whose body is read (so the connection stays usable).
        let wrong_secret = Signer::new(Scheme::tale(), "not it").unwrap().sign(body.as_bytes()).unwrap();
        let bad = post(&mut conn, "/hook", &wrong_secret, body.clone()).await;
        assert_eq!((bad.status, bad.body), (401, b"signature mismatch".to_vec()));
        let tampered = post(&mut conn, "/hook", &sign(&body), r#"{"event":"pong"}"#.to_owned()).await;
        assert_eq!((tampered.status, tampered.body), (401, b"signature mismatch".to_vec()));

        // 1 MiB, four times actix's default payload limit, end to end and byte-identical.
        let large = large_body();
        let big = post(&mut conn, "/hook", &sign(&large), large.clone()).await;
        assert_eq!((big.status, big.verified.as_deref()), (200, Some("true")));
        assert!(big.body == large.as_bytes(), "the handler saw other bytes");

        // Verified by the middleware, then refused by actix's own 256 KiB default.
        let capped = post(&mut conn, "/default-limits", &sign(&large), large.clone()).await;
        assert_eq!(capped.status, 413);

        let again = post(&mut conn, "/hook", &sign(&body), body.clone()).await;
        assert_eq!(again.status, 200);
        assert_eq!(calls.load(Ordering::SeqCst), 3, "only verified deliveries within the limits ran");

        // Refused before the body is read: answered (actix then closes the connection,
        // since a Content-Length body was left unread).
        let unsigned = post(&mut conn, "/hook", &http::HeaderMap::new(), body.clone()).await;
        assert_eq!((unsigned.status, unsigned.body), (401, b"missing signature".to_vec()));
    };
    actix_web::rt::time::timeout(Duration::from_secs(30), run).await.expect("the test took more than 30 s");
    handle.stop(true).await;
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[actix_web::test]
async fn oversized_deliveries_are_refused_over_tcp() {
    let calls = Arc::new(AtomicUsize::new(0));
    let (handle, addr) = start(Arc::clone(&calls));

    let run = async {
        // Content-Length above the 2 MiB limit: 413 without the handler.
        let huge: String = "a".repeat(3 * MIB);
        let mut conn = connect(addr).await;
        let res = post(&mut conn, "/hook", &sign(&huge), huge.clone()).await;
        assert_eq!((res.status, res.body), (413, b"payload too large".to_vec()));

        // A fresh connection still works.
        let mut conn = connect(addr).await;
        let res = post(&mut conn, "/hook", &sign("{}"), "{}".to_owned()).await;
        assert_eq!(res.status, 200);

        // GET: 405 with Allow, straight over the wire.
        let mut conn = connect(addr).await;
        poll_fn(|cx| conn.poll_ready(cx)).await.unwrap();
        let request = http::Request::get("/hook").header("host", "127.0.0.1").body(String::new()).unwrap();
        let response = conn.send_request(request).await.unwrap();
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()["allow"], "POST");
    };
    actix_web::rt::time::timeout(Duration::from_secs(30), run).await.expect("the test took more than 30 s");
    handle.stop(true).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
