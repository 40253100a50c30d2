//! The tower layer and the axum extractors, through oneshot calls and real servers on loopback.
//!
//! One test binary per area; helpers come from `tests/support/`.

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

mod axum_server;
mod load_axum;
mod tower_layer;
