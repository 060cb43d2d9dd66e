//! Shared by every step: mapping rusqlite errors to [`StorageError`]s, and
//! columns to values (fixed-length BLOBs, `u32` ids, `u64` times) and back.

use crate::error::StorageError;

/// Maps a rusqlite error (see `crate::sqlite_support`).
pub(super) fn db(table: &'static str) -> impl Fn(rusqlite::Error) -> crate::Error {
    move |e| crate::sqlite_support::storage_error(table, &e).into()
}

pub(super) fn invalid(table: &'static str) -> crate::Error {
    StorageError::InvalidRecord { table }.into()
}

pub(super) fn blob<const N: usize>(bytes: Vec<u8>, table: &'static str) -> crate::Result<[u8; N]> {
    bytes.try_into().map_err(|_| invalid(table))
}

pub(super) fn key_id(value: i64, table: &'static str) -> crate::Result<u32> {
    u32::try_from(value).map_err(|_| invalid(table))
}

/// A `u64` time as SQLite stores it: the same 64 bits, as a signed integer.
pub(super) fn stored_time(t: u64) -> i64 {
    i64::from_be_bytes(t.to_be_bytes())
}

/// The inverse of [`stored_time`].
pub(super) fn time(stored: i64) -> u64 {
    u64::from_be_bytes(stored.to_be_bytes())
}
