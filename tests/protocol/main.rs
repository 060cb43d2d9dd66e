//! The protocol suites: sessions, handshakes and wire formats through the
//! public API, with no client store and no directory. One test binary (see
//! docs/TESTING.md); each module is one suite, `common` their fixtures.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

mod account_link;
mod adversary;
mod conversation;
mod debug_redaction;
mod device_list;
mod envelope;
mod fuzz_corpus;
mod group_history;
mod group_sender_key;
mod group_state;
mod handshake;
mod link;
mod link_revocation;
mod padding;
mod persistence;
mod random_conversations;
mod receipt;
mod security_properties;
mod tamper;
mod transactional;
