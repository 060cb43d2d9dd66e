//! The server side: prekey uploads, the directory's rules on every
//! implementation, its concurrency, and routing. One test binary (see
//! docs/TESTING.md); each module is one suite.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod directory;
mod directory_concurrency;
