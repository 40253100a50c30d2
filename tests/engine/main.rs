//! The core engine: vectors, independent references, properties, the error and hostile-input tables, secret hygiene, zero allocations.
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

#[cfg(feature = "ed25519")]
mod ed25519;
mod error_table;
mod fuzz_regressions;
mod hostile_inputs;
mod interop;
mod properties;
mod secret_hygiene;
mod vectors;
mod zero_alloc;
