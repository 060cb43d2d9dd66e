//! Fuzz targets for kinseal. Each `pub fn` here is one cargo-fuzz target
//! (see `fuzz_targets/`), and `tests/protocol/fuzz_corpus.rs` replays the committed
//! corpora through the same functions under `cargo test`.
//!
//! Every target asserts, besides "no panic", what must hold for its input:
//! round trips for the parsers, no acceptance of modified messages and
//! unchanged state after every failure for the stateful targets.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod targets;

pub use targets::*;
