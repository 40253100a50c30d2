//! A `redis-server` of the test's own: started on a free loopback port in a
//! temporary directory (no persistence), stopped (and its directory removed) on drop.
//!
//! Part of `tests/support/` (`crate::support::redis`, feature `redis`); the
//! `redis_or_skip!` macro is visible in every test module. Without `redis-server` on the `PATH` [`RedisServer::start`]
//! prints a skip line and returns `None` (use [`redis_or_skip!`]), unless
//! `HOOKSIG_REQUIRE_REDIS=1`, under which it panics so that CI cannot skip silently.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hooksig::replay::RedisReplayGuard;

pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts a server, or returns `None` (after printing why) when `redis-server` is
    /// not installed and `HOOKSIG_REQUIRE_REDIS` is not `1`.
    pub fn start(test: &str) -> Option<RedisServer> {
        let installed = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            if std::env::var("HOOKSIG_REQUIRE_REDIS").as_deref() == Ok("1") {
                panic!("HOOKSIG_REQUIRE_REDIS=1 but `redis-server` is not on the PATH");
            }
            // Straight to stderr, past the test harness's capture, so the skip shows.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: `redis-server` not found (set HOOKSIG_REQUIRE_REDIS=1 to fail instead)"
            );
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("hooksig-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = RedisServer { child: None, port, dir };
        server.run();
        Some(server)
    }

    /// (Re)starts the server on its port and waits (at most 10 s) until it answers.
    pub fn run(&mut self) {
        assert!(self.child.is_none());
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.answers() {
            assert!(Instant::now() < deadline, "redis-server did not answer on port {}", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the server answers `PING`.
    pub fn answers(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else { return false };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }

    /// Kills the server (the port stays reserved for [`RedisServer::run`]).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A connected guard with a 1.5 s timeout per operation.
    pub async fn guard(&self) -> RedisReplayGuard {
        RedisReplayGuard::connect(&self.url()).await.unwrap().timeout(Duration::from_millis(1500))
    }

    /// A raw connection, to look at what a guard stored.
    pub async fn raw(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url()).unwrap().get_multiplexed_async_connection().await.unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A started [`RedisServer`], or `return` from the test (after the skip line).
macro_rules! redis_or_skip {
    ($test:literal) => {
        match $crate::support::redis::RedisServer::start($test) {
            Some(server) => server,
            None => return,
        }
    };
}
