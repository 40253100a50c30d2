//! The in-process replay guard: bounded, sharded, one process only.
//!
//! # Design
//!
//! Keys are spread over shards, each a mutex around a map and two orderings by expiry
//! (claims in progress, done keys). The capacity is accounted for globally, in one
//! atomic counter `held` = entries stored + slots reserved by insertions under way.
//! An insertion first reserves a slot (`held < capacity`, compare and swap); if the
//! guard is full it *makes room*: it evicts one entry (an expired one, else the done
//! key that expires soonest) from whichever shard holds it and takes over the freed
//! slot, so `held` never exceeds the capacity and nothing is evicted below it. Claims
//! in progress are never victims; a guard full of them refuses the insertion.
//!
//! Every shard publishes, in two atomics updated under its lock (packed with the other
//! shards' in one array, so that reading all of them touches few cache lines), the
//! soonest expiry of its claims and of its done keys. Making room reads these hints
//! (no lock), locks the
//! one shard holding the best victim and evicts there; a thread never holds two shard
//! locks, except on the exclusive path: when the hints went stale a few times in a row,
//! or showed no victim at all, the thread locks every shard in index order and decides
//! on an exact snapshot. A refusal ("full of claims in progress") is only ever decided
//! there.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{BoxFuture, ClaimOutcome, ClaimToken, ReplayGuard, ReplayKey, ReplayStoreError};

/// The default number of shards.
const DEFAULT_SHARDS: usize = 64;
/// More shards would only lengthen the search for a victim.
const MAX_SHARDS: usize = 1024;
/// Expired entries dropped opportunistically from the shard of each insertion.
const SWEEP_PER_INSERT: usize = 4;
/// Lock-free searches for a victim before the exclusive (all shards) path.
const OPTIMISTIC_ROUNDS: usize = 4;
/// "No such entry" in a hint; also one past the latest possible expiry.
const NEVER: u64 = u64::MAX;
/// What a claim gets when the guard is full and every entry is a live claim in progress.
const FULL: &str = "full of claims in progress";

/// An in-memory [`ReplayGuard`]: bounded in entries and time, concurrent, and local
/// to **one process**.
///
/// Replicas behind a load balancer each have their own memory, so a delivery retried
/// to another replica is processed again there; use `RedisReplayGuard` (feature
/// `redis`) to share one store. A restart forgets everything.
///
/// # Capacity
///
/// The guard holds at most `capacity` keys (claims in progress and done keys together)
/// and keeps its word below that: until it holds `capacity` keys, it forgets a key only
/// when the key's lease or TTL has run out. When it is full and a new key arrives:
///
/// 1. an expired entry is dropped, if there is one (claims whose lease ran out
///    included);
/// 2. else the **done key that expires soonest** is forgotten (with equal TTLs: the one
///    completed first). It gives up the least protection: a replay of it would have
///    been processed again the soonest anyway;
/// 3. else every entry is a claim in progress: those are **never** evicted (that would
///    let a duplicate run concurrently), and the new claim is refused with a
///    [`ReplayStoreError::full`] (`full of claims in progress`), which
///    [`ReplayProtection`] turns into 503 with `Retry-After` whatever the
///    [`FailMode`](super::FailMode), so the sender retries later (running it unguarded would let a
///    copy of a delivery in progress run concurrently).
///
/// A forgotten done key is processed again if it is replayed (see the
/// [module docs](super) on limits), so size the capacity for the deliveries you
/// receive in the retry window, plus the deliveries being processed at once.
///
/// # Concurrency
///
/// Keys are spread over shards (64 by default), each behind its own mutex, so
/// concurrent deliveries rarely wait on one another; the count of keys is one atomic
/// counter shared by all shards, with a slot reserved before each insertion, so the
/// bound is the guard's, not a shard's. A full guard finds its victim through hints
/// every shard publishes (no lock), then locks the one shard that holds it. A refusal
/// is decided with every shard locked, on an exact snapshot.
///
/// # Memory
///
/// About **140 bytes per key plus the key's length**, up to about 190 + length
/// depending on how full the shards' hash tables happen to be, so 100 000 keys of
/// the 81-byte signature form (`hooksig:github:sig:<64 hex>`) take about 22 MB.
/// Per key: the key in one `Arc<str>` (16 bytes + length), a hash-table slot (40
/// bytes + 1 control byte, the table 44–88 % full) and a B-tree entry (32 bytes, in
/// nodes a little over half full since keys arrive in expiry order).
///
/// Measured with a counting global allocator (test `memory_per_key_is_as_documented`
/// in `tests/replay/replay_memory.rs`): the live heap bytes after storing 100 000 keys, over
/// 100 000, for keys of 17 and of 81 bytes, gave 140 + length both times (58 000 to
/// 120 000 keys: 159–174 + length; 1 000 keys: about 190 + length). This counts the
/// bytes requested, not the system allocator's own rounding and headers (some 8–16
/// bytes more per key with glibc). The tables do not shrink as keys go: the memory
/// stays at its high-water mark until [`MemoryReplayGuard::clear`] or drop.
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
///
/// Full of claims in progress, a guard refuses new claims rather than forget one:
///
/// ```
/// use std::time::Duration;
/// use hooksig::replay::{ClaimOutcome, MemoryReplayGuard, ReplayGuard, ReplayKey};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), hooksig::replay::ReplayStoreError> {
/// let hour = Duration::from_secs(3600);
/// let guard = MemoryReplayGuard::new(2);
/// let (a, b, c) = (ReplayKey::new("a", hour, hour), ReplayKey::new("b", hour, hour), ReplayKey::new("c", hour, hour));
/// let ClaimOutcome::Claimed(token_a) = guard.claim(&a).await? else { unreachable!() };
/// assert!(guard.claim(&b).await?.is_claimed());
///
/// let err = guard.claim(&c).await.unwrap_err(); // 503 through ReplayProtection
/// assert_eq!(err.to_string(), "replay store `memory` failed: full of claims in progress");
/// assert_eq!(guard.claim(&a).await?, ClaimOutcome::InProgress);
/// assert_eq!(guard.claim(&b).await?, ClaimOutcome::InProgress);
///
/// // Once `a` is done, it is the one to go for `c`; `b` stays in progress.
/// assert!(guard.complete(&a, &token_a).await?);
/// assert!(guard.claim(&c).await?.is_claimed());
/// assert_eq!(guard.claim(&b).await?, ClaimOutcome::InProgress);
/// assert_eq!(guard.len(), 2);
/// # Ok(())
/// # }
/// ```
///
/// [`ReplayProtection`]: super::ReplayProtection
/// [`FailMode::Closed`]: super::FailMode::Closed
/// [`FailMode::Open`]: super::FailMode::Open
pub struct MemoryReplayGuard {
    shards: Box<[Mutex<Shard>]>,
    /// One per shard, packed together: the search for a victim reads them all.
    hints: Box<[Hint]>,
    hasher: RandomState,
    capacity: usize,
    /// Entries stored in all shards plus slots reserved for insertions under way.
    /// Never above `capacity`.
    held: AtomicUsize,
    tokens: AtomicU64,
    /// Expiries are nanoseconds since this instant.
    epoch: Instant,
}

impl MemoryReplayGuard {
    /// A guard holding at most `capacity` keys (at least 1), in 64 shards (fewer if
    /// `capacity` is smaller).
    pub fn new(capacity: usize) -> Self {
        Self::with_shards(capacity, DEFAULT_SHARDS)
    }

    /// A guard holding at most `capacity` keys (at least 1) in `shards` shards (at
    /// least 1, at most `capacity` and at most 1 024).
    ///
    /// The capacity is the whole guard's: shards only spread lock contention, and any
    /// shard may hold any share of the keys. More shards mean less waiting between
    /// concurrent deliveries and a longer search for a victim when the guard is full;
    /// one shard is a single mutex.
    ///
    /// ```
    /// let guard = hooksig::replay::MemoryReplayGuard::with_shards(1_000, 8);
    /// assert_eq!(guard.capacity(), 1_000);
    /// assert!(guard.is_empty());
    /// ```
    pub fn with_shards(capacity: usize, shards: usize) -> Self {
        let capacity = capacity.max(1);
        let count = shards.clamp(1, capacity.min(MAX_SHARDS));
        MemoryReplayGuard {
            shards: (0..count).map(|_| Mutex::new(Shard::default())).collect(),
            hints: (0..count).map(|_| Hint::default()).collect(),
            hasher: RandomState::new(),
            capacity,
            held: AtomicUsize::new(0),
            tokens: AtomicU64::new(1),
            epoch: Instant::now(),
        }
    }

    /// The most keys the guard holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many keys are held now: claims and done keys, including expired ones not
    /// yet swept and insertions under way. Never more than
    /// [`MemoryReplayGuard::capacity`]. One atomic load, no lock.
    pub fn len(&self) -> usize {
        self.held.load(Ordering::Acquire).min(self.capacity)
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
        for index in 0..self.shards.len() {
            if let Some(mut shard) = self.lock(index) {
                shard.clear();
            }
        }
    }

    fn lock(&self, index: usize) -> Option<Locked<'_>> {
        let shard = lock(self.shards.get(index)?);
        Some(Locked { shard, hint: self.hints.get(index)?, held: &self.held })
    }

    fn lock_key(&self, key: &str) -> Result<Locked<'_>, ReplayStoreError> {
        let len = u64::try_from(self.shards.len()).unwrap_or(1);
        let index = usize::try_from(self.hasher.hash_one(key).checked_rem(len).unwrap_or(0)).unwrap_or(0);
        self.lock(index).ok_or_else(|| ReplayStoreError::new("memory", "no shard"))
    }

    /// Nanoseconds since the guard was made.
    fn now(&self) -> u64 {
        nanos(self.epoch.elapsed())
    }

    fn next_token(&self) -> NonZeroU64 {
        // Only this guard hands out and checks its tokens: a counter is unique enough.
        // Zero is skipped (it marks a done key), once every 2^64 claims.
        loop {
            if let Some(n) = NonZeroU64::new(self.tokens.fetch_add(1, Ordering::Relaxed)) {
                return n;
            }
        }
    }

    /// Takes a free slot if `held < capacity`.
    fn reserve(&self) -> bool {
        let capacity = self.capacity;
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                if held < capacity { held.checked_add(1) } else { None }
            })
            .is_ok()
    }

    /// Gives back a slot taken by [`Self::reserve`] or [`Self::make_room`] and not used.
    fn unreserve(&self) {
        release_slots(&self.held, 1);
    }

    /// Obtains a slot for one insertion: a free one, or the slot of an evicted entry
    /// (expired first, else the done key that expires soonest). Fails if the guard is
    /// full of live claims in progress. Called with no shard locked.
    fn make_room(&self, now: u64) -> Result<(), ReplayStoreError> {
        for _ in 0..OPTIMISTIC_ROUNDS {
            if self.reserve() {
                return Ok(());
            }
            let Some(mut shard) = self.best_hinted(now).and_then(|index| self.lock(index)) else { break };
            // The evicted entry's slot is ours: `held` is unchanged.
            if shard.evict_one(now) {
                return Ok(());
            }
            // The hint went stale: another thread changed that shard meanwhile.
        }
        self.make_room_exclusive(now)
    }

    /// The shard whose hints show the best victim, if any.
    fn best_hinted(&self, now: u64) -> Option<usize> {
        let mut best: Option<((u8, u64), usize)> = None;
        for (index, hint) in self.hints.iter().enumerate() {
            let claims = hint.claims.load(Ordering::Acquire);
            let done = hint.done.load(Ordering::Acquire);
            if let Some(rank) = rank(claims, done, now)
                && best.is_none_or(|(best, _)| rank < best)
            {
                best = Some((rank, index));
            }
        }
        best.map(|(_, index)| index)
    }

    /// [`Self::make_room`] on an exact snapshot: every shard locked, in index order (the
    /// only place that holds more than one lock, so no deadlock).
    fn make_room_exclusive(&self, now: u64) -> Result<(), ReplayStoreError> {
        let mut all: Vec<Locked<'_>> = (0..self.shards.len()).filter_map(|index| self.lock(index)).collect();
        if self.reserve() {
            return Ok(());
        }
        let best = all
            .iter()
            .enumerate()
            .filter_map(|(index, locked)| {
                let (claims, done) = locked.shard.hints();
                rank(claims, done, now).map(|rank| (rank, index))
            })
            .min();
        let evicted =
            best.and_then(|(_, index)| all.get_mut(index)).is_some_and(|locked| locked.evict_one(now));
        if evicted { Ok(()) } else { Err(ReplayStoreError::full("memory", FULL)) }
    }

    fn claim_now(&self, key: &ReplayKey) -> Result<ClaimOutcome, ReplayStoreError> {
        let name = key.as_str();
        let now = self.now();
        {
            let mut shard = self.lock_key(name)?;
            if let Some(outcome) = shard.found(name, now).outcome() {
                return Ok(outcome);
            }
            shard.sweep(now, SWEEP_PER_INSERT);
            if self.reserve() {
                return Ok(ClaimOutcome::Claimed(shard.insert_claim(
                    name,
                    self.next_token(),
                    now,
                    key.lease(),
                )));
            }
        }
        // Full: find room with no lock held, then look again (another claimer of this
        // key may have come first).
        self.make_room(now)?;
        let mut shard = match self.lock_key(name) {
            Ok(shard) => shard,
            Err(err) => {
                self.unreserve();
                return Err(err);
            }
        };
        let now = self.now();
        if let Some(outcome) = shard.found(name, now).outcome() {
            self.unreserve();
            return Ok(outcome);
        }
        Ok(ClaimOutcome::Claimed(shard.insert_claim(name, self.next_token(), now, key.lease())))
    }

    fn complete_now(&self, key: &ReplayKey, token: &ClaimToken) -> Result<bool, ReplayStoreError> {
        let name = key.as_str();
        let now = self.now();
        {
            let mut shard = self.lock_key(name)?;
            match shard.found(name, now) {
                Found::Claimed(held) if token_of(held) == *token => {
                    shard.mark_done(name, now, key.ttl());
                    return Ok(true);
                }
                Found::Claimed(_) => return Ok(false),
                Found::Done => return Ok(true),
                Found::Absent => {}
            }
            // Our lease ran out and nobody claimed the key since: record it as done.
            shard.sweep(now, SWEEP_PER_INSERT);
            if self.reserve() {
                shard.insert_done(name, now, key.ttl());
                return Ok(true);
            }
        }
        self.make_room(now)?;
        let mut shard = match self.lock_key(name) {
            Ok(shard) => shard,
            Err(err) => {
                self.unreserve();
                return Err(err);
            }
        };
        let now = self.now();
        match shard.found(name, now) {
            // Claimed by someone else meanwhile (our token cannot come back).
            Found::Claimed(_) => {
                self.unreserve();
                Ok(false)
            }
            Found::Done => {
                self.unreserve();
                Ok(true)
            }
            Found::Absent => {
                shard.insert_done(name, now, key.ttl());
                Ok(true)
            }
        }
    }

    fn release_now(&self, key: &ReplayKey, token: &ClaimToken) -> Result<bool, ReplayStoreError> {
        let mut shard = self.lock_key(key.as_str())?;
        Ok(shard.remove_claim(key.as_str(), token))
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

/// Frees `count` slots of `held` (saturating: the count never goes below zero).
fn release_slots(held: &AtomicUsize, count: usize) {
    if count > 0 {
        let _ =
            held.fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| Some(held.saturating_sub(count)));
    }
}

/// A duration in nanoseconds, saturating (at 584 years).
fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(NEVER)
}

/// When an entry made at `now` for `after` expires: at most `NEVER - 1`.
fn deadline(now: u64, after: Duration) -> u64 {
    now.saturating_add(nanos(after)).min(NEVER.saturating_sub(1))
}

/// How good a shard's best victim is, from the soonest expiry of its claims and of its
/// done keys (lower is better): an expired entry (soonest first), else a done key
/// (soonest first), else none.
fn rank(claims: u64, done: u64, now: u64) -> Option<(u8, u64)> {
    let soonest = claims.min(done);
    if soonest <= now {
        Some((0, soonest))
    } else if done != NEVER {
        Some((1, done))
    } else {
        None
    }
}

/// The token a counter value stands for.
fn token_of(n: NonZeroU64) -> ClaimToken {
    let mut bytes = [0u8; 16];
    for (slot, byte) in bytes.iter_mut().zip(n.get().to_le_bytes()) {
        *slot = byte;
    }
    ClaimToken::from_bytes(bytes)
}

/// What a shard publishes, under its lock, for the search of a victim.
struct Hint {
    /// The soonest expiry of the shard's claims in progress, [`NEVER`] if none.
    claims: AtomicU64,
    /// The soonest expiry of the shard's done keys, [`NEVER`] if none.
    done: AtomicU64,
}

impl Default for Hint {
    fn default() -> Self {
        Hint { claims: AtomicU64::new(NEVER), done: AtomicU64::new(NEVER) }
    }
}

impl Hint {
    /// Stores `value` unless already there: most changes leave a shard's soonest
    /// expiries as they were, and an unchanged cache line stays shared.
    fn publish(cell: &AtomicU64, value: u64) {
        if cell.load(Ordering::Relaxed) != value {
            cell.store(value, Ordering::Release);
        }
    }
}

/// A locked shard. Every change that removes entries frees their slots in `held`
/// (eviction excepted: the evictor takes the slot over), and dropping it publishes
/// the shard's hints before the lock is released.
struct Locked<'a> {
    shard: MutexGuard<'a, Shard>,
    hint: &'a Hint,
    held: &'a AtomicUsize,
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        // Runs before the fields are dropped, so still under the lock.
        let (claims, done) = self.shard.hints();
        Hint::publish(&self.hint.claims, claims);
        Hint::publish(&self.hint.done, done);
    }
}

/// What a shard holds for a key.
enum Found {
    Claimed(NonZeroU64),
    Done,
    Absent,
}

impl Found {
    fn outcome(&self) -> Option<ClaimOutcome> {
        match self {
            Found::Claimed(_) => Some(ClaimOutcome::InProgress),
            Found::Done => Some(ClaimOutcome::Done),
            Found::Absent => None,
        }
    }
}

impl Locked<'_> {
    /// The live state of `key`; an expired entry is dropped.
    fn found(&mut self, key: &str, now: u64) -> Found {
        let Some(entry) = self.shard.entries.get(key) else { return Found::Absent };
        if entry.expires > now {
            return match entry.claim {
                Some(token) => Found::Claimed(token),
                None => Found::Done,
            };
        }
        if self.shard.remove(key) {
            release_slots(self.held, 1);
        }
        Found::Absent
    }

    /// Drops up to `limit` expired entries, soonest first.
    fn sweep(&mut self, now: u64, limit: usize) {
        let mut freed = 0usize;
        for _ in 0..limit {
            if !self.shard.evict_expired(now) {
                break;
            }
            freed = freed.saturating_add(1);
        }
        release_slots(self.held, freed);
    }

    /// Evicts this shard's best victim; its slot goes to the caller. Returns whether
    /// there was one.
    fn evict_one(&mut self, now: u64) -> bool {
        self.shard.evict_expired(now) || self.shard.evict_soonest_done()
    }

    /// Inserts an absent key as claimed, into a slot the caller holds.
    fn insert_claim(&mut self, key: &str, token: NonZeroU64, now: u64, lease: Duration) -> ClaimToken {
        self.shard.insert(key, Some(token), deadline(now, lease));
        token_of(token)
    }

    /// Inserts an absent key as done, into a slot the caller holds.
    fn insert_done(&mut self, key: &str, now: u64, ttl: Duration) {
        self.shard.insert(key, None, deadline(now, ttl));
    }

    fn mark_done(&mut self, key: &str, now: u64, ttl: Duration) {
        self.shard.mark_done(key, deadline(now, ttl));
    }

    /// Forgets `key` if `token` holds its claim (expired or not).
    fn remove_claim(&mut self, key: &str, token: &ClaimToken) -> bool {
        let ours = matches!(
            self.shard.entries.get(key),
            Some(Entry { claim: Some(held), .. }) if token_of(*held) == *token
        );
        if ours && self.shard.remove(key) {
            release_slots(self.held, 1);
            return true;
        }
        false
    }

    fn clear(&mut self) {
        let count = self.shard.entries.len();
        self.shard.clear();
        release_slots(self.held, count);
    }
}

/// 24 bytes (checked by a unit test).
struct Entry {
    /// Nanoseconds since the guard's epoch.
    expires: u64,
    /// Tells apart entries of equal expiry in the orderings.
    seq: u64,
    /// The claim's token (a counter value), `None` once done.
    claim: Option<NonZeroU64>,
}

/// One shard: the entries, and their keys ordered by expiry, claims and done keys
/// apart (each entry is in exactly one of the two).
#[derive(Default)]
struct Shard {
    entries: HashMap<Arc<str>, Entry>,
    claims: BTreeMap<(u64, u64), Arc<str>>,
    done: BTreeMap<(u64, u64), Arc<str>>,
    next_seq: u64,
}

impl Shard {
    /// Drops every entry and gives the tables' memory back.
    fn clear(&mut self) {
        *self = Shard::default();
    }

    /// The soonest expiry of the claims and of the done keys.
    fn hints(&self) -> (u64, u64) {
        let first =
            |map: &BTreeMap<(u64, u64), Arc<str>>| map.first_key_value().map_or(NEVER, |(&(at, _), _)| at);
        (first(&self.claims), first(&self.done))
    }

    fn remove(&mut self, key: &str) -> bool {
        let Some(entry) = self.entries.remove(key) else { return false };
        let order = if entry.claim.is_some() { &mut self.claims } else { &mut self.done };
        order.remove(&(entry.expires, entry.seq));
        true
    }

    fn insert(&mut self, key: &str, claim: Option<NonZeroU64>, expires: u64) {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let key: Arc<str> = Arc::from(key);
        let order = if claim.is_some() { &mut self.claims } else { &mut self.done };
        order.insert((expires, seq), key.clone());
        self.entries.insert(key, Entry { expires, seq, claim });
    }

    fn mark_done(&mut self, key: &str, expires: u64) {
        let Some(entry) = self.entries.get_mut(key) else { return };
        let old = (entry.expires, entry.seq);
        let was_claim = entry.claim.is_some();
        entry.claim = None;
        entry.expires = expires;
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        entry.seq = seq;
        let name = if was_claim { self.claims.remove(&old) } else { self.done.remove(&old) };
        if let Some(name) = name {
            self.done.insert((expires, seq), name);
        }
    }

    /// Drops the entry that expired first, if any has.
    fn evict_expired(&mut self, now: u64) -> bool {
        let (claims, done) = self.hints();
        if claims.min(done) > now {
            return false;
        }
        let order = if claims <= done { &self.claims } else { &self.done };
        match order.first_key_value().map(|(_, key)| key.clone()) {
            Some(key) => self.remove(&key),
            None => false,
        }
    }

    /// Drops the done key that expires soonest, if any.
    fn evict_soonest_done(&mut self) -> bool {
        match self.done.first_key_value().map(|(_, key)| key.clone()) {
            Some(key) => self.remove(&key),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, ttl: Duration, lease: Duration) -> ReplayKey {
        ReplayKey::new(name, ttl, lease)
    }

    const HOUR: Duration = Duration::from_secs(3600);

    fn entries_in_shards(guard: &MemoryReplayGuard) -> usize {
        guard.shards.iter().map(|shard| lock(shard).entries.len()).sum()
    }

    /// Every shard's hints match its contents once its lock is released.
    fn assert_hints_fresh(guard: &MemoryReplayGuard) {
        for (shard, hint) in guard.shards.iter().zip(guard.hints.iter()) {
            let shard = lock(shard);
            assert_eq!(shard.hints().0, hint.claims.load(Ordering::Acquire));
            assert_eq!(shard.hints().1, hint.done.load(Ordering::Acquire));
            assert_eq!(shard.entries.len(), shard.claims.len() + shard.done.len());
        }
    }

    #[test]
    fn held_counts_entries_and_hints_follow_every_change() {
        let guard = MemoryReplayGuard::with_shards(8, 4);
        let mut tokens = Vec::new();
        for i in 0..8 {
            let k = key(&format!("k{i}"), HOUR, HOUR);
            let Ok(ClaimOutcome::Claimed(token)) = guard.claim_now(&k) else { panic!("claim {i}") };
            tokens.push((k, token));
        }
        assert_eq!(guard.held.load(Ordering::Acquire), 8);
        assert_hints_fresh(&guard);
        for (k, token) in tokens.iter().step_by(2) {
            assert!(guard.complete_now(k, token).unwrap());
        }
        assert_hints_fresh(&guard);
        assert!(guard.claim_now(&key("new", HOUR, HOUR)).unwrap().is_claimed());
        assert_eq!(guard.held.load(Ordering::Acquire), 8);
        assert_eq!(entries_in_shards(&guard), 8);
        assert_eq!(guard.len(), 8);
        assert_hints_fresh(&guard);
        let (k, token) = &tokens[1];
        assert!(guard.release_now(k, token).unwrap());
        assert_eq!(guard.held.load(Ordering::Acquire), 7);
        assert_eq!(entries_in_shards(&guard), 7);
        guard.clear();
        assert_eq!(guard.held.load(Ordering::Acquire), 0);
        assert_hints_fresh(&guard);
    }

    #[test]
    fn the_exclusive_path_evicts_the_exact_best_victim_or_refuses() {
        let guard = MemoryReplayGuard::with_shards(3, 3);
        let done_late = key("late", HOUR * 2, HOUR);
        let done_soon = key("soon", HOUR, HOUR);
        let busy = key("busy", HOUR, HOUR);
        for k in [&done_late, &done_soon] {
            let Ok(ClaimOutcome::Claimed(token)) = guard.claim_now(k) else { panic!() };
            assert!(guard.complete_now(k, &token).unwrap());
        }
        assert!(guard.claim_now(&busy).unwrap().is_claimed());
        // Straight to the exclusive path (as after stale hints): `soon` goes.
        guard.make_room_exclusive(guard.now()).unwrap();
        assert_eq!(entries_in_shards(&guard), 2);
        assert_eq!(guard.held.load(Ordering::Acquire), 3, "the slot is the caller's");
        guard.unreserve();
        assert_eq!(guard.claim_now(&done_late).unwrap(), ClaimOutcome::Done);
        assert_eq!(guard.claim_now(&busy).unwrap(), ClaimOutcome::InProgress);
        assert!(guard.claim_now(&done_soon).unwrap().is_claimed());
        // Now `late` is the only done key: it goes, then only claims are left.
        guard.make_room_exclusive(guard.now()).unwrap();
        guard.unreserve();
        assert!(guard.claim_now(&key("x", HOUR, HOUR)).unwrap().is_claimed());
        let err = guard.make_room_exclusive(guard.now()).unwrap_err();
        assert_eq!(err.to_string(), "replay store `memory` failed: full of claims in progress");
        assert_eq!(guard.held.load(Ordering::Acquire), 3);
    }

    #[test]
    fn stale_hints_fall_back_to_the_exclusive_path() {
        let guard = MemoryReplayGuard::with_shards(2, 2);
        let a = key("a", HOUR, HOUR);
        let Ok(ClaimOutcome::Claimed(token)) = guard.claim_now(&a) else { panic!() };
        assert!(guard.complete_now(&a, &token).unwrap());
        assert!(guard.claim_now(&key("b", HOUR, HOUR)).unwrap().is_claimed());
        // Lie in every hint: a done key everywhere. The real one is still found once.
        for hint in guard.hints.iter() {
            hint.done.store(0, Ordering::Release);
        }
        guard.make_room(guard.now()).unwrap();
        guard.unreserve();
        assert_eq!(entries_in_shards(&guard), 1);
        assert!(guard.claim_now(&key("c", HOUR, HOUR)).unwrap().is_claimed());
        for hint in guard.hints.iter() {
            hint.done.store(0, Ordering::Release);
        }
        assert!(guard.make_room(guard.now()).is_err(), "only a claim in progress is left");
    }

    #[test]
    fn an_entry_takes_24_bytes() {
        // The figure the per-key memory in the docs is built from.
        assert_eq!(std::mem::size_of::<Entry>(), 24);
        assert_eq!(std::mem::size_of::<(Arc<str>, Entry)>(), 40);
        assert_eq!(std::mem::size_of::<((u64, u64), Arc<str>)>(), 32);
    }

    #[test]
    fn deadlines_saturate() {
        assert_eq!(deadline(5, Duration::MAX), NEVER - 1);
        assert_eq!(deadline(NEVER, Duration::ZERO), NEVER - 1);
        assert_eq!(deadline(5, Duration::from_nanos(7)), 12);
        assert_eq!(rank(NEVER, NEVER, 10), None);
        assert_eq!(rank(3, NEVER, 10), Some((0, 3)));
        assert_eq!(rank(30, 20, 10), Some((1, 20)));
        assert_eq!(rank(30, NEVER, 10), None);
    }
}
