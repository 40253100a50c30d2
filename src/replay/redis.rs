//! The Redis replay guard: one store shared by every replica.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};

use super::{BoxFuture, ClaimOutcome, ClaimToken, ReplayGuard, ReplayKey, ReplayStoreError};

const BACKEND: &str = "redis";

/// The default bound on one store operation, reconnection included.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// `SET NX PX`, and on failure tell a claim from a done key, in one round trip.
/// Returns 1 claimed, 2 done, 3 in progress.
const CLAIM: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
if redis.call('GET', KEYS[1]) == 'done' then
  return 2
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

/// A [`ReplayGuard`] in Redis, shared by every replica (feature `redis`).
///
/// - claim: one `EVALSHA` of a script doing `SET key <token> NX PX <lease>` and, when
///   the key exists, telling a claim (`<token>`) from a done key (`done`);
/// - complete: `SET key done PX <ttl>` if the claim is still ours (or lapsed unclaimed),
///   in a script;
/// - release: compare and delete, in a script, so one replica never deletes another's
///   claim.
///
/// Tokens are 128 random bits. The connection is a `redis` connection manager:
/// multiplexed, reconnecting in the background after a failure. Every operation is
/// bounded by a timeout (2 s by default, [`RedisReplayGuard::timeout`]), after which it
/// fails with [`ReplayStoreError`] and the [`FailMode`](super::FailMode) decides. Keys
/// expire in Redis by themselves; nothing needs cleaning up.
///
/// Cheap to clone (clones share the connection).
///
/// ```no_run
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
#[derive(Clone)]
pub struct RedisReplayGuard {
    conn: ConnectionManager,
    scripts: Arc<Scripts>,
    timeout: Duration,
}

struct Scripts {
    claim: Script,
    complete: Script,
    release: Script,
}

impl RedisReplayGuard {
    /// Connects to `url` (`redis://[user:password@]host:port/db`, `rediss://…` needs a
    /// TLS feature of `redis`), failing if Redis cannot be reached now.
    ///
    /// Connection attempts time out after 1 s, responses after 1 s, and a lost
    /// connection is re-established in the background (up to 3 attempts per failure,
    /// again on the next operation).
    pub async fn connect(url: &str) -> Result<Self, ReplayStoreError> {
        let client = Client::open(url).map_err(store_error)?;
        let conn = ConnectionManager::new_with_config(client, manager_config()).await.map_err(store_error)?;
        Ok(Self::from_manager(conn))
    }

    /// Like [`RedisReplayGuard::connect`], but connects on first use, so a service
    /// starts while Redis is down (its deliveries then meet the fail mode). Must be
    /// called within a Tokio runtime; fails otherwise.
    ///
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), hooksig::replay::ReplayStoreError> {
    /// let guard = hooksig::replay::RedisReplayGuard::connect_lazy("redis://127.0.0.1:6379/")?;
    /// # let _ = guard;
    /// # Ok(())
    /// # }
    /// ```
    pub fn connect_lazy(url: &str) -> Result<Self, ReplayStoreError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(ReplayStoreError::new(BACKEND, "connect_lazy needs a Tokio runtime"));
        }
        let client = Client::open(url).map_err(store_error)?;
        let conn = ConnectionManager::new_lazy_with_config(client, manager_config()).map_err(store_error)?;
        Ok(Self::from_manager(conn))
    }

    /// A guard over a connection manager you configured (TLS, credentials, timeouts).
    pub fn from_manager(conn: ConnectionManager) -> Self {
        RedisReplayGuard {
            conn,
            scripts: Arc::new(Scripts {
                claim: Script::new(CLAIM),
                complete: Script::new(COMPLETE),
                release: Script::new(RELEASE),
            }),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Bounds every operation, reconnection included (default 2 s). Keep it well under
    /// your senders' timeout (Vocalis gives up after 10 s).
    ///
    /// ```no_run
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

    /// Runs `script` on `key` with `args`, within the timeout.
    async fn eval(
        &self,
        script: &Script,
        key: &str,
        token: &ClaimToken,
        millis: u64,
    ) -> Result<i64, ReplayStoreError> {
        let mut conn = self.conn.clone();
        let mut invocation = script.prepare_invoke();
        invocation.key(key).arg(token.to_string()).arg(millis);
        bounded(self.timeout, invocation.invoke_async(&mut conn)).await
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
        f.debug_struct("RedisReplayGuard").field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(Duration::from_secs(1)))
        .set_number_of_retries(3)
        .set_max_delay(Duration::from_millis(500))
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
