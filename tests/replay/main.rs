//! Replay protection: the memory guard, Redis and Redis Cluster, through the tower layer, the actix middleware and both once-extractors.
//!
//! One test binary per area; helpers come from `tests/support/`, and the harness of
//! the replicas served over HTTP (handler, servers, client, invariant) from `replicas.rs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    unreachable_pub,
    missing_debug_implementations,
    reason = "a test may panic (a panic is a failed test); its helpers are crate-internal"
)]
#![allow(unsafe_code, reason = "the counting global allocator in tests/support implements GlobalAlloc")]

#[macro_use]
#[path = "../support/mod.rs"]
mod support;

mod replay_actix;
mod replay_axum;
mod replay_memory;
mod replay_redis;
mod replay_redis_cluster;
#[cfg(any(feature = "axum", all(feature = "redis", feature = "tower")))]
mod replicas;
