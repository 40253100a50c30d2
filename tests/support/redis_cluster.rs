//! A Redis Cluster of the test's own: three masters, no replicas, on free loopback
//! ports, in a temporary directory (no persistence); every process killed and the
//! directory removed on drop.
//!
//! Part of `tests/support/` (`crate::support::redis_cluster`, feature `redis`); the
//! `cluster_or_skip!` macro is visible in every test module.
//! Without `redis-server` and `redis-cli` on the `PATH` [`RedisCluster::start`] prints
//! a skip line and returns `None` (use [`cluster_or_skip!`]), unless
//! `HOOKSIG_REQUIRE_REDIS=1`, under which it panics so that CI cannot skip silently.
//!
//! The nodes run with `cluster-require-full-coverage no` (the masters that are up keep
//! serving their slots while one is down) and `cluster-node-timeout 2000` (a stopped
//! master is flagged as failed after about 2 s instead of 15 s).

#![allow(dead_code)]

use std::collections::HashSet;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hooksig::replay::RedisReplayGuard;

/// Masters in every test cluster.
pub const MASTERS: usize = 3;

/// Ports handed out in this process, so that tests running in parallel never pick the
/// same ones.
static TAKEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

pub struct RedisCluster {
    nodes: Vec<Node>,
    dir: PathBuf,
}

struct Node {
    port: u16,
    child: Option<Child>,
    /// The hash slots this master was given (`CLUSTER NODES`, `myself`), as ranges.
    slots: Vec<(u16, u16)>,
}

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A port in 20000–29999 such that it and its cluster bus port (+10000) are free on
/// loopback now and not handed out before in this process.
fn free_port_pair(seed: &mut u64) -> u16 {
    let mut taken = TAKEN.lock().unwrap();
    let taken = taken.get_or_insert_with(HashSet::new);
    for _ in 0..1_000 {
        // SplitMix64 step.
        *seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        let port = 20_000 + ((z ^ (z >> 31)) % 10_000) as u16;
        if taken.contains(&port) || taken.contains(&(port + 10_000)) {
            continue;
        }
        let free = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
        if free(port) && free(port + 10_000) {
            taken.insert(port);
            taken.insert(port + 10_000);
            return port;
        }
    }
    panic!("no free port pair in 20000–29999");
}

/// Runs `redis-cli` with `args`, killed after `limit`; its stdout.
fn redis_cli(args: &[&str], limit: Duration) -> Result<String, String> {
    let mut child = Command::new("redis-cli")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(_) => break,
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("redis-cli {args:?} did not finish within {limit:?}"));
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(format!("redis-cli {args:?}: {}\n{stdout}", String::from_utf8_lossy(&output.stderr)))
    }
}

impl RedisCluster {
    /// Starts a cluster, or returns `None` (after printing why) when `redis-server` or
    /// `redis-cli` is not installed and `HOOKSIG_REQUIRE_REDIS` is not `1`. Tries up to
    /// three times with fresh ports (another process may take one in between).
    pub fn start(test: &str) -> Option<RedisCluster> {
        for program in ["redis-server", "redis-cli"] {
            if !installed(program) {
                if std::env::var("HOOKSIG_REQUIRE_REDIS").as_deref() == Ok("1") {
                    panic!("HOOKSIG_REQUIRE_REDIS=1 but `{program}` is not on the PATH");
                }
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED {test}: `{program}` not found (set HOOKSIG_REQUIRE_REDIS=1 to fail instead)"
                );
                return None;
            }
        }
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
        let mut seed = nanos ^ (u64::from(std::process::id()) << 32);
        let mut last = String::new();
        for attempt in 1..=3 {
            let ports: Vec<u16> = (0..MASTERS).map(|_| free_port_pair(&mut seed)).collect();
            let dir =
                std::env::temp_dir().join(format!("hooksig-cluster-{}-{}", std::process::id(), ports[0]));
            std::fs::create_dir_all(&dir).unwrap();
            let nodes = ports.iter().map(|&port| Node { port, child: None, slots: Vec::new() }).collect();
            let mut cluster = RedisCluster { nodes, dir };
            let started = Instant::now();
            match cluster.form() {
                Ok(()) => {
                    eprintln!("{test}: cluster on ports {ports:?} ready in {:?}", started.elapsed());
                    return Some(cluster);
                }
                Err(err) => {
                    eprintln!("{test}: cluster attempt {attempt} on ports {ports:?} failed: {err}");
                    last = err;
                }
            }
        }
        panic!("could not start a Redis Cluster: {last}");
    }

    /// Starts the nodes, creates the cluster and waits until every node says
    /// `cluster_state:ok`.
    fn form(&mut self) -> Result<(), String> {
        for i in 0..MASTERS {
            self.spawn(i)?;
        }
        for i in 0..MASTERS {
            self.wait_answers(i, Duration::from_secs(10))?;
        }
        let addrs: Vec<String> = self.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
        let mut args = vec!["--cluster", "create"];
        args.extend(addrs.iter().map(String::as_str));
        args.extend(["--cluster-replicas", "0", "--cluster-yes"]);
        redis_cli(&args, Duration::from_secs(30))?;
        self.wait_ok(Duration::from_secs(20))?;
        for i in 0..MASTERS {
            self.nodes[i].slots = self.own_slots(i)?;
        }
        let covered: u32 = self.nodes.iter().flat_map(|n| &n.slots).map(|(a, b)| u32::from(b - a) + 1).sum();
        if covered != 16_384 {
            return Err(format!("the masters cover {covered} slots, not 16384"));
        }
        Ok(())
    }

    fn spawn(&mut self, i: usize) -> Result<(), String> {
        let node = &mut self.nodes[i];
        assert!(node.child.is_none(), "node {i} already runs");
        let port = node.port.to_string();
        let child = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1", "--cluster-enabled", "yes"])
            .args(["--cluster-config-file", &format!("nodes-{port}.conf")])
            .args(["--cluster-node-timeout", "2000", "--cluster-require-full-coverage", "no"])
            .args(["--save", "", "--appendonly", "no", "--logfile", &format!("node-{port}.log")])
            .arg("--dir")
            .arg(&self.dir)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("redis-server: {e}"))?;
        node.child = Some(child);
        Ok(())
    }

    fn wait_answers(&mut self, i: usize, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            if self.query::<String>(i, &redis::cmd("PING")).is_ok() {
                return Ok(());
            }
            if let Some(child) = self.nodes[i].child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.nodes[i].child = None;
                return Err(format!("redis-server on port {} exited: {status}", self.nodes[i].port));
            }
            if Instant::now() >= deadline {
                return Err(format!("redis-server on port {} did not answer", self.nodes[i].port));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (at most `limit`) until every running node says `cluster_state:ok`.
    pub fn wait_ok(&self, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            let states: Vec<String> = self
                .running()
                .map(|i| match self.query::<String>(i, redis::cmd("CLUSTER").arg("INFO")) {
                    Ok(info) => {
                        info.lines().find(|l| l.starts_with("cluster_state:")).unwrap_or("?").to_owned()
                    }
                    Err(err) => err,
                })
                .collect();
            if states.iter().all(|s| s.trim_end() == "cluster_state:ok") {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!("cluster not ok within {limit:?}: {states:?}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The slot ranges node `i` serves, from its own `CLUSTER NODES` line.
    fn own_slots(&self, i: usize) -> Result<Vec<(u16, u16)>, String> {
        let nodes: String = self.query(i, redis::cmd("CLUSTER").arg("NODES"))?;
        let line = nodes.lines().find(|l| l.contains("myself")).ok_or("no `myself` line")?;
        Ok(line
            .split_whitespace()
            .skip(8)
            .filter(|f| !f.starts_with('['))
            .map(|range| match range.split_once('-') {
                Some((a, b)) => (a.parse().unwrap(), b.parse().unwrap()),
                None => (range.parse().unwrap(), range.parse().unwrap()),
            })
            .collect())
    }

    /// Sends `cmd` to node `i` alone (not as a cluster client).
    pub fn query<T: redis::FromRedisValue>(&self, i: usize, cmd: &redis::Cmd) -> Result<T, String> {
        let client = redis::Client::open(self.url(i)).map_err(|e| e.to_string())?;
        let mut conn =
            client.get_connection_with_timeout(Duration::from_millis(500)).map_err(|e| e.to_string())?;
        conn.set_read_timeout(Some(Duration::from_secs(2))).map_err(|e| e.to_string())?;
        cmd.query(&mut conn).map_err(|e| e.to_string())
    }

    fn running(&self) -> impl Iterator<Item = usize> + '_ {
        (0..MASTERS).filter(|&i| self.nodes[i].child.is_some())
    }

    pub fn port(&self, i: usize) -> u16 {
        self.nodes[i].port
    }

    pub fn url(&self, i: usize) -> String {
        format!("redis://127.0.0.1:{}/", self.nodes[i].port)
    }

    pub fn urls(&self) -> Vec<String> {
        (0..MASTERS).map(|i| self.url(i)).collect()
    }

    /// A guard connected to the cluster, with a 1.5 s timeout per operation.
    pub async fn guard(&self) -> RedisReplayGuard {
        RedisReplayGuard::connect_cluster(self.urls()).await.unwrap().timeout(Duration::from_millis(1500))
    }

    /// The hash slot of `key` (`CLUSTER KEYSLOT` on a running node).
    pub fn slot(&self, key: &str) -> u16 {
        let i = self.running().next().expect("a running node");
        self.query(i, redis::cmd("CLUSTER").arg("KEYSLOT").arg(key)).unwrap()
    }

    /// The master owning `key`'s slot.
    pub fn node_of(&self, key: &str) -> usize {
        let slot = self.slot(key);
        (0..MASTERS)
            .find(|&i| self.nodes[i].slots.iter().any(|&(a, b)| (a..=b).contains(&slot)))
            .expect("every slot has a master")
    }

    /// `{prefix}-<n>` for the first n whose slot master `i` owns.
    pub fn key_on(&self, i: usize, prefix: &str) -> String {
        (0..1_000).map(|n| format!("{prefix}-{n}")).find(|k| self.node_of(k) == i).unwrap()
    }

    /// The number of keys node `i` holds.
    pub fn dbsize(&self, i: usize) -> i64 {
        self.query(i, &redis::cmd("DBSIZE")).unwrap()
    }

    /// Whether every other running node flags node `i` as failed (`fail`, not just
    /// the suspicion `fail?`).
    pub fn flagged_failed(&self, i: usize) -> bool {
        let id_line = |nodes: &str| {
            nodes
                .lines()
                .find(|l| l.contains(&format!("127.0.0.1:{}@", self.nodes[i].port)))
                .map(str::to_owned)
        };
        self.running().filter(|&j| j != i).all(|j| {
            let nodes: String = self.query(j, redis::cmd("CLUSTER").arg("NODES")).unwrap_or_default();
            id_line(&nodes).is_some_and(|l| {
                l.split_whitespace().nth(2).is_some_and(|flags| flags.split(',').any(|f| f == "fail"))
            })
        })
    }

    /// Kills master `i` (its port stays reserved for [`RedisCluster::run`]).
    pub fn stop(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes (`SIGSTOP`) or thaws (`SIGCONT`) master `i`: a frozen node keeps its
    /// connections open and answers nothing, like a hung host.
    pub fn freeze(&mut self, i: usize, frozen: bool) {
        let pid = self.nodes[i].child.as_ref().expect("a running node").id().to_string();
        let signal = if frozen { "-STOP" } else { "-CONT" };
        let status = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// Restarts master `i` on its port with its cluster config (same node id and
    /// slots, no data) and waits until it answers.
    pub fn run(&mut self, i: usize) {
        self.spawn(i).unwrap();
        self.wait_answers(i, Duration::from_secs(10)).unwrap();
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for i in 0..MASTERS {
            self.stop(i);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A started [`RedisCluster`], or `return` from the test (after the skip line).
macro_rules! cluster_or_skip {
    ($test:literal) => {
        match $crate::support::redis_cluster::RedisCluster::start($test) {
            Some(cluster) => cluster,
            None => return,
        }
    };
}
