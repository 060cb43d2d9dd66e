//! The server side: prekey uploads, the directory's rules on every
//! implementation (device lists included), its concurrency, routing, and
//! random damage to uploads and messages. One test binary (see docs/TESTING.md); each module is one
//! suite, and `directory` holds the devices they share.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod damage;
mod device_lists;
mod device_lists_concurrency;
mod directory;
mod directory_concurrency;
mod pg;
mod postgres_directory;
mod postgres_load;
mod postgres_recovery;
mod route;
mod upload;
