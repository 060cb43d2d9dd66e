//! Shared by every step: mapping PostgreSQL errors to [`StorageError`]s,
//! which of them a transaction may retry, and columns to values
//! (fixed-length `bytea`, `u32` ids, `u64` times) and back.

use postgres::Row;
use postgres::error::SqlState;

use crate::error::StorageError;

/// The device key of every per-device table, as the first three
/// parameters of a statement: a literal, so that statements are built
/// with `concat!` at compile time (no allocation per call).
macro_rules! device_key {
    () => {
        "app_id = $1 AND user_id = $2 AND device_id = $3"
    };
}
pub(super) use device_key;

/// Maps a PostgreSQL error, keeping no `postgres` type: a dropped
/// connection or a server shutting down is [`StorageError::Io`], a
/// serialization failure or a deadlock [`StorageError::Busy`] (both are
/// retried by the transaction before they reach a caller), a full disk
/// [`StorageError::Full`], and any other SQLSTATE
/// [`StorageError::Backend`] with the SQLSTATE's five characters read as a
/// base-36 number.
pub(super) fn storage_error(e: &postgres::Error) -> StorageError {
    let is_io = core::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
    if e.is_closed() || is_io {
        return StorageError::Io;
    }
    let Some(code) = e.code() else {
        return StorageError::Backend { code: -1 };
    };
    if *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
        || *code == SqlState::LOCK_NOT_AVAILABLE
    {
        StorageError::Busy
    } else if *code == SqlState::DISK_FULL {
        StorageError::Full
    } else if *code == SqlState::DATA_CORRUPTED || *code == SqlState::INDEX_CORRUPTED {
        StorageError::Corrupt
    } else if code.code().starts_with("08")
        || *code == SqlState::ADMIN_SHUTDOWN
        || *code == SqlState::CRASH_SHUTDOWN
        || *code == SqlState::CANNOT_CONNECT_NOW
    {
        StorageError::Io
    } else {
        StorageError::Backend {
            code: i32::from_str_radix(code.code(), 36).unwrap_or(-1),
        }
    }
}

/// Whether a transaction that failed with `e` before its commit may run
/// again: the server rolled it back (or the connection is gone, which
/// rolls it back), so nothing it did is visible.
pub(super) fn retryable(e: &crate::Error) -> bool {
    matches!(
        e,
        crate::Error::Storage(StorageError::Busy | StorageError::Io)
    )
}

/// Maps a PostgreSQL error met on `_table` (see [`storage_error`]).
pub(super) fn db(_table: &'static str) -> impl Fn(postgres::Error) -> crate::Error {
    move |e| storage_error(&e).into()
}

pub(super) fn invalid(table: &'static str) -> crate::Error {
    StorageError::InvalidRecord { table }.into()
}

/// Column `i` of `row`, or an invalid record of `table` if it does not
/// have the expected type.
pub(super) fn get<'a, T: postgres::types::FromSql<'a>>(
    row: &'a Row,
    i: usize,
    table: &'static str,
) -> crate::Result<T> {
    row.try_get(i).map_err(|_| invalid(table))
}

pub(super) fn blob<const N: usize>(bytes: Vec<u8>, table: &'static str) -> crate::Result<[u8; N]> {
    bytes.try_into().map_err(|_| invalid(table))
}

pub(super) fn key_id(value: i64, table: &'static str) -> crate::Result<u32> {
    u32::try_from(value).map_err(|_| invalid(table))
}

/// An optional id column, as a `u32`.
pub(super) fn opt_id(value: Option<i64>, table: &'static str) -> crate::Result<Option<u32>> {
    value.map(|v| key_id(v, table)).transpose()
}

/// A `u64` time as a `bigint` holds it: the same 64 bits, signed.
pub(super) fn stored_time(t: u64) -> i64 {
    i64::from_be_bytes(t.to_be_bytes())
}

/// The inverse of [`stored_time`].
pub(super) fn time(stored: i64) -> u64 {
    u64::from_be_bytes(stored.to_be_bytes())
}
