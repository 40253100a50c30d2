//! The Redis replay guard: one store shared by every replica, on one Redis node or
//! on a Redis Cluster.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClient, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::{Client, ErrorKind, RedisResult, Script, ServerErrorKind};

use super::{BoxFuture, ClaimOutcome, ClaimToken, ReplayGuard, ReplayKey, ReplayStoreError};

const BACKEND: &str = "redis";

/// The default bound on one store operation, reconnection included.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long one connection attempt to one node, and one response, may take.
const NODE_TIMEOUT: Duration = Duration::from_secs(1);

/// The bound on [`RedisReplayGuard::connect_cluster`]: discovering the cluster's
/// topology and connecting to its masters.
const CLUSTER_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// `SET NX PX`, and on failure tell a claim from a done key, in one round trip.
/// Returns 1 claimed, 2 done, 3 in progress. The claim is ours also when the key
/// already holds our token: the client resent the script after a lost connection
/// although the first attempt had run (tokens are unique per claim).
const CLAIM: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
local held = redis.call('GET', KEYS[1])
if held == 'done' then
  return 2
end
if held == ARGV[1] then
  return 1
end
return 3
";

/// Marks done if the claim is still ours or the key is gone; never overwrites
/// another claimer's claim. Returns 1 when the key is now done, 0 otherwise.
const COMPLETE: &str = r"
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] or not held then
  redis.call('SET', KEYS[1], 'done', 'PX', ARGV[2])
  return 1
end
if held == 'done' then
  return 1
end
return 0
";

/// Compare and delete: only the claimer's own claim. Returns 1 if deleted.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// A [`ReplayGuard`] in Redis, shared by every replica (feature `redis`): on one Redis
/// node ([`connect`](RedisReplayGuard::connect)) or on a Redis Cluster
/// ([`connect_cluster`](RedisReplayGuard::connect_cluster)), with the same semantics.
///
/// - claim: a script doing `SET key <token> NX PX <lease>` and, when the key exists,
///   telling a claim (`<token>`) from a done key (`done`);
/// - complete: `SET key done PX <ttl>` if the claim is still ours (or lapsed unclaimed),
///   in a script;
/// - release: compare and delete, in a script, so one replica never deletes another's
///   claim.
///
/// Each operation is one round trip: an `EVALSHA` of a script that touches its one
/// key only, so that on a cluster it runs, atomically, on the master owning the key's
/// hash slot. A node that does not know the script yet (first use, a restart, `SCRIPT
/// FLUSH`) answers `NOSCRIPT` and gets it once with `EVAL`, on the same key; nothing
/// is ever sent to every node. Tokens are 128 random bits.
///
/// Every operation is bounded by a timeout (2 s by default, [`RedisReplayGuard::timeout`]),
/// reconnection, redirections and retries included, after which it fails with
/// [`ReplayStoreError`] and the [`FailMode`](super::FailMode) decides. Keys expire in
/// Redis by themselves; nothing needs cleaning up.
///
/// Cheap to clone (clones share the connection).
///
/// # One node
///
/// The connection is a `redis` connection manager: multiplexed, reconnecting in the
/// background after a failure.
///
/// ```no_run
/// // `no_run`: needs a Redis server listening on 127.0.0.1:6379.
/// use hooksig::replay::{RedisReplayGuard, ReplayProtection};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let guard = RedisReplayGuard::connect("redis://127.0.0.1:6379/").await?;
/// // Give `replay` to `.replay_guard(…)` of the tower layer or the actix middleware,
/// // or to the `VerifiedOnce` extractors; every replica connects to the same Redis.
/// let replay = ReplayProtection::new(guard);
/// # let _ = replay;
/// # Ok(())
/// # }
/// ```
///
/// # A Redis Cluster
///
/// When one Redis cannot hold the window (at 1,000 deliveries/s a 72 h window is
/// about 260 million keys), the keys spread over the masters of a cluster by hash
/// slot. The connection is the `redis` async cluster client: one multiplexed
/// connection per master, following `MOVED`/`ASK` redirections, refreshing the slot
/// map when it changes and reconnecting a lost node in the background.
///
/// - Keep hash tags (`{…}`) out of the [prefix](super::ReplayPolicy::prefix) and the
///   scheme names: a tag pins every key to one slot, so to one master.
/// - When the master owning a key is down, operations on that key fail with
///   [`ReplayStoreError`] within the timeout (503 under the default
///   [`FailMode::Closed`](super::FailMode::Closed)) and keys on the other masters keep
///   working, provided the cluster serves a partial slot map
///   (`cluster-require-full-coverage no`). Under Redis's default (`yes`) every node
///   refuses every key once the failure is detected (after `cluster-node-timeout`),
///   so every delivery meets the fail mode until the master or a replica of it is back.
/// - Replication is asynchronous: after a failover to a replica, claims and done
///   records the old master had not yet passed on are lost, so a delivery in flight,
///   or completed just before, may be processed again.
///
/// ```no_run
/// // `no_run`: needs a Redis Cluster on 127.0.0.1:7000–7002.
/// use hooksig::replay::{RedisReplayGuard, ReplayProtection};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Any reachable node will do to discover the others; list several.
/// let guard = RedisReplayGuard::connect_cluster([
///     "redis://127.0.0.1:7000/",
///     "redis://127.0.0.1:7001/",
///     "redis://127.0.0.1:7002/",
/// ])
/// .await?;
/// let replay = ReplayProtection::new(guard);
/// # let _ = replay;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisReplayGuard {
    conn: Connection,
    scripts: Arc<Scripts>,
    timeout: Duration,
}

/// One node or a cluster: both multiplexed, cheap to clone.
#[derive(Clone)]
enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

struct Scripts {
    claim: Lua,
    complete: Lua,
    release: Lua,
}

/// A script's source and its SHA-1, for `EVALSHA` and the `EVAL` fallback.
struct Lua {
    code: &'static str,
    hash: String,
}

impl Lua {
    fn new(code: &'static str) -> Lua {
        Lua { code, hash: Script::new(code).get_hash().to_owned() }
    }
}

impl RedisReplayGuard {
    /// Connects to `url` (`redis://[user:password@]host:port/db`, `rediss://…` needs a
    /// TLS feature of `redis`), failing if Redis cannot be reached now. Must be called
    /// within a Tokio runtime; fails otherwise.
    ///
    /// Connection attempts time out after 1 s, responses after 1 s, and a lost
    /// connection is re-established in the background (up to 3 attempts per failure,
    /// again on the next operation).
    pub async fn connect(url: &str) -> Result<Self, ReplayStoreError> {
        require_runtime("connect")?;
        let client = Client::open(url).map_err(store_error)?;
        let conn = ConnectionManager::new_with_config(client, manager_config()).await.map_err(store_error)?;
        Ok(Self::from_manager(conn))
    }

    /// Like [`RedisReplayGuard::connect`], but connects on first use, so a service
    /// starts while Redis is down (its deliveries then meet the fail mode). Must be
    /// called within a Tokio runtime; fails otherwise.
    ///
    /// ```no_run
    /// // `no_run`: the claims below need a Redis server on 127.0.0.1:6379.
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), hooksig::replay::ReplayStoreError> {
    /// let guard = hooksig::replay::RedisReplayGuard::connect_lazy("redis://127.0.0.1:6379/")?;
    /// # let _ = guard;
    /// # Ok(())
    /// # }
    /// ```
    pub fn connect_lazy(url: &str) -> Result<Self, ReplayStoreError> {
        require_runtime("connect_lazy")?;
        let client = Client::open(url).map_err(store_error)?;
        let conn = ConnectionManager::new_lazy_with_config(client, manager_config()).map_err(store_error)?;
        Ok(Self::from_manager(conn))
    }

    /// Connects to the Redis Cluster that `nodes` belong to (`redis://[user:password@]host:port`
    /// each; one reachable master or replica is enough to discover the others, list
    /// several), failing if none answers or the cluster's slot map cannot be read
    /// within 5 s. A master that is down now does not fail the connection: its keys
    /// fail until it is back. Must be called within a Tokio runtime; fails otherwise.
    ///
    /// Connection attempts to a node time out after 1 s, responses after 1 s; a
    /// request meeting a lost connection or a moved slot is retried (up to 3 times)
    /// within the operation's [timeout](RedisReplayGuard::timeout), and lost nodes are
    /// reconnected in the background.
    ///
    /// ```no_run
    /// // `no_run`: needs a Redis Cluster; REDIS_CLUSTER_NODES is a comma-separated list.
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let nodes = std::env::var("REDIS_CLUSTER_NODES")?;
    /// let guard = hooksig::replay::RedisReplayGuard::connect_cluster(nodes.split(','))
    ///     .await?
    ///     .timeout(std::time::Duration::from_millis(500));
    /// # let _ = guard;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect_cluster(
        nodes: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> Result<Self, ReplayStoreError> {
        require_runtime("connect_cluster")?;
        let client = cluster_client(nodes)?;
        let conn = bounded(CLUSTER_CONNECT_TIMEOUT, client.get_async_connection()).await?;
        Ok(Self::from_cluster_connection(conn))
    }

    /// Like [`RedisReplayGuard::connect_cluster`], but connects in the background, so a
    /// service starts while the cluster is down (its deliveries then meet the fail
    /// mode, until the cluster answers). Fails only on a malformed or empty node list,
    /// or outside a Tokio runtime.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hooksig::replay::{RedisReplayGuard, ReplayGuard, ReplayKey};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), hooksig::replay::ReplayStoreError> {
    /// // Nothing listens on these ports: the guard is made, its operations fail closed.
    /// let guard = RedisReplayGuard::connect_cluster_lazy(["redis://127.0.0.1:1/", "redis://127.0.0.1:2/"])?
    ///     .timeout(Duration::from_millis(300));
    /// let key = ReplayKey::new("app:delivery-1", Duration::from_secs(3600), Duration::from_secs(60));
    /// let err = guard.claim(&key).await.unwrap_err();
    /// assert_eq!(err.backend(), "redis");
    ///
    /// assert!(RedisReplayGuard::connect_cluster_lazy(Vec::<String>::new()).is_err(), "no nodes");
    /// # Ok(())
    /// # }
    /// ```
    pub fn connect_cluster_lazy(
        nodes: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> Result<Self, ReplayStoreError> {
        require_runtime("connect_cluster_lazy")?;
        let client = cluster_client(nodes)?;
        let config =
            ClusterConfig::new().set_connection_timeout(NODE_TIMEOUT).set_response_timeout(NODE_TIMEOUT);
        Ok(Self::from_cluster_connection(client.get_pending_async_connection_with_config(config)))
    }

    /// A guard over a connection manager you configured (TLS, credentials, timeouts).
    pub fn from_manager(conn: ConnectionManager) -> Self {
        Self::with_connection(Connection::Single(conn))
    }

    /// A guard over a cluster connection you configured (TLS, credentials, timeouts,
    /// retries): `redis::cluster::ClusterClient::builder(nodes)…build()?` and its
    /// `get_async_connection()`. Every operation stays bounded by
    /// [`RedisReplayGuard::timeout`].
    ///
    /// ```
    /// use redis::cluster::{ClusterClient, ClusterConfig};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = ClusterClient::builder(["redis://127.0.0.1:7000/", "redis://127.0.0.1:7001/"])
    ///     .username("hooksig")
    ///     .password("s3cret")
    ///     .retries(2)
    ///     .build()?;
    /// // Connects in the background; `client.get_async_connection().await?` connects now
    /// // (and needs the cluster up).
    /// let conn = client.get_pending_async_connection_with_config(ClusterConfig::new());
    /// let guard = hooksig::replay::RedisReplayGuard::from_cluster_connection(conn);
    /// # let _ = guard;
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_cluster_connection(conn: ClusterConnection) -> Self {
        Self::with_connection(Connection::Cluster(conn))
    }

    fn with_connection(conn: Connection) -> Self {
        RedisReplayGuard {
            conn,
            scripts: Arc::new(Scripts {
                claim: Lua::new(CLAIM),
                complete: Lua::new(COMPLETE),
                release: Lua::new(RELEASE),
            }),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Bounds every operation, reconnection, redirections and retries included (default
    /// 2 s). Keep it well under your senders' timeout (Vocalis gives up after 10 s).
    ///
    /// ```no_run
    /// // `no_run`: needs a Redis server on 127.0.0.1:6379.
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), hooksig::replay::ReplayStoreError> {
    /// use std::time::Duration;
    /// let guard = hooksig::replay::RedisReplayGuard::connect("redis://127.0.0.1/")
    ///     .await?
    ///     .timeout(Duration::from_millis(500));
    /// # let _ = guard;
    /// # Ok(())
    /// # }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs `script` on `key` with `token` and `millis`, within the timeout.
    async fn eval(
        &self,
        script: &Lua,
        key: &str,
        token: &ClaimToken,
        millis: u64,
    ) -> Result<i64, ReplayStoreError> {
        let token = token.to_string();
        match &self.conn {
            Connection::Single(conn) => {
                bounded(self.timeout, run_script(&mut conn.clone(), script, key, &token, millis)).await
            }
            Connection::Cluster(conn) => {
                bounded(self.timeout, run_script(&mut conn.clone(), script, key, &token, millis)).await
            }
        }
    }
}

/// `EVALSHA script 1 key token millis`; on `NOSCRIPT` the same with `EVAL` and the
/// source, which also caches the script on that node. Both are one-key commands, so a
/// cluster connection routes them to the master owning `key` (never `SCRIPT LOAD`,
/// which goes to every node and fails while any is down).
async fn run_script(
    conn: &mut impl ConnectionLike,
    script: &Lua,
    key: &str,
    token: &str,
    millis: u64,
) -> RedisResult<i64> {
    let call = |command: &str, script: &str| {
        let mut cmd = redis::cmd(command);
        cmd.arg(script).arg(1).arg(key).arg(token).arg(millis);
        cmd
    };
    match call("EVALSHA", &script.hash).query_async(conn).await {
        Err(err) if err.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
            call("EVAL", script.code).query_async(conn).await
        }
        result => result,
    }
}
impl ReplayGuard for RedisReplayGuard {
    fn claim<'a>(&'a self, key: &'a ReplayKey) -> BoxFuture<'a, Result<ClaimOutcome, ReplayStoreError>> {
        Box::pin(async move {
            let token = ClaimToken::random().map_err(store_error)?;
            let code = self.eval(&self.scripts.claim, key.as_str(), &token, millis(key.lease())).await?;
            Ok(match code {
                1 => ClaimOutcome::Claimed(token),
                2 => ClaimOutcome::Done,
                _ => ClaimOutcome::InProgress,
            })
        })
    }

    fn complete<'a>(
        &'a self,
        key: &'a ReplayKey,
        token: &'a ClaimToken,
    ) -> BoxFuture<'a, Result<bool, ReplayStoreError>> {
        Box::pin(async move {
            let code = self.eval(&self.scripts.complete, key.as_str(), token, millis(key.ttl())).await?;
            Ok(code == 1)
        })
    }

    fn release<'a>(
        &'a self,
        key: &'a ReplayKey,
        token: &'a ClaimToken,
    ) -> BoxFuture<'a, Result<bool, ReplayStoreError>> {
        Box::pin(async move {
            let code = self.eval(&self.scripts.release, key.as_str(), token, 0).await?;
            Ok(code == 1)
        })
    }

    fn release_detached(&self, key: ReplayKey, token: ClaimToken) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            #[cfg(feature = "tracing")]
            tracing::warn!(key = ?key.as_str(), "replay guard: no Tokio runtime to release on; the claim lapses with its lease");
            return;
        };
        let guard = self.clone();
        handle.spawn(async move {
            let _result = guard.release(&key, &token).await;
            #[cfg(feature = "tracing")]
            if let Err(err) = _result {
                tracing::warn!(key = ?key.as_str(), error = %err, "replay guard: release failed; the claim lapses with its lease");
            }
        });
    }
}

impl fmt::Debug for RedisReplayGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.conn {
            Connection::Single(_) => "single node",
            Connection::Cluster(_) => "cluster",
        };
        f.debug_struct("RedisReplayGuard")
            .field("mode", &mode)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(Duration::from_secs(1)))
        .set_number_of_retries(3)
        .set_max_delay(Duration::from_millis(500))
}

/// The cluster client of [`RedisReplayGuard::connect_cluster`]: per-node timeouts, a
/// few quick retries, and no overall timeout of its own (the guard's bounds each
/// operation).
fn cluster_client(
    nodes: impl IntoIterator<Item = impl AsRef<str>>,
) -> Result<ClusterClient, ReplayStoreError> {
    let nodes: Vec<String> = nodes.into_iter().map(|node| node.as_ref().to_owned()).collect();
    ClusterClient::builder(nodes)
        .connection_timeout(NODE_TIMEOUT)
        .response_timeout(NODE_TIMEOUT)
        .overall_response_timeout(None)
        .retries(3)
        .min_retry_wait(10)
        .max_retry_wait(500)
        .build()
        .map_err(store_error)
}

/// The `redis` client spawns its connection tasks on the current Tokio runtime, and
/// would panic without one.
fn require_runtime(what: &str) -> Result<(), ReplayStoreError> {
    match tokio::runtime::Handle::try_current() {
        Ok(_) => Ok(()),
        Err(_) => Err(ReplayStoreError::new(BACKEND, format!("{what} needs a Tokio runtime"))),
    }
}

fn store_error(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> ReplayStoreError {
    ReplayStoreError::new(BACKEND, err)
}

/// Milliseconds for `PX`, at least 1 (Redis refuses `PX 0`).
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).clamp(1, i64::MAX.unsigned_abs() / 2)
}

async fn bounded<T>(
    timeout: Duration,
    fut: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, ReplayStoreError> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(store_error(err)),
        Err(_) => Err(ReplayStoreError::new(BACKEND, format!("timed out after {} ms", timeout.as_millis()))),
    }
}
