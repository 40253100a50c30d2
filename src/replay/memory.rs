//! The in-process replay guard: bounded, sharded, one process only.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{BoxFuture, ClaimOutcome, ClaimToken, ReplayGuard, ReplayKey, ReplayStoreError};

/// The default number of shards.
const DEFAULT_SHARDS: usize = 64;
/// Durations are capped here so that `Instant` arithmetic never overflows.
const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
/// Expired entries dropped opportunistically on each insertion.
const SWEEP_PER_INSERT: usize = 4;

/// An in-memory [`ReplayGuard`]: bounded in entries and time, concurrent, and local
/// to **one process**.
///
/// Replicas behind a load balancer each have their own memory, so a delivery retried
/// to another replica is processed again there; use `RedisReplayGuard` (feature
/// `redis`) to share one store. A restart forgets everything.
///
/// Keys are spread over shards (64 by default), each a mutex around a map and two
/// orderings (by expiry and by age), so concurrent deliveries rarely wait on one
/// another and no lock covers the whole store. Each shard holds at most
/// `capacity / shards` entries: when full, it evicts an expired entry if there is one,
/// else its oldest. The total never exceeds `capacity`. An evicted key is forgotten:
/// a replay of it is processed again (see the [module docs](super) on limits), so
/// size the capacity for the deliveries you receive in the retry window.
///
/// ```
/// use std::time::Duration;
/// use hooksig::replay::{ClaimOutcome, MemoryReplayGuard, ReplayGuard, ReplayKey};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), hooksig::replay::ReplayStoreError> {
/// let guard = MemoryReplayGuard::new(10_000);
/// let key = ReplayKey::new("k", Duration::from_secs(60), Duration::from_secs(5));
/// let ClaimOutcome::Claimed(mine) = guard.claim(&key).await? else { unreachable!() };
/// let theirs = hooksig::replay::ClaimToken::from_bytes([0; 16]);
/// assert!(!guard.release(&key, &theirs).await?); // not their claim to give back
/// assert!(guard.release(&key, &mine).await?);
/// assert!(guard.claim(&key).await?.is_claimed());
/// assert_eq!(guard.len(), 1);
/// # Ok(())
/// # }
/// ```
pub struct MemoryReplayGuard {
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
    capacity: usize,
    tokens: AtomicU64,
}

impl MemoryReplayGuard {
    /// A guard holding at most `capacity` keys (at least 1), in 64 shards (fewer if
    /// `capacity` is smaller).
    pub fn new(capacity: usize) -> Self {
        Self::with_shards(capacity, DEFAULT_SHARDS)
    }

    /// A guard with `shards` shards (at least 1, at most `capacity`). Each holds
    /// `capacity / shards` keys, so the usable total may round down a little.
    ///
    /// ```
    /// let guard = hooksig::replay::MemoryReplayGuard::with_shards(1_000, 8);
    /// assert_eq!(guard.capacity(), 1_000);
    /// assert!(guard.is_empty());
    /// ```
    pub fn with_shards(capacity: usize, shards: usize) -> Self {
        let capacity = capacity.max(1);
        let count = shards.clamp(1, capacity);
        let per_shard = capacity.checked_div(count).unwrap_or(1).max(1);
        let shards = (0..count).map(|_| Mutex::new(Shard::new(per_shard))).collect();
        MemoryReplayGuard { shards, hasher: RandomState::new(), capacity, tokens: AtomicU64::new(1) }
    }

    /// The most keys the guard holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many keys are held now (claims and done keys, including expired ones not
    /// yet swept). Never more than [`MemoryReplayGuard::capacity`].
    pub fn len(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).entries.len()).sum()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every key.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), hooksig::replay::ReplayStoreError> {
    /// use hooksig::replay::{MemoryReplayGuard, ReplayGuard, ReplayKey};
    /// let guard = MemoryReplayGuard::new(10);
    /// guard.claim(&ReplayKey::new("k", Default::default(), std::time::Duration::from_secs(9))).await?;
    /// guard.clear();
    /// assert!(guard.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn clear(&self) {
        for shard in self.shards.iter() {
            lock(shard).clear();
        }
    }

    fn shard(&self, key: &str) -> Result<MutexGuard<'_, Shard>, ReplayStoreError> {
        let len = u64::try_from(self.shards.len()).unwrap_or(1);
        let index = usize::try_from(self.hasher.hash_one(key).checked_rem(len).unwrap_or(0)).unwrap_or(0);
        self.shards.get(index).map(lock).ok_or_else(|| ReplayStoreError::new("memory", "no shard"))
    }

    fn next_token(&self) -> ClaimToken {
        // Only this guard hands out and checks its tokens: a counter is unique enough.
        let n = self.tokens.fetch_add(1, Ordering::Relaxed);
        let mut bytes = [0u8; 16];
        for (slot, byte) in bytes.iter_mut().zip(n.to_le_bytes()) {
            *slot = byte;
        }
        ClaimToken::from_bytes(bytes)
    }

    fn claim_now(&self, key: &ReplayKey) -> Result<ClaimOutcome, ReplayStoreError> {
        let now = Instant::now();
        let mut shard = self.shard(key.as_str())?;
        if let Some(state) = shard.live(key.as_str(), now) {
            return Ok(match state {
                State::Claimed(_) => ClaimOutcome::InProgress,
                State::Done => ClaimOutcome::Done,
            });
        }
        let token = self.next_token();
        shard.insert(key.as_str(), State::Claimed(token), deadline(now, key.lease()), now);
        Ok(ClaimOutcome::Claimed(token))
    }

    fn complete_now(&self, key: &ReplayKey, token: &ClaimToken) -> Result<bool, ReplayStoreError> {
        let now = Instant::now();
        let mut shard = self.shard(key.as_str())?;
        let until = deadline(now, key.ttl());
        match shard.live(key.as_str(), now) {
            Some(State::Claimed(held)) if held == *token => {
                shard.mark_done(key.as_str(), until);
                Ok(true)
            }
            Some(State::Done) => Ok(true),
            Some(State::Claimed(_)) => Ok(false),
            None => {
                shard.insert(key.as_str(), State::Done, until, now);
                Ok(true)
            }
        }
    }

    fn release_now(&self, key: &ReplayKey, token: &ClaimToken) -> Result<bool, ReplayStoreError> {
        let mut shard = self.shard(key.as_str())?;
        let ours = matches!(shard.entries.get(key.as_str()), Some(Entry { state: State::Claimed(held), .. }) if held == token);
        if ours {
            shard.remove(key.as_str());
        }
        Ok(ours)
    }
}

impl ReplayGuard for MemoryReplayGuard {
    fn claim<'a>(&'a self, key: &'a ReplayKey) -> BoxFuture<'a, Result<ClaimOutcome, ReplayStoreError>> {
        Box::pin(std::future::ready(self.claim_now(key)))
    }

    fn complete<'a>(
        &'a self,
        key: &'a ReplayKey,
        token: &'a ClaimToken,
    ) -> BoxFuture<'a, Result<bool, ReplayStoreError>> {
        Box::pin(std::future::ready(self.complete_now(key, token)))
    }

    fn release<'a>(
        &'a self,
        key: &'a ReplayKey,
        token: &'a ClaimToken,
    ) -> BoxFuture<'a, Result<bool, ReplayStoreError>> {
        Box::pin(std::future::ready(self.release_now(key, token)))
    }

    fn release_detached(&self, key: ReplayKey, token: ClaimToken) {
        let _ = self.release_now(&key, &token);
    }
}

impl fmt::Debug for MemoryReplayGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryReplayGuard")
            .field("capacity", &self.capacity)
            .field("shards", &self.shards.len())
            .field("len", &self.len())
            .finish()
    }
}

/// A poisoned shard is still consistent: no code path panics while holding a lock.
fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

fn deadline(now: Instant, after: Duration) -> Instant {
    now.checked_add(after.min(MAX_DURATION)).unwrap_or(now)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Claimed(ClaimToken),
    Done,
}

struct Entry {
    state: State,
    expires: Instant,
    seq: u64,
}

/// One shard: the entries, and two orderings of their keys for eviction.
struct Shard {
    entries: HashMap<Arc<str>, Entry>,
    by_expiry: BTreeMap<(Instant, u64), Arc<str>>,
    by_age: BTreeMap<u64, Arc<str>>,
    next_seq: u64,
    capacity: usize,
}

impl Shard {
    fn new(capacity: usize) -> Self {
        Shard {
            entries: HashMap::new(),
            by_expiry: BTreeMap::new(),
            by_age: BTreeMap::new(),
            next_seq: 0,
            capacity,
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.by_expiry.clear();
        self.by_age.clear();
    }

    /// The state of `key` if it is held and not expired; an expired entry is dropped.
    fn live(&mut self, key: &str, now: Instant) -> Option<State> {
        let entry = self.entries.get(key)?;
        if entry.expires > now {
            return Some(entry.state);
        }
        self.remove(key);
        None
    }

    fn remove(&mut self, key: &str) -> Option<Entry> {
        let entry = self.entries.remove(key)?;
        self.by_expiry.remove(&(entry.expires, entry.seq));
        self.by_age.remove(&entry.seq);
        Some(entry)
    }

    /// Inserts an absent key, evicting first so the shard never exceeds its capacity.
    fn insert(&mut self, key: &str, state: State, expires: Instant, now: Instant) {
        self.sweep(now, SWEEP_PER_INSERT);
        while self.entries.len() >= self.capacity {
            if !self.evict_one(now) {
                break;
            }
        }
        if self.entries.len() >= self.capacity {
            return;
        }
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let key: Arc<str> = Arc::from(key);
        self.by_expiry.insert((expires, seq), key.clone());
        self.by_age.insert(seq, key.clone());
        self.entries.insert(key, Entry { state, expires, seq });
    }

    fn mark_done(&mut self, key: &str, expires: Instant) {
        let Some((name, entry)) = self.entries.get_key_value(key) else { return };
        let (name, old) = (name.clone(), (entry.expires, entry.seq));
        self.by_expiry.remove(&old);
        self.by_expiry.insert((expires, old.1), name);
        if let Some(entry) = self.entries.get_mut(key) {
            entry.state = State::Done;
            entry.expires = expires;
        }
    }

    /// Drops up to `limit` expired entries, soonest first.
    fn sweep(&mut self, now: Instant, limit: usize) {
        for _ in 0..limit {
            match self.by_expiry.first_key_value() {
                Some((&(expires, _), key)) if expires <= now => {
                    let key = key.clone();
                    self.remove(&key);
                }
                _ => break,
            }
        }
    }

    /// Evicts an expired entry if any, else the oldest. Returns whether it did.
    fn evict_one(&mut self, now: Instant) -> bool {
        let victim = match self.by_expiry.first_key_value() {
            Some((&(expires, _), key)) if expires <= now => key.clone(),
            _ => match self.by_age.first_key_value() {
                Some((_, key)) => key.clone(),
                None => return false,
            },
        };
        self.remove(&victim).is_some()
    }
}
