//! The client layer: `Account` over `MemoryStore` and `SqliteStore`, the
//! store contract, atomicity, simultaneous initiation, and crash safety
//! with real child processes. One test binary (see docs/TESTING.md); each
//! module is one suite, `common` and `crash_support` their helpers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
mod crash_support;

mod account;
mod atomic;
mod batch;
mod batch_crash;
mod crash;
mod group_atomic;
mod group_crash;
mod group_rules;
mod group_scale;
mod groups;
mod people;
mod person;
mod records;
mod recovery;
mod safety_number;
mod simultaneous;
mod spans;
mod split_records;
mod store;
